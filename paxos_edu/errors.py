"""The one error hierarchy of paxos_edu.

Local misuse (a bad argument, a bad config file) and bad remote input (a datagram
that does not decode) are different errors: the first stops the caller, the second
is counted and dropped by the runtime, never allowed to crash a process.
Stale or duplicate Paxos messages are *not* errors: they are normal protocol traffic.
"""

from __future__ import annotations


class PaxosEduError(Exception):
    """Base class of every error paxos_edu raises on purpose."""


class ConfigError(PaxosEduError):
    """A config file or setting is wrong; the message reads ``path:line: what is wrong``."""


class DecodeError(PaxosEduError):
    """A datagram is malformed, truncated, oversized, unknown or fails authentication.

    ``reason`` is a short stable word for counters (``auth``, ``foreign``, ``version``,
    ``unknown-kind``, ``oversized``, ``truncated``, ``trailing-bytes``, ``bad-text``,
    ``malformed``); the message says what exactly, naming the datagram type when known.
    """

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


class UsageError(PaxosEduError):
    """The library or a command was called wrongly (bad argument, unknown role, ...)."""


class NetworkError(UsageError):
    """A socket, port or multicast group cannot be used on this machine.

    A :class:`UsageError` for callers that catch those, but a command exits with status 1
    (a runtime failure) for it, 2 being for mistakes in its arguments or config.
    """


class SettingError(ConfigError, UsageError):
    """A setting (``loss``, ``batch``, ...) has an unknown name or a bad value, wherever it
    was given: a config file line, :meth:`Config.replace`, a :class:`Simulation`, a
    ``Cluster``, an experiment. It is both a :class:`ConfigError` and a :class:`UsageError`,
    so callers catching either see it; the message reads ``where: name what is wrong``."""
