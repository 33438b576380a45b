"""Drive one sans-I/O role by hand and check every effect it returns.

A test feeds messages (or ticks) to a role through a :class:`Harness` and then states
the effects it expects; an effect left unchecked fails the test -- at the next
``feed``/``tick`` and, through the autouse fixture :func:`unchecked_effects_fail`, at
the end of the test::

    from roles_helper import Harness, unchecked_effects_fail  # noqa: F401

    def test_acceptor_promises_a_round():
        r = Harness(Acceptor(1))
        r.feed(Phase1A(R1, 0, True))
        r.expect(Send(Group.PROPOSERS, Phase1B(1, R1, 0, END, ())))

Expected effects are compared with ``==``, in any order, each consuming one actual
effect. :class:`Like` matches a message (or any object) by class and a subset of its
fields, :func:`note` a :class:`~paxos_edu.effects.Note` by event and a subset of its
fields -- for the parts a test does not pin down (a random backoff, a note's details).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from paxos_edu.effects import Deliver, Effect, Note, Send
from paxos_edu.messages import Batch, Submission

_LIVE: list[Harness] = []


class Like:
    """Equal to any instance of ``cls`` whose named fields equal the given values."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, cls: type, **fields: Any) -> None:
        self.cls = cls
        self.fields = fields

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.cls) and all(
            getattr(other, name) == value for name, value in self.fields.items()
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"Like({self.cls.__name__}, {args})"


class _Subset:
    """Equal to a dict that holds at least the given items."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, items: dict[str, Any]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and all(
            k in other and other[k] == v for k, v in self.items.items()
        )

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: {v!r}' for k, v in self.items.items())}, ...}}"


def note(event: str, **fields: Any) -> Note:
    """A Note matcher: this ``event`` with (at least) these ``fields``."""
    return Note(event, _Subset(fields))  # type: ignore[arg-type]


def sub(value: str, seq: int = 0, client: int = 1, session: int = 0) -> Submission:
    """A submission with a short spelling for tests."""
    return Submission(client, session, seq, value)


def batch(*values: str, client: int = 1, session: int = 0, first_seq: int = 0) -> Batch:
    """A batch of consecutive submissions of one client: ``batch("a", "b")``."""
    return tuple(sub(v, first_seq + i, client, session) for i, v in enumerate(values))


class FixedRandom(random.Random):
    """A ``random.Random`` whose ``random()`` always returns ``x`` (to pin down jitter)."""

    def __init__(self, x: float = 0.5) -> None:
        super().__init__(0)
        self.x = x

    def random(self) -> float:  # noqa: D102
        return self.x


class Harness:
    """One role under test, the time it lives at, and the effects not yet checked.

    Args:
        role: a role object (``Acceptor``, ``Proposer``, ``Learner``, ``Client``).
        now: the virtual time to start at; ``feed``/``tick`` may move it forward.
    """

    def __init__(self, role: Any, now: float = 0.0) -> None:
        self.role = role
        self.now = now
        self.pending: list[Effect] = []
        _LIVE.append(self)

    # ---------------------------------------------------------------- driving

    def _at(self, now: float | None) -> float:
        if now is not None:
            assert now >= self.now, f"time goes forward: {now} < {self.now}"
            self.now = now
        return self.now

    def _require_checked(self, action: str) -> None:
        if self.pending:
            self._fail(f"{action}, but effects are left unchecked:")

    def feed(self, *messages: Any, now: float | None = None) -> Harness:
        """Hand ``messages`` to ``role.handle`` one after the other (at time ``now``)."""
        self._require_checked(f"feeding {messages!r}")
        at = self._at(now)
        for msg in messages:
            self.pending.extend(self.role.handle(msg, at))
        return self

    def tick(self, now: float | None = None) -> Harness:
        """Call ``role.tick`` at time ``now``."""
        self._require_checked(f"ticking at {now}")
        self.pending.extend(self.role.tick(self._at(now)))
        return self

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call another role method that returns effects (e.g. ``Client.submit``)."""
        self._require_checked(f"calling {method}")
        effects = getattr(self.role, method)(*args, **kwargs)
        self.pending.extend(effects)
        return effects

    # ---------------------------------------------------------------- checking

    def expect(self, *expected: Any) -> list[Effect]:
        """Each expected effect must be among the pending ones; consume and return them."""
        found: list[Effect] = []
        for want in expected:
            for i, have in enumerate(self.pending):
                if want == have:
                    found.append(self.pending.pop(i))
                    break
            else:
                self._fail(f"expected {want!r}\nbut the effects are:")
        return found

    def expect_only(self, *expected: Any) -> list[Effect]:
        """Exactly these effects (in any order), nothing else."""
        found = self.expect(*expected)
        self.expect_nothing()
        return found

    def expect_nothing(self) -> None:
        """No effect is pending."""
        if self.pending:
            self._fail("expected no effect, got:")

    def take(self, cls: type) -> list[Any]:
        """Consume every pending ``Send`` of a ``cls`` message; return the messages."""
        out = [e.message for e in self.pending if type(e) is Send and type(e.message) is cls]
        self.pending = [e for e in self.pending if not (type(e) is Send and type(e.message) is cls)]
        return out

    def take_deliveries(self) -> list[tuple[int, str]]:
        """Consume the pending ``Deliver`` effects; return ``(instance, value)`` in order."""
        out = [(e.instance, e.submission.value) for e in self.pending if type(e) is Deliver]
        self.pending = [e for e in self.pending if type(e) is not Deliver]
        return out

    def take_notes(self, event: str | None = None) -> list[Note]:
        """Consume the pending notes (of one ``event``); return them."""
        out = [e for e in self.pending if type(e) is Note and event in (None, e.event)]
        self.pending = [e for e in self.pending if not any(e is n for n in out)]
        return out

    def _fail(self, why: str) -> None:
        listing = self._listing()
        self.pending = []  # reported here; the end-of-test check need not repeat it
        pytest.fail(f"{why}\n{listing}")

    def _listing(self) -> str:
        return "\n".join(f"  {e!r}" for e in self.pending) or "  (none)"


@pytest.fixture(autouse=True)
def unchecked_effects_fail():
    """Fail a test that leaves an effect of any :class:`Harness` unchecked."""
    _LIVE.clear()
    yield
    leftovers = [h for h in _LIVE if h.pending]
    _LIVE.clear()
    if leftovers:
        listing = "\n".join(f"{type(h.role).__name__}:\n{h._listing()}" for h in leftovers)
        pytest.fail(f"test ended with effects left unchecked:\n{listing}")
