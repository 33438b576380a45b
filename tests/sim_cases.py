"""Whole simulated runs as plain data, for property tests and regressions.

A *case* is a JSON-friendly dict that fixes one faulty run of the simulator exactly::

    {"seed": 154, "acceptors": 3, "proposers": 2, "learners": 2, "clients": 2,
     "mode": "classic", "loss": 0.41, "duplicate": 0.09, "delay": [0.0001, 0.002],
     "batch": 4, "window": 4,
     "submissions": [[client, at, ["v1", "v2"]], ...],   # in this order
     "crashes": [["acceptor", 2, 2.98], ["proposer", 2, 1.48]],
     "starts": [["learner", 3, 4.1]],                     # processes started late
     "storage": true,                                     # acceptors keep state on disk
     "restarts": [["acceptor", 1, 0.7]],                  # crash and restart at once
     "network": [[10.0, {"loss": 0.0, "duplicate": 0.0}]],  # the network heals at 10 s
     "until": 200.0}

:func:`build` schedules everything in that order (the order fixes ties between equal
times), so a case replays the same run for ever -- as long as the roles behave the same.
A failing generated case is printed as JSON: save it under ``tests/regressions/``.
"""

from __future__ import annotations

import json
from typing import Any

from paxos_edu.checks import CheckReport
from paxos_edu.sim import SimResult, Simulation


def build(case: dict[str, Any]) -> Simulation:
    """A simulation with everything the case schedules, not yet run."""
    sim = Simulation(
        acceptors=case["acceptors"], proposers=case["proposers"],
        learners=case["learners"], clients=case["clients"], seed=case["seed"],
        loss=case["loss"], duplicate=case["duplicate"], delay=tuple(case["delay"]),
        mode=case["mode"], batch=case["batch"], window=case["window"],
        trace=case.get("trace", False), storage=case.get("storage", False))
    for client, at, values in case["submissions"]:
        sim.submit(client, values, at=at)
    for role, pid, at in case["crashes"]:
        sim.crash(role, pid, at=at)
    for role, pid, at in case["starts"]:
        sim.start(role, pid, at=at)
    for role, pid, at in case.get("restarts", []):
        sim.restart(role, pid, at=at)
    for at, change in case["network"]:
        sim.set_network(at=at, **change)
    return sim


def run(case: dict[str, Any]) -> SimResult:
    """Run the case to its ``until`` (or until every live learner has every value)."""
    return build(case).run(until=case["until"])


def check(case: dict[str, Any]) -> tuple[SimResult, CheckReport]:
    """Run the case and check every property, liveness included."""
    result = run(case)
    return result, result.check()


def assert_every_property(case: dict[str, Any]) -> None:
    """Agreement and total order, integrity, validity and -- the network healed, a
    majority of acceptors and one proposer alive -- every value at every live learner."""
    result, report = check(case)
    replay = f"\nreplay this case (save it under tests/regressions/):\n{to_json(case)}"
    assert report.ok, f"{report}{replay}"
    assert result.complete, f"run not complete at t={result.until}{replay}"


def to_json(case: dict[str, Any]) -> str:
    return json.dumps(case, sort_keys=True)
