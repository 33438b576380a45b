"""The message pictures: a Lamport (sequence) diagram and the graph of who talks to whom.

Both read messages through :func:`paxos_edu.trace.message_frame`, so they draw any
message-level source: a simulation, its result, a simulated or real run, an explored
schedule, a trace. Every arrow is exact: a simulation names each copy, and a real run's
receipts name their send (sender and its sequence number, see
:func:`paxos_edu.trace.pair_receipts`).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Optional

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

from .errors import UsageError
from .processes import ROLES, role_of
from .trace import (
    KIND_ORDER,
    KIND_SHORT,
    filter_messages,
    message_arrows,
    message_frame,
    process_order,
    simulated_processes,
    steps,
)
from .viz_style import (
    DROP_COLOR,
    KIND_COLORS,
    ROLE_COLORS,
    distinct_labels,
    message_label,
    new_ax,
)

# ---------------------------------------------------------------------- sequence diagram


def missing_id(value: Any) -> Optional[int]:
    """A nullable ``msg_id`` cell as an int (None when missing)."""
    return None if value is None or value is pd.NA or value != value else int(value)


def sequence_diagram(
    trace: Any,
    *,
    instances: Optional[Iterable[int]] = None,
    until: Optional[float] = None,
    ax: Optional[Axes] = None,
    max_messages: int = 400,
    kinds: Any = None,
    y: str = "step",
    labels: Optional[bool] = None,
    self_messages: bool = False,
    title: Optional[str] = None,
) -> Axes:
    """A Lamport (sequence) diagram of the messages: who sent what to whom, in order.

    One vertical lifeline per process, grouped clients | proposers | acceptors | learners;
    one arrow per copy of a message from its send to its receipt, coloured by kind and
    labelled at the sender with kind, round, instance and, for a simulation, the value it
    carries (``2A 1.1 i0 [x]``). A dropped copy ends in an ✗ at its receiver, where it was
    lost; a copy still in flight is dotted and ends at its receiver on the dashed "now"
    line; receipts and sends that cannot be paired (a send nobody logged, a datagram that
    did not decode) are short ticks. Arrows never go back in time.

    Args:
        trace: any message-level source (module docstring).
        instances: only messages about these Paxos instances.
        until: draw only what happened up to this time (s, same clock as the trace);
            the axes keep the whole run's extent, so a slider can scrub through it.
        max_messages: draw at most this many sends (the earliest), for readability.
        kinds: None (all but heartbeats), ``"all"``, or a list like ``["1A", "1B"]``.
        y: ``"step"`` (event order, evenly spaced: causality) or ``"time"`` (real spacing).
        labels: label each send; default when there are at most 60 sends.
        self_messages: also draw copies a process sent to itself.
        title: the title (default: describes the filter).
    """
    if y not in ("step", "time"):
        raise UsageError(f"y must be 'step' or 'time', not {y!r}")
    full = message_frame(trace)
    frame = filter_messages(full, kinds=kinds, instances=instances, self_messages=self_messages)
    frame, total_sends = _first_sends(frame, max_messages)
    procs = process_order(
        list(full["sender"].dropna()) + list(full["receiver"].dropna()) + simulated_processes(trace)
    )
    t0 = float(full["time"].min()) if len(full) else 0.0
    scale, unit = _time_unit(float(full["time"].max() - t0) if len(full) else 0.0)
    frame["step"] = steps(frame) if y == "step" else (frame["time"] - t0) * scale
    last = float(frame["step"].max()) if len(frame) else 0.0
    if y == "step":
        shown = frame.loc[frame["time"] <= until, "step"] if until is not None else frame["step"]
        # the now line leaves room below the last event: copies it sent must not lie flat
        now = float(shown.max()) + 1.5 if len(shown) else 0.0
        bottom = max(last + 0.8, now + 0.4, 1.0)
    else:
        now = (until - t0) * scale if until is not None else last
        bottom = max(last * 1.03, now, 1.0)
    height = 1.6 + 0.2 * (last + 1) if y == "step" else 6.6
    ax = new_ax(ax, (max(6.5, 1.05 * len(procs) + 3.0), min(20.0, max(4.0, height))))
    _draw_lifelines(ax, procs, -0.8, bottom)
    xpos = {p: i for i, p in enumerate(procs)}
    drawn = _draw_arrows(ax, message_arrows(frame), xpos, until, now, min_drop=0.5)
    if drawn["in flight"] or until is not None:
        ax.axhline(now, color="#1a73e8", lw=1.0, ls="--", zorder=2)
        ax.text(-0.55, now, "now", color="#1a73e8", fontsize=8, va="bottom", ha="left")
    sends = frame[frame["event"] == "sent"]
    if until is not None:
        sends = sends[sends["time"] <= until]
    if labels or (labels is None and sends["step"].nunique() <= 60):
        _label_sends(ax, sends, xpos, _payloads(trace))
    _finish_sequence(ax, procs, frame, y, t0, scale, unit, -0.8, bottom)
    _sequence_legend(ax, drawn)
    if title is None:
        what = []
        if instances is not None:
            what.append("instances " + ", ".join(str(i) for i in sorted(set(instances))))
        if total_sends > max_messages:
            what.append(f"first {max_messages} of {total_sends} sends")
        if until is not None:
            what.append(f"up to t = {(until - t0) * scale:.1f} {unit}")
        title = "Messages between processes" + (" (" + "; ".join(what) + ")" if what else "")
    ax.set_title(title, fontsize=11, pad=32)
    return ax


def _first_sends(frame: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, int]:
    """The rows of the first ``limit`` sends (and their receipts); how many sends there were."""
    is_send = frame["event"] == "sent"
    total = int(is_send.sum())
    if total <= limit:
        return frame.copy(), total
    last_t = frame.loc[is_send, "time"].iloc[limit - 1]
    kept = frame.loc[is_send, "msg_id"].iloc[:limit]
    ours = frame["msg_id"].isin(kept.tolist())
    unpaired = ~is_send & frame["msg_id"].isna() & (frame["time"] <= last_t)
    return frame[(ours | unpaired).astype(bool)].reset_index(drop=True), total


def _draw_arrows(
    ax: Axes, arrows: pd.DataFrame, xpos: dict[str, int], until: Optional[float], now: float,
    min_drop: float,
) -> dict[str, Any]:  # fmt: skip
    """Draw every copy (arrow, drop, in flight, tick); returns what was drawn, for the legend."""
    drawn: dict[str, Any] = {"kinds": set(), "drops": 0, "in flight": 0, "ticks": 0}
    drops, ticks = [], []
    for a in arrows.itertuples(index=False):
        color = KIND_COLORS.get(a.kind, "#444444")
        if a.outcome in ("unpaired", "no receipt"):
            lone = a.outcome == "unpaired"  # else a send no receipt was logged for
            who, yy, t = (a.receiver, a.y_end, a.end) if lone else (a.sender, a.y_sent, a.sent)
            if until is None or t <= until:
                ticks.append((xpos[who], yy, color))
                drawn["kinds"].add(a.kind)
            continue
        if until is not None and a.sent > until:
            continue
        drawn["kinds"].add(a.kind)
        x0, y0, x1 = xpos[a.sender], a.y_sent, xpos[a.receiver]
        ended = a.outcome in ("delivered", "dropped") and (until is None or a.end <= until)
        if ended and a.outcome == "delivered":
            _arrow(ax, (x0, y0), (x1, a.y_end), color, "-")
        elif ended:
            # A copy is lost at (or on the way to) its receiver: the ✗ sits on the
            # receiver's lifeline, on the row where the loss happened.
            y1 = max(a.y_end, y0 + min_drop)
            _arrow(ax, (x0, y0), (x1, y1), color, "-", head=False)
            drops.append((x1, y1))
        else:  # in flight (at ``until``, or still): it ends at its receiver, on the now line
            _arrow(ax, (x0, y0), (x1, max(now, y0 + min_drop)), color, ":")
            drawn["in flight"] += 1
    if drops:
        ax.scatter(*zip(*drops), marker="X", s=70, color=DROP_COLOR, edgecolors="white",
                   linewidths=0.8, zorder=5, label="_drops")  # fmt: skip
    if ticks:
        xs, ys, colors = zip(*ticks)
        ax.scatter(xs, ys, marker="_", s=120, c=colors, linewidths=2.5, zorder=4, label="_ticks")
    drawn["drops"], drawn["ticks"] = len(drops), len(ticks)
    return drawn


def _sequence_legend(ax: Axes, drawn: dict[str, Any]) -> None:
    handles = [
        Line2D([], [], color=KIND_COLORS.get(k, "#444444"), lw=2, label=KIND_SHORT.get(k, k))
        for k in KIND_ORDER
        if k in drawn["kinds"]
    ]
    grey = "#444444"
    extra = {
        "drops": Line2D([], [], ls="", marker="X", color=DROP_COLOR, markersize=8, label="dropped"),
        "in flight": Line2D([], [], color=grey, ls=":", lw=1.5, label="in flight"),
        "ticks": Line2D([], [], ls="", marker="_", color=grey, markersize=10,
                        markeredgewidth=2.5, label="unpaired send/receipt"),
    }  # fmt: skip
    handles += [line for key, line in extra.items() if drawn[key]]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  title="message", title_fontsize=8, frameon=False)  # fmt: skip


def _time_unit(span: float) -> tuple[float, str]:
    return (1e3, "ms") if span < 2.0 else (1.0, "s")


def _arrow(ax: Axes, start: tuple, end: tuple, color: str, style: str, head: bool = True) -> None:
    ax.add_patch(FancyArrowPatch(
        start, end, arrowstyle="-|>" if head else "-", mutation_scale=9, color=color,
        linewidth=1.3, linestyle=style, shrinkA=0, shrinkB=0, zorder=3))  # fmt: skip


def _draw_lifelines(ax: Axes, procs: list[str], top: float, bottom: float) -> None:
    ax.vlines(range(len(procs)), top, bottom, color="#BBBBBB", lw=1, zorder=1)
    start = 0
    for i in range(1, len(procs) + 1):
        if i == len(procs) or role_of(procs[i]) != role_of(procs[start]):
            role = role_of(procs[start])
            ax.axvspan(
                start - 0.45,
                i - 0.55,
                color=ROLE_COLORS.get(role, "#DDDDDD"),
                alpha=0.08,
                lw=0,
                zorder=0,
            )
            ax.annotate(
                role + "s",
                xy=((start + i - 1) / 2, 1.0),
                xycoords=ax.get_xaxis_transform(),
                xytext=(0, 15),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=9,
                fontweight="bold",
                color=ROLE_COLORS.get(role, "#444444"),
            )
            start = i


def _payloads(source: Any) -> dict:
    """A simulation's messages by ``msg_id`` (``sim.messages``), for the values on labels."""
    for holder in (source, getattr(source, "sim", None), getattr(source, "result", None)):
        messages = getattr(holder, "messages", None)
        if isinstance(messages, dict):
            return messages
    return {}


def _label_sends(ax: Axes, sends: pd.DataFrame, xpos: dict[str, int],
                 payloads: Optional[dict] = None) -> None:
    from .lamport.model import value_label

    for step, group in sends.groupby("step", sort=True):
        first = group.iloc[0]
        x = xpos[first["sender"]]
        others = [xpos[r] for r in group["receiver"].dropna() if r in xpos]
        right = not others or np.mean(others) >= x
        label = message_label(first["kind"], first["round"], first["instance"])
        msg = (payloads or {}).get(missing_id(first["msg_id"]))
        if msg is not None and value_label(msg):
            label += " " + value_label(msg)
        ax.text(
            x + (0.07 if right else -0.07),
            step,
            label,
            ha="left" if right else "right",
            va="bottom",
            fontsize=7,
            color="#222222",
            zorder=6,
            bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.75),
        )


def _finish_sequence(
    ax: Axes,
    procs: list[str],
    frame: pd.DataFrame,
    y: str,
    t0: float,
    scale: float,
    unit: str,
    top: float,
    bottom: float,
) -> None:
    ax.set_xlim(-0.6, len(procs) - 0.4)
    ax.set_ylim(bottom, top)  # time flows downwards
    ax.set_xticks(range(len(procs)), procs, fontsize=8)
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0, pad=2)
    for side in ("right", "bottom", "top"):
        ax.spines[side].set_visible(False)
    if y == "time":
        ax.set_ylabel(f"time ({unit}) ↓")
        return
    ax.set_ylabel(f"events in order ↓ (tick labels: time in {unit})")
    if not len(frame):
        ax.set_yticks([])
        return
    by_step = frame.groupby("step")["time"].min()
    by_step = by_step[by_step.diff().ne(0)]  # label a step only where the clock moved
    picks = np.unique(np.linspace(0, len(by_step) - 1, min(10, len(by_step))).astype(int))
    # as many decimals as it takes for two ticks at different times to read differently
    labels = distinct_labels([(t - t0) * scale for t in by_step.iloc[picks]])
    ax.set_yticks(by_step.index[picks], labels, fontsize=8)


# ---------------------------------------------------------------------- role graph


def role_graph_data(source: Any, *, kinds: Any = None) -> nx.DiGraph:
    """Processes as nodes (``role`` attribute); an edge per sender -> receiver pair with
    ``messages`` (delivered copies), ``dropped`` and ``by_kind`` (a Counter). ``kinds`` as
    in :func:`filter_messages` (default: all but heartbeats)."""
    frame = filter_messages(message_frame(source), kinds=kinds, self_messages=False)
    arrows = message_arrows(frame)
    g = nx.DiGraph()
    names = list(frame["sender"].dropna()) + list(frame["receiver"].dropna())
    names += simulated_processes(source)
    for p in process_order(names):
        g.add_node(p, role=role_of(p))
    for a in arrows.itertuples(index=False):
        if a.outcome not in ("delivered", "dropped") or pd.isna(a.sender) or pd.isna(a.receiver):
            continue
        if not g.has_edge(a.sender, a.receiver):
            g.add_edge(a.sender, a.receiver, messages=0, dropped=0, by_kind=Counter())
        e = g.edges[a.sender, a.receiver]
        e["messages" if a.outcome == "delivered" else "dropped"] += 1
        e["by_kind"][a.kind] += 1
    return g


def role_graph(trace_or_run: Any, ax: Optional[Axes] = None, *, kinds: Any = None) -> Axes:
    """The processes as a graph: edge width grows with the messages delivered, edges that
    lost messages are vermillion and labelled ``delivered / dropped ✗``. Heartbeats are
    left out unless ``kinds="all"``."""
    g = role_graph_data(trace_or_run, kinds=kinds)
    ax = new_ax(ax, (8.5, 5.5))
    by_role: dict[str, list[str]] = {}
    for n, d in g.nodes(data=True):
        by_role.setdefault(d["role"], []).append(n)
    pos = {}
    for col, role in enumerate(
        [r for r in ROLES if r in by_role] + [r for r in by_role if r not in ROLES]
    ):
        members = by_role[role]
        for k, n in enumerate(members):
            pos[n] = (col * 2.0, (len(members) - 1) / 2 - k)
    top = max((e["messages"] + e["dropped"] for *_, e in g.edges(data=True)), default=1)
    widths = [
        0.8 + 4.0 * math.log1p(e["messages"] + e["dropped"]) / math.log1p(top)
        for *_, e in g.edges(data=True)
    ]
    colors = [DROP_COLOR if e["dropped"] else "#555555" for *_, e in g.edges(data=True)]
    style = "arc3,rad=0.12"
    nx.draw_networkx_nodes(
        g,
        pos,
        ax=ax,
        node_size=1300,
        edgecolors="#333333",
        node_color=[ROLE_COLORS.get(d["role"], "#DDDDDD") for _, d in g.nodes(data=True)],
    )
    nx.draw_networkx_labels(
        g,
        pos,
        ax=ax,
        font_size=8,
        labels={n: n.replace(role_of(n), role_of(n)[0].upper() + " ") for n in g},
    )
    nx.draw_networkx_edges(
        g,
        pos,
        ax=ax,
        width=widths,
        edge_color=colors,
        arrowsize=12,
        connectionstyle=style,
        node_size=1300,
        alpha=0.85,
    )
    edge_labels = {
        (u, v): (f"{e['messages']}" + (f" / {e['dropped']}✗" if e["dropped"] else ""))
        for u, v, e in g.edges(data=True)
    }
    nx.draw_networkx_edge_labels(
        g,
        pos,
        edge_labels=edge_labels,
        ax=ax,
        font_size=7,
        connectionstyle=style,
        label_pos=0.3,
        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8),
    )
    handles = [Patch(color=ROLE_COLORS[r], label=r + "s") for r in ROLES if r in by_role]
    handles += [
        Line2D([], [], color="#555555", lw=2.5, label="messages delivered"),
        Line2D([], [], color=DROP_COLOR, lw=2.5, label="some dropped (n / d✗)"),
    ]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )
    ax.set_title("Who talks to whom: messages per pair of processes", fontsize=11)
    ax.set_axis_off()
    ax.margins(0.12)
    return ax


__all__ = ["role_graph", "role_graph_data", "sequence_diagram"]
