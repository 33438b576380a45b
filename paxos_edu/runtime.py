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
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import socket
import stat
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Optional

from .archive import ArchiveError, InstanceArchive
from .bugs import Bug
from .client_input import ClientInput
from .client_resume import Resumed, lock_log, read_history, repair_prop
from .codec import Codec, peek_header
from .config import SETTINGS, Config
from .effects import Deliver, Effect, Halt, Note, Persist, Send
from .errors import DecodeError, UsageError
from .eventlog import EventLog, run_directory
from .identity import TwinDetector, VoteFilter, new_incarnation, role_code
from .messages import Group, Header, Hello, Kind
from .processes import LISTENS, check_role
from .roles.factory import check_acceptor_id, make_role
from .signals import STOP_SIGNALS, take_pending
from .storage import AcceptorStorage, StorageError, mark_ran, ran_before
from .transport import Transport

RECV_BATCH = 256
"""Most datagrams drained from one socket per wake-up, so timers and the other sockets
are served between bursts."""
IDLE_TICK = 0.001
"""Wait used when a role's deadline is still in the past right after its tick."""
LISTEN_TIMEOUTS = 3
"""An acceptor without storage (and not ``--fresh``) listens this many timeouts before
it votes: a live leader heartbeats every half timeout (see roles/acceptor.py)."""

EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE
EXIT_IDENTITY_CONFLICT = 2
"""Exit status of a process that found an older live process with its own role and id."""
_VOTES = frozenset({Kind.PHASE1B, Kind.NACK, Kind.PHASE2B})
"""Kinds whose body names the acceptor that sent it: checked by the vote filter."""
"""Exit status of a learner whose stdout reader went away (what a filter killed by SIGPIPE
shows its shell)."""

_WAKEUP = object()
_STDOUT = object()


# ---------------------------------------------------------------------- building a role


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


_draw_session = new_session  # the name new_session is also a Runtime argument


def _fileno(stream: Any) -> Optional[int]:
    try:
        return stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):  # e.g. io.BytesIO
        return None


def _kind_name(code: int) -> str:
    try:
        return Kind(code).name
    except ValueError:
        return f"kind{code}"


# ---------------------------------------------------------------------- the runtime


class Runtime:
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

    def request_stop(self) -> None:
        """Ask the loop to stop at its next turn (safe from a signal handler)."""
        self._stopping = True
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass

    def counters_dict(self) -> dict[str, Any]:
        """What this process did: datagrams by kind, drops, notes, values in and out."""
        def by_kind(slots: list[int]) -> dict[str, int]:
            return {_kind_name(k): n for k, n in enumerate(slots) if n}

        out: dict[str, Any] = {
            "sent": by_kind(self._sent),
            "received": by_kind(self._received),
            "dropped": by_kind(self._dropped),
            "decode_errors": dict(self._decode_errors),
            "notes": dict(self._notes),
            "send_failed": self._send_failed,
        }
        if self._encode_errors:
            out["encode_errors"] = self._encode_errors
        twins = self._twins.twins
        refused = self._votes.refused if self._votes is not None else 0
        if twins or refused:
            out["identity"] = {"twins": len(twins), "votes_refused": refused}
        if self.role_name == "learner":
            out["delivered"] = self._delivered
        if self.role_name in ("learner", "proposer") and self.role is not None:
            # Votes from acceptor ids outside 1..acceptor_count, ignored (see quorum.is_voter).
            ignored = {"PHASE2B": self.role.ledger.ignored_votes,
                       "PHASE1B": getattr(self.role, "ignored_promises", 0)}
            out["ignored_votes"] = {k: n for k, n in ignored.items() if n}
        if self.role_name == "client":
            out["submitted"] = self.input.submitted if self.input is not None else 0
            out["rejected_lines"] = self.input.rejected if self.input is not None else 0
            if self.resumed is not None and self.input is not None:
                out["resumed"] = {"earlier": self.resumed.submitted,
                                  "resent": self.input.resent, "skipped": self.input.skipped}
            if self.role is not None:
                out["retries"] = self.role.retries
        if self.transport is not None:
            out["transport"] = self.transport.counters.as_dict()
        if self.storage is not None:
            out["storage"] = self.storage.counters()
        if self.role_name in ("acceptor", "proposer") and self.role is not None:
            # Bounded memory: what left RAM for the archive file, what stayed.
            role = self.role
            archive = role.archive if self.role_name == "acceptor" else role.history
            in_ram = len(role.slots) if self.role_name == "acceptor" else len(role.ledger.decided)
            if archive is not None:
                out["archive"] = {"on_disk": archive.count, "in_ram": in_ram,
                                  "index_entries": archive.index_entries}
        if self._stop_signal is not None:
            out["stopped_by"] = signal.Signals(self._stop_signal).name
        out["seconds"] = round(time.monotonic() - self._started_at, 6) if self._started_at else 0
        out["cpu_seconds"] = round(time.process_time(), 6)  # includes start-up (imports)
        return out

    # ------------------------------------------------------------------ start and stop

    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)

        def on_signal(signum: int, frame: Any) -> None:
            self._stop_signal = signum
            self._stopping = True  # set_wakeup_fd already woke the selector

        for sig in STOP_SIGNALS:
            self._old_handlers[sig] = signal.signal(sig, on_signal)
        early = take_pending()  # a stop requested before these handlers existed
        if early is not None:
            on_signal(early, None)

    def _open(self) -> None:
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
        if self.role_name == "client" and self.log_dir is not None:
            self._take_session()
        # A client's incarnation is its session; a proposer puts its own in its rounds.
        life = self.session if self.session is not None else self.incarnation
        self.role = make_role(
            self.role_name, self.id, cfg, rng=role_rng(cfg.seed, self.role_name, self.id),
            incarnation=life, bugs=self.bugs, now=now, durable=self.storage is not None,
            listen_until=listen_until,
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
        sel.register(self._wake_r, selectors.EVENT_READ, _WAKEUP)
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
        fd = self._stdin_fd if self.role_name == "client" else _fileno(self._stdout)
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

    def _finish(self) -> None:
        """Flush output, write counters and ``stop``, close everything (idempotent)."""
        try:
            self._flush_output()
        except Exception:  # noqa: BLE001 -- never let a broken stdout hide the counters
            pass
        if self.input is not None and self.log is not None:
            try:
                self.input.record_acked(time.monotonic(), final=True)
            except Exception:  # noqa: BLE001 -- the counters below matter more
                pass
        if self.log is not None:
            try:
                self.log.counters(self.counters_dict())
                self.log.stop()
            finally:
                self.log.close()
        if self.storage is not None:
            self.storage.close()
        if self._log_lock is not None:
            os.close(self._log_lock)  # after the log's last line: the next life may resume
            self._log_lock = None
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self.transport is not None:
            self.transport.close()
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        self._old_handlers = {}
        if self._old_wakeup is not None:
            signal.set_wakeup_fd(self._old_wakeup)
            self._old_wakeup = None
        for sock in (self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._wake_r = self._wake_w = None

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
                elif data is _STDOUT:
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

    def _drain_wakeup(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _receive(self, groups: tuple[Group, ...]) -> None:
        """Drain one socket: loss, decode, handle, carry out effects."""
        group = groups[0]
        batch = self.transport.recv_batch(group, RECV_BATCH)  # type: ignore[union-attr]
        if not batch:
            return
        now = time.monotonic()
        handle = self.role.handle
        unpack = self.codec.unpack
        apply = self._apply
        me = self._twins
        my_role, my_id, my_incarnation = me.role, me.id, me.incarnation
        votes = self._votes
        received = self._received
        loss = self._loss
        rand = self._loss_rng.random
        log = self.log if self.log is not None and self.log.tracing else None
        for data in batch:
            if loss and rand() < loss:
                self._drop(data, group, log)
                continue
            try:
                header, msg = unpack(data)
            except DecodeError as exc:
                self._bad_datagram(data, group, exc, log)
                continue
            kind = data[3]
            received[kind] += 1
            if header[2] != my_incarnation and header[1] == my_id and header[0] == my_role:
                self._twin(header, msg, now)
            if kind == Kind.HELLO:
                continue  # the runtime's own business, never a role's
            if votes is not None and kind in _VOTES and not votes.admit(header, msg.acceptor,
                                                                         now):
                self._refused(kind, header, group, len(data), log)
                continue
            if log is not None:
                log.message("received", msg, group, len(data), sender=header.name,
                            send_seq=header[3])
            effects = handle(msg, now)
            if effects:
                apply(effects)

    def _hello(self, echo: int) -> None:
        """Multicast a Hello to our own role's group (not traced: it is no Paxos message)."""
        seq = self._seq + 1
        data = self.codec.encode(Hello(echo), seq)
        self._seq = seq
        if not self.transport.send(self._hello_group, data):  # type: ignore[union-attr]
            self._send_failed += 1
        self._sent[Kind.HELLO] += 1

    def _twin(self, header: Header, msg: Any, now: float) -> None:
        """A datagram of another incarnation of our role and id (see identity.py)."""
        if header[2] == 0:
            return  # anonymous: a tool, not a process
        echo = msg.echo if msg.__class__ is Hello else None
        twin, answer = self._twins.heard(header, echo, now)
        if answer is not None:
            self._hello(answer)
        if twin is None:
            return
        ip, port = self.config.addresses[self._hello_group]
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(twin.started))
        who = f"{self.role_name} {self.id}"
        self._apply([Note("identity_conflict", {
            "other_incarnation": twin.incarnation, "other_started": round(twin.started, 3),
            "group": f"{ip}:{port}", "action": "keep serving" if twin.newer else "exit"})])
        if twin.newer:
            self._complain(f"warning: another {who} started on {ip}:{port} at {since}; this one "
                           "(the older) keeps serving -- stop the other one")
            return
        self._complain(f"identity conflict: another {who} is running on {ip}:{port} since "
                       f"{since}; stop it, or give this one another id")
        self._exit_status = EXIT_IDENTITY_CONFLICT
        self._stopping = True

    def _refused(self, kind: int, header: Header, group: Group, size: int,
                 log: Optional[EventLog]) -> None:
        """A vote of an acceptor id that answers with two incarnations (or names another
        acceptor than its sender): dropped, reason ``identity``."""
        self._dropped[kind] += 1
        if log is not None:
            log.message("dropped", _kind_name(kind), group, size, reason="identity",
                        sender=header.name, send_seq=header[3])

    def _drop(self, data: bytes, group: Group, log: Optional[EventLog]) -> None:
        kind = data[3] if len(data) > 3 else 0
        self._dropped[kind] += 1
        if log is not None and kind != Kind.HELLO:  # hellos are not traced (nor their loss)
            header = peek_header(data)  # unchecked, but it is real traffic we drop
            sender = header.name if header is not None else None
            log.message("dropped", _kind_name(kind) if kind else None, group, len(data),
                        reason="loss", sender=sender,
                        send_seq=header[3] if header is not None else None)

    def _bad_datagram(self, data: bytes, group: Group, exc: DecodeError,
                      log: Optional[EventLog]) -> None:
        reason = exc.reason
        self._decode_errors[reason] = self._decode_errors.get(reason, 0) + 1
        if log is not None:
            log.message("dropped", None, group, len(data),
                        reason="auth" if reason == "auth" else "decode")

    def _apply(self, effects: list[Effect]) -> None:
        """Carry out a role's effects: multicast, deliver, note."""
        log = self.log
        delivered = self._delivered
        out_append = self._out.append
        for effect in effects:
            cls = effect.__class__
            if cls is Deliver:  # the most frequent effect: one per learned value
                sub = effect.submission
                out_append(sub[3])
                if log is not None:
                    log.delivered(sub, effect.instance, delivered)
                delivered += 1
            elif cls is Send:
                msg = effect.message
                seq = self._seq + 1
                try:
                    data = self.codec.encode(msg, seq)
                except UsageError as exc:  # a role built a message too big: a bug, counted
                    self._encode_failed(exc)
                    continue
                self._seq = seq
                if self._held is not None:  # sent once this turn's state is durable
                    self._held.append((effect.group, data, msg, seq))
                else:
                    self._transmit(effect.group, data, msg, seq)
            elif cls is Note:
                event = effect.event
                self._notes[event] = self._notes.get(event, 0) + 1
                if log is not None:
                    log.note(event, effect.fields)
            elif cls is Persist:
                self.storage.append(effect.entry)  # type: ignore[union-attr]
            elif cls is Halt:
                self._complain(effect.reason)
                self._exit_status = effect.status
                self._stopping = True
        self._delivered = delivered

    def _transmit(self, group: Group, data: bytes, msg: Any, seq: int) -> None:
        log = self.log
        if log is not None and log.tracing:  # stamped before any receipt can be
            log.message("sent", msg, group, len(data), send_seq=seq)
        if not self.transport.send(group, data):  # type: ignore[union-attr]
            self._send_failed += 1
        self._sent[data[3]] += 1

    def _commit(self) -> None:
        """Group commit: this turn's promises and votes to disk with one fsync, *then*
        this turn's datagrams (a StorageError leaves them unsent and ends the process)."""
        storage, held = self.storage, self._held
        assert storage is not None and held is not None
        if storage.pending:
            storage.commit()
            if storage.should_compact():
                storage.compact(self.role.state_entries())
        if held:
            self._held = []
            for group, data, msg, seq in held:
                self._transmit(group, data, msg, seq)

    def _stop_listening(self) -> None:
        """The acceptor's listening time is over: leave the learners group's socket."""
        for sock in self._listening:
            try:
                self._selector.unregister(sock)  # type: ignore[union-attr]
            except (KeyError, ValueError):
                pass
            sock.close()
        self._listening = []

    def _encode_failed(self, exc: UsageError) -> None:
        self._encode_errors += 1
        if self._encode_errors == 1:
            self._complain(f"{self.role_name} {self.id}: message not sent: {exc}")

    # ------------------------------------------------------------------ output

    def _flush_output(self) -> None:
        """One write for the learner's new values, one per event-log file."""
        if self._out:
            values, self._out = self._out, []
            out = self._stdout
            if out is not None:
                data = ("\n".join(values) + "\n").encode("utf-8", "backslashreplace")
                try:
                    out.write(data)
                    out.flush()
                except (BrokenPipeError, ValueError):  # reader gone / stdout closed
                    self._output_closed()
        if self.log is not None:
            self.log.flush()

    def _watch_output(self, sel: selectors.BaseSelector) -> None:
        """Learn at once when the reader of a learner's piped stdout goes away (``learner.sh
        1 c | head -1``), not only at the next value printed, which may never come: the
        write end of a pipe whose read end closed reports an error to epoll."""
        fd = _fileno(self._stdout)
        try:
            if fd is None or not stat.S_ISFIFO(os.fstat(fd).st_mode):
                return  # a file or a terminal: nobody can go away
            sel.register(fd, selectors.EVENT_READ, _STDOUT)
        except (OSError, ValueError, KeyError):
            pass  # not selectable here: the next write finds out instead

    def _output_closed(self) -> None:
        """stdout's reader is gone: stop at once, quietly, as a Unix filter does."""
        if self._selector is not None:
            fd = _fileno(self._stdout)
            if fd is not None:
                try:
                    self._selector.unregister(fd)
                except (KeyError, ValueError):
                    pass
        self._stdout = None
        self._exit_status = EXIT_OUTPUT_CLOSED
        self._stopping = True

    def _complain(self, text: str) -> None:
        err = self._stderr if self._stderr is not None else sys.stderr
        if err is not None:
            try:
                err.write(text + "\n")
                err.flush()
            except (OSError, ValueError):
                pass

def run_process(role: str, id: int, config: Config, **options: Any) -> int:
    """Build a :class:`Runtime` and run it (what ``python -m paxos_edu <role>`` calls)."""
    return Runtime(role, id, config, **options).run()


__all__ = [
    "Runtime", "new_session", "role_rng",
    "run_process",
]
