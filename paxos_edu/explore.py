"""Model checking in spirit: find a schedule that breaks a property, and shrink it.

A *schedule* drives a :class:`~paxos_edu.sim.Simulation` in manual mode, where nothing
happens unless a step says so: each step is a pair ``(operation, small number)`` such as
``("deliver", 0)``, ``("advance", 0.1)`` or ``("submit", 1)`` (the full table is in
:mod:`paxos_edu.explore_schedule`). :func:`run_schedule` replays one; a copy never
delivered is as good as lost.

This module is the entry point: :func:`find_violation` (search and shrink),
:func:`explain` (a counterexample in words), :func:`bug_table`, and the per-bug
:data:`PRESETS`. Its siblings hold the parts: :mod:`paxos_edu.explore_schedule` the
schedule language (:class:`Setup`, :func:`apply_step`, :func:`run_schedule`,
:class:`Counterexample`), :mod:`paxos_edu.explore_search` the three stages below
(:class:`~paxos_edu.explore_search.Network`, the search, the replay, the shrinking).
Their public names are re-exported here, so ``from paxos_edu.explore import Setup``
keeps working.

Theory of operation
-------------------
:func:`find_violation` works in three stages, like a model checker that samples instead
of enumerating:

1. **Search.** Hypothesis draws random but reproducible networks -- a seed, a loss and
   duplication rate, a delay range, when each value is submitted -- and the simulator
   runs each one at full speed with the deliberate bug switched on. Random networks
   break a buggy protocol in a good fraction of runs; Hypothesis makes the search
   deterministic (``seed``) and bounded (``max_runs``).
2. **Replay as a schedule.** The failing run is replayed in manual mode, delivering the
   same copies in the same order at the same times, and cut at the first step that
   breaks a property: now it is a schedule, typically a few hundred steps long.
3. **Shrink.** First a causal slice: a delivery is kept only if it happened before
   something the violating learners later did (at the receiver, before a send that
   was itself needed). Then delta debugging: drop runs of steps, then single steps,
   as long as the *same* property still breaks. What is left is 1-minimal: removing any
   one step makes the violation disappear.

Why not let Hypothesis shrink the schedule itself? Its shrinker edits the sequence of
random choices, and a step like "deliver copy 3" means something else as soon as an
earlier step is gone; measured, that took minutes and left 60-step schedules. Steps
matched by content (sender, receiver, message) survive the removal of other steps, so
slicing and delta debugging take a second or a few (seed 0: 17-40 steps, 0.3-5 s).

With every deliberate bug off (``bugs=()``) the same search finds nothing. That is
evidence, not proof: a search samples some hundreds of schedules of small clusters; that
Paxos is safe under *every* schedule is what the proof of Paxos Made Simple section 2.2
shows (the chain P2c => P2b => P2a => P2). ``tests/test_bugs.py`` checks both directions.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import Any, Optional

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from .bugs import Bug, parse_bugs
from .errors import UsageError
from .explore_schedule import (
    OPS,
    Counterexample,
    Outcome,
    Setup,
    Step,
    apply_step,
    deliver_and_keep,
    next_timer,
    run_schedule,
    safety,
    without_sessions,
)
from .explore_search import (
    Network,
    Trial,
    as_schedule,
    causal_slice,
    fails,
    finish,
    random_run,
    seeded,
    shrink,
    trials,
)

__all__ = [
    "Counterexample", "MAX_RUNS", "Network", "OPS", "Outcome", "PRESETS", "Setup", "Step",
    "apply_step",
    "bug_table", "deliver_and_keep", "explain", "find_violation", "next_timer", "run_schedule",
    "safety", "without_sessions",
]


# ---------------------------------------------------------------------- per-bug presets


_TWO_EACH = Setup(values=(("a", "c"), ("b", "d")))
_RESTARTS = Network(losses=(0.3, 0.5), max_delays=(0.05, 0.2), until=3.0, max_restarts=2,
                    restart_votes=2)

PRESETS: dict[Optional[Bug], tuple[Setup, Network]] = {
    None: (Setup(), Network()),
    Bug.FORGET_PROMISE: (Setup(), Network(max_delays=(0.2, 0.5))),
    Bug.IGNORE_1B_VALUE: (Setup(), Network(losses=(0.2, 0.4), max_delays=(0.05,))),
    Bug.LEARN_FROM_ONE_2B: (Setup(), Network(losses=(0.2, 0.4), max_delays=(0.05, 0.2))),
    Bug.PICK_ANY_1B_VALUE: (_TWO_EACH, Network(losses=(0.4, 0.5), max_delays=(0.05, 0.2),
                                                until=3.0)),
    Bug.SHARED_ROUNDS: (Setup(), Network()),
    Bug.NO_DEDUPLICATION: (Setup(mode="classic"),
                           Network(losses=(0.2, 0.4), max_delays=(0.05,))),
    Bug.REPLY_BEFORE_DURABLE: (_TWO_EACH, _RESTARTS),
    Bug.RESTART_WITHOUT_STORAGE: (_TWO_EACH, _RESTARTS),
}
"""Per bug, a cluster that makes it reachable and a network that breaks it often.

Two proposers each time: every one of these mistakes needs two proposals competing for
one instance. Two clients with one value each keep counterexamples short; with the
bug on, about 1 random run in 10 (FORGET_PROMISE, LEARN_FROM_ONE_2B, NO_DEDUPLICATION),
1 in 40 (IGNORE_1B_VALUE) or 1 in 2 (SHARED_ROUNDS) breaks a property. The two storage
bugs need acceptors that crash and restart: up to two restarts at drawn times.
PICK_ANY_1B_VALUE is the rarest: it needs three rounds of one instance -- a value voted by
one acceptor, a second value chosen in a higher round, and a third round whose promises
report both -- which heavy loss makes rare (seed 0: found after 61 runs, 37 steps after
shrinking); its budget is :data:`MAX_RUNS`."""


MAX_RUNS: dict[Optional[Bug], int] = {Bug.PICK_ANY_1B_VALUE: 3000}
"""Search budgets above the default 300 runs, for bugs that break only rare runs."""


# ---------------------------------------------------------------------- searching


def find_violation(bug: Bug | str | None, *, seed: int = 0, max_runs: Optional[int] = None,
                   network: Optional[Network] = None,
                   **sim_kwargs: Any) -> Optional[Counterexample]:
    """Search random networks for a run that breaks a property, shrink it to a schedule.

    Args:
        bug: the deliberate mistake to switch on (its preset cluster and network are
            used, see :data:`PRESETS`); None for none.
        seed: makes the search deterministic: same seed, same counterexample.
        max_runs: how many random runs to try before giving up (default: the bug's
            :data:`MAX_RUNS`, else 300).
        network: the random networks to draw from (default: the bug's preset).
        **sim_kwargs: override the cluster (``acceptors``, ``proposers``, ``learners``,
            ``values``, ``mode``, ``batch``, ``window``, ``timeout``) or the bugs
            (``bugs=()`` searches the same space with the bug off).

    Returns:
        The shrunk :class:`Counterexample`, or None when no run broke a property.
    """
    started = time.perf_counter()
    bug = Bug(bug) if bug is not None else None
    max_runs = max_runs or MAX_RUNS.get(bug, 300)
    base, preset = PRESETS[bug]
    network = network or preset
    bugs = sim_kwargs.pop("bugs", {bug} if bug is not None else ())
    settable = set(Setup.__dataclass_fields__) - {"seed", "bugs"}
    unknown = set(sim_kwargs) - settable
    if unknown:
        raise UsageError(f"find_violation() got {', '.join(sorted(unknown))}; it takes the "
                         f"cluster settings {', '.join(sorted(settable))} and bugs")
    if "values" in sim_kwargs:
        sim_kwargs["values"] = tuple(tuple(v) for v in sim_kwargs["values"])
    setup = replace(base, bugs=parse_bugs(bugs), seed=seed, **sim_kwargs)
    runs = [0]

    def breaks(trial: Trial) -> bool:
        runs[0] += 1
        return random_run(seeded(setup, seed, trial), network, trial, trace=False)[1] is not None

    try:
        trial = find(trials(setup, network), breaks, random=random.Random(seed),
                     settings=settings(max_examples=max_runs, database=None, deadline=None,
                                       phases=[Phase.generate],
                                       suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return None
    setup = seeded(setup, seed, trial)
    events, prop = as_schedule(setup, network, trial)
    sliced = causal_slice(events)
    events = shrink(setup, sliced if fails(setup, sliced, prop) else events, prop)
    cx = finish(setup, bug, events, trial, prop)
    cx.runs, cx.seconds = runs[0], time.perf_counter() - started
    return cx


def explain(cx: Counterexample) -> str:
    """A short plain-English account of a counterexample.

    Each event is stamped with the schedule step it happened in (as numbered in
    ``cx.steps``) and the simulated time it happened at -- a timer that fires during an
    "advance" step keeps its own time; copies delivered one by one share the time the
    clock stands at. The time is written only when it moved since the line before."""
    lines = []
    if cx.bug is not None:
        lines.append(f"Bug switched on: {cx.bug.value}. {cx.bug.explanation}")
    lines.append(f"In {len(cx.schedule)} steps ({len(cx.setup.values)} clients, "
                 f"{cx.setup.proposers} proposers, {cx.setup.acceptors} acceptors, "
                 f"{cx.setup.learners} learners), what matters happens like this "
                 "(step numbers as in cx.steps):")
    numbers = cx.story_steps if len(cx.story_steps) == len(cx.story) else [None] * len(cx.story)
    width = len(str(len(cx.schedule)))
    shown = None
    for number, event in zip(numbers, cx.story):
        stamp, _, what = event.partition(" ")
        t = stamp.removeprefix("t=") if stamp.startswith("t=") else None
        when = f"t={t} s" if t is not None and t != shown else ""
        shown = t if t is not None else shown
        where = f"step {number:>{width}}" if number is not None else ""
        lines.append(f"  {where}  {when:<9} {what if t is not None else event}".rstrip())
    lines.append("Only prepares, leaderships, votes (2B) and deliveries are listed; a no-op "
                 "(the empty value a new leader proposes to fill a gap) is decided but never "
                 "delivered, so learners skip it.")
    lines.append(f"So {cx.property} is broken: {cx.detail}.")
    return "\n".join(lines)


def bug_table() -> Any:
    """The bugs one can switch on, as a table to display: name, the role it lives in,
    and what goes wrong -- in full (a DataFrame's HTML cuts long text with "…"), left
    aligned and wrapped to the notebook's width."""
    import pandas as pd

    df = pd.DataFrame([{"bug": b.value, "lives in": b.role, "what goes wrong": b.explanation}
                       for b in Bug]).set_index("bug")
    return df.style.set_properties(**{"text-align": "left", "white-space": "normal"})
