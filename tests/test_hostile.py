"""Hostile networks and classrooms: garbage, forgeries and replays on the groups, two
clusters sharing the same groups and ports. Everything stays on loopback (TTL 0)."""

from __future__ import annotations

import random
import signal
import socket
import time
from contextlib import contextmanager
from typing import Iterator

import pytest
from run_helper import cluster_on_groups_of

from paxos_edu.cluster import Cluster
from paxos_edu.codec import MAX_DATAGRAM, Codec
from paxos_edu.effects import Send
from paxos_edu.errors import DecodeError, UsageError
from paxos_edu.hostile import (
    MAX_SECONDS,
    MUTATIONS,
    SPRAY_KINDS,
    Recorder,
    Sprayer,
    mutate,
    random_datagram,
    spray,
    wellformed_message,
)
from paxos_edu.messages import END, Group, Heartbeat, Phase1B, Submission, Submit
from paxos_edu.roles import Acceptor, Client, Learner, Proposer
from paxos_edu.transport import free_multicast_addresses

# ---------------------------------------------------------------------- the tools alone


def test_mutations_are_reproducible_and_stay_within_a_datagram():
    data = Codec().encode(Submit((Submission(1, 2, 3, "hello"),)))
    for how in MUTATIONS:
        a = [mutate(data, random.Random(7), how) for _ in range(20)]
        b = [mutate(data, random.Random(7), how) for _ in range(20)]
        assert a == b
        assert all(len(m) <= MAX_DATAGRAM for m in a)
    assert mutate(data, random.Random(1), "bitflip") != data
    assert len(mutate(data, random.Random(1), "truncate")) < len(data)
    assert len(mutate(data, random.Random(1), "extend")) > len(data)


def test_unknown_mutation_is_a_usage_error():
    with pytest.raises(UsageError):
        mutate(b"PX", random.Random(), "explode")


def test_random_datagrams_reach_the_largest_size():
    rng = random.Random(3)
    sizes = [len(random_datagram(rng)) for _ in range(2000)]
    assert min(sizes) == 0 and max(sizes) > 60_000 and max(sizes) <= MAX_DATAGRAM


def test_mutated_signed_datagrams_never_authenticate():
    codec = Codec("s3cret")
    data = codec.encode(Heartbeat(1, 2, 3))
    rng = random.Random(5)
    for _ in range(2000):
        bad = mutate(data, rng)
        if bad == data:
            continue  # e.g. a splice that put back the same bytes
        with pytest.raises(DecodeError):
            codec.decode(bad)


@pytest.mark.parametrize("seconds", [0, -1, MAX_SECONDS + 1, float("inf"), float("nan")])
def test_spray_is_always_bounded_in_time(seconds):
    with pytest.raises(UsageError):
        spray(free_multicast_addresses(), seconds=seconds)


def test_spray_needs_samples_to_mutate_or_replay():
    with pytest.raises(UsageError):
        spray(free_multicast_addresses(), seconds=0.1, mix={"replay": 1.0})


@pytest.mark.integration
def test_recorder_hears_a_spray_on_every_group_and_stops_at_the_count():
    addresses = free_multicast_addresses()
    with Recorder(addresses, limit=50, seed=1) as rec:
        stats = spray(addresses, rate=5000, seconds=5, max_datagrams=400, seed=2)
        deadline = time.monotonic() + 5
        while rec.total < stats.sent and time.monotonic() < deadline:
            time.sleep(0.01)
    assert stats.sent == 400 and stats.seed == 2
    assert rec.total == 400
    assert all(rec.heard[g] > 0 for g in Group)
    assert len(rec.samples) == 50  # reservoir: bounded
    assert sum(stats.by_group.values()) == 400


@pytest.mark.integration
def test_sprayer_sends_on_loopback_with_ttl_0():
    addresses = free_multicast_addresses()
    with Recorder(addresses, groups=[Group.LEARNERS], limit=10) as rec:
        stats = spray(addresses, rate=1000, seconds=1, max_datagrams=20, seed=1,
                      groups=[Group.LEARNERS])
        time.sleep(0.2)
    assert rec.total == stats.sent == 20
    # The spray's transport: the only one this module opens, checked directly.
    from paxos_edu.transport import Transport

    with Transport(addresses, (), interface="127.0.0.1", ttl=0) as t:
        sender = t.sender
        assert sender is not None
        iface = sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        assert socket.inet_ntoa(iface) == "127.0.0.1"
        assert sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 0


@pytest.mark.integration
def test_recorder_duplicates_without_hearing_its_own_copies():
    addresses = free_multicast_addresses()
    with Recorder(addresses, duplicate=1.0, limit=0, max_duplicates=1000) as dup, \
            Recorder(addresses, limit=0) as watcher:
        stats = spray(addresses, rate=2000, seconds=5, max_datagrams=200, seed=4,
                      mix={"random": 1.0})
        deadline = time.monotonic() + 5
        while watcher.total < 2 * stats.sent and time.monotonic() < deadline:
            time.sleep(0.01)
    assert dup.total == 200  # its own copies are not heard again (no echo storm)
    assert dup.duplicated == 200
    assert watcher.total == 400


# ---------------------------------------------------------------------- forged input, role by role
#
# Without a secret, anyone on the groups can send well-formed messages. Paxos cannot stay
# safe then, but no single datagram may make a process hang, eat memory or fail to send.


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expired(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _roles() -> dict[str, object]:
    client = Client(1, session=5, timeout=0.1, window=100, rng=random.Random(1))
    client.submit(["a", "b"], 0.0)
    return {"acceptor": Acceptor(1), "learner": Learner(1), "proposer": Proposer(1),
            "client": client}


@pytest.mark.parametrize("role", ["acceptor", "learner", "proposer", "client"])
def test_roles_handle_forged_messages_quickly_and_send_only_encodable_ones(role):
    obj = _roles()[role]
    rng = random.Random(f"forged/{role}")
    codec = Codec()
    problems = []
    now = 0.0
    for _ in range(3000):
        msg = wellformed_message(rng)
        now += 0.01
        with _time_limit(1.0):
            effects = obj.handle(msg, now)
            due = obj.deadline()
            if due is not None and due <= now:
                effects += obj.tick(now)
        assert len(effects) < 1000, f"{role}: {len(effects)} effects for {msg}"
        for effect in effects:
            if type(effect) is Send:
                try:
                    codec.encode(effect.message)
                except UsageError as exc:
                    problems.append(f"after {msg}: {exc}")
    assert not problems, f"{role} built unencodable messages: {problems[:3]}"


def test_forged_heartbeat_cannot_make_a_proposer_open_millions_of_instances():
    proposer = Proposer(1, now=0.0)
    proposer.handle(Submit((Submission(1, 1, 1, "x"),)), 0.0)
    proposer.handle(Heartbeat(2, 0, 2_000_000), 0.0)  # forged: "decided up to 2 000 000"
    proposer.tick(10.0)  # take over: phase 1
    with _time_limit(2.0):
        for acceptor in (1, 2):
            proposer.handle(Phase1B(acceptor, proposer.c_rnd, 0, END, ()), 10.0)
    assert len(proposer.slots) <= 10_000


# ---------------------------------------------------------------------- live runs


def _decode_drops(run, reason: str | None = None) -> dict[str, int]:
    """Per process: datagrams dropped because they did not decode (or for ``reason``)."""
    counters = run.counters.set_index("process")
    if reason is not None:
        column = f"decode_errors.{reason}"
        if column not in counters:
            return dict.fromkeys(counters.index, 0)
        return counters[column].fillna(0).astype(int).to_dict()
    columns = [c for c in counters.columns if c.startswith("decode_errors.")]
    return counters[columns].fillna(0).sum(axis=1).astype(int).to_dict()


def _values(tag: str, client: int, n: int) -> list[str]:
    return [f"{tag}-c{client}-v{i}" for i in range(n)]


@pytest.mark.integration
def test_spray_without_secret_kills_no_process(tmp_path):
    with Cluster(seed=11, log_dir=tmp_path / "run", timeout=0.05) as c:
        with Recorder(c.config.addresses, limit=300, seed=1) as rec:
            for client in (1, 2):
                c.submit(client, _values("before", client, 100))
            c.wait(timeout=15)
        assert rec.total > 0
        with Sprayer(c.config.addresses, rate=2000, seconds=3.0, seed=12,
                     samples=rec.samples) as sprayer:
            for _ in range(6):
                for client in (1, 2):
                    c.submit(client, _values(f"during{_}", client, 20))
                time.sleep(0.4)
        stats = sprayer.join(10)
        time.sleep(0.3)  # let the processes drain their sockets
        alive = c.processes
        assert alive["alive"].all(), alive.to_string()
        c.stop()
        assert (c.processes["returncode"] == 0).all(), c.processes.to_string()
    assert stats.rate >= 1000 and stats.sent >= 3000, str(stats)
    assert all(stats.by_group[g.role] > 0 for g in Group)
    assert all(stats.by_kind[k] > 0 for k in SPRAY_KINDS), str(stats)
    run = c.run
    assert run.processes["stopped"].all()  # every process wrote its counters and stop
    drops = _decode_drops(run)
    assert len(drops) == 9 and all(n > 0 for n in drops.values()), drops


@pytest.mark.integration
def test_spray_with_secret_breaks_no_guarantee(tmp_path):
    with Cluster(seed=21, log_dir=tmp_path / "run", secret="classroom-42",
                 timeout=0.05) as c:
        with Recorder(c.config.addresses, limit=300, seed=2) as rec:
            for client in (1, 2):
                c.submit(client, _values("before", client, 100))
            c.wait(timeout=15)
        with Sprayer(c.config.addresses, rate=2000, seconds=3.0, seed=22,
                     samples=rec.samples) as sprayer:
            for step in range(6):
                for client in (1, 2):
                    c.submit(client, _values(f"during{step}", client, 20))
                time.sleep(0.4)
            c.wait(timeout=15)
        stats = sprayer.join(10)
        c.stop()
        assert (c.processes["returncode"] == 0).all(), c.processes.to_string()
    assert stats.rate >= 1000 and stats.sent >= 3000, str(stats)
    run = c.run
    report = run.check()
    assert report.ok, str(report)
    assert len(run.proposed) == 2 * (100 + 6 * 20)
    auth = _decode_drops(run, "auth")
    assert len(auth) == 9 and all(n > 0 for n in auth.values()), auth


@pytest.mark.integration
def test_two_classes_on_the_same_groups_and_ports_never_interfere(tmp_path):
    n = 150
    with Cluster(seed=31, log_dir=tmp_path / "a", secret="class A") as a:
        b = cluster_on_groups_of(a, seed=32, log_dir=tmp_path / "b", secret="class B")
        with b:
            assert b.config.addresses == a.config.addresses
            for step in range(3):
                for client in (1, 2):
                    a.submit(client, _values(f"A{step}", client, n // 3))
                    b.submit(client, _values(f"B{step}", client, n // 3))
            a.wait(timeout=20)
            b.wait(timeout=20)
    for cluster, mine in ((a, "A"), (b, "B")):
        run = cluster.run
        report = run.check()
        assert report.ok, f"class {mine}: {report}"
        learned = run.learned
        assert len(learned) == 2 * 2 * n  # 2 learners, every value of 2 clients
        assert learned["value"].str.startswith(mine).all()
        auth = _decode_drops(run, "auth")
        assert all(count > 0 for count in auth.values()), (mine, auth)
