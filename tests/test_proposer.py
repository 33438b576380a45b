"""The proposer (Multi-Paxos leader), message by message: take over, promises, leading,
losing, retries and catch-up -- with an injected ``random.Random`` and explicit times."""

from __future__ import annotations

import random

import pytest
from roles_helper import (  # noqa: F401
    FixedRandom,
    Harness,
    Like,
    batch,
    note,
    sub,
    unchecked_effects_fail,
)

from paxos_edu.bugs import Bug
from paxos_edu.codec import MAX_DATAGRAM, encode
from paxos_edu.effects import Send
from paxos_edu.messages import (
    END,
    NOOP,
    Accepted,
    Ack,
    CatchUp,
    Decision,
    Group,
    Heartbeat,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
    Submit,
)
from paxos_edu.roles import CATCHUP_PAGE, Proposer, Status
from paxos_edu.rounds import NO_ROUND, make_round, round_owner

T = 0.1  # the timeout setting
X = batch("x", client=7)  # a value another proposer got accepted earlier
Y = batch("y", client=8)
MINE = batch("mine")


def new(id: int = 1, rng: random.Random | None = None, **settings) -> Harness:
    """A fresh proposer with timeout T; jitter pinned to x1.125 unless ``rng`` is given."""
    settings.setdefault("acceptor_count", 3)
    role = Proposer(id, timeout=T, rng=rng or FixedRandom(0.5), **settings)
    return Harness(role)


def to_acceptors(msg) -> Send:
    return Send(Group.ACCEPTORS, msg)


def heartbeat(proposer: int, rnd: int, decided: int = 0) -> Send:
    return Send(Group.LEARNERS, Heartbeat(proposer, rnd, decided))


def take_over(r: Harness, now: float, first: int = 0) -> int:
    """Tick a follower into phase 1 (multi mode); return its new round."""
    r.tick(now)
    r.take(CatchUp)  # a follower with a gap may ask for catch-up in the same tick
    r.expect_only(note("phase1_start", first=first),
                  to_acceptors(Like(Phase1A, instance=first, onward=True)))
    assert r.role.status is Status.PREPARING
    return r.role.c_rnd


def promise(acceptor: int, rnd: int, accepted=(), instance: int = 0, upto: int = END) -> Phase1B:
    return Phase1B(acceptor, rnd, instance, upto, tuple(accepted))


def lead(r: Harness, now: float = 0.01, votes=()) -> int:
    """Take over and collect promises from acceptors 1 and 2 (nothing accepted)."""
    rnd = take_over(r, now)
    r.feed(promise(1, rnd, votes), promise(2, rnd), now=now + 0.001)
    r.expect(note("leader"), heartbeat(r.role.id, rnd))
    assert r.role.status is Status.LEADING
    return rnd


def decide(r: Harness, rnd: int, instance: int, value, now: float | None = None) -> None:
    """A quorum of 2B for ``instance`` reaches the proposer on the learners group."""
    r.feed(Phase2B(1, rnd, instance, value), Phase2B(2, rnd, instance, value), now=now)


# ---------------------------------------------------------------- taking over


def test_proposer_that_never_saw_a_leader_takes_over_after_its_patience():
    r = new(1)
    r.tick(0.0).expect_only(heartbeat(1, NO_ROUND))
    assert r.role.deadline() == pytest.approx(r.role.patience)
    rnd = take_over(r, r.role.deadline())
    assert rnd == make_round(1, 1)


def test_proposers_with_higher_ids_are_more_patient_at_start_up():
    patience = [Proposer(i, timeout=T, rng=FixedRandom(0.5)).patience for i in (1, 2, 3)]
    assert patience == sorted(patience) and len(set(patience)) == 3


def test_follower_that_saw_a_leader_does_not_take_over_without_work():
    r = new(1)
    r.feed(Heartbeat(2, make_round(1, 2), 0), now=0.0).expect_nothing()
    r.tick(0.0).expect_only(heartbeat(1, NO_ROUND))
    assert r.role.deadline() == pytest.approx(T)  # only its own status heartbeat
    r.tick(10.0).expect_only(heartbeat(1, NO_ROUND))
    assert r.role.status is Status.FOLLOWER


def test_follower_with_pending_values_takes_over_when_the_leader_falls_silent():
    r = new(1)
    r.feed(Heartbeat(2, make_round(1, 2), 0), now=0.0).expect_nothing()
    r.feed(Submit(MINE), now=0.001).expect_nothing()  # followers only remember values
    r.feed(Heartbeat(2, make_round(1, 2), 0), now=0.05).expect_nothing()
    r.tick(0.05 + r.role.patience * 0.9).expect_only(heartbeat(1, NO_ROUND))
    rnd = take_over(r, 0.05 + r.role.patience)
    assert rnd == make_round(2, 1)  # above the round it saw


def test_follower_missing_decisions_takes_over_when_nobody_leads():
    r = new(1)
    r.feed(Heartbeat(2, make_round(1, 2), 0), now=0.0).expect_nothing()
    r.feed(Phase2B(1, make_round(1, 2), 3, X), now=0.002).expect_nothing()  # a gap: 0..3
    r.tick(0.002 + T * 1.125)  # first it asks for the missing decisions, heartbeats ...
    assert r.take(CatchUp) == [CatchUp(1, 0)]
    r.take(Heartbeat)
    take_over(r, 0.002 + r.role.patience)  # ... then, with nobody leading, takes over


def test_a_2b_of_another_proposer_counts_as_a_sign_of_life():
    r = new(1)
    r.feed(Submit(MINE), now=0.0).expect_nothing()
    r.feed(Phase2B(1, make_round(1, 2), 0, X), now=0.004).expect_nothing()
    assert r.role.patience >= 2 * T  # a leader exists: no more start-up haste
    r.tick(0.004 + r.role.patience * 0.9)
    r.take(Heartbeat)
    r.take(CatchUp)  # instance 0 is heard of, not yet decided here
    take_over(r, 0.004 + r.role.patience)


def test_take_over_prepares_from_the_first_undecided_instance():
    r = new(1)
    r.feed(Decision(0, X), Decision(1, Y), now=0.0).expect_nothing()
    take_over(r, 0.01, first=2)


# ---------------------------------------------------------------- promises


def test_proposer_leads_once_a_quorum_promised():
    r = new(1)
    rnd = take_over(r, 0.01)
    r.feed(promise(1, rnd), now=0.011).expect_nothing()
    r.feed(promise(1, rnd), now=0.012).expect_nothing()  # a duplicate is not a second vote
    r.feed(promise(2, rnd), now=0.013)
    r.expect_only(note("leader", rnd="1.1", recovered=0), heartbeat(1, rnd))
    assert r.role.status is Status.LEADING


def test_five_acceptors_need_three_promises():
    r = new(1, acceptor_count=5)
    rnd = take_over(r, 0.01)
    r.feed(promise(1, rnd), promise(2, rnd), now=0.011).expect_nothing()
    r.feed(promise(5, rnd), now=0.012).expect_only(note("leader"), heartbeat(1, rnd))


def test_promises_for_another_round_are_ignored():
    r = new(1)
    rnd = take_over(r, 0.01)
    other = make_round(1, 2)
    r.feed(promise(1, other), promise(2, other), promise(3, rnd - 1), now=0.011).expect_nothing()
    assert r.role.status is Status.PREPARING


def test_a_promise_that_reports_an_accepted_value_forces_the_proposer_to_propose_it():
    r = new(1)
    r.feed(Submit(MINE), now=0.0).expect_nothing()
    rnd = take_over(r, 0.01)
    old = make_round(0, 2)  # any round below ours
    r.feed(promise(1, rnd, [Accepted(0, old, X)]), promise(2, rnd), now=0.011)
    r.expect_only(
        note("leader", recovered=1),
        heartbeat(1, rnd),
        to_acceptors(Phase2A(rnd, 0, X)),  # the reported value, not ours
        to_acceptors(Phase2A(rnd, 1, MINE)),  # ours goes to the next free instance
    )
    assert r.role.c_val == {0: X, 1: MINE}


@pytest.mark.parametrize("order", ["low first", "high first"])
def test_the_value_accepted_in_the_highest_reported_round_wins(order):
    r = new(1)
    r.feed(Heartbeat(2, make_round(5, 2), 0), Submit(MINE), now=0.0).expect_nothing()
    r.tick(T)  # a follower's own heartbeat, while the leader is still trusted
    r.take(Heartbeat)
    t = r.role.patience
    rnd = take_over(r, t)
    assert rnd == make_round(6, 1)
    low = promise(2, rnd, [Accepted(0, make_round(2, 2), X)])
    high = promise(3, rnd, [Accepted(0, make_round(3, 3), Y)])
    r.feed(*((low, high) if order == "low first" else (high, low)), now=t + 0.001)
    r.expect_only(note("leader"), heartbeat(1, rnd),
                  to_acceptors(Phase2A(rnd, 0, Y)), to_acceptors(Phase2A(rnd, 1, MINE)))


def test_holes_in_the_reported_range_are_filled_with_noops():
    r = new(1)
    rnd = take_over(r, 0.01)
    old = make_round(0, 2)
    r.feed(promise(1, rnd, [Accepted(0, old, X), Accepted(3, old, Y)]), promise(2, rnd),
           now=0.011)
    r.expect_only(
        note("leader", recovered=4),
        heartbeat(1, rnd),
        to_acceptors(Phase2A(rnd, 0, X)),
        to_acceptors(Phase2A(rnd, 1, NOOP)),
        to_acceptors(Phase2A(rnd, 2, NOOP)),
        to_acceptors(Phase2A(rnd, 3, Y)),
    )


def test_instances_known_decided_are_not_proposed_again():
    r = new(1)
    r.feed(Decision(1, MINE), now=0.0).expect_nothing()
    rnd = take_over(r, 0.01)  # instance 0 is still open: prepare from 0
    old = make_round(0, 2)
    r.feed(promise(1, rnd, [Accepted(0, old, X), Accepted(2, old, Y)]), promise(2, rnd),
           now=0.011)
    # recovered: the instances of the range phase 1 covered (0..2); 1 is known decided
    r.expect_only(note("leader", recovered=3), heartbeat(1, rnd),
                  to_acceptors(Phase2A(rnd, 0, X)), to_acceptors(Phase2A(rnd, 2, Y)))


def test_a_long_promise_history_is_collected_page_by_page():
    r = new(1)
    rnd = take_over(r, 0.01)
    old = make_round(0, 2)
    first_page = [Accepted(i, old, X) for i in range(3)]
    r.feed(promise(1, rnd, first_page, upto=3), now=0.011)
    r.expect_only(to_acceptors(Phase1A(rnd, 3, True)))  # ask acceptor 1's next page
    r.feed(promise(2, rnd), now=0.012).expect_nothing()  # one complete report: no quorum
    r.feed(promise(1, rnd, [Accepted(5, old, Y)], instance=3), now=0.013)
    r.expect_only(note("leader", recovered=6), heartbeat(1, rnd),
                  *[to_acceptors(Phase2A(rnd, i, X)) for i in range(3)],
                  to_acceptors(Phase2A(rnd, 3, NOOP)), to_acceptors(Phase2A(rnd, 4, NOOP)),
                  to_acceptors(Phase2A(rnd, 5, Y)))


def test_a_page_beyond_what_the_proposer_holds_is_ignored():
    r = new(1)
    rnd = take_over(r, 0.01)
    r.feed(promise(1, rnd, [Accepted(9, 1, X)], instance=5), now=0.011).expect_nothing()
    r.feed(promise(2, rnd), now=0.012).expect_nothing()
    assert r.role.status is Status.PREPARING


# ---------------------------------------------------------------- classic mode


def classic_leader(r: Harness, now: float = 0.01) -> int:
    r.tick(now)
    r.expect_only(note("phase1_start", mode="classic"), note("leader", recovered=0),
                  heartbeat(r.role.id, Like(int)))
    return r.role.c_rnd


def test_classic_mode_runs_phase1_for_each_instance():
    r = new(1, mode="classic", batch=1)
    rnd = classic_leader(r)
    r.feed(Submit(batch("a", "b")), now=0.02)
    r.expect_only(to_acceptors(Phase1A(rnd, 0, False)), to_acceptors(Phase1A(rnd, 1, False)))
    r.feed(promise(1, rnd, instance=0, upto=1), now=0.021).expect_nothing()
    r.feed(promise(2, rnd, instance=0, upto=1), now=0.022)
    r.expect_only(to_acceptors(Phase2A(rnd, 0, batch("a"))))


@pytest.mark.parametrize("order", ["low first", "high first"])
def test_classic_mode_a_promise_that_reports_a_value_forces_the_proposer_to_propose_it(order):
    r = new(1, mode="classic")
    rnd = classic_leader(r)
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase1A(rnd, 0, False)))
    low = promise(2, rnd, [Accepted(0, make_round(0, 2), X)], instance=0, upto=1)
    high = promise(3, rnd, [Accepted(0, make_round(0, 3), Y)], instance=0, upto=1)
    r.feed(*((low, high) if order == "low first" else (high, low)), now=0.021)
    r.expect_only(to_acceptors(Phase2A(rnd, 0, Y)))
    # Once Y is decided, our own value gets the next instance.
    decide(r, rnd, 0, Y, now=0.03)
    r.expect_only(Send(Group.CLIENTS, Ack(8, 0, (0,))), to_acceptors(Phase1A(rnd, 1, False)))


def test_classic_take_over_reruns_phase1_on_open_instances_with_noops():
    r = new(1, mode="classic")
    r.feed(Heartbeat(2, make_round(1, 2), 2), now=0.0)  # decisions reach instance 1
    r.expect_nothing()
    t = r.role.patience
    r.tick(t)
    rnd = r.role.c_rnd
    r.take(CatchUp)  # it also asks for the decisions it misses
    r.expect_only(note("phase1_start"), note("leader", recovered=2), heartbeat(1, rnd),
                  to_acceptors(Phase1A(rnd, 0, False)), to_acceptors(Phase1A(rnd, 1, False)))
    r.feed(promise(1, rnd, instance=1, upto=2), promise(2, rnd, instance=1, upto=2),
           now=t + 0.01)
    r.expect_only(to_acceptors(Phase2A(rnd, 1, NOOP)))


def test_a_restarted_classic_proposer_first_prepares_every_instance_to_learn_the_history():
    """Instance 0 was decided in the proposer's earlier life; nobody with memory of it is
    left. Classic mode prepares an instance only when it has a value for it, so only a
    prepare of every instance tells the restarted leader -- then classic again."""
    r = new(1, mode="classic", restarted=True)
    rnd = take_over(r, 0.01)
    r.feed(promise(1, rnd, [Accepted(0, make_round(1, 1), X)]), promise(2, rnd), now=0.02)
    r.expect_only(note("leader", recovered=1), heartbeat(1, rnd),
                  to_acceptors(Phase1A(rnd, 0, False)))
    r.feed(promise(2, rnd, [Accepted(0, make_round(1, 1), X)], instance=0, upto=1),
           promise(3, rnd, instance=0, upto=1), now=0.03)
    r.expect_only(to_acceptors(Phase2A(rnd, 0, X)))
    decide(r, rnd, 0, X, now=0.04)
    r.expect_only(Send(Group.CLIENTS, Ack(7, 0, (0,))))
    # Its history known, a later take-over is a classic one: no prepare up front.
    r.feed(Nack(2, rnd, 1, make_round(9, 2)), now=0.05).expect_only(note("step_down"))
    r.feed(Submit(MINE), now=0.05).expect_nothing()
    r.tick(0.05 + r.role.patience)
    again = r.role.c_rnd
    r.expect_only(note("phase1_start", mode="classic"), note("leader", recovered=0),
                  heartbeat(1, again, decided=1), to_acceptors(Phase1A(again, 1, False)))


def test_a_late_page_of_the_restarted_classic_prepare_reports_no_vote_for_other_instances():
    """Found by the property tests: the third acceptor's answer to the prepare of every
    instance arrives once the restarted leader runs phase 1 per instance in the same
    round. It reports instance 1's vote Y; instance 0 must not get Y (instance 1 has it)."""
    r = new(1, mode="classic", restarted=True)
    rnd = take_over(r, 0.01)
    votes = [Accepted(0, make_round(1, 1), X), Accepted(1, make_round(1, 1), Y)]
    r.feed(promise(1, rnd, votes), promise(2, rnd, votes), now=0.02)
    r.expect_only(note("leader", recovered=2), heartbeat(1, rnd),
                  to_acceptors(Phase1A(rnd, 0, False)), to_acceptors(Phase1A(rnd, 1, False)))
    r.feed(promise(3, rnd, votes[1:]), now=0.021).expect_nothing()  # no vote at 0
    r.feed(promise(1, rnd, votes[:1], instance=0, upto=1), now=0.022)
    r.expect_only(to_acceptors(Phase2A(rnd, 0, X)))


# ---------------------------------------------------------------- leading


def test_pending_submissions_are_batched_up_to_the_batch_size():
    r = new(1, batch=2)
    rnd = lead(r)
    r.feed(Submit(batch("a", "b", "c", "d", "e")), now=0.02)
    r.expect_only(to_acceptors(Phase2A(rnd, 0, batch("a", "b"))),
                  to_acceptors(Phase2A(rnd, 1, batch("c", "d", first_seq=2))),
                  to_acceptors(Phase2A(rnd, 2, batch("e", first_seq=4))))


def test_a_batch_stays_within_the_byte_budget():
    r = new(1, batch=64)
    rnd = lead(r)
    big = [("v" * 16_000) + str(i) for i in range(5)]  # three fit one datagram, not four
    r.feed(Submit(batch(*big)), now=0.02)
    first, second = r.take(Phase2A)
    assert [len(first.value), len(second.value)] == [3, 2]
    assert (first.rnd, first.instance, second.instance) == (rnd, 0, 1)
    assert first.value + second.value == batch(*big)
    assert all(len(encode(m)) <= MAX_DATAGRAM for m in (first, second))


def test_the_window_limits_instances_in_flight_and_a_decision_frees_it():
    r = new(1, batch=1, window=2)
    rnd = lead(r)
    a, b, c, d = batch("a", "b", "c", "d")
    r.feed(Submit((a, b, c, d)), now=0.02)
    r.expect_only(to_acceptors(Phase2A(rnd, 0, (a,))), to_acceptors(Phase2A(rnd, 1, (b,))))
    decide(r, rnd, 0, (a,), now=0.03)
    r.expect_only(Send(Group.CLIENTS, Ack(1, 0, (0,))), to_acceptors(Phase2A(rnd, 2, (c,))))


def test_a_decided_instance_acks_each_client_session_once():
    r = new(1)
    rnd = lead(r)
    value = (sub("p", 0, client=1, session=5), sub("q", 0, client=2, session=9),
             sub("r", 1, client=1, session=5))
    r.feed(Submit(value), now=0.02).expect_only(to_acceptors(Phase2A(rnd, 0, value)))
    r.feed(Phase2B(3, rnd, 0, value), now=0.03).expect_nothing()  # one vote is not a quorum
    decide(r, rnd, 0, value, now=0.04)
    r.expect_only(Send(Group.CLIENTS, Ack(1, 5, (0, 1))), Send(Group.CLIENTS, Ack(2, 9, (0,))))
    assert r.role.slots == {}


def test_a_resubmitted_decided_value_is_acked_at_once_and_not_proposed_again():
    r = new(1)
    rnd = lead(r)
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase2A(rnd, 0, MINE)))
    decide(r, rnd, 0, MINE, now=0.03)
    r.expect_only(Send(Group.CLIENTS, Ack(1, 0, (0,))))
    r.feed(Submit(MINE), now=0.2).expect_only(Send(Group.CLIENTS, Ack(1, 0, (0,))))
    assert not r.role.pending and not r.role.slots


def test_a_resubmitted_decided_value_is_acked_even_when_no_proposer_leads():
    # The leader crashed after the decision and its Ack was lost: the client re-sends,
    # and a follower that saw the decision must answer, or the client waits forever
    # (a follower takes over only when it has work, and a decided value is no work).
    r = new(2)
    leader = make_round(1, 1)
    r.feed(Heartbeat(1, leader, 0), now=0.0).expect_nothing()
    decide(r, leader, 0, MINE, now=0.01)
    r.expect_nothing()  # the leader acks what it decided
    r.feed(Submit(MINE), now=0.5)
    r.expect_only(Send(Group.CLIENTS, Ack(1, 0, (0,))))


def test_a_value_that_lost_its_instance_is_proposed_again():
    r = new(1)
    rnd = lead(r)
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase2A(rnd, 0, MINE)))
    # Another proposer's value was chosen in instance 0 (in a higher round).
    decide(r, make_round(2, 2), 0, X, now=0.03)
    r.expect_only(Send(Group.CLIENTS, Ack(7, 0, (0,))), to_acceptors(Phase2A(rnd, 1, MINE)))


def test_an_undecided_instance_is_retried_after_the_timeout_with_the_same_round_and_value():
    r = new(1)
    rnd = lead(r, now=0.01)  # heartbeats due every T/2 from 0.011
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase2A(rnd, 0, MINE)))
    retry_at = 0.02 + T * 1.125
    for beat in (0.011 + T / 2, 0.011 + T):  # the leader's heartbeats meanwhile
        assert r.role.deadline() == pytest.approx(beat)
        r.tick(r.role.deadline()).expect_only(heartbeat(1, rnd))
    assert r.role.deadline() == pytest.approx(retry_at)
    r.tick(retry_at - 0.001).expect_nothing()
    r.tick(retry_at)
    r.expect_only(note("retry", instances=1, rnd="1.1"), to_acceptors(Phase2A(rnd, 0, MINE)))


def test_an_unanswered_prepare_is_retried_after_the_timeout():
    r = new(1)
    rnd = take_over(r, 0.01)
    assert r.role.deadline() == pytest.approx(0.01 + T * 1.125)
    r.tick(0.01 + T).expect_nothing()
    r.tick(0.01 + T * 1.125)
    r.expect_only(note("retry", phase=1), to_acceptors(Phase1A(rnd, 0, True)))


def test_classic_phase1_of_an_instance_is_retried_after_the_timeout():
    r = new(1, mode="classic")
    rnd = classic_leader(r, now=0.01)
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase1A(rnd, 0, False)))
    r.tick(0.02 + T * 1.125)
    r.expect(note("retry", instances=1), to_acceptors(Phase1A(rnd, 0, False)))
    r.expect_only(heartbeat(1, rnd))


def test_timers_name_what_each_status_waits_for_and_set_the_deadline():
    def armed(r: Harness) -> dict[str, float]:
        timers = r.role.timers()
        assert r.role.deadline() == min(timers.values())
        return timers

    r = new(1)
    assert armed(r) == pytest.approx({"take_over": r.role.patience, "heartbeat": 0.0})
    rnd = take_over(r, 0.01)
    assert armed(r) == pytest.approx({"prepare": 0.01 + T * 1.125})  # no heartbeat now
    r.feed(promise(1, rnd), promise(2, rnd), now=0.011)
    r.expect_only(note("leader"), heartbeat(1, rnd))
    assert armed(r) == pytest.approx({"heartbeat": 0.011 + T / 2})
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase2A(rnd, 0, MINE)))
    r.feed(Phase2B(3, rnd, 3, X), now=0.03).expect_nothing()  # instances 1..3 missing
    assert list(armed(r)) == ["catch_up", "accept", "heartbeat"]  # the order tick fires them
    assert armed(r) == pytest.approx(
        {"catch_up": 0.03 + T * 1.125, "accept": 0.02 + T * 1.125, "heartbeat": 0.011 + T / 2})
    r.feed(Nack(2, rnd, 0, make_round(9, 2)), now=0.04)
    r.expect_only(note("step_down"))
    assert list(armed(r)) == ["catch_up", "take_over", "heartbeat"]
    assert armed(r)["take_over"] == pytest.approx(0.04 + T * (2.0 + 2 * 0.5))


# ---------------------------------------------------------------- losing


def test_a_nack_for_the_current_round_makes_the_proposer_step_down_and_back_off():
    r = new(1)
    rnd = lead(r)
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase2A(rnd, 0, MINE)))
    higher = make_round(3, 2)
    r.feed(Nack(2, rnd, 0, higher), now=0.03)
    r.expect_only(note("step_down", rnd="1.1", higher="3.2"))
    assert r.role.status is Status.FOLLOWER and not r.role.slots
    assert list(r.role.pending.values()) == list(MINE)  # our value waits for the next leader
    wait = T * (2.0 + 2 * 0.5)  # FixedRandom(0.5), one contest lost
    assert r.role.patience == pytest.approx(wait)
    r.tick(0.03 + wait * 0.99).expect_only(heartbeat(1, NO_ROUND))
    assert take_over(r, 0.03 + wait) == make_round(4, 1)


def test_a_nack_for_an_older_round_is_ignored_but_remembered():
    r = new(1)
    rnd = lead(r)
    r.feed(Nack(2, rnd - 1, 0, make_round(7, 3)), now=0.02).expect_nothing()
    assert r.role.status is Status.LEADING
    assert r.role.highest_seen == make_round(7, 3)


def _lose(r: Harness, now: float) -> float:
    """Take over (multi mode) and lose to a Nack; return the wait drawn."""
    rnd = take_over(r, now)
    r.feed(Nack(1, rnd, 0, rnd + 1), now=now)
    r.expect_only(note("step_down"))
    return r.role.patience


def test_backoff_grows_with_contests_lost_in_a_row():
    r = new(1, rng=FixedRandom(0.5))
    r.feed(Submit(MINE), now=0.0).expect_nothing()
    now, waits = 0.01, []
    for _ in range(8):
        waits.append(_lose(r, now))
        now += waits[-1]
    expected = [T * (2.0 + 2 ** min(k, 6) * 0.5) for k in range(1, 9)]
    assert waits == pytest.approx(expected)
    assert waits[:6] == sorted(waits[:6]) and len(set(waits[:6])) == 6


def test_backoff_is_randomised():
    waits = set()
    for seed in range(5):
        r = new(1, rng=random.Random(seed))
        r.feed(Submit(MINE), now=0.0).expect_nothing()
        waits.add(_lose(r, 0.01))
    assert len(waits) == 5
    assert all(2 * T <= w <= 4 * T for w in waits)


def test_winning_a_round_resets_the_backoff():
    r = new(1)
    r.feed(Submit(MINE), now=0.0).expect_nothing()
    now = 0.01 + _lose(r, 0.01)
    rnd = take_over(r, now)
    r.feed(promise(1, rnd), promise(2, rnd), now=now)
    r.expect_only(note("leader"), heartbeat(1, rnd), to_acceptors(Phase2A(rnd, 0, MINE)))
    r.feed(Nack(3, rnd, 0, rnd + 1), now=now).expect_only(note("step_down"))
    assert r.role.patience == pytest.approx(T * (2.0 + 2 * 0.5))


def test_backoff_grows_with_contests_lost_in_classic_mode_too():
    r = new(1, mode="classic", rng=FixedRandom(0.5))
    r.feed(Submit(MINE), now=0.0).expect_nothing()
    now, waits = 0.01, []
    for _ in range(4):
        r.tick(now)
        rnd = r.role.c_rnd
        r.expect(note("phase1_start"), note("leader"), heartbeat(1, rnd))
        prepares = r.take(Phase1A)  # instance 0, and instance 1 from the second try on
        r.expect_nothing()
        assert prepares and all(m.rnd == rnd and not m.onward for m in prepares)
        r.feed(Nack(1, rnd, 0, rnd + 1), now=now).expect_only(note("step_down"))
        waits.append(r.role.patience)
        now += waits[-1]
    assert waits == pytest.approx([T * (2.0 + 2**k * 0.5) for k in range(1, 5)])


def test_a_heartbeat_with_a_higher_round_makes_a_leader_step_down():
    r = new(1)
    rnd = lead(r)
    r.feed(Heartbeat(1, rnd + 5, 0), now=0.02).expect_nothing()  # its own, looped back
    r.feed(Heartbeat(2, rnd - 1, 0), now=0.02).expect_nothing()  # a lower round
    assert r.role.status is Status.LEADING
    r.feed(Heartbeat(2, make_round(2, 2), 0), now=0.03)
    r.expect_only(note("step_down", higher="2.2"))
    assert r.role.status is Status.FOLLOWER


# ---------------------------------------------------------------- catch-up


def test_a_follower_leaves_catch_up_to_a_live_leader():
    r = new(1)
    r.feed(Heartbeat(2, make_round(1, 2), 0), now=0.0).expect_nothing()
    r.feed(Decision(0, X), now=0.01).expect_nothing()
    r.feed(CatchUp(9, 0), now=0.02).expect_nothing()


def test_catch_up_requests_are_answered_with_one_page_of_decisions():
    r = new(1)
    lead(r)
    decided = {i: batch(f"v{i}", first_seq=i) for i in range(100)}
    r.feed(*[Decision(i, v) for i, v in decided.items()], now=0.02).expect_nothing()
    r.feed(CatchUp(9, 10), now=0.03)
    page = range(10, 10 + CATCHUP_PAGE)
    r.expect_only(*[Send(Group.LEARNERS, Decision(i, decided[i])) for i in page])
    r.feed(CatchUp(9, 90), now=0.04)
    r.expect_only(*[Send(Group.LEARNERS, Decision(i, decided[i])) for i in range(90, 100)])
    r.feed(CatchUp(9, 100), now=0.05).expect_nothing()


def test_catch_up_answers_skip_instances_not_known_decided():
    r = new(1)
    r.feed(Heartbeat(2, make_round(1, 2), 0), now=0.0).expect_nothing()
    r.feed(Decision(0, X), Decision(2, Y), now=0.01).expect_nothing()  # a gap at 1
    r.tick(0.01 + T * 1.125)  # the proposer asks for the gap itself
    r.expect_only(Send(Group.LEARNERS, CatchUp(1, 1)), heartbeat(1, NO_ROUND, decided=1))
    r.feed(CatchUp(9, 0), now=0.25)  # no leader heard for a while: a follower answers
    r.expect_only(Send(Group.LEARNERS, Decision(0, X)), Send(Group.LEARNERS, Decision(2, Y)))


# ---------------------------------------------------------------- deliberate bugs


def test_ignore_1b_value_bug_proposes_its_own_value_over_a_reported_one():
    runs = {}
    for bugs in (frozenset(), frozenset({Bug.IGNORE_1B_VALUE})):
        r = new(1, bugs=bugs)
        r.feed(Submit(MINE), now=0.0).expect_nothing()
        rnd = take_over(r, 0.01)
        r.feed(promise(1, rnd, [Accepted(0, make_round(0, 2), X)]), promise(2, rnd), now=0.02)
        r.expect(note("leader"), heartbeat(1, rnd))
        runs[bugs] = {(m.instance, m.value) for m in r.take(Phase2A)}
        r.expect_nothing()
    assert runs[frozenset()] == {(0, X), (1, MINE)}
    assert runs[frozenset({Bug.IGNORE_1B_VALUE})] == {(0, MINE)}


def _classic_reproposal(bug: Bug, first: list, second: list):
    """The value a classic-mode leader proposes for instance 0 when acceptors 1 and 2 report
    the votes ``first`` and ``second``, without and with ``bug``."""
    proposed = {}
    for bugs in (frozenset(), frozenset({bug})):
        r = new(1, mode="classic", bugs=bugs)
        rnd = classic_leader(r)
        r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase1A(rnd, 0, False)))
        r.feed(promise(1, rnd, first, instance=0, upto=1),
               promise(2, rnd, second, instance=0, upto=1), now=0.03)
        (m,) = r.take(Phase2A)
        r.expect_nothing()
        proposed[bugs] = m.value
    return proposed[frozenset()], proposed[frozenset({bug})]


def test_ignore_1b_value_bug_in_classic_mode():
    assert _classic_reproposal(Bug.IGNORE_1B_VALUE,
                               [Accepted(0, make_round(0, 2), X)], []) == (X, MINE)


def test_pick_any_1b_value_bug_reproposes_the_lowest_reported_vote():
    proposed = {}
    for bugs in (frozenset(), frozenset({Bug.PICK_ANY_1B_VALUE})):
        r = new(1, bugs=bugs)
        r.feed(Submit(MINE), now=0.0).expect_nothing()
        rnd = take_over(r, 0.01)
        r.feed(promise(1, rnd, [Accepted(0, make_round(1, 2), X)]),
               promise(2, rnd, [Accepted(0, make_round(2, 3), Y)]), now=0.02)
        r.expect(note("leader"), heartbeat(1, rnd))
        proposed[bugs] = {m.instance: m.value for m in r.take(Phase2A)}[0]
        r.expect_nothing()
    assert proposed == {frozenset(): Y, frozenset({Bug.PICK_ANY_1B_VALUE}): X}


def test_pick_any_1b_value_bug_in_classic_mode():
    assert _classic_reproposal(Bug.PICK_ANY_1B_VALUE, [Accepted(0, make_round(1, 2), X)],
                               [Accepted(0, make_round(2, 3), Y)]) == (Y, X)


def test_shared_rounds_bug_gives_two_proposers_the_same_round():
    for bugs, same in ((frozenset(), False), (frozenset({Bug.SHARED_ROUNDS}), True)):
        rounds = []
        for id in (1, 2):
            r = new(id, bugs=bugs)
            rounds.append(take_over(r, r.role.patience))
        assert (rounds[0] == rounds[1]) is same
        if not same:
            assert [round_owner(x) for x in rounds] == [1, 2]


def test_shared_rounds_bug_leaves_the_rest_of_the_proposer_alone():
    r = new(1, bugs=frozenset({Bug.SHARED_ROUNDS}))
    rnd = lead(r)
    r.feed(Submit(MINE), now=0.02).expect_only(to_acceptors(Phase2A(rnd, 0, MINE)))
    decide(r, rnd, 0, MINE, now=0.03)
    r.expect_only(Send(Group.CLIENTS, Ack(1, 0, (0,))))
