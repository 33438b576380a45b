"""Retry jitter, shared by every role that waits and tries again.

Processes that lost the same datagram would all time out together and collide again; a
random stretch of each wait makes their retries drift apart. Every role draws it from its
own injected ``random.Random`` (one draw per call), so a seeded simulation replays exactly.
"""

from __future__ import annotations

import random

JITTER = 0.25
"""The largest stretch: a wait of ``delay`` becomes ``delay * (1 + JITTER * U)``."""


def jittered(delay: float, rng: random.Random) -> float:
    """``delay`` stretched by a random 0 to 25 %: ``delay * (1 + 0.25 * U)``, U uniform in
    [0, 1) from one ``rng.random()`` draw."""
    return delay * (1.0 + JITTER * rng.random())
