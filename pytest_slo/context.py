"""Per-run state: settings, the repository, the kinds and the catalog, built once."""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from .catalog import Catalog, load_catalog
from .errors import SloError
from .kinds.base import KindRegistry
from .settings import Settings
from .site import Repo

__all__ = ["RUN_KEY", "RunContext"]


class RunContext:
    def __init__(self, config: pytest.Config, settings: Settings, registry: KindRegistry) -> None:
        self.config = config
        self.settings = settings
        self.registry = registry
        self.repo = Repo(settings.root, settings.values_path)
        #: Live sources by key, created on first use and shared by every item of the run.
        self.sources: dict[Any, Any] = {}
        self._prefetched: set[str] = set()
        self._lock = threading.Lock()

    @functools.cached_property
    def catalog(self) -> Catalog:
        return load_catalog(self.settings.root, self.registry.schemas)

    def source(self, key: Any, factory: Any) -> Any:
        """``factory()`` once per run; a source that failed fails every later item at once,
        with the same reason, instead of waiting out the timeout again."""
        with self._lock:
            if key not in self.sources:
                try:
                    self.sources[key] = factory()
                except SloError as exc:
                    self.sources[key] = _Failed(exc)
            value = self.sources[key]
        if isinstance(value, _Failed):
            raise value.error
        return value

    def prefetch_once(self, kind_name: str, items: list[Any]) -> None:
        """Let a live kind batch every read of this session's items, before the first runs."""
        if kind_name in self._prefetched:
            return
        self._prefetched.add(kind_name)
        kind = self.registry[kind_name]
        pairs = [(i.check, i.target) for i in items if getattr(i, "check", None) and i.check.kind == kind_name]
        kind.prefetch(self, pairs)

    def close(self) -> None:
        for source in self.sources.values():
            closer = getattr(source, "close", None)
            if callable(closer):
                closer()
        self.sources.clear()


class _Failed:
    def __init__(self, error: SloError) -> None:
        self.error = error


RUN_KEY = pytest.StashKey[RunContext]()
