"""The machinery behind :func:`~paxos_edu.explore.find_violation`: search, replay, shrink.

One section per stage of the theory of operation in :mod:`paxos_edu.explore`:

1. **Search.** :class:`Network` is what Hypothesis draws a random run from (:func:`trials`
   builds the strategy, one :class:`Trial` per run); :func:`random_run` runs one at full
   speed with the bug on and names the first property broken.
2. **Replay as a schedule.** :func:`as_schedule` replays the failing run in manual mode and
   cuts it at the first violation. Its steps name each copy by content (sender, receiver,
   message), so they keep their meaning when other steps are removed.
3. **Shrink.** :func:`causal_slice` keeps what the violation causally depends on;
   :func:`shrink` removes kinds of messages, then chunks, then single steps while
   :func:`fails` says the same property still breaks. :func:`finish` turns what is left
   into a :class:`~paxos_edu.explore_schedule.Counterexample` with its story in words.

The schedule language these stages produce (:class:`~paxos_edu.explore_schedule.Setup`,
:func:`~paxos_edu.explore_schedule.apply_step`) lives in :mod:`paxos_edu.explore_schedule`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple, Optional, Sequence

from hypothesis import strategies as st

from .bugs import Bug
from .explore_schedule import (
    Counterexample,
    Setup,
    Step,
    apply_step,
    deliver_and_keep,
    run_schedule,
    safety,
    without_sessions,
)
from .messages import Message, Phase2B
from .processes import parse_process_name, role_of
from .sim import Simulation
from .sim_tables import short_value

__all__ = ["Event", "Network", "Trial", "as_schedule", "causal_slice", "fails", "finish",
           "random_run", "seeded", "shrink", "trials"]


# ---------------------------------------------------------------------- the random networks


@dataclass(frozen=True)
class Network:
    """The random networks the search draws from (Hypothesis picks one of each)."""

    losses: tuple[float, ...] = (0.0, 0.2, 0.4)
    duplicates: tuple[float, ...] = (0.0, 0.05)
    max_delays: tuple[float, ...] = (0.05, 0.2, 0.5)
    submit_times: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1)
    until: float = 2.0
    max_restarts: int = 0
    """Acceptor restarts per run (0: none). Each restarts one acceptor right after it
    accepted its n-th value (n up to ``restart_votes``): the moment its memory matters."""
    restart_votes: int = 3


# ---------------------------------------------------------------------- stage 1: search


class Trial(NamedTuple):
    """One random run the search draws: a simulation seed and one network of each kind."""

    seed: int
    loss: float
    duplicate: float
    max_delay: float
    submit_at: tuple[float, ...]
    restarts: tuple[tuple[int, int], ...] = ()  # (acceptor id, after its n-th vote)


def trials(setup: Setup, network: Network) -> st.SearchStrategy[Trial]:
    """The Hypothesis strategy of random runs of ``setup`` over ``network``."""
    count = sum(len(v) for v in setup.values)
    restarts: st.SearchStrategy = st.just(())  # draws nothing: earlier searches unchanged
    if network.max_restarts:
        restarts = st.lists(st.tuples(st.integers(1, setup.acceptors),
                                      st.integers(1, network.restart_votes)),
                            min_size=1, max_size=network.max_restarts).map(tuple)
    return st.builds(
        Trial, st.integers(0, 2**32 - 1), st.sampled_from(network.losses),
        st.sampled_from(network.duplicates), st.sampled_from(network.max_delays),
        st.tuples(*[st.sampled_from(network.submit_times)] * count), restarts)


def seeded(setup: Setup, seed: int, trial: Trial) -> Setup:
    """The setup with the simulation seed of one random run (unique per search seed)."""
    return replace(setup, seed=(seed << 32) + trial.seed)


def random_run(setup: Setup, network: Network, trial: Trial, trace: bool,
                restarted: Optional[list] = None) -> tuple[Simulation, Optional[str]]:
    """Run ``trial`` at full speed (seed ``setup.seed``); return the simulation and the
    first property broken. ``restarted`` receives ``(time, deliveries so far, acceptor)``
    of each restart."""
    sim = setup.simulation(manual=False, loss=trial.loss,
                           duplicate=trial.duplicate, delay=(0.0001, trial.max_delay),
                           trace=trace)
    for at, client, value in _submissions(setup, trial):
        sim.submit(client + 1, [value], at=at)
    waiting = list(trial.restarts)
    while waiting and sim.next_event_time() is not None \
            and sim.next_event_time() <= network.until:  # type: ignore[operator]
        sim.step()
        for acceptor, votes in waiting:
            proc = sim.processes[("acceptor", acceptor)]
            if sum(1 for s in proc.obj.slots.values() if s.v_val is not None) >= votes:
                sim.restart("acceptor", acceptor)
                waiting.remove((acceptor, votes))
                if restarted is not None:
                    restarted.append((sim.now, sim.stats["delivered"], acceptor))
                break
    sim.run(until=network.until)
    report = safety(sim)
    return sim, (None if report.ok else report.first_violation.property)


def _submissions(setup: Setup, trial: Trial) -> list[tuple[float, int, str]]:
    pairs = [(c, v) for c, values in enumerate(setup.values) for v in values]
    # Each client submits in order: its k-th value no earlier than its (k-1)-th.
    out, last = [], {}
    for (c, v), at in zip(pairs, trial.submit_at):
        at = max(at, last.get(c, 0.0))
        last[c] = at
        out.append((at, c, v))
    return out


# ---------------------------------------------------------------------- stage 2: schedule


class Event(NamedTuple):
    """One step of a schedule whose deliveries name their copy by content."""

    op: str  # "deliver", "duplicate", "advance" (to absolute time ``at``), "submit", "restart"
    at: float
    client: int = 0  # submit: the client (from 0); restart: the acceptor (from 0)
    sender: str = ""
    receiver: str = ""
    message: Optional[Message] = None
    sent_at: float = 0.0


def as_schedule(setup: Setup, network: Network, trial: Trial) -> tuple[list[Event], str]:
    """Replay the failing random run in manual mode, cut at the first violation."""
    restarted: list[tuple[float, int, int]] = []
    auto, prop = random_run(setup, network, trial, trace=True, restarted=restarted)
    assert prop is not None, "a failing random run must fail again (determinism)"
    deliveries = [r for r in auto.trace if r.event == "delivered"]
    later = {}  # msg id -> index of its last delivery (an earlier one was a duplicate)
    for i, r in enumerate(deliveries):
        later[r.msg_id] = i
    plan = [(at, 0, i, ("submit", c)) for i, (at, c, _) in enumerate(_submissions(setup, trial))]
    # A restart came right after the delivery that made its acceptor vote.
    plan += [(at, 1, done - 0.5, ("restart", a - 1)) for at, done, a in restarted]
    plan += [(r.time, 1, i, ("deliver", r.msg_id)) for i, r in enumerate(deliveries)]
    plan.sort(key=lambda p: p[:3])
    sim = setup.simulation()
    submitted = [0] * setup.clients
    events: list[Event] = []
    for at, _, index, (op, arg) in plan:
        if at > sim.now:
            events.append(Event("advance", at))
            sim.advance(at - sim.now)
        if op in ("submit", "restart"):
            events.append(Event(op, at, client=arg))
            apply_step(sim, setup, submitted, op, arg)
        else:
            copy = next((c for c in sim.in_flight if c.id == arg), None)
            assert copy is not None, f"message {arg} of the random run is not in flight"
            keep = later[arg] != index
            events.append(Event("duplicate" if keep else "deliver", at, sender=copy.sender,
                                 receiver=copy.receiver, message=copy.message,
                                 sent_at=copy.sent_at))
            if keep:
                deliver_and_keep(sim, copy)
            else:
                sim.deliver(copy.id)
            report = safety(sim)
            if not report.ok and report.first_violation.property == prop:
                return events, prop
    raise AssertionError("the manual replay of a failing run did not fail")


# ---------------------------------------------------------------------- stage 3: shrink


def causal_slice(events: list[Event]) -> list[Event]:
    """Keep the deliveries the violation causally depends on (and every other step).

    Walking backwards: what a learner did up to the end matters; a delivery matters if
    it reached a process before the last moment that matters for it, and then what its
    sender did up to the moment it sent the copy matters too.
    """
    end = events[-1].at
    needed: dict[str, float] = {}
    kept: list[Event] = []
    for ev in reversed(events):
        if ev.op in ("deliver", "duplicate"):
            horizon = end if ev.receiver.startswith("learner") else needed.get(ev.receiver)
            if horizon is None or ev.at > horizon:
                continue
            if ev.sent_at > needed.get(ev.sender, -1.0):
                needed[ev.sender] = ev.sent_at
        kept.append(ev)
    kept.reverse()
    return kept


def _replay_events(setup: Setup, events: Sequence[Event], record: Optional[list] = None
                   ) -> Simulation:
    """Run content-named steps; a step whose copy is not in flight does nothing.

    ``record`` (if given) receives ``(step, label, story lines)`` for each step that acted;
    without it the replay runs untraced, for speed.
    """
    sim = setup.simulation(trace=record is not None)
    submitted = [0] * setup.clients
    for ev in events:
        notes, sent = len(sim.notes), sim.stats["sent"]
        delivered = {i: len(v) for i, v in sim.delivered.items()}
        if ev.op == "advance":
            if ev.at <= sim.now:
                continue
            step: Step = ("advance", ev.at - sim.now)
        elif ev.op == "submit":
            step = ("submit", ev.client)
            if submitted[ev.client] >= len(setup.values[ev.client]):
                continue
        elif ev.op == "restart":
            step = ("restart", ev.client)
        else:
            index = next((i for i, c in enumerate(sim.in_flight)
                          if c.receiver == ev.receiver and c.sender == ev.sender
                          and c.message == ev.message), None)
            if index is None:
                continue
            step = (ev.op, index)
        label = apply_step(sim, setup, submitted, *step, describe=record is not None)
        if record is not None:
            record.append((step, label, _story(sim, notes, sent, delivered)))
    return sim


def fails(setup: Setup, events: Sequence[Event], prop: str) -> bool:
    """Whether replaying ``events`` still breaks property ``prop``."""
    report = safety(_replay_events(setup, events))
    return not report.ok and any(v.property == prop for v in report.violations)


def shrink(setup: Setup, events: list[Event], prop: str) -> list[Event]:
    """Remove steps while ``prop`` still breaks: whole kinds of messages first, then
    delta debugging (chunks, then single steps), then plain delivers for duplicates."""
    events = _merge_advances(events)
    progress = True
    while progress:  # e.g. "no heartbeat matters", "no 2B to a proposer matters"
        progress = False
        for group in _groups(events):
            candidate = _merge_advances([ev for ev in events if _group_of(ev) != group])
            if len(candidate) < len(events) and fails(setup, candidate, prop):
                events, progress = candidate, True
    chunks = 2
    while len(events) >= 2:
        size = -(-len(events) // chunks)
        for start in range(0, len(events), size):
            candidate = _merge_advances(events[:start] + events[start + size:])
            if fails(setup, candidate, prop):
                events = candidate
                chunks = max(chunks - 1, 2)
                break
        else:
            if size == 1:
                break
            chunks = min(chunks * 2, len(events))
    for i, ev in enumerate(events):  # a duplicate that is not needed twice: plain deliver
        if ev.op == "duplicate":
            candidate = events[:i] + [ev._replace(op="deliver")] + events[i + 1:]
            if fails(setup, candidate, prop):
                events = candidate
    return events


def _merge_advances(events: list[Event]) -> list[Event]:
    """Two advances in a row do what the second alone does: keep it only."""
    return [ev for i, ev in enumerate(events)
            if not (ev.op == "advance" and i + 1 < len(events) and events[i + 1].op == "advance")]


def _group_of(ev: Event) -> tuple[str, ...]:
    if ev.message is None:
        return (ev.op,)
    return (type(ev.message).__name__, role_of(ev.receiver))


def _groups(events: list[Event]) -> list[tuple[str, ...]]:
    seen: dict[tuple[str, ...], None] = {}
    for ev in events:
        if ev.message is not None:
            seen[_group_of(ev)] = None
    return list(seen)


def finish(setup: Setup, bug: Optional[Bug], events: list[Event], trial: Trial,
            prop: str) -> Counterexample:
    """The shrunk ``events`` as a :class:`Counterexample`: replayable steps, labels, story."""
    record: list = []
    _replay_events(setup, events, record)
    schedule = [step for step, _, _ in record]
    outcome = run_schedule(setup, schedule)
    report = outcome.report
    violation = next(v for v in report.violations if v.property == prop)
    story = [line for _, _, lines in record for line in lines]
    story_steps = [k for k, (_, _, lines) in enumerate(record, 1) for _ in lines]
    return Counterexample(
        bug=bug, property=prop, detail=without_sessions(violation.detail),
        steps=[label for _, label, _ in record], schedule=schedule, setup=setup,
        network={"seed": setup.seed, "loss": trial.loss, "duplicate": trial.duplicate,
                 "delay": [0.0001, trial.max_delay],
                 "submissions": [list(s) for s in _submissions(setup, trial)],
                 "restarts": [list(r) for r in trial.restarts]},
        story=story, trace=list(outcome.sim.trace), report=report, sim=outcome.sim,
        story_steps=story_steps)


def _story(sim: Simulation, notes: int, sent: int, delivered: dict[int, int]) -> list[str]:
    """What one step did that a reader should know, in words."""
    lines = []
    for t, who, event, fields in sim.notes[notes:]:
        if event in ("phase1_start", "leader", "step_down"):
            what = {"phase1_start": "starts phase 1 (prepare)", "leader": "leads",
                    "step_down": "steps down"}[event]
            lines.append(f"t={t:.3f} {who} {what} in round {fields.get('rnd', '?')}")
        elif event == "restart":
            obj = sim.processes[parse_process_name(who)].obj
            held = sum(1 for s in obj.slots.values() if s.v_val is not None)
            lines.append(f"t={t:.3f} {who} crashes and restarts, remembering "
                         f"{held} vote{'s' if held != 1 else ''} and promise "
                         f"{_round(max(obj.rnd, obj.max_slot_rnd))}")
    accepted = set()
    for copy in sim.in_flight:
        m = copy.message
        if copy.id <= sent:
            continue
        if isinstance(m, Phase2B) and (copy.sender, m.instance) not in accepted:
            accepted.add((copy.sender, m.instance))
            lines.append(f"t={sim.now:.3f} {copy.sender} accepts [{short_value(m.value)}] "
                         f"in instance {m.instance}, round {_round(m.rnd)}")
    for learner, subs in sim.delivered.items():
        for sub in subs[delivered.get(learner, 0):]:
            lines.append(f"t={sim.now:.3f} learner{learner} delivers {sub.value!r}")
    return lines


def _round(rnd: int) -> str:
    from .rounds import format_round

    return format_round(rnd)
