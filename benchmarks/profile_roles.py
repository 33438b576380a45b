"""Where the per-value CPU goes, role by role: py-spy on real processes of a throughput run.

For each role it runs the course topology once (:func:`benchmarks.bench.throughput_run`,
2 clients x N values) and, between the moment the clock starts and the moment both
learners have every value, samples the chosen process(es) of that role with
``py-spy record --nonblocking`` (the target is never paused). Samples of a process that
waits in ``select`` are idle and not recorded, so ``samples / rate`` is about the CPU time
the process spent; divided by the values decided it gives microseconds per value, which
the script cross-checks with the CPU time the operating system counted for the role.

It prints, per profiled process, the functions with the most *self* time and the most
*inclusive* time, in microseconds per value, and keeps the raw collapsed stacks in
``benchmarks/results/profile/<role><id>.txt`` (load them into https://speedscope.app or
``flamegraph.pl``). Needs ``pip install py-spy`` and permission to ptrace the children
(root, or ``kernel.yama.ptrace_scope`` 0).

Run ``python benchmarks/profile_roles.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

try:
    from . import bench
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    import bench  # type: ignore[no-redef]

OUT = bench.RESULTS / "profile"
TARGETS = {
    "client": [1],
    "proposer": [1, 2],
    "acceptor": [1],
    "learner": [1],
}
"""Processes sampled per role (the others of the role are symmetric, or idle)."""
IDLE_FRAME = "EpollSelector.select (selectors.py)"
"""The runtime's wait: its self time is idle (or waiting for a CPU), not work."""
LOOP_FRAMES = {"Runtime._loop (runtime.py)"}
"""Frames that contain the wait; their inclusive time is shown without it."""
BORING = {"<module> (__main__.py)", "_run_module_as_main (<frozen runpy>)",
          "_run_code (<frozen runpy>)", "run_role (cli.py)", "main (cli.py)",
          "Runtime.run (runtime.py)"}
"""Frames above the loop: 100 % inclusive, no information."""


def _setting(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    if not value:
        raise argparse.ArgumentTypeError(f"{text!r}: expected name=value")
    return name, value


def aggregate(raw: Path, focus: str = "") -> tuple[int, collections.Counter, collections.Counter]:
    """Read py-spy's collapsed stacks: (samples, self samples by function, inclusive
    samples by function). A function is ``name (file)``; line numbers are dropped."""
    total = 0
    own: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ")]
        if focus and not any(focus in f for f in frames):
            continue
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            incl[frame] += count
    return total, own, incl


def _function(frame: str) -> str:
    """``"handle (paxos_edu/roles/acceptor.py:71)"`` -> ``"handle (roles/acceptor.py)"``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("paxos_edu/", "python3.11/", "site-packages/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


def profile_role(role: str, n: int, settings: dict[str, Any], rate: int, out: Path,
                 workroot: Path, top: int) -> list[str]:
    """One run with py-spy on the processes of ``role``; returns report lines."""
    spies: dict[int, subprocess.Popen[bytes]] = {}
    raws: dict[int, Path] = {}
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy not found: pip install py-spy")

    def before(cluster: bench.ProcessCluster) -> None:
        for proc in cluster.of(role):
            if proc.id in TARGETS[role]:
                raws[proc.id] = out / f"{role}{proc.id}.txt"
                spies[proc.id] = subprocess.Popen(
                    [py_spy, "record", "--pid", str(proc.popen.pid), "--rate", str(rate),
                     "--nonblocking", "--format", "raw", "--output", str(raws[proc.id])],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # py-spy attaches

    def after(cluster: bench.ProcessCluster) -> None:
        for spy in spies.values():
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT

    try:
        result = bench.throughput_run(f"profile-{role}", n, settings, workroot / role,
                                      before=before, after=after)
    finally:
        for spy in spies.values():
            try:
                spy.wait(10.0)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(5.0)
    values = result.values if result.complete else max(1, result.learned)
    lines = [
        f"== {role}: run of 2 x {n} values {bench._settings_text(settings)}: "
        f"{result.values_per_s:,.0f} values/s, {result.seconds:.2f} s, load {result.loadavg}, "
        f"retries {result.retries}, OS CPU of all {role}s "
        f"{result.cpu.get(role, 0) / values * 1e6:.1f} us/value "
        f"{bench._run_note(result)}"
    ]
    for pid, raw in sorted(raws.items()):
        if not raw.exists():
            err = spies[pid].stderr.read().decode(errors="replace") if spies[pid].stderr else ""
            lines.append(f"-- {role} {pid}: no profile ({err.strip()[-300:]})")
            continue
        total, own, incl = aggregate(raw)
        idle = own.get(IDLE_FRAME, 0)
        busy = max(1, total - idle)
        cpu = result.cpu_by_process.get(f"{role}{pid}")
        # Samples in select are mostly waiting (for datagrams, or for a CPU once woken on
        # a loaded machine): the busy samples are spread over the OS-measured CPU time.
        us = (cpu / values * 1e6 / busy) if cpu else 1e6 / rate / values
        lines.append(
            f"-- {role} {pid}: {total} samples at {rate} Hz, {idle} in select; OS CPU "
            f"{'?' if cpu is None else f'{cpu / values * 1e6:.2f}'} us/value "
            f"(raw stacks: {raw})")
        lines.append(f"   self time, top {top} (us/value, share of busy samples):")
        for name, count in [(n, c) for n, c in own.most_common(top + 1) if n != IDLE_FRAME][:top]:
            lines.append(f"   {count * us:8.2f} {count / busy:6.1%}  {name}")
        lines.append(f"   inclusive time, top {top}:")
        listed = 0
        for name, count in incl.most_common():
            if name in BORING or name == IDLE_FRAME:
                continue
            lines.append(f"   {(count - (idle if name in LOOP_FRAMES else 0)) * us:8.2f} "
                         f"{(count - (idle if name in LOOP_FRAMES else 0)) / busy:6.1%}  {name}")
            listed += 1
            if listed == top:
                break
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=50_000, metavar="N",
                        help="values per client (default 50000)")
    parser.add_argument("--role", action="append", choices=list(TARGETS),
                        help="role to profile (repeatable; default all four)")
    parser.add_argument("--set", type=_setting, action="append", default=[],
                        metavar="NAME=VALUE", help="a config setting of the runs, e.g. batch=1")
    parser.add_argument("--rate", type=int, default=1000, help="samples per second (1000)")
    parser.add_argument("--top", type=int, default=15, help="functions listed per table")
    parser.add_argument("--out", type=Path, default=OUT, help=f"raw stacks go here ({OUT})")
    args = parser.parse_args(argv)
    settings = dict(args.set)
    args.out.mkdir(parents=True, exist_ok=True)
    workroot = Path(tempfile.mkdtemp(prefix="paxos-profile-"))
    print(f"profiling, {os.cpu_count()} CPUs, load {bench.loadavg()}", flush=True)
    try:
        for role in args.role or list(TARGETS):
            for line in profile_role(role, args.values, settings, args.rate, args.out,
                                     workroot, args.top):
                print(line, flush=True)
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
