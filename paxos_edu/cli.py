"""The command line: ``paxos-edu <command> ...`` (also ``python -m paxos_edu <command> ...``).

Role processes, as the course's scripts start them::

    python -m paxos_edu acceptor 1 paxos.conf
    python -m paxos_edu proposer 1 paxos.conf --loss 0.1 --log-dir runs/today
    python -m paxos_edu learner 1 paxos.conf > learn1
    python -m paxos_edu client 1 paxos.conf < prop1

Options override the config file's settings and are checked the same way. Exit status:
0 clean stop (SIGTERM/SIGINT, or a client whose values are all decided), 1 a runtime
failure (e.g. a port or group that cannot be used), 2 a usage or config error -- a config
error prints ``path:line: what is wrong`` on stderr.

Adding a subcommand
-------------------
Every subcommand is one :class:`Command` in :data:`COMMANDS`, the single registry: a
name, a help line, and ``"module:function"`` paths to a ``configure(parser)`` that adds
its arguments and a ``run(args) -> int``. Modules are imported only for the command
being run, so starting an acceptor never imports pandas or matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from . import signals
from .config import MODES, SETTINGS, int_in
from .errors import ConfigError, NetworkError, UsageError
from .processes import ROLES


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure`` and ``run`` are ``"module:function"`` paths."""

    name: str
    help: str
    configure: str
    run: str
    description: str = ""
    fast_exit: bool = False
    """Leave with ``os._exit`` when the command owns the process (see :func:`main`)."""


COMMANDS: list[Command] = [
    Command(
        "acceptor", "run an acceptor process", "paxos_edu.cli:configure_role",
        "paxos_edu.cli:run_role",
        "Vote in Paxos instances (phase 1b and 2b); listens on the acceptors group.",
        fast_exit=True,
    ),
    Command(
        "proposer", "run a proposer process", "paxos_edu.cli:configure_role",
        "paxos_edu.cli:run_role",
        "Order client values into Paxos instances; listens on the proposers and learners "
        "groups.",
        fast_exit=True,
    ),
    Command(
        "learner", "run a learner process (prints learned values)",
        "paxos_edu.cli:configure_role", "paxos_edu.cli:run_role",
        "Deliver decided values in order: stdout carries the learned values only, one per "
        "line.",
        fast_exit=True,
    ),
    Command(
        "client", "run a client process (submits the lines of stdin)",
        "paxos_edu.cli:configure_role", "paxos_edu.cli:run_role",
        "Submit each line of stdin as one value (blank lines skipped) and re-submit until "
        "each is decided; exit 0 once stdin has ended and every value is decided.",
        fast_exit=True,
    ),
    Command(
        "demo", "run a real cluster on 1000 values and check it",
        "paxos_edu.commands:configure_demo", "paxos_edu.commands:run_demo",
        "Start 2 clients, 2 proposers, 3 acceptors and 2 learners on loopback multicast, "
        "submit 2 x 500 values, print the check report and a metrics summary.",
    ),
    Command(
        "run", "run a course scenario on real processes", "paxos_edu.commands:configure_run",
        "paxos_edu.commands:run_run",
        "Run one of the course's scenarios (or a cluster of your own shape) and check it.",
    ),
    Command(
        "check", "check a run directory", "paxos_edu.commands:configure_check",
        "paxos_edu.commands:run_check",
        "Check total order, integrity, validity and completeness of a run directory, "
        "including one written by the course's own scripts.",
    ),
    Command(
        "bench", "measure throughput and latency (from a source checkout)",
        "paxos_edu.cli:configure_bench", "paxos_edu.cli:run_bench",
        "Run benchmarks/bench.py: the raw multicast reference, values learned per second, "
        "latency, messages per value; print a table, write benchmarks/results/latest.csv.",
    ),
    Command(
        "grade", "grade a folder of course role scripts (any implementation)",
        "paxos_edu.grade:configure", "paxos_edu.grade:run",
        "Run the course scenarios and the ones it forgot against DIR/acceptor.sh, "
        "proposer.sh, learner.sh, client.sh, each in a private network namespace (root), "
        "and print a verdict per scenario with the first violation found. Exit 0 all "
        "passed, 1 one failed, 2 usage error.",
    ),
    # Further subcommands are registered here: one Command each.
]
"""Every subcommand, in the order ``--help`` lists them."""


def register(command: Command) -> None:
    """Add (or replace) a subcommand at run time, e.g. from a plugin or a test."""
    COMMANDS[:] = [c for c in COMMANDS if c.name != command.name]
    COMMANDS.append(command)


def _bench_module() -> Any:
    """``benchmarks/bench.py`` of the checkout beside this package. ``benchmarks/`` is not
    installed (an editable install maps ``paxos_edu`` only), so it is put on the path."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if not (root / "benchmarks" / "bench.py").is_file():
        raise UsageError(f"bench runs from a source checkout: no benchmarks/bench.py in {root}")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("benchmarks.bench")


def configure_bench(parser: argparse.ArgumentParser) -> None:
    _bench_module().configure(parser)


def run_bench(args: argparse.Namespace) -> int:
    return _bench_module().run(args)


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


# ---------------------------------------------------------------------- role commands


def int_range(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number in ``lo..hi`` written in ASCII digits, read like
    a config file's integers (:func:`paxos_edu.config.int_in`; shared by every subcommand)."""
    parse = int_in(lo, hi)

    def convert(text: str) -> int:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = "integer"
    return convert


_process_id = int_range(0, 65535)


def setting_type(name: str) -> Callable[[str], Any]:
    """An argparse type for config setting ``name``, validated like the config file."""
    parse = SETTINGS[name].parse

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name  # argparse names the type in some messages
    return convert


def _bugs_type(text: str) -> Any:
    from .bugs import parse_bugs

    try:
        return parse_bugs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def configure_role(parser: argparse.ArgumentParser) -> None:
    """Arguments of the four role commands."""
    parser.add_argument("id", type=_process_id, help="process id within its role (0..65535)")
    parser.add_argument("config", help="config file: '<role> <ip> <port>' lines plus settings")
    parser.add_argument("--log-dir", metavar="DIR",
                        help="run directory for the event log (prop/learn files, <role><id>.jsonl)")
    parser.add_argument("--trace", choices=("values", "messages"), default="values",
                        help="event log detail: values (default) or every datagram too")
    parser.add_argument("--bugs", type=_bugs_type, default=frozenset(), metavar="NAMES",
                        help="comma-separated deliberate mistakes to switch on (teaching)")
    if parser.prog.split()[-1] == "acceptor":
        parser.add_argument("--fresh", action="store_true",
                            help="without storage: assert that this acceptor id never ran in "
                            "this cluster, so it votes at once instead of listening first "
                            "(and refusing to vote in a cluster already running)")
    if parser.prog.split()[-1] == "client":
        parser.add_argument("--new-session", action="store_true",
                            help="with --log-dir: start a new session even if the log holds an "
                            "interrupted one (by default a restarted client resumes it: it reads "
                            "its input again from the first line and skips what was decided)")
    settings = parser.add_argument_group("settings (override the config file)")
    for name, setting in SETTINGS.items():
        option = "--" + name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": f"set_{name}", "default": None,
                                  "type": setting_type(name), "help": setting.help}
        if name == "mode":
            kwargs.update(choices=MODES, type=str)
        elif name == "storage":
            kwargs["metavar"] = "DIR"
        elif name == "secret":
            kwargs["metavar"] = "TEXT"
            kwargs["help"] += "; visible in 'ps', prefer the config file"
        else:
            kwargs["metavar"] = name.split("_")[-1].upper()
        settings.add_argument(option, **kwargs)


def run_role(args: argparse.Namespace) -> int:
    """Load the config, apply the overrides, run one role until stopped."""
    from .config import load_config
    from .runtime import Runtime

    config = load_config(args.config)
    changes = {name: getattr(args, f"set_{name}") for name in SETTINGS
               if getattr(args, f"set_{name}") is not None}
    if changes:
        config = config.replace(**changes)
    runtime = Runtime(args.command, args.id, config, log_dir=args.log_dir, trace=args.trace,
                      bugs=args.bugs, fresh=getattr(args, "fresh", False),
                      new_session=getattr(args, "new_session", False))
    return runtime.run()


# ---------------------------------------------------------------------- main


def build_parser(prog: Optional[str] = None, only: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser; ``only`` configures just that subcommand's arguments (fast start-up:
    other commands' modules are not imported)."""
    parser = argparse.ArgumentParser(
        prog=prog or "paxos-edu",
        description="Atomic broadcast with Multi-Paxos over IP multicast: role processes "
        "and teaching tools.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help,
                           description=command.description or command.help)
        if only == command.name:  # the top-level help needs no subcommand's arguments
            _resolve(command.configure)(p)
        p.set_defaults(_run=command.run)
    return parser


def main(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None) -> int:
    """Entry point of ``paxos-edu`` and ``python -m paxos_edu``; returns the exit status."""
    own_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    names = {c.name for c in COMMANDS}
    only = argv[0] if argv and argv[0] in names else None
    parser = build_parser(prog, only)
    args = parser.parse_args(argv)
    where = f"{parser.prog} {args.command}"
    if args.command not in ROLES:
        signals.release()  # only a role's runtime takes over an early stop request
    try:
        status = int(_resolve(args._run)(args) or 0)
    except ConfigError as exc:
        print(exc, file=sys.stderr)  # already "path:line: what is wrong"
        return 2
    except UsageError as exc:
        print(f"{where}: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, NetworkError) else 2  # a runtime failure, or misuse
    except KeyboardInterrupt:
        return 130
    command = next(c for c in COMMANDS if c.name == args.command)
    if own_process and command.fast_exit and sys.gettrace() is None and sys.getprofile() is None:
        _exit_now(status)
    return status


def _exit_now(status: int) -> None:
    """End a role process at once: its files are flushed and closed, and the interpreter's
    clean-up (tens of milliseconds on a busy machine) would only delay "exit within half a
    second of SIGTERM". Skipped under a tracer or profiler (coverage, pyinstrument), which
    save their data at exit."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
