"""The Lamport diagram's Python side, without a browser: the data it sends to the page,
what a click request does to the simulator, and the self-contained HTML export."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from paxos_edu import Simulation
from paxos_edu.bugs import Bug
from paxos_edu.errors import UsageError
from paxos_edu.experiments import run_experiment
from paxos_edu.explore import find_violation
from paxos_edu.lamport import LamportDiagram, diagram_data, export_html, html_page
from paxos_edu.lamport.widget import asset
from paxos_edu.runlog import Run


def prepared(seed: int = 1) -> Simulation:
    """A manual simulation with proposer 1's prepares in flight to the three acceptors."""
    sim = Simulation(acceptors=3, proposers=2, learners=2, clients=2, manual=True, seed=seed)
    sim.submit(1, ["x"])
    sim.deliver_all("SUBMIT")
    sim.advance(0.01)
    return sim


def accepted(seed: int = 1) -> Simulation:
    """One value decided by hand: phase 1 and 2 delivered, nothing else."""
    sim = prepared(seed)
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    sim.deliver_all("PHASE2A")
    sim.deliver_all("PHASE2B")
    return sim


def by_kind(data: dict, kind: str) -> list[dict]:
    return [m for m in data["messages"] if m["kind"] == kind]


@pytest.fixture(scope="module")
def shared_rounds():
    return find_violation(Bug.SHARED_ROUNDS, seed=1)


# ---------------------------------------------------------------------- data


def test_every_process_has_a_lifeline_grouped_by_role():
    data = diagram_data(prepared())
    names = [p["name"] for p in data["processes"]]
    assert names == ["client1", "client2", "proposer1", "proposer2", "acceptor1", "acceptor2",
                     "acceptor3", "learner1", "learner2"]
    assert data["processes"][4] == {"name": "acceptor1", "role": "acceptor", "label": "acceptor 1"}


def test_in_flight_copies_are_clickable_messages_that_end_at_their_receiver():
    sim = prepared()
    data = diagram_data(sim)
    flying = {m["msg_id"]: m for m in data["messages"] if m["outcome"] == "in flight"}
    assert set(flying) == {c.id for c in sim.in_flight}
    for copy in sim.in_flight:
        m = flying[copy.id]
        assert (m["from"], m["to"], m["kind"]) == (copy.sender, copy.receiver, copy.kind)
        assert m["end"] is None and m["clickable"] is True
    prepares = [m for m in flying.values() if m["kind"] == "PHASE1A"]
    assert {m["to"] for m in prepares} == {"acceptor1", "acceptor2", "acceptor3"}
    assert {m["round"] for m in prepares} == {"1.1"} and {m["instance"] for m in prepares} == {0}
    assert data["interactive"] is True


def test_the_copies_of_one_multicast_share_their_send_row_and_each_event_has_a_row():
    sim = prepared()
    data = diagram_data(sim)
    prepares = by_kind(data, "PHASE1A")
    assert len({m["sent"] for m in prepares}) == 1
    row = data["rows"][prepares[0]["sent"]]
    assert row["text"] == "proposer 1 sends 1A 1.1 i0 to acceptor 1, acceptor 2, acceptor 3"
    receipts = [m["end"] for m in data["messages"] if m["end"] is not None]
    assert len(receipts) == len(set(receipts)), "two receipts on one row"
    assert len(data["rows"]) == len({(r.time, r.sender, r.kind, r.msg_id) for r in sim.trace
                                     if r.event != "sent"}) + len(
        {m["sent"] for m in data["messages"]})


def test_labels_and_hover_data_carry_round_instance_and_values():
    data = diagram_data(accepted())
    accepts = by_kind(data, "PHASE2A")
    assert accepts and {m["label"] for m in accepts} == {"2A 1.1 i0 [x]"}
    assert all(m["values"] == ["x"] for m in accepts)
    assert accepts[0]["summary"] == "accept! [x]"
    votes = by_kind(data, "PHASE2B")
    assert {m["label"] for m in votes} == {"2B 1.1 i0 [x]"}
    assert by_kind(data, "SUBMIT")[0]["values"] == ["x"]


def test_a_promise_shows_the_vote_it_reports():
    sim = prepared()  # notebook 06: x accepted by every acceptor, every vote lost
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    sim.deliver_all("PHASE2A")
    for copy in [c for c in sim.in_flight if c.kind == "PHASE2B"]:
        sim.drop(copy.id)
    sim.crash("proposer", 1)
    sim.advance(0.3)  # proposer 2 prepares a higher round
    sim.deliver_all("PHASE1A")
    promises = [m for m in by_kind(diagram_data(sim), "PHASE1B") if m["round"] == "1.2"]
    assert promises and all(m["label"] == "1B 1.2 i0 [x@1.1]" for m in promises)
    assert "i0@1.1 = x" in promises[0]["values"]


def test_deliveries_are_marked_on_the_learner_lifelines_at_the_row_of_their_cause():
    sim = accepted()
    data = diagram_data(sim)
    marks = [m for m in data["marks"] if m["type"] == "delivery"]
    assert {m["process"] for m in marks} == {"learner1", "learner2"}
    for mark in marks:
        cause = [m for m in data["messages"] if m["end"] == mark["row"]]
        assert len(cause) == 1 and cause[0]["to"] == mark["process"]
        assert cause[0]["kind"] == "PHASE2B" and cause[0]["outcome"] == "delivered"
        assert mark["values"] == ["x"] and mark["instance"] == 0


def test_a_drop_ends_at_the_receiver_on_the_row_of_the_drop():
    sim = prepared()
    copy = next(c for c in sim.in_flight if c.receiver == "acceptor2" and c.kind == "PHASE1A")
    sim.drop(copy.id)
    data = diagram_data(sim)
    m = next(m for m in data["messages"] if m["msg_id"] == copy.id)
    assert (m["outcome"], m["to"], m["reason"]) == ("dropped", "acceptor2", "by hand")
    assert m["end"] == len(data["rows"]) - 1 > m["sent"]
    assert "dropped by hand" in data["rows"][m["end"]]["text"]


def test_a_crash_is_marked_after_the_last_event_of_the_process():
    sim = prepared()
    sim.crash("acceptor", 3)
    data = diagram_data(sim)
    crash = next(m for m in data["marks"] if m["type"] == "crash")
    assert crash["process"] == "acceptor3" and crash["row"] == len(data["rows"]) - 0.5


def test_the_shared_rounds_counterexample_shows_two_values_in_one_round(shared_rounds):
    data = diagram_data(shared_rounds)
    accepts = {(m["round"], m["instance"], m["values"][0])
               for m in by_kind(data, "PHASE2A")}
    by_slot: dict[tuple, set] = {}
    for rnd, instance, value in accepts:
        by_slot.setdefault((rnd, instance), set()).add(value)
    (rnd, instance), values = next((slot, v) for slot, v in by_slot.items() if len(v) > 1)
    labels = {m["label"] for m in by_kind(data, "PHASE2A")}
    assert {f"2A {rnd} i{instance} [{v}]" for v in values} <= labels, labels


def test_a_violation_is_attached_to_the_conflicting_deliveries(shared_rounds):
    data = diagram_data(shared_rounds)
    v = data["violation"]
    assert v["property"] == "total order / agreement"
    bad = [m for m in data["marks"] if m.get("violation")]
    assert sorted(m["process"] for m in bad) == ["learner1", "learner2"]
    assert len({m["values"][0] for m in bad}) == 2
    assert v["row"] == max(m["row"] for m in bad)
    assert "session" not in v["detail"] and "learner 2 delivered 'b'" in v["detail"]


def test_a_safe_run_has_no_violation_and_says_what_was_checked():
    data = diagram_data(accepted())
    assert data["violation"] is None
    assert [c["ok"] for c in data["checks"][:3]] == [True, True, True]


def test_a_result_is_drawn_but_not_clickable():
    sim = prepared()
    data = diagram_data(sim.result())
    assert data["interactive"] is False
    assert not any(m["clickable"] for m in data["messages"])
    assert len(data["messages"]) == len(diagram_data(sim)["messages"])


def test_a_real_run_pairs_sends_and_receipts_and_never_goes_back_in_time():
    result = run_experiment(dict(backend="sim", values=3, trace="messages"))
    simrun = getattr(result, "run", result)
    run = Run(**{f.name: getattr(simrun, f.name) for f in dataclasses.fields(Run)})
    messages = run.messages.copy()
    # one receipt logged 2 ms before its send: clocks of two processes disagree
    first = messages.index[messages["direction"] == "received"][0]
    messages.loc[first, "time"] -= 0.002
    run = dataclasses.replace(run, messages=messages.sort_values("time", kind="stable"))
    data = diagram_data(run)
    assert data["source"] == "run" and data["interactive"] is False
    arrows = [m for m in data["messages"] if m["outcome"] == "delivered"]
    assert len(arrows) >= 20
    assert all(m["end"] > m["sent"] for m in arrows), "an arrow goes up"
    times = [row["t"] for row in data["rows"]]
    assert times == sorted(times), "the time axis goes back"
    assert all(m["values"] is None for m in arrows)  # real processes do not log values
    learned = run.learned
    marks = [m for m in data["marks"] if m["type"] == "delivery"]
    assert sum(len(m["values"]) for m in marks) == len(learned)
    assert data["violation"] is None


def test_the_data_is_plain_json():
    for source in (prepared(), accepted().result()):
        json.dumps(diagram_data(source), allow_nan=False)


def test_an_unknown_source_is_a_usage_error():
    with pytest.raises(UsageError, match="cannot draw a Lamport diagram of int"):
        diagram_data(3)


# ---------------------------------------------------------------------- the widget


def test_the_widget_ships_the_packaged_module_and_style():
    widget = LamportDiagram(prepared())
    assert widget._esm == asset("lamport.js") and "export default" in widget._esm
    assert widget._css == asset("lamport.css")
    assert widget.data["interactive"] is True


def test_a_click_on_an_in_flight_message_delivers_it_in_the_same_simulation():
    sim = prepared()
    widget = LamportDiagram(sim)
    copy = next(c for c in sim.in_flight if c.receiver == "acceptor1" and c.kind == "PHASE1A")
    seen = []
    widget.observe_changes(seen.append)
    widget._on_page_message(widget, {"action": "deliver", "msg_id": copy.id}, [])
    assert copy.id not in {c.id for c in sim.in_flight}
    assert sim.process("acceptor", 1).promised(0) == copy.message.rnd
    m = next(m for m in widget.data["messages"] if m["msg_id"] == copy.id)
    assert m["outcome"] == "delivered" and m["end"] is not None
    assert widget.status.startswith("delivered: proposer1 -> acceptor1: PHASE1A")
    assert seen == [widget] and widget.busy is False
    promise = [m for m in widget.data["messages"] if m["kind"] == "PHASE1B"]
    assert promise and all(m["outcome"] == "in flight" and m["clickable"] for m in promise)


def test_a_click_can_drop_an_in_flight_message():
    sim = prepared()
    widget = LamportDiagram(sim)
    copy = next(c for c in sim.in_flight if c.receiver == "acceptor2")
    widget._on_page_message(widget, {"action": "drop", "msg_id": copy.id}, [])
    assert copy.id not in {c.id for c in sim.in_flight}
    assert sim.process("acceptor", 2).promised(0) == 0
    m = next(m for m in widget.data["messages"] if m["msg_id"] == copy.id)
    assert m["outcome"] == "dropped" and m["to"] == "acceptor2"


@pytest.mark.parametrize("content, why", [
    ({"action": "deliver", "msg_id": 99999}, "not in flight any more"),
    ({"action": "deliver", "msg_id": "3"}, "whole-number msg_id"),
    ({"action": "explode"}, "unknown request"),
])
def test_a_bad_request_is_refused_in_words_and_changes_nothing(content, why):
    sim = prepared()
    widget = LamportDiagram(sim)
    before = [c.id for c in sim.in_flight]
    widget._on_page_message(widget, content, [])
    assert why in widget.status and widget.status.startswith("not done")
    assert [c.id for c in sim.in_flight] == before


def test_a_finished_run_refuses_clicks():
    sim = prepared()
    widget = LamportDiagram(sim.result())
    assert widget.sim is None
    with pytest.raises(UsageError, match="finished run"):
        widget.handle({"action": "deliver", "msg_id": sim.in_flight[0].id})


def test_refresh_follows_the_simulation_changed_from_code():
    sim = prepared()
    widget = LamportDiagram(sim)
    rows = len(widget.data["rows"])
    sim.deliver_all("PHASE1A")
    widget.refresh()
    assert len(widget.data["rows"]) > rows


def test_a_stepper_like_source_is_driven_through_its_simulation():
    class Holder:
        def __init__(self, sim):
            self.sim = sim

    sim = prepared()
    widget = LamportDiagram(Holder(sim))
    assert widget.sim is sim and widget.data["interactive"] is True


# ---------------------------------------------------------------------- export


def test_the_export_is_one_self_contained_file(tmp_path, shared_rounds):
    path = export_html(shared_rounds, tmp_path / "cx.html", title="shared rounds")
    text = path.read_text(encoding="utf-8")
    assert "default-src 'none'" in text  # the page itself forbids any fetch
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text
    assert "<link" not in text and "@import" not in text
    data = json.loads(re.search(r'<script type="application/json" id="lamport-data">(.*?)'
                                r"</script>", text, re.S).group(1))
    assert data["interactive"] is False and data["title"] == "shared rounds"
    assert data["violation"]["property"] == "total order / agreement"
    module = re.search(r'<script type="module">\s*const source = (".*?");\n', text, re.S).group(1)
    assert json.loads(module) == asset("lamport.js")
    assert asset("lamport.css") in text


def test_the_export_escapes_values_that_look_like_html(tmp_path):
    sim = Simulation(acceptors=1, proposers=1, learners=1, clients=1, manual=True)
    sim.submit(1, ["</script><script>alert(1)</script>"])
    text = html_page(sim)
    assert text.count("</script>") == 2  # the data and the module; nothing from the value
    data = json.loads(re.search(r'id="lamport-data">(.*?)</script>', text, re.S).group(1))
    assert data["messages"][0]["values"] == ["</script><script>alert(1)</script>"]


def test_viz_export_html_writes_the_same_page(tmp_path):
    from paxos_edu import viz

    sim = accepted()
    path = viz.export_html(sim.result(), tmp_path / "run.html", title="one value")
    assert path.read_text(encoding="utf-8") == html_page(sim.result(), title="one value")


def test_the_assets_are_package_data_of_a_plain_install():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    setup = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "paxos_edu.lamport" in setup["packages"]
    globs = setup["package-data"]["paxos_edu.lamport"]
    assets = [p for p in (root / "paxos_edu" / "lamport").iterdir() if p.suffix in (".js", ".css")]
    assert len(assets) == 2 and all(any(p.match(g) for g in globs) for p in assets)


def test_an_instance_decided_behind_a_gap_is_marked_where_the_learner_learns_it():
    """A learner that hears a quorum of votes for instance 1 before instance 0 is decided
    cannot deliver yet: a decision mark (◇) sits on that row, the delivery comes later."""
    sim = Simulation(acceptors=3, proposers=1, learners=1, clients=1, manual=True, seed=1,
                     batch=1)
    sim.submit(1, ["a", "b"])
    sim.deliver_all("SUBMIT")
    sim.advance(0.01)
    sim.deliver_all("PHASE1A")
    sim.deliver_all("PHASE1B")
    sim.deliver_all("PHASE2A")
    votes = [c for c in sim.in_flight if c.kind == "PHASE2B" and c.receiver == "learner1"]
    assert {c.message.instance for c in votes} == {0, 1}
    for copy in sorted(votes, key=lambda c: -c.message.instance):  # instance 1 first
        sim.deliver(copy.id)
    data = diagram_data(sim)
    (decision,) = [m for m in data["marks"] if m["type"] == "decision"]
    deliveries = [m for m in data["marks"] if m["type"] == "delivery"]
    assert decision["process"] == "learner1" and decision["instance"] == 1
    assert "waits for an earlier instance" in decision["detail"]
    assert [m["values"] for m in deliveries] == [["a", "b"]]  # both at once, later
    assert deliveries[0]["instances"] == [0, 1]
    assert deliveries[0]["row"] > decision["row"]


def test_the_diagram_is_part_of_the_public_api():
    import paxos_edu

    assert paxos_edu.LamportDiagram is LamportDiagram and "LamportDiagram" in paxos_edu.__all__
    assert paxos_edu.lamport.export_html is export_html


def test_a_long_finished_run_is_cut_to_its_first_sends_and_says_so():
    sim = Simulation(seed=1, batch=1)
    for client in (1, 2):
        sim.submit(client, [f"v{client}-{i}" for i in range(20)])
    result = sim.run(5.0)
    full = diagram_data(result, max_sends=10_000)
    data = diagram_data(result, max_sends=50)
    sends = sorted({m["sent"] for m in full["messages"]})
    assert len(sends) > 50 and len({m["sent"] for m in data["messages"]}) == 50
    assert data["title"].endswith(f"(first 50 of {len(sends)} sends)")
    assert len(data["rows"]) == sends[50] < len(full["rows"])
    assert all(m["end"] is None or m["end"] < len(data["rows"]) for m in data["messages"])
    assert any(m.get("cut") for m in data["messages"])
    assert all(m["row"] < len(data["rows"]) for m in data["marks"])
    live = prepared()
    assert "first" not in diagram_data(live, max_sends=1)["title"]  # the present stays
