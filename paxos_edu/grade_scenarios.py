"""The grader's scenarios, and how one is run against a folder of course role scripts.

Each :class:`GradeScenario` is data: which processes start, what the clients are fed,
what happens mid-run, what outcome is expected. :func:`run_scenario` plays one in a fresh
:class:`~paxos_edu.grade_sandbox.Sandbox` and judges the ``learn<id>`` files as
*sequences* against exactly what was written to the clients (:func:`~paxos_edu.checks.
check_values`): total order is prefix agreement position by position, integrity and
validity are multiset bounds (nothing learned more often than it was proposed, nothing
never proposed), completeness is every proposed value learned as often as proposed.

Theory of operation
-------------------
* Servers start first (acceptors, proposers, learners); a server is *ready* once it holds
  a UDP socket (the only sign every implementation gives), then the clients start with a
  pipe as stdin.
* The grader writes values into those pipes itself, non-blocking, so a client that stops
  reading cannot hang it. Kill scenarios feed *paced* input (``feed_s`` seconds for all
  of it) and SIGKILL their victims' process groups half-way through, while values are
  still coming: a fast implementation cannot finish before the kill lands.
* Every wait is bounded and ends as soon as the outcome is known: all values learned by
  every learner (then a short grace to catch extra lines), a safety violation, something
  learned where nothing may be, no progress for ``stall_s``, or the timeout.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .checks import COMPLETENESS, check_values
from .grade_report import Verdict
from .grade_sandbox import Process, Sandbox

ROLE_SCRIPTS = {
    "acceptor": ("acceptor.sh",),
    "proposer": ("proposer.sh",),
    "learner": ("learner.sh", "learn.sh"),
    "client": ("client.sh",),
}
"""The course interface: one script per role (``learn.sh`` is the course's other name)."""

READY_S = 10.0
"""Longest wait for a server to open its UDP socket."""
SETTLE_S = 0.3
"""Pause after the servers are ready: a socket is bound a moment before it joins a group."""
GRACE_S = 0.3
"""Once everything is learned, how long to keep watching for extra lines."""
POLL_S = 0.02
CHECK_EVERY_S = 0.5
"""How often safety is checked while a scenario runs (a violation ends it early)."""


@dataclass(frozen=True)
class GradeScenario:
    """One scenario of the grader.

    Attributes:
        name, description: for the table.
        expect: ``all`` (every value learned by every learner), ``none`` (nothing may be
            learned), ``prefix`` (progress must stop after the kill; what was learned is
            safe) or ``catch-up`` (learner 2 starts once client 1's values are learned).
        values: values per client, full size; ``quick``: the ``--quick`` size.
        acceptors, proposers, learners, clients: ids started (3 acceptors make the
            configuration: fewer started means some are missing).
        kinds: what the values look like: ``distinct`` numbers, ``repeated`` (few distinct
            numbers, many times each), ``long`` (1000 characters), ``unicode``.
        loss: kernel-level loss (iptables in the namespace).
        kill: processes SIGKILLed half-way through the paced input.
        feed_s: paced input lasts this long (None: everything at once).
        noise: random datagrams sprayed at every group meanwhile.
        required: False for informational extras.
        timeout_s, stall_s: bounds (quick sizes use half, at least 10 s / 4 s).
    """

    name: str
    description: str
    expect: str
    values: int
    quick: int
    acceptors: tuple[int, ...] = (1, 2, 3)
    proposers: tuple[int, ...] = (1, 2)
    learners: tuple[int, ...] = (1, 2)
    clients: tuple[int, ...] = (1, 2)
    kind: str = "distinct"
    loss: float = 0.0
    kill: tuple[tuple[str, int], ...] = ()
    feed_s: Optional[float] = None
    noise: bool = False
    required: bool = True
    timeout_s: float = 60.0
    stall_s: float = 10.0
    hold_s: float = 3.0

    @property
    def needs_netns(self) -> bool:
        return bool(self.loss) or self.noise


def _kills(*victims: tuple[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(victims)


SCENARIOS: tuple[GradeScenario, ...] = (
    GradeScenario("basic-100", "2 clients x 100 values, 3 acceptors, 2 proposers, 2 learners",
                  "all", 100, 50),
    GradeScenario("basic-1000", "2 clients x 1000 values", "all", 1000, 200),
    GradeScenario("basic-10000", "2 clients x 10000 values", "all", 10_000, 1000,
                  timeout_s=120.0),
    GradeScenario("two-acceptors", "only 2 of 3 acceptors run: still a quorum", "all",
                  1000, 100, acceptors=(1, 2)),
    GradeScenario("one-acceptor", "only 1 of 3 acceptors runs: nothing may be learned",
                  "none", 100, 50, acceptors=(1,), hold_s=3.0),
    GradeScenario("loss-10", "10 % of datagrams dropped by the kernel", "all", 1000, 100,
                  loss=0.1),
    GradeScenario("loss-30", "30 % of datagrams dropped by the kernel", "all", 1000, 100,
                  loss=0.3),
    GradeScenario("loss-50", "50 % of datagrams dropped by the kernel", "all", 500, 100,
                  loss=0.5, timeout_s=120.0, stall_s=20.0),
    GradeScenario("kill-acceptor", "acceptor 3 SIGKILLed half-way through the input",
                  "all", 1000, 200, kill=_kills(("acceptor", 3)), feed_s=3.0),
    GradeScenario("kill-two-acceptors", "acceptors 2 and 3 SIGKILLed half-way: progress "
                  "must stop, what was learned stays safe", "prefix", 1000, 200,
                  kill=_kills(("acceptor", 2), ("acceptor", 3)), feed_s=3.0, hold_s=2.0),
    GradeScenario("kill-proposer-1", "proposer 1 SIGKILLed half-way through the input",
                  "all", 1000, 200, kill=_kills(("proposer", 1)), feed_s=3.0),
    GradeScenario("kill-proposer-2", "proposer 2 SIGKILLed half-way through the input",
                  "all", 1000, 200, kill=_kills(("proposer", 2)), feed_s=3.0),
    GradeScenario("catch-up", "learner 2 starts after client 1's values are learned: it "
                  "learns them first, in order, then client 2's", "catch-up", 500, 100,
                  learners=(1,)),
    GradeScenario("repeated-values", "2 clients x values drawn from 10 numbers: judged as "
                  "multisets, position by position", "all", 1000, 200, kind="repeated"),
    GradeScenario("long-values", "2 clients x values of 1000 characters", "all", 200, 50,
                  kind="long"),
    GradeScenario("non-ascii", "values with non-ASCII characters (UTF-8)", "all", 100, 50,
                  kind="unicode", required=False),
    GradeScenario("noise", "random datagrams sprayed at every group during the run", "all",
                  500, 100, noise=True, required=False, feed_s=2.0),
)
"""Every scenario, in the order the grader runs them."""

BY_NAME = {s.name: s for s in SCENARIOS}


# ---------------------------------------------------------------------- values


def make_values(kind: str, client: int, n: int, rng: random.Random) -> list[str]:
    """What client ``client`` is fed: ``n`` values of ``kind`` (see :class:`GradeScenario`).

    Distinct values are numbers, as the course's harness uses (``$RANDOM``), so an
    implementation that reads values as integers is graded fairly.
    """
    if kind == "distinct":
        return [str(client * 1_000_000 + i) for i in range(n)]
    if kind == "repeated":
        return [str(rng.randint(1, 10)) for _ in range(n)]
    if kind == "long":
        return [f"{client}-{i}-".ljust(1000, "abcdefghij"[i % 10]) for i in range(n)]
    if kind == "unicode":
        return [f"été-{client}-{i}-ü世界" for i in range(n)]
    raise ValueError(f"unknown kind of values {kind!r}")


# ---------------------------------------------------------------------- feeding


class Feeder:
    """Writes values into client pipes without ever blocking, at a pace.

    ``fed[c]`` counts the lines written to client ``c`` *completely*: those are what it
    was proposed (``prop<c>`` gets exactly them).
    """

    def __init__(self, sandbox: Sandbox, clients: dict[int, Process],
                 values: dict[int, list[str]]) -> None:
        self.sandbox = sandbox
        self.clients = clients
        self.values = values
        self.queued = {c: 0 for c in clients}
        self.fed = {c: 0 for c in clients}
        self.pending = {c: b"" for c in clients}
        self.broken: dict[int, int] = {}
        for proc in clients.values():
            assert proc.popen.stdin is not None
            os.set_blocking(proc.popen.stdin.fileno(), False)

    def queue(self, count: int) -> None:
        """Make values up to index ``count`` (per client) due, and write what fits."""
        for c in self.clients:
            target = min(count, len(self.values[c]))
            if target > self.queued[c]:
                lines = self.values[c][self.queued[c]:target]
                self.pending[c] += "".join(v + "\n" for v in lines).encode()
                self.queued[c] = target
        self.pump()

    def pump(self) -> None:
        for c, proc in self.clients.items():
            data = self.pending[c]
            if not data or c in self.broken:
                continue
            stdin = proc.popen.stdin
            assert stdin is not None
            try:
                written = os.write(stdin.fileno(), data)
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                self.broken[c] = self.fed[c]
                self.pending[c] = b""
                continue
            self.fed[c] += data[:written].count(b"\n")
            self.pending[c] = data[written:]

    @property
    def done(self) -> bool:
        return all(self.queued[c] == len(self.values[c]) and not self.pending[c]
                   for c in self.clients)

    def close(self) -> None:
        """End of input (EOF), as at the end of a ``prop`` file."""
        for proc in self.clients.values():
            if proc.popen.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.popen.stdin.close()

    def proposed(self) -> dict[int, list[str]]:
        return {c: self.values[c][: self.fed[c]] for c in self.clients}

    def write_prop_files(self) -> None:
        for c, vals in self.proposed().items():
            (self.sandbox.dir / f"prop{c}").write_text("".join(v + "\n" for v in vals),
                                                       encoding="utf-8")


# ---------------------------------------------------------------------- one run


@dataclass
class _State:
    sandbox: Sandbox
    scenario: GradeScenario
    scripts: dict[str, Path]
    timeout: float
    stall: float
    hold: float
    procs: dict[tuple[str, int], Process] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    feeder: Optional[Feeder] = None
    learners: list[int] = field(default_factory=list)
    fed_before_kill: Optional[dict[int, int]] = None
    ended_unsafe: bool = False
    learned_before_kill: int = 0
    exit_noted: set[tuple[str, int]] = field(default_factory=set)
    started: float = 0.0

    def learn_path(self, lid: int) -> Path:
        return self.sandbox.dir / f"learn{lid}"

    def learned(self, complete_only: bool = True) -> dict[int, list[str]]:
        out = {}
        for lid in self.learners:
            path = self.learn_path(lid)
            data = path.read_bytes() if path.exists() else b""
            if complete_only:
                data = data[: data.rfind(b"\n") + 1]
            out[lid] = data.decode("utf-8", errors="replace").splitlines()
        return out


def run_scenario(scenario: GradeScenario, scripts: dict[str, Path], workdir: Path, *,
                 quick: bool = False, network: str = "auto", seed: int = 0,
                 namespace_prefix: Optional[str] = None) -> Verdict:
    """Play ``scenario`` against ``scripts`` (role -> script path) in ``workdir``.

    Never raises for anything the implementation does; every process and the namespace
    are gone when it returns.
    """
    n = scenario.quick if quick else scenario.values
    factor = 0.5 if quick else 1.0
    timeout = max(10.0, scenario.timeout_s * factor)
    stall = max(4.0, scenario.stall_s * factor)
    hold = scenario.hold_s * factor
    started = time.monotonic()
    kwargs = {} if namespace_prefix is None else {"prefix": namespace_prefix}
    verdict = Verdict(scenario.name, scenario.description, None, "", scenario.required,
                      values_per_client=n)
    sandbox = Sandbox(workdir, network=network, **kwargs)
    try:
        if scenario.needs_netns and not sandbox.namespace:
            verdict.detail = f"skipped: kernel-level loss and noise need {sandbox.loss_reason}"
            return verdict
        state = _State(sandbox, scenario, scripts, timeout, stall, hold, started=started)
        rng = random.Random(f"{seed}:{scenario.name}")
        values = {c: make_values(scenario.kind, c, n, rng) for c in scenario.clients}
        try:
            _play(state, values, quick)
        except OSError as exc:  # a script that cannot be started at all
            state.problems.append(f"cannot run the implementation: {exc}")
        finally:
            sandbox.stop()
        _judge(state, verdict)
    finally:
        sandbox.close()
        verdict.seconds = time.monotonic() - started
    return verdict


def _start_servers(s: _State, learners: tuple[int, ...]) -> None:
    sc = s.scenario
    started = []
    for role, ids in (("acceptor", sc.acceptors), ("proposer", sc.proposers),
                      ("learner", learners)):
        for i in ids:
            out = s.learn_path(i) if role == "learner" else None
            s.procs[(role, i)] = p = s.sandbox.start(s.scripts[role], role, i, stdout=out)
            started.append(p)
    s.learners += list(learners)
    _wait_ready(s, started)


def _wait_ready(s: _State, procs: list[Process]) -> None:
    slow = s.sandbox.wait_sockets(procs, READY_S)
    for p in slow:
        s.notes.append(f"{p.role} {p.id} opened no UDP socket within {READY_S:g} s")
    for p in procs:
        if not p.alive():
            s.exit_noted.add((p.role, p.id))
            s.notes.append(f"{p.role} {p.id} exited at start (status {p.popen.returncode})"
                           f": {s.sandbox.stderr(p) or 'no stderr'}")
    time.sleep(SETTLE_S)


def _start_clients(s: _State, values: dict[int, list[str]]) -> Feeder:
    clients = {}
    for c in s.scenario.clients:
        clients[c] = s.procs[("client", c)] = s.sandbox.start(s.scripts["client"], "client", c,
                                                              stdin_pipe=True)
    s.feeder = Feeder(s.sandbox, clients, values)
    return s.feeder


def _play(s: _State, values: dict[int, list[str]], quick: bool) -> None:
    sc = s.scenario
    if sc.loss:
        s.sandbox.set_loss(sc.loss)
    if sc.expect == "catch-up":
        _play_catch_up(s, values)
        return
    _start_servers(s, sc.learners)
    noise = _start_noise(s) if sc.noise else None
    feeder = _start_clients(s, values)
    n = max(len(v) for v in values.values())
    deadline = time.monotonic() + s.timeout
    if sc.feed_s is None:
        feeder.queue(n)
    else:
        _paced(s, feeder, n, sc.feed_s * (0.5 if quick else 1.0), deadline)
    while not feeder.done and time.monotonic() < deadline:
        feeder.pump()
        time.sleep(POLL_S)
    feeder.close()
    if sc.expect == "all":
        _wait_all(s, deadline)
    elif sc.expect == "none":
        _wait_nothing(s, min(deadline, time.monotonic() + s.hold))
    else:
        _wait_still(s, deadline)
    if noise is not None:
        noise.signal_group(signal.SIGTERM)
    if sc.loss:
        s.notes.append(f"the kernel dropped {s.sandbox.dropped()} datagrams")


def _paced(s: _State, feeder: Feeder, n: int, feed_s: float, deadline: float) -> None:
    """Feed ``n`` values per client evenly over ``feed_s``, and kill half-way through.

    At half the input, feeding pauses until values flow (something is learned; at most
    ``stall`` seconds), the victims are killed, then the second half follows: the kill
    lands in a running system, whatever the machine's load, and never after the input."""
    start = time.monotonic()
    killed = not s.scenario.kill
    held = 0.0
    hold_since: Optional[float] = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        share = min(1.0, (now - start - held) / feed_s)
        if not killed and share >= 0.5:
            share = 0.5
            hold_since = now if hold_since is None else hold_since
            learned = max((len(v) for v in s.learned().values()), default=0)
            if learned or now - hold_since >= s.stall:
                _kill(s, feeder, n, learned)
                killed = True
                held = time.monotonic() - hold_since
        feeder.queue(math.ceil(n * share))
        if share >= 1.0:
            return
        time.sleep(POLL_S)


def _kill(s: _State, feeder: Feeder, n: int, learned: int) -> None:
    for role, i in s.scenario.kill:
        s.procs[(role, i)].kill()
    s.fed_before_kill = dict(feeder.queued)
    s.learned_before_kill = learned
    who = ", ".join(f"{r} {i}" for r, i in s.scenario.kill)
    s.notes.append(f"SIGKILLed {who} after {min(feeder.queued.values())} of {n} values per "
                   f"client were fed ({learned} learned by then)")


def _safety_problem(s: _State, learned: dict[int, list[str]]) -> Optional[str]:
    assert s.feeder is not None
    report = check_values(learned, s.feeder.proposed(), expect_complete=False)
    first = report.first_violation
    return None if first is None else first.detail


def _wait_all(s: _State, deadline: float) -> None:
    """Until every learner printed every fed value (plus a grace for extra lines), a
    safety violation, no progress for ``stall``, or the deadline."""
    assert s.feeder is not None
    total = sum(s.feeder.fed.values())
    last_counts: dict[int, int] = {}
    last_change = time.monotonic()
    next_check = time.monotonic() + CHECK_EVERY_S
    while True:
        now = time.monotonic()
        learned = s.learned()
        counts = {k: len(v) for k, v in learned.items()}
        if counts != last_counts:
            last_counts, last_change = counts, now
        if counts and min(counts.values()) >= total:
            time.sleep(GRACE_S)
            return
        if now >= next_check:
            next_check = now + CHECK_EVERY_S
            if _safety_problem(s, learned):
                s.notes.append(f"ended early: a safety violation after {now - s.started:.1f} s")
                s.ended_unsafe = True
                return
        if now - last_change >= s.stall:
            s.notes.append(f"ended early: nothing more learned for {s.stall:g} s")
            return
        if now >= deadline:
            s.notes.append(f"timed out after {s.timeout:g} s")
            return
        time.sleep(POLL_S)


def _wait_nothing(s: _State, until: float) -> None:
    while time.monotonic() < until:
        if any(s.learned(complete_only=False).values()):
            time.sleep(GRACE_S)  # let the violation show in full
            s.notes.append("ended early: something was learned")
            return
        time.sleep(POLL_S)
    s.notes.append(f"watched for {s.hold:g} s: nothing learned")


def _wait_still(s: _State, deadline: float) -> None:
    """Until the learners print nothing more for ``hold_s`` (progress stopped)."""
    last: dict[int, int] = {}
    since = time.monotonic()
    while time.monotonic() < deadline:
        counts = {k: len(v) for k, v in s.learned(complete_only=False).items()}
        if counts != last:
            last, since = counts, time.monotonic()
        elif time.monotonic() - since >= s.hold:
            s.notes.append(f"progress stopped: nothing more learned for {s.hold:g} s")
            return
        time.sleep(POLL_S)
    s.notes.append(f"learners still printing after {s.timeout:g} s")


def _play_catch_up(s: _State, values: dict[int, list[str]]) -> None:
    first, *rest = s.scenario.clients
    _start_servers(s, s.scenario.learners)
    feeder = _start_clients(s, values)
    deadline = time.monotonic() + s.timeout
    feeder.values = {c: (v if c == first else []) for c, v in values.items()}
    feeder.queue(len(values[first]))
    while not feeder.done and time.monotonic() < deadline:
        feeder.pump()
        time.sleep(POLL_S)
    _wait_all(s, deadline)  # client 1's values only: those are all that was fed so far
    if s.ended_unsafe:
        feeder.close()
        return
    late = max(s.learners) + 1
    got = {k: len(v) for k, v in s.learned().items()}
    s.notes.append(f"learner {late} started once learners had {got} of client {first}'s "
                   f"{len(values[first])} values")
    p = s.procs[("learner", late)] = s.sandbox.start(s.scripts["learner"], "learner", late,
                                                     stdout=s.learn_path(late))
    s.learners.append(late)
    _wait_ready(s, [p])
    feeder.values = values
    feeder.queue(max(len(v) for v in values.values()))
    while not feeder.done and time.monotonic() < deadline:
        feeder.pump()
        time.sleep(POLL_S)
    feeder.close()
    _wait_all(s, deadline)


def _start_noise(s: _State) -> Process:
    """A sprayer of random datagrams at the four groups, inside the sandbox."""
    root = str(Path(__file__).resolve().parents[1])
    groups = {role: list(a) for role, a in s.sandbox.addresses.items()}
    code = ("import sys; from paxos_edu.hostile import spray; from paxos_edu.messages import "
            f"Group; spray({{Group(r): tuple(a) for r, a in {groups!r}.items()}}, rate=500, "
            f"seconds={s.timeout:g}, seed=0, mix={{'random': 1.0}}, max_size=1400)")
    env = dict(os.environ, PYTHONPATH=root)
    p = s.sandbox.spawn([sys.executable, "-c", code], "noise", 0, env=env)
    s.notes.append("sprayed random datagrams (500/s) at every group")
    return p


# ---------------------------------------------------------------------- judging


def _judge(s: _State, verdict: Verdict) -> None:
    sc = s.scenario
    learned = s.learned(complete_only=False)  # every process is stopped: all is flushed
    proposed = s.feeder.proposed() if s.feeder else {}
    if s.feeder is not None:
        s.feeder.write_prop_files()
    total = sum(len(v) for v in proposed.values())
    verdict.proposed = total
    verdict.learned = {k: len(v) for k, v in learned.items()}
    complete = sc.expect in ("all", "catch-up")
    report = check_values(learned, proposed, expect_complete=complete)
    problems = s.problems + [v.detail for v in report.violations if v.property != COMPLETENESS]
    if sc.expect == "none":
        most = max(verdict.learned.values(), default=0)
        if most:
            plural = "" if most == 1 else "s"
            problems.insert(0, f"learned {most} value{plural} with {len(sc.acceptors)} of 3 "
                               "acceptors (no quorum)")
    if sc.expect == "prefix" and s.fed_before_kill is not None:
        problems += _learned_after_kill(s, learned, proposed)
        if not s.learned_before_kill:
            problems.append(f"nothing learned in {s.stall:g} s with all 3 acceptors up, "
                            "before the kill: the scenario shows nothing")
    if complete and not s.ended_unsafe:  # cut short by a violation: counts mean nothing
        for lid, count in sorted(verdict.learned.items()):
            if count < total:
                missing = next((v.detail for v in report.violations
                                if v.property == COMPLETENESS and v.learner == lid), "")
                problems.append(f"learner {lid} learned {count} of {total} values"
                                + (f": {missing.split(', first ')[-1]} first missing"
                                   if missing else ""))
    for c, at in (s.feeder.broken.items() if s.feeder else ()):
        s.notes.append(f"client {c} closed its input after {at} values")
    for (role, i), p in sorted(s.procs.items()):
        if (role, i) in s.exit_noted or p.killed or role == "client":
            continue
        if p.popen.returncode not in (None, 0, -15, 143):
            s.notes.append(f"{role} {i} exited with status {p.popen.returncode}: "
                           f"{s.sandbox.stderr(p) or 'no stderr'}")
    verdict.problems = problems
    verdict.notes = s.notes
    verdict.passed = not problems
    if problems:
        verdict.detail = problems[0]
    else:
        who = ", ".join(f"learner {k}: {n}" for k, n in sorted(verdict.learned.items()))
        verdict.detail = {"all": f"every learner learned all {total} values in one order",
                          "catch-up": f"the late learner learned all {total} values in order",
                          "none": f"nothing learned from {total} values, as expected",
                          "prefix": f"progress stopped after the kill ({who} of {total}); "
                                    "safe"}[sc.expect]


def _learned_after_kill(s: _State, learned: dict[int, list[str]],
                        proposed: dict[int, list[str]]) -> list[str]:
    """Values first fed after a majority of acceptors died can never be chosen."""
    assert s.fed_before_kill is not None
    late = {}
    for c, vals in proposed.items():
        for line, v in enumerate(vals[s.fed_before_kill.get(c, 0):], s.fed_before_kill.get(c, 0)):
            late.setdefault(v, (c, line))
    early = {v for c, vals in proposed.items() for v in vals[: s.fed_before_kill.get(c, 0)]}
    killed = len(s.scenario.kill)
    for lid, vals in sorted(learned.items()):
        for pos, v in enumerate(vals):
            if v in late and v not in early:
                c, line = late[v]
                return [f"learner {lid} position {pos}: learned {v[:40]!r} (client {c} line "
                        f"{line + 1}), fed after {killed} of 3 acceptors were killed: "
                        "progress did not stop"]
    return []


__all__ = ["BY_NAME", "Feeder", "GradeScenario", "ROLE_SCRIPTS", "SCENARIOS", "make_values",
           "run_scenario"]
