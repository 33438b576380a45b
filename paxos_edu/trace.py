"""The trace model: what the processes of a run proposed, learned, sent and received.

A real run (:mod:`paxos_edu.runlog`, from its run directory) and a simulation
(:func:`simulation_tables`, from the :class:`~paxos_edu.sim.Simulation` itself) become the
same tables of a :class:`~paxos_edu.runlog.Run`, built through the same column
definitions (:data:`PROPOSED`, :data:`LEARNED`, :data:`MESSAGES`, :data:`NOTES`,
:data:`PROCESSES`; :func:`table`). A new column is one line here, and reaches both.

The pictures of :mod:`paxos_edu.viz` read messages through one entry,
:func:`message_frame`, which turns any message-level source into one tidy frame (columns
:data:`FRAME_COLUMNS`): a :class:`~paxos_edu.sim.Simulation` (its in-flight copies are
drawn too), a :class:`~paxos_edu.sim.SimResult`, a simulated run from
:mod:`paxos_edu.experiments`, anything holding a simulation in ``.sim`` (a schedule's
outcome from :mod:`paxos_edu.explore`), a list of :class:`~paxos_edu.sim.TraceRecord`, a
real :class:`~paxos_edu.runlog.Run` (its ``messages`` table, trace level ``messages``),
or either of those as a DataFrame.

Pairing sends with receipts
---------------------------
The simulator names every copy of a datagram (``msg_id``), so its arrows are exact. A real
run is exact too: every datagram names its sender and the sender's sequence number in its
header (wire format v2), the receiver logs both (``Run.messages`` columns ``sender`` and
``send_seq``) and the sender logs the number it gave each send. :func:`pair_receipts`
pairs each receipt with the one send of the same ``(sender, send_seq)`` -- the latest one
logged before the receipt, should a restarted sender have used the number again (a clock
difference of up to 5 ms between two processes is allowed). A receipt stays
unpaired when its send was not logged (the sender ran at trace level ``values``) or when
its sender is unknown -- a datagram that did not decode, or a log written before wire
format v2 (``exact = False``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

import numpy as np
import pandas as pd

from .errors import UsageError
from .processes import ROLES, parse_process_name, process_name
from .rounds import ROUND_STRIDE, format_round

if TYPE_CHECKING:  # pragma: no cover
    from .sim import SimResult, Simulation, TraceRecord

# ---------------------------------------------------------------------- process names


def process_order(names: Iterable[Any]) -> list[str]:
    """Distinct process names sorted clients | proposers | acceptors | learners, then by
    id; other names go last, by name (a picture still shows them). Anything that is not
    a name -- None, NaN, ``""`` -- is left out: it has no lifeline."""

    def key(name: str) -> tuple[int, int, str]:
        try:
            role, num = parse_process_name(name)
        except UsageError:  # not a process name: after the processes, by name
            return (len(ROLES), 0, name)
        return (ROLES.index(role), num, name)

    return sorted({n for n in names if isinstance(n, str) and n}, key=key)


# ---------------------------------------------------------------------- column definitions

PROPOSED: dict[str, str] = {
    "client": "int64", "session": "int64", "seq": "int64", "value": "str", "time": "float64",
}  # fmt: skip
"""``Run.proposed``: one row per submission (column name -> pandas dtype)."""

LEARNED: dict[str, str] = {
    "learner": "int64", "position": "int64", "instance": "Int64", "value": "str",
    "client": "Int64", "session": "Int64", "seq": "Int64", "time": "float64",
}  # fmt: skip
"""``Run.learned``: one row per delivery."""

MESSAGES: dict[str, str] = {
    "time": "float64", "process": "str", "role": "str", "id": "int64", "direction": "str",
    "kind": "str", "instance": "Int64", "round": "Int64", "round_label": "str", "group": "str",
    "size": "int64", "reason": "str", "sender": "str", "send_seq": "Int64",
}  # fmt: skip
"""``Run.messages``: one row per datagram sent, received or dropped (trace level messages);
``sender`` and ``send_seq`` (the sender's number of the datagram) pair each receipt with
exactly one send."""

NOTES: dict[str, str] = {
    "time": "float64", "process": "str", "role": "str", "id": "int64", "note": "str",
    "fields": "object",
}  # fmt: skip
"""``Run.notes``: the roles' notes (``fields`` holds a dict per note)."""

PROCESSES: dict[str, str] = {
    "process": "str", "role": "str", "id": "int64", "pid": "Int64", "trace": "str",
    "session": "Int64", "started": "float64", "ended": "float64", "stopped": "bool",
}  # fmt: skip
"""``Run.processes``: one row per process."""

COUNTERS_HEAD = ("process", "role", "id")
"""``Run.counters`` starts with these; one column per counter follows."""


def table(schema: dict[str, str], data: Any = None) -> pd.DataFrame:
    """A DataFrame with exactly the columns of ``schema``, in its order and dtypes.

    Args:
        schema: one of the column definitions above.
        data: columns (a dict of name -> sequence), rows (a list of tuples in schema
            order), a DataFrame holding (at least) the columns, or None (an empty table).
    """
    columns = list(schema)
    if data is None:
        return pd.DataFrame({c: pd.Series(dtype=schema[c]) for c in columns})
    if isinstance(data, pd.DataFrame):
        frame = data.reindex(columns=columns)
    elif isinstance(data, dict):
        frame = pd.DataFrame(data, columns=columns)
    else:
        frame = pd.DataFrame(data, columns=columns)
    for c in columns:
        if str(frame[c].dtype) != schema[c]:
            frame[c] = _cast(frame[c], schema[c])
    return frame


def _cast(column: pd.Series, dtype: str) -> Any:
    if dtype == "Int64":  # nullable ints: None / NA / NaN are missing
        return pd.array(pd.to_numeric(column), dtype="Int64")
    return column.astype(dtype)


# ---------------------------------------------------------------------- a simulation as Run tables

GROUP_OF_KIND = {
    "SUBMIT": "proposers", "ACK": "clients", "PHASE1A": "acceptors", "PHASE2A": "acceptors",
    "PHASE1B": "proposers", "NACK": "proposers", "PHASE2B": "learners", "DECISION": "learners",
    "CATCHUP": "learners", "HEARTBEAT": "learners",
}  # fmt: skip
"""The multicast group each kind of message is sent to (see :mod:`paxos_edu.messages`)."""


def trace_table(records: Iterable[TraceRecord]) -> pd.DataFrame:
    """Simulator trace records as a DataFrame: one row per copy sent, delivered or dropped,
    one column per :class:`~paxos_edu.sim.TraceRecord` field (what :func:`message_frame`
    reads back exactly)."""
    from .sim import TraceRecord

    fields = list(TraceRecord.__slots__)
    return pd.DataFrame([[getattr(r, f) for f in fields] for r in records], columns=fields)


def datagram_numbers(rows: Iterable[tuple]) -> list[int]:
    """Number the datagrams of trace rows ``(event, time, sender, receiver, kind, instance,
    round)``: the ``sent`` copies of one multicast -- same time, sender, kind, instance and
    round, each to another receiver -- share a number; every other row has its own. A
    copy lost on the way is logged right after its send and does not split the multicast.
    """
    numbers: list[int] = []
    n = group = -1
    current: Optional[tuple] = None
    heard: set[Any] = set()
    for event, time_, sender, receiver, kind, instance, rnd in rows:
        key = (time_, sender, kind, instance, rnd)
        n += 1
        if event != "sent":
            numbers.append(n)
            current = current if key == current else None
        elif key == current and receiver not in heard:
            heard.add(receiver)
            numbers.append(group)
        else:
            group, current, heard = n, key, {receiver}
            numbers.append(n)
    return numbers


def run_messages(trace: Iterable[TraceRecord]) -> pd.DataFrame:
    """A simulator trace as a Run's ``messages`` table: one ``sent`` row per datagram (the
    copies of one multicast merged), ``received`` / ``dropped`` rows at the receiver."""
    trace = list(trace)
    numbers = datagram_numbers(
        (r.event, r.time, r.sender, r.receiver, r.kind, r.instance, r.rnd) for r in trace
    )
    rows = []
    last = -1
    for r, number in zip(trace, numbers):
        if number <= last:
            continue  # another copy of a datagram already written
        last = number
        if r.event == "sent":
            process, direction = r.sender, "sent"
        else:
            process, direction = r.receiver, "received" if r.event == "delivered" else "dropped"
        role, pid = parse_process_name(process)
        label = None if r.rnd is None else format_round(r.rnd)
        rows.append((r.time, process, role, pid, direction, r.kind, r.instance, r.rnd, label,
                     GROUP_OF_KIND.get(r.kind), 0, r.reason or None, r.sender,
                     r.send_seq or None))  # fmt: skip
    return table(MESSAGES, rows)


def round_labels(rnd: pd.Series) -> pd.Series:
    """``counter.owner`` labels of raw rounds (as :func:`~paxos_edu.rounds.format_round`,
    the incarnation bits left out), vectorised: ``"-"`` for round 0, None when unknown."""
    owner = rnd % ROUND_STRIDE // (1 << 16)  # rounds.py: counter | proposer | incarnation
    label = (rnd // ROUND_STRIDE).astype("str") + "." + owner.astype("str")
    return label.where(rnd != 0, "-").where(rnd.notna(), None)


def simulation_tables(sim: Simulation, result: Optional[SimResult] = None) -> dict[str, Any]:
    """Everything a :class:`~paxos_edu.runlog.Run` holds, from a simulation (virtual
    seconds): the keyword arguments of ``Run(...)``, tables built through the same column
    definitions as a real run's.

    Args:
        sim: the simulation (its processes give the ``processes`` table).
        result: ``sim.result()`` when the caller has it already (a large trace is copied
            once).
    """
    result = sim.result() if result is None else result
    proposed = table(PROPOSED, [(s.client, s.session, s.seq, s.value, t)
                                for s, t in zip(result.proposed, result.submitted_at)])  # fmt: skip
    learned = table(LEARNED, [
        (lid, pos, instance, s.value, s.client, s.session, s.seq, t)
        for lid, subs in sorted(result.delivered.items())
        for pos, (s, (t, instance)) in enumerate(zip(subs, result.deliveries.get(lid, [])))
    ])  # fmt: skip
    notes = table(NOTES, [(t, p, *parse_process_name(p), ev, dict(f))
                          for t, p, ev, f in result.notes])  # fmt: skip
    last: dict[tuple[str, str], float] = {}
    for t, p, ev, _ in result.notes:
        last[(p, ev)] = t
    processes = table(PROCESSES, [
        (proc.name, role, i, None, "messages", getattr(proc.obj, "session", None),
         last.get((proc.name, "start"), 0.0), last.get((proc.name, "crash"), sim.now), proc.alive)
        for (role, i), proc in sorted(sim.processes.items())
    ])  # fmt: skip
    return dict(
        path=Path(f"<simulation seed={sim.seed}>"), proposed=proposed, learned=learned,
        messages=run_messages(result.trace), counters=pd.DataFrame(columns=list(COUNTERS_HEAD)),
        processes=processes, notes=notes,
        learners=sorted(i for r, i in sim.processes if r == "learner"),
        clients=sorted(i for r, i in sim.processes if r == "client"),
        live_learners=result.live_learners, has_identities=True, log_paths=[],
    )  # fmt: skip


# ---------------------------------------------------------------------- message frames

KIND_ORDER = ("SUBMIT", "ACK", "PHASE1A", "PHASE1B", "NACK", "PHASE2A", "PHASE2B", "DECISION",
              "CATCHUP", "HEARTBEAT")  # fmt: skip
"""Message kinds in the order a value meets them (legends list them so)."""

KIND_SHORT: dict[str, str] = {
    "SUBMIT": "submit", "ACK": "ack", "PHASE1A": "1A", "PHASE1B": "1B", "NACK": "nack",
    "PHASE2A": "2A", "PHASE2B": "2B", "DECISION": "decision", "CATCHUP": "catch-up",
    "HEARTBEAT": "heartbeat",
}  # fmt: skip
"""The short names written on arrows and in legends, and accepted by ``kinds=``."""

DEFAULT_HIDDEN = frozenset({"HEARTBEAT"})
"""Kinds left out of message pictures unless ``kinds="all"``: heartbeats every half
timeout would drown the phases."""

_SLACK = 0.005  # a receipt may be logged a little before its send (two processes' clocks)

FRAME_COLUMNS = ("time", "event", "sender", "receiver", "kind", "instance", "round", "msg_id",
                 "reason", "exact")  # fmt: skip
"""The columns of :func:`message_frame`."""



def message_frame(source: Any) -> pd.DataFrame:
    """One tidy table of message events from any message-level source (module docstring).

    Columns (:data:`FRAME_COLUMNS`): ``time`` (s), ``event`` (``sent`` / ``delivered`` /
    ``dropped``), ``sender``, ``receiver`` (process names like ``"acceptor2"``;
    ``receiver`` is None for a real run's send, which goes to a whole group; ``sender`` is
    None for a receipt that could not be paired), ``kind`` (``"PHASE2A"``), ``instance``,
    ``round`` (raw numbers, nullable), ``msg_id`` (equal on a send and its receipts),
    ``reason`` (why dropped), ``exact`` (False when the sender of a receipt is unknown).

    Raises:
        UsageError: for anything that holds no messages.
    """
    if isinstance(source, pd.DataFrame):
        if {"direction", "process"} <= set(source.columns):
            return pair_receipts(source)
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
        return pair_receipts(messages)
    if isinstance(source, (list, tuple)):
        return _sim_frame(list(source))
    raise UsageError(
        f"cannot read messages from {type(source).__name__}: pass a Simulation, "
        "SimResult, Run, list of TraceRecord or a messages DataFrame"
    )


def simulated_processes(source: Any) -> list[str]:
    """Every process of the simulation behind ``source`` (itself, or its ``.sim``), so
    that idle ones get a lifeline too; [] for anything else."""
    sim = source if hasattr(source, "processes") and hasattr(source, "in_flight") else None
    procs = getattr(sim or getattr(source, "sim", None), "processes", None)
    return [process_name(role, i) for role, i in procs] if isinstance(procs, dict) else []


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


def missing(value: Any) -> Any:
    """None for any missing value (None, ``pd.NA``, NaN), else ``value``."""
    return (
        None
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
        else value
    )


def _objects(m: pd.DataFrame, column: str) -> list[Any]:
    if column not in m:
        return [None] * len(m)
    return [missing(v) for v in m[column].astype(object).tolist()]


def pair_receipts(messages: pd.DataFrame) -> pd.DataFrame:
    """A real run's ``messages`` table as a :func:`message_frame` frame: each receipt
    paired with the send of the same ``(sender, send_seq)`` (module docstring)."""
    m = messages.sort_values("time", kind="stable").reset_index(drop=True)
    times = m["time"].to_numpy(dtype=float)
    procs = m["process"].tolist()
    dirs = m["direction"].tolist()
    kinds, insts, rnds = _objects(m, "kind"), _objects(m, "instance"), _objects(m, "round")
    senders, seqs = _objects(m, "sender"), _objects(m, "send_seq")
    reasons = [r or "" for r in _objects(m, "reason")]
    msg_id: list[Any] = [None] * len(m)
    sender: list[Any] = [None] * len(m)
    receiver: list[Any] = [None] * len(m)
    numbered: dict[tuple[str, int], list[int]] = {}  # (process, send_seq) -> its sends, by time
    for i, d in enumerate(dirs):
        if d == "sent":
            msg_id[i], sender[i] = i + 1, procs[i]
            if seqs[i] is not None:
                numbered.setdefault((procs[i], seqs[i]), []).append(i)
    exact = [True] * len(m)
    for i, d in enumerate(dirs):
        if d == "sent":
            continue
        receiver[i], sender[i] = procs[i], senders[i]
        exact[i] = senders[i] is not None and seqs[i] is not None
        if not exact[i]:
            continue  # the datagram did not decode (or an old log): nobody to pair with
        named = numbered.get((senders[i], seqs[i]), ())
        heard = [j for j in named if times[j] <= times[i] + _SLACK]
        if heard:  # else its send was not logged: the sender is known, the arrow is not
            s = heard[-1]
            msg_id[i] = s + 1
            kinds[i], insts[i], rnds[i] = kinds[s], insts[s], rnds[s]  # a drop knows its kind
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
        wanted = {kind_name(k) for k in ([kinds] if isinstance(kinds, str) else kinds)}
        keep &= frame["kind"].isin(wanted)
    if instances is not None:
        keep &= frame["instance"].isin(list(instances)).fillna(False).astype(bool)
    if not self_messages:
        keep &= ~(frame["sender"].notna() & (frame["sender"] == frame["receiver"])).astype(bool)
    return frame[keep].reset_index(drop=True)


def kind_name(kind: str) -> str:
    """The full name of a message kind from itself or its short name (``"2B"``).

    Raises:
        UsageError: for an unknown kind.
    """
    upper = str(kind).upper()
    if upper in KIND_SHORT:
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
    out_cols = ["msg_id", "sender", "receiver", "kind", "instance", "round", "sent", "end",
                "outcome", "exact", "reason"]  # fmt: skip
    out_cols += ["y_sent", "y_end"] if has_step else []
    # Processes log with their own clocks: a receipt stamped a hair before its send would
    # draw an arrow going up. Causality says it came after, so draw it there.
    paired["end"] = np.maximum(paired["end"], paired["sent"])
    if has_step:
        paired["y_end"] = np.maximum(paired["y_end"], paired["y_sent"])
    parts = [p.reindex(columns=out_cols) for p in (paired, open_, lone) if len(p)]
    if not parts:
        return pd.DataFrame(columns=out_cols)
    return pd.concat(parts, ignore_index=True).sort_values(["sent", "end"], ignore_index=True)


def steps(frame: pd.DataFrame) -> list[int]:
    """Event order of :func:`message_frame` rows (a sequence diagram's y axis): the copies
    of one multicast share a step."""
    cols = [frame[c] for c in ("event", "time", "sender", "receiver", "kind")]
    cols += [[missing(v) for v in frame[c].astype(object)] for c in ("instance", "round")]
    return datagram_numbers(zip(*cols))


__all__ = [
    "COUNTERS_HEAD", "DEFAULT_HIDDEN", "FRAME_COLUMNS", "GROUP_OF_KIND", "KIND_ORDER",
    "KIND_SHORT", "LEARNED", "MESSAGES", "NOTES", "PROCESSES", "PROPOSED",
    "datagram_numbers", "filter_messages", "kind_name", "message_arrows", "message_frame",
    "missing", "pair_receipts", "process_order", "round_labels",
    "run_messages", "simulated_processes", "simulation_tables", "steps", "table", "trace_table",
]  # fmt: skip
