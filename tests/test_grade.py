"""The grader's pieces without running an implementation: reports, JSON/HTML, pandas,
values, the non-blocking feeder, the sandbox's clean-up, the command's exit status."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pytest

from paxos_edu import load_grade
from paxos_edu.cli import main
from paxos_edu.errors import UsageError
from paxos_edu.grade import find_scripts
from paxos_edu.grade_broken import BROKEN, PROJECT_SCRIPTS, make_broken
from paxos_edu.grade_report import GradeReport, Verdict
from paxos_edu.grade_sandbox import (
    GraderInterrupted,
    Sandbox,
    cleanup_on_signals,
    netns_unavailable,
)
from paxos_edu.grade_scenarios import SCENARIOS, Feeder, make_values


def _report() -> GradeReport:
    return GradeReport("/students/alice", True, "netns", "one private namespace per scenario",
                       12.5, [
                           Verdict("basic-100", "2 x 100", True, "all learned", seconds=1.5,
                                   values_per_client=100, proposed=200, learned={1: 200, 2: 200}),
                           Verdict("basic-1000", "2 x 1000", False,
                                   "learner 2 delivered '7' at position 10 where learner 1 "
                                   "delivered '8'", seconds=2.0, proposed=2000,
                                   learned={1: 2000, 2: 1990},
                                   problems=["learner 2 delivered '7' at position 10 where "
                                             "learner 1 delivered '8'", "second <problem>"]),
                           Verdict("loss-10", "10 % loss", None, "skipped: not root"),
                           Verdict("noise", "noise", False, "a crash", required=False),
                       ])


def test_report_fails_on_a_required_failure_only():
    report = _report()
    assert not report.passed and [v.name for v in report.failed] == ["basic-1000"]
    report.scenarios[1].passed = True
    assert report.passed, "an informational failure or a skip must not fail the report"


def test_table_names_every_scenario_with_its_verdict_and_first_violation():
    table = _report().table()
    assert "basic-1000  FAIL" in table and "position 10 where learner 1" in table
    assert "loss-10     skipped" in table and "FAIL (info)" in table
    assert "200/200 of 200" in table and "2000/1990 of 2000" in table
    assert table.splitlines()[-1].startswith("FAIL: 1 of 4 scenarios passed, 1 required failed")


def test_json_report_loads_into_pandas_with_skips_as_na(tmp_path):
    path = tmp_path / "grade.json"
    _report().write_json(path)
    data = json.loads(path.read_text())
    assert data["passed"] is False
    assert {"name", "passed", "detail"} <= set(data["scenarios"][0])
    frame = load_grade(path)
    assert list(frame["scenario"]) == ["basic-100", "basic-1000", "loss-10", "noise"]
    assert frame["passed"].isna().tolist() == [False, False, True, False]
    assert frame.loc[1, "learned_min"] == 1990 and frame.loc[1, "learned_max"] == 2000
    assert frame.attrs["passed"] is False and frame.attrs["quick"] is True
    assert load_grade(_report())["detail"].tolist() == frame["detail"].tolist()


def test_load_grade_refuses_what_is_not_a_report(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        load_grade(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(UsageError, match="not JSON"):
        load_grade(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(UsageError, match="not a grade report"):
        load_grade(tmp_path / "other.json")


def test_html_report_is_one_escaped_page(tmp_path):
    page = _report().to_html()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "second &lt;problem&gt;" in page and "FAIL" in page
    assert page.count("<tr ") == 4


def test_distinct_values_are_numbers_and_kinds_have_their_shape():
    rng = random.Random(0)
    distinct = make_values("distinct", 2, 1000, rng)
    assert len(set(distinct)) == 1000 and all(v.isdigit() for v in distinct)
    assert not set(distinct) & set(make_values("distinct", 1, 1000, rng))
    repeated = make_values("repeated", 1, 500, rng)
    assert set(repeated) <= {str(i) for i in range(1, 11)} and len(set(repeated)) == 10
    assert {len(v) for v in make_values("long", 1, 20, rng)} == {1000}
    assert all(not v.isascii() for v in make_values("unicode", 1, 5, rng))


def test_every_scenario_has_a_smaller_quick_size():
    for s in SCENARIOS:
        assert 0 < s.quick <= s.values, s.name
        assert s.expect in ("all", "none", "prefix", "catch-up"), s.name
    names = {s.name for s in SCENARIOS}
    assert {"basic-100", "basic-1000", "basic-10000", "one-acceptor", "loss-50",
            "kill-two-acceptors", "kill-proposer-1", "kill-proposer-2", "catch-up",
            "repeated-values", "long-values"} <= names


class _Dir:
    def __init__(self, path):
        self.dir = path


def test_feeder_never_blocks_and_counts_only_complete_lines(tmp_path):
    """A client that never reads: the pipe fills, the grader goes on, and only the lines
    written whole count as proposed."""
    from paxos_edu.grade_sandbox import Process

    popen = subprocess.Popen(["sleep", "30"], stdin=subprocess.PIPE, start_new_session=True)
    try:
        values = {1: [f"{i:07d}-value" for i in range(100_000)]}
        feeder = Feeder(_Dir(tmp_path), {1: Process("client", 1, popen, [])}, values)
        started = time.monotonic()
        feeder.queue(100_000)
        feeder.pump()
        assert time.monotonic() - started < 5
        assert 0 < feeder.fed[1] < 100_000 and not feeder.done
        assert feeder.proposed()[1] == values[1][: feeder.fed[1]]
        feeder.write_prop_files()
        assert (tmp_path / "prop1").read_text().splitlines() == feeder.proposed()[1]
    finally:
        os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()


def test_find_scripts_refuses_a_folder_that_does_not_follow_the_interface(tmp_path):
    with pytest.raises(UsageError, match="not a folder"):
        find_scripts(tmp_path / "nowhere")
    for name in ("acceptor.sh", "proposer.sh", "learn.sh"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    with pytest.raises(UsageError, match="no client.sh"):
        find_scripts(tmp_path)
    (tmp_path / "client.sh").write_text("#!/bin/sh\n")
    with pytest.raises(UsageError, match="not executable"):
        find_scripts(tmp_path)
    (tmp_path / "client.sh").chmod(0o755)
    assert find_scripts(tmp_path)["learner"].name == "learn.sh"
    assert set(find_scripts(PROJECT_SCRIPTS)) == {"acceptor", "proposer", "learner", "client"}


def test_grade_command_exits_2_on_a_usage_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["grade", str(PROJECT_SCRIPTS), "--scenario", "no-such"]) == 2
    assert "unknown scenario 'no-such'" in capsys.readouterr().err


def test_broken_implementations_wrap_the_projects_scripts(tmp_path):
    for name, broken in BROKEN.items():
        folder = make_broken(name, tmp_path / name)
        scripts = find_scripts(folder)
        changed = scripts[broken.role].read_text()
        assert broken.body in changed and str(PROJECT_SCRIPTS) in changed
        other = next(r for r in scripts if r != broken.role)
        assert 'exec "$ORIG" "$@"' in scripts[other].read_text()
    with pytest.raises(UsageError, match="unknown broken"):
        make_broken("nope", tmp_path / "nope")


def test_loopback_sandbox_cannot_inject_loss_and_says_why(tmp_path):
    with Sandbox(tmp_path, network="loopback") as box:
        assert box.namespace is None and "loopback" in box.loss_reason
        with pytest.raises(UsageError, match="loss impossible"):
            box.set_loss(0.1)
        assert "239.255." in box.config.read_text()


def test_signals_unwind_the_grader_so_finally_blocks_run():
    ran = []
    with pytest.raises(GraderInterrupted):
        with cleanup_on_signals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            finally:
                ran.append(True)
    assert ran == [True]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(
        signal.getsignal(signal.SIGTERM))


needs_netns = pytest.mark.skipif(netns_unavailable() is not None,
                                 reason=f"needs network namespaces: {netns_unavailable()}")


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@needs_netns
@pytest.mark.xdist_group("grader-netns")  # see test_grade_implementations.py
def test_sandbox_namespace_and_every_process_group_are_gone_whatever_happens(tmp_path):
    script = tmp_path / "daemon.sh"
    script.write_text("#!/bin/sh\nsleep 60 &\nsleep 60 &\nwait\n")  # children in the group
    script.chmod(0o755)
    with pytest.raises(RuntimeError):
        with Sandbox(tmp_path / "run", prefix="paxos-grader-test-") as box:
            name = box.namespace
            assert name and name in _namespaces()
            proc = box.start(script, "acceptor", 1)
            deadline = time.monotonic() + 5
            while len(proc.pids()) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            pids = proc.pids()
            assert len(pids) == 3
            raise RuntimeError("the grader failed mid-scenario")
    assert name not in _namespaces()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}/stat") or b") Z" in open(
            f"/proc/{pid}/stat", "rb").read()


@needs_netns
@pytest.mark.xdist_group("grader-netns")  # see test_grade_implementations.py
def test_sandbox_loss_rule_lives_inside_the_namespace(tmp_path):
    with Sandbox(tmp_path, prefix="paxos-grader-test-") as box:
        box.set_loss(0.3)
        rules = subprocess.run([*box.prefix, "iptables", "-S", "INPUT"], capture_output=True,
                               text=True).stdout
        assert "--probability 0.2999" in rules and "-p udp" in rules
        host = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True)
        assert "--probability 0.2999" not in host.stdout
        assert "239.0.0.1 7000" in box.config.read_text()


def test_a_script_without_a_shebang_runs_under_sh_and_one_that_cannot_run_is_a_verdict(
        tmp_path):
    from paxos_edu.grade_scenarios import BY_NAME, run_scenario

    (tmp_path / "plain.sh").write_text("echo started $1 > out-$1\n")  # no #! line
    with Sandbox(tmp_path / "box", network="loopback") as box:
        proc = box.start(tmp_path / "plain.sh", "acceptor", 7)
        assert proc.popen.wait(10) == 0
        assert (tmp_path / "box" / "out-7").read_text() == "started 7\n"
    scripts = {role: tmp_path / "missing.sh" for role in ("acceptor", "proposer", "learner",
                                                           "client")}
    verdict = run_scenario(BY_NAME["basic-100"], scripts, tmp_path / "run", quick=True,
                           network="loopback")
    assert verdict.passed is False
    assert verdict.detail.startswith("cannot run the implementation:"), verdict.detail


def test_each_sandbox_gives_its_processes_a_private_temporary_directory(tmp_path):
    """What one scenario's processes leave in TMPDIR (this project's acceptors mark that
    they ran, and a restarted one then refuses to vote at once) never reaches the next."""
    script = tmp_path / "tmp.sh"
    script.write_text('#!/bin/sh\necho "$TMPDIR" > where-$1\n')
    script.chmod(0o755)
    seen = []
    for run in ("one", "two"):
        with Sandbox(tmp_path / run, network="loopback") as box:
            assert box.start(script, "acceptor", 1).popen.wait(10) == 0
            seen.append((tmp_path / run / "where-1").read_text().strip())
    assert seen == [str(tmp_path / "one" / "tmp"), str(tmp_path / "two" / "tmp")]
