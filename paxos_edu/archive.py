"""Old instances on disk: an append-only file of votes or decisions with a sparse index.

Bounded memory (README, "Memory"): a long run orders millions of values, but a process
needs only the recent instances at hand. An acceptor moves the votes of old instances
here (it still reports them in phase 1, read back from the file), a proposer moves the
values of old decided instances here (it still answers catch-up for them, read back
from the file). RAM then holds one index entry per :data:`INDEX_EVERY` instances.

Format: records ``instance (8 bytes) | rnd (8) | length (4) | entry``, the entry being
:func:`paxos_edu.storage.encode_entry` of a :class:`~paxos_edu.effects.Voted` (instance,
v_rnd, value) -- one encoding for the acceptor's log and this file. Instances are
appended in strictly increasing order, so a lookup seeks to the index entry at or below
the instance and reads forward.

The file is a *cache*, not stable storage: it is anonymous (created and unlinked at once
in the temporary directory, so it disappears with its process, even after SIGKILL) and
never fsynced. What must survive a crash is in the acceptor's own log
(:mod:`paxos_edu.storage`, which compaction rewrites from the archive too); a proposer's
decisions are facts any peer can resend.
"""

from __future__ import annotations

import os
import struct
import tempfile
from array import array
from typing import Iterator, Optional, Union

from .effects import Voted
from .errors import PaxosEduError
from .messages import Batch
from .storage import decode_entries, encode_entry

__all__ = ["ArchiveError", "INDEX_EVERY", "InstanceArchive"]

INDEX_EVERY = 64
"""One in-memory index entry (instance, file offset) per this many records."""

_HEAD = struct.Struct("!QQI")  # instance, rnd (the slot's promise), entry length


class ArchiveError(PaxosEduError):
    """The archive file cannot be written or read (disk full, I/O error)."""


class InstanceArchive:
    """Votes or decisions of old instances, on disk, in increasing instance order.

    State (initial values):
        count = 0       records appended
        last = -1       highest instance appended (appends must go above it)
        _index          every INDEX_EVERY-th record: its instance and file offset

    Args:
        directory: where the anonymous file lives (default: the temporary directory).
    """

    def __init__(self, directory: Optional[Union[str, os.PathLike[str]]] = None) -> None:
        try:
            fd, path = tempfile.mkstemp(prefix="paxos_edu-archive-", dir=directory)
            os.unlink(path)  # anonymous: gone with the process, whatever ends it
        except OSError as exc:
            raise ArchiveError(f"cannot create an archive file in "
                               f"{directory or tempfile.gettempdir()}: {exc.strerror}") from None
        self._fd: Optional[int] = fd
        self._size = 0
        self.count = 0
        self.last = -1
        self._index_instance = array("q")
        self._index_offset = array("q")

    def append(self, instance: int, rnd: int, v_rnd: int, value: Batch) -> None:
        """Store ``value`` voted (or decided) in ``instance``; ``rnd`` is the slot's promise."""
        assert instance > self.last, (instance, self.last)
        entry = encode_entry(Voted(instance, v_rnd, value))
        data = _HEAD.pack(instance, rnd, len(entry)) + entry
        if self.count % INDEX_EVERY == 0:
            self._index_instance.append(instance)
            self._index_offset.append(self._size)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]  # type: ignore[arg-type]
        except OSError as exc:
            raise ArchiveError(f"cannot write the archive: {exc.strerror}") from None
        self._size += len(data)
        self.count += 1
        self.last = instance

    def read_from(self, first: int) -> Iterator[tuple[int, int, int, Batch]]:
        """Records ``(instance, rnd, v_rnd, value)`` with ``instance >= first``, in order."""
        if self.count == 0 or first > self.last:
            return
        # The last index entry at or below ``first`` (bisect by hand on the array).
        lo, hi = 0, len(self._index_instance)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._index_instance[mid] <= first:
                lo = mid
            else:
                hi = mid
        offset, size = self._index_offset[lo], self._size
        while offset < size:
            instance, rnd, length = _HEAD.unpack(self._pread(_HEAD.size, offset))
            if instance >= first:
                data = self._pread(length, offset + _HEAD.size)
                (entry,) = decode_entries(data)
                yield instance, rnd, entry.rnd, entry.value  # type: ignore[union-attr]
            offset += _HEAD.size + length

    def get(self, instance: int) -> Optional[tuple[int, int, Batch]]:
        """``(rnd, v_rnd, value)`` stored for ``instance``, or None."""
        for found, rnd, v_rnd, value in self.read_from(instance):
            return (rnd, v_rnd, value) if found == instance else None
        return None

    def _pread(self, n: int, offset: int) -> bytes:
        try:
            data = os.pread(self._fd, n, offset)  # type: ignore[arg-type]
        except OSError as exc:
            raise ArchiveError(f"cannot read the archive: {exc.strerror}") from None
        if len(data) != n:
            raise ArchiveError("the archive ends inside a record")
        return data

    @property
    def index_entries(self) -> int:
        """Entries of the in-memory index (what the archive costs in RAM)."""
        return len(self._index_instance)

    def close(self) -> None:
        """Close the file (its space is freed: it has no name)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
