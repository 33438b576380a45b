"""The benchmark suite: how fast paxos_edu is, as a fraction of what multicast allows here.

One run measures, on this machine and in this order:

1. **the reference**: raw multicast datagrams per second in Python, one sender to three
   receiver processes on loopback, payload the size of a typical batched Phase2A
   (:func:`benchmarks.raw_multicast.measure`), and the one-way latency of one multicast
   hop between two Python processes (a ping-pong, half the round trip);
2. **throughput**: values learned per second through real processes in the course
   topology (2 clients, 2 proposers, 3 acceptors, 2 learners) at 2 x 50 000 values --
   default settings, ``batch 1``, ``mode classic`` and ``loss 0.1`` -- run without event
   logs as the course scripts run them, with the **CPU time per value** of each role from
   the operating system;
3. **messages sent per decided value**, by kind, from the exit counters of the same
   configurations run with event logs (2 x 10 000 values);
4. **latency** at low load: one client, one value at a time; p50 / p99 from the client's
   ``submit`` record to each learner's ``deliver`` record in the event logs, and the same
   from the benchmark's own view (value written to the client's stdin -> line read from
   the learner's stdout);

5. **storage**: the same 2 x 10 000 values (event logs on) with acceptors keeping their
   state on disk (``storage <dir>``: every promise and vote written and fsynced before the
   reply, one fsync per turn of the event loop) and, in the same part, without: values/s
   of both and their ratio, **fsyncs per value** (per acceptor, from the acceptors' exit
   counters), and the latency p50 of part 4 with storage;

plus the course's figures: 2 x 10 000 values learned by both learners within 1 s of the
clients starting, and with loss 30 % 2 x 300 values within 3 s.

It prints one table -- each figure, its ratio to the reference, the target and PASS/FAIL --
and writes ``benchmarks/results/latest.csv`` and a timestamped copy (columns
:data:`CSV_COLUMNS`) for notebooks 03 and 04 to plot.

How a throughput run is timed
-----------------------------
Every process is started directly (``python -m paxos_edu <role> <id> <config>``, the
command the course scripts exec) and waited for until it joined its groups (its ``start``
record, or without event log its bound send socket); then the proposers get a moment to
elect a leader.
The clock starts when the benchmark writes the first value into the clients' stdin pipes
(all of a client's values at once, as ``client.sh < prop1`` would read them) and stops
when the *second* learner has printed the last of the 2N values on its stdout, read by a
thread per learner. The row ``course.2x10000.from_spawn`` times the same run from the
moment the client processes are spawned reading their values from ``prop`` files -- the
course harness's view, Python start-up included.

Every run checks what it timed: both learners printed the same sequence, a permutation
of the values submitted. A run that fails the check is reported as ``INCORRECT``.

Machine noise only ever slows a run down, so ``--repeat N`` keeps the best of N for each
figure; the 1-minute load average is recorded with every row.

Run ``python benchmarks/bench.py`` (or ``python -m paxos_edu bench``); ``--quick`` for
a fast check; ``--help`` for the options. Every process started is ended by its PID.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Optional, Sequence

import psutil

try:
    import paxos_edu  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paxos_edu.config import Config, default_config
from paxos_edu.errors import ConfigError
from paxos_edu.messages import Group
from paxos_edu.processes import ROLES
from paxos_edu.transport import Transport, free_multicast_addresses

try:
    from . import raw_multicast
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    import raw_multicast  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
CSV_COLUMNS = (
    "name", "value", "unit", "ratio_to_reference", "target", "ok", "settings", "loadavg",
    "timestamp",
)
"""Columns of the CSV, one row per figure."""

TOPOLOGY = {"acceptor": (1, 2, 3), "learner": (1, 2), "proposer": (1, 2), "client": (1, 2)}
"""The course topology; processes are started in this order, clients last."""
READY_TIMEOUT = 20.0
"""Seconds a process may take to join its groups (Python start-up on a loaded machine)."""
SETTLE = 0.3
"""Seconds between the last process ready and the first value: leader election."""
STOP_TIMEOUT = 2.0
"""Seconds a process gets to exit after SIGTERM before SIGKILL."""
THROUGHPUT_TARGET = 0.5
"""Values learned per second must reach this fraction of the raw datagrams per second."""


def loadavg() -> Optional[float]:
    """The 1-minute load average: other work competing for the CPUs."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _env() -> dict[str, str]:
    """Environment of the role processes: this checkout first on the path."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""))


def values_of(client: int, n: int) -> list[str]:
    """``n`` distinct values of one client (9-10 bytes, like a course's test values)."""
    return [f"c{client}-{i:06d}" for i in range(n)]


# ---------------------------------------------------------------------- processes


class _Reader(threading.Thread):
    """Reads a learner's stdout, counting lines; notes when ``target`` lines are in."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.fd = stream.fileno()
        self.chunks: list[bytes] = []
        self.count = 0
        self.target: Optional[int] = None
        self.reached_at: Optional[float] = None
        self.last_at = 0.0  # when the latest chunk was read
        self.cond = threading.Condition()

    def run(self) -> None:
        read, monotonic, fd = os.read, time.monotonic, self.fd
        while True:
            try:
                chunk = read(fd, 1 << 16)
            except OSError:
                chunk = b""
            now = monotonic()
            with self.cond:
                if chunk:
                    self.last_at = now
                    self.chunks.append(chunk)
                    self.count += chunk.count(b"\n")
                if (self.reached_at is None and self.target is not None
                        and self.count >= self.target):
                    self.reached_at = now
                self.cond.notify_all()
            if not chunk:
                return

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until ``count`` lines are in (or EOF / timeout); True if they are."""
        end = time.monotonic() + timeout
        with self.cond:
            while self.count < count and self.is_alive():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.count >= count

    def lines(self) -> list[bytes]:
        data = b"".join(self.chunks)
        return data.split(b"\n")[:-1] if data else []


@dataclass
class _Proc:
    role: str
    id: int
    popen: subprocess.Popen[bytes]
    cpu_start: Optional[float] = None
    cpu_end: Optional[float] = None
    exit_at: Optional[float] = None


def _cpu(pid: int) -> Optional[float]:
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.Error, OSError):
        return None
    return times.user + times.system


class ProcessCluster:
    """Real role processes of one run in ``workdir``, all ended by PID on :meth:`close`.

    Args:
        workdir: a fresh directory (config file, event logs, stderr files).
        config: groups and settings of the run.
        trace: event-log trace level of every process.
        log: False runs the processes without an event log (as the course scripts do by
            default): no counters then, and readiness is read from the sockets.
    """

    def __init__(self, workdir: Path, config: Config, *, trace: str = "values",
                 log: bool = True) -> None:
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logs = self.dir / "logs"
        self.conf = self.dir / "paxos.conf"
        self.conf.write_text(config.to_text())
        self.config = config
        self.trace = trace
        self.log = log
        self.procs: list[_Proc] = []
        self.readers: dict[int, _Reader] = {}
        self._files: list[IO[Any]] = []

    def start(self, role: str, id: int, stdin: Any = subprocess.DEVNULL) -> _Proc:
        """Start ``python -m paxos_edu <role> <id> paxos.conf`` with an event log."""
        err = open(self.dir / f"stderr-{role}{id}", "wb")
        self._files.append(err)
        options = ["--log-dir", str(self.logs), "--trace", self.trace] if self.log else []
        popen = subprocess.Popen(
            [sys.executable, "-m", "paxos_edu", role, str(id), str(self.conf), *options],
            cwd=self.dir, env=_env(), stdin=stdin,
            stdout=subprocess.PIPE if role == "learner" else subprocess.DEVNULL, stderr=err,
        )
        proc = _Proc(role, id, popen)
        self.procs.append(proc)
        if role == "learner":
            assert popen.stdout is not None
            reader = self.readers[id] = _Reader(popen.stdout, f"learner{id}-stdout")
            reader.start()
        return proc

    def wait_ready(self, procs: Iterable[_Proc], timeout: float = READY_TIMEOUT) -> None:
        """Wait until each process wrote its ``start`` record (groups joined) or, without
        an event log, bound its send socket (opened after the groups are joined)."""
        end = time.monotonic() + timeout
        for proc in procs:
            path = self.logs / f"{proc.role}{proc.id}.jsonl"
            while True:
                if self.log:
                    try:
                        with open(path, "rb") as file:
                            if b'"event":"start"' in file.readline():
                                break
                    except FileNotFoundError:
                        pass
                elif self._sender_bound(proc):
                    break
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{proc.role} {proc.id} exited with status "
                                       f"{proc.popen.returncode}: {self.stderr(proc)}")
                if time.monotonic() > end:
                    raise RuntimeError(f"{proc.role} {proc.id} not ready after {timeout} s")
                time.sleep(0.01)

    def _sender_bound(self, proc: _Proc) -> bool:
        interface = self.config.interface
        try:
            sockets = psutil.Process(proc.popen.pid).net_connections(kind="udp4")
        except (psutil.Error, OSError):
            return False
        return any(s.laddr and s.laddr.ip == interface for s in sockets)

    def stderr(self, proc: _Proc) -> str:
        try:
            text = (self.dir / f"stderr-{proc.role}{proc.id}").read_text(errors="replace")
        except OSError:
            return ""
        return text.strip()[-2000:]

    def of(self, role: str) -> list[_Proc]:
        return [p for p in self.procs if p.role == role]

    def snapshot_cpu(self, attr: str) -> None:
        """Record the CPU seconds so far of every live process into ``attr``."""
        for proc in self.procs:
            if proc.exit_at is None and getattr(proc, attr) is None:
                setattr(proc, attr, _cpu(proc.popen.pid))

    def reap(self, proc: _Proc) -> bool:
        """Reap an exited process with its resource usage; True once it has exited."""
        if proc.exit_at is not None:
            return True
        if proc.popen.returncode is not None:
            proc.exit_at = time.monotonic()
            return True
        try:
            pid, status, usage = os.wait4(proc.popen.pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return False
        proc.exit_at = time.monotonic()
        proc.popen.returncode = os.waitstatus_to_exitcode(status)
        if proc.cpu_end is None:
            proc.cpu_end = usage.ru_utime + usage.ru_stime
        return True

    def counters(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Each process's exit counters (the ``counters`` record of its event log)."""
        out: dict[tuple[str, int], dict[str, Any]] = {}
        for proc in self.procs:
            path = self.logs / f"{proc.role}{proc.id}.jsonl"
            try:
                with open(path, "rb") as file:
                    file.seek(max(0, path.stat().st_size - (1 << 16)))
                    tail = file.read().split(b"\n")
            except OSError:
                continue
            for line in reversed(tail):
                if b'"event":"counters"' in line:
                    out[(proc.role, proc.id)] = json.loads(line)["counters"]
                    break
        return out

    def close(self) -> None:
        """End every process still running, by its PID: SIGTERM, then SIGKILL."""
        for proc in self.procs:
            if proc.exit_at is None and proc.popen.poll() is None:
                try:
                    proc.popen.send_signal(signal.SIGTERM)
                except OSError:
                    pass
        end = time.monotonic() + STOP_TIMEOUT
        for proc in self.procs:
            try:
                proc.popen.wait(max(0.05, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5.0)
            except ChildProcessError:
                pass
            for stream in (proc.popen.stdin, proc.popen.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        for reader in self.readers.values():
            reader.join(2.0)
        for file in self._files:
            file.close()
        self._files = []

    def __enter__(self) -> ProcessCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------- one run


@dataclass
class RunResult:
    """What one timed run of the course topology gave."""

    label: str
    values: int
    settings: dict[str, Any]
    seconds: Optional[float] = None  # first value in -> last value out of the 2nd learner
    learned: int = 0  # values printed by the slower learner
    complete: bool = False
    correct: Optional[bool] = None
    problem: str = ""
    clients_done: Optional[float] = None  # seconds until the last client exited
    cpu: dict[str, float] = field(default_factory=dict)  # role -> CPU s during the run
    cpu_by_process: dict[str, float] = field(default_factory=dict)  # "proposer1" -> CPU s
    sent: dict[str, int] = field(default_factory=dict)  # kind -> datagrams sent, all procs
    retries: int = 0
    fsyncs: int = 0  # acceptors' storage fsyncs (with the storage setting)
    loadavg: Optional[float] = None

    @property
    def values_per_s(self) -> float:
        if not self.seconds:
            return 0.0
        return (self.values if self.complete else self.learned) / self.seconds


def _new_config(settings: dict[str, Any]) -> Config:
    return default_config().replace(addresses=free_multicast_addresses(), **settings)


def _check(readers: dict[int, _Reader], expected: list[bytes]) -> tuple[bool, str]:
    """Both learners printed the same sequence, a permutation of ``expected``."""
    outputs = [r.lines() for _, r in sorted(readers.items())]
    if any(out != outputs[0] for out in outputs[1:]):
        return False, "learners printed different sequences"
    if sorted(outputs[0]) != sorted(expected):
        return False, (f"learned {len(outputs[0])} values, {len(set(outputs[0]))} distinct; "
                       f"expected the {len(expected)} submitted")
    return True, ""


def throughput_run(
    label: str,
    n: int,
    settings: dict[str, Any],
    workdir: Path,
    *,
    feed: str = "pipe",
    timeout: Optional[float] = None,
    before: Optional[Callable[[ProcessCluster], None]] = None,
    after: Optional[Callable[[ProcessCluster], None]] = None,
    log: bool = True,
) -> RunResult:
    """2 clients x ``n`` values through the course topology; see the module docstring.

    Args:
        label: name of the run in the results.
        n: values per client.
        settings: config settings of the run (``loss``, ``batch``, ``mode``, ...).
        workdir: a fresh directory for the run's files.
        feed: ``"pipe"``: clients started and ready, then the clock starts as their
            values are written to their stdin; ``"file"``: the clock starts as the
            client processes are spawned reading ``prop<id>`` files.
        timeout: seconds the run may take before it is cut short (default from ``n``).
        before: called with the cluster just before the clock starts (e.g. to attach a
            profiler; in ``"file"`` feed the clients are not started yet).
        after: called as soon as both learners have everything (or the run was cut).
        log: run the processes with event logs (needed for the message counts).
    """
    config = _new_config(settings)
    result = RunResult(label, 2 * n, {**settings, "n": f"2x{n}", "feed": feed,
                                       "seed": config.seed, "log": log})
    timeout = timeout if timeout is not None else 30.0 + 2 * n / 1000
    inputs = {cid: values_of(cid, n) for cid in TOPOLOGY["client"]}
    with ProcessCluster(workdir, config, log=log) as cluster:
        for role in ("acceptor", "learner", "proposer"):
            for pid in TOPOLOGY[role]:
                cluster.start(role, pid)
        cluster.wait_ready(cluster.procs)
        for reader in cluster.readers.values():
            reader.target = 2 * n
        t0, writers = _start_clients(cluster, inputs, feed, before)
        _wait_learned(cluster, result, t0, timeout)
        if after is not None:
            after(cluster)
        # Clients exit once every value is acknowledged: give them a moment.
        client_end = time.monotonic() + 5.0
        while time.monotonic() < client_end:
            if all(cluster.reap(p) for p in cluster.of("client")):
                break
            time.sleep(0.005)
        exits = [p.exit_at for p in cluster.of("client")]
        if all(e is not None for e in exits):
            result.clients_done = max(exits) - t0  # type: ignore[type-var]
        for thread in writers:
            thread.join(1.0)
        result.loadavg = loadavg()
        cluster.close()
        _collect(cluster, result, [v.encode() for vs in inputs.values() for v in vs])
    return result


def _start_clients(cluster: ProcessCluster, inputs: dict[int, list[str]], feed: str,
                   before: Optional[Callable[[ProcessCluster], None]]
                   ) -> tuple[float, list[threading.Thread]]:
    """Start the clients and feed them; returns the start of the clock and the writers."""
    writers: list[threading.Thread] = []
    if feed == "pipe":
        for cid in inputs:
            cluster.start("client", cid, stdin=subprocess.PIPE)
        cluster.wait_ready(cluster.of("client"))
    else:
        for cid, values in inputs.items():
            (cluster.dir / f"prop{cid}").write_text("\n".join(values) + "\n")
    time.sleep(SETTLE)
    if before is not None:
        before(cluster)
    cluster.snapshot_cpu("cpu_start")
    t0 = time.monotonic()
    if feed == "pipe":
        for proc in cluster.of("client"):
            data = ("\n".join(inputs[proc.id]) + "\n").encode()
            writers.append(threading.Thread(target=_write_all, args=(proc.popen, data),
                                            daemon=True))
            writers[-1].start()
    else:
        for cid in inputs:
            with open(cluster.dir / f"prop{cid}", "rb") as prop_file:
                cluster.start("client", cid, stdin=prop_file)
    return t0, writers


def _wait_learned(cluster: ProcessCluster, result: RunResult, t0: float,
                  timeout: float) -> None:
    """Wait until both learners printed everything (or ``timeout``); time it."""
    end = t0 + timeout
    readers = list(cluster.readers.values())
    target = result.values
    while time.monotonic() < end:
        for proc in cluster.of("client"):
            cluster.reap(proc)  # a client that exits is reaped with its CPU time
        if all(r.reached_at is not None for r in readers):
            break
        if any(r.reached_at is None and not r.is_alive() for r in readers):
            result.problem = "a learner exited"
            break
        readers[0].wait_for(target, 0.01)
    cluster.snapshot_cpu("cpu_end")  # roles still running: CPU until now
    if all(r.reached_at is not None for r in readers):
        result.complete = True
        result.seconds = max(r.reached_at for r in readers) - t0  # type: ignore[type-var]
    else:
        result.seconds = time.monotonic() - t0
        result.problem = result.problem or f"cut short after {timeout:.0f} s"
    result.learned = min(r.count for r in readers)


def _collect(cluster: ProcessCluster, result: RunResult, expected: list[bytes]) -> None:
    """After the processes ended: check the outputs, sum CPU times and counters."""
    if result.complete:
        result.correct, problem = _check(cluster.readers, expected)
        result.problem = result.problem or problem
    for proc in cluster.procs:
        if proc.cpu_start is not None and proc.cpu_end is not None:
            used = max(0.0, proc.cpu_end - proc.cpu_start)
            result.cpu[proc.role] = result.cpu.get(proc.role, 0.0) + used
            result.cpu_by_process[f"{proc.role}{proc.id}"] = used
    for counters in cluster.counters().values():
        for kind, count in counters.get("sent", {}).items():
            result.sent[kind] = result.sent.get(kind, 0) + count
        result.retries += int(counters.get("retries", 0))
        result.fsyncs += int(counters.get("storage", {}).get("fsyncs", 0))


def _write_all(popen: subprocess.Popen[bytes], data: bytes) -> None:
    """Write ``data`` to a client's stdin and close it (end of input)."""
    try:
        assert popen.stdin is not None
        popen.stdin.write(data)
        popen.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


# ---------------------------------------------------------------------- latency


@dataclass
class LatencyResult:
    """Latency of values submitted one at a time, in seconds."""

    values: int
    settings: dict[str, Any]
    log: list[float] = field(default_factory=list)  # submit record -> deliver record
    pipe: list[float] = field(default_factory=list)  # stdin write -> stdout line read
    problem: str = ""
    loadavg: Optional[float] = None

    def quantile(self, which: str, q: float) -> Optional[float]:
        data = sorted(getattr(self, which))
        if not data:
            return None
        return data[min(len(data) - 1, max(0, math.ceil(q * len(data)) - 1))]


def latency_run(n: int, settings: dict[str, Any], workdir: Path, *, gap: float = 0.002,
                warmup: int = 10) -> LatencyResult:
    """One client feeds ``n`` values, each once the previous one is learned by both
    learners plus ``gap`` seconds; the first ``warmup`` values are not counted."""
    config = _new_config(settings)
    result = LatencyResult(n, {**settings, "n": n, "gap_ms": gap * 1000, "warmup": warmup,
                               "seed": config.seed})
    with ProcessCluster(workdir, config) as cluster:
        for role in ("acceptor", "learner", "proposer"):
            for pid in TOPOLOGY[role]:
                cluster.start(role, pid)
        client = cluster.start("client", 1, stdin=subprocess.PIPE)
        cluster.wait_ready(cluster.procs)
        time.sleep(SETTLE)
        readers = list(cluster.readers.values())
        assert client.popen.stdin is not None
        fd = client.popen.stdin.fileno()
        values = values_of(1, warmup + n)
        for k, value in enumerate(values, start=1):
            t_write = time.monotonic()
            os.write(fd, value.encode() + b"\n")
            if not all(r.wait_for(k, 5.0) for r in readers):
                result.problem = f"value {k} not learned within 5 s"
                break
            t_read = max(r.last_at for r in readers)  # the chunk that carried value k
            if k > warmup:
                result.pipe.append(t_read - t_write)
            time.sleep(gap)
        client.popen.stdin.close()
        end = time.monotonic() + 5.0
        while time.monotonic() < end and not cluster.reap(client):
            time.sleep(0.005)
        result.loadavg = loadavg()
        cluster.close()
        submitted = _records(cluster.logs / "client1.jsonl", b'"event":"submit"')
        sub_t = {r["value"]: r["t"] for r in submitted}
        for lid in TOPOLOGY["learner"]:
            for r in _records(cluster.logs / f"learner{lid}.jsonl", b'"event":"deliver"'):
                if r["position"] >= warmup and r["value"] in sub_t:
                    result.log.append(r["t"] - sub_t[r["value"]])
    return result


def _records(path: Path, needle: bytes) -> list[dict[str, Any]]:
    out = []
    try:
        with open(path, "rb") as file:
            for line in file:
                if needle in line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # a truncated last line
    except OSError:
        pass
    return out


# ---------------------------------------------------------------------- reference


def _echo(addresses: dict, parent: int, lifetime: float, ready: Any) -> None:
    """Child of :func:`hop_latency`: multicast back every datagram heard, at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with Transport(addresses, [Group.ACCEPTORS]) as transport:
        sock = transport.receivers[Group.ACCEPTORS]
        ready.set()
        end = time.monotonic() + lifetime
        while time.monotonic() < end and os.getppid() == parent:
            if not select.select([sock], [], [], 0.1)[0]:
                continue
            for data in transport.recv_batch(Group.ACCEPTORS, 64):
                if data == b"stop":
                    return
                transport.send(Group.LEARNERS, data)


def hop_latency(samples: int = 2000, payload: int = 40) -> dict[str, Any]:
    """One-way latency of one multicast hop between two Python processes on loopback:
    half the round trip of a ping-pong through :class:`~paxos_edu.transport.Transport`
    (select, recv, send -- the runtime's path without Paxos)."""
    ctx = mp.get_context("spawn")
    addresses = free_multicast_addresses()
    ready = ctx.Event()
    child = ctx.Process(target=_echo, args=(addresses, os.getpid(), 30.0 + samples / 1000,
                                            ready), daemon=True, name="bench-echo")
    rtts: list[float] = []
    try:
        child.start()
        if not ready.wait(READY_TIMEOUT):
            raise RuntimeError("echo process did not start")
        with Transport(addresses, [Group.LEARNERS]) as transport:
            sock = transport.receivers[Group.LEARNERS]
            for i in range(samples + 20):
                data = i.to_bytes(8, "big") + bytes(payload - 8)
                t0 = time.perf_counter()
                transport.send(Group.ACCEPTORS, data)
                got = False
                while not got:
                    if not select.select([sock], [], [], 1.0)[0]:
                        break  # lost: try the next sample
                    got = data in transport.recv_batch(Group.LEARNERS, 64)
                if got and i >= 20:  # the first few warm the caches
                    rtts.append(time.perf_counter() - t0)
            transport.send(Group.ACCEPTORS, b"stop")
        child.join(2.0)
    finally:
        if child.pid is not None and child.is_alive():
            child.terminate()
            child.join(1.0)
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
                child.join(1.0)
    rtts.sort()
    if not rtts:
        raise RuntimeError("no echo came back")
    return {"hop_p50": rtts[len(rtts) // 2] / 2, "hop_p99": rtts[int(len(rtts) * 0.99)] / 2,
            "samples": len(rtts), "payload": payload, "loadavg": loadavg()}


def reference(seconds: float, repeat: int) -> dict[str, Any]:
    """Best of ``repeat`` raw multicast measurements, 1 sender -> 3 receivers, 2A payload."""
    size = raw_multicast.typical_payloads()["phase2a"]
    runs = [raw_multicast.measure(size, 3, seconds) for _ in range(max(1, repeat))]
    best = max(runs, key=lambda run: run["received_per_s"])
    best["runs"] = [round(run["received_per_s"]) for run in runs]
    return best


# ---------------------------------------------------------------------- results


@dataclass
class Row:
    """One figure of the results table (one CSV row)."""

    name: str
    value: Optional[float]
    unit: str
    ratio: Optional[float] = None
    target: str = ""
    ok: str = ""
    settings: str = ""
    loadavg: Optional[float] = None


def _settings_text(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items() if v is not None)


def _verdict(passed: Optional[bool]) -> str:
    return "" if passed is None else ("PASS" if passed else "FAIL")


def _best(runs: list[Any], key: Callable[[Any], float]) -> Any:
    """The best run: a complete and correct one if any, then the highest ``key``."""
    good = [r for r in runs if getattr(r, "complete", True) and getattr(r, "correct", True)
            is not False and not r.problem]
    return max(good or runs, key=key)


def _run_note(run: RunResult) -> str:
    if run.correct is False:
        return "INCORRECT: " + run.problem
    if not run.complete:
        return "INCOMPLETE: " + run.problem
    return ""


@dataclass
class Plan:
    """Sizes of one suite run (values are per client)."""

    ref_seconds: float = 2.0
    hop_samples: int = 2000
    throughput_n: int = 50_000
    messages_n: int = 10_000
    course_n: int = 10_000
    loss30_n: int = 300
    latency_n: int = 1000
    repeat: int = 1
    configs: tuple[str, ...] = ()  # names of THROUGHPUT_CONFIGS to run; () for all
    settings: dict[str, Any] = field(default_factory=dict)  # applied to every run (--set)

    def throughput_configs(self) -> list[tuple[str, dict[str, Any]]]:
        return [(n, {**self.settings, **s}) for n, s in THROUGHPUT_CONFIGS
                if not self.configs or n in self.configs]

    @classmethod
    def make(cls, quick: bool, scale: float, repeat: int, configs: Sequence[str] = (),
             settings: Optional[dict[str, Any]] = None) -> Plan:
        plan = cls(0.5, 300, 5_000, 2_000, 10_000, 300, 200) if quick else cls()
        if scale != 1.0:
            for name in ("throughput_n", "messages_n", "course_n", "loss30_n", "latency_n",
                         "hop_samples"):
                setattr(plan, name, max(20, round(getattr(plan, name) * scale)))
        plan.repeat = max(1, repeat)
        plan.configs = tuple(configs)
        plan.settings = dict(settings or {})
        return plan


THROUGHPUT_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("batch1", {"batch": 1}),
    ("classic", {"mode": "classic"}),
    ("loss10", {"loss": 0.1}),
]
"""The throughput runs: name and the settings that differ from the defaults."""

PARTS = ("reference", "throughput", "messages", "course", "latency", "storage")
"""The parts of the suite, in the order they run (``--only`` picks some)."""


@dataclass
class _Suite:
    """What the parts of one suite run share: the plan, the reference, where runs go."""

    plan: Plan
    workroot: Path
    say: Callable[[str], None]
    ref_rate: Optional[float] = None  # raw datagrams/s
    hop: Optional[float] = None  # one multicast hop, seconds
    runs: int = 0

    def workdir(self, label: str) -> Path:
        self.runs += 1
        return self.workroot / f"{self.runs:02d}-{label}"

    def rate_ratio(self, rate: Optional[float]) -> Optional[float]:
        return rate / self.ref_rate if rate and self.ref_rate else None

    def repeated(self, label: str, n: int, settings: dict[str, Any], **options: Any
                 ) -> tuple[RunResult, list[RunResult]]:
        """``plan.repeat`` throughput runs (seeds 1, 2, ...); the best and all of them."""
        runs = []
        for i in range(self.plan.repeat):
            run = throughput_run(label, n, {**settings, "seed": i + 1},
                                 self.workdir(label), **options)
            runs.append(run)
            self.say(f"  {run.values_per_s:,.0f} values/s, {run.seconds:.3f} s "
                     f"{_run_note(run)}")
        return _best(runs, key=lambda r: r.values_per_s), runs


def _reference_rows(suite: _Suite) -> list[Row]:
    plan = suite.plan
    suite.say(f"reference: raw multicast, {plan.ref_seconds} s x {plan.repeat} ...")
    ref = reference(plan.ref_seconds, plan.repeat)
    suite.ref_rate = ref["received_per_s"]
    suite.say(f"  {suite.ref_rate:,.0f} datagrams/s")
    suite.say(f"reference: one multicast hop, {plan.hop_samples} ping-pongs x {plan.repeat} ...")
    hop = min((hop_latency(plan.hop_samples) for _ in range(plan.repeat)),
              key=lambda h: h["hop_p50"])
    suite.hop = hop["hop_p50"]
    suite.say(f"  {suite.hop * 1e6:.0f} us")
    return [
        Row("reference.raw_multicast", suite.ref_rate, "datagrams/s", 1.0,
            settings=_settings_text({
                "payload": ref["payload_bytes"], "receivers": ref["receivers"],
                "seconds": plan.ref_seconds, "window": ref["window"],
                "loss": round(ref["loss"], 4), "runs": "/".join(map(str, ref["runs"]))}),
            loadavg=ref["loadavg_1min"]),
        Row("reference.hop_latency.p50", suite.hop * 1e3, "ms", 1.0,
            settings=_settings_text({"payload": hop["payload"], "samples": hop["samples"],
                                     "p99_ms": round(hop["hop_p99"] * 1e3, 4)}),
            loadavg=hop["loadavg"]),
    ]


def _throughput_rows(suite: _Suite) -> list[Row]:
    """Values/s and CPU per value of each config, processes run without event logs."""
    rows: list[Row] = []
    n = suite.plan.throughput_n
    for name, settings in suite.plan.throughput_configs():
        suite.say(f"throughput {name}: 2 x {n} values x {suite.plan.repeat} ...")
        best, runs = suite.repeated(name, n, settings, log=False)
        rate, note = best.values_per_s, _run_note(best)
        target = ok = ""
        if name == "default":
            target = f">= {THROUGHPUT_TARGET:g} x reference"
            if suite.ref_rate:
                ok = _verdict(rate >= THROUGHPUT_TARGET * suite.ref_rate)
        extra = {"runs": "/".join(f"{r.values_per_s:.0f}" for r in runs),
                 "clients_done_s": None if best.clients_done is None
                 else round(best.clients_done, 3)}
        rows.append(Row(f"throughput.{name}", rate, "values/s", suite.rate_ratio(rate), target,
                        "FAIL" if note else ok,
                        _settings_text({**best.settings, **extra}) + (f" {note}" if note else ""),
                        best.loadavg))
        decided = best.values if best.complete else max(1, best.learned)
        where = f"run=throughput.{name}"
        for role in ROLES:
            if role in best.cpu:
                rows.append(Row(f"cpu_per_value.{name}.{role}", best.cpu[role] / decided * 1e6,
                                "us/value", settings=f"{where} processes={len(TOPOLOGY[role])}",
                                loadavg=best.loadavg))
        if best.cpu:
            rows.append(Row(f"cpu_per_value.{name}.total", sum(best.cpu.values()) / decided * 1e6,
                            "us/value", settings=f"{where} processes=9", loadavg=best.loadavg))
    return rows


def _messages_rows(suite: _Suite) -> list[Row]:
    """Datagrams sent per decided value, from the exit counters of logged runs."""
    rows: list[Row] = []
    n = suite.plan.messages_n
    for name, settings in suite.plan.throughput_configs():
        suite.say(f"messages {name}: 2 x {n} values, event logs on, x {suite.plan.repeat} ...")
        best, _ = suite.repeated(name, n, settings, log=True)
        decided = best.values if best.complete else max(1, best.learned)
        note = _run_note(best)
        where = _settings_text({**best.settings, "values_per_s": round(best.values_per_s),
                                "retries": best.retries}) + (f" {note}" if note else "")
        kinds = sorted(best.sent.items(), key=lambda kv: -kv[1]) if name == "default" else []
        for kind, count in kinds:
            rows.append(Row(f"messages_per_value.{name}.{kind}", count / decided,
                            "datagrams/value", settings=where, loadavg=best.loadavg))
        rows.append(Row(f"messages_per_value.{name}.total", sum(best.sent.values()) / decided,
                        "datagrams/value", settings=where, loadavg=best.loadavg))
    return rows


def _course_rows(suite: _Suite) -> list[Row]:
    """The course's two figures (and the first one timed from the clients' spawn)."""
    rows: list[Row] = []
    plan = suite.plan
    for name, n, settings, feed, limit in (
        (f"course.2x{plan.course_n}", plan.course_n, {}, "pipe", 1.0),
        (f"course.2x{plan.course_n}.from_spawn", plan.course_n, {}, "file", None),
        (f"course.loss30.2x{plan.loss30_n}", plan.loss30_n, {"loss": 0.3}, "pipe", 3.0),
    ):
        suite.say(f"{name} x {plan.repeat} ...")
        best, runs = suite.repeated(name, n, {**plan.settings, **settings}, feed=feed, log=False,
                                    timeout=30.0 + n / 500)
        note = _run_note(best)
        ok = "" if limit is None else _verdict(
            not note and best.seconds is not None and best.seconds <= limit)
        rows.append(Row(name, best.seconds, "s", suite.rate_ratio(best.values_per_s),
                        "" if limit is None else f"<= {limit:g} s", "FAIL" if note else ok,
                        _settings_text({**best.settings,
                                        "runs": "/".join(f"{r.seconds:.3f}" for r in runs)})
                        + (f" {note}" if note else ""), best.loadavg))
    return rows


def _latency_rows(suite: _Suite) -> list[Row]:
    """p50 / p99 at low load, from the event logs and from the benchmark's pipes."""
    plan = suite.plan
    suite.say(f"latency: {plan.latency_n} values one at a time x {plan.repeat} ...")
    runs = []
    for i in range(plan.repeat):
        runs.append(latency_run(plan.latency_n, {**plan.settings, "seed": i + 1},
                                suite.workdir("latency")))
        p50 = runs[-1].quantile("log", 0.5)
        suite.say(f"  p50 {p50 * 1e3 if p50 else math.nan:.3f} ms {runs[-1].problem}")
    best = min(runs, key=lambda r: (bool(r.problem), r.quantile("log", 0.5) or math.inf))
    rows = []
    for which, q, target in (("log", 0.5, 2.0), ("log", 0.99, None), ("pipe", 0.5, None),
                             ("pipe", 0.99, None)):
        value = best.quantile(which, q)
        name = f"latency.{'p50' if q == 0.5 else 'p99'}"
        if which == "pipe":
            name += ".stdin_to_stdout"
        ms = None if value is None else value * 1e3
        ok = "FAIL" if best.problem else (
            "" if target is None else _verdict(ms is not None and ms <= target))
        runs_text = "/".join(f"{(r.quantile(which, q) or 0) * 1e3:.3f}" for r in runs)
        rows.append(Row(name, ms, "ms", value / suite.hop if value and suite.hop else None,
                        "" if target is None else f"<= {target:g} ms", ok,
                        _settings_text({**best.settings, "samples": len(getattr(best, which)),
                                        "runs": runs_text})
                        + (f" {best.problem}" if best.problem else ""), best.loadavg))
    return rows


def _storage_rows(suite: _Suite) -> list[Row]:
    """What durability costs: values/s with and without ``storage`` (same part, same n),
    fsyncs per value per acceptor, and the low-load latency p50 with storage."""
    plan = suite.plan
    n = plan.messages_n
    rows: list[Row] = []
    results: dict[str, RunResult] = {}
    for name in ("memory", "disk"):
        suite.say(f"storage {name}: 2 x {n} values, event logs on, x {plan.repeat} ...")
        runs = []
        for i in range(plan.repeat):
            workdir = suite.workdir(f"storage-{name}")
            settings = {**plan.settings, "seed": i + 1}
            if name == "disk":
                settings["storage"] = str(workdir / "state")
            run = throughput_run(f"storage.{name}", n, settings, workdir, log=True)
            runs.append(run)
            suite.say(f"  {run.values_per_s:,.0f} values/s, {run.fsyncs} fsyncs "
                      f"{_run_note(run)}")
        best = results[name] = _best(runs, key=lambda r: r.values_per_s)
        note = _run_note(best)
        shown = {k: v for k, v in best.settings.items() if k != "storage"}
        rows.append(Row(f"storage.{name}.values_per_s", best.values_per_s, "values/s",
                        suite.rate_ratio(best.values_per_s), ok="FAIL" if note else "",
                        settings=_settings_text({**shown, "runs": "/".join(
                            f"{r.values_per_s:.0f}" for r in runs)}) + (f" {note}" if note else ""),
                        loadavg=best.loadavg))
    disk, memory = results["disk"], results["memory"]
    if memory.values_per_s:
        rows.append(Row("storage.disk_over_memory", disk.values_per_s / memory.values_per_s,
                        "ratio", settings="values/s with storage / without, this part",
                        loadavg=disk.loadavg))
    decided = disk.values if disk.complete else max(1, disk.learned)
    acceptors = len(TOPOLOGY["acceptor"])
    rows.append(Row("storage.fsyncs_per_value", disk.fsyncs / acceptors / decided,
                    "fsyncs/value", settings=_settings_text({
                        "fsyncs": disk.fsyncs, "acceptors": acceptors, "values": decided}),
                    loadavg=disk.loadavg))
    suite.say(f"storage latency: {plan.latency_n} values one at a time ...")
    workdir = suite.workdir("storage-latency")
    lat = latency_run(plan.latency_n, {**plan.settings, "seed": 1,
                                       "storage": str(workdir / "state")}, workdir)
    p50 = lat.quantile("log", 0.5)
    rows.append(Row("storage.latency.p50", None if p50 is None else p50 * 1e3, "ms",
                    p50 / suite.hop if p50 and suite.hop else None,
                    ok="FAIL" if lat.problem else "",
                    settings=_settings_text({"samples": len(lat.log), "p99_ms": round(
                        (lat.quantile("log", 0.99) or 0) * 1e3, 3)}) + (
                        f" {lat.problem}" if lat.problem else ""), loadavg=lat.loadavg))
    return rows


PART_ROWS: dict[str, Callable[[_Suite], list[Row]]] = {
    "reference": _reference_rows,
    "throughput": _throughput_rows,
    "messages": _messages_rows,
    "course": _course_rows,
    "latency": _latency_rows,
    "storage": _storage_rows,
}


def run_suite(plan: Plan, workroot: Path, parts: Sequence[str] = PARTS,
              say: Callable[[str], None] = print) -> list[Row]:
    """Run every measurement of ``parts`` (in :data:`PARTS` order); returns the table's
    rows. Ratios need the reference: without it they are left empty."""
    suite = _Suite(plan, workroot, say)
    rows: list[Row] = []
    for part in PARTS:
        if part in parts:
            rows.extend(PART_ROWS[part](suite))
    return rows


def _fmt(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def format_table(rows: list[Row]) -> str:
    """The results as a fixed-width text table."""
    head = ("figure", "value", "unit", "x ref", "target", "ok", "load")
    body = [(r.name, _fmt(r.value), r.unit, _fmt(r.ratio), r.target, r.ok,
             "-" if r.loadavg is None else f"{r.loadavg:.2f}") for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    align = ("<", ">", "<", ">", "<", "<", ">")
    lines = ["  ".join(f"{c:{a}{w}}" for c, a, w in zip(line, align, widths))
             for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(rows: list[Row], path: Path, timestamp: str) -> list[Path]:
    """Write ``rows`` to ``path`` and to a timestamped copy beside it; returns both."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = timestamp.replace(":", "").replace("-", "")[:15]
    copy = path.parent / f"bench-{stamp}.csv"
    for target in (path, copy):
        with open(target, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(CSV_COLUMNS)
            for r in rows:
                writer.writerow([
                    r.name, "" if r.value is None else repr(round(r.value, 6)), r.unit,
                    "" if r.ratio is None else repr(round(r.ratio, 6)), r.target, r.ok,
                    r.settings, "" if r.loadavg is None else r.loadavg, timestamp,
                ])
    return [path, copy]


# ---------------------------------------------------------------------- command line


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of the suite (also ``python -m paxos_edu bench``)."""
    parser.add_argument("--quick", action="store_true",
                        help="smaller runs for a fast check (2 x 5000 values, 0.5 s reference)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each measurement N times and keep the best (default 1)")
    parser.add_argument("--scale", type=float, default=1.0, metavar="F",
                        help="multiply every number of values by F (e.g. 0.01 for a smoke test)")
    parser.add_argument("--only", default=",".join(PARTS), metavar="PARTS",
                        help=f"comma-separated parts to run, of {','.join(PARTS)} (default all)")
    parser.add_argument("--configs", default="", metavar="NAMES",
                        help="comma-separated throughput configs, of "
                             f"{','.join(n for n, _ in THROUGHPUT_CONFIGS)} (default all)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a config setting for every run, e.g. batch=256 (repeatable): "
                             "to measure a candidate default")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.csv", metavar="CSV",
                        help="CSV to write (a timestamped copy goes beside it; "
                             "default benchmarks/results/latest.csv)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the runs' directories (event logs) and print where")


def _setting_arg(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise ValueError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value.strip()


def run(args: argparse.Namespace) -> int:
    """Run the suite; print the table; write the CSV. Returns 0, or 1 if a target failed."""
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        print(f"bench: unknown part(s) {', '.join(unknown)}; parts are {', '.join(PARTS)}",
              file=sys.stderr)
        return 2
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(configs) - {n for n, _ in THROUGHPUT_CONFIGS})
    if unknown:
        print(f"bench: unknown config(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        settings = dict(_setting_arg(text) for text in args.set)
        default_config().replace(**settings)  # checked like a config line
    except (ValueError, ConfigError) as exc:
        print(f"bench: --set: {exc}", file=sys.stderr)
        return 2
    plan = Plan.make(args.quick, args.scale, args.repeat, configs, settings)
    timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    workroot = Path(tempfile.mkdtemp(prefix="paxos-bench-"))
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say(f"paxos_edu benchmarks, {os.cpu_count()} CPUs, load {loadavg()}, {plan}")
    try:
        rows = run_suite(plan, workroot, parts, say)
    finally:
        if args.keep:
            say(f"run directories kept in {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)
    print(f"paxos_edu benchmarks {timestamp}: {os.cpu_count()} CPUs, "
          f"load {loadavg()}, best of {plan.repeat}")
    print(format_table(rows))
    written = write_csv(rows, args.out, timestamp)
    print(f"wrote {written[0]} and {written[1].name}")
    return 1 if any(r.ok == "FAIL" for r in rows) else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so every cleanup ends the processes by PID.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
