"""``python -m paxos_edu <command> ...``: see :mod:`paxos_edu.cli`."""

import sys

from . import signals

signals.catch_early()  # before the imports below: a stop request is never lost (signals.py)

from .cli import main  # noqa: E402

sys.exit(main(prog="python -m paxos_edu"))
