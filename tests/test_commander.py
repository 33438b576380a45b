"""The Commander: one instance driven to a decision (phase 2; classic mode: phase 1 first)."""

from __future__ import annotations

from roles_helper import batch

from paxos_edu.effects import Send
from paxos_edu.messages import Accepted, Group, Phase1A, Phase1B, Phase2A
from paxos_edu.roles.commander import Commander
from paxos_edu.rounds import make_round

RND = make_round(3, 1)
MINE, X, Y = batch("mine"), batch("x", client=7), batch("y", client=8)


def promise(acceptor: int, *accepted: Accepted) -> Phase1B:
    return Phase1B(acceptor, RND, 4, 5, accepted)


def test_commander_sends_the_accept_request_for_its_instance():
    c = Commander(4, RND, MINE, phase=2, due=1.0)
    assert c.message() == Send(Group.ACCEPTORS, Phase2A(RND, 4, MINE))
    assert c.message() == c.message()  # sent again, unchanged, until decided


def test_classic_commander_prepares_its_own_instance_first():
    c = Commander(4, RND, MINE, phase=1, due=1.0)
    assert c.message() == Send(Group.ACCEPTORS, Phase1A(RND, 4, False))


def test_classic_commander_needs_a_quorum_of_distinct_promises():
    c = Commander(4, RND, MINE, phase=1, due=1.0)
    assert not c.on_promise(promise(1), quorum=2)
    assert not c.on_promise(promise(1), quorum=2)  # the same acceptor again
    assert c.on_promise(promise(3), quorum=2)


def test_classic_commander_reports_the_value_of_the_highest_round_promised():
    c = Commander(4, RND, MINE, phase=1, due=1.0)
    c.on_promise(promise(1, Accepted(4, make_round(1, 2), X)), quorum=3)
    c.on_promise(promise(2), quorum=3)
    assert c.reported_value() == X
    c.on_promise(promise(3, Accepted(4, make_round(2, 3), Y)), quorum=3)
    assert c.reported_value() == Y


def test_classic_commander_reports_nothing_when_no_promise_carried_a_vote():
    c = Commander(4, RND, MINE, phase=1, due=1.0)
    c.on_promise(promise(1), quorum=2)
    c.on_promise(promise(2), quorum=2)
    assert c.reported_value() is None


def test_classic_commander_counts_only_the_vote_for_its_own_instance():
    """A page of a promise for every instance (``Phase1A(..., onward=True)``) that reaches
    a commander of the same round reports votes of other instances too: none of them is
    this instance's vote (taking one would propose another instance's value here)."""
    c = Commander(4, RND, MINE, phase=1, due=1.0)
    old = make_round(1, 2)
    c.on_promise(Phase1B(1, RND, 4, 9, (Accepted(5, old, X), Accepted(7, old, Y))), quorum=2)
    c.on_promise(promise(2), quorum=2)
    assert c.reported_value() is None
    c.on_promise(Phase1B(3, RND, 4, 9, (Accepted(4, old, Y), Accepted(5, old, X))), quorum=2)
    assert c.reported_value() == Y


def test_classic_commander_moves_to_phase_2_once_promised():
    c = Commander(4, RND, MINE, phase=1, due=1.0)
    assert c.accept(due=2.0) == Send(Group.ACCEPTORS, Phase2A(RND, 4, MINE))
    assert (c.phase, c.due) == (2, 2.0)
