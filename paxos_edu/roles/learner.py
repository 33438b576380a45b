"""The learner: delivers decided values in instance order (atomic broadcast's output).

Paxos Made Simple, section 2.3 ("learning a chosen value"): a learner watches the 2B
messages the acceptors send to the learners group and decides an instance when a
quorum accepted the same round. Atomic broadcast then needs one more rule: deliver the
instances strictly in order 0, 1, 2, ... -- so every learner outputs the same sequence.

Two more duties make it complete:

* at-most-once: a submission decided twice (re-submitted by its client, proposed by two
  proposers) is delivered only the first time; every learner applies the same rule to
  the same sequence, so they still agree;
* catch-up: a learner that missed 2B messages or started late sees a gap (a heartbeat or
  a later instance tells it decisions go further) and asks proposers to resend them.
"""

from __future__ import annotations

import random
from typing import Optional

from ..bugs import Bug
from ..effects import Deliver, Effect
from ..messages import Decision, Heartbeat, Message, Phase2B
from ..seen import SeenSet
from .ledger import CatchUpRequester, Ledger


class Learner:
    """One learner.

    State (initial values):
        ledger              decided instances (see :class:`Ledger`), nothing decided
        next_instance = 0   first instance not yet delivered
        position = 0        how many values were delivered
        seen = {}           identities delivered, for at-most-once
    """

    def __init__(
        self,
        id: int,
        *,
        acceptor_count: int = 3,
        timeout: float = 0.1,
        rng: Optional[random.Random] = None,
        bugs: frozenset[Bug] = frozenset(),
    ) -> None:
        self.id = id
        self.bugs = bugs
        quorum = 1 if Bug.LEARN_FROM_ONE_2B in bugs else None
        self.ledger = Ledger(acceptor_count, quorum=quorum)
        self.next_instance = 0
        self.position = 0
        self.seen = SeenSet()
        self.catchup = CatchUpRequester(id, timeout, rng or random.Random(id))

    # ------------------------------------------------------------------ driver API

    def handle(self, msg: Message, now: float) -> list[Effect]:
        """React to one message from the learners group."""
        match msg:
            case Phase2B(acceptor, rnd, instance, value):
                news = self.ledger.vote(acceptor, rnd, instance, value)
            case Decision(instance, value):
                news = self.ledger.learn(instance, value)
            case Heartbeat(decided=decided):
                self.ledger.heard_of(decided - 1)
                news = False
            case _:
                return []
        effects: list[Effect] = self._deliver_ready() if news else []
        effects.extend(self.catchup.update(self.ledger, now))
        return effects

    def tick(self, now: float) -> list[Effect]:
        """Ask for catch-up when a gap outlived its timeout."""
        return list(self.catchup.tick(self.ledger, now))

    def deadline(self) -> Optional[float]:
        return self.catchup.due

    # ------------------------------------------------------------------ delivery

    def _deliver_ready(self) -> list[Effect]:
        """Deliver every decided instance from ``next_instance`` on, in order."""
        out: list[Effect] = []
        ledger = self.ledger
        dedupe = Bug.NO_DEDUPLICATION not in self.bugs
        while self.next_instance in ledger.decided:
            instance = self.next_instance
            for sub in ledger.take(instance):
                if self.seen.add(sub.client, sub.session, sub.seq) or not dedupe:
                    out.append(Deliver(sub, instance))
                    self.position += 1
            self.next_instance += 1
        return out
