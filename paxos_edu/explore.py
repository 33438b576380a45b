"""Model checking in spirit: search for a schedule that breaks a property, and shrink it.

A *schedule* is a short list of steps that drive a :class:`~paxos_edu.sim.Simulation` in
manual mode, where nothing happens unless a step says so:

================== =================================================================
step               meaning
================== =================================================================
``("deliver", k)`` deliver the in-flight copy number ``k`` (counted modulo how many are
                   in flight, oldest first -- ``0`` is the oldest)
``("drop", k)``    lose that copy
``("duplicate", k)`` deliver that copy but leave it in flight, so it can arrive again
``("advance", 0)`` let time run to the next timer (a proposer's timeout, a heartbeat,
                   a client's retry, a learner's catch-up) and fire it
``("submit", c)``  client ``c`` submits its next value (counted modulo the clients)
================== =================================================================

After the last step the learners' delivered sequences are checked with
:func:`paxos_edu.checks.check_sequences` (safety only: a schedule may stop anywhere).

:func:`find_violation` hands the space of schedules to Hypothesis, which generates many
of them and, once one breaks a property, *shrinks* it: drops steps, moves choices toward
"the oldest message", until no simpler schedule fails. That is what a model checker's
counterexample is -- a few steps a student can follow on a sequence diagram -- found by
guided random search rather than exhaustive enumeration. The search is deterministic:
the same ``seed`` gives the same counterexample.

With every deliberate bug off (``bugs=()``) the same search should find nothing: Paxos is
safe under any schedule. ``tests/test_bugs.py`` checks both directions.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Optional, Sequence

from .bugs import Bug, parse_bugs
from .checks import CheckReport, Violation, check_sequences
from .sim import InFlight, Simulation, TraceRecord

Step = tuple[str, int]
"""One schedule step: an operation name and a small integer argument."""

OPS = ("deliver", "advance", "submit", "drop", "duplicate")
"""Step operations, simplest first (Hypothesis shrinks toward the first)."""


@dataclass(frozen=True)
class Setup:
    """The cluster a schedule drives: a small manual-mode simulation.

    ``values[c - 1]`` are the values client ``c`` submits, one per ``submit`` step.
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

    def simulation(self) -> Simulation:
        """A fresh manual-mode simulation of this setup, at time 0, nothing in flight."""
        return Simulation(
            acceptors=self.acceptors, proposers=self.proposers, learners=self.learners,
            clients=self.clients, seed=self.seed, timeout=self.timeout, mode=self.mode,
            batch=self.batch, window=self.window, bugs=self.bugs, manual=True,
        )

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
        d["values"] = tuple(tuple(v) for v in d.get("values", (("a",), ("b",))))
        d["bugs"] = parse_bugs(d.get("bugs", ()))
        return cls(**d)


# Per-bug clusters: the smallest that make each mistake reachable.
PRESETS: dict[Optional[Bug], Setup] = {
    None: Setup(),
    Bug.FORGET_PROMISE: Setup(bugs=frozenset({Bug.FORGET_PROMISE})),
    Bug.IGNORE_1B_VALUE: Setup(bugs=frozenset({Bug.IGNORE_1B_VALUE})),
    Bug.LEARN_FROM_ONE_2B: Setup(bugs=frozenset({Bug.LEARN_FROM_ONE_2B})),
    Bug.SHARED_ROUNDS: Setup(bugs=frozenset({Bug.SHARED_ROUNDS})),
    Bug.NO_DEDUPLICATION: Setup(values=(("a", "b"),), bugs=frozenset({Bug.NO_DEDUPLICATION})),
}


# ---------------------------------------------------------------------- running a schedule


@dataclass
class Outcome:
    """What running one schedule did: the simulation, a label per step, the check."""

    sim: Simulation
    labels: list[str]
    report: CheckReport


def run_schedule(setup: Setup, schedule: Iterable[Sequence[Any]]) -> Outcome:
    """Drive a fresh simulation of ``setup`` through ``schedule`` and check safety."""
    sim = setup.simulation()
    submitted = [0] * setup.clients
    labels = [_apply_step(sim, setup, submitted, str(op), int(arg)) for op, arg in schedule]
    res = sim.result()
    report = check_sequences(res.delivered, res.proposed, live_learners=res.live_learners,
                             expect_complete=False)
    return Outcome(sim, labels, report)


def _apply_step(sim: Simulation, setup: Setup, submitted: list[int], op: str, arg: int) -> str:
    if op in ("deliver", "drop", "duplicate"):
        if not sim.in_flight:
            return f"{op}: nothing in flight"
        copy = sim.in_flight[arg % len(sim.in_flight)]
        if op == "drop":
            sim.drop(copy.id)
            return f"drop {copy.describe()}"
        if op == "duplicate":
            _deliver_and_keep(sim, copy)
            return f"deliver {copy.describe()} (a duplicate stays in flight)"
        sim.deliver(copy.id)
        return f"deliver {copy.describe()}"
    if op == "advance":
        due = _next_timer(sim)
        if due is None:
            return "advance: no timer set"
        dt = due - sim.now
        sim.advance(dt)
        return f"advance {dt:.3f} s to t={sim.now:.3f} (timer)"
    if op == "submit":
        client = arg % setup.clients
        values = setup.values[client]
        if submitted[client] >= len(values):
            return f"submit: client {client + 1} has no value left"
        value = values[submitted[client]]
        submitted[client] += 1
        sim.submit(client + 1, [value])
        return f"client {client + 1} submits {value!r}"
    raise ValueError(f"unknown schedule step {op!r}; steps are {', '.join(OPS)}")


def _deliver_and_keep(sim: Simulation, copy: InFlight) -> None:
    """Deliver ``copy`` now and put it back where it was: the network duplicated it.

    Like the simulator's own duplication, both arrivals carry the same message id.
    """
    where = sim.in_flight.index(copy)
    sim.deliver(copy.id)
    sim.in_flight.insert(min(where, len(sim.in_flight)), copy)


def _next_timer(sim: Simulation) -> Optional[float]:
    times = [p.tick_at for p in sim.processes.values() if p.alive and p.tick_at is not None]
    return min(times) if times else None
