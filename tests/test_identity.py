"""Identity rules: incarnations, twins (two live processes with one role and id), votes."""

from __future__ import annotations

import pytest

from paxos_edu.identity import (
    TwinDetector,
    VoteFilter,
    incarnation_started,
    new_incarnation,
    role_code,
)
from paxos_edu.messages import Header

ACCEPTOR = role_code("acceptor")
T0 = 1_780_000_000.0  # a wall-clock start time


def _header(incarnation: int, role: int = ACCEPTOR, id: int = 1, seq: int = 1) -> Header:
    return Header(role, id, incarnation, seq)


# ---------------------------------------------------------------------- incarnations


def test_incarnation_holds_its_start_time_and_orders_later_starts_higher():
    first = new_incarnation(T0, nonce=0xFFFFF)
    later = new_incarnation(T0 + 0.002, nonce=0)
    assert incarnation_started(first) == pytest.approx(T0, abs=0.001)
    assert later > first


def test_incarnations_drawn_at_the_same_time_differ():
    drawn = {new_incarnation(T0) for _ in range(50)}
    assert len(drawn) >= 49  # 20 random bits: a collision in 50 draws is ~0.1 %


def test_incarnation_is_never_the_anonymous_zero():
    assert new_incarnation(0.0, nonce=0) != 0


# ---------------------------------------------------------------------- twins


def _pair(period: float = 0.2) -> tuple[TwinDetector, TwinDetector]:
    old = TwinDetector(ACCEPTOR, 1, new_incarnation(T0, 1), period)
    new = TwinDetector(ACCEPTOR, 1, new_incarnation(T0 + 5, 2), period)
    return old, new


def test_only_same_role_and_id_with_another_incarnation_is_a_twin():
    old, new = _pair()
    assert old.is_twin(_header(new.incarnation))
    assert not old.is_twin(_header(old.incarnation))  # our own datagram, looped back
    assert not old.is_twin(_header(new.incarnation, id=2))
    assert not old.is_twin(_header(new.incarnation, role=role_code("learner")))
    assert not old.is_twin(_header(0))  # anonymous (a tool)


def test_older_process_reports_a_newcomer_once_and_answers_it():
    old, new = _pair()
    twin, answer = old.heard(_header(new.incarnation), None, 0.0)
    assert twin is not None and twin.newer and twin.incarnation == new.incarnation
    assert answer == new.incarnation  # echo it: the proof the newcomer waits for
    again, answer = old.heard(_header(new.incarnation), None, 0.01)
    assert again is None and answer is None  # reported once, answered once per period
    _, answer = old.heard(_header(new.incarnation), None, 0.25)
    assert answer == new.incarnation


def test_newcomer_gives_up_only_on_an_echo_of_its_own_incarnation():
    old, new = _pair()
    # Plain traffic of the older twin (or a replay of it): not yet proof it is alive.
    twin, answer = new.heard(_header(old.incarnation), None, 0.0)
    assert twin is None and answer == old.incarnation  # ask it
    twin, _ = new.heard(_header(old.incarnation), 12345, 0.05)  # echo of someone else
    assert twin is None
    twin, _ = new.heard(_header(old.incarnation), new.incarnation, 0.1)
    assert twin is not None and not twin.newer and twin.proven
    assert twin.started == pytest.approx(T0, abs=0.001)
    twin, _ = new.heard(_header(old.incarnation), new.incarnation, 0.2)
    assert twin is None  # news only once


def test_both_sides_agree_who_is_the_newcomer():
    old, new = _pair()
    seen_by_old, _ = old.heard(_header(new.incarnation), None, 0.0)
    _, echo = old.heard(_header(new.incarnation), None, 1.0)
    seen_by_new, _ = new.heard(_header(old.incarnation), echo, 1.0)
    assert seen_by_old.newer and not seen_by_new.newer


def test_a_clean_restart_is_no_conflict():
    # The earlier life is dead: its datagrams may still be replayed, but nobody echoes
    # the new incarnation, so the restarted process never gives up.
    dead, restarted = _pair()
    for step in range(100):
        twin, _ = restarted.heard(_header(dead.incarnation), None, step * 0.1)
        assert twin is None


def test_hello_period():
    detector = TwinDetector(ACCEPTOR, 1, 7, 0.2)
    assert detector.due() == 0.0  # the first hello at once
    detector.hello_sent(3.0)
    assert detector.due() == pytest.approx(3.2)
    with pytest.raises(ValueError):
        TwinDetector(ACCEPTOR, 1, 7, 0.0)


def test_twin_memory_is_bounded_whatever_a_forger_sends():
    old, _ = _pair()
    for forged in range(1, 1000):
        old.heard(_header(old.incarnation + forged), None, 0.0)
    assert len(old.twins) <= 64 and len(old.answered) <= 64


# ---------------------------------------------------------------------- votes


def test_votes_of_one_incarnation_count():
    votes = VoteFilter(hold=0.4)
    assert all(votes.admit(_header(5), 1, t * 0.01) for t in range(10))


def test_clean_restart_of_an_acceptor_switches_at_once():
    votes = VoteFilter(hold=0.4)
    assert votes.admit(_header(5), 1, 0.0)
    assert votes.admit(_header(9), 1, 0.1)  # the old life is silent from now on
    assert votes.admit(_header(9), 1, 0.2)
    assert votes.conflicted(0.2) == []


def test_an_acceptor_id_answering_with_two_incarnations_at_once_is_not_counted():
    votes = VoteFilter(hold=0.4)
    assert votes.admit(_header(5), 1, 0.0)
    assert votes.admit(_header(9), 1, 0.01)  # looks like a restart, so far
    assert not votes.admit(_header(5), 1, 0.02)  # the old one again: both alive
    assert not votes.admit(_header(9), 1, 0.03)
    assert votes.conflicted(0.03) == [1]
    assert votes.admit(_header(5, id=2), 2, 0.03)  # other acceptors still count
    # The newcomer exited; the survivor's next vote is one more switch back (hold
    # restarts), then its votes count again once the hold has passed.
    assert not votes.admit(_header(5), 1, 0.3)
    assert not votes.admit(_header(5), 1, 0.6)
    assert votes.admit(_header(5), 1, 0.75)
    assert votes.refused == 4


def test_a_vote_must_come_from_the_acceptor_it_names():
    votes = VoteFilter(hold=0.4)
    assert not votes.admit(_header(5, id=2), 1, 0.0)  # header acceptor 2, body acceptor 1
    assert not votes.admit(_header(5, role=role_code("proposer")), 1, 0.0)
