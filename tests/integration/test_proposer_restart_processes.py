"""A proposer restarted with the course scripts, in classic mode: it knows it ran before.

A classic-mode proposer prepares an instance only when it has a value for it, so one
restarted with an empty memory would never learn of the instances decided in its earlier
life; a learner started afterwards would wait for them for ever when no other proposer
is left to answer its catch-up. The runtime tells a proposer that ran before on this
machine (a marker, :func:`paxos_edu.storage.ran_before`), and its first take-over then
prepares every instance (:class:`paxos_edu.roles.proposer.Proposer`, ``restarted``).
"""

from __future__ import annotations

import signal

import pytest
from harness import values_for

pytestmark = pytest.mark.integration

N = 20


@pytest.mark.timeout(90)
def test_a_late_learner_learns_what_a_restarted_lone_classic_proposer_decided_before(course):
    run = course({"mode": "classic"})
    run.start_cluster(proposers=(1,), learners=(1,))
    run.start("client", 1, stdin="pipe")
    run.feed(1, values_for(1, N))
    assert run.wait_learned(N, learners=(1,), timeout=20), run.diagnostics()
    run.send_signal("proposer", 1, signal.SIGKILL)
    assert run.wait_exit("proposer", 1, 10) is not None
    run.start("proposer", 1)  # the same id again: its ledger is empty
    run.start("learner", 2)  # late: it asks for the history from instance 0
    # No new value arrives: only the restarted proposer's phase 1 can bring the
    # history back (every decided value has a vote in every quorum).
    assert run.wait_learned(N, learners=(2,), timeout=20), run.diagnostics()
    run.feed(1, values_for(1, 5, N), close=True)
    assert run.wait_learned(N + 5, learners=(1, 2), timeout=20), run.diagnostics()
    run.assert_correct(learners=(1, 2), clients=(1,))
