"""The notebooks' answer checks: blank passes and says so, equivalent forms count, wrong fails."""

from __future__ import annotations

import re

import pytest

from paxos_edu.errors import UsageError
from paxos_edu.exercises import (
    WrongAnswer,
    check,
    check_all,
    check_bugs_still_unsafe,
    check_delivered_each,
    check_duels_with_timeout,
    check_first_prepare,
    check_retry_ratio,
    check_safety_or_liveness,
    is_blank,
)
from paxos_edu.exercises_grading import check_caught_by_counts, check_violated_property
from paxos_edu.experiments import run_experiment
from paxos_edu.rounds import make_round
from paxos_edu.sim import Simulation


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


# ---------------------------------------------------------------------- notebook 04, exercise 3


@pytest.fixture(scope="module")
def slow_start():
    """Notebook 04's loss-free simulated run with a 0.5 s timeout, and what its messages
    table says about proposer 1's first prepare."""
    result = run_experiment({"backend": "sim", "loss": 0.0, "timeout": 0.5, "values": 20,
                             "batch": 1, "seed": 1})
    m = result.run.messages
    prepares = m[m["kind"] == "PHASE1A"]
    sent = prepares[(prepares["direction"] == "sent") & (prepares["process"] == "proposer1")]
    first = float(sent["time"].min())
    heard = prepares[(prepares["direction"] == "received") & (prepares["sender"] == "proposer1")]
    return result, first, sorted(float(t) for t in heard["time"])


def test_the_first_prepare_read_off_the_run_is_right_in_any_form(slow_start):
    result, first, _ = slow_start
    patience = Simulation(timeout=0.5, seed=1).process("proposer", 1).patience
    for answer in (first, str(first), round(first, 3), patience):
        verdict = check_first_prepare(answer, result)
        assert verdict.ok is True, answer
    assert "6% of the 0.5 s timeout" in repr(verdict) and "of the whole run" in repr(verdict)


def test_the_first_prepare_is_judged_against_the_run_it_is_asked_about(slow_start):
    result, first, _ = slow_start
    fast = run_experiment({"backend": "sim", "loss": 0.0, "timeout": 0.05, "values": 20,
                           "batch": 1, "seed": 1})
    with pytest.raises(WrongAnswer, match="Too late"):
        check_first_prepare(first, fast)  # right for a 0.5 s timeout, 10 times too long here
    assert check_first_prepare(first / 10, fast).ok is True


@pytest.mark.parametrize("wrong, says", [
    (lambda first, heard, r: first * 1000, "looks like milliseconds"),
    (lambda first, heard, r: 0.5, "the whole timeout"),
    (lambda first, heard, r: heard[-1], "when an acceptor received proposer 1's first prepare"),
    (lambda first, heard, r: r.completion_time, "completion time"),
    (lambda first, heard, r: first / 3, "Too early"),
    (lambda first, heard, r: first * 3, "Too late"),
    (lambda first, heard, r: "patience", "a time in seconds"),
], ids=["ms", "timeout", "receipt", "completion", "early", "late", "not-a-number"])  # fmt: skip
def test_a_wrong_first_prepare_is_told_what_it_looks_like(slow_start, wrong, says):
    result, first, heard = slow_start
    answer = wrong(first, heard[:3], result)  # the three acceptors' receipts of the first 1A
    with pytest.raises(WrongAnswer, match=re.escape(says)) as caught:
        check_first_prepare(answer, result)
    assert "first_prepare_at = " in str(caught.value)


def test_a_blank_first_prepare_passes(slow_start):
    assert check_first_prepare(None, slow_start[0]).ok is None


def test_a_run_without_that_proposers_prepare_is_a_usage_error(slow_start):
    with pytest.raises(UsageError, match="proposer2 sent no prepare"):
        check_first_prepare(0.03, slow_start[0], proposer=2)


# ------------------------------------------------- notebook 10: answers judged from grader files

_FED = {1: [f"1{i:03d}" for i in range(10)], 2: [f"2{i:03d}" for i in range(10)]}
_ORDER = [v for pair in zip(_FED[1], _FED[2]) for v in pair]  # one agreed sequence of all 20


def _kept(base, learners, scenario="basic-100", fed=_FED):
    """Write one scenario folder as grade(workdir=base) keeps it: prop<id> and learn<id>."""
    folder = base / scenario
    folder.mkdir(parents=True)
    for c, vals in fed.items():
        (folder / f"prop{c}").write_text("".join(v + "\n" for v in vals))
    for lid, vals in learners.items():
        (folder / f"learn{lid}").write_text("".join(v + "\n" for v in vals))
    return base


@pytest.fixture
def implementations(tmp_path):
    """The three broken learners of notebook 10 (and a correct one), each in basic-100 and
    in one-acceptor (nothing learned: no quorum)."""
    dropped = _ORDER[:4] + _ORDER[5:]
    twice = _ORDER[:3] + _ORDER[2:]
    swapped = _ORDER[:2] + [_ORDER[3], _ORDER[2]] + _ORDER[4:]
    out = {}
    for name, learned in {"correct": {1: _ORDER, 2: _ORDER},
                          "learner-drops-one": {1: dropped, 2: dropped},
                          "learner-prints-twice": {1: twice, 2: twice},
                          "learner-swaps-two": {1: _ORDER, 2: swapped}}.items():
        _kept(tmp_path / name, learned)
        _kept(tmp_path / name, {1: [], 2: []}, scenario="one-acceptor")
        out[name] = tmp_path / name
    return out


@pytest.mark.parametrize("impl, answer", [
    ("learner-drops-one", "completeness"), ("learner-drops-one", " Completeness "),
    ("learner-drops-one", ["completeness"]), ("learner-prints-twice", "integrity"),
    ("learner-swaps-two", "total order"), ("learner-swaps-two", "agreement"),
    ("learner-swaps-two", "total order / agreement"),
])  # fmt: skip
def test_the_violated_property_is_read_off_the_grader_files(implementations, impl, answer):
    verdict = check_violated_property(answer, implementations[impl])
    assert verdict.ok is True and "Correct!" in repr(verdict)


def test_a_learner_that_drops_a_value_violates_completeness_and_nothing_else(implementations):
    verdict = check_violated_property("completeness", implementations["learner-drops-one"])
    assert "completeness in basic-100" in repr(verdict)
    with pytest.raises(WrongAnswer, match="Total order holds in every scenario") as caught:
        check_violated_property("total order", implementations["learner-drops-one"],
                                name="drops_one_property")
    assert "But completeness is violated, in basic-100" in str(caught.value)
    assert "drops_one_property = 'total order'" in str(caught.value)
    with pytest.raises(WrongAnswer, match="Integrity holds"):
        check_violated_property({"completeness", "integrity"},
                                implementations["learner-drops-one"])


def test_a_correct_implementation_violates_nothing(implementations):
    assert check_violated_property(set(), implementations["correct"]).ok is True  # none
    with pytest.raises(WrongAnswer, match="Completeness holds"):
        check_violated_property("completeness", implementations["correct"])


def test_a_property_name_that_is_none_of_the_four_is_told_the_four(implementations):
    with pytest.raises(WrongAnswer, match="give one of 'total order', 'integrity'"):
        check_violated_property("liveness", implementations["learner-drops-one"])
    assert check_violated_property(None, implementations["learner-drops-one"]).ok is None


def test_a_folder_without_kept_scenarios_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no scenario folder with learn<id> and prop<id>"):
        check_violated_property("completeness", tmp_path)


def _broken(implementations):
    return {k: v for k, v in implementations.items() if k != "correct"}


@pytest.mark.parametrize("answer", [{"learner-drops-one"}, ["learner-drops-one"],
                                    "learner-drops-one", ("Learner-Drops-One",)])
def test_the_count_comparison_catches_only_the_dropped_value(implementations, answer):
    verdict = check_caught_by_counts(answer, _broken(implementations))
    assert verdict.ok is True
    assert "learner-drops-one: basic-100, learner 1: 19 distinct lines" in repr(verdict)


@pytest.mark.parametrize("answer, says", [
    ({"learner-prints-twice", "learner-drops-one"},
     "learner-prints-twice passes the count comparison"),
    ({"learner-swaps-two", "learner-drops-one"}, "learner-swaps-two passes the count comparison"),
    (set(["learner-prints-twice"]), "learner-drops-one is caught: basic-100, learner 1: 19 "
                                    "distinct lines for 20 distinct values proposed."),
    ({"learner-forgets"}, "give a set of names among"),
])  # fmt: skip
def test_a_wrong_caught_by_counts_says_what_the_counts_are(implementations, answer, says):
    with pytest.raises(WrongAnswer, match=re.escape(says)):
        check_caught_by_counts(answer, _broken(implementations))


def test_counts_ignore_a_scenario_where_nothing_may_be_learned(tmp_path):
    # one-acceptor expects nothing learned: 0 distinct lines of 20 is right there, not caught
    impl = _kept(tmp_path / "quiet", {1: [], 2: []}, scenario="one-acceptor")
    assert "catch none of them" in repr(check_caught_by_counts(set(), {"quiet": impl}))
    with pytest.raises(WrongAnswer, match="quiet passes the count comparison"):
        check_caught_by_counts({"quiet"}, {"quiet": impl})
    assert check_caught_by_counts(None, {"quiet": impl}).ok is None  # blank passes


def test_naming_one_of_two_violated_properties_is_told_the_other(tmp_path):
    twice_then_short = _ORDER[:3] + _ORDER[2:10]  # integrity (a repeat) and completeness
    impl = _kept(tmp_path / "both", {1: twice_then_short, 2: twice_then_short})
    with pytest.raises(WrongAnswer, match="But completeness is violated, in basic-100"):
        check_violated_property("integrity", impl)
    assert check_violated_property(["integrity", "completeness"], impl).ok is True


# ------------------------------------------------- notebook 05: a prediction run again


@pytest.fixture(scope="module")
def duels():
    from paxos_edu.experiments import run_duel

    return {"backoff on": run_duel({"proposers": 3, "backoff": True, "values": 20, "seed": 1}),
            "backoff off": run_duel({"proposers": 3, "backoff": False, "values": 20, "seed": 1})}


@pytest.mark.parametrize("answer", ["shorter", " Shorter", "fewer", "they disappear"])
def test_a_longer_timeout_shortens_the_duels_judged_by_running_them_again(duels, answer):
    verdict = check_duels_with_timeout(answer, duels, timeout=0.05)
    assert verdict.ok is True
    assert re.search(r"backoff off, \d+ step-downs .* at a 0.01 s timeout, 0 and 1 at 0.05 s",
                     repr(verdict)), repr(verdict)


@pytest.mark.parametrize("answer", ["longer", "the same"])
def test_a_wrong_duel_prediction_is_shown_the_step_downs(duels, answer):
    with pytest.raises(WrongAnswer, match="the duels get shorter: backoff on, 2 step-downs"):
        check_duels_with_timeout(answer, duels, timeout=0.05, name="long_timeout_duels")


def test_a_shorter_timeout_makes_longer_duels_and_the_check_says_so(duels):
    # the same checker the other way, from a 0.01 s timeout down to 0.002 s
    from paxos_edu.experiments import duel_summary, run_duel

    after = duel_summary(run_duel({**duels["backoff on"].params, "timeout": 0.002}))
    assert after["step_downs"] > 2  # the run says longer (2 step-downs at 0.01 s)
    on = {"backoff on": duels["backoff on"]}
    assert check_duels_with_timeout("longer", on, timeout=0.002).ok is True
    with pytest.raises(WrongAnswer, match="the duels get longer"):
        check_duels_with_timeout("shorter", on, timeout=0.002)


def test_a_duel_answer_that_is_no_direction_is_told_the_three(duels):
    with pytest.raises(WrongAnswer, match='answer "shorter", "longer" or "the same"'):
        check_duels_with_timeout(3, duels, timeout=0.05)
    assert check_duels_with_timeout(None, duels, timeout=0.05).ok is None


# ------------------------------------------------- notebook 06: a count read off a run


def _scenario_like(learned: dict[int, int], submitted: int):
    """An object shaped like a ScenarioResult: .run.learned and .run.proposed tables."""
    import types

    import pandas as pd

    rows = [{"learner": lid, "value": f"v{i}"} for lid, n in learned.items() for i in range(n)]
    run = types.SimpleNamespace(learned=pd.DataFrame(rows, columns=["learner", "value"]),
                                proposed=pd.DataFrame({"value": [f"v{i}" for i in
                                                                 range(submitted)]}))
    return types.SimpleNamespace(run=run)


@pytest.mark.parametrize("answer", [37, "37", 37.0, {1: 37, 2: 37}])
def test_the_values_each_learner_delivered_are_read_off_the_run(answer):
    verdict = check_delivered_each(answer, _scenario_like({1: 37, 2: 37}, 100))
    assert verdict.ok is True and "learner 1: 37, learner 2: 37" in repr(verdict)


def test_a_series_of_counts_per_learner_is_an_answer_too():
    result = _scenario_like({1: 12, 2: 12}, 100)
    series = result.run.learned.groupby("learner").size()
    assert check_delivered_each(series, result).ok is True


@pytest.mark.parametrize("answer, says", [
    (100, "that is how many values the clients submitted"),
    (74, "that is all learners together; each delivered 37"),
    (36, "count the rows of the run's learned table per learner (learner 1: 37"),
    ({1: 37, 2: 36}, "the run's learned table says learner 1: 37, learner 2: 37"),
    ("many", "give a number of values"),
])  # fmt: skip
def test_a_wrong_count_of_values_delivered_says_what_it_looks_like(answer, says):
    with pytest.raises(WrongAnswer, match=re.escape(says)) as caught:
        check_delivered_each(answer, _scenario_like({1: 37, 2: 37}, 100), name="delivered_each")
    assert "delivered_each = " in str(caught.value)


def test_learners_with_different_counts_need_one_count_each():
    result = _scenario_like({1: 37, 2: 35}, 100)
    with pytest.raises(WrongAnswer, match="delivered different numbers"):
        check_delivered_each(37, result)
    assert check_delivered_each({"1": 37, "2": 35}, result).ok is True
    assert check_delivered_each(None, result).ok is None


# ------------------------------------------------- notebook 09: searches run again


@pytest.mark.parametrize("answer", [set(), [], ()])
def test_no_bug_breaks_safety_with_one_proposer_and_none_is_an_answer(answer):
    from paxos_edu.bugs import Bug

    verdict = check_bugs_still_unsafe(answer, [Bug.FORGET_PROMISE, Bug.SHARED_ROUNDS], seed=1,
                                      proposers=1)
    assert verdict.ok is True
    assert "With proposers=1: nothing found for forget-promise" in repr(verdict)


def test_a_bug_the_search_still_finds_must_be_named():
    from paxos_edu.bugs import Bug

    # with the default two proposers forget-promise is found: the check reads the search
    assert check_bugs_still_unsafe({"forget-promise"}, [Bug.FORGET_PROMISE], seed=1).ok is True
    assert check_bugs_still_unsafe([Bug.FORGET_PROMISE], [Bug.FORGET_PROMISE], seed=1).ok is True
    with pytest.raises(WrongAnswer, match=r"forget-promise breaks total order / agreement in a "
                                          r"schedule of \d+ steps") as caught:
        check_bugs_still_unsafe(set(), [Bug.FORGET_PROMISE], seed=1, name="unsafe_alone")
    assert "unsafe_alone = set()" in str(caught.value)


def test_naming_a_bug_the_search_does_not_find_is_told_so():
    from paxos_edu.bugs import Bug

    with pytest.raises(WrongAnswer, match="with proposers=1, seed 1: nothing found for "
                                          "shared-rounds"):
        check_bugs_still_unsafe({"shared-rounds"}, [Bug.SHARED_ROUNDS], seed=1, proposers=1)
    with pytest.raises(WrongAnswer, match="give a set of names among"):
        check_bugs_still_unsafe({"off-by-one"}, [Bug.SHARED_ROUNDS], seed=1, proposers=1)
    assert check_bugs_still_unsafe(None, [Bug.SHARED_ROUNDS], seed=1).ok is None


# ------------------------------------------------- notebook 07: safety or liveness, from a report


@pytest.fixture(scope="module")
def orphan():
    """Notebook 07, exercise 3: both proposers crash, then a learner starts: it gets nothing."""
    from paxos_edu.experiments import run_catchup

    crashes = ((0.2, "crash", "proposer", 1), (0.2, "crash", "proposer", 2))
    return run_catchup({"seed": 1, "values": 20, "actions": crashes}, late_at=0.3)


@pytest.mark.parametrize("answer", ["liveness", " Liveness "])
def test_a_learner_left_without_proposers_is_a_liveness_failure(orphan, answer):
    verdict = check_safety_or_liveness(answer, orphan)
    assert verdict.ok is True and "completeness fails: learner 3 never delivered" in repr(verdict)


@pytest.mark.parametrize("answer, says", [
    ("safety", "in this run only completeness fails: a liveness property"),
    ("both", "in this run only completeness fails"),
    ("neither", "in this run only completeness fails"),
    ("lost", 'answer "safety", "liveness", "both" or "neither"'),
])  # fmt: skip
def test_a_wrong_safety_or_liveness_answer_quotes_the_report(orphan, answer, says):
    with pytest.raises(WrongAnswer, match=re.escape(says)) as caught:
        check_safety_or_liveness(answer, orphan, name="orphan_violates")
    assert "orphan_violates = " in str(caught.value)


def test_safety_or_liveness_follows_the_report_it_is_given():
    from paxos_edu.checks import check_values

    both = check_values({1: ["a", "b"], 2: ["b"]}, {1: ["a", "b", "c"]})  # order and missing c
    assert check_safety_or_liveness("both", both).ok is True
    fine = check_values({1: ["a"], 2: ["a"]}, {1: ["a"]})
    assert check_safety_or_liveness("neither", fine).ok is True
    with pytest.raises(WrongAnswer, match="every property holds"):
        check_safety_or_liveness("liveness", fine)
    unsafe = check_values({1: ["a", "a"]}, {1: ["a"]})  # integrity only
    assert check_safety_or_liveness("safety", unsafe).ok is True
    assert check_safety_or_liveness(None, unsafe).ok is None


# ------------------------------------------------- notebook 04: a ratio of the student's own runs


def _explorer_runs(*rows):
    import pandas as pd

    return pd.DataFrame([{"loss": loss, "timeout": t, "retries": n, "completion_time_s": s}
                         for loss, t, n, s in rows])


@pytest.mark.parametrize("answer", [1.5, "1.5", "1.45x", 1.6])
def test_the_retry_ratio_is_read_off_the_explorers_runs(answer):
    runs = _explorer_runs((0.2, 0.2, 9, 1.0), (0.4, 0.02, 30, 0.13), (0.4, 0.2, 20, 1.5))
    verdict = check_retry_ratio(answer, runs, loss=0.4, short=0.02, long=0.2)
    assert verdict.ok is True
    assert "30 retries at 0.02 s, 20 at 0.2 s (loss 0.4); done in 0.13 s against 1.50 s" in repr(
        verdict)


@pytest.mark.parametrize("answer, says", [
    (10, "that is the difference; the ratio is 1.5"),
    (2 / 3, "that is the ratio the other way round"),
    (4, "divide the retries at 0.02 s by those at 0.2 s"),
    ("lots", "give a number"),
])  # fmt: skip
def test_a_wrong_retry_ratio_says_what_it_looks_like(answer, says):
    runs = _explorer_runs((0.4, 0.02, 30, 0.13), (0.4, 0.2, 20, 1.5))
    with pytest.raises(WrongAnswer, match=re.escape(says)) as caught:
        check_retry_ratio(answer, runs, loss=0.4, short=0.02, long=0.2, name="retry_ratio")
    assert "retry_ratio = " in str(caught.value)


def test_the_retry_ratio_uses_the_last_run_of_each_setting_and_asks_for_missing_ones():
    runs = _explorer_runs((0.4, 0.02, 10, 0.1), (0.4, 0.2, 5, 1.0), (0.4, 0.02, 40, 0.1))
    assert check_retry_ratio(8, runs, loss=0.4, short=0.02, long=0.2).ok is True  # 40 / 5
    with pytest.raises(WrongAnswer, match="run the explorer at loss 0.4 with timeout 0.2 s"):
        check_retry_ratio(8, _explorer_runs((0.4, 0.02, 40, 0.1), (0.3, 0.2, 5, 1.0)), loss=0.4,
                          short=0.02, long=0.2)
    assert check_retry_ratio(None, _explorer_runs(), loss=0.4, short=0.02, long=0.2).ok is None
