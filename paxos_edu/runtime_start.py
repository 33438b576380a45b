"""Starting a real process: everything :meth:`RuntimeStart._open` sets up before the loop's
first turn, in this order.

1. **Storage or the amnesia guard** (acceptors). With the ``storage`` setting the
   acceptor's stable storage is opened and its state recovered (:mod:`paxos_edu.storage`).
   Without it, an acceptor that ran before on this machine (a marker,
   :func:`~paxos_edu.storage.ran_before`; not ``--fresh``) may have forgotten promises: it
   listens :data:`LISTEN_TIMEOUTS` timeouts before it votes, on the learners group too, to
   hear a cluster under way (see :mod:`paxos_edu.roles.acceptor`);
   :meth:`RuntimeStart._stop_listening` leaves that group once the role says it is over.
   A proposer that ran before (the same marker) is told so: in classic mode its first
   take-over prepares every instance, the only way it learns how far the history goes.
2. **A client's session** (:meth:`RuntimeStart._take_session`): with a log directory it
   locks its log and resumes the interrupted session recorded there, unless
   ``new_session`` (:mod:`paxos_edu.client_resume`); otherwise the fresh one drawn by
   :func:`new_session`.
3. **The role** (:func:`~paxos_edu.roles.factory.make_role`, its generator from
   :func:`role_rng`), restored from storage, with an archive for old votes / decided
   values (bounded memory).
4. **Sockets and the selector**: the role's groups joined (:mod:`paxos_edu.transport`),
   the wake-up socket, a client's stdin (:mod:`paxos_edu.client_input`), a learner's
   piped stdout.
5. **The event log** and its ``start`` record, written once the groups are joined (what
   the lab bench reads as "ready"). A log directory whose ``prop<id>`` / ``learn<id>`` is
   the process's own stdin or stdout is refused first (:meth:`RuntimeStart._check_log_dir`):
   opening the log would truncate it.

:class:`RuntimeStart` is a mixin of :class:`~paxos_edu.runtime.Runtime`: it relies on the
attributes ``Runtime.__init__`` sets (listed on the class), ``_apply``, ``_complain`` and
``_watch_output``. Siblings: :mod:`paxos_edu.runtime` (the class and its loop),
:mod:`paxos_edu.runtime_receive` (the receive path, identity), :mod:`paxos_edu.runtime_send`
(effects, sending, group commit), :mod:`paxos_edu.runtime_output` (stdout, stderr),
:mod:`paxos_edu.runtime_counters` (counters), :mod:`paxos_edu.runtime_stop` (signals, the
end of a process).
"""

from __future__ import annotations

import os
import random
import selectors
import socket
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Optional

from .archive import InstanceArchive
from .bugs import Bug
from .client_input import ClientInput
from .client_resume import Resumed, lock_log, read_history, repair_prop
from .config import SETTINGS
from .errors import UsageError
from .eventlog import EventLog, run_directory
from .messages import Group
from .processes import LISTENS
from .roles.factory import make_role
from .runtime_output import fileno_of
from .runtime_stop import WAKEUP_KEY
from .storage import AcceptorStorage, mark_ran, ran_before
from .transport import Transport

if TYPE_CHECKING:
    from .config import Config

__all__ = ["LISTEN_TIMEOUTS", "RuntimeStart", "new_session", "role_rng"]

LISTEN_TIMEOUTS = 3
"""An acceptor without storage (and not ``--fresh``) listens this many timeouts before
it votes: a live leader heartbeats every half timeout (see roles/acceptor.py)."""


def role_rng(seed: Optional[int], role: str, id: int, purpose: str = "role") -> random.Random:
    """A generator private to one process: seeded from ``seed``, role and id when the config
    has a ``seed`` (a run can be replayed), else from the operating system."""
    if seed is None:
        return random.Random(os.urandom(16))
    return random.Random(f"paxos_edu/{seed}/{role}/{id}/{purpose}")


def new_session() -> int:
    """A new client session number: 32 random bits from the OS, even with a ``seed`` -- a
    new session must never reuse one of an earlier life (a *resumed* session does, on
    purpose and knowing what it submitted: see :mod:`paxos_edu.client_resume`)."""
    return int.from_bytes(os.urandom(4), "big")


class RuntimeStart:
    """:meth:`_open` and what it calls; :meth:`_stop_listening`."""

    role_name: str
    id: int
    config: Config
    log_dir: Optional[Path]
    trace: str
    bugs: frozenset[Bug]
    fresh: bool
    new_session: bool
    session: Optional[int]
    resumed: Optional[Resumed]
    incarnation: int
    role: Any
    storage: Optional[AcceptorStorage]
    transport: Optional[Transport]
    log: Optional[EventLog]
    input: Optional[ClientInput]
    _held: Optional[list[tuple[Group, bytes, Any, int]]]
    _listening: list[socket.socket]
    _selector: Optional[selectors.BaseSelector]
    _wake_r: Optional[socket.socket]
    _log_lock: Optional[int]
    _stdin_fd: Optional[int]
    _stdout: Optional[IO[bytes]]
    _started_at: float

    def _open(self) -> None:
        """Storage, session, role, sockets, stdin / stdout, event log (module docstring)."""
        cfg = self.config
        now = time.monotonic()
        self._started_at = now
        if self.role_name == "acceptor" and cfg.storage is not None:
            self.storage = AcceptorStorage(cfg.storage, self.id)  # StorageError: exit 1
            self._held = []
        listen_until = None
        if self.role_name == "acceptor" and cfg.storage is None:
            group = cfg.address(Group.ACCEPTORS)
            if not self.fresh and ran_before(group, self.id):  # a first start forgot nothing
                listen_until = now + LISTEN_TIMEOUTS * cfg.timeout
            mark_ran(group, self.id)
        restarted = False
        if self.role_name == "proposer":  # classic mode: its first phase 1 covers everything
            group = cfg.address(Group.PROPOSERS)
            restarted = ran_before(group, self.id, "proposer")
            mark_ran(group, self.id, "proposer")
        if self.role_name == "client" and self.log_dir is not None:
            self._take_session()
        # A client's incarnation is its session; a proposer puts its own in its rounds.
        life = self.session if self.session is not None else self.incarnation
        self.role = make_role(
            self.role_name, self.id, cfg, rng=role_rng(cfg.seed, self.role_name, self.id),
            incarnation=life, bugs=self.bugs, now=now, durable=self.storage is not None,
            listen_until=listen_until, restarted=restarted,
        )
        if self.storage is not None and Bug.RESTART_WITHOUT_STORAGE not in self.bugs:
            self.role.restore(self.storage.recovery.entries)
        if self.storage is not None:
            self.storage.release_recovery()  # replayed: the list would stay in RAM for good
        # Bounded memory: old votes and decided values live in an anonymous file.
        if self.role_name == "acceptor":
            self.role.use_archive(InstanceArchive())
        elif self.role_name == "proposer":
            self.role.use_history(InstanceArchive())
        groups = LISTENS[self.role_name]
        listening = self.role_name == "acceptor" and self.role.listening
        if listening:
            groups += (Group.LEARNERS,)  # to hear votes, decisions, heartbeats under way
        self.transport = Transport(cfg.addresses, groups, interface=cfg.interface, ttl=cfg.ttl)
        sel = self._selector = selectors.DefaultSelector()
        assert self._wake_r is not None
        sel.register(self._wake_r, selectors.EVENT_READ, WAKEUP_KEY)
        for sock, served in self.transport.channels():
            sel.register(sock, selectors.EVENT_READ, served)
            if listening and served == (Group.LEARNERS,):
                self._listening.append(sock)
        if self.role_name == "client":
            self.input = ClientInput(self._stdin_fd, self.role, apply=self._apply,
                                     complain=self._complain, selector=sel,
                                     resumed=self.resumed)
            self.input.start()  # without stdin the client is done at once
        if self.role_name == "learner" and self._stdout is None:
            self._stdout = sys.stdout.buffer if sys.stdout is not None else None
        if self.role_name == "learner":
            self._watch_output(sel)
        if self.log_dir is not None:
            if self.role_name != "client":  # a client checked it before taking its session
                self._check_log_dir()
            self.log = EventLog(self.log_dir, self.role_name, self.id, trace=self.trace)
            fields: dict[str, Any] = {
                "settings": {name: getattr(cfg, name) for name in SETTINGS if name != "secret"},
                "config": cfg.path,
                "groups": [g.role for g in LISTENS[self.role_name]],
                "bugs": sorted(b.value for b in self.bugs),
                "rcvbuf": self.transport.rcvbuf_obtained,
                "incarnation": self.incarnation,
            }
            if self.session is not None:
                fields["session"] = self.session
            if self.resumed is not None:
                fields["resumed"] = self.resumed.submitted
            if self.storage is not None:
                rec = self.storage.recovery
                fields["storage"] = {"dir": str(self.storage.dir),
                                     "recovered": self.storage.recovered_entries,
                                     "torn_bytes_cut": rec.cut_bytes}
            self.log.start(**fields)  # written once the groups are joined: "ready"
            if self.input is not None:
                self.input.log = self.log

    def _take_session(self) -> None:
        """A client with a log directory: lock its log, then resume the interrupted
        session it records (unless ``new_session``) and complete ``prop<id>``."""
        assert self.log_dir is not None
        self._check_log_dir()
        run_directory(self.log_dir)
        self._log_lock = lock_log(self.log_dir, self.id)  # UsageError: a live twin, exit 2
        history = read_history(self.log_dir, self.id)
        if history is None:
            return
        repair_prop(self.log_dir, self.id, history)
        if history.resumable and not self.new_session:
            self.session = history.session
            self.resumed = Resumed(history)

    def _check_log_dir(self) -> None:
        """Refuse a log directory whose ``prop<id>``/``learn<id>`` is this process's own
        stdin or stdout: opening the log truncates that file (``client.sh 1 c < prop1``
        with the log in the same directory would erase the values before reading them)."""
        assert self.log_dir is not None
        name = {"client": f"prop{self.id}", "learner": f"learn{self.id}"}.get(self.role_name)
        if name is None:
            return
        fd = self._stdin_fd if self.role_name == "client" else fileno_of(self._stdout)
        if fd is None:
            return
        try:
            ours, logged = os.fstat(fd), os.stat(self.log_dir / name)
        except (OSError, ValueError):
            return  # no such file yet, or no real descriptor: nothing to overwrite
        if (ours.st_dev, ours.st_ino) == (logged.st_dev, logged.st_ino):
            stream = "stdin" if self.role_name == "client" else "stdout"
            raise UsageError(f"the log directory {self.log_dir} would overwrite {name}, which is "
                             f"this {self.role_name}'s {stream}; use another log directory")

    def _stop_listening(self) -> None:
        """The acceptor's listening time is over: leave the learners group's socket."""
        for sock in self._listening:
            try:
                self._selector.unregister(sock)  # type: ignore[union-attr]
            except (KeyError, ValueError):
                pass
            sock.close()
        self._listening = []
