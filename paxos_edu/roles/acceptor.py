"""The acceptor: the memory of Paxos (Paxos Made Simple, section 2.2, phases 1b and 2b).

An acceptor makes two promises and keeps them:

* phase 1b -- on ``Phase1A(rnd)`` with ``rnd`` at least every round it promised before,
  promise never to accept a lower round and report what it already accepted;
* phase 2b -- on ``Phase2A(rnd, v)`` unless it promised a higher round, accept ``v`` and
  tell the learners (2B goes straight to the learners group).

A multi-Paxos prepare (``onward``) is one promise for all instances at once, so a leader
pays phase 1 once; a classic prepare promises a single instance. A refused message is
answered with a :class:`Nack` so the proposer backs off without waiting for a timeout.
State lives in memory only: a crashed acceptor is gone for good (crash-stop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..bugs import Bug
from ..codec import ITEM_OVERHEAD, MAX_BATCH_BYTES
from ..effects import Effect, Send
from ..messages import (
    END,
    Accepted,
    Batch,
    Group,
    Message,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
)
from ..rounds import plausible_round


@dataclass(slots=True)
class AcceptorSlot:
    """What one acceptor holds for one instance."""

    rnd: int = 0  # promise made for this instance alone (classic mode) or by accepting
    v_rnd: int = 0  # round in which v_val was accepted; 0: nothing accepted
    v_val: Optional[Batch] = None


def _batch_bytes(batch: Batch) -> int:
    return 24 + sum(ITEM_OVERHEAD + len(sub.value.encode()) for sub in batch)


class Acceptor:
    """One acceptor.

    State (initial values):
        rnd = 0             highest round promised for *every* instance (multi-Paxos prepare)
        max_slot_rnd = 0    highest round promised or accepted in any single instance
        slots = {}          instance -> AcceptorSlot(rnd, v_rnd, v_val)
    """

    def __init__(self, id: int, *, bugs: frozenset[Bug] = frozenset()) -> None:
        self.id = id
        self.bugs = bugs
        self.rnd = 0
        self.max_slot_rnd = 0
        self.slots: dict[int, AcceptorSlot] = {}

    # ------------------------------------------------------------------ driver API

    def handle(self, msg: Message, now: float) -> list[Effect]:
        """React to one message from the acceptors group."""
        match msg:
            case Phase2A() | Phase1A() if not plausible_round(
                msg.rnd, max(self.rnd, self.max_slot_rnd)
            ):
                return []  # a forged round: promising it would lock every proposer out
            case Phase2A():
                return self.on_phase2a(msg)
            case Phase1A():
                return self.on_phase1a(msg)
        return []

    def tick(self, now: float) -> list[Effect]:
        """Acceptors only react; they have no timers."""
        return []

    def deadline(self) -> Optional[float]:
        return None

    # ------------------------------------------------------------------ phases

    def promised(self, instance: int) -> int:
        """The round below which this acceptor refuses anything for ``instance``."""
        slot = self.slots.get(instance)
        return self.rnd if slot is None or slot.rnd < self.rnd else slot.rnd

    def on_phase1a(self, m: Phase1A) -> list[Effect]:
        """Phase 1b: promise ``m.rnd`` and report the votes held, or refuse."""
        if m.onward:
            # A promise for every instance must not undercut any single-instance promise.
            floor = max(self.rnd, self.max_slot_rnd)
            if m.rnd < floor:
                return [self._nack(m.rnd, m.instance, floor)]
            if Bug.FORGET_PROMISE not in self.bugs:
                self.rnd = m.rnd
            accepted, upto = self._report_from(m.instance)
            return [Send(Group.PROPOSERS, Phase1B(self.id, m.rnd, m.instance, upto, accepted))]
        promised = self.promised(m.instance)
        if m.rnd < promised:
            return [self._nack(m.rnd, m.instance, promised)]
        slot = self.slots.get(m.instance)
        if slot is None:
            slot = self.slots[m.instance] = AcceptorSlot()
        if Bug.FORGET_PROMISE not in self.bugs:
            slot.rnd = m.rnd
            self.max_slot_rnd = max(self.max_slot_rnd, m.rnd)
        report = (Accepted(m.instance, slot.v_rnd, slot.v_val),) if slot.v_val is not None else ()
        upto = min(m.instance + 1, END)  # END itself: "covers everything from here"
        return [Send(Group.PROPOSERS, Phase1B(self.id, m.rnd, m.instance, upto, report))]

    def on_phase2a(self, m: Phase2A) -> list[Effect]:
        """Phase 2b: accept ``m.value`` unless a higher round was promised."""
        promised = self.promised(m.instance)
        if m.rnd < promised and Bug.FORGET_PROMISE not in self.bugs:
            return [self._nack(m.rnd, m.instance, promised)]
        slot = self.slots.get(m.instance)
        if slot is None:
            slot = self.slots[m.instance] = AcceptorSlot()
        # Accepting round r also promises r for this instance (nothing lower later).
        if m.rnd > slot.rnd:
            slot.rnd = m.rnd
            if m.rnd > self.max_slot_rnd:
                self.max_slot_rnd = m.rnd
        slot.v_rnd = m.rnd
        slot.v_val = m.value
        return [Send(Group.LEARNERS, Phase2B(self.id, m.rnd, m.instance, m.value))]

    # ------------------------------------------------------------------ helpers

    def _nack(self, rnd: int, instance: int, promised: int) -> Send:
        return Send(Group.PROPOSERS, Nack(self.id, rnd, instance, promised))

    def _report_from(self, first: int) -> tuple[tuple[Accepted, ...], int]:
        """Votes for instances >= ``first``, one datagram's worth; and where the page ends.

        Returns ``(accepted, upto)``: ``accepted`` holds every vote in ``[first, upto)``
        and ``upto == END`` when nothing remains beyond the page.
        """
        instances = sorted(i for i, s in self.slots.items() if i >= first and s.v_val is not None)
        page: list[Accepted] = []
        budget = MAX_BATCH_BYTES
        for i in instances:
            slot = self.slots[i]
            cost = _batch_bytes(slot.v_val)
            if page and cost > budget:
                return tuple(page), i
            budget -= cost
            page.append(Accepted(i, slot.v_rnd, slot.v_val))
        return tuple(page), END
