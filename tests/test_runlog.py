"""Run directories read back into pandas: tables, damage handling, checks."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from run_helper import clock_from, course_dir, subs, write_run

from paxos_edu.checks import COMPLETENESS, INTEGRITY, ORDER, VALIDITY
from paxos_edu.errors import UsageError
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Group, Kind, Phase1A, Phase2B, Submission
from paxos_edu.rounds import make_round
from paxos_edu.runlog import load_run
from paxos_edu.trace import LEARNED, MESSAGES, PROPOSED


def failing(report) -> list[str]:
    table = report.table
    return list(table["property"][table["checked"] & ~table["ok"].fillna(True)])


# ---------------------------------------------------------------------- tables


def test_load_run_builds_proposed_and_learned_tables_from_the_logs(tmp_path):
    proposed = subs(3) + subs(2, client=2, session=9)
    order = [proposed[0], proposed[3], proposed[1], proposed[4], proposed[2]]
    run = load_run(write_run(tmp_path, proposed, {1: order, 2: order[:2]}, crashed=(2,)))
    assert run.has_identities and run.clients == [1, 2] and run.learners == [1, 2]
    assert list(run.proposed.columns) == list(PROPOSED)
    assert list(run.learned.columns) == list(LEARNED)
    assert list(run.proposed.itertuples(index=False, name=None))[3][:4] == (
        2,
        9,
        0,
        proposed[3].value,
    )
    one = run.learned[run.learned["learner"] == 1]
    assert one["value"].tolist() == [s.value for s in order]
    assert one["position"].tolist() == [0, 1, 2, 3, 4]
    assert one["instance"].tolist() == [0, 0, 1, 1, 2]
    assert list(zip(one["client"], one["session"], one["seq"], strict=True)) == [
        s[:3] for s in order
    ]
    assert run.learned["time"].notna().all() and run.proposed["time"].notna().all()
    assert run.live_learners == [1]
    assert "2 learners (1 live)" in repr(run)


def test_processes_counters_and_events_tables(tmp_path):
    with EventLog(tmp_path, "proposer", 1, clock=clock_from([10.0, 11.0, 12.0, 13.0])) as log:
        log.start(session=5, settings={"loss": 0.1})
        log.note("retry", {"instances": 3})
        log.counters({"sent": {"PHASE2A": 40, "PHASE1A": 2}, "decode_errors": 1, "retries": 3})
        log.stop()
    with EventLog(tmp_path, "acceptor", 2) as log:
        log.start()
    run = load_run(tmp_path)
    procs = run.processes.set_index("process")
    assert procs.loc["proposer1", "stopped"] and not procs.loc["acceptor2", "stopped"]
    assert procs.loc["proposer1", "started"] == 10.0 and procs.loc["proposer1", "ended"] == 13.0
    assert procs.loc["proposer1", "session"] == 5 and procs.loc["acceptor2", "trace"] == "values"
    counters = run.counters.set_index("process")
    assert list(counters.index) == ["proposer1"]
    assert counters.loc["proposer1", "sent.PHASE2A"] == 40
    assert counters.loc["proposer1", "decode_errors"] == 1
    assert run.notes[["process", "note"]].values.tolist() == [["proposer1", "retry"]]
    assert run.notes["fields"][0] == {"instances": 3}
    events = run.events
    assert list(events.columns) == ["t", "process", "role", "id", "event", "fields"]
    assert events["event"].value_counts().to_dict() == {
        "start": 2,
        "note": 1,
        "counters": 1,
        "stop": 1,
    }
    assert events.iloc[0]["fields"]["settings"] == {"loss": 0.1}


def test_messages_table_holds_every_datagram_at_trace_level_messages(tmp_path):
    rnd = make_round(3, 1)
    with EventLog(tmp_path, "acceptor", 1, trace="messages", clock=clock_from([1, 2, 3])) as log:
        log.message("received", Phase1A(rnd=rnd, instance=0, onward=True), Group.ACCEPTORS, 24)
        log.message("sent", Phase2B(acceptor=1, rnd=rnd, instance=5, value=()), Group.LEARNERS, 30)
        log.message("dropped", None, Group.ACCEPTORS, 7, reason="decode")
    with EventLog(tmp_path, "learner", 1, trace="values") as log:
        log.message("sent", Kind.CATCHUP, Group.LEARNERS, 12)  # not traced: no row
    run = load_run(tmp_path)
    assert run.traced and list(run.messages.columns) == list(MESSAGES)
    rows = run.messages[
        ["process", "direction", "kind", "instance", "round_label", "group", "size"]
    ]
    assert rows.astype(object).where(rows.notna(), None).values.tolist() == [
        ["acceptor1", "received", "PHASE1A", 0, "3.1", "acceptors", 24],
        ["acceptor1", "sent", "PHASE2B", 5, "3.1", "learners", 30],
        ["acceptor1", "dropped", None, None, None, "acceptors", 7],
    ]
    assert run.messages["reason"].tolist()[2] == "decode"


def test_messages_table_is_empty_without_trace(tmp_path):
    run = load_run(write_run(tmp_path, subs(2), {1: subs(2)}))
    assert not run.traced and run.messages.empty
    assert list(run.messages.columns) == list(MESSAGES)


# ---------------------------------------------------------------------- course-only runs


def test_course_only_directory_loads_with_values_and_line_numbers(tmp_path):
    run = load_run(course_dir(tmp_path, {1: "a\nb\nc", 2: "d\n"}, {1: "a\nd\nb\nc\n", 2: "a\n"}))
    assert not run.has_identities and run.clients == [1, 2] and run.live_learners == [1, 2]
    assert run.proposed[["client", "session", "seq", "value"]].values.tolist() == [
        [1, 0, 0, "a"], [1, 0, 1, "b"], [1, 0, 2, "c"], [2, 0, 0, "d"],
    ]  # fmt: skip
    assert run.proposed["time"].isna().all() and run.learned["time"].isna().all()
    assert run.learned["instance"].isna().all()
    assert run.learned[run.learned["learner"] == 1]["value"].tolist() == ["a", "d", "b", "c"]
    assert run.check(live_learners=[1]).ok
    report = run.check()
    assert failing(report) == [COMPLETENESS] and report.first_violation.learner == 2


def test_course_only_directory_detects_a_reordered_learner(tmp_path):
    run = load_run(course_dir(tmp_path, {1: "1\n2\n3\n"}, {1: "1\n2\n3\n", 2: "1\n3\n2\n"}))
    report = run.check()
    assert failing(report) == [ORDER]
    assert (report.first_violation.learner, report.first_violation.position) == (2, 1)


def test_a_directory_mixing_logs_and_course_files_compares_values(tmp_path):
    proposed = subs(3)
    write_run(tmp_path, [], {1: proposed})
    (tmp_path / "prop1").write_text("".join(s.value + "\n" for s in proposed), encoding="utf-8")
    run = load_run(tmp_path)
    assert not run.has_identities and run.check().ok


# ---------------------------------------------------------------------- violations


def test_each_violation_in_a_run_is_found_with_its_first_position(tmp_path):
    proposed = subs(5)
    cases = {
        ORDER: ({1: proposed, 2: [proposed[0], proposed[2], proposed[1], *proposed[3:]]}, (2, 1)),
        INTEGRITY: ({1: [*proposed[:3], proposed[0], *proposed[3:]]}, (1, 3)),
        VALIDITY: ({1: [*proposed[:2], Submission(9, 9, 9, "bogus"), *proposed[2:]]}, (1, 2)),
        COMPLETENESS: ({1: proposed[:2] + proposed[3:]}, (1, None)),
    }
    for prop, (learned, where) in cases.items():
        run = load_run(write_run(tmp_path / prop.replace("/", ""), proposed, learned))
        report = run.check()
        assert failing(report) == [prop], prop
        first = report.first_violation
        assert (first.property, first.learner, first.position) == (prop, *where)


def test_a_crashed_learner_with_a_prefix_is_excused_and_prefixes_pass_without_completeness(
    tmp_path,
):
    proposed = subs(6)
    run = load_run(write_run(tmp_path, proposed, {1: proposed, 2: proposed[:3]}, crashed=(2,)))
    assert run.live_learners == [1] and run.check().ok
    assert failing(run.check(live_learners=[1, 2])) == [COMPLETENESS]
    assert run.check(live_learners=[1, 2], expect_complete=False).ok


# ---------------------------------------------------------------------- damage


def test_a_truncated_last_line_is_ignored_with_a_warning(tmp_path):
    proposed = subs(4)
    write_run(tmp_path, proposed, {1: proposed}, crashed=(1,))
    log = tmp_path / "learner1.jsonl"
    data = log.read_bytes()
    log.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 30])  # cut inside the last line
    lines = data.count(b"\n")
    with pytest.warns(UserWarning, match=rf"learner1\.jsonl:{lines}: truncated last line"):
        run = load_run(tmp_path)
    assert run.learned["value"].tolist() == [s.value for s in proposed[:3]]
    assert run.live_learners == [] and run.check().ok  # killed: excused from completeness
    assert failing(run.check(live_learners=[1])) == [COMPLETENESS]


def test_a_complete_last_line_without_its_newline_is_kept(tmp_path, recwarn):
    proposed = subs(3)
    write_run(tmp_path, proposed, {1: proposed})
    log = tmp_path / "learner1.jsonl"
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    run = load_run(tmp_path)
    assert len(recwarn) == 0 and run.processes["stopped"].all() and run.check().ok


def test_a_truncated_learn_file_is_ignored_with_a_warning_but_a_prop_file_is_kept(tmp_path):
    course_dir(tmp_path, {1: "10\n11\n12"}, {1: "10\n11\n1"})
    with pytest.warns(UserWarning, match=r"learn1:3: last line has no newline"):
        run = load_run(tmp_path)
    assert run.proposed["value"].tolist() == ["10", "11", "12"]
    assert run.learned["value"].tolist() == ["10", "11"]


def test_a_corrupt_line_in_the_middle_raises_naming_file_and_line(tmp_path):
    proposed = subs(4)
    write_run(tmp_path, proposed, {1: proposed})
    log = tmp_path / "learner1.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:40] + "\n"
    log.write_text("".join(lines))
    with pytest.raises(UsageError, match=r"learner1\.jsonl:3: not a JSON event record"):
        load_run(tmp_path)


@pytest.mark.parametrize(
    "line, problem",
    [
        ('{"hello": "world"}', "not a paxos_edu event record"),
        ('[1, 2, 3]', "not a paxos_edu event record"),
        ('{"t": 1.0, "role": "learner", "id": 2, "event": "stop"}', "record of learner2"),
        ('{"t": 1.0, "role": "learner", "id": 1, "event": "deliver", "position": 0}',
         "missing or malformed 'instance'"),
        ('{"t": "noon", "role": "learner", "id": 1, "event": "stop"}', "not a paxos_edu"),
    ],
)  # fmt: skip
def test_a_foreign_record_raises_naming_file_and_line(tmp_path, line, problem):
    write_run(tmp_path, subs(2), {1: subs(2)})
    log = tmp_path / "learner1.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines.insert(2, line + "\n")
    log.write_text("".join(lines))
    with pytest.raises(UsageError, match=rf"learner1\.jsonl:3: .*{problem}"):
        load_run(tmp_path)


def test_missing_empty_or_non_directory_paths_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such run directory"):
        load_run(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UsageError, match="not a run directory"):
        load_run(tmp_path)
    with pytest.raises(UsageError, match="not a directory"):
        load_run(tmp_path / "notes.txt")


def test_fast_and_generic_parsers_build_the_same_tables(tmp_path):
    proposed = subs(50) + subs(30, client=2, session=11)
    fast = load_run(write_run(tmp_path / "fast", proposed, {1: proposed, 2: proposed[:20]}))
    slow_dir = write_run(tmp_path / "slow", proposed, {1: proposed, 2: proposed[:20]})
    for name in ("learner1.jsonl", "learner2.jsonl", "client1.jsonl", "client2.jsonl"):
        path = slow_dir / name
        # Reformatted lines (spaces after separators) defeat the fast path on purpose.
        recs = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    slow = load_run(slow_dir)
    for table in ("proposed", "learned"):
        a, b = getattr(fast, table), getattr(slow, table)
        pd.testing.assert_frame_equal(a.drop(columns="time"), b.drop(columns="time"))
        assert a["time"].notna().all() and b["time"].notna().all()


def test_a_large_run_loads_and_checks(tmp_path):
    # (speed is measured in benchmarks/analysis.py, not asserted here)
    proposed = subs(10_000) + subs(10_000, client=2)
    write_run(tmp_path, proposed, {1: proposed, 2: proposed})
    run = load_run(tmp_path)
    assert run.check().ok and len(run.learned) == 40_000
