"""How fast run directories are loaded and checked (pandas side of paxos_edu).

Writes a synthetic run of 2 clients x N values delivered by 2 learners with the same
EventLog the real processes use, then times ``load_run``, ``run.check()`` and
``run.metrics()``, and ``check_sequences`` on the plain data. Speed figures live here,
not in unit tests (tests assert behaviour only).

    python benchmarks/analysis.py            # N = 100 000 per client
    python benchmarks/analysis.py --values 20000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from paxos_edu.checks import check_sequences
from paxos_edu.eventlog import EventLog
from paxos_edu.messages import Submission
from paxos_edu.runlog import load_run


def write_run(path: Path, values: int) -> list[Submission]:
    proposed = [Submission(c, 7, seq, f"c{c}-v{seq}") for c in (1, 2) for seq in range(values)]
    for client in (1, 2):
        with EventLog(path, "client", client) as log:
            log.start(session=7)
            for sub in proposed:
                if sub.client == client:
                    log.submitted(sub)
            log.stop()
    for learner in (1, 2):
        with EventLog(path, "learner", learner) as log:
            log.start()
            for position, sub in enumerate(proposed):
                log.delivered(sub, instance=position // 64, position=position)
            log.stop()
    return proposed


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000, help="values per client")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        proposed, t_write = timed(lambda: write_run(path, args.values))
        run, t_load = timed(lambda: load_run(path))
        report, t_check = timed(run.check)
        _, t_metrics = timed(run.metrics)
        plain, t_plain = timed(lambda: check_sequences({1: proposed, 2: proposed}, proposed))
    assert report.ok and plain.ok
    rows = [("write (EventLog)", t_write), ("load_run", t_load), ("run.check()", t_check),
            ("run.metrics()", t_metrics), ("check_sequences (plain)", t_plain)]
    print(f"2 clients x {args.values} values, 2 learners; loadavg {os.getloadavg()[0]:.2f}")
    for name, seconds in rows:
        print(f"  {name:<26} {seconds:8.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
