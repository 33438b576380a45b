"""Deterministic simulator: the real role objects, a seeded network, virtual time.

Theory of operation
-------------------
A simulation owns one role object per process and an event queue ordered by
``(time, sequence number)`` -- equal times pop in the order they were scheduled, so a
seed fixes everything. Three kinds of events exist:

* a *delivery*: a datagram reaches one process (its role's ``handle`` runs);
* a *tick*: a role's ``deadline()`` has come (its ``tick`` runs);
* an *action* scheduled by the user: submit values, crash or start a process, change
  the network.

Sending to a group fans out to every live member -- proposers listen on the learners
group as well, and like real multicast a process hears its own datagrams. For each copy
the network draws loss, duplication and a delay (uniform in ``delay``, which also
reorders). With ``manual=True`` nothing is delivered by itself: copies wait in
:attr:`Simulation.in_flight` until a notebook (or a test) delivers or drops them one by
one, while timers still fire as time advances.

Stepping, as notebooks do it::

    sim = Simulation(manual=True, seed=1)
    sim.submit(1, ["a"])
    sim.advance(0.01)                  # timers fire: proposer 1 sends its prepare
    sim.in_flight_table()              # what is on the wire (id, kind, round, summary)
    sim.deliver_next("PHASE1A", "acceptor")   # or deliver(id) / drop(id)
    sim.acceptor_table()               # rnd, v_rnd, v_val of every acceptor per instance

The tables (:mod:`paxos_edu.sim_tables`) read the live role objects; they are built
on demand, so stepping stays cheap.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

from .bugs import Bug, parse_bugs
from .config import SETTINGS, Settings, check_setting, settings_from
from .effects import Deliver, Effect, Halt, Note, Persist, Send
from .errors import UsageError
from .messages import Group, Kind, Message, Submission, instance_of, round_of
from .processes import LISTENS, check_role, parse_process_name, process_name, role_of
from .roles import make_role
from .rounds import format_round
from .sim_faults import SimFaults
from .timeline import TimeTravel, recorded

_DELIVER, _TICK, _ACTION = 0, 1, 2


def _check_time(what: str, value: Any) -> None:
    """Refuse a virtual time or duration that is not a number >= 0: a negative or NaN
    ``until`` would end a run at once, and its checks would then cry violation."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise UsageError(f"{what}: time only moves forward, give a number of virtual seconds "
                         f">= 0, not {value!r}")


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One network event: a copy of a message ``sent``, ``delivered`` or ``dropped``.

    ``send_seq`` numbers the datagrams of each sender from 1, as a real process's header
    does (the copies of one multicast share it)."""

    time: float
    event: str
    sender: str
    receiver: str
    kind: str
    instance: Optional[int]
    rnd: Optional[int]
    msg_id: int
    reason: str = ""
    send_seq: int = 0


@dataclass(frozen=True, slots=True)
class InFlight:
    """A copy of a message on its way to one receiver (manual mode)."""

    id: int
    sent_at: float
    sender: str
    receiver: str
    message: Message
    send_seq: int = 0  # the sender's number of this datagram (see TraceRecord)

    @property
    def kind(self) -> str:
        return self.message.kind.name

    @property
    def summary(self) -> str:
        """What the message says, e.g. ``prepare i0 onward`` or ``accept! [a, b]``."""
        from .sim_tables import summarize

        return summarize(self.message)

    def describe(self) -> str:
        """Short human label, e.g.
        ``proposer1 -> acceptor2: PHASE1A rnd 1.1 i0 — prepare i0 onward``."""
        parts = [f"{self.sender} -> {self.receiver}: {self.kind}"]
        rnd = round_of(self.message)
        if rnd is not None:
            parts.append(f"rnd {format_round(rnd)}")
        instance = instance_of(self.message)
        if instance is not None:
            parts.append(f"i{instance}")
        return " ".join(parts) + " — " + self.summary


@dataclass
class SimResult:
    """What a simulation produced; ``seed`` replays it exactly."""

    seed: int
    until: float
    proposed: list[Submission]
    delivered: dict[int, list[Submission]]
    learned: dict[int, list[str]]
    live_learners: list[int]
    trace: list[TraceRecord]
    notes: list[tuple[float, str, str, dict]]
    stats: dict[str, int]
    complete: bool
    deliveries: dict[int, list[tuple[float, int]]] = field(default_factory=dict)
    """Per learner, ``(virtual time, instance)`` of each delivered value, in order."""
    submitted_at: list[float] = field(default_factory=list)
    """Virtual time at which each entry of :attr:`proposed` was submitted."""
    messages: dict[int, Message] = field(default_factory=dict, repr=False)
    """The message of every traced copy, by ``msg_id`` (the values it carries, for pictures)."""
    delivery_causes: dict[int, list[int]] = field(default_factory=dict, repr=False)
    """Per learner, for each delivery, the index in :attr:`trace` of the ``delivered``
    record whose handling delivered it (-1 when untraced)."""

    def check(self, *, expect_complete: bool = True):
        """Safety and liveness properties (see :mod:`paxos_edu.checks`)."""
        from .checks import check_sequences

        return check_sequences(
            self.delivered, self.proposed, live_learners=self.live_learners,
            expect_complete=expect_complete,
        )

    def trace_frame(self):
        """The trace as a pandas DataFrame (one row per copy sent / delivered / dropped)."""
        from .trace import trace_table

        return trace_table(self.trace)


@dataclass
class _Process:
    role: str
    id: int
    obj: Any
    alive: bool = True
    tick_at: Optional[float] = None
    name: str = field(init=False)  # "acceptor2", computed once: every copy sent names it

    def __post_init__(self) -> None:
        self.name = process_name(self.role, self.id)


@dataclass
class Network:
    """Seeded fault model applied to every copy of every datagram."""

    loss: float = 0.0
    duplicate: float = 0.0
    delay: tuple[float, float] = (0.0005, 0.002)

    def __post_init__(self) -> None:
        self.loss = check_setting("loss", self.loss, "network")  # the config's own range
        if not 0.0 <= self.duplicate < 1.0:
            raise UsageError(f"duplicate must be in [0, 1), got {self.duplicate}")
        lo, hi = self.delay
        if not 0.0 <= lo <= hi:
            raise UsageError(f"delay must be (min, max) with 0 <= min <= max, got {self.delay}")


class Simulation(TimeTravel, SimFaults):
    """A whole Paxos cluster in virtual time.

    Args:
        acceptors, proposers, learners, clients: processes started at time 0 (ids 1..n).
        seed: drives the network and every role's randomness; recorded in results.
        loss, duplicate: probability that a copy is lost / delivered twice.
        delay: (min, max) one-way delay in seconds; copies overtaking each other is reordering.
        timeout, mode, batch, window: protocol settings, as in the config file.
        backoff: False makes a proposer that lost a contest retry at once (duels go on).
        bugs: names of deliberate mistakes to switch on (see :mod:`paxos_edu.bugs`).
        manual: hold every copy in :attr:`in_flight` until :meth:`deliver` / :meth:`drop`.
        trace: record every copy sent / delivered / dropped in the result.
        storage: acceptors keep their promises and votes on a model disk
            (:attr:`disks`, written before the replies go out) and :meth:`restart`
            recovers them.

    In manual mode every action is a step of :attr:`history`, and :meth:`rewind` ``(k)``
    restores the state after the first ``k`` steps (see :mod:`paxos_edu.timeline`).
    """

    def __init__(
        self,
        acceptors: int = 3,
        proposers: int = 2,
        learners: int = 2,
        clients: int = 2,
        *,
        seed: int = 0,
        loss: float = SETTINGS["loss"].default,
        duplicate: float = 0.0,
        delay: tuple[float, float] = (0.0005, 0.002),
        timeout: float = SETTINGS["timeout"].default,
        mode: str = SETTINGS["mode"].default,
        batch: int = SETTINGS["batch"].default,
        window: int = SETTINGS["window"].default,
        client_window: int = SETTINGS["client_window"].default,
        backoff: bool = True,
        bugs: Iterable[str | Bug] | str | None = None,
        manual: bool = False,
        trace: bool = True,
        storage: bool = False,
    ) -> None:
        counts = dict(acceptors=acceptors, proposers=proposers, learners=learners,
                      clients=clients)
        for name, count in counts.items():
            if not isinstance(count, int) or count < 0:
                raise UsageError(f"{name} must be a whole number >= 0, got {count!r}")
        # The protocol settings go through config.SETTINGS, like a config file's lines:
        # Simulation(batch=20000) is refused exactly as 'batch 20000' is.
        self.settings: Settings = settings_from(
            "Simulation", acceptor_count=acceptors, loss=loss, timeout=timeout, mode=mode,
            batch=batch, window=window, client_window=client_window, seed=seed)
        self.seed = seed
        self.acceptor_count = acceptors
        self.backoff = backoff
        try:
            self.bugs = parse_bugs(bugs)
        except ValueError as e:
            raise UsageError(str(e)) from None
        self.network = Network(loss, duplicate, tuple(delay))
        self.manual = manual
        self.trace_on = trace
        self.now = 0.0
        self._rng = random.Random(f"paxos_edu/sim/{seed}")
        self._queue: list[tuple[float, int, int, Any]] = []
        self._seq = itertools.count()
        self._msg_ids = itertools.count(1)
        self._send_seqs: dict[str, int] = {}  # process name -> datagrams it sent
        self.processes: dict[tuple[str, int], _Process] = {}
        self._starts: dict[tuple[str, int], int] = {}  # how often each (role, id) started
        self.in_flight: list[InFlight] = []
        self.trace: list[TraceRecord] = []
        self.notes: list[tuple[float, str, str, dict]] = []
        self.proposed: list[Submission] = []
        self.delivered: dict[int, list[Submission]] = {}
        self.deliveries: dict[int, list[tuple[float, int]]] = {}  # (time, instance)
        self.messages: dict[int, Message] = {}  # msg_id -> message, while tracing
        self.delivery_causes: dict[int, list[int]] = {}  # learner -> trace index per delivery
        self._cause = -1  # trace index of the copy being handled
        self.submitted_at: list[float] = []
        self.stats = {"sent": 0, "delivered": 0, "dropped": 0, "duplicated": 0}
        self.storage = storage
        self.disks: dict[int, list[Any]] = {}  # acceptor id -> durable entries (storage)
        for role, count in (("acceptor", acceptors), ("proposer", proposers),
                            ("learner", learners), ("client", clients)):
            for i in range(1, count + 1):
                self._spawn(role, i)

    # ------------------------------------------------------------------ processes

    def _make_role(self, role: str, id: int) -> Any:
        starts = self._starts.get((role, id), 0)
        key = f"paxos_edu/sim/{self.seed}/{role}/{id}/{self.now}"
        if role == "client" and starts:
            # Its session is drawn from this generator: a client started again at the same
            # virtual time must not draw its earlier session (its values, numbered from 0,
            # would be dropped as duplicates of the old ones).
            key += f"/{starts}"
        rng = random.Random(key)
        # Each start of the same id is a new incarnation, so a restarted proposer never
        # reuses a round of its earlier life (see rounds.py); a client's is its session.
        incarnation = rng.getrandbits(32) if role == "client" else starts
        obj = make_role(role, id, self.settings, rng=rng, incarnation=incarnation,
                        bugs=self.bugs, now=self.now, backoff=self.backoff,
                        durable=self.storage, restarted=starts > 0)
        if role == "acceptor" and Bug.RESTART_WITHOUT_STORAGE not in self.bugs:
            obj.restore(self.disks.get(id, ()))  # what it made durable (nothing at first)
        return obj

    @staticmethod
    def _check_role(role: str, id: int) -> None:
        check_role(role)
        if not isinstance(id, int) or id < 1:
            raise UsageError(f"process ids are whole numbers >= 1, got {id!r}")

    def _spawn(self, role: str, id: int, restart: bool = False) -> _Process:
        self._check_role(role, id)
        key = (role, id)
        old = self.processes.get(key)
        if old is not None and old.alive:
            raise UsageError(f"{role} {id} is already running")
        if role == "acceptor" and ((old is not None and not restart) or id > self.acceptor_count):
            raise UsageError(
                f"acceptor {id} cannot be started: acceptors are crash-stop and the quorum "
                f"counts {self.acceptor_count} acceptors (a crashed one comes back only "
                "with restart(), which needs storage=True)")
        proc = self.processes[key] = _Process(role, id, self._make_role(role, id))
        self._starts[key] = self._starts.get(key, 0) + 1
        if role == "learner":
            self.delivered[id] = []
            self.deliveries[id] = []
            self.delivery_causes[id] = []
        self._schedule_tick(proc)
        return proc

    def process(self, role: str, id: int) -> Any:
        """The role object of a process (its live state, for tables and tests)."""
        try:
            return self.processes[(role, id)].obj
        except KeyError:
            raise UsageError(f"no {role} {id} in this simulation") from None

    # ------------------------------------------------------------------ user actions

    def _at(self, at: Optional[float], action: Callable[[], None]) -> None:
        when = self.now if at is None else at
        if when < self.now:
            raise UsageError(f"cannot schedule at {when}: that is in the past "
                             f"(the simulation is at {self.now})")
        if when == self.now and at is None:
            action()
        else:
            heapq.heappush(self._queue, (when, next(self._seq), _ACTION, action))

    @recorded
    def submit(self, client: int, values: Sequence[str], *, at: Optional[float] = None) -> None:
        """Client ``client`` submits ``values`` (now, or at virtual time ``at``)."""
        values = list(values)

        def act() -> None:
            proc = self.processes.get(("client", client))
            if proc is None or not proc.alive:
                raise UsageError(f"client {client} is not running")
            before = proc.obj.next_seq
            effects = proc.obj.submit(values, self.now)
            self.proposed.extend(
                Submission(client, proc.obj.session, seq, v)
                for seq, v in zip(range(before, proc.obj.next_seq), values))
            self.submitted_at.extend([self.now] * (proc.obj.next_seq - before))
            self._apply(proc, effects)

        self._at(at, act)

    @recorded
    def set_network(self, *, loss: Optional[float] = None, duplicate: Optional[float] = None,
                    delay: Optional[tuple[float, float]] = None,
                    at: Optional[float] = None) -> None:
        """Change the fault model (now or at ``at``), e.g. heal the network."""
        Network(loss or 0.0, duplicate or 0.0, delay or (0.0, 0.0))  # bad values fail now

        def act() -> None:
            n = self.network
            self.network = Network(n.loss if loss is None else loss,
                                   n.duplicate if duplicate is None else duplicate,
                                   n.delay if delay is None else tuple(delay))
        self._at(at, act)

    # ------------------------------------------------------------------ running

    @recorded
    def run(self, until: float = 60.0, *, stop_when_complete: bool = True) -> SimResult:
        """Run to virtual time ``until`` (or until every value is delivered everywhere).

        Raises:
            UsageError: ``until`` is not a number >= 0 (NaN included).
        """
        _check_time("run(until=...)", until)
        while self._queue and self._queue[0][0] <= until:
            self._pop_and_run()
            if stop_when_complete and self._complete() and not self._future_actions():
                break
        else:
            self.now = max(self.now, until) if not self.manual else self.now
        return self.result(until)

    def next_event_time(self) -> Optional[float]:
        """Virtual time of the next scheduled event (delivery, timer or action), if any.
        (It may be a timer that turns out to have nothing to do; see :meth:`next_timer`.)"""
        return self._queue[0][0] if self._queue else None

    def next_timer(self) -> Optional[float]:
        """When the next live process's timer falls due (None when no timer is set)."""
        times = [p.tick_at for p in self.processes.values() if p.alive and p.tick_at is not None]
        return min(times) if times else None

    @recorded
    def step(self) -> bool:
        """Process the next event; False when nothing is scheduled."""
        if not self._queue:
            return False
        self._pop_and_run()
        return True

    @recorded
    def advance(self, dt: float) -> None:
        """Let ``dt`` virtual seconds pass, firing timers (and deliveries if not manual)."""
        _check_time("advance(dt)", dt)
        until = self.now + dt
        while self._queue and self._queue[0][0] <= until:
            self._pop_and_run()
        self.now = until

    def result(self, until: Optional[float] = None) -> SimResult:
        """Snapshot of what happened so far."""
        live = [i for (role, i), p in self.processes.items() if role == "learner" and p.alive]
        return SimResult(
            seed=self.seed,
            until=self.now if until is None else until,
            proposed=list(self.proposed),
            delivered={i: list(v) for i, v in self.delivered.items()},
            deliveries={i: list(v) for i, v in self.deliveries.items()},
            messages=dict(self.messages),
            delivery_causes={i: list(v) for i, v in self.delivery_causes.items()},
            submitted_at=list(self.submitted_at),
            learned={i: [s.value for s in v] for i, v in self.delivered.items()},
            live_learners=sorted(live),
            trace=list(self.trace),
            notes=list(self.notes),
            stats=dict(self.stats),
            complete=self._complete(),
        )

    def _complete(self) -> bool:
        wanted = len(self.proposed)
        for (role, i), proc in self.processes.items():
            if proc.alive:
                if role == "learner" and len(self.delivered[i]) < wanted:
                    return False
                if role == "client" and (proc.obj.unacked or proc.obj.queue):
                    return False
        return True

    def _future_actions(self) -> bool:
        return any(kind == _ACTION for _, _, kind, _ in self._queue)

    def _pop_and_run(self) -> None:
        when, _, kind, payload = heapq.heappop(self._queue)
        self.now = when
        if kind == _DELIVER:
            self._deliver_copy(payload)
        elif kind == _TICK:
            proc = payload
            if proc.alive and proc.tick_at == when:
                proc.tick_at = None
                self._apply(proc, proc.obj.tick(self.now))
        else:
            payload()

    # ------------------------------------------------------------------ manual stepping

    @recorded
    def deliver(self, msg_id: int, *, keep: bool = False) -> None:
        """Deliver the in-flight copy ``msg_id`` now (manual mode).

        With ``keep=True`` the copy also stays in flight where it was -- the network
        duplicated it, and the same message may arrive again (same message id)."""
        if not keep:
            self._deliver_copy(self._take(msg_id))
            return
        where, copy = next(((i, c) for i, c in enumerate(self.in_flight) if c.id == msg_id),
                           (None, None))
        if copy is None:
            raise UsageError(f"no message {msg_id} in flight")
        self.in_flight.pop(where)
        self._deliver_copy(copy)
        self.in_flight.insert(min(where, len(self.in_flight)), copy)

    @recorded
    def drop(self, msg_id: int) -> None:
        """Lose the in-flight copy ``msg_id`` (manual mode)."""
        copy = self._take(msg_id)
        self._record("dropped", copy, "by hand")
        self.stats["dropped"] += 1

    @recorded
    def deliver_all(self, kind: Optional[str] = None, limit: int = 10_000) -> int:
        """Deliver every in-flight copy (of one ``kind``), including those sent meanwhile."""
        done = 0
        while done < limit:
            batch = [c for c in self.in_flight if kind is None or c.kind == kind]
            if not batch:
                break
            self.deliver(batch[0].id)
            done += 1
        return done

    @recorded
    def deliver_next(self, kind: Optional[str] = None,
                     receiver: Optional[str] = None) -> Optional[InFlight]:
        """Deliver the oldest in-flight copy of ``kind`` to ``receiver``; return it.

        Args:
            kind: a message kind such as ``"PHASE1B"`` (any case); None for any kind.
            receiver: a process name (``"acceptor2"``) or a role (``"acceptor"``: any
                acceptor); None for anyone.

        Returns:
            The copy delivered, or None when no copy in flight matches.
        """
        if kind is not None:
            kind = kind.upper()
            if kind not in Kind.__members__:
                known = ", ".join(Kind.__members__)
                raise UsageError(f"unknown message kind {kind!r}; kinds are {known}")
        if receiver is not None:
            try:
                role_of(receiver)
            except UsageError:
                raise UsageError(f"unknown receiver {receiver!r}: give e.g. 'acceptor' or "
                                 "'acceptor2'") from None
        for copy in self.in_flight:
            if kind is not None and copy.kind != kind:
                continue
            if receiver is not None and receiver not in (copy.receiver, role_of(copy.receiver)):
                continue
            self.deliver(copy.id)
            return copy
        return None

    def _take(self, msg_id: int) -> InFlight:
        for i, copy in enumerate(self.in_flight):
            if copy.id == msg_id:
                return self.in_flight.pop(i)
        raise UsageError(f"no message {msg_id} in flight")

    # ------------------------------------------------------------------ state tables

    def acceptor_table(self, instances: Optional[Iterable[int]] = None):
        """Acceptors' ``rnd``, ``v_rnd``, ``v_val`` per instance (a pandas DataFrame)."""
        from .sim_tables import acceptor_table

        return acceptor_table(self, instances)

    def proposer_table(self):
        """Proposers' status, ``c_rnd`` and, per instance driven, phase and ``c_val``."""
        from .sim_tables import proposer_table

        return proposer_table(self)

    def learner_table(self):
        """Learners' delivered values and the first instance not yet delivered."""
        from .sim_tables import learner_table

        return learner_table(self)

    def in_flight_table(self):
        """The copies in flight (manual mode): id, sender, receiver, kind, round, summary."""
        from .sim_tables import in_flight_table

        return in_flight_table(self)

    # ------------------------------------------------------------------ effects and network

    def _apply(self, proc: _Process, effects: list[Effect]) -> None:
        for effect in effects:
            if type(effect) is Send:
                self._multicast(proc, effect.group, effect.message)
            elif type(effect) is Deliver:
                self.delivered[proc.id].append(effect.submission)
                self.deliveries[proc.id].append((self.now, effect.instance))
                self.delivery_causes[proc.id].append(self._cause)
            elif type(effect) is Note:
                self.notes.append((self.now, proc.name, effect.event, effect.fields))
            elif type(effect) is Persist:  # durable before any later Send goes out
                self.disks.setdefault(proc.id, []).append(effect.entry)
            elif type(effect) is Halt:
                proc.alive = False
                self.notes.append((self.now, proc.name, "halt", {"status": effect.status}))
                return
        self._schedule_tick(proc)

    def _schedule_tick(self, proc: _Process) -> None:
        deadline = proc.obj.deadline()
        if deadline is None:
            return
        # A deadline in the past means "as soon as possible"; never before now.
        deadline = max(deadline, self.now + 1e-6)
        if proc.tick_at is None or deadline < proc.tick_at:
            proc.tick_at = deadline
            heapq.heappush(self._queue, (deadline, next(self._seq), _TICK, proc))
        elif proc.tick_at < self.now:
            proc.tick_at = deadline
            heapq.heappush(self._queue, (deadline, next(self._seq), _TICK, proc))

    def _multicast(self, sender: _Process, group: Group, msg: Message) -> None:
        net, rng = self.network, self._rng
        send_seq = self._send_seqs[sender.name] = self._send_seqs.get(sender.name, 0) + 1
        for proc in self.processes.values():
            if not proc.alive or group not in LISTENS[proc.role]:
                continue
            msg_id = next(self._msg_ids)
            copy = InFlight(msg_id, self.now, sender.name, proc.name, msg, send_seq)
            self.stats["sent"] += 1
            self._record("sent", copy)
            if self.manual:
                self.in_flight.append(copy)
                continue
            if net.loss and rng.random() < net.loss:
                self.stats["dropped"] += 1
                self._record("dropped", copy, "loss")
                continue
            copies = 1
            if net.duplicate and rng.random() < net.duplicate:
                copies = 2
                self.stats["duplicated"] += 1
            for _ in range(copies):
                when = self.now + rng.uniform(*net.delay)
                heapq.heappush(self._queue, (when, next(self._seq), _DELIVER, copy))

    def _deliver_copy(self, copy: InFlight) -> None:
        proc = self._by_name(copy.receiver)
        if not proc.alive:
            self.stats["dropped"] += 1
            self._record("dropped", copy, "crashed")
            return
        self.stats["delivered"] += 1
        self._record("delivered", copy)
        self._cause = len(self.trace) - 1
        self._apply(proc, proc.obj.handle(copy.message, self.now))
        self._cause = -1

    def _by_name(self, name: str) -> _Process:
        return self.processes[parse_process_name(name)]

    def _record(self, event: str, copy: InFlight, reason: str = "") -> None:
        if self.trace_on:
            msg = copy.message
            self.messages[copy.id] = msg
            self.trace.append(TraceRecord(self.now, event, copy.sender, copy.receiver,
                                          msg.kind.name, instance_of(msg), round_of(msg),
                                          copy.id, reason, copy.send_seq))
