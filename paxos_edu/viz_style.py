"""The look shared by every picture of :mod:`paxos_edu.viz`: colours, labels, axes.

Colours come from the Okabe-Ito palette, completed by three of Paul Tol's, so that every
two message kinds (and a dropped copy) stay apart for normal vision and under
deuteranopia, protanopia and tritanopia (ΔE*ab ≥ 15, simulated with
:mod:`paxos_edu.colour_vision`; ``tests/test_colour_vision.py`` holds the palette to it).
Each message kind keeps its colour in every picture (:data:`KIND_COLORS`), each role its
colour in every lifeline and node (:data:`ROLE_COLORS`).
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
    # teal #44AA99 and grey #999999 were ΔE 3 apart under deuteranopia (and teal 4 from
    # the ACK purple): indigo and sand keep every pair >= 15 apart for every vision
    "CATCHUP": "#332288",  # indigo (Paul Tol)
    "HEARTBEAT": "#DDCC77",  # sand (Paul Tol): pale, as background traffic should be
}
"""One colour per message kind, used by every picture (Okabe-Ito first)."""

ROLE_COLORS = {"client": "#009E73", "proposer": "#0072B2", "acceptor": "#E69F00",
               "learner": "#CC79A7"}  # fmt: skip
"""One colour per role (lifeline bands, graph nodes)."""

DROP_COLOR = "#661100"
"""What was lost: the ✗ of a dropped copy, edges that lost messages, drop bars -- a dark
brown-red (Paul Tol), apart from every kind's colour (it used to be the 2A vermillion)."""

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
    """A number as a cell or bar label, never in e-notation: integers whole (1500, not
    1.5e+03), others with up to three significant digits (0.0123, 0.15, 1.23, 12.3, 123)
    -- one format for every cell of a table or heatmap."""
    if isinstance(v, (int, np.integer)):
        return str(v)
    v = float(v)
    if not np.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 100 or v == round(v):
        return f"{v:.0f}"
    decimals = min(6, 2 - int(np.floor(np.log10(abs(v)))))
    return f"{v:.{decimals}f}".rstrip("0").rstrip(".")


def distinct_labels(values: Any, *, max_decimals: int = 6) -> list[str]:
    """``values`` as tick labels with the fewest decimals (at least one) that keep
    different values apart: 80.04 and 80.08 read ``80.04, 80.08``, never ``80.0, 80.0``."""
    xs = [float(v) for v in values]
    for decimals in range(1, max_decimals + 1):
        labels = [f"{x:.{decimals}f}" for x in xs]
        if all(a != b for (a, x), (b, y) in zip(zip(labels, xs), zip(labels[1:], xs[1:]))
               if x != y):
            return labels
    return [f"{x:.{max_decimals}f}" for x in xs]


COLUMN_LABELS: dict[str, str] = {
    "completion_time_s": "completion time (s)",
    "latency_p50_ms": "median latency (ms)",
    "latency_p99_ms": "99th-percentile latency (ms)",
    "retries": "retries (timeouts fired)",
    "drops": "datagrams dropped",
    "loss": "loss rate",
    "timeout": "timeout (s)",
    "values": "values (all clients)",
    "values_per_client": "values per client",
    "wall_time_s": "wall time (s)",
}
"""Human names (with units) of the columns of an experiment's results table."""


def human(column: str) -> str:
    """The human name of a results column (``completion_time_s`` -> ``completion time (s)``)."""
    return COLUMN_LABELS.get(column, column.replace("_", " "))


__all__ = ["COLUMN_LABELS", "DROP_COLOR", "KIND_COLORS", "ROLE_COLORS", "SERIES_COLORS",
           "distinct_labels", "human", "message_label", "new_ax", "short_number"]  # fmt: skip
