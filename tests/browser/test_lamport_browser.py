"""The Lamport diagram in a real browser: the widget in JupyterLab, the export offline.

In JupyterLab (the session's server, see conftest.py): hover a message and read its
values, click a message in flight and deliver it -- the kernel's simulation changes, which
a second output of the same notebook prints -- and scrub the events with the slider. Then
an exported file opened from ``file://`` with every network request aborted: it renders
and hover works. Every step leaves a screenshot in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600),
              pytest.mark.xdist_group("jupyterlab")]

NB_LAMPORT = "lamport-widget.ipynb"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"  # as conftest.py

SETUP = """\
import ipywidgets as w
from paxos_edu import Simulation
from paxos_edu.lamport import LamportDiagram

sim = Simulation(acceptors=3, proposers=2, learners=2, clients=2, manual=True, seed=1)
sim.submit(1, ["x"])
sim.deliver_all("SUBMIT")
sim.advance(0.01)
sim.deliver_all("PHASE1A")
sim.deliver_all("PHASE1B")          # proposer 1 leads; its accepts (2A) are in flight
"""

SHOW = """\
kernel = w.HTML()
kernel.add_class("kernel-report")
def report(_diagram=None):
    table = sim.acceptor_table()
    v_val = table[(table["acceptor"] == 1) & (table["instance"] == 0)]["v_val"].iloc[0]
    kernel.value = f"kernel: acceptor 1 accepted [{v_val}]; {len(sim.in_flight)} in flight"
diagram = LamportDiagram(sim, title="test: one accept in flight")
diagram.observe_changes(report)
report()
w.VBox([diagram, kernel])
"""


def write_notebook(path: Any) -> None:
    cells = [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
              "outputs": [], "source": src} for i, src in enumerate((SETUP, SHOW))]
    nb = {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"}, "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))


def svg_texts(locator: Any) -> list[str]:
    """The text of SVG elements (they have no innerText)."""
    return locator.evaluate_all("els => els.map(e => e.textContent)")


def shown_events(root: Any) -> tuple[int, int]:
    match = re.search(r"event (\d+) of (\d+)", root.locator(".lamport-where").inner_text())
    assert match, root.locator(".lamport-where").inner_text()
    return int(match.group(1)), int(match.group(2))


def test_lamport_widget_hover_click_to_deliver_and_scrub(notebook: Any) -> None:
    """Hover an accept (2A) in flight: the tooltip names it and shows its value ``x``.
    Click it and choose Deliver: the kernel's simulation delivers it (the kernel's own
    output says acceptor 1 accepted [x]), the arrow now ends at acceptor 1 as received.
    Scrub back to the start and forward: the events shown follow the slider."""
    write_notebook(notebook.server.root / NB_LAMPORT)  # served from the server's own copy
    nb = notebook.open(NB_LAMPORT)
    nb.run_all(timeout_s=90)
    page = nb.page
    assert nb.errors() == []
    root = page.locator(".lamport").first
    root.wait_for(state="visible", timeout=30_000)
    kernel = page.locator(".kernel-report").first
    kernel.wait_for(state="visible", timeout=30_000)
    assert "acceptor 1 accepted []" in kernel.inner_text()
    view = nb.cell_with(root).locator(".jp-OutputArea-output").first
    nb.shot("rendered", view)

    # 1. hover: kind, round, instance and the value it carries
    accept = root.locator('.lamport-clickable[data-kind="PHASE2A"][data-to="acceptor1"]')
    assert accept.count() == 1, "proposer 1's accept to acceptor 1 is not drawn in flight"
    assert accept.get_attribute("data-outcome") == "in flight"
    msg_id = accept.get_attribute("data-msg-id")
    accept.hover()
    tip = root.locator(".lamport-tip")
    nb.wait_until(lambda: tip.is_visible() and "values: x" in tip.inner_text(), 10,
                  "the tooltip with the accept's value")
    text = tip.inner_text()
    assert "2A accept!" in text and "round 1.1" in text and "instance 0" in text, text
    assert "proposer 1 \u2192 acceptor 1" in text and "in flight" in text, text
    labels = svg_texts(root.locator('.lamport-label[data-kind="PHASE2A"]'))
    assert "2A 1.1 i0 [x]" in labels
    nb.shot("hover", view)

    # 2. click, Deliver: the kernel's simulation delivers that very copy
    accept.click()
    menu = root.locator(".lamport-menu")
    menu.wait_for(state="visible", timeout=10_000)
    nb.shot("menu", view)
    menu.locator(".lamport-deliver").click()
    done = root.locator(f'.lamport-msg[data-msg-id="{msg_id}"][data-outcome="delivered"]')
    nb.wait_until(lambda: done.count() == 1, 30, "the accept to be drawn as received")
    nb.wait_until(lambda: "acceptor 1 accepted [x]" in kernel.inner_text(), 30,
                  "the kernel to report acceptor 1's vote")
    status = root.locator(".lamport-status").inner_text()
    assert "delivered: proposer1 -> acceptor1: PHASE2A" in status, status
    votes = root.locator('.lamport-clickable[data-kind="PHASE2B"][data-from="acceptor1"]')
    nb.wait_until(lambda: votes.count() >= 2, 30, "acceptor 1's votes (2B) in flight")
    nb.shot("delivered", view)

    # 3. scrub: back to no event, then forward three events, with the keyboard
    k, n = shown_events(root)
    assert k == n and n > 10
    drawn = root.locator(".lamport-msg")
    before = drawn.count()
    scrub = root.locator("input.lamport-scrub")
    scrub.focus()
    scrub.press("Home")
    nb.wait_until(lambda: shown_events(root) == (0, n), 10, "the slider to show no event")
    assert drawn.count() == 0
    for _ in range(3):
        scrub.press("ArrowRight")
    nb.wait_until(lambda: shown_events(root) == (3, n), 10, "three events shown")
    assert 0 < drawn.count() < before
    assert "last event:" in root.locator(".lamport-event").inner_text()
    nb.shot("scrubbed", view)
    scrub.press("End")
    nb.wait_until(lambda: shown_events(root) == (n, n), 10, "every event shown again")
    assert nb.errors() == []
    assert nb.problems == []


def test_exported_diagram_works_offline(chromium: Any, tmp_path: Any) -> None:
    """An exported counterexample opened from file:// with the network blocked: it draws
    both conflicting accepts with their values, the violation, and hover shows a value."""
    from paxos_edu import viz
    from paxos_edu.explore import find_violation

    cx = find_violation("shared-rounds", seed=1)
    path = viz.export_html(cx, tmp_path / "shared-rounds.html", in_flight=False,
                           title="shared-rounds: the shortest failing schedule")
    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    requests: list[str] = []
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        context.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        root = page.locator(".lamport")
        assert "total order / agreement violated" in root.locator(".lamport-verdict").inner_text()
        labels = svg_texts(root.locator('.lamport-label[data-kind="PHASE2A"]'))
        same_slot = [t.rsplit(" ", 1) for t in labels if t.startswith("2A 1.0 i0 ")]
        assert len({value for _, value in same_slot}) == 2, labels  # two values, one round
        assert root.locator(".lamport-mark.lamport-violation").count() == 2
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lamport-export-01-offline.png"), full_page=True)
        accept = root.locator('.lamport-msg[data-kind="PHASE2A"][data-outcome="delivered"]').first
        accept.hover()
        tip = root.locator(".lamport-tip")
        tip.wait_for(state="visible", timeout=5_000)
        assert re.search(r"values: (a|b|no-op)", tip.inner_text()), tip.inner_text()
        page.screenshot(path=str(ARTIFACTS / "lamport-export-02-hover.png"), full_page=True)
        assert root.locator(".lamport-clickable").count() == 0  # no kernel: nothing to click
        assert errors == []
    finally:
        context.close()
    assert [u for u in requests if not u.startswith(("file:", "blob:", "data:"))] == []
