"""What a Lamport diagram writes: arrow labels, the values a message carries, the
meaning of each kind, process names as words, and numbers read from a run's log fields.

The kinds' short names are the trace model's (:data:`paxos_edu.trace.KIND_SHORT`), and
process names are split by :func:`paxos_edu.processes.parse_process_name` alone, so the
diagram, the matplotlib pictures and the run tables name everything alike.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..errors import UsageError
from ..messages import (
    END,
    Ack,
    CatchUp,
    Decision,
    Heartbeat,
    Message,
    Nack,
    Phase1B,
    Phase2A,
    Phase2B,
    Submit,
)
from ..processes import parse_process_name
from ..rounds import NO_ROUND, format_round
from ..trace import KIND_SHORT

KIND_WORDS = {
    "SUBMIT": "submit: a client asks the proposers to order values",
    "ACK": "ack: the proposer tells a client its values are decided",
    "PHASE1A": "1A prepare: \u201cpromise me this round\u201d",
    "PHASE1B": "1B promise: \u201cI will not accept below this round; I accepted this\u201d",
    "NACK": "nack: \u201cI promised a higher round\u201d",
    "PHASE2A": "2A accept!: \u201caccept this value in this round\u201d",
    "PHASE2B": "2B accepted: an acceptor's vote, sent to the learners",
    "DECISION": "decision: a decided instance, resent for catch-up",
    "CATCHUP": "catch-up: a learner asks for decisions it missed",
    "HEARTBEAT": "heartbeat: the leader is alive",
}
"""What each kind means, in the paper's words (shown on hover)."""

VALUE_LABEL_LIMIT = 14
"""Longest value text written on an arrow; the hover shows all of it."""


def message_values(msg: Message) -> list[str]:
    """The values a message carries, as text, e.g. ``["a", "b"]``; ``["no-op"]`` for an
    empty batch; for a promise, its votes (``"i0@1.1 = a"``); ``[]`` for none."""
    match msg:
        case Submit(submissions):
            return [s.value for s in submissions]
        case Phase2A(value=value) | Phase2B(value=value) | Decision(value=value):
            return [s.value for s in value] if value else ["no-op"]
        case Phase1B(accepted=accepted):
            return [f"i{a.instance}@{format_round(a.v_rnd)} = "
                    f"{', '.join(s.value for s in a.v_val) if a.v_val else 'no-op'}"
                    for a in accepted]
        case Ack(seqs=seqs):
            return [f"seq {s}" for s in seqs]
        case Nack(promised=promised):
            return [f"promised {format_round(promised)}"]
        case CatchUp(instance=instance):
            return [f"from i{instance}"]
        case Heartbeat(decided=decided):
            return [f"decided below i{decided}"]
    return []


def arrow_label(kind: str, rnd: Optional[str], instance: Optional[int],
                msg: Optional[Message]) -> str:
    """What an arrow says: kind, round, instance and the value(s), e.g. ``2A 1.0 i0 [a]``."""
    parts = [KIND_SHORT.get(kind, kind)]
    if rnd:
        parts.append(rnd)
    if instance is not None:
        parts.append(f"i{instance}")
    if msg is not None:
        text = value_label(msg)
        if text:
            parts.append(text)
    return " ".join(parts)


def value_label(msg: Message) -> str:
    """The values of ``msg`` as written on an arrow: ``[a, b]``, ``[no-op]``, ``[x@1.1]``
    for a promise reporting a vote; ``""`` for a message without values."""
    match msg:
        case Submit(submissions):
            return f"[{cut_text(', '.join(s.value for s in submissions), VALUE_LABEL_LIMIT)}]"
        case Phase2A(value=value) | Phase2B(value=value) | Decision(value=value):
            text = ", ".join(s.value for s in value) if value else "no-op"
            return f"[{cut_text(text, VALUE_LABEL_LIMIT)}]"
        case Phase1B(accepted=accepted) if accepted:
            a = accepted[-1]
            text = ", ".join(s.value for s in a.v_val) if a.v_val else "no-op"
            more = f" +{len(accepted) - 1}" if len(accepted) > 1 else ""
            return f"[{cut_text(text, VALUE_LABEL_LIMIT)}@{format_round(a.v_rnd)}{more}]"
    return ""


def cut_text(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 1`` characters and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def round_text(rnd: Optional[int]) -> Optional[str]:
    """A raw round as the course writes it (``"1.2"``); None for none or round 0."""
    if rnd is None or rnd == NO_ROUND:
        return None
    return format_round(int(rnd))


def instance_of(instance: Optional[int]) -> Optional[int]:
    """The instance a message is about; None when it names none (``END`` and above)."""
    return None if instance is None or instance >= END else int(instance)


def split_name(name: str) -> tuple[str, Optional[int]]:
    """``("acceptor", 2)`` for ``"acceptor2"``; ``(name, None)`` for a name that is no
    process name (the diagram still draws it, as :func:`~paxos_edu.trace.process_order`
    keeps it)."""
    try:
        return parse_process_name(name)
    except UsageError:
        return name, None


def human(name: Optional[str]) -> str:
    """``"acceptor2"`` -> ``"acceptor 2"``; ``"?"`` for no name."""
    if not name:
        return "?"
    role, id = split_name(name)
    return name if id is None else f"{role} {id}"


def num(value: Any) -> Optional[float]:
    """A log field as a float; None when it is missing (None, NA, NaN) or no number."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def int_or_none(value: Any) -> Optional[int]:
    """A log field as an int (see :func:`num`)."""
    f = num(value)
    return None if f is None else int(f)


__all__ = ["KIND_WORDS", "VALUE_LABEL_LIMIT", "arrow_label", "cut_text", "human", "instance_of",
           "int_or_none", "message_values", "num", "round_text", "split_name", "value_label"]
