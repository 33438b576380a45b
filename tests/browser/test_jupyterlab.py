"""The course notebooks in a real browser: JupyterLab in headless Chromium (Playwright).

nbclient proves that cells run; these tests prove that a student sees working widgets:
they run every cell from the menu, find the sliders and buttons in the page, move and
click them like a person would, and check that what the kernel sends back changes the
page. Every step leaves a screenshot in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

# One JupyterLab per pytest process: with ``--dist loadgroup`` xdist keeps these tests on
# one worker (one server, one browser); with plain ``-n`` each worker starts its own.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600),
              pytest.mark.xdist_group("jupyterlab")]

NB_PHASE1 = "01-phase1-prepare-promise.ipynb"
NB_LOSS = "04-message-loss-and-timeouts.ipynb"


def slider(scope: Any, label: str, css_class: str) -> Any:
    """An ipywidgets slider in ``scope`` (page or locator) found by its stable class, or
    else by its exact description."""
    page = getattr(scope, "page", scope)  # inner locators of has= start from the page
    by_label = scope.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    return scope.locator(f".widget-slider.{css_class}").or_(by_label).first


def button(scope: Any, text: str, css_class: str) -> Any:
    """An ipywidgets button found by its stable class, or else by its exact text."""
    by_text = scope.locator("button.widget-button",
                            has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))
    return scope.locator(f"button.widget-button.{css_class}").or_(by_text).first


def readout(slider_box: Any) -> str:
    return slider_box.locator(".widget-readout").inner_text().strip()


def nudge(slider_box: Any, key: str = "ArrowRight", times: int = 1) -> None:
    """Move a slider with the keyboard: focus its handle, press ``key``."""
    handle = slider_box.locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)


def table_records(table: Any) -> list[dict[str, str]]:
    """The body rows of a pandas HTML table as dicts keyed by the first header row."""
    return table.evaluate("""t => {
      const head = [...t.querySelector('thead tr').cells].map(c => c.innerText.trim());
      return [...t.querySelectorAll('tbody tr')].map(r => Object.fromEntries(
        [...r.cells].map((c, i) => [head[i] ?? String(i), c.innerText.trim()])));
    }""")


def options(select: Any) -> list[str]:
    """The options of an ipywidgets Select (which writes spaces as no-break spaces)."""
    return [o.replace("\xa0", " ") for o in select.locator("option").all_inner_texts()]


def choose(select: Any, pattern: str) -> str:
    """Pick the first option of an ipywidgets Select whose text matches ``pattern``."""
    raw = select.locator("option").all_inner_texts()
    label = next((o for o in raw if re.search(pattern, o.replace("\xa0", " "))), None)
    assert label is not None, f"no message matching {pattern!r} in flight: {options(select)}"
    select.select_option(label=label)
    return label.replace("\xa0", " ")


def test_widgets_render_in_jupyterlab(notebook: Any) -> None:
    """The environment of requirements.txt gives a JupyterLab in which ipywidgets render
    and talk to the kernel: a slider moved in the page is what a button click reads."""
    nb = notebook.open("smoke-widgets.ipynb")
    nb.shot("opened")
    nb.run_all(timeout_s=60)
    page = nb.page
    box = slider(page, "smoke value", "smoke-slider")
    box.wait_for(state="visible", timeout=30_000)
    nb.shot("rendered")
    assert readout(box) == "5"
    nudge(box, "ArrowRight", 2)
    nb.wait_until(lambda: readout(box) == "7", 10, "the readout to follow the keyboard")
    nb.settle()
    button(page, "Show value", "smoke-button").click()
    out = page.locator(".widget-output")
    nb.wait_until(lambda: "value = 7" in out.inner_text(), 30,
                  "the kernel to print the slider's new value")
    nb.shot("clicked")
    assert nb.errors() == []
    assert nb.problems == []


def test_loss_timeout_explorer_runs_from_the_page(notebook: Any) -> None:
    """Notebook 04: after Run All, the loss and timeout sliders and the Run button are on
    the page and no cell shows an error. Run once; one step right on the loss slider and
    Run again: the results table gains a line with the new loss rate and the plot is
    redrawn (replaced, not piled up)."""
    nb = notebook.open(NB_LOSS)
    nb.shot("opened")
    took = nb.run_all(timeout_s=150)
    print(f"notebook 04: Run All Cells took {took:.1f} s")
    nb.shot("ran-all")
    page = nb.page
    assert nb.errors() == [], "a cell of notebook 04 shows an error"
    loss = slider(page, "loss rate", "paxos-loss")
    loss.wait_for(state="visible", timeout=30_000)
    cell = nb.cell_with(loss)
    timeout = slider(cell, "timeout (s)", "paxos-timeout")
    run = button(cell, "Run", "paxos-run")
    output = cell.locator(".widget-output.paxos-output").or_(cell.locator(".widget-output")).last
    for widget in (timeout, run):
        widget.wait_for(state="visible", timeout=30_000)
    view = cell.locator(".jp-OutputArea-output").first  # what the screenshots show
    nb.shot("explorer", view)

    def results() -> list[dict[str, str]]:
        table = output.locator("table").filter(
            has=page.locator("th", has_text=re.compile(r"^\s*loss\s*$"))).last
        return table_records(table) if table.count() else []

    def plot_src() -> str:
        img = output.locator("img").last
        return (img.get_attribute("src") or "") if img.count() else ""

    busy = cell.locator("button.widget-button[disabled]")  # "Running…" while it runs

    def click_run(runs_before: int) -> list[dict[str, str]]:
        nb.settle()  # every control change has reached the kernel before Run reads them
        run.click()
        nb.wait_until(lambda: busy.count() == 0 and len(results()) > runs_before, 120,
                      "the run to finish and add a line to the results table")
        assert output.locator("pre[style*='c5221f']").count() == 0, output.inner_text()
        assert output.locator("img").count() == 1, "each run replaces the previous plot"
        return results()

    assert results() == [] and plot_src() == ""  # nothing run from this widget yet
    first_loss = float(readout(loss))
    runs = click_run(0)
    assert [float(r["loss"]) for r in runs] == [first_loss], runs
    first_plot = plot_src()
    assert first_plot.startswith("data:image/png"), first_plot[:40]
    nb.shot("first-run", view)

    nudge(loss, "ArrowRight")
    nb.wait_until(lambda: float(readout(loss)) > first_loss, 10,
                  "the loss readout to follow the keyboard")
    new_loss = float(readout(loss))
    assert abs(new_loss - (first_loss + 0.05)) < 1e-9, (first_loss, new_loss)
    nb.shot("loss-moved", view)

    runs = click_run(1)
    assert [float(r["loss"]) for r in runs] == [first_loss, new_loss], runs
    assert plot_src() != first_plot, "the plot was not redrawn"
    nb.shot("second-run", view)
    assert nb.errors() == []
    assert nb.problems == []


# Click a button and time until the page shows the whole redraw: the status line changed
# and the stepper's Back button is enabled again (the kernel re-enables the controls last,
# after the lists, tables and diagram were sent).
_TIMED_CLICK_JS = """async ([cell, css]) => {
  const root = document.querySelectorAll('.jp-Notebook .jp-Cell')[cell];
  const status = root.querySelector('.paxos-stepper-status');
  const back = root.querySelector('button.paxos-stepper-back');
  const before = status.innerText;
  const t0 = performance.now();
  root.querySelector(css).click();
  while (status.innerText === before || back.disabled) {
    await new Promise(r => requestAnimationFrame(r));
    if (performance.now() - t0 > 30000) return -1;
  }
  await new Promise(r => requestAnimationFrame(r));
  return performance.now() - t0;
}"""


def test_phase1_stepper_deliver_and_drop_change_the_state(notebook: Any) -> None:
    """Notebook 01: the stepper's buttons drive the simulation. Deliver a client's submit,
    advance time, deliver a prepare (the acceptor's promise appears in the state table),
    drop another prepare (the message is gone, the acceptor still knows nothing, the
    diagram shows it), go Back (the prepare is in flight again), click a step of the list
    (the state of that step). Prints click-to-redraw times measured in the page."""
    nb = notebook.open(NB_PHASE1)
    nb.shot("opened")
    took = nb.run_all(timeout_s=180)
    print(f"notebook 01: Run All Cells took {took:.1f} s")
    nb.shot("ran-all")
    page = nb.page
    assert nb.errors() == [], "a cell of notebook 01 shows an error"
    # The first stepper is the student's (``play``); the notebook's story opens in a second.
    cell = page.locator(".jp-Notebook .jp-Cell").filter(
        has=page.locator(".paxos-stepper-status")).first
    deliver = button(cell, "Deliver", "paxos-stepper-deliver")
    drop = button(cell, "Drop", "paxos-stepper-drop")
    advance = button(cell, "Advance time", "paxos-stepper-advance")
    back = button(cell, "Back", "paxos-stepper-back")
    messages = cell.locator(".paxos-stepper-messages select").first
    steps = cell.locator(".paxos-stepper-steps select").first
    status = cell.locator(".paxos-stepper-status").first
    acceptors = cell.locator(".paxos-table", has_text="Acceptors").locator("table").first
    diagram = cell.locator(".lamport").first
    for widget in (deliver, drop, advance, back, messages, steps, status, acceptors, diagram):
        widget.wait_for(state="visible", timeout=30_000)
    view = cell.locator(".jp-OutputArea-output").first  # what the screenshots show
    page.set_viewport_size({"width": 1100, "height": 1300})  # a laptop's notebook width
    nb.shot("stepper", view)
    index = cell.evaluate("c => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]"
                          ".indexOf(c)")
    timings: list[tuple[str, float]] = []

    def after(action: Any, what: str, css: str = "") -> None:
        """Click ``action`` once everything before it is handled; wait for its effect."""
        nb.settle()
        before = status.inner_text()
        if css:  # timed in the page, from the click to the redraw
            ms = page.evaluate(_TIMED_CLICK_JS, [index, css])
            assert ms > 0, f"the stepper did not redraw after {what}"
            timings.append((what, ms))
        else:
            action.click()
        nb.wait_until(lambda: status.inner_text() != before, 30, f"the stepper to {what}")
        nb.settle()

    def promises() -> dict[str, str]:
        """Acceptor id -> the round it promised (``rnd``; ``-`` for none)."""
        return {r["acceptor"]: r["rnd"] for r in table_records(acceptors)}

    # 1. Deliver the first message (the client's submit to proposer 1): no acceptor is
    #    involved yet, so their table stays as it was.
    assert promises() == {"1": "-", "2": "-", "3": "-"}, table_records(acceptors)
    assert "0 messages" not in status.inner_text()
    n_before = len(options(messages))
    after(deliver, "deliver the submit")
    assert "last step: deliver client1 -> proposer1: SUBMIT" in status.inner_text()
    assert len(options(messages)) == n_before - 1
    assert promises() == {"1": "-", "2": "-", "3": "-"}
    nb.shot("delivered-submit", view)

    # 2. Advance time: proposer 1's patience runs out, its prepares are in flight.
    after(advance, "advance time", "button.paxos-stepper-advance")
    nb.wait_until(lambda: any("PHASE1A" in o for o in options(messages)),
                  30, "prepares (PHASE1A) in the message list")
    listed = re.search(r"(\d+) messages? in flight listed", status.inner_text())
    assert listed and int(listed[1]) == len(options(messages)), status.inner_text()
    nb.shot("advanced", view)

    # 3. Deliver round 1.1's prepare to acceptor 1: its promise shows in the table.
    choose(messages, r"^proposer1 -> acceptor1: PHASE1A rnd 1\.1")
    after(deliver, "deliver the prepare", "button.paxos-stepper-deliver")
    nb.wait_until(lambda: promises()["1"] != "-", 30, "acceptor 1's promise in the table")
    assert "deliver proposer1 -> acceptor1: PHASE1A" in status.inner_text()
    assert promises() == {"1": "1.1", "2": "-", "3": "-"}, table_records(acceptors)
    table_after_deliver = table_records(acceptors)
    nb.shot("delivered-prepare", view)

    # 4. Drop round 1.1's prepare to acceptor 2: gone from the list, acceptor 2 unchanged,
    #    the diagram marks the lost copy.
    dropped = choose(messages, r"^proposer1 -> acceptor2: PHASE1A rnd 1\.1")
    after(drop, "drop the prepare", "button.paxos-stepper-drop")
    assert "last step: drop proposer1 -> acceptor2: PHASE1A" in status.inner_text()
    assert dropped not in options(messages)
    assert table_records(acceptors) == table_after_deliver, "a drop must not change any acceptor"
    nb.shot("dropped-prepare", view)

    # 5. Back: the dropped prepare is in flight again, and Forward is offered.
    after(back, "go back one step", "button.paxos-stepper-back")
    assert dropped in options(messages)
    assert not button(cell, "Forward", "paxos-stepper-forward").is_disabled()
    nb.shot("went-back", view)

    # 6. Click step 2 of the list (the submit delivered): acceptor 1 has promised nothing.
    nb.settle()
    label = next(o for o in steps.locator("option").all_inner_texts() if o.startswith("2."))
    steps.select_option(label=label)
    nb.wait_until(lambda: promises()["1"] == "-", 30, "the state of step 2")
    assert "step 2 of" in status.inner_text()
    nb.shot("step-2", view)
    status.evaluate("e => e.scrollIntoView({block: 'start'})")  # the page a student sees:
    page.mouse.wheel(0, -60)                                    # status line and buttons
    page.wait_for_timeout(300)
    nb.shot("step-2-page")
    for what, ms in timings:
        print(f"click-to-redraw in the page: {what}: {ms:.0f} ms")
    assert nb.errors() == []
    assert nb.problems == []
