"""The retry jitter every role shares: ``delay * (1 + 0.25 * U)``, one draw per wait."""

from __future__ import annotations

import random

import pytest
from roles_helper import FixedRandom

from paxos_edu.roles.client import Client
from paxos_edu.roles.jitter import JITTER, jittered
from paxos_edu.roles.ledger import CatchUpRequester, Ledger
from paxos_edu.roles.proposer import Proposer


def test_jitter_stretches_a_wait_by_a_quarter_of_the_draw():
    assert jittered(0.1, FixedRandom(0.0)) == 0.1
    assert jittered(0.1, FixedRandom(0.5)) == pytest.approx(0.1125)
    assert jittered(0.2, FixedRandom(0.999)) == pytest.approx(0.2 * (1 + JITTER * 0.999))


def test_jitter_draws_exactly_once_from_the_injected_random():
    rng, twin = random.Random(7), random.Random(7)
    waits = [jittered(1.0, rng) for _ in range(1000)]
    assert waits == [1.0 * (1.0 + 0.25 * twin.random()) for _ in range(1000)]
    assert all(1.0 <= w < 1.25 for w in waits) and max(waits) > 1.2 and min(waits) < 1.05


def test_every_role_waits_the_shared_jitter():
    """Client retry, catch-up request and proposer start-up wait all use ``jittered``."""
    client = Client(1, timeout=0.2, rng=FixedRandom(0.5))
    client.submit(["v"], now=1.0)
    assert client.deadline() == pytest.approx(1.0 + 0.2 * 1.125)
    asker = CatchUpRequester(1, 0.2, FixedRandom(0.5))
    ledger = Ledger(3)
    ledger.heard_of(4)
    asker.update(ledger, now=1.0)
    assert asker.due == pytest.approx(1.0 + 0.2 * 1.125)
    assert Proposer(2, timeout=0.2, rng=FixedRandom(0.5)).patience == pytest.approx(
        0.2 * 0.55 * 1.125)
