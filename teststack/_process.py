"""Child processes for the local servers: start, wait until ready, stop, and never leak.

Every server runs in its own session and process group with its output in a log file, and
is stopped by ``stop()`` (SIGTERM, then SIGKILL after a short wait). Processes left running
when the interpreter exits, or when it gets SIGTERM or SIGHUP, are stopped by an atexit
hook; only a SIGKILL of the parent can leak them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from http.client import HTTPException
from pathlib import Path
from typing import Any

from pytest_slo.errors import SloError

__all__ = [
    "LOOPBACK",
    "READY_TIMEOUT",
    "ProcessServer",
    "ServerProcess",
    "StackError",
    "free_port",
    "http_get",
    "require_binary",
]

READY_TIMEOUT = 15.0
LOOPBACK = "127.0.0.1"

# Explicitly no proxies: an http_proxy in the environment must not route loopback traffic.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StackError(SloError):
    """A local server is missing, did not start, or did not become ready in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def require_binary(name: str, package: str) -> str:
    """The path of executable ``name``, or a StackError naming the Debian package to install."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
    path = shutil.which(name, path=search)
    if path is None:
        raise StackError(f"{name} not found: apt-get install -y {package}")
    return path


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body) of a GET on loopback; an HTTP error status is an answer, not an exception."""
    try:
        with _opener.open(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


# --- processes --------------------------------------------------------------------------

_running: set[ServerProcess] = set()
_running_lock = threading.Lock()


def _stop_leftovers() -> None:
    # Copy under the lock: a daemon thread may still be starting or stopping a server, and
    # a set that changes size while list() walks it raises RuntimeError. stop() takes the
    # lock itself, so it is called outside it.
    with _running_lock:
        leftovers = list(_running)
    for proc in leftovers:
        proc.stop()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _cleanup_on_termination() -> None:
    # SIGTERM (kill, CI timeouts) and SIGHUP (a closed terminal) by default end Python without
    # atexit or finally blocks, which would orphan the servers: they sit in their own process
    # groups. Turn them into SystemExit, but only where nobody installed a handler.
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _exit_on_signal)


atexit.register(_stop_leftovers)


class ServerProcess:
    """One child process with its output in ``log_path``; started by :meth:`start`."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path,
                 env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.env = dict(env) if env is not None else None
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        _cleanup_on_termination()
        with open(self.log_path, "ab") as log:
            # Own session and process group: a terminal's Ctrl-C reaches only us, so the
            # shutdown order is ours, and stop() can signal the whole group.
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env, start_new_session=True,
            )
        with _running_lock:
            _running.add(self)

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 8192))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, check: Callable[[], bool], what: str,
                   timeout: float = READY_TIMEOUT) -> None:
        """Poll ``check`` until it is true; StackError with the log tail on exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                code = self.popen.returncode if self.popen else None
                problem = f"{self.name} exited with code {code} before {what}"
                break
            try:
                if check():
                    return
            except (OSError, ValueError, HTTPException, StackError):
                pass  # not listening yet, or a half-written answer
            if time.monotonic() > deadline:
                problem = f"{self.name} did not get to {what} within {timeout:g} s"
                break
            time.sleep(0.05)
        raise StackError(f"{problem}; last lines of {self.log_path}:\n{self.log_tail()}")

    def stop(self, grace: float = 5.0) -> None:
        popen, self.popen = self.popen, None
        with _running_lock:
            _running.discard(self)
        if popen is None or popen.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                popen.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        popen.wait()


class ProcessServer:
    """Base of the servers in :mod:`servers`: a working directory (own temp dir unless given)
    and one process. Subclasses set :attr:`name` and implement :meth:`start` with :meth:`_launch`.
    """

    name = "server"

    def __init__(self, workdir: str | Path | None) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"slo-{self.name}-") if workdir is None
                            else workdir)
        self.port = free_port()
        self.process: ServerProcess | None = None

    def start(self) -> Any:
        raise NotImplementedError

    def _launch(self, argv: Sequence[str], ready: Callable[[], bool], what: str,
                env: Mapping[str, str] | None = None) -> None:
        """Start the process and wait until ``ready``; a failed start leaves nothing behind."""
        self.process = ServerProcess(self.name, argv, self.workdir / f"{self.name}.log", env)
        try:
            self.process.start()
            self.process.wait_ready(ready, what)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
