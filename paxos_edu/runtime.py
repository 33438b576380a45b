"""The real-process driver: one operating-system process runs one Paxos role over IP multicast.

The roles (:mod:`paxos_edu.roles`) are sans-I/O state machines; this module is the I/O
around one of them -- the same objects the simulator drives, with real sockets, the real
clock and real (or injected) loss.

Theory of operation
-------------------
A :class:`Runtime` is a single-threaded :mod:`selectors` loop. Each turn of the loop:

1. **Wait.** ``select`` blocks until a socket or stdin is readable, a signal arrives, or
   the role's deadline comes.
2. **Receive.** Each readable socket is drained, up to :data:`RECV_BATCH` datagrams per
   wake-up. Every datagram goes through *loss injection* (setting ``loss p``: dropped with
   probability ``p`` from a per-process seeded generator), the codec (a datagram that does
   not decode is counted by reason and dropped -- remote input never crashes a process)
   and ``role.handle(msg, now)``; the effects are carried out at once: ``Send`` is encoded
   and multicast, ``Deliver`` goes to the learner's output, ``Note`` to the event log.
3. **Timers.** It asks the role once for its ``deadline()``; if that time has come it
   calls ``tick(now)`` and carries out the effects (retries, heartbeats, catch-up).
   Timers come *after* the datagrams on purpose: after a stall (a busy machine) the role
   first sees the heartbeats and votes waiting in its sockets, so a follower does not
   take over from a leader that is alive.
4. **Output.** What this turn produced -- a learner's values on stdout, the event log's
   lines -- is written in one ``write`` per file and flushed. A learner's stdout is
   therefore flushed at least once per delivered batch, never once per value.

The hot path does no per-datagram logging unless the trace level is ``"messages"``;
counters are list slots indexed by the kind byte of the datagram.

A client also reads its values from stdin inside the same loop, one per line
(:mod:`paxos_edu.client_input`: stdin is registered with the selector, or read a chunk per
turn when it is a regular file). The client exits 0 once stdin has ended and every value
it submitted is acknowledged by a proposer as decided -- re-submitting after each timeout
until then.

A client's session: with a log directory, a client that finds its own *interrupted*
session in ``client<id>.jsonl`` resumes it -- same session number, its input numbered from
0 again, so nothing already decided is delivered twice (:mod:`paxos_edu.client_resume`);
it holds a lock on that log while it runs, so a second live client with the same id and
log directory exits 2 before it sends anything. Otherwise (no log, a complete session, or
``new_session``) it draws a new session.

Identity: every datagram names its sender (see :mod:`paxos_edu.identity`). The loop
multicasts a ``Hello`` to its own role's group at start and every ``timeout``; a process
that hears another live one with its own role and id either warns and keeps serving (it
is the older) or exits with status 2 and a message on stderr (it is the newcomer).
Proposers and learners drop the votes of an acceptor id heard with two incarnations at
once (``dropped`` reason ``identity``).

SIGTERM and SIGINT wake the loop through :func:`signal.set_wakeup_fd`; the process then
flushes its output, writes its counters and a ``stop`` record, and returns 0.

Where it lives: this module holds :class:`Runtime`'s state, :meth:`Runtime.run` and the
loop; the rest of its methods come from one mixin per concept, each in a sibling module --
:mod:`paxos_edu.runtime_start` (opening a process: storage or the amnesia guard, a client's
session, the role, sockets, the event log; :func:`role_rng`, :func:`new_session`),
:mod:`paxos_edu.runtime_receive` (the receive path: loss, decode, identity checks, handle),
:mod:`paxos_edu.runtime_send` (effects, sending, group commit),
:mod:`paxos_edu.runtime_output` (a learner's stdout, stderr),
:mod:`paxos_edu.runtime_counters` (the ``counters`` record) and
:mod:`paxos_edu.runtime_stop` (stop signals, the end of a process). Their public names are
re-exported here (``from paxos_edu.runtime import Runtime, role_rng, new_session``).
Mixins rather than helper objects: the hot path (receive -> handle -> send) calls methods
of the one object, as before the split -- no extra call or indirection per datagram.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from pathlib import Path
from typing import IO, Any, Optional

from .archive import ArchiveError
from .bugs import Bug
from .client_input import ClientInput
from .client_resume import Resumed
from .codec import Codec
from .config import Config
from .errors import UsageError
from .eventlog import EventLog
from .identity import TwinDetector, VoteFilter, new_incarnation, role_code
from .messages import Group
from .processes import LISTENS, check_role
from .roles.factory import check_acceptor_id
from .runtime_counters import RuntimeCounters
from .runtime_output import EXIT_OUTPUT_CLOSED, STDOUT_KEY, RuntimeOutput
from .runtime_receive import EXIT_IDENTITY_CONFLICT, RECV_BATCH, RuntimeReceive
from .runtime_send import RuntimeSend
from .runtime_start import LISTEN_TIMEOUTS, RuntimeStart, new_session, role_rng
from .runtime_stop import RuntimeStop
from .storage import AcceptorStorage, StorageError
from .transport import Transport

IDLE_TICK = 0.001
"""Wait used when a role's deadline is still in the past right after its tick."""

_draw_session = new_session  # the name new_session is also a Runtime argument


class Runtime(RuntimeStart, RuntimeReceive, RuntimeSend, RuntimeOutput,
              RuntimeCounters, RuntimeStop):
    """One role of one process, driven over multicast until stopped (or, for a client,
    until stdin ended and every value is decided).

    Args:
        role: ``"client"``, ``"proposer"``, ``"acceptor"`` or ``"learner"``.
        id: the process id within its role.
        config: groups and settings (loss, timeout, mode, ...), usually from
            :func:`paxos_edu.config.load_config` with command-line overrides applied.
        log_dir: run directory for the event log (``prop``/``learn`` files and
            ``<role><id>.jsonl``); None writes no log.
        trace: ``"values"`` or ``"messages"`` (every datagram logged; small runs only).
        bugs: deliberate mistakes to switch on (see :mod:`paxos_edu.bugs`).
        stdin: file descriptor a client reads values from (default: 0); None means none.
        stdout: binary stream a learner writes values to (default: ``sys.stdout.buffer``).
        stderr: text stream for problems with stdin lines (default: ``sys.stderr``).
        handle_signals: install SIGTERM/SIGINT handlers (main thread only).
        fresh: an acceptor without storage asserts it never ran in this cluster, so it
            votes at once; otherwise one that started before on this machine (a marker,
            :func:`paxos_edu.storage.ran_before`) listens first and refuses to vote in a
            cluster already running (see :mod:`paxos_edu.roles.acceptor`).
        new_session: a client with a log directory draws a new session even when its log
            holds an interrupted one (which it would otherwise resume).

    Storage (acceptor with the ``storage`` setting): the state is recovered at start, and
    each turn's datagrams wait until that turn's promises and votes are written and
    fsynced -- one fsync per turn (group commit, :mod:`paxos_edu.storage`); a storage
    failure ends the process with status 1 before it sends them.

    Failures: bad remote input is counted and dropped; an exception raised by the role
    itself (a broken invariant) is not caught -- the process crash-stops, which Paxos
    tolerates -- but the event log still gets its counters.
    """

    def __init__(
        self,
        role: str,
        id: int,
        config: Config,
        *,
        log_dir: str | os.PathLike[str] | None = None,
        trace: str = "values",
        bugs: frozenset[Bug] = frozenset(),
        stdin: Optional[int] = 0,
        stdout: Optional[IO[bytes]] = None,
        stderr: Optional[IO[str]] = None,
        handle_signals: bool = True,
        fresh: bool = False,
        new_session: bool = False,
    ) -> None:
        check_role(role)
        if role == "acceptor":  # before anything opens: exit 2 with the fix, no stray files
            check_acceptor_id(id, config)
        if trace not in ("values", "messages"):
            raise UsageError(f"trace must be 'values' or 'messages', not {trace!r}")
        self.role_name = role
        self.id = id
        self.config = config
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.trace = trace
        self.bugs = frozenset(b for b in bugs if b.role == role)
        self.handle_signals = handle_signals
        self._stdin_fd = stdin if role == "client" else None
        self._stdout = stdout
        self._stderr = stderr
        self.session = _draw_session() if role == "client" else None  # or resumed in _open
        self.new_session = new_session
        self.resumed: Optional[Resumed] = None
        self._log_lock: Optional[int] = None  # a client's lock on its log (client_resume)
        self._loss = config.loss
        self._loss_rng = role_rng(config.seed, role, id, "loss")
        # Who we are on the wire: every datagram names role, id, incarnation and its number.
        self.incarnation = new_incarnation()
        self.codec = Codec(config.secret, sender=(role_code(role), id, self.incarnation))
        self._seq = 0  # sequence number of the last datagram sent
        # Twins (another live process with our role and id) and votes of conflicted
        # acceptor ids: see identity.py. Hellos go to our own role's group every timeout.
        self._twins = TwinDetector(role_code(role), id, self.incarnation, config.timeout)
        self._votes = VoteFilter(4 * config.timeout) if role in ("proposer", "learner") else None
        self._hello_group = LISTENS[role][0]
        self.role: Any = None
        self.fresh = fresh
        self.storage: Optional[AcceptorStorage] = None
        self._held: Optional[list[tuple[Group, bytes, Any, int]]] = None  # until durable
        self._listening: list[socket.socket] = []  # learners-group sockets while listening
        self.transport: Optional[Transport] = None
        self.log: Optional[EventLog] = None
        self._selector: Optional[selectors.BaseSelector] = None
        self._stopping = False
        self._stop_signal: Optional[int] = None
        self._exit_status = 0
        self._wake_r: Optional[socket.socket] = None
        self._wake_w: Optional[socket.socket] = None
        self._old_handlers: dict[int, Any] = {}
        self._old_wakeup: Optional[int] = None  # set when we installed a wakeup fd
        # Counters: list slots indexed by the kind byte (cheap in the hot path).
        self._sent = [0] * 256
        self._received = [0] * 256
        self._dropped = [0] * 256
        self._decode_errors: dict[str, int] = {}
        self._notes: dict[str, int] = {}
        self._send_failed = 0
        self._encode_errors = 0
        self._delivered = 0
        # Learner output: values waiting for the next write.
        self._out: list[str] = []
        # A client's stdin (client_input.py), once the role exists.
        self.input: Optional[ClientInput] = None
        self._started_at = 0.0

    # ------------------------------------------------------------------ public

    def run(self) -> int:
        """Run until stopped; returns the process exit status (0: clean stop)."""
        try:
            self._install_signals()
            self._open()
            self._loop()
        except (StorageError, ArchiveError) as exc:  # never reply undurably / incompletely
            self._complain(f"{self.role_name} {self.id}: {exc}")
            self._exit_status = 1
        finally:
            self._finish()
        return self._exit_status

    # ------------------------------------------------------------------ the loop

    def _loop(self) -> None:
        role = self.role
        sel = self._selector
        assert sel is not None
        select = sel.select
        monotonic = time.monotonic
        receive = self._receive
        client_input = self.input  # None unless this is a client
        timeout: Optional[float] = 0.0
        while True:
            # Datagrams first, timers second (see the module docstring).
            for key, _ in select(timeout):
                data = key.data
                if data.__class__ is tuple:
                    receive(data)
                elif data is client_input:
                    client_input.read()
                elif data is STDOUT_KEY:
                    self._output_closed()
                else:
                    self._drain_wakeup()
            if self._stopping:
                break
            now = monotonic()
            due = role.deadline()
            if due is not None and due <= now:
                self._apply(role.tick(now))
                due = role.deadline()
                if due is not None and due <= now:
                    due = now + IDLE_TICK  # never spin on a deadline the tick did not move
            if self._held is not None:
                self._commit()
            if self._listening and not role.listening:
                self._stop_listening()
            hello = self._twins.next_hello
            if hello <= now:
                self._hello(0)
                self._twins.hello_sent(now)
                hello = self._twins.next_hello
            if due is None or hello < due:
                due = hello
            if client_input is not None:
                if client_input.polled:
                    client_input.read()
                if client_input.eof and role.done:
                    break
                client_input.pace()
                client_input.record_acked(now)
            self._flush_output()
            if client_input is not None and client_input.polled:
                timeout = 0.0  # more of the file to read: only look at the sockets
            else:
                timeout = None if due is None else max(due - monotonic(), 0.0)


def run_process(role: str, id: int, config: Config, **options: Any) -> int:
    """Build a :class:`Runtime` and run it (what ``python -m paxos_edu <role>`` calls)."""
    return Runtime(role, id, config, **options).run()


__all__ = [
    "EXIT_IDENTITY_CONFLICT", "EXIT_OUTPUT_CLOSED", "IDLE_TICK", "LISTEN_TIMEOUTS", "RECV_BATCH",
    "Runtime", "new_session", "role_rng", "run_process",
]
