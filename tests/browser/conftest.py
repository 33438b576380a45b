"""Fixtures of the browser tests: a private JupyterLab server and Debian's Chromium.

Theory of operation. Each pytest process (each xdist worker) starts at most one JupyterLab
server, on 127.0.0.1 with a random token and a port the OS just handed out, serving a
temporary copy of ``notebooks/`` (so runs and checkpoints never land in the repository).
Everything JupyterLab would write or fetch is kept private to that server: runtime,
config, IPython and lab-settings directories live in the temporary folder; news,
update checks and the extension manager's PyPI queries are off; toasts are silenced and
notebooks attach every cell to the DOM (``windowingMode: none``) so selectors see all of
them. Chromium is launched headless from its Debian path by Playwright (no browser
download), with a fresh profile, its background networking off and every host name other
than localhost unresolvable: the tests only talk to 127.0.0.1.

The server is stopped through its REST API, then by signal, then by kill, always by PID;
any of its descendants still alive (kernels, clusters a notebook started) are killed by
PID too. Two workers run two servers on two ports and never meet.

Everything skips with a reason when Chromium, Playwright or JupyterLab is missing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("PAXOS_EDU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",  # small /dev/shm in containers makes tabs crash
    # Only loopback traffic: every other host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]  # fmt: skip
SERVER_START_S = 90.0  # JupyterLab's first start on a busy 2-core CI machine
SERVER_STOP_S = 20.0

# The lab settings a fresh student profile gets, minus anything that phones home or
# covers the page with a toast; all cells in the DOM so the tests can find every widget.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False, "fetchNews": "false", "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}  # fmt: skip


def _missing() -> Optional[str]:
    """Why the browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"Chromium not found at {CHROMIUM} (install Debian's: apt-get install -y "
                "chromium, or set PAXOS_EDU_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    try:
        import jupyterlab  # noqa: F401
        import jupyterlab_widgets  # noqa: F401
    except ImportError:
        return "jupyterlab / ipywidgets are not installed (pip install -r requirements.txt)"
    return None


@pytest.fixture(scope="session")
def browser_requirements() -> None:
    why = _missing()
    if why:
        pytest.skip(why)


# ---------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


SMOKE_NOTEBOOK = "smoke-widgets.ipynb"


def write_smoke_notebook(path: Path) -> None:
    """A notebook with one IntSlider, one Button and one Output: the button prints the
    slider's value into the output, so a click proves the comm round trip."""
    source = (
        "import ipywidgets as w\n"
        "slider = w.IntSlider(value=5, min=0, max=10, description='smoke value')\n"
        "button = w.Button(description='Show value')\n"
        "out = w.Output()\n"
        "button.on_click(lambda _: out.append_stdout(f'value = {slider.value}\\n'))\n"
        "w.VBox([slider, button, out])"
    )
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {},
             "source": "# Smoke test: ipywidgets in JupyterLab"},
            {"cell_type": "code", "id": "widgets", "metadata": {}, "execution_count": None,
             "outputs": [], "source": source},
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb, indent=1))


@dataclass
class LabServer:
    """A running ``jupyter lab``: its URL, token, served folder and log."""

    proc: subprocess.Popen
    port: int
    token: str
    root: Path
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0) -> Any:
        """Call the server's REST API; the decoded JSON answer (None if empty)."""
        req = urllib.request.Request(
            self.base_url + path, method=method, data=b"" if method == "POST" else None,
            headers={"Authorization": f"token {self.token}"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self) -> str:
        return _tail(self.log)


def _start_lab(base: Path, attempt: int) -> LabServer:
    """One attempt at starting a server on a fresh port; raises if it does not answer."""
    root = base / "root"
    port, token = _free_port(), secrets.token_hex(16)
    settings = base / "lab-settings"
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    env = dict(os.environ)
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython")):
        env[var] = str(base / sub)
        (base / sub).mkdir(exist_ok=True)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("JUPYTER_TOKEN", None)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False", f"--ServerApp.allow_root={os.geteuid() == 0}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
        # Safety net if this pytest process dies without its finalizers: the server culls
        # idle kernels and then shuts itself down.
        "--MappingKernelManager.cull_idle_timeout=900", "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
        "--ServerApp.shutdown_no_activity_timeout=1200",
    ]  # fmt: skip
    log = base / f"jupyter-lab-{attempt}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    server = LabServer(proc, port, token, root, log)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("/api/status", timeout=2.0)
            urllib.request.urlopen(server.url("/lab"), timeout=5.0).read()
            return server
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.25)
    _stop_lab(server)
    raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_S:.0f} s:\n"
                       f"{server.log_tail()}")


def _stop_lab(server: LabServer) -> None:
    """Stop the server and everything it started, by PID: REST shutdown (kernels shut
    down cleanly), then SIGTERM, then SIGKILL; then any leftover descendant."""
    import psutil

    try:
        family = psutil.Process(server.proc.pid).children(recursive=True)
    except psutil.Error:
        family = []
    if server.proc.poll() is None:
        try:
            server.api("/api/shutdown", method="POST", timeout=5.0)
        except (urllib.error.URLError, OSError, ValueError):
            pass
        try:
            server.proc.wait(SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            server.proc.terminate()
            try:
                server.proc.wait(SERVER_STOP_S / 2)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(5)
    alive = [p for p in family if p.is_running()]
    for p in alive:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, still = psutil.wait_procs(alive, timeout=5)
    for p in still:
        try:
            p.kill()
        except psutil.Error:
            pass


@pytest.fixture(scope="session")
def lab_server(browser_requirements: None,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server of this pytest process over a copy of ``notebooks/`` (plus the
    smoke notebook), stopped at the end of the session."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    root.mkdir(exist_ok=True)
    write_smoke_notebook(root / SMOKE_NOTEBOOK)
    errors = []
    for attempt in range(1, 4):  # a port taken between our probe and the server's bind
        try:
            server = _start_lab(base, attempt)
            break
        except RuntimeError as exc:
            errors.append(str(exc))
            if "in use" not in str(exc):  # only a lost race for the port is worth a retry
                break
    else:
        pytest.fail("could not start jupyter lab:\n" + "\n---\n".join(errors))
    try:
        yield server
    finally:
        _stop_lab(server)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        shutil.copy(server.log, ARTIFACTS / f"jupyter-lab-{worker}.log")


# ---------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium(browser_requirements: None) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (a fresh temporary profile per launch)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                     timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Shots:
    """Numbered PNG screenshots of one test under ``test-artifacts/browser/``."""

    page: Any
    prefix: str
    taken: list[Path] = field(default_factory=list)

    def __call__(self, step: str, target: Any = None) -> Path:
        path = ARTIFACTS / f"{self.prefix}-{len(self.taken) + 1:02d}-{step}.png"
        (self.page if target is None else target).screenshot(path=str(path))
        self.taken.append(path)
        return path


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies, no storage) and one tab."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1300})
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# ---------------------------------------------------------------------- the notebook UI


# True when Run All is over: no code cell is queued or running ("[*]"), and either every
# non-empty code cell has an execution count or a cell failed (JupyterLab then unqueues
# the rest; the test reports the traceback instead of timing out).
_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook tab in front
_ALL_EXECUTED_JS = """() => {
  const cells = [...document.querySelectorAll('%s .jp-CodeCell')];
  const prompt = c => (c.querySelector('.jp-InputArea-prompt')?.innerText || '').trim();
  const source = c => (c.querySelector('.cm-content')?.innerText || '').trim();
  if (!cells.length || cells.some(c => prompt(c).includes('*'))) return false;
  const failed = [...document.querySelectorAll('%s .jp-OutputArea-output')]
    .some(o => o.dataset.mimeType === 'application/vnd.jupyter.stderr'
               && o.innerText.includes('Traceback'));
  return failed || cells.every(c => !source(c) || /^\\[\\d+\\]:?$/.test(prompt(c)));
}""" % (_PANEL, _PANEL)


# True once Run All has visibly started: a cell is queued/running or has a count.
_RUN_STARTED_JS = """() => [...document.querySelectorAll('%s .jp-CodeCell .jp-InputArea-prompt')]
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.innerText))""" % _PANEL
_PROMPTS_JS = """() => [...document.querySelectorAll('%s .jp-CodeCell')].map(c =>
  (c.querySelector('.jp-InputArea-prompt')?.innerText || '').trim() + ' '
  + (c.querySelector('.cm-content')?.innerText || '').trim().split('\\n')[0].slice(0, 50))
""" % _PANEL


# True when the notebook has a kernel and it is idle: the toolbar's indicator says idle
# before any kernel is attached, so the status bar must also name a kernel that is idle.
_KERNEL_IDLE_JS = """() => {
  const ind = document.querySelector('%s .jp-Notebook-ExecutionIndicator');
  const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .map(e => e.innerText.trim());
  return !!ind && ind.dataset.status === 'idle'
    && items.some(t => /[|] Idle$/.test(t) && !t.startsWith('No Kernel'));
}""" % _PANEL


class Notebook:
    """The page of one test, driven the way a student would: open a notebook, run it,
    find widgets, take screenshots (``nb.shot("step")``). Requests to anything but our
    server and uncaught page errors are collected in ``problems``."""

    def __init__(self, page: Any, server: LabServer, shots: Shots) -> None:
        self.page, self.server, self.shot = page, server, shots
        self.problems: list[str] = []
        self.opened: list[str] = []
        local = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/|^(data|blob|about):")
        page.on("request", lambda r: None if local.match(r.url) else
                self.problems.append(f"request to {r.url}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def open(self, name: str, timeout_s: float = 90.0) -> "Notebook":
        """Open ``name`` in JupyterLab and wait until its kernel is idle.

        Each call uses a workspace of its own (``/lab/workspaces/<random>/tree/...``), so
        tabs a previous test left open on this server are not restored next to it."""
        if not (self.server.root / name).is_file():
            pytest.fail(f"notebooks/{name} does not exist (the server serves a copy of "
                        f"{NOTEBOOKS} taken when the session started)")
        self.opened.append(name)
        workspace = f"test-{secrets.token_hex(4)}"
        self.page.goto(self.server.url(f"/lab/workspaces/{workspace}/tree/{name}"),
                       timeout=timeout_s * 1000)
        self.page.locator(_PANEL).first.wait_for(state="visible", timeout=timeout_s * 1000)
        self.wait_idle(timeout_s)
        self._fold_left_sidebar()
        return self

    def _fold_left_sidebar(self) -> None:
        """View > Appearance > Show Left Sidebar (off): the notebook gets the page's whole
        width in the screenshots. Cosmetic, so a menu that looks different is ignored."""
        from playwright.sync_api import Error as PlaywrightError

        if not self.page.locator("#jp-left-stack").is_visible():
            return
        try:
            self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^View$")).click()
            self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Appearance$")).hover()
            self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(
                r"^Show Left Sidebar$")).click(timeout=5_000)
        except PlaywrightError:
            self.page.keyboard.press("Escape")

    def close(self) -> None:
        """Shut down the kernels of the notebooks this page opened (REST API), so the
        next test starts from fresh kernels and no CPU is spent on idle ones."""
        try:
            sessions = self.server.api("/api/sessions")
        except (urllib.error.URLError, OSError, ValueError):
            return
        for session in sessions:
            if session.get("path") in self.opened:
                try:
                    self.server.api(f"/api/sessions/{session['id']}", method="DELETE",
                                    timeout=15.0)
                except (urllib.error.URLError, OSError, ValueError):
                    pass

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Wait until a kernel is connected and idle (toolbar indicator and status bar)."""
        self.page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout_s * 1000, polling=250)

    def settle(self, timeout_s: float = 60.0, quiet_s: float = 0.5) -> None:
        """Wait until the kernel is idle and stays idle for ``quiet_s``: every widget
        message sent so far has been handled (ipywidgets holds back a widget's state
        updates while the kernel is busy with its earlier ones, but a button click goes
        out at once, so a click right after a change could overtake it)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.wait_idle(max(1.0, deadline - time.monotonic()))
            self.page.wait_for_timeout(quiet_s * 1000)
            if self.page.evaluate(_KERNEL_IDLE_JS):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the kernel did not settle within {timeout_s:.0f} s")

    def run_all(self, timeout_s: float = 120.0) -> float:
        """Run > Run All Cells from the menu bar; wait until every code cell has run and
        the kernel is idle. Returns the seconds it took.

        The menu item is only enabled while a notebook is the current widget, so the
        notebook's tab is activated first and the click is retried if no cell starts."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        start = time.monotonic()
        item = self.page.locator(".lm-Menu-item").filter(has=self.page.locator(
            ".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")))
        for _attempt in range(3):
            self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").click()
            self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            item.wait_for(state="visible", timeout=10_000)
            if "lm-mod-disabled" in (item.get_attribute("class") or ""):
                self.page.keyboard.press("Escape")
                self.page.wait_for_timeout(1000)
                continue
            item.click()
            try:
                self.page.wait_for_function(_RUN_STARTED_JS, timeout=15_000, polling=200)
                break
            except PlaywrightTimeout:
                continue
        else:
            self.shot("run-all-did-not-start")
            pytest.fail(f"Run > Run All Cells did not start any cell: {self.prompts()}")
        try:
            self.page.wait_for_function(
                _ALL_EXECUTED_JS, timeout=max(1.0, timeout_s - (time.monotonic() - start)) * 1000,
                polling=500)
        except PlaywrightTimeout:
            self.shot("run-all-timeout")
            pytest.fail(f"Run All Cells did not finish within {timeout_s:.0f} s; "
                        f"prompts: {self.prompts()}")
        self.wait_idle(max(5.0, timeout_s - (time.monotonic() - start)))
        return time.monotonic() - start

    def prompts(self) -> list[str]:
        """Each code cell's prompt and first source line, e.g. ``[3]: sim.advance(0.01)``."""
        return self.page.evaluate(_PROMPTS_JS)

    def errors(self) -> list[str]:
        """Tracebacks and widget failures shown anywhere in the notebook."""
        texts = self.page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
            ".jp-RenderedText").all_inner_texts()
        bad = [t for t in texts if "Traceback" in t or re.search(r"^\w*Error: ", t, re.M)]
        failures = self.page.locator(".jp-OutputArea-output", has_text=re.compile(
            r"Error displaying widget|Error rendering")).all_inner_texts()
        return bad + failures

    def cell_with(self, locator: Any) -> Any:
        """The notebook cell whose output contains ``locator`` (the last such cell)."""
        return self.page.locator(".jp-Notebook .jp-Cell").filter(has=locator).last

    def wait_until(self, predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """Poll ``predicate`` (keeping the page's events flowing) until it returns
        something truthy, which is returned; fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                self.shot("timeout")
                pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
            self.page.wait_for_timeout(250)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures know if the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def notebook(browser_page: Any, lab_server: LabServer,
             request: pytest.FixtureRequest) -> Iterator[Notebook]:
    """A :class:`Notebook` on a fresh tab; this test's old screenshots are removed first
    and a last one (``-failed.png``) is taken if the test fails."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for old in ARTIFACTS.glob(f"{prefix}-*.png"):
        old.unlink()
    nb = Notebook(browser_page, lab_server, Shots(browser_page, prefix))
    try:
        yield nb
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            try:
                nb.shot("failed")
            except Exception:  # the page may be gone; the failure itself is what matters
                pass
        nb.close()
