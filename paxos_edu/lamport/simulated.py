"""A Lamport diagram of a simulation: exact arrows that carry their values.

The simulator names every copy (``msg_id``) and keeps its message (``sim.messages``), so
each arrow is exact and carries the values; the copies of one multicast share their send
row (:func:`~paxos_edu.trace.datagram_numbers`). Each learner's delivery sits on the row
of the copy whose handling delivered it (``sim.delivery_causes``); where a learner learns
that an instance is decided without delivering it there, a decision mark says why.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..checks import check_sequences
from ..errors import UsageError
from ..messages import END, Decision, Message, Phase2B
from ..processes import process_name
from ..quorum import quorum_size
from ..sim_tables import summarize
from ..trace import datagram_numbers
from .marks import checks_of, delivery_mark, merge_marks, violation_of
from .shape import Diagram
from .words import arrow_label, human, instance_of, message_values, round_text, split_name


def from_simulation(sim: Any, title: Optional[str], *, live: bool,
                    max_sends: int) -> dict[str, Any]:
    """The diagram data of a Simulation or SimResult (both have the same fields).

    Args:
        sim: the simulation, or its result (which must hold its messages: trace=True).
        title: the title, or None for one that names the source and its seed.
        live: a manual simulation: its copies in flight are clickable and nothing is cut.
        max_sends: a finished simulation is cut to its first this many sends.

    Raises:
        UsageError: for a result made without its messages.
    """
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
            row["text"] = f"{head} to {', '.join(human(p) for p in receivers)}"
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
    violation = violation_of(report, marks)
    marks = merge_marks(marks)
    kind = "simulation" if hasattr(sim, "in_flight") else "simulation result"
    if title is None:
        title = f"Messages of the {kind} (seed {sim.seed})"
    if not live:  # a long finished run: its first sends (a live one keeps its present)
        rows, arrows, marks, title = _first_sends(rows, arrows, marks, title, max_sends)
    b = Diagram(title, kind, rows, arrows, marks, procs)
    return b.to_dict(interactive=live, violation=violation, checks=checks_of(report),
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
    rnd = round_text(rec.rnd)
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
    label = arrow_label(rec.kind, round_text(rec.rnd), instance_of(rec.instance), msg)
    who_from, who_to = human(rec.sender), human(rec.receiver)
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
            marks.append(delivery_mark(process_name("learner", learner), row, pos, sub.value,
                                        instance,
                                        trace[index].time if 0 <= index < len(trace) else None))
    return marks


def _sim_decision_marks(sim: Any, trace: list, row_of: list[int], messages_of: dict,
                        marks: list[dict[str, Any]], procs: list[str]) -> list[dict[str, Any]]:
    """Where a learner learns that an instance is decided (a quorum of 2B of one round, or
    a decision) without delivering it there: the value waits behind an earlier instance,
    or is a no-op, which is never delivered. A delivery on the same row says it already."""
    acceptors = getattr(sim, "acceptor_count", None) or sum(
        split_name(p)[0] == "acceptor" for p in procs)
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
                        "detail": f"{human(name)} learns that instance {msg.instance} is "
                                  f"decided: {value!r}, {why}"})
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
                      "detail": f"{human(process)} {'crashes' if note == 'crash' else 'starts'}"
                                f" at t = {t:.4f} s", "violation": False})
    return marks


def _row_at(trace: list, row_of: list[int], t: float) -> int:
    """The last row at or before time ``t`` (0 when none)."""
    best = 0
    for index, rec in enumerate(trace):
        if rec.time <= t:
            best = row_of[index]
    return best


__all__ = ["from_simulation"]
