"""The acceptor: the memory of Paxos (Paxos Made Simple, section 2.2, phases 1b and 2b).

An acceptor makes two promises and keeps them:

* phase 1b -- on ``Phase1A(rnd)`` with ``rnd`` at least every round it promised before,
  promise never to accept a lower round and report what it already accepted;
* phase 2b -- on ``Phase2A(rnd, v)`` unless it promised a higher round, accept ``v`` and
  tell the learners (2B goes straight to the learners group).

A multi-Paxos prepare (``onward``) is one promise for all instances at once, so a leader
pays phase 1 once; a classic prepare promises a single instance. A refused message is
answered with a :class:`Nack` so the proposer backs off without waiting for a timeout.

Crash-recovery. With ``durable=True`` every change of state is also returned as a
:class:`~paxos_edu.effects.Persist` effect placed before the 1B/2B that reveals it; the
driver makes it durable before sending (:mod:`paxos_edu.storage`, group commit), and
:meth:`Acceptor.restore` rebuilds the state from the stored entries after a restart.
Without storage a crashed acceptor must stay down, or come back as one that never ran.

Refusing amnesia (``listen_until``). An acceptor started without storage cannot know
what it promised in an earlier life. The real runtime therefore starts one that ran
before (a marker, :func:`paxos_edu.storage.ran_before`; unless the operator asserts
``--fresh``) *listening*: until ``listen_until`` it answers nothing, and hearing a round
or a vote under way -- a 2A on the acceptors group, a 2B, a decision or a leader's
heartbeat on the learners group -- halts it, at the end of that time, with exit status 2
and a message on how to restart acceptors safely. Why this is the safe side:

* an acceptor's memory matters only if it promised or voted, and both happen only
  when a proposer holds a round: a leader then sends 2As while values flow and a
  heartbeat every half ``timeout`` while idle (proposer.py), and every chosen value was
  carried by 2Bs to the learners -- so in a cluster that is running, a listener of
  ``3 * timeout`` hears at least one of those and refuses to vote;
* while it listens it makes no promise and casts no vote, so listening itself can
  change nothing; a 1A it ignores is retried by its proposer, and a follower's round-0
  heartbeat (nobody leads) is no sign of promises;
* a first start (no marker) has nothing to forget and votes at once, so a clean start
  of a cluster -- whatever the order and delays of its processes -- is never refused.

What it cannot see is an earlier life whose whole cluster is gone (no proposer left to
lead), or one whose marker is gone (a reboot cleared the temporary directory, another
machine): only ``storage`` (or an honest ``--fresh``) makes every restart safe.
The simulator has no guard: its restarts are explicit
(:meth:`paxos_edu.sim.Simulation.restart`) and the amnesiac restart is a bug switch.

Bounded memory (``archive``). With an :class:`~paxos_edu.archive.InstanceArchive` (the
real runtime gives every acceptor one) the votes of instances more than
:data:`VOTES_KEEP` below the highest instance it voted in leave RAM for that file, in
instance order; ``floor`` is where RAM begins. Nothing is forgotten, only moved:

* phase 1 still reports every vote from the prepare's first instance on -- the page
  below ``floor`` is read back from the archive, so a proposer in phase 1 recovers
  exactly what it would have recovered from RAM (P2c holds as before);
* a 2A or a classic 1A for an archived instance meets ``archived_rnd``, the highest
  promise any archived slot held: the promise it sees is never below the true one
  (refusing more is always safe; a new leader's round is above every round any
  acceptor it won phase 1 from had seen, so it is not refused); a vote cast there
  again lives in RAM and shadows the archived one;
* compaction of the stable log (``storage``) writes the archived votes too, read
  back from the archive (:meth:`state_entries`), so the durable state stays whole.

Without an archive (the simulator) every vote stays in RAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from ..archive import InstanceArchive
from ..bugs import Bug
from ..codec import ITEM_OVERHEAD, MAX_BATCH_BYTES
from ..effects import Effect, Halt, Note, Persist, Promised, Send, Voted
from ..messages import (
    END,
    Accepted,
    Batch,
    Decision,
    Group,
    Heartbeat,
    Message,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
)
from ..rounds import plausible_round

VOTES_KEEP = 256
"""Instances below the highest voted one whose votes an acceptor with an archive keeps in
RAM (a new leader's phase 1 reports usually start there)."""

TRIM_STEP = 64
"""Votes between two moves to the archive (each move walks the RAM slots once)."""

AMNESIA_STATUS = 2
"""Exit status of an acceptor that refuses to vote (it may have forgotten promises)."""
_RUNNING = {Phase2A: "a 2A (a proposer leads)", Phase2B: "a vote (2B)",
            Decision: "a decision", Heartbeat: "a leader's heartbeat"}
"""What a listening acceptor takes for a sign of a running cluster."""


@dataclass(slots=True)
class AcceptorSlot:
    """What one acceptor holds for one instance."""

    rnd: int = 0  # promise made for this instance alone (classic mode) or by accepting
    v_rnd: int = 0  # round in which v_val was accepted; 0: nothing accepted
    v_val: Optional[Batch] = None


def _batch_bytes(batch: Batch) -> int:
    return 24 + sum(ITEM_OVERHEAD + len(sub.value.encode()) for sub in batch)


class Acceptor:
    """One acceptor.

    State (initial values):
        rnd = 0             highest round promised for *every* instance (multi-Paxos prepare)
        max_slot_rnd = 0    highest round promised or accepted in any single instance
        slots = {}          instance -> AcceptorSlot(rnd, v_rnd, v_val)
        listen_until        None, or the time until which it only listens (see above)
        halted = False      True once it refused to vote: it answers nothing more
        archive = None      votes of old instances on disk (see "Bounded memory")
        floor = 0           slots below it were moved to ``archive`` (unless voted again)
        archived_rnd = 0    highest promise of any archived slot
        top = -1            highest instance voted in

    Args:
        durable: return a :class:`Persist` effect for every change of state.
        listen_until: start listening (no storage, not ``--fresh``), until this time.
    """

    def __init__(self, id: int, *, bugs: frozenset[Bug] = frozenset(), durable: bool = False,
                 listen_until: Optional[float] = None) -> None:
        self.id = id
        self.bugs = bugs
        self.rnd = 0
        self.max_slot_rnd = 0
        self.slots: dict[int, AcceptorSlot] = {}
        self.durable = durable
        self.listen_until = listen_until
        self.halted = False
        self._heard: Optional[Message] = None  # first sign of a running cluster, listening
        self.archive: Optional[InstanceArchive] = None
        self.keep = VOTES_KEEP
        self.floor = 0
        self.archived_rnd = 0
        self.top = -1
        # Bug.REPLY_BEFORE_DURABLE: entries held back until the next message.
        self._late: list[Effect] = []
        self._lazy = durable and Bug.REPLY_BEFORE_DURABLE in bugs

    # ------------------------------------------------------------------ driver API

    def handle(self, msg: Message, now: float) -> list[Effect]:
        """React to one message from the acceptors group (or, while listening, the
        learners group)."""
        if self.listen_until is not None:
            if now < self.listen_until:
                return self._listen(msg)
            verdict = self._stop_listening()  # the tick is late: decide now
            return verdict if self.halted else verdict + self.handle(msg, now)
        if self.halted:
            return []
        match msg:
            case Phase2A() | Phase1A() if not plausible_round(
                msg.rnd, max(self.rnd, self.max_slot_rnd)
            ):
                return []  # a forged round: promising it would lock every proposer out
            case Phase2A():
                effects = self.on_phase2a(msg)
            case Phase1A():
                effects = self.on_phase1a(msg)
            case _:
                return []
        if self._lazy:
            return self._reply_first(effects)
        return effects

    def tick(self, now: float) -> list[Effect]:
        """Acceptors only react; the one timer ends the listening time."""
        if self.listen_until is not None and now >= self.listen_until and not self.halted:
            return self._stop_listening()
        return []

    def deadline(self) -> Optional[float]:
        return None if self.halted else self.listen_until

    @property
    def listening(self) -> bool:
        """Still in its listening time (answers nothing, hears the learners group)."""
        return self.listen_until is not None and not self.halted

    # ------------------------------------------------------------------ crash-recovery

    def restore(self, entries: Iterable[Promised | Voted]) -> None:
        """Replay stored entries (oldest first) into this fresh acceptor's state."""
        slots = self.slots
        for entry in entries:
            if entry.__class__ is Voted:
                slot = slots.get(entry.instance)
                if slot is None:
                    slot = slots[entry.instance] = AcceptorSlot()
                slot.rnd = max(slot.rnd, entry.rnd)
                slot.v_rnd, slot.v_val = entry.rnd, entry.value
                self.max_slot_rnd = max(self.max_slot_rnd, entry.rnd)
                if entry.instance > self.top:
                    self.top = entry.instance
            elif entry.instance is None:
                self.rnd = max(self.rnd, entry.rnd)
            else:
                slot = slots.get(entry.instance)
                if slot is None:
                    slot = slots[entry.instance] = AcceptorSlot()
                slot.rnd = max(slot.rnd, entry.rnd)
                self.max_slot_rnd = max(self.max_slot_rnd, entry.rnd)
        if self.archive is not None:
            self._trim()

    def use_archive(self, archive: InstanceArchive, keep: int = VOTES_KEEP) -> None:
        """Move votes of old instances to ``archive``, keeping ``keep`` below the top."""
        self.archive, self.keep = archive, keep
        self._trim()

    def _trim(self) -> None:
        """Move the slots below ``top - keep`` to the archive, in instance order.

        Safe because nothing is lost: see "Bounded memory" in the module docstring."""
        new_floor = self.top - self.keep
        if new_floor < self.floor + TRIM_STEP:
            return  # in steps, so the loop below runs once per TRIM_STEP votes
        archive, slots = self.archive, self.slots
        assert archive is not None
        for instance in sorted(i for i in slots if i < new_floor):
            slot = slots.pop(instance)
            if slot.rnd > self.archived_rnd:
                self.archived_rnd = slot.rnd
            if slot.v_val is not None:
                if instance <= archive.last:  # voted again below the floor: keep in RAM
                    slots[instance] = slot
                    continue
                archive.append(instance, slot.rnd, slot.v_rnd, slot.v_val)
        self.floor = new_floor

    def state_entries(self) -> Iterator[Promised | Voted]:
        """The whole state as stored entries (what compaction writes); ``restore`` of
        them rebuilds an equal state (archived votes included, read from the archive)."""
        if self.rnd:
            yield Promised(self.rnd)
        if self.archive is not None:
            for instance, rnd, v_rnd, value in self.archive.read_from(0):
                slot = self.slots.get(instance)
                if slot is None or slot.v_val is None:  # not shadowed by a newer vote
                    yield Voted(instance, v_rnd, value)
                    if rnd > v_rnd:
                        yield Promised(rnd, instance)
        for instance in sorted(self.slots):
            slot = self.slots[instance]
            if slot.v_val is not None:
                yield Voted(instance, slot.v_rnd, slot.v_val)
            if slot.rnd > slot.v_rnd:
                yield Promised(slot.rnd, instance)

    def _reply_first(self, effects: list[Effect]) -> list[Effect]:
        """Bug.REPLY_BEFORE_DURABLE: replies now, this turn's entries with the next one."""
        late, self._late = self._late, [e for e in effects if e.__class__ is Persist]
        return late + [e for e in effects if e.__class__ is not Persist]

    def _listen(self, msg: Message) -> list[Effect]:
        """While listening: answer nothing; remember the first sign of a running cluster
        (the verdict waits for the end of the listening time, so that a twin -- another
        live process with this id, see identity.py -- is reported as such first)."""
        if self._heard is None and type(msg) in _RUNNING and not (
                type(msg) is Heartbeat and not (msg.rnd or msg.decided)):
            # Not a prepare (its proposer retries), a follower's round-0 heartbeat (nobody
            # leads yet) or a learner's catch-up request: those show no promise made.
            self._heard = msg
        return []

    def _stop_listening(self) -> list[Effect]:
        self.listen_until = None
        msg = self._heard
        if msg is None:
            return [Note("listened", {"acceptor": self.id})]
        self.halted = True
        return [Note("amnesia", {"heard": msg.kind.name}), Halt(AMNESIA_STATUS, (
            f"acceptor {self.id}: the cluster is already running (heard {_RUNNING[type(msg)]}) "
            "and this acceptor has no storage: if it ran before, it may have forgotten "
            "promises and votes, and voting now could break agreement. Restart acceptors "
            "with stable storage ('storage <dir>' in the config, or --storage DIR) so that "
            f"they recover what they promised; only if acceptor {self.id} never ran in this "
            "cluster, start it with --fresh."))]

    # ------------------------------------------------------------------ phases

    def promised(self, instance: int) -> int:
        """The round below which this acceptor refuses anything for ``instance``."""
        slot = self.slots.get(instance)
        if slot is None:
            if instance < self.floor:  # archived: at least its true promise
                return max(self.rnd, self.archived_rnd)
            return self.rnd
        return self.rnd if slot.rnd < self.rnd else slot.rnd

    def on_phase1a(self, m: Phase1A) -> list[Effect]:
        """Phase 1b: promise ``m.rnd`` and report the votes held, or refuse."""
        if m.onward:
            # A promise for every instance must not undercut any single-instance promise.
            floor = max(self.rnd, self.max_slot_rnd)
            if m.rnd < floor:
                return [self._nack(m.rnd, m.instance, floor)]
            effects: list[Effect] = []
            if Bug.FORGET_PROMISE not in self.bugs and m.rnd > self.rnd:
                self.rnd = m.rnd
                if self.durable:
                    effects.append(Persist(Promised(m.rnd)))
            accepted, upto = self._report_from(m.instance)
            effects.append(Send(Group.PROPOSERS,
                                Phase1B(self.id, m.rnd, m.instance, upto, accepted)))
            return effects
        promised = self.promised(m.instance)
        if m.rnd < promised:
            return [self._nack(m.rnd, m.instance, promised)]
        slot = self.slots.get(m.instance)
        if slot is None:
            slot = self.slots[m.instance] = AcceptorSlot()
        effects = []
        if Bug.FORGET_PROMISE not in self.bugs and m.rnd > slot.rnd:
            slot.rnd = m.rnd
            self.max_slot_rnd = max(self.max_slot_rnd, m.rnd)
            if self.durable:
                effects.append(Persist(Promised(m.rnd, m.instance)))
        report = (Accepted(m.instance, slot.v_rnd, slot.v_val),) if slot.v_val is not None else ()
        if not report and m.instance < self.floor and self.archive is not None:
            stored = self.archive.get(m.instance)  # an archived vote is still a vote
            if stored is not None:
                report = (Accepted(m.instance, stored[1], stored[2]),)
        upto = min(m.instance + 1, END)  # END itself: "covers everything from here"
        effects.append(Send(Group.PROPOSERS, Phase1B(self.id, m.rnd, m.instance, upto, report)))
        return effects

    def on_phase2a(self, m: Phase2A) -> list[Effect]:
        """Phase 2b: accept ``m.value`` unless a higher round was promised."""
        promised = self.promised(m.instance)
        if m.rnd < promised and Bug.FORGET_PROMISE not in self.bugs:
            return [self._nack(m.rnd, m.instance, promised)]
        slot = self.slots.get(m.instance)
        if slot is None:
            slot = self.slots[m.instance] = AcceptorSlot()
        # Accepting round r also promises r for this instance (nothing lower later).
        if m.rnd > slot.rnd:
            slot.rnd = m.rnd
            if m.rnd > self.max_slot_rnd:
                self.max_slot_rnd = m.rnd
        send = Send(Group.LEARNERS, Phase2B(self.id, m.rnd, m.instance, m.value))
        if slot.v_rnd == m.rnd and slot.v_val == m.value:
            return [send]  # a duplicate 2A: nothing new to store
        slot.v_rnd = m.rnd
        slot.v_val = m.value
        if m.instance > self.top:
            self.top = m.instance
            if self.archive is not None:
                self._trim()
        if self.durable:
            return [Persist(Voted(m.instance, m.rnd, m.value)), send]
        return [send]

    # ------------------------------------------------------------------ helpers

    def _votes_from(self, first: int) -> Iterator[Accepted]:
        """Every vote held for instances >= ``first``, in instance order: the archived
        ones below ``floor`` (read from disk, unless voted again in RAM), then RAM's."""
        slots = self.slots
        ram = sorted(i for i, s in slots.items() if i >= first and s.v_val is not None)
        if self.archive is not None and first < self.floor:
            for instance, _, v_rnd, value in self.archive.read_from(first):
                while ram and ram[0] < instance:
                    i = ram.pop(0)
                    yield Accepted(i, slots[i].v_rnd, slots[i].v_val)
                if instance >= self.floor:
                    break
                if instance not in slots or slots[instance].v_val is None:
                    yield Accepted(instance, v_rnd, value)
        for i in ram:
            yield Accepted(i, slots[i].v_rnd, slots[i].v_val)

    def _nack(self, rnd: int, instance: int, promised: int) -> Send:
        return Send(Group.PROPOSERS, Nack(self.id, rnd, instance, promised))

    def _report_from(self, first: int) -> tuple[tuple[Accepted, ...], int]:
        """Votes for instances >= ``first``, one datagram's worth; and where the page ends.

        Returns ``(accepted, upto)``: ``accepted`` holds every vote in ``[first, upto)``
        and ``upto == END`` when nothing remains beyond the page.
        """
        page: list[Accepted] = []
        budget = MAX_BATCH_BYTES
        for vote in self._votes_from(first):
            cost = _batch_bytes(vote.v_val)
            if page and cost > budget:
                return tuple(page), vote.instance
            budget -= cost
            page.append(vote)
        return tuple(page), END
