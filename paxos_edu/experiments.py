"""The experiments the notebooks run, as plain functions: one dict of parameters in, one
result out, on the simulator (fast, deterministic) or on a real cluster of processes.

:func:`run_experiment` is the one entry point; the widgets of :mod:`paxos_edu.widgets`
only collect its parameters and draw its result. The scenario helpers
(:func:`run_duel`, :func:`run_failures`, :func:`run_catchup`) fill in the parameters of
one lesson and call it; :func:`sweep` calls it over a grid.

A simulation is read back like a real run: :func:`simulate` steps a
:class:`~paxos_edu.sim.Simulation` one event at a time and returns a :class:`SimRun` -- a
:class:`~paxos_edu.runlog.Run` whose tables :func:`paxos_edu.trace.simulation_tables`
builds through the same column definitions as a real run's (virtual seconds), with the
same checks and metrics, plus the simulator's exact trace for the pictures.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

import pandas as pd

from .checks import COMPLETENESS, CheckReport
from .config import SETTINGS, settings_from
from .errors import UsageError
from .metrics import Metrics, retries_and_drops_by_role
from .runlog import Run
from .sim import SimResult, Simulation
from .trace import simulation_tables

Progress = Callable[[int, int], None]
"""``progress(done, total)``: values delivered by the slowest live learner, out of all."""

DEFAULTS: dict[str, Any] = {
    "backend": "real",  # "real": processes over multicast (paxos_edu.cluster); "sim"
    "acceptors": 3,
    "proposers": 2,
    "learners": 2,
    "clients": 2,
    "values": 20,  # per client
    "loss": SETTINGS["loss"].default,  # the protocol settings' defaults: config.SETTINGS
    "timeout": SETTINGS["timeout"].default,
    "mode": SETTINGS["mode"].default,
    "batch": None,  # values per instance at most (None: the protocol's default)
    "window": None,  # instances in flight at most (None: the protocol's default)
    "seed": 1,
    "until": 30.0,  # give up after this many seconds (virtual for the simulator)
    "backoff": True,
    "delay": (0.0005, 0.002),  # simulator only: one-way delay range (s)
    "actions": (),  # (at, "crash" | "start", role, id), e.g. (0.05, "crash", "acceptor", 1)
    "trace": "values",  # real backend: "messages" logs every datagram (small runs)
}
"""Parameters of :func:`run_experiment` and their defaults."""


# ---------------------------------------------------------------------- simulator runs


@dataclass(eq=False)
class SimRun(Run):
    """A simulation read back as a :class:`~paxos_edu.runlog.Run` (virtual seconds).

    Besides the Run's tables: ``result`` (the :class:`~paxos_edu.sim.SimResult`), ``sim``
    (the simulation itself, to keep stepping) and :attr:`trace` (the exact message
    trace, which :mod:`paxos_edu.viz` prefers to the ``messages`` table). ``instance`` in
    ``learned`` is unknown (NA): the simulator does not record it.
    """

    result: Optional[SimResult] = None
    sim: Optional[Simulation] = None

    @property
    def trace(self) -> list:
        return self.result.trace if self.result is not None else []

    def metrics(self, bin_s: float | None = None) -> Metrics:
        if bin_s is not None:
            return super().metrics(bin_s)
        if "_metrics" not in self.__dict__:
            self.__dict__["_metrics"] = super().metrics()
        return self.__dict__["_metrics"]


def _all_delivered(sim: Simulation) -> bool:
    wanted = len(sim.proposed)
    for (role, i), proc in sim.processes.items():
        if not proc.alive:
            continue
        if role == "learner" and len(sim.delivered[i]) < wanted:
            return False
        if role == "client" and (proc.obj.unacked or proc.obj.queue):
            return False
    return True


def simulate(
    sim: Simulation,
    *,
    until: float = 30.0,
    not_before: float = 0.0,
    progress: Optional[Progress] = None,
) -> SimRun:
    """Run ``sim`` to ``until`` (virtual s) or until every value is delivered everywhere
    (but not before ``not_before``, the time of the last scheduled action), and read it
    back as a :class:`SimRun` (the simulator records when each value was submitted and
    delivered)."""
    steps = 0
    while True:
        due = sim.next_event_time()
        if due is None or due > until:
            break
        sim.step()
        steps += 1
        if progress is not None and steps % 500 == 0:
            _report(sim, progress)
        if sim.now >= not_before and _all_delivered(sim):
            break
    if progress is not None:
        _report(sim, progress)
    result = sim.result()
    return SimRun(**simulation_tables(sim, result), result=result, sim=sim)


def _report(sim: Simulation, progress: Progress) -> None:
    live = [i for (r, i), p in sim.processes.items() if r == "learner" and p.alive]
    done = min((len(sim.delivered[i]) for i in live), default=0)
    progress(done, len(sim.proposed))


# ---------------------------------------------------------------------- one experiment


@dataclass(eq=False)
class ExperimentResult:
    """What one run of :func:`run_experiment` gives back.

    Attributes:
        params: every parameter used (defaults filled in).
        run: the :class:`~paxos_edu.runlog.Run` (a :class:`SimRun` for the simulator).
        report: the safety and liveness checks.
        wall_time: seconds the experiment took on the wall clock.
    """

    params: dict[str, Any]
    run: Run
    report: CheckReport
    wall_time: float
    metrics: Metrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = self.run.metrics()

    @property
    def complete(self) -> bool:
        """Every live learner delivered every submitted value."""
        return all(r.ok is not False for r in self.report.rows if r.property == COMPLETENESS)

    @property
    def safe(self) -> bool:
        """Total order, integrity and validity hold (whatever was learned is right)."""
        return all(r.ok is not False for r in self.report.rows if r.property != COMPLETENESS)

    @property
    def completion_time(self) -> float:
        """Seconds from the first submission to the last delivery; NaN if incomplete."""
        return float(self.metrics.summary["duration_s"]) if self.complete else math.nan

    @property
    def latency(self) -> pd.DataFrame:
        return self.metrics.latency

    @property
    def retries_and_drops(self) -> pd.DataFrame:
        return self.metrics.retries_and_drops

    @property
    def retries(self) -> int:
        """Timeouts that fired and re-sent something (see
        :func:`~paxos_edu.metrics.retries_and_drops_by_role`)."""
        return int(retries_and_drops_by_role(self.retries_and_drops)["retries"].sum())

    @property
    def drops(self) -> int:
        """Datagrams lost (see :func:`~paxos_edu.metrics.retries_and_drops_by_role`)."""
        return int(retries_and_drops_by_role(self.retries_and_drops)["drops"].sum())

    def row(self) -> dict[str, Any]:
        """One line for a results table: the swept parameters and the outcomes.

        ``values_per_client`` is the ``values`` parameter (what a widget's slider sets);
        ``values`` is the total over all clients (what the learners must deliver)."""
        p = self.params
        s = self.metrics.summary
        return {
            "backend": p["backend"], "loss": p["loss"], "timeout": p["timeout"],
            "clients": p["clients"], "values_per_client": p["values"],
            "values": p["values"] * p["clients"], "mode": p["mode"], "seed": p["seed"],
            "complete": self.complete, "safe": self.safe,
            "completion_time_s": self.completion_time,
            "latency_p50_ms": s["latency_p50_ms"], "latency_p99_ms": s["latency_p99_ms"],
            "retries": self.retries, "drops": self.drops, "wall_time_s": self.wall_time,
        }  # fmt: skip

    def __repr__(self) -> str:
        r = self.row()
        return (
            f"ExperimentResult({r['backend']}: {r['values']} values, loss {r['loss']}, "
            f"timeout {r['timeout']} s -> complete {r['complete']}, safe {r['safe']}, "
            f"{r['completion_time_s']:.3f} s, p50 {r['latency_p50_ms']:.1f} ms, "
            f"{r['retries']} retries, {r['drops']} drops)"
        )


def experiment_params(params: Optional[dict[str, Any]] = None, **overrides: Any) -> dict[str, Any]:
    """:data:`DEFAULTS` updated with ``params`` and ``overrides``; unknown names are errors."""
    p = {**DEFAULTS, **(params or {}), **overrides}
    unknown = set(p) - set(DEFAULTS)
    if unknown:
        raise UsageError(
            f"unknown experiment parameter(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(DEFAULTS)}"
        )
    if p["backend"] not in ("sim", "real"):
        raise UsageError(f"backend must be 'sim' or 'real', not {p['backend']!r}")
    # The protocol settings are checked against config.SETTINGS, like a config file
    # (batch and window None: the protocol's default).
    given = {"acceptor_count": p["acceptors"], "loss": p["loss"], "timeout": p["timeout"],
             "mode": p["mode"], "seed": p["seed"], "batch": p["batch"], "window": p["window"]}
    settings_from("experiment", **{k: v for k, v in given.items() if v is not None})
    return p


def client_values(client: int, n: int) -> list[str]:
    """The values client ``client`` submits in an experiment: ``c1-0``, ``c1-1``, ..."""
    return [f"c{client}-{k}" for k in range(n)]


def run_experiment(
    params: Optional[dict[str, Any]] = None, *, progress: Optional[Progress] = None
) -> ExperimentResult:
    """Run one cluster with ``params`` (see :data:`DEFAULTS`) and check it.

    Every client submits ``values`` values at time 0; ``actions`` crash or start processes
    later. The run stops when every live learner has every value, or after ``until``
    seconds. Works on the simulator (``backend="sim"``) and on real processes over
    multicast (``backend="real"``, needs :mod:`paxos_edu.cluster`).
    """
    p = experiment_params(params)
    started = time.perf_counter()
    run = _simulated(p, progress) if p["backend"] == "sim" else _real(p, progress)
    report = run.check()
    return ExperimentResult(p, run, report, time.perf_counter() - started)


def _simulated(p: dict[str, Any], progress: Optional[Progress]) -> SimRun:
    kwargs = dict(
        seed=p["seed"],
        loss=p["loss"],
        timeout=p["timeout"],
        mode=p["mode"],
        delay=tuple(p["delay"]),
    )
    kwargs.update({k: p[k] for k in ("batch", "window") if p[k] is not None})
    sim = Simulation(p["acceptors"], p["proposers"], p["learners"], p["clients"],
                     backoff=p["backoff"], **kwargs)  # fmt: skip
    last = 0.0
    for at, op, role, pid in sorted(p["actions"]):
        if op not in ("crash", "start"):
            raise UsageError(f"an action is 'crash' or 'start', not {op!r}")
        getattr(sim, op)(role, int(pid), at=None if at <= 0 else float(at))
        last = max(last, float(at))
    for c in range(1, p["clients"] + 1):
        sim.submit(c, client_values(c, p["values"]))
    return simulate(sim, until=p["until"], not_before=last, progress=progress)


def _real(p: dict[str, Any], progress: Optional[Progress]) -> Run:
    from .cluster import Cluster  # real processes: imported only when they run

    if not p["backoff"]:
        raise UsageError("backoff can be switched off on the simulator only (backend='sim')")
    kwargs = dict(
        acceptors=p["acceptors"],
        proposers=p["proposers"],
        learners=p["learners"],
        clients=p["clients"],
        loss=p["loss"],
        timeout=p["timeout"],
        seed=p["seed"],
        trace=p["trace"],
        mode=p["mode"],
        batch=p["batch"],
        window=p["window"],
    )
    actions = sorted(p["actions"])
    with Cluster(**kwargs) as c:
        for at, op, role, pid in actions:
            if at <= 0:
                _act(c, op, role, pid)
        t0 = time.monotonic()
        for client in range(1, p["clients"] + 1):
            c.submit(client, client_values(client, p["values"]))
        for at, op, role, pid in actions:
            if at > 0:
                time.sleep(max(0.0, t0 + at - time.monotonic()))
                _act(c, op, role, pid)
        _wait(c, t0 + p["until"], progress)
    return c.run


def _wait(cluster: Any, deadline: float, progress: Optional[Progress]) -> None:
    """Wait for every value everywhere, reporting progress, until ``deadline``
    (monotonic); an incomplete run is not an error here: the checks say who is behind."""

    def report() -> None:
        if progress is not None:
            state = cluster.progress().values()  # per live learner: (delivered, expected)
            progress(min((d for d, _ in state), default=0), max((t for _, t in state), default=0))

    while True:
        left = deadline - time.monotonic()
        try:
            cluster.wait(timeout=max(0.05, min(left, 0.2) if progress else left))
            break
        except TimeoutError:
            report()
            if time.monotonic() >= deadline:
                break
    report()


def _act(cluster: Any, op: str, role: str, pid: int) -> None:
    if op == "crash":
        cluster.kill(role, int(pid))
    elif op == "start":
        cluster.start(role, int(pid))
    else:
        raise UsageError(f"an action is 'crash' or 'start', not {op!r}")


# ---------------------------------------------------------------------- sweeps and lessons


def sweep(
    loss_values: Iterable[float],
    timeout_values: Iterable[float],
    *,
    values: int = 20,
    backend: str = "sim",
    progress: bool = True,
    repeats: int = 1,
    **params: Any,
) -> pd.DataFrame:
    """:func:`run_experiment` over every (loss, timeout), ``repeats`` seeds each; one
    :meth:`ExperimentResult.row` per run, with a progress bar (tqdm, notebook-aware)."""
    from tqdm.auto import tqdm

    grid = [(loss, t, r) for loss in loss_values for t in timeout_values for r in range(repeats)]
    seed = params.pop("seed", DEFAULTS["seed"])
    rows = []
    with tqdm(total=len(grid), desc="sweep", disable=not progress, leave=False) as bar:
        for loss, t, r in grid:
            result = run_experiment(
                dict(params, loss=loss, timeout=t, values=values, backend=backend, seed=seed + r)
            )
            rows.append(result.row())
            bar.update(1)
    return pd.DataFrame(rows)


def run_duel(params: Optional[dict[str, Any]] = None) -> ExperimentResult:
    """Notebook 05: several proposers compete for leadership (simulator). The network is
    slow compared with the timeout, so followers lose patience and take over while
    another one leads; with ``backoff=False`` they keep colliding.

    One value per instance (``batch=1``) unless given: with the protocol's batch of 256
    every client's values fit in one instance, so a duel over 1 or 50 values per client
    was the same single fight; one instance per value makes more values a longer duel."""
    base = dict(backend="sim", proposers=3, timeout=0.01, delay=(0.001, 0.01), values=10,
                until=5.0, batch=1)
    return run_experiment({**base, **(params or {})})


def duel_summary(result: ExperimentResult) -> dict[str, Any]:
    """Leaderships won, step-downs and the highest round counter of a duel."""
    notes = result.run.notes
    props = notes[notes["role"] == "proposer"]
    top = props["fields"].map(
        lambda f: int(str(f.get("rnd", "0")).split(".")[0] or 0) if f.get("rnd", "-") != "-" else 0
    )
    return {
        "proposers": result.params["proposers"], "backoff": result.params["backoff"],
        "leaderships": int((props["note"] == "leader").sum()),
        "step_downs": int((props["note"] == "step_down").sum()),
        "highest_round": int(top.max()) if len(top) else 0,
        "complete": result.complete, "completion_time_s": result.completion_time,
    }  # fmt: skip


FAILURE_RUN_S = 3.0
"""How long :func:`run_failures` runs at most (s): a kill can land anywhere in it."""


def run_failures(
    params: Optional[dict[str, Any]] = None,
    *,
    acceptors_up: int = 3,
    kill: Optional[tuple[str, int]] = None,
    kill_at: float = 0.05,
) -> ExperimentResult:
    """Notebook 06: 3 acceptors configured, only ``acceptors_up`` of them started; and
    optionally ``kill = (role, id)`` crashed at ``kill_at`` s. With fewer than a majority
    nothing can be learned -- but what is learned is never wrong."""
    p = {"backend": "sim", "until": FAILURE_RUN_S, **(params or {})}
    acceptors = p.get("acceptors", 3)
    if not 0 <= acceptors_up <= acceptors:
        raise UsageError(f"acceptors_up must be between 0 and {acceptors}")
    actions = [(0.0, "crash", "acceptor", a) for a in range(acceptors_up + 1, acceptors + 1)]
    if kill is not None:
        actions.append((float(kill_at), "crash", kill[0], int(kill[1])))
    p["actions"] = tuple(p.get("actions", ())) + tuple(actions)
    return run_experiment(p)


@dataclass(frozen=True)
class Verdict:
    """An outcome judged against what the lesson expects (see :func:`failure_verdict`).

    Attributes:
        ok: the run did what Paxos promises for this setup (safe, and progress exactly
            when a quorum of acceptors and a proposer stayed up).
        expect_progress: every value should be delivered.
        text: one sentence for the student, e.g. ``as expected: safe, progress stopped``.
    """

    ok: bool
    expect_progress: bool
    text: str


def failure_verdict(
    result: ExperimentResult,
    *,
    acceptors_up: int = 3,
    kill: Optional[tuple[str, int]] = None,
    kill_at: float = 0.05,
) -> Verdict:
    """Compare a :func:`run_failures` outcome with what Paxos promises for its setup.

    Safety must hold whatever crashed. Progress is expected when a majority of the
    acceptors and at least one proposer stay up; when the kill removes the last quorum,
    values decided before it still arrive, so a complete run is fine too (the kill came
    late), and an incomplete one is what the lesson predicts: "progress stops"."""
    from .quorum import quorum_size

    p = result.params
    acceptors, proposers = int(p["acceptors"]), int(p["proposers"])
    role, pid = kill if kill is not None else ("", 0)
    acceptors_left = acceptors_up - int(role == "acceptor" and 1 <= pid <= acceptors_up)
    proposers_left = proposers - int(role == "proposer" and 1 <= pid <= proposers)
    quorum = quorum_size(acceptors)
    can_start = acceptors_up >= quorum
    expect = acceptors_left >= quorum and proposers_left >= 1
    run = result.run
    learned = run.learned.groupby("learner").size().reindex(run.learners, fill_value=0)
    delivered = int(learned.min()) if len(learned) else 0
    total = len(run.proposed)
    if not can_start:
        why = f"only {acceptors_up} of {acceptors} acceptors up, and a quorum is {quorum}"
    elif proposers_left < 1:
        why = f"after the kill at {kill_at:g} s no proposer is left"
    else:
        why = (f"after the kill at {kill_at:g} s only {acceptors_left} of {acceptors} "
               f"acceptors are left, and a quorum is {quorum}")
    if not result.safe:
        return Verdict(False, expect, "PROPERTIES VIOLATED: what was learned is wrong "
                       "-- Paxos never allows this, whatever crashes")
    if expect and result.complete:
        return Verdict(True, True, f"as expected: safe, all {total} values delivered")
    if expect:
        return Verdict(False, True, f"unexpected: safe, but only {delivered} of {total} "
                       f"values delivered although a quorum stayed up")
    if result.complete:
        return Verdict(True, False, f"as expected: safe, all {total} values delivered "
                       f"before progress could stop; {why}")
    return Verdict(True, False, f"as expected: safe, progress stopped at {delivered} of "
                   f"{total} values; {why}")


def run_catchup(
    params: Optional[dict[str, Any]] = None, *, late_at: float = 0.3
) -> ExperimentResult:
    """Notebook 07: ``learners`` learners from the start, one more started at ``late_at``
    s, after the values were decided: it must catch up from the first value on. One value
    per instance by default, so the catch-up streams many instances, page by page."""
    p = {"backend": "sim", "learners": 2, "values": 100, "batch": 1, **(params or {})}
    late = p["learners"] + 1
    p["actions"] = tuple(p.get("actions", ())) + ((float(late_at), "start", "learner", late),)
    return run_experiment(p)


def late_learner(result: ExperimentResult) -> int:
    """The id of the learner :func:`run_catchup` started late."""
    return int(result.params["learners"]) + 1


def compare_2b_routes(acceptors: int = 3, proposers: int = 1, learners: int = 2) -> pd.DataFrame:
    """Messages to decide one instance (phase 2), 2B straight to the learners (what
    paxos_edu does) against 2B through the proposer, which then tells the learners.

    Columns: ``route``, ``kind``, ``per_value`` (datagrams sent, multicast counts once),
    ``copies`` (datagrams received), ``delays`` (message delays from 2A to learning).
    """
    direct = [("PHASE2A", 1, acceptors), ("PHASE2B", acceptors, acceptors * (learners + proposers))]
    via = [
        ("PHASE2A", 1, acceptors),
        ("PHASE2B", acceptors, acceptors * proposers),
        ("DECISION", 1, learners + proposers),
    ]
    rows = [("2B to learners", k, n, c, 2) for k, n, c in direct]
    rows += [("2B via proposer", k, n, c, 3) for k, n, c in via]
    return pd.DataFrame(rows, columns=["route", "kind", "per_value", "copies", "delays"])


__all__ = [
    "DEFAULTS", "FAILURE_RUN_S", "ExperimentResult", "SimRun", "Verdict", "client_values",
    "compare_2b_routes", "duel_summary", "experiment_params", "failure_verdict", "late_learner",
    "run_catchup", "run_duel", "run_experiment", "run_failures", "simulate", "sweep",
]  # fmt: skip
