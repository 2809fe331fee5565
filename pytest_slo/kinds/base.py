"""The one interface every check kind implements, and the registry of kinds.

A kind reads (``fetch``, where a live source fails as an *error* of the item) and then
judges (``evaluate``, which returns a :class:`Verdict`). Only a negative verdict fails an
item; anything ``fetch`` or ``evaluate`` raises makes it an error. Offline kinds read
nothing in ``fetch``. New kinds come from plugins through the ``pytest_slo_kinds`` hook and
are checked against the :class:`Kind` protocol in full when they register.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ..errors import SloError

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..findings.baseline import Baseline
    from ..repo.site import Site
    from ..sources import LiveOptions, Sources

__all__ = ["METHODS", "Kind", "KindRegistry", "Location", "Target", "Verdict", "kind_problems"]


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
    #: The previous run's evaluated values (``--baseline``), for checks that judge a change.
    baseline: Baseline | None = None

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
    #: What failed, one identity per object (``{"instance": "10.0.3.7:6379"}``,
    #: ``{"pod": "redis-cluster-2", "container": "redis"}``, a series' labels): the finding's
    #: fingerprint and the waivers' ``match`` read these, never values or times. Empty: the
    #: finding is about the check at its site and app as a whole.
    objects: list[dict[str, str]] = field(default_factory=list)
    #: What brings it back when editing ``location`` is not the fix: the declared line is
    #: right and the live system differs (``roll out redis-cluster: ...``). None: edit ``location``.
    action: str | None = None

    @classmethod
    def passed(cls, **evidence: Any) -> Verdict:
        """The check holds; ``evidence`` is what it read."""
        return cls(True, evidence=evidence)

    @classmethod
    def failed(cls, message: str, evidence: dict[str, Any] | None = None, location: Location | None = None, *,
               objects: list[dict[str, str]] | None = None, action: str | None = None) -> Verdict:
        """The check does not hold: what is wrong first, the evidence, the line to edit, the
        failing objects' identities and, when the line is already right, what to do."""
        return cls(False, message, evidence or {}, location, objects=objects or [], action=action)

    @classmethod
    def skipped(cls, reason: str) -> Verdict:
        return cls(True, skip=reason)


@runtime_checkable
class Kind(Protocol):
    """The interface of a check kind, published for plugins (``pytest_slo_kinds``).

    Every member is checked when a kind is registered; a missing or wrongly typed one is a
    usage error naming the plugin. Subclass :class:`Kind` to inherit the defaults of every
    member but ``name`` and ``evaluate``, or write any class with these members.
    """

    #: The ``kind:`` a check names; also a pytest marker: lower-case letters, digits, ``-``, ``_``.
    name: ClassVar[str]
    #: Live kinds talk to a source and only run with ``--live``.
    live: ClassVar[bool] = False
    #: ``site``: one item per site; ``app``: one per (site, app) the check applies to.
    scope: ClassVar[str] = "app"
    #: JSON Schema (``properties``, ``required`` and any other 2020-12 keyword) of the
    #: kind's own check fields; joined with the common fields by ``catalog.kind_schema``.
    spec_schema: ClassVar[Mapping[str, Any]] = {"properties": {}}

    def needs_live(self, options: LiveOptions) -> bool:
        """Whether items of this kind are skipped unless ``--live`` is given."""
        return self.live

    def scope_of(self, check: Check) -> str:
        return "app" if check.apps else self.scope

    def prefetch(self, sources: Sources, pairs: Iterable[tuple[Check, Target]]) -> None:
        """Start every read a set of items will need, before the first one runs."""
        return None

    def fetch(self, check: Check, target: Target) -> Any:
        """Read what the check needs; raise ``SourceUnavailable`` when a source is down."""
        return None

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        """Judge: a :class:`Verdict`. Raise only for input that cannot be judged (a
        ``ConfigError`` naming file and line): the item then errors, it does not fail."""
        raise NotImplementedError


#: The methods of :class:`Kind` and the arguments pytest-slo calls them with.
METHODS: dict[str, tuple[str, ...]] = {
    "needs_live": ("options",),
    "scope_of": ("check",),
    "prefetch": ("sources", "pairs"),
    "fetch": ("check", "target"),
    "evaluate": ("check", "target", "data"),
}
SCOPES = ("site", "app")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# names that already mean something as markers or finding kinds
_RESERVED = {
    "slo",
    "live",
    "drift",
    "catalog",
    "skip",
    "skipif",
    "xfail",
    "parametrize",
    "usefixtures",
    "filterwarnings",
}


def kind_problems(kind: object, *, metaschema: bool = True) -> list[str]:
    """What is wrong with ``kind`` as a :class:`Kind`: every member, checked in full.
    ``metaschema=False`` leaves out checking ``spec_schema`` against JSON Schema's own schema,
    the one slow part (a tenth of a second a kind): for the built-in kinds, which a test checks."""
    problems: list[str] = []
    name = getattr(kind, "name", None)
    if not isinstance(name, str):
        problems.append("has no 'name'" if name is None else f"name is {name!r}, not a string")
    elif not _NAME.match(name) or name in _RESERVED:
        problems.append(
            f"name {name!r} is not usable: write lower-case letters, digits, '-' and '_', not one of "
            f"{', '.join(sorted(_RESERVED))}"
        )
    live = getattr(kind, "live", None)
    if not isinstance(live, bool):
        problems.append("has no 'live'" if live is None else f"live is {live!r}, not True or False")
    scope = getattr(kind, "scope", None)
    if scope not in SCOPES:
        problems.append("has no 'scope'" if scope is None else f"scope is {scope!r}, not 'site' or 'app'")
    problems += _schema_problems(name if isinstance(name, str) else "?", getattr(kind, "spec_schema", None), metaschema)
    for method, args in METHODS.items():
        function = getattr(kind, method, None)
        if not callable(function):
            problems.append(f"has no {method}()" if function is None else f"{method} is {function!r}, not a method")
            continue
        if method == "evaluate" and getattr(type(kind), "evaluate", None) is Kind.evaluate:
            problems.append("has no evaluate() of its own")
            continue
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):  # a builtin without a signature: take it on trust
            continue
        try:
            signature.bind(*args)
        except TypeError:
            problems.append(f"{method}{signature} cannot be called as {method}({', '.join(args)})")
    return problems


def _schema_problems(name: str, spec: object, metaschema: bool = True) -> list[str]:
    if spec is None:
        return ["has no 'spec_schema'"]
    if not isinstance(spec, Mapping):
        return [f"spec_schema is {type(spec).__name__}, not a mapping (a JSON Schema of the kind's fields)"]
    from ..catalog.schema import BASE_SCHEMA, kind_schema

    props = spec.get("properties", {})
    if not isinstance(props, Mapping):
        return ["spec_schema.properties is not a mapping of field names to schemas"]
    clash = sorted(set(props) & set(BASE_SCHEMA["properties"]))
    if clash:
        return [f"spec_schema redefines the common field(s) {', '.join(clash)}"]
    import jsonschema

    try:
        if metaschema:
            jsonschema.Draft202012Validator.check_schema(kind_schema(name, spec))
    except jsonschema.SchemaError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "(top)"
        return [f"spec_schema is not a valid JSON Schema at {where}: {exc.message}"]
    return []


class KindRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, Kind] = {}
        self._owners: dict[str, str] = {}

    def register(self, kind: Kind, owner: str = "pytest-slo") -> None:
        """Add ``kind``; a kind that is not a complete :class:`Kind` is refused, naming
        ``owner`` (the plugin), the hook and every member that is wrong."""
        problems = kind_problems(kind, metaschema=owner != "pytest-slo")
        name = getattr(kind, "name", None)
        label = f"kind {name!r}" if isinstance(name, str) else f"{kind!r}"
        where = f"plugin {owner}: hook pytest_slo_kinds: {label} ({type(kind).__module__}.{type(kind).__qualname__})"
        if problems:
            raise SloError(f"{where}: " + "; ".join(problems))
        assert isinstance(name, str)
        if name in self._kinds:
            raise SloError(
                f"plugin {owner}: hook pytest_slo_kinds: kind {name!r} is already registered by {self._owners[name]}"
            )
        self._kinds[name] = kind
        self._owners[name] = owner

    def owner(self, name: str) -> str:
        """The plugin that registered kind ``name``."""
        return self._owners[name]

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
