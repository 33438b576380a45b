"""The Stepper's page: its widgets, their layout, and redrawing them from the simulation.

:class:`StepperPage` is the half of :class:`~paxos_edu.stepper.Stepper` a student sees:
the status line, the list of messages in flight and the picked one in full, the buttons,
the process box, the list of steps taken, the diagram (the interactive Lamport diagram or a
cached matplotlib picture) and the state tables of :mod:`paxos_edu.stepper_tables`.
:meth:`StepperPage.refresh` redraws all of it from ``self.sim`` and sends a widget's value
only when it changed. What a button does lives in :mod:`paxos_edu.stepper`
(:class:`~paxos_edu.stepper.Stepper`'s plain methods, which tests call directly).

It is a mixin, not a widget of its own: ``Stepper(widgets._Panel, StepperPage)``. It relies
on what the Stepper and :class:`~paxos_edu.widgets._Panel` provide: ``sim``, ``busy``,
``playing``, ``diagram``, ``_notes`` and ``_base`` (set before :meth:`_init_page`), the
output area and ``_show``, and the action methods its buttons call
(``deliver_selected()``, ``back()``, ..., ``_unsafe_restart(role, id)``).
"""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING, Any, Callable, Optional

import ipywidgets as w
import pandas as pd

from . import viz, widgets
from .errors import UsageError
from .stepper_tables import HIDDEN_KINDS, STATE_CSS, state_tables

if TYPE_CHECKING:  # for the observers' type only: stepper.py imports this module
    from .stepper import Stepper

__all__ = ["StepperPage"]


class StepperPage:
    """The widgets of a Stepper and their redraw (a mixin of :class:`~paxos_edu.stepper.Stepper`).

    Attributes:
        status, messages, picked, steps, process, tables, ...: the widgets (stable CSS
            classes ``paxos-stepper-<name>`` for browser tests).
        controls: what a click acts with, disabled while a step is applied.
        lamport: the Lamport diagram widget shown, or None.
        shown: what the last redraw showed (the tables' HTML, the picture if any).
    """

    sim: Any
    busy: bool
    playing: bool
    diagram: Any
    _notes: dict[int, tuple[Any, str]]
    _base: int

    PICTURES_KEPT = 64
    """How many drawn pictures are kept for Back / Forward (a PNG is ~100 kB)."""

    def _init_page(self, heartbeats: bool, speed: float, diagram: Any) -> None:
        """Build the page and choose its diagram (see the Stepper's ``diagram`` argument)."""
        self._observers: list[Callable[[Stepper], None]] = []
        self._pictures: dict[tuple, Any] = {}
        self._picture_key: Optional[tuple] = None
        self._picture_pending = False
        self._syncing = False
        self._from_view = False
        self._build(heartbeats, speed)
        self.lamport = None
        if diagram in ("auto", "lamport"):
            try:
                from .lamport import LamportDiagram
            except ImportError:  # anywidget missing: the picture instead
                if diagram == "lamport":
                    raise
                self.diagram = True
            else:
                self.attach_diagram(LamportDiagram(self.sim, on_change=self._on_view_action))
        elif diagram not in (True, False, None, "picture"):
            raise UsageError(f"diagram must be 'auto', 'lamport', 'picture' or False, "
                             f"not {diagram!r}")

    # -------------------------------------------------------------- layout

    def _build(self, heartbeats: bool, speed: float) -> None:
        full = w.Layout(width="100%")
        self.status = w.HTML()
        self.messages = w.Select(options=[], rows=8, layout=full)
        # The whole text of the picked message, wrapped: a long promise does not fit a line.
        self.picked = w.HTML(layout=w.Layout(width="100%"))
        self.steps = w.Select(options=[], rows=7, layout=full)
        self.heartbeats = w.Checkbox(value=heartbeats, description="show heartbeats",
                                     indent=False, layout=w.Layout(width="150px"))
        button = lambda text, tip, **kw: w.Button(  # noqa: E731
            description=text, tooltip=tip, layout=w.Layout(width="auto"), **kw)
        self.deliver_button = button("Deliver", "deliver the selected message",
                                     icon="paper-plane", button_style="success")
        self.duplicate_button = button("Duplicate", "deliver it and keep a copy in flight",
                                       icon="clone")
        self.drop_button = button("Drop", "lose the selected message", icon="times",
                                  button_style="danger")
        self.deliver_all_button = button("Deliver all",
                                         "deliver everything, including what it causes")
        self.advance_button = button("Advance time", "let dt seconds pass: timers fire",
                                     icon="clock-o")
        self.dt = w.BoundedFloatText(value=float(self.sim.settings.timeout),
                                     min=0.0, max=60.0, step=0.01, description="dt (s)",
                                     layout=w.Layout(width="150px"))
        self.back_button = button("Back", "undo the last step", icon="step-backward")
        self.forward_button = button("Forward", "redo the step undone", icon="step-forward")
        self.play_button = button("Play", "deliver in the simulator's order, step by step",
                                  icon="play", button_style="primary")
        self.speed = w.FloatSlider(value=speed, min=0.5, max=10.0, step=0.5,
                                   description="steps/s", readout_format=".1f",
                                   layout=w.Layout(width="260px"))
        self.process = w.Dropdown(options=[], description="process",
                                  layout=w.Layout(width="230px"))
        self.crash_button = button("Crash", "crash-stop the process", icon="bolt",
                                   button_style="warning")
        self.restart_button = button("Restart", "start the process again", icon="refresh")
        self.process_note = w.HTML()
        self.tables = {name: w.HTML() for name in ("acceptors", "proposers", "learners")}
        # A column box, as wide as the notebook: the diagram measures its width from it
        # (in a row box it would take its own content's width and push the page wider).
        self.diagram_box = w.VBox(layout=w.Layout(width="100%", max_width="100%",
                                                  overflow="auto"))
        for widget, css in ((self.deliver_button, "deliver"), (self.drop_button, "drop"),
                            (self.duplicate_button, "duplicate"),
                            (self.advance_button, "advance"), (self.messages, "messages"),
                            (self.status, "status"), (self.back_button, "back"),
                            (self.forward_button, "forward"), (self.play_button, "play"),
                            (self.steps, "steps"), (self.crash_button, "crash"),
                            (self.restart_button, "restart"), (self.picked, "picked")):
            widget.add_class(f"paxos-stepper-{css}")  # stable selectors for browser tests
        clicks = ((self.deliver_button, self.deliver_selected),
                  (self.duplicate_button, self.duplicate_selected),
                  (self.drop_button, self.drop_selected),
                  (self.deliver_all_button, self.deliver_all), (self.advance_button, self.advance),
                  (self.back_button, self.back), (self.forward_button, self.forward),
                  (self.play_button, self.toggle_play), (self.crash_button, self.crash_selected),
                  (self.restart_button, self.restart_selected))
        for widget, method in clicks:
            widget.on_click(lambda _, m=method: m())
        self.heartbeats.observe(lambda _: self.refresh(), names="value")
        self.messages.observe(lambda _: self._sync_picked(), names="value")
        self.steps.observe(self._on_step_clicked, names="value")
        self.process.observe(lambda _: self._sync_process_buttons(), names="value")
        # What a click acts with: disabled while a step is applied (the dt box, the
        # heartbeat filter and the process box only choose, so they stay usable).
        self.controls = [self.deliver_button, self.duplicate_button, self.drop_button,
                         self.deliver_all_button, self.advance_button, self.back_button,
                         self.forward_button, self.messages, self.steps, self.crash_button,
                         self.restart_button]
        label = lambda text: w.HTML(f"<b>{text}</b>")  # noqa: E731
        self.widget = w.VBox([
            w.HTML(STATE_CSS), self.status,
            w.HBox([self.back_button, self.forward_button, self.play_button, self.speed,
                    self.advance_button, self.dt], layout=w.Layout(flex_flow="row wrap")),
            label("Messages in flight (pick one)"), self.messages, self.picked,
            w.HBox([self.deliver_button, self.duplicate_button, self.drop_button,
                    self.deliver_all_button, self.heartbeats],
                   layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.process, self.crash_button, self.restart_button, self.process_note],
                   layout=w.Layout(flex_flow="row wrap", align_items="center")),
            label("Steps taken (click one to go back there)"), self.steps,
            self.diagram_box,
            w.HBox(list(self.tables.values()), layout=w.Layout(flex_flow="row wrap",
                                                               grid_gap="16px")),
        ])  # fmt: skip
        self.widget.layout = w.Layout(width="100%", max_width="100%")
        self.widget.add_class("paxos-stepper")
        self.diagram_box.children = [self.output]

    def attach_diagram(self, view: Any) -> None:
        """Show ``view`` (e.g. a Lamport diagram widget) instead of the picture and call its
        ``refresh()`` after every step; an action taken in the view should call
        :meth:`_on_view_action` (the Lamport diagram's ``on_change``)."""
        self.lamport = view
        self.diagram = False
        self.diagram_box.children = [view]
        if hasattr(view, "layout"):
            view.layout.max_width = "100%"
        if hasattr(view, "refresh"):
            self.on_step(lambda _: None if self._from_view else view.refresh())

    def _on_view_action(self, _view: Any) -> None:
        """The view delivered or dropped a message itself (and redrew): redraw the rest."""
        self._from_view = True
        try:
            self.refresh()
        finally:
            self._from_view = False

    def on_step(self, callback: Callable[[Stepper], None]) -> Callable[[Stepper], None]:
        """Call ``callback(stepper)`` after every redraw (a step, a rewind, a filter)."""
        self._observers.append(callback)
        return callback

    # -------------------------------------------------------------- what is listed

    def _listed(self) -> list[Any]:
        show_all = self.heartbeats.value
        return [c for c in self.sim.in_flight if show_all or c.kind not in HIDDEN_KINDS]

    def selected(self) -> Optional[int]:
        """The id of the selected message (the first listed one if none is selected); only
        a message that is listed and still in flight can be selected."""
        listed = [c.id for c in self._listed()]
        if self.messages.value in listed:
            return self.messages.value
        return listed[0] if listed else None

    def _copy(self, msg_id: int) -> Any:
        return next(c for c in self.sim.in_flight if c.id == msg_id)

    def _words(self) -> list[str]:
        """One line per step of the timeline: the stepper's words where it took the step."""
        out = []
        for i, step in enumerate(self.sim.timeline):
            mine = self._notes.get(i)
            out.append(mine[1] if mine is not None and mine[0] is step else step.label)
        return out

    @property
    def history(self) -> list[str]:
        """What each step taken since this stepper opened did, one line per step (the
        list of steps on the page also shows the steps taken before)."""
        self._base = min(self._base, len(self.sim.history))
        return self._words()[self._base:len(self.sim.history)]

    # -------------------------------------------------------------- display

    def state_table(self) -> pd.DataFrame:
        """The acceptor table (``sim.acceptor_table()``: rnd, v_rnd, v_val per instance)."""
        return self.sim.acceptor_table()

    def refresh(self) -> None:
        """Redraw everything from the simulation (only what changed is sent to the page)."""
        sim = self.sim
        listed = self._listed()
        hidden = len(sim.in_flight) - len(listed)
        options = tuple((c.describe(), c.id) for c in listed)
        previous = self.messages.value
        if options != self.messages.options:
            self.messages.options = options
        ids = [c.id for c in listed]
        self.messages.value = previous if previous in ids else (ids[0] if ids else None)
        self._sync_picked()
        words = self._words()
        self._sync_steps(words)
        self._sync_processes()
        taken = len(sim.history)
        last = html.escape(words[taken - 1]) if taken else "nothing yet"
        note = getattr(self, "_last", None)
        if note and note.startswith(("not done", "nothing")):
            last = f"<span style='color:#c5221f'>{html.escape(note)}</span>"
        hidden_text = (f" (+{hidden} heartbeat{'s' if hidden != 1 else ''} hidden)"
                       if hidden else "")
        self.status.value = (
            f"<b>t = {sim.now:.3f} s</b> · step {taken} of {len(sim.timeline)} · "
            f"{len(listed)} message{'s' if len(listed) != 1 else ''} in flight listed"
            f"{hidden_text} · last step: {last}")
        tables = state_tables(sim)
        for name, view in self.tables.items():
            if view.value != tables[name]:
                view.value = tables[name]
        objects: list[Any] = [tables["acceptors"], tables["proposers"], tables["learners"]]
        picture = self._picture() if self.diagram else None
        if picture is not None:
            objects.append(picture)
        self.shown = objects
        self._sync_controls()
        for callback in self._observers:
            callback(self)

    def _picture_key_now(self) -> tuple:
        return (len(self.sim.history), tuple(self.sim.history[-3:]), self.heartbeats.value)

    def _picture(self) -> Any:
        """The sequence diagram of the steps so far, drawn once per step (cached). In a
        kernel a new picture is drawn just after the redraw, so the buttons, list and
        tables come back first (a picture costs ~0.5-1 s); elsewhere at once."""
        key = self._picture_key_now()
        picture = self._pictures.get(key)
        if picture is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None:
                return self._draw_picture(key)
            if not self._picture_pending:
                self._picture_pending = True
                loop.call_soon(self._draw_later)
            return None
        if key != self._picture_key:
            self._picture_key = key
            self._show(picture)
        return picture

    def _draw_later(self) -> None:
        self._picture_pending = False
        if self.diagram:  # the state now, not the one when it was asked for
            self._draw_picture(self._picture_key_now())

    def _draw_picture(self, key: tuple) -> Any:
        ax = viz.sequence_diagram(self.sim, kinds="all" if self.heartbeats.value else None,
                                  max_messages=200, title="What happened so far")
        picture = self._pictures[key] = widgets.figure_image(ax.figure, dpi=80)
        while len(self._pictures) > self.PICTURES_KEPT:
            del self._pictures[next(iter(self._pictures))]  # the oldest drawn
        self._picture_key = key
        self._show(picture)
        return picture

    def _sync_picked(self) -> None:
        msg_id = self.selected()
        text = self._copy(msg_id).describe() if msg_id is not None else "nothing in flight"
        value = f"<small><b>picked:</b> {html.escape(text)}</small>"
        if self.picked.value != value:
            self.picked.value = value

    def _sync_steps(self, words: list[str]) -> None:
        timeline, taken = self.sim.timeline, len(self.sim.history)
        options = [("0. start", 0)]
        for i, step in enumerate(timeline):
            text = words[i].split(" — ")[0]  # the summary is in the message list already
            mark = "" if i < taken else "(undone) "
            options.append((f"{i + 1}. t={step.time:.3f} {mark}{text}", i + 1))
        options_t = tuple(options)
        self._syncing = True
        try:
            if options_t != self.steps.options:
                self.steps.options = options_t
            self.steps.value = taken
        finally:
            self._syncing = False

    def _sync_processes(self) -> None:
        procs = sorted(self.sim.processes.values(), key=lambda p: (p.role, p.id))
        options = tuple((f"{p.name} ({'up' if p.alive else 'crashed'})", (p.role, p.id))
                        for p in procs)
        if options != self.process.options:
            previous = self.process.value
            self.process.options = options
            values = [v for _, v in options]
            self.process.value = previous if previous in values else (values[0] if values
                                                                     else None)

    def _process_states(self) -> dict[Any, bool]:
        """Whether Crash and Restart are disabled for the picked process (and why not)."""
        value = self.process.value
        if value is None:
            return {self.crash_button: True, self.restart_button: True}
        proc = self.sim.processes.get(tuple(value))
        why = self._unsafe_restart(*value)
        self.restart_button.tooltip = why or "start the process again"
        note = f"<small>{html.escape(why)}</small>" if why and not (proc and proc.alive) else ""
        if self.process_note.value != note:
            self.process_note.value = note
        return {self.crash_button: proc is None or not proc.alive,
                self.restart_button: bool(why)}

    def _sync_process_buttons(self) -> None:
        if not self.busy and not self.playing:
            for control, disabled in self._process_states().items():
                control.disabled = disabled

    def _sync_controls(self) -> None:
        """Enable what makes sense now (everything is disabled while busy). Each control
        is set once, to its final state: a value that does not change is not sent."""
        if self.busy:
            return
        playing = self.playing
        self.play_button.description = "Pause" if playing else "Play"
        self.play_button.icon = "pause" if playing else "play"
        wanted = dict.fromkeys(self.controls, playing)
        if not playing:
            nothing = not self._listed()
            wanted.update({self.deliver_button: nothing, self.duplicate_button: nothing,
                           self.drop_button: nothing,
                           self.deliver_all_button: not self.sim.in_flight,
                           self.back_button: not self.sim.history,
                           self.forward_button: not self.sim.redo})
            wanted.update(self._process_states())
        for control, disabled in wanted.items():
            control.disabled = disabled
