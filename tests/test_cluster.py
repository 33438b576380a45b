"""The lab bench with real processes: Cluster, scenarios and the demo/run/check commands.

Every cluster runs on loopback multicast with its own group and ports; every process a
test starts is stopped by the cluster (with-block, finalizer) and the orphan tests prove it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import paxos_edu.cluster as cluster_module
from paxos_edu.cluster import Cluster, ClusterTimeout, ProcessFailed
from paxos_edu.errors import UsageError
from paxos_edu.runlog import load_run
from paxos_edu.scenarios import run_scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parent.parent


def values(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def alive(pids: list[int]) -> list[int]:
    """PIDs still running (zombies count as gone: they hold no resources but a slot)."""
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def assert_all_gone(pids: list[int], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert alive(pids) == []


def paxos_edu(*args: str, cwd: Path, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "paxos_edu", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------- the Cluster API


def test_cluster_submits_waits_and_checks_2x50_values():
    with Cluster(acceptors=3, proposers=2, learners=2, clients=2, seed=1) as c:
        assert c.submit(1, values("a", 50)) == 50
        assert c.submit(2, values("b", 50)) == 50
        c.wait(timeout=20)
        table = c.processes
        assert list(table.columns[:4]) == ["role", "id", "pid", "alive"]
        assert len(table) == 9 and table["alive"].all()
    run = c.run
    assert run.check().ok
    assert len(run.proposed) == 100
    assert run.learned.groupby("learner").size().to_dict() == {1: 100, 2: 100}
    assert set(run.learned["value"]) == set(values("a", 50)) | set(values("b", 50))
    assert run is c.run  # loaded once
    assert run.metrics().summary["values"] == 100
    assert (c.path / "paxos.conf").read_text().startswith("# paxos_edu config")


def test_two_clusters_at_once_never_hear_each_other():
    with Cluster(clients=1, learners=1) as one, Cluster(clients=1, learners=1) as two:
        assert one.config.addresses != two.config.addresses
        one.submit(1, values("one-", 30))
        two.submit(1, values("two-", 20))
        one.wait(timeout=20)
        two.wait(timeout=20)
    for c, prefix, n in ((one, "one-", 30), (two, "two-", 20)):
        run = c.run
        assert run.check().ok
        assert run.learned["value"].str.startswith(prefix).all()
        assert len(run.learned) == n


def test_killed_acceptor_mid_run_and_everything_is_still_learned():
    with Cluster(acceptors=3, proposers=2, learners=2, clients=2, seed=2) as c:
        c.submit(1, values("a", 50))
        c.submit(2, values("b", 50))
        c.kill("acceptor", 2)
        c.submit(1, values("a-after-", 50))
        c.wait(timeout=20)
        with pytest.raises(UsageError, match="already ran"):
            c.start("acceptor", 2)  # would forget its promises
    run = c.run
    assert run.check().ok
    assert len(run.learned) == 2 * 150
    processes = run.processes.set_index("process")
    assert not processes.loc["acceptor2", "stopped"]  # crash-stop: no stop record
    assert processes.loc["acceptor1", "stopped"]


def test_late_learner_started_with_start_catches_up_from_the_first_value():
    with Cluster(acceptors=3, proposers=1, learners=1, clients=2) as c:
        c.submit(1, values("early", 40))
        c.wait(timeout=20)
        c.start("learner", 2)
        assert c.ids("learner") == [1, 2]
        c.submit(2, values("late", 40))
        c.wait(timeout=20)
    run = c.run
    assert run.check().ok
    late = run.learned[run.learned["learner"] == 2]
    assert late["value"].tolist()[:40] == values("early", 40)
    assert len(late) == 80


def test_a_learner_restarted_under_its_id_is_counted_from_its_new_log_only():
    # wait() and progress() keep one reader of a learner's log per process life: what
    # learner 2 delivered before its restart does not count for the new process.
    with Cluster(acceptors=3, proposers=1, learners=2, clients=1) as c:
        c.submit(1, values("r", 20))
        c.wait(timeout=20)
        assert c.progress()[2] == (20, 20)
        c.pause("proposer", 1)  # nobody can tell the new learner 2 what was decided
        c.pause("learner", 1)
        c.restart("learner", 2)
        assert c.progress()[2] == (0, 20)
        c.resume("proposer", 1)
        c.resume("learner", 1)
        c.wait(timeout=20)
        assert c.progress()[2] == (20, 20)
    assert c.run.check().ok


def test_wait_timeout_names_the_learners_behind_and_the_missing_quorum():
    with Cluster(acceptors=1, acceptor_count=3, proposers=1, learners=2, clients=1) as c:
        c.submit(1, values("v", 20))
        started = time.monotonic()
        with pytest.raises(ClusterTimeout) as caught:
            c.wait(timeout=0.5)
        assert time.monotonic() - started < 5.0  # the timeout holds; it does not wait for all 20
    text = str(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert "learner 1 has 0 of 20 values, 20 behind (client 1: 20)" in text
    assert "learner 2 has 0 of 20" in text
    assert "1 acceptors (a quorum is 2 of 3)" in text
    assert "no quorum of acceptors" in text
    assert c.run.check(expect_complete=False).ok


def test_paused_learner_is_named_in_the_timeout_then_catches_up_when_resumed():
    with Cluster(acceptors=3, proposers=1, learners=2, clients=1) as c:
        c.pause("learner", 2)
        c.submit(1, values("p", 30))
        with pytest.raises(ClusterTimeout, match=r"learner 2 \(paused\) has 0 of 30"):
            c.wait(timeout=0.4)
        c.resume("learner", 2)
        c.wait(timeout=20)
    assert c.run.check().ok


def test_submit_rejects_bad_values_and_unknown_clients():
    with Cluster(acceptors=1, proposers=1, learners=1, clients=1) as c:
        with pytest.raises(UsageError, match="no client 7"):
            c.submit(7, ["x"])
        with pytest.raises(UsageError, match="one line"):
            c.submit(1, ["ok", "two\nlines"])
        with pytest.raises(UsageError, match="blank"):
            c.submit(1, ["  "])
        with pytest.raises(UsageError, match="exceeds"):
            c.submit(1, ["x" * 20000])
        assert c.submit(1, "single value") == 1
        assert c.submit(1, [1, 2]) == 2
        c.wait(timeout=20)
        c.close_clients()
        with pytest.raises(UsageError, match="stdin closed"):
            c.submit(1, ["late"])
    assert c.run.learned["value"].tolist() == ["single value", "1", "2"]


def test_unusable_setting_fails_at_once_with_the_process_stderr(tmp_path):
    with pytest.raises(UsageError, match="unknown bug"):
        Cluster(bugs=["no-such-bug"])
    with pytest.raises(UsageError, match="already holds a run"):
        (tmp_path / "learn1").write_text("x\n")
        Cluster(log_dir=tmp_path)


def test_spawn_launcher_runs_the_course_command_line(tmp_path):
    with Cluster(acceptors=3, proposers=1, learners=1, clients=1, launcher="spawn",
                 log_dir=tmp_path / "run") as c:
        for pid in c.pids:
            assert "paxos_edu" in " ".join(psutil.Process(pid).cmdline())
        c.submit(1, values("s", 20))
        c.wait(timeout=20)
        pids = c.pids
    assert_all_gone(pids)
    assert c.run.check().ok
    assert (tmp_path / "run" / "learn1").read_text().splitlines() == values("s", 20)


def test_temporary_run_directory_lives_as_long_as_the_cluster_or_its_run():
    import gc

    def experiment():
        with Cluster(acceptors=1, proposers=1, learners=1, clients=1) as c:
            c.submit(1, ["only"])
            c.wait(timeout=20)
        return c.run

    run = experiment()
    gc.collect()
    assert run.path.is_dir()
    assert "deliver" in set(run.events["event"])  # read from the files, after the cluster
    path = run.path
    del run
    gc.collect()
    assert not path.exists()


# ---------------------------------------------------------------------- no orphans


def test_no_orphan_processes_after_the_with_block():
    with Cluster() as c:
        pids = c.pids
        assert len(alive(pids)) == 9
    assert_all_gone(pids)


def test_no_orphan_processes_after_an_exception_inside_the_with_block():
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="boom"):
        with Cluster() as c:
            pids = c.pids
            c.submit(1, values("x", 10))
            raise RuntimeError("boom")
    assert len(pids) == 9
    assert_all_gone(pids)
    assert c.run.check(expect_complete=False).ok  # the logs survived the crash of the test


def test_keyboard_interrupt_in_wait_stops_the_cluster(monkeypatch):
    c = Cluster(acceptors=1, acceptor_count=3, proposers=1, learners=1, clients=1)
    pids = c.pids
    c.submit(1, values("k", 10))
    real_sleep = time.sleep
    calls = []

    def interrupted_sleep(seconds: float) -> None:
        if not calls:
            calls.append(seconds)
            raise KeyboardInterrupt  # what a notebook's "interrupt kernel" does
        real_sleep(seconds)

    monkeypatch.setattr(cluster_module.time, "sleep", interrupted_sleep)
    with pytest.raises(KeyboardInterrupt):
        c.wait(timeout=10)
    monkeypatch.undo()
    assert_all_gone(pids)
    assert c.run.processes["stopped"].all()  # stopped cleanly: logs flushed


def test_no_orphans_when_the_owning_python_process_is_killed():
    """A notebook kernel killed outright (restart): the zygote kills what it forked."""
    code = (
        "import json, os\n"
        "from paxos_edu.cluster import Cluster\nfrom paxos_edu.launcher import _zygote\n"
        "c = Cluster()\n"
        "print(json.dumps(c.pids + [_zygote().popen.pid]), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=30)
    assert done.returncode == -9, done.stderr
    pids = json.loads(done.stdout)
    assert len(pids) == 10
    assert_all_gone(pids)


def test_role_processes_and_the_zygote_import_no_pandas():
    """What a forked role process holds: the zygote's imports (cluster, cli, runtime)."""
    code = (
        "import sys, paxos_edu.cluster, paxos_edu.cli, paxos_edu.runtime\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'numpy', "
        "'matplotlib', 'tqdm', 'psutil'}))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=30)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_a_process_that_dies_on_its_own_is_reported_with_its_stderr():
    with Cluster(acceptors=3, proposers=1, learners=1, clients=1) as c:
        c.submit(1, ["v"])
        c.wait(timeout=20)
        learner = c.processes.set_index(["role", "id"]).loc[("learner", 1), "pid"]
        os.kill(int(learner), 9)  # not through c.kill: the cluster did not expect it
        (c.path / "learner1.stderr").write_text("Traceback: something broke\n")
        deadline = time.monotonic() + 5
        while c.processes["alive"].all() and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(ProcessFailed, match="learner 1 .* exited unexpectedly") as caught:
            c.wait(timeout=5)
        assert "something broke" in str(caught.value)


# ---------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("name", ["one-acceptor", "kill-proposer"])
def test_scenarios_meet_their_expected_outcome(name):
    result = run_scenario(name, values=40, hold_s=0.3)
    assert result.ok, str(result)
    assert "PASS" in str(result)


# ---------------------------------------------------------------------- commands


def test_demo_command_runs_1000_values_and_passes(tmp_path):
    done = paxos_edu("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "learner 1: 1000, learner 2: 1000 values" in done.stdout
    assert "all checked properties hold" in done.stdout
    assert "values/s" in done.stdout and "p99" in done.stdout and "per value" in done.stdout
    assert "values learned" in done.stderr  # the progress bar


def test_run_scenario_command_then_check_command_on_its_directory(tmp_path):
    out = tmp_path / "run"
    done = paxos_edu("run", "--scenario", "kill-acceptor", "--values", "60", "--seed", "3",
                     "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "killed acceptor 3" in done.stdout and "PASS" in done.stdout
    checked = paxos_edu("check", str(out), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all checked properties hold" in checked.stdout


def test_run_command_one_acceptor_passes_when_nothing_is_learned(tmp_path):
    done = paxos_edu("run", "--scenario", "one-acceptor", "--values", "10", "--hold", "0.3",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "learner 1: 0, learner 2: 0 values" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--scenario", "nope"], "invalid choice"),
        (["run", "--values", "0"], "out of range"),
        (["run", "--loss", "1.5"], "out of range"),
        (["check"], "required"),
        (["check", "no/such/dir"], "no such run directory"),
    ],
)
def test_commands_report_usage_errors_with_exit_2(tmp_path, args, message):
    done = paxos_edu(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr


def test_check_command_on_a_hand_made_course_directory(tmp_path):
    (tmp_path / "prop1").write_text("a\nb\nc\n")
    (tmp_path / "prop2").write_text("x\ny\n")
    (tmp_path / "learn1").write_text("a\nx\nb\ny\nc\n")
    (tmp_path / "learn2").write_text("a\nx\nb\ny\nc\n")
    done = paxos_edu("check", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checked properties hold" in done.stdout
    assert load_run(tmp_path).check().ok

    (tmp_path / "learn2").write_text("x\na\n")  # disagrees with learner 1
    done = paxos_edu("check", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert "✗" in done.stdout or "FAIL" in done.stdout.upper()
    partial = paxos_edu("check", str(tmp_path), "--partial", cwd=tmp_path)
    assert partial.returncode == 1  # order is violated, not just incomplete


def test_restarted_acceptors_with_storage_recover_and_everything_is_learned_once(tmp_path):
    with Cluster(seed=3, storage=True, log_dir=tmp_path / "run") as c:
        assert c.config.storage == str(tmp_path / "run" / "storage")
        assert "storage " in c.config_path.read_text()
        c.submit(1, values("a", 100))
        c.submit(2, values("b", 100))
        c.restart("acceptor", 1)  # SIGKILL and start again, mid-run
        c.submit(1, values("c", 100))
        c.kill("acceptor", 2)
        c.restart("acceptor", 3)  # 1 and 3 (both restarted) are the quorum now
        c.submit(2, values("d", 100))
        c.wait(timeout=30)
    run = c.run
    assert run.check().ok
    assert len(run.learned) == 2 * 400
    starts = [json.loads(line) for line in (tmp_path / "run" / "acceptor1.jsonl")
              .read_text().splitlines() if '"event":"start"' in line]
    assert starts[-1]["storage"]["recovered"] > 0


def test_restarting_an_acceptor_without_storage_is_refused_but_a_proposer_restarts():
    with Cluster(acceptors=3, proposers=2, learners=1, clients=1, seed=4) as c:
        c.submit(1, values("a", 30))
        with pytest.raises(UsageError, match="no storage.*restart-without-storage"):
            c.restart("acceptor", 1)
        c.restart("proposer", 1)  # a new incarnation: new rounds, no memory needed
        c.submit(1, values("b", 30))
        c.wait(timeout=30)
    assert c.run.check().ok and len(c.run.learned) == 60


def _learned_once(run, wanted: list[str]) -> None:
    learned = run.learned
    for lid in sorted(set(learned["learner"])):
        got = learned[learned["learner"] == lid]["value"].tolist()
        assert sorted(got) == sorted(wanted), f"learner {lid}"


def test_a_client_restarted_mid_run_resumes_its_session_and_every_value_is_learned_once(
        tmp_path):
    # Paced submission: the client is killed (SIGKILL) with values sent but not all
    # decided and values not yet read; restarted, it is fed its whole input again.
    with Cluster(acceptors=3, proposers=1, learners=2, clients=1, seed=5,
                 log_dir=tmp_path / "run") as c:
        for k in range(10):
            c.submit(1, values(f"p{k}.", 20))
            time.sleep(0.01)
        c.restart("client", 1)
        c.submit(1, values("after", 30))
        c.wait(timeout=30)
        c.kill("client", 1)
        c.restart("client", 1)  # a client killed before is restarted too
        c.submit(1, values("last", 5))
        c.wait(timeout=30)
    run = c.run
    assert run.check().ok
    wanted = [v for k in range(10) for v in values(f"p{k}.", 20)] + values("after", 30) + \
        values("last", 5)
    _learned_once(run, wanted)
    starts = [json.loads(line) for line in (tmp_path / "run" / "client1.jsonl")
              .read_text().splitlines() if '"event":"start"' in line]
    assert len(starts) == 3 and len({s["session"] for s in starts}) == 1
    assert all("resumed" in s for s in starts[1:])
    assert (tmp_path / "run" / "prop1").read_text().splitlines() == wanted


def test_a_client_whose_input_ended_is_not_restarted():
    with Cluster(acceptors=3, proposers=1, learners=1, clients=1, seed=6) as c:
        c.submit(1, values("a", 5))
        c.wait(timeout=20)
        c.close_clients()
        with pytest.raises(UsageError, match="no session to resume"):
            c.restart("client", 1)
