"""One instance driven by the leader: the proposer's *Commanders*.

The name comes from "Paxos Made Moderately Complex" (van Renesse and Altinbuken): once its
:class:`~paxos_edu.roles.scout.Scout` has won a round, a leader starts one commander per
instance to get a value accepted there. A commander sends the accept request
``Phase2A(rnd, instance, value)`` (Paxos Made Simple, phase 2a) and sends it again every
timeout until the instance is decided. Acceptors send their votes (2B) to the learners
group; the proposer's ledger counts them there and retires the commander when the
instance is decided, so a commander does not count votes itself.

In ``classic`` mode there is no scout: each commander first runs phase 1 for its own
instance (``Phase1A(rnd, instance, onward=False)``) and collects the promises itself. With a
quorum it must propose the value accepted in the highest round any promise reported (P2c),
its own value only when none was reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..effects import Send
from ..messages import Accepted, Batch, Group, Phase1A, Phase1B, Phase2A


@dataclass(slots=True)
class Commander:
    """Drives one instance to a decision in round ``rnd``.

    State (initial values):
        instance, rnd   the instance, and the round it proposes in (the proposer's c_rnd)
        value           the value proposed, c_val: own batch, or one recovered from promises
        phase           1: waiting for promises (classic mode), 2: waiting for the decision
        due             when to send again if still undecided
        promises = {}   acceptor -> vote its promise reported, None if none (classic phase 1)
    """

    instance: int
    rnd: int
    value: Batch
    phase: int
    due: float
    promises: dict[int, Optional[Accepted]] = field(default_factory=dict)

    def message(self) -> Send:
        """What this instance needs sent now (again): its prepare or its accept request."""
        if self.phase == 1:
            return Send(Group.ACCEPTORS, Phase1A(self.rnd, self.instance, False))
        return Send(Group.ACCEPTORS, Phase2A(self.rnd, self.instance, self.value))

    def on_promise(self, m: Phase1B, quorum: int) -> bool:
        """Phase 1b covering this instance; True once ``quorum`` acceptors promised.

        Usually the answer to this commander's own prepare, reporting this instance alone.
        It may also be a page of a promise for every instance (a restarted classic-mode
        proposer prepares them all first, and a late page arrives once it leads in the
        same round): only the vote reported for *this* instance counts, if any."""
        vote = next((v for v in m.accepted if v.instance == self.instance), None)
        self.promises[m.acceptor] = vote
        return len(self.promises) >= quorum

    def reported_value(self, highest: bool = True) -> Optional[Batch]:
        """The value accepted in the highest round the promises reported (P2c); None if
        no acceptor reported a vote for this instance. (``highest=False``, the lowest
        round's, is the bug pick-any-1b-value.)"""
        votes = [v for v in self.promises.values() if v is not None]
        if not votes:
            return None
        return (max if highest else min)(votes, key=lambda v: v.v_rnd).v_val

    def accept(self, due: float) -> Send:
        """Phase 1 won: move to phase 2 and return the accept request for ``value``."""
        self.phase = 2
        self.due = due
        return self.message()
