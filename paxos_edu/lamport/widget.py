"""The Lamport diagram as a Jupyter widget: an anywidget with a Python model.

Why anywidget: the diagram is one small ES module and one stylesheet, shipped as package
data (``lamport.js``, ``lamport.css``). anywidget loads them into JupyterLab, Notebook 7 and
VS Code through one pre-installed front-end extension, with no build step and no
JupyterLab extension of our own to keep up with JupyterLab's releases; the same module
renders the offline HTML export (:mod:`paxos_edu.lamport.export`) with a stand-in model.

The Python side owns the truth. It sends one trait, ``data`` (see
:func:`~paxos_edu.lamport.model.diagram_data`); the page sends back only *requests*
(``{"action": "deliver", "msg_id": 7}``), which :meth:`LamportDiagram.handle` carries out on
the very :class:`~paxos_edu.sim.Simulation` the notebook (and the Stepper) holds, then
redraws. A request is checked against the simulation, never trusted: a copy that is no
longer in flight is refused with a message, not a traceback.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Callable, Optional

import anywidget
import ipywidgets
import traitlets

from ..errors import UsageError
from .model import diagram_data


def asset(name: str) -> str:
    """The text of a packaged asset (``"lamport.js"``, ``"lamport.css"``)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


class LamportDiagram(anywidget.AnyWidget):
    """An interactive space-time diagram of a simulation or a real run.

    One lifeline per process, grouped clients | proposers | acceptors | learners; one
    arrow per copy of a message (``data-kind`` on each), labelled with kind, round,
    instance and value; hover shows everything the message carries. In a manual
    simulation the copies in flight end on the "now" line at their receiver: click one to
    deliver or drop it. Learners' deliveries are marked on their lifelines, a safety
    violation is shown in red where it happens, and a slider scrubs event by event.

    Args:
        source: a ``Simulation`` (live when ``manual=True``), a ``SimResult``, anything with
            a simulation in ``.sim`` (a Stepper, an explore outcome or counterexample), or
            a real ``Run`` (trace level ``messages``).
        title: the heading (default: says what the source is).
        in_flight: draw copies in flight at first (the page has a box for it).
        on_change: called with the diagram after each action taken from the page (a
            Stepper passes its redraw here).

    Attributes:
        sim: the simulation driven from the page (None for results and runs).
        last_action: what the last request did, in words (also shown on the page).
    """

    _esm = asset("lamport.js")
    _css = asset("lamport.css")
    data = traitlets.Dict().tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)

    def __init__(self, source: Any, *, title: Optional[str] = None, in_flight: bool = True,
                 on_change: Optional[Callable[[LamportDiagram], None]] = None) -> None:
        # The page's width decides the drawing's (which scrolls inside), also in a flex box
        # such as the Stepper's: without these the widget grows with its content.
        super().__init__(layout=ipywidgets.Layout(width="100%", min_width="0", flex="1 1 auto"))
        self.source = source
        self.title = title
        self.in_flight = in_flight
        self.sim = _live_simulation(source)
        self._listeners: list[Callable[[LamportDiagram], None]] = [on_change] if on_change else []
        self.last_action = ""
        self.on_msg(self._on_page_message)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the diagram from the source (call it after changing the simulation
        from code; actions from the page refresh by themselves)."""
        self.data = diagram_data(self.source, title=self.title, in_flight=self.in_flight)

    def observe_changes(self, callback: Callable[[LamportDiagram], None]) -> None:
        """Call ``callback(diagram)`` after every action taken from the page."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ requests

    def handle(self, content: dict[str, Any]) -> str:
        """Carry out one request of the page on the simulation; return what it did.

        Requests: ``{"action": "deliver" | "drop", "msg_id": <int>}``.

        Raises:
            UsageError: the source is not a live manual simulation, the request is
                malformed, or the copy is not in flight (any more).
        """
        action = content.get("action") if isinstance(content, dict) else None
        if action not in ("deliver", "drop"):
            raise UsageError(f"unknown request from the page: {content!r}")
        if self.sim is None:
            raise UsageError("this diagram shows a finished run: there is nothing to "
                             f"{action} (draw a Simulation(manual=True) to step it)")
        msg_id = content.get("msg_id")
        if not isinstance(msg_id, int) or isinstance(msg_id, bool):
            raise UsageError(f"a {action} request needs a whole-number msg_id, got {msg_id!r}")
        copy = next((c for c in self.sim.in_flight if c.id == msg_id), None)
        if copy is None:
            raise UsageError(f"message {msg_id} is not in flight any more")
        what = copy.describe()
        if action == "deliver":
            self.sim.deliver(msg_id)
        else:
            self.sim.drop(msg_id)
        self.last_action = f"{'delivered' if action == 'deliver' else 'dropped'}: {what}"
        return self.last_action

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        self.busy = True
        try:
            self.status = self.handle(content)
        except UsageError as exc:
            self.status = f"not done: {exc}"
        finally:
            self.refresh()
            for listener in self._listeners:
                listener(self)
            self.busy = False


def _live_simulation(source: Any) -> Any:
    """The manual simulation behind ``source`` that the page may drive, or None."""
    sim = source if hasattr(source, "in_flight") else getattr(source, "sim", None)
    if sim is not None and hasattr(sim, "in_flight") and getattr(sim, "manual", False):
        return sim
    return None
