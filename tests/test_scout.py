"""The Scout: multi-Paxos phase 1 over every instance from ``first`` on, page by page."""

from __future__ import annotations

from paxos_edu.effects import Send
from paxos_edu.messages import END, Accepted, Group, Phase1A, Phase1B
from paxos_edu.roles.scout import Scout
from paxos_edu.rounds import make_round

RND = make_round(3, 1)
OLD, OLDER = make_round(2, 2), make_round(1, 3)


def promise(acceptor: int, accepted=(), instance: int = 5, upto: int = END) -> Phase1B:
    return Phase1B(acceptor, RND, instance, upto, tuple(accepted))


def prepare_from(instance: int) -> Send:
    return Send(Group.ACCEPTORS, Phase1A(RND, instance, True))


def test_scout_prepares_every_instance_from_its_first():
    assert Scout(RND, 5, 2, due=1.0).prepare() == prepare_from(5)


def test_scout_is_adopted_once_a_quorum_reported_completely():
    scout = Scout(RND, 5, 2, due=1.0)
    assert scout.on_promise(promise(1)) == [] and not scout.adopted
    assert scout.on_promise(promise(1)) == [] and not scout.adopted  # a duplicate
    assert scout.on_promise(promise(3)) == [] and scout.adopted


def test_scout_asks_for_the_next_page_of_a_long_history():
    scout = Scout(RND, 5, 2, due=1.0)
    assert scout.on_promise(promise(1, upto=69)) == [prepare_from(69)]
    assert scout.on_promise(promise(2)) == [] and not scout.adopted  # 1 is not complete yet
    assert scout.on_promise(promise(1, instance=69)) == [] and scout.adopted


def test_scout_ignores_a_page_beyond_what_it_holds_from_that_acceptor():
    scout = Scout(RND, 5, 2, due=1.0)
    scout.on_promise(promise(1, [Accepted(7, OLD, ("x",))], instance=69))  # page 1 lost
    assert scout.votes == {} and scout.covered == {}


def test_scout_keeps_the_vote_of_the_highest_round_per_instance_from_first_on():
    scout = Scout(RND, 5, 3, due=1.0)
    scout.on_promise(promise(1, [Accepted(4, OLD, ("old",)), Accepted(6, OLDER, ("a",))]))
    scout.on_promise(promise(2, [Accepted(6, OLD, ("b",)), Accepted(7, OLDER, ("c",))]))
    scout.on_promise(promise(3, [Accepted(6, OLDER, ("a",))]))
    assert scout.votes == {6: Accepted(6, OLD, ("b",)), 7: Accepted(7, OLDER, ("c",))}


def test_scout_prepares_again_from_the_lowest_page_still_missing():
    scout = Scout(RND, 5, 3, due=1.0)
    assert scout.resend() == prepare_from(5)  # nobody answered yet
    scout.on_promise(promise(1, upto=133, instance=5))
    scout.on_promise(promise(2, upto=69, instance=5))
    scout.on_promise(promise(3))
    assert scout.resend() == prepare_from(69)
