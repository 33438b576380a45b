"""Facts the notebooks' prose states about a seeded run or the code, each pinned by a test.

Each test reads the sentence from the notebook (nbformat) and recomputes the fact from the
package: when either changes, the test fails, naming the notebook and the cell. Cells are
run in a plain namespace (no kernel) where a fact is a notebook object.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

from paxos_edu import Simulation  # noqa: E402
from paxos_edu.exercises import WrongAnswer  # noqa: E402
from paxos_edu.experiments import run_experiment  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _notebook(prefix: str) -> nbformat.NotebookNode:
    (path,) = NOTEBOOKS.glob(f"{prefix}-*.ipynb")
    return nbformat.read(path, as_version=4)


def _markdown(prefix: str, cell_id: str) -> str:
    """The text of markdown cell ``cell_id``, its whitespace folded (prose wraps anywhere)."""
    (cell,) = [c for c in _notebook(prefix).cells if c.get("id") == cell_id]
    assert cell.cell_type == "markdown"
    return re.sub(r"\s+", " ", cell.source)


def _run(prefix: str, *cell_ids: str, **answers) -> dict:
    """Run the setup cell and then ``cell_ids`` (in notebook order) in one namespace;
    ``answers`` are set first (the exercise variables)."""
    cells = [c for c in _notebook(prefix).cells if c.cell_type == "code"]
    chosen = [cells[0]] + [c for c in cells[1:] if c.get("id") in cell_ids]
    assert len(chosen) == len(cell_ids) + 1, f"notebook {prefix}: missing one of {cell_ids}"
    namespace: dict = {}
    try:
        for cell in chosen:
            exec(compile(cell.source, f"notebook {prefix}[{cell.get('id')}]", "exec"), namespace)
            namespace.update(answers)
    finally:
        plt.close("all")  # cells draw figures; a kernel would show them, here they would leak
    return namespace


def test_03_multi_paxos_pays_one_prepare_and_three_promises_per_100_values():
    prose = _markdown("03", "nb03-12")
    assert "1/100 and 3/100 per value here, 2 × 50 values, one phase 1" in prose
    multi = run_experiment({"backend": "sim", "values": 50, "batch": 1, "seed": 1, "mode": "multi"})
    per_value = multi.metrics.messages_per_value.set_index("kind")["per_value"]
    assert per_value["PHASE1A"] == 1 / 100 and per_value["PHASE1B"] == 3 / 100


def test_03_failover_story_delivers_the_resubmitted_value_once_and_proposer2_acks():
    prose = _markdown("03", "nb03-w5")
    assert "re-submitted `hello` several times" in prose and "delivered it once" in prose
    assert "proposer 2's `ACK` ended the retries" in prose
    ns = _run("03", "nb03-w4")
    traffic = ns["client_traffic"]
    submits = traffic.query("kind == 'SUBMIT'")
    acks = traffic.query("kind == 'ACK'")
    assert len(submits) > 2 and set(submits["receiver"]) == {"proposer1", "proposer2"}
    assert list(acks["sender"]) == ["proposer2"]
    assert ns["failover"].learner_table()["delivered"].tolist() == [1]


def test_04_patience_of_proposer_1_at_a_half_second_timeout_is_tens_of_milliseconds():
    assert "With a 0.5 s timeout that wait is tens of milliseconds" in _markdown("04", "nb04-30")
    sim = Simulation(acceptors=3, proposers=2, learners=1, clients=1, timeout=0.5, seed=1)
    patience = sim.process("proposer", 1).patience
    assert 0.01 <= patience < 0.1


def test_04_exercise3_check_accepts_proposer_1s_patience_and_not_the_timeout():
    assert "How many seconds after the start does proposer 1 send its first prepare" in (
        _markdown("04", "nb04-e3"))
    patience = Simulation(timeout=0.5, seed=1).process("proposer", 1).patience
    assert "`first_prepare_at`; `Simulation(timeout=0.5, seed=SEED).process(\"proposer\", 1)" \
           ".patience` gives it too" in _markdown("04", "nb04-30")
    _run("04", "nb04-e3a", "nb04-e3b", first_prepare_at=patience)  # the check cell passes
    with pytest.raises(WrongAnswer, match="the whole timeout"):
        _run("04", "nb04-e3a", "nb04-e3b", first_prepare_at=0.5)


def test_04_exercise5_a_short_timeout_costs_few_more_retries_and_finishes_sooner():
    answer = _markdown("04", "nb04-ex5-4")
    assert "Not many more, usually" in answer and "several times sooner" in answer
    explorer = _run("04", "nb04-14")["explorer"]
    explorer.backend.value = "sim"  # the same runs without processes
    explorer.loss.value = 0.4
    for timeout in (0.02, 0.2):
        explorer.timeout.value = timeout
        explorer.run()
    fast, slow = explorer.results.to_dict("records")
    assert slow["retries"] <= fast["retries"] < 3 * slow["retries"], (fast, slow)
    assert fast["completion_time_s"] * 3 < slow["completion_time_s"], (fast, slow)
    ratio = round(fast["retries"] / slow["retries"], 2)
    _run("04", "nb04-ex5-3", explorer=explorer, retry_ratio=ratio)  # the check cell passes
    from paxos_edu.exercises import check_retry_ratio

    with pytest.raises(WrongAnswer, match=f"Your runs: {fast['retries']} retries at 0.02 s"):
        check_retry_ratio(10 * ratio + 50, explorer.results, loss=0.4, short=0.02, long=0.2)


def test_04_checksum_and_secret_table_says_what_the_prose_says():
    prose = _markdown("04", "nb04-w1")
    assert "a **replayed** datagram — the very same bytes again — passes both" in prose
    assert "the tag proves who sent it, not that it is true" in prose
    verdicts = _run("04", "nb04-w2")["verdicts"]
    assert verdicts["as sent"] == ["accepted: hello", "accepted: hello"]
    assert all(v.startswith("dropped") for v in verdicts["one bit flipped on the way"])
    assert verdicts["forged by an outsider"] == ["accepted: evil", "dropped (auth)"]
    assert verdicts["replayed: the same bytes again"] == ["accepted: hello", "accepted: hello"]
    assert verdicts["a lie from a member that knows the secret"] == ["accepted: evil"] * 2


def test_01_exercise_2_answer_names_the_acceptors_that_promised_1_2():
    assert "`{1, 2}`: both promised round 1.2." in _markdown("01", "nb01-39")
    story = [c.get("id") for c in _notebook("01").cells if c.cell_type == "code"]
    scenes = story[1:story.index("nb01-32")]  # the story on `sim`, before the steppers
    ns = _run("01", *scenes, "nb01-37", "nb01-38", refuse_1_1={1, 2})
    assert ns["expected"] == {1, 2}


def test_01_restarted_proposer_1_still_ranks_below_proposer_2():
    assert "and `1.2` still outranks `1.1`" in _markdown("01", "nb01-w1")
    ns = _run("01", "nb01-w2")
    assert ns["restarted"] < ns["other"]


def test_02_takeover_story_re_proposes_hello_and_learns_hello_then_world():
    prose = _markdown("02", "nb02-25")
    assert "it proposes `hello` in instance 0" in prose
    assert "`world` in the next instance, 1" in prose
    assert "the learner delivers `hello` then `world`" in prose
    assert "`i0@1.1=[hello]`" in _markdown("02", "nb02-23")
    ns = _run("02", "nb02-18", "nb02-20", "nb02-22")
    promises = [c.describe() for c in ns["takeover"].in_flight if c.kind == "PHASE1B"]
    assert any("i0@1.1=[hello]" in p for p in promises), promises
    ns = _run("02", "nb02-18", "nb02-20", "nb02-22", "nb02-24", "nb02-26")
    assert ns["takeover"].learner_table()["values"].tolist() == ["hello, world"]


def test_02_pick_any_counterexample_has_three_rounds_in_one_instance():
    prose = _markdown("02", "nb02-w3")
    assert "Look for an instance with three rounds" in prose
    cx = _run("02", "nb02-w2")["cx"]
    rounds: dict[int, set[int]] = {}
    for r in cx.trace:
        if r.kind == "PHASE2A" and r.event == "delivered":
            rounds.setdefault(r.instance, set()).add(r.rnd)
    assert max(len(r) for r in rounds.values()) >= 3, rounds


# ---------------------------------------------------------------- notebooks 05-09 (words-b)


def test_05_backoff_answer_round_1_2_is_the_chosen_round():
    assert "Round `1.2`." in _markdown("05", "nb05-17")
    calm = _run("05", "nb05-15")["calm"]
    assert calm.acceptor_table()["v_rnd"].iloc[0] == "1.2"


def test_05_backoff_waits_two_to_four_timeouts_after_the_first_lost_contest():
    from paxos_edu.roles.proposer import Proposer

    assert "waits two to four timeouts" in _markdown("05", "nb05-17")
    assert "between 2 and 2 + 2<sup>k</sup> timeouts" in _markdown("05", "nb05-13")
    source = Path(Proposer.__module__.replace(".", "/") + ".py")
    code = (Path(__file__).resolve().parent.parent / source).read_text()
    assert "self.timeout * (2.0 + spread * self.rng.random())" in code
    assert "spread = 2 ** min(self.contests_lost, 6)" in code


def test_05_exercise2_a_lonely_proposer_stays_in_round_1():
    from paxos_edu.experiments import duel_summary, run_duel

    assert "`1`. A duel needs two proposers." in _markdown("05", "nb05-31")
    lonely = duel_summary(run_duel({"proposers": 1, "backoff": False, "seed": 1}))
    assert lonely["highest_round"] == 1


def test_05_exercise4_a_long_timeout_ends_every_duel():
    from paxos_edu.experiments import duel_summary, run_duel

    assert "one leadership, no step-down, with or without backoff" in _markdown("05", "nb05-ex4-4")
    for backoff in (True, False):
        s = duel_summary(run_duel({"proposers": 3, "backoff": backoff, "values": 20, "seed": 1,
                                   "timeout": 0.05}))
        assert s["step_downs"] == 0, (backoff, s)


def test_05_exercise4_check_runs_section_4_again_and_accepts_shorter():
    assert "Shorter — in fact they disappear" in _markdown("05", "nb05-ex4-4")
    ns = _run("05", "nb05-19", "nb05-ex4-2", "nb05-ex4-3", long_timeout_duels="shorter")
    from paxos_edu.exercises import check_duels_with_timeout

    runs = {"backoff on": ns["with_backoff"], "backoff off": ns["without"]}
    with pytest.raises(WrongAnswer, match="the duels get shorter: backoff on, 2 step-downs"):
        check_duels_with_timeout("longer", runs, timeout=0.05)


def test_05_lease_exercise_the_deposed_leader_still_believes_it_leads():
    prose = _markdown("05", "nb05-lease-3")
    assert "Proposer 1's status still says it leads" in prose
    ns = _run("05", "nb05-lease-2", "nb05-lease-5", may_read_locally=False)
    table = ns["deposed"].proposer_table().set_index("proposer")
    assert table.loc[1, "status"] == "leading" and table.loc[1, "c_rnd"] == "1.1"
    assert set(ns["deposed"].acceptor_table()["rnd"]) == {"1.2"}
    assert "`False`." in _markdown("05", "nb05-lease-6")


def test_06_flexible_quorums_answer_is_4():
    assert "`4`, from *q1 + q2 > n*" in _markdown("06", "nb06-flex-6")
    assert _run("06", "nb06-flex-5", smallest_q1=4)["fits"][0] == 4


def test_06_exercise2_kill_two_acceptors_expects_a_prefix_and_learners_agree_on_its_length():
    answer = _markdown("06", "nb06-35")
    assert "Expected: `prefix`" in answer
    assert "Both learners deliver the same number of values" in answer
    ns = _run("06", "nb06-34")
    two_down = ns["two_down"]
    counts = set(two_down.run.learned.groupby("learner").size())
    assert two_down.expect == "prefix" and len(counts) == 1, counts
    check_cell = next(c for c in _notebook("06").cells if c.get("id") == "nb06-34b")
    ns.update(two_down_expect="prefix", delivered_each=counts.pop())
    exec(compile(check_cell.source, "notebook 06[nb06-34b]", "exec"), ns)  # passes
    ns.update(two_down_expect="all")
    with pytest.raises(WrongAnswer, match="two_down_expect = 'all'"):
        exec(compile(check_cell.source, "notebook 06[nb06-34b]", "exec"), ns)


def test_06_a_restarted_proposer_draws_16_random_bits_into_its_rounds():
    from paxos_edu.rounds import make_round, round_incarnation

    prose = _markdown("06", "nb06-23")
    assert "16 random bits" in prose and "1/65 536" in prose
    assert round_incarnation(make_round(1, 1, (1 << 20) - 1)) == (1 << 16) - 1


def test_07_four_requests_answered_by_the_leader_alone():
    prose = _markdown("07", "nb07-13")
    assert "from 0, 64, 128 and 192" in prose and "only the **leader** answers" in prose
    ns = _run("07", "nb07-04", "nb07-08", "nb07-12", "nb07-14")
    assert ns["requests"]["instance"].tolist() == [0, 64, 128, 192]
    assert set(ns["answers"]["sender"]) == {"proposer1"}  # proposer 1 leads with seed 1


def test_07_exercise1_sixteen_requests_reach_proposer_1():
    from paxos_edu.experiments import run_catchup

    assert "16 `CATCHUP` requests reach proposer 1" in _markdown("07", "nb07-28")
    trace = run_catchup({"seed": 1, "values": 500}, late_at=1.0).run.result.trace_frame()
    requests = trace[(trace["kind"] == "CATCHUP") & (trace["event"] == "delivered")
                     & (trace["receiver"] == "proposer1")]
    assert len(requests) == 16
    assert len(trace[trace["kind"] == "CATCHUP"]) > 16  # one row per copy: not the count


def test_07_exercise3_a_learner_without_proposers_delivers_nothing_a_liveness_loss():
    answer = _markdown("07", "nb07-ex3-5")
    assert "Nothing: no proposer is left" in answer
    assert "That is a loss of liveness, not of safety" in answer
    ns = _run("07", "nb07-ex3-2", "nb07-ex3-3", "nb07-ex3-4", orphan_delivered=0,
              orphan_violates="liveness")  # the notebook's check passes with the answer
    learned = ns["orphan"].run.learned
    assert 3 not in set(learned["learner"]) and len(learned)  # the others did learn
    with pytest.raises(WrongAnswer, match="orphan_violates = 'safety'"):
        _run("07", "nb07-ex3-2", "nb07-ex3-3", "nb07-ex3-4", orphan_delivered=0,
             orphan_violates="safety")


def test_07_catchup_work_grows_with_the_history():
    assert "still grows with the history" in _markdown("07", "nb07-trunc-3")
    history = _run("07", "nb07-trunc-2")["history"]["catch-up (ms)"]
    assert history.iloc[-1] > history.iloc[0]


def test_09_forget_promise_the_faulty_acceptor_promised_high_then_voted_low():
    assert "the acceptor in both quorums" in _markdown("09", "nb09-16")
    ns = _run("09", "nb09-06", "nb09-10", "nb09-15", broke_promise=None)
    faulty, trace = ns["faulty"], ns["trace"]
    assert len(faulty) == 1
    (bad,) = faulty
    promised = trace[(trace["kind"] == "PHASE1B") & (trace["event"] == "sent")
                     & (trace["sender"] == f"acceptor{bad}")]["rnd"]
    assert promised.nunique() == 2  # it answered both prepares, as the story says


def test_09_learn_from_one_2b_neither_value_was_chosen():
    assert "*neither* value was ever chosen" in _markdown("09", "nb09-21")
    trace = _run("09", "nb09-19")["cx_learn"].trace_frame()
    votes = trace[(trace["kind"] == "PHASE2B") & (trace["event"] == "sent")]
    assert votes.groupby(["instance", "rnd"])["sender"].nunique().max() < 2  # no quorum of 3


def test_09_shared_rounds_two_proposers_one_round_1_0():
    from paxos_edu.rounds import format_round

    assert "two proposers, one round" in _markdown("09", "nb09-lamport-shared-md")
    trace = _run("09", "nb09-24")["cx_shared"].trace_frame()
    accepts = trace[(trace["kind"] == "PHASE2A") & (trace["event"] == "sent")
                    & (trace["instance"] == 0)]
    assert {format_round(int(r)) for r in accepts["rnd"]} == {"1.0"}
    assert set(accepts["sender"]) == {"proposer1", "proposer2"}


def test_09_exercise7_the_crash_bugs():
    ans = _markdown("09", "nb09-amnesia-7")
    assert '`{"reply-before-durable", "restart-without-storage"}`' in ans
    _run("09", "nb09-amnesia-6", crash_bugs={"reply-before-durable", "restart-without-storage"})


def test_09_exercise6_one_proposer_and_the_first_five_bugs_find_nothing():
    from paxos_edu import Bug
    from paxos_edu.explore import find_violation

    assert "With one proposer the search finds nothing, for each of the five." in _markdown(
        "09", "nb09-ex6-4")
    first_five = [Bug.FORGET_PROMISE, Bug.IGNORE_1B_VALUE, Bug.LEARN_FROM_ONE_2B,
                  Bug.SHARED_ROUNDS, Bug.NO_DEDUPLICATION]
    assert [find_violation(bug, seed=1, proposers=1) for bug in first_five] == [None] * 5
    ns = _run("09", "nb09-ex6-3", unsafe_alone=set())  # the notebook's check: set() passes
    assert ns["first_five"] == first_five


def test_09_counts_the_deliberate_bugs_there_are():
    from paxos_edu.bugs import Bug

    words = {7: "seven", 8: "eight", 9: "nine", 10: "ten"}
    number = words[len(list(Bug))]
    assert f"carries {number} deliberate bugs" in _markdown("09", "nb09-00")
    assert f"## 1. {number.capitalize()} deliberate bugs" in _markdown("09", "nb09-03")
    assert f"Which of the {number} bugs" in _markdown("09", "nb09-amnesia-4")


def test_10_exercises_1_and_2_answers_hold_on_the_notebooks_own_grading_runs():
    # the answers the notebook reveals, checked against the files of its own grader runs
    assert '`"completeness"`. Both learners drop' in _markdown("10", "nb10-28")
    assert 'Only `{"learner-drops-one"}`' in _markdown("10", "nb10-31")
    ns = _run("10", "nb10-07", "nb10-13", "nb10-14", "nb10-16", "nb10-26", "nb10-27",
              "nb10-29", "nb10-30", drops_one_property="completeness",
              caught_by_counts={"learner-drops-one"})
    from paxos_edu.exercises_grading import check_caught_by_counts, check_violated_property

    runs = ns["WORK"] / "runs"
    assert "completeness in basic-100" in repr(
        check_violated_property("completeness", runs / "learner-drops-one"))
    with pytest.raises(WrongAnswer, match="Total order holds in every scenario"):
        check_violated_property("total order", runs / "learner-drops-one")
    broken = {name: runs / name for name in ns["reports"] if name != "this project"}
    assert sorted(broken) == ["learner-drops-one", "learner-prints-twice", "learner-swaps-two"]
    assert check_caught_by_counts({"learner-drops-one"}, broken).ok is True
    with pytest.raises(WrongAnswer, match="learner-swaps-two passes the count comparison"):
        check_caught_by_counts({"learner-drops-one", "learner-swaps-two"}, broken)
