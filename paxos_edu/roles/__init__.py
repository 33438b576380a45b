"""The four Paxos roles as sans-I/O state machines.

Each role offers ``handle(msg, now) -> list[Effect]``, ``tick(now) -> list[Effect]`` and
``deadline() -> float | None`` (when it next needs a tick). The real runtime and the
simulator drive exactly these objects, both built by :func:`make_role`.
"""

from .acceptor import Acceptor, AcceptorSlot
from .client import Client
from .factory import Role, check_acceptor_id, make_role
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
    "Role",
    "Status",
    "check_acceptor_id",
    "make_role",
]
