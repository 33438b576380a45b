"""The schedule language (paxos_edu.explore_schedule): each step does what its label says."""

from __future__ import annotations

import pytest

from paxos_edu.bugs import Bug
from paxos_edu.explore_schedule import Setup, next_timer, run_schedule


def test_submit_steps_submit_each_clients_values_in_order_then_nothing():
    outcome = run_schedule(Setup(values=(("a", "b"),)), [("submit", 0), ("submit", 0),
                                                         ("submit", 0)])
    assert [s.value for s in outcome.sim.proposed] == ["a", "b"]
    assert outcome.labels == ["client1 submits 'a'", "client1 submits 'b'",
                              "submit: client1 has no value left"]


def test_deliver_takes_the_kth_copy_in_flight_counting_modulo():
    outcome = run_schedule(Setup(), [("submit", 0), ("deliver", 3)])  # 2 copies: 3 % 2 == 1
    sim = outcome.sim
    assert [c.receiver for c in sim.in_flight] == ["proposer1"]
    assert outcome.labels[1].startswith("deliver client1 -> proposer2: SUBMIT")


def test_duplicate_delivers_and_leaves_the_same_copy_in_flight():
    outcome = run_schedule(Setup(), [("submit", 0), ("duplicate", 0)])
    sim = outcome.sim
    assert [(c.receiver, c.id) for c in sim.in_flight] == [("proposer1", 1), ("proposer2", 2)]
    assert [(r.event, r.msg_id) for r in sim.trace if r.event == "delivered"] == [
        ("delivered", 1)]
    assert "a duplicate stays in flight" in outcome.labels[1]


def test_drop_loses_the_copy():
    outcome = run_schedule(Setup(), [("submit", 0), ("drop", 0), ("drop", 0), ("drop", 0)])
    assert outcome.sim.in_flight == []
    assert outcome.labels[3] == "drop: nothing in flight"
    assert [r.reason for r in outcome.sim.trace if r.event == "dropped"] == ["by hand"] * 2


def test_advance_zero_runs_to_the_next_timer_and_a_positive_advance_runs_that_long():
    setup = Setup()
    sim = setup.simulation()
    due = next_timer(sim)
    outcome = run_schedule(setup, [("advance", 0), ("advance", 0.25)])
    assert outcome.sim.now == pytest.approx(due + 0.25)


def test_an_unknown_step_is_refused():
    with pytest.raises(ValueError, match="unknown schedule step"):
        run_schedule(Setup(), [("jump", 1)])


def test_setup_round_trips_through_plain_data():
    setup = Setup(acceptors=5, values=(("x",), ("y", "z")), mode="classic",
                  bugs=frozenset({Bug.SHARED_ROUNDS}))
    assert Setup.from_dict(setup.as_dict()) == setup
