"""The runtime and the CLI driven inside the test process (threads, loopback multicast)."""

from __future__ import annotations

import io
import json
import os
import threading

import pytest
from harness import values_for

from paxos_edu.cli import main
from paxos_edu.config import Config
from paxos_edu.runtime import Runtime, role_rng
from paxos_edu.transport import free_multicast_addresses

pytestmark = pytest.mark.integration


def test_loss_generators_are_seeded_per_process():
    a = [role_rng(5, "learner", 1, "loss").random() for _ in range(3)]
    b = [role_rng(5, "learner", 1, "loss").random() for _ in range(3)]
    c = [role_rng(5, "learner", 2, "loss").random() for _ in range(3)]
    assert a == b != c


def test_cluster_of_runtimes_in_threads(tmp_path):
    config = Config(free_multicast_addresses(), seed=1, loss=0.05)
    out = io.BytesIO()
    servers = [Runtime("acceptor", i, config, handle_signals=False) for i in (1, 2, 3)]
    servers.append(Runtime("proposer", 1, config, handle_signals=False))
    servers.append(Runtime("learner", 1, config, handle_signals=False, stdout=out,
                           log_dir=tmp_path))
    read_fd, write_fd = os.pipe()
    client = Runtime("client", 1, config, handle_signals=False, stdin=read_fd,
                     log_dir=tmp_path)
    threads = [threading.Thread(target=rt.run, daemon=True) for rt in [*servers, client]]
    try:
        for t in threads:
            t.start()
        values = values_for(1, 200)
        os.write(write_fd, ("\n".join(values) + "\n").encode())
        os.close(write_fd)
        write_fd = -1
        threads[-1].join(20)
        assert not threads[-1].is_alive(), "client did not finish"
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        for rt in servers + [client]:
            rt.request_stop()
        for t in threads:
            t.join(5)
        os.close(read_fd)
    assert not any(t.is_alive() for t in threads)
    assert out.getvalue().decode().splitlines() == values
    assert (tmp_path / "learn1").read_text().splitlines() == values
    assert (tmp_path / "prop1").read_text().splitlines() == values
    records = [json.loads(line) for line in (tmp_path / "learner1.jsonl").read_text().splitlines()]
    counters = next(r["counters"] for r in records if r["event"] == "counters")
    assert counters["delivered"] == 200 and records[-1]["event"] == "stop"


def test_cli_config_error_returns_2_with_path_and_line(tmp_path, capsys):
    config = tmp_path / "bad.conf"
    config.write_text("clients 239.0.0.1 5000\nproposers 239.0.0.1\n")
    assert main(["learner", "1", str(config)]) == 2
    assert capsys.readouterr().err.startswith(f"{config}:2: proposers needs")


def test_cli_rejects_a_bad_id_and_an_unknown_bug(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["acceptor", "x", "a.conf"])
    assert exc.value.code == 2
    assert "argument id: 'x' is not an integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["acceptor", "1", "a.conf", "--bugs", "no-such-bug"])
    assert "unknown bug 'no-such-bug'" in capsys.readouterr().err


def test_cli_unusable_interface_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / "paxos.conf"
    lines = [f"{g.role} {ip} {port}" for g, (ip, port) in free_multicast_addresses().items()]
    config.write_text("\n".join(lines) + "\ninterface 192.0.2.1\n")  # TEST-NET: not ours
    assert main(["acceptor", "1", str(config)]) == 1
    err = capsys.readouterr().err
    assert "acceptor: error: cannot" in err and "192.0.2.1" in err


def test_trace_messages_run_directory_loads_and_checks(tmp_path):
    from paxos_edu.runlog import load_run

    config = Config(free_multicast_addresses(), seed=3, loss=0.2)
    runtimes = [Runtime("acceptor", i, config, handle_signals=False, log_dir=tmp_path,
                        trace="messages") for i in (1, 2, 3)]
    runtimes.append(Runtime("proposer", 1, config, handle_signals=False, log_dir=tmp_path,
                            trace="messages"))
    runtimes.append(Runtime("learner", 1, config, handle_signals=False, log_dir=tmp_path,
                            trace="messages", stdout=io.BytesIO()))
    read_fd, write_fd = os.pipe()
    client = Runtime("client", 1, config, handle_signals=False, stdin=read_fd,
                     log_dir=tmp_path, trace="messages")
    threads = [threading.Thread(target=rt.run, daemon=True) for rt in [*runtimes, client]]
    try:
        for t in threads:
            t.start()
        os.write(write_fd, ("\n".join(values_for(1, 30)) + "\n").encode())
        os.close(write_fd)
        threads[-1].join(20)
        assert not threads[-1].is_alive(), "client did not finish"
    finally:
        for rt in runtimes + [client]:
            rt.request_stop()
        for t in threads:
            t.join(5)
        os.close(read_fd)
    run = load_run(tmp_path)
    assert run.check().ok
    assert run.has_identities and run.traced
    directions = set(run.messages["direction"])
    assert directions == {"sent", "received", "dropped"}
    assert set(run.messages.loc[run.messages["direction"] == "dropped", "reason"]) == {"loss"}
    learner = run.counters.set_index("process").loc["learner1"]
    assert learner["delivered"] == 30
