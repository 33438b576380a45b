"""A real process's output: a learner's values on stdout, problems on stderr.

A learner's delivered values wait in a list until the end of the loop's turn, then
:meth:`RuntimeOutput._flush_output` writes them in one ``write`` and flushes (stdout is
flushed at least once per delivered batch, never once per value), and flushes the event
log's buffered lines. When the reader of a learner's piped stdout goes away (``learner.sh
1 c | head -1``), the process stops at once and quietly with status
:data:`EXIT_OUTPUT_CLOSED`, as a Unix filter killed by SIGPIPE does -- learnt from the
selector (:meth:`RuntimeOutput._watch_output`), not only at the next value printed, which
may never come.

:class:`RuntimeOutput` is a mixin of :class:`~paxos_edu.runtime.Runtime`: it relies on
``_out``, ``_stdout``, ``_stderr``, ``log``, ``_selector``, ``_exit_status`` and
``_stopping`` (set by ``Runtime.__init__``). Siblings: :mod:`paxos_edu.runtime` (the
class and its loop), :mod:`paxos_edu.runtime_start` (opening a process),
:mod:`paxos_edu.runtime_receive` (the receive path, identity), :mod:`paxos_edu.runtime_send`
(effects, sending, group commit), :mod:`paxos_edu.runtime_counters` (counters),
:mod:`paxos_edu.runtime_stop` (signals, the end of a process).
"""

from __future__ import annotations

import os
import selectors
import signal
import stat
import sys
from typing import IO, TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .eventlog import EventLog

__all__ = ["EXIT_OUTPUT_CLOSED", "STDOUT_KEY", "RuntimeOutput", "fileno_of"]

EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE
"""Exit status of a learner whose stdout reader went away (what a filter killed by SIGPIPE
shows its shell)."""

STDOUT_KEY = object()
"""Selector key data of a learner's piped stdout: readable means its reader is gone."""


def fileno_of(stream: Any) -> Optional[int]:
    """The file descriptor of ``stream``, or None (no stream, or none behind it)."""
    try:
        return stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):  # e.g. io.BytesIO
        return None


class RuntimeOutput:
    """:meth:`_flush_output`, the watch on a learner's stdout, :meth:`_complain`."""

    role_name: str
    log: Optional[EventLog]
    _out: list[str]
    _stdout: Optional[IO[bytes]]
    _stderr: Optional[IO[str]]
    _selector: Optional[selectors.BaseSelector]
    _exit_status: int
    _stopping: bool

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
        fd = fileno_of(self._stdout)
        try:
            if fd is None or not stat.S_ISFIFO(os.fstat(fd).st_mode):
                return  # a file or a terminal: nobody can go away
            sel.register(fd, selectors.EVENT_READ, STDOUT_KEY)
        except (OSError, ValueError, KeyError):
            pass  # not selectable here: the next write finds out instead

    def _output_closed(self) -> None:
        """stdout's reader is gone: stop at once, quietly, as a Unix filter does."""
        if self._selector is not None:
            fd = fileno_of(self._stdout)
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
