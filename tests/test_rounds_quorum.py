"""Proposal numbers unique per proposer, and the one majority rule."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paxos_edu.errors import UsageError
from paxos_edu.quorum import is_quorum, quorum_size
from paxos_edu.rounds import (
    NO_ROUND,
    ROUND_STRIDE,
    format_round,
    make_round,
    next_round_above,
    round_counter,
    round_incarnation,
    round_owner,
)

proposers = st.integers(0, 2**16 - 1)
incarnations = st.integers(0, 2**16 - 1)
counters = st.integers(1, 2**30)
rounds = st.integers(0, 2**62)

# ---------------------------------------------------------------- rounds


@given(counters, proposers, counters, proposers)
def test_rounds_of_different_proposers_never_collide(c1, p1, c2, p2):
    assert (make_round(c1, p1) == make_round(c2, p2)) == ((c1, p1) == (c2, p2))


@given(counters, proposers)
def test_round_owner_and_counter_invert_make_round(counter, proposer):
    rnd = make_round(counter, proposer)
    assert round_owner(rnd) == proposer
    assert round_counter(rnd) == counter


@given(counters, proposers, incarnations, incarnations)
def test_runs_of_one_proposer_never_share_a_round(counter, proposer, i1, i2):
    same = make_round(counter, proposer, i1) == make_round(counter, proposer, i2)
    assert same == (i1 == i2)


@given(counters, proposers, incarnations)
def test_next_round_above_keeps_the_incarnation(counter, proposer, incarnation):
    rnd = next_round_above(make_round(counter, 1), proposer, incarnation)
    assert round_incarnation(rnd) == incarnation
    assert round_owner(rnd) == proposer


@given(counters, proposers, incarnations, counters, proposers, incarnations)
def test_rounds_compare_by_counter_then_proposer_whatever_the_incarnations(c1, p1, i1, c2, p2, i2):
    # notebook 01 says so: "1.2" outranks "1.1" in real runs too, where incarnations are random
    if (c1, p1) != (c2, p2):
        assert (make_round(c1, p1, i1) < make_round(c2, p2, i2)) == ((c1, p1) < (c2, p2))


def test_round_of_a_higher_proposer_id_outranks_a_high_incarnation():
    assert make_round(1, 1, 2**16 - 1) < make_round(1, 2, 0)
    assert round_incarnation(make_round(1, 2, 7)) == 7


def test_incarnation_shows_in_the_full_label_only_when_not_zero():
    assert format_round(make_round(3, 1)) == "3.1"
    assert format_round(make_round(3, 1, 7)) == "3.1"
    assert format_round(make_round(3, 1), full=True) == "3.1"
    assert format_round(make_round(3, 1, 7), full=True) == "3.1~7"


def test_round_stride_moves_to_the_next_counter():
    assert make_round(2, 5) - make_round(1, 5) == ROUND_STRIDE


@given(counters, proposers)
def test_every_real_round_is_above_no_round(counter, proposer):
    assert make_round(counter, proposer) > NO_ROUND


@given(rounds, proposers)
def test_next_round_above_is_higher_and_owned_by_the_proposer(seen, proposer):
    rnd = next_round_above(seen, proposer)
    assert rnd > seen
    assert round_owner(rnd) == proposer


@given(rounds, proposers)
def test_next_round_above_advances_the_counter_by_one(seen, proposer):
    assert round_counter(next_round_above(seen, proposer)) == round_counter(seen) + 1


@given(proposers)
def test_first_round_of_a_proposer_has_counter_one(proposer):
    assert next_round_above(NO_ROUND, proposer) == make_round(1, proposer)


@given(st.lists(proposers, min_size=1, max_size=30))
def test_proposers_bumping_over_each_other_pick_distinct_rising_rounds(moves):
    # Each move: some proposer sees the highest round so far and picks one above it.
    highest, chosen = NO_ROUND, []
    for proposer in moves:
        highest = next_round_above(highest, proposer)
        chosen.append(highest)
    assert chosen == sorted(set(chosen))


@pytest.mark.parametrize(
    ("rnd", "text"),
    [(NO_ROUND, "-"), (make_round(1, 0), "1.0"), (make_round(3, 2), "3.2")],
)
def test_format_round_reads_counter_dot_owner(rnd, text):
    assert format_round(rnd) == text


# ---------------------------------------------------------------- quorums


@pytest.mark.parametrize(
    ("acceptors", "quorum"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)]
)
def test_quorum_is_smallest_strict_majority(acceptors, quorum):
    assert quorum_size(acceptors) == quorum
    assert is_quorum(quorum, acceptors)
    assert not is_quorum(quorum - 1, acceptors)


@pytest.mark.parametrize("acceptors", [0, -1])
def test_quorum_needs_at_least_one_acceptor(acceptors):
    with pytest.raises(UsageError):
        quorum_size(acceptors)


@pytest.mark.parametrize("acceptors", range(1, 8))
def test_any_two_quorums_intersect(acceptors):
    size = quorum_size(acceptors)
    quorums = list(combinations(range(acceptors), size))
    for q1, q2 in combinations(quorums, 2):
        assert set(q1) & set(q2)


@pytest.mark.parametrize("acceptors", range(1, 8))
def test_one_vote_fewer_than_a_quorum_is_unsafe(acceptors):
    # Two disjoint groups of quorum_size - 1 exist: a smaller threshold could decide twice.
    assert 2 * (quorum_size(acceptors) - 1) <= acceptors


@given(st.integers(1, 10_000))
def test_two_quorums_outnumber_the_acceptors(acceptors):
    assert 2 * quorum_size(acceptors) > acceptors
