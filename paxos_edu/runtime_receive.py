"""The receive path of a real process, and who sent it: loss, decode, identity, handle.

:meth:`RuntimeReceive._receive` drains one readable socket, up to :data:`RECV_BATCH`
datagrams per wake-up. Each datagram goes, in this order, through

1. *loss injection* (setting ``loss p``: dropped with probability ``p`` from the
   process's own seeded generator; ``dropped`` reason ``loss``, :meth:`RuntimeReceive._drop`);
2. the codec: a datagram that does not decode is counted by reason (``checksum``,
   ``auth``, ...) and dropped (:meth:`RuntimeReceive._bad_datagram`) -- remote input never
   crashes a process;
3. identity (:mod:`paxos_edu.identity`): a datagram of another incarnation of our own role
   and id is a possible twin (:meth:`RuntimeReceive._twin`: the newer of two live
   processes exits with :data:`EXIT_IDENTITY_CONFLICT`, the older warns and keeps
   serving); a ``Hello`` (:meth:`RuntimeReceive._hello`) is the runtime's own business
   and never reaches a role; a proposer or learner drops the votes of an acceptor id
   heard with two incarnations at once (``dropped`` reason ``identity``,
   :meth:`RuntimeReceive._refused`);
4. ``role.handle(msg, now)``, whose effects are carried out at once (``_apply``,
   :mod:`paxos_edu.runtime_send`).

This is the hot path: everything it uses per datagram is bound to a local once per
batch, counters are list slots indexed by the kind byte, and nothing is logged unless the
trace level is ``"messages"``.

:class:`RuntimeReceive` is a mixin of :class:`~paxos_edu.runtime.Runtime`: it relies on
the attributes ``Runtime.__init__`` sets (listed on the class), ``_apply`` and
``_complain``. Siblings: :mod:`paxos_edu.runtime` (the class and its loop),
:mod:`paxos_edu.runtime_start` (opening a process), :mod:`paxos_edu.runtime_send`
(effects, sending, group commit), :mod:`paxos_edu.runtime_output` (stdout, stderr),
:mod:`paxos_edu.runtime_counters` (counters), :mod:`paxos_edu.runtime_stop` (signals, the
end of a process).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

from .codec import peek_header
from .effects import Note
from .errors import DecodeError
from .messages import Group, Header, Hello, Kind
from .runtime_counters import kind_name

if TYPE_CHECKING:
    import random

    from .codec import Codec
    from .config import Config
    from .eventlog import EventLog
    from .identity import TwinDetector, VoteFilter
    from .transport import Transport

__all__ = ["EXIT_IDENTITY_CONFLICT", "RECV_BATCH", "RuntimeReceive"]

RECV_BATCH = 256
"""Most datagrams drained from one socket per wake-up, so timers and the other sockets
are served between bursts."""
EXIT_IDENTITY_CONFLICT = 2
"""Exit status of a process that found an older live process with its own role and id."""
_VOTES = frozenset({Kind.PHASE1B, Kind.NACK, Kind.PHASE2B})
"""Kinds whose body names the acceptor that sent it: checked by the vote filter."""


class RuntimeReceive:
    """:meth:`_receive` (one socket's datagrams) and the identity checks beside it."""

    role_name: str
    id: int
    config: Config
    role: Any
    codec: Codec
    log: Optional[EventLog]
    transport: Optional[Transport]
    _loss: float
    _loss_rng: random.Random
    _twins: TwinDetector
    _votes: Optional[VoteFilter]
    _hello_group: Group
    _seq: int
    _sent: list[int]
    _received: list[int]
    _dropped: list[int]
    _decode_errors: dict[str, int]
    _send_failed: int
    _exit_status: int
    _stopping: bool

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
            log.message("dropped", kind_name(kind), group, size, reason="identity",
                        sender=header.name, send_seq=header[3])

    def _drop(self, data: bytes, group: Group, log: Optional[EventLog]) -> None:
        kind = data[3] if len(data) > 3 else 0
        self._dropped[kind] += 1
        if log is not None and kind != Kind.HELLO:  # hellos are not traced (nor their loss)
            header = peek_header(data)  # unchecked, but it is real traffic we drop
            sender = header.name if header is not None else None
            log.message("dropped", kind_name(kind) if kind else None, group, len(data),
                        reason="loss", sender=sender,
                        send_seq=header[3] if header is not None else None)

    def _bad_datagram(self, data: bytes, group: Group, exc: DecodeError,
                      log: Optional[EventLog]) -> None:
        reason = exc.reason
        self._decode_errors[reason] = self._decode_errors.get(reason, 0) + 1
        if log is not None:
            log.message("dropped", None, group, len(data),
                        reason="auth" if reason == "auth" else "decode")
