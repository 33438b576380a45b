"""What a role asks its driver (real runtime or simulator) to do.

Roles never perform I/O. ``handle`` and ``tick`` return a list of effects and the
driver carries them out: multicast a message to a group, hand a learned value to the
application (the learner's stdout), record a structured note in the event log, make an
acceptor's state change durable (:class:`Persist`), or stop a process that cannot go on
safely (:class:`Halt`).

Durability rule: a driver makes every ``Persist`` of a turn durable *before* it carries
out any ``Send`` of that turn (the real runtime holds the turn's datagrams until one
fsync; the simulator writes to its model disk at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .messages import Batch, Group, Message, Submission


@dataclass(frozen=True, slots=True)
class Send:
    """Multicast ``message`` to every process listening on ``group``."""

    group: Group
    message: Message


@dataclass(frozen=True, slots=True)
class Deliver:
    """A learner delivers ``submission``, decided in ``instance``, as its next value."""

    submission: Submission
    instance: int


@dataclass(frozen=True, slots=True)
class Note:
    """A structured record for the event log: what happened (``event``) and details.

    Events a role may note: ``phase1_start``, ``leader``, ``backoff``, ``retry``,
    ``decided``, ``catchup``, ``duplicate`` ... (see each role's docstring).
    """

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Promised:
    """Stored entry: the acceptor promised ``rnd`` for ``instance`` (None: every instance,
    a multi-Paxos prepare)."""

    rnd: int
    instance: Optional[int] = None


@dataclass(frozen=True, slots=True)
class Voted:
    """Stored entry: the acceptor accepted ``value`` in ``instance``, round ``rnd``."""

    instance: int
    rnd: int
    value: Batch


@dataclass(frozen=True, slots=True)
class Persist:
    """Make ``entry`` durable before any ``Send`` of the same turn goes out."""

    entry: Union[Promised, Voted]


@dataclass(frozen=True, slots=True)
class Halt:
    """The role cannot go on safely: stop the process with exit ``status`` and ``reason``
    (on stderr), answering nothing more."""

    status: int
    reason: str


Effect = Union[Send, Deliver, Note, Persist, Halt]
