"""Absurd but well-formed fields: a round near the 63-bit limit, an instance number of 10**18,
a heartbeat claiming 10**18 decisions. Without a secret such a datagram decodes (a broken
neighbour, a forger); each role must do bounded work and keep serving real traffic."""

from __future__ import annotations

import time

from paxos_edu.effects import Deliver, Send
from paxos_edu.messages import (
    END,
    Accepted,
    CatchUp,
    Decision,
    Heartbeat,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
    Submission,
    Submit,
)
from paxos_edu.roles import Acceptor, Learner, Proposer
from paxos_edu.rounds import (
    MAX_COUNTER,
    ROUND_HORIZON,
    make_round,
    plausible_round,
    round_counter,
)

HUGE = 10**18
NEAR_LIMIT = END - 5  # a round whose counter is MAX_COUNTER
HIGH = make_round(MAX_COUNTER - 2, 9)  # still encodable, far above any real election
SUB = Submission(1, 1, 1, "x")


def _sent(effects, cls):
    return [e.message for e in effects if isinstance(e, Send) and isinstance(e.message, cls)]


def _leader(acceptors=(1, 2)) -> tuple[Proposer, float]:
    """Proposer 1 after winning phase 1 at time 10."""
    proposer = Proposer(1, now=0.0)
    proposer.handle(Submit((SUB,)), 0.0)
    proposer.tick(10.0)
    for acceptor in acceptors:
        proposer.handle(Phase1B(acceptor, proposer.c_rnd, 0, END, ()), 10.0)
    return proposer, 10.0


# ---------------------------------------------------------------------- rounds


def test_acceptor_does_not_promise_a_round_no_proposer_could_ever_beat():
    acceptor = Acceptor(1)
    for forged in (NEAR_LIMIT, HIGH):
        assert acceptor.handle(Phase1A(forged, 0, True), 0.0) == []
        assert acceptor.handle(Phase2A(forged, 0, (SUB,)), 0.0) == []
    real = make_round(1, 1)
    assert _sent(acceptor.handle(Phase1A(real, 0, True), 0.0), Phase1B)
    assert _sent(acceptor.handle(Phase2A(real, 0, (SUB,)), 0.0), Phase2B)


def test_acceptor_still_follows_ordinary_round_growth():
    acceptor = Acceptor(1)
    acceptor.handle(Phase1A(make_round(3, 1), 0, True), 0.0)
    later = make_round(1000, 2)  # many elections later
    assert _sent(acceptor.handle(Phase1A(later, 0, True), 0.0), Phase1B)


def test_leader_ignores_heartbeats_and_nacks_with_absurd_rounds():
    proposer, now = _leader()
    rnd = proposer.c_rnd
    for forged in (NEAR_LIMIT, HIGH):
        proposer.handle(Heartbeat(2, forged, 0), now)
        proposer.handle(Nack(1, rnd, 0, forged), now)
    assert proposer.status.value == "leading" and proposer.c_rnd == rnd
    assert round_counter(proposer.highest_seen) < 100


def test_follower_does_not_adopt_an_absurd_round_for_its_next_election():
    proposer = Proposer(2, now=0.0)
    proposer.handle(Heartbeat(3, HIGH, 0), 0.0)
    proposer.handle(Submit((SUB,)), 0.0)
    effects = proposer.tick(100.0)
    (prepare,) = _sent(effects, Phase1A)
    assert round_counter(prepare.rnd) < 100


# ---------------------------------------------------------------------- instance numbers


def test_learner_with_a_vote_for_instance_huge_still_delivers_and_asks_boundedly():
    learner = Learner(1, acceptor_count=3, timeout=0.1)
    for acceptor in (1, 2):
        learner.handle(Phase2B(acceptor, 5, HUGE, (Submission(9, 9, 9, "forged"),)), 0.0)
    effects = []
    for acceptor in (1, 2):
        effects += learner.handle(Phase2B(acceptor, 5, 0, (SUB,)), 0.1)
    assert [e.submission for e in effects if isinstance(e, Deliver)] == [SUB]
    asks = sum(len(learner.tick(t / 10)) for t in range(2, 102))  # 10 s of ticks
    assert asks <= 100  # at most one catch-up request per timeout


def test_heartbeat_claiming_huge_decisions_does_not_wedge_the_learner():
    learner = Learner(1, acceptor_count=3, timeout=0.1)
    learner.handle(Heartbeat(2, 0, HUGE), 0.0)
    effects = []
    for acceptor in (1, 2):
        effects += learner.handle(Phase2B(acceptor, 5, 0, (SUB,)), 0.1)
    assert any(isinstance(e, Deliver) for e in effects)


def test_new_leader_after_a_huge_heartbeat_proposes_at_the_next_real_instance():
    proposer = Proposer(1, now=0.0)
    proposer.handle(Heartbeat(2, 0, HUGE), 0.0)  # forged: "decided up to 10**18"
    proposer.handle(Submit((SUB,)), 0.0)
    proposer.tick(10.0)
    started = time.monotonic()
    effects = []
    for acceptor in (1, 2):
        effects += proposer.handle(Phase1B(acceptor, proposer.c_rnd, 0, END, ()), 10.0)
    assert time.monotonic() - started < 5.0  # not a walk to 10**18
    accepts = _sent(effects, Phase2A)
    assert [(m.instance, m.value) for m in accepts] == [(0, (SUB,))]


def test_new_leader_after_a_decided_instance_huge_proposes_at_the_next_real_instance():
    proposer = Proposer(1, now=0.0)
    forged = (Submission(9, 9, 9, "forged"),)
    for acceptor in (1, 2):  # a quorum of (forged) votes decides instance 10**18
        proposer.handle(Phase2B(acceptor, 5, HUGE, forged), 0.0)
    proposer.handle(Submit((SUB,)), 0.0)
    proposer.tick(10.0)
    effects = []
    for acceptor in (1, 2):  # and the acceptors report that vote in phase 1
        report = (Accepted(HUGE, 5, forged),)
        effects += proposer.handle(Phase1B(acceptor, proposer.c_rnd, 0, END, report), 10.0)
    accepts = _sent(effects, Phase2A)
    assert [(m.instance, m.value) for m in accepts] == [(0, (SUB,))]
    assert len(proposer.slots) == 1


def test_leader_answers_a_catch_up_for_instance_huge_with_bounded_work():
    proposer, now = _leader()
    started = time.monotonic()
    effects = proposer.handle(CatchUp(2, HUGE), now + 1)
    assert time.monotonic() - started < 5.0  # not a walk to 10**18
    assert not _sent(effects, Decision)


def test_plausible_round_allows_ordinary_growth_and_refuses_jumps_and_the_last_counter():
    known = make_round(7, 1)
    assert plausible_round(make_round(8, 2), known)
    assert plausible_round(make_round(7 + ROUND_HORIZON, 2), known)
    assert not plausible_round(make_round(8 + ROUND_HORIZON, 2), known)
    assert not plausible_round(make_round(MAX_COUNTER, 2), make_round(MAX_COUNTER - 1, 1))
