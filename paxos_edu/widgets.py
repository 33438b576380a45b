"""Notebook widgets (ipywidgets 8): thin UIs over the plain functions of
:mod:`paxos_edu.experiments` and the pictures of :mod:`paxos_edu.viz`.

Every widget follows one pattern, so tests and browser tests can drive it the same way:

* its controls are attributes (``explorer.loss``, ``explorer.run_button``, ...) and
  ``.widget`` is the box to show (a widget object also displays itself in a notebook);
* every button calls a plain method (``explorer.run()``, ``stepper.back()``)
  that tests call directly;
* a run disables its button until it is over, shows progress instead of freezing, and
  replaces the previous output (``Output.clear_output(wait=True)``); what was displayed
  last is kept in ``.shown`` and errors in ``.error``.
"""

from __future__ import annotations

import html
import io
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import ipywidgets as w
import pandas as pd
from IPython.display import HTML, Image, display

from . import viz
from .errors import UsageError
from .experiments import (
    FAILURE_RUN_S,
    ExperimentResult,
    Verdict,
    duel_summary,
    failure_verdict,
    late_learner,
    run_catchup,
    run_duel,
    run_experiment,
    run_failures,
    sweep,
)
from .viz_style import human, short_number

if TYPE_CHECKING:  # pragma: no cover
    from .stepper import Stepper

__all__ = [
    "CatchUpExplorer", "DuelExplorer", "FailureExplorer", "LossTimeoutExplorer", "Stepper",
    "SweepWidget", "figure_image", "run_experiment", "sweep",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    # The Stepper lives in paxos_edu.stepper (which builds on this module's _Panel);
    # importing it lazily keeps ``from paxos_edu.widgets import Stepper`` working.
    if name == "Stepper":
        from .stepper import Stepper

        return Stepper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def figure_image(fig: Any, dpi: int = 80) -> Image:
    """A figure as a PNG image to display (and the figure closed if pyplot holds it), so a
    widget callback never leaves figures for the inline backend to show twice."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # constrained layout already fits the labels
    import matplotlib.pyplot as plt

    plt.close(fig)
    return Image(data=buf.getvalue(), format="png")


def _summary(text: str) -> str:
    """The one-line summary shown beside a figure (what it shows, in numbers), as HTML."""
    return f"<p style='margin:4px 0'>{html.escape(text)}</p>"


def _verdict(verdict: Verdict) -> str:
    """A verdict in green when the run did what Paxos promises, red otherwise, as HTML."""
    color, mark = ("#137333", "✓") if verdict.ok else ("#c5221f", "✗")
    return (f"<p style='margin:4px 0'><b style='color:{color}'>{mark} "
            f"{html.escape(verdict.text)}</b></p>")


def _table(df: pd.DataFrame | Any, title: str = "", *, before: str = "", after: str = "",
           index: bool = True) -> HTML:
    """A table with its title, and HTML ``before`` and ``after`` it (a verdict, a summary
    line), in one block so the output keeps one object per part; ``index=False`` leaves
    out a row index that means nothing to a reader."""
    body = df.to_html(index=index) if hasattr(df, "to_html") else str(df)
    head = f"<b>{html.escape(title)}</b>" if title else ""
    return HTML(f"<div style='overflow-x:auto'>{before}{head}{body}{after}</div>")


class _Panel:
    """Output handling shared by every widget."""

    output: w.Output

    def __init__(self) -> None:
        self.output = w.Output()
        self.shown: list[Any] = []
        self.error: Optional[BaseException] = None
        self.widget: w.Widget = w.VBox()

    def _show(self, *objects: Any) -> None:
        """Replace what the output area shows."""
        self.shown = list(objects)
        with self.output:
            self.output.clear_output(wait=True)
            for obj in objects:
                display(obj)

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        text = f"{type(exc).__name__}: {exc}"
        self._show(
            HTML(f"<pre style='color:#c5221f;white-space:pre-wrap'>{html.escape(text)}</pre>")
        )

    @contextmanager
    def _running(self, button: w.Button) -> Iterator[None]:
        label = button.description
        button.disabled = True
        button.description = "Running…"
        self.error = None
        try:
            yield
        finally:
            button.disabled = False
            button.description = label

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` with its prints and progress bars in the output area; errors are
        shown there (``None`` returned) instead of vanishing in a callback."""
        self._show(HTML("<i>running…</i>"))
        result, error = None, None
        with self.output:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # shown to the student, kept in .error for tests
                error = exc
        if error is not None:
            self._fail(error)
        return result

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


LABEL = {"description_width": "initial"}
"""Controls size their label to its text, so no label is cut ("values/cli…")."""


def _backend_toggle(default: Optional[str]) -> w.ToggleButtons:
    return w.ToggleButtons(
        options=[("real processes", "real"), ("simulator", "sim")],
        value=default or "real",
        description="backend",
        style=LABEL,
    )


def _results_table(results: pd.DataFrame) -> pd.DataFrame:
    """A results table with human column names and units; ``values`` is labelled as the
    total over all clients next to the per-client count a slider sets."""
    shown = results.drop(columns=["clients"], errors="ignore")
    # "loss" stays as it is: short, and the header the browser tests find the table by
    return shown.rename(columns=lambda c: c if c == "loss" else human(c))


# ---------------------------------------------------------------------- loss and timeout


class LossTimeoutExplorer(_Panel):
    """Notebook 04: pick a loss rate and a timeout, run a cluster, see what it cost.

    Each run adds a line to :attr:`results` (completion time, latency, retries, drops,
    checks) and shows the table, the check report, a latency histogram and a bar chart of
    retransmissions and drops.

    Args:
        backend: ``"real"`` (default when real processes can run here) or ``"sim"``.
        run_fn: the function to run (default :func:`run_experiment`), for tests.
        **params: other :data:`~paxos_edu.experiments.DEFAULTS` (``clients``, ``until``, ...).
            ``batch`` defaults to 1 here: one value per instance, so every loss costs a
            retry of its own and the effect of loss and timeout shows.
    """

    def __init__(
        self,
        *,
        backend: Optional[str] = None,
        run_fn: Optional[Callable[..., ExperimentResult]] = None,
        **params: Any,
    ) -> None:
        super().__init__()
        self.run_fn = run_fn
        self.extra = {"batch": 1, **params}
        params = self.extra
        self.loss = w.FloatSlider(
            value=params.pop("loss", 0.1),
            min=0.0,
            max=0.6,
            step=0.05,
            description="loss rate", style=LABEL,
            readout_format=".2f",
            continuous_update=False,
        )
        self.timeout = w.FloatSlider(
            value=params.pop("timeout", 0.2),
            min=0.02,
            max=1.0,
            step=0.02,
            description="timeout (s)", style=LABEL,
            readout_format=".2f",
            continuous_update=False,
        )
        self.values = w.IntSlider(
            value=params.pop("values", 20),
            min=1,
            max=500,
            description="values per client", style=LABEL,
            continuous_update=False,
        )
        self.seed = w.IntText(
            value=params.pop("seed", 1), description="seed", style=LABEL,
            layout=w.Layout(width="170px"),
        )
        self.mode = w.Dropdown(
            options=["multi", "classic"],
            value=params.pop("mode", "multi"),
            description="mode", style=LABEL,
            layout=w.Layout(width="200px"),
        )
        self.backend = _backend_toggle(backend)
        self.run_button = w.Button(description="Run", icon="play", button_style="primary")
        self.progress = w.FloatProgress(
            value=0.0, min=0.0, max=1.0, description="progress", style=LABEL
        )
        self.results = pd.DataFrame()
        self.last: Optional[ExperimentResult] = None
        for widget, css in ((self.loss, "loss"), (self.timeout, "timeout"),
                            (self.run_button, "run"), (self.output, "output")):
            widget.add_class(f"paxos-{css}")  # stable selectors for browser tests
        self.run_button.on_click(lambda _: self.run())
        self.widget = w.VBox([
            w.HBox([self.loss, self.timeout]), w.HBox([self.values, self.seed, self.mode]),
            w.HBox([self.backend, self.run_button]), self.progress, self.output,
        ])  # fmt: skip

    def params(self) -> dict[str, Any]:
        """The parameters the controls describe (for :func:`run_experiment`)."""
        return {
            **self.extra,
            "loss": float(self.loss.value),
            "timeout": float(self.timeout.value),
            "values": int(self.values.value),
            "seed": int(self.seed.value),
            "mode": self.mode.value,
            "backend": self.backend.value,
        }

    def _progress(self, done: int, total: int) -> None:
        self.progress.value = done / total if total else 0.0

    def run(self) -> Optional[ExperimentResult]:
        """Run one experiment with the current controls and show the outcome."""
        with self._running(self.run_button):
            self.progress.value = 0.0
            result = self._call(
                self.run_fn or run_experiment, self.params(), progress=self._progress
            )
            if result is None:
                return None
            self.progress.value = 1.0
            self.last = result
            row = pd.DataFrame([result.row()], index=[len(self.results) + 1])
            self.results = row if self.results.empty else pd.concat([self.results, row])
            self.results.index.name = "run"
            self._show(*self._outcome(result))
        return result

    def _outcome(self, result: ExperimentResult) -> list[Any]:
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
        viz.latency_histogram(result, ax=left)
        viz.retries_bar(result, ax=right)
        r = result.row()
        line = (f"{r['values']} values ({r['values_per_client']} per client × {r['clients']} "
                f"clients), loss {r['loss']:g}, timeout {r['timeout']:g} s: "
                + (f"all delivered in {r['completion_time_s']:.3f} s" if r["complete"]
                   else "not all delivered")
                + f", {r['retries']} retries, {r['drops']} datagrams dropped")
        return [
            _table(_results_table(self.results.round(4)), "Runs so far (last one at the bottom)",
                   after=_summary(line)),
            result.report,
            figure_image(fig),
        ]


class SweepWidget(_Panel):
    """Notebook 04: a loss × timeout sweep with a progress bar, drawn as a heatmap.

    Args:
        backend: ``"sim"`` (default: a sweep is many runs) or ``"real"``.
        sweep_fn: the function to run (default :func:`sweep`), for tests.
        loss_values, timeout_values: the grid, as comma-separated numbers.
        **params: other :data:`~paxos_edu.experiments.DEFAULTS`; ``batch`` is 1 unless
            given, as in :class:`LossTimeoutExplorer`.
    """

    METRICS = [
        ("completion time (s)", "completion_time_s"),
        ("median latency (ms)", "latency_p50_ms"),
        ("99th-percentile latency (ms)", "latency_p99_ms"),
        ("retries", "retries"),
        ("drops", "drops"),
    ]

    def __init__(
        self,
        *,
        backend: str = "sim",
        sweep_fn: Optional[Callable[..., pd.DataFrame]] = None,
        loss_values: str = "0, 0.1, 0.2, 0.3",
        timeout_values: str = "0.05, 0.1, 0.2, 0.5",
        values: int = 20,
        **params: Any,
    ) -> None:
        super().__init__()
        self.sweep_fn = sweep_fn
        self.extra = {"batch": 1, **params}
        self.loss_values = w.Text(value=loss_values, description="loss rates", style=LABEL)
        self.timeout_values = w.Text(value=timeout_values, description="timeouts (s)", style=LABEL)
        self.values = w.IntSlider(
            value=values, min=1, max=200, description="values per client", style=LABEL,
            continuous_update=False,
        )
        self.metric = w.Dropdown(
            options=self.METRICS, value="completion_time_s", description="colour by", style=LABEL
        )
        self.backend = _backend_toggle(backend)
        self.run_button = w.Button(description="Run sweep", icon="play", button_style="primary")
        self.results: Optional[pd.DataFrame] = None
        self.run_button.on_click(lambda _: self.run())
        self.metric.observe(lambda _: self.draw(), names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.loss_values, self.timeout_values]),
                w.HBox([self.values, self.metric]),
                w.HBox([self.backend, self.run_button]),
                self.output,
            ]
        )

    @staticmethod
    def _numbers(text: str) -> list[float]:
        try:
            values = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
        except ValueError:
            raise UsageError(f"write numbers separated by commas, not {text!r}") from None
        if not values:
            raise UsageError("give at least one value")
        return values

    def run(self) -> Optional[pd.DataFrame]:
        """Run the sweep (progress bar in the output), then draw it."""
        with self._running(self.run_button):
            try:
                losses = self._numbers(self.loss_values.value)
                timeouts = self._numbers(self.timeout_values.value)
            except UsageError as exc:
                self._fail(exc)
                return None
            df = self._call(
                self.sweep_fn or sweep,
                losses,
                timeouts,
                values=int(self.values.value),
                backend=self.backend.value,
                progress=True,
                **self.extra,
            )
            if df is None:
                return None
            self.results = df
            self.draw()
        return df

    def draw(self) -> None:
        """(Re)draw the last sweep coloured by the chosen metric."""
        if self.results is None:
            return
        metric = self.metric.value
        ax = viz.sweep_heatmap(self.results, "loss", "timeout", metric)
        column = self.results[metric]
        best = self.results.loc[column.idxmin()] if column.notna().any() else None
        line = (f"{len(self.results)} runs; lowest {human(metric)}: "
                f"{short_number(best[metric])} at loss {best['loss']:g}, "
                f"timeout {best['timeout']:g} s"
                if best is not None else f"{len(self.results)} runs; none completed")
        self._show(figure_image(ax.figure),
                   _table(_results_table(self.results.round(4)), "All runs", before=_summary(line)))


# ---------------------------------------------------------------------- lessons 05-07


class _LessonExplorer(_Panel):
    """A Run button over one lesson function; subclasses add controls and a picture."""

    def __init__(self, run_fn: Optional[Callable[..., ExperimentResult]]) -> None:
        super().__init__()
        self.run_fn = run_fn
        self.run_button = w.Button(description="Run", icon="play", button_style="primary")
        self.run_button.on_click(lambda _: self.run())
        self.last: Optional[ExperimentResult] = None
        self.seed = w.IntText(
            value=1, description="seed", style=LABEL, layout=w.Layout(width="170px")
        )
        self.values = w.IntSlider(
            value=10, min=1, max=200, description="values per client", style=LABEL,
            continuous_update=False,
        )

    def _invoke(self) -> ExperimentResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _outcome(self, result: ExperimentResult) -> list[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self) -> Optional[ExperimentResult]:
        """Run the lesson's experiment with the current controls and show it."""
        with self._running(self.run_button):
            result = self._call(self._invoke)
            if result is None:
                return None
            self.last = result
            self._show(*self._outcome(result))
        return result


class DuelExplorer(_LessonExplorer):
    """Notebook 05: 1-3 proposers compete; backoff on or off; the rounds over time.

    Args:
        run_fn: default :func:`~paxos_edu.experiments.run_duel`.
    """

    def __init__(self, *, run_fn: Optional[Callable[..., ExperimentResult]] = None) -> None:
        super().__init__(run_fn)
        self.proposers = w.IntSlider(value=2, min=1, max=3, description="proposers", style=LABEL)
        self.backoff = w.Checkbox(value=True, description="backoff")
        self.widget = w.VBox(
            [
                w.HBox([self.proposers, self.backoff]),
                w.HBox([self.values, self.seed, self.run_button]),
                self.output,
            ]
        )

    def params(self) -> dict[str, Any]:
        return {
            "proposers": int(self.proposers.value),
            "backoff": bool(self.backoff.value),
            "values": int(self.values.value),
            "seed": int(self.seed.value),
        }

    def _invoke(self) -> ExperimentResult:
        return (self.run_fn or run_duel)(self.params())

    def _outcome(self, result: ExperimentResult) -> list[Any]:
        ax = viz.rounds_over_time(result.run)
        d = duel_summary(result)
        line = (f"{len(result.run.proposed)} values, {d['proposers']} proposer(s), backoff "
                f"{'on' if d['backoff'] else 'off'}: {d['leaderships']} leaderships, "
                f"{d['step_downs']} step-downs, highest round {d['highest_round']}, "
                + (f"done in {d['completion_time_s']:.3f} s" if d["complete"] else "not complete"))
        summary = pd.DataFrame([d]).rename(columns=human)
        return [_table(summary.round(4), "Duel", after=_summary(line), index=False),
                figure_image(ax.figure),
                result.report]


class FailureExplorer(_LessonExplorer):
    """Notebook 06: run with 3, 2 or 1 of 3 acceptors up, and kill an acceptor or a
    proposer at time t; what each learner delivered over time, and the checks.

    Args:
        run_fn: default :func:`~paxos_edu.experiments.run_failures`.
        backend: ``"sim"`` (default) or ``"real"``.
    """

    def __init__(
        self, *, run_fn: Optional[Callable[..., ExperimentResult]] = None, backend: str = "sim"
    ) -> None:
        super().__init__(run_fn)
        self.values.value = 50
        self.verdict: Optional[Verdict] = None
        self.acceptors_up = w.ToggleButtons(
            options=[3, 2, 1], value=3, description="acceptors up", style=LABEL
        )
        self.kill_role = w.Dropdown(
            options=[("nobody", ""), ("an acceptor", "acceptor"), ("a proposer", "proposer")],
            value="",
            description="kill", style=LABEL,
        )
        self.kill_id = w.BoundedIntText(
            value=1, min=1, max=3, description="id", style=LABEL, layout=w.Layout(width="150px")
        )
        self.kill_at = w.FloatSlider(  # spans the whole run: a kill can land anywhere in it
            value=0.005,
            min=0.0,
            max=FAILURE_RUN_S,
            step=0.005,
            readout_format=".3f",
            description="at (s)", style=LABEL,
            continuous_update=False,
        )
        self.backend = _backend_toggle(backend)
        self.widget = w.VBox(
            [
                self.acceptors_up,
                w.HBox([self.kill_role, self.kill_id, self.kill_at]),
                w.HBox([self.values, self.seed]),
                w.HBox([self.backend, self.run_button]),
                self.output,
            ]
        )

    def _setup(self) -> dict[str, Any]:
        kill = (self.kill_role.value, int(self.kill_id.value)) if self.kill_role.value else None
        return {"acceptors_up": int(self.acceptors_up.value), "kill": kill,
                "kill_at": float(self.kill_at.value)}

    def _invoke(self) -> ExperimentResult:
        params = {
            "values": int(self.values.value),
            "seed": int(self.seed.value),
            "backend": self.backend.value,
        }
        return (self.run_fn or run_failures)(params, **self._setup())

    def _outcome(self, result: ExperimentResult) -> list[Any]:
        events = {}
        if self.kill_role.value:
            events[f"{self.kill_role.value} {self.kill_id.value} killed"] = float(
                self.kill_at.value
            )
        ax = viz.delivered_over_time(result, events=events)
        counts = (
            result.run.learned.groupby("learner").size().reindex(result.run.learners, fill_value=0)
        )
        summary = pd.DataFrame(
            {
                "values proposed": len(result.run.proposed),
                "values learned": counts,
                "complete (liveness)": result.complete,
                "safe": result.safe,
            }
        )
        # The verdict compares the outcome with what Paxos promises for this setup: a run
        # that stops without a quorum is a success of the lesson, not a red failure.
        self.verdict = failure_verdict(result, **self._setup())
        report = result.run.check(expect_complete=self.verdict.expect_progress)
        return [
            _table(summary, "What each learner delivered", before=_verdict(self.verdict)),
            report,
            figure_image(ax.figure),
        ]


class CatchUpExplorer(_LessonExplorer):
    """Notebook 07: a learner started late catches up from the first value on.

    Args:
        run_fn: default :func:`~paxos_edu.experiments.run_catchup`.
        backend: ``"sim"`` (default) or ``"real"``.
    """

    def __init__(
        self, *, run_fn: Optional[Callable[..., ExperimentResult]] = None, backend: str = "sim"
    ) -> None:
        super().__init__(run_fn)
        self.values.value = 100
        self.late_at = w.FloatSlider(
            value=0.3,
            min=0.0,
            max=2.0,
            step=0.05,
            readout_format=".2f",
            description="starts at (s)", style=LABEL,
            continuous_update=False,
        )
        self.loss = w.FloatSlider(
            value=0.0, min=0.0, max=0.5, step=0.05, description="loss rate", style=LABEL,
            continuous_update=False,
        )
        self.backend = _backend_toggle(backend)
        self.widget = w.VBox(
            [
                w.HBox([self.late_at, self.loss]),
                w.HBox([self.values, self.seed]),
                w.HBox([self.backend, self.run_button]),
                self.output,
            ]
        )

    def _invoke(self) -> ExperimentResult:
        params = {
            "values": int(self.values.value),
            "seed": int(self.seed.value),
            "loss": float(self.loss.value),
            "backend": self.backend.value,
        }
        return (self.run_fn or run_catchup)(params, late_at=float(self.late_at.value))

    def _outcome(self, result: ExperimentResult) -> list[Any]:
        ax = viz.catchup_progress(result.run, late_learner(result))
        return [figure_image(ax.figure), result.report]
