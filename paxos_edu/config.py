"""The course config file: where each role's multicast group is, plus optional settings.

The file has one line per role, ``<role> <ip> <port>``, for ``clients``, ``proposers``,
``acceptors`` and ``learners`` (the course's format), and optional setting lines
``<setting> <value>`` that tune a run (message loss, timeouts, batching, ...)::

    # the course example
    clients    239.0.0.1 5000
    proposers  239.0.0.1 6000
    acceptors  239.0.0.1 7000
    learners   239.0.0.1 8000
    loss 0.1          # drop 10 % of received datagrams
    timeout 0.2

Blank lines and ``#`` comments are allowed; a comment starts at a ``#`` that begins the
line or follows whitespace (so a ``secret`` may contain ``#`` inside a word). Every
mistake raises :class:`~paxos_edu.errors.ConfigError` naming ``path:line``.

:data:`SETTINGS` describes every setting (parser, default, help) once; the
:class:`Config` defaults, the validation of :meth:`Config.replace` and the CLI options
all come from it.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from .errors import ConfigError, SettingError, UsageError
from .messages import Group
from .quorum import quorum_size

MULTICAST_NET = ipaddress.IPv4Network("224.0.0.0/4")
ROLES: tuple[str, ...] = tuple(group.role for group in Group)
"""Role names as they appear in a config file, in :class:`Group` order."""
MODES = ("multi", "classic")
MIN_TIMEOUT = 0.001
"""Shortest ``timeout`` (1 ms): below it proposers spin on their timers and heartbeats
outnumber values, with nothing gained."""


# ---------------------------------------------------------------- value parsers
#
# Each parser takes the text of a config line (or an already typed value, when called
# by Config.replace) and returns the checked value, or raises ValueError with a message
# that reads after the setting's name: "loss 1.5 out of range [0, 1)".


def _plain(text: str) -> bool:
    """True for text made of ASCII only and without ``_``: Python's ``int()`` and
    ``float()`` also read ``١٢`` (Arabic-Indic digits) and ``1_000``, a config file must not."""
    return text.isascii() and "_" not in text


def int_in(lo: int | None, hi: int | None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str):
            if not _plain(value):
                raise ValueError(f"{value!r} is not an integer (only ASCII digits 0-9)")
            try:
                number = int(value, 10)
            except ValueError:
                raise ValueError(f"{value!r} is not an integer") from None
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise ValueError(f"{value!r} is not an integer")
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise ValueError(f"{number} out of range {lo}..{hi}")
        return number

    parse.__name__ = "integer" if lo is None else f"integer {lo}..{hi}"
    return parse


def _float_in(lo: float, hi: float, *, lo_open: bool, hi_open: bool) -> Callable[[Any], float]:
    shown = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"

    def parse(value: Any) -> float:
        if isinstance(value, str):
            if not _plain(value):
                raise ValueError(f"{value!r} is not a number (only ASCII digits 0-9)")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a number") from None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            raise ValueError(f"{value!r} is not a number")
        above = number > lo if lo_open else number >= lo
        below = number < hi if hi_open else number <= hi
        if math.isnan(number) or not (above and below):
            raise ValueError(f"{value} out of range {shown}")
        return number

    parse.__name__ = f"number in {shown}"
    return parse


def _optional_int(value: Any) -> int | None:
    return None if value is None else int_in(None, None)(value)


_optional_int.__name__ = "integer"


def _mode(value: Any) -> str:
    if value not in MODES:
        raise ValueError(f"{value!r} is not one of {', '.join(MODES)}")
    return value


_mode.__name__ = "|".join(MODES)

_COMMENT = re.compile(r"(?:^|\s)#.*\Z", re.S)


def _secret(value: Any) -> str | None:
    """A shared text: single line, no surrounding blanks, nothing that starts a comment."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    if not value:
        raise ValueError("is empty (leave the setting out for no secret)")
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError("must be a single line")
    if _COMMENT.search(value):
        raise ValueError("must not contain '#' after whitespace (it would start a comment)")
    return value


_secret.__name__ = "text"


def _interface(value: Any) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except (ipaddress.AddressValueError, ValueError):
        raise ValueError(f"{value!r} is not an IPv4 address") from None
    if address in MULTICAST_NET:
        raise ValueError(f"{address} is a multicast group, not an interface address")
    return str(address)


_interface.__name__ = "IPv4 address"


def _directory(value: Any) -> str | None:
    """A directory path (created when first used); relative to the working directory."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a directory path")
    if any(ch.isspace() or ch == "\0" for ch in value) or value.startswith("#"):
        raise ValueError(f"{value!r}: a directory path here has no blanks and does not "
                         "start with '#'")
    return value


_directory.__name__ = "directory"


def _group_ip(value: Any) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except (ipaddress.AddressValueError, ValueError):
        raise ValueError(f"{value!r} is not an IPv4 address") from None
    if address not in MULTICAST_NET:
        raise ValueError(f"{address} is not a multicast address (224.0.0.0/4)")
    return str(address)


_port = int_in(1, 65535)


class Setting(NamedTuple):
    """How to read one optional setting: ``parse(text_or_value)``, its default, a help line."""

    parse: Callable[[Any], Any]
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    "loss": Setting(
        _float_in(0.0, 1.0, lo_open=False, hi_open=True),
        0.0,
        "probability that a process drops a datagram it receives (loss injection)",
    ),
    "timeout": Setting(
        _float_in(MIN_TIMEOUT, 60.0, lo_open=False, hi_open=False),
        0.1,
        "seconds before a proposer or client retries (base of the backoff)",
    ),
    "mode": Setting(
        _mode, "multi", "multi: one phase 1 for all instances; classic: phase 1 per instance"
    ),
    "batch": Setting(int_in(1, 10000), 256, "most submissions ordered in one Paxos instance"),
    "window": Setting(int_in(1, 10000), 32, "Paxos instances a proposer keeps in flight"),
    "secret": Setting(
        _secret, None, "shared text; datagrams are authenticated with HMAC (rest of line)"
    ),
    "ttl": Setting(int_in(0, 255), 0, "multicast TTL; 0 keeps traffic on this host"),
    "interface": Setting(
        _interface, "127.0.0.1", "IPv4 address of the interface used for multicast"
    ),
    "seed": Setting(
        _optional_int, None, "seed of the processes' random generators (default: random)"
    ),
    "acceptor_count": Setting(
        int_in(1, 64), 3, "number of acceptors; a quorum is a majority of it"
    ),
    "client_window": Setting(
        int_in(1, 1_000_000), 1024, "values a client keeps in flight unacknowledged"
    ),
    "storage": Setting(
        _directory, None, "directory where acceptor <id> keeps its promises and votes "
        "(<dir>/acceptor<id>/), so that it can restart; default: memory only"
    ),
}
"""Every optional setting, by name, in the order :meth:`Config.to_text` writes them."""


def _role_address(ip: Any, port: Any) -> tuple[str, int]:
    """Checked ``(ip, port)`` of a role; ValueError messages read on their own."""
    try:
        checked_port = _port(port)
    except ValueError as exc:
        raise ValueError(f"port {exc}") from None
    return _group_ip(ip), checked_port


# ---------------------------------------------------------------- the settings


def check_setting(name: str, value: Any, where: str) -> Any:
    """``value`` checked (and typed, when given as text) as setting ``name``.

    Args:
        name: a key of :data:`SETTINGS`.
        value: typed (``0.1``) or text as in a config file or on a command line (``"0.1"``).
        where: who asks, first in the message: ``"paxos.conf:7"``, ``"Simulation"``, ...

    Raises:
        SettingError: ``"<where>: <name> <what is wrong>"``, also for an unknown name.
    """
    setting = SETTINGS.get(name)
    if setting is None:
        raise SettingError(f"{where}: unknown setting {name!r}{_did_you_mean(name)}")
    try:
        return setting.parse(value)
    except (ValueError, TypeError) as exc:
        raise SettingError(f"{where}: {name} {exc}") from None


def check_settings(where: str, values: dict[str, Any]) -> dict[str, Any]:
    """Every entry of ``values`` checked by :func:`check_setting`, in the same order."""
    return {name: check_setting(name, value, where) for name, value in values.items()}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The optional settings of a run, every one checked against :data:`SETTINGS`.

    The one settings object of every entry point: a :class:`Config` *is* a ``Settings``
    (plus the groups' addresses), the :class:`~paxos_edu.sim.Simulation`, the
    :class:`~paxos_edu.cluster.Cluster` and the experiments build theirs with
    :func:`settings_from`, and the role factory (:func:`paxos_edu.roles.make_role`) reads it.
    So a value refused in a config file is refused, with the same message, everywhere.

    Attributes:
        loss, timeout, mode, batch, window, secret, ttl, interface, seed, acceptor_count,
        client_window, storage: see :data:`SETTINGS` (names, ranges, defaults, help).
    """

    loss: float = SETTINGS["loss"].default
    timeout: float = SETTINGS["timeout"].default
    mode: str = SETTINGS["mode"].default
    batch: int = SETTINGS["batch"].default
    window: int = SETTINGS["window"].default
    secret: str | None = SETTINGS["secret"].default
    ttl: int = SETTINGS["ttl"].default
    interface: str = SETTINGS["interface"].default
    seed: int | None = SETTINGS["seed"].default
    acceptor_count: int = SETTINGS["acceptor_count"].default
    client_window: int = SETTINGS["client_window"].default
    storage: str | None = SETTINGS["storage"].default

    def __post_init__(self) -> None:
        where = self._where()
        for name in SETTINGS:
            object.__setattr__(self, name, check_setting(name, getattr(self, name), where))

    def _where(self) -> str:
        return type(self).__name__

    @property
    def quorum(self) -> int:
        """Votes that make a quorum: a majority of :attr:`acceptor_count`."""
        return quorum_size(self.acceptor_count)

    def settings(self) -> dict[str, Any]:
        """The settings by name, in :data:`SETTINGS` order."""
        return {name: getattr(self, name) for name in SETTINGS}


def settings_from(where: str = "Settings", /, **values: Any) -> Settings:
    """A :class:`Settings` with ``values`` (typed or text) and defaults for the rest.

    Raises:
        SettingError: ``"<where>: <name> <what is wrong>"`` for an unknown name or a bad
            value, e.g. ``settings_from("Simulation", batch=20000)``.
    """
    return Settings(**check_settings(where, values))


# ---------------------------------------------------------------- the config


@dataclass(frozen=True)
class Config(Settings):
    """A checked configuration: the four multicast groups and the optional settings.

    Build one with :func:`load_config`, :func:`parse_config` or :func:`default_config`;
    derive variants with :meth:`replace`. Construction validates every field, so a
    ``Config`` that exists is a valid one.

    Attributes:
        addresses: ``(ip, port)`` of the multicast group of each role.
        loss, timeout, mode, batch, window, secret, ttl, interface, seed,
        acceptor_count, client_window, storage: the settings (keyword-only), see
        :class:`Settings`.
        path: file the config was read from (None when built in code); it is not
            compared: two configs with the same content are equal.
    """

    addresses: dict[Group, tuple[str, int]]
    path: str | None = field(default=None, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        where = self._where()
        addresses: dict[Group, tuple[str, int]] = {}
        for key, address in dict(self.addresses).items():
            try:
                group = _as_group(key)
                ip, port = address
                addresses[group] = _role_address(ip, port)
            except (UsageError, ValueError, TypeError) as exc:
                role = key.role if isinstance(key, Group) else key
                raise ConfigError(f"{where}: {role} address {address!r}: {exc}") from None
        missing = [group.role for group in Group if group not in addresses]
        if missing:
            raise ConfigError(f"{where}: missing role {', '.join(missing)}")
        object.__setattr__(self, "addresses", {group: addresses[group] for group in Group})
        super().__post_init__()

    def _where(self) -> str:
        return self.path or "Config"

    def __hash__(self) -> int:
        return hash((tuple(self.addresses.items()), *(getattr(self, name) for name in SETTINGS)))

    def address(self, group: Group | str) -> tuple[str, int]:
        """``(ip, port)`` of the multicast group of ``group`` (a :class:`Group` or role name)."""
        return self.addresses[_as_group(group)]

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied, each checked like a line of the file.

        Values may be typed (``loss=0.1``) or text as typed on a command line
        (``loss="0.1"``). ``addresses`` and ``path`` may be replaced too.

        Raises:
            SettingError: naming the setting, for an unknown name or a bad value.
        """
        own = {k: v for k, v in changes.items() if k in ("addresses", "path")}
        checked = check_settings("Config.replace", {k: v for k, v in changes.items()
                                                    if k not in own})
        return dataclasses.replace(self, **checked, **own)

    def to_text(self) -> str:
        """The config as file text; :func:`parse_config` reads it back equal.

        Role lines come first, then the settings that differ from their default.
        """
        lines = ["# paxos_edu config"]
        width = max(map(len, ROLES))
        for group, (ip, port) in self.addresses.items():
            lines.append(f"{group.role:<{width}} {ip} {port}")
        for name, setting in SETTINGS.items():
            value = getattr(self, name)
            if value != setting.default:
                lines.append(f"{name} {value!r}" if isinstance(value, float) else f"{name} {value}")
        return "\n".join(lines) + "\n"


def _as_group(key: Group | str) -> Group:
    if isinstance(key, Group):
        return key
    if isinstance(key, str) and key in ROLES:
        return Group[key.upper()]
    raise UsageError(f"{key!r} is not a role; expected one of {', '.join(ROLES)}")


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), [*ROLES, *SETTINGS], n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# ---------------------------------------------------------------- reading files


def parse_config(text: str, path: str = "<config>") -> Config:
    """Read config ``text``; ``path`` names it in error messages and becomes
    :attr:`Config.path` (None for the default ``"<config>"``, meaning "not from a file").

    Raises:
        ConfigError: ``"<path>:<line>: what is wrong"`` for the first bad line, or
            ``"<path>: missing role ..."`` when a role line is absent.
    """
    addresses: dict[Group, tuple[str, int]] = {}
    settings: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        name, rest = (*line.split(None, 1), "")[:2]
        where = f"{path}:{lineno}"
        if name not in ROLES and name not in SETTINGS:
            raise ConfigError(f"{where}: unknown setting or role {name!r}{_did_you_mean(name)}")
        if name in seen:
            raise ConfigError(f"{where}: duplicate {name} line (first on line {seen[name]})")
        seen[name] = lineno
        if name in ROLES:
            parts = rest.split()
            if len(parts) != 2:
                raise ConfigError(f"{where}: {name} needs '<ip> <port>', got {rest!r}")
            try:
                addresses[Group[name.upper()]] = _role_address(*parts)
            except ValueError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            continue
        if not rest:
            raise ConfigError(f"{where}: {name} needs a value")
        if name != "secret" and len(rest.split()) != 1:
            raise ConfigError(f"{where}: {name} takes one value, got {rest!r}")
        settings[name] = check_setting(name, rest, where)
    missing = [role for role in ROLES if role not in seen]
    if missing:
        lines = "lines" if len(missing) > 1 else "line"
        raise ConfigError(
            f"{path}: missing role {lines} for {', '.join(missing)} (expected '<role> <ip> <port>')"
        )
    return Config(addresses, **settings, path=None if path == "<config>" else path)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read the config file at ``path``.

    Raises:
        ConfigError: the file cannot be read (naming the path) or has a bad line.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8-sig") as file:
            text = file.read()
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read config file: {exc.strerror or exc}") from None
    return parse_config(text, name)


def default_config(base_port: int = 5000, group_prefix: str = "239.0.0", **settings: Any) -> Config:
    """A config for one machine: traffic stays on loopback (interface 127.0.0.1, TTL 0).

    Each role gets its own group and port: clients ``<prefix>.1`` on ``base_port``,
    proposers ``<prefix>.2`` on ``base_port + 1``, acceptors ``<prefix>.3`` on
    ``base_port + 2``, learners ``<prefix>.4`` on ``base_port + 3``. Clusters whose port
    ranges do not overlap never hear each other.

    Args:
        base_port: first of the four consecutive ports.
        group_prefix: first three octets of the multicast groups (224.0.0.0/4).
        **settings: settings to change, checked like :meth:`Config.replace`.
    """
    addresses = {
        group: (f"{group_prefix}.{index + 1}", base_port + index)
        for index, group in enumerate(Group)
    }
    return Config(addresses).replace(**settings)
