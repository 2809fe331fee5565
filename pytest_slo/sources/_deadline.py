"""The one meaning of ``--live-timeout``: how long a live item may wait for its facts.

An item's reads run inside :func:`budget`; its :class:`Deadline` starts with its first source
call, and every source call made for that item cuts its own timeouts to what is left of it:
all attempts, waits between them and follow-up queries included. Calls made outside an item
(the prefetch of every item's queries) get a fresh deadline of the same length each.

What the item is waiting on is written into its :class:`ItemBudget`, so that an item stopped
by the deadline says which source did not answer, in one line.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Deadline", "ItemBudget", "acquire", "budget", "current", "waiting_on"]


@dataclass(frozen=True)
class Deadline:
    """A point in (monotonic) time, and the length of the budget it ends."""

    total: float
    at: float = field(default=0.0)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(total=float(seconds), at=time.monotonic() + float(seconds))

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())


class ItemBudget:
    """One item's ``--live-timeout``: its deadline starts with the item's first source call,
    so importing and configuring a client is not time spent waiting for an answer; and what
    the item waits on, for the message when the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.deadline: Deadline | None = None
        self.source = ""  # "prometheus", "redis", "kubernetes"
        self.where = ""  # the address
        self._lock = threading.Lock()

    def start(self) -> Deadline:
        with self._lock:
            if self.deadline is None:
                self.deadline = Deadline.after(self.seconds)
            return self.deadline


_BUDGET: contextvars.ContextVar[ItemBudget | None] = contextvars.ContextVar("slo_budget", default=None)


def current(seconds: float) -> Deadline:
    """The item's deadline (started now if this is its first source call), or a fresh one
    of ``seconds`` outside an item."""
    item = _BUDGET.get()
    return item.start() if item is not None else Deadline.after(seconds)


def waiting_on(source: str, where: str) -> None:
    """Note what the item now waits for (a no-op outside an item)."""
    item = _BUDGET.get()
    if item is not None:
        item.source, item.where = source, where


@contextmanager
def budget(seconds: float) -> Iterator[ItemBudget]:
    """Run the block as one item's read: one deadline for every source call inside it."""
    item = ItemBudget(seconds)
    token = _BUDGET.set(item)
    try:
        yield item
    finally:
        _BUDGET.reset(token)


def acquire(lock: threading.Lock, source: str, what: str) -> None:
    """Take ``lock``, which another item holds while it reads ``what``: waiting for that read is
    waiting for facts, so it counts against the item's deadline (unbounded outside an item)."""
    item = _BUDGET.get()
    if item is None:
        lock.acquire()
        return
    deadline = item.start()
    if not lock.acquire(timeout=deadline.remaining()):
        from ..errors import SourceUnavailable

        raise SourceUnavailable(source, f"no answer to {what} within {item.seconds:g} s")
