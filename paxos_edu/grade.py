"""Grade any implementation of the course project: ``python -m paxos_edu grade DIR``.

``DIR`` holds ``acceptor.sh``, ``proposer.sh``, ``learner.sh`` (or ``learn.sh``) and
``client.sh`` following the course interface (``<script> <id> <config>``; learners print
learned values on stdout, one per line; clients submit the lines of stdin). The grader
runs every scenario of :mod:`paxos_edu.grade_scenarios` against it, each in its own private
network namespace when it can (root), and prints one line per scenario with the first
violation found::

    python3 -m paxos_edu grade scripts/ --quick
    python3 -m paxos_edu grade ~/students/alice --json alice.json --html alice.html

From Python, :func:`grade` returns a :class:`~paxos_edu.grade_report.GradeReport`, and
:func:`~paxos_edu.grade_report.load_grade` turns its JSON into pandas.

Exit status: 0 every required scenario passed, 1 one failed, 2 a usage error (no such
folder, a script missing or not executable, an unknown scenario); 128 + n when stopped by
signal n (SIGTERM: 143), after removing every process and namespace.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Optional, Union

from .errors import UsageError
from .grade_report import GradeReport, Verdict
from .grade_sandbox import (
    NAMESPACE_PREFIX,
    GraderInterrupted,
    cleanup_on_signals,
    netns_unavailable,
)
from .grade_scenarios import BY_NAME, ROLE_SCRIPTS, SCENARIOS, run_scenario


def find_scripts(folder: Union[str, Path]) -> dict[str, Path]:
    """The four role scripts of an implementation folder.

    Raises:
        UsageError: the folder or a script is missing, or a script is not executable.
    """
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"{folder}: not a folder")
    scripts = {}
    for role, names in ROLE_SCRIPTS.items():
        found = next((root / n for n in names if (root / n).is_file()), None)
        if found is None:
            raise UsageError(f"{root}: no {' or '.join(names)} (the course interface needs "
                             "acceptor.sh, proposer.sh, learner.sh and client.sh)")
        if not os.access(found, os.X_OK):
            raise UsageError(f"{found}: not executable (chmod +x {found.name})")
        scripts[role] = found
    return scripts


def grade(
    folder: Union[str, Path],
    *,
    quick: bool = False,
    scenarios: Optional[Iterable[str]] = None,
    network: str = "auto",
    workdir: Optional[Union[str, Path]] = None,
    progress: bool = False,
    seed: int = 0,
    namespace_prefix: str = NAMESPACE_PREFIX,
) -> GradeReport:
    """Run the grader's scenarios against the role scripts in ``folder``.

    Args:
        folder: the implementation (see the module docstring).
        quick: small sizes (about a minute in all for a correct implementation).
        scenarios: names to run (default: all, in order).
        network: ``auto`` (private namespaces when root, else loopback), ``netns`` or
            ``loopback``.
        workdir: keep each scenario's files (config, prop/learn, stderr) in
            ``workdir/<scenario>``; default a temporary folder, deleted afterwards.
        progress: show a tqdm progress bar on stderr.
        seed: draws the repeated values.
        namespace_prefix: name prefix of the namespaces created.

    Raises:
        UsageError: bad folder, unknown scenario, ``network="netns"`` impossible.
    """
    scripts = find_scripts(folder)
    names = list(scenarios) if scenarios is not None else [s.name for s in SCENARIOS]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise UsageError(f"unknown scenario {unknown[0]!r}; scenarios: {', '.join(BY_NAME)}")
    if network not in ("auto", "netns", "loopback"):
        raise UsageError(f"network must be auto, netns or loopback, not {network!r}")
    why = netns_unavailable() if network != "loopback" else "asked for loopback"
    if why and network == "netns":
        raise UsageError(f"cannot use private network namespaces: {why}")
    report = GradeReport(str(Path(folder).resolve()), quick, "loopback" if why else "netns",
                         f"loss and noise scenarios skipped: {why}" if why else
                         "one private namespace per scenario")
    started = time.monotonic()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), unit="scenario", file=sys.stderr, leave=False)
    with _workdir(workdir) as base, cleanup_on_signals():
        try:
            for name in names:
                if bar is not None:
                    bar.set_postfix_str(name)
                verdict: Verdict = run_scenario(
                    BY_NAME[name], scripts, base / name, quick=quick,
                    network="loopback" if why else "netns", seed=seed,
                    namespace_prefix=namespace_prefix)
                report.scenarios.append(verdict)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            report.seconds = time.monotonic() - started
    return report


@contextlib.contextmanager
def _workdir(workdir: Optional[Union[str, Path]]) -> Iterator[Path]:
    """``workdir`` as a Path, or a temporary folder deleted afterwards."""
    if workdir is not None:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="paxos-grade-") as tmp:
        yield Path(tmp)


# ---------------------------------------------------------------------- command line


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``paxos-edu grade``."""
    parser.add_argument("folder", metavar="DIR",
                        help="folder with acceptor.sh, proposer.sh, learner.sh, client.sh")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes of every scenario (about a minute)")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON")
    parser.add_argument("--html", metavar="FILE", help="write the report as an HTML page")
    parser.add_argument("--scenario", action="append", metavar="NAME", dest="scenarios",
                        help=f"run only this scenario (repeatable): {', '.join(BY_NAME)}")
    parser.add_argument("--network", choices=("auto", "netns", "loopback"), default="auto",
                        help="private namespaces (needs root), loopback, or auto (default)")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep every scenario's files (prop, learn, stderr) in DIR")
    parser.add_argument("--seed", type=int, default=0, help="seed of the repeated values")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Grade, print the table, write the files; 0 pass, 1 fail, 2 usage error."""
    try:
        report = grade(args.folder, quick=args.quick, scenarios=args.scenarios,
                       network=args.network, workdir=args.keep,
                       progress=not args.no_progress, seed=args.seed)
    except UsageError as exc:
        print(f"paxos-edu grade: error: {exc}", file=sys.stderr)
        return 2
    except GraderInterrupted as exc:
        print(f"paxos-edu grade: {exc}; every process and namespace removed", file=sys.stderr)
        return 128 + exc.signum
    print(report.table())
    if args.json:
        report.write_json(args.json)
    if args.html:
        report.write_html(args.html)
    return 0 if report.passed else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m paxos_edu.grade DIR ...`` (same as ``python -m paxos_edu grade``)."""
    parser = argparse.ArgumentParser(prog="paxos-edu grade", description=__doc__.splitlines()[0])
    configure(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["configure", "find_scripts", "grade", "main", "run"]
