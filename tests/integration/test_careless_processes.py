"""What a careless student does to real processes through the course scripts (issue 16):
restart a client into its old log directory, pipe a learner into ``head``, point the
output at a file, stop a process the instant it starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from harness import SCRIPTS, values_for

pytestmark = pytest.mark.integration


def _check(directory) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "paxos_edu", "check", str(directory)],
                          capture_output=True, text=True, timeout=120)


def test_a_client_restarted_into_its_log_directory_keeps_its_earlier_record(course):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=(1,))
    first = values_for(1, 400)
    run.start("client", 1, stdin="pipe")
    for i in range(0, 200, 20):  # paced: the kill lands while values are still coming
        run.feed(1, first[i:i + 20])
        time.sleep(0.01)
    assert run.wait_learned(100, learners=(1,), timeout=20), run.diagnostics()
    run.send_signal("client", 1, signal.SIGKILL)
    logged_before = (run.logs / "prop1").read_text().splitlines()
    assert len(logged_before) >= 100

    # Same id, same PAXOS_LOG_DIR, asked for a new session (without --new-session it would
    # resume the killed one: test_client_resume_processes.py).
    run.start("client", 1, stdin="pipe", args=("--new-session",))
    run.feed(1, first, close=True)  # the student pipes the whole input again
    assert run.wait_exit("client", 1, 30) == 0, run.diagnostics()
    assert run.wait_until(lambda: len(run.learned(1)) >= len(logged_before) + 400, 20), \
        run.diagnostics()

    logged = (run.logs / "prop1").read_text().splitlines()
    assert logged[: len(logged_before)] == logged_before  # nothing truncated
    assert logged[len(logged_before):] == first
    sessions = {line.split('"session":')[1].split(",")[0]
                for line in (run.logs / "client1.jsonl").read_text().splitlines()
                if '"event":"start"' in line}
    assert len(sessions) == 2  # two lives, two sessions, both in one log
    done = _check(run.logs)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_learner_piped_into_head_exits_promptly_and_quietly(course):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=())
    run.write_values(1, values_for(1, 50))
    run.start("client", 1)
    pipeline = subprocess.Popen(
        f"'{SCRIPTS / 'learner.sh'}' 9 '{run.config}' | head -1", shell=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=run.env, start_new_session=True)
    try:
        out, err = pipeline.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(pipeline.pid, signal.SIGKILL)
        pipeline.communicate()
        pytest.fail("learner.sh | head -1 did not end within 20 s")
    assert out.decode().splitlines() == ["c1-v0"]
    assert err == b""


@pytest.mark.parametrize("option", ["--log-dir", "--out"])
def test_an_output_path_that_is_a_file_is_one_line_and_exit_2(tmp_path, option):
    existing = tmp_path / "notes.txt"
    existing.write_text("mine\n")
    config = tmp_path / "paxos.conf"
    config.write_text("clients 239.0.0.1 5000\nproposers 239.0.0.1 6000\n"
                      "acceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000\n")
    if option == "--log-dir":
        argv = ["acceptor", "1", str(config), "--log-dir", str(existing)]
    else:
        argv = ["run", "--out", str(existing)]
    done = subprocess.run([sys.executable, "-m", "paxos_edu", *argv], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(existing) in lines[0] and "not a directory" in lines[0]
    assert existing.read_text() == "mine\n"


def _caught(pid: int, sig: int) -> bool:
    """Whether process ``pid`` has a handler installed for ``sig`` (/proc SigCgt mask)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


def _sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_sigterm_at_the_start_of_a_roles_life_is_a_clean_exit(course):
    """The stop handler exists before the process does any work (no socket is open yet),
    and a SIGTERM then still gives the documented clean exit 0 with a ``stop`` record."""
    run = course()
    for attempt in range(3):
        proc = run.start("acceptor", 1 + attempt, ready=False)
        deadline = time.monotonic() + 15
        while not _caught(proc.pid, signal.SIGTERM) and proc.poll() is None:
            assert time.monotonic() < deadline, "no SIGTERM handler after 15 s"
            time.sleep(0.0002)
        assert _sockets(proc.pid) == 0, "the handler came only after start-up work"
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(15) == 0, run.stderr("acceptor", 1 + attempt)
        log = (run.logs / f"acceptor{1 + attempt}.jsonl").read_text()
        assert '"event":"stop"' in log and '"stopped_by":"SIGTERM"' in log
