"""Crash-recovery with real processes through the course scripts: acceptors with
``storage`` killed (SIGKILL) mid-run and restarted, amnesiac restarts refused.

Client input is paced (a feeder thread writes a few values every few milliseconds), so
each kill lands while values are being ordered, votes are being written and fsynced.
Every test checks the course's properties on ``learn<id>``/``prop<id>``: everything
learned, by both learners, in one order, exactly once.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from harness import values_for

pytestmark = pytest.mark.integration

N = 600  # values per client


class Pacer(threading.Thread):
    """Feeds both pipe clients ``N`` values each, ``chunk`` at a time."""

    def __init__(self, run, chunk: int = 10, pause: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.run_, self.chunk, self.pause = run, chunk, pause

    def run(self) -> None:
        for start in range(0, N, self.chunk):
            last = start + self.chunk >= N
            try:
                for client in (1, 2):
                    self.run_.feed(client, values_for(client, self.chunk, start), close=last)
            except (BrokenPipeError, ValueError):  # the test ended early: clients are gone
                return
            time.sleep(self.pause)


def _start(run) -> Pacer:
    run.start_cluster()
    run.start("client", 1, stdin="pipe")
    run.start("client", 2, stdin="pipe")
    pacer = Pacer(run)
    pacer.start()
    return pacer


def _learned_at_least(run, count: int) -> None:
    assert run.wait_learned(count, timeout=30), run.diagnostics()


def _finish(run, pacer: Pacer) -> None:
    pacer.join(30)
    _learned_at_least(run, 2 * N)
    for client in (1, 2):
        assert run.wait_exit("client", client, 20) == 0, run.diagnostics()
    learned = run.assert_correct()
    assert sorted(learned) == sorted(values_for(1, N) + values_for(2, N))


def _restart(run, acceptor: int, *args: str) -> None:
    """Start acceptor ``acceptor`` again and wait for its *new* start record (the log of
    its earlier life is renamed ``acceptor<id>.<n>.jsonl`` when the new one opens)."""
    lives = len(list(run.logs.glob(f"acceptor{acceptor}.*.jsonl")))
    run.start("acceptor", acceptor, ready=False, args=args)
    renamed = run.wait_until(
        lambda: len(list(run.logs.glob(f"acceptor{acceptor}.*.jsonl"))) > lives, 15)
    assert renamed, run.diagnostics()
    run.wait_ready("acceptor", acceptor)


def _recovered(run, acceptor: int) -> int:
    for line in (run.logs / f"acceptor{acceptor}.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("event") == "start":
            return record["storage"]["recovered"]
    raise AssertionError(f"acceptor {acceptor} wrote no start record")


def test_acceptor_killed_and_restarted_with_storage_then_another_killed(course, tmp_path):
    run = course({"storage": tmp_path / "state"})
    pacer = _start(run)
    _learned_at_least(run, 200)
    run.send_signal("acceptor", 1, signal.SIGKILL)
    _restart(run, 1)  # same id, same storage: it recovers its promises and votes
    assert _recovered(run, 1) > 0
    _learned_at_least(run, 600)
    run.send_signal("acceptor", 2, signal.SIGKILL)  # 1 (restarted) and 3 are a quorum
    _finish(run, pacer)


def test_two_acceptors_killed_then_both_restarted(course, tmp_path):
    run = course({"storage": tmp_path / "state"})
    pacer = _start(run)
    _learned_at_least(run, 200)
    run.send_signal("acceptor", 2, signal.SIGKILL)
    run.send_signal("acceptor", 3, signal.SIGKILL)
    time.sleep(0.5)
    stalled = len(run.learned(1))
    time.sleep(0.5)
    assert len(run.learned(1)) == stalled, "progress without a majority of acceptors"
    _restart(run, 2)
    _restart(run, 3)
    assert _recovered(run, 2) > 0 and _recovered(run, 3) > 0
    _finish(run, pacer)


def test_acceptor_restarted_without_storage_refuses_to_vote_and_says_how(course):
    run = course()
    pacer = _start(run)
    _learned_at_least(run, 200)
    run.send_signal("acceptor", 3, signal.SIGKILL)
    run.start("acceptor", 3, ready=False)  # no storage, no --fresh: it may have forgotten
    status = run.wait_exit("acceptor", 3, 10)
    err = run.stderr("acceptor", 3)
    assert status == 2, f"exit status {status}\n{err}\n{run.diagnostics()}"
    assert "may have forgotten promises" in err and "--storage" in err and "--fresh" in err
    counters = next(json.loads(line)["counters"] for line in
                    (run.logs / "acceptor3.jsonl").read_text().splitlines()
                    if '"event":"counters"' in line)
    votes = {"PHASE1B", "PHASE2B", "NACK"} & set(counters["sent"])
    assert counters["notes"] == {"amnesia": 1} and not votes, counters
    _finish(run, pacer)  # acceptors 1 and 2 carry on


def test_fresh_acceptor_without_storage_joins_a_running_cluster(course):
    run = course()
    run.start_cluster(acceptors=(1, 2))
    run.start("client", 1, stdin="pipe")
    run.start("client", 2, stdin="pipe")
    pacer = Pacer(run)
    pacer.start()
    _learned_at_least(run, 200)
    run.start("acceptor", 3, args=["--fresh"])  # asserts: acceptor 3 never ran
    _learned_at_least(run, 400)
    run.send_signal("acceptor", 1, signal.SIGKILL)  # now 2 and 3 must carry on
    _finish(run, pacer)
    assert run.wait_exit("acceptor", 3, 0) is None


def test_unusable_storage_directory_stops_the_acceptor_with_a_clear_error(course, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    run = course({"storage": tmp_path / "file"})
    run.start("acceptor", 1, ready=False)
    assert run.wait_exit("acceptor", 1, 15) == 1
    err = run.stderr("acceptor", 1)
    assert "cannot create the storage directory" in err and "never sends" in err, err
