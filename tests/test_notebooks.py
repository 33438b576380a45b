"""The course notebooks: each one runs top to bottom on a fresh kernel, follows the house
style's notebook skeleton and is saved without outputs.

Every ``notebooks/*.ipynb`` is executed headless with nbclient, from a clean ``python3``
kernel whose working directory is ``notebooks/`` -- what a student gets in JupyterLab
after "Restart kernel and run all cells". Widgets are built and displayed but nobody
clicks: each notebook's code cells tell the story on their own.

Each notebook's run time is printed (``pytest -s``) and written, with the executed
notebook (outputs included, for reading a failure), to ``test-artifacts/notebooks/``.
Under ``-n 2`` (xdist) the workers' prints are not shown: read the artifacts instead.

nbclient waits for each cell's reply with a single poll of the kernel's socket lasting the
whole cell timeout, and on a busy machine that poll sometimes misses a reply that has already
arrived (jupyter/nbclient#312): the cell then "hangs" until the timeout, although it finished
long before. Our client polls in one-second slices instead, so a missed wake-up costs at most
a second.

Saved outputs are refused because they bloat diffs and hide what a fresh run shows;
strip them with ``jupyter nbconvert --clear-output --inplace notebooks/<name>.ipynb``.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from queue import Empty

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts" / "notebooks"
KERNEL = "python3"
CELL_TIMEOUT = 300  # seconds per cell; a whole notebook should take well under 2 minutes
POLL_SLICE = 1.0  # seconds: longest single wait on a kernel socket (see the module docstring)
NAME = re.compile(r"(\d\d)-[a-z0-9]+(?:-[a-z0-9]+)*\.ipynb")
DEFINITION = re.compile(r"^\s*(?:async\s+def|def|class)\s+\w+", re.MULTILINE)

pytestmark = pytest.mark.notebooks


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _markdown(nb: dict) -> list[str]:
    return [_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]


# ---------------------------------------------------------------------- the set


def test_the_ten_course_notebooks_are_numbered_00_to_09():
    numbers = [m[1] for p in NOTEBOOKS if (m := NAME.fullmatch(p.name))]
    assert [f"{i:02d}" for i in range(10)] == sorted(set(numbers))[:10], (
        f"expected notebooks 00..09 in {NOTEBOOK_DIR}, found {[p.name for p in NOTEBOOKS]}"
    )
    bad = [p.name for p in NOTEBOOKS if not NAME.fullmatch(p.name)]
    assert not bad, f"notebook names must look like NN-kebab-title.ipynb: {bad}"
    assert len(numbers) == len(set(numbers)), "two notebooks share a number"


# ---------------------------------------------------------------------- saved without outputs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_saved_without_outputs(path: Path):
    nb = _read(path)
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} were saved with outputs or execution counts; run "
        f"`jupyter nbconvert --clear-output --inplace notebooks/{path.name}`"
    )
    assert "widgets" not in nb.get("metadata", {}), (
        f"{path.name}: widget state is saved in the notebook metadata; delete "
        "metadata['widgets'] (JupyterLab: Settings > uncheck 'Save Widget State Automatically')"
    )


# ---------------------------------------------------------------------- the skeleton


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_follows_the_skeleton(path: Path):
    nb = _read(path)
    cells = nb["cells"]
    assert cells, f"{path.name} is empty"
    first = _source(cells[0]).lstrip()
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), (
        f"{path.name}: the first cell must be a markdown title ('# ...')"
    )
    markdown = _markdown(nb)
    learn = [m for m in markdown if re.search(r"You will learn", m, re.I)]
    assert learn, f"{path.name}: no 'You will learn' cell"
    bullets = re.findall(r"^\s*[-*]\s+\S", learn[0], re.MULTILINE)
    assert 3 <= len(bullets) <= 5, (
        f"{path.name}: 'You will learn' has {len(bullets)} bullets, not 3-5"
    )
    code = [_source(c) for c in cells if c["cell_type"] == "code"]
    assert code and "import" in code[0] and re.search(r"^SEED\s*=", code[0], re.MULTILINE), (
        f"{path.name}: the first code cell must be the setup cell (imports and SEED = ...)"
    )
    defined = [m.group(0).strip() for src in code for m in DEFINITION.finditer(src)]
    assert not defined, (
        f"{path.name} defines {defined}: functions and classes belong in the "
        "package (viz.py, widgets.py, experiments.py)"
    )
    text = "\n".join(markdown)
    assert "<details>" in text and "<summary>" in text, f"{path.name}: no collapsible answer"
    assert re.search(r"Further reading", text, re.I), f"{path.name}: no 'Further reading' section"
    index = NOTEBOOKS.index(path)
    if index + 1 < len(NOTEBOOKS):
        following = NOTEBOOKS[index + 1].name
        assert f"]({following})" in text, f"{path.name}: no link to the next notebook, {following}"


# ---------------------------------------------------------------------- executing


def _sliced(get_msg):
    """``get_msg(timeout)`` of a kernel channel, waiting in slices of :data:`POLL_SLICE`."""

    async def get_msg_in_slices(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            try:
                return await get_msg(
                    timeout=POLL_SLICE if left is None else max(0.0, min(POLL_SLICE, left))
                )
            except Empty:
                if left is not None and left <= POLL_SLICE:
                    raise

    return get_msg_in_slices


def _notebook_client(nb, **kwargs):
    """An ``nbclient.NotebookClient`` whose kernel client polls in slices."""
    import nbclient

    class SlicedClient(nbclient.NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            for channel in (kc.shell_channel, kc.iopub_channel):
                channel.get_msg = _sliced(channel.get_msg)
            return kc

    return SlicedClient(nb, **kwargs)


def _kernel_ready() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    assert KERNEL in specs, (
        f"no '{KERNEL}' Jupyter kernel (found {sorted(specs)}); install one with "
        "`python3 -m ipykernel install --user`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom_on_a_fresh_kernel(path: Path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    _kernel_ready()
    nb = nbformat.read(path, as_version=4)
    # The kernel finds this checkout's package even where it is not installed (the
    # role processes a Cluster starts get the same path from paxos_edu.cluster).
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("MPLBACKEND", None)  # the kernel's own default: inline figures
    client = _notebook_client(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},  # cwd of the kernel
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        client.execute(env=env)
    finally:
        seconds = time.perf_counter() - started
        nbformat.write(nb, ARTIFACTS / path.name)  # executed, with outputs
        (ARTIFACTS / f"{path.stem}.seconds").write_text(f"{seconds:.1f}\n")
        print(f"\nnotebook {path.name}: {seconds:.1f} s")
