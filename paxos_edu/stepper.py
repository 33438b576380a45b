"""The phase stepper (notebooks 01/02): step a manual simulation by hand, back and forth.

The student delivers, duplicates or drops the messages in flight one at a time, lets time
pass so timers fire, crashes and restarts processes, plays the simulation at a chosen
speed, and travels in time: Back / Forward, or a click on any step in the list of steps
taken (see :mod:`paxos_edu.timeline`). Acting after going back starts a new branch.

Design notes:

* **One source of truth.** Everything shown is read from :attr:`Stepper.sim`; every
  control calls a plain method (``deliver_selected()``, ``back()``, ``play_step()``...)
  that tests call directly. Other views (the Lamport diagram widget) register with
  :meth:`Stepper.on_step` and are told after every change.
* **Busy state.** While a step is applied and redrawn every control is disabled, so a
  burst of clicks cannot queue up and act on whatever is selected by then; a call made
  while busy is refused (:attr:`Stepper.busy`).
* **Cheap redraws.** The tables are ``HTML`` widgets whose value is only sent when it
  changed; the optional matplotlib picture is cached per step, so Back / Forward never
  draw it twice. ``benchmarks/stepper.py`` measures click-to-redraw.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any, Callable, Iterable, Optional

import ipywidgets as w
import pandas as pd
from IPython.display import HTML

from . import viz, widgets
from .errors import UsageError
from .quorum import quorum_size

__all__ = ["Stepper", "in_flight_html", "show_state", "state_tables"]

_HIDDEN = ("HEARTBEAT",)
"""Kinds hidden from the list unless "show heartbeats" is ticked (they hide the phases)."""


# ---------------------------------------------------------------------- state tables


def _blank(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "up" if value else "crashed"
    return str(value)


def _html_table(rows: list[dict], columns: list[tuple[str, str]], title: str,
                shade: Optional[dict[tuple[int, str], str]] = None, note: str = "") -> str:
    """Rows as an HTML table: ``columns`` pairs (key, heading); no index, blanks for missing
    values; ``shade`` maps (row, key) to a background colour."""
    shade = shade or {}
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in columns)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for key, _ in columns:
            colour = shade.get((r, key))
            style = f" style='background-color:{colour}'" if colour else ""
            cells.append(f"<td{style}>{html.escape(_blank(row[key]))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    foot = f"<div class='paxos-note'>{html.escape(note)}</div>" if note else ""
    return (f"<div class='paxos-table'><b>{html.escape(title)}</b>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{foot}</div>")


def _acceptor_shade(rows: list[dict], quorum: int) -> dict[tuple[int, str], str]:
    """A promise held by a quorum (orange); a quorum's votes in one round (blue)."""
    shade: dict[tuple[int, str], str] = {}
    for column, cells, colour in (("rnd", ("rnd",), "#FCE3B6"),
                                  ("v_rnd", ("v_rnd", "v_val"), "#CFE6F6")):
        holders: dict[tuple, set] = {}
        for row in rows:
            if row[column] != "-":
                holders.setdefault((row["instance"], row[column]), set()).add(row["acceptor"])
        for r, row in enumerate(rows):
            if len(holders.get((row["instance"], row[column]), ())) >= quorum:
                shade.update({(r, c): colour for c in cells})
    return shade


def quorum_marks(rows: list[dict], quorum: int) -> list[str]:
    """The shading of :func:`_acceptor_shade` in words, one text per acceptor row, so the
    table does not carry its meaning in pale tints alone: ``"quorum promised"`` where a
    quorum holds the row's promise, ``"chosen"`` where a quorum voted for the row's value
    in one round, both joined by ``"; "``, or ``""``."""
    shade = _acceptor_shade(rows, quorum)
    return ["; ".join(word for key, word in (("rnd", "quorum promised"), ("v_rnd", "chosen"))
                      if (r, key) in shade) for r in range(len(rows))]


def state_tables(sim: Any) -> dict[str, str]:
    """The acceptors', proposers' and learners' state as HTML tables with human labels:
    rounds as ``"1.2"`` (round 1 of proposer 2, ``-`` for none yet), no wire integers,
    blanks instead of missing values, no pandas index, processes as ``up`` / ``crashed``."""
    acc = sim.acceptor_table().to_dict("records")
    quorum = quorum_size(sim.acceptor_count)
    for row, mark in zip(acc, quorum_marks(acc, quorum)):
        row["quorum"] = mark
    return {
        "acceptors": _html_table(
            acc, [("acceptor", "acceptor"), ("alive", "state"), ("instance", "instance"),
                  ("rnd", "rnd"), ("v_rnd", "v_rnd"), ("v_val", "v_val"), ("quorum", "quorum")],
            f"Acceptors (a quorum is {quorum})", _acceptor_shade(acc, quorum),
            "rnd: highest round promised; v_rnd, v_val: last vote. Orange (quorum promised): a "
            "quorum promised that round; blue (chosen): a quorum voted for the value in one "
            "round, so it is chosen."),
        "proposers": _html_table(
            sim.proposer_table().to_dict("records"),
            [("proposer", "proposer"), ("alive", "state"), ("status", "status"),
             ("c_rnd", "c_rnd"), ("instance", "instance"), ("phase", "phase"),
             ("c_val", "c_val"), ("promises", "promises"), ("pending", "pending")],
            "Proposers", note="c_rnd: its round; phase 1 waits for promises, 2 for the decision."),
        "learners": _html_table(
            sim.learner_table().to_dict("records"),
            [("learner", "learner"), ("alive", "state"), ("delivered", "delivered"),
             ("next_instance", "next instance"), ("waiting", "waiting"), ("values", "values")],
            "Learners", note="waiting: decided but blocked behind a gap."),
    }


def in_flight_html(sim: Any, kinds: Optional[Iterable[str]] = None) -> str:
    """The copies in flight as an HTML table (oldest first): ``kinds`` such as
    ``["PHASE1A"]`` (default every kind but heartbeats), blanks where a message has no
    instance or round."""
    wanted = {k.upper() for k in kinds} if kinds is not None else None
    rows = [r for r in sim.in_flight_table().to_dict("records")
            if (r["kind"] in wanted if wanted is not None else r["kind"] not in _HIDDEN)]
    return _html_table(rows, [("id", "id"), ("sender", "from"), ("receiver", "to"),
                              ("kind", "kind"), ("instance", "instance"), ("round", "round"),
                              ("summary", "what it says")],
                       f"In flight ({len(rows)} of {len(sim.in_flight)} copies)")


def show_state(sim: Any, *tables: str, kinds: Optional[Iterable[str]] = None) -> HTML:
    """What a notebook cell shows of a simulation: the tables the Stepper shows, by name.

    Args:
        tables: any of ``"acceptors"``, ``"proposers"``, ``"learners"``, ``"in_flight"``
            (default the first three), side by side.
        kinds: for ``"in_flight"``, the message kinds to list (default all but heartbeats).
    """
    names = tables or ("acceptors", "proposers", "learners")
    known = ("acceptors", "proposers", "learners", "in_flight")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"show_state: unknown table {unknown[0]!r}; tables are "
                         f"{', '.join(known)}")
    views = state_tables(sim) if set(names) - {"in_flight"} else {}
    parts = [in_flight_html(sim, kinds) if n == "in_flight" else views[n] for n in names]
    return HTML(_CSS + "<div class='paxos-state' style='display:flex;flex-wrap:wrap;"
                "gap:16px'>" + "".join(parts) + "</div>")


_CSS = """<style>
.paxos-table {line-height:1.35}
.paxos-table table {border-collapse:collapse; font-size:12px; margin:2px 0}
.paxos-table th, .paxos-table td {
  border:1px solid #ddd; padding:1px 6px; text-align:left; white-space:nowrap}
.paxos-table th {background:#f3f3f3}
.paxos-table .paxos-note {font-size:11px; color:#555; max-width:460px}
.paxos-stepper select {font-family:var(--jp-code-font-family, monospace); font-size:12px}
</style>"""


# ---------------------------------------------------------------------- the widget


class Stepper(widgets._Panel):
    """Deliver, drop or duplicate the messages of a manual simulation one by one, crash and
    restart processes, play it, and travel back and forth through the steps taken.

    Args:
        sim: a :class:`~paxos_edu.sim.Simulation` with ``manual=True`` (it may already
            have steps: a counterexample's simulation opens at its first step).
        heartbeats: list heartbeats too (off: they hide the phases; counted apart).
        diagram: ``"auto"`` (default) shows the interactive Lamport diagram widget
            (:mod:`paxos_edu.lamport`: click a message in flight to deliver or drop it)
            when anywidget is there, else the picture; ``"lamport"`` insists on the
            widget; ``True`` / ``"picture"`` draws the matplotlib sequence diagram
            (cached per step, ~1 s to draw each new one); ``False`` shows no diagram.
        speed: steps per second when playing.

    Attributes:
        sim: the simulation (the one source of truth).
        busy: True while a step is being applied and redrawn.
        history: what each step taken did, in words (one line per step).
    """

    PICTURES_KEPT = 64
    """How many drawn pictures are kept for Back / Forward (a PNG is ~100 kB)."""

    def __init__(self, sim: Any, *, heartbeats: bool = False, diagram: Any = "auto",
                 speed: float = 2.0) -> None:
        super().__init__()
        if not getattr(sim, "manual", False):
            raise UsageError("the stepper needs a simulation made with Simulation(manual=True)")
        self.sim = sim
        self.diagram = diagram
        self.busy = False
        self.playing = False
        self._observers: list[Callable[[Stepper], None]] = []
        self._notes: dict[int, tuple[Any, str]] = {}  # step index -> (step, stepper's words)
        self._pictures: dict[tuple, Any] = {}
        self._picture_key: Optional[tuple] = None
        self._picture_pending = False
        self._syncing = False
        self._from_view = False
        self._timer: Any = None
        self._base = len(sim.history)  # steps taken before the stepper opened
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
                self.attach_diagram(LamportDiagram(sim, on_change=self._on_view_action))
        elif diagram not in (True, False, None, "picture"):
            raise UsageError(f"diagram must be 'auto', 'lamport', 'picture' or False, "
                             f"not {diagram!r}")
        self.refresh()

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
            w.HTML(_CSS), self.status,
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
        return [c for c in self.sim.in_flight if show_all or c.kind not in _HIDDEN]

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

    # -------------------------------------------------------------- applying steps

    def _apply(self, fn: Callable[[], Optional[str]]) -> Optional[str]:
        """Run one action with every control disabled, then redraw; refused while busy."""
        if self.busy:
            self.status.value = "<b>busy</b>: wait for the step being shown"
            return None
        self.busy = True
        for control in self.controls:
            control.disabled = True
        before = len(self.sim.history)
        self.error = None
        try:
            text = fn()
        except UsageError as exc:  # shown to the student, kept for tests
            self.error, text = exc, f"not done: {exc}"
        try:
            history = self.sim.history
            if text and len(history) == before + 1:
                self._notes[before] = (history[-1], text)
            self._last = text
            self.refresh()
        finally:
            self.busy = False
            self._sync_controls()
        return text

    def deliver_selected(self) -> Optional[str]:
        """Deliver the selected message; returns what happened (``deliver proposer1 -> ...``)."""
        return self._apply(lambda: self._on_selected("deliver"))

    def duplicate_selected(self) -> Optional[str]:
        """Deliver the selected message and keep a copy of it in flight (a duplicate)."""
        return self._apply(lambda: self._on_selected("duplicate"))

    def drop_selected(self) -> Optional[str]:
        """Lose the selected message."""
        return self._apply(lambda: self._on_selected("drop"))

    def deliver(self, msg_id: int) -> Optional[str]:
        """Deliver message ``msg_id`` (e.g. clicked in a diagram)."""
        return self._apply(lambda: self._on_selected("deliver", msg_id))

    def drop(self, msg_id: int) -> Optional[str]:
        """Lose message ``msg_id``."""
        return self._apply(lambda: self._on_selected("drop", msg_id))

    def _on_selected(self, what: str, msg_id: Optional[int] = None) -> str:
        msg_id = self.selected() if msg_id is None else msg_id
        if msg_id is None:
            return f"nothing to {what}"
        text = f"{what} " + self._copy(msg_id).describe()
        if what == "drop":
            self.sim.drop(msg_id)
        else:
            self.sim.deliver(msg_id, keep=what == "duplicate")
        return text + (" (a copy stays in flight)" if what == "duplicate" else "")

    def deliver_all(self, kind: Optional[str] = None) -> Optional[str]:
        """Deliver every message in flight (of one ``kind``), and what they cause."""
        def act() -> str:
            n = self.sim.deliver_all(kind)
            return f"delivered {n} message{'s' if n != 1 else ''}"
        return self._apply(act)

    def advance(self, dt: Optional[float] = None) -> Optional[str]:
        """Let ``dt`` seconds (default: the dt box) pass: timeouts and heartbeats fire."""
        dt = float(self.dt.value if dt is None else dt)

        def act() -> str:
            self.sim.advance(dt)
            return f"advanced {dt:g} s"
        return self._apply(act)

    def crash(self, role: str, id: int) -> Optional[str]:
        """Crash-stop process ``role id`` now."""
        def act() -> str:
            self.sim.crash(role, id)
            return f"crashed {role}{id}"
        return self._apply(act)

    def restart(self, role: str, id: int) -> Optional[str]:
        """Start crashed process ``role id`` again (refused where that is unsafe)."""
        def act() -> str:
            why = self._unsafe_restart(role, id)
            if why:
                raise UsageError(why)
            if hasattr(self.sim, "restart"):
                self.sim.restart(role, id)
            else:
                self.sim.start(role, id)
            return f"restarted {role}{id}"
        return self._apply(act)

    def crash_selected(self) -> Optional[str]:
        """Crash the process picked in the process box."""
        return self.crash(*self.process.value) if self.process.value else None

    def restart_selected(self) -> Optional[str]:
        """Restart the process picked in the process box."""
        return self.restart(*self.process.value) if self.process.value else None

    def _unsafe_restart(self, role: str, id: int) -> str:
        """Why ``role id`` may not be restarted now ("" when it may)."""
        proc = self.sim.processes.get((role, id))
        if proc is not None and proc.alive:
            return f"{role}{id} is running"
        bugs = {getattr(b, "value", b) for b in self.sim.bugs}
        if (role == "acceptor" and not getattr(self.sim, "storage", False)
                and "restart-without-storage" not in bugs):
            return (f"acceptor{id} keeps no storage: restarted empty it would forget its "
                    "promises and votes and could break agreement")
        return ""

    # -------------------------------------------------------------- time travel

    def rewind(self, k: int, *, words: str = "went to") -> Optional[str]:
        """Go to the state after the first ``k`` steps (later steps stay, for Forward)."""
        def act() -> str:
            self.sim.rewind(k)
            return f"{words} step {k}"
        return self._apply(act)

    def back(self) -> Optional[str]:
        """Undo the last step."""
        if not self.sim.history:
            return self._apply(lambda: "nothing to undo")
        return self.rewind(len(self.sim.history) - 1, words="back to")

    def forward(self) -> Optional[str]:
        """Redo the step undone last."""
        if not self.sim.redo:
            return self._apply(lambda: "nothing to redo")
        return self.rewind(len(self.sim.history) + 1, words="forward to")

    def _on_step_clicked(self, change: dict) -> None:
        if self._syncing or change["new"] is None or self.busy:
            return
        if change["new"] != len(self.sim.history):
            self.rewind(change["new"])

    # -------------------------------------------------------------- playing

    def play_step(self) -> Optional[str]:
        """One step in the simulator's own order: deliver the oldest message in flight, or,
        with nothing in flight, let time pass to the next timer. Returns None (and playing
        stops) when nothing is left to show: every value submitted is delivered everywhere
        and only hidden heartbeats are in flight."""
        if self.sim._complete() and not self._listed() and self.sim.proposed:
            self.playing = False
            return None

        def act() -> str:
            if self.sim.in_flight:
                copy = self.sim.in_flight[0]
                self.sim.deliver(copy.id)
                return "deliver " + copy.describe()
            due = self.sim.next_timer()
            dt = max((due if due is not None else self.sim.now) - self.sim.now, 0.0)
            self.sim.advance(dt)
            return f"advanced {dt:.3f} s to the next timer"
        return self._apply(act)

    def toggle_play(self, *, steps: int = 50) -> bool:
        """Play (a step every 1/speed seconds on the kernel's event loop) or pause.

        Outside a running event loop (a script, a test) it plays up to ``steps`` steps at
        once instead. Returns whether it is playing now."""
        self.playing = not self.playing
        if self.playing:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None:
                for _ in range(steps):
                    if not self.playing or self.play_step() is None:
                        break
                self.playing = False
            else:
                self._timer = loop.call_later(1.0 / float(self.speed.value), self._tick)
        elif self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._sync_controls()
        return self.playing

    def _tick(self) -> None:
        self._timer = None
        if self.playing and self.play_step() is not None and self.playing:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(1.0 / float(self.speed.value), self._tick)
        else:
            self.playing = False
            self._sync_controls()

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
