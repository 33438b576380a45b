"""Safety and liveness of atomic broadcast, checked on plain data.

What the learners delivered (and, when known, what the clients proposed) is all the
checks need, so the simulator's results, real run directories (:mod:`paxos_edu.runlog`)
and the tests share them. Four properties, each mapped to the course's test script:

============================ ================================================================
property                     meaning
============================ ================================================================
total order / agreement      for every two learners, one delivered sequence is a prefix of
                             the other ("Test 1: learners learned the same values in the
                             same order")
integrity                    no learner delivers a submission twice ("Test 3: no value
                             learned twice")
validity                     every delivered submission was proposed ("Test 2: values learned
                             were actually proposed")
completeness (liveness)      every proposed submission was delivered by every live learner
                             ("Test 3: every proposed value learned")
============================ ================================================================

Two flavours of data:

* :func:`check_sequences` -- :class:`~paxos_edu.messages.Submission` tuples, compared by
  identity ``(client, session, seq)`` *and* value: two learners that deliver the same
  identity with different strings disagree; a delivered submission whose value differs
  from the proposed one was not proposed.
* :func:`check_values` -- course files, strings only. Order compares strings position by
  position; with identities unknown, a value proposed ``k`` times may be delivered at most
  ``k`` times (integrity), must have been proposed at least once (validity), and must be
  delivered ``k`` times by every live learner (completeness).

Every check is linear (sets, counters, one C-level list comparison); the first violating
position is searched for only when a check fails.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from .messages import Submission

ORDER = "total order / agreement"
INTEGRITY = "integrity"
VALIDITY = "validity"
COMPLETENESS = "completeness"
PROPERTIES = (ORDER, INTEGRITY, VALIDITY, COMPLETENESS)
COURSE_TESTS = {
    ORDER: "Test 1: learners learned the same values in the same order",
    INTEGRITY: "Test 3: no value learned twice",
    VALIDITY: "Test 2: values learned were actually proposed",
    COMPLETENESS: "Test 3: every proposed value learned",
}


@dataclass(frozen=True)
class Violation:
    """One broken property: which, why, and where (learner id, 0-based position)."""

    property: str
    detail: str
    learner: int | None = None
    position: int | None = None


class CheckFailed(AssertionError):
    """Raised by :meth:`CheckReport.raise_if_failed`; ``.report`` holds the report.

    An AssertionError, so that a failed check reads as a failed test under pytest.
    """

    def __init__(self, report: CheckReport) -> None:
        super().__init__(str(report))
        self.report = report


@dataclass(frozen=True)
class _Row:
    property: str
    ok: bool | None  # None: not checked
    detail: str


@dataclass(frozen=True)
class CheckReport:
    """The verdict on every property, with the violations found.

    Attributes:
        rows: one per property, in :data:`PROPERTIES` order.
        violations: the first violation of each property for each learner, in property
            order, then by position and learner.
    """

    rows: tuple[_Row, ...]
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no checked property is violated."""
        return all(row.ok is not False for row in self.rows)

    @property
    def first_violation(self) -> Violation | None:
        """The first violation of the first failing property (None when ok)."""
        return self.violations[0] if self.violations else None

    @property
    def table(self) -> pd.DataFrame:
        """One row per property: property, course_test, ok (NA if not checked), checked,
        detail."""
        return pd.DataFrame(
            {
                "property": [r.property for r in self.rows],
                "course_test": [COURSE_TESTS[r.property] for r in self.rows],
                "ok": pd.array([r.ok for r in self.rows], dtype="boolean"),
                "checked": [r.ok is not None for r in self.rows],
                "detail": [r.detail for r in self.rows],
            }
        )

    def raise_if_failed(self) -> CheckReport:
        """Raise :class:`CheckFailed` when a property is violated; return self otherwise."""
        if not self.ok:
            raise CheckFailed(self)
        return self

    def __str__(self) -> str:
        head = "all checked properties hold" if self.ok else "PROPERTIES VIOLATED"
        width = max(len(p) for p in PROPERTIES)
        lines = [head]
        for row in self.rows:
            lines.append(f"{_mark(row.ok)} {row.property:<{width}}  {row.detail}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colours = {True: "#e6f4ea", False: "#fce8e6", None: "#f1f3f4"}
        head = "All checked properties hold" if self.ok else "Properties violated"
        # In course-test order, a test that covers two properties (Test 3: nothing twice,
        # nothing missing) written once, in one cell spanning both rows.
        rows = sorted(self.rows, key=lambda r: COURSE_TESTS[r.property].split(":")[0])
        cells = []
        for row in rows:
            test, _, _ = COURSE_TESTS[row.property].partition(": ")
            group = [r for r in rows if COURSE_TESTS[r.property].startswith(test + ":")]
            course = ""
            if group[0] is row:
                whats = " and ".join(COURSE_TESTS[r.property].partition(": ")[2] for r in group)
                course = (f'<td rowspan="{len(group)}" style="background:#ffffff">'
                          f"{html.escape(f'{test}: {whats}')}</td>")
            cells.append(
                f'<tr style="background:{colours[row.ok]};color:#202124">'
                f'<td style="text-align:center">{_mark(row.ok)}</td>'
                f"<td>{html.escape(row.property)}</td>"
                f"{course}"
                f'<td style="text-align:left">{html.escape(row.detail)}</td></tr>'
            )
        return (
            f'<div><b style="color:{"#137333" if self.ok else "#c5221f"}">{head}</b>'
            '<table style="border-collapse:collapse">'
            "<tr><th></th><th>property</th><th>course test</th><th>detail</th></tr>"
            + "".join(cells)
            + "</table></div>"
        )


def _mark(ok: bool | None) -> str:
    return {True: "✓", False: "✗", None: "–"}[ok]


# ---------------------------------------------------------------------- public API


def check_sequences(
    learned: Mapping[int, Sequence[Submission]],
    proposed: Iterable[Submission] | Mapping[int, Iterable[Submission]] | None,
    *,
    live_learners: Iterable[int] | None = None,
    expect_complete: bool = True,
) -> CheckReport:
    """Check delivered :class:`Submission` sequences, by identity and value.

    Args:
        learned: learner id -> the submissions it delivered, in delivery order.
        proposed: every submission the clients made (or client id -> its submissions);
            None when unknown (validity and completeness are then not checked).
        live_learners: learners that must have delivered everything (default: all of
            ``learned``); an id missing from ``learned`` counts as having delivered
            nothing.
        expect_complete: False when learners may legitimately hold only a prefix (run
            stopped early, majority of acceptors down): completeness is not checked.
    """
    seqs = {int(k): list(v) for k, v in learned.items()}
    props = _flatten(proposed)
    return _report(
        (ORDER, lambda: _check_order(seqs, _fmt_sub)),
        (INTEGRITY, lambda: _check_integrity_identity(seqs)),
        (VALIDITY, lambda: _check_validity(seqs, props, _fmt_sub, _explain_identity(props))),
        (
            COMPLETENESS,
            lambda: _check_completeness_identity(seqs, props, live_learners, expect_complete),
        ),
    )


def check_values(
    learned: Mapping[int, Sequence[str]],
    proposed: Mapping[int, Sequence[str]] | Iterable[str] | None,
    *,
    live_learners: Iterable[int] | None = None,
    expect_complete: bool = True,
) -> CheckReport:
    """Check course-style data: value strings only, no identities.

    Args:
        learned: learner id -> values it delivered, in order (a ``learn<id>`` file).
        proposed: client id -> values it submitted (``prop<id>`` files), or a flat
            iterable of values; None when unknown.
        live_learners, expect_complete: as in :func:`check_sequences`.
    """
    seqs = {int(k): list(v) for k, v in learned.items()}
    if proposed is None:
        origin: list[tuple[int | None, int, str]] | None = None
    elif isinstance(proposed, Mapping):
        origin = [(int(c), i, v) for c in sorted(proposed) for i, v in enumerate(proposed[c])]
    else:
        origin = [(None, i, v) for i, v in enumerate(proposed)]
    counts = None if origin is None else Counter(v for _, _, v in origin)
    return _report(
        (ORDER, lambda: _check_order(seqs, repr)),
        (INTEGRITY, lambda: _check_integrity_values(seqs, counts)),
        (VALIDITY, lambda: _check_validity(seqs, counts, _short, lambda v: "")),
        (
            COMPLETENESS,
            lambda: _check_completeness_values(seqs, origin, live_learners, expect_complete),
        ),
    )


# ---------------------------------------------------------------------- helpers

_Result = tuple[tuple[bool | None, str], list[Violation]]


def _report(*checks: tuple[str, Callable[[], _Result]]) -> CheckReport:
    """Run each property's check in turn: one row per property, its violations by position."""
    rows, violations = [], []
    for prop, check in checks:
        row, found = check()
        rows.append(_Row(prop, row[0], row[1]))
        violations.extend(sorted(found, key=lambda v: (v.position or 0, v.learner or 0)))
    return CheckReport(tuple(rows), violations)


def _flatten(proposed: Any) -> list[Submission] | None:
    if proposed is None:
        return None
    if isinstance(proposed, Mapping):
        return [s for k in sorted(proposed) for s in proposed[k]]
    return list(proposed)


def _short(value: str, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _fmt_sub(sub: Sequence[Any]) -> str:
    client, session, seq, value = sub
    return f"{_short(value)} (client {client} session {session} seq {seq})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _check_order(seqs: dict[int, list[Any]], fmt: Callable[[Any], str]) -> _Result:
    """Every sequence must be a prefix of the longest one (ties: lowest learner id).

    That is equivalent to "every pair is prefix-related", in linear time.
    """
    if not seqs:
        return (True, "no learners"), []
    ref_id = min(seqs, key=lambda k: (-len(seqs[k]), k))
    ref = seqs[ref_id]
    found = []
    for learner in sorted(seqs):
        seq = seqs[learner]
        if learner == ref_id or seq == ref[: len(seq)]:
            continue
        pos = next(i for i, (a, b) in enumerate(zip(seq, ref, strict=False)) if a != b)
        found.append(
            Violation(
                ORDER,
                f"learner {learner} delivered {fmt(seq[pos])} at position {pos} where "
                f"learner {ref_id} delivered {fmt(ref[pos])}",
                learner,
                pos,
            )
        )
    if found:
        return _summarise(found, "")
    if len(seqs) == 1:
        return (True, f"one learner ({len(ref)} values): nothing to compare"), []
    return (
        True,
        f"{len(seqs)} learners: every sequence is a prefix of the longest ({len(ref)} values)",
    ), []


def _check_integrity_identity(seqs: dict[int, list[Submission]]) -> _Result:
    found = []
    total = 0
    for learner in sorted(seqs):
        seq = seqs[learner]
        total += len(seq)
        keys = [s[:3] for s in seq]
        if len(set(keys)) == len(keys):
            continue
        first_at: dict[tuple[int, int, int], int] = {}
        for pos, key in enumerate(keys):
            if key in first_at:
                found.append(
                    Violation(
                        INTEGRITY,
                        f"learner {learner} delivered {_fmt_sub(seq[pos])} twice, at "
                        f"positions {first_at[key]} and {pos}",
                        learner,
                        pos,
                    )
                )
                break
            first_at[key] = pos
    return _summarise(found, f"no learner delivered a submission twice ({total} deliveries)")


def _check_integrity_values(seqs: dict[int, list[str]], proposed: Counter[str] | None) -> _Result:
    if proposed is None:
        return (None, "not checked: no proposed values known (identities unknown)"), []
    found = []
    total = 0
    for learner in sorted(seqs):
        seq = seqs[learner]
        total += len(seq)
        delivered = Counter(seq)
        if all(n <= max(proposed[v], 1) for v, n in delivered.items()):
            continue
        running: Counter[str] = Counter()
        for pos, value in enumerate(seq):
            running[value] += 1
            allowed = max(proposed[value], 1)
            if running[value] > allowed:
                times = "once" if allowed == 1 else f"{allowed} times"
                found.append(
                    Violation(
                        INTEGRITY,
                        f"learner {learner} delivered {_short(value)} again at position "
                        f"{pos}: {running[value]} times, proposed {times}",
                        learner,
                        pos,
                    )
                )
                break
    return _summarise(
        found, f"no value delivered more often than it was proposed ({total} deliveries)"
    )


def _explain_identity(proposed: list[Submission] | None) -> Callable[[Any], str]:
    def explain(sub: Any) -> str:
        by_key = {p[:3]: p[3] for p in proposed or ()}
        if sub[:3] in by_key:
            return f"; that submission's proposed value is {_short(by_key[sub[:3]])}"
        return ""

    return explain


def _check_validity(
    seqs: dict[int, list[Any]],
    proposed: Iterable[Any] | None,
    fmt: Callable[[Any], str],
    explain: Callable[[Any], str],
) -> _Result:
    if proposed is None:
        return (None, "not checked: proposed values unknown"), []
    allowed = proposed if isinstance(proposed, (set, frozenset)) else set(proposed)
    found = []
    total = 0
    for learner in sorted(seqs):
        seq = seqs[learner]
        total += len(seq)
        if allowed.issuperset(seq):
            continue
        pos = next(i for i, item in enumerate(seq) if item not in allowed)
        found.append(
            Violation(
                VALIDITY,
                f"learner {learner} delivered {fmt(seq[pos])} at position {pos}, which no "
                f"client proposed{explain(seq[pos])}",
                learner,
                pos,
            )
        )
    return _summarise(found, f"all {total} delivered values were proposed")


def _live(seqs: dict[int, list[Any]], live_learners: Iterable[int] | None) -> list[int]:
    return sorted(seqs) if live_learners is None else sorted({int(x) for x in live_learners})


def _check_completeness_identity(
    seqs: dict[int, list[Submission]],
    proposed: list[Submission] | None,
    live_learners: Iterable[int] | None,
    expect_complete: bool,
) -> _Result:
    skip = _completeness_skipped(proposed, expect_complete)
    if skip:
        return skip
    assert proposed is not None
    live = _live(seqs, live_learners)
    found = []
    for learner in live:
        delivered = set(seqs.get(learner, ()))
        if delivered.issuperset(proposed):
            continue
        missing = [p for p in proposed if p not in delivered]
        found.append(
            Violation(
                COMPLETENESS,
                f"learner {learner} never delivered {len(missing)} of {len(proposed)} "
                f"proposed values, first {_fmt_sub(missing[0])}",
                learner,
            )
        )
    return _summarise(
        found, f"all {_plural(len(live), 'live learner')} delivered all {len(proposed)} proposed"
    )


def _check_completeness_values(
    seqs: dict[int, list[str]],
    origin: list[tuple[int | None, int, str]] | None,
    live_learners: Iterable[int] | None,
    expect_complete: bool,
) -> _Result:
    skip = _completeness_skipped(origin, expect_complete)
    if skip:
        return skip
    assert origin is not None
    wanted = Counter(v for _, _, v in origin)
    live = _live(seqs, live_learners)
    found = []
    for learner in live:
        missing = wanted - Counter(seqs.get(learner, ()))
        if not missing:
            continue
        client, line, value = next(o for o in origin if missing[o[2]] > 0)
        where = "" if client is None else f" (client {client}, line {line + 1})"
        found.append(
            Violation(
                COMPLETENESS,
                f"learner {learner} never delivered {missing.total()} of {len(origin)} "
                f"proposed values, first {_short(value)}{where}",
                learner,
            )
        )
    return _summarise(
        found, f"all {_plural(len(live), 'live learner')} delivered all {len(origin)} proposed"
    )


def _completeness_skipped(proposed: Any, expect_complete: bool) -> _Result | None:
    if not expect_complete:
        return (None, "not checked: expect_complete=False (a prefix is acceptable)"), []
    if proposed is None:
        return (None, "not checked: proposed values unknown"), []
    return None


def _summarise(found: list[Violation], ok_detail: str) -> _Result:
    if not found:
        return (True, ok_detail), []
    first = min(found, key=lambda v: (v.position or 0, v.learner or 0))
    extra = f" (and {len(found) - 1} more learners)" if len(found) > 1 else ""
    return (False, first.detail + extra), found
