"""The launcher's public interface (spawn -> Child with pid, poll, wait), and the rule that
no module of the package reaches into another module's private names."""

from __future__ import annotations

import ast
import os
import signal
from pathlib import Path

import pytest

from paxos_edu.errors import UsageError
from paxos_edu.launcher import LAUNCHERS, Child, reap, spawn

PACKAGE = Path(__file__).resolve().parents[1] / "paxos_edu"


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_spawn_runs_python_m_paxos_edu_and_reports_its_exit_status(tmp_path, launcher):
    err_path = tmp_path / "stderr"
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(err_path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        child = spawn(["acceptor", "1", "no-such.conf"], stdin=null, stdout=null, stderr=err,
                      cwd=tmp_path, launcher=launcher)
    finally:
        os.close(null)
        os.close(err)
    assert isinstance(child, Child) and child.pid > 0
    assert child.wait(20) == 2  # a config error
    assert child.poll() == 2 and child.returncode == 2
    assert "no-such.conf: no such config file" in err_path.read_text()


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_a_child_killed_by_a_signal_reports_minus_the_signal(tmp_path, launcher):
    conf = Path(__file__).resolve().parents[1] / "scripts" / "paxos.conf"
    fds = [os.open(os.devnull, os.O_RDWR) for _ in range(3)]
    try:
        child = spawn(["learner", "1", str(conf)], stdin=fds[0], stdout=fds[1],
                      stderr=fds[2], cwd=tmp_path, launcher=launcher)
    finally:
        for fd in fds:
            os.close(fd)
    assert child.poll() is None and child.wait(0.05) is None  # still running
    os.kill(child.pid, signal.SIGKILL)
    reap([child], timeout=10)
    assert child.returncode == -signal.SIGKILL


def test_an_unknown_launcher_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="launcher must be one of fork, spawn"):
        spawn(["acceptor", "1", "x"], stdin=0, stdout=1, stderr=2, cwd=tmp_path,
              launcher="thread")


def _private_uses(path: Path) -> list[str]:
    """``from .x import _name`` and ``module._name`` (a module imported by name) in ``path``."""
    tree = ast.parse(path.read_text())
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.name}:{node.lineno}: imports {alias.name}")
                elif node.level or (node.module or "").startswith("paxos_edu"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("paxos_edu"):
                    modules.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            found.append(f"{path.name}:{node.lineno}: uses {node.value.id}.{node.attr}")
    return found


NAMEDTUPLE_API = {"_make", "_replace", "_asdict", "_fields", "_field_defaults"}


def test_no_module_imports_another_modules_private_names():
    found = [use for path in sorted(PACKAGE.rglob("*.py")) for use in _private_uses(path)
             if "imports" in use]
    assert found == []


@pytest.mark.parametrize("module", ["cluster.py", "experiments.py", "sim.py", "runtime.py",
                                    "cli.py", "commands.py", "config.py", "launcher.py",
                                    "processes.py", "roles/factory.py"])
def test_the_spine_modules_read_no_private_attribute_of_another_module(module):
    found = [use for use in _private_uses(PACKAGE / module)
             if not any(use.endswith("." + name) for name in NAMEDTUPLE_API)]
    assert found == []


@pytest.mark.parametrize("module, needle", [("cluster.py", "run._run_dir"),
                                            ("experiments.py", "sim._queue")])
def test_the_reported_reaches_into_private_state_are_gone(module, needle):
    assert needle not in (PACKAGE / module).read_text()
