"""The trace model: one schema for simulated and real runs, message frames, pairing."""

from __future__ import annotations

import pandas as pd
import pytest
from run_helper import REAL, R, real_messages, subs, write_run

from paxos_edu import experiments, trace
from paxos_edu.errors import UsageError
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Group, Phase1A
from paxos_edu.rounds import make_round
from paxos_edu.runlog import load_run
from paxos_edu.sim import Simulation, TraceRecord
from paxos_edu.trace import LEARNED, MESSAGES, NOTES, PROCESSES, PROPOSED

# ---------------------------------------------------------------------- message_frame


def test_message_frame_from_a_sim_trace_is_exact(small_run):
    frame = trace.message_frame(small_run)
    assert set(frame["event"]) == {"sent", "delivered"}
    assert frame["exact"].all()
    sent = frame[frame["event"] == "sent"].set_index("msg_id")
    for row in frame[frame["event"] == "delivered"].itertuples():
        assert sent.loc[row.msg_id, "receiver"] == row.receiver
        assert sent.loc[row.msg_id, "sender"] == row.sender


def test_message_frame_pairs_a_real_runs_receipts_with_the_send_they_name():
    frame = trace.message_frame(REAL)
    receipts = frame[frame["event"] != "sent"].set_index("receiver")
    assert receipts.loc["acceptor1", "sender"] == "proposer1"
    assert bool(receipts.loc["acceptor1", "exact"])
    drop = receipts.loc["acceptor3"]
    assert drop["event"] == "dropped" and drop["sender"] == "proposer1"
    assert drop["instance"] == 0 and drop["round"] == R  # filled in from the send
    promises = frame[(frame["event"] == "delivered") & (frame["kind"] == "PHASE1B")]
    # Exact, not first-in-first-out: acceptor 2's promise arrived first.
    assert list(promises["sender"]) == ["acceptor2", "acceptor1"]
    assert promises["exact"].all()
    sends = frame[frame["event"] == "sent"].set_index("msg_id")
    for row in promises.itertuples():
        assert sends.loc[row.msg_id, "sender"] == row.sender
    orphan, garbage = frame[frame["receiver"] == "learner1"].itertuples()
    assert pd.isna(orphan.msg_id) and orphan.sender == "acceptor1"  # its send not logged
    assert pd.isna(garbage.msg_id) and pd.isna(garbage.sender) and not garbage.exact


def test_every_receipt_pairs_with_exactly_one_send_even_an_older_one():
    # What a guess by time would get wrong: the receipt names the first send, not the
    # retransmission right before it.
    frame = trace.message_frame(
        real_messages(
            [
                (0.0, "proposer1", "sent", "PHASE2A", 4, R, "acceptors", None, None, 1),
                (0.2, "proposer1", "sent", "PHASE2A", 4, R, "acceptors", None, None, 2),
                (0.201, "acceptor1", "received", "PHASE2A", 4, R, "acceptors", None,
                 "proposer1", 1),
            ]
        )
    )
    receipt = frame[frame["event"] == "delivered"].iloc[0]
    first = frame[frame["event"] == "sent"].iloc[0]
    assert receipt["msg_id"] == first["msg_id"]


def test_message_frame_of_run_messages_converted_from_a_sim_matches_its_events(lossy):
    frame = trace.message_frame(lossy.run.messages)
    exact = trace.message_frame(lossy.run)  # a SimRun carries its exact trace
    assert (frame["event"] == "dropped").sum() == (exact["event"] == "dropped").sum() > 0
    assert frame.loc[frame["event"] != "sent", "msg_id"].notna().all()


def test_message_frame_rejects_what_it_cannot_read():
    with pytest.raises(UsageError):
        trace.message_frame(pd.DataFrame({"x": [1]}))
    with pytest.raises(UsageError):
        trace.message_frame(42)


def test_filter_messages_by_kind_short_name_and_instance(small_run):
    frame = trace.message_frame(small_run)
    only = trace.filter_messages(frame, kinds=["1a", "2B"], instances=[0])
    assert set(only["kind"]) == {"PHASE1A", "PHASE2B"}
    assert (only["instance"] == 0).all()
    assert "HEARTBEAT" not in set(trace.filter_messages(frame)["kind"])
    with pytest.raises(UsageError):
        trace.filter_messages(frame, kinds=["3C"])


# ---------------------------------------------------------------------- a simulation as Run tables


def test_run_messages_has_one_send_per_multicast():
    sim = Simulation(seed=1, proposers=1, learners=1, clients=1)
    sim.submit(1, ["a"])
    res = sim.run(5)
    table = trace.run_messages(res.trace)
    assert list(table.columns) == list(MESSAGES)
    sent = table[table["direction"] == "sent"]
    assert (sent["kind"] == "PHASE1A").sum() == 1  # one prepare to the whole group
    assert (sent["kind"] == "PHASE2B").sum() == 3  # one accepted per acceptor
    received = table[(table["direction"] == "received") & (table["kind"] == "PHASE2B")]
    assert set(received["process"]) == {"proposer1", "learner1"}
    assert set(table.loc[table["kind"] == "PHASE2B", "group"]) == {"learners"}


def test_a_copy_lost_on_the_way_does_not_split_its_multicast():
    rnd = make_round(1, 1)
    records = [
        TraceRecord(0.1, "sent", "proposer1", "acceptor1", "PHASE1A", 0, rnd, 1),
        TraceRecord(0.1, "dropped", "proposer1", "acceptor1", "PHASE1A", 0, rnd, 1, "loss"),
        TraceRecord(0.1, "sent", "proposer1", "acceptor2", "PHASE1A", 0, rnd, 2),
        TraceRecord(0.1, "sent", "proposer1", "acceptor3", "PHASE1A", 0, rnd, 3),
        TraceRecord(0.1, "sent", "proposer1", "acceptor1", "PHASE1A", 0, rnd, 4),  # a resend
    ]
    rows = [(r.event, r.time, r.sender, r.receiver, r.kind, r.instance, r.rnd) for r in records]
    assert trace.datagram_numbers(rows) == [0, 1, 0, 0, 4]
    table = trace.run_messages(records)
    assert table["direction"].tolist() == ["sent", "dropped", "sent"]
    assert table["process"].tolist() == ["proposer1", "acceptor1", "proposer1"]


def test_a_simulated_run_and_a_real_run_have_the_same_columns_and_dtypes(tmp_path):
    simulated = experiments.run_experiment(dict(backend="sim", values=2, seed=1)).run
    write_run(tmp_path, subs(2), {1: subs(2)})
    with EventLog(tmp_path, "acceptor", 1, trace="messages") as log:
        log.start()
        log.message("received", Phase1A(rnd=R, instance=0, onward=True), Group.ACCEPTORS, 24)
        log.message("dropped", None, Group.ACCEPTORS, 7, reason="decode")
        log.note("leader", {"rnd": "1.1"})
    real = load_run(tmp_path)
    for name, schema in (("proposed", PROPOSED), ("learned", LEARNED), ("messages", MESSAGES),
                         ("notes", NOTES), ("processes", PROCESSES)):  # fmt: skip
        for run in (simulated, real):
            dtypes = getattr(run, name).dtypes.astype(str).to_dict()
            assert dtypes == schema, (name, run.path)


def test_an_untraced_run_has_an_empty_messages_table_of_the_same_dtypes(tmp_path):
    run = load_run(write_run(tmp_path, subs(2), {1: subs(2)}))
    assert run.messages.empty and run.messages.dtypes.astype(str).to_dict() == MESSAGES


def test_a_simulated_run_knows_the_instance_of_each_delivery():
    result = experiments.run_experiment(dict(backend="sim", values=3, batch=1, seed=2))
    sim = result.run.sim
    for lid, rows in result.run.learned.groupby("learner"):
        assert rows["instance"].tolist() == [i for _, i in sim.deliveries[lid]]
    assert result.run.learned["instance"].notna().all()


def test_table_orders_and_types_columns_by_the_schema():
    frame = trace.table(LEARNED, {"value": ["a"], "learner": [1], "position": [0],
                                  "instance": [None], "client": [1], "session": [2],
                                  "seq": [3], "time": [0.5]})  # fmt: skip
    assert list(frame.columns) == list(LEARNED)
    assert frame.dtypes.astype(str).to_dict() == LEARNED
    assert pd.isna(frame["instance"].iloc[0])
    assert trace.table(NOTES).dtypes.astype(str).to_dict() == NOTES


def test_process_order_sorts_by_role_then_id_and_keeps_other_names_last():
    names = ["learner1", "acceptor10", "acceptor2", "client1", "proposer1", "other", "acceptor"]
    assert trace.process_order(names) == [
        "client1",
        "proposer1",
        "acceptor2",
        "acceptor10",
        "learner1",
        "acceptor",
        "other",
    ]


def test_the_lamport_diagram_reads_the_one_trace_model():
    from paxos_edu.lamport import model

    assert model.KIND_SHORT is trace.KIND_SHORT
    assert not hasattr(model, "ROLE_ORDER") and not hasattr(model, "_process_order")
    data = model.diagram_data(Simulation(seed=1, manual=True))
    assert list(data["kinds"]) == list(trace.KIND_ORDER)
    assert [p["name"] for p in data["processes"]] == trace.process_order(
        p["name"] for p in data["processes"])


def test_process_order_leaves_out_what_is_not_a_name():
    assert trace.process_order(["acceptor1", "", None, float("nan"), "client1"]) == [
        "client1", "acceptor1"]


def test_receipts_naming_sender_and_sequence_number_pair_exactly():
    rows = [  # (time, process, direction, kind, instance, round, group, sender, send_seq)
        (0.000, "acceptor1", "sent", "PHASE1B", 0, R, "proposers", None, 0),
        (0.000, "acceptor2", "sent", "PHASE1B", 0, R, "proposers", None, 0),
        (0.001, "proposer1", "received", "PHASE1B", 0, R, "proposers", "acceptor2", 0),
        (0.001, "proposer1", "received", "PHASE1B", 0, R, "proposers", "acceptor1", 0),
        (1.000, "acceptor1", "sent", "PHASE1B", 0, R, "proposers", None, 0),  # restarted: 0 again
        (1.001, "proposer1", "received", "PHASE1B", 0, R, "proposers", "acceptor1", 0),
        (1.002, "proposer1", "received", "PHASE1B", 0, R, "proposers", "acceptor3", 4),  # unlogged
        (1.003, "proposer1", "dropped", None, None, None, "proposers", None, None),  # undecodable
    ]
    table = real_messages([row[:7] for row in rows])
    table["sender"] = [row[7] for row in rows]
    table["send_seq"] = pd.array([row[8] for row in rows], dtype="Int64")
    frame = trace.message_frame(table)
    receipts = frame[frame["event"] != "sent"].reset_index(drop=True)
    sends = frame[frame["event"] == "sent"].set_index("msg_id")
    assert receipts["sender"].tolist()[:4] == ["acceptor2", "acceptor1", "acceptor1", "acceptor3"]
    assert receipts["exact"][:4].all()  # the sender is known: from the datagram itself
    assert not receipts["exact"][4]  # undecodable: unknown
    paired = [sends.loc[i, "time"] for i in receipts["msg_id"][:3]]
    assert paired == [0.0, 0.0, 1.0]  # the restarted acceptor's own send, not its first life's
    assert sends.loc[receipts["msg_id"][0], "sender"] == "acceptor2"
    assert pd.isna(receipts["msg_id"][3]) and pd.isna(receipts["msg_id"][4])
    assert pd.isna(receipts["sender"][4])


def test_simulated_run_messages_name_the_send_of_every_receipt(lossy):
    m = lossy.run.messages
    sends = m[m["direction"] == "sent"]
    assert (sends["sender"] == sends["process"]).all()
    assert not sends.duplicated(["process", "send_seq"]).any()
    named = set(zip(sends["process"], sends["send_seq"]))
    receipts = m[m["direction"] != "sent"]
    assert len(receipts) and all(key in named for key in zip(receipts["sender"],
                                                              receipts["send_seq"]))
    links = lossy.run.metrics().links
    assert len(links) and (links["received"] + links["dropped"] <= links["sent"]).all()
    assert (links["dropped"] > 0).any()  # the simulated loss, on some link


def test_a_trace_table_reads_back_as_the_same_message_frame(small_run):
    table = trace.trace_table(small_run.trace)
    assert len(table) == len(small_run.trace) and "rnd" in table
    pd.testing.assert_frame_equal(trace.message_frame(table), trace.message_frame(small_run))
