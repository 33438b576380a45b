"""Checking the notebooks' exercise answers.

An exercise cell holds a blank answer (``quorum_of_5 = None``); the next cell calls
:func:`check`. Three outcomes, on purpose:

* **blank** (``None``, ``...`` or ``""``): the cell *passes* and says the answer is still
  blank -- so that "Run all" and the course's CI run every notebook top to bottom without
  answers. A passing check cell therefore proves nothing until it says "Correct!";
* **correct**: the answer equals the expected one *up to form* -- a list or a tuple for a
  set, ``"1.2"`` or ``1.2`` for round 1.2, ``"15"`` or ``15.0`` for 15, ``0``/``"no"`` for
  ``False``;
* **wrong**: :class:`WrongAnswer` (an ``AssertionError``) with the exercise's hint, so the
  cell turns red.

``kind`` says how to compare; by default it follows ``expected`` (a bool, a number, a
set, a string). Numbers compare within ``tolerance``.

An exercise whose answer is read off a run has a checker of its own that reads the
expected answer from that very run and, for a wrong answer, says what the number looks
like instead (:func:`check_first_prepare`). Notebook 10's checks, judged from the files
the grader kept, are in :mod:`paxos_edu.exercises_grading`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from .errors import UsageError
from .processes import process_name
from .rounds import format_round

__all__ = ["KINDS", "Verdict", "WrongAnswer", "check", "check_all", "check_bugs_still_unsafe",
           "check_delivered_each", "check_duels_with_timeout", "check_first_prepare",
           "check_retry_ratio", "check_safety_or_liveness", "is_blank"]

KINDS = ("bool", "number", "set", "round", "choice")
"""How :func:`check` compares; ``choice`` is a word or phrase, compared without case."""

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class WrongAnswer(AssertionError):
    """An answer that is filled in and not the expected one (the message is the hint)."""


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found: ``ok`` is True (correct) or None (still blank)."""

    ok: Optional[bool]
    message: str

    def __repr__(self) -> str:  # a check cell's last line shows just the message
        return self.message

    def __bool__(self) -> bool:
        return bool(self.ok)


def is_blank(answer: Any) -> bool:
    """True for an answer not filled in yet: ``None``, ``...`` or an empty string."""
    return answer is None or answer is Ellipsis or (isinstance(answer, str) and not answer.strip())


def _kind_of(expected: Any) -> str:
    if isinstance(expected, bool):
        return "bool"
    if isinstance(expected, (int, float)):
        return "number"
    if isinstance(expected, (set, frozenset, list, tuple, range)):
        return "set"
    if isinstance(expected, str):
        return "choice"
    raise UsageError(f"check: cannot tell how to compare with {expected!r}; "
                     f"pass kind= one of {KINDS}")


def _as_bool(x: Any) -> Optional[bool]:
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)) and x in (0, 1):
        return bool(x)
    if isinstance(x, str) and x.strip().lower() in _TRUE | _FALSE:
        return x.strip().lower() in _TRUE
    return None


def _as_number(x: Any) -> Optional[float]:
    if isinstance(x, bool):
        return None  # True for 1 is a confusion, not an equivalent form
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x.strip().replace(",", ".").rstrip("%"))
        except ValueError:
            return None
    return None


def _as_round(x: Any) -> Optional[str]:
    """``counter.owner``: from a wire round (a large int), "1.2", 1.2 or (1, 2)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int) and x >= 1 << 32:
        return format_round(x)
    if isinstance(x, tuple) and len(x) == 2 and all(isinstance(p, int) for p in x):
        return f"{x[0]}.{x[1]}"
    if isinstance(x, (float, int)):
        x = repr(float(x)) if isinstance(x, float) else f"{x}.0"
    if isinstance(x, str):
        parts = x.strip().removeprefix("round").strip().split(".")
        if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
            return f"{int(parts[0])}.{int(parts[1])}"
    return None


def answer_set(x: Any, numbers: bool) -> Optional[frozenset]:
    """An answer as a set: one element alone is a set of one; numbers compare as numbers."""
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        x = [x]  # one element alone stands for a set of one
    out = []
    for item in x:
        if numbers:
            n = _as_number(item)
            if n is None:
                return None
            item = n
        elif isinstance(item, str):
            item = item.strip().lower()
        out.append(item)
    return frozenset(out)


def _same(answer: Any, expected: Any, kind: str, tolerance: float) -> bool:
    if kind == "bool":
        return _as_bool(answer) is not None and _as_bool(answer) == _as_bool(expected)
    if kind == "number":
        a, e = _as_number(answer), _as_number(expected)
        if e is None:
            raise UsageError(f"check: expected {expected!r} is not a number")
        return a is not None and math.isclose(a, e, rel_tol=0.0, abs_tol=tolerance)
    if kind == "round":
        e = _as_round(expected)
        if e is None:
            raise UsageError(f"check: expected {expected!r} is not a round")
        return _as_round(answer) == e
    if kind == "set":
        expected_items = list(expected)
        numbers = all(_as_number(e) is not None for e in expected_items) and bool(expected_items)
        e = answer_set(expected_items, numbers)
        a = answer_set(answer, numbers)
        return a is not None and a == e
    if kind == "choice":
        options = {expected} if isinstance(expected, str) else set(expected)
        return isinstance(answer, str) and answer.strip().lower() in {o.lower() for o in options}
    raise UsageError(f"check: unknown kind {kind!r}; use one of {KINDS}")


def check(answer: Any, expected: Any, *, kind: Optional[str] = None, hint: str = "",
          name: str = "your answer", tolerance: float = 1e-9, also: Iterable[Any] = ()) -> Verdict:
    """Check one exercise answer.

    Args:
        answer: what the student filled in; blank (``None``) passes with a note.
        expected: the right answer, computed from the notebook's objects where it can be.
        kind: ``"bool"``, ``"number"``, ``"set"``, ``"round"`` or ``"choice"``; by default
            from the type of ``expected``. For ``"choice"``, ``expected`` may be a set of
            accepted words.
        hint: what to look at again; the message of :class:`WrongAnswer`.
        name: the variable's name, for the messages.
        tolerance: how far a number may be from ``expected``.
        also: other answers that count as right too (a second, equally defensible count).

    Returns:
        A :class:`Verdict` (its repr is its message: "Correct!" or "still blank").

    Raises:
        WrongAnswer: the answer is filled in and wrong.
    """
    kind = kind or _kind_of(expected)
    if is_blank(answer):
        return blank_verdict(name)
    if any(_same(answer, e, kind, tolerance) for e in (expected, *also)):
        return Verdict(True, "Correct!")
    raise WrongAnswer(f"Not quite ({name} = {answer!r}). {hint}".strip())


def blank_verdict(name: str) -> Verdict:
    """What a check says of an answer still blank: it passes, so 'Run all' runs on."""
    return Verdict(None, f"{name} is still blank: fill it in above, then run this cell "
                         "again (a blank answer passes, so 'Run all' runs on).")


def check_all(*verdicts: Verdict) -> Verdict:
    """One verdict for several answers of one exercise: correct only when all are."""
    blank = [v for v in verdicts if v.ok is None]
    if not blank:
        return Verdict(True, "Correct!")
    if len(blank) == len(verdicts):
        return Verdict(None, "Still blank: fill in the answers above, then run this cell again "
                             "(blank answers pass, so 'Run all' runs on).")
    still = "; ".join(v.message.split(":")[0] for v in blank)
    return Verdict(None, f"Correct so far; {still}.")


# ---------------------------------------------------------------------- answers read off a run


def check_first_prepare(answer: Any, result: Any, *, proposer: int = 1,
                        name: str = "first_prepare_at") -> Verdict:
    """Check when a proposer sent its first prepare (notebook 04, exercise 3).

    The expected answer is read from the run itself: the first ``PHASE1A`` that proposer
    sent, in seconds after the run's first submission (the proposer's ``patience``: it
    heard no leader for that long). An answer within 2 % (at least 0.5 ms) of it is right,
    and the verdict says what share of the timeout and of the run that wait is. A wrong
    answer is told what it looks like instead: milliseconds, the whole timeout, the time
    an acceptor received the prepare, the whole run, or too early or too late.

    Args:
        answer: the student's number of seconds (``0.03`` or ``"0.03"``); blank passes.
        result: an :class:`~paxos_edu.experiments.ExperimentResult` (its ``params`` give
            the timeout) or a :class:`~paxos_edu.runlog.Run`, at trace level ``messages``.
        proposer: whose first prepare.
        name: the answer's variable name, for the messages.

    Returns:
        A :class:`Verdict`: "Correct! ..." or still blank.

    Raises:
        WrongAnswer: the answer is filled in and not that time.
        UsageError: the run logged no prepare of that proposer (wrong run or trace level).
    """
    run = getattr(result, "run", result)
    who = process_name("proposer", proposer)  # as in run.messages
    named = f"proposer {proposer}"  # as in prose
    expected, received = _first_prepare(run, who)
    timeout = (getattr(result, "params", None) or {}).get("timeout")
    completion = getattr(result, "completion_time", None)
    if is_blank(answer):
        return blank_verdict(name)
    given = _as_number(answer)
    if given is None:
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): give a time in seconds, "
                          "a number such as 0.25.")
    tolerance = max(5e-4, 0.02 * expected)  # "0.03" for 0.0303 s is a fair reading

    def near(t: Optional[float]) -> bool:
        return t is not None and math.isfinite(t) and abs(given - t) <= tolerance

    if near(expected):
        share = f"{expected / timeout:.0%} of the {timeout:g} s timeout" if timeout else ""
        if completion is not None and math.isfinite(completion) and completion > 0:
            share += (", yet " if share else "") + (
                f"{expected / completion:.0%} of the whole run ({completion:.3f} s)")
        return Verdict(True, f"Correct! {named} waited {expected:.4f} s before its first "
                             f"prepare" + (f": {share}." if share else "."))
    look = (f"Look for the first row of the run's messages table (.run.messages) with "
            f"process == '{who}', direction == 'sent' and kind == 'PHASE1A'.")
    if abs(given / 1000 - expected) <= tolerance:
        why = f"That looks like milliseconds: give seconds ({given:g} ms = {given / 1000:g} s)."
    elif near(timeout):
        why = (f"That is the whole timeout. {named} does not wait a full timeout before it "
               f"prepares, only its patience: a fraction of it. {look}")
    elif any(near(t) and abs(given - t) < abs(given - expected) for t in received):
        why = (f"That is when an acceptor received {named}'s first prepare; give when "
               f"{named} sent it. {look}")
    elif near(completion):
        why = f"That is when the last value was delivered (the completion time). {look}"
    elif given < expected:
        why = f"Too early: {named} had not sent a prepare yet. {look}"
    else:
        why = f"Too late: {named} sent its first prepare before that. {look}"
    raise WrongAnswer(f"Not quite ({name} = {answer!r}). {why}")


def _first_prepare(run: Any, who: str) -> tuple[float, list[float]]:
    """When ``who`` sent its first prepare, and when the acceptors received it (before its
    next prepare), in seconds after the run's first submission."""
    messages = getattr(run, "messages", None)
    if messages is None or not len(messages):
        raise UsageError("check_first_prepare: this run logged no messages: run it at trace "
                         "level 'messages' (a simulated run always is)")
    prepares = messages[messages["kind"] == "PHASE1A"]
    sent = prepares[(prepares["process"] == who) & (prepares["direction"] == "sent")]
    if not len(sent):
        raise UsageError(f"check_first_prepare: {who} sent no prepare (PHASE1A) in this run")
    proposed = getattr(run, "proposed", None)
    start = (float(proposed["time"].min()) if proposed is not None and len(proposed)
             else float(messages["time"].min()))
    times = sorted(sent["time"].astype(float))
    until = times[1] if len(times) > 1 else math.inf
    heard = prepares[(prepares["direction"] == "received") & (prepares["sender"] == who)]
    received = [t - start for t in heard["time"].astype(float) if t < until]
    return times[0] - start, received


# ---------------------------------------------------------------------- predictions run again

_SHORTER = {"shorter", "short", "fewer", "less", "they disappear", "disappear", "none"}
_LONGER = {"longer", "long", "more"}
_SAME = {"same", "the same", "unchanged", "no change"}


def check_duels_with_timeout(answer: Any, runs: Mapping[str, Any], *, timeout: float,
                             name: str = "your answer") -> Verdict:
    """Check a prediction of how a longer timeout changes duels (notebook 05, exercise 4).

    Each run of ``runs`` (an :class:`~paxos_edu.experiments.ExperimentResult` of
    :func:`~paxos_edu.experiments.run_duel`) is run again with the same parameters and
    ``timeout``; a duel's length is its step-downs (a leader pre-empted). The answer is
    right when it says which way that went in every run: ``"shorter"`` (or ``"fewer"``),
    ``"longer"`` or ``"the same"``. The verdict gives the counts before and after.

    Args:
        answer: ``"shorter"``, ``"longer"`` or ``"the same"``; blank passes.
        runs: label -> a duel run (e.g. ``{"backoff on": with_backoff, ...}``).
        timeout: the timeout to run them again with, in seconds.
        name: the answer's variable name, for the messages.

    Raises:
        WrongAnswer: the prediction is not what the runs show (the message shows them).
        UsageError: the runs went different ways (no one answer), or none was given.
    """
    from .experiments import duel_summary, run_duel  # experiments imports much; only here

    if not runs:
        raise UsageError("check_duels_with_timeout: give at least one duel run")
    if is_blank(answer):
        return blank_verdict(name)
    figures, ways = [], set()
    for label, result in runs.items():
        before = duel_summary(result)
        after = duel_summary(run_duel({**result.params, "timeout": timeout}))
        b, a = before["step_downs"], after["step_downs"]
        ways.add("shorter" if a < b else "longer" if a > b else "the same")
        figures.append(f"{label}, {b} step-down{'s' * (b != 1)} and highest round "
                       f"{before['highest_round']} at a {result.params['timeout']:g} s timeout, "
                       f"{a} and {after['highest_round']} at {timeout:g} s")
    if len(ways) != 1:
        raise UsageError(f"check_duels_with_timeout: the runs disagree ({'; '.join(figures)})")
    way = ways.pop()
    said = answer.strip().lower() if isinstance(answer, str) else None
    given = ("shorter" if said in _SHORTER else "longer" if said in _LONGER
             else "the same" if said in _SAME else None)
    if given is None:
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): answer \"shorter\", \"longer\" "
                          "or \"the same\".")
    if given == way:
        return Verdict(True, f"Correct! {way.capitalize()}: {'; '.join(figures)}.")
    raise WrongAnswer(f"Not quite ({name} = {answer!r}). Run again with a {timeout:g} s "
                      f"timeout, the duels get {way}: {'; '.join(figures)}.")



def check_delivered_each(answer: Any, result: Any, *, name: str = "your answer") -> Verdict:
    """Check how many values each learner delivered in a run (notebook 06, exercise 2).

    The expected count is read from the run (``result.run.learned``). When every learner
    delivered the same number, that one number is the answer; a mapping learner -> count
    (a dict, or the Series of ``groupby("learner").size()``) is right when it matches.

    Args:
        answer: a number, or a mapping learner id -> number; blank passes.
        result: a :class:`~paxos_edu.scenarios.ScenarioResult` or an experiment result
            (anything with ``.run``), or a :class:`~paxos_edu.runlog.Run`.
        name: the answer's variable name, for the messages.

    Raises:
        WrongAnswer: not those counts; the message says what the number looks like.
    """
    run = getattr(result, "run", result)
    learned = run.learned
    counts = {int(k): int(v) for k, v in learned.groupby("learner").size().items()}
    for lid in getattr(run, "learners", ()) or ():
        counts.setdefault(int(lid), 0)
    if is_blank(answer):
        return blank_verdict(name)
    each = ", ".join(f"learner {k}: {v}" for k, v in sorted(counts.items()))
    if isinstance(answer, Mapping) or hasattr(answer, "to_dict"):
        given = answer.to_dict() if hasattr(answer, "to_dict") else dict(answer)
        got = {int(k): _as_number(v) for k, v in given.items()}
        if got == {k: float(v) for k, v in counts.items()}:
            return Verdict(True, f"Correct! {each}.")
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): the run's learned table says "
                          f"{each}.")
    number = _as_number(answer)
    if number is None:
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): give a number of values.")
    if len(set(counts.values())) == 1 and number == next(iter(counts.values())):
        return Verdict(True, f"Correct! {each}: the same prefix for every learner.")
    proposed = getattr(run, "proposed", None)
    submitted = len(proposed) if proposed is not None else None
    if len(set(counts.values())) > 1:
        why = f"the learners delivered different numbers ({each}): give a dict"
    elif number == sum(counts.values()) and len(counts) > 1:
        why = f"that is all learners together; each delivered {next(iter(counts.values()))}"
    elif submitted is not None and number == submitted:
        why = (f"that is how many values the clients submitted; the learners delivered "
               f"fewer ({each}): the rest was never chosen, or not learned")
    else:
        why = f"count the rows of the run's learned table per learner ({each})"
    raise WrongAnswer(f"Not quite ({name} = {answer!r}): {why}.")



def check_bugs_still_unsafe(answer: Any, bugs: Iterable[Any], *, seed: int,
                            name: str = "your answer", **search: Any) -> Verdict:
    """Check which bugs still break safety in another setting (notebook 09, exercise 6).

    Each bug of ``bugs`` is searched again with
    :func:`~paxos_edu.explore.find_violation` (``seed`` and ``search``, e.g.
    ``proposers=1``); the answer is right when it names exactly the bugs for which that
    search finds a counterexample. The verdict says what each search found.

    Args:
        answer: a set (or list, or one name) of bug names or :class:`~paxos_edu.bugs.Bug`
            members, ``set()`` for none; blank passes.
        bugs: the bugs to search.
        seed: the search's seed.
        name: the answer's variable name, for the messages.
        **search: the setting, as :func:`~paxos_edu.explore.find_violation` takes it.

    Raises:
        WrongAnswer: not those bugs; the message says what the search found for each.
    """
    from .bugs import Bug
    from .explore import find_violation  # the search imports Hypothesis: only here

    chosen = [Bug(b) for b in bugs]
    if is_blank(answer):
        return blank_verdict(name)
    words = answer_set([getattr(a, "value", a) for a in answer]
                    if isinstance(answer, (set, frozenset, list, tuple)) else
                    getattr(answer, "value", answer), numbers=False)
    names = {b.value for b in chosen}
    if words is None or not all(isinstance(w, str) and w in names for w in words):
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): give a set of names among "
                          f"{sorted(names)} (set() for none).")
    found = {b.value: find_violation(b, seed=seed, **search) for b in chosen}
    unsafe = {b for b, cx in found.items() if cx is not None}
    setting = ", ".join(f"{k}={v!r}" for k, v in search.items()) or "the defaults"

    def said(b: str) -> str:
        cx = found[b]
        return (f"{b} breaks {cx.property} in a schedule of {len(cx.steps)} steps" if cx
                else f"nothing found for {b}")

    if words == unsafe:
        return Verdict(True, f"Correct! With {setting}: "
                             + "; ".join(said(b.value) for b in chosen) + ".")
    wrong = sorted((words - unsafe) | (unsafe - words))
    raise WrongAnswer(f"Not quite ({name} = {answer!r}). The search with {setting}, seed "
                      f"{seed}: " + "; ".join(said(b) for b in wrong) + ".")



def check_safety_or_liveness(answer: Any, result: Any, *, name: str = "your answer") -> Verdict:
    """Check whether a run broke safety, liveness, both or neither (notebook 07, exercise 3).

    Read from the run's own check report: safety is total order / agreement, integrity and
    validity (nothing bad is ever delivered); liveness is completeness (everything is
    delivered eventually). The verdict quotes the report's lines.

    Args:
        answer: ``"safety"``, ``"liveness"``, ``"both"`` or ``"neither"``; blank passes.
        result: an :class:`~paxos_edu.experiments.ExperimentResult` (its ``report``) or a
            :class:`~paxos_edu.checks.CheckReport`.
        name: the answer's variable name, for the messages.

    Raises:
        WrongAnswer: not what the report says; the message quotes it.
    """
    from .checks import COMPLETENESS

    report = getattr(result, "report", result)
    if is_blank(answer):
        return blank_verdict(name)
    broken = {row.property for row in report.rows if row.ok is False}
    safety = bool(broken - {COMPLETENESS})
    liveness = COMPLETENESS in broken
    expected = {(True, True): "both", (True, False): "safety", (False, True): "liveness",
                (False, False): "neither"}[(safety, liveness)]
    said = answer.strip().lower() if isinstance(answer, str) else None
    if said not in ("safety", "liveness", "both", "neither"):
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): answer \"safety\", \"liveness\", "
                          "\"both\" or \"neither\".")
    lines = "; ".join(f"{row.property} {'holds' if row.ok else 'fails'}: {row.detail}"
                      for row in report.rows if row.ok is not None)
    if said == expected:
        return Verdict(True, f"Correct! {lines}.")
    kind = {"safety": "a safety property (total order, integrity or validity) fails",
            "liveness": "only completeness fails: a liveness property",
            "both": "a safety property and completeness fail",
            "neither": "every property holds"}[expected]
    raise WrongAnswer(f"Not quite ({name} = {answer!r}): in this run {kind}. {lines}.")


def check_retry_ratio(answer: Any, results: Any, *, loss: float, short: float, long: float,
                      name: str = "your answer") -> Verdict:
    """Check how many times as many retries a short timeout cost (notebook 04, exercise 5).

    Read from the student's own explorer runs (``explorer.results``: one row per run with
    ``loss``, ``timeout``, ``retries`` and ``completion_time_s``): the last run at ``loss``
    with timeout ``short`` and the last with timeout ``long``. The answer is their ratio of
    retries, within 10 %; the verdict adds how much sooner the short timeout finished.

    Args:
        answer: a number (``1.5`` or ``"1.5x"``); blank passes.
        results: the explorer's results table (or the explorer itself).
        loss, short, long: the two runs to compare.
        name: the answer's variable name, for the messages.

    Raises:
        WrongAnswer: not that ratio, or those runs are not in the table yet.
    """
    table = getattr(results, "results", results)
    if is_blank(answer):
        return blank_verdict(name)

    def last(timeout: float) -> Optional[Any]:
        if table is None or not len(table) or "retries" not in table:
            return None
        rows = table[((table["loss"] - loss).abs() < 1e-9)
                     & ((table["timeout"] - timeout).abs() < 1e-9)]
        return rows.iloc[-1] if len(rows) else None

    fast, slow = last(short), last(long)
    missing = [t for t, row in ((short, fast), (long, slow)) if row is None]
    if missing:
        raise WrongAnswer(f"Not quite yet ({name} = {answer!r}): run the explorer at loss "
                          f"{loss:g} with timeout " + " and ".join(f"{t:g} s" for t in missing)
                          + " first; its table has no such run.")
    assert fast is not None and slow is not None
    given = _as_number(answer.strip().rstrip("x×") if isinstance(answer, str) else answer)
    if given is None:
        raise WrongAnswer(f"Not quite ({name} = {answer!r}): give a number, how many times "
                          "as many retries.")
    many, few = int(fast["retries"]), int(slow["retries"])
    runs = f"{many} retries at {short:g} s, {few} at {long:g} s (loss {loss:g})"
    times = [float(r.get("completion_time_s", math.nan)) for r in (fast, slow)]
    if all(math.isfinite(t) and t > 0 for t in times):
        runs += f"; done in {times[0]:.2f} s against {times[1]:.2f} s"
    if few == 0:
        return Verdict(True, f"No retry at {long:g} s, so no ratio: {runs}.")
    ratio = many / few
    if abs(given - ratio) <= 0.1 * ratio:
        return Verdict(True, f"Correct! {ratio:.1f} times as many: {runs}.")
    if abs(given - (many - few)) <= 0.1 * max(1, abs(many - few)):
        why = f"that is the difference; the ratio is {ratio:.1f}"
    elif abs(given - 1 / ratio) <= 0.1 / ratio:
        why = f"that is the ratio the other way round ({long:g} s over {short:g} s)"
    else:
        why = f"divide the retries at {short:g} s by those at {long:g} s"
    raise WrongAnswer(f"Not quite ({name} = {answer!r}): {why}. Your runs: {runs}.")
