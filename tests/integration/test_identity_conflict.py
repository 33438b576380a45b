"""Two live processes with one role and id, with real processes on loopback: the newcomer
exits 2 naming role, id and group; the older warns and keeps serving; a clean restart is no
conflict; a Cluster surfaces the conflict as an exception naming the process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from run_helper import cluster_on_groups_of

from paxos_edu.cluster import Cluster, IdentityConflict
from paxos_edu.messages import Group

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "acceptor.sh"
TIMEOUT = 0.1


@contextmanager
def _process(*argv: str, cwd: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _notes(run_dir: Path, name: str, note: str) -> list[dict]:
    lines = (run_dir / f"{name}.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return [r for r in records if r.get("event") == "note" and r.get("note") == note]


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_second_acceptor_1_exits_2_and_the_first_keeps_serving(tmp_path):
    with Cluster(seed=51, log_dir=tmp_path / "run", timeout=TIMEOUT) as c:
        c.submit(1, [f"before-{i}" for i in range(50)])
        c.wait(timeout=20)
        started = time.monotonic()
        with _process(str(SCRIPT), "1", str(c.config_path), cwd=tmp_path) as twin:
            try:
                code = twin.wait(30)
            except subprocess.TimeoutExpired:
                pytest.fail("the second acceptor 1 did not give up within 30 s")
            seconds = time.monotonic() - started
            stderr = twin.stderr.read()
        assert code == 2, stderr
        ip, port = c.config.addresses[Group.ACCEPTORS]
        assert f"another acceptor 1 is running on {ip}:{port} since " in stderr, stderr
        assert "stop it, or give this one another id" in stderr
        print(f"second acceptor 1 exited 2 after {seconds:.3f} s (process start included)")
        c.submit(2, [f"after-{i}" for i in range(50)])
        c.wait(timeout=20)
        assert c.processes["alive"].all(), c.processes.to_string()
    warned = _notes(tmp_path / "run", "acceptor1", "identity_conflict")
    assert [n["action"] for n in warned] == ["keep serving"]
    report = c.run.check()
    assert report.ok, str(report)


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_clean_restart_of_a_killed_acceptor_is_no_conflict(tmp_path):
    # With storage: restarted without, it would rightly refuse to vote (roles/acceptor.py).
    with Cluster(seed=52, log_dir=tmp_path / "run", timeout=TIMEOUT, storage=True) as c:
        c.submit(1, [f"before-{i}" for i in range(50)])
        c.wait(timeout=20)
        c.kill("acceptor", 1)
        with _process(str(SCRIPT), "1", str(c.config_path), cwd=tmp_path) as restarted:
            time.sleep(20 * TIMEOUT)  # many hello periods
            assert restarted.poll() is None, restarted.stderr.read()
            c.submit(2, [f"after-{i}" for i in range(50)])
            c.wait(timeout=20)
            assert restarted.poll() is None


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_cluster_started_on_the_groups_of_a_running_one_raises_identity_conflict(tmp_path):
    # Two classes on the same groups and ports, no secret: every process of the second is
    # a newcomer twin of one of the first.
    with Cluster(seed=53, log_dir=tmp_path / "a", timeout=TIMEOUT) as a:
        b = cluster_on_groups_of(a, seed=54, log_dir=tmp_path / "b", timeout=TIMEOUT)
        with pytest.raises(IdentityConflict) as info:
            with b:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    b.wait(timeout=1)  # raises once a process of b exited 2
                    time.sleep(0.05)
        assert info.value.process in {p.name for p in b._procs}
        assert f"{info.value.process[:-1]} {info.value.process[-1]}" in str(info.value)
        assert "another" in str(info.value) and "is running on" in str(info.value)
        a.submit(1, [f"a-{i}" for i in range(50)])
        a.wait(timeout=20)  # the older class keeps working
        assert a.processes["alive"].all(), a.processes.to_string()
