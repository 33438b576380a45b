"""Reference figure of the benchmark suite: raw multicast datagrams per second in Python.

No Paxos here: one sender process multicasts fixed-size datagrams on loopback to N
receiver processes (each its own process, as acceptors are) through
:class:`paxos_edu.transport.Transport`, the very send/recv path the runtime uses. What
the receivers actually got per second is the ceiling any Paxos role can reach on this
machine: a Paxos figure is read as a fraction of it.

Flow control. A sender that blasts as fast as it can mostly measures the kernel dropping
datagrams in full receive buffers. So by default the sender keeps at most ``window``
datagrams ahead of the *slowest* receiver, which publishes its count in shared memory;
nothing then overflows and the received rate is the rate the receivers can sustain.
``window=None`` gives the open-loop (flood) figure with its loss, for comparison.

Payloads (defaults computed with the real codec):

* ``phase2a``: a Phase2A carrying a batch of 64 submissions of 8-byte values;
* ``tiny``: a Phase2B carrying one 8-byte submission (a 2B without batching).

Run ``python benchmarks/raw_multicast.py`` (``--help`` for options) to print the table;
the benchmark suite calls :func:`measure`. Every child process is ended by its PID when
the measurement finishes, fails or is interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any, Optional

try:
    import paxos_edu  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paxos_edu.codec import encode
from paxos_edu.messages import Group, Phase2A, Phase2B, Submission
from paxos_edu.transport import Transport, free_multicast_addresses

GROUP = Group.ACCEPTORS
CHUNK = 32
"""Datagrams sent between two looks at the clock and at the receivers' counts."""
CHILD_LIFETIME = 60.0
"""Extra seconds a child may outlive its planned run before it ends itself."""


def typical_payloads() -> dict[str, int]:
    """Sizes in bytes of the two reference datagrams, from the real codec."""
    batch = tuple(Submission(1, 0x5EED, seq, f"v{seq:07d}") for seq in range(64))
    return {
        "phase2a": len(encode(Phase2A(rnd=5, instance=1000, value=batch))),
        "tiny": len(encode(Phase2B(acceptor=1, rnd=5, instance=1000, value=batch[:1]))),
    }


def _kernel_udp_drops() -> Optional[int]:
    """Host-wide count of UDP datagrams dropped for a full receive buffer (Linux)."""
    try:
        lines = [
            line.split()
            for line in Path("/proc/net/snmp").read_text().splitlines()
            if line.startswith("Udp:")
        ]
        return int(dict(zip(lines[0], lines[1]))["RcvbufErrors"])
    except (OSError, KeyError, IndexError, ValueError):
        return None


def _loadavg() -> Optional[float]:
    """The host's 1-minute load average: other work competes for the same CPUs."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


# ---------------------------------------------------------------- child processes


def _child_setup(parent: int) -> float:
    """Ctrl-C is for the parent, which ends children by PID; returns the start time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return time.monotonic()


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _receiver(
    index: int,
    parent: int,
    addresses: dict,
    rcvbuf: int,
    lifetime: float,
    counts: Any,
    last_times: Any,
    granted: Any,
    ready: Any,
    stop: Any,
) -> None:
    born = _child_setup(parent)
    with Transport(addresses, [GROUP], rcvbuf=rcvbuf) as transport:
        granted[index] = transport.rcvbuf_obtained
        sock = transport.receivers[GROUP]
        recv_batch = transport.recv_batch
        monotonic = time.monotonic
        received = 0
        ready.set()
        while True:
            batch = recv_batch(GROUP, 1024)
            if batch:
                received += len(batch)
                counts[index] = received
                last_times[index] = monotonic()
            elif stop.is_set() or _orphaned(parent) or monotonic() - born > lifetime:
                break
            else:
                select.select([sock], [], [], 0.02)


def _sender(
    parent: int,
    addresses: dict,
    payload_size: int,
    seconds: float,
    count: Optional[int],
    window: Optional[int],
    lifetime: float,
    counts: Any,
    result: Any,
) -> None:
    _child_setup(parent)
    data = bytes(payload_size)
    limit = count if count is not None else 1 << 62
    with Transport(addresses, []) as transport:
        send = transport.send
        monotonic = time.monotonic
        sent = stalls = 0
        start = monotonic()
        end = start + (seconds if count is None else lifetime)
        result[0] = start
        while sent < limit:
            if window is not None and sent - min(counts) >= window:
                stalls += 1
                time.sleep(50e-6)  # let the receivers catch up (they share our CPUs)
                if _orphaned(parent) or monotonic() > end + lifetime:
                    break
                continue
            for _ in range(min(CHUNK, limit - sent)):
                send(GROUP, data)
            sent += min(CHUNK, limit - sent)
            if monotonic() >= end:
                break
        result[1] = monotonic() - start
        result[2] = transport.counters.sent
        result[3] = transport.counters.send_errors
        result[4] = stalls


# ---------------------------------------------------------------- parent


def _end(processes: list) -> None:
    """End every child still running, by its PID: SIGTERM, then SIGKILL."""
    for process in processes:
        if process.pid is not None and process.is_alive():
            process.terminate()
    for process in processes:
        if process.pid is not None:
            process.join(1.0)
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
                process.join(1.0)


def _auto_window(payload_size: int, rcvbuf_granted: int) -> int:
    # Each queued datagram costs its payload plus ~1 KiB of kernel bookkeeping; stay
    # within half of the smallest buffer granted.
    return max(64, min(8192, rcvbuf_granted // 2 // (payload_size + 1024)))


def measure(
    payload_size: int,
    receivers: int = 3,
    seconds: float = 2.0,
    *,
    count: Optional[int] = None,
    window: Optional[int] | str = "auto",
    rcvbuf: int = 16 << 20,
) -> dict[str, Any]:
    """Multicast ``payload_size``-byte datagrams from one process to ``receivers`` others.

    Args:
        payload_size: bytes per datagram (see :func:`typical_payloads`).
        receivers: number of receiver processes.
        seconds: how long the sender sends (ignored when ``count`` is given).
        count: send exactly this many datagrams instead of for ``seconds``.
        window: most datagrams the sender may be ahead of the slowest receiver;
            ``"auto"`` sizes it to the receive buffer, None floods (open loop).
        rcvbuf: receive buffer asked per receiver, in bytes.

    Returns:
        A dict: ``received_per_s`` (min over receivers: **the figure that counts**),
        ``sent_per_s``, ``loss`` (fraction of sent datagrams the slowest receiver
        missed), per-receiver counts and rates, ``rcvbuf_obtained``, the window used,
        sender stalls, host-wide kernel drop count, and the parameters.
    """
    if payload_size < 1 or receivers < 1 or (count is None and seconds <= 0):
        raise ValueError("payload_size, receivers and seconds (or count) must be positive")
    ctx = mp.get_context("spawn")  # safe under Jupyter and threads
    parent = os.getpid()
    addresses = free_multicast_addresses()
    lifetime = (seconds if count is None else 0.0) + CHILD_LIFETIME
    counts = ctx.RawArray("q", receivers)
    last_times = ctx.RawArray("d", receivers)
    granted = ctx.RawArray("q", receivers)
    result = ctx.RawArray("d", 5)
    stop = ctx.Event()
    readies = [ctx.Event() for _ in range(receivers)]
    processes: list = []
    drops_before = _kernel_udp_drops()
    try:
        for index in range(receivers):
            process = ctx.Process(
                target=_receiver,
                daemon=True,
                name=f"raw-multicast-receiver-{index}",
                args=(
                    index,
                    parent,
                    addresses,
                    rcvbuf,
                    lifetime,
                    counts,
                    last_times,
                    granted,
                    readies[index],
                    stop,
                ),
            )
            process.start()
            processes.append(process)
        deadline = time.monotonic() + 30.0
        for index, ready in enumerate(readies):
            while not ready.wait(0.05):
                code = processes[index].exitcode
                if code is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"receiver {index} did not start (exit code {code})")
        rcvbuf_obtained = min(granted)
        used_window = _auto_window(payload_size, rcvbuf_obtained) if window == "auto" else window
        sender = ctx.Process(
            target=_sender,
            daemon=True,
            name="raw-multicast-sender",
            args=(
                parent,
                addresses,
                payload_size,
                seconds,
                count,
                used_window,
                lifetime,
                counts,
                result,
            ),
        )
        sender.start()
        processes.append(sender)
        sender.join(lifetime + 30.0)
        if sender.exitcode != 0:
            raise RuntimeError(f"sender failed (exit code {sender.exitcode})")
        # Let the receivers drain what is still queued: until their counts stop moving.
        sent = int(result[2])
        previous, quiet_since = list(counts), time.monotonic()
        while min(counts) < sent and time.monotonic() - quiet_since < 0.2:
            time.sleep(0.02)
            if list(counts) != previous:
                previous, quiet_since = list(counts), time.monotonic()
        stop.set()
        for process in processes[:-1]:
            process.join(5.0)
    finally:
        _end(processes)
    drops_after = _kernel_udp_drops()
    start, elapsed = result[0], result[1]
    got = list(counts)
    rates = [n / (t - start) if n and t > start else 0.0 for n, t in zip(got, last_times)]
    return {
        "payload_bytes": payload_size,
        "receivers": receivers,
        "mode": "flood" if used_window is None else "window",
        "window": used_window,
        "seconds": elapsed,
        "sent": sent,
        "sent_per_s": sent / elapsed if elapsed else 0.0,
        "received_min": min(got),
        "received_per_s": min(rates),
        "received_per_s_each": rates,
        "loss": 1 - min(got) / sent if sent else 0.0,
        "send_errors": int(result[3]),
        "sender_stalls": int(result[4]),
        "rcvbuf_obtained": rcvbuf_obtained,
        "kernel_rcvbuf_drops": (
            None if drops_before is None or drops_after is None else drops_after - drops_before
        ),
        "cpus": os.cpu_count(),
        "loadavg_1min": _loadavg(),
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="sending time per row")
    parser.add_argument("--count", type=int, help="send this many datagrams per row instead")
    parser.add_argument(
        "--payload",
        type=int,
        action="append",
        help="payload size in bytes (repeatable; default: phase2a and tiny)",
    )
    parser.add_argument(
        "--receivers",
        type=int,
        action="append",
        help="receiver processes (repeatable; default: 3 and 1)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each row this many times and keep the best (default 1)",
    )
    parser.add_argument("--no-flood", action="store_true", help="skip the open-loop rows")
    parser.add_argument("--json", action="store_true", help="print JSON lines, not a table")
    args = parser.parse_args(argv)
    sizes = typical_payloads()
    payloads = (
        [(f"{n} B", n) for n in args.payload]
        if args.payload
        else [
            (f"phase2a {sizes['phase2a']} B", sizes["phase2a"]),
            (f"tiny 2B {sizes['tiny']} B", sizes["tiny"]),
        ]
    )
    plan = [
        (label, size, n, "auto") for label, size in payloads for n in (args.receivers or [3, 1])
    ]
    if not args.no_flood:
        plan += [
            (label, size, n, None)
            for label, size in payloads[:1]
            for n in (args.receivers or [3])[:1]
        ]
    header = (
        f"{'payload':<18}{'recv':>5}{'mode':>7}{'sent/s':>11}{'received/s (min)':>18}"
        f"{'loss':>8}{'window':>8}{'rcvbuf':>11}{'kernel drops':>14}"
    )
    if not args.json:
        print(
            f"raw multicast on loopback, {os.cpu_count()} CPUs, load {_loadavg()}, "
            f"{args.count or args.seconds} {'datagrams' if args.count else 's'} per row, "
            f"best of {args.repeat}"
        )
        print(header)
    for label, size, n, window in plan:
        runs = [
            measure(size, n, args.seconds, count=args.count, window=window)
            for _ in range(max(1, args.repeat))
        ]
        row = max(runs, key=lambda run: run["received_per_s"])  # noise only slows down
        if args.json:
            print(
                json.dumps(
                    {
                        "label": label,
                        **row,
                        "received_per_s_runs": [r["received_per_s"] for r in runs],
                    }
                ),
                flush=True,
            )
            continue
        drops = row["kernel_rcvbuf_drops"]
        print(
            f"{label:<18}{n:>5}{row['mode']:>7}{row['sent_per_s']:>11,.0f}"
            f"{row['received_per_s']:>18,.0f}{row['loss']:>8.2%}"
            f"{row['window'] or '-':>8}{row['rcvbuf_obtained']:>11,}"
            f"{'-' if drops is None else drops:>14}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so measure()'s cleanup ends the children by PID.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # children were already ended by measure()'s finally
        sys.exit(130)
