"""Waiting for a :class:`~paxos_edu.cluster.Cluster`'s learners, and saying why they are behind.

:meth:`ClusterWaiting.wait` blocks until every live learner delivered every value
submitted through a client that was not killed. It reads what the learners appended to
their event logs (``learner<id>.jsonl``) since the last look
(:class:`~paxos_edu.cluster_processes.LearnerProgress`), so it never blocks a learner and
knows *whose* values are missing. When time runs out, :class:`ClusterTimeout` names each
learner that is behind, by how many values of which client, and which roles are down
(no quorum of acceptors, no proposer); a process that exited on its own is reported with
its stderr (:func:`~paxos_edu.cluster_launch.failure`) as soon as it is seen.

:class:`ClusterWaiting` is a mixin of :class:`~paxos_edu.cluster.Cluster`: it relies on the
cluster's ``path``, ``config``, ``_procs`` (every life of every process, in start order),
``_current(role, id)``, ``_live(role)``, ``_check_running()``, ``_push_all()`` and
``stop()``. Siblings: :mod:`paxos_edu.cluster` (the lab bench),
:mod:`paxos_edu.cluster_faults` (breaking things), :mod:`paxos_edu.cluster_launch`
(starting processes), :mod:`paxos_edu.cluster_processes` (what is kept per process).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .cluster_launch import POLL, IdentityConflict, failure
from .cluster_processes import ClusterProcess, LearnerProgress
from .errors import PaxosEduError, UsageError
from .launcher import ProcessFailed
from .processes import START_ORDER

__all__ = ["ClusterTimeout", "ClusterWaiting"]


class ClusterTimeout(PaxosEduError, TimeoutError):
    """:meth:`Cluster.wait` ran out of time; the message says which learner misses what."""


class ClusterWaiting:
    """:meth:`wait` and :meth:`progress` of a cluster, and the diagnostics behind them."""

    path: Path
    config: Any  # the cluster's Config
    _procs: list[ClusterProcess]

    # ------------------------------------------------------------------ processes that died

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
            errors = [failure(p, "exited unexpectedly") for p in failed]
            message = "\n".join(map(str, errors))
            conflicts = [e for e in errors if isinstance(e, IdentityConflict)]
            if conflicts:
                raise IdentityConflict(message, conflicts[0].process)
            raise ProcessFailed(message)

    # ------------------------------------------------------------------ waiting

    def _targets(self) -> dict[int, int]:
        """Values each learner must deliver, per client: everything submitted through a
        client that was not killed (a killed client's values may be lost with it)."""
        out: dict[int, int] = {}
        for proc in self._procs:
            if proc.role == "client" and proc.state != "killed":
                out[proc.id] = out.get(proc.id, 0) + proc.submitted
        return out

    def _deliveries(self) -> dict[int, LearnerProgress]:
        """``{learner id: what it delivered}`` for each live learner, read from the new
        bytes of its log. One reader per process *life*: a learner started again under its
        id gets a new reader, which reads its new log from the start."""
        cache: dict[ClusterProcess, LearnerProgress] = self.__dict__.setdefault(
            "_delivery_cache", {})
        for proc in self._live("learner"):
            d = cache.get(proc)
            if d is None:
                d = cache[proc] = LearnerProgress(self.path / f"{proc.name}.jsonl")
            d.update()
        return {p.id: cache[p] for p in self._live("learner")}

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
                time.sleep(POLL)
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

