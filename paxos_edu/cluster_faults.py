"""Breaking a :class:`~paxos_edu.cluster.Cluster` on purpose: crash, pause, late start, restart.

What the lab bench does to its processes, and what it refuses because it would be unsafe
or would muddle the run directory:

* :meth:`ClusterFaults.kill`: crash-stop (SIGKILL: no flush, no ``stop`` record).
* :meth:`ClusterFaults.pause` / :meth:`ClusterFaults.resume`: SIGSTOP / SIGCONT, a
  process that neither sends nor receives for a while.
* :meth:`ClusterFaults.start`: a new process joins the running cluster (a learner catches
  up from the first value on); acceptors, proposers and clients only under a new id.
* :meth:`ClusterFaults.restart`: kill and start again under the same id -- an acceptor
  only with storage (else it would forget its promises), a proposer as a new incarnation,
  a client fed its whole input again: it resumes its session from its log
  (:mod:`paxos_edu.client_resume`), so what it re-reads is delivered once.

:class:`ClusterFaults` is a mixin of :class:`~paxos_edu.cluster.Cluster`: it relies on the
cluster's ``path``, ``config``, ``_bugs``, ``_check_running()``, ``_get(role, id)``,
``_current(role, id)`` and ``_launch(role, id, fresh)``. Siblings: :mod:`paxos_edu.cluster`
(the lab bench), :mod:`paxos_edu.cluster_wait` (waiting, diagnostics),
:mod:`paxos_edu.cluster_launch` (starting processes), :mod:`paxos_edu.cluster_processes`.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from .client_resume import read_history
from .cluster_launch import await_ready
from .errors import UsageError
from .processes import check_role

__all__ = ["ClusterFaults"]


class ClusterFaults:
    """:meth:`kill`, :meth:`pause`, :meth:`resume`, :meth:`start` and :meth:`restart`."""

    path: Path
    config: Any  # the cluster's Config
    _bugs: list[str]

    def kill(self, role: str, id: int) -> None:
        """Crash-stop ``role`` ``id`` with SIGKILL (no flush, no ``stop`` record)."""
        self._check_running()
        proc = self._get(role, id)
        if not proc.alive:
            raise UsageError(f"{role} {id} is not running ({proc.state})")
        # SIGKILL before closing a client's stdin: an end of input seen first could let
        # it finish its session cleanly, and a restart would then draw a new one.
        proc.signal(signal.SIGKILL)
        proc.state = "killed"
        proc.wait(2.0)
        proc.close_stdin()

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
        await_ready(self.path, [self._launch(role, id)])

    def restart(self, role: str, id: int) -> None:
        """Kill ``role`` ``id`` (SIGKILL, if it still runs) and start it again, same id.

        An acceptor comes back with what it made durable -- only with ``storage``: without
        it, it would have forgotten its promises, which is refused unless the bug
        ``restart-without-storage`` is on (then it restarts empty, claiming ``--fresh``).
        A proposer comes back as a new incarnation (new rounds), a learner catches up
        from the first value on. A client is fed everything :meth:`submit` gave it, from
        the first value: it resumes its interrupted session from its log, skips what it
        knew decided and sends the rest again under the old numbers, so each value is
        delivered once (:mod:`paxos_edu.client_resume`).

        Raises:
            UsageError: an acceptor without storage; a client whose input was closed
                (:meth:`close_clients`) and that ended on its own -- its session is
                complete, a new life would start a new one and deliver its values again.
        """
        self._check_running()
        check_role(role)
        old = self._current(role, id)
        if old is None:
            raise UsageError(f"no {role} {id} in this cluster to restart")
        if role == "client":
            self._restart_client(old)
            return
        amnesia = "restart-without-storage" in self._bugs
        if role == "acceptor" and self.config.storage is None and not amnesia:
            raise UsageError(f"acceptor {id} has no storage: restarted it would have forgotten "
                             "its promises and votes (unsafe); use Cluster(storage=True), or "
                             "the bug 'restart-without-storage' to see what goes wrong")
        if old.alive and old.state in ("running", "paused"):
            self.kill(role, id)
        await_ready(self.path, [self._launch(role, id, fresh=amnesia)])

    def _restart_client(self, old: Any) -> None:
        """Kill client ``old`` if it runs, start it again and feed it its whole input."""
        if old.state != "killed" and (old.stdin is None or not old.alive):
            raise UsageError(f"client {old.id} has no session to resume: its input was closed "
                             f"({old.state}); a new life would deliver its values again -- "
                             "start a client with a new id instead")
        if old.alive:
            self.kill("client", old.id)
        history = read_history(self.path, old.id)
        if history is not None and history.complete:  # it ended before the kill landed
            raise UsageError(f"client {old.id} completed its session before it was killed; "
                             "restarted it would deliver its values again -- start a client "
                             "with a new id instead")
        new = self._launch("client", old.id, fresh=False)
        new.fed = old.fed  # one input per client id, whichever life reads it
        new.pending += old.fed
        new.submitted = old.submitted
        await_ready(self.path, [new])
        new.push()
