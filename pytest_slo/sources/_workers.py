"""Daemon threads: a small pool for requests sent ahead of the items that need them
(:class:`Workers`), and the threads that run each item's read (:class:`Readers`).

``concurrent.futures`` workers are joined when the interpreter exits, so one request to a
server that trickles bytes forever would hold the end of the run long after every item gave
up at its deadline. These threads are daemons: at the end of the run what is still on the
wire is abandoned, and what was never sent is handed back to be answered as cancelled.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Call", "Readers", "Workers"]


class Workers:
    """Up to ``size`` daemon threads, started as work arrives."""

    def __init__(self, size: int, name: str) -> None:
        self._size, self._name = size, name
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the run's workers are closed")
            self._queue.put((fn, args))
            if len(self._threads) < self._size:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            fn, args = job
            try:
                fn(*args)
            except BaseException:
                pass

    def close(self) -> list[tuple[Any, ...]]:
        """Stop taking work; return the arguments of the jobs that were never started."""
        with self._lock:
            self._closed = True
            dropped = []
            while True:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    dropped.append(job[1])
            for _ in self._threads:
                self._queue.put(None)
        return dropped


class Call:
    """One call run on a :class:`Readers` thread: ``done`` is set when it returned or raised."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:  # handed to the waiting item
            self.error = exc


class Readers:
    """Daemon threads that run one call at a time and are reused. A call that outlives the item
    waiting for it keeps its thread until it ends; the next call takes an idle thread or starts
    one, so an abandoned read never holds up another (a thread per read cost each live item a
    thread start)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._idle: list[queue.SimpleQueue[Call | None]] = []
        self._lock = threading.Lock()
        self._started = 0

    def run(self, fn: Callable[..., Any], *args: Any) -> Call:
        call = Call(fn, args)
        with self._lock:
            if self._idle:
                self._idle.pop().put(call)
                return call
            self._started += 1
            name = f"{self._name}-{self._started}"
        jobs: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        jobs.put(call)
        threading.Thread(target=self._work, args=(jobs,), name=name, daemon=True).start()
        return call

    def _work(self, jobs: queue.SimpleQueue[Call | None]) -> None:
        while (call := jobs.get()) is not None:
            call.run()
            with self._lock:
                self._idle.append(jobs)
            call.done.set()  # idle first: the read after this one finds the thread free

    def close(self) -> None:
        """Let the idle threads end; a call still running ends on its own."""
        with self._lock:
            for jobs in self._idle:
                jobs.put(None)
            self._idle.clear()
