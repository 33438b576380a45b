"""Time travel for the simulator: every manual action is a step; rewind replays.

Theory of operation
-------------------
A :class:`~paxos_edu.sim.Simulation` is deterministic: its constructor arguments (with
the seed) and the sequence of actions taken on it fix every message, id and role state.
So the history needs no snapshots of role objects: each public action (``submit``,
``deliver``, ``drop``, ``advance``, ``crash``, ``start``, ...) is recorded as a frozen
:class:`Step` -- the method name, its arguments and a readable label -- and
:meth:`TimeTravel.rewind` ``(k)`` re-runs the constructor on the same object and replays
the first ``k`` steps. Re-initialising *in place* (rather than building a new object and
copying it over) matters: actions scheduled for later (``submit(..., at=t)``) are
closures over the simulation object, and they must keep acting on this one.

Replay is cheap (a step is one role ``handle`` or ``tick``: tens of microseconds), so
rewinding even a few hundred steps takes milliseconds -- ``benchmarks/stepper.py``
measures it -- and no snapshot is needed.

A rewound simulation remembers the steps it undid: :meth:`TimeTravel.forward` re-applies
the next one. Any other action taken after a rewind cuts those steps off and starts a new
branch. Only ``manual=True`` simulations record steps: a free-running simulation's
``run`` is one long action, not a history.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, TypeVar

from .errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Step:
    """One action taken on a manual simulation.

    Attributes:
        action: the method called (``"deliver"``, ``"advance"``, ...).
        args, kwargs: its arguments (``kwargs`` as sorted ``(name, value)`` pairs).
        label: what it did, for people (``"deliver proposer1 -> acceptor2: PHASE1A ..."``).
        time: the virtual time at which it was taken (``str(step)`` shows both).
    """

    action: str
    args: tuple
    kwargs: tuple[tuple[str, Any], ...]
    label: str
    time: float

    def __str__(self) -> str:
        return f"t={self.time:.3f} {self.label}"

    def apply(self, sim: Any) -> Any:
        """Take this step on ``sim`` (what replay does)."""
        return getattr(sim, self.action)(*self.args, **dict(self.kwargs))


def _frozen(value: Any) -> Any:
    """Lists become tuples, so a step never shares a list the caller may change."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _at(kwargs: dict) -> str:
    return f" at t={kwargs['at']:.3f}" if kwargs.get("at") is not None else ""


def _copy_label(sim: Any, msg_id: int) -> str:
    copy = next((c for c in sim.in_flight if c.id == msg_id), None)
    return copy.describe() if copy is not None else f"message {msg_id}"


def _label(sim: Any, action: str, args: tuple, kwargs: dict) -> str:
    """A readable label for an action about to be taken (the state before it)."""
    a = list(args)
    if action == "deliver":
        extra = " (a duplicate stays in flight)" if kwargs.get("keep") else ""
        what = f"deliver {_copy_label(sim, a[0])}{extra}"
    elif action == "drop":
        what = f"drop {_copy_label(sim, a[0])}"
    elif action == "submit":
        values = ", ".join(repr(v) for v in a[1]) if len(a) > 1 else ""
        what = f"client{a[0]} submits {values}{_at(kwargs)}"
    elif action == "advance":
        what = f"advance {a[0]:g} s to t={sim.now + a[0]:.3f}"
    elif action in ("crash", "start", "restart"):
        what = f"{action} {a[0]}{a[1]}{_at(kwargs)}"
    elif action == "set_network":
        changes = ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None and k != "at")
        what = f"network: {changes or 'unchanged'}{_at(kwargs)}"
    elif action == "deliver_all":
        kind = kwargs.get("kind", a[0] if a else None)
        what = f"deliver every {kind} in flight" if kind else "deliver everything in flight"
    elif action == "deliver_next":
        kind, receiver = (a + [kwargs.get("kind"), kwargs.get("receiver")][len(a):])[:2]
        what = f"deliver the oldest {kind or 'message'}" + (f" to {receiver}" if receiver else "")
    elif action == "run":
        what = f"run to t={a[0] if a else kwargs.get('until', 60.0):g}"
    else:
        parts = [str(x) for x in a] + [f"{k}={v}" for k, v in kwargs.items()]
        what = " ".join([action, *parts])
    return what


def recorded(method: F) -> F:
    """Decorate a :class:`~paxos_edu.sim.Simulation` action so that, in manual mode, a
    successful call is recorded as one :class:`Step` (calls it makes itself are not)."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._replaying or self._depth or not self.manual:
            return method(self, *args, **kwargs)
        label = _label(self, name, args, kwargs)
        time = self.now
        self._depth += 1
        try:
            result = method(self, *args, **kwargs)
        finally:
            self._depth -= 1
        step = Step(name, _frozen(args), tuple(sorted((k, _frozen(v)) for k, v in
                                                      kwargs.items())), label, time)
        del self._steps[self._position:]  # acting after a rewind starts a branch
        self._steps.append(step)
        self._position += 1
        return result

    return wrapper  # type: ignore[return-value]


class TimeTravel:
    """Mixin of :class:`~paxos_edu.sim.Simulation`: history, rewind, back and forward."""

    _steps: list[Step]
    _position: int
    _replaying: bool
    _depth: int
    _init_args: tuple[tuple, dict]
    manual: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        # Kept outside __init__, which rewind runs again on the same object.
        self._init_args = (args, dict(kwargs))
        self._steps, self._position, self._replaying, self._depth = [], 0, False, 0
        return self

    @property
    def history(self) -> tuple[Step, ...]:
        """The steps taken so far, oldest first (``rewind(k)`` keeps the first ``k``)."""
        return tuple(self._steps[: self._position])

    @property
    def redo(self) -> tuple[Step, ...]:
        """Steps undone by a rewind that :meth:`forward` re-applies (until a new action)."""
        return tuple(self._steps[self._position:])

    @property
    def timeline(self) -> tuple[Step, ...]:
        """Every step known: :attr:`history` followed by :attr:`redo`."""
        return tuple(self._steps)

    def rewind(self, k: int) -> None:
        """Restore exactly the state after the first ``k`` steps of the timeline.

        ``k`` may also be ahead of the present (up to ``len(timeline)``): the undone steps
        are re-applied. The in-flight copies keep their ids; the role objects are rebuilt
        by replay, so they are equal to the first time, not the same objects.
        """
        if not self.manual:
            raise UsageError("only a manual simulation (Simulation(manual=True)) has a "
                             "history to rewind")
        if not isinstance(k, int) or not 0 <= k <= len(self._steps):
            raise UsageError(f"rewind({k!r}): give a step number from 0 to {len(self._steps)}")
        todo = self._steps[self._position:k]
        if k < self._position:
            args, kwargs = self._init_args
            self._replaying = True
            try:
                type(self).__init__(self, *args, **kwargs)
            finally:
                self._replaying = False
            todo = self._steps[:k]
        self._replay(todo)
        self._position = k

    def back(self, steps: int = 1) -> None:
        """Undo the last ``steps`` steps (``forward`` redoes them)."""
        self.rewind(max(self._position - steps, 0))

    def forward(self, steps: int = 1) -> None:
        """Redo ``steps`` steps undone by :meth:`back` or :meth:`rewind`."""
        self.rewind(min(self._position + steps, len(self._steps)))

    def _replay(self, steps: Iterable[Step]) -> None:
        self._replaying = True
        try:
            for step in steps:
                step.apply(self)
        finally:
            self._replaying = False

    def copy(self) -> Any:
        """An independent simulation with the same timeline, at the same step (for a second
        Stepper that must not disturb this one)."""
        args, kwargs = self._init_args
        return type(self).from_history(self._steps, *args, at=self._position, **kwargs)

    @classmethod
    def from_history(cls, steps: Iterable[Step], *args: Any, at: Optional[int] = None,
                     **kwargs: Any) -> Any:
        """A new manual simulation built with ``*args, **kwargs`` that has taken ``steps``
        (e.g. another simulation's :attr:`timeline`), rewound to step ``at`` if given."""
        sim = cls(*args, **{**kwargs, "manual": True})
        for step in steps:
            step.apply(sim)
        if at is not None:
            sim.rewind(at)
        return sim
