"""The fork server behind :class:`~paxos_edu.cluster.Cluster`: start role processes fast.

Starting a Python interpreter and importing the runtime costs 0.1 to 0.2 s of CPU per
process -- about a second for a nine-process cluster on two cores. So, by default, role
processes are *forked* from a zygote: one helper process per Python session that has
imported the runtime once and forks a child per request (a few milliseconds each). The
child becomes its own session leader, gets the stdin/stdout/stderr it was sent (file
descriptors passed over a Unix socket) and runs exactly what ``python -m paxos_edu`` runs.
If the session that owns the zygote dies, the zygote sees its control socket close and
kills every child it forked (children also have ``PR_SET_PDEATHSIG``).

The public interface is small: :func:`spawn` starts ``python -m paxos_edu <argv>`` with
the given stdin/stdout/stderr, forked (``"fork"``) or as a new interpreter (``"spawn"``),
and returns a :class:`Child` -- ``pid``, ``poll()``, ``wait(timeout)``, ``returncode`` --
whichever way it started; :func:`prestart` starts the zygote ahead of time.

This module imports no pandas or matplotlib: the zygote, and every role process forked
from it, stay lean.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from .errors import PaxosEduError, UsageError

READY_TIMEOUT = 15.0
"""Seconds a process (or the zygote) may take to report ready (join its groups)."""
LAUNCHERS = ("fork", "spawn")
"""How :func:`spawn` may start a process: forked from the zygote, or a new interpreter."""
_POLL = 0.002


class ProcessFailed(PaxosEduError):
    """A role process exited on its own (a crash, a bad setting); the message carries the
    end of its stderr."""


def _package_path() -> str:
    """Directory holding the ``paxos_edu`` package, for the children's ``PYTHONPATH``."""
    return str(Path(__file__).resolve().parent.parent)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _package_path() + (os.pathsep + path if path else "")
    return env


class _Zygote:
    """Client side of the fork server: a helper process that has imported the runtime and
    forks one child per :meth:`spawn`. One per Python process (see :func:`_zygote`)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._stderr = tempfile.TemporaryFile()
        code = "import sys, paxos_edu.launcher as z; z._zygote_main(int(sys.argv[1]))"
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._stderr, env=_child_env(), start_new_session=True, close_fds=True,
        )
        theirs.close()
        self.sock = ours
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.exits: dict[int, int] = {}
        self.tokens = 0
        self.dead = False  # the control socket closed: no more exit notices will come

    @property
    def usable(self) -> bool:
        return self.owner == os.getpid() and self.popen.poll() is None and self.sock.fileno() >= 0

    def spawn(self, argv: Sequence[str], fds: Sequence[int], cwd: str) -> int:
        """Fork a child running ``paxos_edu.cli.main(argv)`` with ``fds`` as 0, 1, 2."""
        with self.lock:
            self.tokens += 1
            token = self.tokens
            request = json.dumps({"token": token, "argv": list(argv), "cwd": cwd}).encode()
            try:
                socket.send_fds(self.sock, [request], list(fds))
            except OSError as exc:
                raise self._died(f"cannot reach the zygote ({exc})") from exc
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                reply = self._receive(deadline - time.monotonic())
                if reply is None:
                    raise self._died("no answer from the zygote")
                if reply.get("spawned") == token:
                    pid = int(reply["pid"])
                    self.exits.pop(pid, None)  # a reused pid: its old exit is history
                    return pid

    def poll(self) -> None:
        """Collect exit notices that arrived (never blocks)."""
        with self.lock:
            while self._receive(0.0) is not None:
                pass

    def _receive(self, timeout: float) -> Optional[dict[str, Any]]:
        """One message from the zygote (exit notices are filed on the way), or None."""
        if self.dead or self.sock.fileno() < 0:
            self.dead = True
            return None
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0.0))
        if not ready:
            return None
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.dead = True
            return None
        message = json.loads(data)
        if "exited" in message:
            self.exits[int(message["exited"])] = int(message["code"])
        return message

    def _died(self, what: str) -> ProcessFailed:
        self.close()
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        return ProcessFailed(f"{what}; its stderr:\n{tail}" if tail else what)

    def close(self) -> None:
        """Close the control socket: the zygote kills whatever it forked and exits."""
        if self.owner != os.getpid():
            return
        self.sock.close()
        try:
            self.popen.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


_ZYGOTE: Optional[_Zygote] = None
_ZYGOTE_LOCK = threading.Lock()


def _zygote() -> _Zygote:
    """The session's zygote, started on first use (and again if it died)."""
    global _ZYGOTE
    with _ZYGOTE_LOCK:
        if _ZYGOTE is None or not _ZYGOTE.usable:
            _ZYGOTE = _Zygote()
        return _ZYGOTE


@atexit.register
def _close_zygote() -> None:
    if _ZYGOTE is not None:
        _ZYGOTE.close()


def prestart(restart: bool = False) -> None:
    """Start the zygote now (it imports the runtime once, ~0.2 s) rather than in the
    first :class:`Cluster`; a notebook's setup cell may call it so that the first
    experiment is as quick as the next ones.

    The zygote runs the code it imported when it started: after editing paxos_edu's
    sources (the "break it" exercises), call ``prestart(restart=True)`` -- processes of
    running clusters are killed -- or use ``Cluster(launcher="spawn")``.
    """
    global _ZYGOTE
    if restart:
        with _ZYGOTE_LOCK:
            if _ZYGOTE is not None:
                _ZYGOTE.close()
                _ZYGOTE = None
    _zygote()


# ====================================================================== the public interface


class Child:
    """One process started by :func:`spawn`, whichever launcher started it.

    Attributes:
        pid: its process id (also its process group: it leads its own session).
        returncode: None while it runs, then its exit status (negative: killed by that
            signal), as :class:`subprocess.Popen` reports it.
    """

    def __init__(self, pid: int, *, popen: Optional[subprocess.Popen[bytes]] = None,
                 zygote: Optional[_Zygote] = None) -> None:
        self.pid = pid
        self.returncode: Optional[int] = None
        self._popen = popen
        self._zygote = zygote

    def poll(self) -> Optional[int]:
        """The exit status once it has exited, else None (never blocks)."""
        if self.returncode is not None:
            return self.returncode
        if self._popen is not None:
            self.returncode = self._popen.poll()
        elif self._zygote is not None:
            zygote = self._zygote
            zygote.poll()
            self.returncode = zygote.exits.get(self.pid)
            if self.returncode is None and zygote.dead and _gone(self.pid):
                # Nobody reports this child's exit any more: it died with the zygote
                # (PR_SET_PDEATHSIG).
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float) -> Optional[int]:
        """Wait up to ``timeout`` seconds for it to exit; its status, or None if it runs on."""
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            if self._popen is not None:
                try:
                    self._popen.wait(timeout=min(_POLL * 5, max(deadline - time.monotonic(), 0)))
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(_POLL)
        return self.returncode

    def __repr__(self) -> str:
        return f"Child(pid={self.pid}, returncode={self.returncode})"


def _gone(pid: int) -> bool:
    """True unless ``pid`` is still a live (non-zombie) process."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def spawn(argv: Sequence[str], *, stdin: int, stdout: int, stderr: int, cwd: str | os.PathLike[str],
          launcher: str = "fork") -> Child:
    """Start ``python -m paxos_edu <argv>`` as its own session leader.

    Args:
        argv: the command line after ``python -m paxos_edu`` (``["acceptor", "1", conf]``).
        stdin, stdout, stderr: file descriptors the child gets as 0, 1 and 2 (the caller
            still owns and closes its copies).
        cwd: the child's working directory.
        launcher: ``"fork"`` (from the session's zygote, milliseconds) or ``"spawn"`` (a
            new interpreter, 0.1-0.2 s of CPU, runs the sources as they are now).

    Raises:
        UsageError: for an unknown launcher. ProcessFailed: the zygote cannot be reached.
    """
    if launcher == "fork":
        zygote = _zygote()
        return Child(zygote.spawn(argv, [stdin, stdout, stderr], os.fspath(cwd)), zygote=zygote)
    if launcher == "spawn":
        popen = subprocess.Popen(
            [sys.executable, "-m", "paxos_edu", *argv], stdin=stdin, stdout=stdout,
            stderr=stderr, cwd=cwd, env=_child_env(), start_new_session=True, close_fds=True,
        )
        return Child(popen.pid, popen=popen)
    raise UsageError(f"launcher must be one of {', '.join(LAUNCHERS)}, not {launcher!r}")


def reap(children: Sequence[Child], timeout: float = 1.0) -> None:
    """Wait up to ``timeout`` for each child (already killed) so none stays a zombie."""
    deadline = time.monotonic() + timeout
    for child in children:
        child.wait(max(0.0, deadline - time.monotonic()))


def _zygote_main(fd: int) -> None:
    """The fork server's loop (runs in the helper process, not in the notebook).

    Requests come over the Unix socket ``fd``: JSON ``{"token", "argv", "cwd"}`` with
    three file descriptors attached. Replies: ``{"spawned": token, "pid": pid}``; later
    ``{"exited": pid, "code": code}`` (negative code: killed by that signal). When the
    socket closes -- the cluster's Python process ended, even by SIGKILL -- every child
    still alive is killed and the zygote exits.
    """
    import ctypes
    import gc
    import selectors

    from . import (
        cli,  # noqa: F401 -- the point: import the runtime once, before forking
        runtime,  # noqa: F401
    )

    # Objects imported so far are never freed: keep the collector off them, so that a
    # child's collections do not write to (and copy) the pages it shares with us.
    gc.collect()
    gc.freeze()
    try:
        libc: Any = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover -- not Linux
        libc = None
    ctl = socket.socket(fileno=fd)
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: None)  # handled below, as EOF
    sel = selectors.DefaultSelector()
    sel.register(ctl, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    me = os.getpid()

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)
            notice = {"exited": pid, "code": os.waitstatus_to_exitcode(status)}
            try:
                ctl.send(json.dumps(notice).encode())
            except OSError:
                pass

    running = True
    while running:
        for key, _ in sel.select():
            if key.fileobj is wake_r:
                try:
                    while wake_r.recv(4096):
                        pass
                except OSError:
                    pass
                continue
            try:
                data, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 8)
            except OSError:
                data, fds = b"", []
            if not data:
                running = False
                break
            request = json.loads(data)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _zygote_child(request, fds, me, libc, [sel, ctl, wake_r, wake_w])
            for f in fds:
                os.close(f)
            children.add(pid)
            ctl.send(json.dumps({"spawned": request["token"], "pid": pid}).encode())
        reap()
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2.0
    while children and time.monotonic() < deadline:
        reap()
        time.sleep(0.005)
    os._exit(0)


def _zygote_child(request: dict[str, Any], fds: list[int], parent: int, libc: Any,
                  close: list[Any]) -> None:
    """In the forked child: become ``python -m paxos_edu <argv>``; never returns."""
    code: Any = 1
    try:
        os.setsid()
        if libc is not None:
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the zygote
        if os.getppid() != parent:  # the zygote died before prctl
            os._exit(1)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        from .signals import catch_early

        catch_early()  # a stop before the role's loop is ready is kept for it (signals.py)
        for resource in close:  # the zygote's selector and sockets
            resource.close()
        for target, f in enumerate(fds[:3]):
            os.dup2(f, target)
        for f in fds:
            if f > 2:
                os.close(f)
        os.chdir(request["cwd"])
        import random

        random.seed()  # the module generator was copied from the zygote
        from .cli import main

        sys.argv = ["python -m paxos_edu", *request["argv"]]
        code = main(request["argv"], prog="python -m paxos_edu")
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # noqa: BLE001 -- report anything, then leave
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        os._exit(code)


__all__ = ["LAUNCHERS", "READY_TIMEOUT", "Child", "ProcessFailed", "prestart", "reap", "spawn"]
