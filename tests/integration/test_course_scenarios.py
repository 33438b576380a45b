"""The course's scenarios with real processes over loopback multicast, through scripts/*.sh.

Each test checks the course's properties on the ``learn<id>`` and ``prop<id>`` files:
learners' outputs identical (or prefix-related where progress must stop), only proposed
values, every proposed value learned, each exactly once.
"""

from __future__ import annotations

import signal
import time

import pytest
from harness import values_for

pytestmark = pytest.mark.integration


def _two_clients(run, n: int) -> list[str]:
    run.write_values(1, values_for(1, n))
    run.write_values(2, values_for(2, n))
    run.start("client", 1, ready=False)
    run.start("client", 2, ready=False)
    return values_for(1, n) + values_for(2, n)


def _clients_done(run, timeout: float) -> None:
    for c in (1, 2):
        rc = run.wait_exit("client", c, timeout)
        assert rc == 0, f"client {c} exit status {rc}\n{run.diagnostics()}"


@pytest.mark.parametrize(
    "n", [100, 1000, pytest.param(10_000, marks=pytest.mark.slow)]
)
def test_two_clients_everything_learned_in_one_order(course, n):
    run = course()
    run.start_cluster()
    _two_clients(run, n)
    assert run.wait_learned(2 * n, timeout=30), run.diagnostics()
    _clients_done(run, 10)
    learned = run.assert_correct()
    assert sorted(learned) == sorted(values_for(1, n) + values_for(2, n))


def test_two_of_three_acceptors_are_enough(course):
    run = course()
    run.start_cluster(acceptors=(1, 2))
    _two_clients(run, 1000)
    assert run.wait_learned(2000, timeout=30), run.diagnostics()
    _clients_done(run, 10)
    run.assert_correct()


def test_one_of_three_acceptors_learns_nothing(course):
    run = course()
    run.start_cluster(acceptors=(1,))
    _two_clients(run, 100)
    time.sleep(1.5)  # bounded wait: with no majority, nothing may ever be decided
    assert run.learned(1) == [] and run.learned(2) == []
    assert run.wait_exit("client", 1, 0) is None, "a client exited with nothing decided"
    run.assert_correct(complete=False)


@pytest.mark.parametrize("loss", [0.1, 0.3, pytest.param(0.5, marks=pytest.mark.slow)])
def test_message_loss_everything_learned_in_total_order(course, loss):
    run = course({"loss": loss})
    run.start_cluster()
    _two_clients(run, 300)
    assert run.wait_learned(600, timeout=60), run.diagnostics()
    _clients_done(run, 20)
    run.assert_correct()


def _pipe_clients(run) -> None:
    run.start("client", 1, stdin="pipe")
    run.start("client", 2, stdin="pipe")


def _first_half(run, n: int) -> None:
    run.feed(1, values_for(1, n))
    run.feed(2, values_for(2, n))
    assert run.wait_learned(2 * n, timeout=20), run.diagnostics()


def _everything_learned_after_killing(run, role: str, id: int) -> None:
    """Half the values, SIGKILL one process, the other half: all 1200 must be learned."""
    run.start_cluster()
    _pipe_clients(run)
    _first_half(run, 300)
    run.send_signal(role, id, signal.SIGKILL)
    run.feed(1, values_for(1, 300, start=300), close=True)
    run.feed(2, values_for(2, 300, start=300), close=True)
    assert run.wait_learned(1200, timeout=30), run.diagnostics()
    _clients_done(run, 10)
    run.assert_correct()


def test_one_acceptor_killed_mid_run(course):
    _everything_learned_after_killing(course(), "acceptor", 2)


def test_two_acceptors_killed_progress_stops_safely(course):
    run = course()
    run.start_cluster()
    _pipe_clients(run)
    _first_half(run, 100)
    run.send_signal("acceptor", 1, signal.SIGKILL)
    run.send_signal("acceptor", 3, signal.SIGKILL)
    run.feed(1, values_for(1, 100, start=100))
    run.feed(2, values_for(2, 100, start=100))
    time.sleep(1.5)
    for learner in (1, 2):
        assert len(run.learned(learner)) == 200, "progress without a majority of acceptors"
    run.assert_correct(complete=False)


@pytest.mark.parametrize("victim", [1, 2])
def test_either_proposer_killed_mid_run(course, victim):
    _everything_learned_after_killing(course(), "proposer", victim)


def test_late_learner_catches_up_from_the_first_value(course):
    run = course()
    run.start_cluster(proposers=(1,), learners=(1,))
    run.write_values(1, values_for(1, 100))
    run.start("client", 1, ready=False)
    assert run.wait_learned(100, learners=(1,), timeout=20), run.diagnostics()
    assert run.wait_exit("client", 1, 10) == 0
    run.start("learner", 2)
    run.write_values(2, values_for(2, 100))
    run.start("client", 2, ready=False)
    assert run.wait_learned(200, timeout=20), run.diagnostics()
    assert run.wait_exit("client", 2, 10) == 0
    learned = run.assert_correct()
    assert learned[:100] == values_for(1, 100)
    assert sorted(learned[100:]) == sorted(values_for(2, 100))
