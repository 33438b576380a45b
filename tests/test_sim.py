"""The simulator's public contract: runs, results, traces, determinism, manual stepping,
state tables, and the errors a caller gets for bad arguments."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from paxos_edu.errors import UsageError
from paxos_edu.messages import Kind
from paxos_edu.rounds import format_round, make_round
from paxos_edu.sim import InFlight, Simulation, TraceRecord

VALUES = {1: ["a", "b", "c"], 2: ["d", "e"]}


def lossy(seed: int = 7, **kwargs) -> Simulation:
    """The issue's example cluster: loss, duplication, an acceptor crash, a late learner."""
    sim = Simulation(acceptors=3, proposers=2, learners=2, clients=2, seed=seed,
                     loss=0.2, duplicate=0.05, **kwargs)
    for client, values in VALUES.items():
        sim.submit(client, values)
    sim.crash("acceptor", 3, at=0.5)
    sim.start("learner", 3, at=4.0)
    sim.set_network(loss=0.0, duplicate=0.0, at=20.0)
    return sim


# ---------------------------------------------------------------- running


def test_a_lossy_run_with_a_crash_learns_every_value_everywhere_in_one_order():
    started = time.perf_counter()
    result = lossy().run(until=300.0)
    assert time.perf_counter() - started < 5.0  # virtual seconds, not wall seconds
    assert sorted(result.learned) == [1, 2, 3]
    order = result.learned[1]
    assert sorted(order) == sorted(v for vs in VALUES.values() for v in vs)
    assert all(seq == order for seq in result.learned.values())
    assert result.complete and result.seed == 7
    assert result.check().ok
    assert [s.value for s in result.delivered[1]] == order


def test_a_late_learner_learns_everything_from_the_first_value():
    # batch 1: 200 instances, so the late learner catches up over several pages.
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=3, batch=1)
    sim.submit(1, [f"v{i}" for i in range(200)])
    sim.start("learner", 2, at=5.0)  # long after everything was decided
    result = sim.run(until=30.0)
    assert result.learned[2] == result.learned[1] == [f"v{i}" for i in range(200)]
    assert result.check().ok


def test_learned_lists_every_learner_crashed_or_not():
    sim = Simulation(learners=3, seed=1)
    sim.crash("learner", 2, at=0.0)
    sim.submit(1, ["a"])
    result = sim.run(until=10.0)
    assert set(result.learned) == {1, 2, 3}
    assert result.learned[2] == [] and result.learned[1] == ["a"]
    assert result.live_learners == [1, 3]
    assert result.check().ok


def test_nothing_is_learned_with_a_majority_of_acceptors_down():
    sim = Simulation(acceptors=3, seed=2)
    sim.crash("acceptor", 1, at=0.0)
    sim.crash("acceptor", 2, at=0.0)
    sim.submit(1, ["a", "b"])
    result = sim.run(until=5.0)
    assert result.learned == {1: [], 2: []}
    assert not result.complete
    assert result.check(expect_complete=False).ok
    assert not result.check().ok  # completeness fails, as it should


@pytest.mark.parametrize("settings", [dict(mode="classic"), dict(batch=1), dict(window=1),
                                      dict(acceptors=5, proposers=3)])
def test_other_settings_learn_every_value_too(settings):
    sim = Simulation(seed=11, loss=0.1, **settings)
    sim.submit(1, [f"x{i}" for i in range(10)])
    sim.submit(2, [f"y{i}" for i in range(10)])
    result = sim.run(until=60.0)
    assert result.complete and result.check().ok


def test_a_run_stops_early_once_everything_is_delivered():
    sim = Simulation(seed=1)
    sim.submit(1, ["a"])
    result = sim.run(until=1000.0)
    assert result.complete and sim.now < 1.0


def test_values_submitted_later_are_learned_after_the_earlier_ones():
    sim = Simulation(seed=5)
    sim.submit(1, ["early"])
    sim.submit(1, ["late"], at=2.0)
    result = sim.run(until=10.0)
    assert result.learned[1] == ["early", "late"]


def test_clients_are_acked_even_when_the_leader_crashes_right_after_deciding():
    # Regression: the leader's Acks were lost and it crashed; the follower knew the
    # values decided but never answered the clients' re-submissions (no work, no
    # take-over), so the clients waited forever although every value was learned.
    sim = Simulation(acceptors=3, proposers=2, learners=1, clients=1, seed=10, loss=0.3)
    sim.submit(1, [str(i) for i in range(20)])
    sim.crash("proposer", 1, at=0.05)
    sim.set_network(loss=0.0, at=5.0)
    result = sim.run(until=30.0)
    assert result.complete
    assert not sim.process("client", 1).unacked


def test_a_restarted_proposer_never_reuses_a_round():
    # Proposer 1 gets "v" accepted by acceptor 1 only in round 1.1, crashes and restarts
    # with the same id. Its new life starts again from round 1.1, which the acceptors
    # promise once more (an equal round is idempotent), and proposes "w" in instance 0 in
    # the same round: learner 1 counts acceptor 1's 2B (v) and acceptor 2's (w) as a
    # quorum of round 1.1 and delivers v; learner 2 delivers w.
    sim = Simulation(acceptors=3, proposers=1, learners=2, clients=2, seed=1, manual=True)
    sim.advance(0.01)
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    sim.submit(1, ["v"])
    sim.deliver_all("SUBMIT")
    sim.deliver_next("PHASE2A", "acceptor1")
    sim.deliver_next("PHASE2B", "learner1")
    for copy in list(sim.in_flight):
        sim.drop(copy.id)
    sim.crash("proposer", 1)
    sim.start("proposer", 1)
    sim.submit(2, ["w"])
    sim.deliver_all("SUBMIT")
    sim.advance(0.01)
    rounds = {c.message.rnd for c in sim.in_flight if c.kind == "PHASE1A"}
    assert make_round(1, 1) not in rounds, "the new life prepares a round of its old life"
    # (what happens if it does: two values in one round, learners disagree)
    for copy in [c for c in sim.in_flight if c.kind == "PHASE1A"]:
        (sim.drop if copy.receiver == "acceptor1" else sim.deliver)(copy.id)
    sim.deliver_all("PHASE1B")
    for copy in [c for c in sim.in_flight if c.kind == "PHASE2A"]:
        (sim.drop if copy.receiver == "acceptor1" else sim.deliver)(copy.id)
    sim.deliver_all("PHASE2B")
    assert sim.result().check(expect_complete=False).ok


# ---------------------------------------------------------------- traces and determinism


@pytest.fixture(scope="module")
def lossy_result():
    return lossy().run(until=300.0)


def test_the_trace_records_every_copy_sent_delivered_and_dropped(lossy_result):
    result = lossy_result
    trace = result.trace
    assert trace and all(isinstance(r, TraceRecord) for r in trace)
    assert {r.event for r in trace} == {"sent", "delivered", "dropped"}
    assert {r.kind for r in trace} <= set(Kind.__members__)
    assert [r.time for r in trace] == sorted(r.time for r in trace)
    sent_at = {r.msg_id: r.time for r in trace if r.event == "sent"}
    assert all(r.msg_id in sent_at and sent_at[r.msg_id] <= r.time for r in trace)
    reasons = {r.reason for r in trace if r.event == "dropped"}
    assert "loss" in reasons and reasons <= {"loss", "crashed"}
    for r in trace:
        if r.kind in ("PHASE1A", "PHASE1B", "PHASE2A", "PHASE2B", "NACK"):
            assert r.instance is not None and r.rnd is not None
        if r.kind == "SUBMIT":
            assert r.instance is None and r.rnd is None
    assert result.stats["sent"] == sum(r.event == "sent" for r in trace)
    assert result.stats["dropped"] == sum(r.event == "dropped" for r in trace)


def test_no_copy_is_lost_after_the_network_healed(lossy_result):
    result = lossy_result
    assert not [r for r in result.trace if r.reason == "loss" and r.time > 20.0]


def test_a_crashed_process_neither_sends_nor_receives(lossy_result):
    result = lossy_result
    after = [r for r in result.trace if r.time > 0.5]
    assert not [r for r in after if r.sender == "acceptor3"]
    assert not [r for r in after if r.receiver == "acceptor3" and r.event != "dropped"]


def test_the_trace_frame_has_one_row_per_record(lossy_result):
    result = lossy_result
    frame = result.trace_frame()
    assert len(frame) == len(result.trace)
    assert {"time", "event", "sender", "receiver", "kind", "instance", "rnd"} <= set(frame)


def test_the_same_seed_gives_the_same_result():
    first, second = lossy(seed=4).run(until=300.0), lossy(seed=4).run(until=300.0)
    assert first.trace == second.trace
    assert first.learned == second.learned and first.delivered == second.delivered
    assert first.notes == second.notes and first.stats == second.stats


def test_different_seeds_give_different_traces():
    traces = [lossy(seed=s).run(until=300.0).trace for s in (1, 2, 3)]
    assert traces[0] != traces[1] and traces[1] != traces[2]


def test_a_run_without_trace_records_nothing_but_still_learns():
    result = lossy(trace=False).run(until=300.0)
    assert result.trace == [] and result.check().ok


# ---------------------------------------------------------------- manual stepping


def stepper() -> Simulation:
    """One proposer, three acceptors, one learner; the prepare is on the wire."""
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=1, manual=True)
    sim.submit(1, ["a", "b"])
    sim.advance(0.01)  # proposer 1's start-up timer fires
    return sim


def test_manual_mode_holds_every_copy_until_delivered_or_dropped():
    sim = stepper()
    kinds = [c.kind for c in sim.in_flight]
    assert kinds.count("SUBMIT") == 1 and kinds.count("PHASE1A") == 3
    assert sim.result().learned == {1: []}
    sim.advance(0.001)
    assert sim.in_flight and sim.result().stats["delivered"] == 0


def test_deliver_hands_the_chosen_copy_to_its_receiver():
    sim = stepper()
    copy = next(c for c in sim.in_flight if c.kind == "PHASE1A" and c.receiver == "acceptor2")
    sim.deliver(copy.id)
    assert copy not in sim.in_flight
    assert sim.process("acceptor", 2).rnd == copy.message.rnd
    assert sim.process("acceptor", 1).rnd == 0
    replies = [c for c in sim.in_flight if c.kind == "PHASE1B"]
    assert [(c.sender, c.receiver) for c in replies] == [("acceptor2", "proposer1")]
    assert sim.trace[-1].event == "sent" and sim.trace[-2].event == "delivered"


def test_drop_loses_the_chosen_copy():
    sim = stepper()
    copy = sim.in_flight[0]
    sim.drop(copy.id)
    assert copy not in sim.in_flight
    last = sim.trace[-1]
    assert (last.event, last.msg_id, last.reason) == ("dropped", copy.id, "by hand")
    with pytest.raises(UsageError):
        sim.deliver(copy.id)


def test_advancing_time_fires_timers_in_manual_mode():
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=1, manual=True)
    assert sim.in_flight == []
    sim.advance(0.01)
    assert any(c.kind == "PHASE1A" for c in sim.in_flight)
    assert sim.now == pytest.approx(0.01)
    sim.advance(1.0)  # the unanswered prepare is retried
    assert sum(c.kind == "PHASE1A" for c in sim.in_flight) > 3


def test_deliver_next_picks_the_oldest_copy_of_a_kind_to_a_receiver():
    sim = stepper()
    copy = sim.deliver_next("phase1a", "acceptor3")
    assert (copy.kind, copy.receiver) == ("PHASE1A", "acceptor3")
    copy = sim.deliver_next("PHASE1A", "acceptor")  # any acceptor
    assert copy.receiver == "acceptor1"
    assert sim.deliver_next("PHASE1A", "learner") is None
    copy = sim.deliver_next()
    assert copy.kind == "SUBMIT"  # the oldest of all


@pytest.mark.parametrize("kind, receiver", [("PHASE3", None), (None, "wizard"), (None, "x1")])
def test_deliver_next_rejects_unknown_kinds_and_receivers(kind, receiver):
    with pytest.raises(UsageError):
        stepper().deliver_next(kind, receiver)


def test_one_instance_by_hand_phase_by_phase():
    sim = stepper()
    p = sim.process("proposer", 1)
    rnd = format_round(p.c_rnd)
    assert sim.proposer_table().loc[0, ["status", "c_rnd", "phase"]].tolist() == [
        "preparing", rnd, 1]
    # Phase 1: prepare reaches every acceptor; two promises make a quorum.
    while sim.deliver_next("PHASE1A"):
        pass
    acc = sim.acceptor_table()
    assert acc["rnd"].tolist() == [rnd] * 3 and acc["v_val"].tolist() == [""] * 3
    sim.deliver_next("PHASE1B")
    assert sim.proposer_table().loc[0, "promises"] == 1
    sim.deliver_next("PHASE1B")
    assert sim.proposer_table().loc[0, "status"] == "leading"
    # Phase 2: the client's values are proposed, accepted, learned.
    sim.deliver_next("SUBMIT")
    row = sim.proposer_table().loc[0]
    assert (row["instance"], row["phase"], row["c_val"]) == (0, 2, "a, b")
    while sim.deliver_next("PHASE2A"):
        pass
    acc = sim.acceptor_table()
    assert acc["v_rnd"].tolist() == [rnd] * 3 and acc["v_val"].tolist() == ["a, b"] * 3
    assert sim.learner_table().loc[0, "delivered"] == 0
    sim.deliver_next("PHASE2B", "learner1")
    assert sim.learner_table().loc[0, "delivered"] == 0  # one vote is not a quorum
    sim.deliver_next("PHASE2B", "learner1")
    learners = sim.learner_table()
    assert learners.loc[0, ["delivered", "next_instance", "values"]].tolist() == [2, 1, "a, b"]
    assert sim.result().learned == {1: ["a", "b"]}


# ---------------------------------------------------------------- state tables


def test_in_flight_table_lists_each_copy_with_a_summary():
    sim = stepper()
    table = sim.in_flight_table()
    assert list(table.columns) == ["id", "sent_at", "sender", "receiver", "kind", "instance",
                                   "round", "summary"]
    assert table["id"].tolist() == [c.id for c in sim.in_flight]
    prepare = table[table["kind"] == "PHASE1A"].iloc[0]
    assert (prepare["sender"], prepare["instance"], prepare["round"]) == ("proposer1", 0, "1.1")
    assert prepare["summary"] == "prepare i0 onward"
    submit = table[table["kind"] == "SUBMIT"].iloc[0]
    assert pd.isna(submit["instance"]) and submit["round"] == ""
    assert submit["summary"] == "submit 'a, b'"


def test_an_empty_in_flight_table_keeps_its_columns():
    table = Simulation(seed=1).in_flight_table()
    assert table.empty and "summary" in table.columns


def test_describe_names_the_copy_and_what_it_says():
    sim = stepper()
    copy = next(c for c in sim.in_flight if c.kind == "PHASE1A")
    assert isinstance(copy, InFlight)
    assert copy.describe() == (
        f"proposer1 -> {copy.receiver}: PHASE1A rnd 1.1 i0 — prepare i0 onward")
    sim.deliver(copy.id)
    promise = next(c for c in sim.in_flight if c.kind == "PHASE1B")
    assert promise.describe().endswith(f"promise from {copy.receiver[:-1]} "
                                       f"{copy.receiver[-1]}: nothing accepted")


def test_acceptor_table_shows_promise_and_vote_per_instance_and_holes():
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=1, manual=True,
                     batch=1)
    sim.advance(0.01)
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    sim.submit(1, ["a", "b", "c"])
    sim.deliver_all("SUBMIT")
    for copy in [c for c in sim.in_flight if c.kind == "PHASE2A"]:
        keep = copy.receiver == "acceptor1" and copy.message.instance != 1
        (sim.deliver if keep else sim.drop)(copy.id)
    sim.crash("acceptor", 3)
    table = sim.acceptor_table()
    assert list(table.columns) == ["acceptor", "alive", "instance", "rnd", "rnd_raw", "v_rnd",
                                   "v_rnd_raw", "v_val"]
    assert len(table) == 3 * 3  # instances 0..2 for every acceptor, the hole at 1 included
    one = table[table["acceptor"] == 1].set_index("instance")
    assert one["v_val"].tolist() == ["a", "", "c"]
    assert one["v_rnd"].tolist() == ["1.1", "-", "1.1"]
    assert one["rnd_raw"].tolist() == [make_round(1, 1)] * 3
    assert table[table["acceptor"] == 3]["alive"].tolist() == [False] * 3
    assert sim.acceptor_table(instances=[7])["instance"].tolist() == [7, 7, 7]


def test_an_idle_cluster_shows_one_row_per_process():
    sim = Simulation(acceptors=3, proposers=2, learners=2, clients=1, seed=1, manual=True)
    assert len(sim.acceptor_table()) == 3  # instance 0 of each acceptor
    proposers = sim.proposer_table()
    assert proposers["proposer"].tolist() == [1, 2]
    assert proposers["status"].tolist() == ["follower", "follower"]
    assert proposers["c_rnd"].tolist() == ["-", "-"]
    assert proposers["instance"].isna().all()
    learners = sim.learner_table()
    assert learners[["learner", "delivered", "next_instance", "values"]].values.tolist() == [
        [1, 0, 0, ""], [2, 0, 0, ""]]


def test_proposer_table_counts_promises_per_instance_in_classic_mode():
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=1, manual=True,
                     mode="classic")
    sim.advance(0.01)  # classic: the proposer leads at once, phase 1 runs per instance
    sim.submit(1, ["a"])
    sim.deliver_all("SUBMIT")
    sim.deliver_next("PHASE1A", "acceptor1")
    sim.deliver_next("PHASE1B")
    row = sim.proposer_table().loc[0]
    assert (row["status"], row["instance"], row["phase"], row["promises"], row["c_val"]) == (
        "leading", 0, 1, 1, "a")


def test_learner_table_counts_values_waiting_behind_a_gap():
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=1, manual=True,
                     batch=1)
    sim.advance(0.01)
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    sim.submit(1, ["a", "b"])
    sim.deliver_all("SUBMIT")
    sim.deliver_all("PHASE2A")
    for copy in [c for c in sim.in_flight if c.kind == "PHASE2B"]:
        if copy.message.instance == 1 and copy.receiver == "learner1":
            sim.deliver(copy.id)
    row = sim.learner_table().loc[0]
    assert (row["delivered"], row["next_instance"], row["waiting"]) == (0, 0, 1)


# ---------------------------------------------------------------- usage errors


@pytest.mark.parametrize("call", [
    lambda sim: sim.crash("wizard", 1),
    lambda sim: sim.start("wizard", 1, at=2.0),
    lambda sim: sim.process("wizard", 1),
    lambda sim: sim.crash("acceptor", 0),
    lambda sim: sim.process("learner", 9),
])
def test_an_unknown_role_or_process_is_a_usage_error(call):
    with pytest.raises(UsageError):
        call(Simulation(seed=1))


def test_starting_a_running_process_is_a_usage_error():
    with pytest.raises(UsageError, match="already running"):
        Simulation(seed=1).start("learner", 1)


def test_an_acceptor_cannot_be_restarted_or_added():
    sim = Simulation(acceptors=3, seed=1)
    sim.crash("acceptor", 2)
    with pytest.raises(UsageError, match="crash-stop"):
        sim.start("acceptor", 2)
    with pytest.raises(UsageError, match="crash-stop"):
        sim.start("acceptor", 4)


def test_scheduling_in_the_past_is_a_usage_error():
    sim = Simulation(seed=1)
    sim.run(until=1.0, stop_when_complete=False)
    for call in (lambda: sim.submit(1, ["a"], at=0.5), lambda: sim.crash("learner", 1, at=0.5),
                 lambda: sim.start("learner", 5, at=0.5),
                 lambda: sim.set_network(loss=0.1, at=0.5), lambda: sim.advance(-0.1)):
        with pytest.raises(UsageError, match="past|forward"):
            call()


@pytest.mark.parametrize("kwargs", [dict(loss=1.0), dict(loss=-0.1), dict(duplicate=1.5),
                                    dict(delay=(0.2, 0.1)), dict(acceptors=0),
                                    dict(learners=-1), dict(mode="fast"), dict(timeout=0),
                                    dict(batch=0), dict(bugs="no-such-bug")])
def test_bad_settings_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        Simulation(**kwargs)


def test_a_bad_network_change_fails_at_once():
    sim = Simulation(seed=1)
    with pytest.raises(UsageError, match="loss"):
        sim.set_network(loss=2.0, at=5.0)


def test_submitting_for_an_unknown_client_or_an_invalid_value_is_a_usage_error():
    sim = Simulation(clients=1, seed=1)
    with pytest.raises(UsageError):
        sim.submit(2, ["a"])
    with pytest.raises(UsageError, match="newline"):
        sim.submit(1, ["a\nb"])


def test_deliver_and_keep_leaves_a_duplicate_in_flight():
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=3, manual=True)
    sim.submit(1, ["x"])
    copy = next(c for c in sim.in_flight if c.kind == "SUBMIT")
    sim.deliver(copy.id, keep=True)
    assert copy in sim.in_flight  # it may arrive again
    sim.deliver(copy.id)
    assert copy not in sim.in_flight


def test_next_timer_is_the_earliest_live_deadline():
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=3, manual=True)
    due = sim.next_timer()
    assert due is not None and due > sim.now
    sim.advance(due - sim.now + 1e-9)
    assert sim.next_timer() is None or sim.next_timer() > due


def test_the_trace_keeps_each_copys_message_and_the_copy_each_delivery_came_from(lossy_result):
    """Pictures show the values a message carries and where a learner delivered: every
    traced copy's message is kept by msg_id, and each delivery names the ``delivered``
    record (a 2B or decision to that learner) whose handling delivered it."""
    r = lossy_result
    assert {rec.msg_id for rec in r.trace} == set(r.messages)
    for rec in r.trace:
        assert r.messages[rec.msg_id].kind.name == rec.kind
    for learner, causes in r.delivery_causes.items():
        assert len(causes) == len(r.deliveries[learner])
        for index, (t, instance) in zip(causes, r.deliveries[learner]):
            rec = r.trace[index]
            assert (rec.event, rec.receiver, rec.time) == ("delivered", f"learner{learner}", t)
            assert rec.kind in ("PHASE2B", "DECISION")
            assert rec.instance <= instance  # a gap filled delivers the instances behind it
        assert causes == sorted(causes)


# ---------------------------------------------------------------------- restarts


def test_a_restarted_acceptor_with_storage_recovers_its_promises_and_votes():
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, seed=3, storage=True)
    sim.submit(1, ["a", "b"])
    sim.run(until=2.0)
    before = sim.process("acceptor", 2)
    state = (before.rnd, before.max_slot_rnd, dict(before.slots))
    assert state[2] and sim.disks[2]
    sim.restart("acceptor", 2)
    after = sim.process("acceptor", 2)
    assert after is not before
    assert (after.rnd, after.max_slot_rnd, after.slots) == state
    assert any(event == "restart" and who == "acceptor2" for _, who, event, _ in sim.notes)


def test_restarting_an_acceptor_without_storage_is_refused_unless_the_bug_allows_it():
    with pytest.raises(UsageError, match="no storage.*restart-without-storage"):
        Simulation(seed=1).restart("acceptor", 1)
    sim = Simulation(seed=1, proposers=1, clients=1, learners=1,
                     bugs=["restart-without-storage"])
    sim.submit(1, ["a"])
    sim.run(until=1.0)
    assert sim.process("acceptor", 1).slots
    sim.restart("acceptor", 1, at=1.5)
    sim.run(until=2.0, stop_when_complete=False)
    assert sim.process("acceptor", 1).slots == {} and sim.process("acceptor", 1).rnd == 0


def test_the_restart_bug_empties_an_acceptor_even_when_it_has_storage():
    sim = Simulation(seed=1, proposers=1, clients=1, learners=1, storage=True,
                     bugs=["restart-without-storage"])
    sim.submit(1, ["a"])
    sim.run(until=1.0)
    sim.restart("acceptor", 1)
    assert sim.process("acceptor", 1).slots == {} and sim.disks[1]


def test_restarted_proposers_and_learners_come_back_new_and_the_run_completes():
    sim = Simulation(seed=4, storage=True)
    sim.submit(1, [f"v{k}" for k in range(20)])
    sim.restart("proposer", 1, at=0.05)
    sim.restart("learner", 2, at=0.1)
    sim.restart("acceptor", 3, at=0.07)
    result = sim.run(until=30.0)
    assert result.check().ok and result.complete
    assert result.learned[2] == [f"v{k}" for k in range(20)]


def test_a_proposer_started_again_knows_it_ran_before_and_in_classic_mode_prepares_all():
    # Its decided history is unknown to it: in classic mode its first take-over sends one
    # prepare for every instance, to learn from the acceptors what its earlier life saw.
    sim = Simulation(proposers=2, mode="classic", seed=3)
    assert not sim.process("proposer", 1).history_unknown
    sim.submit(1, ["v"])
    sim.run(until=1.0)
    before = len(sim.notes)
    sim.restart("proposer", 1)
    sim.crash("proposer", 2)
    sim.start("proposer", 2)
    assert sim.process("proposer", 1).history_unknown
    assert sim.process("proposer", 2).history_unknown
    result = sim.run(until=2.0, stop_when_complete=False)
    assert any(event == "phase1_start" and fields.get("first") == 0
               for _, name, event, fields in result.notes[before:] if name == "proposer1")
    assert not sim.process("proposer", 1).history_unknown  # its phase 1 was adopted


def test_restart_is_a_recorded_step_that_rewind_replays():
    sim = Simulation(manual=True, storage=True, seed=1)
    sim.submit(1, ["a"])
    sim.advance(0.05)
    while sim.in_flight:
        sim.deliver(sim.in_flight[0].id)
    sim.restart("acceptor", 2)
    assert sim.history[-1].action == "restart" and "acceptor2" in sim.history[-1].label
    state = (sim.process("acceptor", 2).rnd, dict(sim.process("acceptor", 2).slots))
    disks = {k: list(v) for k, v in sim.disks.items()}
    sim.rewind(len(sim.history) - 1)
    sim.forward()
    assert (sim.process("acceptor", 2).rnd, dict(sim.process("acceptor", 2).slots)) == state
    assert sim.disks == disks and state[1]


# ---------------------------------------------------------------------- client resume


def _settle(sim: Simulation) -> None:
    """Deliver every copy and let timers fire until nothing is left to do (manual mode)."""
    for _ in range(50):
        sim.deliver_all()
        sim.advance(0.05)
        if not sim.in_flight:
            return

def _client_restarted_mid_session(**restart: bool) -> tuple[Simulation, set[int]]:
    """Client 1 has "a", "b" decided and acknowledged, then submits "c", "d" and is
    restarted before any copy of them arrives; those copies are lost with it. Returns
    the simulation and the ids of the copies the new life sent."""
    sim = Simulation(manual=True, seed=2, clients=1)
    sim.submit(1, ["a", "b"])
    _settle(sim)
    assert sim.process("client", 1).decided_below() == 2
    sim.submit(1, ["c", "d"])
    lost = {c.id for c in sim.in_flight if c.sender == "client1"}
    assert lost
    sim.restart("client", 1, **restart)
    for msg_id in lost:
        sim.drop(msg_id)
    return sim, {c.id for c in sim.in_flight if c.sender == "client1"}


def test_a_restarted_client_resumes_its_session_and_sends_again_only_the_undecided():
    sim, sent = _client_restarted_mid_session()
    before = sim.proposed[0].session
    client = sim.process("client", 1)
    assert client.session == before and client.next_seq == 4
    again = sorted({(s.session, s.seq, s.value) for c in sim.in_flight if c.id in sent
                    for s in c.message.submissions})
    assert again == [(before, 2, "c"), (before, 3, "d")]  # old numbers; a, b skipped
    assert sim.notes[-1][2:] == ("restart", {"session": before, "resent": 2, "skipped": 2})
    _settle(sim)
    result = sim.result()
    assert result.check().ok and result.complete
    assert result.learned == {1: ["a", "b", "c", "d"], 2: ["a", "b", "c", "d"]}


def test_a_resumed_client_numbers_its_new_values_after_the_old_ones():
    sim, _ = _client_restarted_mid_session()
    sim.submit(1, ["e"])
    assert [(s.session, s.seq) for s in sim.proposed] == [(sim.proposed[0].session, k)
                                                          for k in range(5)]
    _settle(sim)
    assert sim.result().learned[1] == ["a", "b", "c", "d", "e"]


def test_a_client_restarted_with_new_session_sends_nothing_again():
    sim, sent = _client_restarted_mid_session(new_session=True)
    assert not sent
    client = sim.process("client", 1)
    assert client.session != sim.proposed[0].session and client.next_seq == 0
    _settle(sim)
    result = sim.result()
    assert result.learned[1] == ["a", "b"] and not result.complete  # c, d were lost


def test_a_resumed_client_carries_only_what_its_log_would_hold():
    # Acknowledged values above the watermark are not carried (the log's acked record
    # holds only the watermark): value 2 acknowledged while value 1 is not, the new life
    # sends both again -- and each is still delivered once.
    sim = Simulation(manual=True, seed=5, clients=1)
    sim.submit(1, ["w"])
    _settle(sim)  # a leader is elected: a value is now decided without waiting for timers
    sim.submit(1, ["x"])
    for c in list(sim.in_flight):
        sim.drop(c.id)  # "x" is lost: "y" is decided alone
    sim.submit(1, ["y"])
    sim.deliver_all()
    client = sim.process("client", 1)
    assert sorted(client.unacked) == [1] and client.decided_below() == 1
    sim.restart("client", 1)
    assert sim.notes[-1][3] == {"session": client.session, "resent": 2, "skipped": 1}
    _settle(sim)
    result = sim.result()
    assert result.check().ok and result.learned[1] == ["w", "y", "x"]


def test_new_session_is_refused_for_other_roles():
    with pytest.raises(UsageError, match="new_session is for clients"):
        Simulation(seed=1).restart("proposer", 1, new_session=True)


def test_a_client_restart_is_a_recorded_step_that_rewind_replays():
    sim, _ = _client_restarted_mid_session()
    k = max(i for i, step in enumerate(sim.history) if step.action == "restart")
    assert "client1" in sim.history[k].label
    state = (sim.process("client", 1).session, sorted(sim.process("client", 1).unacked))
    flight = [c.id for c in sim.in_flight]
    sim.rewind(k)  # before the restart: the first life, "c" and "d" in flight
    assert sim.process("client", 1).next_seq == 4 and sim.processes[("client", 1)].alive
    sim.forward(len(sim.redo))
    assert (sim.process("client", 1).session, sorted(sim.process("client", 1).unacked)) == state
    assert [c.id for c in sim.in_flight] == flight


def test_a_client_restarted_in_a_run_delivers_every_value_once():
    # Nearly every copy is lost until t=0.05: only the resumed lives' retries get through.
    sim = Simulation(seed=7, loss=0.95, storage=True)
    sim.submit(1, [f"v{k}" for k in range(30)])
    sim.submit(2, [f"w{k}" for k in range(10)], at=0.002)
    sim.restart("client", 1, at=0.001)
    sim.restart("client", 1, at=0.003)
    sim.set_network(loss=0.0, at=0.05)
    result = sim.run(until=60.0)
    assert result.check().ok and result.complete
    assert sorted(result.learned[1]) == sorted([f"v{k}" for k in range(30)] +
                                               [f"w{k}" for k in range(10)])


def test_a_client_restarted_with_new_session_at_the_same_time_draws_another_session():
    # Found by the property hunt: the session was drawn from (seed, role, id, time) alone,
    # so a client restarted at t=0 drew its old session again and its next value, numbered
    # 0 again, was dropped by the learners as a duplicate of the first one.
    sim = Simulation(seed=0, clients=1)
    sim.submit(1, ["a"])
    session = sim.process("client", 1).session
    sim.restart("client", 1, new_session=True)
    assert sim.process("client", 1).session != session
    sim.submit(1, ["b"], at=1.0)
    result = sim.run(until=30.0)
    assert result.check().ok and result.complete and result.learned[1] == ["a", "b"]


def test_a_crashed_client_restarted_later_resumes_what_it_knew_at_its_crash():
    # The Stepper's way: crash, time passes (acks reach nobody), then restart.
    sim = Simulation(manual=True, seed=2, clients=1)
    sim.submit(1, ["a", "b"])
    _settle(sim)
    sim.submit(1, ["c"])
    sim.crash("client", 1)
    _settle(sim)  # "c" is decided, but the dead client never hears it
    sim.restart("client", 1)
    assert sim.notes[-1][3]["resent"] == 1 and sim.notes[-1][3]["skipped"] == 2
    _settle(sim)
    result = sim.result()
    assert result.check().ok and result.complete and result.learned[1] == ["a", "b", "c"]
