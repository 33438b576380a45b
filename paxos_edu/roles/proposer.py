"""The proposer: orders client values into Paxos instances (Multi-Paxos leader).

Theory of operation
-------------------
Every proposer hears every client submission (they multicast to the proposers group) and
keeps it *pending* until it sees it decided. At any time one proposer should *lead*:

1. **Take over** (phase 1, "prepare"). A follower that has not heard from a leader for a
   while picks a round above any it has seen -- rounds are unique per proposer -- and
   sends ``Phase1A``. In ``multi`` mode a :class:`~paxos_edu.roles.scout.Scout` sends one
   prepare covering every instance from the first one not known decided; in ``classic``
   mode each instance's commander prepares its own instance.
2. **Promises** (phase 1b). With promises from a quorum the proposer must re-propose, in
   each instance, the value accepted in the highest round any promise reported (Paxos
   Made Simple, P2c); instances with no reported value inside the range it learned about
   get a *no-op*, so a hole left by a crashed proposer never blocks later instances.
3. **Lead** (phase 2, "accept"). Pending submissions are cut into batches (``batch``
   values at most) and proposed in fresh instances, at most ``window`` instances in flight,
   each driven by a :class:`~paxos_edu.roles.commander.Commander` (the split into a scout
   and commanders follows "Paxos Made Moderately Complex"). Acceptors send their 2B votes
   to the learners group; the proposer listens there too, so it sees each instance
   decided, acknowledges its submissions to the clients and frees the window.
4. **Lose** (Nack, or a heartbeat of a higher round). Another proposer got a higher
   promise: step down, put own undecided values back to pending and wait -- a random
   time that grows with every lost contest -- before trying again. Duels end because the
   waits spread apart; safety never depends on who leads.

One ``timeout`` drives every retry: an instance not decided in time is proposed again
(same round, same value) and a prepare is resent. A leader sends a heartbeat every half
timeout; followers take over after two to three timeouts of silence when they have
something to do, and send a round-0 heartbeat of their own every timeout. Proposers also answer
catch-up requests from their ledger of decided instances; a restarted proposer's ledger starts
empty, so one that cannot answer recovers the decisions through phase 1 instead (a chosen value
has a vote in every quorum), and one that has not seen a leader in its new life keeps trying to
lead -- it may be the only proposer left that can bring the history back. In classic mode a
restarted proposer's first take-over prepares every instance at once, as in multi mode: nothing
else would tell it how far the history goes.
:meth:`Proposer.timers` names the timers armed in each status; ``tick`` and ``deadline``
both read them from there.

Bounded memory. With a ``history`` (:class:`~paxos_edu.archive.InstanceArchive`, the real
runtime gives every proposer one) every decided instance below the decided prefix is
appended to that file in instance order, and the values of all but the last
:data:`DECIDED_KEEP` of them leave RAM; catch-up of older instances is read back from
the file. Forgetting a decided *value* is safe: the proposer still knows the instance
is decided (``ledger.prefix``), so it never proposes there again, and phase 1 starts at
the prefix. Without a history (the simulator) every decision stays in RAM.
"""

from __future__ import annotations

import enum
import random
from typing import Optional

from ..archive import InstanceArchive
from ..bugs import Bug
from ..codec import ITEM_OVERHEAD, MAX_BATCH_BYTES
from ..effects import Effect, Note, Send
from ..messages import (
    NOOP,
    Accepted,
    Ack,
    Batch,
    CatchUp,
    Decision,
    Group,
    Heartbeat,
    Message,
    Nack,
    Phase1B,
    Phase2B,
    Submission,
    Submit,
)
from ..quorum import is_voter, quorum_size
from ..rounds import (
    NO_ROUND,
    format_round,
    make_round,
    next_round_above,
    plausible_round,
    round_counter,
    round_owner,
)
from ..seen import SeenSet
from .commander import Commander
from .jitter import jittered
from .ledger import CATCHUP_PAGE, CatchUpRequester, Ledger
from .scout import Scout

Key = tuple[int, int, int]

DECIDED_KEEP = 256
"""Decided instances below the prefix whose values a proposer with a history keeps in
RAM (the catch-up a lagging peer usually needs); older ones are read from the history."""

RECOVERY_HORIZON = 1 << 20
"""Most instances past its first undecided one that a new leader re-drives in a row (see
:meth:`Proposer._lead`); votes reported further ahead are re-proposed when reached."""


class Status(enum.Enum):
    """Where a proposer is: following a leader, running phase 1 (its scout), or leading."""

    FOLLOWER = "follower"
    PREPARING = "preparing"
    LEADING = "leading"


class Proposer:
    """One proposer.

    State (initial values):
        status = FOLLOWER   follower, preparing (phase 1 running) or leading
        c_rnd = 0           current round (0: none yet)
        highest_seen = 0    highest round seen anywhere (promises, nacks, heartbeats)
        next_instance = 0   first instance not yet used for a new proposal
        scout = None        the Scout running phase 1 (multi mode, while preparing)
        slots = {}          instance -> Commander driving it (phase, value c_val, retry time)
        pending = {}        submissions heard, not yet in a slot nor known decided
        ledger              decided instances (kept, to answer catch-up)
        history = None      decided values on disk (see "Bounded memory" above)
        archived = 0        instances below this are in ``history``
        evicted = 0         instances below this have left ``ledger.decided``
        ignored_promises = 0  1B from acceptor ids outside 1..acceptor_count, not counted
        history_unknown     restarted in classic mode, no phase 1 adopted yet in this life
    """

    def __init__(
        self,
        id: int,
        *,
        acceptor_count: int = 3,
        timeout: float = 0.1,
        mode: str = "multi",
        batch: int = 256,
        window: int = 32,
        rng: Optional[random.Random] = None,
        bugs: frozenset[Bug] = frozenset(),
        backoff: bool = True,
        incarnation: int = 0,
        now: float = 0.0,
        restarted: bool = False,
    ) -> None:
        if mode not in ("multi", "classic"):
            raise ValueError(f"mode must be 'multi' or 'classic', not {mode!r}")
        self.id = id
        self.timeout = timeout
        self.mode = mode
        self.batch = batch
        self.window = window
        self.rng = rng or random.Random(id)
        self.bugs = bugs
        self.backoff = backoff  # False: retry at once after losing (notebook 05)
        self.incarnation = incarnation  # which run of this proposer id (see rounds.py)
        self.acceptor_count = acceptor_count
        self.quorum = quorum_size(acceptor_count)
        self.ignored_promises = 0  # 1B from acceptor ids outside 1..acceptor_count
        self.status = Status.FOLLOWER
        self.c_rnd = 0
        self.highest_seen = 0
        self.next_instance = 0
        self.slots: dict[int, Commander] = {}
        self.scout: Optional[Scout] = None
        self.recovery: dict[int, Accepted] = {}  # votes phase 1 reported, to re-propose
        self.far_votes: dict[int, Accepted] = {}  # ... and those beyond RECOVERY_HORIZON
        self.recover_next = 0  # next instance to re-drive after phase 1 ...
        self.recover_top = -1  # ... up to this one
        self.unserved_catchup = False  # a catch-up nobody here could answer: recover it
        self.leader_known = False  # a leader seen at work (or this one led) in this life
        # A restarted proposer does not know how far the decided history goes. In classic
        # mode nothing else tells it (see _take_over): its first phase 1 covers every
        # instance, as in multi mode, until one is adopted in this life.
        self.history_unknown = restarted and mode == "classic"
        self.pending: dict[Key, Submission] = {}
        self.placed: dict[Key, Submission] = {}  # in one of our slots
        self.decided_ids = SeenSet()
        self.ledger = Ledger(acceptor_count)
        self.history: Optional[InstanceArchive] = None
        self.keep = DECIDED_KEEP
        self.archived = 0
        self.evicted = 0
        self.catchup = CatchUpRequester(id, timeout, self.rng)
        self.contests_lost = 0
        self.next_heartbeat = 0.0
        # Leader heuristic: at start-up proposer 1 tries first, the others a little later.
        self.leader_seen_at = now
        self.patience = jittered(timeout * (0.05 + 0.5 * ((id - 1) % 8)), self.rng)

    @property
    def c_val(self) -> dict[int, Batch]:
        """The value proposed in each instance in flight (the paper's c-val)."""
        return {i: slot.value for i, slot in self.slots.items()}

    # ------------------------------------------------------------------ driver API

    def handle(self, msg: Message, now: float) -> list[Effect]:
        """React to one message from the proposers or learners group."""
        match msg:
            case Phase2B():
                return self.on_phase2b(msg, now)
            case Submit():
                return self.on_submit(msg, now)
            case Phase1B():
                return self.on_phase1b(msg, now)
            case Nack():
                return self.on_nack(msg, now)
            case Decision(instance, value):
                if self.ledger.learn(instance, value):
                    return self._decided(instance, value, now)
                return []
            case Heartbeat():
                return self.on_heartbeat(msg, now)
            case CatchUp():
                return self.on_catchup(msg, now)
        return []

    def tick(self, now: float) -> list[Effect]:
        """Fire the timers that are due, in the order :meth:`timers` lists them."""
        effects: list[Effect] = []
        status = self.status
        for timer, due in self.timers().items():
            if now >= due:
                effects.extend(self._fire(timer, now))
                if self.status is not status:
                    break  # took over: the new status arms timers of its own
        return effects

    def deadline(self) -> float:
        """When the next timer fires (see :meth:`timers`)."""
        return min(self.timers().values())  # never empty: every status arms a timer

    def timers(self) -> dict[str, float]:
        """The timers armed in the current status, by name, with the time each fires.

        - ``catch_up``: decisions have been missing for a timeout: ask for them (any status);
        - ``take_over``: a follower with work heard no leader for its patience: phase 1;
        - ``prepare``: phase 1 unanswered for a timeout: the scout prepares again;
        - ``accept``: an instance undecided for a timeout: its commander sends again;
        - ``heartbeat``: a leader's every half timeout, a follower's every timeout.

        A preparing proposer sends no heartbeat: it is not leading yet, and it is not idle.
        """
        # deadline() asks after every message: one small dict, a list (not a generator)
        # for min, no keyword arguments.
        catch_up = self.catchup.due
        armed: dict[str, float] = {} if catch_up is None else {"catch_up": catch_up}
        status = self.status
        if status is Status.FOLLOWER:
            if self._has_work():
                armed["take_over"] = self.leader_seen_at + self.patience
            armed["heartbeat"] = self.next_heartbeat
        elif status is Status.PREPARING:
            armed["prepare"] = self.scout.due
        else:
            if self.slots:
                armed["accept"] = min([slot.due for slot in self.slots.values()])
            armed["heartbeat"] = self.next_heartbeat
        return armed

    def _fire(self, timer: str, now: float) -> list[Effect]:
        match timer:
            case "catch_up":
                return list(self.catchup.tick(self.ledger, now))
            case "take_over":
                return self._take_over(now)
            case "prepare":
                return self._prepare_again(now)
            case "accept":
                return self._accept_again(now)
            case "heartbeat":
                return [self._heartbeat(now)]
        raise AssertionError(f"proposer {self.id}: no timer {timer!r}")

    def _has_work(self) -> bool:
        """A follower takes over only for a reason: values waiting, decisions missing
        (its own, or a learner's that nobody could answer), or no leader known in this
        life (then proposer 1 starts at once, so the first value does not wait for an
        election). A restarted proposer whose first phase 1 loses to a round of its
        earlier life tries again: maybe every proposer was restarted, and only a
        leader's phase 1 brings the decided history back for a late learner."""
        return (bool(self.pending) or self.ledger.has_gap or self.unserved_catchup
                or not self.leader_known)

    # ------------------------------------------------------------------ phase 1

    def _take_over(self, now: float) -> list[Effect]:
        """Start phase 1 in a round above every round seen."""
        self.c_rnd = self._next_round()
        self.highest_seen = max(self.highest_seen, self.c_rnd)
        note = Note("phase1_start", {"rnd": format_round(self.c_rnd), "mode": self.mode})
        if self.mode == "classic" and not self.history_unknown:
            return [note] + self._lead(now, {}, self.ledger.prefix)
        # Multi mode, or a restarted proposer in classic mode: one prepare for every
        # instance from the first one not known decided (PMS section 3). Classic mode
        # otherwise prepares an instance only when it has a value for it, so a restarted
        # leader with an empty ledger would never learn of instances decided in its
        # earlier life -- while every proposer with memory of them may be gone, and a
        # late learner waits for them. A chosen value has a vote in every quorum: this
        # phase 1 reports it, and re-proposing it (P2c) decides it again, for everyone.
        first = self.ledger.prefix
        self.status = Status.PREPARING
        self.scout = Scout(self.c_rnd, first, self.quorum, now + jittered(self.timeout, self.rng),
                           highest=Bug.PICK_ANY_1B_VALUE not in self.bugs)
        note.fields["first"] = first
        return [note, self.scout.prepare()]

    def _prepare_again(self, now: float) -> list[Effect]:
        """Timer ``prepare``: phase 1 is still short of a quorum after a timeout."""
        self.scout.due = now + jittered(self.timeout, self.rng)
        return [Note("retry", {"phase": 1, "rnd": format_round(self.c_rnd)}), self.scout.resend()]

    def _next_round(self) -> int:
        seen = max(self.highest_seen, self.c_rnd)
        if Bug.SHARED_ROUNDS in self.bugs:
            return make_round(round_counter(seen) + 1, 0)
        return next_round_above(seen, self.id, self.incarnation)

    def on_phase1b(self, m: Phase1B, now: float) -> list[Effect]:
        """Phase 1b, a promise: for the scout (all instances, multi mode) or for the
        commander of its instance (classic mode)."""
        if not is_voter(m.acceptor, self.acceptor_count):
            self.ignored_promises += 1  # from outside 1..acceptor_count: must not count
            return []
        if m.rnd != self.c_rnd:
            return []  # a promise for an older round of ours, or another proposer's
        if self.status is Status.PREPARING:
            scout = self.scout
            asks = scout.on_promise(m)
            if scout.adopted:
                self.contests_lost = 0  # phase 1 won: the backoff starts over
                self.history_unknown = False  # every vote a quorum holds was reported
                return self._lead(now, scout.votes, scout.first)
            return asks
        if self.status is Status.LEADING:
            slot = self.slots.get(m.instance)
            if slot is not None and slot.phase == 1:
                return self._classic_promise(slot, m, now)
        return []

    def _classic_promise(self, slot: Commander, m: Phase1B, now: float) -> list[Effect]:
        """Classic mode: once a quorum promised its instance, the commander proposes the
        value the promises reported (P2c) -- ours only if they reported none."""
        if not slot.on_promise(m, self.quorum):
            return []
        self.contests_lost = 0  # a phase 1 won: the backoff starts over
        chosen = (slot.reported_value(highest=Bug.PICK_ANY_1B_VALUE not in self.bugs)
                  if Bug.IGNORE_1B_VALUE not in self.bugs else None)
        if chosen is not None and chosen != slot.value:
            self._unplace(slot.value)  # our value waits for another instance
            self._place(chosen)
            slot.value = chosen
        return [slot.accept(now + jittered(self.timeout, self.rng))]

    def _lead(self, now: float, votes: dict[int, Accepted], first: int) -> list[Effect]:
        """Phase 1 done: re-propose what promises reported, fill holes, then lead."""
        self.status = Status.LEADING
        self.leader_known = True
        self.scout = None
        if Bug.IGNORE_1B_VALUE in self.bugs:
            votes = {}
        # Everything up to the highest instance a promise reported, or that we used
        # ourselves before (a slot we dropped when stepping down), gets re-driven --
        # through the window like new values. In multi mode instances merely *heard of*
        # (a heartbeat, a single 2B) do not count: a decided instance has a vote in every
        # quorum. (Classic mode has no report up front, but after a restart; it also
        # recovers what it heard of.)
        # A vote beyond RECOVERY_HORIZON (a forged 10**18) is not recovered up to: it
        # waits in ``far_votes`` and is re-proposed if new values ever reach it (P2c).
        horizon = first + RECOVERY_HORIZON
        heard = (self.ledger.highest,) if self.mode == "classic" else ()
        top = max([self.next_instance - 1, *(i for i in (*votes, *heard) if i <= horizon)])
        self.far_votes = {i: v for i, v in votes.items() if i > horizon}
        self.recovery = votes
        self.recover_next = first
        self.recover_top = top
        self.unserved_catchup = False  # phase 1 brought back every vote a quorum holds
        self.next_instance = max(self.next_instance, top + 1, first)
        note = Note("leader", {"rnd": format_round(self.c_rnd),
                               "recovered": max(0, top - first + 1), "reported": len(votes)})
        return [note, self._heartbeat(now), *self._fill(now)]

    # ------------------------------------------------------------ phase 2: leading

    def on_submit(self, m: Submit, now: float) -> list[Effect]:
        """Remember new submissions; acknowledge at once those already decided."""
        decided: list[Submission] = []
        for sub in m.submissions:
            key = sub.key
            if self.decided_ids.contains(*key):
                decided.append(sub)
            elif key not in self.pending and key not in self.placed:
                self.pending[key] = sub
        # A re-submission of a decided value means its client missed the Ack. Any
        # proposer that knows the decision answers: the leader that decided it may have
        # crashed, and a follower never takes over for a value that is no longer work.
        effects: list[Effect] = _acks(decided) if decided else []
        if self.status is Status.LEADING:
            effects.extend(self._fill(now))
        return effects

    def _fill(self, now: float) -> list[Effect]:
        """While the window has room: first re-drive the instances phase 1 asked us to
        recover (reported values, or no-ops in holes), then propose pending submissions
        in fresh instances."""
        effects: list[Effect] = []
        while self.recover_next <= self.recover_top and len(self.slots) < self.window:
            instance = self.recover_next
            self.recover_next += 1
            if self.ledger.is_decided(instance) or instance in self.slots:
                continue
            vote = self.recovery.get(instance)
            value = vote.v_val if vote is not None else NOOP
            self._place(value)
            effects.append(self._command(instance, value, now))
        if self.recover_next > self.recover_top:
            self.recovery = {}
        pending = self.pending
        while pending and len(self.slots) < self.window:
            batch: list[Submission] = []
            budget = MAX_BATCH_BYTES
            for sub in pending.values():
                cost = ITEM_OVERHEAD + len(sub.value.encode())
                if len(batch) >= self.batch or (batch and cost > budget):
                    break
                batch.append(sub)
                budget -= cost
            for sub in batch:
                key = sub.key
                del pending[key]
                self.placed[key] = sub
            while self.ledger.is_decided(self.next_instance):
                self.next_instance += 1
            far = self.far_votes.pop(self.next_instance, None)
            if far is not None:  # a vote phase 1 reported far ahead: it goes first
                self._unplace(tuple(batch))
                self._place(far.v_val)
                effects.append(self._command(self.next_instance, far.v_val, now))
            else:
                effects.append(self._command(self.next_instance, tuple(batch), now))
            self.next_instance += 1
        return effects

    def _command(self, instance: int, value: Batch, now: float) -> Send:
        """Start a commander for ``value`` in ``instance``; return its first message (an
        accept request -- in classic mode the instance's own prepare)."""
        phase = 1 if self.mode == "classic" else 2
        due = now + jittered(self.timeout, self.rng)
        commander = self.slots[instance] = Commander(instance, self.c_rnd, value, phase, due)
        return commander.message()

    def _accept_again(self, now: float) -> list[Effect]:
        """Timer ``accept``: every commander whose instance is still undecided after a
        timeout sends its message again (same round, same value)."""
        effects: list[Effect] = []
        for slot in self.slots.values():
            if slot.due <= now:
                slot.due = now + jittered(self.timeout, self.rng)
                effects.append(slot.message())
        if effects:
            effects.append(Note("retry", {"instances": len(effects),
                                          "rnd": format_round(self.c_rnd)}))
        return effects

    # ------------------------------------------------------------------ losing

    def on_nack(self, m: Nack, now: float) -> list[Effect]:
        """A higher promise exists: give up this round and back off."""
        if not self._plausible(m.promised):
            return []  # no acceptor promised that: a forged Nack
        self._saw_round(m.promised)
        if m.rnd != self.c_rnd or self.status is Status.FOLLOWER:
            return []
        self.contests_lost += 1
        return self._step_down(now, m.promised)

    def on_heartbeat(self, m: Heartbeat, now: float) -> list[Effect]:
        """Another proposer leads; follow it if its round is higher than ours."""
        if m.proposer == self.id:
            return []  # our own heartbeat, looped back by multicast
        self.ledger.heard_of(m.decided - 1)
        if m.rnd == NO_ROUND or not self._plausible(m.rnd):  # a follower's status / forged
            return list(self.catchup.update(self.ledger, now))
        self._saw_round(m.rnd)
        effects: list[Effect] = []
        if self.status is Status.FOLLOWER:
            self._leader_alive(now)
        elif m.rnd > self.c_rnd:
            effects.extend(self._step_down(now, m.rnd))
        effects.extend(self.catchup.update(self.ledger, now))
        return effects

    def _step_down(self, now: float, higher: int) -> list[Effect]:
        for slot in self.slots.values():
            self._unplace(slot.value)
        self.slots.clear()
        self.scout = None
        self.recovery, self.recover_top, self.far_votes = {}, -1, {}
        self.status = Status.FOLLOWER
        self.leader_seen_at = now
        if self.backoff:
            # Randomised wait that doubles with every contest lost in a row (capped).
            spread = 2 ** min(self.contests_lost, 6)
            self.patience = self.timeout * (2.0 + spread * self.rng.random())
        else:
            # Notebook 05 switches backoff off to show duelling proposers livelock:
            # retry at once, every time.
            self.patience = 0.0
        return [Note("step_down", {"rnd": format_round(self.c_rnd), "higher": format_round(higher),
                                   "wait": round(self.patience, 4)})]

    # ------------------------------------------------------------------ decisions

    def on_phase2b(self, m: Phase2B, now: float) -> list[Effect]:
        """Watch 2B votes on the learners group to see instances decided."""
        if self.status is Status.FOLLOWER and round_owner(m.rnd) != self.id:
            self._leader_alive(now)  # a leader is at work
        if self.ledger.vote(m.acceptor, m.rnd, m.instance, m.value):
            return self._decided(m.instance, m.value, now)
        if self.ledger.has_gap:
            return list(self.catchup.update(self.ledger, now))
        return []

    def _decided(self, instance: int, value: Batch, now: float) -> list[Effect]:
        decided_ids, pending, placed = self.decided_ids, self.pending, self.placed
        for sub in value:
            key = sub.key
            decided_ids.add(*key)
            pending.pop(key, None)
            placed.pop(key, None)
        if self.history is not None:
            self._archive()
        effects: list[Effect] = []
        slot = self.slots.pop(instance, None)
        if slot is not None:
            if slot.value is not value and slot.value != value:
                self._unplace(slot.value)  # another value won this instance: retry ours
            effects.extend(_acks(value))
        effects.extend(self.catchup.update(self.ledger, now))
        if self.status is Status.LEADING:
            effects.extend(self._fill(now))
        return effects

    def _leader_alive(self, now: float) -> None:
        """A follower saw the leader at work. The short start-up patience (proposer 1
        first, the others soon after) only ranks who tries first; once a leader exists,
        a follower waits two to three timeouts of silence -- several missed heartbeats
        -- so a busy machine does not make it depose a live leader."""
        self.leader_seen_at = now
        self.leader_known = True
        if self.patience < 2 * self.timeout and self.backoff:
            self.patience = self.timeout * (2.0 + self.rng.random())

    def on_catchup(self, m: CatchUp, now: float) -> list[Effect]:
        """Resend one page of decided instances from ``m.instance`` on.

        The leader answers; a follower answers only when no leader was seen for a while
        (say the leader crashed after the last decisions) -- two answers to every request
        would double the catch-up traffic."""
        if self.status is not Status.LEADING and now - self.leader_seen_at < 2 * self.timeout:
            return []
        decided = self.ledger.decided
        end = m.instance + CATCHUP_PAGE
        sends = []
        if m.instance < self.evicted and self.history is not None:
            for i, _, _, value in self.history.read_from(m.instance):
                if i >= min(end, self.evicted):
                    break
                sends.append(Send(Group.LEARNERS, Decision(i, value)))
        sends += [Send(Group.LEARNERS, Decision(i, decided[i]))
                  for i in range(max(m.instance, self.evicted), end) if i in decided]
        if sends or m.instance < self.ledger.prefix:
            return sends
        return self._recover_for(m.instance, now)

    def use_history(self, history: InstanceArchive, keep: int = DECIDED_KEEP) -> None:
        """Keep decided values on disk in ``history``, only the last ``keep`` in RAM."""
        self.history, self.keep = history, keep
        self._archive()

    def _archive(self) -> None:
        """Append the newly decided prefix to the history; forget values beyond ``keep``.

        Only instances below ``ledger.prefix`` go: they are decided *and* contiguous,
        so the file stays in instance order and every instance below ``archived`` is
        in it (a catch-up answer from the file has no holes)."""
        history, decided, prefix = self.history, self.ledger.decided, self.ledger.prefix
        assert history is not None
        while self.archived < prefix:
            history.append(self.archived, 0, 0, decided[self.archived])
            self.archived += 1
        while self.evicted < prefix - self.keep:
            decided.pop(self.evicted, None)
            self.evicted += 1

    def _recover_for(self, first: int, now: float) -> list[Effect]:
        """A learner asks for decisions from ``first`` on and this proposer knows none of
        them -- it was restarted, its ledger starts empty, and so may every proposer's.
        Recover them the Paxos way: a chosen value has a vote in every quorum, so phase 1
        reports it and proposing it again (P2c) decides it again, for every learner.

        A follower counts that as work (it takes over after its patience; in multi mode
        its scout's promises report every vote). A classic-mode leader runs phase 1 on
        the instances it heard were decided (a heartbeat's count) and does not know, at
        most one page at a time; a multi-mode leader's phase 1 already reported them."""
        if self.status is Status.FOLLOWER:
            self.unserved_catchup = True
            return []
        if self.status is not Status.LEADING or self.mode != "classic":
            return []
        top = min(self.ledger.highest, self.ledger.prefix + CATCHUP_PAGE - 1)
        if top <= self.recover_top:
            return []  # nothing more is known to be decided, or it is already re-driven
        if self.recover_next > self.recover_top:
            self.recover_next = self.ledger.prefix
        self.recover_top = top
        self.next_instance = max(self.next_instance, top + 1)
        return self._fill(now)

    # ------------------------------------------------------------------ helpers

    def _place(self, value: Batch) -> None:
        for sub in value:
            key = sub.key
            if self.pending.pop(key, None) is not None:
                self.placed[key] = sub

    def _unplace(self, value: Batch) -> None:
        for sub in value:
            key = sub.key
            if self.placed.pop(key, None) is not None and not self.decided_ids.contains(*key):
                self.pending[key] = sub

    def _saw_round(self, rnd: int) -> None:
        """Remember the highest round seen -- unless it is implausibly high (only a forged
        datagram carries such a round; adopting it would wedge us)."""
        if rnd > self.highest_seen and self._plausible(rnd):
            self.highest_seen = rnd

    def _plausible(self, rnd: int) -> bool:
        return plausible_round(rnd, max(self.highest_seen, self.c_rnd))

    def _heartbeat(self, now: float) -> Send:
        """Leader: "I lead in c_rnd" every half timeout. Follower: round 0 ("not leading")
        every timeout, so a learner that missed the last decisions notices even when
        nobody leads."""
        if self.status is Status.LEADING:
            self.next_heartbeat = now + self.timeout / 2
            return Send(Group.LEARNERS, Heartbeat(self.id, self.c_rnd, self.ledger.prefix))
        self.next_heartbeat = now + self.timeout
        return Send(Group.LEARNERS, Heartbeat(self.id, NO_ROUND, self.ledger.prefix))


def _acks(value: Batch) -> list[Send]:
    """One Ack per client session for the submissions in ``value``."""
    by_client: dict[tuple[int, int], list[int]] = {}
    for sub in value:
        by_client.setdefault((sub.client, sub.session), []).append(sub.seq)
    return [Send(Group.CLIENTS, Ack(c, s, tuple(seqs))) for (c, s), seqs in by_client.items()]
