"""What a notebook and the Stepper show of a simulation: its state as human HTML tables.

The acceptors', proposers' and learners' tables (:func:`state_tables`), the copies in
flight (:func:`in_flight_html`) and both side by side in a notebook cell
(:func:`show_state`, notebooks 02, 05, 06): rounds as ``"1.2"``, blanks instead of missing
values, no pandas index, and the quorum shading spelled out in words
(:func:`quorum_marks`, which :mod:`paxos_edu.viz` uses too). The tables are read from the
simulator's own DataFrames (:mod:`paxos_edu.sim_tables`).

Siblings: :mod:`paxos_edu.stepper` (the Stepper widget's actions) and
:mod:`paxos_edu.stepper_page` (its page) show these tables; :mod:`paxos_edu.stepper`
re-exports :func:`state_tables`, :func:`in_flight_html` and :func:`show_state`.
"""

from __future__ import annotations

import html
from typing import Any, Iterable, Optional

import pandas as pd
from IPython.display import HTML

from .errors import UsageError
from .quorum import quorum_size

__all__ = ["HIDDEN_KINDS", "STATE_CSS", "in_flight_html", "quorum_marks", "show_state",
           "state_tables"]

HIDDEN_KINDS = ("HEARTBEAT",)
"""Kinds hidden from the list unless "show heartbeats" is ticked (they hide the phases)."""


# ---------------------------------------------------------------------- state tables


def _blank(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "up" if value else "crashed"
    return str(value)


def _html_table(rows: list[dict], columns: list[tuple[str, str]], title: str,
                shade: Optional[dict[tuple[int, str], str]] = None, note: str = "") -> str:
    """Rows as an HTML table: ``columns`` pairs (key, heading); no index, blanks for missing
    values; ``shade`` maps (row, key) to a background colour."""
    shade = shade or {}
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in columns)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for key, _ in columns:
            colour = shade.get((r, key))
            style = f" style='background-color:{colour}'" if colour else ""
            cells.append(f"<td{style}>{html.escape(_blank(row[key]))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    foot = f"<div class='paxos-note'>{html.escape(note)}</div>" if note else ""
    return (f"<div class='paxos-table'><b>{html.escape(title)}</b>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{foot}</div>")


def _acceptor_shade(rows: list[dict], quorum: int) -> dict[tuple[int, str], str]:
    """A promise held by a quorum (orange); a quorum's votes in one round (blue)."""
    shade: dict[tuple[int, str], str] = {}
    for column, cells, colour in (("rnd", ("rnd",), "#FCE3B6"),
                                  ("v_rnd", ("v_rnd", "v_val"), "#CFE6F6")):
        holders: dict[tuple, set] = {}
        for row in rows:
            if row[column] != "-":
                holders.setdefault((row["instance"], row[column]), set()).add(row["acceptor"])
        for r, row in enumerate(rows):
            if len(holders.get((row["instance"], row[column]), ())) >= quorum:
                shade.update({(r, c): colour for c in cells})
    return shade


def quorum_marks(rows: list[dict], quorum: int) -> list[str]:
    """The shading of :func:`_acceptor_shade` in words, one text per acceptor row, so the
    table does not carry its meaning in pale tints alone: ``"quorum promised"`` where a
    quorum holds the row's promise, ``"chosen"`` where a quorum voted for the row's value
    in one round, both joined by ``"; "``, or ``""``."""
    shade = _acceptor_shade(rows, quorum)
    return ["; ".join(word for key, word in (("rnd", "quorum promised"), ("v_rnd", "chosen"))
                      if (r, key) in shade) for r in range(len(rows))]


def state_tables(sim: Any) -> dict[str, str]:
    """The acceptors', proposers' and learners' state as HTML tables with human labels:
    rounds as ``"1.2"`` (round 1 of proposer 2, ``-`` for none yet), no wire integers,
    blanks instead of missing values, no pandas index, processes as ``up`` / ``crashed``."""
    acc = sim.acceptor_table().to_dict("records")
    quorum = quorum_size(sim.acceptor_count)
    for row, mark in zip(acc, quorum_marks(acc, quorum)):
        row["quorum"] = mark
    return {
        "acceptors": _html_table(
            acc, [("acceptor", "acceptor"), ("alive", "state"), ("instance", "instance"),
                  ("rnd", "rnd"), ("v_rnd", "v_rnd"), ("v_val", "v_val"), ("quorum", "quorum")],
            f"Acceptors (a quorum is {quorum})", _acceptor_shade(acc, quorum),
            "rnd: highest round promised; v_rnd, v_val: last vote. Orange (quorum promised): a "
            "quorum promised that round; blue (chosen): a quorum voted for the value in one "
            "round, so it is chosen."),
        "proposers": _html_table(
            sim.proposer_table().to_dict("records"),
            [("proposer", "proposer"), ("alive", "state"), ("status", "status"),
             ("c_rnd", "c_rnd"), ("instance", "instance"), ("phase", "phase"),
             ("c_val", "c_val"), ("promises", "promises"), ("pending", "pending")],
            "Proposers", note="c_rnd: its round; phase 1 waits for promises, 2 for the decision."),
        "learners": _html_table(
            sim.learner_table().to_dict("records"),
            [("learner", "learner"), ("alive", "state"), ("delivered", "delivered"),
             ("next_instance", "next instance"), ("waiting", "waiting"), ("values", "values")],
            "Learners", note="waiting: decided but blocked behind a gap."),
    }


def in_flight_html(sim: Any, kinds: Optional[Iterable[str]] = None) -> str:
    """The copies in flight as an HTML table (oldest first): ``kinds`` such as
    ``["PHASE1A"]`` (default every kind but heartbeats), blanks where a message has no
    instance or round."""
    wanted = {k.upper() for k in kinds} if kinds is not None else None
    rows = [r for r in sim.in_flight_table().to_dict("records")
            if (r["kind"] in wanted if wanted is not None else r["kind"] not in HIDDEN_KINDS)]
    return _html_table(rows, [("id", "id"), ("sender", "from"), ("receiver", "to"),
                              ("kind", "kind"), ("instance", "instance"), ("round", "round"),
                              ("summary", "what it says")],
                       f"In flight ({len(rows)} of {len(sim.in_flight)} copies)")


def show_state(sim: Any, *tables: str, kinds: Optional[Iterable[str]] = None) -> HTML:
    """What a notebook cell shows of a simulation: the tables the Stepper shows, by name.

    Args:
        tables: any of ``"acceptors"``, ``"proposers"``, ``"learners"``, ``"in_flight"``
            (default the first three), side by side.
        kinds: for ``"in_flight"``, the message kinds to list (default all but heartbeats).
    """
    names = tables or ("acceptors", "proposers", "learners")
    known = ("acceptors", "proposers", "learners", "in_flight")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"show_state: unknown table {unknown[0]!r}; tables are "
                         f"{', '.join(known)}")
    views = state_tables(sim) if set(names) - {"in_flight"} else {}
    parts = [in_flight_html(sim, kinds) if n == "in_flight" else views[n] for n in names]
    return HTML(STATE_CSS + "<div class='paxos-state' style='display:flex;flex-wrap:wrap;"
                "gap:16px'>" + "".join(parts) + "</div>")


STATE_CSS = """<style>
.paxos-table {line-height:1.35}
.paxos-table table {border-collapse:collapse; font-size:12px; margin:2px 0}
.paxos-table th, .paxos-table td {
  border:1px solid #ddd; padding:1px 6px; text-align:left; white-space:nowrap}
.paxos-table th {background:#f3f3f3}
.paxos-table .paxos-note {font-size:11px; color:#555; max-width:460px}
.paxos-stepper select {font-family:var(--jp-code-font-family, monospace); font-size:12px}
</style>"""
"""The tables' style (and the Stepper's list font), sent with every view of them."""
