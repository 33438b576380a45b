"""Pictures of how a run went: latency, throughput, retries, rounds, deliveries, sweeps.

They draw from a :class:`~paxos_edu.runlog.Run` (real or simulated) or an
:class:`~paxos_edu.experiments.ExperimentResult` holding one, or from the tables its
metrics give (:mod:`paxos_edu.metrics`).
"""

from __future__ import annotations

from typing import Any, Optional

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .errors import UsageError
from .metrics import Metrics, retries_and_drops_by_role
from .processes import ROLES
from .rounds import ROUND_STRIDE
from .runlog import Run
from .trace import KIND_ORDER, KIND_SHORT, message_frame, process_order
from .viz_style import DROP_COLOR, KIND_COLORS, SERIES_COLORS, human, new_ax, short_number

# ---------------------------------------------------------------------- run metrics


def _run_of(source: Any) -> Run:
    """The Run behind ``source``: a Run (real or simulated) or an ExperimentResult's."""
    run = getattr(source, "run", source)
    if isinstance(run, Run):
        return run
    raise UsageError(
        f"{type(source).__name__} is not a run: pass a Run, a simulated run "
        "(paxos_edu.experiments) or an ExperimentResult"
    )


def _metrics_of(source: Any) -> Metrics:
    """The Metrics of ``source``: itself, an ExperimentResult's, or a run's ``metrics()``."""
    if isinstance(source, Metrics):
        return source
    held = getattr(source, "metrics", None)
    return held if isinstance(held, Metrics) else _run_of(source).metrics()


def latency_histogram(run_or_latency_df: Any, ax: Optional[Axes] = None, *, bins: int = 30) -> Axes:
    """Histogram of latencies (submission to learning, per value and learner) in ms, with
    the median and 99th percentile marked.

    Args:
        run_or_latency_df: a Run / simulated run / ExperimentResult / Metrics, or a
            DataFrame with a ``latency`` column in seconds.
    """
    df = run_or_latency_df
    if not isinstance(df, pd.DataFrame):
        df = _metrics_of(df).latency
    ms = df["latency"].dropna().to_numpy(dtype=float) * 1e3
    ax = new_ax(ax, (6.5, 4.0))
    if len(ms):
        ax.hist(ms, bins=bins, color="#56B4E9", edgecolor="white", label=f"{len(ms)} deliveries")
        # Each line's value is written beside it, the median's at the top and the p99's
        # lower down, so the two never cover each other however close the lines are.
        lo, hi = float(ms.min()), float(ms.max())
        marks = ((50, "--", "#000000", "median", 0.98), (99, ":", DROP_COLOR, "p99", 0.88))
        for q, ls, color, name, height in marks:
            v = float(np.percentile(ms, q))
            ax.axvline(v, color=color, ls=ls, lw=1.6,
                       label=f"{'99th percentile' if q == 99 else name}: {v:.1f} ms")
            right_half = hi > lo and (v - lo) / (hi - lo) > 0.5
            ax.text(v, height, f" {name} {v:.1f} ms ", transform=ax.get_xaxis_transform(),
                    ha="right" if right_half else "left", va="top", fontsize=8, color=color,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        ax.set_ylim(top=ax.get_ylim()[1] * 1.3)  # headroom for the two labels
        # the legend on the side away from the lines, so it covers neither
        median = float(np.percentile(ms, 50))
        away = "center left" if hi > lo and (median - lo) / (hi - lo) > 0.5 else "center right"
        ax.legend(fontsize=8, loc=away)
    else:
        ax.text(0.5, 0.5, "no value learned", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("latency: submitted → learned (ms)")
    ax.set_ylabel("deliveries")
    ax.set_title("Latency of each value", fontsize=11)
    return ax


def throughput_plot(run: Any, ax: Optional[Axes] = None, *, bin_s: Optional[float] = None) -> Axes:
    """Values learned per second over time, one line per learner."""
    if isinstance(run, pd.DataFrame):
        tp = run
    else:
        tp = (_metrics_of(run) if bin_s is None else _run_of(run).metrics(bin_s)).throughput
    ax = new_ax(ax, (7.0, 4.0))
    for k, (lid, rows) in enumerate(tp.groupby("learner", sort=True)):
        ax.step(
            rows["time"],
            rows["values_per_s"],
            where="post",
            lw=1.6,
            color=SERIES_COLORS[k % len(SERIES_COLORS)],
            label=f"learner {lid}",
        )
    if len(tp):
        ax.legend(fontsize=8)
    ax.set_xlabel("time since the first submission (s)")
    ax.set_ylabel("values learned per second")
    ax.set_title("Throughput", fontsize=11)
    ax.set_ylim(bottom=0)
    return ax


def retries_bar(run_or_df: Any, ax: Optional[Axes] = None) -> Axes:
    """Retries (timeouts that fired) and drops (datagrams lost) per role, side by side.

    Args:
        run_or_df: a Run / simulated run / ExperimentResult, or its
            ``metrics().retries_and_drops`` table (each event counted once, see
            :func:`paxos_edu.metrics.retries_and_drops_by_role`).
    """
    df = run_or_df
    if not isinstance(df, pd.DataFrame):
        df = _metrics_of(df).retries_and_drops
    counts = retries_and_drops_by_role(df).reindex([r for r in ROLES], fill_value=0)
    ax = new_ax(ax, (6.5, 4.0))
    x = np.arange(len(counts))
    for k, (col, color, hatch) in enumerate(
        (("retries", "#0072B2", ""), ("drops", DROP_COLOR, "//"))
    ):
        bars = ax.bar(
            x + (k - 0.5) * 0.38,
            counts[col],
            width=0.36,
            color=color,
            hatch=hatch,
            edgecolor="white",
            label={"retries": "retries (timeouts fired)", "drops": "datagrams dropped"}[col],
        )
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(x, [r + "s" for r in counts.index])
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    ax.set_title("Retransmissions and drops", fontsize=11)
    return ax


def _notes_frame(source: Any) -> pd.DataFrame:
    """Notes as (time, process, note, fields) from a Run, simulated run, SimResult, list."""
    notes = getattr(source, "notes", source)
    if isinstance(notes, pd.DataFrame):
        return notes[["time", "process", "note", "fields"]]
    if isinstance(notes, list) and all(
        isinstance(n, tuple) and len(n) == 4 and isinstance(n[3], dict) for n in notes
    ):
        return pd.DataFrame(notes, columns=["time", "process", "note", "fields"])
    raise UsageError(f"no notes in {type(source).__name__}")


def _counter(label: Any) -> Optional[int]:
    try:
        return int(str(label).split(".")[0])
    except ValueError:
        return None


def rounds_over_time(trace_or_notes: Any, ax: Optional[Axes] = None) -> Axes:
    """The round each proposer tries over time: duelling proposers climb in turns.

    Reads the proposers' notes (``phase1_start``, ``leader``, ``step_down``) of a Run, a
    simulated run or a SimResult; a trace or messages table without notes falls back to
    the rounds of the 1A each proposer sent.
    """
    ax = new_ax(ax, (7.5, 4.2))
    try:
        notes = _notes_frame(trace_or_notes)
        notes = notes[notes["process"].str.startswith("proposer")]
    except UsageError:
        notes = None
    if notes is not None and len(notes):
        rows = [
            (t, p, ev, _counter(f.get("rnd")))
            for t, p, ev, f in notes.itertuples(index=False)
            if ev in ("phase1_start", "leader", "step_down")
        ]
        df = pd.DataFrame(rows, columns=["time", "process", "note", "counter"]).dropna()
    else:
        frame = message_frame(trace_or_notes)
        sent = frame[(frame["event"] == "sent") & (frame["kind"] == "PHASE1A")]
        sent = sent.drop_duplicates(["time", "sender", "round"])
        df = pd.DataFrame(
            {
                "time": sent["time"],
                "process": sent["sender"],
                "note": "phase1_start",
                "counter": (sent["round"] // ROUND_STRIDE).astype(float),
            }
        )
    t0 = _t0(trace_or_notes, df["time"])
    marker = {
        "phase1_start": ("o", "prepare (1A)"),
        "leader": ("*", "became leader"),
        "step_down": ("v", "stepped down"),
    }
    end = float(df["time"].max()) if len(df) else 0.0
    for k, proc in enumerate(process_order(df["process"].unique())):
        rows = df[df["process"] == proc].sort_values("time", kind="stable")
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        xs = np.append(rows["time"].to_numpy(dtype=float), end) - t0  # hold the last round
        ys = np.append(rows["counter"].to_numpy(dtype=float), rows["counter"].iloc[-1])
        ax.step(xs, ys, where="post", color=color, lw=1.4, label=proc)
        for note, (m, _) in marker.items():
            sel = rows[rows["note"] == note]
            ax.scatter(
                sel["time"] - t0,
                sel["counter"],
                marker=m,
                color=color,
                s=110 if m == "*" else 35,
                zorder=3,
                edgecolors="white",
                linewidths=0.5,
            )
    handles = ax.get_legend_handles_labels()[0]
    present = set(df["note"])
    handles += [
        Line2D([], [], ls="", marker=m, color="#444444", label=text)
        for note, (m, text) in marker.items()
        if note in present
    ]
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no proposer started phase 1", transform=ax.transAxes, ha="center")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("round (counter part of c_rnd)")
    ax.set_title("Rounds of each proposer over time", fontsize=11)
    ax.set_ylim(0, max(2.0, float(df["counter"].max()) + 1.0) if len(df) else 2.0)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return ax


def _t0(source: Any, times: pd.Series) -> float:
    proposed = getattr(source, "proposed", None)
    if isinstance(proposed, pd.DataFrame) and proposed["time"].notna().any():
        return float(proposed["time"].min())
    return 0.0 if not len(times) or times.min() < 1e6 else float(times.min())


def delivered_over_time(
    run: Any,
    *,
    highlight: Optional[int] = None,
    events: Optional[dict[str, float]] = None,
    ax: Optional[Axes] = None,
) -> Axes:
    """How many values each learner delivered over time (a step line per learner).

    Args:
        run: a Run, simulated run or ExperimentResult (anything with ``learned``).
        highlight: a learner id drawn thick (e.g. the late one).
        events: ``{"acceptor 1 killed": t}`` vertical lines, ``t`` in seconds since the
            first submission (the x axis).
    """
    run = _run_of(run)
    learned = run.learned[run.learned["time"].notna()]
    t0 = _t0(run, learned["time"])
    learners = sorted(set(run.learners) | set(learned["learner"]))
    end = _end_time(run, learned) - t0
    ax = new_ax(ax, (7.5, 4.2))
    for k, lid in enumerate(learners):
        rows = learned[learned["learner"] == lid].sort_values("position")
        start = _start_time(run, f"learner{lid}")
        start = 0.0 if start is None else max(0.0, start - t0)  # a late learner's line starts late
        times = rows["time"].to_numpy(dtype=float) - t0
        x = np.concatenate([[start], times, [max(end, start, *times[-1:])]])
        y = np.concatenate([np.arange(len(rows) + 1), [len(rows)]])
        star = highlight is not None and int(lid) == int(highlight)
        ax.step(
            x,
            y,
            where="post",
            lw=3.0 if star else 1.4,
            alpha=1.0 if star else 0.8,
            color=SERIES_COLORS[k % len(SERIES_COLORS)],
            label=f"learner {lid}" + (" (late)" if star else ""),
            zorder=3 if star else 2,
        )
    for k, (text, t) in enumerate((events or {}).items()):
        ax.axvline(t, color="#444444", ls=("--", "-.")[k % 2], lw=1.2, label=text)
    goal = len(run.proposed)
    if goal:
        ax.axhline(goal, color="#999999", ls=":", lw=1.2, label=f"proposed ({goal})")
    ax.set_ylim(0, max(goal, len(learned) and learned.groupby("learner").size().max(), 1) * 1.06)
    delivered = float(learned["time"].max() - t0) if len(learned) else 0.0
    _crop_quiet_tail(ax, delivered, max([delivered, *(events or {}).values()]), end)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("time since the first submission (s)")
    ax.set_ylabel("values delivered")
    ax.set_title("Values delivered by each learner", fontsize=11)
    return ax


def _crop_quiet_tail(ax: Axes, delivered: float, last: float, end: float) -> None:
    """Show the time axis up to a little after ``last`` (the last delivery or event) when
    the run went on long after it, and say so in words, so the action is not squeezed
    into the left edge of a long quiet run. Axes sharing their x axis get the widest
    crop of the group (the last one drawn must not cut the others)."""
    right = end
    # the note goes where the flat lines are not: below them when they end high
    lines = [ln.get_ydata()[-1] for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    high = bool(lines) and max(lines) > 0.5 * ax.get_ylim()[1]
    style = dict(transform=ax.transAxes, ha="right", va="center", fontsize=8, color="#444444",
                 bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85))
    if last <= 0:  # nothing happened at all: the whole quiet run is the picture
        ax.text(0.98, 0.3 if high else 0.62, f"no value delivered in the {end:.3g} s of the run",
                **style)
    elif end > 1.6 * last:
        right = max(last * 1.3, last + 0.002)
        said = f"last value delivered at {delivered:.3g} s" if delivered else "no value delivered"
        ax.text(0.98, 0.3 if high else 0.62,
                f"{said};\nnothing more until the run ended at {end:.3g} s", **style)
    ax.__dict__["_paxos_right"] = right
    right = max(getattr(a, "_paxos_right", right) for a in ax.get_shared_x_axes().get_siblings(ax))
    ax.set_xlim(-0.02 * right, right * 1.02)


def _end_time(run: Run, learned: pd.DataFrame) -> float:
    """When the run ended: its processes' last record, else its last delivery."""
    ended = run.processes["ended"].dropna()
    if len(ended):
        return float(ended.max())
    return float(learned["time"].max()) if len(learned) else 0.0


def catchup_progress(run_or_sim_result: Any, learner: int, ax: Optional[Axes] = None) -> Axes:
    """A late learner's delivered count over time against the others', with a line where
    it started (from the run's notes or processes table when known).

    Args:
        run_or_sim_result: a Run, simulated run or ExperimentResult.
        learner: the late learner's id.
    """
    run = _run_of(run_or_sim_result)
    events = {}
    start = _start_time(run, f"learner{learner}")
    if start is not None:
        learned = run.learned[run.learned["time"].notna()]
        events[f"learner {learner} starts"] = start - _t0(run, learned["time"])
    ax = delivered_over_time(run_or_sim_result, highlight=learner, events=events, ax=ax)
    ax.set_title(f"Catch-up: learner {learner} against the others", fontsize=11)
    return ax


def _start_time(run: Run, process: str) -> Optional[float]:
    rows = run.processes[run.processes["process"] == process]
    if len(rows) and pd.notna(rows["started"].iloc[0]):
        return float(rows["started"].iloc[0])
    notes = run.notes
    rows = notes[(notes["process"] == process) & (notes["note"] == "start")]
    return float(rows["time"].iloc[0]) if len(rows) else None


def sweep_heatmap(
    df: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    ax: Optional[Axes] = None,
    *,
    fmt: Optional[str] = None,
    cmap: str = "viridis",
) -> Axes:
    """A heatmap of ``value`` over two swept parameters (mean of repeated cells); cells with
    no result (e.g. never completed) are grey and marked ``–``."""
    table = df.pivot_table(index=y, columns=x, values=value, aggfunc="mean", dropna=False)
    table = table.sort_index().sort_index(axis=1)
    data = table.to_numpy(dtype=float)
    ax = new_ax(ax, (1.1 * table.shape[1] + 3.0, 0.7 * table.shape[0] + 2.2))
    cm = matplotlib.colormaps[cmap].with_extremes(bad="#DDDDDD")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cm, aspect="auto", origin="lower")
    finite = data[np.isfinite(data)]
    mid = (finite.min() + finite.max()) / 2 if len(finite) else 0
    for (i, j), v in np.ndenumerate(data):
        text = "–" if not np.isfinite(v) else (format(v, fmt) if fmt else short_number(v))
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if np.isfinite(v) and v < mid else "black",
        )
    ax.set_xticks(range(table.shape[1]), [short_number(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [short_number(c) for c in table.index])
    ax.set_xlabel(human(x))
    ax.set_ylabel(human(y))
    ax.figure.colorbar(im, ax=ax, label=human(value))
    title = human(value)
    ax.set_title(f"{title[:1].upper()}{title[1:]} by {x} and {y}", fontsize=11)
    return ax


def message_counts_bar(
    df: pd.DataFrame,
    ax: Optional[Axes] = None,
    *,
    value: str = "per_value",
    by: Optional[str] = None,
) -> Axes:
    """Messages per value by kind; with ``by`` (a column such as ``route``) grouped bars
    compare setups, e.g. 2B straight to the learners against 2B through the proposer.

    Args:
        df: a table with ``kind`` and ``value`` columns (``metrics().messages_per_value``,
            :func:`paxos_edu.experiments.compare_2b_routes`).
        by: the column naming each setup; default ``route``/``setup`` when present.
    """
    by = by or next((c for c in ("route", "setup", "variant") if c in df), None)
    kinds = [k for k in KIND_ORDER if k in set(df["kind"])] + sorted(
        set(df["kind"]) - set(KIND_ORDER)
    )
    groups = list(dict.fromkeys(df[by])) if by else [None]
    ax = new_ax(ax, (max(6.0, 0.9 * len(kinds) * max(1, len(groups)) + 2), 4.0))
    width = 0.8 / len(groups)
    hatches = ("", "//", "..", "xx")
    for g_i, g in enumerate(groups):
        rows = df if g is None else df[df[by] == g]
        vals = rows.groupby("kind")[value].sum()
        xs = np.arange(len(kinds)) + (g_i - (len(groups) - 1) / 2) * width
        heights = [float(vals.get(k, 0.0)) for k in kinds]
        bars = ax.bar(
            xs,
            heights,
            width=width * 0.95,
            color=[KIND_COLORS.get(k, "#888888") for k in kinds],
            edgecolor="#333333",
            hatch=hatches[g_i % len(hatches)],
            label=None if g is None else str(g),
        )
        ax.bar_label(bars, labels=[short_number(h) if h else "" for h in heights], fontsize=7)
    ax.set_xticks(range(len(kinds)), [KIND_SHORT.get(k, k) for k in kinds])
    ax.set_xlabel("message kind")
    ax.set_ylabel({"per_value": "messages per value"}.get(value, value))
    if by:
        ax.legend(
            handles=[
                Patch(facecolor="white", edgecolor="#333333", hatch=hatches[i % 4], label=str(g))
                for i, g in enumerate(groups)
            ],
            fontsize=8,
            title=by,
        )
    ax.set_title("Messages per value, by kind", fontsize=11)
    return ax


__all__ = [
    "catchup_progress", "delivered_over_time", "latency_histogram", "message_counts_bar",
    "retries_bar", "rounds_over_time", "sweep_heatmap", "throughput_plot",
]  # fmt: skip
