"""Implementations broken on purpose, for the grader's tests and notebook 10.

Each one is a folder of four course role scripts that wrap this project's own
``scripts/*.sh`` and change one role in one small way -- the kind of mistake a student
makes -- so an instructor can see what the grader says about it::

    folder = make_broken("learner-prints-twice", tmp_path / "twice")
    report = grade(folder, quick=True)      # fails, with the first violation as evidence

The wrappers are POSIX sh; the learner filters use ``sed -u`` (unbuffered), so every line
reaches the ``learn`` file as it is learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from .errors import UsageError

PROJECT_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
"""This project's course scripts (a correct implementation)."""

ROLES = ("acceptor", "proposer", "learner", "client")


@dataclass(frozen=True)
class Broken:
    """One broken implementation: which role is changed, how, and what must catch it.

    Attributes:
        name, description: for listings.
        role: the role whose script is replaced.
        body: the replacement's shell body (``$ORIG`` is the project's script of that role).
        caught_by: the scenario and the words of the grader's evidence expected.
    """

    name: str
    description: str
    role: str
    body: str
    caught_by: tuple[str, str]


BROKEN: dict[str, Broken] = {
    b.name: b
    for b in [
        Broken("learner-prints-twice", "every learner prints its 3rd learned value twice",
               "learner", '"$ORIG" "$@" | sed -u 3p', ("basic-100", "proposed once")),
        Broken("learner-drops-one", "every learner never prints its 5th learned value",
               "learner", '"$ORIG" "$@" | sed -u 5d', ("basic-100", "learned 99 of 100")),
        Broken("learner-swaps-two", "learner 2 prints its 3rd and 4th values in swapped order",
               "learner",
               'if [ "$1" = 2 ]; then "$ORIG" "$@" | sed -u -n \'3{h;d};4{p;x};p\'; '
               'else exec "$ORIG" "$@"; fi', ("basic-100", "where learner 1 delivered")),
        Broken("learner-invents-a-value", "every learner prints 0 before anything it learns",
               "learner", 'echo 0; exec "$ORIG" "$@"',
               ("one-acceptor", "with 1 of 3 acceptors")),
        Broken("acceptor-ignores-its-id", "every acceptor runs as acceptor 1", "acceptor",
               'shift; exec "$ORIG" 1 "$@"', ("basic-100", "learned 0 of 100")),
    ]
}
"""Every broken implementation, by name."""


def make_broken(name: str, dest: Union[str, Path], base: Union[str, Path] = PROJECT_SCRIPTS
                ) -> Path:
    """Write broken implementation ``name`` into folder ``dest`` (created) and return it.

    The other three roles call ``base``'s scripts unchanged.

    Raises:
        UsageError: unknown name, or ``base`` lacks a script.
    """
    broken = BROKEN.get(name)
    if broken is None:
        raise UsageError(f"unknown broken implementation {name!r}; known: {', '.join(BROKEN)}")
    base = Path(base).resolve()
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    for role in ROLES:
        orig = base / f"{role}.sh"
        if not orig.is_file():
            raise UsageError(f"{base}: no {role}.sh to wrap")
        body = broken.body if role == broken.role else 'exec "$ORIG" "$@"'
        script = folder / f"{role}.sh"
        script.write_text(f"#!/bin/sh\n# {role} of the broken implementation {name!r}: "
                          f"{broken.description if role == broken.role else 'unchanged'}\n"
                          f"ORIG='{orig}'\n{body}\n")
        script.chmod(0o755)
    return folder


__all__ = ["BROKEN", "Broken", "PROJECT_SCRIPTS", "make_broken"]
