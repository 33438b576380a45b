"""A lab across machines, emulated: three "hosts" on one Ethernet segment.

Each host is a network namespace with one veth interface and a 10.77.x address; the other
ends of the veth pairs are ports of a bridge that lives in a fourth namespace of its own, so
nothing (interface, address, route, bridge) is created in the machine's own namespace. The
course scripts run as a classroom would run them: acceptors on host A, proposers on host B,
learners and clients on host C, each host's config naming its own address as ``interface``,
``ttl 1`` (one hop: the segment) and the group's ``secret``. Root only (skipped otherwise);
everything is deleted whatever happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from paxos_edu.checks import check_values

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
SUBNET = "10.77.0"
HOSTS = {"a": 1, "b": 2, "c": 3}


def _sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=20)


def _must(*args: str) -> None:
    done = _sh(*args)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")


@pytest.fixture
def lab():
    """{'a': ns, 'b': ns, 'c': ns}: three hosts on a bridge; all deleted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a lab of namespaces needs root")
    if shutil.which("ip") is None:
        pytest.skip("'ip' not found")
    tag = uuid.uuid4().hex[:6]
    bridge = f"grader-lab-{tag}-br"
    hosts = {h: f"grader-lab-{tag}-{h}" for h in HOSTS}
    made: list[str] = []
    try:
        for ns in (bridge, *hosts.values()):
            done = _sh("ip", "netns", "add", ns)
            if done.returncode != 0:
                pytest.skip(f"cannot create network namespaces: {done.stderr.strip()}")
            made.append(ns)
        _must("ip", "-n", bridge, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _must("ip", "-n", bridge, "link", "set", "br0", "up")
        for h, ns in hosts.items():
            # Both ends are created inside the namespaces: the host side never sees them.
            _must("ip", "-n", bridge, "link", "add", f"port-{h}", "type", "veth", "peer", "name",
                  "eth0", "netns", ns)
            _must("ip", "-n", bridge, "link", "set", f"port-{h}", "master", "br0", "up")
            _must("ip", "-n", ns, "addr", "add", f"{SUBNET}.{HOSTS[h]}/24", "dev", "eth0")
            _must("ip", "-n", ns, "link", "set", "eth0", "up")
            _must("ip", "-n", ns, "link", "set", "lo", "up")
        yield hosts
    finally:
        for ns in made:
            for pid in _sh("ip", "netns", "pids", ns).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
            _sh("ip", "netns", "del", ns)


def _config(path: Path, host: str, secret: str) -> Path:
    path.write_text(
        "clients   239.0.0.1 5000\nproposers 239.0.0.1 6000\n"
        "acceptors 239.0.0.1 7000\nlearners  239.0.0.1 8000\n"
        f"interface {SUBNET}.{HOSTS[host]}\nttl 1\nsecret {secret}\n"
    )
    return path


def test_three_hosts_on_a_bridge_order_every_value(lab, tmp_path):
    secret = "group 7: tulips in spring"
    conf = {h: _config(tmp_path / f"host-{h}.conf", h, secret) for h in HOSTS}
    procs: list[subprocess.Popen[bytes]] = []
    files = []

    def start(host: str, role: str, i: int, **kw) -> subprocess.Popen[bytes]:
        err = open(tmp_path / f"stderr-{role}{i}", "wb")
        files.append(err)
        p = subprocess.Popen(["ip", "netns", "exec", lab[host], str(SCRIPTS / f"{role}.sh"),
                              str(i), str(conf[host])], stderr=err, start_new_session=True,
                             env=_env(tmp_path), **kw)
        procs.append(p)
        return p

    try:
        for i in (1, 2, 3):
            start("a", "acceptor", i)
        for i in (1, 2):
            start("b", "proposer", i)
        outs = {i: open(tmp_path / f"learn{i}", "wb") for i in (1, 2)}
        files += outs.values()
        for i in (1, 2):
            start("c", "learner", i, stdout=outs[i])
        time.sleep(1.0)  # the course's own harness waits, too
        values = {c: [f"host-c-client{c}-{v}" for v in range(200)] for c in (1, 2)}
        clients = {}
        for c in (1, 2):
            (tmp_path / f"prop{c}").write_text("".join(v + "\n" for v in values[c]))
            clients[c] = start("c", "client", c, stdin=open(tmp_path / f"prop{c}", "rb"))
        deadline = time.monotonic() + 60
        learned: dict[int, list[str]] = {}
        while time.monotonic() < deadline:
            learned = {i: (tmp_path / f"learn{i}").read_text().splitlines() for i in (1, 2)}
            if all(len(v) >= 400 for v in learned.values()):
                break
            time.sleep(0.05)
        stderr = {p.name: p.read_text()[-300:] for p in tmp_path.glob("stderr-*")}
        report = check_values(learned, values)
        assert report.ok, f"{report}\n{stderr}"
        assert learned[1] == learned[2] and len(learned[1]) == 400
        for c, p in clients.items():
            assert p.wait(20) == 0, f"client {c}: {stderr}"
        # The traffic really crossed the bridge: the acceptors' host sent datagrams on eth0.
        stats = _sh("ip", "-n", lab["a"], "-s", "link", "show", "eth0").stdout.split("\n")
        tx_packets = int(stats[stats.index(next(s for s in stats if "TX:" in s)) + 1].split()[1])
        assert tx_packets > 10, stats  # batched: a few dozen 1B/2B datagrams
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait(5)
        for f in files:
            f.close()


def _env(tmp_path: Path) -> dict[str, str]:
    """A private TMPDIR: an acceptor that finds its "ran before" marker (from an earlier run
    on these course addresses) listens before it votes, which would slow this test."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return dict(os.environ, TMPDIR=str(tmp_path / "tmp"))


def _role(ns: str, role: str, i: int, conf: Path, **kw) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["ip", "netns", "exec", ns, str(SCRIPTS / f"{role}.sh"), str(i),
                             str(conf)], stderr=subprocess.DEVNULL, start_new_session=True,
                            env=_env(conf.parent), **kw)


def test_a_host_with_another_groups_secret_hears_nothing(lab, tmp_path):
    """Two groups of students on one LAN, same addresses, different secrets: a learner of
    group 2 on host C learns nothing of group 1's values."""
    ours = {h: _config(tmp_path / f"g1-{h}.conf", h, "group one") for h in HOSTS}
    theirs = _config(tmp_path / "g2-c.conf", "c", "group two")
    procs = []
    outs = {n: open(tmp_path / n, "wb") for n in ("learn1", "learn-other")}
    try:
        procs += [_role(lab["a"], "acceptor", i, ours["a"]) for i in (1, 2, 3)]
        procs.append(_role(lab["b"], "proposer", 1, ours["b"]))
        procs.append(_role(lab["c"], "learner", 1, ours["c"], stdout=outs["learn1"]))
        procs.append(_role(lab["c"], "learner", 1, theirs, stdout=outs["learn-other"]))
        time.sleep(1.0)
        client = _role(lab["c"], "client", 1, ours["c"], stdin=subprocess.PIPE)
        procs.append(client)
        client.communicate("".join(f"{v}\n" for v in range(50)).encode(), timeout=30)
        assert client.returncode == 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len((tmp_path / "learn1").read_text().split()) < 50:
            time.sleep(0.05)
        time.sleep(0.3)
        assert (tmp_path / "learn1").read_text().split() == [str(v) for v in range(50)]
        assert (tmp_path / "learn-other").read_text() == ""
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
            p.wait(5)
        for f in outs.values():
            f.close()
