"""A value read once per run and shared: a client, a LIST, an instance's facts.

The first caller reads; later callers wait for that read within their own item's deadline
(waiting for another item's read is waiting for facts) and then share its value, or its
error: a source that failed fails every later item at once, with the same one line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from pytest_slo.errors import SloError

from ._deadline import acquire

__all__ = ["Once"]

T = TypeVar("T")


class Once(Generic[T]):
    def __init__(self, source: str, what: str) -> None:
        self.source, self.what = source, what
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None
        self._error: SloError | None = None

    @property
    def value(self) -> T | None:
        """The value once read (None before, or after an error)."""
        return self._value

    def get(self, read: Callable[[], T]) -> T:
        acquire(self._lock, self.source, self.what)
        try:
            if not self._done:
                try:
                    self._value = read()
                except SloError as exc:
                    self._error = exc
                self._done = True
        finally:
            self._lock.release()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
