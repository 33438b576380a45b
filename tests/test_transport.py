"""Tests of paxos_edu.transport with real sockets, on loopback only (TTL 0, IF 127.0.0.1)."""

from __future__ import annotations

import errno
import random
import select
import socket
import time

import pytest

from paxos_edu.codec import MAX_DATAGRAM
from paxos_edu.errors import UsageError
from paxos_edu.messages import Group
from paxos_edu.transport import (
    LOOPBACK,
    Transport,
    TransportCounters,
    free_multicast_addresses,
    multicast_check,
)

A, L, P, C = Group.ACCEPTORS, Group.LEARNERS, Group.PROPOSERS, Group.CLIENTS


def wait_for(transport: Transport, group: Group, count: int, timeout: float = 1.0) -> list[bytes]:
    """Datagrams received on ``group`` until ``count`` arrived or ``timeout`` passed."""
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    sock = transport.receivers[group]
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        select.select([sock], [], [], left)
        got += transport.recv_batch(group)
    return got


def settle(*pairs: tuple[Transport, Group]) -> list[list[bytes]]:
    """What each (transport, group) holds after loopback delivery had time to happen."""
    time.sleep(0.05)
    return [t.recv_batch(g) for t, g in pairs]


@pytest.fixture
def addresses() -> dict[Group, tuple[str, int]]:
    return free_multicast_addresses()


def test_two_transports_on_the_same_addresses_both_receive_a_datagram(addresses):
    with (
        Transport(addresses, [A]) as one,
        Transport(addresses, [A]) as two,
        Transport(addresses, []) as sender,
    ):
        assert sender.send(A, b"2A")
        assert wait_for(one, A, 1) == [b"2A"]
        assert wait_for(two, A, 1) == [b"2A"]
        assert sender.counters.sent == 1 and sender.counters.sent_bytes == 2
        assert one.counters.received == 1 and one.counters.received_bytes == 2


def test_sender_listening_on_its_group_hears_itself(addresses):
    with Transport(addresses, [L]) as t:
        t.send(L, b"catch-up")
        assert wait_for(t, L, 1) == [b"catch-up"]


def test_transport_does_not_receive_another_groups_traffic(addresses):
    ip, port = addresses[A]
    last = int(ip.rsplit(".", 1)[1])
    other_ip = ip.rsplit(".", 1)[0] + f".{last % 254 + 1}"  # same port, another group
    layout = {A: (ip, port), L: (other_ip, port), P: addresses[P]}  # P: same ip, other port
    with Transport(layout, [A]) as listener, Transport(layout, [L, P]) as others:
        assert listener.send(L, b"to learners")
        assert listener.send(P, b"to proposers")
        assert wait_for(others, L, 1) == [b"to learners"]  # they were sent ...
        assert wait_for(others, P, 1) == [b"to proposers"]
        assert settle((listener, A)) == [[]]  # ... but not to the acceptors group
        listener.send(A, b"mine")
        assert wait_for(listener, A, 1) == [b"mine"]
        assert settle((others, L), (others, P)) == [[], []]


def test_multicast_stays_on_loopback_with_ttl_0(addresses):
    with Transport(addresses, [A, L]) as t:
        sender = t.sender
        assert sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 0
        interface = sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        assert socket.inet_ntoa(interface) == LOOPBACK
        assert sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 1
        assert sender.getsockname()[0] == LOOPBACK
        for group in (A, L):
            sock = t.receivers[group]
            assert sock.getsockname() == addresses[group]  # the group, never the wildcard
            assert sock.getblocking() is False


def test_receive_buffer_is_reported(addresses):
    with Transport(addresses, [A], rcvbuf=1 << 20) as t:
        obtained = t.receivers[A].getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert t.rcvbuf_obtained == obtained > 0
        if t.rcvbuf_forced:  # root: the kernel grants the size asked, doubled on Linux
            assert obtained >= 1 << 20
    with Transport(addresses, []) as t:
        assert t.rcvbuf_obtained == 0 and t.sndbuf_obtained > 0


def test_two_roles_on_one_group_and_port_share_one_socket():
    ip, port = free_multicast_addresses(1)[C]
    same = {P: (ip, port), L: (ip, port)}
    with Transport(same, [P, L]) as both, Transport(same, [P]) as proposer_only:
        assert both.receivers[P] is both.receivers[L]
        assert [groups for _, groups in both.channels()] == [(P, L)]
        both.send(L, b"2B")
        assert wait_for(both, P, 1) == [b"2B"]  # one copy, not one per role
        assert wait_for(proposer_only, P, 1) == [b"2B"]  # the network cannot tell them apart
        assert settle((both, L)) == [[]]


def test_recv_batch_drains_at_most_limit_without_blocking(addresses):
    with Transport(addresses, [A]) as t:
        assert t.recv_batch(A) == []
        for i in range(10):
            t.send(A, b"%d" % i)
        time.sleep(0.05)
        assert t.recv_batch(A, limit=3) == [b"0", b"1", b"2"]  # loopback keeps the order
        assert t.recv_batch(A) == [b"%d" % i for i in range(3, 10)]
        assert t.recv_batch(A) == []


def test_send_never_raises_when_the_buffer_is_full(addresses):
    with Transport(addresses, [A], sndbuf=1, rcvbuf=1) as t:
        payload = b"x" * MAX_DATAGRAM
        results = [t.send(A, payload) for _ in range(300)]  # far more than both buffers
        assert all(isinstance(r, bool) for r in results)
        assert t.counters.sent == results.count(True)
        assert t.counters.send_errors == results.count(False)
        assert wait_for(t, A, 1)  # the receiver got some, and dropped the rest


@pytest.mark.parametrize("code", [errno.EAGAIN, errno.ENOBUFS])
def test_full_buffer_is_counted_and_reported_as_false(addresses, code):
    class Full:  # a send socket whose buffer never has room
        def __init__(self, real: socket.socket) -> None:
            self.real = real

        def fileno(self) -> int:
            return self.real.fileno()

        def sendto(self, data: bytes, address: tuple[str, int]) -> int:
            raise OSError(code, "buffer full")

    with Transport(addresses, [], send_wait=0.001) as t:
        real = t._sender
        t._sender = Full(real)
        try:
            started = time.monotonic()
            assert t.send(A, b"2A") is False
            assert time.monotonic() - started < 2.0  # gives up; does not retry forever
        finally:
            t._sender = real
        assert t.counters.send_errors == t.counters.send_buffer_full == 1
        assert t.counters.sent == 0
        assert "ACCEPTORS" in t.counters.last_send_error


def test_error_names_group_port_interface_for_a_bad_interface(addresses):
    ip, port = addresses[A]
    with pytest.raises(UsageError) as info:
        Transport(addresses, [A], interface="203.0.113.7")  # TEST-NET-3: not ours
    message = str(info.value)
    assert ip in message and str(port) in message and "203.0.113.7" in message
    assert "acceptors" in message and "Errno" in message


def test_bad_interface_fails_even_when_only_sending(addresses):
    with pytest.raises(UsageError, match=r"203\.0\.113\.7.*Errno"):
        Transport(addresses, [], interface="203.0.113.7")


@pytest.mark.parametrize("interface", ["eth0", "", "127.0.0.1.1"])
def test_interface_must_be_an_ipv4_address(addresses, interface):
    with pytest.raises(UsageError, match="not an IPv4 address"):
        Transport(addresses, [A], interface=interface)


def test_error_for_a_non_multicast_group():
    with pytest.raises(UsageError, match=r"acceptors group 127\.0\.0\.1 port 7000: not a multi"):
        Transport({A: ("127.0.0.1", 7000)}, [A])


@pytest.mark.parametrize(
    "address", [("239.0.0.1", 0), ("239.0.0.1", 70000), ("foo", 7000), ("239.0.0.1",)]
)
def test_error_for_a_malformed_address(address):
    with pytest.raises(UsageError, match="acceptors"):
        Transport({A: address}, [])


def test_error_names_the_port_held_by_another_program(addresses):
    ip, port = addresses[A]
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # no SO_REUSEADDR
    try:
        holder.bind((ip, port))
        with pytest.raises(UsageError, match=rf"{ip} port {port}.*127\.0\.0\.1.*Errno"):
            Transport(addresses, [A])
    finally:
        holder.close()


def test_misuse_raises_usage_error(addresses):
    with pytest.raises(UsageError, match="no address given"):
        Transport({A: addresses[A]}, [L])
    with pytest.raises(UsageError, match="ttl"):
        Transport(addresses, [], ttl=-1)
    with Transport({A: addresses[A]}, [A]) as t:
        with pytest.raises(UsageError, match="no address"):
            t.send(L, b"x")
        with pytest.raises(UsageError, match="not listening"):
            t.recv_batch(L)
        with pytest.raises(UsageError, match="exceeds"):
            t.send(A, b"x" * (MAX_DATAGRAM + 1))


def test_closed_transport_refuses_use_and_closes_twice(addresses):
    t = Transport(addresses, [A])
    socks = [t.receivers[A], t.sender]
    t.close()
    t.close()
    assert t.closed and t.sender is None and t.receivers == {}
    assert all(s.fileno() == -1 for s in socks)
    with pytest.raises(UsageError, match="closed"):
        t.send(A, b"x")
    with pytest.raises(UsageError, match="closed"):
        t.recv_batch(A)


def test_counters_as_dict():
    assert TransportCounters(sent=2).as_dict()["sent"] == 2


def test_free_multicast_addresses_gives_a_local_group_and_distinct_free_ports():
    addresses = free_multicast_addresses()
    assert list(addresses) == list(Group)
    ips = {ip for ip, _ in addresses.values()}
    assert len(ips) == 1
    (ip,) = ips
    assert ip.startswith("239.255.")
    ports = [port for _, port in addresses.values()]
    assert len(set(ports)) == 4
    for port in ports:  # nobody holds them: a socket without SO_REUSEADDR can bind
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind((ip, port))
        finally:
            probe.close()


def test_free_multicast_addresses_skips_a_port_in_use():
    first = free_multicast_addresses(2, random.Random(7))
    ip, port = first[C]
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        holder.bind((ip, port))
        again = free_multicast_addresses(2, random.Random(7))
    finally:
        holder.close()
    assert again[C][0] == ip  # same seed, same group ...
    assert port not in {p for _, p in again.values()}  # ... but the held port is skipped


def test_free_multicast_addresses_rejects_bad_n():
    with pytest.raises(UsageError):
        free_multicast_addresses(0)
    with pytest.raises(UsageError):
        free_multicast_addresses(5)


def test_multicast_check_reports_that_loopback_multicast_works():
    ok, message = multicast_check()
    assert ok, message
    assert "127.0.0.1" in message


def test_multicast_check_reports_a_failure_instead_of_raising(monkeypatch):
    import paxos_edu.transport as transport

    def broken(*args, **kwargs):
        raise OSError("no multicast here")

    monkeypatch.setattr(transport, "free_multicast_addresses", broken)
    ok, message = transport.multicast_check()
    assert not ok and "no multicast here" in message
