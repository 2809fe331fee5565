"""The one interface every check kind implements, and the registry of kinds.

A kind reads (``fetch``, where a live source fails as an *error* of the item) and then
judges (``evaluate``, which returns a :class:`Verdict`). Offline kinds read nothing in
``fetch``. New kinds come from plugins through the ``pytest_slo_kinds`` hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import SloError

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..repo.site import Site
    from ..sources import LiveOptions, Sources

__all__ = ["Kind", "KindRegistry", "Location", "Target", "Verdict"]


@dataclass(frozen=True)
class Location:
    """The repo-relative file and 1-based line a person should edit."""

    path: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line}

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Target:
    """What one item checks: a site, optionally one app, and the run's sources to read it with."""

    site: Site
    app: str | None
    sources: Sources

    def env_location(self, *keys: str) -> Location:
        """The config.env line of the first of ``keys`` the site sets, else the file itself."""
        for key in keys:
            line = self.site.env.line_of(key)
            if line:
                return Location(self.site.env_display, line)
        return Location(self.site.env_display, None)


@dataclass
class Verdict:
    ok: bool
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    location: Location | None = None
    skip: str | None = None

    @classmethod
    def passed(cls, **evidence: Any) -> Verdict:
        return cls(True, evidence=evidence)

    @classmethod
    def skipped(cls, reason: str) -> Verdict:
        return cls(True, skip=reason)


class Kind:
    """Base class of check kinds; subclasses set the class attributes and ``evaluate``."""

    name: ClassVar[str]
    #: Live kinds talk to a source and only run with ``--live``.
    live: ClassVar[bool] = False
    #: ``site``: one item per site; ``app``: one per (site, app) the check applies to.
    scope: ClassVar[str] = "app"
    #: JSON Schema (``properties``/``required``) of the kind's own check fields.
    spec_schema: ClassVar[Mapping[str, Any]] = {"properties": {}}

    def needs_live(self, options: LiveOptions) -> bool:
        """Whether items of this kind are skipped unless ``--live`` is given."""
        return self.live

    def scope_of(self, check: Check) -> str:
        return "app" if check.apps else self.scope

    def prefetch(self, sources: Sources, pairs: Iterable[tuple[Check, Target]]) -> None:
        """Start every read a set of items will need, before the first one runs."""

    def fetch(self, check: Check, target: Target) -> Any:
        """Read what the check needs; raise ``SourceUnavailable`` when a source is down."""
        return None

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        raise NotImplementedError


class KindRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, Kind] = {}
        self._owners: dict[str, str] = {}

    def register(self, kind: Kind, owner: str = "pytest-slo") -> None:
        name = getattr(kind, "name", None)
        if not isinstance(name, str) or not name:
            raise SloError(f"plugin {owner}: hook pytest_slo_kinds returned {kind!r}, which has no 'name'")
        if not callable(getattr(kind, "evaluate", None)):
            raise SloError(f"plugin {owner}: hook pytest_slo_kinds: kind {name!r} has no evaluate()")
        if name in self._kinds:
            raise SloError(
                f"plugin {owner}: hook pytest_slo_kinds: kind {name!r} is already registered by {self._owners[name]}"
            )
        self._kinds[name] = kind
        self._owners[name] = owner

    def __getitem__(self, name: str) -> Kind:
        return self._kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    @property
    def names(self) -> list[str]:
        return list(self._kinds)

    @property
    def schemas(self) -> dict[str, Mapping[str, Any]]:
        return {name: kind.spec_schema for name, kind in self._kinds.items()}
