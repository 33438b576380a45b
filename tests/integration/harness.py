"""Run real paxos_edu processes the way the course does, for integration tests.

A :class:`CourseRun` owns a working directory with a config file (fresh, free multicast
addresses from :func:`paxos_edu.transport.free_multicast_addresses`, so parallel tests
never hear each other), starts role processes through ``scripts/*.sh`` -- learners'
stdout redirected to ``learn<id>``, clients fed from ``prop<id>`` (or from a pipe the
test writes to) -- waits with a bound, and kills every process it started, by PID, when
closed (use it as a context manager). Each process also writes its event log to
``<dir>/logs`` (``PAXOS_LOG_DIR``); a process is *ready* once its ``start`` record,
written after it joined its groups, is there.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Optional, Sequence

from paxos_edu.checks import CheckReport, check_values
from paxos_edu.transport import free_multicast_addresses

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
SCRIPT = {
    "acceptor": "acceptor.sh",
    "proposer": "proposer.sh",
    "learner": "learner.sh",
    "learn": "learn.sh",
    "client": "client.sh",
}
PYCACHE: Optional[Path] = None
"""Bytecode cache for the processes started (set by the tests' session fixture)."""
READY_TIMEOUT = 15.0
"""Python start-up on a loaded 2-core CI machine can take a second or two."""


def values_for(client: int, n: int, start: int = 0) -> list[str]:
    """``n`` distinct values of one client: ``c1-v0``, ``c1-v1``, ..."""
    return [f"c{client}-v{i}" for i in range(start, start + n)]


class CourseRun:
    """One cluster of real processes in ``workdir``.

    Args:
        workdir: an empty directory of the test (``tmp_path``).
        settings: extra config lines, e.g. ``{"loss": 0.1, "acceptor_count": 3}``.
        prefix: a command put before each script (e.g. ``["ip", "netns", "exec", "ns"]``).
    """

    def __init__(
        self,
        workdir: Path,
        settings: Optional[dict[str, Any]] = None,
        *,
        prefix: Sequence[str] = (),
        env: Optional[dict[str, str]] = None,
    ) -> None:
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logs = self.dir / "logs"
        self.config = self.dir / "paxos.conf"
        self.addresses = free_multicast_addresses()
        lines = [f"{g.role} {ip} {port}" for g, (ip, port) in self.addresses.items()]
        lines += [f"{k} {v}" for k, v in (settings or {}).items()]
        self.config.write_text("\n".join(lines) + "\n")
        self.prefix = list(prefix)
        # A private TMPDIR: an acceptor's "ran before" marker (paxos_edu.storage) from another
        # test that happened to draw the same group and port must not make this run's
        # acceptors listen before voting; restarts within this run still find theirs.
        (self.dir / "tmp").mkdir(exist_ok=True)
        self.env = dict(os.environ, PAXOS_PYTHON=sys.executable, PAXOS_LOG_DIR=str(self.logs),
                        TMPDIR=str(self.dir / "tmp"))
        self.env.update(env or {})
        if self.env.get("PYTHONDONTWRITEBYTECODE") and PYCACHE is not None:
            # Compiling every module again in each of a cluster's 9 processes costs about
            # 0.1 s of CPU each; a private bytecode cache (never the checkout) avoids it,
            # as a default Python installation would.
            del self.env["PYTHONDONTWRITEBYTECODE"]
            self.env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
        self.procs: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
        self.started: list[subprocess.Popen[bytes]] = []
        self._files: list[IO[Any]] = []

    # ------------------------------------------------------------------ processes

    def start(
        self,
        role: str,
        id: int,
        *,
        stdin: str = "file",
        ready: bool = True,
        args: Sequence[str] = (),
    ) -> subprocess.Popen[bytes]:
        """Start ``scripts/<role>.sh <id> paxos.conf``.

        Args:
            stdin: for a client, ``"file"`` (read ``prop<id>``) or ``"pipe"`` (the test
                feeds it with :meth:`feed`; ``prop<id>`` then records what was fed).
            ready: wait until the process has joined its groups.
        """
        kind = "learner" if role == "learn" else role
        out: Any = subprocess.DEVNULL
        inp: Any = subprocess.DEVNULL
        if kind == "learner":
            out = self._open(self.dir / f"learn{id}", "wb")
        if kind == "client":
            if stdin == "file":
                prop = self.dir / f"prop{id}"
                if not prop.exists():
                    prop.write_text("")
                inp = self._open(prop, "rb")
            else:
                inp = subprocess.PIPE
                self._open(self.dir / f"prop{id}", "w").close()
        err = self._open(self.dir / f"stderr-{kind}{id}", "wb")
        command = [*self.prefix, str(SCRIPTS / SCRIPT[role]), str(id), str(self.config), *args]
        proc = subprocess.Popen(
            command, cwd=self.dir, stdin=inp, stdout=out, stderr=err, env=self.env
        )
        self.started.append(proc)
        self.procs[(kind, id)] = proc
        if ready:
            self.wait_ready(kind, id)
        return proc

    def start_cluster(
        self,
        *,
        acceptors: Iterable[int] = (1, 2, 3),
        proposers: Iterable[int] = (1, 2),
        learners: Iterable[int] = (1, 2),
    ) -> None:
        """Start the servers (not the clients), then wait until all are ready."""
        started = []
        for role, ids in (("acceptor", acceptors), ("proposer", proposers), ("learner", learners)):
            for i in ids:
                self.start(role, i, ready=False)
                started.append((role, i))
        for role, i in started:
            self.wait_ready(role, i)

    def wait_ready(self, role: str, id: int, timeout: float = READY_TIMEOUT) -> None:
        log = self.logs / f"{role}{id}.jsonl"
        proc = self.procs[(role, id)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.exists() and b'"event":"start"' in log.read_bytes():
                return
            if proc.poll() is not None:
                raise AssertionError(
                    f"{role} {id} exited with {proc.returncode} before it was "
                    f"ready: {self.stderr(role, id)}"
                )
            time.sleep(0.01)
        raise AssertionError(f"{role} {id} not ready within {timeout} s")

    def feed(self, client: int, values: Sequence[str], *, close: bool = False) -> None:
        """Write values to a pipe-fed client's stdin (and to ``prop<id>``)."""
        proc = self.procs[("client", client)]
        assert proc.stdin is not None
        text = "".join(v + "\n" for v in values)
        with open(self.dir / f"prop{client}", "a") as prop:
            prop.write(text)
        if text:
            proc.stdin.write(text.encode())
            proc.stdin.flush()
        if close:
            proc.stdin.close()

    def send_signal(self, role: str, id: int, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to one process we started (by PID)."""
        proc = self.procs[(role, id)]
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        if sig == signal.SIGKILL:
            proc.wait(5)

    def wait_exit(self, role: str, id: int, timeout: float) -> Optional[int]:
        """Exit status, or None if still running after ``timeout``."""
        try:
            return self.procs[(role, id)].wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop_timed(self, role: str, id: int, sig: int = signal.SIGTERM,
                   timeout: float = 5.0) -> tuple[Optional[int], float]:
        """Send ``sig`` and wait for the exit: (exit status or None, seconds it took).

        Waits on a pidfd where Linux has them: ``Popen.wait(timeout)`` polls with sleeps
        of up to 50 ms, too coarse to check "exits within half a second"."""
        proc = self.procs[(role, id)]
        pidfd = None
        if hasattr(os, "pidfd_open"):
            try:
                pidfd = os.pidfd_open(proc.pid)
            except OSError:
                pidfd = None
        started = time.monotonic()
        os.kill(proc.pid, sig)
        try:
            if pidfd is not None:
                select.select([pidfd], [], [], timeout)
                took = time.monotonic() - started
                return proc.poll(), took
            try:
                rc: Optional[int] = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                rc = None
            return rc, time.monotonic() - started
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def close(self) -> None:
        """SIGTERM every live process we started, then SIGKILL stragglers; close files."""
        live = [p for p in self.started if p.poll() is None]
        for proc in live:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3.0
        for proc in live:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        for proc in self.started:
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
        for f in self._files:
            f.close()
        self._files.clear()

    def __enter__(self) -> CourseRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self, path: Path, mode: str) -> IO[Any]:
        f = open(path, mode)
        self._files.append(f)
        return f

    # ------------------------------------------------------------------ files

    def write_values(self, client: int, values: Sequence[str]) -> None:
        (self.dir / f"prop{client}").write_text("".join(v + "\n" for v in values))

    def proposed(self, client: int) -> list[str]:
        path = self.dir / f"prop{client}"
        return path.read_text().splitlines() if path.exists() else []

    def learned(self, learner: int) -> list[str]:
        """Complete lines of ``learn<id>`` so far."""
        path = self.dir / f"learn{learner}"
        if not path.exists():
            return []
        data = path.read_bytes()
        return data[: data.rfind(b"\n") + 1].decode().splitlines()

    def stderr(self, role: str, id: int) -> str:
        path = self.dir / f"stderr-{role}{id}"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float, interval: float = 0.01
    ) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def wait_learned(
        self, count: int, learners: Iterable[int] = (1, 2), timeout: float = 20.0
    ) -> bool:
        """True once every learner in ``learners`` printed at least ``count`` values."""
        ids = list(learners)
        return self.wait_until(lambda: all(len(self.learned(i)) >= count for i in ids), timeout)

    # ------------------------------------------------------------------ checks

    def check(
        self,
        learners: Iterable[int] = (1, 2),
        clients: Iterable[int] = (1, 2),
        *,
        expect_complete: bool = True,
    ) -> CheckReport:
        """The course's checks on ``learn<id>`` and ``prop<id>`` files."""
        learned = {i: self.learned(i) for i in learners}
        proposed = {c: self.proposed(c) for c in clients}
        return check_values(learned, proposed, expect_complete=expect_complete)

    def assert_correct(
        self,
        learners: Iterable[int] = (1, 2),
        clients: Iterable[int] = (1, 2),
        *,
        complete: bool = True,
    ) -> list[str]:
        """Safety always; with ``complete`` also: every proposed value learned, learners'
        outputs identical. Returns learner 1's (first learner's) output."""
        ids = list(learners)
        report = self.check(ids, clients, expect_complete=complete)
        assert report.ok, f"{report}\n{self.diagnostics()}"
        outputs = [self.learned(i) for i in ids]
        if complete:
            for i, out in zip(ids[1:], outputs[1:]):
                assert out == outputs[0], f"learner {i} differs from learner {ids[0]}"
            assert len(set(outputs[0])) == len(outputs[0])
        return outputs[0]

    def diagnostics(self) -> str:
        """Where the run stands, for assertion messages: the run directory, each process's
        exit status and stderr, how much each learner printed, the proposers' last notes."""
        parts = [f"run directory: {self.dir}"]
        for (role, i), proc in sorted(self.procs.items()):
            err = self.stderr(role, i).strip()
            line = f"{role}{i} (pid {proc.pid}, rc {proc.poll()}): {err[-500:] or '-'}"
            if role == "learner":
                line += f"; learned {len(self.learned(i))}"
            if role == "proposer":
                log = self.logs / f"proposer{i}.jsonl"
                notes = [r for r in (log.read_text().splitlines() if log.exists() else [])
                         if '"event":"note"' in r]
                line += "".join(f"\n    {n[:200]}" for n in notes[-4:])
            parts.append(line)
        return "\n".join(parts)
