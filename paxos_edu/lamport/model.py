"""The data of a Lamport (space-time) diagram: processes, events, messages, marks.

Theory of operation
-------------------
:func:`diagram_data` turns a message-level source into one JSON-ready ``dict`` that the
browser side (``lamport.js``) draws without knowing anything about Paxos. Time runs down
the page *by event*, not by clock: every event gets a row of its own -- one multicast
(all its copies leave together), one delivery, one drop -- so the ``<input type=range>``
scrubs from one event to the next and nothing is squeezed into the first millisecond of
a long run. Each row keeps its virtual (or wall-clock) time for the axis and the hover.

Three kinds of source, each drawn by its own module into one shape (:mod:`.shape`):

* a :class:`~paxos_edu.sim.Simulation` (live: its in-flight copies can be delivered or
  dropped from the page) or a :class:`~paxos_edu.sim.SimResult` -- :mod:`.simulated`. The
  simulator names every copy (``msg_id``) and keeps its message (``sim.messages``), so
  arrows are exact and carry the values; each learner's delivery sits on the row of the
  copy whose handling delivered it (``sim.delivery_causes``).
* anything holding a simulation in ``.sim`` (a schedule's outcome or a counterexample
  from :mod:`paxos_edu.explore`, the Stepper) -- drawn as its simulation.
* a real :class:`~paxos_edu.runlog.Run` (trace level ``messages``) -- :mod:`.recorded`:
  sends are paired with receipts by :func:`paxos_edu.trace.message_frame`; rows follow the
  log's clocks, except that a receipt is never placed above its send (two processes'
  clocks may disagree by a hair, causality may not). Real processes do not log the values
  inside messages; the learners' deliveries (with values) come from ``run.learned``.

Safety is checked with :mod:`paxos_edu.checks` on what the learners delivered; a violation
is attached to the deliveries that conflict, on the row where the second one happens
(:mod:`.marks`). What arrows and rows say is :mod:`.words`.
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import UsageError
from ..trace import KIND_ORDER, KIND_SHORT
from .recorded import from_run
from .shape import HIDDEN_KINDS, KIND_COLORS
from .simulated import from_simulation
from .words import KIND_WORDS, VALUE_LABEL_LIMIT, arrow_label, message_values, value_label

MAX_SENDS = 200
"""A finished run (real or simulated) is cut to its first this many sends and their
receipts: a few hundred events are what a reader follows, and a scrub step stays about
0.15 s in the browser (2,000 events took 0.5 s)."""


def diagram_data(source: Any, *, title: Optional[str] = None, in_flight: bool = True,
                 max_sends: int = MAX_SENDS) -> dict[str, Any]:
    """The JSON-ready data of a Lamport diagram of ``source`` (see the module docstring).

    Args:
        source: a Simulation, SimResult, anything with a simulation in ``.sim``, or a Run.
        title: shown above the diagram (default: says what the source is).
        in_flight: draw the copies still in flight (the page has a box to switch them
            on and off); False suits a counterexample, whose undelivered copies are noise.
        max_sends: a finished run is cut to its first ``max_sends`` sends (a live
            simulation never: its present is what the page acts on).

    Raises:
        UsageError: for a source without messages to draw.
    """
    sim = _simulation_of(source)
    if sim is not None:
        data = from_simulation(sim, title, live=_is_live(sim), max_sends=max_sends)
    elif hasattr(source, "trace") and hasattr(source, "delivered") and hasattr(source, "seed"):
        data = from_simulation(source, title, live=False, max_sends=max_sends)
    elif hasattr(source, "messages") and hasattr(source, "learned"):
        data = from_run(source, title, max_sends)
    else:
        data = None
    if data is not None:
        data["show_in_flight"] = bool(in_flight)
        return data
    raise UsageError(
        f"cannot draw a Lamport diagram of {type(source).__name__}: pass a Simulation, a "
        "SimResult, an explore outcome / counterexample, a Stepper or a Run")


def _simulation_of(source: Any) -> Any:
    if hasattr(source, "in_flight") and hasattr(source, "processes"):
        return source
    inner = getattr(source, "sim", None)
    if inner is not None and hasattr(inner, "in_flight"):
        return inner
    if hasattr(source, "replay") and hasattr(source, "schedule"):  # a Counterexample
        return source.replay()
    return None


def _is_live(sim: Any) -> bool:
    return bool(getattr(sim, "manual", False))


__all__ = [
    "HIDDEN_KINDS", "KIND_COLORS", "KIND_ORDER", "KIND_SHORT", "KIND_WORDS", "MAX_SENDS",
    "VALUE_LABEL_LIMIT", "arrow_label", "diagram_data", "message_values", "value_label",
]  # fmt: skip
