"""The Stepper, second edition, driven through its callbacks as a notebook would."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Image  # noqa: E402

from paxos_edu import stepper as stepper_module  # noqa: E402
from paxos_edu import widgets  # noqa: E402
from paxos_edu.errors import UsageError  # noqa: E402
from paxos_edu.explore import find_violation  # noqa: E402
from paxos_edu.rounds import make_round  # noqa: E402
from paxos_edu.sim import Simulation  # noqa: E402
from paxos_edu.stepper import Stepper, state_tables  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_leftover_figures")  # widgets close what they draw


@pytest.fixture(autouse=True)
def _outside_a_kernel(monkeypatch):
    """These tests run the Stepper as a script would: no running event loop, whatever an
    earlier test in this worker left running (playwright's sync API keeps one); with one,
    Play schedules its steps and pictures are drawn after the controls come back."""

    def no_loop():
        raise RuntimeError("no running event loop")

    monkeypatch.setattr(stepper_module.asyncio, "get_running_loop", no_loop)


def sim(**kwargs) -> Simulation:
    s = Simulation(seed=1, manual=True, proposers=2, learners=1, clients=1, **kwargs)
    s.submit(1, ["hello"])
    return s


def seen(st: Stepper) -> tuple:
    """What the page shows, apart from the picture."""
    status = re.sub(r" of \d+", "", st.status.value.split(" · last step")[0])  # Forward
    return (status, st.messages.options,
            tuple(v.value for v in st.tables.values()), st.sim.in_flight_table().to_csv())


def phase1(st: Stepper) -> None:
    st.deliver_selected()  # the submit reaches proposer1
    st.advance(0.1)        # proposers prepare


def test_widgets_still_exports_the_stepper():
    assert widgets.Stepper is Stepper


def test_back_after_three_steps_shows_the_state_after_two():
    st = Stepper(sim(), diagram=False)
    st.deliver_selected()
    st.advance(0.1)
    after_two = seen(st)
    st.deliver_selected()
    assert seen(st) != after_two
    assert st.back() == "back to step 3"  # the submit made before the stepper is step 1
    assert seen(st) == after_two
    assert not st.forward_button.disabled and len(st.sim.redo) == 1
    st.forward()
    assert len(st.sim.history) == 4 and st.forward_button.disabled  # 1 submit + 3


def test_acting_after_going_back_starts_a_branch():
    st = Stepper(sim(), diagram=False)
    phase1(st)
    st.messages.value = st._listed()[0].id
    st.deliver_selected()
    first = st.sim.history[-1]
    st.back()
    other = st._listed()[1]
    st.messages.value = other.id
    assert st.deliver_selected() == "deliver " + other.describe()
    assert st.sim.history[-1] is not first and st.sim.redo == ()
    assert [v for _, v in st.steps.options] == list(range(len(st.sim.history) + 1))
    assert st.forward_button.disabled


def test_clicking_a_step_in_the_list_goes_there():
    st = Stepper(sim(), diagram=False)
    phase1(st)
    st.deliver_selected()
    labels = [label for label, _ in st.steps.options]
    assert labels[0] == "0. start" and labels[1].startswith("1. t=0.000 client1 submits")
    st.steps.value = 1
    assert len(st.sim.history) == 1 and st.sim.now == 0.0
    assert any("(undone)" in label for label, _ in st.steps.options)
    assert st.history == []  # the stepper's own steps were all undone


def test_controls_are_disabled_while_a_step_is_applied_and_calls_are_refused(monkeypatch):
    st = Stepper(sim(), diagram=False)
    real = st.sim.deliver
    during = {}

    def spy(msg_id, keep=False):
        during["busy"] = st.busy
        during["disabled"] = [c.disabled for c in st.controls]
        during["nested"] = st.drop_selected()  # a click that arrives meanwhile
        return real(msg_id, keep=keep)

    monkeypatch.setattr(st.sim, "deliver", spy)
    st.deliver_selected()
    assert during["busy"] and all(during["disabled"])
    assert during["nested"] is None and not st.sim.stats["dropped"]
    assert not st.busy and not st.back_button.disabled


def test_counts_match_what_is_listed_and_heartbeats_are_counted_apart():
    st = Stepper(sim(), diagram=False)
    phase1(st)
    st.advance(0.1)
    hidden = sum(c.kind == "HEARTBEAT" for c in st.sim.in_flight)
    assert hidden > 0
    listed = len(st.messages.options)
    assert f"{listed} messages in flight listed (+{hidden} heartbeats hidden)" in st.status.value
    st.heartbeats.value = True
    assert len(st.messages.options) == len(st.sim.in_flight)
    assert "hidden" not in st.status.value


def test_the_message_list_text_is_not_cut():
    st = Stepper(sim(), diagram=False)
    phase1(st)
    for copy in st.sim.in_flight:
        if copy.kind == "PHASE1A":
            st.deliver(copy.id)
    labels = [label for label, _ in st.messages.options]
    assert any("promise from acceptor" in label for label in labels)
    assert not any(label.endswith("…") for label in labels)
    assert st.messages.layout.width == "100%"


def test_state_tables_use_human_labels():
    s = sim()
    st = Stepper(s, diagram=False)
    phase1(st)
    st.deliver_all()
    tables = state_tables(s)
    text = "".join(tables.values())
    assert "_raw" not in text and "&lt;NA&gt;" not in text and "<NA>" not in text
    assert "nan" not in text and "<th></th>" not in text  # no pandas index column
    assert re.search(r"<td[^>]*>\d+\.\d+</td>", tables["acceptors"])  # rounds like 1.1
    assert str(make_round(1, 1)) not in text  # no raw wire round
    assert st.tables["acceptors"].value == tables["acceptors"]


def test_crash_and_restart_where_it_is_safe():
    st = Stepper(sim(), diagram=False)
    st.process.value = ("proposer", 1)
    assert st.restart_button.disabled and not st.crash_button.disabled
    st.crash_button.click()
    assert not st.sim.processes[("proposer", 1)].alive
    assert ("proposer1 (crashed)", ("proposer", 1)) in st.process.options
    assert not st.restart_button.disabled
    assert st.restart_button.click() is None and st.sim.processes[("proposer", 1)].alive
    st.process.value = ("acceptor", 2)
    st.crash_button.click()
    assert st.restart_button.disabled and "storage" in st.restart_button.tooltip
    assert st.restart("acceptor", 2).startswith("not done: acceptor2 keeps no storage")
    assert not st.sim.processes[("acceptor", 2)].alive
    st.back()
    assert st.sim.processes[("acceptor", 2)].alive


def test_play_delivers_in_the_simulators_order_and_stops_when_all_is_delivered():
    st = Stepper(sim(), diagram=False)
    for _ in range(2):  # the submit's two copies, oldest first
        oldest = st.sim.in_flight[0]
        assert st.play_step() == "deliver " + oldest.describe()
    assert st.play_step().startswith("advanced ")  # nothing in flight: to the next timer
    assert st.toggle_play(steps=500) is False      # no event loop here: plays, then stops
    assert st.sim.delivered[1] and st.sim._complete()
    assert st.play_button.description == "Play" and not st.playing


def test_observers_hear_of_every_step_and_back_and_forward_work_from_code():
    st = Stepper(sim(), diagram=False)
    calls = []
    st.on_step(lambda s: calls.append(len(s.sim.history)))
    st.deliver_selected()
    st.back()
    st.forward()
    assert calls == [2, 1, 2]


def test_pictures_are_drawn_once_per_step(monkeypatch):
    drawn = []

    def fake(fig, dpi=80):
        drawn.append(dpi)
        plt.close(fig)
        return f"png{len(drawn)}"

    monkeypatch.setattr(widgets, "figure_image", fake)
    st = Stepper(sim(), diagram="picture")
    st.deliver_selected()
    st.back()
    st.forward()
    assert len(drawn) == 2 and st.shown[-1] == "png2"
    assert drawn == [80, 80]  # readable: not the old 70 dpi


def test_a_counterexample_opens_at_its_first_step_and_plays_forward():
    cx = find_violation("shared-rounds", seed=0, max_runs=50)
    st = Stepper(cx.simulation(), diagram=False)
    assert st.back_button.disabled and not st.forward_button.disabled
    assert len(st.steps.options) == len(cx.schedule) + 1
    for _ in cx.schedule:
        st.forward()
    assert tuple(st.sim.trace) == tuple(cx.trace)
    assert st.forward_button.disabled


def test_stepper_module_keeps_the_widget_pattern():
    assert stepper_module.Stepper.__mro__[1] is widgets._Panel


def test_the_lamport_diagram_is_shown_and_its_clicks_redraw_the_stepper():
    st = Stepper(sim())  # default: the interactive diagram when anywidget is there
    view = st.lamport
    assert view is not None and st.diagram_box.children == (view,) and not st.diagram
    copy = st.sim.in_flight[0]
    view._on_page_message(view, {"action": "deliver", "msg_id": copy.id}, [])
    assert st.sim.history[-1].action == "deliver"
    assert copy.describe() in st.history[-1] and "step 2 of 2" in st.status.value
    before = view.data
    st.back()
    assert view.data != before and "step 1 of 2" in st.status.value



def manual_sim():
    sim = Simulation(seed=1, manual=True, proposers=1, learners=1, clients=1)
    sim.submit(1, ["hello"])
    return sim


# ---------------------------------------------------------------------- moved from test_widgets.py


def test_stepper_needs_a_manual_simulation():
    with pytest.raises(UsageError):
        widgets.Stepper(Simulation(seed=1))


def test_stepper_delivers_the_selected_message_and_the_state_table_changes(clears, no_pictures):
    sim = manual_sim()
    st = widgets.Stepper(sim, diagram="picture")  # the default is now the Lamport widget
    assert [label for label, _ in st.messages.options][0].startswith("client1 -> proposer1")
    assert st.deliver_selected().startswith("deliver client1 -> proposer1: SUBMIT")
    st.advance(0.1)  # proposer1's patience runs out: it prepares
    assert all(c.kind == "PHASE1A" for c in st._listed())
    before = st.state_table()
    st.messages.value = st._listed()[1].id  # the 1A to acceptor2
    st.deliver_button.click()
    after = st.state_table()
    changed = after.compare(before)
    assert list(changed.index) == [1] and after.loc[1, "rnd"] == "1.1"
    assert st.history[-1].startswith("deliver proposer1 -> acceptor2: PHASE1A")
    assert any(c.kind == "PHASE1B" and c.sender == "acceptor2" for c in sim.in_flight)
    assert clears and all(clears)  # every refresh replaces the output
    assert st.shown[-1] == "png"  # the sequence diagram
    assert "t = 0.100 s" in st.status.value


def test_stepper_drop_deliver_all_and_hidden_heartbeats():
    sim = manual_sim()
    st = widgets.Stepper(sim, diagram=False)
    st.drop_button.click()
    assert [r.event for r in sim.trace][-1] == "dropped"
    assert st.deliver_selected() == "nothing to deliver"
    st.advance(0.1)
    assert any(c.kind == "HEARTBEAT" for c in sim.in_flight)
    assert all(c.kind != "HEARTBEAT" for c in st._listed())
    st.heartbeats.value = True
    assert any(c.kind == "HEARTBEAT" for c in st._listed())
    st.deliver_all_button.click()
    assert sim.in_flight == [] and st.messages.options == ()
    assert st.history[-1].startswith("delivered ")


def test_stepper_advance_button_uses_the_dt_box():
    st = widgets.Stepper(manual_sim(), diagram=False)
    st.dt.value = 0.25
    st.advance_button.click()
    assert st.sim.now == pytest.approx(0.25)
    assert st.history == ["advanced 0.25 s"]
    assert len(st.shown) == 3  # tables only, no diagram
    st.diagram = True
    st.refresh()
    assert isinstance(st.shown[-1], Image) and st.shown[-1].data.startswith(b"\x89PNG")


def test_show_state_gives_notebooks_the_same_human_tables():
    s = sim()
    shown = stepper_module.show_state(s, "proposers", "in_flight").data
    assert "Proposers" in shown and "In flight (2 of 2 copies)" in shown
    assert "_raw" not in shown and "&lt;NA&gt;" not in shown and "<NA>" not in shown
    s.deliver_all("SUBMIT")
    s.advance(0.01)
    only = stepper_module.in_flight_html(s, ["phase1a"])
    assert only.count("<td>PHASE1A</td>") == 3 and "HEARTBEAT" not in only
    with pytest.raises(UsageError, match="unknown table 'votes'"):
        stepper_module.show_state(s, "votes")


def test_an_acceptor_that_keeps_storage_may_restart_and_back_undoes_it():
    st = Stepper(sim(storage=True), diagram=False)
    st.crash("acceptor", 1)
    st.process.value = ("acceptor", 1)
    assert not st.restart_button.disabled
    assert st.restart_selected() == "restarted acceptor1"
    assert st.sim.processes[("acceptor", 1)].alive
    st.back()
    assert not st.sim.processes[("acceptor", 1)].alive
    assert [s.action for s in st.sim.redo] == ["restart"]


def test_the_picked_message_is_shown_in_full_below_the_list():
    st = Stepper(sim(), diagram=False)
    phase1(st)
    second = st._listed()[1]
    st.messages.value = second.id
    assert html_text(st.picked.value) == "picked: " + second.describe()
    st.deliver_all()
    assert st.sim.in_flight == [] and "nothing in flight" in st.picked.value


def html_text(value: str) -> str:
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", value))
