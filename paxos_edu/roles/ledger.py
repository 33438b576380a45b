"""Which instances are decided -- the learning half of Paxos, shared by learners and proposers.

Paxos Made Simple, section 2.3: a value is chosen when a majority of acceptors have
accepted it *in the same round*. Acceptors send their 2B ("accepted") messages straight
to the learners group; the ledger counts them per (instance, round) and declares the
instance decided once a quorum agrees. A :class:`Decision` resent by a proposer during
catch-up is taken as decided directly (processes fail by crashing, they do not lie).

The ledger also tracks what is *missing*: the highest instance heard of (from 2B,
decisions or heartbeats) versus the first instance not yet decided. A gap that lasts a
timeout makes its owner ask for catch-up, page by page.
"""

from __future__ import annotations

import random
from typing import Optional

from ..effects import Send
from ..messages import Batch, CatchUp, Group
from ..quorum import quorum_size
from .jitter import jittered

CATCHUP_PAGE = 64
"""Instances a proposer resends per catch-up request; the requester asks for the next
page as soon as it has consumed one, so a long history streams at round-trip speed."""


class Ledger:
    """Decided instances of one process, learned from 2B votes or Decisions.

    State (initial values):
        decided = {}        instance -> decided value, not yet forgotten
        prefix = 0          every instance below is decided
        highest = -1        highest instance heard of
        votes = {}          instance -> {round -> set of acceptor ids}
        ignored_votes = 0   2B from ids outside 1..acceptor_count, not counted
    """

    __slots__ = ("acceptor_count", "quorum", "decided", "prefix", "highest", "votes",
                 "first_value", "ignored_votes")

    def __init__(self, acceptor_count: int, *, quorum: Optional[int] = None) -> None:
        self.acceptor_count = acceptor_count
        self.quorum = quorum if quorum is not None else quorum_size(acceptor_count)
        self.ignored_votes = 0
        self.decided: dict[int, Batch] = {}
        self.prefix = 0
        self.highest = -1
        self.votes: dict[int, dict[int, set[int]]] = {}
        # Value carried by the first 2B of (instance, round): in a correct run every 2B
        # of one round carries the same value, because one proposer owns each round.
        self.first_value: dict[tuple[int, int], Batch] = {}

    def is_decided(self, instance: int) -> bool:
        """True if ``instance`` is known decided (also after it was forgotten)."""
        return instance < self.prefix or instance in self.decided

    def vote(self, acceptor: int, rnd: int, instance: int, value: Batch) -> bool:
        """Count one 2B; True if it completes a quorum and decides ``instance`` now.

        A 2B from an acceptor id outside ``1..acceptor_count`` is ignored (and counted in
        :attr:`ignored_votes`): a misconfigured or forged acceptor must not shrink a quorum.
        """
        if not 0 < acceptor <= self.acceptor_count:  # quorum.is_voter, inlined: every 2B
            self.ignored_votes += 1
            return False
        if instance > self.highest:
            self.highest = instance
        if self.is_decided(instance):
            return False
        rounds = self.votes.get(instance)
        if rounds is None:
            rounds = self.votes[instance] = {}
        voters = rounds.get(rnd)
        if voters is None:
            voters = rounds[rnd] = set()
            self.first_value[(instance, rnd)] = value
        voters.add(acceptor)
        if len(voters) < self.quorum:
            return False
        self._decide(instance, self.first_value[(instance, rnd)])
        return True

    def learn(self, instance: int, value: Batch) -> bool:
        """Record a decision told by a peer; True if it was news."""
        if instance > self.highest:
            self.highest = instance
        if self.is_decided(instance):
            return False
        self._decide(instance, value)
        return True

    def heard_of(self, instance: int) -> None:
        """Note that ``instance`` exists (e.g. a heartbeat says decisions reach it)."""
        if instance > self.highest:
            self.highest = instance

    def _decide(self, instance: int, value: Batch) -> None:
        self.decided[instance] = value
        rounds = self.votes.pop(instance, None)
        if rounds:
            for rnd in rounds:
                self.first_value.pop((instance, rnd), None)
        while self.prefix in self.decided:
            self.prefix += 1

    def take(self, instance: int) -> Batch:
        """Hand over a decided value and forget it (a learner delivering it in order); the
        instance stays decided."""
        return self.decided.pop(instance)

    @property
    def has_gap(self) -> bool:
        """True when some instance up to :attr:`highest` is not decided yet."""
        return self.highest >= self.prefix


class CatchUpRequester:
    """When to ask for missing decisions, shared by learners and proposers.

    A gap is given one ``timeout`` to fill by itself (2B messages are often just
    reordered). Then a :class:`CatchUp` is sent; once the requester has consumed that page
    and a gap remains it asks for the next page at once, otherwise again after a timeout.
    """

    __slots__ = ("requester", "timeout", "rng", "due", "asked_from")

    def __init__(self, requester: int, timeout: float, rng: random.Random) -> None:
        self.requester = requester
        self.timeout = timeout
        self.rng = rng
        self.due: Optional[float] = None  # when to ask, None while there is no gap
        self.asked_from: Optional[int] = None

    def update(self, ledger: Ledger, now: float) -> list[Send]:
        """Re-plan after the ledger changed; may ask for the next page immediately."""
        if not ledger.has_gap:
            self.due = None
            self.asked_from = None
            return []
        if self.asked_from is not None and ledger.prefix >= self.asked_from + CATCHUP_PAGE:
            return self._ask(ledger, now)  # consumed a whole page: stream the next one
        if self.due is None:
            self.due = now + jittered(self.timeout, self.rng)
        return []

    def tick(self, ledger: Ledger, now: float) -> list[Send]:
        """Ask if the gap outlived its timeout."""
        if self.due is not None and now >= self.due:
            if ledger.has_gap:
                return self._ask(ledger, now)
            self.due = None
        return []

    def _ask(self, ledger: Ledger, now: float) -> list[Send]:
        self.asked_from = ledger.prefix
        self.due = now + jittered(self.timeout, self.rng)
        return [Send(Group.LEARNERS, CatchUp(self.requester, ledger.prefix))]
