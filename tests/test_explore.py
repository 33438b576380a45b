"""paxos_edu.explore: find_violation, explain, bug_table (the schedule language itself is
tested in test_explore_schedule.py)."""

from __future__ import annotations

import pytest

from paxos_edu.bugs import Bug
from paxos_edu.errors import UsageError
from paxos_edu.explore import find_violation


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
