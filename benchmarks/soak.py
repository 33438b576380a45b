"""Soak: two clients submit 100 000 values each through a real cluster with 10 % loss.

Every value must be learned by every learner exactly once, in the same order
(``run.check()``: order, integrity, validity, completeness), and the memory of every
process must stay bounded. A sampler thread reads each process's resident set size
(RSS, :mod:`psutil`) every ``sample_every`` seconds; the report gives, per process, the
peak RSS and the RSS when a tenth and when all of the values were learned -- a process
that keeps everything it ever saw grows between the two, a bounded one does not.

Run it (about a minute or two on a 2-core machine)::

    python benchmarks/soak.py                       # 2 x 100 000 values, 10 % loss
    python benchmarks/soak.py --values 20000 --json soak.json

It is not part of the CI tests (too long); ``tests/test_soak.py`` runs it small. The
cluster runs on loopback multicast (TTL 0) and every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO

try:
    import paxos_edu  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from paxos_edu.cluster import Cluster, ClusterTimeout

CHUNK = 10_000
"""Values handed to a client per :meth:`Cluster.submit` call."""


@dataclass
class ProcessMemory:
    """RSS of one process over the soak, in MiB."""

    peak_mb: float = 0.0
    at_tenth_mb: Optional[float] = None
    at_end_mb: Optional[float] = None
    samples: int = 0


@dataclass
class SoakResult:
    """What a soak measured.

    Attributes:
        values_per_client, clients, loss, seed: the settings.
        wall_s: seconds from the first submission to every value learned everywhere.
        total_s: seconds including start-up, stop and loading the run.
        throughput: values learned per second (per learner), over ``wall_s``.
        ok: ``run.check()`` passed and every learner delivered each value exactly once.
        check: the check report, as text.
        delivered: values delivered per learner.
        memory: per process (``"acceptor1"``...), its :class:`ProcessMemory`.
    """

    values_per_client: int
    clients: int
    loss: float
    seed: int
    wall_s: float = 0.0
    total_s: float = 0.0
    throughput: float = 0.0
    ok: bool = False
    check: str = ""
    delivered: dict[int, int] = field(default_factory=dict)
    memory: dict[str, ProcessMemory] = field(default_factory=dict)

    def table(self) -> str:
        lines = [f"{'process':<11} {'peak RSS':>9} {'at 10%':>8} {'at end':>8}  (MiB)"]
        for name, mem in sorted(self.memory.items()):
            tenth = "-" if mem.at_tenth_mb is None else f"{mem.at_tenth_mb:.1f}"
            end = "-" if mem.at_end_mb is None else f"{mem.at_end_mb:.1f}"
            lines.append(f"{name:<11} {mem.peak_mb:>9.1f} {tenth:>8} {end:>8}")
        return "\n".join(lines)

    def __str__(self) -> str:
        total = self.values_per_client * self.clients
        head = (f"soak: {self.clients} x {self.values_per_client} values, loss "
                f"{self.loss:.0%}, seed {self.seed}: {'OK' if self.ok else 'FAILED'}; "
                f"{total} values learned by {len(self.delivered)} learners in "
                f"{self.wall_s:.1f} s ({self.throughput:,.0f} values/s), "
                f"{self.total_s:.1f} s in all")
        return "\n".join([head, self.check, self.table()])


class _Sampler:
    """Samples the RSS of a fixed set of processes in a background thread."""

    def __init__(self, pids: dict[str, int], every: float) -> None:
        self.every = every
        self.memory = {name: ProcessMemory() for name in pids}
        self._procs = {}
        for name, pid in pids.items():
            try:
                self._procs[name] = psutil.Process(pid)
            except psutil.Error:
                pass
        self._last: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def sample(self) -> dict[str, float]:
        now = {}
        for name, proc in self._procs.items():
            try:
                rss = proc.memory_info().rss / 2**20
            except psutil.Error:
                continue
            mem = self.memory[name]
            mem.peak_mb = max(mem.peak_mb, rss)
            mem.samples += 1
            now[name] = rss
        self._last = now
        return now

    def mark(self, attribute: str) -> None:
        """Record the current RSS of each process as ``at_tenth_mb`` / ``at_end_mb``."""
        for name, rss in self.sample().items():
            setattr(self.memory[name], attribute, round(rss, 2))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5.0)


def soak(values: int = 100_000, *, clients: int = 2, loss: float = 0.1, seed: int = 1,
         log_dir: Optional[Path] = None, timeout: float = 1800.0, sample_every: float = 0.5,
         out: Optional[TextIO] = None) -> SoakResult:
    """Run the soak and check it; see the module docstring.

    Args:
        values: values per client.
        clients: clients submitting at once (3 acceptors, 2 proposers, 2 learners).
        loss: receive loss of every process.
        seed: seed of the processes' generators.
        log_dir: run directory to keep (default: a temporary one).
        timeout: longest wait for every value to be learned, seconds.
        sample_every: seconds between two RSS samples.
        out: where to print progress lines (None: silent).
    """
    result = SoakResult(values_per_client=values, clients=clients, loss=loss, seed=seed)
    started = time.monotonic()
    with Cluster(acceptors=3, proposers=2, learners=2, clients=clients, loss=loss, seed=seed,
                 log_dir=log_dir, overwrite=True) as cluster:
        table = cluster.processes
        pids = {f"{r}{i}": int(p) for r, i, p in zip(table["role"], table["id"], table["pid"])}
        with _Sampler(pids, sample_every) as sampler:
            t0 = time.monotonic()
            for start in range(0, values, CHUNK):
                for client in range(1, clients + 1):
                    cluster.submit(client, [f"c{client}-{i}"
                                            for i in range(start, min(start + CHUNK, values))])
            expected = values * clients
            tenth = max(expected // 10, 1)
            deadline = t0 + timeout
            marked = False
            last_print = t0
            while True:
                try:  # wait() also keeps feeding the clients' stdin pipes
                    cluster.wait(timeout=0.5)
                    break
                except ClusterTimeout:
                    pass
                done = min((d for d, _ in cluster.progress().values()), default=0)
                if not marked and done >= tenth:
                    sampler.mark("at_tenth_mb")
                    marked = True
                now = time.monotonic()
                if out is not None and now - last_print >= 5.0:
                    last_print = now
                    print(f"  {now - t0:6.1f} s: {done}/{expected} values learned by every "
                          "learner", file=out, flush=True)
                if now > deadline:
                    break
            result.wall_s = time.monotonic() - t0
            sampler.mark("at_end_mb")
        result.memory = sampler.memory
    run = cluster.run
    report = run.check()
    sizes = run.learned.groupby("learner").size()
    result.delivered = {int(k): int(v) for k, v in sizes.items()}
    result.ok = report.ok and all(n == expected for n in result.delivered.values()) and \
        len(result.delivered) == 2
    result.check = str(report)
    result.throughput = expected / result.wall_s if result.wall_s else 0.0
    result.total_s = time.monotonic() - started
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=100_000, help="values per client")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--loss", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-dir", type=Path, help="keep the run directory here")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = soak(args.values, clients=args.clients, loss=args.loss, seed=args.seed,
                  log_dir=args.log_dir, timeout=args.timeout, out=sys.stdout)
    print(result)
    if args.json:
        data: dict[str, Any] = asdict(result)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
