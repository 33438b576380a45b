"""Deliberate, named protocol mistakes for the "break it" exercises.

Each bug is off unless a caller turns it on explicitly (``Simulation(bugs=...)`` or the
``bugs`` setting of a real process). The property checks must catch every one of them;
``tests/test_bugs.py`` proves it and :func:`paxos_edu.explore.find_violation` shrinks a
failing run to a short schedule that notebook 09 draws.
"""

from __future__ import annotations

import enum
from typing import Iterable


class Bug(str, enum.Enum):
    """A switchable mistake; the value is the name used in settings and notebooks."""

    FORGET_PROMISE = "forget-promise"
    """Acceptor answers a prepare but does not remember its promise (Paxos Made Simple
    phase 1b: "promise never again to accept a proposal numbered less than n")."""

    IGNORE_1B_VALUE = "ignore-1b-value"
    """Proposer proposes a value of its own even when a promise reported an accepted
    value (phase 2a: "v is the value of the highest-numbered proposal among the responses")."""

    LEARN_FROM_ONE_2B = "learn-from-one-2b"
    """Learner decides on the first 2B it receives instead of waiting for a quorum."""

    PICK_ANY_1B_VALUE = "pick-any-1b-value"
    """Proposer re-proposes the value of the *lowest*-numbered vote its promises reported,
    not the highest (phase 2a: "the highest-numbered proposal among the responses")."""

    SHARED_ROUNDS = "shared-rounds"
    """Rounds are not unique across proposers: two proposers may use the same number."""

    NO_DEDUPLICATION = "no-deduplication"
    """Learner delivers a re-submitted value again when it was decided twice."""

    REPLY_BEFORE_DURABLE = "reply-before-durable"
    """Acceptor with storage sends its 1B/2B before the promise or vote is on disk (it
    writes it with its next message), so a crash loses what a proposer already counted."""

    RESTART_WITHOUT_STORAGE = "restart-without-storage"
    """A crashed acceptor is restarted with an empty memory ("an acceptor must remember
    this information even if it fails and then restarts")."""

    @property
    def role(self) -> str:
        """The role whose code the bug lives in."""
        return _ROLE[self]

    @property
    def explanation(self) -> str:
        """One sentence for notebooks: what the mistake is."""
        return _EXPLAIN[self]


_ROLE = {
    Bug.FORGET_PROMISE: "acceptor",
    Bug.IGNORE_1B_VALUE: "proposer",
    Bug.LEARN_FROM_ONE_2B: "learner",
    Bug.PICK_ANY_1B_VALUE: "proposer",
    Bug.SHARED_ROUNDS: "proposer",
    Bug.NO_DEDUPLICATION: "learner",
    Bug.REPLY_BEFORE_DURABLE: "acceptor",
    Bug.RESTART_WITHOUT_STORAGE: "acceptor",
}

_EXPLAIN = {
    Bug.FORGET_PROMISE: "The acceptor answers a prepare but does not remember its promise, "
    "so it still accepts proposals from lower rounds.",
    Bug.IGNORE_1B_VALUE: "The proposer ignores values reported in promises and proposes "
    "its own, overwriting a value that may already be chosen.",
    Bug.LEARN_FROM_ONE_2B: "The learner decides on a single 2B instead of a quorum, "
    "so it may learn a value that is never chosen.",
    Bug.PICK_ANY_1B_VALUE: "The proposer re-proposes a reported value, but the one of the "
    "lowest round instead of the highest, so it can bring back a value that lost.",
    Bug.SHARED_ROUNDS: "Two proposers can use the same round number, so one round "
    "can carry two different values.",
    Bug.NO_DEDUPLICATION: "The learner does not filter a submission decided twice "
    "(re-submitted by its client), so it is delivered twice.",
    Bug.REPLY_BEFORE_DURABLE: "The acceptor answers before its promise or vote is on disk, "
    "so a crash right after the answer loses a vote that counted towards a decision.",
    Bug.RESTART_WITHOUT_STORAGE: "A crashed acceptor comes back with an empty memory, so "
    "it reports no vote for a value that was already chosen and a second value is chosen.",
}


def parse_bugs(names: Iterable[str | Bug] | str | None) -> frozenset[Bug]:
    """Bugs from names (``"forget-promise,shared-rounds"`` or a list); unknown -> ValueError."""
    if names is None:
        return frozenset()
    if isinstance(names, str):
        names = [n for n in names.replace(",", " ").split() if n]
    out = set()
    for name in names:
        try:
            out.add(Bug(name))
        except ValueError:
            known = ", ".join(b.value for b in Bug)
            raise ValueError(f"unknown bug {name!r}; known bugs: {known}") from None
    return frozenset(out)
