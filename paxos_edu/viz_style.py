"""The look shared by every picture of :mod:`paxos_edu.viz`: colours, labels, axes.

Colours come from the Okabe-Ito palette, which stays distinguishable for the common
forms of colour blindness; each message kind keeps its colour in every picture
(:data:`KIND_COLORS`), each role its colour in every lifeline and node (:data:`ROLE_COLORS`).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from matplotlib.axes import Axes

from .rounds import format_round
from .trace import KIND_SHORT, missing

KIND_COLORS: dict[str, str] = {
    "SUBMIT": "#009E73",  # bluish green
    "ACK": "#CC79A7",  # reddish purple
    "PHASE1A": "#0072B2",  # blue
    "PHASE1B": "#56B4E9",  # sky blue
    "NACK": "#000000",  # black
    "PHASE2A": "#D55E00",  # vermillion
    "PHASE2B": "#E69F00",  # orange
    "DECISION": "#882255",  # wine (Paul Tol)
    "CATCHUP": "#44AA99",  # teal (Paul Tol)
    "HEARTBEAT": "#999999",  # grey
}
"""One colour per message kind, used by every picture (Okabe-Ito first)."""

ROLE_COLORS = {"client": "#009E73", "proposer": "#0072B2", "acceptor": "#E69F00",
               "learner": "#CC79A7"}  # fmt: skip
"""One colour per role (lifeline bands, graph nodes)."""

DROP_COLOR = "#D55E00"
"""What was lost: the ✗ of a dropped copy, edges that lost messages, drop bars."""

SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
"""Colours for one line per process (proposer 1, 2, ...)."""


def new_ax(ax: Optional[Axes], figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def message_label(kind: str, rnd: Any, instance: Any) -> str:
    """What an arrow says: kind, round and instance, e.g. ``2A 1.1 i0``."""
    parts = [KIND_SHORT.get(kind, str(kind))]
    if missing(rnd) is not None and int(rnd) != 0:
        parts.append(format_round(int(rnd)))
    if missing(instance) is not None and int(instance) < (1 << 62):
        parts.append(f"i{int(instance)}")
    return " ".join(parts)


def short_number(v: Any) -> str:
    """A number as a cell or bar label: integers whole, others in three digits."""
    if isinstance(v, (int, np.integer)):
        return str(v)
    v = float(v)
    if v == 0 or 0.01 <= abs(v) < 1000:
        return f"{v:.3g}"
    return f"{v:.2g}"


__all__ = ["DROP_COLOR", "KIND_COLORS", "ROLE_COLORS", "SERIES_COLORS", "message_label",
           "new_ax", "short_number"]  # fmt: skip
