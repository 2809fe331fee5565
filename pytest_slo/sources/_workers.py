"""A small pool of daemon threads for requests sent ahead of the items that need them.

``concurrent.futures`` workers are joined when the interpreter exits, so one request to a
server that trickles bytes forever would hold the end of the run long after every item gave
up at its deadline. These workers are daemons: at the end of the run what is still on the
wire is abandoned, and what was never sent is handed back to be answered as cancelled.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Workers"]


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
