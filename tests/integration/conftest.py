"""Fixtures of the integration tests: clusters of real processes, always cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import harness
import pytest
from harness import CourseRun


@pytest.fixture(scope="session", autouse=True)
def _bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A bytecode cache (pytest's temporary directory) for the role processes, when the
    environment turned bytecode writing off; filled once here, before any cluster starts
    -- with a cache prefix even the standard library is compiled again on first use."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        yield
        return
    cache = tmp_path_factory.mktemp("pycache")
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(cache), PYTHONPATH=str(harness.ROOT))
    del env["PYTHONDONTWRITEBYTECODE"]
    warm = subprocess.run([sys.executable, "-c", "import runpy, paxos_edu.cli, paxos_edu.runtime"],
                          env=env, capture_output=True, timeout=60)
    harness.PYCACHE = cache if warm.returncode == 0 else None
    yield
    harness.PYCACHE = None


@pytest.fixture
def course(tmp_path: Path) -> Iterator[Callable[..., CourseRun]]:
    """``course(settings=None, **options)`` -> a :class:`CourseRun`; every process it
    started is killed (by PID) when the test ends, whatever happened."""
    runs: list[CourseRun] = []

    def make(settings: dict[str, Any] | None = None, **options: Any) -> CourseRun:
        run = CourseRun(tmp_path / f"run{len(runs) + 1}", settings, **options)
        runs.append(run)
        return run

    try:
        yield make
    finally:
        for run in runs:
            run.close()
