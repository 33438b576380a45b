"""docs/architecture.md stays true to the package: the names it mentions exist, and its
module map has a line for every module.

Everything is read statically (file paths and the modules' syntax trees), so the test
imports nothing of the package and runs in milliseconds.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "paxos_edu"
DOC = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"

DOTTED = re.compile(r"\bpaxos_edu(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
"""``paxos_edu.sim``, ``paxos_edu.config.SETTINGS``, ``paxos_edu.sim.Simulation.restart``."""
FILE = re.compile(r"(?<![\w/.*-])((?:[\w-]+/)*[\w-]+\.(?:py|js|css))\b")
"""``runtime.py``, ``roles/acceptor.py``, ``tests/test_docs.py``, ``lamport.js``."""
MAP_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|", re.M)
"""The first cell of a module-map table row: ``| `roles/acceptor.py` | ... |``."""
REPO_DIRS = ("tests", "benchmarks", "scripts", "notebooks", "docs", "paxos_edu")
"""A file path starting with one of these is relative to the repository root."""


def package_modules(package: Path = PACKAGE) -> set[str]:
    """Every module of the package, as a path relative to it (``roles/acceptor.py``)."""
    return {p.relative_to(package).as_posix() for p in package.rglob("*.py")
            if "__pycache__" not in p.parts}


@lru_cache(maxsize=None)
def _top_names(path: Path) -> frozenset[str]:
    """Names a module defines or imports at top level, plus the keys of a lazy-export
    table (``_EXPORTS = {"Simulation": "sim", ...}`` in ``__init__.py``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(_defined(tree.body))


@lru_cache(maxsize=None)
def _class_names(path: Path, cls: str) -> Optional[frozenset[str]]:
    """Names top-level class ``cls`` of ``path`` defines or inherits from classes of the
    package (None: not a class there, or a base outside the package -- then anything goes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), None)
    if node is None:
        return None
    names = set(_defined(node.body))
    for base in node.bases:
        found = _base_class(tree, path, base)
        if found is None:
            return None
        inherited = _class_names(*found)
        if inherited is None:
            return None
        names |= inherited
    return frozenset(names)


def _base_class(tree: ast.Module, path: Path, base: ast.expr) -> Optional[tuple[Path, str]]:
    """Where base class ``Name`` or ``module.Name`` of a class in ``path`` is defined, when
    in the package (a class of the same module, or imported relatively)."""
    if isinstance(base, ast.Name):
        if any(isinstance(n, ast.ClassDef) and n.name == base.id for n in tree.body):
            return path, base.id
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level:
                for alias in node.names:
                    if (alias.asname or alias.name) == base.id:
                        module = _relative(path, node.level, node.module)
                        return None if module is None else (module, alias.name)
    if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level and node.module is None:
                for alias in node.names:
                    if (alias.asname or alias.name) == base.value.id:
                        module = _relative(path, node.level, alias.name)
                        return None if module is None else (module, base.attr)
    return None


def _relative(path: Path, level: int, module: Optional[str]) -> Optional[Path]:
    """The file of ``from <level dots><module> import ...`` written in ``path``."""
    base = path.parent
    for _ in range(level - 1):
        base = base.parent
    parts = module.split(".") if module else []
    target = base.joinpath(*parts)
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if parts and candidate.is_file():
            return candidate
    return None


def _defined(body: list[ast.stmt]) -> Iterable[str]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            if (any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)
                    and isinstance(node.value, ast.Dict)):
                yield from (k.value for k in node.value.keys if isinstance(k, ast.Constant))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from ((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.If, ast.Try)):  # e.g. imports under TYPE_CHECKING
            yield from _defined(node.body)


def _module_file(parts: list[str], package: Path) -> Optional[Path]:
    """The file of module ``paxos_edu.<parts>``, or None."""
    base = package.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def dotted_problem(name: str, package: Path = PACKAGE) -> Optional[str]:
    """Why ``paxos_edu.a.b.C.d`` does not exist in the package (None: it does).

    The longest prefix that is a module must be followed (if anything follows) by a name
    that module defines or imports; after a class, by a name the class defines."""
    parts = name.split(".")[1:]
    module = package / "__init__.py"
    i = 0
    while i < len(parts):
        found = _module_file(parts[: i + 1], package)
        if found is None:
            break
        module, i = found, i + 1
    if i == len(parts):
        return None
    where = "paxos_edu" + "".join("." + p for p in parts[:i])
    attr = parts[i]
    if attr not in _top_names(module):
        return f"{name}: no module or name {attr!r} in {where}"
    if i + 1 < len(parts):
        members = _class_names(module, attr)
        if members is not None and parts[i + 1] not in members:
            return f"{name}: class {where}.{attr} has no {parts[i + 1]!r}"
    return None


def file_problem(path: str, root: Path = ROOT, package: Path = PACKAGE) -> Optional[str]:
    """Why a file name the doc mentions does not exist (None: it does). ``tests/...`` and
    the other top-level folders are relative to the repository; ``roles/acceptor.py`` to
    the package; a bare ``sim.py`` or ``lamport.js`` may be anywhere in the package."""
    if path.split("/")[0] in REPO_DIRS:
        return None if (root / path).is_file() else f"{path}: no such file in the repository"
    if "/" in path:
        return None if (package / path).is_file() else f"{path}: no such file in paxos_edu/"
    if any(p.name == path for p in package.rglob(path)):
        return None
    return f"{path}: no such file in paxos_edu/"


def mention_problems(text: str, root: Path = ROOT, package: Path = PACKAGE) -> list[str]:
    """Every ``paxos_edu.X`` and ``X.py`` name in ``text`` that does not exist."""
    problems = [dotted_problem(m, package) for m in sorted(set(DOTTED.findall(text)))]
    problems += [file_problem(m, root, package) for m in sorted(set(FILE.findall(text)))]
    return [p for p in problems if p is not None]


def module_map(text: str) -> set[str]:
    """The modules listed in the module map section (first cell of its table rows)."""
    match = re.search(r"^## \d+\. Module map$(.*?)(?=^## )", text, re.M | re.S)
    assert match is not None, "docs/architecture.md has no '## N. Module map' section"
    return {cell for cell in MAP_ROW.findall(match.group(1)) if cell.endswith(".py")}


def map_problems(text: str, modules: set[str]) -> list[str]:
    """Modules without a line in the module map, and lines naming no module."""
    listed = module_map(text)
    return ([f"{m}: a module of paxos_edu/ without a line in the module map"
             for m in sorted(modules - listed)]
            + [f"{m}: in the module map but not a module of paxos_edu/"
               for m in sorted(listed - modules)])


# ---------------------------------------------------------------------- the doc itself


def test_every_name_the_architecture_doc_mentions_exists():
    problems = mention_problems(DOC.read_text(encoding="utf-8"))
    assert not problems, "docs/architecture.md names what does not exist:\n" + "\n".join(problems)


def test_the_module_map_has_a_line_for_every_module():
    problems = map_problems(DOC.read_text(encoding="utf-8"), package_modules())
    assert not problems, "update the module map of docs/architecture.md:\n" + "\n".join(problems)


def test_the_readme_links_the_architecture_doc():
    assert "(docs/architecture.md)" in README.read_text(encoding="utf-8")


# ---------------------------------------------------------------------- the checks can fail


def test_a_missing_module_or_name_is_reported():
    text = ("`paxos_edu.sim.Simulation.rewind` and `roles/acceptor.py` exist; "
            "`paxos_edu.nosuchmodule`, `paxos_edu.config.NO_SUCH_SETTING`, "
            "`paxos_edu.sim.Simulation.no_such_method`, `roles/nosuch.py`, `gone.py` and "
            "`tests/test_nosuch.py` do not.")
    problems = mention_problems(text)
    assert len(problems) == 6, problems
    for name in ("nosuchmodule", "NO_SUCH_SETTING", "no_such_method", "roles/nosuch.py",
                 "gone.py", "tests/test_nosuch.py"):
        assert any(name in p for p in problems), (name, problems)


def test_names_exported_lazily_and_package_data_count_as_existing():
    text = "`paxos_edu.load_run`, `paxos_edu.lamport.LamportDiagram`, `lamport.js`, `lamport.css`"
    assert mention_problems(text) == []


def test_a_module_added_without_a_map_line_is_reported():
    text = ("## 1. The picture\n\n`c.py` is mentioned, not mapped.\n\n## 2. Module map\n\n"
            "| module | what it holds |\n|---|---|\n| `a.py` | A |\n| `roles/b.py` | B |\n"
            "| `gone.py` | a module that was removed |\n\n## 3. The main flows\n\n| `c.py` | |\n")
    assert module_map(text) == {"a.py", "roles/b.py", "gone.py"}
    assert map_problems(text, {"a.py", "roles/b.py", "c.py", "roles/new.py"}) == [
        "c.py: a module of paxos_edu/ without a line in the module map",
        "roles/new.py: a module of paxos_edu/ without a line in the module map",
        "gone.py: in the module map but not a module of paxos_edu/",
    ]
