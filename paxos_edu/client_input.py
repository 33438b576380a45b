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

Write-ahead: the ``submit`` records of the values a chunk added reach the OS before any of
them is sent, so the log of a killed client holds every value it ever sent (what a resumed
session relies on). The client's progress -- every seq below ``decided_below()`` acknowledged --
goes to the log as an ``acked`` record at most every :data:`ACKED_EVERY` seconds and at
exit, with ``done`` once stdin ended and every value was acknowledged.

Resuming (:mod:`paxos_edu.client_resume`): the values an earlier life of the session
submitted come first again. Each is compared with the earlier one -- a different value
stops the process (exit status 2, :class:`~paxos_edu.client_resume.InputChanged`) before it
is sent -- then skipped if known decided, else sent again under its old number; neither
is logged again.
"""

from __future__ import annotations

import os
import selectors
import time
from typing import TYPE_CHECKING, Callable, Optional

from .client_resume import InputChanged
from .codec import MAX_VALUE_BYTES
from .effects import Effect, Halt
from .errors import UsageError

if TYPE_CHECKING:
    from .client_resume import Resumed
    from .eventlog import EventLog
    from .roles import Client

STDIN_CHUNK = 1 << 16
"""Bytes read from stdin per turn of the loop."""
STDIN_PAUSE = 1 << 16
"""A client stops reading stdin while this many values wait for room in its window
(memory stays bounded when values are piped in faster than they are decided)."""
ACKED_EVERY = 0.1
"""Seconds between two ``acked`` records while acknowledgements come in. A killed client
loses at most this much of its progress: the values acknowledged since are sent again
when its session resumes (harmless, just work)."""
EXIT_INPUT_CHANGED = 2
"""Exit status of a resumed client whose input differs from its session's earlier one."""


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
        resumed: the earlier life of the session the client resumes (its values come
            first again); None for a new session.

    Attributes:
        log: the event log that records each value submitted (set once it is open).
        submitted, rejected: values handed to the client / lines refused, so far.
        resent, skipped: re-read values of a resumed session sent again / known decided
            and not sent (also counted in ``submitted``).
        eof: stdin has ended (or there is none). polled: a regular file, read every turn.
        failed: stopped because a re-read value differed from the earlier one.
    """

    def __init__(self, fd: Optional[int], client: Client, *,
                 apply: Callable[[list[Effect]], None], complain: Callable[[str], None],
                 selector: Optional[selectors.BaseSelector] = None,
                 resumed: Optional[Resumed] = None) -> None:
        self.fd = fd
        self.client = client
        self.apply = apply
        self.complain = complain
        self.selector = selector
        self.log: Optional[EventLog] = None
        self.lines = LineSplitter(MAX_VALUE_BYTES + 1)  # a trailing \r does not count
        self.submitted = 0
        self.rejected = 0
        self.resent = 0
        self.skipped = 0
        self.registered = False
        self.polled = False
        self.eof = fd is None
        self.failed = False
        self.resumed = resumed
        if resumed is not None:
            client.resume(resumed.submitted, resumed.history.decided_below)
        self._acked_logged = -1  # the ``below`` of the last acked record written
        self._acked_due = 0.0

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
        if not self.eof and not self.failed:
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
        resumed = self.resumed
        if resumed is not None and self.client.next_seq < resumed.submitted:
            resumed.close()
            n, total = self.client.next_seq, resumed.submitted
            self.complain(f"warning: stdin ended after {n} values, but the resumed session "
                          f"{resumed.session} had submitted {total}; the other {total - n} "
                          "are not sent again (those not yet decided stay undecided)")

    def record_acked(self, now: float, final: bool = False) -> None:
        """Write an ``acked`` record if the client's progress moved (at most every
        :data:`ACKED_EVERY` seconds, unless ``final``: at exit)."""
        log = self.log
        if log is None or (now < self._acked_due and not final):
            return
        client = self.client
        below = client.decided_below()
        done = final and self.eof and not self.failed and client.done
        self._acked_due = now + ACKED_EVERY
        if done or below != self._acked_logged:
            log.acked(client.session, below, done)
            self._acked_logged = below

    def take(self, lines: list[tuple[int, bytes]], too_long: list[tuple[int, int]]) -> None:
        """Report the over-long lines and submit the others."""
        for lineno, size in too_long:
            self._reject(lineno, f"line of {size} bytes exceeds the value limit of "
                                 f"{MAX_VALUE_BYTES} bytes; skipped")
        if lines:
            self._submit(lines)

    def _submit(self, lines: list[tuple[int, bytes]]) -> None:
        if self.failed:
            return
        client = self.client
        add = client.add
        log = self.log
        earlier = self.resumed.submitted if self.resumed is not None else 0
        added = 0
        for lineno, raw in lines:
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if not raw or raw.isspace():
                continue  # blank line: nothing to broadcast
            if client.next_seq < earlier:  # a value the earlier life of the session sent
                if not self._again(lineno, raw):
                    return
                added += 1
                continue
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
        if log is not None:
            log.flush()  # write-ahead: on record before on the wire (see the module doc)
        self.apply(client.flush(time.monotonic()))

    def _again(self, lineno: int, raw: bytes) -> bool:
        """A re-read value of a resumed session: compare, then skip or queue it (not
        logged again). False when it differs: the process stops."""
        client = self.client
        seq = client.next_seq
        value = raw.decode("utf-8", "surrogateescape")  # the earlier one was valid UTF-8
        try:
            self.resumed.check(seq, value, lineno)  # type: ignore[union-attr]
        except InputChanged as exc:
            self.failed = True
            if self.registered or self.polled:
                self.watch(False)
            self.apply([Halt(EXIT_INPUT_CHANGED, str(exc))])
            return False
        if client.is_decided(seq):
            client.skip(value)
            self.skipped += 1
        else:
            client.add(value)
            self.resent += 1
        return True

    def _reject(self, lineno: int, problem: str) -> None:
        self.rejected += 1
        self.complain(f"stdin:{lineno}: {problem}")


__all__ = ["ACKED_EVERY", "EXIT_INPUT_CHANGED", "STDIN_CHUNK", "STDIN_PAUSE", "ClientInput",
           "LineSplitter"]
