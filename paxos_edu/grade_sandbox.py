"""Where the grader runs an implementation: a private network namespace, or loopback.

A :class:`Sandbox` is one scenario's world. With root it is a fresh network namespace
(``ip netns add``) holding only a loopback interface, brought up, with a multicast route
on it -- so an implementation that never sets ``IP_MULTICAST_IF`` still reaches its
groups, and nothing it sends can leave the namespace. Loss is an iptables rule inside
the namespace (``-m statistic --mode random --probability p``), touching nothing else on
the machine. Without root (or without ``ip``) the sandbox is the host's loopback with
fresh groups and ports, and loss cannot be injected (:attr:`Sandbox.loss_reason` says
why).

Every process runs in its own process group (``start_new_session``), so a kill reaches
a role script *and* whatever it started (a JVM, a pipeline). :meth:`Sandbox.close`
SIGTERMs every group, SIGKILLs what is left, kills whatever still runs in the namespace
and deletes it; :func:`cleanup_on_signals` turns SIGTERM/SIGHUP into an exception so that
``finally`` blocks run whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Optional

from .errors import UsageError

NAMESPACE_PREFIX = "paxos-grader-"
"""Every namespace the grader creates starts with this (easy to spot in ``ip netns``)."""

COURSE_ADDRESSES = {
    "clients": ("239.0.0.1", 5000),
    "proposers": ("239.0.0.1", 6000),
    "acceptors": ("239.0.0.1", 7000),
    "learners": ("239.0.0.1", 8000),
}
"""The course's example config: used as is inside a private namespace."""

STOP_GRACE_S = 1.0
"""Seconds between SIGTERM and SIGKILL when a sandbox closes."""


def _sh(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def netns_unavailable() -> Optional[str]:
    """Why private network namespaces cannot be used here (None: they can)."""
    if os.geteuid() != 0:
        return "not root: network namespaces and iptables need root"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool!r} not found"
    return None


class GraderInterrupted(BaseException):
    """SIGTERM or SIGHUP arrived while grading: unwinds like KeyboardInterrupt.

    Attributes:
        signum: the signal; a command exits ``128 + signum``, as the shell reports it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`GraderInterrupted` (SIGINT
    already raises KeyboardInterrupt), so every ``finally`` runs. Only in the main thread;
    elsewhere a no-op."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise GraderInterrupted(signum)

    old = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


class Process:
    """One started role script: its process group, stdin pipe (clients), output files."""

    def __init__(self, role: str, id: int, popen: subprocess.Popen[bytes],
                 files: list[IO[Any]]) -> None:
        self.role = role
        self.id = id
        self.popen = popen
        self.files = files
        self.killed = False

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session: the leader's pid is the group id

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group and reap the leader (a crash, as the scenarios mean)."""
        self.killed = True
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    def pids(self) -> list[int]:
        """Every live process of this process group (the script and its children)."""
        return _group_pids(self.pgid)


class Sandbox:
    """One scenario's private network (or loopback) and the processes started in it.

    Args:
        workdir: where config, ``prop<id>``, ``learn<id>`` and stderr files go.
        network: ``"netns"`` (fail if impossible), ``"loopback"``, or ``"auto"``
            (a namespace when possible, else loopback).
        prefix: namespace name prefix (tests put their own name in it).
    """

    def __init__(self, workdir: Path, *, network: str = "auto",
                 prefix: str = NAMESPACE_PREFIX) -> None:
        if network not in ("auto", "netns", "loopback"):
            raise UsageError(f"network must be auto, netns or loopback, not {network!r}")
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.namespace: Optional[str] = None
        self.processes: list[Process] = []
        self.loss_reason: Optional[str] = None
        why = netns_unavailable() if network != "loopback" else "loopback asked for"
        if why is None:
            name = f"{prefix}{uuid.uuid4().hex[:8]}"
            why = self._make_namespace(name)
        if why is not None:
            if network == "netns":
                raise UsageError(f"cannot create a private network namespace: {why}")
            self.loss_reason = f"no private network namespace ({why})"
        self.reason = why
        if self.namespace:
            self.addresses = dict(COURSE_ADDRESSES)
        else:
            from .transport import free_multicast_addresses

            self.addresses = {g.role: a for g, a in free_multicast_addresses().items()}
        self.config = self.dir / "paxos.conf"
        self.config.write_text("".join(f"{role} {ip} {port}\n"
                                       for role, (ip, port) in self.addresses.items()))

    # ------------------------------------------------------------------ network

    def _make_namespace(self, name: str) -> Optional[str]:
        made = _sh("ip", "netns", "add", name)
        if made.returncode != 0:
            return f"ip netns add failed: {made.stderr.strip()}"
        self.namespace = name
        for args in (("link", "set", "lo", "up"), ("link", "set", "lo", "multicast", "on"),
                     ("route", "add", "224.0.0.0/4", "dev", "lo")):
            done = _sh("ip", "-n", name, *args)
            if done.returncode != 0:
                self._delete_namespace()
                return f"ip -n {name} {' '.join(args)} failed: {done.stderr.strip()}"
        return None

    @property
    def prefix(self) -> list[str]:
        """The command put before every process: ``ip netns exec NS`` or nothing."""
        return ["ip", "netns", "exec", self.namespace] if self.namespace else []

    def set_loss(self, probability: float) -> None:
        """Drop ``probability`` of every UDP datagram received in the namespace."""
        if not self.namespace:
            raise UsageError(f"kernel-level loss impossible: {self.loss_reason}")
        if not 0 <= probability < 1:
            raise UsageError(f"loss must be in [0, 1), not {probability!r}")
        _sh(*self.prefix, "iptables", "-F", "INPUT")
        if probability:
            rule = _sh(*self.prefix, "iptables", "-A", "INPUT", "-p", "udp", "-m", "statistic",
                       "--mode", "random", "--probability", f"{probability:g}", "-j", "DROP")
            if rule.returncode != 0:
                raise UsageError(f"iptables statistic rule refused: {rule.stderr.strip()}")

    def dropped(self) -> int:
        """Datagrams the loss rule dropped so far (0 without one)."""
        if not self.namespace:
            return 0
        listing = _sh(*self.prefix, "iptables", "-L", "INPUT", "-n", "-v", "-x")
        for line in listing.stdout.splitlines():
            if "statistic" in line:
                return int(line.split()[0])
        return 0

    # ------------------------------------------------------------------ processes

    def start(self, script: Path, role: str, id: int, *, stdin_pipe: bool = False,
              stdout: Optional[Path] = None, args: Sequence[str] = ()) -> Process:
        """Start ``script <id> paxos.conf`` in the sandbox, in its own process group.

        A script without a ``#!`` line runs under ``sh``, as a shell (the course harness's
        bash) would run it."""
        with open(script, "rb") as f:
            shebang = f.read(2) == b"#!"
        command = [str(script)] if shebang else ["/bin/sh", str(script)]
        return self.spawn([*command, str(id), str(self.config), *args], role, id,
                          stdin_pipe=stdin_pipe, stdout=stdout)

    def spawn(self, command: Sequence[str], role: str, id: int, *, stdin_pipe: bool = False,
              stdout: Optional[Path] = None, env: Optional[dict[str, str]] = None) -> Process:
        """Start ``command`` in the sandbox, in its own process group; stderr goes to
        ``stderr-<role><id>``, stdout to ``stdout`` (default: nowhere)."""
        files: list[IO[Any]] = []
        out: Any = subprocess.DEVNULL
        if stdout is not None:
            out = open(stdout, "wb")
            files.append(out)
        err = open(self.dir / f"stderr-{role}{id}", "wb")
        files.append(err)
        popen = subprocess.Popen(
            [*self.prefix, *command], cwd=self.dir, env=self._env(env),
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=out, stderr=err, start_new_session=True,
        )
        proc = Process(role, id, popen, files)
        self.processes.append(proc)
        return proc

    def _env(self, env: Optional[dict[str, str]]) -> dict[str, str]:
        """The processes' environment: a private ``TMPDIR`` inside the sandbox, so nothing
        an implementation leaves in its temporary directory (this project's acceptors keep
        an "I ran before" marker there) carries over from one scenario to the next."""
        tmp = self.dir / "tmp"
        tmp.mkdir(exist_ok=True)
        return dict(os.environ if env is None else env, TMPDIR=str(tmp))

    def wait_sockets(self, procs: Sequence[Process], timeout: float) -> list[Process]:
        """Wait until each process (group) holds a UDP socket; returns those that did not
        within ``timeout`` (a generic "ready": any implementation binds before it
        listens)."""
        waiting = list(procs)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            waiting = [p for p in waiting if p.alive() and not _has_udp_socket(p.pids())]
            if waiting:
                time.sleep(0.02)
        return [p for p in waiting if p.alive()]

    def stderr(self, proc: Process, limit: int = 300) -> str:
        path = self.dir / f"stderr-{proc.role}{proc.id}"
        text = path.read_text(errors="replace").strip() if path.exists() else ""
        return text[-limit:]

    def stop(self) -> None:
        """SIGTERM every process group, SIGKILL what is left after a grace period."""
        live = [p for p in self.processes if p.alive()]
        for p in self.processes:
            if p.popen.stdin is not None:
                with contextlib.suppress(OSError):
                    p.popen.stdin.close()
        for p in live:
            p.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for p in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(max(0.0, deadline - time.monotonic()))
        for p in self.processes:
            # Children may outlive their leader: signal every group, even of dead leaders.
            if _group_pids(p.pgid):
                p.signal_group(signal.SIGKILL)
            if p.alive():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.popen.wait(5)
            for f in p.files:
                f.close()

    def close(self) -> None:
        """Stop every process and delete the namespace (idempotent)."""
        try:
            self.stop()
        finally:
            self._delete_namespace()

    def _delete_namespace(self) -> None:
        if not self.namespace:
            return
        # Anything left inside (a daemon that left its group) is ours: the namespace is.
        pids = _sh("ip", "netns", "pids", self.namespace).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _sh("ip", "netns", "del", self.namespace)
        self.namespace = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------- /proc helpers


def _group_pids(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid`` (zombies excluded)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            found.append(int(entry.name))
    return found


def _has_udp_socket(pids: Sequence[int]) -> bool:
    """True when one of ``pids`` holds a UDP socket (read from its own netns's view)."""
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        inodes = {link[8:-1] for link in links if link.startswith("socket:[")}
        if not inodes:
            continue
        for table in ("udp", "udp6"):
            try:
                with open(f"/proc/{pid}/net/{table}") as f:
                    rows = f.read().splitlines()[1:]
            except OSError:
                continue
            if any(len(cols := row.split()) > 9 and cols[9] in inodes for row in rows):
                return True
    return False


__all__ = ["COURSE_ADDRESSES", "GraderInterrupted", "NAMESPACE_PREFIX", "Process", "Sandbox",
           "cleanup_on_signals", "netns_unavailable"]
