"""How a real process stops: stop signals, the wake-up socket, and closing everything.

SIGTERM and SIGINT (:data:`paxos_edu.signals.STOP_SIGNALS`) set a flag; the handler does
nothing else, because :func:`signal.set_wakeup_fd` already writes a byte to a socket the
loop's selector watches (its key data is :data:`WAKEUP_KEY`), so ``select`` returns at
once and the loop stops at the end of that turn. A stop signal that arrived before the
handlers existed (a process's first milliseconds, :func:`paxos_edu.signals.take_pending`)
is honoured the same way. :meth:`RuntimeStop.request_stop` does the same from Python.

:meth:`RuntimeStop._finish` runs however the loop ended (a clean stop, an error, a crash
of the role): it flushes the output, writes a client's last progress, the ``counters``
and ``stop`` records, then closes storage, the client's log lock, the selector, the
sockets, and restores the signal handlers and wake-up fd it replaced. It is idempotent.

:class:`RuntimeStop` is a mixin of :class:`~paxos_edu.runtime.Runtime`: it relies on the
attributes ``Runtime.__init__`` sets (listed on the class), ``counters_dict`` and
``_flush_output``. Siblings: :mod:`paxos_edu.runtime` (the class and its loop),
:mod:`paxos_edu.runtime_start` (opening a process), :mod:`paxos_edu.runtime_receive` (the
receive path, identity), :mod:`paxos_edu.runtime_send` (effects, sending, group commit),
:mod:`paxos_edu.runtime_output` (stdout, stderr), :mod:`paxos_edu.runtime_counters`
(counters).
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Optional

from .signals import STOP_SIGNALS, take_pending

if TYPE_CHECKING:
    from .client_input import ClientInput
    from .eventlog import EventLog
    from .storage import AcceptorStorage
    from .transport import Transport

__all__ = ["WAKEUP_KEY", "RuntimeStop"]

WAKEUP_KEY = object()
"""Selector key data of the wake-up socket: a signal (or :meth:`RuntimeStop.request_stop`)
wrote to it."""


class RuntimeStop:
    """Stop signals, :meth:`request_stop` and :meth:`_finish`."""

    handle_signals: bool
    input: Optional[ClientInput]
    log: Optional[EventLog]
    storage: Optional[AcceptorStorage]
    transport: Optional[Transport]
    _selector: Optional[selectors.BaseSelector]
    _log_lock: Optional[int]
    _stopping: bool
    _stop_signal: Optional[int]
    _wake_r: Optional[socket.socket]
    _wake_w: Optional[socket.socket]
    _old_handlers: dict[int, Any]
    _old_wakeup: Optional[int]

    def request_stop(self) -> None:
        """Ask the loop to stop at its next turn (safe from a signal handler)."""
        self._stopping = True
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass

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

    def _drain_wakeup(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

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
