"""A client process's stdin: one value per line, read inside the runtime's event loop.

The course's client submits the lines it reads from stdin. :class:`ClientInput` does that
for :class:`~paxos_edu.runtime.Runtime` without threads and without ever blocking the
loop: stdin is registered with the runtime's selector (a regular file, which epoll
refuses, is read a chunk per turn instead), each chunk is cut into numbered lines by a
:class:`LineSplitter` that never holds an over-long line in memory, and every line goes
to the :class:`~paxos_edu.roles.Client` role:

* a trailing ``\\r`` is dropped (files written on Windows), blank lines are skipped;
* a line that is not a valid value (over :data:`~paxos_edu.codec.MAX_VALUE_BYTES`, not
  UTF-8, ...) is reported on stderr as ``stdin:<line>: <problem>`` and skipped;
* reading pauses while :data:`STDIN_PAUSE` values wait for room in the client's window,
  so memory stays bounded when values are piped in faster than they are decided;
* at the end of stdin the client is closed: it exits once every value is acknowledged.
"""

from __future__ import annotations

import os
import selectors
import time
from typing import TYPE_CHECKING, Callable, Optional

from .codec import MAX_VALUE_BYTES
from .effects import Effect
from .errors import UsageError

if TYPE_CHECKING:
    from .eventlog import EventLog
    from .roles import Client

STDIN_CHUNK = 1 << 16
"""Bytes read from stdin per turn of the loop."""
STDIN_PAUSE = 1 << 16
"""A client stops reading stdin while this many values wait for room in its window
(memory stays bounded when values are piped in faster than they are decided)."""


class LineSplitter:
    """Cuts a byte stream read in arbitrary chunks into numbered lines, bounded in memory.

    :meth:`feed` takes a chunk and returns ``(line number, line)`` for every line it
    completes (without its ``\\n``), and ``(line number, length)`` for every line longer
    than ``limit`` bytes: such a line is counted but never held in memory whole.
    :meth:`end` returns the last line when the stream ended without a newline.
    """

    __slots__ = ("limit", "lineno", "_partial", "_length", "_too_long")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lineno = 0  # lines completed so far
        self._partial = b""  # the unfinished line (dropped once it is too long)
        self._length = 0  # bytes of the unfinished line seen so far
        self._too_long = False

    def feed(self, chunk: bytes) -> tuple[list[tuple[int, bytes]], list[tuple[int, int]]]:
        """Lines completed by ``chunk``, and over-long lines ``(number, bytes)``."""
        parts = chunk.split(b"\n")
        lines: list[tuple[int, bytes]] = []
        too_long: list[tuple[int, int]] = []
        last = len(parts) - 1
        for i, piece in enumerate(parts):
            if i == 0:  # continues the unfinished line
                self._length += len(piece)
                if not self._too_long and self._partial:
                    piece = self._partial + piece
                self._partial = b""
            else:
                self._length = len(piece)
                self._too_long = False
            if i == last:  # unfinished: keep it (or just its length) for the next chunk
                if self._length > self.limit:
                    self._too_long = True
                elif not self._too_long:
                    self._partial = piece
                break
            self._complete(piece, lines, too_long)
        return lines, too_long

    def end(self) -> tuple[list[tuple[int, bytes]], list[tuple[int, int]]]:
        """The stream ended: its last line, if it had no newline."""
        lines: list[tuple[int, bytes]] = []
        too_long: list[tuple[int, int]] = []
        if self._length:
            self._complete(self._partial, lines, too_long)
        self._partial, self._length, self._too_long = b"", 0, False
        return lines, too_long

    def _complete(self, piece: bytes, lines: list[tuple[int, bytes]],
                  too_long: list[tuple[int, int]]) -> None:
        self.lineno += 1
        if self._too_long or self._length > self.limit:
            too_long.append((self.lineno, self._length))
        else:
            lines.append((self.lineno, piece))
        self._too_long = False


class ClientInput:
    """The stdin of one client process, feeding its :class:`~paxos_edu.roles.Client`.

    Args:
        fd: the stdin file descriptor; None: no input at all (the client is done at once).
        client: the client role the values go to.
        apply: carries out the effects of ``client.flush`` (the runtime's sends).
        complain: writes one line to stderr.
        selector: the runtime's selector; stdin is registered with ``data=self``.

    Attributes:
        log: the event log that records each value submitted (set once it is open).
        submitted, rejected: values handed to the client / lines refused, so far.
        eof: stdin has ended (or there is none). polled: a regular file, read every turn.
    """

    def __init__(self, fd: Optional[int], client: Client, *,
                 apply: Callable[[list[Effect]], None], complain: Callable[[str], None],
                 selector: Optional[selectors.BaseSelector] = None) -> None:
        self.fd = fd
        self.client = client
        self.apply = apply
        self.complain = complain
        self.selector = selector
        self.log: Optional[EventLog] = None
        self.lines = LineSplitter(MAX_VALUE_BYTES + 1)  # a trailing \r does not count
        self.submitted = 0
        self.rejected = 0
        self.registered = False
        self.polled = False
        self.eof = fd is None

    def start(self) -> None:
        """Begin reading (or, without stdin, close the client: nothing to submit)."""
        if self.fd is None:
            self.client.close()
        else:
            self.watch(True)

    def watch(self, on: bool) -> None:
        """(Un)register stdin with the selector; a regular file is polled instead."""
        sel = self.selector
        assert sel is not None and self.fd is not None
        if on == (self.registered or self.polled):
            return
        if not on:
            if self.registered:
                sel.unregister(self.fd)
            self.registered = self.polled = False
            return
        try:
            sel.register(self.fd, selectors.EVENT_READ, self)
            self.registered = True
        except PermissionError:  # epoll refuses regular files: they are always readable
            self.polled = True
        except (OSError, ValueError):  # closed or invalid descriptor: no input at all
            self.at_eof()

    def pace(self) -> None:
        """Pause reading while the client's queue is long, resume once it has room."""
        if not self.eof:
            self.watch(len(self.client.queue) < STDIN_PAUSE)

    def read(self) -> None:
        """Read one chunk (what the loop calls when stdin is readable, or each turn)."""
        try:
            chunk = os.read(self.fd, STDIN_CHUNK)  # type: ignore[arg-type]
        except BlockingIOError:
            return
        except OSError as exc:
            self.complain(f"stdin: cannot read: {exc.strerror or exc}")
            chunk = b""
        if not chunk:
            self.take(*self.lines.end())
            self.at_eof()
            return
        self.take(*self.lines.feed(chunk))

    def feed(self, chunk: bytes) -> None:
        """Take ``chunk`` as if read from stdin (``b""``: stdin ended)."""
        if chunk:
            self.take(*self.lines.feed(chunk))
        else:
            self.take(*self.lines.end())

    def at_eof(self) -> None:
        """stdin ended: stop watching it and close the client."""
        if self.registered or self.polled:
            self.watch(False)
        self.eof = True
        self.client.close()

    def take(self, lines: list[tuple[int, bytes]], too_long: list[tuple[int, int]]) -> None:
        """Report the over-long lines and submit the others."""
        for lineno, size in too_long:
            self._reject(lineno, f"line of {size} bytes exceeds the value limit of "
                                 f"{MAX_VALUE_BYTES} bytes; skipped")
        if lines:
            self._submit(lines)

    def _submit(self, lines: list[tuple[int, bytes]]) -> None:
        client = self.client
        add = client.add
        log = self.log
        added = 0
        for lineno, raw in lines:
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if not raw or raw.isspace():
                continue  # blank line: nothing to broadcast
            try:
                sub = add(raw.decode("utf-8"))  # validates, numbers and queues the value
            except UnicodeDecodeError as exc:
                self._reject(lineno, f"not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                                     "skipped")
                continue
            except UsageError as exc:
                self._reject(lineno, f"{exc}; skipped")
                continue
            added += 1
            if log is not None:
                log.submitted(sub)
        if not added:
            return
        self.submitted += added
        self.apply(client.flush(time.monotonic()))

    def _reject(self, lineno: int, problem: str) -> None:
        self.rejected += 1
        self.complain(f"stdin:{lineno}: {problem}")


__all__ = ["STDIN_CHUNK", "STDIN_PAUSE", "ClientInput", "LineSplitter"]
