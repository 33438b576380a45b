"""How one real process behaves: signals, bad config, bad input lines, bad datagrams."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from harness import SCRIPTS, values_for

from paxos_edu.messages import Group

pytestmark = pytest.mark.integration


def _records(run, role: str, id: int) -> list[dict]:
    path = run.logs / f"{role}{id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _counters(run, role: str, id: int) -> dict:
    found = [r["counters"] for r in _records(run, role, id) if r["event"] == "counters"]
    assert found, f"{role} {id} wrote no counters"
    return found[-1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_0_promptly_and_writes_counters(course, sig):
    run = course()
    run.start_cluster(acceptors=(1, 2, 3), proposers=(1,), learners=(1,))
    run.start("client", 1, stdin="pipe")  # stdin stays open: the client would run forever
    run.feed(1, values_for(1, 20))
    assert run.wait_learned(20, learners=(1,), timeout=10), run.diagnostics()
    for role, i in [("client", 1), ("learner", 1), ("proposer", 1), ("acceptor", 1)]:
        rc, took = run.stop_timed(role, i, sig)
        assert rc == 0, f"{role} exited with {rc}: {run.stderr(role, i)}"
        # Typically ~10 ms; 2 s leaves room for a loaded CI machine and still catches a role
        # that ignores the signal until some timeout or its stdin ends.
        assert took < 2.0, f"{role} took {took:.3f} s to stop"
        records = _records(run, role, i)
        assert records[-1]["event"] == "stop"
        assert "counters" in {r["event"] for r in records}
    assert _counters(run, "learner", 1)["delivered"] == 20
    assert _counters(run, "client", 1)["submitted"] == 20
    assert _counters(run, "acceptor", 1)["received"].get("PHASE2A", 0) > 0


def test_config_error_exits_2_naming_path_and_line(tmp_path):
    config = tmp_path / "bad.conf"
    config.write_text("clients 239.0.0.1 5000\nproposers 239.0.0.1 6000\n"
                      "acceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000\nloss 2\n")
    env = dict(os.environ, PAXOS_PYTHON=sys.executable)
    done = subprocess.run([str(SCRIPTS / "acceptor.sh"), "1", str(config)], env=env,
                          capture_output=True, timeout=30)
    assert done.returncode == 2
    assert f"{config}:5: loss" in done.stderr.decode()


def test_script_without_arguments_prints_usage(tmp_path):
    done = subprocess.run([str(SCRIPTS / "learn.sh")], capture_output=True, timeout=30)
    assert done.returncode == 2 and b"usage:" in done.stderr


def test_bad_option_is_a_usage_error(tmp_path):
    env = dict(os.environ, PAXOS_PYTHON=sys.executable)
    done = subprocess.run([str(SCRIPTS / "proposer.sh"), "1", "x.conf", "--loss", "1.5"],
                          env=env, capture_output=True, timeout=30)
    assert done.returncode == 2
    assert b"--loss: 1.5 out of range" in done.stderr


def test_over_long_client_line_is_reported_and_skipped(course):
    run = course()
    run.start_cluster(proposers=(1,), learners=(1,))
    good = values_for(1, 5)
    lines = good[:2] + ["x" * 20_000] + ["", "  "] + good[2:]
    (run.dir / "prop1").write_text("\n".join(lines) + "\n")
    run.start("client", 1, ready=False)
    assert run.wait_exit("client", 1, 15) == 0, run.diagnostics()
    err = run.stderr("client", 1)
    assert "stdin:3: line of 20000 bytes exceeds the value limit" in err
    assert "stdin:4" not in err and "stdin:5" not in err  # blank lines are skipped silently
    assert run.wait_learned(5, learners=(1,), timeout=10)
    assert run.learned(1) == good
    assert _counters(run, "client", 1)["rejected_lines"] == 1


def test_malformed_datagrams_are_counted_and_dropped(course):
    run = course()
    run.start_cluster(proposers=(1,), learners=(1,))
    run.start("client", 1, stdin="pipe")
    junk = [b"", b"hello", b"PX\x01\x07" + b"\xff" * 7, b"PX\x09\x01", b"PX\x01\x63"]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
        sender.bind(("127.0.0.1", 0))
        for group in Group:
            for data in junk:
                sender.sendto(data, run.addresses[group])
    finally:
        sender.close()
    run.feed(1, values_for(1, 10), close=True)  # the cluster still works afterwards
    assert run.wait_learned(10, learners=(1,), timeout=10), run.diagnostics()
    assert run.wait_exit("client", 1, 10) == 0
    for (role, i), proc in list(run.procs.items()):
        if role == "client":
            continue
        assert proc.poll() is None, f"{role} {i} died: {run.stderr(role, i)}"
        run.send_signal(role, i, signal.SIGTERM)
        assert proc.wait(5) == 0
        errors = _counters(run, role, i)["decode_errors"]
        assert sum(errors.values()) >= len(junk), (role, errors)
    client_errors = _counters(run, "client", 1)["decode_errors"]
    assert sum(client_errors.values()) >= len(junk)
    assert run.learned(1) == values_for(1, 10)


def test_log_dir_never_overwrites_the_clients_own_input(course):
    run = course()
    run.write_values(1, values_for(1, 3))
    run.env["PAXOS_LOG_DIR"] = str(run.dir)  # the course files' own directory
    run.start("client", 1, ready=False)
    assert run.wait_exit("client", 1, 15) == 2  # a usage error
    assert "would overwrite prop1" in run.stderr("client", 1)
    assert run.proposed(1) == values_for(1, 3)
