"""paxos_edu: learn atomic broadcast with Paxos by running it.

The public API, by concept:

* protocol core -- :class:`Simulation` (deterministic, virtual time), the roles
  (:class:`Client`, :class:`Proposer`, :class:`Acceptor`, :class:`Learner`), messages
  and :class:`Codec`, :class:`Config` / :func:`load_config`, deliberate :class:`Bug` s;
* real processes -- :class:`Cluster` (the lab bench), :func:`run_scenario`;
  :func:`paxos_edu.grade.grade` runs the course scenarios against any folder of role
  scripts and :func:`load_grade` reads its report into pandas;
* analysis -- :func:`load_run` -> :class:`Run` (pandas tables, ``check()``, ``metrics()``),
  :func:`check_sequences`, :func:`check_values`; pictures in :mod:`paxos_edu.viz`,
  the interactive :class:`LamportDiagram` (and its offline HTML export) in
  :mod:`paxos_edu.lamport`, widgets in :mod:`paxos_edu.widgets` over the plain functions of
  :mod:`paxos_edu.experiments`; hostile traffic and chaos runs in :mod:`paxos_edu.hostile`
  and :mod:`paxos_edu.chaos`.

Names are imported lazily (PEP 562): a role process started by ``python -m paxos_edu
acceptor ...`` must not pay for pandas or matplotlib, which only the analysis side needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Simulation": "sim",
    "SimResult": "sim",
    "Client": "roles",
    "Proposer": "roles",
    "Acceptor": "roles",
    "Learner": "roles",
    "Codec": "codec",
    "Config": "config",
    "load_config": "config",
    "parse_config": "config",
    "Bug": "bugs",
    "Cluster": "cluster",
    "run_scenario": "scenarios",
    "load_grade": "grade_report",
    "GradeReport": "grade_report",
    "load_run": "runlog",
    "Run": "runlog",
    "check_sequences": "checks",
    "check_values": "checks",
    "CheckReport": "checks",
    "EventLog": "eventlog",
    "find_violation": "explore",
    "LamportDiagram": "lamport",
    "multicast_check": "transport",
    "PaxosEduError": "errors",
    "ConfigError": "errors",
    "DecodeError": "errors",
    "UsageError": "errors",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


_SUBMODULES = {"viz", "widgets", "experiments", "sim", "runlog", "checks", "cluster",
               "scenarios", "explore", "hostile", "chaos", "bugs", "config", "codec", "grade",
               "lamport"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # ``paxos_edu.viz`` works after a bare ``import paxos_edu``
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'paxos_edu' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
