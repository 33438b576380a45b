"""The grader against real implementations: this project's scripts (they pass) and
implementations broken on purpose by wrapping them (each fails the scenario that should
catch it, with the evidence it should give). Quick sizes throughout; the whole quick
suite, and the command line's clean-up after a SIGTERM, are marked slow."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paxos_edu.grade import grade
from paxos_edu.grade_broken import BROKEN, PROJECT_SCRIPTS, make_broken
from paxos_edu.grade_sandbox import netns_unavailable

# One xdist worker for every test that makes grader namespaces: some look at all of them
# ("every namespace removed"), which another test's sandbox must not be taken for.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("grader-netns")]
ROOT = Path(__file__).resolve().parents[2]
PREFIX = "paxos-grader-test-"


def _grade(folder, tmp_path, *names, **kwargs):
    return grade(folder, quick=True, scenarios=names, workdir=tmp_path / "work",
                 namespace_prefix=PREFIX, **kwargs)


def _namespaces() -> list[str]:
    return [n for n in _all_namespaces() if n.startswith(PREFIX)]


def test_projects_scripts_pass_the_course_scenarios(tmp_path):
    names = ["basic-100", "one-acceptor", "kill-proposer-1", "catch-up", "repeated-values"]
    report = _grade(PROJECT_SCRIPTS, tmp_path, *names)
    assert report.passed, report.table()
    assert [v.name for v in report.scenarios] == names
    assert all(v.passed for v in report.scenarios), report.table()
    catch_up = report.verdict("catch-up")
    assert catch_up.learned == {1: 200, 2: 200}, catch_up
    assert not _namespaces()


def test_kills_land_while_values_are_still_fed(tmp_path):
    report = _grade(PROJECT_SCRIPTS, tmp_path, "kill-acceptor", "kill-two-acceptors")
    for v in report.scenarios:
        note = next(n for n in v.notes if n.startswith("SIGKILLed"))
        fed = int(note.split(" after ")[1].split(" of ")[0])
        assert 0 < fed < v.values_per_client, note
    stopped = report.verdict("kill-two-acceptors")
    assert stopped.passed and max(stopped.learned.values()) < stopped.proposed, stopped


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_implementation_fails_its_scenario_with_evidence(tmp_path, name):
    broken = BROKEN[name]
    scenario, evidence = broken.caught_by
    folder = make_broken(name, tmp_path / name)
    report = _grade(folder, tmp_path, scenario)
    verdict = report.verdict(scenario)
    assert verdict.passed is False and not report.passed, report.table()
    assert evidence in verdict.detail, verdict.detail


def test_a_learner_printing_twice_names_the_value_and_its_positions(tmp_path):
    folder = make_broken("learner-prints-twice", tmp_path / "twice")
    report = _grade(folder, tmp_path, "basic-100", "one-acceptor")
    twice = report.verdict("basic-100")
    learn1 = (tmp_path / "work" / "basic-100" / "learn1").read_text().splitlines()
    assert twice.detail == (f"learner 1 delivered {learn1[2]!r} again at position 3: 2 times, "
                            "proposed once"), twice.detail
    assert learn1[2] == learn1[3] and len(set(learn1)) == len(learn1) - 1
    # A violation ends the scenario early: everything may not be learned by then.
    assert 4 <= twice.learned[1] <= 101, twice
    assert report.verdict("one-acceptor").passed, "nothing learned: nothing printed twice"


def test_a_value_learned_without_a_quorum_is_counted_as_evidence(tmp_path):
    folder = make_broken("learner-invents-a-value", tmp_path / "invent")
    report = _grade(folder, tmp_path, "one-acceptor")
    assert report.verdict("one-acceptor").detail.startswith(
        "learned 1 value with 1 of 3 acceptors")


@pytest.mark.slow
def test_an_implementation_that_learns_nothing_is_given_up_on_early(tmp_path):
    folder = make_broken("acceptor-ignores-its-id", tmp_path / "same-id")
    report = _grade(folder, tmp_path, "catch-up", "kill-proposer-1")
    for v in report.scenarios:
        assert v.passed is False and v.detail.startswith("learner 1 learned 0 of"), v
        assert any(n.startswith("ended early: nothing more learned") for n in v.notes), v


def test_progress_that_never_started_cannot_pass_as_progress_that_stopped(tmp_path):
    folder = make_broken("acceptor-ignores-its-id", tmp_path / "same-id")
    verdict = _grade(folder, tmp_path, "kill-two-acceptors").verdict("kill-two-acceptors")
    assert verdict.passed is False
    assert verdict.detail.startswith("nothing learned in"), verdict.detail
    exits = [n.split(" exited")[0] for n in verdict.notes if " exited " in n]
    assert exits and len(exits) == len(set(exits)), verdict.notes  # each noted once


def test_without_namespaces_loss_scenarios_are_skipped_with_the_reason(tmp_path):
    report = _grade(PROJECT_SCRIPTS, tmp_path, "loss-10", "basic-100", network="loopback")
    loss = report.verdict("loss-10")
    assert loss.passed is None and "skipped" in loss.detail and "loopback" in loss.detail
    assert report.verdict("basic-100").passed and report.passed
    assert report.network == "loopback"


@pytest.mark.skipif(netns_unavailable() is not None, reason=f"{netns_unavailable()}")
def test_kernel_loss_is_injected_inside_the_namespace(tmp_path):
    report = _grade(PROJECT_SCRIPTS, tmp_path, "loss-30")
    verdict = report.verdict("loss-30")
    assert verdict.passed, report.table()
    dropped = next(n for n in verdict.notes if n.startswith("the kernel dropped"))
    assert int(dropped.split()[3]) > 0, dropped


def _run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "paxos_edu", "grade", *args],
                          capture_output=True, text=True, env=env, timeout=600, **kwargs)


@pytest.mark.slow
def test_grade_quick_passes_the_projects_scripts_from_the_command_line(tmp_path):
    started = time.monotonic()
    done = _run_cli(str(PROJECT_SCRIPTS), "--quick", "--no-progress",
                    "--json", str(tmp_path / "g.json"), "--html", str(tmp_path / "g.html"))
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "g.json").read_text())
    assert data["passed"] is True and len(data["scenarios"]) >= 17
    assert "<table>" in (tmp_path / "g.html").read_text()
    assert "PASS: " in done.stdout.splitlines()[-1]
    print(f"\ngrade --quick of scripts/: {seconds:.1f} s")


@pytest.mark.slow
def test_grade_exits_1_and_cleans_up_everything_when_terminated(tmp_path):
    folder = make_broken("learner-drops-one", tmp_path / "drops")
    done = _run_cli(str(folder), "--quick", "--scenario", "basic-100")
    assert done.returncode == 1 and "learned 99 of 100" in done.stdout
    keep = tmp_path / "keep"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "paxos_edu", "grade", str(PROJECT_SCRIPTS),
                             "--scenario", "kill-acceptor", "--keep", str(keep),
                             "--no-progress"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (keep / "kill-acceptor" / "learn1").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 128 + signal.SIGTERM
    assert b"every process and namespace removed" in proc.stderr.read()
    assert not [n for n in _all_namespaces() if n.startswith("paxos-grader-")], _all_namespaces()
    left = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = open(f"/proc/{entry}/cmdline", "rb").read()
            except OSError:
                continue
            if str(keep).encode() in cmd:
                left.append(entry)
    assert not left, f"processes left behind: {left}"


def _all_namespaces() -> list[str]:
    if shutil.which("ip") is None:
        return []  # no namespaces without ip (the grader then runs on loopback)
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]
