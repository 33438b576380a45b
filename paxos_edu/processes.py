"""The role table: the four Paxos roles, the groups each listens on, and process names.

Every module that names a role, joins a role's groups or turns a process name such as
``acceptor2`` back into ``("acceptor", 2)`` reads it here, so the simulator, the real
runtime, the lab bench, the event log and the pictures cannot drift apart.
"""

from __future__ import annotations

import re

from .errors import UsageError
from .messages import Group

ROLES: tuple[str, ...] = ("client", "proposer", "acceptor", "learner")
"""The role names, in the order a value flows through them (and pictures list them)."""

START_ORDER: tuple[str, ...] = ("acceptor", "proposer", "learner", "client")
"""The order a lab bench starts roles in: voters first, clients (who submit) last."""

LISTENS: dict[str, tuple[Group, ...]] = {
    "client": (Group.CLIENTS,),
    "proposer": (Group.PROPOSERS, Group.LEARNERS),
    "acceptor": (Group.ACCEPTORS,),
    "learner": (Group.LEARNERS,),
}
"""The groups each role joins (proposers watch the learners group for decisions and
catch-up requests)."""

_NAME = re.compile(r"([a-z]+)(0|[1-9][0-9]*)\Z")  # ASCII digits, no leading zeros


def check_role(role: object) -> str:
    """``role`` itself when it is one of :data:`ROLES`.

    Raises:
        UsageError: naming the unknown role and the known ones.
    """
    if not isinstance(role, str) or role not in ROLES:
        raise UsageError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def process_name(role: str, id: int) -> str:
    """The name of one process, as in log file names and traces: ``acceptor2``.

    Raises:
        UsageError: for an unknown role or an id that is not a whole number >= 0.
    """
    check_role(role)
    if isinstance(id, bool) or not isinstance(id, int) or id < 0:
        raise UsageError(f"process ids are whole numbers >= 0, got {id!r}")
    return f"{role}{id}"


def parse_process_name(name: str) -> tuple[str, int]:
    """``("acceptor", 2)`` from ``"acceptor2"``: the inverse of :func:`process_name`.

    Raises:
        UsageError: when ``name`` is not a role followed by a process id (``acceptor``,
            ``acceptor02``, ``voter1`` and ``acceptor٢`` are all refused).
    """
    match = _NAME.match(name) if isinstance(name, str) else None
    if match is None or match.group(1) not in ROLES:
        raise UsageError(f"bad process name {name!r}: expected a role ({', '.join(ROLES)}) "
                         "followed by its id, e.g. 'acceptor2'")
    return match.group(1), int(match.group(2))


def role_of(name: str) -> str:
    """The role of a process name (``"acceptor"`` from ``"acceptor2"``), or the name itself
    when it is already a role.

    Raises:
        UsageError: when ``name`` is neither a role nor a process name.
    """
    if name in ROLES:
        return name
    return parse_process_name(name)[0]


__all__ = ["LISTENS", "ROLES", "START_ORDER", "check_role", "parse_process_name",
           "process_name", "role_of"]
