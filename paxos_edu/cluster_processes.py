"""What a :class:`~paxos_edu.cluster.Cluster` keeps about each process it started.

One :class:`ClusterProcess` per life of a role process: the launcher's handle (pid, poll,
wait), the write end of a client's stdin pipe with the values that did not fit in it yet,
where this life's stderr starts, and its state (running, paused, killed, ...).
:class:`LearnerProgress` reads what one learner delivered, per client, from the new bytes
of its event log. :func:`kill_all` is the cluster's finalizer. These are the cluster's
private parts, in their own module so that cluster.py reads as the lab bench only.

Siblings: :mod:`paxos_edu.cluster` (the lab bench), :mod:`paxos_edu.cluster_launch`
(starting a process, which makes its :class:`ClusterProcess`), :mod:`paxos_edu.cluster_wait`
(waiting, which reads :class:`LearnerProgress`), :mod:`paxos_edu.cluster_faults`.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .codec import MAX_VALUE_BYTES
from .errors import UsageError
from .launcher import Child, reap
from .processes import process_name


class ClusterProcess:
    """One role process of a cluster, whichever launcher started it."""

    def __init__(self, role: str, id: int, child: Child, *, stdin: Optional[int],
                 stderr_path: Path) -> None:
        self.role = role
        self.id = id
        self.child = child  # the launcher's handle: pid, poll, wait
        self.stdin = stdin  # write end of a client's stdin pipe (non-blocking), else None
        self.pending = bytearray()  # submitted bytes that did not fit in the pipe yet
        self.submitted = 0  # values given to submit()
        # Every byte submit() gave this client id, all lives: a restarted client is fed
        # its input again from the first value (it resumes its session, see cluster_faults).
        self.fed = bytearray()
        self.stderr_path = stderr_path
        self.state = "running"  # running | paused | killed | stopped | exited
        self.log_before = (0, 0)  # (inode, size) of its event log before it started
        self.stderr_offset = 0  # where this life's stderr starts in stderr_path

    @property
    def name(self) -> str:
        return process_name(self.role, self.id)

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def returncode(self) -> Optional[int]:
        return self.child.returncode

    def poll(self) -> Optional[int]:
        return self.child.poll()

    @property
    def alive(self) -> bool:
        return self.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to this process (by PID) unless it has already exited."""
        if self.alive:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> Optional[int]:
        return self.child.wait(timeout)

    def stderr_tail(self, limit: int = 1500) -> str:
        """The end of what this life wrote on stderr (earlier lives' text comes before)."""
        try:
            data = self.stderr_path.read_bytes()[self.stderr_offset:]
            text = data[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""
        return text.strip()

    def close_stdin(self) -> None:
        if self.stdin is not None:
            try:
                os.close(self.stdin)
            except OSError:
                pass
            self.stdin = None

    def push(self) -> None:
        """Write as much of :attr:`pending` as the pipe takes, never blocking."""
        while self.pending and self.stdin is not None:
            try:
                written = os.write(self.stdin, self.pending)
            except BlockingIOError:
                return
            except BrokenPipeError:
                self.pending.clear()
                return
            del self.pending[:written]


def keep(owner: object) -> None:
    """Nothing: :func:`weakref.finalize` holds ``owner`` alive until its object dies."""


def kill_all(procs: list[ClusterProcess]) -> None:
    """Finalizer (garbage collection, interpreter exit): SIGKILL every live child by PID."""
    for proc in procs:
        proc.close_stdin()
        try:
            proc.poll()
        except Exception:  # noqa: BLE001 -- at interpreter exit anything may be gone
            pass
        if proc.returncode is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    reap([proc.child for proc in procs])


@dataclass
class LearnerProgress:
    """What one learner delivered so far, per client, read incrementally from its log."""

    path: Path
    offset: int = 0
    tail: bytes = b""
    by_client: dict[int, int] = field(default_factory=dict)
    total: int = 0

    def update(self) -> None:
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return
        if size < self.offset:  # a new life of this learner truncated its log
            self.offset, self.tail, self.by_client, self.total = 0, b"", {}, 0
        if size == self.offset:
            return
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(size - self.offset)
        self.offset += len(data)
        lines = (self.tail + data).split(b"\n")
        self.tail = lines.pop()
        by_client = self.by_client
        for line in lines:
            if b'"event":"deliver"' not in line:
                continue
            start = line.find(b'"client":') + 9
            client = int(line[start : line.index(b",", start)])
            by_client[client] = by_client.get(client, 0) + 1
            self.total += 1


def check_value(value: Any, index: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UsageError(f"value #{index} {value!r}: values are text (str) or integers")
    text = str(value)
    if "\n" in text or "\r" in text:
        raise UsageError(f"value #{index} {text[:40]!r}: a value is one line (no newline)")
    if not text.strip():
        raise UsageError(f"value #{index} {text!r}: blank values are skipped by clients")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise UsageError(f"value #{index} {text[:40]!r}: not encodable as UTF-8") from None
    if size > MAX_VALUE_BYTES:
        raise UsageError(f"value #{index}: {size} bytes exceeds the limit of {MAX_VALUE_BYTES}")
    return text


def file_mark(path: Path) -> tuple[int, int]:
    """``(inode, size)`` of ``path``; ``(0, 0)`` when it does not exist."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_ino, st.st_size)


__all__ = ["ClusterProcess", "LearnerProgress", "check_value", "file_mark", "keep", "kill_all"]
