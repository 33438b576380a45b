"""The event log writer: course files, JSON lines, trace levels, buffering."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxos_edu.errors import UsageError
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Group, Kind, Phase2A, Submission

TRICKY = ["plain", 'with "quotes"', "back\\slash", "unicodé ✓ 漢字", "", "tab\there", "emoji 🎉"]


def ticking(start: float = 1000.0, step: float = 0.25):
    """A fake clock: start, start + step, ..."""
    state = {"t": start - step}

    def clock() -> float:
        state["t"] += step
        return state["t"]

    return clock


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_eventlog_rejects_unknown_role_trace_level_and_bad_id(tmp_path):
    with pytest.raises(UsageError, match="unknown role"):
        EventLog(tmp_path, "leader", 1)
    with pytest.raises(UsageError, match="trace level"):
        EventLog(tmp_path, "learner", 1, trace="everything")
    with pytest.raises(UsageError, match="process id"):
        EventLog(tmp_path, "learner", -1)


def test_client_writes_prop_lines_and_submit_records_in_order(tmp_path):
    with EventLog(tmp_path / "run", "client", 3, clock=ticking()) as log:
        log.start(session=77)
        for seq, value in enumerate(TRICKY):
            log.submitted(Submission(3, 77, seq, value))
        log.stop()
    prop = (tmp_path / "run" / "prop3").read_text(encoding="utf-8")
    assert prop == "".join(v + "\n" for v in TRICKY)
    recs = records(tmp_path / "run" / "client3.jsonl")
    assert [r["event"] for r in recs] == ["start"] + ["submit"] * len(TRICKY) + ["stop"]
    submits = recs[1:-1]
    assert [r["value"] for r in submits] == TRICKY
    assert [(r["client"], r["session"], r["seq"]) for r in submits] == [
        (3, 77, i) for i in range(len(TRICKY))
    ]
    assert [r["t"] for r in recs] == [1000.0 + 0.25 * i for i in range(len(recs))]
    assert all(r["role"] == "client" and r["id"] == 3 for r in recs)


def test_learner_writes_learn_lines_and_deliver_records(tmp_path):
    log = EventLog(tmp_path, "learner", 2, clock=ticking())
    log.start()
    for pos, value in enumerate(TRICKY):
        log.delivered(Submission(1, 5, pos, value), instance=pos // 2, position=pos)
    log.flush()
    assert (tmp_path / "learn2").read_text(encoding="utf-8").splitlines() == TRICKY
    delivers = [r for r in records(tmp_path / "learner2.jsonl") if r["event"] == "deliver"]
    assert [r["value"] for r in delivers] == TRICKY
    assert delivers[3] == {
        "t": 1001.0, "role": "learner", "id": 2, "event": "deliver", "position": 3,
        "instance": 1, "client": 1, "session": 5, "seq": 3, "value": TRICKY[3],
    }  # fmt: skip
    log.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_any_value_round_trips_through_the_json_log(tmp_path_factory, values):
    run = tmp_path_factory.mktemp("run")
    with EventLog(run, "learner", 1) as log:
        for pos, value in enumerate(values):
            log.delivered(Submission(1, 0, pos, value), pos, pos)
    assert [r["value"] for r in records(run / "learner1.jsonl")] == values


def test_line_breaks_inside_values_are_escaped_in_course_files_only(tmp_path):
    with EventLog(tmp_path, "client", 1) as log:
        log.submitted(Submission(1, 0, 0, "two\nlines\r"))
    assert (tmp_path / "prop1").read_bytes() == b"two\\nlines\\r\n"
    assert records(tmp_path / "client1.jsonl")[0]["value"] == "two\nlines\r"


def test_lone_surrogate_never_crashes_the_writer(tmp_path):
    with EventLog(tmp_path, "learner", 1) as log:
        log.delivered(Submission(1, 0, 0, "bad \udcff byte"), 0, 0)
    assert records(tmp_path / "learner1.jsonl")[0]["value"] == "bad \udcff byte"
    assert (tmp_path / "learn1").read_bytes() == b"bad \\udcff byte\n"


def test_message_is_a_no_op_at_trace_level_values(tmp_path):
    with EventLog(tmp_path, "acceptor", 1) as log:
        assert not log.tracing
        log.message("sent", Phase2A(rnd=65537, instance=4, value=()), Group.LEARNERS, 40)
        log.message("nonsense", None, None, 0)  # not even validated: must stay cheap
    assert (tmp_path / "acceptor1.jsonl").read_text() == ""


def test_message_records_kind_instance_round_group_size_and_drop_reason(tmp_path):
    with EventLog(tmp_path, "acceptor", 1, trace="messages", clock=ticking()) as log:
        log.message("received", Phase2A(rnd=65537, instance=4, value=()), Group.ACCEPTORS, 40)
        log.message("dropped", Kind.PHASE1A, "acceptors", 24, reason="loss")
        log.message("dropped", None, Group.ACCEPTORS, 3, reason="decode")
        with pytest.raises(UsageError, match="direction"):
            log.message("lost", None, None, 0)
    recs = records(tmp_path / "acceptor1.jsonl")
    fields = ("event", "kind", "instance", "round", "group", "size")
    assert [tuple(r[f] for f in fields) for r in recs] == [
        ("received", "PHASE2A", 4, 65537, "acceptors", 40),
        ("dropped", "PHASE1A", None, None, "acceptors", 24),
        ("dropped", None, None, None, "acceptors", 3),
    ]  # fmt: skip
    assert "reason" not in recs[0] and [r["reason"] for r in recs[1:]] == ["loss", "decode"]


def test_message_records_name_the_send_a_receipt_belongs_to(tmp_path):
    with EventLog(tmp_path, "acceptor", 1, trace="messages", clock=ticking()) as log:
        log.message("sent", Phase2A(rnd=65537, instance=4, value=()), Group.LEARNERS, 40,
                    send_seq=12)
        log.message("received", Kind.PHASE1A, "acceptors", 24, sender="proposer2", send_seq=7)
        log.message("dropped", None, Group.ACCEPTORS, 3, reason="decode")
    sent, received, dropped = records(tmp_path / "acceptor1.jsonl")
    assert sent["send_seq"] == 12 and "sender" not in sent
    assert (received["sender"], received["send_seq"]) == ("proposer2", 7)
    assert "sender" not in dropped and "send_seq" not in dropped


def test_note_fields_are_flat_and_never_shadow_base_keys(tmp_path):
    with EventLog(tmp_path, "proposer", 1) as log:
        log.note("leader", {"rnd": "1.1", "id": 9, "event": "x", "ids": {3, 1}, "kind": Kind.ACK})
    (rec,) = records(tmp_path / "proposer1.jsonl")
    assert rec["event"] == "note" and rec["note"] == "leader" and rec["id"] == 1
    assert rec["id_"] == 9 and rec["event_"] == "x" and rec["rnd"] == "1.1"
    assert rec["ids"] == [1, 3] and rec["kind"] == "ACK"


def test_start_counters_and_stop_records(tmp_path):
    with EventLog(tmp_path, "proposer", 4, clock=ticking()) as log:
        log.start(session=12, settings={"loss": 0.1, "timeout": 0.2})
        log.counters({"sent": {"PHASE2A": 10}, "retries": 2})
        log.stop()
    start, counters, stop = records(tmp_path / "proposer4.jsonl")
    assert start["pid"] == os.getpid() and start["trace"] == "values"
    assert start["session"] == 12 and start["settings"] == {"loss": 0.1, "timeout": 0.2}
    assert counters["counters"] == {"sent": {"PHASE2A": 10}, "retries": 2}
    assert stop == {"t": 1000.5, "role": "proposer", "id": 4, "event": "stop"}
    assert not (tmp_path / "prop4").exists() and not (tmp_path / "learn4").exists()


def test_lines_stay_in_memory_until_flush_then_reach_disk_whole(tmp_path):
    log = EventLog(tmp_path, "learner", 1)
    for pos in range(10):
        log.delivered(Submission(1, 0, pos, f"v{pos}"), pos, pos)
    assert (tmp_path / "learn1").stat().st_size == 0
    assert (tmp_path / "learner1.jsonl").stat().st_size == 0
    log.flush()
    assert (tmp_path / "learn1").read_text().splitlines() == [f"v{i}" for i in range(10)]
    assert (tmp_path / "learner1.jsonl").read_bytes().endswith(b"}\n")
    log.close()


def test_a_full_buffer_is_written_out_in_whole_lines_without_flush(tmp_path):
    log = EventLog(tmp_path, "learner", 1)
    for pos in range(20_000):
        log.delivered(Submission(1, 0, pos, f"v{pos}"), pos, pos)
    data = (tmp_path / "learner1.jsonl").read_bytes()
    assert data and data.endswith(b"\n")  # what a kill would leave: whole lines only
    assert all(json.loads(line)["event"] == "deliver" for line in data.splitlines())
    log.close()


def test_only_clients_submit_and_only_learners_deliver(tmp_path):
    with EventLog(tmp_path, "learner", 1) as learner, EventLog(tmp_path, "client", 1) as client:
        with pytest.raises(UsageError):
            learner.submitted(Submission(1, 0, 0, "x"))
        with pytest.raises(UsageError):
            client.delivered(Submission(1, 0, 0, "x"), 0, 0)


def test_writing_after_close_is_a_usage_error(tmp_path):
    log = EventLog(tmp_path, "client", 1)
    log.close()
    log.close()  # idempotent
    log.submitted(Submission(1, 0, 0, "late"))
    with pytest.raises(UsageError, match="after close"):
        log.flush()
