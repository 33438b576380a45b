"""Phase 1 of Multi-Paxos over a whole range of instances: the proposer's *Scout*.

The name and the split come from "Paxos Made Moderately Complex" (van Renesse and
Altinbuken): a leader sends a scout to win a round, then commanders to get each
instance accepted in it (:mod:`paxos_edu.roles.commander`).

A proposer taking over sends one prepare, ``Phase1A(rnd, first, onward=True)``: "promise me
round ``rnd`` for every instance from ``first`` on, and tell me what you accepted there"
(Paxos Made Simple, phase 1a). Each acceptor answers with a promise, ``Phase1B``, that
reports its votes page by page -- instances ``[instance, upto)``, ``upto == END`` on the
last page -- so a long history never outgrows a datagram. The scout keeps, per instance,
the vote of the highest round any promise reported (what the proposer must re-propose,
P2c) and is *adopted* once a quorum of acceptors has reported everything.

A rejection (``Nack``) is not the scout's business: it tells the proposer that a higher
round exists, and the proposer drops the scout when it steps down.
"""

from __future__ import annotations

from ..effects import Send
from ..messages import END, Accepted, Group, Phase1A, Phase1B


class Scout:
    """One phase 1 in progress: round ``rnd`` for every instance >= ``first``.

    State (initial values):
        rnd, first, quorum  the round asked for, the first instance covered, promises needed
        due                 when to send the prepare again if still not adopted
        covered = {}        acceptor -> its report is complete below this instance (END: all)
        votes = {}          instance -> highest-round vote reported for it
        highest = True      False only for the bug pick-any-1b-value: keep the lowest
    """

    __slots__ = ("rnd", "first", "quorum", "due", "covered", "votes", "highest")

    def __init__(self, rnd: int, first: int, quorum: int, due: float,
                 highest: bool = True) -> None:
        self.highest = highest
        self.rnd = rnd
        self.first = first
        self.quorum = quorum
        self.due = due
        self.covered: dict[int, int] = {}
        self.votes: dict[int, Accepted] = {}

    def prepare(self) -> Send:
        """The prepare that starts phase 1."""
        return Send(Group.ACCEPTORS, Phase1A(self.rnd, self.first, True))

    def on_promise(self, m: Phase1B) -> list[Send]:
        """Take one page of a promise for ``rnd``; ask for that acceptor's next page if its
        report goes on."""
        expected = self.covered.get(m.acceptor, self.first)
        if m.instance > expected or expected == END:
            return []  # a page beyond what we hold from this acceptor, or a duplicate
        votes, first = self.votes, self.first
        for vote in m.accepted:
            best = votes.get(vote.instance)
            if vote.instance < first:
                continue
            if best is None or (vote.v_rnd > best.v_rnd if self.highest
                                else vote.v_rnd < best.v_rnd):
                votes[vote.instance] = vote
        self.covered[m.acceptor] = max(expected, m.upto)
        if m.upto != END:  # a long history: ask this page's successor
            return [Send(Group.ACCEPTORS, Phase1A(self.rnd, m.upto, True))]
        return []

    @property
    def adopted(self) -> bool:
        """A quorum of acceptors promised ``rnd`` and reported every vote from ``first`` on."""
        return sum(1 for c in self.covered.values() if c == END) >= self.quorum

    def resend(self) -> Send:
        """The prepare again: from the lowest page an acceptor that answered has not
        completed, or from ``first`` when every answer so far is complete."""
        incomplete = [c for c in self.covered.values() if c != END]
        start = min(incomplete) if incomplete else self.first
        return Send(Group.ACCEPTORS, Phase1A(self.rnd, start, True))
