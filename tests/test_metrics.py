"""Metrics of a run: latency, throughput, messages per value, retries and drops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from run_helper import course_dir, subs, write_run

from paxos_edu import metrics
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Group, Kind, Phase1A
from paxos_edu.runlog import load_run


def test_metrics_latency_is_learning_time_minus_submission_time(tmp_path):
    proposed = subs(2) + subs(1, client=2)
    submit = {1: [100.0, 101.0], 2: [100.5]}
    order = [proposed[0], proposed[2], proposed[1]]
    deliver = {1: [100.25, 100.75, 101.5], 2: [100.5, 101.0, 102.0]}
    run = load_run(
        write_run(tmp_path, proposed, {1: order, 2: order}, submit_times=submit,
                  deliver_times=deliver)
    )  # fmt: skip
    m = run.metrics(bin_s=0.5)
    lat = m.latency.set_index(["learner", "position"])["latency"]
    assert lat.to_dict() == {
        (1, 0): 0.25, (1, 1): 0.25, (1, 2): 0.5, (2, 0): 0.5, (2, 1): 0.5, (2, 2): 1.0,
    }  # fmt: skip
    assert m.summary["values"] == 3 and m.summary["learners"] == 2
    assert m.summary["duration_s"] == pytest.approx(2.0)  # 100.0 -> 102.0
    assert m.summary["latency_p50_ms"] == pytest.approx(500.0)
    assert m.summary["latency_max_ms"] == pytest.approx(1000.0)
    tp = m.throughput[m.throughput["learner"] == 1]
    # One time grid for all learners: learner 2's last value (102.0) is in bin 2.0.
    assert tp["time"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert tp["values"].tolist() == [1, 1, 0, 1, 0]
    assert (tp["values_per_s"] == tp["values"] / 0.5).all()
    assert "values learned   3" in repr(m)


def test_metrics_count_messages_per_value_and_drops_from_counters(tmp_path):
    write_run(tmp_path, subs(4), {1: subs(4)})
    with EventLog(tmp_path, "proposer", 1) as log:
        log.note("retry", {"instances": 2})
        log.counters({"sent": {"PHASE2A": 8, "PHASE1A": 2}, "retries": 2, "decode_errors": 1})
    m = load_run(tmp_path).metrics()
    mpv = m.messages_per_value.set_index("kind")
    assert mpv.loc["PHASE2A", "messages"] == 8 and mpv.loc["PHASE2A", "per_value"] == 2.0
    assert set(mpv["source"]) == {"counters"}
    drops = {(r.source, r.name): r.count for r in m.retries_and_drops.itertuples()}
    assert drops == {("counters", "retries"): 2, ("counters", "decode_errors"): 1,
                     ("notes", "retry"): 1}  # fmt: skip


def test_metrics_count_messages_per_value_from_the_trace(tmp_path):
    write_run(tmp_path, subs(2), {1: subs(2)})
    with EventLog(tmp_path, "proposer", 1, trace="messages") as log:
        for instance in range(2):
            log.message("sent", Phase1A(rnd=1, instance=instance, onward=False), Group.ACCEPTORS, 9)
        log.message("dropped", Kind.PHASE1B, Group.PROPOSERS, 9, reason="loss")
    m = load_run(tmp_path).metrics()
    assert m.messages_per_value[["kind", "messages", "per_value", "source"]].values.tolist() == [
        ["PHASE1A", 2, 1.0, "trace"]
    ]
    drops = m.retries_and_drops
    assert drops[["process", "source", "name", "count"]].values.tolist() == [
        ["proposer1", "trace", "dropped:loss", 1]
    ]


def test_metrics_of_a_course_only_run_have_no_latency(tmp_path):
    m = load_run(course_dir(tmp_path, {1: "a\n"}, {1: "a\n"})).metrics()
    assert m.latency.empty and m.throughput.empty and np.isnan(m.summary["latency_p50_ms"])
    assert m.summary["values"] == 1


def test_retries_and_drops_are_counted_once_across_overlapping_sources():
    table = pd.DataFrame([
        ("client1", "client", 1, "counters", "dropped.ACK", 2),
        ("client1", "client", 1, "counters", "retries", 10),  # values re-sent, not timeouts
        ("client1", "client", 1, "counters", "notes.retry", 1),
        ("client1", "client", 1, "notes", "retry", 1),
        ("client1", "client", 1, "trace", "dropped:loss", 2),  # the same drops again
        ("learner1", "learner", 1, "trace", "dropped:loss", 5),
    ], columns=["process", "role", "id", "source", "name", "count"])  # fmt: skip
    counts = metrics.retries_and_drops_by_role(table)
    assert counts.to_dict("index") == {
        "client": {"retries": 1, "drops": 2},
        "learner": {"retries": 0, "drops": 5},
    }  # no counters
    only_trace = metrics.retries_and_drops_by_role(table[table["source"] != "counters"])
    assert only_trace["drops"].to_dict() == {"client": 2, "learner": 5}
