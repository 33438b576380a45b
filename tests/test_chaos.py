"""Chaos runs: seeded plans of loss, duplicates, crashes, pauses and late learners.

Short in CI (3 real runs of a few seconds). Longer on demand::

    PAXOS_CHAOS_RUNS=50 PAXOS_CHAOS_SEED=7 pytest -m chaos tests/test_chaos.py -s
    python -m paxos_edu.chaos --runs 50 --seed 7
"""

from __future__ import annotations

import io
import os

import pytest

from paxos_edu.chaos import (
    MAX_LOSS,
    RunResult,
    iter_chaos,
    late_values,
    main,
    make_plan,
    run_chaos,
)
from paxos_edu.checks import check_sequences
from paxos_edu.quorum import quorum_size

pytestmark = pytest.mark.chaos

RUNS = int(os.environ.get("PAXOS_CHAOS_RUNS", "3"))
SEED = int(os.environ.get("PAXOS_CHAOS_SEED", "20240607"))


# ---------------------------------------------------------------------- plans


def test_a_plan_depends_only_on_seed_and_run_number():
    assert make_plan(5, 3) == make_plan(5, 3)
    assert make_plan(5, 3) != make_plan(5, 4)
    assert make_plan(5, 3) != make_plan(6, 3)


def test_plans_spare_a_quorum_of_acceptors_and_one_proposer():
    for run in range(300):
        plan = make_plan(1, run)
        touched = {(e.role, e.id) for e in plan.events if e.action in ("kill", "pause")}
        acceptors = {i for role, i in touched if role == "acceptor"}
        proposers = {i for role, i in touched if role == "proposer"}
        assert 1 <= len(acceptors) <= plan.acceptors - quorum_size(plan.acceptors)
        assert 1 <= len(proposers) <= plan.proposers - 1
        assert 0.0 <= plan.loss <= MAX_LOSS
        assert any(e.action == "start" and e.role == "learner" for e in plan.events)
        for event in plan.events:
            assert 0 <= event.at < plan.duration
            if event.action == "pause":  # every pause ends before the run does
                assert any(e.action == "resume" and (e.role, e.id) == (event.role, event.id)
                           and e.at >= event.at for e in plan.events)


def test_plans_cover_every_kind_of_chaos():
    plans = [make_plan(2, run) for run in range(100)]
    actions = {(e.action, e.role) for p in plans for e in p.events}
    assert {("kill", "acceptor"), ("pause", "acceptor"), ("kill", "proposer"),
            ("pause", "proposer"), ("pause", "learner"), ("start", "learner")} <= actions
    assert max(p.loss for p in plans) > 0.4 and min(p.loss for p in plans) < 0.1
    assert any(p.secret for p in plans) and not all(p.secret for p in plans)
    assert {p.acceptors for p in plans} == {3, 5}


def test_a_value_learned_after_the_majority_died_is_a_violation():
    plan = make_plan(1, 0)
    result = RunResult(plan)
    late = late_values(plan, 1)[0]
    learned = {1: [(1, 1, 0, "a"), (1, 1, 1, late)]}
    result.safety = check_sequences(learned, [(1, 1, 0, "a"), (1, 1, 1, late)],
                                    expect_complete=False)
    result.learned_after_majority_died = 1
    assert result.violations == 1 and not result.ok


# ---------------------------------------------------------------------- the simulator


def test_chaos_plans_hold_on_the_simulator():
    out = io.StringIO()
    totals, results = run_chaos(10, SEED, out=out, sim=True)
    assert totals.runs == 10 and totals.violations == 0, out.getvalue()
    assert totals.values == sum(r.submitted for r in results) == 10 * 2 * 40
    assert "chaos totals: runs 10" in out.getvalue()


def test_chaos_finds_a_learner_that_decides_on_one_vote():
    # The runner must be able to fail: with this bug, values submitted once a majority of
    # acceptors is dead are still learned (one surviving acceptor's 2B is enough).
    results = list(iter_chaos(3, SEED, sim=True, bugs="learn-from-one-2b"))
    assert all(r.learned_after_majority_died > 0 for r in results)


# ---------------------------------------------------------------------- real processes


@pytest.mark.integration
def test_chaos_runs_of_real_processes_violate_nothing(capsys):
    out = io.StringIO()
    totals, results = run_chaos(RUNS, SEED, out=out)
    report = out.getvalue()
    with capsys.disabled():
        print("\n" + report, end="")
    assert totals.runs == RUNS
    assert totals.violations == 0, report
    for result in results:
        assert result.safety is not None and result.safety.ok
        assert result.completeness is not None and result.completeness.ok
        assert result.learned_after_majority_died == 0
        # every live learner, late ones included, learned every value
        assert set(result.learned.values()) == {result.submitted}, result.summary()
    assert sum(r.duplicated for r in results) > 0 and sum(r.replayed for r in results) > 0


@pytest.mark.integration
def test_chaos_command_line_prints_totals(capsys):
    assert main(["--runs", "2", "--seed", str(SEED), "--sim"]) == 0
    out = capsys.readouterr().out
    assert "chaos totals: runs 2, values 160, violations 0" in out
