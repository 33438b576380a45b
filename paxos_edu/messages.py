"""The messages of atomic broadcast with Multi-Paxos, one frozen dataclass per kind.

Who sends what to which multicast group (one group per role, from the config file)::

    client   --Submit------> proposers      "please order these values"
    proposer --Phase1A-----> acceptors      prepare(n)            (Paxos Made Simple, phase 1a)
    acceptor --Phase1B-----> proposers      promise(n, accepted)  (phase 1b)
    acceptor --Nack--------> proposers      "I promised a higher round"
    proposer --Phase2A-----> acceptors      accept!(n, v)         (phase 2a)
    acceptor --Phase2B-----> learners       accepted(n, v)        (phase 2b, straight to learners)
    proposer --Ack---------> clients        "these submissions are decided"
    proposer --Decision----> learners       a decided instance, resent for catch-up
    learner  --CatchUp-----> learners       "send me decisions from instance i on"
    proposer --Heartbeat---> learners       leader alive; how far decisions go
    any      --Hello-------> its own group  "I am here" (runtime only: identity conflicts)

Proposers join the learners group as well: watching 2B there is how they learn which
instances are decided, and catch-up requests and heartbeats reach them on it.

The value of one Paxos instance is a :data:`Batch`: a tuple of :class:`Submission`
(possibly empty: the no-op that fills an instance a crashed proposer left open).
Messages carry no behaviour; :mod:`paxos_edu.codec` turns them into bytes and back.

Every datagram also names its sender in its header -- a :class:`Header`: role, id,
*incarnation* (drawn at process start, see :mod:`paxos_edu.identity`) and a per-sender
sequence number -- which the runtime uses for identity conflicts and exact traces; the
roles never see it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple, Union


class Group(enum.IntEnum):
    """The four multicast groups, named like the roles that listen on them."""

    CLIENTS = 0
    PROPOSERS = 1
    ACCEPTORS = 2
    LEARNERS = 3

    @property
    def role(self) -> str:
        """Config-file name of the group: ``clients``, ``proposers``, ..."""
        return self.name.lower()


class Kind(enum.IntEnum):
    """Message kind, the second byte of every datagram header."""

    SUBMIT = 1
    ACK = 2
    PHASE1A = 3
    PHASE1B = 4
    NACK = 5
    PHASE2A = 6
    PHASE2B = 7
    DECISION = 8
    CATCHUP = 9
    HEARTBEAT = 10
    HELLO = 11


END = (1 << 63) - 1
"""Instance number meaning "and every instance after": a multi-Paxos prepare, or a
1B page that covers everything the acceptor holds."""


class Submission(NamedTuple):
    """One value a client asked to broadcast, with the identity that makes it unique.

    ``(client, session, seq)`` is delivered at most once; equal strings submitted twice
    are two submissions. ``session`` is chosen at random when a client process starts, so
    a restarted client with the same id does not collide with its earlier life -- unless it
    resumes that life's session from its log, on purpose (:mod:`paxos_edu.client_resume`).

    A NamedTuple rather than a frozen dataclass: learners build hundreds of thousands of
    these, and tuple construction is several times cheaper.
    """

    client: int
    session: int
    seq: int
    value: str

    # A C-level getter, not a Python property: proposers take the key of every value two
    # or three times, and a Python call there cost 2 % of a simulated run's instructions.
    key = property(itemgetter(slice(0, 3)), doc="The identity used for at-most-once delivery.")


Batch = tuple[Submission, ...]
"""The value of one Paxos instance; ``()`` is the no-op."""

NOOP: Batch = ()


class Accepted(NamedTuple):
    """One acceptor's vote reported in a promise: ``v_rnd`` and ``v_val`` of an instance."""

    instance: int
    v_rnd: int
    v_val: Batch


@dataclass(frozen=True, slots=True)
class Submit:
    """Client -> proposers: submissions to be ordered (one or many per datagram)."""

    submissions: tuple[Submission, ...]
    kind = Kind.SUBMIT


@dataclass(frozen=True, slots=True)
class Ack:
    """Proposer -> clients: these sequence numbers of ``client``'s ``session`` are decided."""

    client: int
    session: int
    seqs: tuple[int, ...]
    kind = Kind.ACK


@dataclass(frozen=True, slots=True)
class Phase1A:
    """Prepare: "promise me round ``rnd``" for ``instance`` -- or, when ``onward`` is true
    (multi-Paxos), for ``instance`` and every later one."""

    rnd: int
    instance: int
    onward: bool
    kind = Kind.PHASE1A


@dataclass(frozen=True, slots=True)
class Phase1B:
    """Promise: ``acceptor`` will not accept below ``rnd`` and reports what it accepted.

    ``accepted`` lists every vote the acceptor holds for instances in
    ``[instance, upto)``; ``upto == END`` means the report is complete. A long history
    is paged: the proposer asks again from ``upto``.
    """

    acceptor: int
    rnd: int
    instance: int
    upto: int
    accepted: tuple[Accepted, ...]
    kind = Kind.PHASE1B


@dataclass(frozen=True, slots=True)
class Nack:
    """Acceptor -> proposers: round ``rnd`` (for ``instance``) lost to ``promised``."""

    acceptor: int
    rnd: int
    instance: int
    promised: int
    kind = Kind.NACK


@dataclass(frozen=True, slots=True)
class Phase2A:
    """Accept!: "accept value ``value`` for ``instance`` in round ``rnd``"."""

    rnd: int
    instance: int
    value: Batch
    kind = Kind.PHASE2A


@dataclass(frozen=True, slots=True)
class Phase2B:
    """Accepted: ``acceptor`` voted for ``value`` in ``instance``, round ``rnd``.

    Sent straight to the learners, which decide on a quorum of 2B for one round."""

    acceptor: int
    rnd: int
    instance: int
    value: Batch
    kind = Kind.PHASE2B


@dataclass(frozen=True, slots=True)
class Decision:
    """A decided instance, resent by a proposer that knows it (answer to catch-up)."""

    instance: int
    value: Batch
    kind = Kind.DECISION


@dataclass(frozen=True, slots=True)
class CatchUp:
    """A learner (or proposer) that misses decisions from ``instance`` on asks for them."""

    requester: int
    instance: int
    kind = Kind.CATCHUP


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A proposer that believes it leads, in round ``rnd``; it knows every instance
    below ``decided`` to be decided (learners behind that ask for catch-up)."""

    proposer: int
    rnd: int
    decided: int
    kind = Kind.HEARTBEAT


@dataclass(frozen=True, slots=True)
class Hello:
    """Any process -> the group of its own role: "I am here" (periodic, from the runtime).

    Two live processes with one role and id hear each other's hellos. ``echo`` is the
    incarnation of the twin this hello answers (0: none); a hello that echoes your own
    incarnation proves the twin is alive *now* -- a replayed old datagram cannot.
    Handled by the runtime (:mod:`paxos_edu.identity`), never by a role."""

    echo: int
    kind = Kind.HELLO


Message = Union[
    Submit, Ack, Phase1A, Phase1B, Nack, Phase2A, Phase2B, Decision, CatchUp, Heartbeat, Hello
]

MESSAGE_CLASSES: dict[Kind, type] = {
    cls.kind: cls
    for cls in (Submit, Ack, Phase1A, Phase1B, Nack, Phase2A, Phase2B, Decision, CatchUp,
                Heartbeat, Hello)
}

SENDER_ROLES = ("client", "proposer", "acceptor", "learner")
"""Role names by their code in a datagram header (the order is part of the wire format)."""
ANONYMOUS_ROLE = 255
"""Header role code of a sender that is no role process (a test, a tool)."""


class Header(NamedTuple):
    """Who sent a datagram: role code (index in :data:`SENDER_ROLES`, or
    :data:`ANONYMOUS_ROLE`), id, incarnation (0: anonymous) and the sender's sequence number
    of this datagram (counts every datagram it sent, from 1)."""

    role: int
    id: int
    incarnation: int
    seq: int

    @property
    def name(self) -> str:
        """Process name of the sender, e.g. ``"acceptor2"`` (``"anonymous"`` for a tool)."""
        return sender_name(self.role, self.id)


def sender_name(role: int, id: int) -> str:
    """``"acceptor2"`` for role code 2, id 2; ``"anonymous"`` for a non-role sender."""
    if 0 <= role < len(SENDER_ROLES):
        return f"{SENDER_ROLES[role]}{id}"
    return "anonymous"


def instance_of(msg: Message) -> int | None:
    """The instance a message is about, for traces (None for client traffic)."""
    return getattr(msg, "instance", None)


def round_of(msg: Message) -> int | None:
    """The round a message carries, for traces (None when it has none)."""
    return getattr(msg, "rnd", None)
