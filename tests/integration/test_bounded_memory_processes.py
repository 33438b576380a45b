"""Bounded memory with real processes: old votes and decided values leave RAM for the
archive files, and a learner started after the run still delivers everything, in order,
from the first value -- catch-up read back from the leader's history on disk."""

from __future__ import annotations

import pytest

from paxos_edu import Cluster
from paxos_edu.roles.acceptor import TRIM_STEP, VOTES_KEEP
from paxos_edu.roles.proposer import DECIDED_KEEP

pytestmark = pytest.mark.integration

N = 900  # values; batch 1: one instance each, well beyond the 256 kept in RAM


def test_a_late_learner_catches_up_from_the_history_and_ram_holds_a_window(tmp_path):
    with Cluster(acceptors=3, proposers=2, learners=2, clients=1, seed=5, batch=1,
                 log_dir=tmp_path / "run") as cluster:
        cluster.submit(1, [f"v{i}" for i in range(N)])
        cluster.wait(120)
        cluster.start("learner", 3)
        cluster.wait(120)  # every live learner, the late one included, has all N
    run = cluster.run
    report = run.check()
    assert report.ok, str(report)
    late = run.learned[run.learned["learner"] == 3]
    assert list(late["value"]) == [f"v{i}" for i in range(N)]
    counters = run.counters.set_index("process")
    for acceptor in ("acceptor1", "acceptor2", "acceptor3"):
        assert counters.loc[acceptor, "archive.on_disk"] > 0
        assert counters.loc[acceptor, "archive.in_ram"] <= VOTES_KEEP + TRIM_STEP + 1
    leader_disk = max(counters.loc[p, "archive.on_disk"] for p in ("proposer1", "proposer2"))
    assert leader_disk >= N - DECIDED_KEEP - 64  # decided instances below the prefix
    for proposer in ("proposer1", "proposer2"):
        assert counters.loc[proposer, "archive.in_ram"] <= DECIDED_KEEP + 64
