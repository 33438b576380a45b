"""The acceptor runtime with storage: one fsync per turn, replies only once durable."""

from __future__ import annotations

import os
import random

import pytest
from roles_helper import batch

from paxos_edu.config import Config
from paxos_edu.messages import Group, Phase1A, Phase2A
from paxos_edu.roles import make_role
from paxos_edu.rounds import make_round
from paxos_edu.runtime import Runtime
from paxos_edu.storage import AcceptorStorage, StorageError, read_entries
from paxos_edu.transport import free_multicast_addresses

pytestmark = pytest.mark.integration
R1 = make_round(1, 1)


class _FakeTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[Group, bytes]] = []

    def send(self, group: Group, data: bytes) -> bool:
        self.sent.append((group, data))
        return True


def _acceptor_runtime(tmp_path) -> Runtime:
    config = Config(free_multicast_addresses(), storage=str(tmp_path))
    rt = Runtime("acceptor", 1, config, handle_signals=False)
    rt.role = make_role("acceptor", 1, config, rng=random.Random(1), durable=True)
    rt.storage = AcceptorStorage(tmp_path, 1)
    rt._held = []
    rt.transport = _FakeTransport()  # type: ignore[assignment]
    return rt


def _turn(rt: Runtime, messages) -> None:
    for msg in messages:
        rt._apply(rt.role.handle(msg, 0.0))


def test_a_turn_of_many_votes_costs_one_fsync_and_replies_only_after_it(tmp_path):
    rt = _acceptor_runtime(tmp_path)
    fsyncs = rt.storage.fsyncs
    _turn(rt, [Phase1A(R1, 0, True)] + [Phase2A(R1, i, batch(f"v{i}", first_seq=i))
                                         for i in range(50)])
    assert rt.transport.sent == []  # held: nothing is on disk yet
    assert read_entries(rt.storage.path).entries == []
    rt._commit()
    assert rt.storage.fsyncs == fsyncs + 1 and rt.storage.commits == 1
    assert len(rt.transport.sent) == 51 and len(read_entries(rt.storage.path).entries) == 51
    assert rt.storage.counters()["commits"] == 1


def test_a_failed_fsync_sends_nothing_of_that_turn(tmp_path, monkeypatch):
    rt = _acceptor_runtime(tmp_path)
    _turn(rt, [Phase1A(R1, 0, True), Phase2A(R1, 0, batch("a"))])

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError, match="ENOSPC"):
        rt._commit()
    assert rt.transport.sent == []


def test_the_acceptor_recovers_what_an_earlier_life_committed(tmp_path):
    first = _acceptor_runtime(tmp_path)
    _turn(first, [Phase1A(R1, 0, True), Phase2A(R1, 3, batch("a"))])
    first._commit()
    first.storage.close()
    second = Runtime("acceptor", 1, first.config, handle_signals=False)
    second.storage = AcceptorStorage(tmp_path, 1)
    second.role = first.role.__class__(1, durable=True)
    second.role.restore(second.storage.recovery.entries)
    assert second.role.rnd == R1 and second.role.slots[3].v_val == batch("a")
