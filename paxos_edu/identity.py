"""Who is who on the wire: incarnations, twins (two live processes with one identity), votes.

Every datagram names its sender (role, id, *incarnation*) in its header (see
:mod:`paxos_edu.codec`). This module holds the rules the runtime applies to those names --
sans-I/O like the roles: plain objects fed with headers and the time, returning verdicts.

Incarnations
------------
An incarnation is drawn once per process start: the start time in milliseconds since the
epoch in the high 44 bits and 20 random bits below. A restarted process has a new one, and
of two incarnations of one identity the *larger* is the one that started later (clocks
of one lab agree to far better than a second; should two disagree, both processes still
agree on which one is the newcomer, because both compare the same two numbers).

Twins (:class:`TwinDetector`)
-----------------------------
Two processes with the same role and id but different incarnations are *twins*: a student
started ``acceptor.sh 1`` twice, or an acceptor 1 of the previous run is still alive. Two
memories answering as one acceptor break quorum intersection, so one of them must go:

* every process multicasts a :class:`~paxos_edu.messages.Hello` to its own role's group at
  start and every ``period`` -- twins listen there, so they hear each other;
* a process that hears a twin answers at once (at most once per ``period`` per twin) with
  a hello whose ``echo`` is the twin's incarnation;
* the **older** process (smaller incarnation) reports the newcomer (a warning note, once)
  and keeps serving;
* the **newcomer** gives up -- the runtime exits with status 2 -- once it holds a hello
  from the older twin that echoes its *own* incarnation. Only a live process can echo an
  incarnation drawn moments ago, so a replayed datagram of a dead earlier life (a clean
  restart after a crash) is never mistaken for a twin.

A client's *session* (the ``session`` of its submissions) is not its incarnation: a client
restarted with its log resumes its interrupted session (:mod:`paxos_edu.client_resume`) but
draws a new incarnation like any process, so the dead earlier life is never taken for a
twin. A second *live* client with the same id is still refused -- on the wire as above, and,
when it shares the log directory (and would share the session), by a lock on the log before
it sends anything.

Votes (:class:`VoteFilter`)
---------------------------
Proposers and learners count 1B/2B votes per acceptor id. While an acceptor id answers
with two incarnations at once -- heard alternating: A, then B, then A again -- its votes
are not counted (for ``hold`` seconds after the last alternation). A clean restart (A
falls silent, then B speaks) switches to B at once and costs nothing. A vote whose body
names another acceptor than its header is never counted.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Optional

from .messages import SENDER_ROLES, Header

__all__ = [
    "Twin",
    "TwinDetector",
    "VoteFilter",
    "incarnation_started",
    "new_incarnation",
    "role_code",
]

_RANDOM_BITS = 20
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1
_RECENT_PER_ID = 4
"""Incarnations remembered per acceptor id by :class:`VoteFilter` (bounded memory)."""


def role_code(role: str) -> int:
    """The header code of a role name (``"acceptor"`` -> 2)."""
    return SENDER_ROLES.index(role)


def new_incarnation(wall: Optional[float] = None, nonce: Optional[int] = None) -> int:
    """A fresh incarnation: start time (ms since the epoch, 44 bits) and 20 random bits.

    Args:
        wall: the start time, ``time.time()`` by default.
        nonce: the random low bits, from the operating system by default (never from a
            seeded generator: two runs with one ``seed`` must not share incarnations).
    """
    ms = int((time.time() if wall is None else wall) * 1000)
    if nonce is None:
        nonce = int.from_bytes(os.urandom(3), "big")
    incarnation = (ms << _RANDOM_BITS) | (nonce & _RANDOM_MASK)
    return incarnation or 1  # 0 means "anonymous" on the wire


def incarnation_started(incarnation: int) -> float:
    """When the process of ``incarnation`` started (seconds since the epoch)."""
    return (incarnation >> _RANDOM_BITS) / 1000.0


@dataclass(frozen=True, slots=True)
class Twin:
    """What the detector concluded about one twin.

    Attributes:
        incarnation: the twin's incarnation.
        started: when the twin started (seconds since the epoch, from its incarnation).
        newer: True when the twin started after us (we are the older process).
        proven: True when the twin echoed our incarnation: it is alive now.
    """

    incarnation: int
    started: float
    newer: bool
    proven: bool


class TwinDetector:
    """Detects another live process with this process's own role and id.

    Args:
        role: this process's role code (see :func:`role_code`).
        id: its id.
        incarnation: its incarnation (:func:`new_incarnation`).
        period: seconds between hellos (the runtime uses the config's ``timeout``).

    Feed it with :meth:`heard` for every datagram, :meth:`due` / :meth:`hello_sent` for
    the periodic hello. State: ``twins`` (incarnation -> :class:`Twin`), ``answered``
    (incarnation -> when we last answered it).
    """

    __slots__ = ("role", "id", "incarnation", "period", "twins", "answered", "next_hello")

    def __init__(self, role: int, id: int, incarnation: int, period: float) -> None:
        if period <= 0:
            raise ValueError(f"hello period must be > 0 seconds, not {period!r}")
        self.role = role
        self.id = id
        self.incarnation = incarnation
        self.period = period
        self.twins: dict[int, Twin] = {}
        self.answered: dict[int, float] = {}
        self.next_hello = 0.0  # the first hello goes out at once

    def is_twin(self, header: Header) -> bool:
        """True if ``header`` names our role and id with another, non-anonymous incarnation
        (the fast test the runtime makes on every datagram)."""
        return (header[1] == self.id and header[0] == self.role
                and header[2] != self.incarnation and header[2] != 0)

    def heard(self, header: Header, echo: Optional[int], now: float
              ) -> tuple[Optional[Twin], Optional[int]]:
        """A datagram of a twin arrived (``echo``: the echo field if it is a Hello).

        Returns:
            ``(twin, answer)``: ``twin`` is the :class:`Twin` when this datagram is news --
            the first from a newer twin (report it), or the first proof that an older twin
            is alive (give up) -- else None; ``answer`` is the incarnation to echo in a
            hello sent now, or None (answers are limited to one per ``period`` per twin).
        """
        other = header[2]
        newer = other > self.incarnation
        known = self.twins.get(other)
        was_proven = known is not None and known.proven
        proven = was_proven or echo == self.incarnation
        twin = Twin(other, incarnation_started(other), newer, proven)
        if known is None and len(self.twins) >= 64:  # bounded memory whatever a forger sends
            self.twins.clear()
        self.twins[other] = twin
        news: Optional[Twin] = None
        if newer and known is None:
            news = twin  # a newcomer with our identity: report it once, keep serving
        elif not newer and twin.proven and not was_proven:
            news = twin  # an older twin, alive now: we are the one to give up
        answer: Optional[int] = None
        last = self.answered.get(other)
        if last is None or now - last >= self.period:
            if len(self.answered) >= 64:
                self.answered.clear()
            self.answered[other] = now
            answer = other
        return news, answer

    def due(self) -> float:
        """When the next periodic hello is due."""
        return self.next_hello

    def hello_sent(self, now: float) -> None:
        """The periodic hello went out at ``now``."""
        self.next_hello = now + self.period


class VoteFilter:
    """Refuses votes of an acceptor id that answers with two incarnations at once.

    Args:
        hold: seconds a conflicted acceptor id stays refused after the last sign that two
            incarnations are alive (the runtime uses four timeouts).

    :meth:`admit` is called with the header of every 1B, Nack or 2B; the body's acceptor
    id is passed too and must match the header's.
    """

    __slots__ = ("hold", "current", "recent", "conflicted_until", "refused")

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.current: dict[int, int] = {}  # acceptor id -> incarnation heard last
        self.recent: dict[int, list[int]] = {}  # acceptor id -> incarnations heard before
        self.conflicted_until: dict[int, float] = {}
        self.refused = 0

    def admit(self, header: Header, acceptor: int, now: float) -> bool:
        """True if a vote of ``acceptor`` carried by a datagram with ``header`` counts."""
        sender_id, incarnation = header[1], header[2]
        if header[0] != 2 or sender_id != acceptor:  # role code 2: acceptor
            self.refused += 1
            return False
        current = self.current.get(acceptor)
        if current != incarnation:
            if current is not None:
                recent = self.recent.setdefault(acceptor, [])
                if incarnation in recent:  # back to an incarnation we left: both alive
                    self.conflicted_until[acceptor] = now + self.hold
                    recent.remove(incarnation)
                recent.append(current)
                del recent[:-_RECENT_PER_ID]
            self.current[acceptor] = incarnation
        until = self.conflicted_until.get(acceptor)
        if until is not None:
            if now < until:
                self.refused += 1
                return False
            del self.conflicted_until[acceptor]
        return True

    def conflicted(self, now: float) -> list[int]:
        """Acceptor ids whose votes are refused at ``now``."""
        return sorted(a for a, until in self.conflicted_until.items() if now < until)
