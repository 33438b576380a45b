"""What a careless student does to the files and the command line (issue 16): a run
directory beside their own notes, an output path that is a file, a restart into an old
log directory, a blank line, a stop request in a process's first milliseconds."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from paxos_edu import signals
from paxos_edu.cli import main
from paxos_edu.cluster_launch import CONFIG_NAME, prepare_dir
from paxos_edu.config import Config
from paxos_edu.errors import UsageError
from paxos_edu.eventlog import EventLog, is_run_file
from paxos_edu.messages import Submission
from paxos_edu.runlog import load_run
from paxos_edu.transport import free_multicast_addresses

USERS_FILES = ["learning-notes.md", "proposal.pdf", "client_list.csv", "learner_grades.xlsx",
               "prop", "acceptor1.jsonl.bak", "propose.txt"]
RUN_FILES = ["prop1", "learn12", "learn2.1", "acceptor2.jsonl", "learner2.1.jsonl",
             "client1.stderr", "proposer3.jsonl"]


@pytest.mark.parametrize("name", RUN_FILES)
def test_run_file_names_are_exact(name):
    assert is_run_file(name)


@pytest.mark.parametrize("name", USERS_FILES)
def test_the_users_files_are_not_run_files(name):
    assert not is_run_file(name)


def test_overwrite_deletes_only_run_files_and_the_refusal_lists_only_them(tmp_path):
    for name in USERS_FILES + RUN_FILES + [CONFIG_NAME]:
        (tmp_path / name).write_text("x\n")
    with pytest.raises(UsageError) as refused:
        prepare_dir(tmp_path, overwrite=False)
    message = str(refused.value)
    assert "acceptor2.jsonl" in message
    assert not any(name in message for name in USERS_FILES if name != "prop")
    prepare_dir(tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(USERS_FILES)


def test_a_run_directory_that_is_a_file_is_a_usage_error_naming_it(tmp_path):
    existing = tmp_path / "passwd"
    existing.write_text("root\n")
    with pytest.raises(UsageError, match="passwd: exists and is not a directory"):
        EventLog(existing, "acceptor", 1)
    with pytest.raises(UsageError, match="passwd: exists and is not a directory"):
        prepare_dir(existing, overwrite=True)
    assert existing.read_text() == "root\n"


def _sub(seq: int, value: str, session: int = 7) -> Submission:
    return Submission(1, session, seq, value)


def test_a_client_started_again_appends_a_new_session(tmp_path):
    with EventLog(tmp_path, "client", 1) as log:
        log.start(session=7)
        log.submitted(_sub(0, "a"))
    with EventLog(tmp_path, "client", 1) as log:
        log.start(session=8)
        log.submitted(_sub(0, "b", session=8))
    assert (tmp_path / "prop1").read_text() == "a\nb\n"
    records = [json.loads(line) for line in (tmp_path / "client1.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["start", "submit", "start", "submit"]
    run = load_run(tmp_path)
    assert sorted(zip(run.proposed["session"], run.proposed["value"])) == [(7, "a"), (8, "b")]


def test_any_other_process_started_again_keeps_its_earlier_life_under_a_numbered_name(tmp_path):
    for life in range(3):
        with EventLog(tmp_path, "learner", 2) as log:
            log.start()
            log.delivered(_sub(life, f"v{life}"), instance=life, position=0)
    assert (tmp_path / "learn2").read_text() == "v2\n"
    assert (tmp_path / "learn2.1").read_text() == "v0\n"
    assert (tmp_path / "learn2.2").read_text() == "v1\n"
    assert '"value":"v0"' in (tmp_path / "learner2.1.jsonl").read_text()
    assert '"value":"v2"' in (tmp_path / "learner2.jsonl").read_text()
    assert list(load_run(tmp_path).learned["value"]) == ["v2"]  # the current life


def test_blank_lines_of_a_course_prop_file_are_not_proposed_values(tmp_path):
    (tmp_path / "prop1").write_text("a\n\n  \nb\r\n\n")
    (tmp_path / "learn1").write_text("a\nb\n")
    run = load_run(tmp_path)
    assert list(run.proposed["value"]) == ["a", "b"]
    assert run.check().ok


def _config(tmp_path) -> str:
    path = tmp_path / "paxos.conf"
    lines = [f"{g.role} {ip} {port}" for g, (ip, port) in free_multicast_addresses().items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_usage_error_exits_2(tmp_path, capsys):
    existing = tmp_path / "file"
    existing.write_text("")
    assert main(["acceptor", "1", _config(tmp_path), "--log-dir", str(existing)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_a_stop_requested_before_the_runtime_is_ready_is_honoured_cleanly(tmp_path):
    from paxos_edu.runtime import Runtime

    signals.catch_early()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # remembered, not fatal
        runtime = Runtime("acceptor", 1, Config(free_multicast_addresses()), log_dir=tmp_path)
        started = time.monotonic()
        assert runtime.run() == 0
        assert time.monotonic() - started < 5  # it stopped at its first turn
    finally:
        signals.release()
    records = [json.loads(line) for line in (tmp_path / "acceptor1.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == "stop"
    assert records[-2]["counters"]["stopped_by"] == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_release_delivers_a_remembered_signal_to_a_command_without_a_runtime():
    seen = []
    signals.catch_early()
    os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):  # SIGINT's default: the interrupt arrives now
        signals.release()
        seen.append("not interrupted")
    assert seen == []
