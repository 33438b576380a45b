"""Checking notebook 10's exercise answers from the files the grader kept.

``grade(folder, workdir=...)`` keeps each scenario's ``prop<id>`` and ``learn<id>`` files in
``workdir/<scenario>``. These checkers judge an answer from those very files -- which
properties an implementation violates, which implementations the course harness's
``sort -u | wc -l`` comparison catches -- with the conventions of
:mod:`paxos_edu.exercises` (a blank answer passes; a wrong one raises
:class:`~paxos_edu.exercises.WrongAnswer` with the evidence).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Union

from .checks import COMPLETENESS, INTEGRITY, ORDER, VALIDITY, check_values
from .errors import UsageError
from .exercises import Verdict, WrongAnswer, answer_set, blank_verdict, is_blank
from .grade_scenarios import BY_NAME

__all__ = ["check_caught_by_counts", "check_violated_property"]

# ---------------------------------------------------------------------- answers read off a grading


_PROPERTY_WORDS = {"total order": ORDER, "agreement": ORDER, "order": ORDER, ORDER: ORDER,
                   INTEGRITY: INTEGRITY, VALIDITY: VALIDITY, COMPLETENESS: COMPLETENESS}
_SHORT = {ORDER: "total order", INTEGRITY: "integrity", VALIDITY: "validity",
          COMPLETENESS: "completeness"}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _kept_scenarios(workdir: Union[str, Path]) -> list[tuple[str, dict[int, list[str]],
                                                             dict[int, list[str]]]]:
    """``(scenario, learned, proposed)`` for each scenario folder ``grade(workdir=...)`` kept."""
    base = Path(workdir)
    out = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
        learned = {int(p.name[5:]): _lines(p) for p in folder.glob("learn[0-9]*")}
        proposed = {int(p.name[4:]): _lines(p) for p in folder.glob("prop[0-9]*")}
        if learned and proposed:
            out.append((folder.name, learned, proposed))
    if not out:
        raise UsageError(f"{base}: no scenario folder with learn<id> and prop<id> files: "
                         "pass the workdir= that grade(...) kept its files in")
    return out


def _as_properties(answer: Any) -> Optional[frozenset]:
    words = answer_set(answer, numbers=False)
    if words is None or not all(isinstance(w, str) and w in _PROPERTY_WORDS for w in words):
        return None
    return frozenset(_PROPERTY_WORDS[w] for w in words)


def check_violated_property(answer: Any, workdir: Union[str, Path], *,
                            name: str = "your answer") -> Verdict:
    """Check which atomic-broadcast property an implementation violates (notebook 10, ex. 1).

    The expected answer is judged from the grader's own files: every scenario folder that
    ``grade(..., workdir=workdir)`` kept (its ``learn<id>`` and ``prop<id>`` files) goes
    through :func:`~paxos_edu.checks.check_values`, completeness only where the scenario
    expects every value learned. The answer is right when it names exactly the properties
    violated in some scenario (one name, or a set when several are).

    Args:
        answer: ``"completeness"``, ``"total order"`` (or ``"agreement"``), ``"integrity"``,
            ``"validity"``, or a set of them; blank passes.
        workdir: the folder the implementation's scenarios were kept in.
        name: the answer's variable name, for the messages.

    Raises:
        WrongAnswer: not those properties; the message gives the evidence for and against.
        UsageError: ``workdir`` holds no kept scenario.
    """
    runs = _kept_scenarios(workdir)
    if is_blank(answer):
        return blank_verdict(name)
    given = _as_properties(answer)
    if given is None:
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): give one of "
                          f"{', '.join(repr(w) for w in _SHORT.values())}.")
    evidence: dict[str, tuple[str, str]] = {}  # property -> (scenario, first violation)
    held: dict[str, str] = {}  # property -> why it held, from the first scenario
    for scenario, learned, proposed in runs:
        complete = scenario in BY_NAME and BY_NAME[scenario].expect in ("all", "catch-up")
        report = check_values(learned, proposed, expect_complete=complete)
        for v in report.violations:
            evidence.setdefault(v.property, (scenario, v.detail))
        for row in report.rows:
            if row.ok:
                held.setdefault(row.property, f"{scenario}: {row.detail}")
    if given == set(evidence):
        found = "; ".join(f"{_SHORT[p]} in {s}: {d}" for p, (s, d) in sorted(evidence.items()))
        return Verdict(True, f"Correct! {found}." if found else "Correct!")
    why = []
    for p in sorted(given - set(evidence)):
        why.append(f"{_SHORT[p].capitalize()} holds in every scenario"
                   + (f" ({held[p]})." if p in held else "."))
    for p in sorted(set(evidence) - given):
        s, d = evidence[p]
        why.append(f"But {_SHORT[p]} is violated, in {s}: {d}.")
    raise WrongAnswer(f"Not quite ({name} = {answer!r}). " + " ".join(why))


def _distinct_count_catches(workdir: Union[str, Path]) -> list[str]:
    """Where the course harness's ``sort -u | wc -l`` comparison fails an implementation:
    a learner whose distinct lines are not as many as the distinct values proposed, in a
    scenario that expects every value learned (one line per finding; empty: it passes)."""
    found = []
    for scenario, learned, proposed in _kept_scenarios(workdir):
        if scenario in BY_NAME and BY_NAME[scenario].expect not in ("all", "catch-up"):
            continue
        want = len({v for vals in proposed.values() for v in vals})
        for lid, vals in sorted(learned.items()):
            if len(set(vals)) != want:
                found.append(f"{scenario}, learner {lid}: {len(set(vals))} distinct lines "
                             f"for {want} distinct values proposed")
    return found


def check_caught_by_counts(answer: Any, workdirs: Mapping[str, Union[str, Path]], *,
                           name: str = "caught_by_counts") -> Verdict:
    """Check which implementations the course's count comparison catches (notebook 10, ex. 2).

    The course harness compares, per learner, ``sort -u learn<id> | wc -l`` with the
    number of distinct proposed values. This checker does exactly that on the files the
    grader kept for each implementation and expects the set of names it catches.

    Args:
        answer: a set (or list, or one name) of implementation names; blank passes.
        workdirs: implementation name -> the folder ``grade(..., workdir=...)`` kept.
        name: the answer's variable name, for the messages.

    Raises:
        WrongAnswer: not that set; the message gives the counts of each name it got wrong.
        UsageError: a folder holds no kept scenario.
    """
    caught = {impl: _distinct_count_catches(d) for impl, d in workdirs.items()}
    if is_blank(answer):
        return blank_verdict(name)
    given = answer_set(answer, numbers=False)
    expected = {impl for impl, found in caught.items() if found}
    known = {impl.lower(): impl for impl in workdirs}
    if given is None or not all(isinstance(g, str) and g in known for g in given):
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): give a set of names among "
                          f"{sorted(workdirs)}.")
    chosen = {known[g] for g in given}
    if chosen == expected:
        return Verdict(True, "Correct! " + "; ".join(
            f"{impl}: {caught[impl][0]}" for impl in sorted(expected)) + "." if expected else
            "Correct! The counts catch none of them.")
    why = [f"{impl} passes the count comparison: each of its learners has as many distinct "
           "lines as there are distinct values proposed." for impl in sorted(chosen - expected)]
    why += [f"{impl} is caught: {caught[impl][0]}." for impl in sorted(expected - chosen)]
    raise WrongAnswer(f"Not quite ({name} = {answer!r}). " + " ".join(why))
