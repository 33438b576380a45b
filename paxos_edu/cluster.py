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

Where it lives
--------------
This module is the lab bench itself: creating a cluster, feeding values, stopping it and
reading the results. Its parts are siblings, each one idea: :mod:`paxos_edu.cluster_launch`
(the run directory, launching one process, readiness, failures),
:mod:`paxos_edu.cluster_wait` (:meth:`Cluster.wait`, :meth:`Cluster.progress` and the
:class:`ClusterTimeout` that says who is behind), :mod:`paxos_edu.cluster_faults`
(:meth:`Cluster.kill`, ``pause``, ``resume``, ``start``, ``restart``) and
:mod:`paxos_edu.cluster_processes` (what is kept per process). :class:`Cluster` inherits
the waiting and fault methods from the mixins of those modules; every public name is
re-exported here (``from paxos_edu.cluster import Cluster, ClusterTimeout, ...``).
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from .cluster_faults import ClusterFaults
from .cluster_launch import (
    CONFIG_NAME,
    POLL,
    IdentityConflict,
    RunDir,
    await_ready,
    bug_names,
    launch,
    prepare_dir,
)
from .cluster_processes import ClusterProcess, check_value, keep, kill_all
from .cluster_wait import ClusterTimeout, ClusterWaiting
from .config import Config, settings_from
from .errors import UsageError
from .launcher import LAUNCHERS, ProcessFailed, prestart
from .processes import START_ORDER, check_role
from .transport import free_multicast_addresses

if TYPE_CHECKING:  # pandas is imported only when a table is asked for
    import pandas as pd

    from .runlog import Run

__all__ = ["CONFIG_NAME", "Cluster", "ClusterTimeout", "IdentityConflict", "ProcessFailed",
           "prestart"]

STOP_TIMEOUT = 2.0
"""Seconds :meth:`Cluster.stop` waits for a clean exit before SIGKILL."""


# ====================================================================== the cluster


class Cluster(ClusterWaiting, ClusterFaults):
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
        self._bugs = bug_names(bugs)
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
            self._dir: Optional[RunDir] = RunDir(self.path)
        else:
            self.path = Path(log_dir).resolve()
            prepare_dir(self.path, overwrite)
            self._dir = None
        if storage is not None and storage is not False:
            where = self.path / "storage" if storage is True else Path(storage).resolve()
            self.config = self.config.replace(storage=str(where))
        self.config_path = self.path / CONFIG_NAME
        self.config_path.write_text(self.config.to_text())
        try:
            first = [(r, i) for r in ("acceptor", "learner") for i in range(1, counts[r] + 1)]
            then = [(r, i) for r in ("proposer", "client") for i in range(1, counts[r] + 1)]
            await_ready(self.path, [self._launch(r, i) for r, i in first])
            await_ready(self.path, [self._launch(r, i) for r, i in then])
        except BaseException:
            self._finalizer()
            raise
        self.startup_s = time.perf_counter() - started

    # ------------------------------------------------------------------ processes

    def _launch(self, role: str, id: int, fresh: bool = True) -> ClusterProcess:
        """Start ``role`` ``id`` (see :func:`~paxos_edu.cluster_launch.launch`) as a new
        life in ``_procs``. ``fresh``: the id never ran, or (the bug
        ``restart-without-storage``) restarts empty on purpose; an acceptor without
        storage is then started with ``--fresh``."""
        proc = launch(role, id, run_dir=self.path, config_path=self.config_path,
                      trace=self.trace, bugs=self._bugs, launcher=self.launcher,
                      fresh=fresh and self.config.storage is None)
        self._procs.append(proc)
        return proc

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

    def _live(self, role: str) -> list[ClusterProcess]:
        return [p for p in self._procs if p.role == role and p is self._current(role, p.id)
                and p.state in ("running", "paused") and p.alive]

    def ids(self, role: str) -> list[int]:
        """Ids of the ``role`` processes running (or paused) now, in start order."""
        check_role(role)
        return [p.id for p in self._live(role)]

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
        data = ("\n".join(lines) + "\n").encode("utf-8")
        proc.pending += data
        proc.fed += data  # what a restart feeds again (see ClusterFaults.restart)
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
                    time.sleep(POLL)
            proc.close_stdin()

    def _push_all(self) -> None:
        for proc in self._procs:
            if proc.pending:
                proc.push()

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
