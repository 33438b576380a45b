"""The course's test scenarios, run on a real :class:`~paxos_edu.cluster.Cluster`.

Each scenario is data -- the cluster it needs, the outcome it expects -- plus a short
script of what happens during the run (submit, kill, start a learner late). The
``python -m paxos_edu run --scenario NAME`` command, the integration tests and the
notebooks all call :func:`run_scenario`::

    result = run_scenario("kill-acceptor", values=200)
    result.ok          # the checks hold and the outcome is the expected one
    print(result)      # what happened, the check report, PASS/FAIL
    result.run.learned # the tables, as for any run

Expected outcomes:

``all``
    every live learner delivers every submitted value (a quorum of acceptors and one
    of each other role stay up);
``none``
    nothing is learned within a bounded wait (no quorum of acceptors), and nothing
    violates safety;
``prefix``
    progress may stop part-way (a quorum is lost mid-run); what was learned is safe:
    learners agree on a common prefix, values were proposed, none twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .cluster import Cluster, ClusterTimeout, ProcessFailed
from .errors import UsageError

if TYPE_CHECKING:
    from .checks import CheckReport
    from .runlog import Metrics, Run

EXPECTATIONS = {
    "all": "every submitted value learned by every live learner",
    "none": "nothing learned (no quorum of acceptors), nothing violated",
    "prefix": "learners agree on what they learned (progress may stop), nothing violated",
}


@dataclass(frozen=True)
class Scenario:
    """One course scenario.

    Attributes:
        name: as given to ``--scenario``.
        description: one sentence for a listing.
        expect: ``"all"``, ``"none"`` or ``"prefix"`` (see the module docstring).
        cluster: :class:`Cluster` arguments that define it (e.g. two of three acceptors);
            the caller's overrides win.
        script: ``script(cluster, values_per_client, notes, hold)`` submits the values
            and makes things happen; it appends what it did to ``notes``.
    """

    name: str
    description: str
    expect: str
    cluster: dict[str, Any]
    script: Callable[[Cluster, int, list[str], "_Budget"], None]


@dataclass
class _Budget:
    """How long a script may wait: ``timeout`` for values that must be learned, ``hold``
    for checking that nothing (more) is learned."""

    timeout: float
    hold: float
    progress: bool


# ---------------------------------------------------------------------- scripts


def _client_values(cid: int, n: int, offset: int = 0) -> list[str]:
    return [f"c{cid}-v{i}" for i in range(offset, offset + n)]


def _submit_all(c: Cluster, n: int) -> None:
    for cid in c.ids("client"):
        c.submit(cid, _client_values(cid, n))


def _first_learned(c: Cluster, timeout: float) -> int:
    """Wait until some learner delivered something; returns how many (0 on timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = max((d for d, _ in c.progress().values()), default=0)
        if got:
            return got
        time.sleep(0.001)
    return 0


def _basic(c: Cluster, n: int, notes: list[str], budget: _Budget) -> None:
    _submit_all(c, n)
    c.wait(budget.timeout, progress=budget.progress)


def _no_quorum(c: Cluster, n: int, notes: list[str], budget: _Budget) -> None:
    _submit_all(c, n)
    try:
        c.wait(budget.hold, progress=budget.progress)
    except ClusterTimeout:
        notes.append(f"as expected, not everything was learned within {budget.hold:g} s")
    else:
        notes.append(f"everything was learned within {budget.hold:g} s")


def _crash_mid_run(victims: Callable[[Cluster], list[tuple[str, int]]], complete: bool):
    """Submit the first half, crash ``victims`` as soon as values flow, submit the rest."""

    def script(c: Cluster, n: int, notes: list[str], budget: _Budget) -> None:
        clients = c.ids("client")
        half = n // 2
        for cid in clients:
            c.submit(cid, _client_values(cid, half))
        learned = _first_learned(c, budget.timeout)
        for role, vid in victims(c):
            c.kill(role, vid)
            notes.append(f"killed {role} {vid} (SIGKILL) once {learned} values were learned")
        for cid in clients:
            c.submit(cid, _client_values(cid, n - half, offset=half))
        if complete:
            c.wait(budget.timeout, progress=budget.progress)
            return
        try:
            c.wait(budget.hold, progress=budget.progress)
            notes.append("everything was learned before the crash stopped progress")
        except ClusterTimeout:
            notes.append(f"as expected, progress stopped (waited {budget.hold:g} s)")

    return script


def _last_acceptors(k: int) -> Callable[[Cluster], list[tuple[str, int]]]:
    return lambda c: [("acceptor", i) for i in c.ids("acceptor")[-k:]]


def _catch_up(c: Cluster, n: int, notes: list[str], budget: _Budget) -> None:
    clients = c.ids("client")
    learners = c.ids("learner")
    late = max(learners, default=0) + 1
    c.submit(clients[0], _client_values(clients[0], n))
    c.wait(budget.timeout, progress=budget.progress)
    c.start("learner", late)
    notes.append(f"learner {late} started after client {clients[0]}'s {n} values were learned")
    for cid in clients[1:]:
        c.submit(cid, _client_values(cid, n))
    c.wait(budget.timeout, progress=budget.progress)


def _catch_up_order(run: Run, n: int) -> list[str]:
    """The late learner delivers the first client's values first, in the same order."""
    late = max(run.learners)
    first = run.learned[run.learned["learner"] == late].head(n)
    if len(first) < n or set(first["client"].astype(int)) != {min(run.clients)}:
        return [f"learner {late} did not deliver client {min(run.clients)}'s {n} values first"]
    return []


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("basic", "2 clients, 2 proposers, 3 acceptors, 2 learners: everything learned",
                 "all", {}, _basic),
        Scenario("two-acceptors", "only 2 of 3 acceptors run: a quorum, everything learned",
                 "all", {"acceptors": 2, "acceptor_count": 3}, _basic),
        Scenario("one-acceptor", "only 1 of 3 acceptors runs: no quorum, nothing learned",
                 "none", {"acceptors": 1, "acceptor_count": 3}, _no_quorum),
        Scenario("loss", "10 % of datagrams lost: everything learned, in total order",
                 "all", {"loss": 0.1}, _basic),
        Scenario("kill-acceptor", "one acceptor killed mid-run: everything learned", "all",
                 {}, _crash_mid_run(_last_acceptors(1), complete=True)),
        Scenario("kill-proposer", "proposer 1 (the first leader) killed mid-run: everything "
                 "learned", "all", {}, _crash_mid_run(lambda c: [("proposer", 1)], True)),
        Scenario("kill-two-acceptors", "two of three acceptors killed mid-run: progress "
                 "stops, nothing violated", "prefix", {},
                 _crash_mid_run(_last_acceptors(2), complete=False)),
        Scenario("catch-up", "learner 2 starts after client 1's values are learned: it "
                 "learns them first, then client 2's",
                 "all", {"proposers": 1, "learners": 1}, _catch_up),
    ]
}
"""Every scenario by name, in the order ``--help`` lists them."""


# ---------------------------------------------------------------------- running one


@dataclass(eq=False)
class ScenarioResult:
    """What a scenario did and whether it turned out as expected.

    Attributes:
        name, expect: the scenario and its expected outcome (``all``/``none``/``prefix``).
        ok: the checks hold *and* the outcome is the expected one.
        report: the :class:`~paxos_edu.checks.CheckReport` of the run.
        run: the run's tables.
        settings: the cluster arguments used, and ``values`` (per client).
        notes: what the script did (kills, late starts, timeouts).
        problems: why the outcome differs from the expected one (empty when it does not).
        wall_s: seconds from creating the cluster to the checked run.
    """

    name: str
    expect: str
    ok: bool
    report: CheckReport
    run: Run
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    wall_s: float = float("nan")

    def metrics(self) -> Metrics:
        """Latency, throughput and message counts of the run."""
        return self.run.metrics()

    def __str__(self) -> str:
        s = self.settings
        shape = (f"{_n(s['clients'], 'client')} x {s['values']} values, "
                 f"{_n(s['proposers'], 'proposer')}, {_n(s['acceptors'], 'acceptor')}")
        if s.get("acceptor_count") not in (None, s["acceptors"]):
            shape += f" (of {s['acceptor_count']})"
        shape += f", {_n(s['learners'], 'learner')}; loss {s['loss']:g}"
        sizes = self.run.learned.groupby("learner").size()
        learned = ", ".join(f"learner {i}: {int(sizes.get(i, 0))}" for i in self.run.learners)
        lines = [f"scenario {self.name}: {shape}"]
        lines += [f"  {note}" for note in self.notes]
        lines.append(f"  expected: {EXPECTATIONS[self.expect]}")
        lines.append(f"  learned:  {learned or 'no learner'} values")
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        lines.append(str(self.report))
        where = (f"run directory {self.run.path}" if self.settings.get("log_dir") else
                 "temporary run directory")
        lines.append(f"{'PASS' if self.ok else 'FAIL'}  ({self.wall_s:.2f} s, {where})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        head = html.escape("\n".join(str(self).splitlines()[: 3 + len(self.notes)]))
        return f"<pre>{head}</pre>{self.report._repr_html_()}"


def run_scenario(
    name: str,
    *,
    values: int = 100,
    timeout_s: float = 30.0,
    hold_s: float = 1.0,
    progress: bool = False,
    **overrides: Any,
) -> ScenarioResult:
    """Run scenario ``name`` on a fresh cluster and check it.

    Args:
        name: a key of :data:`SCENARIOS`.
        values: values each client submits.
        timeout_s: how long values that must be learned may take.
        hold_s: how long to watch, where nothing (more) should be learned.
        progress: show progress bars while waiting.
        **overrides: :class:`Cluster` arguments (``acceptors``, ``loss``, ``seed``,
            ``log_dir``, ``launcher``, ...); they win over the scenario's own.

    Raises:
        UsageError: unknown scenario or argument.
    """
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise UsageError(f"unknown scenario {name!r}; scenarios: {', '.join(SCENARIOS)}")
    if isinstance(values, bool) or not isinstance(values, int) or values < 1:
        raise UsageError(f"values must be an integer >= 1, not {values!r}")
    settings: dict[str, Any] = {"acceptors": 3, "proposers": 2, "learners": 2, "clients": 2,
                                "loss": 0.0}
    settings.update(scenario.cluster)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if name == "catch-up" and settings["clients"] < 2:
        raise UsageError("scenario catch-up needs at least 2 clients")
    notes: list[str] = []
    started = time.perf_counter()
    try:
        cluster = Cluster(**settings)
    except TypeError as exc:
        raise UsageError(f"run_scenario: {exc}") from None
    problems: list[str] = []
    with cluster:
        try:
            scenario.script(cluster, values, notes, _Budget(timeout_s, hold_s, progress))
        except (ClusterTimeout, ProcessFailed) as exc:
            problems.append(str(exc))
    run = cluster.run
    complete = scenario.expect == "all"
    report = run.check(expect_complete=complete)
    problems += _outcome_problems(scenario.expect, run, values)
    if name == "catch-up":
        problems += _catch_up_order(run, values)
    wall = time.perf_counter() - started
    settings["values"] = values
    return ScenarioResult(name, scenario.expect, report.ok and not problems, report, run,
                          settings, notes, problems, wall)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _outcome_problems(expect: str, run: Run, values: int) -> list[str]:
    learned = len(run.learned)
    if expect == "none" and learned:
        return [f"{learned} deliveries although no quorum of acceptors ran"]
    if expect == "all":
        total = len(run.proposed)
        sizes = run.learned.groupby("learner").size()
        short = [i for i in run.live_learners if sizes.get(i, 0) < total]
        if short:
            return [f"learner {i} delivered {int(sizes.get(i, 0))} of {total} values"
                    for i in short]
    return []


__all__ = ["EXPECTATIONS", "SCENARIOS", "Scenario", "ScenarioResult", "run_scenario"]
