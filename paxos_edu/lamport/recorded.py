"""A Lamport diagram of a real run (:class:`~paxos_edu.runlog.Run`, trace level
``messages``).

Sends are paired with receipts by :func:`paxos_edu.trace.message_frame`; rows follow the
log's clocks, except that a receipt is never placed above its send (two processes' clocks
may disagree by a hair, causality may not). Real processes do not log the values inside
messages; the learners' deliveries (with values) come from ``run.learned``.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..processes import process_name
from ..trace import GROUP_OF_KIND, KIND_SHORT, message_frame
from .marks import checks_of, delivery_mark, merge_marks, violation_of
from .shape import Diagram
from .words import arrow_label, human, instance_of, int_or_none, num, round_text


def from_run(run: Any, title: Optional[str], max_sends: int) -> dict[str, Any]:
    """The diagram data of a real run (trace level ``messages``), cut to its first
    ``max_sends`` sends and their receipts."""
    frame = message_frame(run)  # the pairing of sends and receipts lives there
    sends = frame.index[frame["event"] == "sent"]
    if len(sends) > max_sends:
        cut_t = float(frame.loc[sends[max_sends - 1], "time"])
        kept = set(frame.loc[sends[:max_sends], "msg_id"].dropna().tolist())
        keep = frame["msg_id"].isin(kept) | (frame["msg_id"].isna() & (frame["time"] <= cut_t))
        frame = frame[keep.astype(bool)].reset_index(drop=True)
    records = frame.to_dict("records")
    sent_at = {int(r["msg_id"]): r["time"] for r in records
               if r["event"] == "sent" and num(r["msg_id"]) is not None}
    # A receipt goes after its send even if its clock says otherwise (never upwards).
    def causal_time(i: int) -> float:
        return max(records[i]["time"],
                   sent_at.get(int_or_none(records[i]["msg_id"]), -math.inf))

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
        label = arrow_label(kind, round_text(int_or_none(r["round"])),
                            instance_of(int_or_none(r["instance"])),
                            None) if kind in KIND_SHORT else "undecodable datagram"
        mid = int_or_none(r["msg_id"])
        if r["event"] == "sent":
            send_row[mid] = len(rows)
            send_info[mid] = r
            group = _group_name(r, kind)
            rows.append({"t": r["time"], "text": f"{human(r['sender'])} sends {label}"
                         f" to the {group}"})
            continue
        src = send_info.get(mid)
        who = human(r["receiver"])
        if r["event"] == "delivered":
            text = f"{who} receives {label}" + (f" from {human(src['sender'])}" if src else
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
            label = arrow_label(kind, round_text(int_or_none(src["round"])),
                                instance_of(int_or_none(src["instance"])), None)
            arrows.append(_run_arrow(src, src, send_row[mid], None, kind, label,
                                     outcome="no receipt"))
    times = [row["t"] for row in rows]
    marks = _run_delivery_marks(run, rows, records, row_of)
    learned = _run_sequences(run)
    report = run.check(expect_complete=False) if learned is not None else None
    violation = violation_of(report, marks) if report is not None else None
    marks = merge_marks(marks)
    procs = [p for r in records for p in (r["sender"], r["receiver"]) if isinstance(p, str)]
    procs += [process_name("learner", i) for i in getattr(run, "learners", [])]
    table = getattr(run, "processes", None)
    if table is not None and "process" in getattr(table, "columns", ()):
        procs += list(table["process"])
    if title is None:
        title = f"Messages of the run in {getattr(run, 'path', '?')}"
    if len(sends) > max_sends:
        title += f" (first {max_sends} of {len(sends)} sends)"
    b = Diagram(title, "run", rows, arrows, marks, procs)
    return b.to_dict(interactive=False, violation=violation,
                     checks=checks_of(report) if report is not None else None,
                     now={"t": max(times) if times else 0.0})


def _run_arrow(r: dict, src: Optional[dict], sent_row: Optional[int], end_row: Optional[int],
               kind: str, label: str, *, outcome: str) -> dict[str, Any]:
    sender = src["sender"] if src is not None else None
    return {
        "key": f"r{sent_row}-{end_row}-{r['receiver']}", "msg_id": int_or_none(r["msg_id"]),
        "kind": kind,
        "from": sender, "to": r["receiver"], "sent": sent_row, "end": end_row,
        "t_sent": src["time"] if src is not None else None,
        "t_end": r["time"] if end_row is not None else None, "outcome": outcome,
        "reason": r["reason"] or "", "round": round_text(int_or_none(r["round"])),
        "instance": instance_of(int_or_none(r["instance"])), "values": None,
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
        t = num(rec.get("time"))
        if t is None or t > last_t + 1e-3:
            continue  # after the part of the run shown
        process = process_name("learner", int(rec["learner"]))
        mine = [row for (tt, row) in at.get(process, []) if tt <= t + 1e-9]
        row = mine[-1] if mine else max((i for i, r in enumerate(rows) if r["t"] <= t),
                                        default=0)
        marks.append(delivery_mark(process, row, int(rec["position"]), str(rec["value"]),
                                    int_or_none(rec.get("instance")), t))
    return marks


__all__ = ["from_run"]
