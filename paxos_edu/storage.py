"""Stable storage for acceptors: an append-only log of checksummed records, group commit.

"Paxos Made Simple" assumes that "an acceptor must remember this information even if it
fails and then restarts". This module is that memory for real processes; the
simulator models it with a list per acceptor (see :meth:`paxos_edu.sim.Simulation.restart`).

What is stored
--------------
The acceptor (sans-I/O) returns a :class:`~paxos_edu.effects.Persist` effect for every
change of its state; each carries one *entry*:

* :class:`~paxos_edu.effects.Promised` ``(rnd, instance)`` -- a promise, for one instance
  or (``instance is None``) for every instance, as a multi-Paxos prepare makes it;
* :class:`~paxos_edu.effects.Voted` ``(instance, rnd, value)`` -- a vote (which also
  promises ``rnd`` for that instance).

Replaying the entries in order with :meth:`paxos_edu.roles.Acceptor.restore` rebuilds
``rnd``, ``max_slot_rnd`` and every slot's ``rnd``, ``v_rnd``, ``v_val``.

Theory of operation
-------------------
**Group commit.** :meth:`AcceptorStorage.append` only encodes an entry into a buffer;
:meth:`AcceptorStorage.commit` writes the buffer as *one record* with one ``write`` and
makes it durable with one ``fsync``. The runtime calls ``commit`` once per turn of its
event loop -- after a burst of up to 256 datagrams -- and only then sends the 1B/2B of
that turn: a reply never reveals a promise or vote that is not on disk, and the cost is
one fsync per batch of datagrams, not one per message.

**Records.** The file starts with :data:`FILE_MAGIC`; then records, each
``magic (4 bytes) | length (4) | CRC-32 of length and payload (4) | payload``, the
payload being the entries of one commit. A record is *whole* when its length fits in
the file and its CRC matches.

**Recovery.** Opening reads every record in order and stops at the first one that is
not whole. Nothing after the last whole record was ever acknowledged by an fsync (a
commit's bytes are written in one go and the replies wait for its fsync), so a torn tail
-- SIGKILL in the middle of ``write``, a power cut before the page cache reached the
disk -- is *cut* there: the file is truncated to the last whole record and recovery goes
on. A bad record *followed* by a whole one is not a torn tail but damage to data that
was acknowledged: recovery refuses (:class:`StorageError`) instead of guessing, since an
acceptor that forgot a promise can break safety.

**Compaction.** The log grows with every commit; when it passes ``compact_bytes`` (and
twice its size right after the previous compaction, so the work stays linear) the
runtime calls :meth:`AcceptorStorage.compact` with the acceptor's current state
(:meth:`paxos_edu.roles.Acceptor.state_entries`): those entries are written to a new
file, fsynced, renamed over the log and the directory fsynced. A crash at any moment
leaves either the old log or the new one, both complete.

**Failures.** A directory that cannot be created or written, a full disk (``ENOSPC``),
an I/O error: :class:`StorageError`, naming the file and the cause. The runtime exits
on it (status 1) -- after a failed ``fsync`` the kernel may have dropped the data, so
the acceptor never retries and never sends the replies of that turn.

**One process per directory.** ``<directory>/acceptor<id>/lock`` is held with
``flock`` while the storage is open: a second acceptor with the same id is refused.

**Without storage: has this acceptor run before?** :func:`ran_before` and
:func:`mark_ran` keep an empty marker file per group, port, role and id under the
system's temporary directory. For an acceptor it only tells the runtime whether to
*listen before voting* (refusing amnesia, see :mod:`paxos_edu.roles.acceptor`): a first
start votes at once, a restart listens first. For a proposer (which keeps no disk state)
it tells a classic-mode proposer to prepare every instance at its first take-over, since
nothing else would tell it of the history decided in its earlier life
(:class:`paxos_edu.roles.proposer.Proposer`, ``restarted``). For acceptors it is a
detector for a common mistake, not a guarantee (a reboot clears it); the guarantee is
``storage``.

Old votes do not stay in RAM either way: the acceptor keeps the recent ones and reads
older ones back from its archive (:mod:`paxos_edu.archive`); this log is what survives a
crash, and compaction keeps the latest vote of every instance, so it grows with the history.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from .effects import Promised, Voted
from .errors import PaxosEduError
from .messages import Batch, Submission

__all__ = [
    "AcceptorStorage", "Entry", "FILE_MAGIC", "Recovery", "StorageError", "acceptor_dir",
    "decode_entries", "encode_entry", "mark_ran", "ran_before", "read_entries",
]

Entry = Union[Promised, Voted]

FILE_MAGIC = b"PXEDUAL1"
"""First bytes of an acceptor log: format name and version 1."""
RECORD_MAGIC = b"PXR1"
_RECORD = struct.Struct("!4sII")  # magic, payload length, crc32(length + payload)
MAX_RECORD = 64 << 20
"""Largest payload a record may announce; a larger length is damage, not data."""
DEFAULT_COMPACT_BYTES = 64 << 20
"""Log size from which the runtime compacts (see the module docstring)."""
SNAPSHOT_RECORD = 1 << 20
"""Compaction writes records of about this many bytes."""

_PROMISE_ALL = struct.Struct("!BQ")
_PROMISE_ONE = struct.Struct("!BQQ")
_VOTE = struct.Struct("!BQQI")  # kind, instance, rnd, number of submissions
_TEXT_LEN = struct.Struct("!I")
_K_PROMISE_ALL, _K_PROMISE_ONE, _K_VOTE = 1, 2, 3


class StorageError(PaxosEduError):
    """Acceptor storage cannot be used: unwritable, full, damaged or in use; the message
    names the file and says what to do."""


def acceptor_dir(directory: Union[str, os.PathLike[str]], acceptor_id: int) -> Path:
    """Where acceptor ``acceptor_id`` keeps its state inside the ``storage`` directory."""
    return Path(directory) / f"acceptor{acceptor_id}"


def _marker(group: tuple[str, int], id: int, role: str) -> Path:
    base = Path(tempfile.gettempdir()) / f"paxos_edu-{os.getuid()}" / "ran"
    return base / f"{group[0]}-{group[1]}-{role}{id}"


def ran_before(group: tuple[str, int], id: int, role: str = "acceptor") -> bool:
    """Whether ``role`` ``id`` of the group ``(ip, port)`` (the role's own group) was
    started on this machine before (see the module docstring)."""
    return _marker(group, id, role).exists()


def mark_ran(group: tuple[str, int], id: int, role: str = "acceptor") -> None:
    """Remember that this process started (best effort: a failure only loses the hint)."""
    path = _marker(group, id, role)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass


# ---------------------------------------------------------------------- entries


def encode_entry(entry: Entry) -> bytes:
    """The bytes of one entry inside a record's payload."""
    if entry.__class__ is Voted:
        value = entry.value
        n = len(value)
        head = _VOTE.pack(_K_VOTE, entry.instance, entry.rnd, n)
        if n == 0:
            return head + _TEXT_LEN.pack(0)
        clients, sessions, seqs, values = zip(*value)
        blob = "\n".join(values).encode()
        return b"".join((head, struct.pack(f"!{n}I", *clients), struct.pack(f"!{n}I", *sessions),
                         struct.pack(f"!{n}Q", *seqs), _TEXT_LEN.pack(len(blob)), blob))
    if entry.instance is None:
        return _PROMISE_ALL.pack(_K_PROMISE_ALL, entry.rnd)
    return _PROMISE_ONE.pack(_K_PROMISE_ONE, entry.instance, entry.rnd)


def decode_entries(payload: bytes) -> list[Entry]:
    """Every entry of one record's payload; ValueError when it does not parse."""
    out: list[Entry] = []
    off, end = 0, len(payload)
    try:
        while off < end:
            kind = payload[off]
            if kind == _K_VOTE:
                _, instance, rnd, n = _VOTE.unpack_from(payload, off)
                off += _VOTE.size
                clients = struct.unpack_from(f"!{n}I", payload, off)
                sessions = struct.unpack_from(f"!{n}I", payload, off + 4 * n)
                seqs = struct.unpack_from(f"!{n}Q", payload, off + 8 * n)
                off += 16 * n
                (size,) = _TEXT_LEN.unpack_from(payload, off)
                off += _TEXT_LEN.size
                if off + size > end:
                    raise ValueError("vote text runs past the record")
                values = payload[off:off + size].decode().split("\n") if n else []
                off += size
                if len(values) != n:
                    raise ValueError(f"vote announces {n} values but holds {len(values)}")
                batch: Batch = tuple(map(Submission._make, zip(clients, sessions, seqs, values)))
                out.append(Voted(instance, rnd, batch))
            elif kind == _K_PROMISE_ALL:
                _, rnd = _PROMISE_ALL.unpack_from(payload, off)
                off += _PROMISE_ALL.size
                out.append(Promised(rnd, None))
            elif kind == _K_PROMISE_ONE:
                _, instance, rnd = _PROMISE_ONE.unpack_from(payload, off)
                off += _PROMISE_ONE.size
                out.append(Promised(rnd, instance))
            else:
                raise ValueError(f"unknown entry kind {kind}")
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None
    return out


def _write_all(fd: int, data: bytes) -> int:
    """Write every byte of ``data`` to ``fd``; returns ``len(data)``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def _frame(payload: bytes) -> bytes:
    length = len(payload)
    crc = zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "big")))
    return _RECORD.pack(RECORD_MAGIC, length, crc) + payload


# ---------------------------------------------------------------------- reading a log


@dataclass
class Recovery:
    """What opening a log found: entries replayed, records read, a torn tail cut."""

    entries: list[Entry]
    records: int = 0
    size: int = 0
    """Bytes of the log after recovery (the torn tail cut off)."""
    cut_bytes: int = 0
    """Bytes of a torn tail removed (0: the log ended on a whole record)."""
    cut_reason: str = ""


def _whole_record(data: bytes, off: int) -> tuple[Optional[bytes], str]:
    """The payload of the record at ``off`` if it is whole, else None and why not."""
    if off + _RECORD.size > len(data):
        return None, "record header cut short"
    magic, length, crc = _RECORD.unpack_from(data, off)
    if magic != RECORD_MAGIC:
        return None, "no record magic"
    if length > MAX_RECORD:
        return None, f"record length {length} is implausible"
    start = off + _RECORD.size
    if start + length > len(data):
        return None, f"record of {length} bytes cut short"
    payload = data[start:start + length]
    if zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "big"))) != crc:
        return None, "checksum mismatch"
    return payload, ""


def _scan(data: bytes, path: Path) -> tuple[list[Entry], int, int, str]:
    """Entries of every whole record, number of records, end of the last whole one, and
    why the record after it is not whole ("" when the data ends there)."""
    if len(data) < len(FILE_MAGIC):
        # A log shorter than its magic was being created: it never held a record.
        if FILE_MAGIC.startswith(data):
            return [], 0, 0, "file header cut short" if data else ""
        raise StorageError(f"{path}: not an acceptor log (bad file header)")
    if not data.startswith(FILE_MAGIC):
        raise StorageError(f"{path}: not an acceptor log (bad file header)")
    entries: list[Entry] = []
    off = len(FILE_MAGIC)
    records = 0
    while off < len(data):
        payload, why = _whole_record(data, off)
        if payload is None:
            break
        try:
            entries.extend(decode_entries(payload))
        except ValueError as exc:  # a whole record that does not parse: written wrongly
            raise StorageError(f"{path}: record at byte {off} does not parse ({exc})") from None
        off += _RECORD.size + len(payload)
        records += 1
    else:
        return entries, records, off, ""
    # Something after ``off`` is not whole. A torn tail has no whole record after it.
    later = data.find(RECORD_MAGIC, off + 1)
    while later != -1:
        if _whole_record(data, later)[0] is not None:
            raise StorageError(
                f"{path}: damaged record at byte {off} ({why}) before whole records: this "
                "is not a torn tail but damage to acknowledged promises or votes; restore "
                "the directory from a copy, or remove it and replace the acceptor by one "
                "that never ran (--fresh) once the others hold a quorum")
        later = data.find(RECORD_MAGIC, later + 1)
    return entries, records, off, why


def read_entries(path: Union[str, os.PathLike[str]]) -> Recovery:
    """Read a log without changing it (for tests, tools, and serving old votes later)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Recovery([])
    except OSError as exc:
        raise StorageError(f"{path}: cannot read acceptor log: {exc.strerror or exc}") from None
    entries, records, end, why = _scan(data, path)
    header = len(FILE_MAGIC) if end else 0
    return Recovery(entries, records, max(end, header), len(data) - end, why)


# ---------------------------------------------------------------------- the storage


class AcceptorStorage:
    """The durable memory of one acceptor: ``<directory>/acceptor<id>/log``.

    Args:
        directory: the ``storage`` setting; created if missing.
        acceptor_id: the acceptor's id.
        compact_bytes: log size from which :meth:`should_compact` says yes.
        fsync: False skips ``fsync`` (benchmarks of the write path only; never in use).

    Attributes:
        recovery: what opening found (entries to :meth:`Acceptor.restore`, tail cut).
        fsyncs, commits, bytes_written, compactions: counters for the event log.

    Raises:
        StorageError: the directory cannot be created or written, the log is damaged,
            or another process holds this acceptor's storage.
    """

    def __init__(self, directory: Union[str, os.PathLike[str]], acceptor_id: int, *,
                 compact_bytes: int = DEFAULT_COMPACT_BYTES, fsync: bool = True) -> None:
        self.dir = acceptor_dir(directory, acceptor_id)
        self.path = self.dir / "log"
        self.compact_bytes = compact_bytes
        self._fsync = fsync
        self._pending: list[bytes] = []
        self._fd: Optional[int] = None
        self._lock_fd: Optional[int] = None
        self.fsyncs = self.commits = self.bytes_written = self.compactions = 0
        self.failed = False
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                self._why(exc, f"cannot create the storage directory {self.dir}")) from None
        self._lock()
        try:
            self.recovery = self._recover()
        except BaseException:
            self.close()
            raise
        self.size = self.recovery.size
        self._compacted_size = self.size
        self.recovered_entries = len(self.recovery.entries)

    def release_recovery(self) -> None:
        """Drop the recovered entries once the acceptor replayed them (bounded memory: a
        long log must not stay in RAM as Python objects); the counters keep their number."""
        self.recovery.entries = []

    # ------------------------------------------------------------------ opening

    def _why(self, exc: OSError, what: str) -> str:
        if exc.errno == errno.ENOSPC:
            cause = "the disk is full (ENOSPC)"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            cause = f"not writable ({exc.strerror})"
        else:
            cause = exc.strerror or str(exc)
        return (f"{what}: {cause}; the acceptor stops so that it never sends a promise or "
                "vote that is not on disk")

    def _lock(self) -> None:
        lock = self.dir / "lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(self._why(exc, f"cannot open {lock}")) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StorageError(f"{self.dir} is in use by another acceptor process with the "
                               "same id; stop it first (two acceptors must never share an "
                               "identity)") from None
        self._lock_fd = fd

    def _recover(self) -> Recovery:
        recovery = read_entries(self.path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(self._why(exc, f"cannot open {self.path}")) from None
        self._fd = fd
        try:
            if recovery.size == 0:  # new (or never got past its header): start it afresh
                os.ftruncate(fd, 0)
                os.write(fd, FILE_MAGIC)
                self._sync(fd)
                self._sync_dir()
                recovery.size = len(FILE_MAGIC)
            elif recovery.cut_bytes:
                os.ftruncate(fd, recovery.size)
                self._sync(fd)
            os.lseek(fd, recovery.size, os.SEEK_SET)
        except OSError as exc:
            raise StorageError(self._why(exc, f"cannot write {self.path}")) from None
        return recovery

    def _sync(self, fd: int) -> None:
        if self._fsync:
            os.fsync(fd)
            self.fsyncs += 1

    def _sync_dir(self) -> None:
        if not self._fsync:
            return
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ writing

    @property
    def pending(self) -> bool:
        """Entries appended since the last commit."""
        return bool(self._pending)

    def append(self, entry: Entry) -> None:
        """Add ``entry`` to the next commit (nothing is written yet)."""
        self._pending.append(encode_entry(entry))

    def commit(self) -> int:
        """Write the appended entries as one record and fsync it; returns bytes written.

        Raises:
            StorageError: the write or the fsync failed (disk full, I/O error). The
                storage is unusable afterwards: the caller must stop, not retry.
        """
        if not self._pending:
            return 0
        if self.failed or self._fd is None:
            raise StorageError(f"{self.path}: storage already failed or closed")
        record = _frame(b"".join(self._pending))
        self._pending.clear()
        try:
            view = memoryview(record)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._sync(self._fd)
        except OSError as exc:
            self.failed = True
            raise StorageError(self._why(exc, f"cannot write {self.path}")) from None
        self.size += len(record)
        self.commits += 1
        self.bytes_written += len(record)
        return len(record)

    def should_compact(self) -> bool:
        """The log passed ``compact_bytes`` and doubled since the last compaction."""
        return self.size >= self.compact_bytes and self.size >= 2 * self._compacted_size

    def compact(self, entries: Iterable[Entry]) -> None:
        """Replace the log by one holding just ``entries`` (the acceptor's whole state).

        Written to ``log.new``, fsynced, renamed over ``log``, directory fsynced: a crash
        at any point leaves one complete log. Pending entries are committed first.
        """
        self.commit()
        new = self.dir / "log.new"
        try:
            fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                # Record by record (about SNAPSHOT_RECORD bytes each): the state may be
                # far larger than RAM holds (archived votes, read back from disk).
                size = _write_all(fd, FILE_MAGIC)
                payload: list[bytes] = []
                payload_size = 0
                for entry in entries:
                    data = encode_entry(entry)
                    payload.append(data)
                    payload_size += len(data)
                    if payload_size >= SNAPSHOT_RECORD:
                        size += _write_all(fd, _frame(b"".join(payload)))
                        payload, payload_size = [], 0
                if payload:
                    size += _write_all(fd, _frame(b"".join(payload)))
                self._sync(fd)
            finally:
                os.close(fd)
            os.replace(new, self.path)
            self._sync_dir()
            new_fd = os.open(self.path, os.O_RDWR)
        except OSError as exc:
            self.failed = True
            raise StorageError(self._why(exc, f"cannot compact {self.path}")) from None
        os.lseek(new_fd, size, os.SEEK_SET)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = new_fd
        self.size = self._compacted_size = size
        self.compactions += 1

    def counters(self) -> dict[str, int]:
        """Counters for the event log."""
        return {"fsyncs": self.fsyncs, "commits": self.commits,
                "bytes_written": self.bytes_written, "compactions": self.compactions,
                "log_bytes": self.size, "recovered_entries": self.recovered_entries,
                "torn_bytes_cut": self.recovery.cut_bytes}

    def close(self) -> None:
        """Close the log and release the lock (pending entries are *not* written)."""
        for name in ("_fd", "_lock_fd"):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)

    def entries_on_disk(self) -> Iterator[Entry]:
        """Every entry now in the log file (reads the file; for tests and tools)."""
        return iter(read_entries(self.path).entries)
