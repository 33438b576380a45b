"""Breaking a :class:`~paxos_edu.sim.Simulation` on purpose: crash, late start, restart.

What the simulator does to its processes (the lab bench's counterpart is
:mod:`paxos_edu.cluster_faults`):

* :meth:`SimFaults.crash`: crash-stop, at once.
* :meth:`SimFaults.start`: a new process joins (a late learner, a replacement proposer).
* :meth:`SimFaults.restart`: crash and start again under the same id. An acceptor
  recovers its model disk (``storage=True``); a proposer is a new incarnation told that
  it ran before; a learner starts empty and catches up; a **client resumes its
  interrupted session**, as a real client restarted with its log directory does
  (:mod:`paxos_edu.client_resume`), unless ``new_session=True``.

A resumed client in the simulator
---------------------------------
A real client recovers from its event log what its earlier life of the session
submitted (the values, numbered 0, 1, 2, ...) and how far every value was known decided
(the last ``acked`` watermark, :meth:`~paxos_edu.roles.client.Client.decided_below`).
The simulator keeps the input in memory instead: :meth:`SimFaults.restart` carries
exactly those -- the session, the values it submitted (from
:attr:`~paxos_edu.sim.Simulation.proposed`), the watermark at the crash -- and nothing
else the dead role object knew (not which values above the watermark were acknowledged,
nor what was in flight). The new client then goes through the role-level code the real
input does (``resume`` / ``is_decided`` / ``skip`` / ``add``): values below the
watermark are skipped, the others are sent again under their old ``(session, seq)``, and
the learners deliver each once. The real log writes the watermark at most every
:data:`~paxos_edu.client_input.ACKED_EVERY` seconds, so a real client may send a few more
values again than the simulated one; either way each is delivered once. A simulated
client never ends its input, so its session is never complete: a restart always resumes.

:class:`SimFaults` is a mixin of :class:`~paxos_edu.sim.Simulation`: it relies on its
``processes``, ``proposed``, ``notes``, ``now``, ``storage``, ``bugs``, ``_at``,
``_spawn``, ``_apply`` and ``_check_role``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .bugs import Bug
from .errors import UsageError
from .timeline import recorded

if TYPE_CHECKING:
    from .roles.client import Client

__all__ = ["SimFaults"]


class SimFaults:
    """:meth:`crash`, :meth:`start` and :meth:`restart` of a simulation's processes."""

    processes: dict[tuple[str, int], Any]
    proposed: list[Any]
    notes: list[tuple[float, str, str, dict]]
    now: float
    storage: bool
    bugs: Any

    @recorded
    def crash(self, role: str, id: int, *, at: Optional[float] = None) -> None:
        """Crash a process: it stops at once (and comes back only with :meth:`restart`)."""
        self._check_role(role, id)  # type: ignore[attr-defined]

        def act() -> None:
            proc = self.processes.get((role, id))
            if proc is None:
                raise UsageError(f"no {role} {id} to crash")
            proc.alive = False
            self.notes.append((self.now, proc.name, "crash", {}))
        self._at(at, act)  # type: ignore[attr-defined]

    @recorded
    def start(self, role: str, id: int, *, at: Optional[float] = None) -> None:
        """Start a new process (e.g. a late learner, a replacement proposer)."""
        self._check_role(role, id)  # type: ignore[attr-defined]

        def act() -> None:
            proc = self._spawn(role, id)  # type: ignore[attr-defined]
            self.notes.append((self.now, proc.name, "start", {}))
        self._at(at, act)  # type: ignore[attr-defined]

    @recorded
    def restart(self, role: str, id: int, *, new_session: bool = False,
                at: Optional[float] = None) -> None:
        """Crash a process (if it runs) and start it again with the same id, now or at ``at``.

        A restarted acceptor recovers what it made durable (``storage=True``); without
        storage it would come back empty and could break agreement, so that is refused
        unless the bug ``restart-without-storage`` is switched on. A proposer or a learner
        comes back as a new incarnation that remembers nothing (see rounds.py); a proposer
        is told that it ran before (``restarted``: in classic mode its first phase 1
        prepares every instance, to learn the decided history it forgot).

        A client resumes its interrupted session, as a real one restarted with its log
        directory does: it sends again, under their old ``(session, seq)``, the values it
        submitted that were not known decided (see the module docstring). With
        ``new_session=True`` it draws a new session instead and sends nothing again (as
        ``--new-session`` does): its undecided values stay undecided.

        Raises:
            UsageError: an acceptor without storage, or ``new_session`` for another role.
        """
        self._check_role(role, id)  # type: ignore[attr-defined]
        if new_session and role != "client":
            raise UsageError(f"new_session is for clients; a {role} has no session")
        if (role == "acceptor" and not self.storage
                and Bug.RESTART_WITHOUT_STORAGE not in self.bugs):
            raise UsageError(
                f"acceptor {id} has no storage: restarted empty it forgets its promises and "
                "votes and can break agreement; use Simulation(storage=True), or switch on "
                "the bug 'restart-without-storage' to see what goes wrong")

        def act() -> None:
            old = self.processes.get((role, id))
            if old is None:
                raise UsageError(f"no {role} {id} to restart")
            old.alive = False
            proc = self._spawn(role, id, restart=True)  # type: ignore[attr-defined]
            detail: dict[str, Any] = {}
            if role == "client" and not new_session:
                detail = self._resume_client(old.obj, proc)
            self.notes.append((self.now, proc.name, "restart", detail))
        self._at(at, act)  # type: ignore[attr-defined]

    def _resume_client(self, earlier: Client, proc: Any) -> dict[str, Any]:
        """Give the new client ``proc`` the session of ``earlier`` (its dead life) and feed
        it that session's values again; returns what the restart note records."""
        client: Client = proc.obj
        session, submitted = earlier.session, earlier.next_seq
        # What the real client's log holds: the submitted values and the acked watermark.
        values = [s.value for s in self.proposed
                  if s.client == earlier.id and s.session == session]
        assert len(values) == submitted, (len(values), submitted)
        client.session = session
        client.resume(submitted, earlier.decided_below())
        resent = 0
        for value in values:  # as client_input re-reads its stdin from the first line
            if client.is_decided(client.next_seq):
                client.skip(value)
            else:
                client.add(value)
                resent += 1
        self._apply(proc, client.flush(self.now))  # type: ignore[attr-defined]
        return {"session": session, "resent": resent, "skipped": submitted - resent}
