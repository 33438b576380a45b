"""The schedule language of paxos_edu.explore: each step does what its label says."""

from __future__ import annotations

import pytest

from paxos_edu.bugs import Bug
from paxos_edu.errors import UsageError
from paxos_edu.explore import Setup, find_violation, next_timer, run_schedule


def test_submit_steps_submit_each_clients_values_in_order_then_nothing():
    outcome = run_schedule(Setup(values=(("a", "b"),)), [("submit", 0), ("submit", 0),
                                                         ("submit", 0)])
    assert [s.value for s in outcome.sim.proposed] == ["a", "b"]
    assert outcome.labels == ["client1 submits 'a'", "client1 submits 'b'",
                              "submit: client1 has no value left"]


def test_deliver_takes_the_kth_copy_in_flight_counting_modulo():
    outcome = run_schedule(Setup(), [("submit", 0), ("deliver", 3)])  # 2 copies: 3 % 2 == 1
    sim = outcome.sim
    assert [c.receiver for c in sim.in_flight] == ["proposer1"]
    assert outcome.labels[1].startswith("deliver client1 -> proposer2: SUBMIT")


def test_duplicate_delivers_and_leaves_the_same_copy_in_flight():
    outcome = run_schedule(Setup(), [("submit", 0), ("duplicate", 0)])
    sim = outcome.sim
    assert [(c.receiver, c.id) for c in sim.in_flight] == [("proposer1", 1), ("proposer2", 2)]
    assert [(r.event, r.msg_id) for r in sim.trace if r.event == "delivered"] == [
        ("delivered", 1)]
    assert "a duplicate stays in flight" in outcome.labels[1]


def test_drop_loses_the_copy():
    outcome = run_schedule(Setup(), [("submit", 0), ("drop", 0), ("drop", 0), ("drop", 0)])
    assert outcome.sim.in_flight == []
    assert outcome.labels[3] == "drop: nothing in flight"
    assert [r.reason for r in outcome.sim.trace if r.event == "dropped"] == ["by hand"] * 2


def test_advance_zero_runs_to_the_next_timer_and_a_positive_advance_runs_that_long():
    setup = Setup()
    sim = setup.simulation()
    due = next_timer(sim)
    outcome = run_schedule(setup, [("advance", 0), ("advance", 0.25)])
    assert outcome.sim.now == pytest.approx(due + 0.25)


def test_an_unknown_step_is_refused():
    with pytest.raises(ValueError, match="unknown schedule step"):
        run_schedule(Setup(), [("jump", 1)])


def test_setup_round_trips_through_plain_data():
    setup = Setup(acceptors=5, values=(("x",), ("y", "z")), mode="classic",
                  bugs=frozenset({Bug.SHARED_ROUNDS}))
    assert Setup.from_dict(setup.as_dict()) == setup


def test_find_violation_refuses_unknown_settings():
    with pytest.raises(UsageError, match="acceptor"):
        find_violation(Bug.SHARED_ROUNDS, acceptor=3)


def test_find_violation_without_bugs_finds_nothing():
    assert find_violation(None, max_runs=20) is None


# ---------------------------------------------------------------------- issue 13, defect 8


@pytest.fixture(scope="module")
def forget_promise():
    return find_violation(Bug.FORGET_PROMISE, seed=1)


def test_explain_stamps_each_event_with_its_schedule_step_and_its_own_time(forget_promise):
    from paxos_edu.explore import explain

    cx = forget_promise
    text = explain(cx)
    events = [line for line in text.splitlines() if line.startswith("  step")]
    assert len(events) == len(cx.story) == len(cx.story_steps)
    assert all(1 <= k <= len(cx.schedule) for k in cx.story_steps)
    assert cx.story_steps == sorted(cx.story_steps)
    # the prepares fire during one "advance" step, each at its own time, and every time
    # is written once, where the clock moved (not t=0.085 on every line)
    times = [line.split()[2] for line in events if "t=" in line]
    assert len(times) == len(set(times)) >= 2
    deliveries = [k for k, line in zip(cx.story_steps, cx.story) if "delivers" in line]
    assert all(cx.steps[k - 1].startswith("deliver") for k in deliveries)


def test_explain_has_no_session_ids_and_says_no_ops_are_skipped(forget_promise):
    from paxos_edu.explore import explain

    text = explain(forget_promise)
    assert "session" not in text and "session" not in forget_promise.detail
    assert "(client 1 seq 0)" in text or "(client 2 seq 0)" in text
    assert "no-op" in text and "skip" in text


def test_bug_table_shows_every_explanation_in_full():
    from paxos_edu.explore import bug_table

    html = bug_table().to_html()
    assert "…" not in html
    assert all(bug.explanation in html for bug in Bug)
