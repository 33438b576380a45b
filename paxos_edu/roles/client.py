"""The client: submits values for atomic broadcast and re-submits until they are decided.

A client numbers its values 0, 1, 2, ... within a *session* (a random number drawn when
the process starts), multicasts them to the proposers group, and keeps each one until a
proposer acknowledges it as decided. Values not acknowledged within the timeout are sent
again -- the message, or the proposer, may have been lost; learners deliver each
``(client, session, seq)`` at most once, so re-sending is always safe.

A window bounds how many values are in flight: a client reading 100 000 lines does not
flood the proposers, and a retry storm after a loss stays small.

The retry delay is the ``timeout`` setting -- or longer when acknowledgements are slow.
A client sits behind the leader's queue: under load a value waits its turn for a free
instance, and re-sending it then only adds work. So, as TCP does, the client keeps a
smoothed acknowledgement time (never sampling a re-sent value, Karn's rule) and waits
at least three of those before re-sending.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Iterable, Optional

from ..codec import ITEM_OVERHEAD, MAX_BATCH_BYTES, MAX_VALUE_BYTES
from ..effects import Effect, Note, Send
from ..errors import UsageError
from ..messages import Ack, Group, Message, Submission, Submit
from .jitter import jittered


class Client:
    """One client.

    State (initial values):
        next_seq = 0        sequence number of the next value
        queue = []          values accepted from the user, not yet sent (window full)
        unacked = {}        seq -> (submission, bytes, retry due time), oldest first
        closed = False      no more values will be submitted
    """

    def __init__(
        self,
        id: int,
        *,
        session: int = 0,
        timeout: float = 0.1,
        window: int = 1024,
        rng: Optional[random.Random] = None,
    ) -> None:
        self.id = id
        self.session = session
        self.timeout = timeout
        self.window = window
        self.rng = rng or random.Random(id)
        self.next_seq = 0
        self.queue: deque[tuple[Submission, int]] = deque()
        # seq -> (submission, bytes, retry due, first sent -- None once re-sent)
        self.unacked: dict[int, tuple[Submission, int, float, Optional[float]]] = {}
        self.closed = False
        self.retries = 0
        self.ack_time: Optional[float] = None  # smoothed send -> ack time

    # ------------------------------------------------------------------ user API

    def check_value(self, value: str) -> int:
        """Validate ``value``; return its size in bytes or raise :class:`UsageError`."""
        if "\n" in value or "\r" in value:
            raise UsageError("a value must be a single line (no newline)")
        size = len(value.encode())
        if size > MAX_VALUE_BYTES:
            raise UsageError(f"value of {size} bytes exceeds the limit of {MAX_VALUE_BYTES}")
        return size

    def submit(self, values: Iterable[str], now: float) -> list[Effect]:
        """Accept values for broadcast; returns the datagrams to send now.

        Raises :class:`UsageError` on the first invalid value (nothing of it is queued,
        earlier values of ``values`` are).
        """
        for value in values:
            self.add(value)
        return self.flush(now)

    def add(self, value: str) -> Submission:
        """Validate and queue one value without sending yet (see :meth:`flush`); returns
        the submission it became. Raises :class:`UsageError` if the value is invalid."""
        if self.closed:
            raise UsageError("client is closed; no more values can be submitted")
        size = self.check_value(value)
        sub = Submission(self.id, self.session, self.next_seq, value)
        self.queue.append((sub, size))
        self.next_seq += 1
        return sub

    def flush(self, now: float) -> list[Effect]:
        """Send what the window allows of the values queued by :meth:`add`."""
        return self._pump(now)

    def close(self) -> None:
        """No more values will come (stdin ended)."""
        self.closed = True

    @property
    def done(self) -> bool:
        """Every submitted value is known to be decided and no more will come."""
        return self.closed and not self.queue and not self.unacked

    # ------------------------------------------------------------------ driver API

    def handle(self, msg: Message, now: float) -> list[Effect]:
        """Acknowledgements from the clients group free the window."""
        if isinstance(msg, Ack) and msg.client == self.id and msg.session == self.session:
            unacked = self.unacked
            sample = None
            for seq in msg.seqs:
                entry = unacked.pop(seq, None)
                if entry is not None and entry[3] is not None and sample is None:
                    sample = now - entry[3]
            if sample is not None:
                self.ack_time = sample if self.ack_time is None else (
                    0.875 * self.ack_time + 0.125 * sample)
            return self._pump(now)
        return []

    def retry_delay(self) -> float:
        """How long to wait for an acknowledgement before re-sending (without jitter)."""
        if self.ack_time is None:
            return self.timeout
        return max(self.timeout, 3.0 * self.ack_time)

    def tick(self, now: float) -> list[Effect]:
        """Re-send values whose acknowledgement did not come within the timeout."""
        expired: list[tuple[Submission, int]] = []
        for sub, size, due, _ in self.unacked.values():
            if due > now:
                break  # oldest first: the rest are (about) younger
            expired.append((sub, size))
        if not expired:
            return []
        for sub, _ in expired:
            del self.unacked[sub.seq]  # re-inserted below, at the young end
        self.retries += len(expired)
        effects: list[Effect] = [Note("retry", {"values": len(expired)})]
        effects.extend(self._send(expired, now, resent=True))
        return effects

    def deadline(self) -> Optional[float]:
        for _, _, due, _ in self.unacked.values():
            return due
        return None

    # ------------------------------------------------------------------ sending

    def _pump(self, now: float) -> list[Effect]:
        """Move queued values into the window and send them."""
        room = self.window - len(self.unacked)
        if room <= 0 or not self.queue:
            return []
        take = [self.queue.popleft() for _ in range(min(room, len(self.queue)))]
        return self._send(take, now)

    def _send(self, items: list[tuple[Submission, int]], now: float,
              resent: bool = False) -> list[Effect]:
        """Pack submissions into as few datagrams as fit; record them as unacknowledged."""
        effects: list[Effect] = []
        packet: list[Submission] = []
        budget = MAX_BATCH_BYTES
        # One jitter per datagram burst: retries of different clients drift apart.
        due = now + jittered(self.retry_delay(), self.rng)
        sent = None if resent else now  # Karn: a re-sent value's ack time is ambiguous
        for sub, size in items:
            cost = size + ITEM_OVERHEAD
            if packet and cost > budget:
                effects.append(Send(Group.PROPOSERS, Submit(tuple(packet))))
                packet, budget = [], MAX_BATCH_BYTES
            packet.append(sub)
            budget -= cost
            self.unacked[sub.seq] = (sub, size, due, sent)
        if packet:
            effects.append(Send(Group.PROPOSERS, Submit(tuple(packet))))
        return effects
