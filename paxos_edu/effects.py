"""What a role asks its driver (real runtime or simulator) to do.

Roles never perform I/O. ``handle`` and ``tick`` return a list of effects and the
driver carries them out: multicast a message to a group, hand a learned value to the
application (the learner's stdout), or record a structured note in the event log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from .messages import Group, Message, Submission


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


Effect = Union[Send, Deliver, Note]
