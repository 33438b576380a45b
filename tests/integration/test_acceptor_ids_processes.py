"""Acceptor ids outside 1..acceptor_count through the course scripts (issue 16 item 1):
``acceptor.sh 4`` with the default count of 3 exits 2 at start with the fix; with
``acceptor_count 5`` five acceptors run; a forged 2B of "acceptor 4" decides nothing."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest
from harness import values_for

from paxos_edu.codec import Codec
from paxos_edu.identity import new_incarnation, role_code
from paxos_edu.messages import Group, Phase2B, Submission
from paxos_edu.rounds import make_round

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("id", [4, 5, 0])
def test_acceptor_sh_outside_acceptor_count_exits_2_naming_id_count_and_fix(course, id):
    run = course()
    proc = run.start("acceptor", id, ready=False)
    assert proc.wait(15) == 2
    err = run.stderr("acceptor", id)
    assert f"acceptor {id}:" in err and f"acceptor_count 3 in {run.config}" in err, err
    if id:
        assert f"set 'acceptor_count N' in {run.config}" in err and "'acceptor_count 5'" in err
    assert not (run.logs / f"acceptor{id}.jsonl").exists()  # it never joined a group


def test_acceptors_4_and_5_alone_cannot_order_anything(course):
    """The defect as reported: with 3 counted acceptors, 4 and 5 learned all 10 values."""
    run = course()
    a4, a5 = run.start("acceptor", 4, ready=False), run.start("acceptor", 5, ready=False)
    assert (a4.wait(15), a5.wait(15)) == (2, 2)
    run.start_cluster(acceptors=(), proposers=(1,), learners=(1,))
    run.write_values(1, values_for(1, 10))
    run.start("client", 1)
    time.sleep(1.0)
    assert run.learned(1) == []


def test_five_acceptors_with_acceptor_count_5(course):
    """The README's recipe: 'acceptor_count 5' in the config, acceptors 1..5; any 3 decide."""
    run = course({"acceptor_count": 5})
    run.start_cluster(acceptors=(1, 2, 3, 4, 5), proposers=(1,), learners=(1,))
    for i in (4, 5):
        run.send_signal("acceptor", i, signal.SIGKILL)
    run.write_values(1, values_for(1, 10))
    run.start("client", 1)
    assert run.wait_learned(10, learners=(1,), timeout=20), run.diagnostics()
    assert run.learned(1) == values_for(1, 10)


def test_a_forged_2b_of_acceptors_4_and_5_is_ignored_and_counted(course):
    run = course()
    run.start("learner", 1)
    forged = (Submission(99, 1, 0, "forged"),)
    rnd = make_round(1, 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
        sock.bind(("127.0.0.1", 0))
        for acceptor in (4, 5):
            codec = Codec(None, sender=(role_code("acceptor"), acceptor, new_incarnation()))
            sock.sendto(codec.encode(Phase2B(acceptor, rnd, 0, forged), 1),
                        run.addresses[Group.LEARNERS])
    finally:
        sock.close()

    def counters() -> dict:
        path = run.logs / "learner1.jsonl"
        found = [r for r in map(json.loads, path.read_text().splitlines())
                 if r.get("event") == "counters"]
        return found[-1]["counters"] if found else {}

    time.sleep(0.3)
    run.send_signal("learner", 1, signal.SIGTERM)
    assert run.wait_exit("learner", 1, 5) == 0
    assert counters().get("ignored_votes") == {"PHASE2B": 2}, counters()
    assert run.learned(1) == []
