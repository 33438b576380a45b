"""Proposal numbers ("rounds") that are unique per proposer.

Paxos Made Simple, section 2.2: "different proposers choose their numbers from disjoint
sets". A round is one integer ``counter * ROUND_STRIDE + proposer_id``: rounds of different
proposers never collide, and any proposer can always pick a round above one it has seen.
Round 0 means "no round yet" (nothing promised, nothing accepted).
"""

from __future__ import annotations

ROUND_STRIDE = 1 << 16
"""Proposer ids are below this, so the low 16 bits of a round name its owner."""

NO_ROUND = 0


def make_round(counter: int, proposer: int) -> int:
    """The round numbered ``counter`` that belongs to ``proposer`` (counter >= 1)."""
    return counter * ROUND_STRIDE + proposer


def round_owner(rnd: int) -> int:
    """The proposer id a round belongs to."""
    return rnd % ROUND_STRIDE


def round_counter(rnd: int) -> int:
    """The counter part of a round (what a human would call "round 3")."""
    return rnd // ROUND_STRIDE


def next_round_above(seen: int, proposer: int) -> int:
    """A round of ``proposer`` strictly greater than ``seen``: the next counter.

    (Not always the smallest such round: ``seen = 3.1`` gives ``4.5`` for proposer 5,
    though ``3.5`` is greater too. Moving to the next counter keeps rounds readable.)"""
    return make_round(round_counter(seen) + 1, proposer)


def format_round(rnd: int) -> str:
    """Human-readable form ``counter.owner`` used in notes, tables and diagrams."""
    if rnd == NO_ROUND:
        return "-"
    return f"{round_counter(rnd)}.{round_owner(rnd)}"
