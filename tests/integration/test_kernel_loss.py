"""Real kernel-level loss: an iptables ``statistic`` rule drops 20 % of multicast input.

The cluster runs inside a network namespace this test creates (its own loopback, so the
rule touches nothing else on the machine) and deletes afterwards. Needs root, ``ip netns``
and iptables with the statistic match; otherwise the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest
from harness import values_for

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def _sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=20)


@pytest.fixture
def lossy_namespace():
    if os.geteuid() != 0:
        pytest.skip("kernel-level loss needs root (network namespace and iptables)")
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            pytest.skip(f"kernel-level loss needs {tool!r}, not found")
    name = f"pxedu-{uuid.uuid4().hex[:8]}"
    made = _sh("ip", "netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        up = _sh("ip", "-n", name, "link", "set", "lo", "up")
        if up.returncode != 0:
            pytest.skip(f"cannot bring lo up in the namespace: {up.stderr.strip()}")
        rule = _sh("ip", "netns", "exec", name, "iptables", "-A", "INPUT", "-d", "224.0.0.0/4",
                   "-m", "statistic", "--mode", "random", "--probability", "0.2", "-j", "DROP")
        if rule.returncode != 0:
            pytest.skip(f"iptables statistic rule unavailable: {rule.stderr.strip()}")
        yield name
    finally:
        _sh("ip", "netns", "del", name)


def _dropped_by_rule(namespace: str) -> int:
    listing = _sh("ip", "netns", "exec", namespace, "iptables", "-L", "INPUT", "-n", "-v", "-x")
    for line in listing.stdout.splitlines():
        if "statistic" in line:
            return int(line.split()[0])
    return 0


def test_kernel_drops_20_percent_of_multicast_everything_learned(lossy_namespace, course):
    run = course(prefix=["ip", "netns", "exec", lossy_namespace])
    run.start_cluster()
    for c in (1, 2):
        run.write_values(c, values_for(c, 200))
        run.start("client", c, ready=False)
    assert run.wait_learned(400, timeout=60), run.diagnostics()
    for c in (1, 2):
        assert run.wait_exit("client", c, 20) == 0, run.diagnostics()
    run.assert_correct()
    assert _dropped_by_rule(lossy_namespace) > 0, "the iptables rule dropped nothing"
