"""``python -m paxos_edu <command> ...``: see :mod:`paxos_edu.cli`."""

import sys

from .cli import main

sys.exit(main(prog="python -m paxos_edu"))
