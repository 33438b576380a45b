"""What a real process counts, and the ``counters`` record it leaves in its event log.

The hot path counts datagrams in list slots indexed by the kind byte (``_sent``,
``_received``, ``_dropped``: one ``+= 1`` per datagram, no dictionary, no name lookup);
:meth:`RuntimeCounters.counters_dict` turns them into names only when asked -- at exit,
for the ``counters`` record -- together with decode errors by reason, notes, identity
conflicts, ignored votes, a client's submissions and retries, the transport's, storage's
and archive's own counters, and the time spent.

:class:`RuntimeCounters` is a mixin of :class:`~paxos_edu.runtime.Runtime`: it reads the
counters and parts that ``Runtime.__init__`` and ``_open`` set (listed on the class).
Siblings: :mod:`paxos_edu.runtime` (the class and its loop), :mod:`paxos_edu.runtime_start`
(opening a process), :mod:`paxos_edu.runtime_receive` (the receive path, identity),
:mod:`paxos_edu.runtime_send` (effects, sending, group commit),
:mod:`paxos_edu.runtime_output` (stdout, stderr), :mod:`paxos_edu.runtime_stop` (signals,
the end of a process).
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Any, Optional

from .messages import Kind

if TYPE_CHECKING:
    from .client_input import ClientInput
    from .client_resume import Resumed
    from .identity import TwinDetector, VoteFilter
    from .storage import AcceptorStorage
    from .transport import Transport

__all__ = ["RuntimeCounters", "kind_name"]


def kind_name(code: int) -> str:
    """The name of a kind byte (``PHASE2B``), or ``kind<code>`` for a byte no kind has."""
    try:
        return Kind(code).name
    except ValueError:
        return f"kind{code}"


class RuntimeCounters:
    """:meth:`counters_dict`: what this process did, by name."""

    role_name: str
    role: Any
    input: Optional[ClientInput]
    resumed: Optional[Resumed]
    transport: Optional[Transport]
    storage: Optional[AcceptorStorage]
    _twins: TwinDetector
    _votes: Optional[VoteFilter]
    _sent: list[int]
    _received: list[int]
    _dropped: list[int]
    _decode_errors: dict[str, int]
    _notes: dict[str, int]
    _send_failed: int
    _encode_errors: int
    _delivered: int
    _stop_signal: Optional[int]
    _started_at: float

    def counters_dict(self) -> dict[str, Any]:
        """What this process did: datagrams by kind, drops, notes, values in and out."""
        def by_kind(slots: list[int]) -> dict[str, int]:
            return {kind_name(k): n for k, n in enumerate(slots) if n}

        out: dict[str, Any] = {
            "sent": by_kind(self._sent),
            "received": by_kind(self._received),
            "dropped": by_kind(self._dropped),
            "decode_errors": dict(self._decode_errors),
            "notes": dict(self._notes),
            "send_failed": self._send_failed,
        }
        if self._encode_errors:
            out["encode_errors"] = self._encode_errors
        twins = self._twins.twins
        refused = self._votes.refused if self._votes is not None else 0
        if twins or refused:
            out["identity"] = {"twins": len(twins), "votes_refused": refused}
        if self.role_name == "learner":
            out["delivered"] = self._delivered
        if self.role_name in ("learner", "proposer") and self.role is not None:
            # Votes from acceptor ids outside 1..acceptor_count, ignored (see quorum.is_voter).
            ignored = {"PHASE2B": self.role.ledger.ignored_votes,
                       "PHASE1B": getattr(self.role, "ignored_promises", 0)}
            out["ignored_votes"] = {k: n for k, n in ignored.items() if n}
        if self.role_name == "client":
            out["submitted"] = self.input.submitted if self.input is not None else 0
            out["rejected_lines"] = self.input.rejected if self.input is not None else 0
            if self.resumed is not None and self.input is not None:
                out["resumed"] = {"earlier": self.resumed.submitted,
                                  "resent": self.input.resent, "skipped": self.input.skipped}
            if self.role is not None:
                out["retries"] = self.role.retries
        if self.transport is not None:
            out["transport"] = self.transport.counters.as_dict()
        if self.storage is not None:
            out["storage"] = self.storage.counters()
        if self.role_name in ("acceptor", "proposer") and self.role is not None:
            # Bounded memory: what left RAM for the archive file, what stayed.
            role = self.role
            archive = role.archive if self.role_name == "acceptor" else role.history
            in_ram = len(role.slots) if self.role_name == "acceptor" else len(role.ledger.decided)
            if archive is not None:
                out["archive"] = {"on_disk": archive.count, "in_ram": in_ram,
                                  "index_entries": archive.index_entries}
        if self._stop_signal is not None:
            out["stopped_by"] = signal.Signals(self._stop_signal).name
        out["seconds"] = round(time.monotonic() - self._started_at, 6) if self._started_at else 0
        out["cpu_seconds"] = round(time.process_time(), 6)  # includes start-up (imports)
        return out
