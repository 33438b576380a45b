"""The data of a Lamport (space-time) diagram: processes, events, messages, marks.

Theory of operation
-------------------
:func:`diagram_data` turns a message-level source into one JSON-ready ``dict`` that the
browser side (``lamport.js``) draws without knowing anything about Paxos. Time runs down
the page *by event*, not by clock: every event gets a row of its own -- one multicast
(all its copies leave together), one delivery, one drop -- so the ``<input type=range>``
scrubs from one event to the next and nothing is squeezed into the first millisecond of
a long run. Each row keeps its virtual (or wall-clock) time for the axis and the hover.

Three kinds of source:

* a :class:`~paxos_edu.sim.Simulation` (live: its in-flight copies can be delivered or
  dropped from the page) or a :class:`~paxos_edu.sim.SimResult`. The simulator names every
  copy (``msg_id``) and keeps its message (``sim.messages``), so arrows are exact and carry
  the values; each learner's delivery sits on the row of the copy whose handling delivered
  it (``sim.delivery_causes``).
* anything holding a simulation in ``.sim`` (a schedule's outcome or a counterexample
  from :mod:`paxos_edu.explore`, the Stepper).
* a real :class:`~paxos_edu.runlog.Run` (trace level ``messages``): sends are paired with
  receipts by :func:`paxos_edu.viz.message_frame`; rows follow the log's clocks, except that
  a receipt is never placed above its send (two processes' clocks may disagree by a hair,
  causality may not). Real processes do not log the values inside messages; the learners'
  deliveries (with values) come from ``run.learned``.

Safety is checked with :mod:`paxos_edu.checks` on what the learners delivered; a violation
is attached to the deliveries that conflict, on the row where the second one happens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..checks import INTEGRITY, ORDER, VALIDITY, CheckReport, check_sequences
from ..errors import UsageError
from ..messages import (
    END,
    Ack,
    CatchUp,
    Decision,
    Heartbeat,
    Message,
    Nack,
    Phase1B,
    Phase2A,
    Phase2B,
    Submit,
)
from ..processes import parse_process_name, process_name
from ..quorum import quorum_size
from ..rounds import NO_ROUND, format_round
from ..sim_tables import summarize
from ..trace import (
    GROUP_OF_KIND,
    KIND_ORDER,
    KIND_SHORT,
    datagram_numbers,
    message_frame,
    process_order,
)
from ..viz_style import KIND_COLORS as _KIND_COLORS

KIND_WORDS = {
    "SUBMIT": "submit: a client asks the proposers to order values",
    "ACK": "ack: the proposer tells a client its values are decided",
    "PHASE1A": "1A prepare: \u201cpromise me this round\u201d",
    "PHASE1B": "1B promise: \u201cI will not accept below this round; I accepted this\u201d",
    "NACK": "nack: \u201cI promised a higher round\u201d",
    "PHASE2A": "2A accept!: \u201caccept this value in this round\u201d",
    "PHASE2B": "2B accepted: an acceptor's vote, sent to the learners",
    "DECISION": "decision: a decided instance, resent for catch-up",
    "CATCHUP": "catch-up: a learner asks for decisions it missed",
    "HEARTBEAT": "heartbeat: the leader is alive",
}
"""What each kind means, in the paper's words (shown on hover)."""

KIND_COLORS = dict(_KIND_COLORS)
"""Colours per kind: the very palette of the matplotlib pictures (:mod:`paxos_edu.viz_style`)."""

HIDDEN_KINDS = ("HEARTBEAT",)
"""Kinds hidden until the page's "all messages" box is ticked (they drown the phases)."""

VALUE_LABEL_LIMIT = 14
"""Longest value text written on an arrow; the hover shows all of it."""

MAX_SENDS = 200
"""A finished run (real or simulated) is cut to its first this many sends and their
receipts: a few hundred events are what a reader follows, and a scrub step stays about
0.15 s in the browser (2,000 events took 0.5 s)."""


@dataclass
class _Builder:
    """Accumulates rows, messages and marks; ``to_dict`` gives the JSON shape."""

    title: str
    source: str
    rows: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    marks: list[dict[str, Any]]
    processes: list[str]

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        times = [r["t"] for r in self.rows]
        t0 = min(times) if times else 0.0
        span = (max(times) - t0) if times else 0.0
        scale, unit = (1e3, "ms") if span < 2.0 else (1.0, "s")
        return {
            "version": 1,
            "title": self.title,
            "source": self.source,
            "processes": [_process_entry(p) for p in process_order(self.processes)],
            "rows": self.rows,
            "messages": self.messages,
            "marks": self.marks,
            "t0": t0,
            "time_scale": scale,
            "time_unit": unit,
            "kinds": {k: {"short": KIND_SHORT[k], "color": KIND_COLORS[k],
                          "words": KIND_WORDS[k]} for k in KIND_ORDER},
            "hidden_kinds": list(HIDDEN_KINDS),
            **extra,
        }


# ---------------------------------------------------------------------- entry point


def diagram_data(source: Any, *, title: Optional[str] = None, in_flight: bool = True,
                 max_sends: int = MAX_SENDS) -> dict[str, Any]:
    """The JSON-ready data of a Lamport diagram of ``source`` (see the module docstring).

    Args:
        source: a Simulation, SimResult, anything with a simulation in ``.sim``, or a Run.
        title: shown above the diagram (default: says what the source is).
        in_flight: draw the copies still in flight (the page has a box to switch them
            on and off); False suits a counterexample, whose undelivered copies are noise.
        max_sends: a finished run is cut to its first ``max_sends`` sends (a live
            simulation never: its present is what the page acts on).

    Raises:
        UsageError: for a source without messages to draw.
    """
    sim = _simulation_of(source)
    if sim is not None:
        data = _from_simulation(sim, title, live=_is_live(sim), max_sends=max_sends)
    elif hasattr(source, "trace") and hasattr(source, "delivered") and hasattr(source, "seed"):
        data = _from_simulation(source, title, live=False, max_sends=max_sends)
    elif hasattr(source, "messages") and hasattr(source, "learned"):
        data = _from_run(source, title, max_sends)
    else:
        data = None
    if data is not None:
        data["show_in_flight"] = bool(in_flight)
        return data
    raise UsageError(
        f"cannot draw a Lamport diagram of {type(source).__name__}: pass a Simulation, a "
        "SimResult, an explore outcome / counterexample, a Stepper or a Run")


def _simulation_of(source: Any) -> Any:
    if hasattr(source, "in_flight") and hasattr(source, "processes"):
        return source
    inner = getattr(source, "sim", None)
    if inner is not None and hasattr(inner, "in_flight"):
        return inner
    if hasattr(source, "replay") and hasattr(source, "schedule"):  # a Counterexample
        return source.replay()
    return None


def _is_live(sim: Any) -> bool:
    return bool(getattr(sim, "manual", False))


# ---------------------------------------------------------------------- simulations


def _from_simulation(sim: Any, title: Optional[str], *, live: bool,
                     max_sends: int = MAX_SENDS) -> dict[str, Any]:
    """Rows, messages and marks from a Simulation or SimResult (both have the same fields)."""
    trace = list(sim.trace)
    messages_of: dict[int, Message] = getattr(sim, "messages", {}) or {}
    if trace and not messages_of:
        raise UsageError("this simulation result has no messages: make it with trace=True")
    procs = _sim_process_names(sim, trace)
    row_of = _sim_rows(trace)
    rows: list[dict[str, Any]] = []
    to: list[list[str]] = []  # receivers of each row's multicast
    for index, rec in enumerate(trace):
        r = row_of[index]
        if r == len(rows):
            rows.append({"t": rec.time, "text": _event_text(rec, messages_of.get(rec.msg_id))})
            to.append([rec.receiver])
        elif rec.event == "sent":  # another copy of the same multicast
            to[r].append(rec.receiver)
    for row, receivers in zip(rows, to):
        if len(receivers) > 1:
            head = row["text"].rsplit(" to ", 1)[0]
            row["text"] = f"{head} to {', '.join(_human(p) for p in receivers)}"
    sends: dict[int, dict[str, Any]] = {}
    arrows: list[dict[str, Any]] = []
    for index, rec in enumerate(trace):
        if rec.event == "sent":
            sends[rec.msg_id] = _arrow(rec, messages_of.get(rec.msg_id), row_of[index])
            continue
        base = sends.get(rec.msg_id)
        if base is None:
            continue
        arrow = dict(base) if base["outcome"] != "in flight" else base
        if arrow is not base:  # a duplicate: the same message arrives again
            arrow["key"] = f"{rec.msg_id}.{len(arrows)}"
            arrows.append(arrow)
        arrow.update(end=row_of[index], t_end=rec.time, outcome=rec.event, reason=rec.reason)
    arrows.extend(sends.values())
    in_flight = {c.id for c in getattr(sim, "in_flight", [])}
    for msg_id in in_flight:  # delivered once, and a duplicate still on its way
        base = sends.get(msg_id)
        if base is not None and base["outcome"] != "in flight":
            arrows.append(dict(base, key=f"{msg_id}.dup", end=None, t_end=None,
                               outcome="in flight", reason=""))
    for arrow in arrows:
        if arrow["outcome"] == "in flight":
            arrow["clickable"] = live and arrow["msg_id"] in in_flight
    arrows.sort(key=lambda a: (a["sent"], a["end"] if a["end"] is not None else math.inf))
    marks = _sim_delivery_marks(sim, trace, row_of)
    marks += _sim_decision_marks(sim, trace, row_of, messages_of, marks, procs)
    marks += _sim_process_marks(sim, trace, row_of, rows)
    report = check_sequences(sim.delivered, sim.proposed, expect_complete=False)
    violation = _violation(report, marks)
    marks = _merge_marks(marks)
    kind = "simulation" if hasattr(sim, "in_flight") else "simulation result"
    if title is None:
        title = f"Messages of the {kind} (seed {sim.seed})"
    if not live:  # a long finished run: its first sends (a live one keeps its present)
        rows, arrows, marks, title = _first_sends(rows, arrows, marks, title, max_sends)
    b = _Builder(title, kind, rows, arrows, marks, procs)
    return b.to_dict(interactive=live, violation=violation, checks=_checks(report),
                     now={"t": getattr(sim, "now", rows[-1]["t"] if rows else 0.0)})


def _first_sends(rows: list, arrows: list, marks: list, title: str, max_sends: int) -> tuple:
    """Keep the events before the send number ``max_sends + 1``: a diagram of thousands of
    events is unreadable and slow to scrub. Copies received after the cut end on the now
    line, marked ``cut``."""
    send_rows = sorted({a["sent"] for a in arrows if a["sent"] is not None})
    if len(send_rows) <= max_sends:
        return rows, arrows, marks, title
    cut = send_rows[max_sends]
    kept = []
    for a in arrows:
        if a["sent"] is None or a["sent"] >= cut:
            continue
        if a["end"] is not None and a["end"] >= cut:
            a = dict(a, end=None, t_end=None, outcome="in flight", cut=True)
        kept.append(a)
    marks = [m for m in marks if m["row"] < cut]
    return (rows[:cut], kept, marks,
            f"{title} (first {max_sends} of {len(send_rows)} sends)")


def _sim_process_names(sim: Any, trace: list) -> list[str]:
    names = {r.sender for r in trace} | {r.receiver for r in trace}
    processes = getattr(sim, "processes", None)
    if isinstance(processes, dict):
        names |= {process_name(role, i) for role, i in processes}
    names |= {process_name("learner", i) for i in getattr(sim, "delivered", {})}
    return sorted(names)


def _sim_rows(trace: list) -> list[int]:
    """Row of each trace record: the ``sent`` copies of one multicast share a row
    (:func:`~paxos_edu.trace.datagram_numbers` numbers them; rows count the numbers in
    order of first appearance, a copy lost inside its multicast included)."""
    numbers = datagram_numbers(
        (r.event, r.time, r.sender, r.receiver, r.kind, r.instance, r.rnd) for r in trace)
    row_of_number: dict[int, int] = {}
    return [row_of_number.setdefault(n, len(row_of_number)) for n in numbers]


def _arrow(rec: Any, msg: Optional[Message], row: int) -> dict[str, Any]:
    values = message_values(msg) if msg is not None else []
    rnd = _round_text(rec.rnd)
    instance = rec.instance if rec.instance is not None and rec.instance < END else None
    return {
        "key": str(rec.msg_id), "msg_id": rec.msg_id, "kind": rec.kind,
        "from": rec.sender, "to": rec.receiver, "sent": row, "end": None,
        "t_sent": rec.time, "t_end": None, "outcome": "in flight", "reason": "",
        "round": rnd, "instance": instance, "values": values,
        "summary": summarize(msg) if msg is not None else "",
        "label": arrow_label(rec.kind, rnd, instance, msg),
        "exact": True, "clickable": False, "self": rec.sender == rec.receiver,
    }  # fmt: skip


def _event_text(rec: Any, msg: Optional[Message]) -> str:
    label = arrow_label(rec.kind, _round_text(rec.rnd), _instance(rec.instance), msg)
    who_from, who_to = _human(rec.sender), _human(rec.receiver)
    if rec.event == "sent":
        return f"{who_from} sends {label} to {who_to}"
    if rec.event == "delivered":
        return f"{who_to} receives {label} from {who_from}"
    why = {"by hand": "dropped by hand", "loss": "lost by the network",
           "crashed": "not received: the receiver has crashed"}.get(rec.reason, "dropped")
    return f"{label} from {who_from} to {who_to} {why}"


def _sim_delivery_marks(sim: Any, trace: list, row_of: list[int]) -> list[dict[str, Any]]:
    marks = []
    causes = getattr(sim, "delivery_causes", {}) or {}
    for learner, subs in sorted(sim.delivered.items()):
        where = causes.get(learner, [])
        deliveries = sim.deliveries.get(learner, [])
        for pos, sub in enumerate(subs):
            index = where[pos] if pos < len(where) else -1
            row = row_of[index] if 0 <= index < len(row_of) else _row_at(
                trace, row_of, deliveries[pos][0] if pos < len(deliveries) else math.inf)
            instance = deliveries[pos][1] if pos < len(deliveries) else None
            marks.append(_delivery_mark(process_name("learner", learner), row, pos, sub.value,
                                        instance,
                                        trace[index].time if 0 <= index < len(trace) else None))
    return marks


def _sim_decision_marks(sim: Any, trace: list, row_of: list[int], messages_of: dict,
                        marks: list[dict[str, Any]], procs: list[str]) -> list[dict[str, Any]]:
    """Where a learner learns that an instance is decided (a quorum of 2B of one round, or
    a decision) without delivering it there: the value waits behind an earlier instance,
    or is a no-op, which is never delivered. A delivery on the same row says it already."""
    acceptors = getattr(sim, "acceptor_count", None) or sum(
        _split(p)[0] == "acceptor" for p in procs)
    quorum = quorum_size(max(int(acceptors), 1))
    delivered_at: dict[tuple[str, int], int] = {}
    for m in marks:
        if m["type"] == "delivery" and m["instance"] is not None:
            delivered_at.setdefault((m["process"], m["instance"]), m["row"])
    out = []
    for learner in sorted(sim.delivered):
        name = process_name("learner", learner)
        votes: dict[tuple[int, int], set[int]] = {}
        decided: set[int] = set()
        for index, rec in enumerate(trace):
            if rec.event != "delivered" or rec.receiver != name:
                continue
            msg = messages_of.get(rec.msg_id)
            if isinstance(msg, Phase2B):
                voters = votes.setdefault((msg.instance, msg.rnd), set())
                voters.add(msg.acceptor)
                if len(voters) < quorum:
                    continue
            elif not isinstance(msg, Decision):
                continue
            if msg.instance in decided:
                continue
            decided.add(msg.instance)
            row = row_of[index]
            at = delivered_at.get((name, msg.instance))
            if at is not None and at <= row:
                continue
            value = ", ".join(v.value for v in msg.value) if msg.value else "no-op"
            why = ("a no-op: nothing to deliver" if not msg.value else
                   "waits for an earlier instance" if at is not None else "not delivered (yet)")
            out.append({"type": "decision", "process": name, "row": row, "instance": msg.instance,
                        "text": f"i{msg.instance} decided", "t": rec.time, "violation": False,
                        "detail": f"{_human(name)} learns that instance {msg.instance} is "
                                  f"decided: {value!r}, {why}"})
    return out


def _delivery_mark(process: str, row: int, pos: int, value: str, instance: Optional[int],
                   t: Optional[float]) -> dict[str, Any]:
    where = f" (instance {instance})" if instance is not None else ""
    return {"type": "delivery", "process": process, "row": row, "position": pos,
            "instance": instance, "value": value, "text": _cut(value, VALUE_LABEL_LIMIT),
            "t": t, "violation": False,
            "detail": f"{_human(process)} delivers {value!r}{where} as value #{pos + 1}"}


def _merge_marks(marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One mark per learner and row: a batch decided in one instance is delivered at once."""
    out: list[dict[str, Any]] = []
    at: dict[tuple, dict[str, Any]] = {}
    for m in marks:
        key = (m["process"], m["row"]) if m["type"] == "delivery" else None
        first = at.get(key) if key else None
        if first is None:
            m = dict(m, values=[m["value"]] if "value" in m else [],
                     instances=[m["instance"]] if m.get("instance") is not None else [])
            if key:
                at[key] = m
            out.append(m)
            continue
        first["values"].append(m["value"])
        if m.get("instance") is not None and m["instance"] not in first["instances"]:
            first["instances"].append(m["instance"])
        first["violation"] = first["violation"] or m["violation"]
        first["text"] = _cut(", ".join(first["values"]), VALUE_LABEL_LIMIT)
        first["detail"] += "; " + m["detail"].split(" delivers ", 1)[1]
    return out


def _sim_process_marks(sim: Any, trace: list, row_of: list[int],
                       rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Crashes and (re)starts from the simulation's notes, after the process's last
    event and after every row older than the note."""
    marks = []
    last_row: dict[str, int] = {}
    for index, rec in enumerate(trace):
        if rec.event == "sent":
            last_row[rec.sender] = row_of[index]
        elif rec.event == "delivered":
            last_row[rec.receiver] = row_of[index]
    for t, process, note, _fields in getattr(sim, "notes", []):
        if note not in ("crash", "start"):
            continue
        older = max((i for i, r in enumerate(rows) if r["t"] < t), default=-1)
        after = max(older, last_row.get(process, -1) if note == "crash" else older)
        marks.append({"type": note, "process": process, "row": after + 0.5, "t": t,
                      "text": "crashed" if note == "crash" else "started",
                      "detail": f"{_human(process)} {'crashes' if note == 'crash' else 'starts'}"
                                f" at t = {t:.4f} s", "violation": False})
    return marks


def _row_at(trace: list, row_of: list[int], t: float) -> int:
    """The last row at or before time ``t`` (0 when none)."""
    best = 0
    for index, rec in enumerate(trace):
        if rec.time <= t:
            best = row_of[index]
    return best


# ---------------------------------------------------------------------- real runs


def _from_run(run: Any, title: Optional[str], max_sends: int) -> dict[str, Any]:
    frame = message_frame(run)  # the pairing of sends and receipts lives there
    sends = frame.index[frame["event"] == "sent"]
    if len(sends) > max_sends:
        cut_t = float(frame.loc[sends[max_sends - 1], "time"])
        kept = set(frame.loc[sends[:max_sends], "msg_id"].dropna().tolist())
        keep = frame["msg_id"].isin(kept) | (frame["msg_id"].isna() & (frame["time"] <= cut_t))
        frame = frame[keep.astype(bool)].reset_index(drop=True)
    records = frame.to_dict("records")
    sent_at = {int(r["msg_id"]): r["time"] for r in records
               if r["event"] == "sent" and _num(r["msg_id"]) is not None}
    # A receipt goes after its send even if its clock says otherwise (never upwards).
    def causal_time(i: int) -> float:
        return max(records[i]["time"], sent_at.get(_int(records[i]["msg_id"]), -math.inf))

    order = sorted(range(len(records)), key=lambda i: (
        causal_time(i), records[i]["event"] != "sent", i))
    rows: list[dict[str, Any]] = []
    row_of: dict[int, int] = {}
    send_row: dict[int, int] = {}
    arrows: list[dict[str, Any]] = []
    send_info: dict[int, dict[str, Any]] = {}
    answered: set[int] = set()
    for i in order:
        r = records[i]
        row_of[i] = len(rows)
        kind = r["kind"] or "?"
        label = arrow_label(kind, _round_text(_int(r["round"])), _instance(_int(r["instance"])),
                            None) if kind in KIND_SHORT else "undecodable datagram"
        mid = _int(r["msg_id"])
        if r["event"] == "sent":
            send_row[mid] = len(rows)
            send_info[mid] = r
            group = _group_name(r, kind)
            rows.append({"t": r["time"], "text": f"{_human(r['sender'])} sends {label}"
                         f" to the {group}"})
            continue
        src = send_info.get(mid)
        who = _human(r["receiver"])
        if r["event"] == "delivered":
            text = f"{who} receives {label}" + (f" from {_human(src['sender'])}" if src else
                                                 " (sender not known)")
        else:
            text = f"{label} to {who} dropped ({r['reason'] or 'no reason logged'})"
        # The row's time never goes back: a receipt logged a hair before its send (the
        # sender logs after sendto returns) is shown at its send's time; the hover keeps
        # the logged time.
        rows.append({"t": causal_time(i), "text": text})
        if src is None:
            arrows.append(_run_arrow(r, None, None, len(rows) - 1, kind, label,
                                     outcome="unpaired"))
            continue
        answered.add(mid)
        arrows.append(_run_arrow(r, src, send_row[mid], len(rows) - 1, kind, label,
                                 outcome=r["event"]))
    for mid, src in send_info.items():
        if mid not in answered:
            kind = src["kind"] or "?"
            label = arrow_label(kind, _round_text(_int(src["round"])),
                                _instance(_int(src["instance"])), None)
            arrows.append(_run_arrow(src, src, send_row[mid], None, kind, label,
                                     outcome="no receipt"))
    times = [row["t"] for row in rows]
    marks = _run_delivery_marks(run, rows, records, row_of)
    learned = _run_sequences(run)
    report = run.check(expect_complete=False) if learned is not None else None
    violation = _violation(report, marks) if report is not None else None
    marks = _merge_marks(marks)
    procs = [p for r in records for p in (r["sender"], r["receiver"]) if isinstance(p, str)]
    procs += [process_name("learner", i) for i in getattr(run, "learners", [])]
    table = getattr(run, "processes", None)
    if table is not None and "process" in getattr(table, "columns", ()):
        procs += list(table["process"])
    if title is None:
        title = f"Messages of the run in {getattr(run, 'path', '?')}"
    if len(sends) > max_sends:
        title += f" (first {max_sends} of {len(sends)} sends)"
    b = _Builder(title, "run", rows,
                 arrows, marks, procs)
    return b.to_dict(interactive=False, violation=violation,
                     checks=_checks(report) if report is not None else None,
                     now={"t": max(times) if times else 0.0})


def _run_arrow(r: dict, src: Optional[dict], sent_row: Optional[int], end_row: Optional[int],
               kind: str, label: str, *, outcome: str) -> dict[str, Any]:
    sender = src["sender"] if src is not None else None
    return {
        "key": f"r{sent_row}-{end_row}-{r['receiver']}", "msg_id": _int(r["msg_id"]), "kind": kind,
        "from": sender, "to": r["receiver"], "sent": sent_row, "end": end_row,
        "t_sent": src["time"] if src is not None else None,
        "t_end": r["time"] if end_row is not None else None, "outcome": outcome,
        "reason": r["reason"] or "", "round": _round_text(_int(r["round"])),
        "instance": _instance(_int(r["instance"])), "values": None,
        "summary": "", "label": label, "exact": bool(r["exact"]), "clickable": False,
        "self": sender is not None and sender == r["receiver"],
        "group": _group_name(src, kind) if src is not None else None,
    }  # fmt: skip


def _group_name(r: dict, kind: str) -> str:
    group = r.get("group") if isinstance(r, dict) else None
    if isinstance(group, str) and group:
        return group
    return GROUP_OF_KIND.get(kind, "learners")


def _run_sequences(run: Any) -> Optional[dict]:
    learned = getattr(run, "learned", None)
    return None if learned is None else learned


def _run_delivery_marks(run: Any, rows: list[dict[str, Any]], records: list[dict],
                        row_of: dict[int, int]) -> list[dict[str, Any]]:
    """Each delivery on the row of the learner's last receipt before it (else the last
    row before it): the 2B that completed the quorum is received, then delivered."""
    learned = getattr(run, "learned", None)
    if learned is None or not len(learned):
        return []
    at: dict[str, list[tuple[float, int]]] = {}
    for i, r in enumerate(records):
        if r["event"] == "delivered" and isinstance(r["receiver"], str):
            at.setdefault(r["receiver"], []).append((r["time"], row_of[i]))
    for lst in at.values():
        lst.sort()
    marks = []
    last_t = rows[-1]["t"] if rows else math.inf
    for rec in learned.sort_values(["learner", "position"]).to_dict("records"):
        t = _num(rec.get("time"))
        if t is None or t > last_t + 1e-3:
            continue  # after the part of the run shown
        process = process_name("learner", int(rec["learner"]))
        mine = [row for (tt, row) in at.get(process, []) if tt <= t + 1e-9]
        row = mine[-1] if mine else max((i for i, r in enumerate(rows) if r["t"] <= t),
                                        default=0)
        marks.append(_delivery_mark(process, row, int(rec["position"]), str(rec["value"]),
                                    _int(rec.get("instance")), t))
    return marks


# ---------------------------------------------------------------------- checks


def _checks(report: Optional[CheckReport]) -> Optional[list[dict[str, Any]]]:
    if report is None:
        return None
    return [{"property": row.property, "ok": row.ok, "detail": row.detail}
            for row in report.rows]


def _violation(report: Optional[CheckReport], marks: list[dict[str, Any]]
               ) -> Optional[dict[str, Any]]:
    """The first safety violation, attached to the delivery marks that show it."""
    if report is None:
        return None
    v = next((v for v in report.violations if v.property in (ORDER, INTEGRITY, VALIDITY)), None)
    if v is None or v.learner is None or v.position is None:
        return None
    deliveries = [m for m in marks if m["type"] == "delivery"]
    me = next((m for m in deliveries if m["process"] == process_name("learner", v.learner)
               and m["position"] == v.position), None)
    involved = [me] if me is not None else []
    if v.property == ORDER and me is not None:
        involved += [m for m in deliveries if m["position"] == v.position
                     and m["process"] != me["process"] and m["value"] != me["value"]][:1]
    if v.property == INTEGRITY and me is not None:
        same = [m for m in deliveries if m["process"] == me["process"]
                and m["value"] == me["value"] and m["position"] < me["position"]]
        involved += same[:1]
    for m in involved:
        m["violation"] = True
    row = max((m["row"] for m in involved), default=None)
    return {"property": v.property, "detail": _violation_words(v, involved),
            "checker": v.detail, "learner": v.learner,
            "position": v.position, "row": row,
            "processes": [m["process"] for m in involved]}


def _violation_words(v: Any, involved: list[dict[str, Any]]) -> str:
    """The checker's finding without session numbers, naming the marks on the picture."""
    if not involved:
        return v.detail
    me = involved[0]
    where = f"as value #{me['position'] + 1}"
    if v.property == ORDER and len(involved) > 1:
        other = involved[1]
        return (f"{_human(me['process'])} delivered {me['value']!r} {where}, "
                f"{_human(other['process'])} delivered {other['value']!r}")
    if v.property == INTEGRITY:
        return f"{_human(me['process'])} delivered {me['value']!r} twice ({where})"
    if v.property == VALIDITY:
        return f"{_human(me['process'])} delivered {me['value']!r}, which nobody proposed"
    return v.detail


# ---------------------------------------------------------------------- words


def message_values(msg: Message) -> list[str]:
    """The values a message carries, as text, e.g. ``["a", "b"]``; ``["no-op"]`` for an
    empty batch; for a promise, its votes (``"i0@1.1 = a"``); ``[]`` for none."""
    match msg:
        case Submit(submissions):
            return [s.value for s in submissions]
        case Phase2A(value=value) | Phase2B(value=value) | Decision(value=value):
            return [s.value for s in value] if value else ["no-op"]
        case Phase1B(accepted=accepted):
            return [f"i{a.instance}@{format_round(a.v_rnd)} = "
                    f"{', '.join(s.value for s in a.v_val) if a.v_val else 'no-op'}"
                    for a in accepted]
        case Ack(seqs=seqs):
            return [f"seq {s}" for s in seqs]
        case Nack(promised=promised):
            return [f"promised {format_round(promised)}"]
        case CatchUp(instance=instance):
            return [f"from i{instance}"]
        case Heartbeat(decided=decided):
            return [f"decided below i{decided}"]
    return []


def arrow_label(kind: str, rnd: Optional[str], instance: Optional[int],
                msg: Optional[Message]) -> str:
    """What an arrow says: kind, round, instance and the value(s), e.g. ``2A 1.0 i0 [a]``."""
    parts = [KIND_SHORT.get(kind, kind)]
    if rnd:
        parts.append(rnd)
    if instance is not None:
        parts.append(f"i{instance}")
    if msg is not None:
        text = value_label(msg)
        if text:
            parts.append(text)
    return " ".join(parts)


def value_label(msg: Message) -> str:
    """The values of ``msg`` as written on an arrow: ``[a, b]``, ``[no-op]``, ``[x@1.1]``
    for a promise reporting a vote; ``""`` for a message without values."""
    match msg:
        case Submit(submissions):
            return f"[{_cut(', '.join(s.value for s in submissions), VALUE_LABEL_LIMIT)}]"
        case Phase2A(value=value) | Phase2B(value=value) | Decision(value=value):
            text = ", ".join(s.value for s in value) if value else "no-op"
            return f"[{_cut(text, VALUE_LABEL_LIMIT)}]"
        case Phase1B(accepted=accepted) if accepted:
            a = accepted[-1]
            text = ", ".join(s.value for s in a.v_val) if a.v_val else "no-op"
            more = f" +{len(accepted) - 1}" if len(accepted) > 1 else ""
            return f"[{_cut(text, VALUE_LABEL_LIMIT)}@{format_round(a.v_rnd)}{more}]"
    return ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _round_text(rnd: Optional[int]) -> Optional[str]:
    if rnd is None or rnd == NO_ROUND:
        return None
    return format_round(int(rnd))


def _instance(instance: Optional[int]) -> Optional[int]:
    return None if instance is None or instance >= END else int(instance)


def _split(name: str) -> tuple[str, Optional[int]]:
    """``("acceptor", 2)`` for ``"acceptor2"``; ``(name, None)`` for a name that is no
    process name (the diagram still draws it, as :func:`~paxos_edu.trace.process_order`
    keeps it)."""
    try:
        return parse_process_name(name)
    except UsageError:
        return name, None


def _human(name: Optional[str]) -> str:
    """``"acceptor2"`` -> ``"acceptor 2"``; ``"?"`` for no name."""
    if not name:
        return "?"
    role, id = _split(name)
    return name if id is None else f"{role} {id}"


def _num(value: Any) -> Optional[float]:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _int(value: Any) -> Optional[int]:
    f = _num(value)
    return None if f is None else int(f)


def _process_entry(name: str) -> dict[str, str]:
    return {"name": name, "role": _split(name)[0], "label": _human(name)}
