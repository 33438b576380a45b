"""The phase stepper (notebooks 01/02): step a manual simulation by hand, back and forth.

The student delivers, duplicates or drops the messages in flight one at a time, lets time
pass so timers fire, crashes and restarts processes, plays the simulation at a chosen
speed, and travels in time: Back / Forward, or a click on any step in the list of steps
taken (see :mod:`paxos_edu.timeline`). Acting after going back starts a new branch.

This module holds what the Stepper *does*: one plain method per control. Its siblings
hold what it shows: :mod:`paxos_edu.stepper_page` the widgets and their redraw (a mixin of
:class:`Stepper`), :mod:`paxos_edu.stepper_tables` the state tables, which notebooks also
show without a Stepper (:func:`show_state`, re-exported here with :func:`state_tables` and
:func:`in_flight_html`).

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
from typing import Any, Callable, Optional

from . import widgets
from .errors import UsageError
from .stepper_page import StepperPage
from .stepper_tables import in_flight_html, quorum_marks, show_state, state_tables

__all__ = ["Stepper", "in_flight_html", "quorum_marks", "show_state", "state_tables"]


class Stepper(widgets._Panel, StepperPage):
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

    def __init__(self, sim: Any, *, heartbeats: bool = False, diagram: Any = "auto",
                 speed: float = 2.0) -> None:
        super().__init__()
        if not getattr(sim, "manual", False):
            raise UsageError("the stepper needs a simulation made with Simulation(manual=True)")
        self.sim = sim
        self.diagram = diagram
        self.busy = False
        self.playing = False
        self._notes: dict[int, tuple[Any, str]] = {}  # step index -> (step, stepper's words)
        self._timer: Any = None
        self._base = len(sim.history)  # steps taken before the stepper opened
        self._init_page(heartbeats, speed, diagram)
        self.refresh()

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
