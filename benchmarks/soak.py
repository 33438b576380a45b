"""Soak: two clients submit 100 000 values each through a real cluster with 10 % loss.

Every value must be learned by every learner exactly once, in the same order
(``run.check()``: order, integrity, validity, completeness), and the memory of every
process must stay bounded. A sampler thread reads each process's resident set size
(RSS, :mod:`psutil`) every ``sample_every`` seconds; the report gives, per process, the
peak RSS and the RSS when a tenth, a fifth and all of the values were learned, and the
growth from 20 % to 100 % -- a process that keeps everything it ever saw grows linearly
between the two, a bounded one does not (the target: at most 25 %). ``series`` holds
every sample (seconds, values learned by every learner, RSS per process), drawn by
``--figure``. ``--late-learner`` starts one more learner once everything is learned and
times how long it takes to deliver all of it, from the first value (catch-up of a long
history, served from disk).

Run it (2 x 100 000 values: a minute or two on a 2-core machine)::

    python benchmarks/soak.py                       # 2 x 100 000 values, 10 % loss
    python benchmarks/soak.py --values 20000 --json soak.json
    python benchmarks/soak.py --values 1000000 --late-learner --figure soak.png

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
AHEAD = 5
"""Chunks per client handed over beyond what every learner has learned."""


@dataclass
class ProcessMemory:
    """RSS of one process over the soak, in MiB."""

    peak_mb: float = 0.0
    at_tenth_mb: Optional[float] = None
    at_fifth_mb: Optional[float] = None
    at_end_mb: Optional[float] = None
    samples: int = 0

    @property
    def growth(self) -> Optional[float]:
        """Relative growth of RSS from 20 % to 100 % of the values (0.25: 25 %)."""
        if not self.at_fifth_mb or self.at_end_mb is None:
            return None
        return self.at_end_mb / self.at_fifth_mb - 1.0


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
        series: samples ``{"t": s, "done": values, "rss": {process: MiB}}`` over time.
        storage: acceptors kept their state on disk (the ``storage`` setting).
        late_learner_s: seconds a learner started after the end took to deliver every
            value (None: not asked for, or it did not finish).
        late_learner_delivered: values that late learner delivered, in order.
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
    series: list[dict[str, Any]] = field(default_factory=list)
    storage: bool = False
    late_learner_s: Optional[float] = None
    late_learner_delivered: int = 0

    def table(self) -> str:
        """Per process: peak RSS, RSS at 10 %, 20 % and 100 %, growth 20 % -> 100 %."""
        lines = [f"{'process':<11} {'peak RSS':>9} {'at 10%':>8} {'at 20%':>8} {'at end':>8} "
                 f"{'growth 20->100%':>16}  (MiB)"]

        def mb(x: Optional[float]) -> str:
            return "-" if x is None else f"{x:.1f}"

        for name, mem in sorted(self.memory.items()):
            growth = "-" if mem.growth is None else f"{mem.growth:+.0%}"
            lines.append(f"{name:<11} {mem.peak_mb:>9.1f} {mb(mem.at_tenth_mb):>8} "
                         f"{mb(mem.at_fifth_mb):>8} {mb(mem.at_end_mb):>8} {growth:>16}")
        if self.late_learner_s is not None or self.late_learner_delivered:
            took = "did not finish" if self.late_learner_s is None else \
                f"{self.late_learner_s:.1f} s"
            lines.append(f"late learner: {self.late_learner_delivered} values delivered "
                         f"from the first, {took}")
        return "\n".join(lines)

    def figure(self, path: Path) -> None:
        """Draw RSS per process against values learned, to ``path`` (PNG)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
        names = sorted({n for s in self.series for n in s["rss"]})
        for name in names:
            if name.startswith("client"):
                continue
            pts = [(s["done"], s["rss"][name]) for s in self.series if name in s["rss"]]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name,
                    linestyle="-" if not name.startswith("learner") else "--")
        total = self.values_per_client * self.clients
        ax.axvline(total * 0.2, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel("values learned by every learner")
        ax.set_ylabel("resident memory (MiB)")
        ax.set_ylim(bottom=0)
        ax.set_title(f"soak: {self.clients} x {self.values_per_client:,} values, loss "
                     f"{self.loss:.0%}{', storage' if self.storage else ''}")
        ax.legend(ncol=4, fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)

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
        self.last: dict[str, float] = {}  # the latest sample, MiB per process
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
        self.last = now
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
         storage: bool = False, late_learner: bool = False,
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
        storage: acceptors keep their state on disk (``Cluster(storage=True)``).
        late_learner: once everything is learned, start learner 3 and wait until it has
            delivered every value (it must start from the first).
        out: where to print progress lines (None: silent).
    """
    result = SoakResult(values_per_client=values, clients=clients, loss=loss, seed=seed,
                        storage=storage)
    started = time.monotonic()
    extra: dict[str, Any] = {"storage": True} if storage else {}
    with Cluster(acceptors=3, proposers=2, learners=2, clients=clients, loss=loss, seed=seed,
                 log_dir=log_dir, overwrite=True, **extra) as cluster:
        table = cluster.processes
        pids = {f"{r}{i}": int(p) for r, i, p in zip(table["role"], table["id"], table["pid"])}
        with _Sampler(pids, sample_every) as sampler:
            t0 = time.monotonic()
            expected = values * clients
            marks = [(max(expected // 10, 1), "at_tenth_mb"),
                     (max(expected // 5, 1), "at_fifth_mb")]
            deadline = t0 + timeout
            last_print = t0
            submitted, done = 0, 0
            while True:
                # Values are handed over a few chunks ahead of what is learned, so the
                # 10 % and 20 % marks fall inside the run, not after a long first submit.
                while submitted < values and (submitted - done // clients) < AHEAD * CHUNK:
                    for client in range(1, clients + 1):
                        cluster.submit(client, [f"c{client}-{i}" for i in
                                                range(submitted, min(submitted + CHUNK, values))])
                    submitted = min(submitted + CHUNK, values)
                try:  # wait() also keeps feeding the clients' stdin pipes
                    cluster.wait(timeout=0.5)
                    if submitted >= values:
                        break
                except ClusterTimeout:
                    pass
                done = min((d for d, _ in cluster.progress().values()), default=0)
                while marks and done >= marks[0][0]:
                    sampler.mark(marks.pop(0)[1])
                now = time.monotonic()
                result.series.append({"t": round(now - t0, 2), "done": done,
                                      "rss": dict(sampler.last)})
                if out is not None and now - last_print >= 5.0:
                    last_print = now
                    print(f"  {now - t0:6.1f} s: {done}/{expected} values learned by every "
                          "learner", file=out, flush=True)
                if now > deadline:
                    break
            result.wall_s = time.monotonic() - t0
            for _, attribute in marks:  # a run too fast to see the marks go by
                sampler.mark(attribute)
            sampler.mark("at_end_mb")
            result.series.append({"t": round(result.wall_s, 2), "done": expected,
                                  "rss": dict(sampler.last)})
            if late_learner:
                _late_learner(cluster, result, expected, deadline, out)
        result.memory = sampler.memory
    run = cluster.run
    report = run.check()
    learned = run.learned
    sizes = learned[learned["learner"] <= 2].groupby("learner").size()
    result.delivered = {int(k): int(v) for k, v in sizes.items()}
    result.ok = report.ok and all(n == expected for n in result.delivered.values()) and \
        len(result.delivered) == 2 and (not late_learner or result.late_learner_s is not None)
    result.check = str(report)
    result.throughput = expected / result.wall_s if result.wall_s else 0.0
    result.total_s = time.monotonic() - started
    return result


def _late_learner(cluster: Cluster, result: SoakResult, expected: int, deadline: float,
                  out: Optional[TextIO]) -> None:
    """Start learner 3 after everything was learned; time its delivery of all of it."""
    t0 = time.monotonic()
    cluster.start("learner", 3)
    while time.monotonic() < deadline:
        got = cluster.progress().get(3, (0, 0))[0]
        result.late_learner_delivered = got
        if got >= expected:
            result.late_learner_s = time.monotonic() - t0
            return
        if out is not None:
            print(f"  late learner: {got}/{expected}", file=out, flush=True)
        time.sleep(2.0)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=100_000, help="values per client")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--loss", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-dir", type=Path, help="keep the run directory here")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--storage", action="store_true", help="acceptors with storage")
    parser.add_argument("--late-learner", action="store_true",
                        help="then start a third learner and time its catch-up from the first")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    parser.add_argument("--figure", type=Path, help="draw RSS per process to this PNG")
    args = parser.parse_args(argv)
    result = soak(args.values, clients=args.clients, loss=args.loss, seed=args.seed,
                  log_dir=args.log_dir, timeout=args.timeout, storage=args.storage,
                  late_learner=args.late_learner, out=sys.stdout)
    print(result)
    if args.figure:
        result.figure(args.figure)
    if args.json:
        data: dict[str, Any] = asdict(result)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
