"""Tables of a simulation's state, for the notebooks' phase stepper.

Each function reads the live role objects of a :class:`~paxos_edu.sim.Simulation` and
returns a small pandas DataFrame in the paper's vocabulary -- the acceptors' ``rnd``,
``v_rnd`` and ``v_val`` per instance, the proposers' ``c_rnd`` and ``c_val``, the
learners' delivered prefix, and the messages in flight -- so a notebook can show what
each process knows after every step. Rounds appear twice: formatted (``"2.1"``: round 2
of proposer 1, ``"-"`` for none) and raw (the integer on the wire).

:func:`summarize` gives the one-line gist of a message ("prepare i0 onward", "accept!
[a, b]") used by the in-flight table and by :meth:`InFlight.describe`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

import pandas as pd

from .messages import (
    END,
    Ack,
    Batch,
    CatchUp,
    Decision,
    Heartbeat,
    Message,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
    Submit,
    instance_of,
    round_of,
)
from .rounds import NO_ROUND, format_round

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Simulation

TEXT_LIMIT = 40
"""Longest value text shown in a table cell before it is cut with an ellipsis."""


def short_text(values: Iterable[str], limit: int = TEXT_LIMIT) -> str:
    """Values joined by ``", "`` and cut to ``limit`` characters."""
    text = ", ".join(values)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_value(value: Optional[Batch], limit: int = TEXT_LIMIT) -> str:
    """The text of a batch: ``"a, b"``; ``"no-op"`` for the empty batch; ``""`` for none."""
    if value is None:
        return ""
    if not value:
        return "no-op"
    return short_text((s.value for s in value), limit)


def _bracket(value: Batch) -> str:
    return f"[{short_value(value, 30)}]"


def summarize(msg: Message) -> str:
    """One line saying what ``msg`` asks or tells, in the paper's words."""
    match msg:
        case Submit(submissions):
            return f"submit {short_text((s.value for s in submissions), 30)!r}"
        case Ack(client=client, seqs=seqs):
            return f"ack client {client} seq {short_text(map(str, seqs), 20)}"
        case Phase1A(instance=instance, onward=onward):
            return f"prepare i{instance}{' onward' if onward else ''}"
        case Phase1B(acceptor=acceptor, upto=upto, accepted=accepted):
            votes = "; ".join(
                f"i{v.instance}@{format_round(v.v_rnd)}={_bracket(v.v_val)}" for v in accepted[:3]
            )
            if len(accepted) > 3:
                votes += f"; +{len(accepted) - 3} more"
            page = "" if upto == END else f" (page up to i{upto})"
            return f"promise from acceptor {acceptor}: {votes or 'nothing accepted'}{page}"
        case Nack(acceptor=acceptor, promised=promised):
            return f"refused by acceptor {acceptor}: promised {format_round(promised)}"
        case Phase2A(value=value):
            return f"accept! {_bracket(value)}"
        case Phase2B(acceptor=acceptor, value=value):
            return f"accepted {_bracket(value)} by acceptor {acceptor}"
        case Decision(value=value):
            return f"decided {_bracket(value)}"
        case CatchUp(requester, instance):
            return f"process {requester} asks for decisions from i{instance}"
        case Heartbeat(proposer=proposer, rnd=rnd, decided=decided):
            who = "leader" if rnd != NO_ROUND else "follower"
            return f"{who} {proposer}, decided below i{decided}"
    return type(msg).__name__


def acceptor_table(sim: Simulation, instances: Optional[Iterable[int]] = None) -> pd.DataFrame:
    """One row per acceptor and instance: the promise ``rnd`` and the vote ``v_rnd``/``v_val``.

    Args:
        instances: which instances to show; default every instance from 0 to the highest
            one any acceptor holds (instance 0 alone when none holds anything), so holes
            show as rows with nothing accepted.
    """
    acceptors = _procs(sim, "acceptor")
    if instances is None:
        held = [i for p in acceptors for i in p.obj.slots]
        instances = range(max(held) + 1 if held else 1)
    instances = list(instances)
    rows = []
    for proc in acceptors:
        acc = proc.obj
        for i in instances:
            slot = acc.slots.get(i)
            rnd = acc.promised(i)
            v_rnd = slot.v_rnd if slot is not None else NO_ROUND
            rows.append({
                "acceptor": proc.id, "alive": proc.alive, "instance": i,
                "rnd": format_round(rnd), "rnd_raw": rnd,
                "v_rnd": format_round(v_rnd), "v_rnd_raw": v_rnd,
                "v_val": short_value(slot.v_val if slot is not None else None),
            })
    columns = ["acceptor", "alive", "instance", "rnd", "rnd_raw", "v_rnd", "v_rnd_raw", "v_val"]
    return pd.DataFrame(rows, columns=columns)


def proposer_table(sim: Simulation) -> pd.DataFrame:
    """One row per proposer and instance it drives (one row when it drives none).

    ``phase`` 1 is a prepare waiting for promises (in multi mode one row for the prepare
    of every instance from ``instance`` on), 2 an accept waiting for the decision;
    ``promises`` counts the acceptors that promised ``c_rnd`` for that phase 1.
    """
    rows = []
    for proc in _procs(sim, "proposer"):
        p = proc.obj
        base = {"proposer": proc.id, "alive": proc.alive, "status": p.status.value,
                "c_rnd": format_round(p.c_rnd), "c_rnd_raw": p.c_rnd, "pending": len(p.pending)}
        own = []
        if p.scout is not None:
            own.append({"instance": p.scout.first, "phase": 1, "c_val": "",
                        "promises": len(p.scout.covered)})
        for i in sorted(p.slots):
            slot = p.slots[i]
            own.append({"instance": i, "phase": slot.phase, "c_val": short_value(slot.value),
                        "promises": len(slot.promises) if p.mode == "classic" else None})
        if not own:
            own.append({"instance": None, "phase": None, "c_val": "", "promises": None})
        rows.extend({**base, **extra} for extra in own)
    columns = ["proposer", "alive", "status", "c_rnd", "c_rnd_raw", "instance", "phase",
               "c_val", "promises", "pending"]
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("instance", "phase", "promises"):
        frame[col] = frame[col].astype("Int64")
    return frame


def learner_table(sim: Simulation) -> pd.DataFrame:
    """One row per learner: values delivered, first instance not delivered, the values."""
    rows = []
    for proc in _procs(sim, "learner"):
        learner, delivered = proc.obj, sim.delivered.get(proc.id, [])
        rows.append({
            "learner": proc.id, "alive": proc.alive, "delivered": len(delivered),
            "next_instance": learner.next_instance,
            "waiting": len(learner.ledger.decided),  # decided, blocked behind a gap
            "values": short_text((s.value for s in delivered), 60),
        })
    columns = ["learner", "alive", "delivered", "next_instance", "waiting", "values"]
    return pd.DataFrame(rows, columns=columns)


def in_flight_table(sim: Simulation) -> pd.DataFrame:
    """One row per message copy in flight (manual mode), oldest first."""
    rows = []
    for copy in sim.in_flight:
        msg = copy.message
        rnd = round_of(msg)
        rows.append({
            "id": copy.id, "sent_at": copy.sent_at, "sender": copy.sender,
            "receiver": copy.receiver, "kind": copy.kind, "instance": instance_of(msg),
            "round": format_round(rnd) if rnd is not None else "", "summary": summarize(msg),
        })
    columns = ["id", "sent_at", "sender", "receiver", "kind", "instance", "round", "summary"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["instance"] = frame["instance"].astype("Int64")
    return frame


def _procs(sim: Simulation, role: str) -> list:
    return sorted((p for (r, _), p in sim.processes.items() if r == role), key=lambda p: p.id)
