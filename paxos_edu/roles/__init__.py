"""The four Paxos roles as sans-I/O state machines.

Each role offers ``handle(msg, now) -> list[Effect]``, ``tick(now) -> list[Effect]`` and
``deadline() -> float | None`` (when it next needs a tick). The real runtime and the
simulator drive exactly these objects.
"""

from .acceptor import Acceptor, AcceptorSlot
from .client import Client
from .learner import Learner
from .ledger import CATCHUP_PAGE, Ledger
from .proposer import Proposer, Status

__all__ = [
    "Acceptor",
    "AcceptorSlot",
    "CATCHUP_PAGE",
    "Client",
    "Ledger",
    "Learner",
    "Proposer",
    "Status",
]
