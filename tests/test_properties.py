"""Generated schedules: safety always, liveness once the network heals.

Two kinds of property test drive the simulator:

* **Whole runs** (1 000 in all, four tests): Hypothesis draws a faulty run -- loss up to
  50 %, duplication, reordering (delay ranges up to twice the timeout), crashes of a
  minority of acceptors and of all proposers but one (any one) at generated times, late
  learners, 1-3 proposers, 3 or 5 acceptors, 1-2 clients submitting at generated times,
  multi and classic mode, batch and window sizes, up to three crash-and-restarts of any
  acceptor at generated times (with storage: it recovers its promises and votes) and up
  to three of any proposer (a new incarnation that remembers nothing: proposers keep no
  disk state; a crashed one comes back) and of any client (it resumes its session, see
  ``sim_faults.py``) -- heals the network at a generated time and
  runs it to the end. Every property of :mod:`paxos_edu.checks` must hold:
  agreement and total order, integrity (at most once), validity, and completeness (every
  live learner, late ones included, delivers every submitted value). A failure prints
  the run as JSON (see ``sim_cases.py``): it replays exactly; keep it in
  ``tests/regressions/``.
* **A stateful machine** over the manual stepper: Hypothesis plays the network and the
  environment one step at a time -- deliver, drop or duplicate a chosen copy, let time
  pass, submit, crash a minority of acceptors or all proposers but one, crash and
  restart any acceptor (it recovers from storage), any proposer (it forgets) or any client
  (it resumes its session) -- and after
  every step what was delivered so far must be safe; at the end, a fair network (every
  copy delivered, timers firing) must complete the run.
"""

from __future__ import annotations

from typing import Any, Optional

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sim_cases import assert_every_property, to_json

from paxos_edu.checks import check_sequences
from paxos_edu.explore import deliver_and_keep, next_timer
from paxos_edu.sim import Simulation

TIMEOUT = 0.1  # the simulator's default: delays below reach twice this
AFTER_HEAL = 120.0  # virtual seconds a healed run may take to complete (it stops early)

times = st.floats(0.0, 5.0, allow_nan=False)


@st.composite
def cases(draw: Any, *, mode: Optional[str] = None, min_loss: float = 0.0,
          all_crashes: bool = False) -> dict[str, Any]:
    """One faulty run as a case dict (see ``sim_cases.py``)."""
    acceptors = draw(st.sampled_from([3, 5]))
    proposers = draw(st.integers(1, 3))
    learners = draw(st.integers(1, 2))
    clients = draw(st.integers(1, 2))
    submissions = []
    for n, (client, at, count) in enumerate(draw(st.lists(
            st.tuples(st.integers(1, clients), st.floats(0.0, 3.0, allow_nan=False),
                      st.integers(1, 8)), min_size=1, max_size=4))):
        submissions.append([client, at, [f"c{client}.{n}.{k}" for k in range(count)]])
    minority = (acceptors - 1) // 2
    if all_crashes:
        victims = draw(st.permutations(range(1, acceptors + 1)))[:minority]
    else:
        victims = draw(st.lists(st.integers(1, acceptors), unique=True, max_size=minority))
    crashes = [["acceptor", a, draw(times)] for a in victims]
    survivor = draw(st.integers(1, proposers))  # not always proposer 1
    crashes += [["proposer", p, draw(times)] for p in range(1, proposers + 1)
                if p != survivor and (all_crashes or draw(st.booleans()))]
    late = draw(st.integers(1 if all_crashes else 0, 2))
    starts = [["learner", learners + k, draw(st.floats(0.0, 8.0, allow_nan=False))]
              for k in range(1, late + 1)]
    # Any acceptor may crash and restart (with storage it recovers), and any proposer:
    # it comes back as a new incarnation that remembers nothing (proposers keep no disk
    # state). A restarted proposer that was crashed is alive again.
    restarts = [["acceptor", a, draw(times)]
                for a in draw(st.lists(st.integers(1, acceptors), max_size=3))]
    restarts += [["proposer", p, draw(times)]
                 for p in draw(st.lists(st.integers(1, proposers), max_size=3))]
    # A client crashes and restarts: it resumes its session, sending again under their
    # old numbers the values it did not know decided (each is still delivered once).
    restarts += [["client", c, draw(st.floats(0.0, 4.0, allow_nan=False))]
                 for c in draw(st.lists(st.integers(1, clients), max_size=3))]
    heal_at = draw(st.floats(3.0, 10.0, allow_nan=False))
    return {
        "seed": draw(st.integers(0, 2**32 - 1)), "acceptors": acceptors,
        "proposers": proposers, "learners": learners, "clients": clients,
        "mode": mode or draw(st.sampled_from(["multi", "classic"])),
        "loss": draw(st.floats(min_loss, 0.5, allow_nan=False)),
        "duplicate": draw(st.floats(0.0, 0.2, allow_nan=False)),
        "delay": [0.0001, draw(st.sampled_from([0.002, 0.02, 0.2]))],
        "batch": draw(st.sampled_from([1, 4, 64])),
        "window": draw(st.sampled_from([1, 4, 32])),
        "submissions": submissions, "crashes": crashes, "starts": starts,
        "storage": True, "restarts": restarts,
        "network": [[heal_at, {"loss": 0.0, "duplicate": 0.0}]],
        "until": heal_at + AFTER_HEAL,
    }


def checked(case: dict[str, Any]) -> None:
    note(f"case: {to_json(case)}")
    assert_every_property(case)


RUNS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=300, **RUNS)
@given(cases())
def test_generated_runs_keep_every_property(case):
    checked(case)


@settings(max_examples=250, **RUNS)
@given(cases(mode="multi", min_loss=0.3))
def test_multi_paxos_under_heavy_loss_keeps_every_property(case):
    checked(case)


@settings(max_examples=250, **RUNS)
@given(cases(mode="classic"))
def test_classic_paxos_keeps_every_property(case):
    checked(case)


@settings(max_examples=200, **RUNS)
@given(cases(all_crashes=True))
def test_every_allowed_crash_and_late_learners_keep_every_property(case):
    checked(case)


# ---------------------------------------------------------------------- stateful


class ManualNetwork(RuleBasedStateMachine):
    """Hypothesis as the network: it picks every delivery, loss, duplicate and tick.

    A *duplicate* step delivers a copy and leaves it in flight, as when the network
    copied a datagram: the copy may be delivered again later, dropped, or never arrive.
    """

    @initialize(acceptors=st.sampled_from([3, 5]), proposers=st.integers(1, 3),
                mode=st.sampled_from(["multi", "classic"]), batch=st.sampled_from([1, 4]),
                seed=st.integers(0, 2**16))
    def start(self, acceptors, proposers, mode, batch, seed):
        self.sim = Simulation(acceptors=acceptors, proposers=proposers, learners=2,
                              clients=2, seed=seed, mode=mode, batch=batch, window=4,
                              manual=True, trace=False, storage=True)
        self.proposers = proposers
        self.values = 0
        self.isolated: set[str] = set()
        self.submit(1, 2)
        note(f"Simulation(acceptors={acceptors}, proposers={proposers}, learners=2, "
             f"clients=2, seed={seed}, mode={mode!r}, batch={batch}, window=4, manual=True, "
             "storage=True)")

    def _alive(self, role: str) -> list[int]:
        return sorted(i for (r, i), p in self.sim.processes.items() if r == role and p.alive)

    def _copy(self, k: int):
        return self.sim.in_flight[k % len(self.sim.in_flight)]

    @precondition(lambda self: self.sim.in_flight)
    @rule(n=st.sampled_from([1000, 1, 2, 4, 8]))
    def deliver_oldest(self, n):
        """Ordinary traffic: the ``n`` oldest copies (1000: until quiet), in order,
        except those to or from an isolated process."""
        for _ in range(n):
            copy = next((c for c in self.sim.in_flight if c.sender not in self.isolated
                         and c.receiver not in self.isolated), None)
            if copy is None:
                return
            self.sim.deliver(copy.id)

    @precondition(lambda self: self.sim.in_flight)
    @rule(fault=st.sampled_from(["reorder", "kind", "drop", "duplicate"]),
          k=st.integers(0, 63), kind=st.integers(0, 9))
    def misbehave(self, fault, k, kind):
        """The network at its worst: deliver any copy out of order (or any copy of a
        chosen kind: a late 2A, an early 2B), lose one, or deliver one and keep it in
        flight -- a duplicate that may arrive again later, or never."""
        copy = self._copy(k)
        if fault == "kind":
            kinds = sorted({c.kind for c in self.sim.in_flight})
            copies = [c for c in self.sim.in_flight if c.kind == kinds[kind % len(kinds)]]
            copy = copies[k % len(copies)]
        if fault == "drop":
            self.sim.drop(copy.id)
        elif fault == "duplicate":
            deliver_and_keep(self.sim, copy)
        else:
            self.sim.deliver(copy.id)

    @rule(k=st.integers(0, 15))
    def partition(self, k):
        """Cut one process off ordinary traffic (its copies wait in flight), or heal:
        ``k == 0`` or the process already cut off."""
        names = sorted(p.name for p in self.sim.processes.values() if p.role != "client")
        name = names[k % len(names)]
        self.isolated = set() if k == 0 or name in self.isolated else {name}

    @rule(dt=st.sampled_from([TIMEOUT / 2, 0.0, 3 * TIMEOUT]))
    def advance(self, dt):
        """Let time pass: up to the next timer (``dt == 0``), or ``dt`` seconds."""
        due = next_timer(self.sim)
        if dt == 0.0 and due is not None:
            dt = max(due - self.sim.now, 0.0)
        self.sim.advance(dt)

    @rule(client=st.integers(1, 2), count=st.integers(1, 3))
    def submit(self, client, count):
        self.sim.submit(client, [f"v{self.values + k}" for k in range(count)])
        self.values += count

    @rule(role=st.sampled_from(["acceptor", "proposer"]), k=st.integers(0, 4))
    def crash(self, role, k):
        """Crash an acceptor while a majority stays up, a proposer while another does."""
        alive = self._alive(role)
        floor = self.sim.acceptor_count // 2 + 1 if role == "acceptor" else 1
        if len(alive) > floor:
            self.sim.crash(role, alive[k % len(alive)])

    @rule(k=st.integers(0, 4))
    def restart_acceptor(self, k):
        """Crash any acceptor and restart it at once: it recovers from its storage."""
        self.sim.restart("acceptor", 1 + k % self.sim.acceptor_count)

    @rule(k=st.integers(0, 4))
    def restart_proposer(self, k):
        """Crash any proposer (or a crashed one) and restart it at once: a new
        incarnation with no memory of its earlier life."""
        self.sim.restart("proposer", 1 + k % self.proposers)

    @rule(client=st.integers(1, 2))
    def restart_client(self, client):
        """Crash a client and restart it at once: it resumes its session (it sends again
        what it did not know decided, under the old numbers)."""
        self.sim.restart("client", client)

    @invariant()
    def delivered_so_far_is_safe(self):
        report = check_sequences(self.sim.delivered, self.sim.proposed, expect_complete=False)
        assert report.ok, str(report)

    @invariant()
    def proposers_agree_on_every_decided_instance(self):
        decided: dict[int, Any] = {}
        for (role, _), proc in self.sim.processes.items():
            if role == "proposer":
                for instance, value in proc.obj.ledger.decided.items():
                    assert decided.setdefault(instance, value) == value, (
                        f"instance {instance} decided as {decided[instance]} and {value}")

    def teardown(self):
        """Liveness: a fair network (every copy delivered, timers firing) completes."""
        sim = self.sim
        deadline = sim.now + AFTER_HEAL
        while not self._complete() and sim.now < deadline:
            if sim.in_flight:
                sim.deliver_all(limit=10_000)
            else:
                due = next_timer(sim)
                assert due is not None, "nothing in flight and no timer set"
                sim.advance(max(due - sim.now, 0.0))
        report = check_sequences(sim.delivered, sim.proposed,
                                 live_learners=self._alive("learner"))
        assert report.ok, f"not complete {AFTER_HEAL} s after the network turned fair:\n{report}"

    def _complete(self) -> bool:
        wanted = len(self.sim.proposed)
        return all(len(self.sim.delivered[i]) >= wanted for i in self._alive("learner"))


ManualNetwork.TestCase.settings = settings(max_examples=100, stateful_step_count=100,
                                           **RUNS)
test_manual_network_never_breaks_safety = ManualNetwork.TestCase
