"""Pictures of paxos_edu.viz, drawn from small simulations and from Run-like tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from run_helper import REAL  # noqa: E402

from paxos_edu import experiments, explore, viz, viz_style  # noqa: E402
from paxos_edu.errors import UsageError  # noqa: E402
from paxos_edu.sim import Simulation  # noqa: E402
from paxos_edu.stepper import show_state  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def legend_labels(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


# ---------------------------------------------------------------------- sequence diagram


def test_sequence_diagram_of_an_explored_schedule():
    outcome = explore.run_schedule(
        explore.Setup(), [("submit", 0), ("advance", 0), ("deliver", 0), ("drop", 0)]
    )
    ax = viz.sequence_diagram(outcome, kinds="all")
    trace = outcome.sim.trace
    copies = [r for r in trace if r.event == "sent" and r.sender != r.receiver]
    assert len(arrows(ax)) == len(copies)  # delivered, dropped or still in flight
    assert "dropped" in legend_labels(ax)


def test_sequence_diagram_draws_one_arrow_per_delivered_copy(small_run):
    ax = viz.sequence_diagram(small_run)
    frame = viz.filter_messages(viz.message_frame(small_run))
    delivered = (frame["event"] == "delivered").sum()
    in_flight = len(viz.message_arrows(frame).query("outcome == 'in flight'"))
    assert len(arrows(ax)) == delivered + in_flight
    labels = legend_labels(ax)
    assert {"1A", "1B", "2A", "2B", "submit"} <= set(labels)
    assert "heartbeat" not in labels
    assert "acceptor1" in [t.get_text() for t in ax.get_xticklabels()]
    assert any(t.get_text().startswith("2A 1.1 i0") for t in ax.texts)


def test_sequence_diagram_marks_a_drop_and_messages_in_flight():
    sim = Simulation(seed=2, manual=True, proposers=1, learners=1, clients=1)
    sim.submit(1, ["v"])
    sim.drop(sim.in_flight[0].id)  # the submission to proposer1 is lost
    sim.submit(1, ["w"])
    ax = viz.sequence_diagram(sim)
    drops = [c for c in ax.collections if c.get_label() == "_drops"]
    assert len(drops) == 1 and len(drops[0].get_offsets()) == 1
    assert {"dropped", "in flight"} <= set(legend_labels(ax))
    dotted = [a for a in arrows(ax) if a.get_linestyle() not in ("-", "solid")]
    assert len(dotted) == 1  # the second submission, still on its way


def test_sequence_diagram_filters_by_instance_and_time(small_run):
    t_first_2b = min(r.time for r in small_run.trace if r.kind == "PHASE2B")
    all_arrows = len(arrows(viz.sequence_diagram(small_run, instances=[0])))
    early = viz.sequence_diagram(small_run, instances=[0], until=t_first_2b)
    assert 0 < len(arrows(early)) < all_arrows
    assert "up to t" in early.get_title()
    assert "2B" in legend_labels(early)  # the first 2B left, still in flight
    assert "submit" not in legend_labels(early)  # client traffic has no instance


def test_sequence_diagram_caps_the_number_of_messages(lossy):
    ax = viz.sequence_diagram(lossy.run, max_messages=10, kinds="all")
    assert "first 10 of" in ax.get_title()
    frame = viz.filter_messages(viz.message_frame(lossy.run), kinds="all")
    assert len(arrows(ax)) < (frame["event"] != "sent").sum()


def test_sequence_diagram_of_a_real_run_table_draws_only_solid_forward_arrows():
    ax = viz.sequence_diagram(REAL, y="time")
    labels = legend_labels(ax)
    assert {"dropped", "unpaired send/receipt"} <= set(labels)
    assert "sender inferred" not in labels
    drawn = arrows(ax)
    assert drawn and all(a.get_linestyle() in ("-", "solid") for a in drawn)
    assert ax.get_ylabel().startswith("time (ms)")
    with pytest.raises(UsageError):
        viz.sequence_diagram(REAL, y="lamport")


# ---------------------------------------------------------------------- role graph


def test_role_graph_counts_messages_and_highlights_drops(lossy):
    g = viz.role_graph_data(lossy.run)
    frame = viz.filter_messages(viz.message_frame(lossy.run))
    delivered = frame[(frame["event"] == "delivered")]
    assert sum(e["messages"] for *_, e in g.edges(data=True)) == len(delivered)
    assert sum(e["dropped"] for *_, e in g.edges(data=True)) == (frame["event"] == "dropped").sum()
    assert g.nodes["acceptor1"]["role"] == "acceptor"
    ax = viz.role_graph(lossy.run)
    assert {"acceptors", "some dropped (n / d✗)"} <= set(legend_labels(ax))
    assert any("✗" in t.get_text() for t in ax.texts)


def test_role_graph_of_a_real_run_table():
    g = viz.role_graph_data(REAL)
    assert g.edges["proposer1", "acceptor1"]["messages"] == 1
    assert g.edges["proposer1", "acceptor3"]["dropped"] == 1
    assert "learner1" in g  # a process seen only as a receiver still gets a node


# ---------------------------------------------------------------------- run metrics


def test_latency_histogram_marks_median_and_p99(lossy):
    ax = viz.latency_histogram(lossy)
    assert len(ax.patches) == 30  # bins
    assert [label.split(":")[0] for label in legend_labels(ax)][1:] == ["median", "99th percentile"]
    assert ax.get_xlabel().endswith("(ms)")


def test_latency_histogram_of_a_latency_table():
    ax = viz.latency_histogram(pd.DataFrame({"latency": [0.001, 0.002, 0.004]}), bins=3)
    assert len(ax.patches) == 3
    empty = viz.latency_histogram(pd.DataFrame({"latency": []}))
    assert "no value learned" in [t.get_text() for t in empty.texts]


def test_throughput_plot_has_a_line_per_learner(lossy):
    ax = viz.throughput_plot(lossy.run)
    assert len(ax.get_lines()) == 2
    assert legend_labels(ax) == ["learner 1", "learner 2"]


def test_retries_bar_shows_retries_and_drops_per_role(lossy):
    ax = viz.retries_bar(lossy)
    assert len(ax.patches) == 2 * 4  # two bars per role
    assert legend_labels(ax) == ["retries (timeouts fired)", "datagrams dropped"]
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights[4:]) == lossy.drops > 0 and sum(heights[:4]) == lossy.retries


def test_rounds_over_time_shows_a_duel():
    duel = experiments.run_duel(dict(proposers=3, backoff=False, values=3, seed=3))
    ax = viz.rounds_over_time(duel.run)
    labels = legend_labels(ax)
    assert labels[:3] == ["proposer1", "proposer2", "proposer3"]
    assert {"prepare (1A)", "became leader", "stepped down"} <= set(labels)
    assert ax.get_ylim()[1] >= 3


def test_rounds_over_time_falls_back_to_the_1a_of_a_trace(small_run):
    ax = viz.rounds_over_time(small_run.trace)
    assert legend_labels(ax)[0] == "proposer1"


def test_catchup_progress_highlights_the_late_learner():
    result = experiments.run_catchup(dict(values=20), late_at=0.2)
    ax = viz.catchup_progress(result, experiments.late_learner(result))
    lines = {line.get_label(): line for line in ax.get_lines()}
    late = lines["learner 3 (late)"]
    assert late.get_linewidth() > lines["learner 1"].get_linewidth()
    assert late.get_xdata()[0] == pytest.approx(0.2)  # its line starts when it started
    assert late.get_ydata()[-1] == 40
    assert lines["learner 1"].get_xdata()[-1] == pytest.approx(late.get_xdata()[-1])
    assert "learner 3 starts" in lines


def test_delivered_over_time_shows_learners_that_learned_nothing():
    result = experiments.run_failures(dict(values=3, until=0.5), acceptors_up=1)
    ax = viz.delivered_over_time(result, events={"acceptor 2 killed": 0.0})
    assert legend_labels(ax) == ["learner 1", "learner 2", "acceptor 2 killed", "proposed (6)"]
    assert ax.get_lines()[0].get_ydata().max() == 0


def test_catchup_progress_needs_delivery_times(small_run):
    with pytest.raises(UsageError):
        viz.catchup_progress(small_run, 1)


def test_sweep_heatmap_annotates_each_cell_and_greys_missing_ones():
    df = pd.DataFrame(
        {
            "loss": [0, 0, 0.2, 0.2],
            "timeout": [0.1, 0.2, 0.1, 0.2],
            "completion_time_s": [0.01, 0.02, 0.5, np.nan],
        }
    )
    ax = viz.sweep_heatmap(df, "loss", "timeout", "completion_time_s")
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 4 and "–" in texts and "0.5" in texts
    # the swept parameters label the axes, in human words with units (issue 13, defect 9)
    assert ax.get_xlabel() == "loss rate" and ax.get_ylabel() == "timeout (s)"
    assert len(ax.figure.axes) == 2  # with its colour bar


def test_message_counts_bar_groups_routes():
    routes = experiments.compare_2b_routes(acceptors=3, proposers=1, learners=2)
    ax = viz.message_counts_bar(routes)
    assert len(ax.patches) == 2 * 3  # 2 routes x kinds 2A, 2B, decision
    assert legend_labels(ax) == ["2B to learners", "2B via proposer"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2A", "2B", "decision"]


def test_message_counts_bar_of_a_runs_messages_per_value(lossy):
    ax = viz.message_counts_bar(lossy.metrics.messages_per_value)
    assert len(ax.patches) == len(lossy.metrics.messages_per_value)


# ---------------------------------------------------------------------- state tables


def test_acceptor_state_table_shades_a_promise_quorum_and_a_chosen_value():
    sim = Simulation(seed=1, manual=True, proposers=1, learners=1, clients=1)
    sim.submit(1, ["x"])
    sim.deliver_all("SUBMIT")
    sim.advance(0.1)  # proposer1 times out and prepares
    for _ in range(2):
        sim.deliver_next("PHASE1A")
    html = viz.acceptor_state_table(sim).to_html()
    assert "#FCE3B6" in html and "#CFE6F6" not in html  # 2 of 3 promised: a quorum
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    for _ in range(2):
        sim.deliver_next("PHASE2A")
    assert "#CFE6F6" in viz.acceptor_state_table(sim).to_html()  # chosen


def test_sequence_diagram_ends_drops_and_copies_in_flight_at_their_receivers():
    """Issue 13, defect 1: a dropped copy's ✗ sits on its receiver's lifeline, not half-way
    on a third one; a copy in flight ends at its receiver, on the now line."""
    sim = Simulation(seed=1, manual=True, proposers=1, learners=1, clients=1)
    sim.submit(1, ["v"])
    sim.deliver_all("SUBMIT")
    sim.advance(0.01)  # the prepares are in flight to the three acceptors
    lost = next(c for c in sim.in_flight if c.receiver == "acceptor2" and c.kind == "PHASE1A")
    sim.drop(lost.id)
    ax = viz.sequence_diagram(sim)
    names = [t.get_text() for t in ax.get_xticklabels()]
    (drop,) = [c for c in ax.collections if c.get_label() == "_drops"]
    assert [names[int(x)] for x, _ in drop.get_offsets()] == ["acceptor2"]
    now = next(line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--")
    flying = [a for a in arrows(ax) if a.get_linestyle() not in ("-", "solid")]
    ends = sorted(names[round(a._posA_posB[1][0])] for a in flying)
    assert ends == ["acceptor1", "acceptor3"]
    assert all(a._posA_posB[1][1] == now for a in flying)


def test_sequence_diagram_labels_carry_the_values_of_a_simulation():
    """Issue 13, defect 2: an accept's label shows the value it asks to accept."""
    sim = Simulation(seed=1, manual=True, proposers=1, learners=1, clients=1)
    sim.submit(1, ["v"])
    sim.deliver_all("SUBMIT")
    sim.advance(0.01)
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    texts = [t.get_text() for t in viz.sequence_diagram(sim).texts]
    assert "2A 1.1 i0 [v]" in texts and "submit [v]" in texts


# ---------------------------------------------------------------------- issue 13, defects 4 and 9


def _duel_sim():
    """Notebook 05's manual duel: several steps within one 0.1 ms of virtual time."""
    duel = Simulation(acceptors=3, proposers=2, learners=1, clients=1, manual=True,
                      backoff=False, seed=1)
    duel.submit(1, ["x"])
    duel.deliver_all("SUBMIT")
    duel.advance(0.01)
    duel.deliver_all("PHASE1A")
    duel.deliver_all("PHASE1B")
    duel.advance(0.07)
    for _ in range(4):
        for kind in ("PHASE1A", "PHASE2A", "NACK", "PHASE1B"):
            duel.deliver_all(kind)
        duel.advance(0.01)
    return duel


def test_sequence_diagram_time_ticks_never_repeat_a_label():
    ax = viz.sequence_diagram(_duel_sim(), instances=[0], kinds=["1A", "1B", "2A", "NACK"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) >= 5 and len(set(labels)) == len(labels), labels


def test_distinct_labels_use_just_enough_decimals():
    assert viz_style.distinct_labels([80.0, 80.04, 80.08, 90.0]) == [
        "80.00", "80.04", "80.08", "90.00"]
    assert viz_style.distinct_labels([6.1, 10.0]) == ["6.1", "10.0"]


def test_short_number_never_writes_e_notation():
    assert [viz_style.short_number(v) for v in (1500.0, 1834.7, 0.0081, 0.15, 2.0, 12.34)] == [
        "1500", "1835", "0.0081", "0.15", "2", "12.3"]
    df = pd.DataFrame({"loss": [0.0, 0.3], "timeout": [0.5, 0.5], "latency_p99_ms": [7.45, 1834.7]})
    ax = viz.sweep_heatmap(df, "loss", "timeout", "latency_p99_ms")
    assert not [t.get_text() for t in ax.texts if "e+" in t.get_text()]


def test_sweep_heatmap_title_and_colour_bar_are_human():
    df = pd.DataFrame({"loss": [0.0, 0.1], "timeout": [0.2, 0.2], "completion_time_s": [0.1, 0.4]})
    ax = viz.sweep_heatmap(df, "loss", "timeout", "completion_time_s")
    assert ax.get_title() == "Completion time (s) by loss and timeout"
    assert ax.figure.axes[-1].get_ylabel() == "completion time (s)"


def test_latency_histogram_median_and_p99_labels_never_overlap():
    latency = pd.DataFrame({"latency": [0.100] * 60 + [0.101] * 40})  # median ~ p99
    ax = viz.latency_histogram(latency)
    renderer = ax.figure.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_text().strip().startswith(("median", "p99"))]
    assert len(texts) == 2
    a, b = (t.get_window_extent(renderer) for t in texts)
    assert not a.overlaps(b)
    assert all(t.get_window_extent(renderer).y1 <= ax.bbox.y1 + 1 for t in texts)


def test_delivered_over_time_crops_a_long_quiet_tail_and_says_so():
    stuck = experiments.run_failures({"values": 5}, acceptors_up=2, kill=("acceptor", 1),
                                     kill_at=0.01)
    ax = viz.delivered_over_time(stuck, events={"acceptor 1 killed": 0.01})
    assert ax.get_xlim()[1] < 0.1  # the run lasts 3 s; the action is in its first 10 ms
    note = [t.get_text() for t in ax.texts]
    assert any("nothing more until the run ended at 2.9" in t for t in note), note


def test_delivered_over_time_on_shared_axes_keeps_the_widest_run():
    slow = {"values": 30, "batch": 1, "window": 4}
    long_run = experiments.run_failures(slow, kill=("proposer", 1), kill_at=0.02)
    short_run = experiments.run_failures(slow, kill=("acceptor", 1), kill_at=0.02)
    fig, (left, right) = plt.subplots(1, 2, sharex=True, sharey=True)
    viz.delivered_over_time(long_run, ax=left)
    viz.delivered_over_time(short_run, ax=right)
    end = float(long_run.run.learned["time"].max() - long_run.run.proposed["time"].min())
    assert left.get_xlim() == right.get_xlim() and right.get_xlim()[1] >= end


def test_delivered_over_time_of_a_run_where_nothing_happens_shows_all_of_it():
    stuck = experiments.run_failures({"values": 2}, acceptors_up=1)
    ax = viz.delivered_over_time(stuck)
    assert ax.get_xlim()[1] > 2.5  # no 2 ms crop of nothing: the 3 s of silence
    assert any("no value delivered in the" in t.get_text() for t in ax.texts)


def test_acceptor_state_table_says_in_words_what_its_tints_mean():
    """Issue 17 #19: meaning not in pale tints alone -- a text column says it too."""
    sim = Simulation(seed=1, manual=True, proposers=1, learners=1, clients=1)
    sim.submit(1, ["x"])
    sim.deliver_all("SUBMIT")
    sim.advance(0.1)
    for _ in range(2):
        sim.deliver_next("PHASE1A")
    marks = viz.acceptor_state_table(sim).data["quorum"].tolist()
    assert marks.count("quorum promised") == 2 and "chosen" not in "".join(marks)
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    for _ in range(2):
        sim.deliver_next("PHASE2A")
    marks = viz.acceptor_state_table(sim).data["quorum"].tolist()
    assert sum("chosen" in m for m in marks) == 2
    assert "chosen" in show_state(sim, "acceptors").data
