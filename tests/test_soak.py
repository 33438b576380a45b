"""The soak benchmark, small: ``benchmarks/soak.py`` runs 2 x 100 000 values (not in CI);
here 2 x 3000 values with 10 % loss must all be learned once (also by a learner started
at the end), and memory is reported and drawn."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def _load_soak():
    spec = importlib.util.spec_from_file_location("paxos_edu_soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.integration
def test_small_soak_learns_everything_once_and_reports_memory(tmp_path):
    soak = _load_soak()
    result = soak.soak(3000, loss=0.1, seed=3, log_dir=tmp_path / "run", sample_every=0.1,
                       late_learner=True)
    assert result.ok, str(result)
    assert result.delivered == {1: 6000, 2: 6000}
    assert set(result.memory) == {"acceptor1", "acceptor2", "acceptor3", "proposer1",
                                  "proposer2", "learner1", "learner2", "client1", "client2"}
    for name, mem in result.memory.items():
        assert 5 < mem.peak_mb < 500, (name, mem)
        assert mem.at_end_mb is not None and mem.at_fifth_mb is not None
        assert mem.growth is not None
    assert "peak RSS" in str(result) and "growth 20->100%" in str(result)
    # A learner started after everything was ordered delivered all of it, from the first.
    assert result.late_learner_delivered == 6000 and result.late_learner_s is not None
    assert result.series and result.series[-1]["done"] == 6000
    result.figure(tmp_path / "soak.png")
    assert (tmp_path / "soak.png").stat().st_size > 1000
