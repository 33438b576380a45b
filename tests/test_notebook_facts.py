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

import nbformat  # noqa: E402

from paxos_edu import Simulation  # noqa: E402
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
    for cell in chosen:
        exec(compile(cell.source, f"notebook {prefix}[{cell.get('id')}]", "exec"), namespace)
        namespace.update(answers)
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
