"""A run directory read back into tidy pandas DataFrames.

:func:`load_run` reads what the processes of one run wrote (format: see
:mod:`paxos_edu.eventlog`): the JSON-lines logs ``<role><id>.jsonl`` and the course files
``prop<id>`` / ``learn<id>``. A directory holding only course files (made by the course's
own scripts) loads too, with fewer columns known. Other files are ignored.

Sources: a client's submissions come from the ``submit`` events of ``client<id>.jsonl``
when that file exists, else from ``prop<id>``; a learner's deliveries from the ``deliver``
events of ``learner<id>.jsonl``, else from ``learn<id>``. Only when every client and every
learner has a JSON log are submissions identified by ``(client, session, seq)``
(:attr:`Run.has_identities`); otherwise the checks compare value strings, as the course's
scripts do.

Damage: a last line without its newline (a process killed mid-write) is dropped with a
``warnings.warn`` naming file and line -- except in ``prop<id>`` files, often typed by
hand without a final newline, which are kept whole -- and so is a cut line followed by a
``start`` record (a client killed mid-write, then started again: it appends to its log).
Anything else that does not parse,
anywhere in a file, raises :class:`~paxos_edu.errors.UsageError` naming ``file:line``:
a table is never silently wrong.

Times are wall-clock seconds since the epoch (float; NaN when unknown), as written by
:class:`~paxos_edu.eventlog.EventLog`.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import CheckReport, check_sequences, check_values
from .errors import UsageError
from .messages import Submission
from .metrics import Metrics, run_metrics
from .processes import ROLES
from .trace import LEARNED, MESSAGES, NOTES, PROCESSES, PROPOSED, round_labels, table

_JSONL = re.compile(rf"({'|'.join(ROLES)})(\d+)\.jsonl")
_COURSE = re.compile(r"(prop|learn)(\d+)")
_BASE = ("t", "role", "id", "event")
_MESSAGE_EVENTS = frozenset({"sent", "received", "dropped"})
_STARTS = re.compile(rb'\{"t":[0-9.eE+-]+,"role":"[a-z]+","id":\d+,"event":"start"')
"""A ``start`` record: a damaged line just before one is the cut last line of a killed
life (the event log ends it with a newline when the process starts again)."""
# ---------------------------------------------------------------------- reading files


def _split_lines(data: bytes, *, skip_blank: bool) -> tuple[list[bytes], list[int], bool]:
    """Lines of a file (without ``\\n`` or a final ``\\r``), their 1-based numbers, and
    whether the last line lacks its newline. Blank lines are dropped when
    ``skip_blank`` (JSON logs); in course files an empty line is an empty value."""
    lines = data.split(b"\n")
    unterminated = lines[-1] != b""
    if not unterminated:
        lines.pop()
    if b"\r" in data:
        lines = [line.removesuffix(b"\r") for line in lines]
    numbers = list(range(1, len(lines) + 1))
    if skip_blank and (b"\n\n" in data or data.startswith(b"\n") or b"\r" in data):
        kept = [(line, n) for line, n in zip(lines, numbers, strict=True) if line]
        lines, numbers = [k[0] for k in kept], [k[1] for k in kept]
    return lines, numbers, unterminated


def _read_course_file(path: Path) -> list[str]:
    """Values of a ``prop``/``learn`` file, one per line. A blank line of a ``prop`` file
    is no value (a client skips blank input lines); in a ``learn`` file an empty line
    stays, as an empty value that some learner really printed."""
    lines, numbers, unterminated = _split_lines(path.read_bytes(), skip_blank=False)
    if path.name.startswith("prop"):  # the client's own rule: empty or whitespace only
        lines = [line for line in lines if line and not line.isspace()]
    if unterminated and path.name.startswith("learn"):
        warnings.warn(
            f"{path}:{numbers[-1]}: last line has no newline (learner killed mid-write?); ignored",
            stacklevel=3,
        )
        lines.pop()
    return [line.decode("utf-8", "surrogateescape") for line in lines]


# The hot events, written by EventLog from a fixed template: their lines are parsed by one
# regular expression over the whole file, about twice as fast as json.loads, and checked
# to be exactly the lines that name the event (else the generic JSON path reads the file).
_HOT: dict[str, tuple[str, tuple[str, ...]]] = {
    "client": ("submit", ("client", "session", "seq")),
    "learner": ("deliver", ("position", "instance", "client", "session", "seq")),
}


def _hot_columns(
    data: bytes, lines: list[bytes], unterminated: bool, role: str, pid: int
) -> tuple[dict[str, Any], list[int]] | None:
    """Columns of the hot event's lines, and the indices of the other lines; None when
    the fast path does not apply exactly."""
    if role not in _HOT:
        return None
    event, fields = _HOT[role]
    marker = b'"event":"%s"' % event.encode()
    complete = data[: data.rfind(b"\n") + 1] if unterminated else data
    expected = complete.count(marker)
    if not expected:
        return None
    ints = b"".join(b',"%s":(-?\\d+)' % f.encode() for f in fields)
    pattern = re.compile(
        rb'^\{"t":(-?[0-9.eE+]+),"role":"%s","id":%d,%s%s,"value":("[^"\\\n]*(?:\\.[^"\\\n]*)*")\}$'
        % (role.encode(), pid, marker, ints),
        re.MULTILINE,
    )
    rows = pattern.findall(complete)
    if len(rows) != expected:
        return None
    try:
        cols = list(zip(*rows, strict=True))
        n = len(rows)
        out: dict[str, Any] = {"t": np.fromiter(map(float, cols[0]), np.float64, count=n)}
        for name, col in zip(fields, cols[1:-1], strict=True):
            out[name] = np.fromiter(map(int, col), np.int64, count=n)
        out["value"] = json.loads(b"[" + b",".join(cols[-1]) + b"]")
    except (ValueError, OverflowError):
        return None
    last = len(lines) - 1 if unterminated else len(lines)
    others = [i for i, line in enumerate(lines) if marker not in line or i == last]
    return out, others


def _read_jsonl(
    path: Path, role: str | None = None, pid: int = 0
) -> tuple[list[Any], list[int], dict[str, Any] | None]:
    """The records of a JSON-lines log with their line numbers, and (given the file's
    role and id) the hot event's columns when the fast path applies."""
    data = path.read_bytes()
    lines, numbers, unterminated = _split_lines(data, skip_blank=True)
    fast = None if role is None else _hot_columns(data, lines, unterminated, role, pid)
    hot = None
    if fast is not None:
        hot, others = fast
        lines = [lines[i] for i in others]
        numbers = [numbers[i] for i in others]
    if unterminated and lines:
        try:
            json.loads(lines[-1])  # complete: only the newline is missing
        except ValueError:
            warnings.warn(
                f"{path}:{numbers[-1]}: truncated last line (process killed mid-write?); ignored",
                stacklevel=3,
            )
            lines.pop()
            numbers.pop()
    try:  # one C-level parse of the whole file is the fast path ...
        records = json.loads(b"[" + b",".join(lines) + b"]")
        if len(records) != len(lines):
            raise ValueError("a line holds more than one JSON value")
    except ValueError:  # ... and line by line finds where it breaks
        records, kept = [], []
        for i, (line, number) in enumerate(zip(lines, numbers, strict=True)):
            try:
                records.append(json.loads(line))
                kept.append(number)
            except ValueError as exc:
                if i + 1 < len(lines) and _STARTS.match(lines[i + 1]):
                    warnings.warn(f"{path}:{number}: line cut by a kill before the process "
                                  "started again; ignored", stacklevel=3)
                    continue
                raise UsageError(f"{path}:{number}: not a JSON event record ({exc})") from None
        numbers = kept
    return records, numbers, hot


@dataclass
class _Log:
    """One process's JSON log while loading: records grouped by event."""

    role: str
    id: int
    path: Path
    records: list[dict[str, Any]]
    numbers: list[int]
    start: dict[str, Any] | None = None
    stop: float | None = None
    counters: dict[str, Any] | None = None
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hot: dict[str, Any] | None = None
    last_t: float = math.nan
    """Columns of the submit/deliver lines read by the fast path (then not in groups)."""

    @property
    def name(self) -> str:
        return f"{self.role}{self.id}"

    def group(self, key: str) -> list[dict[str, Any]]:
        """Records of one event (``"message"``: sent, received and dropped), in file order."""
        return self.groups.get(key, [])

    def fail(self, record: dict[str, Any], what: str) -> UsageError:
        index = next(i for i, r in enumerate(self.records) if r is record)
        return UsageError(f"{self.path}:{self.numbers[index]}: {what}")


def _load_log(path: Path, role: str, pid: int) -> _Log:
    records, numbers, hot = _read_jsonl(path, role, pid)
    if hot is not None and any(
        isinstance(r, dict) and r.get("event") == _HOT[role][0] for r in records
    ):  # a hot line written differently escaped the fast path: read it all generically
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # already warned
            records, numbers, hot = _read_jsonl(path)
    log = _Log(role, pid, path, records, numbers, hot=hot)
    groups = log.groups
    for index, record in enumerate(records):
        try:
            event = record["event"]
            record["t"] + 0.0  # noqa: B018 -- a number, or TypeError
            same = record["role"] == role and record["id"] == pid
        except (TypeError, KeyError):
            raise UsageError(f"{path}:{numbers[index]}: not a paxos_edu event record") from None
        if not same:
            raise UsageError(
                f"{path}:{numbers[index]}: record of {record['role']}{record['id']} "
                f"in the log of {role}{pid}"
            )
        key = "message" if event in _MESSAGE_EVENTS else event
        if key in groups:
            groups[key].append(record)
        else:
            groups[key] = [record]
    times = [float(records[-1]["t"])] if records else []
    if hot is not None and len(hot["t"]):
        times.append(float(hot["t"][-1]))
    log.last_t = max(times, default=math.nan)
    starts = groups.pop("start", [])
    log.start = starts[0] if starts else None
    stops = groups.pop("stop", [])
    log.stop = float(stops[-1]["t"]) if stops else None
    counters = groups.pop("counters", [])
    if counters:
        log.counters = counters[-1].get("counters")
        if not isinstance(log.counters, dict):
            raise log.fail(counters[-1], "'counters' record without a counters dict")
    return log


_INT, _FLOAT, _STR, _OPT_INT, _OPT_STR = "int", "float", "str", "int?", "str?"


_TYPES = {
    _INT: {int},
    _FLOAT: {int, float},
    _STR: {str},
    _OPT_INT: {int, type(None)},
    _OPT_STR: {str, type(None)},
}


def _fits(record: dict[str, Any], name: str, kind: str) -> bool:
    if name not in record and not kind.endswith("?"):
        return False
    value = record.get(name)
    return type(value) in _TYPES[kind] and not (type(value) is int and abs(value) >= 2**63)


def _columns(log: _Log, records: list[dict[str, Any]], spec: dict[str, str]) -> dict[str, Any]:
    """Typed columns from ``records``; a record that does not fit ``spec`` raises
    UsageError naming its line (the slow search runs only then)."""
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        try:
            column: Any = (
                [r[name] for r in records]
                if kind in (_INT, _FLOAT, _STR)
                else [r.get(name) for r in records]
            )
            types = set(map(type, column))
            if not types <= _TYPES[kind]:
                raise TypeError(name)
            if kind == _OPT_INT:
                column = pd.array(column, dtype="Int64")
            elif kind in (_INT, _FLOAT):
                column = np.array(column, dtype=np.int64 if kind == _INT else np.float64)
        except (KeyError, TypeError, OverflowError):
            bad = next(r for r in records if not _fits(r, name, kind))
            raise log.fail(bad, f"{bad['event']!r} record: missing or malformed {name!r}") from None
        out[name] = column
    return out


# ---------------------------------------------------------------------- tables


def _proposed_table(logs: dict[tuple[str, int], _Log], props: dict[int, Path]) -> pd.DataFrame:
    parts = []
    for cid in sorted({i for r, i in logs if r == "client"} | set(props)):
        log = logs.get(("client", cid))
        if log is not None:
            cols = (
                dict(log.hot)
                if log.hot
                else _columns(
                    log,
                    log.group("submit"),
                    {"client": _INT, "session": _INT, "seq": _INT, "value": _STR, "t": _FLOAT},
                )
            )
            cols["time"] = cols.pop("t")
        else:
            values = _read_course_file(props[cid])
            n = len(values)
            cols = {
                "client": np.full(n, cid, dtype=np.int64),
                "session": np.zeros(n, dtype=np.int64),
                "seq": np.arange(n, dtype=np.int64),
                "value": values,
                "time": np.full(n, np.nan),
            }
        parts.append(table(PROPOSED, cols))
    return _concat(parts, table(PROPOSED))


def _learned_table(logs: dict[tuple[str, int], _Log], learns: dict[int, Path]) -> pd.DataFrame:
    parts = []
    for lid in sorted({i for r, i in logs if r == "learner"} | set(learns)):
        log = logs.get(("learner", lid))
        if log is not None:
            cols = dict(log.hot) if log.hot else _columns(
                log,
                log.group("deliver"),
                {"position": _INT, "instance": _INT, "value": _STR, "client": _INT,
                 "session": _INT, "seq": _INT, "t": _FLOAT},
            )  # fmt: skip
            cols["time"] = cols.pop("t")
            for name in ("instance", "client", "session", "seq"):
                cols[name] = pd.array(cols[name], dtype="Int64")
            if not np.array_equal(cols["position"], np.arange(len(cols["position"]))):
                warnings.warn(
                    f"{log.path}: delivery positions are not 0, 1, 2, ...; the table keeps "
                    "the file's order",
                    stacklevel=3,
                )
        else:
            values = _read_course_file(learns[lid])
            n = len(values)
            na = pd.array([None] * n, dtype="Int64")
            cols = {"position": np.arange(n, dtype=np.int64), "instance": na, "value": values,
                    "client": na, "session": na, "seq": na, "time": np.full(n, np.nan)}  # fmt: skip
        cols["learner"] = np.full(len(cols["value"]), lid, dtype=np.int64)
        parts.append(table(LEARNED, cols))
    return _concat(parts, table(LEARNED))


def _concat(parts: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _messages_table(logs: Iterable[_Log]) -> pd.DataFrame:
    parts = []
    for log in logs:
        records = log.group("message")
        if not records:
            continue
        cols = _columns(
            log,
            records,
            {"t": _FLOAT, "event": _STR, "kind": _OPT_STR, "instance": _OPT_INT,
             "round": _OPT_INT, "group": _OPT_STR, "size": _INT, "reason": _OPT_STR,
             "sender": _OPT_STR, "send_seq": _OPT_INT},
        )  # fmt: skip
        cols["time"] = cols.pop("t")
        cols["direction"] = cols.pop("event")
        # A send is its own process's: sender filled in, so sends and receipts pair on
        # (sender, send_seq) alone.
        sent = np.asarray(cols["direction"], dtype=object) == "sent"
        cols["sender"] = np.where(sent, log.name, np.asarray(cols["sender"], dtype=object))
        cols["process"], cols["role"] = log.name, log.role
        cols["id"] = np.full(len(records), log.id, dtype=np.int64)
        parts.append(pd.DataFrame(cols))
    if not parts:
        return table(MESSAGES)
    messages = pd.concat(parts, ignore_index=True).sort_values("time", kind="stable")
    messages["round_label"] = round_labels(messages["round"])
    return table(MESSAGES, messages.reset_index(drop=True))


def _counters_table(logs: Iterable[_Log]) -> pd.DataFrame:
    rows = [(log, log.counters) for log in logs if log.counters is not None]
    if not rows:
        return pd.DataFrame(columns=["process", "role", "id"])
    flat = pd.json_normalize([c for _, c in rows], sep=".")
    head = pd.DataFrame(
        {
            "process": [log.name for log, _ in rows],
            "role": [log.role for log, _ in rows],
            "id": [log.id for log, _ in rows],
        }
    )
    return pd.concat([head, flat], axis=1)


def _processes_table(logs: Iterable[_Log]) -> pd.DataFrame:
    rows = []
    for log in logs:
        start = log.start or {}
        rows.append(
            {
                "process": log.name,
                "role": log.role,
                "id": log.id,
                "pid": start.get("pid"),
                "trace": start.get("trace"),
                "session": start.get("session"),
                "started": float(start["t"]) if start else math.nan,
                "ended": log.last_t,
                "stopped": log.stop is not None,
            }
        )
    processes = pd.DataFrame(rows, columns=list(PROCESSES))
    try:
        return table(PROCESSES, processes)
    except (TypeError, ValueError):
        return processes  # the runtime wrote something else (pid, session): keep it as written


def _notes_table(logs: Iterable[_Log]) -> pd.DataFrame:
    rows = [
        (float(r["t"]), log.name, log.role, log.id, r.get("note"),
         {k: v for k, v in r.items() if k not in _BASE and k != "note"})
        for log in logs
        for r in log.group("note")
    ]  # fmt: skip
    return table(NOTES, rows).sort_values("time", kind="stable", ignore_index=True)


# ---------------------------------------------------------------------- loading


def load_run(path: str | Path) -> Run:
    """Read a run directory into a :class:`Run`.

    Raises:
        UsageError: missing path, not a directory, no ``prop``/``learn``/``.jsonl`` file
            in it, or a damaged line that is not the last one of its file (the message
            names ``file:line``).
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such run directory")
    if not path.is_dir():
        raise UsageError(f"{path}: not a directory (a run directory holds prop/learn files)")
    jsonl: dict[tuple[str, int], Path] = {}
    course: dict[str, dict[int, Path]] = {"prop": {}, "learn": {}}
    for entry in path.iterdir():
        if not entry.is_file():
            continue
        if m := _JSONL.fullmatch(entry.name):
            jsonl[(m[1], int(m[2]))] = entry
        elif m := _COURSE.fullmatch(entry.name):
            course[m[1]][int(m[2])] = entry
    if not jsonl and not course["prop"] and not course["learn"]:
        raise UsageError(
            f"{path}: not a run directory: no prop<id>, learn<id> or <role><id>.jsonl file"
        )
    logs = {key: _load_log(p, *key) for key, p in sorted(jsonl.items())}
    clients = sorted({i for r, i in logs if r == "client"} | set(course["prop"]))
    learners = sorted({i for r, i in logs if r == "learner"} | set(course["learn"]))
    has_identities = all(("client", c) in logs for c in clients) and all(
        ("learner", i) in logs for i in learners
    )
    live = sorted(
        i for i in learners if ("learner", i) not in logs or logs[("learner", i)].stop is not None
    )
    return Run(
        path=path,
        proposed=_proposed_table(logs, course["prop"]),
        learned=_learned_table(logs, course["learn"]),
        messages=_messages_table(logs.values()),
        counters=_counters_table(logs.values()),
        processes=_processes_table(logs.values()),
        notes=_notes_table(logs.values()),
        learners=learners,
        clients=clients,
        live_learners=live,
        has_identities=has_identities,
        log_paths=[log.path for log in logs.values()],
    )


# ---------------------------------------------------------------------- the Run


@dataclass(eq=False)
class Run:
    """One run directory as pandas tables; build it with :func:`load_run`.

    Attributes:
        path: the run directory.
        proposed: one row per submission, by client, in submission order: ``client``,
            ``session``, ``seq``, ``value``, ``time`` (submit time). From ``prop<id>``
            alone: ``session`` 0, ``seq`` = line index, ``time`` NaN.
        learned: one row per delivery, by learner then position: ``learner``,
            ``position`` (0-based), ``instance``, ``value``, ``client``, ``session``,
            ``seq`` (nullable ints), ``time`` (delivery time). From ``learn<id>`` alone
            only ``learner``, ``position`` and ``value`` are known.
        messages: at trace level ``messages`` only (else empty), by time: ``time``,
            ``process`` (``"proposer1"``), ``role``, ``id``, ``direction`` (sent /
            received / dropped), ``kind`` (``"PHASE2A"``), ``instance``, ``round`` (raw
            number), ``round_label`` (``"3.1"``, as :func:`~paxos_edu.rounds.format_round`),
            ``group`` (``"acceptors"``), ``size`` (bytes), ``reason`` (why dropped),
            ``sender`` (process name of the sender, from the datagram's header; the
            process itself on a send; None when a datagram did not decode), ``send_seq``
            (the sender's number of the datagram): a receipt and its send share both.
        counters: one row per process that wrote counters at exit: ``process``, ``role``,
            ``id``, then one column per counter, nested dicts flattened with dots
            (``sent.PHASE2A``).
        processes: one row per JSON log: ``process``, ``role``, ``id``, ``pid``,
            ``trace``, ``session``, ``started`` (time of its ``start`` record, NaN if
            none), ``ended`` (time of its last record), ``stopped`` (True when it wrote
            ``stop``: a clean exit).
        notes: the roles' notes by time: ``time``, ``process``, ``role``, ``id``, ``note``
            (e.g. ``"leader"``), ``fields`` (dict of the note's fields).
        learners, clients: sorted ids, from JSON logs and course files.
        live_learners: learners that did not crash: those whose JSON log ends with a
            ``stop`` record, plus learners known only from a ``learn<id>`` file (no crash
            information: assumed live). Override with ``check(live_learners=...)``.
        has_identities: True when every client and learner wrote a JSON log, so that
            submissions are compared by ``(client, session, seq)``; False with course
            files (values compared as strings).
        traced: True when some process logged messages (trace level ``messages``).
    """

    path: Path
    proposed: pd.DataFrame
    learned: pd.DataFrame
    messages: pd.DataFrame
    counters: pd.DataFrame
    processes: pd.DataFrame
    notes: pd.DataFrame
    learners: list[int]
    clients: list[int]
    live_learners: list[int]
    has_identities: bool
    log_paths: list[Path]

    @property
    def traced(self) -> bool:
        return len(self.messages) > 0

    @cached_property
    def events(self) -> pd.DataFrame:
        """Every JSON-log record, by time: ``t``, ``process``, ``role``, ``id``, ``event``
        and ``fields`` (a dict of the record's other fields).

        Built on first access by reading the logs again: keeping every record of a large
        run in memory would cost far more than the tidy tables.
        """
        rows: dict[str, list[Any]] = {k: [] for k in ("t", "process", "role", "id", "event")}
        fields: list[dict[str, Any]] = []
        for path in self.log_paths:
            m = _JSONL.fullmatch(path.name)
            assert m is not None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # already warned by load_run
                records, _, _ = _read_jsonl(path)
            n = len(records)
            rows["t"].extend(float(r["t"]) for r in records)
            rows["process"].extend([path.stem] * n)
            rows["role"].extend([m[1]] * n)
            rows["id"].extend([int(m[2])] * n)
            rows["event"].extend(r["event"] for r in records)
            fields.extend({k: v for k, v in r.items() if k not in _BASE} for r in records)
        table = pd.DataFrame(rows)
        table["fields"] = pd.Series(fields, dtype=object)
        return table.sort_values("t", kind="stable", ignore_index=True)

    def learned_sequences(self, *, named: bool = True) -> dict[int, list[Any]]:
        """Per learner, what it delivered in order: :class:`Submission` tuples when
        :attr:`has_identities` (plain tuples unless ``named``), else value strings."""
        out: dict[int, list[Any]] = {lid: [] for lid in self.learners}
        for lid, rows in self.learned.groupby("learner", sort=True):
            if self.has_identities:
                out[int(lid)] = _submissions(rows, named=named)
            else:
                out[int(lid)] = rows["value"].tolist()
        return out

    def check(
        self, live_learners: Iterable[int] | None = None, expect_complete: bool = True
    ) -> CheckReport:
        """Check total order, integrity, validity and completeness of this run.

        Args:
            live_learners: learners that must have learned everything (default:
                :attr:`live_learners`).
            expect_complete: False when learners may hold only a prefix (run stopped
                early, majority of acceptors down): completeness is not checked.
        """
        live = self.live_learners if live_learners is None else live_learners
        learned = self.learned_sequences(named=False)
        if self.has_identities:
            proposed = _submissions(self.proposed, named=False) if self.clients else None
            return check_sequences(
                learned, proposed, live_learners=live, expect_complete=expect_complete
            )
        by_client = None
        if self.clients:
            by_client = {c: [] for c in self.clients}
            for cid, rows in self.proposed.groupby("client", sort=True):
                by_client[int(cid)] = rows["value"].tolist()
        return check_values(learned, by_client, live_learners=live, expect_complete=expect_complete)

    def metrics(self, bin_s: float | None = None) -> Metrics:
        """Latency, throughput, messages per value, retries and drops of this run.

        Args:
            bin_s: width of the throughput bins in seconds (default: a round width that
                gives about 50 bins over the run).
        """
        return run_metrics(self, bin_s)

    def __repr__(self) -> str:
        sizes = self.learned.groupby("learner").size()
        learned = ", ".join(f"{lid}: {sizes.get(lid, 0)}" for lid in self.learners)
        return (
            f"Run({str(self.path)!r}): {len(self.clients)} clients proposed "
            f"{len(self.proposed)} values; {len(self.learners)} learners "
            f"({len(self.live_learners)} live) learned {{{learned}}}; identities "
            f"{'yes' if self.has_identities else 'no'}; traced {'yes' if self.traced else 'no'}"
        )


def _submissions(rows: pd.DataFrame, *, named: bool = True) -> list[Any]:
    """Rows as Submissions (or, for the checks, plain 4-tuples: several times cheaper
    to build and equal to the Submissions they stand for)."""
    columns = [rows[c].tolist() for c in ("client", "session", "seq", "value")]
    return list(map(Submission, *columns)) if named else list(zip(*columns, strict=True))
