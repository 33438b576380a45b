"""At-most-once bookkeeping: which submissions ``(client, session, seq)`` were seen.

Clients number their submissions 0, 1, 2, ... so the set is stored per
``(client, session)`` as a watermark (every seq below it seen) plus the few seqs seen
above it: memory stays small however long the run.
"""

from __future__ import annotations


class _Stream:
    __slots__ = ("low", "above")

    def __init__(self) -> None:
        self.low = 0  # every seq < low has been seen
        self.above: set[int] = set()


class SeenSet:
    """Set of submission identities, compact for per-client consecutive numbering."""

    __slots__ = ("_streams", "_count")

    def __init__(self) -> None:
        self._streams: dict[tuple[int, int], _Stream] = {}
        self._count = 0

    def add(self, client: int, session: int, seq: int) -> bool:
        """Record one identity; True if it was new."""
        stream = self._streams.get((client, session))
        if stream is None:
            stream = self._streams[(client, session)] = _Stream()
        if seq < stream.low or seq in stream.above:
            return False
        if seq == stream.low:
            stream.low += 1
            above = stream.above
            while stream.low in above:
                above.discard(stream.low)
                stream.low += 1
        else:
            stream.above.add(seq)
        self._count += 1
        return True

    def contains(self, client: int, session: int, seq: int) -> bool:
        """True if the identity was recorded."""
        stream = self._streams.get((client, session))
        return stream is not None and (seq < stream.low or seq in stream.above)

    def __len__(self) -> int:
        return self._count
