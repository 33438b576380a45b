"""Time travel in the simulator: history, rewind, back / forward, branches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxos_edu.errors import UsageError
from paxos_edu.explore import Setup, run_schedule, safety
from paxos_edu.sim import Simulation
from paxos_edu.timeline import Step


def small_sim(**kwargs) -> Simulation:
    return Simulation(seed=3, manual=True, proposers=2, learners=2, clients=2, **kwargs)


def state(sim: Simulation) -> tuple:
    """Everything a student can see of a simulation, as comparable values."""
    return (
        sim.now,
        sim.acceptor_table().to_csv(), sim.proposer_table().to_csv(),
        sim.learner_table().to_csv(), sim.in_flight_table().to_csv(),
        tuple(sim.trace), tuple((t, who, ev, tuple(sorted(f.items()))) for t, who, ev, f in
                                sim.notes),
        tuple(sim.proposed), {i: tuple(v) for i, v in sim.delivered.items()},
        tuple(sorted(sim.stats.items())),
        tuple((c.id, c.sender, c.receiver, c.message) for c in sim.in_flight),
    )


PROCESSES = [("acceptor", 1), ("acceptor", 3), ("proposer", 1), ("proposer", 2),
             ("learner", 2), ("learner", 3), ("client", 1)]

actions = st.one_of(
    st.tuples(st.sampled_from(["deliver", "duplicate", "drop"]), st.integers(0, 50)),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.001, 0.03, 0.1, 0.25])),
    st.tuples(st.just("submit"), st.integers(1, 2)),
    st.tuples(st.sampled_from(["crash", "start"]), st.sampled_from(PROCESSES)),
    st.tuples(st.just("set_network"), st.sampled_from([0.0, 0.3])),
    st.tuples(st.just("deliver_all"), st.sampled_from([None, "PHASE1A", "PHASE2B"])),
)


def act(sim: Simulation, op: str, arg, n: int) -> bool:
    """Take one generated action; False when it was refused (and so not a step)."""
    try:
        if op in ("deliver", "duplicate", "drop"):
            if not sim.in_flight:
                sim.advance(0.05)
                return True
            copy = sim.in_flight[arg % len(sim.in_flight)]
            if op == "drop":
                sim.drop(copy.id)
            else:
                sim.deliver(copy.id, keep=op == "duplicate")
        elif op == "advance":
            sim.advance(arg)
        elif op == "submit":
            sim.submit(arg, [f"v{n}"])
        elif op in ("crash", "start"):
            getattr(sim, op)(*arg)
        elif op == "set_network":
            sim.set_network(loss=arg, at=sim.now + 0.01)  # a scheduled action, too
        else:
            sim.deliver_all(arg, limit=20)
    except UsageError:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(st.lists(actions, min_size=1, max_size=40), st.data())
def test_rewind_to_any_step_restores_the_state_first_reached_there(ops, data):
    sim = small_sim()
    seen = [state(sim)]
    for n, (op, arg) in enumerate(ops):
        if act(sim, op, arg, n):
            seen.append(state(sim))
        assert len(sim.history) == len(seen) - 1  # a refused action is no step
    final = seen[-1]
    for k in data.draw(st.lists(st.integers(0, len(seen) - 1), min_size=1, max_size=4)):
        sim.rewind(k)
        assert len(sim.history) == k and len(sim.timeline) == len(seen) - 1
        assert state(sim) == seen[k]
    sim.rewind(len(seen) - 1)  # forward again: the hidden state (timers, rngs) came back too
    assert state(sim) == final


@settings(max_examples=30, deadline=None)
@given(st.lists(actions, min_size=2, max_size=30), actions, st.data())
def test_an_action_after_a_rewind_starts_a_branch(ops, other, data):
    sim = small_sim()
    for n, (op, arg) in enumerate(ops):
        act(sim, op, arg, n)
    k = data.draw(st.integers(0, len(sim.history)))
    prefix = sim.history[:k]
    sim.rewind(k)
    if not act(sim, *other, 99):
        return
    assert sim.history[:k] == prefix and len(sim.history) == k + 1 and sim.redo == ()
    fresh = small_sim()
    for step in sim.history:
        step.apply(fresh)
    assert state(fresh) == state(sim)


def test_history_labels_say_what_happened():
    sim = small_sim()
    sim.submit(1, ["a"])
    copy = sim.in_flight[0]
    sim.deliver(copy.id)
    sim.advance(0.1)
    sim.crash("acceptor", 2)
    sim.deliver(sim.in_flight[0].id, keep=True)
    labels = [str(s) for s in sim.history]
    assert labels[0] == "t=0.000 client1 submits 'a'"
    assert labels[1] == "t=0.000 deliver " + copy.describe()
    assert labels[2] == "t=0.000 advance 0.1 s to t=0.100"
    assert labels[3] == "t=0.100 crash acceptor2"
    assert labels[4].endswith("(a duplicate stays in flight)")
    assert all(isinstance(s, Step) for s in sim.history)
    with pytest.raises(AttributeError):
        sim.history[0].label = "x"  # frozen records


def test_back_forward_and_the_steps_to_redo():
    sim = small_sim()
    sim.submit(1, ["a"])
    sim.advance(0.1)
    after_two = state(sim)
    sim.deliver(sim.in_flight[0].id)
    sim.back()
    assert state(sim) == after_two and len(sim.redo) == 1
    sim.forward()
    assert len(sim.history) == 3 and sim.redo == ()
    sim.back(10)
    assert sim.history == () and state(sim) == state(small_sim())
    sim.forward(2)
    assert state(sim) == after_two


def test_calls_an_action_makes_itself_are_not_steps():
    sim = small_sim()
    sim.submit(1, ["a"])
    sim.deliver_all()
    assert [s.action for s in sim.history] == ["submit", "deliver_all"]
    sim.deliver_next()
    assert len(sim.history) == 3  # also when nothing matched: still a step taken


def test_rewind_refuses_bad_step_numbers_and_free_running_simulations():
    sim = small_sim()
    sim.submit(1, ["a"])
    with pytest.raises(UsageError, match="from 0 to 1"):
        sim.rewind(2)
    with pytest.raises(UsageError, match="manual"):
        Simulation(seed=1).rewind(0)
    auto = Simulation(seed=1)
    auto.submit(1, ["a"])
    assert auto.history == ()


def test_scheduled_actions_act_on_the_rewound_simulation():
    sim = small_sim()
    sim.set_network(loss=0.5, at=0.05)
    sim.advance(0.1)
    sim.rewind(1)
    sim.advance(0.1)  # the closure scheduled by set_network must change *this* object
    assert sim.network.loss == 0.5


def test_a_simulation_from_another_ones_history():
    sim = small_sim()
    sim.submit(1, ["a"])
    sim.advance(0.1)
    sim.deliver(sim.in_flight[0].id)
    copy = Simulation.from_history(sim.timeline, seed=3, proposers=2, learners=2, clients=2)
    assert state(copy) == state(sim) and copy.manual
    at_one = Simulation.from_history(sim.timeline, seed=3, proposers=2, learners=2, clients=2,
                                     at=1)
    assert len(at_one.history) == 1 and len(at_one.redo) == 2


def test_a_counterexample_schedule_opens_as_a_history():
    setup = Setup(seed=5)
    outcome = run_schedule(setup, [("submit", 0), ("advance", 0.0), ("deliver", 0),
                                   ("deliver", 0), ("drop", 0)])
    sim = outcome.sim
    assert [s.action for s in sim.history] == ["submit", "advance", "deliver", "deliver", "drop"]
    end = state(sim)
    sim.rewind(0)
    assert sim.in_flight == [] and sim.now == 0
    sim.rewind(5)
    assert state(sim) == end


def test_a_shrunk_counterexample_opens_at_its_first_step():
    from paxos_edu.explore import find_violation

    cx = find_violation("shared-rounds", seed=0, max_runs=50)
    assert cx is not None
    sim = cx.simulation()
    assert sim.history == () and len(sim.redo) == len(cx.schedule)
    sim.forward(len(cx.schedule))
    assert tuple(sim.trace) == tuple(cx.trace) and not safety(sim).ok


def test_a_copy_has_the_same_timeline_and_state_but_lives_apart():
    sim = small_sim()
    sim.submit(1, ["a"])
    sim.advance(0.1)
    sim.back()
    twin = sim.copy()
    assert state(twin) == state(sim) and len(twin.redo) == 1
    twin.forward()
    assert len(sim.history) == 1 and len(twin.history) == 2
