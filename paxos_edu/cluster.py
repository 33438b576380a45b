"""The lab bench: a real Paxos cluster of operating-system processes, in one line of Python.

:class:`Cluster` starts acceptors, proposers, learners and clients as real processes (the
runtime of :mod:`paxos_edu.runtime`, the same as ``python -m paxos_edu <role> ...``) on
loopback multicast, feeds values to the clients, breaks things on request (crash, pause,
late start) and hands back the run directory as pandas tables (:class:`~paxos_edu.runlog.Run`)::

    from paxos_edu import Cluster

    with Cluster(acceptors=3, proposers=2, learners=2, clients=2, loss=0.1, seed=1) as c:
        c.submit(1, ["a", "b"])      # client 1 (a real process) submits values
        c.kill("acceptor", 3)        # crash-stop (SIGKILL)
        c.start("learner", 3)        # a new process joins and catches up
        c.wait(timeout=30)           # until every live learner delivered every value

    with Cluster(storage=True) as c:  # acceptors keep their state in <run dir>/storage
        c.submit(1, ["a"])
        c.restart("acceptor", 2)     # kill -9, start again: it recovers its promises
    run = c.run                      # load_run(c.path) once the processes are stopped
    run.check()

Theory of operation
-------------------
**Isolation.** Each cluster draws a fresh multicast group and free ports
(:func:`~paxos_edu.transport.free_multicast_addresses`) and writes its config file,
``paxos.conf``, into its own run directory: two clusters at once never hear each other.

**Start-up.** Starting a Python interpreter and importing the runtime costs 0.1 to 0.2 s
of CPU per process -- about a second for a nine-process cluster on two cores. So by default
processes are *forked* from a zygote (:func:`paxos_edu.launcher.spawn`, which returns a
:class:`~paxos_edu.launcher.Child` with ``pid``, ``poll`` and ``wait``): one helper process per
Python session that has imported the runtime once and forks a child per request (a few
milliseconds each). The
child becomes its own session leader, gets the stdin/stdout/stderr it was sent (file
descriptors passed over a Unix socket) and runs exactly what ``python -m paxos_edu``
runs. ``launcher="spawn"`` starts each process with ``python -m paxos_edu`` instead
(slower, but the very command line of the course's scripts). Acceptors and learners
start first; proposers and clients once those have joined their groups (each process
writes its ``start`` record once joined), so no first message is lost.

**Feeding values.** A client reads its values from stdin (one per line). ``submit``
writes to that pipe without ever blocking -- what does not fit (a paused client) waits
in a buffer that every later call pushes on. stdin stays open so that a notebook can
submit, wait, and submit again; :meth:`Cluster.close_clients` (and :meth:`stop`) close it.

**Waiting.** :meth:`Cluster.wait` reads what the learners appended to their event logs
(``learner<id>.jsonl``) since the last look, counting deliveries per client: it reads
only new bytes, never blocks a learner (a stdout pipe that nobody drains would stall it
once 64 KiB are waiting) and knows *whose* values are missing, which the error message
and values of crashed clients need. Learners' stdout goes to ``/dev/null``: the same
values are in ``learn<id>``.

**No orphans.** Every child runs in its own session, so a notebook's interrupt (SIGINT)
reaches only the kernel; the cluster kills its children by PID on :meth:`stop`, at the
end of a ``with`` block, when it is garbage collected (a weak-reference finalizer, also
run at interpreter exit) and on KeyboardInterrupt inside :meth:`wait`. If the whole
kernel is killed, the zygote sees its control socket close and kills every child it
forked (and children have ``PR_SET_PDEATHSIG``), so even then nothing is left behind.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import tempfile
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from .cluster_processes import (
    ClusterProcess,
    LearnerProgress,
    check_value,
    file_mark,
    keep,
    kill_all,
)
from .config import Config, settings_from
from .errors import PaxosEduError, UsageError
from .eventlog import is_run_file, run_directory
from .launcher import LAUNCHERS, READY_TIMEOUT, ProcessFailed, prestart, spawn
from .processes import START_ORDER, check_role
from .transport import free_multicast_addresses

if TYPE_CHECKING:  # pandas is imported only when a table is asked for
    import pandas as pd

    from .runlog import Run

CONFIG_NAME = "paxos.conf"
"""Name of the config file a cluster writes into its run directory."""
STOP_TIMEOUT = 2.0
"""Seconds :meth:`Cluster.stop` waits for a clean exit before SIGKILL."""
_POLL = 0.002
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class IdentityConflict(ProcessFailed):
    """A process of this cluster gave up because another live process has its role and id
    (a process left from an earlier run, a second ``acceptor.sh 1``; see
    :mod:`paxos_edu.identity`). ``process`` names it, e.g. ``"acceptor1"``."""

    def __init__(self, message: str, process: str) -> None:
        super().__init__(message)
        self.process = process


class ClusterTimeout(PaxosEduError, TimeoutError):
    """:meth:`Cluster.wait` ran out of time; the message says which learner misses what."""


class _RunDir:
    """Owner of a temporary run directory: removed when the last holder (the cluster, or
    a :class:`Run` loaded from it) is garbage collected, or on :meth:`remove`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(path), ignore_errors=True)

    def remove(self) -> None:
        self._finalizer()


# ====================================================================== the cluster


class Cluster:
    """A real Paxos cluster on this host: one operating-system process per role instance.

    Processes start when the cluster is created (like :class:`subprocess.Popen`); use it
    as a context manager, or call :meth:`stop` yourself.

    Args:
        acceptors, proposers, learners, clients: how many of each to start, with ids
            1, 2, ...
        loss: probability that a process drops a datagram it receives. For ``loss``,
            ``timeout``, ``mode``, ``batch``, ``window``, ``secret``, None means the default
            of :data:`paxos_edu.config.SETTINGS`; each value is checked there.
        timeout: retry timeout of proposers and clients, seconds (default 0.1).
        seed: seed of the processes' random generators (loss, backoff); None: random.
        log_dir: run directory; None uses a temporary one, removed when both the
            cluster and any :class:`Run` loaded from it are garbage collected (or on
            :meth:`cleanup`). An existing directory must not hold files of another run
            unless ``overwrite``.
        trace: ``"values"`` (default) or ``"messages"`` to log every datagram (small runs).
        mode, batch, window, secret: protocol settings (see :data:`paxos_edu.config.SETTINGS`).
        bugs: deliberate mistakes to switch on, e.g. ``["forget-promise"]``.
        acceptor_count: acceptors the quorum counts (default: ``acceptors``); e.g.
            ``acceptors=1, acceptor_count=3`` runs one of three acceptors: no quorum.
        launcher: ``"fork"`` (default, fast: see the module docstring) or ``"spawn"``
            (each process runs ``python -m paxos_edu``).
        overwrite: delete the run files already in ``log_dir``.
        storage: acceptors keep their promises and votes on disk (the ``storage``
            setting): True for ``<run directory>/storage``, or a directory; then
            :meth:`restart` brings a killed acceptor back with its memory.

    Attributes:
        path: the run directory. config: the :class:`~paxos_edu.config.Config` written
        to ``path / "paxos.conf"``. startup_s: seconds from creation to all processes ready.
    """

    def __init__(
        self,
        acceptors: int = 3,
        proposers: int = 2,
        learners: int = 2,
        clients: int = 2,
        loss: Optional[float] = None,
        timeout: Optional[float] = None,
        seed: Optional[int] = None,
        log_dir: str | os.PathLike[str] | None = None,
        trace: str = "values",
        mode: Optional[str] = None,
        batch: Optional[int] = None,
        window: Optional[int] = None,
        secret: Optional[str] = None,
        bugs: Iterable[str] | str | None = None,
        *,
        acceptor_count: Optional[int] = None,
        launcher: str = "fork",
        overwrite: bool = False,
        storage: bool | str | os.PathLike[str] | None = None,
    ) -> None:
        started = time.perf_counter()
        counts = {"acceptor": acceptors, "proposer": proposers, "learner": learners,
                  "client": clients}
        for role, n in counts.items():
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 64:
                raise UsageError(f"{role}s must be an integer 0..64, not {n!r}")
        if trace not in ("values", "messages"):
            raise UsageError(f"trace must be 'values' or 'messages', not {trace!r}")
        if launcher not in LAUNCHERS:
            raise UsageError(f"launcher must be one of {', '.join(LAUNCHERS)}, not {launcher!r}")
        if launcher == "fork":
            prestart()  # the fork server imports while we prepare
        self.launcher = launcher
        self.trace = trace
        self._bugs = _bug_names(bugs)
        given = {"loss": loss, "timeout": timeout, "seed": seed, "mode": mode, "batch": batch,
                 "window": window, "secret": secret,
                 "acceptor_count": acceptor_count if acceptor_count is not None
                 else max(acceptors, 1)}
        # Checked against config.SETTINGS like a config file (None: the default).
        settings = settings_from("Cluster", **{k: v for k, v in given.items() if v is not None})
        if acceptors > settings.acceptor_count:
            raise UsageError(f"Cluster: {acceptors} acceptors but acceptor_count "
                             f"{settings.acceptor_count}: acceptors above it may not vote "
                             "(the quorum would be wrong); raise acceptor_count")
        self.config = Config(free_multicast_addresses(), **settings.settings())
        self._procs: list[ClusterProcess] = []  # every life of every process, in start order
        self._finalizer = weakref.finalize(self, kill_all, self._procs)
        self._stopped = False
        self._run: Optional[Run] = None
        if log_dir is None:
            self.path = Path(tempfile.mkdtemp(prefix="paxos_edu-run-"))
            self._dir: Optional[_RunDir] = _RunDir(self.path)
        else:
            self.path = Path(log_dir).resolve()
            _prepare_dir(self.path, overwrite)
            self._dir = None
        if storage is not None and storage is not False:
            where = self.path / "storage" if storage is True else Path(storage).resolve()
            self.config = self.config.replace(storage=str(where))
        self.config_path = self.path / CONFIG_NAME
        self.config_path.write_text(self.config.to_text())
        try:
            first = [(r, i) for r in ("acceptor", "learner") for i in range(1, counts[r] + 1)]
            then = [(r, i) for r in ("proposer", "client") for i in range(1, counts[r] + 1)]
            self._await_ready([self._launch(r, i) for r, i in first])
            self._await_ready([self._launch(r, i) for r, i in then])
        except BaseException:
            self._finalizer()
            raise
        self.startup_s = time.perf_counter() - started

    # ------------------------------------------------------------------ processes

    def _launch(self, role: str, id: int, fresh: bool = True) -> ClusterProcess:
        argv = [role, str(id), str(self.config_path), "--log-dir", str(self.path),
                "--trace", self.trace]
        if role == "acceptor" and fresh and self.config.storage is None:
            argv.append("--fresh")  # the bench knows this id never ran (see start/restart)
        if self._bugs:
            argv += ["--bugs", ",".join(self._bugs)]
        stderr_path = self.path / f"{role}{id}.stderr"
        log_before = file_mark(self.path / f"{role}{id}.jsonl")  # readiness: it changes
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
            child = spawn(argv, stdin=stdin, stdout=null, stderr=err, cwd=self.path,
                          launcher=self.launcher)
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
        self._procs.append(proc)
        return proc

    def _await_ready(self, procs: list[ClusterProcess], timeout: float = READY_TIMEOUT) -> None:
        """Until each process wrote its ``start`` record (it has joined its groups)."""
        waiting = list(procs)
        deadline = time.monotonic() + timeout
        while waiting:
            for proc in list(waiting):
                # The start record was written: the log is a new file (an earlier life's
                # was renamed) or grew (a client appends its new session).
                mark = file_mark(self.path / f"{proc.name}.jsonl")
                if mark[1] > 0 and (mark[0] != proc.log_before[0] or mark[1] > proc.log_before[1]):
                    waiting.remove(proc)
                    continue
                if not proc.alive:
                    raise self._failure(proc, "exited while starting")
            if waiting and time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                raise ProcessFailed(f"not ready after {timeout:g} s: {names}")
            if waiting:
                time.sleep(_POLL)

    def _failure(self, proc: ClusterProcess, what: str) -> ProcessFailed:
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

    def _current(self, role: str, id: int) -> Optional[ClusterProcess]:
        for proc in reversed(self._procs):
            if proc.role == role and proc.id == id:
                return proc
        return None

    def _get(self, role: str, id: int) -> ClusterProcess:
        check_role(role)
        proc = self._current(role, id)
        if proc is None:
            ids = sorted({p.id for p in self._procs if p.role == role})
            raise UsageError(f"no {role} {id} in this cluster ({role} ids: {ids or 'none'})")
        return proc

    def _check_running(self) -> None:
        if self._stopped:
            raise UsageError("the cluster is stopped; create a new Cluster")

    def _unexpected_exits(self) -> list[ClusterProcess]:
        """Current processes that exited although nobody stopped or killed them (a client
        whose stdin was closed may exit 0: that is its normal end)."""
        out = []
        for proc in self._procs:
            if proc is not self._current(proc.role, proc.id) or proc.state != "running":
                continue
            code = proc.poll()
            if code is None:
                continue
            if proc.role == "client" and code == 0 and proc.stdin is None:
                proc.state = "exited"
                continue
            out.append(proc)
        return out

    def _raise_unexpected(self) -> None:
        failed = self._unexpected_exits()
        if failed:
            for proc in failed:
                proc.state = "exited"
            errors = [self._failure(p, "exited unexpectedly") for p in failed]
            message = "\n".join(map(str, errors))
            conflicts = [e for e in errors if isinstance(e, IdentityConflict)]
            if conflicts:
                raise IdentityConflict(message, conflicts[0].process)
            raise ProcessFailed(message)

    # ------------------------------------------------------------------ feeding values

    def submit(self, client_id: int, values: Iterable[str | int] | str) -> int:
        """Have client ``client_id`` submit ``values`` (a string is one value).

        Values are text, one line each, non-blank, at most the codec's value size
        (16 KiB of UTF-8); integers are written in decimal. Nothing is sent when one is
        invalid. Never blocks: what the client's stdin pipe does not take yet is kept and
        pushed by later calls (:meth:`wait` keeps pushing).

        Returns:
            The number of values submitted.

        Raises:
            UsageError: unknown client, a client that was stopped or killed or whose
                stdin was closed, or an invalid value (naming its position).
        """
        self._check_running()
        proc = self._get("client", client_id)
        if proc.stdin is None or proc.state != "running":
            raise UsageError(f"client {client_id} takes no more values (it is {proc.state}"
                             f"{', stdin closed' if proc.stdin is None else ''})")
        if isinstance(values, (str, int)):
            values = [values]
        lines = []
        for i, value in enumerate(values):
            lines.append(check_value(value, i))
        if not lines:
            return 0
        self._raise_unexpected()
        proc.pending += ("\n".join(lines) + "\n").encode("utf-8")
        proc.submitted += len(lines)
        proc.push()
        return len(lines)

    def close_clients(self, timeout: float = 5.0) -> None:
        """Close every client's stdin, after pushing what is still buffered (up to
        ``timeout`` s); each client then exits 0 once all its values are decided."""
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            while proc.pending and proc.stdin is not None and proc.alive:
                proc.push()
                if time.monotonic() > deadline:
                    break
                if proc.pending:
                    time.sleep(_POLL)
            proc.close_stdin()

    def _push_all(self) -> None:
        for proc in self._procs:
            if proc.pending:
                proc.push()

    # ------------------------------------------------------------------ waiting

    def _live(self, role: str) -> list[ClusterProcess]:
        return [p for p in self._procs if p.role == role and p is self._current(role, p.id)
                and p.state in ("running", "paused") and p.alive]

    def _targets(self) -> dict[int, int]:
        """Values each learner must deliver, per client: everything submitted through a
        client that was not killed (a killed client's values may be lost with it)."""
        out: dict[int, int] = {}
        for proc in self._procs:
            if proc.role == "client" and proc.state != "killed":
                out[proc.id] = out.get(proc.id, 0) + proc.submitted
        return out

    def _deliveries(self) -> dict[int, LearnerProgress]:
        cache: dict[int, LearnerProgress] = self.__dict__.setdefault("_delivery_cache", {})
        for proc in self._live("learner"):
            d = cache.get(proc.id)
            if d is None:
                d = cache[proc.id] = LearnerProgress(self.path / f"{proc.name}.jsonl")
            d.update()
        return {p.id: cache[p.id] for p in self._live("learner")}

    def ids(self, role: str) -> list[int]:
        """Ids of the ``role`` processes running (or paused) now, in start order."""
        check_role(role)
        return [p.id for p in self._live(role)]

    def progress(self) -> dict[int, tuple[int, int]]:
        """``{learner id: (values delivered that count, values expected)}`` for each
        live learner."""
        targets = self._targets()
        expected = sum(targets.values())
        return {
            lid: (sum(min(d.by_client.get(c, 0), n) for c, n in targets.items()), expected)
            for lid, d in self._deliveries().items()
        }

    def wait(self, timeout: float = 30.0, progress: bool = False) -> float:
        """Block until every live learner delivered every submitted value.

        Args:
            timeout: seconds before giving up.
            progress: show a progress bar (``tqdm.auto``: a widget in a notebook, text in
                a terminal) counting values delivered by the live learners.

        Returns:
            Seconds waited.

        Raises:
            ClusterTimeout: (a :class:`TimeoutError`) naming each learner that is behind,
                by how many values of which client, and which roles are down.
            ProcessFailed: a process exited on its own (its stderr is in the message).

        A KeyboardInterrupt (a notebook's "interrupt kernel") stops the cluster -- its
        logs stay readable in :attr:`run` -- and propagates.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise UsageError(f"wait(timeout={timeout!r}): give a number of seconds >= 0")
        self._check_running()
        started = time.monotonic()
        deadline = started + timeout
        bar = None
        try:
            while True:
                self._push_all()
                state = self.progress()
                self._raise_unexpected()  # after progress(): a learner found dead there
                done = sum(d for d, _ in state.values())
                total = sum(e for _, e in state.values())
                if progress and bar is None:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=total, desc="values learned", unit="value", leave=True)
                if bar is not None:
                    bar.total = total
                    bar.update(done - bar.n)
                if done >= total:
                    return time.monotonic() - started
                if time.monotonic() >= deadline:
                    raise ClusterTimeout(self._behind(timeout))
                time.sleep(_POLL)
        except KeyboardInterrupt:
            self.stop(timeout=1.0)
            raise
        finally:
            if bar is not None:
                bar.close()

    def _behind(self, timeout: float) -> str:
        targets = self._targets()
        expected = sum(targets.values())
        lines = [f"wait(timeout={timeout:g}): not every value learned after {timeout:g} s"]
        for lid, d in self._deliveries().items():
            missing = {c: n - d.by_client.get(c, 0) for c, n in targets.items()
                       if d.by_client.get(c, 0) < n}
            if missing:
                got = expected - sum(missing.values())
                paused = " (paused)" if self._current("learner", lid).state == "paused" else ""
                per = ", ".join(f"client {c}: {n}" for c, n in sorted(missing.items()))
                lines.append(f"  learner {lid}{paused} has {got} of {expected} values, "
                             f"{sum(missing.values())} behind ({per})")
        up = {r: len([p for p in self._live(r) if p.state == "running"]) for r in START_ORDER}
        quorum = self.config.quorum
        summary = (f"  running: {up['acceptor']} acceptors (a quorum is {quorum} of "
                   f"{self.config.acceptor_count}), {up['proposer']} proposers, "
                   f"{up['learner']} learners, {up['client']} clients")
        lines.append(summary)
        if up["acceptor"] < quorum:
            lines.append("  no quorum of acceptors is running: nothing more can be decided")
        if up["proposer"] == 0:
            lines.append("  no proposer is running: nothing more can be decided")
        return "\n".join(lines)

    # ------------------------------------------------------------------ breaking things

    def kill(self, role: str, id: int) -> None:
        """Crash-stop ``role`` ``id`` with SIGKILL (no flush, no ``stop`` record)."""
        self._check_running()
        proc = self._get(role, id)
        if not proc.alive:
            raise UsageError(f"{role} {id} is not running ({proc.state})")
        proc.close_stdin()
        proc.signal(signal.SIGKILL)
        proc.state = "killed"
        proc.wait(2.0)

    def pause(self, role: str, id: int) -> None:
        """Freeze ``role`` ``id`` (SIGSTOP): it neither sends nor receives until resumed;
        datagrams sent to it meanwhile pile up in (and may overflow) its socket buffers."""
        self._check_running()
        proc = self._get(role, id)
        if proc.state != "running" or not proc.alive:
            raise UsageError(f"{role} {id} is not running ({proc.state})")
        proc.signal(signal.SIGSTOP)
        proc.state = "paused"

    def resume(self, role: str, id: int) -> None:
        """Let a paused process go on (SIGCONT)."""
        self._check_running()
        proc = self._get(role, id)
        if proc.state != "paused":
            raise UsageError(f"{role} {id} is not paused ({proc.state})")
        proc.signal(signal.SIGCONT)
        proc.state = "running"

    def start(self, role: str, id: int) -> None:
        """Start a new process ``role`` ``id`` that joins the running cluster; a learner
        catches up from the first value on.

        A learner may also be started again under the id of a dead one (its logs begin a
        new life). Acceptors, proposers and clients may not: an acceptor without storage
        would have forgotten its promises, and a client would reuse its old file. A
        proposer is refused here too, to keep its run directory one life per id -- not for
        safety: a proposer restart needs only rounds it never used before, which
        :meth:`restart` gives it (a new incarnation in its rounds; unique with high
        probability, see :mod:`paxos_edu.rounds`). Give the newcomer a fresh id instead
        (an acceptor id must stay within ``acceptor_count``, which fixes the quorum), or use
        :meth:`restart`.
        """
        self._check_running()
        check_role(role)
        if isinstance(id, bool) or not isinstance(id, int) or not 0 <= id <= 65535:
            raise UsageError(f"id must be an integer 0..65535, not {id!r}")
        old = self._current(role, id)
        if old is not None and old.alive and old.state in ("running", "paused"):
            raise UsageError(f"{role} {id} is already running")
        if old is not None and role != "learner":
            why = {"acceptor": "it would forget its promises (unsafe)",
                   "proposer": "start() keeps one life per proposer id (restart() gives it "
                               "a new incarnation, hence new rounds)",
                   "client": "the lab bench feeds one stdin per client id"}[role]
            raise UsageError(f"{role} {id} already ran in this cluster: restarting it, {why}; "
                             "use a new id")
        if role == "acceptor" and id > self.config.acceptor_count:
            raise UsageError(f"acceptor {id} is beyond acceptor_count "
                             f"{self.config.acceptor_count} (the quorum would be wrong)")
        if old is not None:
            self.__dict__.get("_delivery_cache", {}).pop(id, None)
        self._await_ready([self._launch(role, id)])

    def restart(self, role: str, id: int) -> None:
        """Kill ``role`` ``id`` (SIGKILL, if it still runs) and start it again, same id.

        An acceptor comes back with what it made durable -- only with ``storage``: without
        it, it would have forgotten its promises, which is refused unless the bug
        ``restart-without-storage`` is on (then it restarts empty, claiming ``--fresh``).
        A proposer comes back as a new incarnation (new rounds), a learner catches up
        from the first value on. Clients are not restarted (one stdin per client id).
        """
        self._check_running()
        check_role(role)
        if role == "client":
            raise UsageError("clients are not restarted: the lab bench feeds one stdin per "
                             "client id; start a client with a new id instead")
        old = self._current(role, id)
        if old is None:
            raise UsageError(f"no {role} {id} in this cluster to restart")
        amnesia = "restart-without-storage" in self._bugs
        if role == "acceptor" and self.config.storage is None and not amnesia:
            raise UsageError(f"acceptor {id} has no storage: restarted it would have forgotten "
                             "its promises and votes (unsafe); use Cluster(storage=True), or "
                             "the bug 'restart-without-storage' to see what goes wrong")
        if old.alive and old.state in ("running", "paused"):
            self.kill(role, id)
        if role == "learner":
            self.__dict__.get("_delivery_cache", {}).pop(id, None)
        self._await_ready([self._launch(role, id, fresh=amnesia)])

    # ------------------------------------------------------------------ stopping

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every process: SIGTERM (each flushes its logs and writes counters), then
        SIGKILL for any still running after ``timeout`` s. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        live = [p for p in self._procs if p.alive]
        for proc in self._procs:
            proc.close_stdin()
        for proc in live:
            proc.signal(signal.SIGTERM)
            if proc.state == "paused":
                proc.signal(signal.SIGCONT)
        deadline = time.monotonic() + timeout
        for proc in live:
            proc.wait(max(deadline - time.monotonic(), 0.0))
            if proc.state in ("running", "paused"):
                proc.state = "stopped"
        for proc in live:
            if proc.alive:
                proc.signal(signal.SIGKILL)
                proc.wait(1.0)
        self._finalizer()

    def cleanup(self) -> None:
        """Stop and delete the temporary run directory now (a :class:`Run` loaded from it
        keeps its tables, but :attr:`Run.events` can no longer be read)."""
        self.stop()
        if self._dir is not None:
            self._dir.remove()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ results

    @property
    def run(self) -> Run:
        """The run as pandas tables (:func:`~paxos_edu.runlog.load_run` of :attr:`path`).

        Reading it stops the cluster first, so that every log is flushed and complete.
        It stays readable after the ``with`` block; a temporary directory lives as long
        as the returned :class:`Run` does.
        """
        if self._run is None:
            from .runlog import load_run

            self.stop()
            run = load_run(self.path)
            if self._dir is not None:  # a temporary directory lives as long as the Run too
                weakref.finalize(run, keep, self._dir)
            self._run = run
        return self._run

    @property
    def processes(self) -> pd.DataFrame:
        """One row per process life: ``role``, ``id``, ``pid``, ``alive``, ``state``
        (running / paused / killed / stopped / exited), ``returncode``, ``rss_mb``."""
        import pandas as pd
        import psutil

        rows = []
        for proc in self._procs:
            alive = proc.alive
            rss = float("nan")
            if alive:
                try:
                    rss = psutil.Process(proc.pid).memory_info().rss / 2**20
                except psutil.Error:
                    pass
            state = proc.state if alive or proc.state != "running" else "exited"
            rows.append((proc.role, proc.id, proc.pid, alive, state, proc.returncode, rss))
        return pd.DataFrame(rows, columns=["role", "id", "pid", "alive", "state",
                                           "returncode", "rss_mb"])

    @property
    def pids(self) -> list[int]:
        """PIDs of every process this cluster started (dead ones included)."""
        return [p.pid for p in self._procs]

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        counts = ", ".join(f"{len(self._live(r))} {r}s" for r in START_ORDER)
        submitted = sum(self._targets().values())
        return f"<Cluster {state} at {str(self.path)!r}: {counts}; {submitted} values submitted>"


# ====================================================================== helpers


def _bug_names(bugs: Iterable[str] | str | None) -> list[str]:
    from .bugs import parse_bugs

    if not bugs:
        return []
    try:
        return sorted(b.value for b in parse_bugs(bugs))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _prepare_dir(path: Path, overwrite: bool) -> None:
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


__all__ = ["CONFIG_NAME", "Cluster", "ClusterTimeout", "ProcessFailed", "prestart"]
