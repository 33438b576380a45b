"""Model checking in spirit: find a schedule that breaks a property, and shrink it.

A *schedule* drives a :class:`~paxos_edu.sim.Simulation` in manual mode, where nothing
happens unless a step says so. Each step is a pair ``(operation, small number)``:

====================== ==============================================================
step                   meaning
====================== ==============================================================
``("deliver", k)``     deliver in-flight copy ``k`` (oldest first, counted modulo how
                       many are in flight)
``("duplicate", k)``   deliver copy ``k`` but leave it in flight: the network made a
                       second copy, which may arrive later (or never)
``("drop", k)``        lose copy ``k``
``("advance", dt)``    let ``dt`` seconds pass, firing the timers that fall due;
                       ``dt == 0`` means "up to the next timer, whatever it is"
``("submit", c)``      client ``c + 1`` submits its next value (``c`` modulo the clients)
``("restart", a)``     acceptor ``a + 1`` (modulo the acceptors) crashes and restarts at
                       once, with what it made durable (the setups use storage)
====================== ==============================================================

:func:`run_schedule` replays one; a copy never delivered is as good as lost.

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
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, NamedTuple, Optional, Sequence

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from .bugs import Bug, parse_bugs
from .checks import CheckReport, check_sequences
from .errors import UsageError
from .messages import Message, Phase2B
from .processes import parse_process_name, role_of
from .sim import InFlight, Simulation, TraceRecord
from .sim_tables import short_value

__all__ = [
    "Counterexample", "MAX_RUNS", "Network", "OPS", "Outcome", "PRESETS", "Setup", "Step",
    "apply_step",
    "bug_table", "deliver_and_keep", "explain", "find_violation", "next_timer", "run_schedule",
    "safety", "without_sessions",
]

OPS = ("deliver", "duplicate", "drop", "advance", "submit", "restart")

Step = tuple[str, float]
"""One schedule step: an operation and its small number (see the module docstring)."""


# ---------------------------------------------------------------------- the cluster


@dataclass(frozen=True)
class Setup:
    """The cluster a schedule drives: a small manual-mode simulation.

    ``values[c]`` are the values client ``c + 1`` submits, one per ``submit`` step.
    """

    acceptors: int = 3
    proposers: int = 2
    learners: int = 2
    values: tuple[tuple[str, ...], ...] = (("a",), ("b",))
    mode: str = "multi"
    batch: int = 1
    window: int = 4
    timeout: float = 0.1
    seed: int = 0
    bugs: frozenset[Bug] = frozenset()

    @property
    def clients(self) -> int:
        return len(self.values)

    def simulation(self, **overrides: Any) -> Simulation:
        """A fresh simulation of this setup at time 0 (manual unless overridden); its
        acceptors keep their state in storage, so ``restart`` steps recover it."""
        kwargs: dict[str, Any] = dict(
            acceptors=self.acceptors, proposers=self.proposers, learners=self.learners,
            clients=self.clients, seed=self.seed, timeout=self.timeout, mode=self.mode,
            batch=self.batch, window=self.window, bugs=self.bugs, manual=True, storage=True)
        kwargs.update(overrides)
        return Simulation(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """Plain, JSON-friendly parameters (bugs by name)."""
        return {
            "acceptors": self.acceptors, "proposers": self.proposers,
            "learners": self.learners, "values": [list(v) for v in self.values],
            "mode": self.mode, "batch": self.batch, "window": self.window,
            "timeout": self.timeout, "seed": self.seed,
            "bugs": sorted(b.value for b in self.bugs),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Setup:
        d = dict(d)
        if "values" in d:
            d["values"] = tuple(tuple(v) for v in d["values"])
        d["bugs"] = parse_bugs(d.get("bugs", ()))
        return cls(**d)


@dataclass(frozen=True)
class Network:
    """The random networks the search draws from (Hypothesis picks one of each)."""

    losses: tuple[float, ...] = (0.0, 0.2, 0.4)
    duplicates: tuple[float, ...] = (0.0, 0.05)
    max_delays: tuple[float, ...] = (0.05, 0.2, 0.5)
    submit_times: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1)
    until: float = 2.0
    max_restarts: int = 0
    """Acceptor restarts per run (0: none). Each restarts one acceptor right after it
    accepted its n-th value (n up to ``restart_votes``): the moment its memory matters."""
    restart_votes: int = 3


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


# ---------------------------------------------------------------------- running schedules


@dataclass
class Outcome:
    """What running one schedule did: the simulation, a label per step, the verdict."""

    sim: Simulation
    labels: list[str]
    report: CheckReport


def run_schedule(setup: Setup, schedule: Iterable[Sequence[Any]]) -> Outcome:
    """Drive a fresh manual simulation of ``setup`` through ``schedule``; check safety."""
    sim = setup.simulation()
    submitted = [0] * setup.clients
    labels = [apply_step(sim, setup, submitted, str(op), arg) for op, arg in schedule]
    return Outcome(sim, labels, safety(sim))


def safety(sim: Simulation) -> CheckReport:
    """Agreement / total order, integrity and validity of what was delivered so far."""
    return check_sequences(sim.delivered, sim.proposed, expect_complete=False)


def apply_step(sim: Simulation, setup: Setup, submitted: list[int], op: str, arg: Any,
               describe: bool = True) -> str:
    """Carry out one step on ``sim`` and return its label (``""`` if not ``describe``).

    ``submitted[c]`` counts the values client ``c + 1`` submitted so far; a step that
    finds nothing to do (nothing in flight, no value left) does nothing."""
    if op in ("deliver", "drop", "duplicate"):
        if not sim.in_flight:
            return f"{op}: nothing in flight"
        copy = sim.in_flight[int(arg) % len(sim.in_flight)]
        label = copy.describe() if describe else ""
        if op == "drop":
            sim.drop(copy.id)
            return f"drop {label}"
        if op == "duplicate":
            deliver_and_keep(sim, copy)
            return f"deliver {label} (a duplicate stays in flight)"
        sim.deliver(copy.id)
        return f"deliver {label}"
    if op == "advance":
        dt = float(arg)
        if dt <= 0:
            due = next_timer(sim)
            if due is None:
                return "advance: no timer set"
            dt = max(due - sim.now, 0.0)
        sim.advance(dt)
        return f"advance {dt:.3f} s to t={sim.now:.3f}"
    if op == "submit":
        client = int(arg) % setup.clients
        values = setup.values[client]
        if submitted[client] >= len(values):
            return f"submit: client{client + 1} has no value left"
        value = values[submitted[client]]
        submitted[client] += 1
        sim.submit(client + 1, [value])
        return f"client{client + 1} submits {value!r}"
    if op == "restart":
        acceptor = int(arg) % setup.acceptors + 1
        sim.restart("acceptor", acceptor)
        return f"acceptor{acceptor} crashes and restarts"
    raise ValueError(f"unknown schedule step {op!r}; steps are {', '.join(OPS)}")


def deliver_and_keep(sim: Simulation, copy: InFlight) -> None:
    """Deliver ``copy`` now and keep it in flight: the network duplicated it."""
    sim.deliver(copy.id, keep=True)


def next_timer(sim: Simulation) -> Optional[float]:
    """When the next live process's timer falls due (None when no timer is set)."""
    return sim.next_timer()


# ---------------------------------------------------------------------- counterexamples


@dataclass
class Counterexample:
    """A short schedule that breaks a property, found with a deliberate bug on.

    Attributes:
        bug: the bug switched on (None when searching with none).
        property: the property broken (a :mod:`paxos_edu.checks` name, e.g.
            ``"total order / agreement"``) and ``detail`` the checker's explanation.
        steps: one human-readable line per step of the minimal schedule.
        schedule: the replayable input, ``[(operation, number), ...]``.
        setup: the cluster; ``network`` the random run the schedule was cut from.
        story: the events that matter, in plain words (used by :func:`explain`), each
            line ``t=<time of the event> <process> <what it did>``; ``story_steps`` the
            number (from 1, as in ``steps``) of the schedule step each line belongs to.
        trace: every copy sent / delivered / dropped while replaying ``schedule``.
        runs, seconds: random runs tried, and the search-and-shrink wall time.
    """

    bug: Optional[Bug]
    property: str
    detail: str
    steps: list[str]
    schedule: list[Step]
    setup: Setup
    network: dict[str, Any]
    story: list[str]
    trace: list[TraceRecord]
    report: CheckReport
    runs: int = 0
    seconds: float = 0.0
    sim: Optional[Simulation] = field(default=None, repr=False)
    story_steps: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.schedule)

    def replay(self) -> Simulation:
        """Re-run the schedule on a fresh simulation and return it (at the last step)."""
        return run_schedule(self.setup, self.schedule).sim

    def simulation(self, at: Optional[int] = 0) -> Simulation:
        """The schedule as a manual simulation's history, rewound to step ``at`` (default
        the start; None: the end), to step through it with the Stepper or ``forward()``."""
        sim = self.replay()
        if at is not None:
            sim.rewind(at)
        return sim

    def trace_frame(self):
        """The trace as a pandas DataFrame (for :func:`paxos_edu.viz.sequence_diagram`)."""
        from .trace import trace_table

        return trace_table(self.trace)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly record (tests/regressions keeps these)."""
        return {"bug": self.bug.value if self.bug else None, "property": self.property,
                "setup": self.setup.as_dict(), "network": self.network,
                "schedule": [list(s) for s in self.schedule], "steps": self.steps}


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

    def breaks(trial: _Trial) -> bool:
        runs[0] += 1
        return _random_run(_seeded(setup, seed, trial), network, trial, trace=False)[1] is not None

    try:
        trial = find(_trials(setup, network), breaks, random=random.Random(seed),
                     settings=settings(max_examples=max_runs, database=None, deadline=None,
                                       phases=[Phase.generate],
                                       suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return None
    setup = _seeded(setup, seed, trial)
    events, prop = _as_schedule(setup, network, trial)
    sliced = _slice(events)
    events = _shrink(setup, sliced if _fails(setup, sliced, prop) else events, prop)
    cx = _finish(setup, bug, events, trial, prop)
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


def without_sessions(text: str) -> str:
    """A checker's detail without client session ids, which a reader does not need:
    ``'a' (client 1 session 2467880001 seq 0)`` -> ``'a' (client 1 seq 0)``."""
    import re

    return re.sub(r" session \d+", "", text)


# ---------------------------------------------------------------------- stage 1: search


class _Trial(NamedTuple):
    seed: int
    loss: float
    duplicate: float
    max_delay: float
    submit_at: tuple[float, ...]
    restarts: tuple[tuple[int, int], ...] = ()  # (acceptor id, after its n-th vote)


def _trials(setup: Setup, network: Network) -> st.SearchStrategy[_Trial]:
    count = sum(len(v) for v in setup.values)
    restarts: st.SearchStrategy = st.just(())  # draws nothing: earlier searches unchanged
    if network.max_restarts:
        restarts = st.lists(st.tuples(st.integers(1, setup.acceptors),
                                      st.integers(1, network.restart_votes)),
                            min_size=1, max_size=network.max_restarts).map(tuple)
    return st.builds(
        _Trial, st.integers(0, 2**32 - 1), st.sampled_from(network.losses),
        st.sampled_from(network.duplicates), st.sampled_from(network.max_delays),
        st.tuples(*[st.sampled_from(network.submit_times)] * count), restarts)


def _seeded(setup: Setup, seed: int, trial: _Trial) -> Setup:
    """The setup with the simulation seed of one random run (unique per search seed)."""
    return replace(setup, seed=(seed << 32) + trial.seed)


def _random_run(setup: Setup, network: Network, trial: _Trial, trace: bool,
                restarted: Optional[list] = None) -> tuple[Simulation, Optional[str]]:
    """Run ``trial`` at full speed (seed ``setup.seed``); return the simulation and the
    first property broken. ``restarted`` receives ``(time, deliveries so far, acceptor)``
    of each restart."""
    sim = setup.simulation(manual=False, loss=trial.loss,
                           duplicate=trial.duplicate, delay=(0.0001, trial.max_delay),
                           trace=trace)
    for at, client, value in _submissions(setup, trial):
        sim.submit(client + 1, [value], at=at)
    waiting = list(trial.restarts)
    while waiting and sim.next_event_time() is not None \
            and sim.next_event_time() <= network.until:  # type: ignore[operator]
        sim.step()
        for acceptor, votes in waiting:
            proc = sim.processes[("acceptor", acceptor)]
            if sum(1 for s in proc.obj.slots.values() if s.v_val is not None) >= votes:
                sim.restart("acceptor", acceptor)
                waiting.remove((acceptor, votes))
                if restarted is not None:
                    restarted.append((sim.now, sim.stats["delivered"], acceptor))
                break
    sim.run(until=network.until)
    report = safety(sim)
    return sim, (None if report.ok else report.first_violation.property)


def _submissions(setup: Setup, trial: _Trial) -> list[tuple[float, int, str]]:
    pairs = [(c, v) for c, values in enumerate(setup.values) for v in values]
    # Each client submits in order: its k-th value no earlier than its (k-1)-th.
    out, last = [], {}
    for (c, v), at in zip(pairs, trial.submit_at):
        at = max(at, last.get(c, 0.0))
        last[c] = at
        out.append((at, c, v))
    return out


# ---------------------------------------------------------------------- stage 2: schedule


class _Event(NamedTuple):
    """One step of a schedule whose deliveries name their copy by content."""

    op: str  # "deliver", "duplicate", "advance" (to absolute time ``at``), "submit", "restart"
    at: float
    client: int = 0  # submit: the client (from 0); restart: the acceptor (from 0)
    sender: str = ""
    receiver: str = ""
    message: Optional[Message] = None
    sent_at: float = 0.0


def _as_schedule(setup: Setup, network: Network, trial: _Trial) -> tuple[list[_Event], str]:
    """Replay the failing random run in manual mode, cut at the first violation."""
    restarted: list[tuple[float, int, int]] = []
    auto, prop = _random_run(setup, network, trial, trace=True, restarted=restarted)
    assert prop is not None, "a failing random run must fail again (determinism)"
    deliveries = [r for r in auto.trace if r.event == "delivered"]
    later = {}  # msg id -> index of its last delivery (an earlier one was a duplicate)
    for i, r in enumerate(deliveries):
        later[r.msg_id] = i
    plan = [(at, 0, i, ("submit", c)) for i, (at, c, _) in enumerate(_submissions(setup, trial))]
    # A restart came right after the delivery that made its acceptor vote.
    plan += [(at, 1, done - 0.5, ("restart", a - 1)) for at, done, a in restarted]
    plan += [(r.time, 1, i, ("deliver", r.msg_id)) for i, r in enumerate(deliveries)]
    plan.sort(key=lambda p: p[:3])
    sim = setup.simulation()
    submitted = [0] * setup.clients
    events: list[_Event] = []
    for at, _, index, (op, arg) in plan:
        if at > sim.now:
            events.append(_Event("advance", at))
            sim.advance(at - sim.now)
        if op in ("submit", "restart"):
            events.append(_Event(op, at, client=arg))
            apply_step(sim, setup, submitted, op, arg)
        else:
            copy = next((c for c in sim.in_flight if c.id == arg), None)
            assert copy is not None, f"message {arg} of the random run is not in flight"
            keep = later[arg] != index
            events.append(_Event("duplicate" if keep else "deliver", at, sender=copy.sender,
                                 receiver=copy.receiver, message=copy.message,
                                 sent_at=copy.sent_at))
            if keep:
                deliver_and_keep(sim, copy)
            else:
                sim.deliver(copy.id)
            report = safety(sim)
            if not report.ok and report.first_violation.property == prop:
                return events, prop
    raise AssertionError("the manual replay of a failing run did not fail")


# ---------------------------------------------------------------------- stage 3: shrink


def _slice(events: list[_Event]) -> list[_Event]:
    """Keep the deliveries the violation causally depends on (and every other step).

    Walking backwards: what a learner did up to the end matters; a delivery matters if
    it reached a process before the last moment that matters for it, and then what its
    sender did up to the moment it sent the copy matters too.
    """
    end = events[-1].at
    needed: dict[str, float] = {}
    kept: list[_Event] = []
    for ev in reversed(events):
        if ev.op in ("deliver", "duplicate"):
            horizon = end if ev.receiver.startswith("learner") else needed.get(ev.receiver)
            if horizon is None or ev.at > horizon:
                continue
            if ev.sent_at > needed.get(ev.sender, -1.0):
                needed[ev.sender] = ev.sent_at
        kept.append(ev)
    kept.reverse()
    return kept


def _replay_events(setup: Setup, events: Sequence[_Event], record: Optional[list] = None
                   ) -> Simulation:
    """Run content-named steps; a step whose copy is not in flight does nothing.

    ``record`` (if given) receives ``(step, label, story lines)`` for each step that acted;
    without it the replay runs untraced, for speed.
    """
    sim = setup.simulation(trace=record is not None)
    submitted = [0] * setup.clients
    for ev in events:
        notes, sent = len(sim.notes), sim.stats["sent"]
        delivered = {i: len(v) for i, v in sim.delivered.items()}
        if ev.op == "advance":
            if ev.at <= sim.now:
                continue
            step: Step = ("advance", ev.at - sim.now)
        elif ev.op == "submit":
            step = ("submit", ev.client)
            if submitted[ev.client] >= len(setup.values[ev.client]):
                continue
        elif ev.op == "restart":
            step = ("restart", ev.client)
        else:
            index = next((i for i, c in enumerate(sim.in_flight)
                          if c.receiver == ev.receiver and c.sender == ev.sender
                          and c.message == ev.message), None)
            if index is None:
                continue
            step = (ev.op, index)
        label = apply_step(sim, setup, submitted, *step, describe=record is not None)
        if record is not None:
            record.append((step, label, _story(sim, notes, sent, delivered)))
    return sim


def _fails(setup: Setup, events: Sequence[_Event], prop: str) -> bool:
    report = safety(_replay_events(setup, events))
    return not report.ok and any(v.property == prop for v in report.violations)


def _shrink(setup: Setup, events: list[_Event], prop: str) -> list[_Event]:
    """Remove steps while ``prop`` still breaks: whole kinds of messages first, then
    delta debugging (chunks, then single steps), then plain delivers for duplicates."""
    events = _merge_advances(events)
    progress = True
    while progress:  # e.g. "no heartbeat matters", "no 2B to a proposer matters"
        progress = False
        for group in _groups(events):
            candidate = _merge_advances([ev for ev in events if _group_of(ev) != group])
            if len(candidate) < len(events) and _fails(setup, candidate, prop):
                events, progress = candidate, True
    chunks = 2
    while len(events) >= 2:
        size = -(-len(events) // chunks)
        for start in range(0, len(events), size):
            candidate = _merge_advances(events[:start] + events[start + size:])
            if _fails(setup, candidate, prop):
                events = candidate
                chunks = max(chunks - 1, 2)
                break
        else:
            if size == 1:
                break
            chunks = min(chunks * 2, len(events))
    for i, ev in enumerate(events):  # a duplicate that is not needed twice: plain deliver
        if ev.op == "duplicate":
            candidate = events[:i] + [ev._replace(op="deliver")] + events[i + 1:]
            if _fails(setup, candidate, prop):
                events = candidate
    return events


def _merge_advances(events: list[_Event]) -> list[_Event]:
    """Two advances in a row do what the second alone does: keep it only."""
    return [ev for i, ev in enumerate(events)
            if not (ev.op == "advance" and i + 1 < len(events) and events[i + 1].op == "advance")]


def _group_of(ev: _Event) -> tuple[str, ...]:
    if ev.message is None:
        return (ev.op,)
    return (type(ev.message).__name__, role_of(ev.receiver))


def _groups(events: list[_Event]) -> list[tuple[str, ...]]:
    seen: dict[tuple[str, ...], None] = {}
    for ev in events:
        if ev.message is not None:
            seen[_group_of(ev)] = None
    return list(seen)


def _finish(setup: Setup, bug: Optional[Bug], events: list[_Event], trial: _Trial,
            prop: str) -> Counterexample:
    record: list = []
    _replay_events(setup, events, record)
    schedule = [step for step, _, _ in record]
    outcome = run_schedule(setup, schedule)
    report = outcome.report
    violation = next(v for v in report.violations if v.property == prop)
    story = [line for _, _, lines in record for line in lines]
    story_steps = [k for k, (_, _, lines) in enumerate(record, 1) for _ in lines]
    return Counterexample(
        bug=bug, property=prop, detail=without_sessions(violation.detail),
        steps=[label for _, label, _ in record], schedule=schedule, setup=setup,
        network={"seed": setup.seed, "loss": trial.loss, "duplicate": trial.duplicate,
                 "delay": [0.0001, trial.max_delay],
                 "submissions": [list(s) for s in _submissions(setup, trial)],
                 "restarts": [list(r) for r in trial.restarts]},
        story=story, trace=list(outcome.sim.trace), report=report, sim=outcome.sim,
        story_steps=story_steps)


def _story(sim: Simulation, notes: int, sent: int, delivered: dict[int, int]) -> list[str]:
    """What one step did that a reader should know, in words."""
    lines = []
    for t, who, event, fields in sim.notes[notes:]:
        if event in ("phase1_start", "leader", "step_down"):
            what = {"phase1_start": "starts phase 1 (prepare)", "leader": "leads",
                    "step_down": "steps down"}[event]
            lines.append(f"t={t:.3f} {who} {what} in round {fields.get('rnd', '?')}")
        elif event == "restart":
            obj = sim.processes[parse_process_name(who)].obj
            held = sum(1 for s in obj.slots.values() if s.v_val is not None)
            lines.append(f"t={t:.3f} {who} crashes and restarts, remembering "
                         f"{held} vote{'s' if held != 1 else ''} and promise "
                         f"{_round(max(obj.rnd, obj.max_slot_rnd))}")
    accepted = set()
    for copy in sim.in_flight:
        m = copy.message
        if copy.id <= sent:
            continue
        if isinstance(m, Phase2B) and (copy.sender, m.instance) not in accepted:
            accepted.add((copy.sender, m.instance))
            lines.append(f"t={sim.now:.3f} {copy.sender} accepts [{short_value(m.value)}] "
                         f"in instance {m.instance}, round {_round(m.rnd)}")
    for learner, subs in sim.delivered.items():
        for sub in subs[delivered.get(learner, 0):]:
            lines.append(f"t={sim.now:.3f} learner{learner} delivers {sub.value!r}")
    return lines


def _round(rnd: int) -> str:
    from .rounds import format_round

    return format_round(rnd)
