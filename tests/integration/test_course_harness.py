"""The course's harness, out of the box: ``scripts/course-harness.sh HARNESS`` lays the project
out so that ``cd HARNESS && ./run.sh paxos_edu N`` works unchanged.

The real harness cannot be downloaded here, so a stand-in written below does what the issue
describes it doing: from its own folder, ``cd`` into the project folder, start
``./acceptor.sh`` etc. there with the harness's ``paxos.conf``, write ``../prop1``,
``../learn1``, ... and stop the processes (by PID here; the real one uses ``pkill -f``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from paxos_edu.checks import check_values
from paxos_edu.transport import free_multicast_addresses

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LAYOUT = ROOT / "scripts" / "course-harness.sh"

STAND_IN_RUN = r"""#!/bin/bash
# Stand-in for the course harness's run.sh: run.sh <project> <N>
PROJDIR=$1
N=$2
CONF=$(pwd)/paxos.conf
HERE=$(pwd)
cd "$PROJDIR" || exit 1
for c in 1 2; do
    # like the course's: random numbers, so some values repeat (judged as multisets)
    for i in $(seq 1 "$N"); do echo $((c * 100000 + RANDOM % 500)); done > ../prop$c
done
PIDS=""
for i in 1 2 3; do ./acceptor.sh $i "$CONF" & PIDS="$PIDS $!"; done
for i in 1 2; do ./proposer.sh $i "$CONF" & PIDS="$PIDS $!"; done
./learner.sh 1 "$CONF" > ../learn1 & PIDS="$PIDS $!"
./learn.sh 2 "$CONF" > ../learn2 & PIDS="$PIDS $!"
sleep 1
./client.sh 1 "$CONF" < ../prop1 & PIDS="$PIDS $!"
./client.sh 2 "$CONF" < ../prop2 & PIDS="$PIDS $!"
# The real harness sleeps a fixed time; the stand-in waits for the lines, with a bound.
for t in $(seq 1 300); do
    if [ "$(wc -l < ../learn1)" -ge $((2 * N)) ] && [ "$(wc -l < ../learn2)" -ge $((2 * N)) ]; then
        break
    fi
    sleep 0.1
done
kill $PIDS 2>/dev/null
wait
cd "$HERE"
"""


def _root_run_files() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.name.startswith(("prop", "learn"))
            and p.name[-1:].isdigit()}


def _harness(tmp_path: Path) -> Path:
    harness = tmp_path / "harness"
    harness.mkdir()
    (harness / "run.sh").write_text(STAND_IN_RUN)
    (harness / "run.sh").chmod(0o755)
    lines = [f"{g.role} {ip} {port}" for g, (ip, port) in free_multicast_addresses().items()]
    (harness / "paxos.conf").write_text("\n".join(lines) + "\n")
    return harness


def test_course_harness_runs_the_project_unchanged_and_writes_only_its_own_folder(tmp_path):
    harness = _harness(tmp_path)
    before = _root_run_files()
    made = subprocess.run([str(LAYOUT), str(harness)], capture_output=True, text=True,
                          timeout=30)
    assert made.returncode == 0, made.stderr
    assert "./run.sh paxos_edu 100" in made.stdout
    project = harness / "paxos_edu"
    assert project.is_dir() and not project.is_symlink()
    assert (project / "acceptor.sh").resolve() == ROOT / "scripts" / "acceptor.sh"
    done = subprocess.run(["./run.sh", "paxos_edu", "200"], cwd=harness, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    learned = {i: (harness / f"learn{i}").read_text().splitlines() for i in (1, 2)}
    proposed = {c: (harness / f"prop{c}").read_text().splitlines() for c in (1, 2)}
    assert len(proposed[1]) == len(proposed[2]) == 200
    report = check_values(learned, proposed)
    assert report.ok, f"{report}\n{done.stderr}"
    assert learned[1] == learned[2] and len(learned[1]) == 400
    assert not list(project.glob("prop[0-9]*")) and not list(project.glob("learn[0-9]*"))
    assert _root_run_files() == before, "the harness wrote into the repository root"


def test_layout_is_idempotent_and_refuses_what_it_cannot_do(tmp_path):
    harness = _harness(tmp_path)
    for _ in range(2):
        assert subprocess.run([str(LAYOUT), str(harness), "mine"], capture_output=True,
                              timeout=30).returncode == 0
    assert (harness / "mine" / "client.sh").resolve() == ROOT / "scripts" / "client.sh"
    (harness / "linked").symlink_to(ROOT / "scripts")
    for args in ([str(harness), "linked"], [str(tmp_path / "nowhere")], [str(harness), "a/b"],
                 []):
        refused = subprocess.run([str(LAYOUT), *args], capture_output=True, text=True,
                                 timeout=30)
        assert refused.returncode == 2, (args, refused.stderr)
        assert refused.stderr.strip(), args
    assert not (ROOT / "scripts" / "scripts").exists()


def test_harness_output_files_are_ignored_by_git():
    names = ["prop1", "learn1", "learn12", "scripts/prop2", "scripts/learn3"]
    ignored = subprocess.run(["git", "check-ignore", *names], cwd=ROOT, capture_output=True,
                             text=True)
    if ignored.returncode == 128:
        pytest.skip(f"not a git checkout: {ignored.stderr.strip()}")
    assert ignored.stdout.split() == names
    kept = subprocess.run(["git", "check-ignore", "scripts/learner.sh", "README.md"], cwd=ROOT,
                          capture_output=True, text=True)
    assert kept.stdout == ""
