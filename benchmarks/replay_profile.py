"""Where the per-value CPU goes, measured without the noise of a shared machine.

The real-process figures of :mod:`benchmarks.bench` depend on what else runs on the host:
a process preempted while it works, or waiting for a CPU once woken, is slower but not
costlier. This script measures *cost* instead, in CPU time, in one process:

1. **Replay.** The course topology (2 clients, 2 proposers, 3 acceptors, 2 learners) as
   real :class:`paxos_edu.runtime.Runtime` objects -- the very ``_receive`` / ``_apply`` /
   ``_flush_output`` / stdin-parsing code of a role process, the real roles and codec --
   wired by an in-memory multicast (:class:`MemoryTransport`: ``send`` copies the bytes
   into the inbox of every process listening on the group). 2 x N values flow through
   it; the CPU time of every call into each process is charged to that process
   (``time.thread_time_ns``), and a ``cProfile`` per role gives the function breakdown.
   No socket, no clock-driven retry (timeout 60 s): the happy path, as in a fast run.
2. **System calls.** What the replay leaves out, measured on real loopback multicast
   sockets in this process: ``sendto`` of a datagram to a group with k listening sockets
   (the kernel delivers to every listener inside the sender's call), ``recv`` of one
   datagram, an ``epoll`` wait that finds a socket ready.

Together with the datagrams each role sends and receives per value (counted in the
replay), they give a per-value cost model of every role, to compare with the CPU the
operating system measured in real runs (``cpu_per_value.*`` rows of the suite); the
difference is the price of running nine processes: wake-ups, context switches, caches.

Run ``python benchmarks/replay_profile.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import selectors
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional, Sequence

try:
    import paxos_edu  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paxos_edu import codec
from paxos_edu.client_input import STDIN_CHUNK, ClientInput
from paxos_edu.config import default_config
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Group, Kind
from paxos_edu.processes import LISTENS, role_of
from paxos_edu.roles import make_role
from paxos_edu.runtime import Runtime, role_rng
from paxos_edu.transport import Transport, free_multicast_addresses

TOPOLOGY = {"client": (1, 2), "proposer": (1, 2), "acceptor": (1, 2, 3), "learner": (1, 2)}
ROLES = tuple(TOPOLOGY)


class _Counters:
    sent = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent}


class MemoryTransport:
    """The :class:`~paxos_edu.transport.Transport` API over in-memory inboxes."""

    def __init__(self, net: Network, name: str, listen: tuple[Group, ...]) -> None:
        self.net = net
        self.name = name
        self.inbox: dict[Group, list[bytes]] = {g: [] for g in listen}
        self.counters = _Counters()
        self.rcvbuf_obtained = 0

    def send(self, group: Group, data: bytes) -> bool:
        self.counters.sent += 1
        self.net.send(self.name, group, data)
        return True

    def recv_batch(self, group: Group, limit: int = 256) -> list[bytes]:
        box = self.inbox[group]
        out, box[:limit] = box[:limit], []
        for data in out:
            self.net.received[self.name][data[3]] += 1
        return out

    def close(self) -> None:
        pass


class Network:
    """Multicast in memory: a datagram sent to a group lands in every listener's inbox
    (the sender's too when it listens, as with loopback multicast)."""

    def __init__(self) -> None:
        self.listeners: dict[Group, list[MemoryTransport]] = defaultdict(list)
        self.sent: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.received: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.copies: dict[str, int] = defaultdict(int)  # sender -> datagram copies delivered

    def join(self, transport: MemoryTransport) -> None:
        for group in transport.inbox:
            self.listeners[group].append(transport)

    def send(self, sender: str, group: Group, data: bytes) -> None:
        self.sent[sender][data[3]] += 1
        for transport in self.listeners[group]:
            transport.inbox[group].append(data)
            self.copies[sender] += 1


class Replay:
    """The course topology as Runtime objects on a :class:`Network`, CPU charged per process."""

    def __init__(self, settings: dict[str, Any], log_dir: Optional[Path],
                 profile: bool) -> None:
        self.config = default_config(timeout=60.0, **settings)
        self.net = Network()
        self.runtimes: dict[str, Runtime] = {}
        self.outputs: dict[str, io.BytesIO] = {}
        self.cpu_ns: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.profiles: dict[str, cProfile.Profile] = {}
        self.decode_caches: dict[str, dict] = defaultdict(dict)
        now = time.monotonic()
        for role, ids in TOPOLOGY.items():
            for pid in ids:
                name = f"{role}{pid}"
                out = self.outputs[name] = io.BytesIO()
                rt = Runtime(role, pid, self.config, log_dir=None, stdin=None, stdout=out,
                             stderr=sys.stderr, handle_signals=False)
                rt.role = make_role(role, pid, self.config, rng=role_rng(1, role, pid),
                                    incarnation=rt.session or rt.incarnation, now=now)
                transport = MemoryTransport(self.net, name, LISTENS[role])
                rt.transport = transport  # type: ignore[assignment]
                self.net.join(transport)
                rt._started_at = now
                if log_dir is not None:
                    rt.log = EventLog(log_dir, role, pid)
                self.runtimes[name] = rt
                if profile:
                    self.profiles[role] = self.profiles.get(role) or cProfile.Profile()

    def _charged(self, name: str, fn: Any, *args: Any) -> None:
        prof = self.profiles.get(role_of(name))
        # Each process has its own decode cache (a module global of the codec).
        codec._recent_batches = self.decode_caches[name]
        t0 = time.thread_time_ns()
        if prof is not None:
            prof.enable()
        fn(*args)
        if prof is not None:
            prof.disable()
        self.cpu_ns[name] += time.thread_time_ns() - t0
        self.calls[name] += 1

    def submit(self, name: str, values: list[str]) -> None:
        """Feed ``values`` to a client through a pipe on its stdin, a chunk at a time, each
        read by the client's own :class:`ClientInput` (what its loop calls when stdin is
        ready)."""
        rt = self.runtimes[name]
        read_end, write_end = os.pipe()
        stdin = ClientInput(read_end, rt.role, apply=rt._apply, complain=rt._complain)
        stdin.log = rt.log
        chunk = min(STDIN_CHUNK, 1 << 16)  # fits a pipe
        data = ("\n".join(values) + "\n").encode()
        try:
            for off in range(0, len(data), chunk):
                os.write(write_end, data[off:off + chunk])
                self._charged(name, stdin.read)
        finally:
            os.close(write_end)
            os.close(read_end)

    def run(self, expected: int, max_turns: int = 10_000_000) -> None:
        """Turn the processes' loops until both learners printed ``expected`` values."""
        learners = [self.runtimes[f"learner{i}"] for i in TOPOLOGY["learner"]]
        for _ in range(max_turns):
            busy = False
            for name, rt in self.runtimes.items():
                transport: MemoryTransport = rt.transport  # type: ignore[assignment]
                for group, box in transport.inbox.items():
                    if box:
                        busy = True
                        self._charged(name, rt._receive, (group,))
                now = time.monotonic()
                due = rt.role.deadline()
                if due is not None and due <= now:
                    self._charged(name, _tick, rt, now)
                if rt._out or (rt.log is not None):
                    self._charged(name, rt._flush_output)
            if all(rt._delivered >= expected for rt in learners):
                return
            if not busy:
                time.sleep(0.0005)  # only timers left (e.g. a client window refill)
        raise RuntimeError("replay did not finish")


def _tick(rt: Runtime, now: float) -> None:
    """What :meth:`Runtime._loop` does when the role's deadline has come."""
    rt._apply(rt.role.tick(now))


def replay(n: int, settings: dict[str, Any], log: bool, profile: bool
           ) -> tuple[Replay, float]:
    """2 clients x ``n`` values through the in-memory topology; (replay, seconds)."""
    with tempfile.TemporaryDirectory(prefix="paxos-replay-") as tmp:
        rep = Replay(settings, Path(tmp) if log else None, profile)
        t0 = time.perf_counter()
        for cid in TOPOLOGY["client"]:
            rep.submit(f"client{cid}", [f"c{cid}-{i:06d}" for i in range(n)])
        rep.run(2 * n)
        seconds = time.perf_counter() - t0
        for rt in rep.runtimes.values():
            if rt.log is not None:
                rt.log.close()
    for lid in TOPOLOGY["learner"]:
        lines = rep.outputs[f"learner{lid}"].getvalue().count(b"\n")
        assert lines == 2 * n, f"learner{lid} printed {lines} of {2 * n} values"
    return rep, seconds


# ---------------------------------------------------------------------- system calls


def syscall_costs(payload: int = 1243, receivers: Sequence[int] = (0, 1, 2, 3, 4),
                  count: int = 3000, repeat: int = 5) -> dict[str, float]:
    """CPU microseconds of sendto (by number of listening sockets), recv, epoll wait."""
    out: dict[str, float] = {}
    data = bytes(payload)
    for k in receivers:
        addresses = free_multicast_addresses()
        listeners = [Transport(addresses, [Group.ACCEPTORS]) for _ in range(k)]
        sender = Transport(addresses, [])
        try:
            best = float("inf")
            for _ in range(repeat):
                t0 = time.thread_time_ns()
                for _ in range(count):
                    sender.send(Group.ACCEPTORS, data)
                best = min(best, (time.thread_time_ns() - t0) / count / 1000)
                for listener in listeners:  # drain, untimed
                    while listener.recv_batch(Group.ACCEPTORS, 4096):
                        pass
            out[f"sendto {payload} B, {k} listening"] = best
            if k == 1:
                best_recv = best_wait = float("inf")
                sock = listeners[0].receivers[Group.ACCEPTORS]
                sel = selectors.DefaultSelector()
                sel.register(sock, selectors.EVENT_READ)
                for _ in range(repeat):
                    for _ in range(count):
                        sender.send(Group.ACCEPTORS, data)
                    t0 = time.thread_time_ns()
                    for _ in range(count):
                        sel.select(0)
                    best_wait = min(best_wait, (time.thread_time_ns() - t0) / count / 1000)
                    t0 = time.thread_time_ns()
                    got = 0
                    while got < count:
                        batch = listeners[0].recv_batch(Group.ACCEPTORS, 256)
                        if not batch:
                            break
                        got += len(batch)
                    best_recv = min(best_recv, (time.thread_time_ns() - t0) / max(1, got) / 1000)
                sel.close()
                out[f"recv {payload} B (recv_batch, per datagram)"] = best_recv
                out["epoll wait, a socket ready (select(0))"] = best_wait
        finally:
            sender.close()
            for listener in listeners:
                listener.close()
    return out


# ---------------------------------------------------------------------- report


def _kinds(counts: dict[int, int]) -> str:
    return " ".join(f"{Kind(k).name}={v}" for k, v in sorted(counts.items()) if v)


def report(rep: Replay, seconds: float, n: int, top: int) -> list[str]:
    values = 2 * n
    cfg = rep.config
    lines = [f"replay of 2 x {n} values, batch {cfg.batch}, mode {cfg.mode}, window "
             f"{cfg.window}, client_window {cfg.client_window}: "
             f"{seconds:.2f} s wall, {sum(rep.cpu_ns.values()) / 1e3 / values:.2f} us CPU "
             "per value in all nine processes"]
    lines.append(f"{'process':<10}{'us/value':>9}{'calls':>9}  datagrams sent / received")
    by_role: dict[str, float] = defaultdict(float)
    for name, rt in rep.runtimes.items():
        us = rep.cpu_ns[name] / 1e3 / values
        by_role[rt.role_name] += us
        lines.append(f"{name:<10}{us:9.2f}{rep.calls[name]:9d}  "
                     f"sent {_kinds(rep.net.sent[name])} (copies {rep.net.copies[name]}) | "
                     f"received {_kinds(rep.net.received[name])}")
    lines.append("by role (all processes of the role): " + ", ".join(
        f"{role} {us:.2f}" for role, us in by_role.items()) + " us/value")
    for role, prof in rep.profiles.items():
        stream = io.StringIO()
        stats = pstats.Stats(prof, stream=stream)
        total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore
        lines.append(f"-- {role}: cProfile self time (tottime), top {top}; "
                     f"share of the role's profiled time")
        for (file, line, func), (_, nc, tt, _, _) in rows:
            where = file.split("paxos_edu/")[-1] if "paxos_edu/" in file else Path(file).name
            lines.append(f"   {tt / total:6.1%}  {nc / values:8.3f} calls/value  "
                         f"{func} ({where}:{line})")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=20_000, metavar="N",
                        help="values per client (default 20000)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a config setting, e.g. batch=1 (repeatable)")
    parser.add_argument("--log", action="store_true", help="with event logs, as Cluster runs")
    parser.add_argument("--repeat", type=int, default=3, help="replays; the cheapest is kept")
    parser.add_argument("--top", type=int, default=12, help="functions listed per role")
    parser.add_argument("--no-syscalls", action="store_true", help="skip the socket part")
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)
    # CPU time still varies with what shares the core (caches, a busy hyperthread
    # sibling): each process keeps its cheapest replay.
    best: Optional[tuple[Replay, float]] = None
    for _ in range(max(1, args.repeat)):
        rep, seconds = replay(args.values, settings, args.log, profile=False)
        if best is None:
            best = (rep, seconds)
        else:
            for name, ns in rep.cpu_ns.items():
                best[0].cpu_ns[name] = min(best[0].cpu_ns[name], ns)
    assert best is not None
    for line in report(*best, args.values, 0):
        print(line)
    rep, seconds = replay(args.values, settings, args.log, profile=True)
    print("function breakdown (one more replay, under cProfile: slower, same shape):")
    for line in report(rep, seconds, args.values, args.top)[2 + len(rep.runtimes) + 1:]:
        print(line)
    if not args.no_syscalls:
        print("system calls, CPU us each (best of 5 x 3000, this process):")
        for what, us in syscall_costs().items():
            print(f"   {us:7.2f}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
