"""The schedule language of :mod:`paxos_edu.explore`: the cluster, the steps, the replay.

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

:class:`Setup` is the small cluster a schedule drives, :func:`run_schedule` replays a
schedule on it (a copy never delivered is as good as lost) and checks :func:`safety`, and
a :class:`Counterexample` is a short schedule that breaks a property.

Siblings: :mod:`paxos_edu.explore` is the entry point (:func:`~paxos_edu.explore.find_violation`,
:func:`~paxos_edu.explore.explain`, the per-bug presets); :mod:`paxos_edu.explore_search`
holds the three stages that find such a schedule and shrink it. Everything here is
re-exported from :mod:`paxos_edu.explore`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from .bugs import Bug, parse_bugs
from .checks import CheckReport, check_sequences
from .sim import InFlight, Simulation, TraceRecord

__all__ = [
    "Counterexample", "OPS", "Outcome", "Setup", "Step", "apply_step", "deliver_and_keep",
    "next_timer", "run_schedule", "safety", "without_sessions",
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


def without_sessions(text: str) -> str:
    """A checker's detail without client session ids, which a reader does not need:
    ``'a' (client 1 session 2467880001 seq 0)`` -> ``'a' (client 1 seq 0)``."""
    import re

    return re.sub(r" session \d+", "", text)
