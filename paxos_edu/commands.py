"""The lab-bench commands: ``demo``, ``run`` and ``check`` (registered in :mod:`paxos_edu.cli`).

::

    python -m paxos_edu demo                          # 2 x 500 values on a real cluster
    python -m paxos_edu run --scenario kill-acceptor --values 200 --out runs/k1
    python -m paxos_edu check runs/k1                 # any run directory, course-made too

Exit status: 0 the checks hold (and, for ``run``, the scenario's outcome is the expected
one), 1 they do not, 2 a usage error (bad option, missing directory) with a message on
stderr. The heavy modules (cluster, pandas) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from .cli import int_range, setting_type
from .config import MODES, SETTINGS, int_in
from .errors import ConfigError, PaxosEduError, UsageError

DEMO_VALUES = 500
"""Values per client of ``demo`` (two clients: 1000 values)."""


# ---------------------------------------------------------------------- argument types




def _fail(command: str, exc: Exception) -> int:
    text = str(exc) if isinstance(exc, ConfigError) else f"paxos-edu {command}: error: {exc}"
    print(text, file=sys.stderr)
    return 2


def metrics_text(metrics: Any) -> str:
    """Two lines summing up a :class:`~paxos_edu.runlog.Metrics`: rate, latency, messages."""
    s = metrics.summary

    def num(x: float, fmt: str) -> str:
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)

    per = metrics.messages_per_value
    total = float(per["per_value"].sum()) if len(per) else math.nan
    kinds = ", ".join(f"{row.kind} {row.per_value:.2f}" for row in per.head(6).itertuples())
    return (
        f"metrics: {s['values']} values in {num(s['duration_s'], '.3f')} s = "
        f"{num(s['values_per_s'], '.0f')} values/s; latency p50 "
        f"{num(s['latency_p50_ms'], '.1f')} ms, p99 {num(s['latency_p99_ms'], '.1f')} ms\n"
        f"         {num(total, '.2f')} messages sent per value ({kinds or 'no counters'})"
    )


# ---------------------------------------------------------------------- demo


def configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--values", type=int_range(1, 1_000_000), default=DEMO_VALUES,
                        metavar="N", help=f"values per client (default {DEMO_VALUES})")
    parser.add_argument("--out", metavar="DIR", help="keep the run directory here")
    parser.add_argument("--launcher", choices=("fork", "spawn"), default="fork",
                        help="fork processes from a zygote (default) or spawn python each")


def run_demo(args: argparse.Namespace) -> int:
    """A real 2-client, 2-proposer, 3-acceptor, 2-learner cluster on loopback multicast."""
    from .scenarios import run_scenario

    print(f"demo: 2 clients submit {args.values} values each to a real cluster of 2 proposers,"
          f" 3 acceptors and 2 learners (one process each, multicast on 127.0.0.1)",
          flush=True)
    try:
        result = run_scenario("basic", values=args.values, progress=True, log_dir=args.out,
                              launcher=args.launcher)
    except (UsageError, ConfigError) as exc:
        return _fail("demo", exc)
    except PaxosEduError as exc:
        print(f"paxos-edu demo: {exc}", file=sys.stderr)
        return 1
    print(result)
    print(metrics_text(result.metrics()))
    return 0 if result.ok else 1


# ---------------------------------------------------------------------- run


def configure_run(parser: argparse.ArgumentParser) -> None:
    from .scenarios import SCENARIOS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "scenarios:\n" + "\n".join(
        f"  {s.name:<20}{s.description}" for s in SCENARIOS.values())
    count = int_range(0, 64)
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="basic",
                        help="course scenario (default basic)")
    for role in ("acceptors", "proposers", "learners", "clients"):
        parser.add_argument(f"--{role}", type=count, metavar="N",
                            help=f"number of {role} (default: the scenario's)")
    parser.add_argument("--values", type=int_range(1, 1_000_000), default=100, metavar="N",
                        help="values per client (default 100)")
    for name in ("loss", "timeout", "batch", "window", "seed"):
        parser.add_argument(f"--{name}", type=setting_type(name), metavar=name[0].upper(),
                            help=SETTINGS[name].help)
    parser.add_argument("--mode", choices=MODES, help=SETTINGS["mode"].help)
    parser.add_argument("--trace", choices=("values", "messages"), default="values",
                        help="event log detail (default values)")
    parser.add_argument("--out", metavar="DIR",
                        help="keep the run directory here (default: a temporary one)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run files already in --out")
    parser.add_argument("--wait", type=float, default=30.0, metavar="S",
                        help="seconds the values may take to be learned (default 30)")
    parser.add_argument("--hold", type=float, default=1.0, metavar="S",
                        help="seconds to watch where nothing (more) may be learned (default 1)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.add_argument("--launcher", choices=("fork", "spawn"), default="fork",
                        help="fork processes from a zygote (default) or spawn python each")


def run_run(args: argparse.Namespace) -> int:
    """One scenario (or a custom cluster: basic with other counts) on real processes."""
    from .scenarios import run_scenario

    if not (args.wait > 0 and args.hold > 0):
        return _fail("run", UsageError("--wait and --hold must be > 0 seconds"))
    overrides = {name: getattr(args, name) for name in (
        "acceptors", "proposers", "learners", "clients", "loss", "timeout", "batch",
        "window", "seed", "mode")}
    if args.acceptors is not None and args.scenario not in ("two-acceptors", "one-acceptor"):
        overrides["acceptor_count"] = max(args.acceptors, 1)
    try:
        result = run_scenario(
            args.scenario, values=args.values, timeout_s=args.wait, hold_s=args.hold,
            progress=args.progress, trace=args.trace, log_dir=args.out,
            overwrite=args.overwrite, launcher=args.launcher, **overrides,
        )
    except (UsageError, ConfigError) as exc:
        return _fail("run", exc)
    except PaxosEduError as exc:
        print(f"paxos-edu run: {exc}", file=sys.stderr)
        return 1
    print(result)
    if len(result.run.learned):
        print(metrics_text(result.metrics()))
    return 0 if result.ok else 1


# ---------------------------------------------------------------------- check


def _ids(text: str) -> list[int]:
    parse = int_in(0, 65535)
    try:
        return [parse(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of ids like 1,2") from None


def configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", help="run directory: prop<id>/learn<id> files and/or "
                        "<role><id>.jsonl logs")
    parser.add_argument("--live", type=_ids, metavar="IDS",
                        help="learners that must have learned everything, e.g. 1,2 "
                        "(default: those that did not crash)")
    parser.add_argument("--partial", action="store_true",
                        help="a prefix is acceptable: do not check completeness")


def run_check(args: argparse.Namespace) -> int:
    """Check total order, integrity, validity and completeness of a run directory."""
    import warnings

    from .runlog import load_run

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = load_run(args.directory)
    except UsageError as exc:
        return _fail("check", exc)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    report = run.check(live_learners=args.live, expect_complete=not args.partial)
    print(run)
    print(report)
    return 0 if report.ok else 1


__all__ = ["configure_check", "configure_demo", "configure_run", "metrics_text",
           "run_check", "run_demo", "run_run"]
