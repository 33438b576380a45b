"""The notebook widgets, driven through their callbacks as a notebook would."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Image  # noqa: E402

from paxos_edu import experiments, widgets  # noqa: E402
from paxos_edu.errors import UsageError  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_leftover_figures")  # widgets close what they draw


# ---------------------------------------------------------------------- loss and timeout


def test_loss_timeout_explorer_disables_its_button_while_running(clears):
    seen = {}

    def fake_run(params, progress=None):
        seen["disabled"] = explorer.run_button.disabled
        seen["params"] = params
        progress(5, 10)
        seen["progress"] = explorer.progress.value
        return experiments.run_experiment(dict(params, values=3))

    explorer = widgets.LossTimeoutExplorer(backend="sim", run_fn=fake_run)
    explorer.loss.value = 0.3
    explorer.timeout.value = 0.06
    clears.clear()
    explorer.run_button.click()
    assert seen["disabled"] is True and explorer.run_button.disabled is False
    assert explorer.run_button.description == "Run"
    assert seen["params"]["loss"] == 0.3 and seen["params"]["backend"] == "sim"
    assert seen["progress"] == 0.5 and explorer.progress.value == 1.0
    assert clears == [True, True]  # "running…", then the outcome, each replacing the last
    assert len(explorer.results) == 1 and explorer.results["loss"].iloc[0] == 0.3
    table, report, picture = explorer.shown
    assert "Runs so far" in table.data and report is explorer.last.report
    assert isinstance(picture, Image)


def test_loss_timeout_explorer_runs_the_simulator_and_keeps_a_history(no_pictures):
    explorer = widgets.LossTimeoutExplorer(backend="sim", values=4)
    first = explorer.run()
    explorer.loss.value = 0.4
    second = explorer.run()
    assert first.complete and second.complete
    assert explorer.results["loss"].tolist() == [0.1, 0.4]
    assert explorer.results.index.tolist() == [1, 2]
    assert explorer.results["drops"].iloc[1] > 0


def test_loss_timeout_explorer_shows_an_error_and_reenables_the_button(monkeypatch):
    def broken(params, progress=None):
        raise UsageError("no multicast here")

    monkeypatch.setattr(widgets, "run_experiment", broken)  # the module-level default
    explorer = widgets.LossTimeoutExplorer(backend="sim")
    assert explorer.run() is None
    assert isinstance(explorer.error, UsageError)
    assert "no multicast here" in explorer.shown[0].data
    assert not explorer.run_button.disabled and explorer.results.empty


def test_run_experiment_is_reexported_for_notebooks():
    assert widgets.run_experiment is experiments.run_experiment
    result = widgets.run_experiment({"backend": "sim", "values": 2})
    assert result.complete


# ---------------------------------------------------------------------- sweep


def test_sweep_widget_runs_and_redraws_by_metric(clears):
    calls = []

    def fake_sweep(losses, timeouts, **kw):
        calls.append((losses, timeouts, kw))
        assert sweeper.run_button.disabled
        return experiments.sweep(losses, timeouts, values=2, progress=False)

    sweeper = widgets.SweepWidget(sweep_fn=fake_sweep, loss_values="0, 0.2", timeout_values="0.1")
    df = sweeper.run()
    assert calls[0][:2] == ([0.0, 0.2], [0.1]) and calls[0][2]["progress"] is True
    assert len(df) == 2 and sweeper.results is df
    assert isinstance(sweeper.shown[0], Image) and not sweeper.run_button.disabled
    shown = sweeper.shown[0]
    sweeper.metric.value = "retries"
    assert sweeper.shown[0] is not shown  # redrawn without running again
    assert len(calls) == 1


def test_sweep_widget_rejects_bad_lists():
    sweeper = widgets.SweepWidget(loss_values="0, lots")
    assert sweeper.run() is None
    assert "numbers separated by commas" in sweeper.shown[0].data


# ---------------------------------------------------------------------- lessons


def test_duel_explorer_draws_rounds():
    duel = widgets.DuelExplorer()
    duel.proposers.value = 3
    duel.values.value = 3
    result = duel.run()
    assert result.params["proposers"] == 3 and result.params["backend"] == "sim"
    summary, picture, report = duel.shown
    assert "leaderships" in summary.data and isinstance(picture, Image)
    duel.backoff.value = False
    assert duel.run().params["backoff"] is False


def test_failure_explorer_kills_and_reports_liveness(no_pictures):
    fail = widgets.FailureExplorer()
    fail.acceptors_up.value = 1
    result = fail.run()
    assert not result.complete and result.safe
    assert "What each learner delivered" in fail.shown[0].data
    fail.acceptors_up.value = 3
    fail.kill_role.value = "proposer"
    fail.values.value = 5
    seen = {}

    def spy(params, **kw):
        seen.update(kw)
        return experiments.run_failures(params, **kw)

    fail.run_fn = spy
    assert fail.run().complete
    assert seen["kill"] == ("proposer", 1) and seen["acceptors_up"] == 3


def test_catchup_explorer_shows_the_late_learner():
    catch = widgets.CatchUpExplorer()
    catch.values.value = 10
    catch.late_at.value = 0.2
    result = catch.run()
    assert result.complete and not catch.run_button.disabled
    assert isinstance(catch.shown[0], Image)


def test_widgets_display_as_their_box():
    bundle = widgets.DuelExplorer()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


@pytest.mark.integration
def test_loss_timeout_explorer_on_real_processes():
    explorer = widgets.LossTimeoutExplorer(backend="real", values=10)
    result = explorer.run()
    assert explorer.error is None and result.complete
    assert (
        isinstance(explorer.results, pd.DataFrame) and explorer.results["backend"].iloc[0] == "real"
    )


# ---------------------------------------------------------------------- issue 13, defects 5, 6, 9


def test_duel_explorer_values_slider_changes_the_duel(no_pictures):
    duel = widgets.DuelExplorer()
    duel.backoff.value = False
    duel.values.value = 1
    few = experiments.duel_summary(duel.run())
    duel.values.value = 20
    many = duel.run()
    assert many.params["values"] == 20 and len(many.run.proposed) == 40
    assert experiments.duel_summary(many)["highest_round"] > few["highest_round"]
    assert "40 values, 2 proposer(s), backoff off" in duel.shown[0].data
    assert "<th>0</th>" not in duel.shown[0].data  # no meaningless row index


def test_failure_explorer_without_quorum_is_green_as_expected(no_pictures):
    fail = widgets.FailureExplorer()
    fail.acceptors_up.value = 1
    fail.values.value = 5
    fail.run()
    block, report = fail.shown[0].data, fail.shown[1]
    assert fail.verdict.ok and "as expected: safe, progress stopped" in block
    assert "#137333" in block and "#c5221f" not in block
    assert "Properties violated" not in report._repr_html_()


def test_failure_explorer_kill_time_spans_the_whole_run():
    fail = widgets.FailureExplorer()
    assert fail.kill_at.max == experiments.FAILURE_RUN_S
    seen = {}

    def spy(params, **kw):
        seen.update(kw)
        return experiments.run_failures(dict(params, values=2), **kw)

    fail.run_fn = spy
    fail.kill_role.value = "acceptor"
    fail.kill_at.value = 2.5
    result = fail.run()
    assert seen["kill_at"] == 2.5 and result.params["until"] >= 2.5


def test_widget_labels_are_never_cut():
    boxes = [widgets.LossTimeoutExplorer(backend="sim"), widgets.SweepWidget(),
             widgets.DuelExplorer(), widgets.FailureExplorer(), widgets.CatchUpExplorer()]
    cut = []
    for box in boxes:
        for control in vars(box).values():
            if isinstance(control, widgets.w.Button) or not getattr(control, "description", ""):
                continue
            if isinstance(control, (widgets.w.Checkbox, widgets.w.Output)):
                continue  # a checkbox's label sits beside it, uncut
            if isinstance(control, widgets.w.Widget):
                if control.style.description_width != "initial":
                    cut.append(f"{type(box).__name__}.{control.description}")
    assert not cut
    assert boxes[0].values.description == "values per client"


def test_loss_timeout_table_labels_values_per_client_and_total(no_pictures):
    explorer = widgets.LossTimeoutExplorer(backend="sim", values=3)
    explorer.run()
    table = explorer.shown[0].data
    assert "values per client" in table and "values (all clients)" in table
    assert "completion time (s)" in table and "completion_time_s" not in table
    assert "6 values (3 per client × 2 clients)" in table
