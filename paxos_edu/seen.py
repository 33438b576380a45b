"""At-most-once bookkeeping: which submissions ``(client, session, seq)`` were seen.

Clients number their submissions 0, 1, 2, ... so the set is stored per
``(client, session)`` as a :class:`Watermark` (every seq below it seen) plus the few seqs
seen above it: memory stays small however long the run.

A resumed client session (:mod:`paxos_edu.client_resume`) sends values of its earlier life
again under their old numbers: a learner recognises each as a duplicate here, because the
stream of that ``(client, session)`` goes on. The rule depends only on the decided sequence,
so a learner that catches up from instance 0, or starts late, decides the same.
"""

from __future__ import annotations


class Watermark:
    """A set of sequence numbers that fills in from 0: every seq below ``low``, plus the
    few above it (values decided out of order, e.g. re-sent ones)."""

    __slots__ = ("low", "above")

    def __init__(self, low: int = 0) -> None:
        self.low = low  # every seq < low is in the set
        self.above: set[int] = set()

    def add(self, seq: int) -> bool:
        """Record ``seq``; True if it was new."""
        if seq < self.low or seq in self.above:
            return False
        if seq == self.low:
            low = seq + 1
            above = self.above
            while low in above:
                above.discard(low)
                low += 1
            self.low = low
        else:
            self.above.add(seq)
        return True

    def __contains__(self, seq: int) -> bool:
        return seq < self.low or seq in self.above



class SeenSet:
    """Set of submission identities, compact for per-client consecutive numbering."""

    __slots__ = ("_streams", "_count")

    def __init__(self) -> None:
        self._streams: dict[tuple[int, int], Watermark] = {}
        self._count = 0

    def add(self, client: int, session: int, seq: int) -> bool:
        """Record one identity; True if it was new."""
        stream = self._streams.get((client, session))
        if stream is None:
            stream = self._streams[(client, session)] = Watermark()
        # Watermark.add, inlined: a learner calls this for every value it delivers.
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
