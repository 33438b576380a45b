"""A restarted client resumes its session (client_resume.py, the Client role's resume/skip,
ClientInput's re-read values, the event log's write order): nothing decided is sent or
delivered twice, a changed input line is refused, a live twin cannot share the log."""

from __future__ import annotations

import io
import json
import os

import pytest

from paxos_edu import client_resume
from paxos_edu.client_input import ClientInput
from paxos_edu.client_resume import (
    Resumed,
    earlier_values,
    lock_log,
    read_history,
    repair_prop,
)
from paxos_edu.effects import Halt, Send
from paxos_edu.errors import UsageError
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Ack, Submission
from paxos_edu.roles import Client
from paxos_edu.runlog import load_run
from paxos_edu.seen import SeenSet, Watermark


def _life(tmp_path, session: int, values: list[str], *, first_seq: int = 0,
          acked: int | None = None, done: bool = False) -> None:
    """One life of client 1 as the runtime logs it."""
    with EventLog(tmp_path, "client", 1) as log:
        log.start(session=session)
        for seq, value in enumerate(values, first_seq):
            log.submitted(Submission(1, session, seq, value))
        if acked is not None:
            log.acked(session, acked, done)


def _sent(effects) -> list[tuple[int, str]]:
    return [(s.seq, s.value) for e in effects if isinstance(e, Send)
            for s in e.message.submissions]


# ---------------------------------------------------------------------- the role


def test_watermark_fills_in_from_zero_and_remembers_what_came_early():
    w = Watermark()
    assert w.add(1) and w.add(0) and not w.add(1)
    assert w.low == 2 and not w.above and 1 in w and 2 not in w
    assert w.add(5) and 5 in w and w.low == 2


def test_a_resumed_client_skips_values_known_decided_and_resends_the_others_under_their_number():
    c = Client(1, session=9, timeout=0.1)
    c.resume(submitted=4, decided_below=2)
    assert c.is_decided(1) and not c.is_decided(2)
    assert c.skip("a") == Submission(1, 9, 0, "a")
    c.skip("b")
    with pytest.raises(UsageError, match="not known decided"):
        c.skip("c")
    c.add("c")
    c.add("d")
    c.add("e")  # beyond the earlier life: new
    assert _sent(c.flush(0.0)) == [(2, "c"), (3, "d"), (4, "e")]


def test_an_ack_heard_for_a_value_not_yet_reread_makes_the_client_skip_it():
    c = Client(1, session=9, timeout=0.1, window=1)
    c.resume(submitted=5, decided_below=0)
    c.handle(Ack(1, 9, (3,)), 0.0)  # the earlier life had sent 3: it is decided
    c.handle(Ack(1, 9, (7,)), 0.0)  # never submitted by anyone: not remembered
    assert c.is_decided(3) and not c.is_decided(7)
    for value in "abcd":
        c.add(value)
    assert _sent(c.flush(0.0)) == [(0, "a")]
    assert _sent(c.handle(Ack(1, 9, (0,)), 0.01)) == [(1, "b")]
    assert _sent(c.handle(Ack(1, 9, (1,)), 0.02)) == [(2, "c")]
    assert _sent(c.handle(Ack(1, 9, (2,)), 0.03)) == []  # 3 was decided: never sent again
    assert c.decided_below() == 4 and not c.queue and not c.unacked and not c.heard


def test_resume_comes_before_the_first_value_and_within_what_was_submitted():
    c = Client(1, session=9)
    with pytest.raises(UsageError, match="2 of 1"):
        c.resume(submitted=1, decided_below=2)
    c.add("a")
    with pytest.raises(UsageError, match="before the first value"):
        c.resume(submitted=3, decided_below=0)


def test_a_learner_delivers_a_resent_value_of_a_resumed_session_once():
    seen = SeenSet()
    assert [seen.add(1, 9, s) for s in (0, 1, 2)] == [True] * 3
    assert [seen.add(1, 9, s) for s in (0, 1, 2, 3)] == [False, False, False, True]


# ---------------------------------------------------------------------- the log


def test_history_is_the_last_session_its_count_and_its_acked_watermark(tmp_path):
    assert read_history(tmp_path, 1) is None
    _life(tmp_path, 7, ["a", "b"], acked=2, done=True)
    _life(tmp_path, 8, ["c", "d", "e"], acked=1)
    _life(tmp_path, 8, ["f"], first_seq=3, acked=2)  # a resumed life goes on numbering
    h = read_history(tmp_path, 1)
    assert (h.session, h.submitted, h.decided_below, h.complete, h.total) == (8, 4, 2, False, 6)
    assert h.resumable
    assert list(earlier_values(h)) == ["c", "d", "e", "f"]


def test_the_block_scan_and_the_line_by_line_reading_agree(tmp_path, monkeypatch):
    monkeypatch.setattr(client_resume, "_BLOCK", 64)  # many blocks, lines cut across them
    _life(tmp_path, 7, ["a", 'b "quoted" \\ ü', "c"], acked=3, done=True)
    _life(tmp_path, 8, ["d", "e"], acked=1)
    _life(tmp_path, 8, ["f"], first_seq=2)
    path = tmp_path / "client1.jsonl"
    fast = client_resume._scan(path)
    assert fast == client_resume._read_lines(path) == read_history(tmp_path, 1)
    assert (fast.session, fast.submitted, fast.decided_below, fast.total) == (8, 3, 1, 6)


def test_a_complete_session_is_not_resumed(tmp_path):
    _life(tmp_path, 7, ["a"], acked=1, done=True)
    h = read_history(tmp_path, 1)
    assert h.complete and not h.resumable


def test_a_torn_last_line_is_no_submission_and_the_next_life_starts_on_a_new_line(tmp_path):
    _life(tmp_path, 7, ["a", "b"])
    path = tmp_path / "client1.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"t":1.0,"role":"client","id":1,"event":"submit","client":1,"session":7,"se')
    assert read_history(tmp_path, 1).submitted == 2
    _life(tmp_path, 7, ["c"], first_seq=2)  # the runtime's next life
    assert read_history(tmp_path, 1).submitted == 3  # a torn line before a start is fine
    lines = path.read_bytes().split(b"\n")
    assert lines[3].endswith(b'"se') and b'"event":"start"' in lines[4]


def test_a_damaged_record_in_the_middle_of_the_log_is_refused_with_file_and_line(tmp_path):
    _life(tmp_path, 7, ["a", "b"])
    path = tmp_path / "client1.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = lines[1][:90]  # the submit of "a", cut
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match=r"client1.jsonl:2: damaged record.*--new-session"):
        read_history(tmp_path, 1)


def test_submit_records_reach_the_file_before_their_prop_lines(tmp_path):
    log = EventLog(tmp_path, "client", 1)
    log.submitted(Submission(1, 7, 0, "a"))
    log._course.flush()  # what an automatic flush of the prop file does
    assert '"value":"a"' in (tmp_path / "client1.jsonl").read_text()
    assert (tmp_path / "prop1").read_text() == "a\n"
    log.close()


def test_prop_is_completed_from_the_log_never_truncated(tmp_path):
    _life(tmp_path, 7, ["alpha", "beta", "gamma"])
    (tmp_path / "prop1").write_bytes(b"alpha\nbe")  # killed between the two writes, mid-line
    h = read_history(tmp_path, 1)
    assert repair_prop(tmp_path, 1, h) == 2
    assert (tmp_path / "prop1").read_text() == "alpha\nbeta\ngamma\n"
    assert repair_prop(tmp_path, 1, h) == 0


def test_a_second_lock_on_a_client_log_is_refused_until_the_first_is_released(tmp_path):
    fd = lock_log(tmp_path, 1)
    with pytest.raises(UsageError, match="identity conflict: another client 1 is running"):
        lock_log(tmp_path, 1)
    other = lock_log(tmp_path, 2)  # another id: another log
    os.close(fd)
    os.close(lock_log(tmp_path, 1))
    os.close(other)


# ---------------------------------------------------------------------- the input


def _resumed_input(tmp_path, earlier: list[str], decided: int):
    _life(tmp_path, 5, earlier, acked=decided)
    h = read_history(tmp_path, 1)
    client = Client(1, session=h.session, timeout=0.1)
    out: list = []
    err = io.StringIO()
    ci = ClientInput(0, client, apply=out.extend, complain=lambda t: err.write(t + "\n"),
                     resumed=Resumed(h))
    ci.log = EventLog(tmp_path, "client", 1)
    return ci, out, err


def test_reread_values_are_compared_skipped_or_resent_and_not_logged_again(tmp_path):
    ci, out, err = _resumed_input(tmp_path, ["a", "b", "c"], decided=2)
    ci.feed(b"a\n\nb\nc\nd\n")
    ci.log.close()
    assert _sent(out) == [(2, "c"), (3, "d")]  # 0 and 1 known decided: not sent
    assert (ci.skipped, ci.resent, ci.submitted) == (2, 1, 4)
    assert (tmp_path / "prop1").read_text() == "a\nb\nc\nd\n"  # each value once
    submits = [json.loads(line) for line in (tmp_path / "client1.jsonl").read_text().splitlines()
               if '"submit"' in line]
    assert [(r["seq"], r["value"]) for r in submits] == [(0, "a"), (1, "b"), (2, "c"), (3, "d")]
    assert err.getvalue() == ""
    assert load_run(tmp_path).check(expect_complete=False).ok


def test_a_changed_line_stops_the_client_naming_line_old_and_new_value_and_the_way_out(tmp_path):
    ci, out, err = _resumed_input(tmp_path, ["a", "b", "c"], decided=0)
    ci.feed(b"a\nB\nc\n")
    halts = [e for e in out if isinstance(e, Halt)]
    assert len(halts) == 1 and halts[0].status == 2
    reason = halts[0].reason
    assert reason.startswith("stdin:2: this client resumes session 5, whose value 1 was 'b'")
    assert "client1.jsonl" in reason and "this line is 'B'" in reason
    assert "--new-session" in reason
    assert _sent(out) == []  # nothing of that chunk went out: the values before it were old
    ci.feed(b"more\n")
    assert ci.client.next_seq == 1 and ci.failed


def test_input_that_ends_before_the_earlier_life_did_is_warned_about(tmp_path):
    ci, out, err = _resumed_input(tmp_path, ["a", "b", "c"], decided=0)
    ci.feed(b"a\n")
    ci.at_eof()
    assert "stdin ended after 1 values, but the resumed session 5 had submitted 3" \
        in err.getvalue()


def test_acked_records_are_rate_limited_and_the_last_says_done(tmp_path):
    client = Client(1, session=3, timeout=0.1)
    ci = ClientInput(0, client, apply=lambda effects: None, complain=print)
    ci.log = EventLog(tmp_path, "client", 1)
    ci.feed(b"a\nb\n")
    ci.record_acked(0.0)
    client.handle(Ack(1, 3, (0,)), 0.01)
    ci.record_acked(0.02)  # within ACKED_EVERY of the last record: not yet
    client.handle(Ack(1, 3, (1,)), 0.03)
    ci.record_acked(0.2)
    ci.at_eof()
    ci.record_acked(0.21, final=True)
    ci.log.close()
    acked = [json.loads(line) for line in (tmp_path / "client1.jsonl").read_text().splitlines()
             if '"acked"' in line]
    assert [(r["below"], r.get("done")) for r in acked] == [(0, None), (2, None), (2, True)]


def test_a_run_whose_client_was_cut_mid_line_and_started_again_loads_with_a_warning(tmp_path):
    _life(tmp_path, 7, ["a", "b"])
    with open(tmp_path / "client1.jsonl", "ab") as f:
        f.write(b'{"t":1.0,"role":"client","id":1,"event":"submit","client":1,"session":7,"se')
    _life(tmp_path, 7, ["c"], first_seq=2)
    with pytest.warns(UserWarning, match=r"client1.jsonl:4: line cut by a kill"):
        run = load_run(tmp_path)
    assert list(zip(run.proposed["seq"], run.proposed["value"])) == [(0, "a"), (1, "b"), (2, "c")]


def test_values_are_on_record_in_the_log_before_they_are_sent(tmp_path):
    """Write-ahead: what a killed client sent, its log holds -- so a resumed session never
    gives a number that went out with one value to another."""
    log_file = tmp_path / "client1.jsonl"
    on_record_when_sent: list[list[str]] = []

    def send(effects) -> None:
        text = log_file.read_text()
        on_record_when_sent.append([v for _, v in _sent(effects) if f'"value":"{v}"' not in text])

    client = Client(1, session=3, timeout=0.1)
    ci = ClientInput(0, client, apply=send, complain=print)
    ci.log = EventLog(tmp_path, "client", 1)
    ci.feed(b"a\nb\n")
    ci.feed(b"c\n")
    assert on_record_when_sent == [[], []]
    ci.log.close()
