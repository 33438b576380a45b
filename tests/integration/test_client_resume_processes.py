"""A client killed mid-run and started again with its log directory resumes its session
(issue 16 item 3, through the course scripts): nothing is delivered twice, ``check`` passes;
other input is refused with a message that says what to do; a live twin is refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from harness import values_for

pytestmark = pytest.mark.integration


def _check(directory) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "paxos_edu", "check", str(directory)],
                          capture_output=True, text=True, timeout=120)


def _records(run, event: str) -> list[dict]:
    path = run.logs / "client1.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()
            if f'"event":"{event}"' in line]


def _feed_paced(run, values: list[str], learned_at_least: int, learners=(1, 2)) -> None:
    """Feed client 1 (started anew) from the first value, 50 at a time, until the learners
    hold ``learned_at_least`` -- never more than ``values``, so some are always left."""
    run.start("client", 1, stdin="pipe")
    fed = 0
    while fed < len(values) and len(run.learned(1)) < learned_at_least:
        run.feed(1, values[fed:fed + 50])  # paced: the kill lands while values still come
        fed += 50
        time.sleep(0.005)
    assert run.wait_learned(learned_at_least, learners=learners, timeout=30), run.diagnostics()


def _kill_mid_run(run, values: list[str], learned_at_least: int, fed_at_most: int) -> None:
    """Feed client 1 paced, SIGKILL it once the learners hold ``learned_at_least``."""
    _feed_paced(run, values[:fed_at_most], learned_at_least)
    run.send_signal("client", 1, signal.SIGKILL)


def test_a_killed_client_restarted_with_its_input_delivers_each_value_once(course):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=(1, 2))
    values = values_for(1, 3000)
    _kill_mid_run(run, values, 1000, fed_at_most=2000)
    before = len(run.learned(1))
    assert before < len(values)

    run.start("client", 1, stdin="pipe")  # same id, same PAXOS_LOG_DIR: resumes
    run.feed(1, values, close=True)  # the whole input again, from the first line
    assert run.wait_exit("client", 1, 60) == 0, run.diagnostics()
    assert run.wait_learned(len(values), learners=(1, 2), timeout=30), run.diagnostics()
    time.sleep(0.3)  # a duplicate, if any, would come now
    for learner in (1, 2):
        assert run.learned(learner) == values  # each once, in input order (one client)

    starts = _records(run, "start")
    assert len(starts) == 2 and starts[0]["session"] == starts[1]["session"]
    assert starts[1]["resumed"] > 0
    logged = (run.logs / "prop1").read_text().splitlines()
    assert logged == values  # each value once in prop1: re-read ones are not logged again
    assert _records(run, "acked")[-1] == {**_records(run, "acked")[-1], "below": len(values),
                                           "done": True}
    done = _check(run.logs)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_resumed_client_given_other_input_stops_and_says_how_to_start_anew(course):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=(1, 2))
    values = values_for(1, 2000)
    _kill_mid_run(run, values, 200, fed_at_most=1000)

    other = values[:5] + ["something else"] + values[6:]
    run.start("client", 1, stdin="pipe")
    run.feed(1, other, close=True)
    assert run.wait_exit("client", 1, 30) == 2, run.diagnostics()
    err = run.stderr("client", 1)
    assert "stdin:6:" in err and "'c1-v5'" in err and "'something else'" in err, err
    assert "client1.jsonl" in err and "--new-session" in err, err
    time.sleep(0.3)
    assert "something else" not in run.learned(1)

    run.start("client", 1, stdin="pipe", args=("--new-session",))  # the way out it named
    run.feed(1, ["something else"], close=True)
    assert run.wait_exit("client", 1, 30) == 0, run.diagnostics()
    assert run.wait_until(lambda: "something else" in run.learned(2), 20), run.diagnostics()
    sessions = [r["session"] for r in _records(run, "start")]
    assert sessions[0] == sessions[1] != sessions[2]
    done = _check(run.logs)  # the killed session's undelivered values are not expected
    assert "validity" in done.stdout and "integrity" in done.stdout, done.stdout
    assert "✗ validity" not in done.stdout and "✗ integrity" not in done.stdout, done.stdout


def test_a_second_live_client_with_the_same_log_directory_is_refused_before_it_sends(course):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=(1,))
    run.start("client", 1, stdin="pipe")
    run.feed(1, ["first"])
    assert run.wait_until(lambda: run.learned(1) == ["first"], 20), run.diagnostics()
    first = run.procs[("client", 1)]

    twin = run.start("client", 1, stdin="pipe", ready=False)
    twin.stdin.write(b"from the twin\n")
    twin.stdin.close()
    assert twin.wait(30) == 2
    assert "identity conflict: another client 1 is running" in run.stderr("client", 1)
    time.sleep(0.3)
    assert run.learned(1) == ["first"]
    assert first.poll() is None  # the older one keeps serving


def test_a_client_whose_session_finished_starts_a_new_one_when_started_again(course):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=(1,))
    values = values_for(1, 30)
    run.start("client", 1, stdin="pipe")
    run.feed(1, values, close=True)
    assert run.wait_exit("client", 1, 30) == 0, run.diagnostics()
    assert _records(run, "acked")[-1]["done"] is True

    run.start("client", 1, stdin="pipe")  # a new run of the same input: new data
    run.feed(1, values, close=True)
    assert run.wait_exit("client", 1, 30) == 0, run.diagnostics()
    assert run.wait_until(lambda: len(run.learned(1)) == 60, 20), run.diagnostics()
    sessions = [r["session"] for r in _records(run, "start")]
    assert len(set(sessions)) == 2 and "resumed" not in _records(run, "start")[1]
    done = _check(run.logs)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_session_survives_a_stop_and_a_kill_and_each_value_is_delivered_once(course):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=(1,))
    values = values_for(1, 3000)
    for sig, at_least, fed_at_most in ((signal.SIGTERM, 500, 1500),
                                       (signal.SIGKILL, 1500, 2500)):
        _feed_paced(run, values[:fed_at_most], at_least, learners=(1,))
        if sig == signal.SIGTERM:
            rc, _ = run.stop_timed("client", 1, sig)
            assert rc == 0  # a clean stop before stdin ended: the session stays resumable
            assert "done" not in _records(run, "acked")[-1]
        else:
            run.send_signal("client", 1, sig)
    run.start("client", 1, stdin="pipe")
    run.feed(1, values, close=True)
    assert run.wait_exit("client", 1, 60) == 0, run.diagnostics()
    assert run.wait_learned(len(values), learners=(1,), timeout=30), run.diagnostics()
    time.sleep(0.3)
    assert run.learned(1) == values
    assert len({r["session"] for r in _records(run, "start")}) == 1
    assert (run.logs / "prop1").read_text().splitlines() == values
    done = _check(run.logs)
    assert done.returncode == 0, done.stdout + done.stderr
