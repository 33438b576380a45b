"""The JSON shape a Lamport diagram page reads (``version`` 1): lifelines, rows, arrows,
marks, the time axis and what each message kind looks like.

Both kinds of source -- a simulation (:mod:`.simulated`) and a real run
(:mod:`.recorded`) -- fill one :class:`Diagram`; :meth:`Diagram.to_dict` adds what does
not depend on the source, from the trace model (:data:`~paxos_edu.trace.KIND_ORDER`,
:data:`~paxos_edu.trace.KIND_SHORT`, :data:`~paxos_edu.trace.DEFAULT_HIDDEN`,
:func:`~paxos_edu.trace.process_order`) and the pictures' palette.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..trace import DEFAULT_HIDDEN, KIND_ORDER, KIND_SHORT, process_order
from ..viz_style import KIND_COLORS as _KIND_COLORS
from .words import KIND_WORDS, human, split_name

KIND_COLORS = dict(_KIND_COLORS)
"""Colours per kind: the very palette of the matplotlib pictures (:mod:`paxos_edu.viz_style`)."""

HIDDEN_KINDS = tuple(k for k in KIND_ORDER if k in DEFAULT_HIDDEN)
"""Kinds hidden until the page's "all messages" box is ticked (they drown the phases):
those the matplotlib pictures leave out by default."""


@dataclass
class Diagram:
    """What one source gave: rows (one per event), arrows, marks and the processes seen;
    ``to_dict`` gives the JSON shape."""

    title: str
    source: str
    rows: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    marks: list[dict[str, Any]]
    processes: list[str]

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        """The page's data; ``extra`` adds the source's own fields (``interactive``,
        ``violation``, ``checks``, ``now``)."""
        times = [r["t"] for r in self.rows]
        t0 = min(times) if times else 0.0
        span = (max(times) - t0) if times else 0.0
        scale, unit = (1e3, "ms") if span < 2.0 else (1.0, "s")
        return {
            "version": 1,
            "title": self.title,
            "source": self.source,
            "processes": [_process_entry(p) for p in process_order(self.processes)],
            "rows": self.rows,
            "messages": self.messages,
            "marks": self.marks,
            "t0": t0,
            "time_scale": scale,
            "time_unit": unit,
            "kinds": {k: {"short": KIND_SHORT[k], "color": KIND_COLORS[k],
                          "words": KIND_WORDS[k]} for k in KIND_ORDER},
            "hidden_kinds": list(HIDDEN_KINDS),
            **extra,
        }


def _process_entry(name: str) -> dict[str, str]:
    return {"name": name, "role": split_name(name)[0], "label": human(name)}


__all__ = ["HIDDEN_KINDS", "KIND_COLORS", "Diagram"]
