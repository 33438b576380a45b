"""Pictures of Paxos drawn from the code's own data: traces, run tables, sweeps.

Every function takes what the package already produces and returns the matplotlib
``Axes`` it drew on (pass ``ax=`` to draw into a figure of your own); nothing calls
``plt.show()``. Each message kind and each role keeps its colour in every picture
(:mod:`paxos_edu.viz_style`).

This module is the one to import; the pictures live by family:

* messages -- :func:`sequence_diagram`, :func:`role_graph` (:mod:`paxos_edu.viz_sequence`),
  drawn from any message-level source through :func:`message_frame` (a simulation, its
  result, a simulated or real run, an explored schedule, a trace; see
  :mod:`paxos_edu.trace`, which also pairs a real run's receipts with their sends);
* how a run went -- :func:`latency_histogram`, :func:`throughput_plot`,
  :func:`retries_bar`, :func:`rounds_over_time`, :func:`delivered_over_time`,
  :func:`catchup_progress`, :func:`sweep_heatmap`, :func:`message_counts_bar`
  (:mod:`paxos_edu.viz_plots`);
* a simulation's state -- :func:`acceptor_state_table` (here).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import pandas as pd

from .quorum import quorum_size
from .trace import KIND_SHORT, filter_messages, message_arrows, message_frame
from .viz_plots import (
    catchup_progress,
    delivered_over_time,
    latency_histogram,
    message_counts_bar,
    retries_bar,
    rounds_over_time,
    sweep_heatmap,
    throughput_plot,
)
from .viz_sequence import role_graph, role_graph_data, sequence_diagram
from .viz_style import KIND_COLORS, ROLE_COLORS

# ---------------------------------------------------------------------- state tables


def acceptor_state_table(sim: Any, instances: Optional[Iterable[int]] = None) -> Any:
    """The simulation's acceptor table (``sim.acceptor_table()``) styled for notebooks: in
    each instance, a promise (``rnd``) held by a quorum of acceptors is shaded orange, and
    the votes (``v_rnd``, ``v_val``) of a quorum in one round -- the value is *chosen* --
    are shaded blue. Column ``quorum`` says the same in words (``quorum promised``,
    ``chosen``), for readers who cannot tell the tints apart."""
    from .stepper_tables import quorum_marks

    df = sim.acceptor_table(instances)
    quorum = quorum_size(sim.acceptor_count)
    df = df.assign(quorum=quorum_marks(df.to_dict("records"), quorum))

    def shade(frame: pd.DataFrame) -> pd.DataFrame:
        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for column, cells, colour in (
            ("rnd", ["rnd"], "#FCE3B6"),
            ("v_rnd", ["v_rnd", "v_val"], "#CFE6F6"),
        ):
            held = frame[frame[column] != "-"]
            counts = held.groupby(["instance", column])["acceptor"].nunique()
            for inst, rnd in counts[counts >= quorum].index:
                rows = (frame["instance"] == inst) & (frame[column] == rnd)
                css.loc[rows, cells] = f"background-color: {colour}"
        return css

    caption = (
        f"Acceptors (a quorum is {quorum}). Orange (quorum promised): a promise made by a "
        "quorum; blue (chosen): votes of a quorum in one round, so the value is chosen."
    )
    return df.style.apply(shade, axis=None).set_caption(caption).hide(axis="index")


def export_html(source: Any, path: Any, **kwargs: Any) -> Any:
    """The interactive Lamport diagram of ``source`` (a Simulation, a simulator result or
    a real Run) as one self-contained HTML file; see :func:`paxos_edu.lamport.export_html`."""
    from .lamport.export import export_html as export

    return export(source, path, **kwargs)


__all__ = [
    "KIND_COLORS", "KIND_SHORT", "ROLE_COLORS", "acceptor_state_table", "catchup_progress",
    "delivered_over_time", "export_html", "filter_messages", "latency_histogram", "message_arrows",
    "message_counts_bar", "message_frame", "retries_bar", "role_graph", "role_graph_data",
    "rounds_over_time", "sequence_diagram", "sweep_heatmap",
    "throughput_plot",
]  # fmt: skip
