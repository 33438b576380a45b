"""Acceptor ids outside 1..acceptor_count (issue 16 item 1): such an acceptor is refused
at start, and its votes (1B, 2B) never count towards a quorum -- otherwise acceptors 4
and 5 would be "two of three" and meet no majority of acceptors 1..3."""

from __future__ import annotations

import io
import random

import pytest
from roles_helper import FixedRandom, Harness, batch, note, unchecked_effects_fail  # noqa: F401
from test_proposer import classic_leader, heartbeat, new, promise, take_over, to_acceptors

from paxos_edu.config import default_config, settings_from
from paxos_edu.effects import Deliver
from paxos_edu.errors import SettingError, UsageError
from paxos_edu.messages import Phase1A, Phase2A, Phase2B, Submit
from paxos_edu.quorum import is_voter
from paxos_edu.roles import Learner, Ledger, Status, check_acceptor_id, make_role
from paxos_edu.rounds import make_round
from paxos_edu.runtime import Runtime
from paxos_edu.sim import Simulation

R1 = make_round(1, 1)
A, B = batch("a"), batch("b", client=2)


def test_only_ids_1_to_acceptor_count_are_voters():
    assert [is_voter(i, 3) for i in (-1, 0, 1, 2, 3, 4, 65535)] == [False, False, True, True,
                                                                     True, False, False]


def test_ledger_ignores_and_counts_2b_from_outside_the_acceptors():
    ledger = Ledger(3)
    assert ledger.vote(4, R1, 0, A) is False
    assert ledger.vote(5, R1, 0, A) is False
    assert ledger.vote(0, R1, 0, A) is False
    assert not ledger.is_decided(0) and ledger.votes == {} and ledger.highest == -1
    assert ledger.ignored_votes == 3
    assert ledger.vote(1, R1, 0, B) is False
    assert ledger.vote(2, R1, 0, B) is True  # acceptors 1 and 2: a quorum
    assert ledger.decided[0] == B


def test_forged_2b_from_acceptors_4_and_5_cannot_decide_at_a_learner():
    r = Harness(Learner(1, acceptor_count=3, timeout=0.1, rng=FixedRandom(0.5)))
    r.feed(Phase2B(4, R1, 0, A), Phase2B(5, R1, 0, A), now=0.01).expect_nothing()
    assert r.role.ledger.ignored_votes == 2
    r.feed(Phase2B(1, R1, 0, B), Phase2B(3, R1, 0, B), now=0.02)
    r.expect_only(*[Deliver(s, 0) for s in B])


def test_multi_paxos_promises_from_outside_the_acceptors_do_not_make_a_leader():
    r = new(1)
    rnd = take_over(r, 0.01)
    r.feed(promise(4, rnd), promise(5, rnd), promise(9, rnd), now=0.011).expect_nothing()
    assert r.role.status is Status.PREPARING and r.role.ignored_promises == 3
    r.feed(promise(1, rnd), now=0.012).expect_nothing()  # one real promise is not a quorum
    r.feed(promise(2, rnd), now=0.013).expect_only(note("leader"), heartbeat(1, rnd))
    assert r.role.status is Status.LEADING


def test_classic_promises_from_outside_the_acceptors_are_not_counted():
    r = new(1, mode="classic")
    rnd = classic_leader(r)
    r.feed(Submit(A), now=0.02).expect_only(to_acceptors(Phase1A(rnd, 0, False)))
    r.feed(promise(4, rnd, instance=0, upto=1), promise(5, rnd, instance=0, upto=1),
           now=0.021).expect_nothing()
    assert r.role.ignored_promises == 2
    r.feed(promise(1, rnd, instance=0, upto=1), promise(2, rnd, instance=0, upto=1), now=0.022)
    r.expect_only(to_acceptors(Phase2A(rnd, 0, A)))


def test_the_proposers_ledger_ignores_2b_from_outside_the_acceptors():
    r = new(1)
    r.feed(Phase2B(4, R1, 0, A), Phase2B(5, R1, 0, A), now=0.01).expect_nothing()
    assert r.role.ledger.ignored_votes == 2 and not r.role.ledger.is_decided(0)


@pytest.mark.parametrize("id", [0, 4, 5])
def test_the_role_factory_refuses_an_acceptor_outside_1_to_acceptor_count(id):
    settings = settings_from("test", acceptor_count=3)
    with pytest.raises(SettingError, match=f"acceptor {id}: .*acceptor_count 3"):
        make_role("acceptor", id, settings, rng=random.Random(1))
    for ok in (1, 3):
        assert make_role("acceptor", ok, settings, rng=random.Random(1)).id == ok


def test_the_message_names_the_config_file_and_the_fix():
    config = default_config().replace(path="course/paxos.conf")
    with pytest.raises(SettingError) as info:
        check_acceptor_id(4, config)
    text = str(info.value)
    assert "acceptor 4" in text and "acceptor_count 3 in course/paxos.conf" in text
    assert "set 'acceptor_count N' in course/paxos.conf" in text and "'acceptor_count 5'" in text


def test_the_runtime_refuses_an_acceptor_outside_the_range_before_opening_anything(tmp_path):
    with pytest.raises(SettingError, match="acceptor 4"):
        Runtime("acceptor", 4, default_config(), log_dir=tmp_path, stdin=None,
                handle_signals=False)
    assert list(tmp_path.iterdir()) == []  # no event log, no socket


def test_the_runtime_counters_report_ignored_votes():
    rt = Runtime("learner", 1, default_config(), log_dir=None, stdin=None,
                 stdout=io.BytesIO(), handle_signals=False)
    rt.role = make_role("learner", 1, rt.config, rng=random.Random(1))
    rt.role.handle(Phase2B(7, R1, 0, A), 0.0)
    assert rt.counters_dict()["ignored_votes"] == {"PHASE2B": 1}


def test_the_simulator_builds_acceptors_through_the_same_check():
    sim = Simulation(acceptors=3, seed=1)
    with pytest.raises(UsageError, match="acceptor"):
        sim.start("acceptor", 4)
    assert all(sim.process("learner", i).ledger.acceptor_count == 3 for i in (1, 2))
    sim.submit(1, ["x"])
    result = sim.run(until=5)
    assert result.check().ok


def test_in_the_simulator_forged_votes_of_acceptors_4_and_5_decide_nothing():
    """Every learner and proposer of a running simulation hears 2B of acceptors 4 and 5
    for a value nobody proposed: it is never delivered, and the real values still are."""
    sim = Simulation(acceptors=3, proposers=2, learners=2, clients=1, seed=4)
    forged = batch("forged", client=99)
    for role, i in [("learner", 1), ("learner", 2), ("proposer", 1), ("proposer", 2)]:
        for acceptor in (4, 5):
            for rnd in (R1, make_round(5, 2)):
                sim.process(role, i).handle(Phase2B(acceptor, rnd, 0, forged), 0.0)
    sim.submit(1, ["a", "b", "c"])
    result = sim.run(until=10)
    assert result.check().ok
    for i in (1, 2):
        assert [s.value for s in sim.delivered[i]] == ["a", "b", "c"]
        assert sim.process("learner", i).ledger.ignored_votes == 4
