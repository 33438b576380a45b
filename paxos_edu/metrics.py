"""How well a run went: latency, throughput, messages per value, retries and drops.

:func:`run_metrics` reads the tables of any :class:`~paxos_edu.runlog.Run` -- a real run
directory or a simulation read back as one -- and returns a :class:`Metrics`;
``Run.metrics()`` calls it. :func:`retries_and_drops_by_role` counts each retry and drop
once across the overlapping sources of one table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import UsageError
from .processes import LISTENS

if TYPE_CHECKING:  # pragma: no cover
    from .runlog import Run

_DROPS = re.compile(r"retr|drop|decode|auth|loss|timeout|backoff|duplicate|resen", re.I)
"""Counter and note names that :func:`run_metrics` reports as retries and drops."""


@dataclass(eq=False)
class Metrics:
    """Performance of one run.

    Attributes:
        latency: per delivered value per learner (needs identities and times):
            ``learner``, ``position``, ``client``, ``session``, ``seq``, ``submitted``,
            ``learned`` (wall-clock s), ``latency`` (s).
        throughput: values learned per time bin per learner, zero bins included:
            ``learner``, ``time`` (bin start, s since the run's first event), ``values``,
            ``values_per_s``.
        messages_per_value: ``kind``, ``messages`` (datagrams sent), ``per_value``
            (messages / distinct values learned), ``source`` (``"trace"`` from the messages
            table, else ``"counters"`` from a ``sent`` dict in the exit counters).
        retries_and_drops: ``process``, ``role``, ``id``, ``source`` (``counters``,
            ``notes`` or ``trace``), ``name``, ``count``: exit counters and note names
            that mention retries, drops, decode/auth errors, loss, timeouts or backoff,
            and dropped messages by reason.
        summary: ``values`` (distinct values learned), ``learners``, ``duration_s`` (first
            submission or delivery to last delivery), ``values_per_s``,
            ``latency_p50_ms``, ``latency_p99_ms``, ``latency_max_ms`` (NaN when unknown).
        links: per-link loss at trace level ``messages`` (else empty), one row per
            sender -> receiver: ``sender``, ``receiver``, ``sent`` (datagrams the sender
            multicast to a group the receiver listens on, while it was running),
            ``received``, ``dropped`` (by the receiver: injected loss, refused votes),
            ``lost`` (sent - received - dropped: lost in the network or a full buffer;
            negative when a network duplicated datagrams), ``loss`` (1 - received / sent).
    """

    latency: pd.DataFrame
    throughput: pd.DataFrame
    messages_per_value: pd.DataFrame
    retries_and_drops: pd.DataFrame
    summary: dict[str, float]
    links: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LINK_COLUMNS))

    def __repr__(self) -> str:
        s = self.summary
        return "\n".join(
            [
                "Metrics",
                f"  values learned   {s['values']} by {s['learners']} learners",
                f"  duration         {s['duration_s']:.3f} s",
                f"  throughput       {s['values_per_s']:.0f} values/s",
                f"  latency          p50 {s['latency_p50_ms']:.2f} ms, "
                f"p99 {s['latency_p99_ms']:.2f} ms, max {s['latency_max_ms']:.2f} ms",
                f"  tables           latency ({len(self.latency)} rows), throughput "
                f"({len(self.throughput)}), messages_per_value ({len(self.messages_per_value)}),"
                f" retries_and_drops ({len(self.retries_and_drops)}), links ({len(self.links)})",
            ]
        )


def _nice_bin(duration: float, bins: int = 50) -> float:
    """A 1-2-5 round width giving about ``bins`` bins over ``duration`` seconds."""
    if not duration > 0:
        return 1.0
    raw = duration / bins
    exp = math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if raw <= step * 10**exp:
            return max(step * 10**exp, 1e-3)
    return 10 ** (exp + 1)  # pragma: no cover


def _distinct_values(run: Run) -> int:
    if run.has_identities:
        return len(run.learned.drop_duplicates(["client", "session", "seq"]))
    sizes = run.learned.groupby("learner").size()
    return int(sizes.max()) if len(sizes) else 0


def run_metrics(run: Run, bin_s: float | None = None) -> Metrics:
    """Latency, throughput, messages per value, retries and drops of ``run``.

    Args:
        bin_s: width of the throughput bins in seconds (default: a round width that
            gives about 50 bins over the run).

    Raises:
        UsageError: for a bin width that is not > 0.
    """
    learned = run.learned[run.learned["time"].notna()]
    proposed = run.proposed[run.proposed["time"].notna()]
    keys = ["client", "session", "seq"]
    sub = proposed[keys + ["time"]].drop_duplicates(keys).astype({k: "Int64" for k in keys})
    latency = learned[["learner", "position", *keys, "time"]].merge(
        sub.rename(columns={"time": "submitted"}), on=keys, how="inner"
    )
    latency = latency.rename(columns={"time": "learned"})
    latency["latency"] = latency["learned"] - latency["submitted"]
    latency = latency.sort_values(["learner", "position"], ignore_index=True)

    start = np.nanmin([proposed["time"].min(), learned["time"].min(), np.inf])
    end = learned["time"].max() if len(learned) else math.nan
    duration = float(end - start) if len(learned) else math.nan
    width = bin_s if bin_s is not None else _nice_bin(duration)
    if width <= 0:
        raise UsageError(f"throughput bin width must be > 0 s, got {width}")
    bins = np.floor((learned["time"].to_numpy() - start) / width).astype(np.int64)
    counts = pd.Series(bins).groupby([learned["learner"].to_numpy(), bins]).size()
    if len(counts):
        grid = pd.MultiIndex.from_product(
            [sorted(learned["learner"].unique()), range(int(bins.max()) + 1)],
            names=["learner", "bin"],
        )
        counts = counts.reindex(grid, fill_value=0)
    throughput = pd.DataFrame(
        {
            "learner": counts.index.get_level_values(0).astype("int64"),
            "time": counts.index.get_level_values(1).to_numpy(dtype=float) * width,
            "values": counts.to_numpy(dtype=np.int64),
        }
    )
    throughput["values_per_s"] = throughput["values"] / width

    values = _distinct_values(run)
    messages_per_value = _messages_per_value(run, values)
    lat = latency["latency"].to_numpy()
    summary = {
        "values": values,
        "learners": len(run.learners),
        "duration_s": duration,
        "values_per_s": values / duration if duration > 0 else math.nan,
        "latency_p50_ms": float(np.percentile(lat, 50) * 1e3) if len(lat) else math.nan,
        "latency_p99_ms": float(np.percentile(lat, 99) * 1e3) if len(lat) else math.nan,
        "latency_max_ms": float(lat.max() * 1e3) if len(lat) else math.nan,
    }
    return Metrics(latency, throughput, messages_per_value, _retries_and_drops(run), summary,
                   _links(run))


LINK_COLUMNS = ("sender", "receiver", "sent", "received", "dropped", "lost", "loss")


def _links(run: Run) -> pd.DataFrame:
    """Per-link loss from the messages table: receipts name their sender (``sender``)."""
    m = run.messages
    if not run.traced or "sender" not in m or not len(m):
        return pd.DataFrame(columns=list(LINK_COLUMNS))
    sends = m[m["direction"] == "sent"]
    ends = m[(m["direction"] != "sent") & m["sender"].notna()]
    life = run.processes.set_index("process") if len(run.processes) else None
    rows = []
    for receiver in sorted(set(m["process"])):
        role = m.loc[m["process"] == receiver, "role"].iloc[0]
        groups = [g.role for g in LISTENS.get(role, ())]
        heard = sends[sends["group"].isin(groups)]
        if life is not None and receiver in life.index:
            started, ended = life.loc[receiver, "started"], life.loc[receiver, "ended"]
            if not pd.isna(started):
                heard = heard[heard["time"] >= started]
            if not pd.isna(ended):
                heard = heard[heard["time"] <= ended]
        mine = ends[ends["process"] == receiver]
        # It joins its groups before it writes ``start``: a send it heard counts for the link
        # even if it went out just before that record.
        keys = set(zip(heard["process"], heard["send_seq"]))
        keys |= set(zip(mine["sender"], mine["send_seq"]))
        sent = pd.Series([k[0] for k in keys], dtype=object).value_counts()
        received = mine[mine["direction"] == "received"].groupby("sender").size()
        dropped = mine[mine["direction"] == "dropped"].groupby("sender").size()
        for sender in sorted(set(sent.index) | set(received.index) | set(dropped.index)):
            n, r, d = (int(x.get(sender, 0)) for x in (sent, received, dropped))
            rows.append((sender, receiver, n, r, d, n - r - d, 1 - r / n if n else math.nan))
    return pd.DataFrame(rows, columns=list(LINK_COLUMNS))


def _messages_per_value(run: Run, values: int) -> pd.DataFrame:
    if run.traced:
        sent = run.messages[run.messages["direction"] == "sent"]
        counts = sent.groupby("kind").size()
        source = "trace"
    else:
        columns = [c for c in run.counters.columns if c.startswith("sent.")]
        counts = run.counters[columns].sum(numeric_only=True) if columns else pd.Series()
        counts.index = [c[len("sent.") :] for c in counts.index]
        source = "counters"
    table = pd.DataFrame({"kind": list(counts.index), "messages": counts.to_numpy(dtype=np.int64)})
    table["per_value"] = table["messages"] / values if values else math.nan
    table["source"] = source
    return table.sort_values("messages", ascending=False, ignore_index=True)


def _retries_and_drops(run: Run) -> pd.DataFrame:
    rows = []
    for _, row in run.counters.iterrows():
        for name, count in row.items():
            if name in ("process", "role", "id") or not _DROPS.search(str(name)):
                continue
            if isinstance(count, (int, float, np.number)) and not pd.isna(count):
                rows.append((row["process"], row["role"], row["id"], "counters", name, count))
    notes = run.notes[run.notes["note"].astype(str).str.contains(_DROPS)]
    by_note = notes.groupby(["process", "role", "id", "note"]).size()
    for (process, role, pid, note), n in by_note.items():
        rows.append((process, role, pid, "notes", note, n))
    if run.traced:
        dropped = run.messages[run.messages["direction"] == "dropped"].fillna({"reason": "?"})
        for (process, role, pid, reason), n in (
            dropped.groupby(["process", "role", "id", "reason"]).size().items()
        ):
            rows.append((process, role, pid, "trace", f"dropped:{reason}", n))
    return pd.DataFrame(rows, columns=["process", "role", "id", "source", "name", "count"])


def retries_and_drops_by_role(table: pd.DataFrame) -> pd.DataFrame:
    """Retries and drops per role from ``metrics().retries_and_drops``, each counted once.

    That table lists every source (exit counters, notes, trace), which overlap. Here
    ``retries`` counts the ``retry`` notes -- timeouts that fired, each re-sending one or
    more values (client) or instances (proposer) -- and ``drops`` the datagrams dropped,
    from a process's exit counters (``dropped.<KIND>``) when it wrote them, else (killed,
    or simulated) from the trace. Index: role; columns: ``retries``, ``drops``.
    """
    retries = table[(table["source"] == "notes") & (table["name"] == "retry")]
    counted = set(table.loc[table["source"] == "counters", "process"])
    drops = table[
        ((table["source"] == "counters") & table["name"].str.startswith("dropped."))
        | (
            (table["source"] == "trace")
            & table["name"].str.startswith("dropped:")
            & ~table["process"].isin(counted)
        )
    ]
    out = pd.DataFrame(
        {
            "retries": retries.groupby("role")["count"].sum(),
            "drops": drops.groupby("role")["count"].sum(),
        }
    )
    return out.fillna(0).astype("int64").rename_axis("role")


__all__ = ["LINK_COLUMNS", "Metrics", "retries_and_drops_by_role", "run_metrics"]
