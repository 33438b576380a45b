"""Every failing run or schedule ever found, replayed (see tests/regressions/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sim_cases import assert_every_property

from paxos_edu.explore import Setup, run_schedule

CASES = sorted((Path(__file__).parent / "regressions").glob("*.json"))


def test_there_are_regression_cases():
    assert len(CASES) >= 2


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_regression_case_keeps_every_property(path):
    entry = json.loads(path.read_text())
    if entry["kind"] == "run":
        assert_every_property(entry["case"])
    elif entry["kind"] == "schedule":
        outcome = run_schedule(Setup.from_dict(entry["setup"]), entry["schedule"])
        assert outcome.report.ok, f"{outcome.report}\n" + "\n".join(outcome.labels)
        assert len(outcome.labels) == len(entry["schedule"])
    else:
        pytest.fail(f"{path.name}: unknown kind {entry['kind']!r}")
