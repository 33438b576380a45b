"""The acceptor's two promises (Paxos Made Simple, phases 1b and 2b), message by message."""

from __future__ import annotations

import pytest
from roles_helper import Harness, batch, unchecked_effects_fail  # noqa: F401

from paxos_edu.bugs import Bug
from paxos_edu.codec import MAX_DATAGRAM, MAX_VALUE_BYTES, encode
from paxos_edu.effects import Halt, Persist, Promised, Send, Voted
from paxos_edu.messages import (
    END,
    NOOP,
    Accepted,
    Group,
    Heartbeat,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
    Submit,
)
from paxos_edu.roles import Acceptor
from paxos_edu.rounds import make_round

R1 = make_round(1, 1)  # round 1 of proposer 1
R1b = make_round(1, 2)  # round 1 of proposer 2: higher than R1
R2 = make_round(2, 1)
R3 = make_round(3, 2)
A, B = batch("a"), batch("b", first_seq=1)


def promise(rnd, instance=0, upto=END, accepted=(), acceptor=1):
    return Send(Group.PROPOSERS, Phase1B(acceptor, rnd, instance, upto, tuple(accepted)))


def accepted(rnd, instance, value, acceptor=1):
    return Send(Group.LEARNERS, Phase2B(acceptor, rnd, instance, value))


def nack(rnd, instance, promised, acceptor=1):
    return Send(Group.PROPOSERS, Nack(acceptor, rnd, instance, promised))


# ---------------------------------------------------------------- phase 1b


def test_acceptor_promises_a_first_round_and_reports_nothing_accepted():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R1, 0, True))
    r.expect_only(promise(R1))
    assert r.role.rnd == R1


def test_acceptor_promises_a_round_higher_than_any_before():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R1, 0, True)).expect(promise(R1))
    r.feed(Phase1A(R1b, 0, True)).expect_only(promise(R1b))
    r.feed(Phase1A(R2, 0, True)).expect_only(promise(R2))
    assert r.role.rnd == R2


def test_acceptor_answers_an_equal_round_again_idempotently():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R2, 0, True)).expect(promise(R2))
    r.feed(Phase1A(R2, 0, True)).expect_only(promise(R2))
    assert r.role.rnd == R2


def test_acceptor_nacks_a_1a_below_its_promise_and_keeps_the_promise():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R2, 0, True)).expect(promise(R2))
    r.feed(Phase1A(R1b, 0, True)).expect_only(nack(R1b, 0, R2))
    assert r.role.rnd == R2


def test_acceptor_reports_its_accepted_round_and_value_in_1b():
    r = Harness(Acceptor(1))
    r.feed(Phase2A(R1, 0, A)).expect(accepted(R1, 0, A))
    r.feed(Phase2A(R1, 1, NOOP)).expect(accepted(R1, 1, NOOP))
    r.feed(Phase1A(R2, 0, True))
    r.expect_only(promise(R2, accepted=[Accepted(0, R1, A), Accepted(1, R1, NOOP)]))


def test_acceptor_reports_the_latest_vote_of_an_instance():
    r = Harness(Acceptor(1))
    r.feed(Phase2A(R1, 0, A)).expect(accepted(R1, 0, A))
    r.feed(Phase2A(R2, 0, B)).expect(accepted(R2, 0, B))
    r.feed(Phase1A(R3, 0, True)).expect_only(promise(R3, accepted=[Accepted(0, R2, B)]))


def test_acceptor_reports_only_votes_from_the_prepared_instance_on():
    r = Harness(Acceptor(1))
    for i in range(3):
        r.feed(Phase2A(R1, i, A)).expect(accepted(R1, i, A))
    r.feed(Phase1A(R2, 1, True))
    r.expect_only(promise(R2, 1, accepted=[Accepted(1, R1, A), Accepted(2, R1, A)]))


# ---------------------------------------------------------------- phase 2b


def test_acceptor_accepts_2a_at_its_promise_and_sends_2b_to_the_learners():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R1, 0, True)).expect(promise(R1))
    r.feed(Phase2A(R1, 0, A)).expect_only(accepted(R1, 0, A))
    slot = r.role.slots[0]
    assert (slot.v_rnd, slot.v_val) == (R1, A)


def test_acceptor_accepts_2a_above_its_promise():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R1, 0, True)).expect(promise(R1))
    r.feed(Phase2A(R2, 4, A)).expect_only(accepted(R2, 4, A))


def test_acceptor_accepts_a_2a_without_any_prepare():
    # Nothing promised means round 0: any real round is at least that.
    r = Harness(Acceptor(1))
    r.feed(Phase2A(R1, 0, A)).expect_only(accepted(R1, 0, A))


def test_acceptor_nacks_2a_below_its_promise_and_keeps_its_vote():
    r = Harness(Acceptor(1))
    r.feed(Phase2A(R1, 0, A)).expect(accepted(R1, 0, A))
    r.feed(Phase1A(R2, 0, True)).expect(promise(R2, accepted=[Accepted(0, R1, A)]))
    r.feed(Phase2A(R1b, 0, B)).expect_only(nack(R1b, 0, R2))
    slot = r.role.slots[0]
    assert (slot.v_rnd, slot.v_val) == (R1, A)


def test_accepting_a_round_promises_it_for_that_instance():
    r = Harness(Acceptor(1))
    r.feed(Phase2A(R2, 3, A)).expect(accepted(R2, 3, A))
    r.feed(Phase1A(R1b, 3, False)).expect_only(nack(R1b, 3, R2))
    r.feed(Phase2A(R1b, 3, B)).expect_only(nack(R1b, 3, R2))
    # ... and an onward prepare must not undercut it either.
    r.feed(Phase1A(R1b, 0, True)).expect_only(nack(R1b, 0, R2))


def test_acceptor_ignores_messages_that_are_not_for_acceptors():
    r = Harness(Acceptor(1))
    r.feed(Submit(A), Heartbeat(1, R1, 0), Phase2B(2, R1, 0, A)).expect_nothing()
    assert r.role.tick(5.0) == [] and r.role.deadline() is None


# ---------------------------------------------------------------- multi-Paxos vs classic


def test_multi_paxos_prepare_covers_every_instance():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R2, 0, True)).expect(promise(R2))
    for instance in (0, 57, 10_000):
        r.feed(Phase2A(R1b, instance, A)).expect_only(nack(R1b, instance, R2))
        r.feed(Phase1A(R1b, instance, False)).expect_only(nack(R1b, instance, R2))
    r.feed(Phase2A(R2, 10_000, A)).expect_only(accepted(R2, 10_000, A))


def test_classic_prepare_covers_one_instance():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R2, 5, False)).expect_only(promise(R2, 5, upto=6))
    r.feed(Phase2A(R1b, 5, A)).expect_only(nack(R1b, 5, R2))
    r.feed(Phase2A(R1b, 6, A)).expect_only(accepted(R1b, 6, A))
    r.feed(Phase1A(R1b, 4, False)).expect_only(promise(R1b, 4, upto=5))


def test_classic_prepare_reports_the_vote_of_its_instance_only():
    r = Harness(Acceptor(1))
    r.feed(Phase2A(R1, 5, A), Phase2A(R1, 6, B))
    r.expect(accepted(R1, 5, A), accepted(R1, 6, B))
    r.feed(Phase1A(R2, 5, False)).expect_only(promise(R2, 5, upto=6, accepted=[Accepted(5, R1, A)]))


def test_classic_prepare_below_an_onward_promise_is_nacked():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R2, 0, True)).expect(promise(R2))
    r.feed(Phase1A(R1b, 9, False)).expect_only(nack(R1b, 9, R2))


def test_onward_prepare_below_a_single_instance_promise_is_nacked():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R3, 5, False)).expect(promise(R3, 5, upto=6))
    r.feed(Phase1A(R2, 0, True)).expect_only(nack(R2, 0, R3))
    r.feed(Phase1A(R3, 0, True)).expect_only(promise(R3))


# ---------------------------------------------------------------- paging


def _long_history(acceptor: Acceptor, instances: int) -> dict[int, tuple]:
    """Accept ``instances`` near-maximal values; return instance -> (v_rnd, v_val)."""
    votes = {}
    for i in range(instances):
        value = batch("x" * (MAX_VALUE_BYTES - 10) + str(i), first_seq=i)
        effects = acceptor.handle(Phase2A(R1, i, value), 0.0)
        assert effects == [accepted(R1, i, value)]
        votes[i] = (R1, value)
    return votes


def test_1b_pages_a_long_history_and_the_pages_give_every_vote_exactly_once():
    acceptor = Acceptor(1)
    votes = _long_history(acceptor, 10)
    r = Harness(acceptor)
    reported: list[Accepted] = []
    start, pages = 0, 0
    while True:
        r.feed(Phase1A(R2, start, True))
        (page,) = r.take(Phase1B)
        r.expect_nothing()
        pages += 1
        assert (page.rnd, page.instance) == (R2, start)
        assert len(encode(page)) <= MAX_DATAGRAM
        assert all(start <= v.instance < page.upto for v in page.accepted)
        reported.extend(page.accepted)
        if page.upto == END:
            break
        assert page.accepted, "a page that is not the last one must make progress"
        start = page.upto
    assert pages > 1
    assert [v.instance for v in reported] == sorted(votes)
    assert {v.instance: (v.v_rnd, v.v_val) for v in reported} == votes


def test_1b_page_of_a_short_history_is_complete():
    r = Harness(Acceptor(1))
    r.feed(Phase2A(R1, 0, A)).expect(accepted(R1, 0, A))
    r.feed(Phase1A(R2, 0, True)).expect_only(promise(R2, upto=END, accepted=[Accepted(0, R1, A)]))


# ---------------------------------------------------------------- the deliberate bug


@pytest.mark.parametrize("bugs", [frozenset(), frozenset({Bug.FORGET_PROMISE})])
def test_forget_promise_bug_still_answers_prepares_like_a_correct_acceptor(bugs):
    r = Harness(Acceptor(1, bugs=bugs))
    r.feed(Phase2A(R1, 0, A)).expect(accepted(R1, 0, A))
    r.feed(Phase1A(R2, 0, True)).expect_only(promise(R2, accepted=[Accepted(0, R1, A)]))
    r.feed(Phase1A(R2, 3, False)).expect_only(promise(R2, 3, upto=4))
    r.feed(Phase2A(R3, 0, B)).expect_only(accepted(R3, 0, B))


def test_forget_promise_bug_accepts_a_2a_below_the_promise():
    correct = Harness(Acceptor(1))
    buggy = Harness(Acceptor(1, bugs=frozenset({Bug.FORGET_PROMISE})))
    for r in (correct, buggy):
        r.feed(Phase1A(R2, 0, True)).expect(promise(R2))
    correct.feed(Phase2A(R1b, 0, A)).expect_only(nack(R1b, 0, R2))
    buggy.feed(Phase2A(R1b, 0, A)).expect_only(accepted(R1b, 0, A))


def test_forget_promise_bug_promises_a_round_below_an_earlier_promise():
    correct = Harness(Acceptor(1))
    buggy = Harness(Acceptor(1, bugs=frozenset({Bug.FORGET_PROMISE})))
    for r in (correct, buggy):
        r.feed(Phase1A(R2, 0, True)).expect(promise(R2))
    correct.feed(Phase1A(R1b, 0, True)).expect_only(nack(R1b, 0, R2))
    buggy.feed(Phase1A(R1b, 0, True)).expect_only(promise(R1b))


# ---------------------------------------------------------------- crash-recovery


def persist(entry):
    return Persist(entry)


def test_durable_acceptor_persists_a_promise_before_the_1b_that_reveals_it():
    r = Harness(Acceptor(1, durable=True))
    effects = r.feed(Phase1A(R1, 0, True)).pending[:]
    r.expect_only(persist(Promised(R1)), promise(R1))
    assert effects.index(persist(Promised(R1))) < effects.index(promise(R1))


def test_durable_acceptor_persists_a_vote_before_the_2b_and_a_duplicate_2a_adds_nothing():
    r = Harness(Acceptor(1, durable=True))
    effects = r.feed(Phase2A(R1, 4, A)).pending[:]
    r.expect_only(persist(Voted(4, R1, A)), accepted(R1, 4, A))
    assert [type(e) for e in effects] == [Persist, Send]
    r.feed(Phase2A(R1, 4, A)).expect_only(accepted(R1, 4, A))


def test_durable_acceptor_persists_a_classic_promise_for_one_instance():
    r = Harness(Acceptor(1, durable=True))
    r.feed(Phase1A(R1, 2, False)).expect_only(persist(Promised(R1, 2)),
                                               promise(R1, 2, upto=3))
    r.feed(Phase1A(R1, 2, False)).expect_only(promise(R1, 2, upto=3))  # nothing new


def test_an_acceptor_without_storage_returns_no_persist_effects():
    r = Harness(Acceptor(1))
    r.feed(Phase1A(R1, 0, True)).expect_only(promise(R1))
    r.feed(Phase2A(R1, 0, A)).expect_only(accepted(R1, 0, A))


def test_restore_rebuilds_promises_and_votes_so_the_restarted_acceptor_keeps_them():
    first = Harness(Acceptor(1, durable=True))
    first.feed(Phase1A(R2, 0, True), Phase2A(R2, 0, A), Phase1A(R3, 5, False))
    entries = [e.entry for e in first.pending if isinstance(e, Persist)]
    first.pending.clear()
    again = Harness(Acceptor(1, durable=True))
    again.role.restore(entries)
    assert (again.role.rnd, again.role.max_slot_rnd) == (R2, R3)
    again.feed(Phase2A(R1, 1, B)).expect_only(nack(R1, 1, R2))  # the promise survived
    again.feed(Phase1A(R3, 0, True)).expect_only(
        persist(Promised(R3)), promise(R3, accepted=[Accepted(0, R2, A)]))  # so did the vote
    rebuilt = Acceptor(1)
    rebuilt.restore(again.role.state_entries())
    assert rebuilt.slots == again.role.slots and rebuilt.rnd == again.role.rnd


def test_reply_before_durable_bug_stores_the_vote_only_with_the_next_message():
    r = Harness(Acceptor(1, durable=True, bugs=frozenset({Bug.REPLY_BEFORE_DURABLE})))
    r.feed(Phase2A(R1, 0, A)).expect_only(accepted(R1, 0, A))  # replied, nothing stored
    r.feed(Phase2A(R1, 1, B)).expect_only(persist(Voted(0, R1, A)), accepted(R1, 1, B))


def test_a_listening_acceptor_answers_no_prepare_and_votes_after_its_quiet_time():
    r = Harness(Acceptor(1, listen_until=0.3))
    assert r.role.listening and r.role.deadline() == 0.3
    r.feed(Phase1A(R1, 0, True), now=0.1).expect_nothing()
    r.feed(Heartbeat(2, 0, 0), now=0.2).expect_nothing()  # a follower's: nobody leads yet
    assert r.role.rnd == 0  # no promise made while listening
    r.tick(now=0.3)
    r.take_notes("listened")
    assert not r.role.listening and r.role.deadline() is None
    r.feed(Phase1A(R1, 0, True)).expect_only(promise(R1))


@pytest.mark.parametrize("heard", [Phase2A(R1, 3, A), Phase2B(2, R1, 3, A),
                                   Heartbeat(1, R1, 0)], ids=["2a", "2b", "heartbeat"])
def test_a_listening_acceptor_that_hears_a_running_cluster_halts_with_status_2(heard):
    r = Harness(Acceptor(3, listen_until=0.3))
    r.feed(heard, now=0.1).expect_nothing()  # the verdict waits for the end of listening
    r.feed(Phase1A(R1, 0, True), now=0.2).expect_nothing()
    r.tick(now=0.3)
    r.take_notes("amnesia")
    (halt,) = r.pending
    r.pending.clear()
    assert isinstance(halt, Halt) and halt.status == 2
    assert "may have forgotten promises" in halt.reason and "--storage" in halt.reason
    assert "--fresh" in halt.reason and "acceptor 3" in halt.reason
    r.feed(Phase1A(R1, 0, True), now=0.5).expect_nothing()  # never votes
    assert r.role.deadline() is None and r.role.rnd == 0


def test_a_late_tick_still_halts_before_the_next_message_is_answered():
    r = Harness(Acceptor(3, listen_until=0.3))
    r.feed(Heartbeat(1, R1, 4), now=0.1).expect_nothing()
    r.feed(Phase1A(R1, 0, True), now=0.4)  # after the listening time, before any tick
    r.take_notes("amnesia")
    assert [type(e) for e in r.pending] == [Halt]
    r.pending.clear()
