"""The multicast sockets of one process: send bytes to a group, drain bytes from a group.

This module knows nothing of Paxos. The runtime hands it encoded datagrams and gets
encoded datagrams back; it never decodes, never retries, never sleeps for long.

Theory of operation
-------------------
A process listens on the groups of its role (an acceptor on ``acceptors``; a proposer on
``proposers`` and ``learners``, ...) and sends to any group. It owns:

* one **receive socket per listened (ip, port)**, non-blocking, bound to the *group
  address* ``(group_ip, port)`` -- never to the wildcard address. Linux then hands the
  socket only datagrams addressed to that group, so two clusters that share a port but
  not a group never hear each other. The socket joins the group on ``interface``
  (``IP_ADD_MEMBERSHIP``, 127.0.0.1 by default) and turns ``IP_MULTICAST_ALL`` off.
* one **send socket**, non-blocking, bound to ``(interface, 0)``, with
  ``IP_MULTICAST_IF = interface``, ``IP_MULTICAST_TTL = ttl`` (0: the datagram never
  leaves the host) and ``IP_MULTICAST_LOOP = 1`` (local listeners, including this
  process, get a copy). Without ``IP_MULTICAST_IF`` the kernel would route 239.x.y.z
  through the default route -- a real network card -- so it is always set.

Several processes on one host listen on the same group and port: every receive socket
sets ``SO_REUSEADDR``. For multicast that is enough, and every socket bound to the group
gets its own copy of each datagram. ``SO_REUSEPORT`` is deliberately *not* set: on Linux
it changes nothing for multicast (each socket still gets a copy) but load-balances
unicast datagrams between the sockets; on BSD and macOS ``SO_REUSEADDR`` on a multicast
address already means ``SO_REUSEPORT``.

Two roles on the same (ip, port)
--------------------------------
The course example puts every role on 239.0.0.1 with its own port. A config may also
give two roles the *same* group *and* port; the transport still works:

* every process listening on either role receives the datagrams of both (the network
  cannot tell them apart). The protocol layer dispatches on the message kind and
  ignores kinds its role does not handle, so this costs only CPU.
* a process listening on both roles gets **one** socket, shared: ``receivers[a] is
  receivers[b]`` and ``recv_batch(a)`` also returns datagrams sent to ``b``. Use
  :meth:`Transport.channels` to register each socket once with a selector.

A process also receives what it sends itself to a group it listens on (loopback is on):
a proposer that sends ``CatchUp`` answers to the learners group hears them too.

Errors
------
A bad argument (an address that is not multicast, a negative TTL) raises
:class:`~paxos_edu.errors.UsageError`; a group this machine cannot use (bad interface, port
in use without ``SO_REUSEADDR``, permission) raises its subclass
:class:`~paxos_edu.errors.NetworkError` naming the group, port, interface and the OS
error. Once open, :meth:`Transport.send`
does not raise for a full buffer or a transient network error: it returns ``False`` and
counts it, because to Paxos a datagram lost in the sender is like one lost on the wire.

Buffers
-------
Bursts of 2A/2B overflow the default 208 KiB receive buffer, so receive sockets ask for
``rcvbuf`` bytes (16 MiB): with ``SO_RCVBUFFORCE`` when the process may (root /
CAP_NET_ADMIN), else ``SO_RCVBUF``, which the kernel caps at ``net.core.rmem_max``.
:attr:`Transport.rcvbuf_obtained` reports what the kernel granted -- Linux reports
*twice* the byte count asked for, because it accounts for its own bookkeeping.

IPv4 only. Binding to a group address does not work on Windows; Linux, BSD and macOS do.
"""

from __future__ import annotations

import errno
import ipaddress
import random
import select
import socket
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Optional

from .codec import MAX_DATAGRAM
from .errors import NetworkError, UsageError
from .messages import Group

__all__ = [
    "LOOPBACK",
    "Transport",
    "TransportCounters",
    "free_multicast_addresses",
]

LOOPBACK = "127.0.0.1"
"""The default interface: multicast stays on this host."""

RECV_BUFSIZE = 65_536
"""Bytes asked of each ``recv``: more than the largest UDP payload (65 507), so no
datagram is ever truncated; oversized ones are left for the codec to reject."""

# Not exposed by Python 3.11's socket module; the values are Linux's.
_LINUX = sys.platform.startswith("linux")
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33 if _LINUX else None)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32 if _LINUX else None)
_IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49 if _LINUX else None)

_BUFFER_FULL = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS})
"""The send buffer or the device queue is full: the datagram is dropped, as on a wire."""
_TRANSIENT = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.ECONNREFUSED, errno.EPERM}
)
"""Network trouble (an interface going down, a firewall rule): counted, not raised."""

_HINTS = {
    errno.EADDRNOTAVAIL: "is the interface an IPv4 address of this host?",
    errno.EADDRINUSE: "another program holds this port without SO_REUSEADDR",
    errno.EACCES: "ports below 1024 need root",
    errno.EPERM: "not permitted here (firewall or missing capability)",
    errno.ENODEV: "no interface of this host has that address",
    errno.ENOBUFS: "too many group memberships (net.ipv4.igmp_max_memberships)",
}

_FREE_PORT_RANGE = (20_000, 32_768)
"""Where :func:`free_multicast_addresses` looks: below Linux's ephemeral ports (32768 on),
so an unrelated program's outgoing UDP socket is unlikely to take the port later."""


@dataclass(slots=True)
class TransportCounters:
    """What one transport did since it was opened (plain ints, cheap to update).

    Attributes:
        sent: datagrams handed to the kernel.
        sent_bytes: their total size.
        send_errors: datagrams :meth:`Transport.send` dropped (returned ``False``).
        send_buffer_full: of those, dropped because a buffer was full (EAGAIN/ENOBUFS).
        received: datagrams returned by :meth:`Transport.recv_batch`.
        received_bytes: their total size.
        recv_errors: unexpected errors while receiving (the batch then ends early).
        last_send_error: text of the latest send error, if any.
    """

    sent: int = 0
    sent_bytes: int = 0
    send_errors: int = 0
    send_buffer_full: int = 0
    received: int = 0
    received_bytes: int = 0
    recv_errors: int = 0
    last_send_error: Optional[str] = None

    def as_dict(self) -> dict[str, object]:
        """The counters as a plain dict, e.g. for the event log or a DataFrame row."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Transport:
    """Multicast sockets of one process: a receive socket per listened group, one sender.

    Args:
        addresses: ``(group_ip, port)`` of every group this process may send to or listen
            on, e.g. from the config file.
        listen: the groups to receive from (each must be in ``addresses``).
        interface: IPv4 address of the interface that carries multicast; 127.0.0.1 keeps
            every datagram on this host. Another address only when a config asks for it.
        ttl: multicast TTL; 0 means the datagram never leaves this host.
        rcvbuf: receive buffer wanted per socket, in bytes.
        sndbuf: send buffer wanted, in bytes.
        send_wait: longest time :meth:`send` waits for room when the send buffer is full
            before dropping the datagram (seconds; 0 never waits).

    Raises:
        UsageError: an address is not multicast, the interface is not usable, a port is
            held by another program, ... (the message names group, port and interface).

    Attributes:
        receivers: the non-blocking receive socket of each listened group (two groups on
            the same (ip, port) share one socket).
        counters: a :class:`TransportCounters`.
        rcvbuf_obtained: smallest receive buffer the kernel granted, as ``getsockopt``
            reports it (twice the bytes on Linux); 0 when listening on nothing.
        rcvbuf_forced: whether ``SO_RCVBUFFORCE`` was allowed (else ``rmem_max`` caps it).
        sndbuf_obtained: send buffer granted, as ``getsockopt`` reports it.
    """

    def __init__(
        self,
        addresses: Mapping[Group, tuple[str, int]],
        listen: Iterable[Group],
        *,
        interface: str = LOOPBACK,
        ttl: int = 0,
        rcvbuf: int = 16 << 20,
        sndbuf: int = 4 << 20,
        send_wait: float = 0.001,
    ) -> None:
        self.interface = _check_interface(interface)
        # Negative ttls are refused here: Linux would read -1 as "the default", i.e. 1.
        # Too large ones are refused by the kernel, with the error naming the ttl.
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
            raise UsageError(f"multicast ttl must be a non-negative integer, not {ttl!r}")
        for name, size in (("rcvbuf", rcvbuf), ("sndbuf", sndbuf)):
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                raise UsageError(f"{name} must be a positive number of bytes, not {size!r}")
        if send_wait < 0:
            raise UsageError(f"send_wait must be >= 0 seconds, not {send_wait!r}")
        self.addresses: dict[Group, tuple[str, int]] = {}
        for key, address in addresses.items():
            g = _check_group(key)
            self.addresses[g] = _check_address(g, address)
        self.ttl = ttl
        self.send_wait = float(send_wait)
        self.counters = TransportCounters()
        self.receivers: dict[Group, socket.socket] = {}
        self.rcvbuf_obtained = 0
        self.rcvbuf_forced = False
        self.sndbuf_obtained = 0
        self._closed = False
        self._sender: Optional[socket.socket] = None
        try:
            by_address: dict[tuple[str, int], socket.socket] = {}
            granted = []
            for g in dict.fromkeys(_check_group(g) for g in listen):
                if g not in self.addresses:
                    raise UsageError(f"cannot listen on {g.role}: no address given for it")
                address = self.addresses[g]
                if address not in by_address:
                    sock, size, forced = self._open_receiver(g, address, rcvbuf)
                    by_address[address] = sock
                    granted.append(size)
                    self.rcvbuf_forced = forced
                self.receivers[g] = by_address[address]
            self.rcvbuf_obtained = min(granted, default=0)
            self._sender = self._open_sender(sndbuf)
        except BaseException:
            self.close()
            raise
        # A private copy for send(): editing ``addresses`` afterwards changes nothing.
        self._destinations = dict(self.addresses)

    # ------------------------------------------------------------ opening

    def _fail(
        self, what: str, group: Group | None, address: tuple[str, int] | None, exc: OSError
    ) -> NetworkError:
        if group is not None and address is not None:
            where = f" for {group.role} group {address[0]} port {address[1]}"
        else:
            where = ""
        hint = _HINTS.get(exc.errno or 0)
        return NetworkError(
            f"cannot {what}{where} on interface {self.interface}: "
            f"[Errno {exc.errno}] {exc.strerror or exc}" + (f" ({hint})" if hint else "")
        )

    def _open_receiver(
        self, group: Group, address: tuple[str, int], rcvbuf: int
    ) -> tuple[socket.socket, int, bool]:
        ip, port = address
        step = "create a socket"
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        except OSError as exc:
            raise self._fail(step, group, address, exc) from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            step = "set the receive buffer"
            forced = _set_buffer(sock, _SO_RCVBUFFORCE, socket.SO_RCVBUF, rcvbuf)
            step = "bind"
            sock.bind((ip, port))
            if _IP_MULTICAST_ALL is not None:
                # Only datagrams of groups joined by *this* socket (Linux default: all).
                try:
                    sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
                except OSError:
                    pass
            step = "join the group"
            mreq = socket.inet_aton(ip) + socket.inet_aton(self.interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            sock.setblocking(False)
            size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError as exc:
            sock.close()
            raise self._fail(step, group, address, exc) from exc
        return sock, size, forced

    def _open_sender(self, sndbuf: int) -> socket.socket:
        step = "create the send socket"
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        except OSError as exc:
            raise self._fail(step, None, None, exc) from exc
        try:
            step = "set the send buffer"
            _set_buffer(sock, _SO_SNDBUFFORCE, socket.SO_SNDBUF, sndbuf)
            step = "set the multicast interface"
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.interface)
            )
            step = f"set multicast ttl {self.ttl}"
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
            step = "enable multicast loopback"
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            # Source address on the chosen interface; also fails early if it is not ours.
            step = "bind the send socket"
            sock.bind((self.interface, 0))
            sock.setblocking(False)
            self.sndbuf_obtained = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        except OSError as exc:
            sock.close()
            raise self._fail(step, None, None, exc) from exc
        return sock

    # ------------------------------------------------------------ use

    def send(self, group: Group, data: bytes) -> bool:
        """Multicast ``data`` to ``group``; never raises for a full buffer.

        Returns:
            True when the kernel took the datagram; False when it was dropped here (full
            buffer, transient network error), which :attr:`counters` records.

        Raises:
            UsageError: unknown group, datagram larger than ``MAX_DATAGRAM``, closed
                transport, or an error that is not transient (it names the group).
        """
        try:
            address = self._destinations[group]
        except KeyError:
            raise UsageError(f"no address for group {group!r}") from None
        if len(data) > MAX_DATAGRAM:
            raise UsageError(f"datagram of {len(data)} bytes exceeds {MAX_DATAGRAM}")
        try:
            self._sender.sendto(data, address)  # type: ignore[union-attr]
        except OSError as exc:
            if not self._retry_after_wait(exc, data, address):
                return self._dropped(group, address, data, exc)
        counters = self.counters
        counters.sent += 1
        counters.sent_bytes += len(data)
        return True

    def _retry_after_wait(self, exc: OSError, data: bytes, address: tuple[str, int]) -> bool:
        """A full send buffer drains in microseconds: wait up to ``send_wait``, try once."""
        if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK) or self.send_wait <= 0:
            return False
        if self._closed or self._sender is None:
            return False
        try:
            _, writable, _ = select.select([], [self._sender], [], self.send_wait)
            if writable:
                self._sender.sendto(data, address)
                return True
        except OSError:
            pass
        return False

    def _dropped(self, group: Group, address: tuple[str, int], data: bytes, exc: OSError) -> bool:
        if self._closed or self._sender is None:
            raise UsageError("send on a closed transport") from exc
        if exc.errno not in _BUFFER_FULL and exc.errno not in _TRANSIENT:
            raise self._fail(f"send {len(data)} bytes", group, address, exc) from exc
        counters = self.counters
        counters.send_errors += 1
        if exc.errno in _BUFFER_FULL:
            counters.send_buffer_full += 1
        counters.last_send_error = f"{group.name}: [Errno {exc.errno}] {exc.strerror}"
        return False

    def recv_batch(self, group: Group, limit: int = 256) -> list[bytes]:
        """Drain up to ``limit`` datagrams waiting on ``group``'s socket, without blocking.

        Returns an empty list when nothing is waiting. If another listened group shares
        this group's (ip, port), its datagrams come too (see the module docstring).
        """
        sock = self.receivers.get(group)
        if sock is None:
            if self._closed:
                raise UsageError("recv on a closed transport")
            raise UsageError(f"not listening on group {group!r}")
        out: list[bytes] = []
        append = out.append
        recv = sock.recv
        try:
            for _ in range(limit):
                append(recv(RECV_BUFSIZE))
        except BlockingIOError:
            pass
        except OSError as exc:
            if self._closed:
                raise UsageError("recv on a closed transport") from exc
            self.counters.recv_errors += 1
        counters = self.counters
        counters.received += len(out)
        counters.received_bytes += sum(map(len, out))
        return out

    def channels(self) -> list[tuple[socket.socket, tuple[Group, ...]]]:
        """Each distinct receive socket with the groups it serves (for a selector)."""
        served: dict[socket.socket, list[Group]] = {}
        for g, sock in self.receivers.items():
            served.setdefault(sock, []).append(g)
        return [(sock, tuple(groups)) for sock, groups in served.items()]

    # ------------------------------------------------------------ closing

    @property
    def sender(self) -> socket.socket | None:
        """The send socket (for inspection, e.g. ``getsockopt``); None once closed."""
        return None if self._closed else self._sender

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def close(self) -> None:
        """Close every socket (leaving the groups); safe to call twice."""
        self._closed = True
        for sock in {id(s): s for s in self.receivers.values()}.values():
            sock.close()
        self.receivers = {}
        if self._sender is not None:
            self._sender.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        listening = ", ".join(
            f"{g.role}={ip}:{port}"
            for g, (ip, port) in ((g, self.addresses[g]) for g in self.receivers)
        )
        state = "closed" if self._closed else f"listening {listening or 'nothing'}"
        return f"<Transport on {self.interface} ttl={self.ttl} {state}>"


# ---------------------------------------------------------------- helpers


def _set_buffer(sock: socket.socket, force_opt: int | None, opt: int, size: int) -> bool:
    """Ask for ``size`` bytes, above the sysctl cap if allowed; True if forced."""
    if force_opt is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force_opt, size)
            return True
        except OSError:  # EPERM without CAP_NET_ADMIN
            pass
    sock.setsockopt(socket.SOL_SOCKET, opt, size)  # silently capped at [rw]mem_max
    return False


def _check_group(group: object) -> Group:
    try:
        return Group(group)
    except ValueError:
        raise UsageError(
            f"unknown group {group!r}; expected one of {', '.join(g.role for g in Group)}"
        ) from None


def _check_interface(interface: str) -> str:
    try:
        return str(ipaddress.IPv4Address(interface))
    except (ipaddress.AddressValueError, ValueError):
        raise UsageError(
            f"interface {interface!r} is not an IPv4 address (use {LOOPBACK} to stay on this host)"
        ) from None


def _check_address(group: Group, address: object) -> tuple[str, int]:
    try:
        ip, port = address  # type: ignore[misc]
    except (TypeError, ValueError):
        raise UsageError(f"address of {group.role} must be (ip, port), not {address!r}") from None
    try:
        parsed = ipaddress.IPv4Address(ip)
    except (ipaddress.AddressValueError, ValueError):
        raise UsageError(f"{group.role} group {ip!r} port {port}: not an IPv4 address") from None
    if not parsed.is_multicast:
        raise UsageError(
            f"{group.role} group {ip} port {port}: not a multicast address "
            "(expected 224.0.0.0 to 239.255.255.255, e.g. 239.0.0.1)"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65_535:
        raise UsageError(f"{group.role} group {ip} port {port!r}: port must be 1 to 65535")
    return str(parsed), port


def _port_is_free(ip: str, port: int) -> bool:
    """True if a socket without SO_REUSEADDR can bind ``(ip, port)``: nobody on this host
    holds the port for this group or for every address."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        probe.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def free_multicast_addresses(
    n: int = 4, rng: random.Random | None = None
) -> dict[Group, tuple[str, int]]:
    """Addresses for a fresh cluster: one random group, ``n`` distinct free ports.

    The group is drawn from 239.255.1.1 -- 239.255.254.254 (the organization-local
    scope, avoiding the .0 and .255 blocks where SSDP and SLP live); each port is free
    for that group when checked. Two clusters that draw different groups never hear each
    other even if their ports collide later, so concurrent tests and notebooks are safe.

    Args:
        n: how many groups, taken in :class:`Group` order (4: all roles).
        rng: source of randomness; leave None for concurrent clusters (a seeded
            ``random.Random`` in two processes would draw the same group).

    Returns:
        ``{Group.CLIENTS: (ip, port), ...}`` for the first ``n`` groups.
    """
    groups = list(Group)
    if not 1 <= n <= len(groups):
        raise UsageError(f"n must be 1 to {len(groups)}, not {n!r}")
    rng = rng if rng is not None else random.Random()
    ip = f"239.255.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
    low, high = _FREE_PORT_RANGE
    ports: list[int] = []
    for _ in range(500):
        port = rng.randrange(low, high)
        if port not in ports and _port_is_free(ip, port):
            ports.append(port)
            if len(ports) == n:
                return {g: (ip, p) for g, p in zip(groups, ports)}
    raise UsageError(f"found only {len(ports)} free UDP ports of {n} in {low}-{high - 1}")


def multicast_check(timeout: float = 1.0) -> tuple[bool, str]:
    """Can this machine run real clusters? Send one datagram to a fresh group on the
    loopback interface and receive it back.

    Returns ``(True, "...")`` or ``(False, reason)``; never raises. Notebooks and widgets
    use it to fall back to the simulator where multicast on loopback is unavailable.
    """
    import selectors

    try:
        addresses = free_multicast_addresses()
        with Transport(addresses, [Group.LEARNERS], rcvbuf=1 << 16) as transport:
            probe = b"paxos_edu multicast check"
            if not transport.send(Group.LEARNERS, probe):
                return False, "sending to a multicast group on 127.0.0.1 failed"
            sel = selectors.DefaultSelector()
            try:
                for sock, _groups in transport.channels():
                    sel.register(sock, selectors.EVENT_READ)
                if sel.select(timeout) and probe in transport.recv_batch(Group.LEARNERS):
                    ip, port = addresses[Group.LEARNERS]
                    return True, f"multicast on 127.0.0.1 works (group {ip}, port {port})"
            finally:
                sel.close()
        return False, f"no multicast datagram came back within {timeout} s on 127.0.0.1"
    except Exception as exc:  # a check reports, it does not crash the caller
        return False, f"multicast on 127.0.0.1 is unavailable: {exc}"
