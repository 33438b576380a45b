"""The one quorum rule of paxos_edu.

Every role that counts votes (proposer counting promises, learner counting 2B) asks this
module: a quorum is a strict majority of the acceptors, so any two quorums intersect in
at least one acceptor -- the fact that makes the other rules of Paxos sufficient (they are
needed too: notebook 09 breaks five others). Strictly, safety needs less: every phase-1
quorum must meet every phase-2 quorum (Flexible Paxos); majorities give both at once.
Keeping the arithmetic in one place avoids the classic bug of a copy that is off by one.
"""

from __future__ import annotations

from .errors import UsageError


def quorum_size(acceptors: int) -> int:
    """Smallest strict majority of ``acceptors`` (3 -> 2, 4 -> 3, 5 -> 3)."""
    if acceptors < 1:
        raise UsageError(f"a Paxos system needs at least one acceptor, got {acceptors}")
    return acceptors // 2 + 1


def is_voter(acceptor: int, acceptors: int) -> bool:
    """True when ``acceptor`` is one of the ids ``1..acceptors`` a quorum is counted from.

    A vote (1B or 2B) from any other id is ignored: counted, it could shrink a quorum --
    acceptors 4 and 5 would be "two of three" and meet no majority of acceptors 1..3.
    """
    return 1 <= acceptor <= acceptors


def is_quorum(votes: int, acceptors: int) -> bool:
    """True when ``votes`` distinct acceptors form a strict majority."""
    return votes >= quorum_size(acceptors)
