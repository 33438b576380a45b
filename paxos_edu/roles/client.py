"""The client: submits values for atomic broadcast and re-submits until they are decided.

A client numbers its values 0, 1, 2, ... within a *session* (a random number drawn when
the process starts), multicasts them to the proposers group, and keeps each one until a
proposer acknowledges it as decided. Values not acknowledged within the timeout are sent
again -- the message, or the proposer, may have been lost; learners deliver each
``(client, session, seq)`` at most once, so re-sending is always safe.

A window bounds how many values are in flight: a client reading 100 000 lines does not
flood the proposers, and a retry storm after a loss stays small.

Resuming a session (an idempotent producer): a client restarted with its event log takes
the session of its interrupted earlier life again (see :mod:`paxos_edu.client_resume`) and
numbers its input from 0 again, so line ``k`` becomes the same ``(client, session, seq)``
as before. :meth:`Client.resume` says how many values the earlier life submitted and
below which seq it heard every acknowledgement; values known decided are *skipped*
(:meth:`Client.skip`: numbered, never sent), the others are sent again -- a learner that
delivered one already recognises the duplicate. An acknowledgement heard for a value not
yet re-read (one the earlier life sent) is remembered, so that value is skipped too.

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
        earlier = 0         values the earlier life of a resumed session submitted
        logged_below = 0    every seq below it was decided, says the earlier life's log
        heard = set()       earlier-life seqs acknowledged before they were re-read
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
        self.earlier = 0  # seqs below were submitted by an earlier life of this session
        self.logged_below = 0
        self.heard: set[int] = set()

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

    def resume(self, submitted: int, decided_below: int) -> None:
        """Continue a session an earlier life began: it submitted seqs ``0 ..
        submitted - 1``, and every seq below ``decided_below`` is known decided.

        Call before any value is added. Values are then numbered from 0 again; feed the
        earlier life's values first (:meth:`skip` those :meth:`is_decided` says are done,
        :meth:`add` the others).
        """
        if self.next_seq or self.queue or self.unacked:
            raise UsageError("resume() must come before the first value")
        if not 0 <= decided_below <= submitted:
            raise UsageError(f"cannot resume with {decided_below} of {submitted} values decided")
        self.earlier = submitted
        self.logged_below = decided_below

    def is_decided(self, seq: int) -> bool:
        """True when ``seq`` of this session is known decided (acknowledged)."""
        return seq < self.logged_below or seq in self.heard

    def skip(self, value: str) -> Submission:
        """Number ``value`` without sending it: a resumed value known decided."""
        if self.closed:
            raise UsageError("client is closed; no more values can be submitted")
        seq = self.next_seq
        if not self.is_decided(seq):
            raise UsageError(f"value {seq} is not known decided; add() it instead")
        self.heard.discard(seq)
        self.next_seq = seq + 1
        return Submission(self.id, self.session, seq, value)

    def flush(self, now: float) -> list[Effect]:
        """Send what the window allows of the values queued by :meth:`add`."""
        return self._pump(now)

    def close(self) -> None:
        """No more values will come (stdin ended)."""
        self.closed = True

    def decided_below(self) -> int:
        """Every seq below it is known decided (what the event log records as progress).

        Computed when asked (O(window)), so acknowledgements cost nothing extra."""
        low = self.next_seq
        if self.queue:
            low = self.queue[0][0].seq
        if self.unacked:
            low = min(low, min(self.unacked))
        if low == self.next_seq:  # nothing pending: what the earlier life knew goes on
            low = max(low, self.logged_below)
            while low in self.heard:
                low += 1
        return low

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
                if entry is not None:
                    if entry[3] is not None and sample is None:
                        sample = now - entry[3]
                elif seq < self.earlier and seq >= self._unsent_from():
                    self.heard.add(seq)  # sent by the earlier life: skip it when re-read
            if sample is not None:
                self.ack_time = sample if self.ack_time is None else (
                    0.875 * self.ack_time + 0.125 * sample)
            return self._pump(now)
        return []

    def _unsent_from(self) -> int:
        """The first seq this life has not sent (or skipped) yet."""
        return self.queue[0][0].seq if self.queue else self.next_seq

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
        queue = self.queue
        while room > 0 and queue:
            take = [queue.popleft() for _ in range(min(room, len(queue)))]
            if self.earlier and take[0][0].seq < self.earlier:  # resumed: acked while queued?
                decided = {item[0].seq for item in take if self.is_decided(item[0].seq)}
                if decided:
                    self.heard -= decided
                    take = [item for item in take if item[0].seq not in decided]
                    if not take:
                        continue
            return self._send(take, now)
        return []

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
