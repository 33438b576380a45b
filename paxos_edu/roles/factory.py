"""The one role factory: builds the role object of any process from its settings.

The real runtime (one process) and the simulator (every process) both call
:func:`make_role`, so a real run and a simulation drive identical objects built from
identical settings. The drivers differ only in what they pass: the simulator draws the
``rng`` and ``incarnation`` from its seed, a real process from the operating system.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Iterable, Optional, Union

from ..bugs import Bug
from ..errors import SettingError
from ..processes import check_role
from ..quorum import quorum_size
from .acceptor import Acceptor
from .client import Client
from .learner import Learner
from .proposer import Proposer

if TYPE_CHECKING:
    from ..config import Settings

Role = Union[Acceptor, Proposer, Learner, Client]


def check_acceptor_id(id: int, settings: Settings) -> None:
    """Refuse an acceptor whose id the quorum does not count.

    Quorums are majorities of ``acceptor_count``: an acceptor 4 of a count of 3 would let
    acceptors 4 and 5 alone form a "majority" that meets no majority of 1..3, and two
    different values could be chosen.

    Raises:
        SettingError: naming the id, ``acceptor_count`` (and the config file) and the fix.
    """
    count = settings.acceptor_count
    if 1 <= id <= count:
        return
    where = getattr(settings, "path", None) or "the config"
    if id < 1:
        raise SettingError(f"acceptor {id}: acceptor ids are 1..acceptor_count "
                           f"(acceptor_count {count} in {where}); start acceptors 1..{count}")
    raise SettingError(
        f"acceptor {id}: id outside 1..acceptor_count (acceptor_count {count} in {where}): a "
        f"quorum is {quorum_size(count)} of acceptors 1..{count}, so its votes must not count. "
        f"To run more acceptors, set 'acceptor_count N' in {where} on every process, N the "
        f"number of acceptors (at least {id}, e.g. 'acceptor_count {max(id, 5)}'), and start "
        f"acceptors 1..N")


def make_role(
    role: str,
    id: int,
    settings: Settings,
    *,
    rng: random.Random,
    incarnation: int = 0,
    bugs: Iterable[Bug] = frozenset(),
    now: float = 0.0,
    backoff: bool = True,
    durable: bool = False,
    listen_until: Optional[float] = None,
    restarted: bool = False,
) -> Role:
    """The role object of process ``role`` ``id``.

    Args:
        role: one of :data:`paxos_edu.processes.ROLES`.
        id: the process id; an acceptor's must be in ``1..acceptor_count``.
        settings: a :class:`~paxos_edu.config.Settings` (a ``Config`` is one).
        rng: the role's private random generator (backoff jitter, ...).
        incarnation: which life of this id: a proposer puts it in its rounds (a restarted
            proposer never reuses a round of its earlier life, see rounds.py), a client
            uses it as its session; unused by acceptors and learners.
        bugs: deliberate mistakes; only those of ``role`` apply.
        now: the driver's clock at start (the proposer's leader heuristic starts from it).
        backoff: False makes a proposer that lost a contest retry at once (notebook 05).
        durable, listen_until: an acceptor's crash-recovery (see roles/acceptor.py):
            persist every state change; listen until that time before voting.
        restarted: this proposer id ran before (its decided history is unknown to it).

    Raises:
        UsageError: for an unknown role; SettingError for an acceptor id the quorum
            does not count (see :func:`check_acceptor_id`).
    """
    check_role(role)
    bugs = frozenset(b for b in bugs if b.role == role)
    s = settings
    if role == "acceptor":
        check_acceptor_id(id, s)
        return Acceptor(id, bugs=bugs, durable=durable, listen_until=listen_until)
    if role == "proposer":
        return Proposer(id, acceptor_count=s.acceptor_count, timeout=s.timeout, mode=s.mode,
                        batch=s.batch, window=s.window, rng=rng, bugs=bugs, backoff=backoff,
                        incarnation=incarnation, now=now, restarted=restarted)
    if role == "learner":
        return Learner(id, acceptor_count=s.acceptor_count, timeout=s.timeout, rng=rng,
                       bugs=bugs)
    return Client(id, session=incarnation, timeout=s.timeout, window=s.client_window, rng=rng)


__all__ = ["Role", "check_acceptor_id", "make_role"]
