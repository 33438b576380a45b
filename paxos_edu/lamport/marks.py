"""The marks on a Lamport diagram's lifelines, and its safety verdict.

A delivery mark sits on the learner's lifeline at the row where the value is delivered
(one mark per learner and row: a batch is delivered at once). Safety is checked with
:mod:`paxos_edu.checks` on what the learners delivered; the first violation is attached
to the delivery marks that conflict, on the row where the second one happens.
"""

from __future__ import annotations

from typing import Any, Optional

from ..checks import INTEGRITY, ORDER, VALIDITY, CheckReport
from ..processes import process_name
from .words import VALUE_LABEL_LIMIT, cut_text, human


def delivery_mark(process: str, row: int, pos: int, value: str, instance: Optional[int],
                   t: Optional[float]) -> dict[str, Any]:
    """The mark of ``process`` delivering ``value`` as its value number ``pos`` (from 0)."""
    where = f" (instance {instance})" if instance is not None else ""
    return {"type": "delivery", "process": process, "row": row, "position": pos,
            "instance": instance, "value": value, "text": cut_text(value, VALUE_LABEL_LIMIT),
            "t": t, "violation": False,
            "detail": f"{human(process)} delivers {value!r}{where} as value #{pos + 1}"}


def merge_marks(marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
        first["text"] = cut_text(", ".join(first["values"]), VALUE_LABEL_LIMIT)
        first["detail"] += "; " + m["detail"].split(" delivers ", 1)[1]
    return out


def checks_of(report: Optional[CheckReport]) -> Optional[list[dict[str, Any]]]:
    """The checker's rows (property, ok, detail) for the page; None without a report."""
    if report is None:
        return None
    return [{"property": row.property, "ok": row.ok, "detail": row.detail}
            for row in report.rows]


def violation_of(report: Optional[CheckReport], marks: list[dict[str, Any]]
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
        return (f"{human(me['process'])} delivered {me['value']!r} {where}, "
                f"{human(other['process'])} delivered {other['value']!r}")
    if v.property == INTEGRITY:
        return f"{human(me['process'])} delivered {me['value']!r} twice ({where})"
    if v.property == VALIDITY:
        return f"{human(me['process'])} delivered {me['value']!r}, which nobody proposed"
    return v.detail


__all__ = ["checks_of", "delivery_mark", "merge_marks", "violation_of"]
