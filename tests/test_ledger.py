"""The ledger: which instances are decided (a quorum of 2B in one round), what is missing,
and when to ask for it."""

from __future__ import annotations

import random

import pytest
from roles_helper import FixedRandom, batch

from paxos_edu.effects import Send
from paxos_edu.messages import NOOP, CatchUp, Group
from paxos_edu.roles import CATCHUP_PAGE, Ledger
from paxos_edu.roles.ledger import CatchUpRequester
from paxos_edu.rounds import make_round

R1, R2 = make_round(1, 1), make_round(1, 2)
A, B = batch("a"), batch("b", first_seq=1)


def test_a_quorum_is_a_strict_majority_of_the_acceptors():
    assert [Ledger(n).quorum for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
    assert Ledger(3, quorum=1).quorum == 1


def test_an_instance_is_decided_by_a_quorum_of_votes_in_one_round():
    ledger = Ledger(3)
    assert ledger.vote(1, R1, 0, A) is False
    assert ledger.vote(2, R2, 0, B) is False  # another round: not a second vote for R1
    assert not ledger.is_decided(0)
    assert ledger.vote(3, R2, 0, B) is True
    assert ledger.is_decided(0) and ledger.decided[0] == B
    assert ledger.vote(1, R2, 0, B) is False  # decided once


def test_a_repeated_vote_of_one_acceptor_counts_once():
    ledger = Ledger(3)
    assert [ledger.vote(1, R1, 0, A) for _ in range(3)] == [False] * 3
    assert ledger.vote(2, R1, 0, A) is True


def test_votes_of_a_decided_instance_are_forgotten():
    ledger = Ledger(3)
    ledger.vote(1, R1, 0, A)
    ledger.vote(2, R1, 0, A)
    assert ledger.votes == {} and ledger.first_value == {}


def test_a_told_decision_is_news_only_once():
    ledger = Ledger(3)
    assert ledger.learn(4, A) is True
    assert ledger.learn(4, A) is False
    assert ledger.vote(1, R1, 4, A) is False


def test_prefix_counts_the_decided_instances_without_a_hole():
    ledger = Ledger(3)
    ledger.learn(1, A)
    assert ledger.prefix == 0
    ledger.learn(0, NOOP)
    assert ledger.prefix == 2
    ledger.learn(3, B)
    assert ledger.prefix == 2 and ledger.highest == 3


def test_a_gap_is_an_instance_heard_of_but_not_decided():
    ledger = Ledger(3)
    assert not ledger.has_gap
    ledger.heard_of(2)
    assert ledger.has_gap and ledger.highest == 2
    ledger.heard_of(1)  # never lowers what is known
    assert ledger.highest == 2
    for i in range(3):
        ledger.learn(i, A)
    assert not ledger.has_gap


def test_a_single_vote_reveals_its_instance():
    ledger = Ledger(3)
    ledger.vote(1, R1, 5, A)
    assert ledger.highest == 5 and ledger.has_gap


def test_forgetting_delivered_values_keeps_them_decided():
    ledger = Ledger(3)
    for i in range(4):
        ledger.learn(i, A)
    assert [ledger.take(i) for i in range(3)] == [A, A, A]
    assert list(ledger.decided) == [3]
    assert all(ledger.is_decided(i) for i in range(4))
    assert ledger.learn(1, B) is False


# ---------------------------------------------------------------- asking for catch-up


def test_catch_up_waits_one_timeout_for_a_gap_to_fill_by_itself():
    ledger, asker = Ledger(3), CatchUpRequester(9, 0.1, FixedRandom(0.0))
    ledger.heard_of(3)
    assert asker.update(ledger, 1.0) == [] and asker.due == pytest.approx(1.1)
    assert asker.tick(ledger, 1.09) == []
    assert asker.tick(ledger, 1.1) == [Send(Group.LEARNERS, CatchUp(9, 0))]


def test_catch_up_is_not_asked_when_the_gap_closed_meanwhile():
    ledger, asker = Ledger(3), CatchUpRequester(9, 0.1, FixedRandom(0.0))
    ledger.heard_of(0)
    asker.update(ledger, 0.0)
    ledger.learn(0, A)
    assert asker.tick(ledger, 1.0) == [] and asker.due is None


def test_catch_up_jitter_stays_within_a_quarter_timeout():
    ledger, asker = Ledger(3), CatchUpRequester(9, 0.1, random.Random(5))
    ledger.heard_of(0)
    asker.update(ledger, 0.0)
    assert 0.1 <= asker.due <= 0.125


def test_a_consumed_page_makes_the_requester_ask_for_the_next_one_at_once():
    ledger, asker = Ledger(3), CatchUpRequester(9, 0.1, FixedRandom(0.0))
    ledger.heard_of(1000)
    asker.update(ledger, 0.0)
    assert asker.tick(ledger, 0.1) == [Send(Group.LEARNERS, CatchUp(9, 0))]
    for i in range(CATCHUP_PAGE - 1):
        ledger.learn(i, A)
        assert asker.update(ledger, 0.2) == []
    ledger.learn(CATCHUP_PAGE - 1, A)
    assert asker.update(ledger, 0.2) == [Send(Group.LEARNERS, CatchUp(9, CATCHUP_PAGE))]
