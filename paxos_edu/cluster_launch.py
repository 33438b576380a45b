"""Starting a :class:`~paxos_edu.cluster.Cluster`'s processes: run directory, launch, readiness.

* **The run directory.** :func:`prepare_dir` makes a directory ready for a new run (and
  with ``overwrite`` deletes exactly an earlier run's files); :class:`RunDir` owns a
  temporary one and removes it when the last holder is gone.
* **One launch.** :func:`launch` starts one role process with the command line of
  ``python -m paxos_edu <role> <id> <config>`` through :func:`paxos_edu.launcher.spawn`:
  stderr appended to ``<role><id>.stderr``, stdout to ``/dev/null`` (a learner's values
  are in ``learn<id>``), and for a client a large non-blocking stdin pipe that
  :meth:`~paxos_edu.cluster_processes.ClusterProcess.push` feeds.
* **Readiness and failure.** :func:`await_ready` waits until each process wrote its
  ``start`` record (it has joined its groups); :func:`failure` turns a process that exited
  into a :class:`~paxos_edu.launcher.ProcessFailed` (or :class:`IdentityConflict`) that
  quotes its stderr.

Siblings: :mod:`paxos_edu.cluster` (the lab bench that calls these),
:mod:`paxos_edu.cluster_processes` (what is kept per process),
:mod:`paxos_edu.cluster_wait` and :mod:`paxos_edu.cluster_faults`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import weakref
from pathlib import Path
from typing import Iterable, Optional

from .cluster_processes import ClusterProcess, file_mark
from .errors import UsageError
from .eventlog import is_run_file, run_directory
from .launcher import READY_TIMEOUT, ProcessFailed, spawn

__all__ = ["CONFIG_NAME", "POLL", "IdentityConflict", "RunDir", "await_ready", "bug_names",
           "failure", "launch", "prepare_dir"]

CONFIG_NAME = "paxos.conf"
"""Name of the config file a cluster writes into its run directory."""
POLL = 0.002
"""Seconds between two looks at the processes' logs while waiting."""
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class IdentityConflict(ProcessFailed):
    """A process of this cluster gave up because another live process has its role and id
    (a process left from an earlier run, a second ``acceptor.sh 1``; see
    :mod:`paxos_edu.identity`). ``process`` names it, e.g. ``"acceptor1"``."""

    def __init__(self, message: str, process: str) -> None:
        super().__init__(message)
        self.process = process


class RunDir:
    """Owner of a temporary run directory: removed when the last holder (the cluster, or
    a :class:`Run` loaded from it) is garbage collected, or on :meth:`remove`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(path), ignore_errors=True)

    def remove(self) -> None:
        self._finalizer()


# ---------------------------------------------------------------------- the run directory


def bug_names(bugs: Iterable[str] | str | None) -> list[str]:
    """The deliberate bugs to pass to every process, checked, by name (sorted)."""
    from .bugs import parse_bugs

    if not bugs:
        return []
    try:
        return sorted(b.value for b in parse_bugs(bugs))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def prepare_dir(path: Path, overwrite: bool) -> None:
    """Make ``path`` ready for a new run; ``overwrite`` deletes an earlier run's files --
    exactly those (:func:`~paxos_edu.eventlog.is_run_file` and the config), never a
    file of the user's that merely starts like one."""
    run_directory(path)
    ours = sorted(p.name for p in path.iterdir() if p.is_file() and
                  (p.name == CONFIG_NAME or is_run_file(p.name)))
    if ours and not overwrite:
        listed = ", ".join(ours[:6]) + (f" and {len(ours) - 6} more" if len(ours) > 6 else "")
        raise UsageError(f"{path} already holds a run ({listed}); choose an empty "
                         "directory or pass overwrite=True (--overwrite)")
    for name in ours:
        (path / name).unlink()


# ---------------------------------------------------------------------- one process


def launch(role: str, id: int, *, run_dir: Path, config_path: Path, trace: str,
           bugs: list[str], launcher: str, fresh: bool) -> ClusterProcess:
    """Start ``role`` ``id`` in ``run_dir`` with ``launcher``; ``fresh`` (acceptors only)
    tells it that this id never ran, so it has no storage to miss."""
    argv = [role, str(id), str(config_path), "--log-dir", str(run_dir), "--trace", trace]
    if role == "acceptor" and fresh:
        argv.append("--fresh")  # the bench knows this id never ran (see start/restart)
    if bugs:
        argv += ["--bugs", ",".join(bugs)]
    stderr_path = run_dir / f"{role}{id}.stderr"
    log_before = file_mark(run_dir / f"{role}{id}.jsonl")  # readiness: it changes
    stderr_offset = file_mark(stderr_path)[1]
    err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDWR)
    write_end: Optional[int] = None
    try:
        if role == "client":
            read_end, write_end = os.pipe()
            try:
                fcntl.fcntl(write_end, _F_SETPIPE_SZ, _PIPE_SIZE)
            except OSError:
                pass  # the default 64 KiB will do
            os.set_blocking(write_end, False)
            os.set_inheritable(write_end, False)
            stdin = read_end
        else:
            stdin = null
        child = spawn(argv, stdin=stdin, stdout=null, stderr=err, cwd=run_dir,
                      launcher=launcher)
    except BaseException:
        if write_end is not None:
            os.close(write_end)
        raise
    finally:
        if role == "client":
            os.close(stdin)
        os.close(null)
        os.close(err)
    proc = ClusterProcess(role, id, child, stdin=write_end, stderr_path=stderr_path)
    proc.log_before, proc.stderr_offset = log_before, stderr_offset
    return proc


def await_ready(run_dir: Path, procs: list[ClusterProcess],
                timeout: float = READY_TIMEOUT) -> None:
    """Until each process wrote its ``start`` record (it has joined its groups)."""
    waiting = list(procs)
    deadline = time.monotonic() + timeout
    while waiting:
        for proc in list(waiting):
            # The start record was written: the log is a new file (an earlier life's
            # was renamed) or grew (a client appends its new session).
            mark = file_mark(run_dir / f"{proc.name}.jsonl")
            if mark[1] > 0 and (mark[0] != proc.log_before[0] or mark[1] > proc.log_before[1]):
                waiting.remove(proc)
                continue
            if not proc.alive:
                raise failure(proc, "exited while starting")
        if waiting and time.monotonic() > deadline:
            names = ", ".join(p.name for p in waiting)
            raise ProcessFailed(f"not ready after {timeout:g} s: {names}")
        if waiting:
            time.sleep(POLL)


def failure(proc: ClusterProcess, what: str) -> ProcessFailed:
    """``proc`` exited (``what``: how): an error naming it, its exit code or signal, and
    the tail of this life's stderr; an :class:`IdentityConflict` when it gave up because
    another live process has its role and id."""
    tail = proc.stderr_tail()
    code = proc.poll()
    how = f" (exit code {code})" if code is not None and code >= 0 else (
        f" (signal {-code})" if code is not None else "")
    message = f"{proc.role} {proc.id} (pid {proc.pid}) {what}{how}"
    if tail:
        message += f"; its stderr ({proc.stderr_path.name}):\n{tail}"
    if code == 2 and "identity conflict:" in tail:
        return IdentityConflict(message, proc.name)
    return ProcessFailed(message)
