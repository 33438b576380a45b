"""The send path of a real process: a role's effects carried out, datagrams multicast,
and an acceptor's group commit.

:meth:`RuntimeSend._apply` carries out what a role returned, in order: ``Deliver`` (the most
frequent: one per learned value) to the learner's output and the event log, ``Send``
encoded with the next sender sequence number and multicast (:meth:`RuntimeSend._transmit`),
``Note`` counted and logged, ``Persist`` appended to the acceptor's stable storage, ``Halt``
said on stderr and the loop stopped with its status. A message too big to encode is a bug
of the role: counted (``encode_errors``), said once, not sent.

Group commit (an acceptor with the ``storage`` setting): the datagrams of a turn are held
(``_held``) until :meth:`RuntimeSend._commit`, at the end of that turn, has written and
fsynced the turn's promises and votes -- one fsync per turn, however many datagrams it
answered; a :class:`~paxos_edu.storage.StorageError` leaves them unsent and ends the
process. Without storage, ``_held`` is None and ``Send`` goes out at once.

:class:`RuntimeSend` is a mixin of :class:`~paxos_edu.runtime.Runtime`: it relies on the
attributes ``Runtime.__init__`` sets (listed on the class) and ``_complain``. Siblings:
:mod:`paxos_edu.runtime` (the class and its loop), :mod:`paxos_edu.runtime_start`
(opening a process), :mod:`paxos_edu.runtime_receive` (the receive path, identity),
:mod:`paxos_edu.runtime_output` (stdout, stderr), :mod:`paxos_edu.runtime_counters`
(counters), :mod:`paxos_edu.runtime_stop` (signals, the end of a process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .effects import Deliver, Effect, Halt, Note, Persist, Send
from .errors import UsageError
from .messages import Group

if TYPE_CHECKING:
    from .codec import Codec
    from .eventlog import EventLog
    from .storage import AcceptorStorage
    from .transport import Transport

__all__ = ["RuntimeSend"]


class RuntimeSend:
    """:meth:`_apply` (effects), :meth:`_transmit` (one datagram), :meth:`_commit`."""

    role_name: str
    id: int
    role: Any
    codec: Codec
    log: Optional[EventLog]
    storage: Optional[AcceptorStorage]
    transport: Optional[Transport]
    _held: Optional[list[tuple[Group, bytes, Any, int]]]
    _seq: int
    _out: list[str]
    _sent: list[int]
    _notes: dict[str, int]
    _send_failed: int
    _encode_errors: int
    _delivered: int
    _exit_status: int
    _stopping: bool

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

    def _encode_failed(self, exc: UsageError) -> None:
        self._encode_errors += 1
        if self._encode_errors == 1:
            self._complain(f"{self.role_name} {self.id}: message not sent: {exc}")
