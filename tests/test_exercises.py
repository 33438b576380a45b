"""The notebooks' answer checks: blank passes and says so, equivalent forms count, wrong fails."""

from __future__ import annotations

import pytest

from paxos_edu.errors import UsageError
from paxos_edu.exercises import WrongAnswer, check, check_all, is_blank
from paxos_edu.rounds import make_round


@pytest.mark.parametrize("blank", [None, ..., "", "  "])
def test_a_blank_answer_passes_and_says_it_is_still_blank(blank):
    verdict = check(blank, 3, name="quorum_of_5")
    assert verdict.ok is None and not verdict
    assert "quorum_of_5 is still blank" in repr(verdict)
    assert is_blank(blank)


@pytest.mark.parametrize("answer", [{1, 2}, [2, 1], (1, 2), frozenset({1, 2}), ["1", "2"]])
def test_a_list_or_tuple_counts_for_a_set(answer):
    assert check(answer, {1, 2}).ok is True


def test_a_set_with_a_wrong_element_is_wrong():
    with pytest.raises(WrongAnswer, match="look at rnd"):
        check([1, 3], {1, 2}, hint="look at rnd")


@pytest.mark.parametrize("answer", ["1.2", 1.2, (1, 2), make_round(1, 2), make_round(1, 2, 9),
                                    " round 1.2 "])
def test_a_round_is_accepted_in_every_form(answer):
    assert check(answer, make_round(1, 2), kind="round").ok is True
    assert check(answer, "1.2", kind="round").ok is True


def test_round_1_2_is_not_round_2_1():
    with pytest.raises(WrongAnswer):
        check("2.1", "1.2", kind="round")


@pytest.mark.parametrize("answer", [False, 0, "no", "False"])
def test_false_zero_and_no_are_one_answer(answer):
    assert check(answer, False).ok is True


def test_true_is_not_false():
    with pytest.raises(WrongAnswer):
        check(1, False)


@pytest.mark.parametrize("answer", [15, 15.0, "15", " 15 "])
def test_a_number_in_any_form(answer):
    assert check(answer, 15).ok is True


def test_numbers_within_the_tolerance_only():
    assert check(0.3, 3 / 10, tolerance=0.01).ok is True
    with pytest.raises(WrongAnswer):
        check(0.35, 3 / 10, tolerance=0.01)


def test_a_bool_is_not_a_number():
    with pytest.raises(WrongAnswer):
        check(True, 1)


def test_a_choice_ignores_case_and_accepts_any_listed_word():
    assert check(" Acceptor ", "acceptor").ok is True
    assert check("P2b", {"P2b", "p2b"}, kind="choice").ok is True
    with pytest.raises(WrongAnswer):
        check("proposer", "acceptor")


def test_the_wrong_answer_message_names_the_variable_and_the_value():
    with pytest.raises(WrongAnswer, match=r"quorum_of_4 = 2\). With 4"):
        check(2, 3, name="quorum_of_4", hint="With 4 acceptors, is half a majority?")


def test_an_expected_value_of_unknown_type_is_a_usage_error():
    with pytest.raises(UsageError, match="kind="):
        check(1, object())


def test_check_all_is_correct_only_when_every_answer_is():
    assert check_all(check(3, 3), check({1}, {1})).ok is True
    partly = check_all(check(3, 3), check(None, 3, name="quorum_of_4"))
    assert partly.ok is None and "quorum_of_4 is still blank" in repr(partly)
    assert check_all(check(None, 3), check(None, 3)).ok is None


def test_a_second_defensible_answer_counts_when_listed():
    assert check(7, 8, also=[7]).ok is True
    with pytest.raises(WrongAnswer):
        check(6, 8, also=[7])
