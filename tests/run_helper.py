"""Runs for the tests: run directories as real processes leave them (written through the
EventLog), hand-made ``Run.messages`` tables, and a lab bench on another's groups."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from paxos_edu import cluster as cluster_module
from paxos_edu import experiments
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Submission
from paxos_edu.processes import parse_process_name
from paxos_edu.rounds import make_round
from paxos_edu.sim import Simulation


def subs(n: int, client: int = 1, session: int = 7) -> list[Submission]:
    return [Submission(client, session, seq, f'v{client}.{seq} "q" é') for seq in range(n)]


def clock_from(times):
    it = iter(times)
    return lambda: next(it)


def write_run(
    run: Path,
    proposed: list[Submission],
    learned: dict[int, list[Submission]],
    *,
    crashed: tuple[int, ...] = (),
    submit_times: dict[int, list[float]] | None = None,
    deliver_times: dict[int, list[float]] | None = None,
) -> Path:
    """A run directory as real processes would leave it (learners in ``crashed`` never
    write ``stop``). Times: start, one per value, stop (when given)."""
    for cid in sorted({s.client for s in proposed}):
        mine = [s for s in proposed if s.client == cid]
        times = (submit_times or {}).get(cid)
        clock = clock_from([times[0] - 1, *times, times[-1] + 1]) if times else time.time
        with EventLog(run, "client", cid, clock=clock) as log:
            log.start(session=mine[0].session)
            for sub in mine:
                log.submitted(sub)
            log.stop()
    for lid, seq in learned.items():
        times = (deliver_times or {}).get(lid)
        clock = clock_from([times[0] - 1, *times, times[-1] + 1]) if times else time.time
        log = EventLog(run, "learner", lid, clock=clock)
        log.start()
        for pos, sub in enumerate(seq):
            log.delivered(sub, instance=pos // 2, position=pos)
        if lid not in crashed:
            log.stop()
        log.close()
    return run


def course_dir(tmp_path: Path, props: dict[int, str], learns: dict[int, str]) -> Path:
    for cid, text in props.items():
        (tmp_path / f"prop{cid}").write_text(text, encoding="utf-8")
    for lid, text in learns.items():
        (tmp_path / f"learn{lid}").write_text(text, encoding="utf-8")
    return tmp_path


def real_messages(rows):
    """A Run.messages-like table from rows of
    (time, process, direction, kind, instance, round, group[, reason[, sender, send_seq]])
    -- on a send, ``sender`` is None and ``send_seq`` the number it gave the datagram."""
    recs = []
    for row in rows:
        t, proc, direction, kind, inst, rnd, group, *rest = row
        reason, sender, send_seq = (list(rest) + [None, None, None])[:3]
        role, pid = parse_process_name(proc)
        recs.append(
            dict(
                time=t,
                process=proc,
                role=role,
                id=pid,
                direction=direction,
                kind=kind,
                instance=inst,
                round=rnd,
                group=group,
                size=40,
                reason=reason,
                sender=proc if direction == "sent" else sender,
                send_seq=send_seq,
            )
        )
    df = pd.DataFrame(recs)
    for column in ("instance", "round", "send_seq"):
        df[column] = df[column].astype("Int64")
    return df


R = make_round(1, 1)
"""The round of the hand-made tables below (round 1 of proposer 1)."""
# A real run's messages: a prepare, two promises (acceptor 2's arrives first), a drop, a
# receipt nobody logged sending, a datagram that did not decode. Receipts name their send.
REAL = real_messages([
    (0.000, "proposer1", "sent", "PHASE1A", 0, R, "acceptors", None, None, 1),
    (0.001, "acceptor1", "received", "PHASE1A", 0, R, "acceptors", None, "proposer1", 1),
    (0.001, "acceptor2", "received", "PHASE1A", 0, R, "acceptors", None, "proposer1", 1),
    (0.001, "acceptor3", "dropped", "PHASE1A", None, None, "acceptors", "loss", "proposer1", 1),
    (0.002, "acceptor1", "sent", "PHASE1B", 0, R, "proposers", None, None, 1),
    (0.002, "acceptor2", "sent", "PHASE1B", 0, R, "proposers", None, None, 1),
    (0.003, "proposer1", "received", "PHASE1B", 0, R, "proposers", None, "acceptor2", 1),
    (0.003, "proposer1", "received", "PHASE1B", 0, R, "proposers", None, "acceptor1", 1),
    (0.500, "learner1", "received", "PHASE2B", 0, R, "learners", None, "acceptor1", 7),
    (0.600, "learner1", "dropped", None, None, None, "learners", "decode"),
])  # fmt: skip


def small_sim_result():
    """Two clients, one value each, no loss: every copy delivered (a SimResult)."""
    sim = Simulation(seed=1)
    sim.submit(1, ["a"])
    sim.submit(2, ["b"])
    return sim.run(5)


def lossy_experiment():
    """A simulated experiment with 20 % loss (an ExperimentResult)."""
    return experiments.run_experiment(dict(backend="sim", loss=0.2, values=5, seed=3))


def cluster_on_groups_of(other: Any, **kwargs: Any) -> Any:
    """A new (not started) :class:`~paxos_edu.cluster.Cluster` built with ``kwargs`` on the
    very groups and ports of the cluster ``other`` -- two classes sharing a network.

    Cluster has no parameter for its addresses (each one picks free ones, so that
    concurrent clusters never hear each other): the module's address picker is replaced
    while this one is built.
    """
    original = cluster_module.free_multicast_addresses
    cluster_module.free_multicast_addresses = lambda *a, **k: dict(other.config.addresses)
    try:
        made = cluster_module.Cluster(**kwargs)
    finally:
        cluster_module.free_multicast_addresses = original
    assert made.config.addresses == other.config.addresses, (
        "Cluster no longer picks its addresses through paxos_edu.cluster."
        "free_multicast_addresses: update cluster_on_groups_of")
    return made
