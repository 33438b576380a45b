"""Proposal numbers ("rounds") that are unique per proposer -- and per proposer run.

Paxos Made Simple, section 2.5: "different proposers choose their numbers from disjoint
sets of numbers". A round is one 64-bit integer laid out as ``counter | proposer |
incarnation`` (31, 16 and 16 bits), so rounds compare by counter first, then by proposer
id -- everywhere, in the simulator and in real processes alike: ``1.2`` outranks ``1.1``
whatever incarnations the two proposers drew. The incarnation only tells two runs of one
proposer apart.

Why unique? An acceptor takes a second accept request of a round it already voted in for
a retransmission and votes again -- for whatever value it carries. Two values in one
round would let two quorums "choose" different values (the ``shared-rounds`` bug of
notebook 09). Rounds of different proposers never collide (the proposer bits differ), and
any proposer can always pick a round above one it has seen.

A *restarted* proposer remembers nothing. PMS section 2.5 has it keep "the highest-numbered
proposal it has tried to issue" in stable storage; paxos_edu does not store it but gives
every run of a proposer a new incarnation (the simulator counts starts: 0, 1, 2, ...; a
real process draws 16 random bits), so its rounds differ from those of its earlier lives.
In the simulator that is certain; in real processes it holds *with high probability* only:
a restart draws its predecessor's incarnation with probability 1/65536, and then it could
reuse a round. What a proposer restart needs is a round it never used before -- stable
storage makes that certain, a fresh incarnation makes it likely. Round 0 means "no round
yet" (nothing promised, nothing accepted).
"""

from __future__ import annotations

ROUND_STRIDE = 1 << 32
"""Adding this to a round moves to the next counter of the same proposer run."""
_ID_BITS = 16
_ID_MASK = (1 << _ID_BITS) - 1

NO_ROUND = 0

MAX_COUNTER = ((1 << 63) - 1) // ROUND_STRIDE
"""Counters stop here: a round must fit the wire's 63 bits (``messages.END``)."""

ROUND_HORIZON = 1 << 24
"""Most counters a round may lie above the highest one a process knows. Counters grow by
one per election, so a real round is never 16 million elections ahead; a round further
up is a forgery (or a neighbour's bug) -- adopting it would burn the round space until no
proposer could outbid it any more, a wedge."""


def make_round(counter: int, proposer: int, incarnation: int = 0) -> int:
    """The round numbered ``counter`` of run ``incarnation`` of ``proposer`` (counter >= 1).

    The proposer id lies above the incarnation, so rounds with one counter compare by
    proposer id; only the low 16 bits of ``incarnation`` are kept."""
    owner = (proposer & _ID_MASK) << _ID_BITS
    return counter * ROUND_STRIDE + owner + (incarnation & _ID_MASK)


def round_owner(rnd: int) -> int:
    """The proposer id a round belongs to."""
    return (rnd >> _ID_BITS) & _ID_MASK


def round_incarnation(rnd: int) -> int:
    """Which run of its proposer made the round (0 for a first start in the simulator)."""
    return rnd & _ID_MASK


def round_counter(rnd: int) -> int:
    """The counter part of a round (what a human would call "round 3")."""
    return rnd // ROUND_STRIDE


def plausible_round(rnd: int, known: int) -> bool:
    """True if ``rnd`` could come from a real proposer, for a process whose highest known
    round is ``known``: at most :data:`ROUND_HORIZON` counters above it, and below the last
    counter (a round nobody could ever outbid)."""
    counter = rnd // ROUND_STRIDE
    return counter < MAX_COUNTER and counter <= known // ROUND_STRIDE + ROUND_HORIZON


def next_round_above(seen: int, proposer: int, incarnation: int = 0) -> int:
    """A round of ``proposer`` (run ``incarnation``) strictly greater than ``seen``: the
    next counter.

    (Not always the smallest such round: ``seen = 3.1`` gives ``4.5`` for proposer 5,
    though ``3.5`` is greater too. Moving to the next counter keeps rounds readable.)"""
    return make_round(round_counter(seen) + 1, proposer, incarnation)


def format_round(rnd: int, *, full: bool = False) -> str:
    """Human-readable form ``counter.owner`` used in notes, tables and diagrams.

    With ``full=True`` a non-zero incarnation is shown too (``3.1~7``); real processes
    draw a random incarnation, which would only clutter a diagram."""
    if rnd == NO_ROUND:
        return "-"
    base = f"{round_counter(rnd)}.{round_owner(rnd)}"
    incarnation = round_incarnation(rnd)
    return f"{base}~{incarnation}" if full and incarnation else base
