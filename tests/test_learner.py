"""The learner: a quorum of 2B for one round decides, delivery in instance order,
at most once, and catch-up of what it missed."""

from __future__ import annotations

from roles_helper import FixedRandom, Harness, batch, sub, unchecked_effects_fail  # noqa: F401

from paxos_edu.bugs import Bug
from paxos_edu.effects import Deliver, Send
from paxos_edu.messages import (
    NOOP,
    CatchUp,
    Decision,
    Group,
    Heartbeat,
    Phase1A,
    Phase2A,
    Phase2B,
    Submit,
)
from paxos_edu.roles import CATCHUP_PAGE, Learner
from paxos_edu.rounds import make_round

T = 0.1
R1, R2 = make_round(1, 1), make_round(1, 2)
A, B = batch("a"), batch("b", first_seq=1)
WAIT = T * 1.125  # a gap's grace period with FixedRandom(0.5)


def new(id: int = 1, acceptors: int = 3, bugs=frozenset()) -> Harness:
    return Harness(Learner(id, acceptor_count=acceptors, timeout=T, rng=FixedRandom(0.5),
                           bugs=bugs))


def deliver(value, instance: int) -> list[Deliver]:
    return [Deliver(s, instance) for s in value]


def catch_up(requester: int, instance: int) -> Send:
    return Send(Group.LEARNERS, CatchUp(requester, instance))


def decide(r: Harness, instance: int, value, rnd: int = R1) -> None:
    r.feed(Phase2B(1, rnd, instance, value), Phase2B(2, rnd, instance, value))


# ---------------------------------------------------------------- deciding


def test_learner_needs_a_quorum_of_2b_for_the_same_round():
    r = new()
    r.feed(Phase2B(1, R1, 0, A)).expect_nothing()
    r.feed(Phase2B(2, R2, 0, B)).expect_nothing()  # votes of two rounds do not add up
    r.feed(Phase2B(3, R2, 0, B)).expect_only(*deliver(B, 0))
    assert r.role.deadline() is None  # nothing missing any more


def test_a_repeated_2b_of_one_acceptor_is_one_vote():
    r = new()
    r.feed(Phase2B(1, R1, 0, A), Phase2B(1, R1, 0, A)).expect_nothing()
    r.feed(Phase2B(2, R1, 0, A)).expect_only(*deliver(A, 0))
    r.feed(Phase2B(3, R1, 0, A)).expect_nothing()  # decided once


def test_five_acceptors_need_three_2b():
    r = new(acceptors=5)
    r.feed(Phase2B(1, R1, 0, A), Phase2B(4, R1, 0, A)).expect_nothing()
    r.feed(Phase2B(5, R1, 0, A)).expect_only(*deliver(A, 0))


def test_a_decision_message_is_trusted():
    r = new()
    r.feed(Decision(0, A)).expect_only(*deliver(A, 0))
    r.feed(Decision(0, A)).expect_nothing()


def test_learner_ignores_messages_for_other_roles():
    r = new()
    r.feed(Submit(A), Phase1A(R1, 0, True), Phase2A(R1, 0, A), CatchUp(2, 0)).expect_nothing()


# ---------------------------------------------------------------- delivery


def test_learner_delivers_in_instance_order_and_buffers_later_decisions():
    r = new()
    decide(r, 2, batch("c", first_seq=2))
    decide(r, 1, B)
    r.expect_nothing()
    decide(r, 0, A)
    assert r.take_deliveries() == [(0, "a"), (1, "b"), (2, "c")]
    assert r.role.next_instance == 3 and r.role.position == 3


def test_a_batch_is_delivered_in_its_own_order():
    r = new()
    decide(r, 0, batch("x", "y", "z"))
    assert r.take_deliveries() == [(0, "x"), (0, "y"), (0, "z")]


def test_a_noop_instance_delivers_nothing_but_lets_later_instances_through():
    r = new()
    decide(r, 1, B)
    r.expect_nothing()
    decide(r, 0, NOOP)
    assert r.take_deliveries() == [(1, "b")]
    assert r.role.next_instance == 2


def test_a_submission_decided_twice_is_delivered_once():
    r = new()
    decide(r, 0, A)
    r.expect_only(*deliver(A, 0))
    decide(r, 1, A + B)  # re-submitted by its client, proposed again
    r.expect_only(*deliver(B, 1))
    assert r.role.position == 2


def test_equal_strings_in_two_submissions_are_two_values():
    r = new()
    decide(r, 0, (sub("same", 0), sub("same", 1)))
    assert r.take_deliveries() == [(0, "same"), (0, "same")]


# ---------------------------------------------------------------- catch-up


def test_a_gap_reported_by_a_heartbeat_leads_to_a_catch_up_after_the_timeout():
    r = new()
    r.feed(Heartbeat(2, R2, 5), now=0.0).expect_nothing()  # decisions reach instance 4
    assert r.role.deadline() == WAIT
    r.tick(WAIT * 0.99).expect_nothing()
    r.tick(WAIT).expect_only(catch_up(1, 0))
    r.feed(*[Decision(i, batch(f"v{i}", first_seq=i)) for i in range(5)], now=0.2)
    assert [value for _, value in r.take_deliveries()] == [f"v{i}" for i in range(5)]
    assert r.role.deadline() is None


def test_a_later_decision_reveals_a_gap_too():
    r = new()
    decide(r, 3, A)  # instances 0..2 are missing
    r.tick(WAIT).expect_only(catch_up(1, 0))


def test_a_gap_that_fills_by_itself_needs_no_catch_up():
    r = new()
    decide(r, 1, B)
    decide(r, 0, A)
    r.take_deliveries()
    assert r.role.deadline() is None
    r.tick(1.0).expect_nothing()


def test_catch_up_is_asked_again_when_no_answer_comes():
    r = new()
    r.feed(Heartbeat(2, R2, 3), now=0.0).expect_nothing()
    r.tick(WAIT).expect_only(catch_up(1, 0))
    r.tick(2 * WAIT).expect_only(catch_up(1, 0))
    decide(r, 0, A)  # part of the gap filled: ask from the new first missing instance
    r.take_deliveries()
    r.tick(3 * WAIT).expect_only(catch_up(1, 1))


def test_the_next_page_is_asked_as_soon_as_one_page_is_consumed():
    r = new()
    total = 2 * CATCHUP_PAGE + 10
    r.feed(Heartbeat(2, R2, total), now=0.0).expect_nothing()
    r.tick(WAIT).expect_only(catch_up(1, 0))
    values = {i: batch(f"v{i}", first_seq=i) for i in range(total)}
    for page in range(2):
        start = page * CATCHUP_PAGE
        for i in range(start, start + CATCHUP_PAGE - 1):
            r.feed(Decision(i, values[i])).expect_only(*deliver(values[i], i))
        last = start + CATCHUP_PAGE - 1
        r.feed(Decision(last, values[last]))
        r.expect_only(*deliver(values[last], last), catch_up(1, start + CATCHUP_PAGE))
    for i in range(2 * CATCHUP_PAGE, total):
        r.feed(Decision(i, values[i])).expect_only(*deliver(values[i], i))
    assert r.role.deadline() is None  # all caught up


# ---------------------------------------------------------------- deliberate bugs


def test_learn_from_one_2b_bug_decides_on_a_single_vote():
    correct, buggy = new(), new(bugs=frozenset({Bug.LEARN_FROM_ONE_2B}))
    correct.feed(Phase2B(1, R1, 0, A)).expect_nothing()
    buggy.feed(Phase2B(1, R1, 0, A)).expect_only(*deliver(A, 0))
    # ... so a value accepted by a minority, later replaced, is learned by mistake.
    correct.feed(Phase2B(2, R2, 0, B), Phase2B(3, R2, 0, B)).expect_only(*deliver(B, 0))
    buggy.feed(Phase2B(2, R2, 0, B), Phase2B(3, R2, 0, B)).expect_nothing()


def test_no_deduplication_bug_delivers_a_submission_decided_twice_twice():
    correct, buggy = new(), new(bugs=frozenset({Bug.NO_DEDUPLICATION}))
    for r in (correct, buggy):
        decide(r, 0, A)
        r.expect_only(*deliver(A, 0))
        decide(r, 1, A)
    correct.expect_nothing()
    buggy.expect_only(*deliver(A, 1))
