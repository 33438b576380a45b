"""The notebooks' experiments as plain functions (simulator backend; real one: integration)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from paxos_edu import experiments
from paxos_edu.errors import UsageError
from paxos_edu.runlog import Run
from paxos_edu.sim import Simulation


def sim_params(**kw):
    return {"backend": "sim", "values": 5, **kw}


def test_run_experiment_on_the_simulator_learns_everything_and_checks_it():
    result = experiments.run_experiment(sim_params(loss=0.1, seed=4))
    assert result.complete and result.safe and result.report.ok
    assert isinstance(result.run, Run) and isinstance(result.run, experiments.SimRun)
    assert len(result.run.proposed) == 10
    assert result.run.learned.groupby("learner").size().tolist() == [10, 10]
    assert result.completion_time > 0
    assert (result.latency["latency"] > 0).all()
    assert result.drops > 0
    row = result.row()
    assert row["values"] == 10 and row["loss"] == 0.1 and row["complete"]


def test_the_same_seed_gives_the_same_run():
    a = experiments.run_experiment(sim_params(loss=0.3, seed=9))
    b = experiments.run_experiment(sim_params(loss=0.3, seed=9))
    assert a.row() | {"wall_time_s": 0} == b.row() | {"wall_time_s": 0}
    pd.testing.assert_frame_equal(a.run.learned, b.run.learned)


def test_unknown_or_bad_parameters_are_usage_errors():
    with pytest.raises(UsageError, match="unknown experiment parameter"):
        experiments.run_experiment(sim_params(los=0.1))
    with pytest.raises(UsageError, match="backend"):
        experiments.run_experiment(dict(backend="cloud"))
    with pytest.raises(UsageError, match="loss"):
        experiments.run_experiment(sim_params(loss=1.0))


def test_simulate_records_submission_and_delivery_times_in_virtual_seconds():
    sim = Simulation(seed=1)
    sim.submit(1, ["a", "b"])
    sim.submit(2, ["c"], at=0.5)
    run = experiments.simulate(sim, until=5.0, not_before=0.5)
    assert run.proposed["time"].tolist() == [0.0, 0.0, 0.5]
    late = run.learned[run.learned["value"] == "c"]["time"]
    assert (late > 0.5).all() and (late < 0.6).all()
    assert run.check().ok
    assert run.metrics().summary["values"] == 3
    assert run.trace is sim.trace or len(run.trace) == len(sim.trace)


def test_a_majority_of_acceptors_down_stops_learning_but_not_safety():
    result = experiments.run_failures(sim_params(until=1.0), acceptors_up=1)
    assert result.safe and not result.complete
    assert len(result.run.learned) == 0
    assert math.isnan(result.completion_time)


def test_killing_an_acceptor_mid_run_keeps_a_quorum():
    result = experiments.run_failures(
        sim_params(values=30, batch=1), kill=("acceptor", 1), kill_at=0.005
    )
    assert result.complete and result.safe
    notes = result.run.notes
    assert ((notes["process"] == "acceptor1") & (notes["note"] == "crash")).any()


def test_a_late_learner_catches_up_from_the_first_value():
    result = experiments.run_catchup(dict(values=20), late_at=0.2)
    late = experiments.late_learner(result)
    assert late == 3 and result.complete
    rows = result.run.learned[result.run.learned["learner"] == late]
    assert len(rows) == 40 and (rows["time"] >= 0.2).all()
    assert rows["value"].tolist() == result.run.learned.query("learner == 1")["value"].tolist()


def test_without_backoff_duelling_proposers_collide_more():
    on = experiments.duel_summary(experiments.run_duel(dict(backoff=True, values=5, seed=3)))
    off = experiments.duel_summary(experiments.run_duel(dict(backoff=False, values=5, seed=3)))
    assert off["step_downs"] > on["step_downs"]
    assert off["highest_round"] > on["highest_round"]


def test_sweep_runs_every_cell_of_the_grid():
    df = experiments.sweep([0.0, 0.2], [0.05, 0.2], values=3, progress=False)
    assert len(df) == 4
    assert set(zip(df["loss"], df["timeout"])) == {(0.0, 0.05), (0.0, 0.2), (0.2, 0.05), (0.2, 0.2)}
    assert df["complete"].all()


def test_compare_2b_routes_counts_one_more_datagram_and_delay_via_the_proposer():
    t = experiments.compare_2b_routes(acceptors=3, proposers=1, learners=2)
    per = t.groupby("route")["per_value"].sum()
    assert per["2B via proposer"] == per["2B to learners"] + 1
    assert t.groupby("route")["delays"].first().to_dict() == {
        "2B to learners": 2,
        "2B via proposer": 3,
    }


@pytest.mark.integration
def test_run_experiment_on_real_processes():
    result = experiments.run_experiment(
        dict(backend="real", values=10, loss=0.1, timeout=0.1, until=20.0)
    )
    assert result.complete and result.safe
    assert len(result.run.learned) == 2 * 20
    assert result.latency["latency"].gt(0).all()


@pytest.mark.integration
def test_real_failures_and_catch_up():
    down = experiments.run_failures(dict(backend="real", values=5, until=1.5), acceptors_up=1)
    assert down.safe and not down.complete
    late = experiments.run_catchup(dict(backend="real", values=20, until=20.0), late_at=0.3)
    assert late.complete
    rows = late.run.learned[late.run.learned["learner"] == experiments.late_learner(late)]
    assert len(rows) == 40


# ---------------------------------------------------------------------- issue 13, defects 5, 6, 9


def test_more_values_per_client_make_a_longer_duel():
    # with the protocol's batch every value fitted in one instance: 1 and 20 values per
    # client were the same single fight (issue 13, defect 5)
    one = experiments.duel_summary(experiments.run_duel({"proposers": 2, "backoff": False,
                                                         "values": 1}))
    many = experiments.duel_summary(experiments.run_duel({"proposers": 2, "backoff": False,
                                                          "values": 20}))
    assert many["highest_round"] > one["highest_round"]
    assert many["completion_time_s"] > one["completion_time_s"]


def test_row_names_values_per_client_and_the_total():
    row = experiments.run_experiment(sim_params(clients=2)).row()
    assert row["values_per_client"] == 5 and row["clients"] == 2 and row["values"] == 10


def test_failure_verdict_counts_a_stop_without_quorum_as_expected():
    stuck = experiments.run_failures({"values": 5}, acceptors_up=1)
    verdict = experiments.failure_verdict(stuck, acceptors_up=1)
    assert stuck.safe and not stuck.complete
    assert verdict.ok and not verdict.expect_progress
    assert verdict.text.startswith("as expected: safe, progress stopped at 0 of 10 values")
    assert "only 1 of 3 acceptors up, and a quorum is 2" in verdict.text


def test_failure_verdict_expects_progress_while_a_quorum_and_a_proposer_live():
    fine = experiments.run_failures({"values": 5}, kill=("proposer", 1), kill_at=0.005)
    verdict = experiments.failure_verdict(fine, kill=("proposer", 1), kill_at=0.005)
    assert verdict == experiments.Verdict(True, True, "as expected: safe, all 10 values delivered")
    late = experiments.run_failures({"values": 5}, acceptors_up=2, kill=("acceptor", 1),
                                    kill_at=2.0)
    verdict = experiments.failure_verdict(late, acceptors_up=2, kill=("acceptor", 1), kill_at=2.0)
    assert late.complete and verdict.ok and not verdict.expect_progress
    assert "before progress could stop" in verdict.text


def test_failure_verdict_is_red_when_progress_was_expected_but_missing():
    stuck = experiments.run_failures({"values": 5}, acceptors_up=1)
    # judged as if all three acceptors had been up: progress was owed
    verdict = experiments.failure_verdict(stuck, acceptors_up=3)
    assert not verdict.ok and verdict.text.startswith("unexpected: safe, but only 0 of 10")


def test_a_failure_run_is_long_enough_for_every_kill_time():
    result = experiments.run_failures({"values": 2}, acceptors_up=1)
    assert result.params["until"] == experiments.FAILURE_RUN_S
