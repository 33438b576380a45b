"""The event log: what one role process writes into a run directory.

A run directory holds, for every process of one run (see :mod:`paxos_edu.runlog`, which
reads it back into pandas)::

    prop<id>             client <id>: each submitted value, one per line (course format)
    learn<id>            learner <id>: each delivered value, one per line (course format)
    <role><id>.jsonl     every process: one JSON object per line, role in
                         client | proposer | acceptor | learner

Every JSON line has ``t`` (wall-clock seconds, ``time.time()``, to the microsecond),
``role``, ``id`` and ``event``; the other fields depend on the event:

=========== ===================================================================
event       fields
=========== ===================================================================
start       ``pid``, ``trace`` and whatever the runtime passes (``session``, ``settings``;
            a client adds ``resumed``: how many values of its session an earlier
            life submitted, when it takes that session up again)
submit      client: ``session``, ``seq``, ``value``
acked       client: ``session``, ``below`` (every seq below it was acknowledged as
            decided), and ``done`` (true once stdin ended and every value was
            acknowledged: the session is complete). Written at most every
            :data:`paxos_edu.client_input.ACKED_EVERY` seconds and at exit
deliver     learner: ``position`` (0-based), ``instance``, ``client``, ``session``,
            ``seq``, ``value``
sent,       only at trace level ``"messages"``: ``kind`` (e.g. ``"PHASE2A"``),
received,   ``instance``, ``round``, ``group`` (e.g. ``"acceptors"``), ``size``
dropped     (bytes), ``send_seq`` (the sender's sequence number of the datagram) and, on
            a receipt, ``sender`` (its process name, e.g. ``"acceptor2"``): a receipt
            pairs with exactly one send. ``dropped`` adds ``reason`` (``"loss"``,
            ``"decode"``, ``"auth"``, ``"identity"``: a vote of an acceptor id with two
            live incarnations); a datagram that did not decode has no sender
note        ``note`` (the role note's event name) plus the note's fields
counters    ``counters``: a dict written at exit (sent/received/dropped by kind, ...)
stop        nothing: the process exited cleanly (no ``stop`` means it was killed)
=========== ===================================================================

Theory of operation: a learner may deliver 100 000 values per second, so nothing is
written line by line. Each file keeps a list of finished lines; :meth:`EventLog.flush`
(called by the runtime at least once per delivered batch, and automatically every few
thousand lines) joins them and hands them to the OS in one ``write``. Lines are therefore
written whole and in order: a process killed at any moment leaves, at worst, a truncated
last line, which :func:`paxos_edu.runlog.load_run` tolerates. The hot ``submit`` and
``deliver`` lines are formatted by hand, with the C string escaper of the :mod:`json`
module for the value.

A client writes its ``submit`` records to the OS *before* it sends the values (the input
flushes the log first, :mod:`paxos_edu.client_input`), and its log before its ``prop<id>``
lines: whatever a killed client sent is in its log, and ``prop<id>`` never holds a value
the log lacks.

Nothing already written is ever truncated. A client started again with the same id and
run directory *appends* to ``prop<id>`` and ``client<id>.jsonl``: its new life resumes
its interrupted session or starts a new one (a new ``start`` record with its
``session``; see :mod:`paxos_edu.client_resume`), and submissions are identified by
``(client, session, seq)``, so the run's record of what was proposed stays whole. A file
whose last line was cut by a kill gets a newline first, so the new lines stay whole. Any other
process started again keeps its earlier life under a numbered name (``learn2`` becomes
``learn2.1``, ``learner2.jsonl`` becomes ``learner2.1.jsonl``, then ``.2`` ...): a
restarted learner delivers the whole sequence again, from the first value, and its current
files hold exactly the life it is living.
"""

from __future__ import annotations

import enum
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

from .errors import UsageError
from .messages import Group, Kind, Submission, instance_of, round_of
from .processes import check_role, process_name

TRACE_LEVELS = ("values", "messages")
"""``values``: submissions, deliveries, notes (cheap, the default); ``messages``: also
every datagram sent, received or dropped (for notebooks and small runs)."""
DIRECTIONS = ("sent", "received", "dropped")

_BASE_KEYS = frozenset({"t", "role", "id", "event"})
_NOTE_KEYS = _BASE_KEYS | {"note"}
_AUTO_FLUSH_LINES = 8192
"""A buffer is written out when it holds this many lines, even without flush()."""

_quote: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
"""C function: a str -> its JSON literal, quotes included, escaped (non-ASCII as \\uXXXX)."""


def course_line(value: str) -> str:
    """A value as one line of a course file (prop/learn).

    The course format has one value per line, so a line break inside a value would split
    it: line breaks are written as the two characters ``\\n`` / ``\\r``. The JSON log
    always keeps the exact value.
    """
    if "\n" in value or "\r" in value:
        value = value.replace("\r", "\\r").replace("\n", "\\n")
    return value + "\n"


_RUN_FILE = re.compile(r"(?:prop|learn)[0-9]+(?:\.[0-9]+)?|"
                       r"(?:client|proposer|acceptor|learner)[0-9]+(?:\.[0-9]+)?\.(?:jsonl|stderr)")


def is_run_file(name: str) -> bool:
    """True for the exact names of the files processes write into a run directory
    (``prop3``, ``learn1``, ``acceptor2.jsonl``, ``client1.stderr``, an earlier life's
    ``learner2.1.jsonl`` / ``learn2.1``), and for nothing else: ``learning-notes.md`` or
    ``proposal.pdf`` beside them are the user's own."""
    return _RUN_FILE.fullmatch(name) is not None


def _keep_earlier_life(path: Path) -> None:
    """Rename a non-empty ``path`` to the first free ``<stem>.<n><suffix>`` (n = 1, 2, ...),
    so that a process started again never truncates what its earlier life wrote."""
    try:
        if path.stat().st_size == 0:
            return
    except FileNotFoundError:
        return
    stem, suffix = (path.name[: -len(".jsonl")], ".jsonl") if path.suffix == ".jsonl" \
        else (path.name, "")
    n = 1
    while (path.parent / f"{stem}.{n}{suffix}").exists():
        n += 1
    path.rename(path.parent / f"{stem}.{n}{suffix}")


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1)


def run_directory(path: str | Path) -> Path:
    """``path`` as a directory to write a run into, created (with its parents) if missing.

    Raises:
        UsageError: ``path`` (or a parent) is an existing file, or cannot be created --
            one line naming the path, instead of an ``OSError`` traceback.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{path}: exists and is not a directory; give a directory for "
                         "the run's files") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot create the run directory: "
                         f"{exc.strerror or exc}") from None
    return path


def _plain(obj: Any) -> Any:
    """``obj`` made JSON-friendly: enums (keys too) by name, sets sorted, numpy scalars
    as numbers, anything else unknown by its repr. For the rare records only."""
    if isinstance(obj, enum.Enum):
        return obj.name
    if isinstance(obj, dict):
        return {(k.name if isinstance(k, enum.Enum) else k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_plain(v) for v in obj), key=repr)
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return repr(obj)


class _LineFile:
    """An append-only file written in whole lines, from an in-memory list of lines.

    ``after``: a file whose lines must reach the OS first whenever this one is written
    (a client's log before its ``prop`` file)."""

    __slots__ = ("path", "_file", "_lines", "_after")

    def __init__(self, path: Path, after: _LineFile | None = None) -> None:
        self.path = path
        self._file = open(path, "ab", buffering=0)  # closed by close(); never truncates
        self._lines: list[str] = []
        self._after = after
        if self._file.tell() and _last_byte(path) != b"\n":
            self._lines.append("\n")  # an earlier life was killed mid-line: end that line

    def add(self, line: str) -> None:
        lines = self._lines
        lines.append(line)
        if len(lines) >= _AUTO_FLUSH_LINES:
            self.flush()

    def flush(self) -> None:
        if self._after is not None:
            self._after.flush()
        if not self._lines:
            return
        if self._file is None:
            self._lines.clear()
            raise UsageError(f"{self.path}: event log written after close()")
        # backslashreplace: a lone surrogate in a value must not crash a process.
        data = memoryview("".join(self._lines).encode("utf-8", "backslashreplace"))
        self._lines.clear()
        while data:  # a regular file takes it all at once; loop for signals / full disk
            written = self._file.write(data)
            data = data[written:]

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None


class EventLog:
    """Writer of one process's files in a run directory.

    Args:
        run_dir: the run directory (created if missing).
        role: ``"client"``, ``"proposer"``, ``"acceptor"`` or ``"learner"``.
        id: the process id within its role (``prop<id>``, ``learner<id>.jsonl``, ...).
        trace: ``"values"`` (default) or ``"messages"`` to log every datagram too.
        clock: wall-clock source, ``time.time`` unless a test injects one.

    Attributes:
        tracing: True when :meth:`message` records anything; a runtime may test it to skip
            the call altogether in the hot path.

    Raises:
        UsageError: unknown role or trace level, or a negative id.
    """

    def __init__(
        self,
        run_dir: str | Path,
        role: str,
        id: int,
        *,
        trace: str = "values",
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_role(role)
        if trace not in TRACE_LEVELS:
            raise UsageError(f"unknown trace level {trace!r}; expected 'values' or 'messages'")
        if isinstance(id, bool) or not isinstance(id, int) or id < 0:
            raise UsageError(f"process id must be an integer >= 0, got {id!r}")
        self.run_dir = run_directory(run_dir)
        self.role = role
        self.id = id
        self.trace = trace
        self.tracing = trace == "messages"
        self._clock = clock
        # What follows "t" on every line: role and id never change. The hot lines are
        # %-templates (the fastest formatting here); %d also writes numpy ints as JSON.
        self._head = f',"role":"{role}","id":{id},"event":'
        self._submit_line = (
            '{"t":%.6f' + self._head + '"submit","client":%d,"session":%d,"seq":%d,"value":%s}\n'
        )
        self._deliver_line = (
            '{"t":%.6f' + self._head + '"deliver","position":%d,"instance":%d,'
            '"client":%d,"session":%d,"seq":%d,"value":%s}\n'
        )
        log_path = self.run_dir / f"{process_name(role, id)}.jsonl"
        course = {"client": f"prop{id}", "learner": f"learn{id}"}.get(role)
        if role != "client":  # a client appends: its new life resumes a session or starts one
            for earlier in (log_path, self.run_dir / course if course else None):
                if earlier is not None:
                    _keep_earlier_life(earlier)
        self._log = _LineFile(log_path)
        # A client's prop line never reaches the disk before its submit record does.
        self._course = _LineFile(self.run_dir / course, self._log if role == "client" else None) \
            if course else None
        if not self.tracing:
            self.message = self._no_message  # type: ignore[method-assign]

    @property
    def path(self) -> Path:
        """The JSON-lines file of this process."""
        return self._log.path

    # ------------------------------------------------------------------ generic records

    def _now(self) -> str:
        return "%.6f" % self._clock()

    def _record(self, event: str, fields: dict[str, Any]) -> None:
        body = json.dumps(_plain(fields), separators=(",", ":"))
        rest = "}\n" if body == "{}" else "," + body[1:] + "\n"
        self._log.add(f'{{"t":{self._now()}{self._head}"{event}"{rest}')

    def start(self, **fields: Any) -> None:
        """Record the process start: ``pid`` and ``trace`` plus e.g. ``session``, ``settings``."""
        record: dict[str, Any] = {"pid": os.getpid(), "trace": self.trace}
        record.update(fields)
        self._record("start", _rename_reserved(record, _BASE_KEYS))
        self.flush()

    def note(self, event: str, fields: dict[str, Any]) -> None:
        """Record a role's :class:`~paxos_edu.effects.Note`.

        Fields named like a base key (``t``, ``role``, ``id``, ``event``, ``note``) are
        written with a trailing underscore (``id_``) so they cannot shadow it.
        """
        record: dict[str, Any] = {"note": event}
        record.update(_rename_reserved(fields, _NOTE_KEYS))
        self._record("note", record)

    def counters(self, counters: dict[str, Any]) -> None:
        """Record the runtime's counters at exit (free-form dict, nested dicts allowed)."""
        self._record("counters", {"counters": counters})

    def acked(self, session: int, below: int, done: bool = False) -> None:
        """A client's progress: every seq of ``session`` below ``below`` was acknowledged
        as decided; ``done``: stdin ended and every value was (the session is complete)."""
        fields: dict[str, Any] = {"session": session, "below": below}
        if done:
            fields["done"] = True
        self._record("acked", fields)

    def stop(self) -> None:
        """Record a clean exit and flush: a log without ``stop`` means a killed process."""
        self._record("stop", {})
        self.flush()

    # ------------------------------------------------------------------ hot path

    def submitted(self, sub: Submission) -> None:
        """A client submitted ``sub``: one ``prop`` line and one ``submit`` record."""
        if self._course is None or self.role != "client":
            raise UsageError(f"only a client logs submissions, not a {self.role}")
        self._log.add(self._submit_line % (self._clock(), sub[0], sub[1], sub[2], _quote(sub[3])))
        self._course.add(course_line(sub[3]))

    def delivered(self, sub: Submission, instance: int, position: int) -> None:
        """A learner delivered ``sub`` (decided in ``instance``) as value number ``position``."""
        if self._course is None or self.role != "learner":
            raise UsageError(f"only a learner logs deliveries, not a {self.role}")
        client, session, seq, value = sub
        self._course.add(course_line(value))
        self._log.add(
            self._deliver_line
            % (self._clock(), position, instance, client, session, seq, _quote(value))
        )

    def message(
        self,
        direction: str,
        msg_or_kind: Any,
        group: Group | str | None,
        size: int,
        reason: str | None = None,
        *,
        sender: str | None = None,
        send_seq: int | None = None,
    ) -> None:
        """Record a datagram ``sent``, ``received`` or ``dropped`` (trace ``"messages"`` only).

        Args:
            direction: ``"sent"``, ``"received"`` or ``"dropped"``.
            msg_or_kind: the decoded message, or its :class:`Kind` (or kind name, or None
                when a datagram did not even decode).
            group: the multicast group it was sent to / heard on.
            size: datagram size in bytes.
            reason: why it was dropped (``"loss"``, ``"decode"``, ``"auth"``, ...).
            sender: process name of the sender, from the datagram's header (receipts).
            send_seq: the sender's sequence number of the datagram (from the header, or
                the number this process gave the datagram it sends).
        """
        if direction not in DIRECTIONS:
            raise UsageError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        if msg_or_kind is None or isinstance(msg_or_kind, str):
            kind, instance, rnd = msg_or_kind, None, None
        elif isinstance(msg_or_kind, Kind):
            kind, instance, rnd = msg_or_kind.name, None, None
        else:
            kind = msg_or_kind.kind.name
            instance, rnd = instance_of(msg_or_kind), round_of(msg_or_kind)
        if isinstance(group, Group):
            group = group.role
        record: dict[str, Any] = {
            "kind": kind,
            "instance": instance,
            "round": rnd,
            "group": group,
            "size": int(size),
        }
        if reason is not None:
            record["reason"] = reason
        if sender is not None:
            record["sender"] = sender
        if send_seq is not None:
            record["send_seq"] = int(send_seq)
        self._record(direction, record)

    def _no_message(self, *args: Any, **kwargs: Any) -> None:
        """Stands in for :meth:`message` when the trace level is ``values``."""

    # ------------------------------------------------------------------ files

    def flush(self) -> None:
        """Hand every buffered line to the OS (a client: the log first, then prop)."""
        if self._course is not None:
            self._course.flush()  # a client's prop file flushes its log first
        self._log.flush()

    def close(self) -> None:
        """Flush and close the files (idempotent). Does not write ``stop``."""
        self.flush()
        if self._course is not None:
            self._course.close()
        self._log.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventLog({str(self.run_dir)!r}, {self.role!r}, {self.id}, trace={self.trace!r})"


def _rename_reserved(fields: dict[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    """``fields`` with keys that would shadow a base key renamed ``key_``."""
    if reserved.isdisjoint(fields):
        return fields
    return {(f"{k}_" if k in reserved else k): v for k, v in fields.items()}
