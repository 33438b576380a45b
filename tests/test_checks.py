"""Safety and liveness checks on plain data: each property and its first violation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxos_edu.checks import (
    COMPLETENESS,
    INTEGRITY,
    ORDER,
    PROPERTIES,
    VALIDITY,
    CheckFailed,
    check_sequences,
    check_values,
)
from paxos_edu.messages import Submission


def subs(n: int, client: int = 1, session: int = 7) -> list[Submission]:
    return [Submission(client, session, seq, f"v{client}.{seq}") for seq in range(n)]


def failing(report) -> list[str]:
    """The properties a report finds violated."""
    table = report.table
    return list(table["property"][table["checked"] & ~table["ok"].fillna(True)])


def test_identical_sequences_satisfy_every_property():
    proposed = subs(5)
    report = check_sequences({1: proposed, 2: list(proposed)}, proposed)
    assert report.ok and report.violations == [] and report.first_violation is None
    assert report.table["checked"].all() and report.table["ok"].all()


def test_reordered_learner_breaks_total_order_at_first_swapped_position():
    proposed = subs(6)
    swapped = proposed[:3] + [proposed[4], proposed[3]] + proposed[5:]
    report = check_sequences({1: proposed, 2: swapped}, proposed)
    assert not report.ok and failing(report) == [ORDER]
    first = report.first_violation
    assert (first.property, first.learner, first.position) == (ORDER, 2, 3)
    assert "seq 4" in first.detail and "learner 1" in first.detail


def test_learners_that_disagree_only_on_a_value_string_break_agreement():
    proposed = subs(3)
    other = proposed[:2] + [proposed[2]._replace(value="changed")]
    report = check_sequences({1: proposed, 2: other}, None)
    assert failing(report) == [ORDER] and report.first_violation.position == 2


def test_duplicate_delivery_breaks_integrity_at_the_second_copy():
    proposed = subs(4)
    dup = proposed[:3] + [proposed[1]] + proposed[3:]
    report = check_sequences({1: dup}, proposed)
    assert failing(report) == [INTEGRITY]
    first = report.first_violation
    assert (first.property, first.learner, first.position) == (INTEGRITY, 1, 3)
    assert "positions 1 and 3" in first.detail


def test_equal_strings_from_distinct_submissions_are_not_duplicates():
    proposed = [Submission(1, 7, 0, "same"), Submission(2, 9, 0, "same")]
    assert check_sequences({1: proposed}, proposed).ok


def test_invented_value_breaks_validity():
    proposed = subs(3)
    invented = Submission(9, 9, 9, "bogus")
    seq = proposed[:1] + [invented] + proposed[1:]
    report = check_sequences({1: seq, 2: list(seq)}, proposed)
    assert failing(report) == [VALIDITY]
    assert [(v.learner, v.position) for v in report.violations] == [(1, 1), (2, 1)]
    assert "'bogus'" in report.first_violation.detail


def test_a_known_identity_with_another_value_is_not_valid():
    proposed = subs(2)
    forged = [proposed[0], proposed[1]._replace(value="forged")]
    report = check_sequences({1: forged}, proposed)
    assert VALIDITY in failing(report)
    assert "proposed value is 'v1.1'" in report.first_violation.detail


def test_missing_value_breaks_completeness():
    proposed = subs(4) + subs(2, client=2)
    learned = proposed[:2] + proposed[3:]
    report = check_sequences({1: learned}, proposed)
    assert failing(report) == [COMPLETENESS]
    first = report.first_violation
    assert (first.property, first.learner, first.position) == (COMPLETENESS, 1, None)
    assert "1 of 6" in first.detail and "seq 2" in first.detail


def test_a_common_prefix_passes_when_completeness_is_not_expected():
    proposed = subs(10)
    report = check_sequences({1: proposed[:4], 2: proposed[:7]}, proposed, expect_complete=False)
    assert report.ok
    row = report.table.set_index("property").loc[COMPLETENESS]
    assert not row["checked"] and "not checked" in row["detail"]


def test_a_prefix_fails_completeness_when_it_is_expected():
    proposed = subs(10)
    report = check_sequences({1: proposed[:4], 2: proposed}, proposed)
    assert failing(report) == [COMPLETENESS] and report.first_violation.learner == 1


def test_crashed_learners_are_excused_from_completeness():
    proposed = subs(5)
    report = check_sequences({1: proposed, 2: proposed[:2]}, proposed, live_learners=[1])
    assert report.ok


def test_a_live_learner_that_delivered_nothing_misses_everything():
    proposed = subs(3)
    report = check_sequences({1: proposed}, proposed, live_learners=[1, 5])
    assert failing(report) == [COMPLETENESS]
    assert report.first_violation.learner == 5 and "3 of 3" in report.first_violation.detail


def test_without_proposals_validity_and_completeness_are_not_checked():
    report = check_sequences({1: subs(3), 2: subs(2)}, None)
    table = report.table.set_index("property")
    assert report.ok
    assert list(table["checked"]) == [True, True, False, False]


def test_check_values_allows_a_value_as_often_as_it_was_proposed():
    proposed = {1: ["a", "b", "a"], 2: ["c"]}
    assert check_values({1: ["a", "c", "a", "b"], 2: ["a", "c"]}, proposed,
                        expect_complete=False).ok  # fmt: skip


def test_check_values_finds_each_kind_of_violation():
    proposed = {1: ["a", "b", "c"], 2: ["d"]}
    reordered = check_values({1: ["a", "b", "c", "d"], 2: ["a", "c", "b", "d"]}, proposed)
    assert failing(reordered) == [ORDER] and reordered.first_violation.position == 1
    twice = check_values({1: ["a", "b", "a", "c", "d"]}, proposed)
    assert failing(twice) == [INTEGRITY]
    assert (twice.first_violation.learner, twice.first_violation.position) == (1, 2)
    invented = check_values({1: ["a", "b", "x", "c", "d"]}, proposed)
    assert failing(invented) == [VALIDITY] and invented.first_violation.position == 2
    missing = check_values({1: ["a", "b", "d"]}, proposed)
    assert failing(missing) == [COMPLETENESS]
    assert "'c' (client 1, line 3)" in missing.first_violation.detail


def test_check_values_accepts_a_flat_list_of_proposals():
    assert check_values({1: ["x", "y"]}, ["y", "x"]).ok
    assert not check_values({1: ["x"]}, ["y", "x"]).ok


def test_report_table_maps_each_property_to_the_course_test():
    table = check_values({1: ["a"]}, {1: ["a"]}).table
    assert list(table.columns) == ["property", "course_test", "ok", "checked", "detail"]
    assert list(table["property"]) == list(PROPERTIES)
    tests = dict(zip(table["property"], table["course_test"], strict=True))
    assert tests[ORDER].startswith("Test 1") and tests[VALIDITY].startswith("Test 2")
    assert tests[INTEGRITY].startswith("Test 3") and tests[COMPLETENESS].startswith("Test 3")


def test_report_text_and_html_mark_each_property():
    good = check_values({1: ["a"]}, {1: ["a"]})
    bad = check_values({1: ["a", "a"]}, {1: ["a"]}, expect_complete=False)
    assert str(good).count("✓") == 4 and repr(good) == str(good)
    assert "✗ integrity" in str(bad) and "– completeness" in str(bad)
    html = bad._repr_html_()
    assert "<table" in html and "#fce8e6" in html and "#e6f4ea" in html


def test_raise_if_failed_raises_an_assertion_with_the_report():
    good = check_values({1: ["a"]}, {1: ["a"]})
    assert good.raise_if_failed() is good
    bad = check_values({1: ["b"]}, {1: ["a"]})
    with pytest.raises(CheckFailed, match="validity") as info:
        bad.raise_if_failed()
    assert isinstance(info.value, AssertionError) and info.value.report is bad


def test_no_learners_is_trivially_ordered():
    assert check_sequences({}, [], live_learners=[]).ok


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.data())
def test_prefixes_pass_and_any_swap_is_caught(n, data):
    proposed = subs(n)
    cut = data.draw(st.integers(0, n))
    assert check_sequences({1: proposed, 2: proposed[:cut]}, proposed, expect_complete=False).ok
    if n >= 2:
        i = data.draw(st.integers(0, n - 2))
        j = data.draw(st.integers(i + 1, n - 1))
        swapped = list(proposed)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        report = check_sequences({1: proposed, 2: swapped}, proposed)
        assert failing(report) == [ORDER] and report.first_violation.position == i


def test_two_learners_of_100000_values_are_checked():
    # (speed is measured in benchmarks/analysis.py, not asserted here)
    proposed = subs(50_000) + subs(50_000, client=2)
    assert check_sequences({1: proposed, 2: list(proposed)}, proposed).ok
    values = {1: [s.value for s in proposed]}
    assert check_values({**values, 2: values[1]}, {1: values[1]}).ok


def test_report_html_names_each_course_test_once():
    # integrity and completeness are both halves of Test 3: one cell spans their rows
    # (issue 13, defect 9: "Test 3" appeared on two rows)
    html = check_values({1: ["a"]}, {1: ["a"]})._repr_html_()
    assert html.count("Test 3") == 1 and html.count("Test 1") == 1 and html.count("Test 2") == 1
    assert 'rowspan="2"' in html
    assert html.index("Test 1") < html.index("Test 2") < html.index("Test 3")
    assert "no value learned twice and every proposed value learned" in html
