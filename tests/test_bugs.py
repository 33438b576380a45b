"""Every deliberate bug is caught by the property checks, and shrinks to a short schedule.

For each :class:`~paxos_edu.bugs.Bug`, :func:`paxos_edu.explore.find_violation` (seed 0)
must find a run that breaks the property the bug is about, shrink it to a short schedule
that replays to the same violation -- and the very same schedule must be harmless to the
correct protocol. With the bug off, the same search finds nothing.

Measured with seed 0 (and seeds 1-9): schedules of 17-40 steps, found and shrunk in
0.3-5 s each; MAX_STEPS leaves a little room above that. The two storage bugs (seed 0:
38 steps each, 3-5 s) need an acceptor restart in the schedule.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from paxos_edu.bugs import Bug, parse_bugs
from paxos_edu.checks import INTEGRITY, ORDER
from paxos_edu.explore import Counterexample, explain, find_violation, run_schedule
from paxos_edu.quorum import quorum_size
from paxos_edu.sim import Simulation

EXPECTED = {
    Bug.FORGET_PROMISE: ORDER,
    Bug.IGNORE_1B_VALUE: ORDER,
    Bug.LEARN_FROM_ONE_2B: ORDER,
    Bug.PICK_ANY_1B_VALUE: ORDER,
    Bug.SHARED_ROUNDS: ORDER,
    Bug.NO_DEDUPLICATION: INTEGRITY,
    Bug.REPLY_BEFORE_DURABLE: ORDER,
    Bug.RESTART_WITHOUT_STORAGE: ORDER,
}
MAX_STEPS = 40

_found: dict[Bug, Counterexample | None] = {}


def counterexample(bug: Bug) -> Counterexample:
    """The seed-0 counterexample of ``bug``, searched once per test session."""
    if bug not in _found:
        _found[bug] = find_violation(bug, seed=0)
    cx = _found[bug]
    assert cx is not None, f"no violation found with {bug.value} switched on"
    return cx


bugs = pytest.mark.parametrize("bug", list(Bug), ids=[b.value for b in Bug])


@bugs
def test_search_finds_a_violation_of_the_property_the_bug_breaks(bug):
    cx = counterexample(bug)
    assert cx.bug is bug
    assert cx.property == EXPECTED[bug], cx.detail


@bugs
def test_counterexample_is_a_short_schedule(bug):
    cx = counterexample(bug)
    assert len(cx.schedule) == len(cx.steps) <= MAX_STEPS, "\n".join(cx.steps)


@bugs
def test_counterexample_replays_to_the_same_violation(bug):
    cx = counterexample(bug)
    sim = cx.replay()
    report = sim.result().check(expect_complete=False)
    assert not report.ok
    assert [(v.property, v.detail) for v in report.violations] == [
        (v.property, v.detail) for v in cx.report.violations]
    assert [(r.event, r.sender, r.receiver, r.kind, r.msg_id) for r in sim.trace] == [
        (r.event, r.sender, r.receiver, r.kind, r.msg_id) for r in cx.trace]


@bugs
def test_the_same_schedule_is_harmless_without_the_bug(bug):
    cx = counterexample(bug)
    outcome = run_schedule(replace(cx.setup, bugs=frozenset()), cx.schedule)
    assert outcome.report.ok, str(outcome.report)


@bugs
def test_search_with_the_bug_off_finds_nothing(bug):
    assert find_violation(bug, seed=0, bugs=(), max_runs=100) is None


@bugs
def test_explain_tells_the_story_in_plain_words(bug):
    cx = counterexample(bug)
    text = explain(cx)
    assert bug.value in text and bug.explanation in text
    assert cx.property in text and cx.detail in text
    assert "learner" in text and "delivers" in text
    assert len(cx.story) >= 3


def test_counterexample_trace_is_a_table_a_notebook_can_draw():
    cx = counterexample(Bug.SHARED_ROUNDS)
    frame = cx.trace_frame()
    assert {"time", "event", "sender", "receiver", "kind", "instance", "rnd",
            "msg_id"} <= set(frame.columns)
    assert (frame["event"] == "delivered").sum() == sum(
        1 for step in cx.schedule if step[0] in ("deliver", "duplicate"))
    assert cx.as_dict()["schedule"] == [list(step) for step in cx.schedule]


def test_shared_rounds_counterexample_has_two_proposers_in_one_round():
    trace = counterexample(Bug.SHARED_ROUNDS).trace
    owners: dict[int, set[str]] = {}
    for r in trace:
        if r.event == "sent" and r.kind == "PHASE2A":
            owners.setdefault(r.rnd, set()).add(r.sender)
    assert any(len(senders) > 1 for senders in owners.values()), owners


def test_forget_promise_counterexample_has_an_acceptor_accept_below_its_promise():
    promised: dict[str, int] = {}
    broken = []
    for r in counterexample(Bug.FORGET_PROMISE).trace:
        if r.event == "sent" and r.kind == "PHASE1B":
            promised[r.sender] = max(promised.get(r.sender, 0), r.rnd)
        if r.event == "sent" and r.kind == "PHASE2B" and r.rnd < promised.get(r.sender, 0):
            broken.append(r)
    assert broken


def test_learn_from_one_counterexample_has_a_learner_deliver_on_fewer_than_a_quorum():
    cx = counterexample(Bug.LEARN_FROM_ONE_2B)
    sim = cx.replay()
    quorum = quorum_size(cx.setup.acceptors)
    votes: dict[tuple[str, int, int], set[str]] = {}  # (learner, instance, round) -> voters
    for r in sim.trace:
        if r.event == "delivered" and r.kind == "PHASE2B" and r.receiver.startswith("learner"):
            votes.setdefault((r.receiver, r.instance, r.rnd), set()).add(r.sender)
    for learner, deliveries in sim.deliveries.items():
        for _, instance in deliveries:
            counted = [len(v) for (who, i, _), v in votes.items()
                       if who == f"learner{learner}" and i == instance]
            if counted and max(counted) < quorum:
                return
    pytest.fail("every delivery was backed by a quorum of 2B")


def test_search_is_deterministic():
    again = find_violation(Bug.LEARN_FROM_ONE_2B, seed=0)
    assert again is not None
    assert again.schedule == counterexample(Bug.LEARN_FROM_ONE_2B).schedule


def test_bugs_are_off_by_default():
    sim = Simulation(acceptors=3, proposers=2, learners=2, clients=1)
    assert sim.bugs == frozenset()
    assert all(not proc.obj.bugs for proc in sim.processes.values() if hasattr(proc.obj, "bugs"))
    assert parse_bugs(None) == frozenset()


def test_bugs_are_switched_on_only_in_their_own_role():
    sim = Simulation(bugs=[b.value for b in Bug])
    for (role, _), proc in sim.processes.items():
        if hasattr(proc.obj, "bugs"):
            assert proc.obj.bugs == {b for b in Bug if b.role == role}


@pytest.mark.parametrize("bug", [Bug.REPLY_BEFORE_DURABLE, Bug.RESTART_WITHOUT_STORAGE],
                         ids=lambda b: b.value)
def test_storage_counterexamples_restart_an_acceptor_that_then_forgets_a_vote(bug):
    cx = counterexample(bug)
    assert any(op == "restart" for op, _ in cx.schedule)
    assert any("crashes and restarts" in line for line in cx.story)
    voted_before: dict[str, set[int]] = {}
    forgot = False
    for line in cx.story:
        words = line.split()
        if "accepts" in words:
            voted_before.setdefault(words[1], set()).add(int(words[words.index("instance") + 1]
                                                          .rstrip(",")))
        if "restarts," in words and voted_before.get(words[1]) and "remembering 0 votes" in line:
            forgot = True
    assert forgot, "\n".join(cx.story)
