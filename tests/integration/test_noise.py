"""Noise without a secret: mutated copies of real traffic, exact replays and random bytes at
2000 datagrams/s on every group while 2 clients x 1000 values run. The checksum turns every
damaged datagram into a counted decode error, so every guarantee holds: each value learned
exactly once by every learner, in one order, no process dies. Loopback only, TTL 0."""

from __future__ import annotations

import time

import pytest

from paxos_edu.cluster import Cluster
from paxos_edu.hostile import Recorder, Sprayer
from paxos_edu.messages import Group

NOISE = {"random": 0.3, "mutated": 0.5, "replay": 0.2}
"""Accidents and replays; no forgery (a well-formed datagram with a correct checksum)."""
VALUES = 1000


def _decode_errors(run) -> dict[str, int]:
    """Decode errors of every process added up, by reason."""
    counters = run.counters
    columns = [c for c in counters.columns if c.startswith("decode_errors.")]
    return {c.split(".", 1)[1]: int(counters[c].fillna(0).sum()) for c in columns}


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_noise_without_secret_breaks_no_guarantee(tmp_path):
    values = {client: [f"c{client}-v{i}" for i in range(VALUES)] for client in (1, 2)}
    with Cluster(seed=41, log_dir=tmp_path / "run", timeout=0.05) as c:
        with Recorder(c.config.addresses, limit=400, seed=3) as rec:
            for client in (1, 2):
                c.submit(client, values[client][:100])
            c.wait(timeout=20)
        samples = rec.samples
        with Sprayer(c.config.addresses, rate=2000, seconds=6.0, seed=42, samples=samples,
                     mix=NOISE) as sprayer:
            for step in range(9):  # the other 900 values of each client, during the spray
                for client in (1, 2):
                    c.submit(client, values[client][100 + 100 * step : 200 + 100 * step])
                time.sleep(0.5)
            c.wait(timeout=30)
        stats = sprayer.join(15)
        assert c.processes["alive"].all(), c.processes.to_string()
        c.stop()
        assert (c.processes["returncode"] == 0).all(), c.processes.to_string()
    assert stats.rate >= 1500 and stats.sent >= 8000, str(stats)
    assert all(stats.by_group[g.role] > 0 for g in Group), str(stats)
    assert stats.by_kind["mutated"] > 0 and stats.by_kind["replay"] > 0
    run = c.run
    report = run.check()
    assert report.ok, str(report)
    learned = run.learned
    for learner, rows in learned.groupby("learner"):
        assert len(rows) == 2 * VALUES, f"learner {learner} learned {len(rows)}"
        assert rows["value"].is_unique, f"learner {learner} learned a value twice"
        assert set(rows["value"]) == set(values[1]) | set(values[2])
    by_learner = learned.groupby("learner")
    sequences = [list(rows.sort_values("position")["value"]) for _, rows in by_learner]
    assert all(seq == sequences[0] for seq in sequences)
    errors = _decode_errors(run)
    assert errors.get("checksum", 0) > 0, errors
    print(f"noise run: {stats}; learned {len(learned)} values; decode errors {errors}")
