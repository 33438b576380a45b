"""A restarted client resumes its session from its event log (an idempotent producer).

Learners deliver each submission ``(client, session, seq)`` at most once (:mod:`paxos_edu.seen`).
A client killed half-way and started again with a new session would therefore deliver
again every value it re-reads; Kafka's idempotent producer has the same problem and the same
answer -- keep the producer's identity across a restart, and number its records as before.
So a client that finds its own interrupted session in its run directory takes it up again:

* **which session**: the one of the last ``start`` record of ``client<id>.jsonl``, unless
  that session is *complete* -- an ``acked`` record with ``"done": true`` says its stdin
  ended and every value was acknowledged; a client started after that is a new run with
  new data, and draws a new session. ``--new-session`` (``Runtime(new_session=True)``)
  always draws a new one.
* **which numbers**: the client reads its input from the first line again and numbers it
  from 0 again, so line ``k`` gets the ``(session, seq)`` it had. The ``submit`` records
  say what the earlier life submitted (:func:`earlier_values`); each re-read value is
  compared with them, and a different one is refused (:class:`InputChanged`): reusing its
  number would let the learners drop it as a duplicate of the old value, silently.
* **what to send**: values below the last ``acked`` watermark are known decided and are
  not sent; the others are sent again under their old numbers -- harmless, a proposer acks
  a decided one at once and a learner recognises it. Values beyond what the earlier life
  submitted are new, and are logged as usual; re-read ones are not logged again, so
  ``prop<id>`` holds each value once.
* **one live client per log**: the client holds an exclusive ``flock`` on its
  ``client<id>.jsonl`` while it runs (:func:`lock_log`). The kernel drops it when the
  process dies, SIGKILL included, so a restart after a crash resumes at once, while a second
  client started beside a live one is refused before it sends anything -- two live
  processes numbering one session would give different values one identity.

The event log writes each ``submit`` record before the ``prop<id>`` line (see
:mod:`paxos_edu.eventlog`), so a crash can leave ``prop<id>`` behind the log, never ahead;
:func:`repair_prop` appends what it lacks before a new life writes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import UsageError
from .eventlog import course_line

_quote = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
"""What the event log writes a value as (see eventlog.py): the same C function."""

_SUBMIT = re.compile(
    rb'"event":"submit","client":-?\d+,"session":(\d+),"seq":(\d+),"value":("(?:[^"\\]|\\.)*")\}$')
"""A ``submit`` record as :class:`~paxos_edu.eventlog.EventLog` writes it (one template)."""
_SUBMITS = re.compile(
    rb'^\{"t":[-0-9.eE+]+,"role":"client","id":-?\d+,"event":"submit","client":-?\d+,'
    rb'"session":(\d+),"seq":(\d+),"value":("[^"\\\n]*(?:\\.[^"\\\n]*)*")\}\r?$', re.MULTILINE)
"""Every ``submit`` line of a block of the log, found by one C-level scan (the fast path)."""
_MARK = b'"event":"submit"'
_BLOCK = 1 << 20
"""Bytes of the log read at a time: memory does not grow with the log."""


class InputChanged(UsageError):
    """A resumed client re-read a line that differs from the value its session gave that
    number before (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class ClientHistory:
    """What a client's event log says about its last session.

    Attributes:
        path: the log, ``<run dir>/client<id>.jsonl``.
        session: the session of the last ``start`` record.
        submitted: values that session submitted: seqs ``0 .. submitted - 1``.
        decided_below: every seq below it was acknowledged (the last ``acked`` record).
        complete: the session ended normally: stdin ended, every value acknowledged.
        total: ``submit`` records of every session in the log (what ``prop<id>`` holds).
    """

    path: Path
    session: int
    submitted: int
    decided_below: int
    complete: bool
    total: int

    @property
    def resumable(self) -> bool:
        """True when a restarted client should take this session up again."""
        return not self.complete


def log_path(run_dir: str | os.PathLike[str], id: int) -> Path:
    """The event log of client ``id`` in ``run_dir``."""
    return Path(run_dir) / f"client{id}.jsonl"


def lock_log(run_dir: str | os.PathLike[str], id: int) -> int:
    """Take the exclusive lock of client ``id``'s log (created if missing); returns the
    descriptor that holds it (close it to release; the kernel does at exit).

    Raises:
        UsageError: another live process holds it -- a second client with this id and
            run directory.
    """
    path = log_path(run_dir, id)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"{path}: cannot open the client's log: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError(f"identity conflict: another client {id} is running with the log "
                         f"directory {path.parent} (it holds {path.name}); stop it, or give "
                         "this one another id or log directory") from None
    except OSError:  # a file system without flock: nothing to lock, carry on
        pass
    return fd


def read_history(run_dir: str | os.PathLike[str], id: int) -> Optional[ClientHistory]:
    """The last session recorded in client ``id``'s log; None without log or session.

    Reads the file once, line by line (memory does not grow with its size).

    Raises:
        UsageError: a ``submit`` record that is not the last line is damaged, or a
            session's seqs are not 0, 1, 2, ... -- the log cannot say what to resume.
    """
    path = log_path(run_dir, id)
    if not path.exists():
        return None
    fast = _scan(path)
    return fast if fast is not False else _read_lines(path)


def _blocks(path: Path) -> Iterator[tuple[bytes, bool]]:
    """The log in blocks of whole lines; ``(block, False)`` last for a cut last line."""
    with open(path, "rb") as file:
        rest = b""
        while True:
            data = file.read(_BLOCK)
            if not data:
                if rest:
                    yield rest, False
                return
            data = rest + data
            end = data.rfind(b"\n") + 1
            rest = data[end:]
            if end:
                yield data[:end], True


def _scan(path: Path) -> Optional[ClientHistory] | bool:
    """:func:`read_history` by whole blocks; False when a line is not exactly what the
    event log writes (then :func:`_read_lines` finds it and says where)."""
    counts: dict[int, int] = {}
    acked: dict[int, int] = {}
    done: dict[int, bool] = {}
    session: Optional[int] = None
    total = 0
    for block, whole in _blocks(path):
        if not whole:
            if _MARK in block or b'"event":"start"' in block:
                return False  # a cut last line: the exact path decides what it was
            continue
        rows = _SUBMITS.findall(block)
        if len(rows) != block.count(_MARK):
            return False
        current, n, key = b"", 0, -1
        for s, q, _ in rows:
            if s != current:
                if key >= 0:
                    counts[key] = n
                current, key = s, int(s)
                n = counts.get(key, 0)
            if int(q) != n:
                return False
            n += 1
        if key >= 0:
            counts[key] = n
        total += len(rows)
        for event in (b'"event":"start"', b'"event":"acked"'):
            at = block.find(event)
            while at >= 0:
                line = block[block.rfind(b"\n", 0, at) + 1: block.find(b"\n", at)]
                try:
                    record = json.loads(line)
                except ValueError:
                    return False
                s = record.get("session")
                if isinstance(s, int):
                    if event == b'"event":"start"':
                        session = s  # blocks come in order; a block's starts too
                    else:
                        acked[s] = max(acked.get(s, 0), int(record.get("below", 0)))
                        done[s] = done.get(s, False) or record.get("done") is True
                at = block.find(event, at + 1)
    return _history(path, session, counts, acked, done, total)


def _history(path: Path, session: Optional[int], counts: dict[int, int],
             acked: dict[int, int], done: dict[int, bool], total: int
             ) -> Optional[ClientHistory]:
    if session is None:
        return None
    submitted = counts.get(session, 0)
    return ClientHistory(path, session, submitted, min(acked.get(session, 0), submitted),
                         done.get(session, False), total)


def _read_lines(path: Path) -> Optional[ClientHistory]:
    """:func:`read_history` line by line: exact about damage (names the line)."""
    counts: dict[int, int] = {}
    acked: dict[int, int] = {}
    done: dict[int, bool] = {}
    session: Optional[int] = None
    total = 0
    with open(path, "rb") as file:
        damaged: Optional[int] = None
        for number, line in enumerate(file, 1):
            if damaged is not None and b'"event":"start"' not in line:
                _damaged(path, damaged)  # (a torn line before a start: that life was killed)
            damaged = None
            if b'"event":"submit"' in line:
                m = _SUBMIT.search(line.rstrip(b"\r\n"))
                if m is None:
                    damaged = number  # fine only as a torn last line
                    continue
                s, seq = int(m[1]), int(m[2])
                n = counts.get(s, 0)
                if seq != n:
                    raise UsageError(f"{path}:{number}: session {s} has seq {seq} where "
                                     f"{n} was expected; the log cannot be resumed -- start "
                                     "a new session (--new-session)")
                counts[s] = n + 1
                total += 1
            elif b'"event":"start"' in line or b'"event":"acked"' in line:
                try:
                    record = json.loads(line)
                except ValueError:
                    damaged = number
                    continue
                s = record.get("session")
                if not isinstance(s, int):
                    continue
                if record.get("event") == "start":
                    session = s
                else:
                    acked[s] = max(acked.get(s, 0), int(record.get("below", 0)))
                    done[s] = done.get(s, False) or record.get("done") is True
    return _history(path, session, counts, acked, done, total)


def _damaged(path: Path, number: int) -> None:
    raise UsageError(f"{path}:{number}: damaged record in the middle of the log; the session "
                     "cannot be resumed -- start a new session (--new-session)")


def _submitted(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """``(session, value)`` of every complete ``submit`` record of ``path``, in order, as
    written: the session's digits and the value's JSON literal."""
    for block, whole in _blocks(path):
        if whole:
            for session, _, literal in _SUBMITS.findall(block):
                yield session, literal


def earlier_literals(history: ClientHistory) -> Iterator[bytes]:
    """The values ``history.session`` submitted, in seq order, as JSON literals exactly as
    the log holds them (read lazily: memory does not grow with the log)."""
    session = str(history.session).encode()
    left = history.submitted
    if not left:
        return
    for s, literal in _submitted(history.path):
        if s == session:
            yield literal
            left -= 1
            if not left:
                return


def earlier_values(history: ClientHistory) -> Iterator[str]:
    """The values ``history.session`` submitted, in seq order (read lazily from the log)."""
    return map(json.loads, earlier_literals(history))


def repair_prop(run_dir: str | os.PathLike[str], id: int, history: ClientHistory) -> int:
    """Append to ``prop<id>`` the values the log recorded and the file lacks (a crash
    between the two writes); returns how many. Never truncates: a torn last line is
    completed when it is the start of the value that belongs there."""
    prop = Path(run_dir) / f"prop{id}"
    try:
        data = prop.read_bytes()
    except FileNotFoundError:
        data = b""
    have = data.count(b"\n")
    if have >= history.total:
        return 0
    missing = [_course_bytes(json.loads(literal))
               for index, (_, literal) in enumerate(_submitted(history.path)) if index >= have]
    if not missing:
        return 0
    torn = data[data.rfind(b"\n") + 1:]
    if torn:
        if missing[0].startswith(torn):
            missing[0] = missing[0][len(torn):]
        else:
            missing[0] = b"\n" + missing[0]  # not ours: keep it, on a line of its own
    with open(prop, "ab") as file:
        file.write(b"".join(missing))
    return len(missing)


def _course_bytes(value: str) -> bytes:
    return course_line(value).encode("utf-8", "backslashreplace")


class Resumed:
    """The earlier life of a resumed session, as a client's input needs it.

    Args:
        history: the session taken up again (:func:`read_history`).

    :meth:`check` compares each re-read value with the one its number had.
    """

    def __init__(self, history: ClientHistory) -> None:
        self.history = history
        self.session = history.session
        self.submitted = history.submitted
        self._values = earlier_literals(history)

    def check(self, seq: int, value: str, lineno: int) -> None:
        """Value ``seq`` (stdin line ``lineno``) was re-read: it must equal the earlier one.

        Call for ``seq`` = 0, 1, 2, ... below :attr:`submitted`, in order.

        Raises:
            InputChanged: it differs.
        """
        literal = next(self._values, None)
        if seq == self.submitted - 1:
            self._values.close()  # type: ignore[attr-defined]
        # The log holds _quote(value): comparing that is exact and skips a JSON decode.
        if literal != _quote(value).encode():
            earlier = None if literal is None else json.loads(literal)
            raise InputChanged(
                f"stdin:{lineno}: this client resumes session {self.session}, whose value "
                f"{seq} was {_show(earlier)} ({self.history.path}); this line is "
                f"{_show(value)}. A resumed client reads its input again from the first "
                "line: give it the same input, or start a new session with --new-session "
                "(Runtime(new_session=True))")

    def close(self) -> None:
        """Stop reading the earlier values (the input ended early)."""
        self._values.close()  # type: ignore[attr-defined]


def _show(value: Optional[str], limit: int = 60) -> str:
    if value is None:
        return "missing"
    return repr(value if len(value) <= limit else value[:limit] + "...")


__all__ = ["ClientHistory", "InputChanged", "Resumed", "earlier_literals", "earlier_values",
           "lock_log",
           "log_path", "read_history", "repair_prop"]
