"""Chaos runs: seeded schedules of loss, duplicates, crashes, pauses and late learners.

Each run draws a :class:`Plan` from ``(seed, run number)`` alone -- the same seed gives
the same plan -- and plays it on a real :class:`~paxos_edu.cluster.Cluster` (or, with
``sim=True``, on the deterministic simulator):

* a receive loss rate between 0 and ``max_loss`` (50 %) in every process;
* duplicated datagrams: a :class:`~paxos_edu.hostile.Recorder` re-sends each datagram it
  hears with some probability (immediate duplicates), and from mid-run a replay-only
  :func:`~paxos_edu.hostile.spray` sends exact copies of captured datagrams (late
  duplicates);
* a minority of the acceptors and of the proposers is killed (SIGKILL) or paused
  (SIGSTOP, later SIGCONT) -- at least one proposer and a majority of acceptors are
  never touched; sometimes a learner is paused for a while;
* late learners start in the middle of the run and must learn everything from the first
  value on;
* values are submitted in chunks throughout.

Then every live learner must have delivered every value (the cluster's ``wait``), and
the run's checks must hold (order, integrity, validity, completeness). Finally a
majority of the acceptors is killed and more values are submitted: none of them may be
learned, and still nothing may be violated.

Run it from the command line (``python -m paxos_edu.chaos --runs 20 --seed 7``); it
prints one line per run and the totals: runs, values, violations. The timing of real
processes is not reproducible, but the plan is: a failing run is replayed with the same
seed and run number (``--seed S --first K --runs 1``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from .checks import CheckReport, check_sequences
from .errors import UsageError
from .quorum import quorum_size

__all__ = ["Event", "Plan", "RunResult", "Totals", "main", "make_plan", "run_chaos", "run_plan"]

MAX_LOSS = 0.5
"""Highest receive loss a plan draws."""
MAX_DUPLICATE = 0.3
"""Highest probability that a datagram is duplicated at once."""
REPLAY_RATE = 300.0
"""Exact replays of captured datagrams per second, from mid-run on (late duplicates)."""
SILENCE = 1.0
"""Seconds the values submitted after a majority of acceptors died are given to (not)
be learned."""


@dataclass(frozen=True)
class Event:
    """One action of a plan, ``at`` seconds after the run started."""

    at: float
    action: str  # kill | pause | resume | start
    role: str
    id: int

    def __str__(self) -> str:
        return f"{self.at:5.2f}s {self.action} {self.role} {self.id}"


@dataclass(frozen=True)
class Plan:
    """The schedule of one chaos run, a pure function of ``(seed, run)``.

    Attributes:
        seed, run: what the plan was drawn from.
        acceptors, proposers, learners, clients: processes started at once (ids 1..n);
            late learners get the next ids.
        loss: receive loss of every process. duplicate: probability that a datagram is
            re-sent at once. timeout: the processes' retry timeout. secret: whether the
            cluster authenticates its datagrams.
        values: values each client submits, in ``chunks`` spread over ``duration``.
        events: kills, pauses, resumes and late starts, by time.
        process_seed: seed of the processes' generators (loss, backoff).
    """

    seed: int
    run: int
    acceptors: int
    proposers: int
    learners: int
    clients: int
    loss: float
    duplicate: float
    timeout: float
    secret: bool
    values: int
    chunks: int
    duration: float
    events: tuple[Event, ...]
    process_seed: int

    @property
    def submit_times(self) -> list[float]:
        """When each chunk of values is submitted."""
        step = 0.8 * self.duration / max(self.chunks - 1, 1)
        return [round(i * step, 3) for i in range(self.chunks)]

    def describe(self) -> str:
        """The plan in a few lines."""
        head = (f"run {self.run} (seed {self.seed}): {self.acceptors} acceptors, "
                f"{self.proposers} proposers, {self.learners} learners, {self.clients} "
                f"clients; loss {self.loss:.0%}, duplicates {self.duplicate:.0%}, timeout "
                f"{self.timeout:g} s{', secret' if self.secret else ''}; {self.values} values "
                f"per client in {self.chunks} chunks over {self.duration:g} s")
        return "\n".join([head, *(f"  {e}" for e in self.events)])


def make_plan(seed: int, run: int, *, duration: float = 2.5, values: int = 40,
              max_loss: float = MAX_LOSS) -> Plan:
    """Draw the plan of run ``run`` of a chaos session seeded with ``seed``."""
    if duration <= 0 or values < 1 or not 0 <= max_loss < 1:
        raise UsageError("duration must be > 0, values >= 1 and max_loss in [0, 1)")
    rng = random.Random(f"paxos_edu/chaos/{seed}/{run}")
    acceptors = rng.choice((3, 3, 5))
    proposers = rng.choice((2, 3))
    learners, clients = 2, 2
    events: list[Event] = []

    def disturb(role: str, ids: list[int]) -> None:
        for pid in ids:
            at = rng.uniform(0.1, 0.7) * duration
            if rng.random() < 0.5:
                events.append(Event(round(at, 3), "kill", role, pid))
            else:
                back = min(at + rng.uniform(0.1, 0.4) * duration, 0.95 * duration)
                events.append(Event(round(at, 3), "pause", role, pid))
                events.append(Event(round(back, 3), "resume", role, pid))

    minority = acceptors - quorum_size(acceptors)
    disturb("acceptor", rng.sample(range(1, acceptors + 1), rng.randint(1, minority)))
    disturb("proposer", rng.sample(range(1, proposers + 1), rng.randint(1, proposers - 1)))
    if rng.random() < 0.3:  # a learner stalls and must catch up
        at = rng.uniform(0.1, 0.6) * duration
        events.append(Event(round(at, 3), "pause", "learner", 2))
        events.append(Event(round(at + rng.uniform(0.1, 0.3) * duration, 3), "resume",
                            "learner", 2))
    for late in range(learners + 1, learners + 1 + rng.choice((1, 1, 2))):
        events.append(Event(round(rng.uniform(0.3, 0.9) * duration, 3), "start", "learner",
                            late))
    events.sort(key=lambda e: (e.at, e.action != "resume"))
    return Plan(
        seed=seed, run=run, acceptors=acceptors, proposers=proposers, learners=learners,
        clients=clients, loss=round(rng.uniform(0.0, max_loss), 3),
        duplicate=round(rng.uniform(0.0, MAX_DUPLICATE), 3),
        timeout=rng.choice((0.05, 0.1, 0.2)), secret=rng.random() < 0.5,
        values=values, chunks=5, duration=duration, events=tuple(events),
        process_seed=rng.randrange(1 << 31),
    )


def _chunks(plan: Plan, client: int, prefix: str) -> list[list[str]]:
    per = -(-plan.values // plan.chunks)
    names = [f"{prefix}r{plan.run}-c{client}-v{i}" for i in range(plan.values)]
    return [names[i * per : (i + 1) * per] for i in range(plan.chunks)]


def late_values(plan: Plan, client: int) -> list[str]:
    """Values submitted once a majority of acceptors is dead (never to be learned)."""
    return [f"after-majority-r{plan.run}-c{client}-v{i}" for i in range(5)]


# ---------------------------------------------------------------------- results


@dataclass
class RunResult:
    """What one chaos run showed.

    Attributes:
        plan: the plan played.
        submitted: values submitted while a quorum was up.
        learned: per live learner, values delivered.
        safety: checks of the whole run (order, integrity, validity; completeness not
            checked since values submitted after the majority died stay unlearned).
        completeness: every live learner delivered every value submitted while a quorum
            was up.
        learned_after_majority_died: deliveries of values submitted after that.
        duplicated: datagrams duplicated at once; replayed: exact replays sent later.
        error: why the run could not finish (e.g. a learner still behind at the timeout).
        seconds: wall time of the run.
        path: run directory (when kept).
    """

    plan: Plan
    submitted: int = 0
    learned: dict[int, int] = field(default_factory=dict)
    safety: Optional[CheckReport] = None
    completeness: Optional[CheckReport] = None
    learned_after_majority_died: int = 0
    duplicated: int = 0
    replayed: int = 0
    error: Optional[str] = None
    seconds: float = 0.0
    path: Optional[Path] = None

    @property
    def violations(self) -> int:
        """Violated properties, plus values learned without a quorum, plus a failure to
        learn everything in time."""
        count = 0
        for report in (self.safety, self.completeness):
            if report is not None:
                count += sum(1 for row in report.rows if row.ok is False)
        count += self.learned_after_majority_died
        return count + (1 if self.error else 0)

    @property
    def ok(self) -> bool:
        return self.violations == 0 and self.safety is not None

    def summary(self) -> str:
        p = self.plan
        actions = " ".join(f"{e.action}:{e.role[0]}{e.id}" for e in p.events)
        status = "ok" if self.ok else f"{self.violations} VIOLATION(S)"
        line = (f"run {p.run:3d} seed {p.seed}: {status}; {self.submitted} values, learners "
                f"{self.learned}; loss {p.loss:.0%}, dup {p.duplicate:.0%} "
                f"({self.duplicated} duplicated, {self.replayed} replayed), {p.acceptors}A "
                f"{p.proposers}P; {actions}; {self.seconds:.1f} s")
        details = []
        if self.error:
            details.append(f"    error: {self.error}")
        for report in (self.safety, self.completeness):
            if report is not None and not report.ok:
                details.append("    " + str(report).replace("\n", "\n    "))
        if self.learned_after_majority_died:
            details.append(f"    {self.learned_after_majority_died} values learned after a "
                           "majority of acceptors died")
        return "\n".join([line, *details])


@dataclass
class Totals:
    """Totals of a chaos session."""

    runs: int = 0
    values: int = 0
    violations: int = 0
    failed_runs: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        failed = f" (runs {self.failed_runs})" if self.failed_runs else ""
        return (f"chaos totals: runs {self.runs}, values {self.values}, violations "
                f"{self.violations}{failed}; {self.seconds:.1f} s")


# ---------------------------------------------------------------------- real processes


def _check(plan: Plan, learned: dict[int, list[Any]], proposed: list[Any],
           live: Sequence[int], late: set[str], result: RunResult) -> None:
    result.safety = check_sequences(learned, proposed, live_learners=live,
                                    expect_complete=False)
    before = [p for p in proposed if p[3] not in late]
    result.submitted = len(before)
    result.completeness = check_sequences(
        {i: [s for s in seq if s[3] not in late] for i, seq in learned.items()},
        before, live_learners=live, expect_complete=True)
    result.learned_after_majority_died = sum(
        1 for seq in learned.values() for s in seq if s[3] in late)
    result.learned = {i: len(learned.get(i, [])) for i in live}


def run_plan(plan: Plan, *, log_dir: Optional[Path] = None, wait_timeout: float = 60.0,
             majority: bool = True, bugs: Optional[str] = None) -> RunResult:
    """Play ``plan`` on a real cluster and check the run.

    Args:
        plan: from :func:`make_plan`.
        log_dir: run directory (default: a temporary one, removed afterwards).
        wait_timeout: longest wait for every value to be learned.
        majority: end by killing a majority of acceptors (see the module docstring).
        bugs: deliberate mistakes to switch on (:mod:`paxos_edu.bugs`): chaos should
            find them.
    """
    from .cluster import Cluster, ClusterTimeout
    from .hostile import Recorder, Sprayer

    started = time.monotonic()
    result = RunResult(plan)
    temp = None
    if log_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="paxos_edu-chaos-")
        log_dir = Path(temp.name)
    result.path = Path(log_dir)
    late: set[str] = set()
    try:
        cluster = Cluster(
            acceptors=plan.acceptors, proposers=plan.proposers, learners=plan.learners,
            clients=plan.clients, loss=plan.loss, timeout=plan.timeout,
            seed=plan.process_seed, log_dir=log_dir, overwrite=True,
            secret=f"chaos-{plan.seed}-{plan.run}" if plan.secret else None, bugs=bugs,
        )
        with cluster as c:
            recorder = Recorder(c.config.addresses, duplicate=plan.duplicate, limit=300,
                                seed=plan.process_seed, max_duplicates=200_000)
            with recorder:
                result.replayed = _play(plan, c, recorder, Sprayer)
                try:
                    c.wait(timeout=wait_timeout)
                except ClusterTimeout as exc:
                    result.error = str(exc)
            result.duplicated = recorder.duplicated
            if majority and result.error is None:
                late = _kill_majority(plan, c)
        run = c.run
        learned = run.learned_sequences(named=False)
        proposed = [tuple(r) for r in
                    run.proposed[["client", "session", "seq", "value"]].itertuples(index=False)]
        _check(plan, learned, proposed, run.live_learners, late, result)
    except Exception as exc:  # noqa: BLE001 -- a run that breaks is a result too
        result.error = result.error or f"{type(exc).__name__}: {exc}"
    finally:
        if temp is not None:
            temp.cleanup()
            result.path = None
    result.seconds = time.monotonic() - started
    return result


def _play(plan: Plan, c: Any, recorder: Any, sprayer_cls: Any) -> int:
    """Submit the chunks and carry out the events on time; start the late replays.
    Returns how many replays were sent."""
    timeline: list[tuple[float, int, Any]] = []
    for index, at in enumerate(plan.submit_times):
        timeline.append((at, 0, index))
    for event in plan.events:
        timeline.append((event.at, 1, event))
    timeline.append((0.5 * plan.duration, 2, None))
    timeline.sort(key=lambda item: (item[0], item[1]))
    chunks = {client: _chunks(plan, client, "") for client in range(1, plan.clients + 1)}
    start = time.monotonic()
    replays = None
    try:
        for at, kind, what in timeline:
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if kind == 0:
                for client, parts in chunks.items():
                    if parts[what]:
                        c.submit(client, parts[what])
            elif kind == 1:
                getattr(c, what.action)(what.role, what.id)
            elif recorder.samples:
                replays = sprayer_cls(
                    c.config.addresses, rate=REPLAY_RATE, seconds=0.5 * plan.duration,
                    seed=plan.process_seed, samples=recorder.samples, mix={"replay": 1.0})
                replays.start()
        rest = start + plan.duration - time.monotonic()
        if rest > 0:
            time.sleep(rest)
    finally:
        if replays is not None:
            replays.stop()
    return replays.join(5.0).sent if replays is not None else 0


def _kill_majority(plan: Plan, c: Any) -> set[str]:
    """Kill acceptors until a majority is dead, then submit values nobody may learn."""
    killed = {e.id for e in plan.events if e.role == "acceptor" and e.action == "kill"}
    needed = plan.acceptors - quorum_size(plan.acceptors) + 1  # a majority is dead
    for pid in range(1, plan.acceptors + 1):
        if len(killed) >= needed:
            break
        if pid not in killed:
            c.kill("acceptor", pid)
            killed.add(pid)
    time.sleep(0.3)  # what was in flight settles
    late: set[str] = set()
    for client in range(1, plan.clients + 1):
        values = late_values(plan, client)
        c.submit(client, values)
        late.update(values)
    time.sleep(SILENCE)
    return late


# ---------------------------------------------------------------------- the simulator


def run_plan_sim(plan: Plan, *, majority: bool = True, horizon: float = 120.0,
                 bugs: Optional[str] = None) -> RunResult:
    """Play ``plan`` on the simulator (virtual time, fully reproducible).

    Kills are crashes, late learners start on time, duplicates come from the simulated
    network; pauses are not simulated (the simulator has no SIGSTOP) and are skipped.
    """
    from .sim import Simulation

    started = time.monotonic()
    result = RunResult(plan)
    sim = Simulation(plan.acceptors, plan.proposers, plan.learners, plan.clients,
                     seed=plan.process_seed, loss=plan.loss, duplicate=plan.duplicate,
                     timeout=plan.timeout, bugs=bugs)
    for index, at in enumerate(plan.submit_times):
        for client in range(1, plan.clients + 1):
            part = _chunks(plan, client, "")[index]
            if part:
                sim.submit(client, part, at=at)
    for event in plan.events:
        if event.action == "kill":
            sim.crash(event.role, event.id, at=event.at)
        elif event.action == "start":
            sim.start(event.role, event.id, at=event.at)
    sim.run(until=horizon)
    if not sim.result().complete:
        result.error = f"not every value learned within {horizon:g} virtual seconds"
    late: set[str] = set()
    if majority and result.error is None:
        killed = {e.id for e in plan.events if e.role == "acceptor" and e.action == "kill"}
        needed = plan.acceptors - quorum_size(plan.acceptors) + 1
        for pid in range(1, plan.acceptors + 1):
            if len(killed) < needed and pid not in killed:
                sim.crash("acceptor", pid)
                killed.add(pid)
        sim.advance(0.3)
        for client in range(1, plan.clients + 1):
            values = late_values(plan, client)
            sim.submit(client, values)
            late.update(values)
        sim.run(until=sim.now + 10 * SILENCE, stop_when_complete=False)
    res = sim.result()
    result.duplicated = res.stats.get("duplicated", 0)
    learned = {i: [tuple(s) for s in seq] for i, seq in res.delivered.items()
               if i in res.live_learners}
    _check(plan, learned, [tuple(s) for s in res.proposed], res.live_learners, late, result)
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------- sessions


def iter_chaos(runs: int, seed: int, *, first: int = 0, sim: bool = False,
               duration: float = 2.5, values: int = 40, max_loss: float = MAX_LOSS,
               keep: Optional[Path] = None, wait_timeout: float = 60.0,
               bugs: Optional[str] = None) -> Iterator[RunResult]:
    """Play runs ``first .. first + runs - 1`` of session ``seed``, yielding each result."""
    for run in range(first, first + runs):
        plan = make_plan(seed, run, duration=duration, values=values, max_loss=max_loss)
        if sim:
            yield run_plan_sim(plan, bugs=bugs)
        else:
            log_dir = None if keep is None else Path(keep) / f"run{run:04d}"
            yield run_plan(plan, log_dir=log_dir, wait_timeout=wait_timeout, bugs=bugs)


def run_chaos(runs: int = 3, seed: int = 0, *, out: Any = None, verbose: bool = False,
              **options: Any) -> tuple[Totals, list[RunResult]]:
    """Play ``runs`` chaos runs and print one line each (to ``out``) and the totals.

    Options are those of :func:`iter_chaos`. Returns the totals and every result.
    """
    totals = Totals()
    results = []
    started = time.monotonic()
    for result in iter_chaos(runs, seed, **options):
        results.append(result)
        totals.runs += 1
        totals.values += result.submitted
        totals.violations += result.violations
        if not result.ok:
            totals.failed_runs.append(result.plan.run)
        if out is not None:
            if verbose:
                print(result.plan.describe(), file=out)
            print(result.summary(), file=out, flush=True)
    totals.seconds = time.monotonic() - started
    if out is not None:
        print(totals, file=out, flush=True)
    return totals, results


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m paxos_edu.chaos``: exit 0 when no run violated anything."""
    parser = argparse.ArgumentParser(
        prog="python -m paxos_edu.chaos",
        description="Seeded chaos runs of real paxos_edu clusters on loopback: loss, "
        "duplicates, crashes, pauses, late learners; then a majority of acceptors dies.")
    parser.add_argument("--runs", type=int, default=10, help="number of runs (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="session seed (default 0)")
    parser.add_argument("--first", type=int, default=0, help="number of the first run")
    parser.add_argument("--duration", type=float, default=2.5,
                        help="seconds of chaos per run (default 2.5)")
    parser.add_argument("--values", type=int, default=40,
                        help="values per client per run (default 40)")
    parser.add_argument("--max-loss", type=float, default=MAX_LOSS,
                        help=f"highest loss rate drawn (default {MAX_LOSS})")
    parser.add_argument("--sim", action="store_true",
                        help="play the plans on the simulator instead of real processes")
    parser.add_argument("--bugs", metavar="NAMES",
                        help="switch on deliberate mistakes (e.g. learn-from-one-2b): the "
                        "runs should then report violations")
    parser.add_argument("--keep", metavar="DIR", help="keep each run directory under DIR")
    parser.add_argument("--verbose", action="store_true", help="print each plan")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        totals, _ = run_chaos(args.runs, args.seed, out=sys.stdout, verbose=args.verbose,
                              first=args.first, sim=args.sim, duration=args.duration,
                              values=args.values, max_loss=args.max_loss,
                              keep=Path(args.keep) if args.keep else None, bugs=args.bugs)
    except UsageError as exc:
        print(f"chaos: error: {exc}", file=sys.stderr)
        return 2
    return 0 if totals.violations == 0 else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
