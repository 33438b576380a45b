"""Stop requests that arrive before a role's event loop is ready to honour them.

A role process documents "SIGTERM / SIGINT: flush, write counters, exit 0". The runtime's
handler exists only once its modules are imported and its sockets are open — tens of
milliseconds into the process's life, more on a busy machine. A harness that starts a role
and stops it at once (``pkill -f <config>`` right after start) would otherwise kill it with
the default action (status 143) or a ``KeyboardInterrupt`` traceback.

So ``python -m paxos_edu`` calls :func:`catch_early` before it imports anything else: a
signal that arrives then is only remembered. The runtime takes it with :func:`take_pending`
once its own handlers are installed and stops at its first turn, cleanly. A command that
never starts a runtime (``demo``, ``check``, ...) calls :func:`release`, which puts the
default dispositions back and re-delivers a remembered signal, so it still ends the way
the signal asks.
"""

from __future__ import annotations

import os
import signal
from typing import Any, Optional

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""The signals a role process treats as "stop cleanly"."""

_pending: Optional[int] = None
_caught = False


def _remember(signum: int, frame: Any) -> None:
    global _pending
    if _pending is None:
        _pending = signum


def catch_early() -> None:
    """Remember SIGTERM / SIGINT instead of dying (until :func:`take_pending` or
    :func:`release`). Main thread only, as every signal handler."""
    global _caught
    for sig in STOP_SIGNALS:
        signal.signal(sig, _remember)
    _caught = True


def take_pending() -> Optional[int]:
    """The stop signal remembered since :func:`catch_early`, if any (then forgotten)."""
    global _pending
    signum, _pending = _pending, None
    return signum


def release() -> None:
    """Back to the default dispositions; a remembered signal is delivered again now."""
    global _caught
    if not _caught:
        return
    _caught = False
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signum = take_pending()
    if signum is not None:
        os.kill(os.getpid(), signum)
