"""Pictures of Paxos drawn from the code's own data: traces, run tables, sweeps.

Every function takes what the package already produces and returns the matplotlib
``Axes`` it drew on (pass ``ax=`` to draw into a figure of your own); nothing calls
``plt.show()``. Colours come from the Okabe-Ito palette, which stays distinguishable for
the common forms of colour blindness; each message kind keeps its colour in every picture
(:data:`KIND_COLORS`).

Message-level inputs (``source`` below) may be any of: a :class:`~paxos_edu.sim.Simulation`
(its in-flight copies are drawn too), a :class:`~paxos_edu.sim.SimResult`, a simulated run
from :mod:`paxos_edu.experiments`, anything holding a simulation in ``.sim`` (a schedule's
outcome from :mod:`paxos_edu.explore`), a list of :class:`~paxos_edu.sim.TraceRecord`, a real
:class:`~paxos_edu.runlog.Run` (its ``messages`` table, trace level ``messages``), or either
of those as a DataFrame. :func:`message_frame` turns each into one tidy table.

Pairing sends with receipts
---------------------------
The simulator names every copy of a datagram (``msg_id``), so its arrows are exact. A real
run's log says what each process sent *to a group* and what each process received, but a
receipt does not say who sent it. :func:`message_frame` pairs them with this rule. The
candidates for a receipt at process Q of kind K for (instance, round), heard on group G,
are the sends of K with the same instance and round to G that Q has not been paired with
yet, sent at most 1 s before the receipt (or up to 5 ms after it: two processes' clocks).
Among them, the **earliest one sent in the 20 ms before the receipt** is chosen -- sends
made together (three acceptors' 2B) arrive in the order they were sent -- or, when none
is that recent, the **latest older one** (a retransmission after a loss). A drop is
logged before decoding, with its kind only, so drops pair on (kind, group). When sends
of more than one process fit in the window, the sender is a guess: such rows have
``exact = False`` and are drawn dashed.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from typing import Any, Iterable, Optional

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

from .errors import UsageError
from .experiments import datagram_numbers, retries_and_drops_by_role
from .processes import ROLES, parse_process_name, role_of
from .quorum import quorum_size
from .rounds import ROUND_STRIDE, format_round

# ---------------------------------------------------------------------- palette

KIND_COLORS: dict[str, str] = {
    "SUBMIT": "#009E73",  # bluish green
    "ACK": "#CC79A7",  # reddish purple
    "PHASE1A": "#0072B2",  # blue
    "PHASE1B": "#56B4E9",  # sky blue
    "NACK": "#000000",  # black
    "PHASE2A": "#D55E00",  # vermillion
    "PHASE2B": "#E69F00",  # orange
    "DECISION": "#882255",  # wine (Paul Tol)
    "CATCHUP": "#44AA99",  # teal (Paul Tol)
    "HEARTBEAT": "#999999",  # grey
}
"""One colour per message kind, used by every picture (Okabe-Ito first)."""

KIND_SHORT: dict[str, str] = {
    "SUBMIT": "submit", "ACK": "ack", "PHASE1A": "1A", "PHASE1B": "1B", "NACK": "nack",
    "PHASE2A": "2A", "PHASE2B": "2B", "DECISION": "decision", "CATCHUP": "catch-up",
    "HEARTBEAT": "heartbeat",
}  # fmt: skip
"""The short names written on arrows and in legends."""

KIND_ORDER = tuple(KIND_COLORS)
ROLE_COLORS = {"client": "#009E73", "proposer": "#0072B2", "acceptor": "#E69F00",
               "learner": "#CC79A7"}  # fmt: skip
DROP_COLOR = "#D55E00"
SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
"""Colours for one line per process (proposer 1, 2, ...)."""

DEFAULT_HIDDEN = frozenset({"HEARTBEAT"})
"""Kinds left out of message pictures unless ``kinds="all"``: heartbeats every half
timeout would drown the phases."""

FRAME_COLUMNS = ("time", "event", "sender", "receiver", "kind", "instance", "round", "msg_id",
                 "reason", "exact")  # fmt: skip

_SLACK = 0.005  # a receipt may be logged a little before its send (two processes' clocks)
_RECENT = 0.02  # sends this close before a receipt count as "sent together": first in, first out
_WINDOW = 1.0  # a receipt pairs with a send at most this much older


# ---------------------------------------------------------------------- normalising


def message_frame(source: Any) -> pd.DataFrame:
    """One tidy table of message events from any message-level source (see module doc).

    Columns: ``time`` (s), ``event`` (``sent`` / ``delivered`` / ``dropped``), ``sender``,
    ``receiver`` (process names like ``"acceptor2"``; ``receiver`` is None for a real
    run's send, which goes to a whole group; ``sender`` is None for a receipt that could
    not be paired), ``kind`` (``"PHASE2A"``), ``instance``, ``round`` (raw numbers, nullable),
    ``msg_id`` (equal on a send and its receipts), ``reason`` (why dropped), ``exact``
    (False when the sender of a receipt was guessed among several).
    """
    if isinstance(source, pd.DataFrame):
        if {"direction", "process"} <= set(source.columns):
            return _run_frame(source)
        if {"event", "sender", "receiver"} <= set(source.columns):
            frame = source.rename(columns={"rnd": "round"}).copy()
            if "exact" not in frame:
                frame["exact"] = True
            return _typed(frame[list(FRAME_COLUMNS)])
        raise UsageError(
            "a message DataFrame needs columns (event, sender, receiver) of a "
            "simulator trace or (direction, process) of Run.messages"
        )
    trace = getattr(source, "trace", None)
    if trace is None and hasattr(source, "sim"):  # e.g. an explore.Outcome
        trace = getattr(source.sim, "trace", None)
    if isinstance(trace, list):
        return _sim_frame(trace)
    messages = getattr(source, "messages", None)
    if isinstance(messages, pd.DataFrame):
        return _run_frame(messages)
    if isinstance(source, (list, tuple)):
        return _sim_frame(list(source))
    raise UsageError(
        f"cannot read messages from {type(source).__name__}: pass a Simulation, "
        "SimResult, Run, list of TraceRecord or a messages DataFrame"
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    for col in ("instance", "round", "msg_id"):
        frame[col] = pd.array(pd.to_numeric(frame[col]), dtype="Int64")
    frame["time"] = frame["time"].astype(float)
    frame["exact"] = frame["exact"].astype(bool)
    return frame


def _sim_frame(records: list) -> pd.DataFrame:
    rows = [(r.time, r.event, r.sender, r.receiver, r.kind, r.instance, r.rnd, r.msg_id,
             r.reason, True) for r in records]  # fmt: skip
    return _typed(pd.DataFrame(rows, columns=list(FRAME_COLUMNS)))


def _none(value: Any) -> Any:
    return (
        None
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
        else value
    )


def _run_frame(messages: pd.DataFrame) -> pd.DataFrame:
    """Pair a real run's receipts with sends (rule in the module docstring)."""
    m = messages.sort_values("time", kind="stable").reset_index(drop=True)
    times = m["time"].to_numpy(dtype=float)
    procs = m["process"].tolist()
    dirs = m["direction"].tolist()
    kinds = [_none(k) for k in m["kind"].tolist()]
    insts = [_none(i) for i in m["instance"].astype(object).tolist()]
    rnds = [_none(r) for r in m["round"].astype(object).tolist()]
    groups = (
        [_none(g) for g in m["group"].astype(object).tolist()] if "group" in m else [None] * len(m)
    )
    reasons = (
        [_none(r) or "" for r in m["reason"].astype(object).tolist()]
        if "reason" in m
        else [""] * len(m)
    )
    msg_id: list[Any] = [None] * len(m)
    exact = [True] * len(m)
    sender: list[Any] = [None] * len(m)
    receiver: list[Any] = [None] * len(m)
    fine: dict[tuple, list[int]] = {}
    coarse: dict[tuple, list[int]] = {}
    for i, d in enumerate(dirs):
        if d == "sent":
            msg_id[i] = i + 1
            sender[i] = procs[i]
            fine.setdefault((kinds[i], groups[i], insts[i], rnds[i]), []).append(i)
            coarse.setdefault((kinds[i], groups[i]), []).append(i)
    send_times = {key: [times[j] for j in idx] for key, idx in (fine | coarse).items()}
    used: set[tuple[str, int]] = set()
    for i, d in enumerate(dirs):
        if d == "sent":
            continue
        receiver[i] = procs[i]
        if kinds[i] is None:
            continue  # undecodable datagram: nobody to pair with
        if d == "received" or insts[i] is not None or rnds[i] is not None:
            key: tuple = (kinds[i], groups[i], insts[i], rnds[i])
            index = fine
        else:
            key, index = (kinds[i], groups[i]), coarse
        idx = index.get(key)
        if not idx:
            continue
        ts = send_times[key]
        lo = bisect.bisect_left(ts, times[i] - _WINDOW)
        hi = bisect.bisect_right(ts, times[i] + _SLACK)
        found = [idx[j] for j in range(lo, hi) if (procs[i], idx[j]) not in used]
        if not found:
            continue
        recent = [j for j in found if times[j] >= times[i] - _RECENT]
        s = recent[0] if recent else found[-1]
        used.add((procs[i], s))
        senders = {procs[idx[j]] for j in range(lo, hi)}
        msg_id[i], sender[i], exact[i] = s + 1, procs[s], len(senders) == 1
        insts[i], rnds[i] = insts[s], rnds[s]  # a drop knows only its kind
    event = ["delivered" if d == "received" else d for d in dirs]
    frame = pd.DataFrame({
        "time": times, "event": event, "sender": sender, "receiver": receiver, "kind": kinds,
        "instance": insts, "round": rnds, "msg_id": msg_id, "reason": reasons, "exact": exact,
    })  # fmt: skip
    return _typed(frame)


def filter_messages(
    frame: pd.DataFrame,
    *,
    kinds: Any = None,
    instances: Optional[Iterable[int]] = None,
    self_messages: bool = False,
) -> pd.DataFrame:
    """Rows of :func:`message_frame` for some kinds / instances.

    Args:
        kinds: None (every kind but heartbeats), ``"all"``, or names like ``["PHASE1A", "2B"]``.
        instances: keep messages about these instances (client traffic has none and goes).
        self_messages: keep copies a process sent to itself (multicast loops back).
    """
    keep = pd.Series(True, index=frame.index)
    if kinds is None:
        keep &= ~frame["kind"].isin(DEFAULT_HIDDEN)
    elif kinds != "all":
        wanted = {_kind_name(k) for k in ([kinds] if isinstance(kinds, str) else kinds)}
        keep &= frame["kind"].isin(wanted)
    if instances is not None:
        keep &= frame["instance"].isin(list(instances)).fillna(False).astype(bool)
    if not self_messages:
        keep &= ~(frame["sender"].notna() & (frame["sender"] == frame["receiver"])).astype(bool)
    return frame[keep].reset_index(drop=True)


def _kind_name(kind: str) -> str:
    upper = str(kind).upper()
    if upper in KIND_COLORS:
        return upper
    for name, short in KIND_SHORT.items():
        if short.upper() == upper:
            return name
    raise UsageError(f"unknown message kind {kind!r}; kinds are {', '.join(KIND_ORDER)}")


def message_arrows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per copy of a message, from :func:`message_frame` rows.

    Columns: ``msg_id``, ``sender``, ``receiver``, ``kind``, ``instance``, ``round``,
    ``sent`` and ``end`` (times; ``end`` NaN while in flight), ``outcome`` (``delivered``,
    ``dropped``, ``in flight``, ``unpaired`` for a receipt whose sender is unknown,
    ``no receipt`` for a real run's send nobody logged), ``exact``; plus ``y_sent`` and
    ``y_end`` when the frame has a ``step`` column.
    """
    has_step = "step" in frame
    sent = frame[frame["event"] == "sent"]
    ends = frame[frame["event"] != "sent"]
    cols = ["msg_id", "time"] + (["step"] if has_step else [])
    paired = ends[ends["msg_id"].notna()].merge(
        sent[cols].rename(columns={"time": "sent", "step": "y_sent"}), on="msg_id", how="inner"
    )
    paired = paired.rename(columns={"time": "end", "step": "y_end", "event": "outcome"})
    ended = set(ends["msg_id"].dropna().tolist())
    open_ = (
        sent[~sent["msg_id"].isin(ended)]
        .rename(columns={"time": "sent", "step": "y_sent"})
        .assign(end=np.nan, y_end=np.nan)
    )
    open_["outcome"] = np.where(open_["receiver"].notna(), "in flight", "no receipt")
    lone = ends[ends["msg_id"].isna()].rename(columns={"time": "end", "step": "y_end"})
    lone = lone.assign(sent=np.nan, y_sent=np.nan, outcome="unpaired")
    out_cols = [
        "msg_id",
        "sender",
        "receiver",
        "kind",
        "instance",
        "round",
        "sent",
        "end",
        "outcome",
        "exact",
        "reason",
    ] + (["y_sent", "y_end"] if has_step else [])
    # Processes log with their own clocks: a receipt stamped a hair before its send would
    # draw an arrow going up. Causality says it came after, so draw it there.
    paired["end"] = np.maximum(paired["end"], paired["sent"])
    if has_step:
        paired["y_end"] = np.maximum(paired["y_end"], paired["y_sent"])
    parts = [p.reindex(columns=out_cols) for p in (paired, open_, lone) if len(p)]
    if not parts:
        return pd.DataFrame(columns=out_cols)
    return pd.concat(parts, ignore_index=True).sort_values(["sent", "end"], ignore_index=True)


def _steps(frame: pd.DataFrame) -> list[int]:
    """Event order for the y axis: the copies of one multicast share a step."""
    cols = [frame[c] for c in ("event", "time", "sender", "receiver", "kind")]
    cols += [[_none(v) for v in frame[c].astype(object)] for c in ("instance", "round")]
    return datagram_numbers(zip(*cols))


def _process_order(names: Iterable[str]) -> list[str]:
    def key(name: str) -> tuple[int, int, str]:
        try:
            role, num = parse_process_name(name)
        except UsageError:  # not a process name: after the processes, by name
            return (len(ROLES), 0, name)
        return (ROLES.index(role), num, name)

    return sorted({n for n in names if isinstance(n, str)}, key=key)


def _role(name: str) -> str:
    return role_of(name)


def _new_ax(ax: Optional[Axes], figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _label(kind: str, rnd: Any, instance: Any) -> str:
    parts = [KIND_SHORT.get(kind, str(kind))]
    if _none(rnd) is not None and int(rnd) != 0:
        parts.append(format_round(int(rnd)))
    if _none(instance) is not None and int(instance) < (1 << 62):
        parts.append(f"i{int(instance)}")
    return " ".join(parts)


# ---------------------------------------------------------------------- sequence diagram


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
    labelled at the sender with kind, round and instance (``2A 1.1 i0``). A dropped copy
    ends half-way in an ✗; a copy still in flight is dotted; a real-run receipt whose
    sender was inferred is dashed (see the module docstring); receipts and sends that
    cannot be paired are short ticks.

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
    procs = _process_order(
        list(full["sender"].dropna()) + list(full["receiver"].dropna()) + _sim_processes(trace)
    )
    t0 = float(full["time"].min()) if len(full) else 0.0
    scale, unit = _time_unit(float(full["time"].max() - t0) if len(full) else 0.0)
    frame["step"] = _steps(frame) if y == "step" else (frame["time"] - t0) * scale
    last = float(frame["step"].max()) if len(frame) else 0.0
    if y == "step":
        bottom = max(last + 0.8, 1.0)
        shown = frame.loc[frame["time"] <= until, "step"] if until is not None else frame["step"]
        now = float(shown.max()) + 0.5 if len(shown) else 0.0
    else:
        now = (until - t0) * scale if until is not None else last
        bottom = max(last * 1.03, now, 1.0)
    height = 1.6 + 0.2 * (last + 1) if y == "step" else 6.6
    ax = _new_ax(ax, (max(6.5, 1.05 * len(procs) + 3.0), min(20.0, max(4.0, height))))
    _draw_lifelines(ax, procs, -0.8, bottom)
    xpos = {p: i for i, p in enumerate(procs)}
    drawn = _draw_arrows(ax, message_arrows(frame), xpos, until, now, min_drop=0.5)
    sends = frame[frame["event"] == "sent"]
    if until is not None:
        sends = sends[sends["time"] <= until]
    if labels or (labels is None and sends["step"].nunique() <= 60):
        _label_sends(ax, sends, xpos)
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
    drawn: dict[str, Any] = {"kinds": set(), "drops": 0, "in flight": 0, "inferred": 0, "ticks": 0}
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
            drawn["inferred"] += not a.exact
            _arrow(ax, (x0, y0), (x1, a.y_end), color, "-" if a.exact else "--")
        elif ended:
            # End 0.55 of the way, never exactly on another process's lifeline; a faint
            # dotted line shows where the copy was going.
            y1 = max(a.y_end, y0 + min_drop)
            mid = (x0 + 0.55 * (x1 - x0), y0 + 0.55 * (y1 - y0))
            _arrow(ax, (x0, y0), mid, color, "-", head=False)
            ax.plot([mid[0], x1], [mid[1], y1], color=color, lw=0.8, ls=":", alpha=0.4, zorder=2)
            drops.append(mid)
        else:  # in flight (at ``until``, or still)
            _arrow(ax, (x0, y0), (x0 + 0.45 * (x1 - x0), max(now, y0 + min_drop)), color, ":")
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
        "inferred": Line2D([], [], color=grey, ls="--", lw=1.2, label="sender inferred"),
        "ticks": Line2D([], [], ls="", marker="_", color=grey, markersize=10,
                        markeredgewidth=2.5, label="unpaired send/receipt"),
    }  # fmt: skip
    handles += [line for key, line in extra.items() if drawn[key]]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  title="message", title_fontsize=8, frameon=False)  # fmt: skip


def _sim_processes(source: Any) -> list[str]:
    """Every process of a simulation, so idle ones get a lifeline too."""
    sim = source if hasattr(source, "processes") and hasattr(source, "in_flight") else None
    sim = sim or getattr(source, "sim", None)
    procs = getattr(sim, "processes", None)
    if isinstance(procs, dict):
        return [f"{role}{i}" for role, i in procs]
    return []


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
        if i == len(procs) or _role(procs[i]) != _role(procs[start]):
            role = _role(procs[start])
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


def _label_sends(ax: Axes, sends: pd.DataFrame, xpos: dict[str, int]) -> None:
    for step, group in sends.groupby("step", sort=True):
        first = group.iloc[0]
        x = xpos[first["sender"]]
        others = [xpos[r] for r in group["receiver"].dropna() if r in xpos]
        right = not others or np.mean(others) >= x
        ax.text(
            x + (0.07 if right else -0.07),
            step,
            _label(first["kind"], first["round"], first["instance"]),
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
    ax.set_yticks(
        by_step.index[picks], [f"{(t - t0) * scale:.1f}" for t in by_step.iloc[picks]], fontsize=8
    )


# ---------------------------------------------------------------------- role graph


def role_graph_data(source: Any, *, kinds: Any = None) -> nx.DiGraph:
    """Processes as nodes (``role`` attribute); an edge per sender -> receiver pair with
    ``messages`` (delivered copies), ``dropped`` and ``by_kind`` (a Counter). ``kinds`` as
    in :func:`filter_messages` (default: all but heartbeats)."""
    frame = filter_messages(message_frame(source), kinds=kinds, self_messages=False)
    arrows = message_arrows(frame)
    g = nx.DiGraph()
    names = (
        list(frame["sender"].dropna()) + list(frame["receiver"].dropna()) + _sim_processes(source)
    )
    for p in _process_order(names):
        g.add_node(p, role=_role(p))
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
    ax = _new_ax(ax, (8.5, 5.5))
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
        labels={n: n.replace(_role(n), _role(n)[0].upper() + " ") for n in g},
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


# ---------------------------------------------------------------------- run metrics


def _metrics(obj: Any) -> Any:
    """The :class:`~paxos_edu.runlog.Metrics` of a Run-like object (cached on results)."""
    for attr in ("metrics",):
        m = getattr(obj, attr, None)
        if callable(m):
            return m()
        if m is not None:
            return m
    raise UsageError(
        f"{type(obj).__name__} has no metrics(): pass a Run, a simulated run or an ExperimentResult"
    )


def latency_histogram(run_or_latency_df: Any, ax: Optional[Axes] = None, *, bins: int = 30) -> Axes:
    """Histogram of latencies (submission to learning, per value and learner) in ms, with
    the median and 99th percentile marked.

    Args:
        run_or_latency_df: a Run / simulated run / ExperimentResult / Metrics, or a
            DataFrame with a ``latency`` column in seconds.
    """
    df = run_or_latency_df
    if not isinstance(df, pd.DataFrame):
        lat = getattr(df, "latency", None)
        df = lat if isinstance(lat, pd.DataFrame) else _metrics(df).latency
    ms = df["latency"].dropna().to_numpy(dtype=float) * 1e3
    ax = _new_ax(ax, (6.5, 4.0))
    if len(ms):
        ax.hist(ms, bins=bins, color="#56B4E9", edgecolor="white", label=f"{len(ms)} deliveries")
        for q, ls, name in ((50, "--", "median"), (99, ":", "99th percentile")):
            v = float(np.percentile(ms, q))
            ax.axvline(v, color="#000000", ls=ls, lw=1.5, label=f"{name}: {v:.1f} ms")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no value learned", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("latency: submitted → learned (ms)")
    ax.set_ylabel("deliveries")
    ax.set_title("Latency of each value", fontsize=11)
    return ax


def throughput_plot(run: Any, ax: Optional[Axes] = None, *, bin_s: Optional[float] = None) -> Axes:
    """Values learned per second over time, one line per learner."""
    tp = (
        run
        if isinstance(run, pd.DataFrame)
        else (_metrics(run) if bin_s is None else run.metrics(bin_s)).throughput
    )
    ax = _new_ax(ax, (7.0, 4.0))
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
            :func:`paxos_edu.experiments.retries_and_drops_by_role`).
    """
    df = run_or_df if isinstance(run_or_df, pd.DataFrame) else _metrics(run_or_df).retries_and_drops
    counts = retries_and_drops_by_role(df).reindex([r for r in ROLES], fill_value=0)
    ax = _new_ax(ax, (6.5, 4.0))
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
    ax = _new_ax(ax, (7.5, 4.2))
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
    for k, proc in enumerate(_process_order(df["process"].unique())):
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
    run = getattr(run, "run", run)  # an ExperimentResult holds its run
    learned = _learned(run)
    t0 = _t0(run, learned["time"])
    learners = sorted(set(getattr(run, "learners", [])) | set(learned["learner"]))
    end = _end_time(run, learned) - t0
    ax = _new_ax(ax, (7.5, 4.2))
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
    proposed = getattr(run, "proposed", None)
    goal = len(proposed) if isinstance(proposed, pd.DataFrame) else 0
    if goal:
        ax.axhline(goal, color="#999999", ls=":", lw=1.2, label=f"proposed ({goal})")
    ax.set_ylim(0, max(goal, len(learned) and learned.groupby("learner").size().max(), 1) * 1.06)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("time since the first submission (s)")
    ax.set_ylabel("values delivered")
    ax.set_title("Values delivered by each learner", fontsize=11)
    return ax


def _end_time(run: Any, learned: pd.DataFrame) -> float:
    """When the run ended: its processes' last record, else its last delivery."""
    processes = getattr(run, "processes", None)
    if isinstance(processes, pd.DataFrame) and processes.get("ended") is not None:
        ended = processes["ended"].dropna()
        if len(ended):
            return float(ended.max())
    return float(learned["time"].max()) if len(learned) else 0.0


def _learned(run: Any) -> pd.DataFrame:
    learned = getattr(run, "learned", None)
    if not isinstance(learned, pd.DataFrame):
        raise UsageError(
            f"{type(run).__name__} has no learned table with times: pass a Run, "
            "a simulated run (paxos_edu.experiments) or an ExperimentResult"
        )
    return learned[learned["time"].notna()]


def catchup_progress(run_or_sim_result: Any, learner: int, ax: Optional[Axes] = None) -> Axes:
    """A late learner's delivered count over time against the others', with a line where
    it started (from the run's notes or processes table when known)."""
    run = getattr(run_or_sim_result, "run", run_or_sim_result)
    events = {}
    start = _start_time(run, f"learner{learner}")
    if start is not None:
        events[f"learner {learner} starts"] = start - _t0(run, _learned(run)["time"])
    ax = delivered_over_time(run_or_sim_result, highlight=learner, events=events, ax=ax)
    ax.set_title(f"Catch-up: learner {learner} against the others", fontsize=11)
    return ax


def _start_time(run: Any, process: str) -> Optional[float]:
    processes = getattr(run, "processes", None)
    if isinstance(processes, pd.DataFrame) and "started" in processes:
        rows = processes[processes["process"] == process]
        if len(rows) and pd.notna(rows["started"].iloc[0]):
            return float(rows["started"].iloc[0])
    try:
        notes = _notes_frame(run)
    except UsageError:
        return None
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
    ax = _new_ax(ax, (1.1 * table.shape[1] + 3.0, 0.7 * table.shape[0] + 2.2))
    cm = matplotlib.colormaps[cmap].with_extremes(bad="#DDDDDD")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cm, aspect="auto", origin="lower")
    finite = data[np.isfinite(data)]
    mid = (finite.min() + finite.max()) / 2 if len(finite) else 0
    for (i, j), v in np.ndenumerate(data):
        text = "–" if not np.isfinite(v) else (format(v, fmt) if fmt else _short_number(v))
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if np.isfinite(v) and v < mid else "black",
        )
    ax.set_xticks(range(table.shape[1]), [_short_number(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [_short_number(c) for c in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.figure.colorbar(im, ax=ax, label=value)
    ax.set_title(f"{value} by {x} and {y}", fontsize=11)
    return ax


def _short_number(v: Any) -> str:
    if isinstance(v, (int, np.integer)):
        return str(v)
    v = float(v)
    if v == 0 or 0.01 <= abs(v) < 1000:
        return f"{v:.3g}"
    return f"{v:.2g}"


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
    ax = _new_ax(ax, (max(6.0, 0.9 * len(kinds) * max(1, len(groups)) + 2), 4.0))
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
        ax.bar_label(bars, labels=[_short_number(h) if h else "" for h in heights], fontsize=7)
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


# ---------------------------------------------------------------------- state tables


def acceptor_state_table(sim: Any, instances: Optional[Iterable[int]] = None) -> Any:
    """The simulation's acceptor table (``sim.acceptor_table()``) styled for notebooks: in
    each instance, a promise (``rnd``) held by a quorum of acceptors is shaded orange, and
    the votes (``v_rnd``, ``v_val``) of a quorum in one round -- the value is *chosen* --
    are shaded blue."""
    df = sim.acceptor_table(instances)
    quorum = quorum_size(sim.acceptor_count)

    def shade(frame: pd.DataFrame) -> pd.DataFrame:
        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for column, cells, colour in (
            ("rnd", ["rnd"], "#FCE3B6"),
            ("v_rnd", ["v_rnd", "v_val"], "#CFE6F6"),
        ):
            held = frame[frame[column] != "-"]
            counts = held.groupby(["instance", column])["acceptor"].nunique()
            for inst, rnd in counts[counts >= quorum].index:
                rows = (frame["instance"] == inst) & (frame[column] == rnd)
                css.loc[rows, cells] = f"background-color: {colour}"
        return css

    caption = (
        f"Acceptors (a quorum is {quorum}). Orange: a promise made by a quorum; "
        "blue: votes of a quorum in one round, so the value is chosen."
    )
    return df.style.apply(shade, axis=None).set_caption(caption).hide(axis="index")


def export_html(source: Any, path: Any, **kwargs: Any) -> Any:
    """The interactive Lamport diagram of ``source`` (a Simulation, a simulator result or
    a real Run) as one self-contained HTML file; see :func:`paxos_edu.lamport.export_html`."""
    from .lamport.export import export_html as export

    return export(source, path, **kwargs)


def stepper_snapshot(sim: Any) -> dict[str, pd.DataFrame]:
    """Every table the phase stepper shows, from the simulation's own tables:
    ``acceptors``, ``proposers``, ``learners``, ``in_flight``."""
    return {
        "acceptors": sim.acceptor_table(),
        "proposers": sim.proposer_table(),
        "learners": sim.learner_table(),
        "in_flight": sim.in_flight_table(),
    }


__all__ = [
    "KIND_COLORS", "KIND_SHORT", "ROLE_COLORS", "acceptor_state_table", "catchup_progress",
    "delivered_over_time", "export_html", "filter_messages", "latency_histogram", "message_arrows",
    "message_counts_bar", "message_frame", "retries_bar", "role_graph", "role_graph_data",
    "rounds_over_time", "sequence_diagram", "stepper_snapshot", "sweep_heatmap",
    "throughput_plot",
]  # fmt: skip
