"""``checks/*.yaml`` → :class:`Check` specs, every field validated when the file is read.

Each check is validated against the JSON Schema of its kind (:mod:`.schema`). Every problem
is reported by the file's ``catalog`` item at the line of the field to edit; a check with a
problem still becomes items (when it has a usable id), and they *error* with that problem,
so a typo in the catalog never turns into a verdict about production. The rest of the
catalog still runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import jsonschema
import yaml

from ..errors import CatalogError, ConfigError
from ..schematext import explain
from ..yamlio import line_in, load_yaml_and_node
from .known import Known, template_fields
from .runbooks import BUILTIN, runbook, runbook_problem
from .schema import BASE_SCHEMA, validator_for

__all__ = [
    "BUILTIN_CATALOG",
    "CATALOG_RUNBOOK",
    "NOT_IN_CHECKS",
    "Catalog",
    "Check",
    "builtin_ids",
    "entries_under",
    "load_catalog",
    "runbook_problem",
]

#: Set to True in a kind's ``spec_schema`` when its items are made from files other than checks/.
NOT_IN_CHECKS = "x-pytest-slo-not-in-checks"

#: The checks that come with pytest-slo, read like any checks/*.yaml file (see :mod:`.runbooks`).
BUILTIN_CATALOG = BUILTIN / "checks.yaml"
#: How messages name the built-in catalog file.
BUILTIN_DISPLAY = "pytest-slo built-in checks"

#: The runbook of a catalog problem, and of the items of a check that cannot run.
CATALOG_RUNBOOK = runbook("runbooks/catalog.md#catalog")


@dataclass(frozen=True)
class Check:
    """One declared check. ``spec`` holds the kind's own fields."""

    id: str
    title: str
    kind: str
    severity: str
    runbook: str
    source: str
    line: int
    apps: tuple[str, ...] | None = None
    description: str = ""
    when: str | None = None
    keys: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    actions: tuple[Mapping[str, str], ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict)
    #: Why the check cannot run (a field that is wrong): its items error with this.
    problem: CatalogError | None = None
    #: A check that comes with pytest-slo (``catalog/builtin/checks.yaml``).
    builtin: bool = False
    #: The 1-based line of each of the check's fields in its file.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, name: str) -> int:
        """The line of field ``name`` (``query``, ``threshold``...), else the check's own."""
        return self.lines.get(name, self.line)

    def applies_to(self, app: str | None) -> bool:
        return self.apps is None or app in self.apps


@dataclass
class Catalog:
    #: The valid checks, by id.
    checks: list[Check] = field(default_factory=list)
    #: Checks with a wrong field: their items error with the problem, at its line.
    broken: list[Check] = field(default_factory=list)
    #: Every problem of a file, by its repo-relative path: the file's ``catalog`` item fails.
    problems: dict[str, list[CatalogError]] = field(default_factory=dict)

    @property
    def declared(self) -> list[Check]:
        """Every check that becomes items, valid or broken, by id."""
        return sorted(self.checks + self.broken, key=lambda c: c.id)


def _line(node: yaml.Node, path: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest node of ``path`` that exists; the node's own if none."""
    return line_in(node, path) or node.start_mark.line + 1


def _label(item: Mapping[str, Any]) -> str:
    ident = item.get("id")
    return f"check {ident!r}" if isinstance(ident, str) and ident else "a check without an id"


class _Validators:
    """One compiled validator per kind, made on first use."""

    def __init__(self, kinds: Mapping[str, Mapping[str, Any]]) -> None:
        self.kinds = kinds
        self._made: dict[str, Any] = {}

    def _validator(self, kind: str) -> Any:
        validator = self._made.get(kind)
        if validator is None:
            validator = self._made[kind] = validator_for(kind, self.kinds[kind])
        return validator

    def schema(self, kind: str) -> Mapping[str, Any]:
        return cast("Mapping[str, Any]", self._validator(kind).schema)

    def problems(self, item: Mapping[str, Any], node: yaml.Node, display: str) -> list[CatalogError]:
        kind = item.get("kind")
        if not isinstance(kind, str) or kind not in self.kinds:
            known = sorted(self.kinds)
            close = difflib.get_close_matches(str(kind), known, n=1)
            hint = (f"did you mean {close[0]}? " if close else "") + f"the installed kinds are: {', '.join(known)}"
            what = "is missing" if kind is None else f"{kind!r} is not a kind any installed plugin provides"
            return [CatalogError(f"{_label(item)}: kind: {what}", path=display, line=_line(node, ("kind",)), hint=hint)]
        validator = self._validator(kind)
        schema = self.schema(kind)
        found: dict[tuple[bool, int, str], CatalogError] = {}
        for error in validator.iter_errors(item):
            for field_path, message, advice in explain(error, schema, f"a {kind} check"):
                line = _line(node, field_path)
                # a wrong field first, then what the check as a whole lacks: the first
                # problem is the one its items error with
                key = (not field_path, line, message)
                found.setdefault(key, CatalogError(f"{_label(item)}: {message}", path=display, line=line, hint=advice))
        return [found[k] for k in sorted(found)]


def _usable(item: Mapping[str, Any], key: str, schema: Mapping[str, Any]) -> bool:
    return key in item and jsonschema.Draft202012Validator(schema).is_valid(item[key])


def _broken(item: Mapping[str, Any], display: str, line: int, problem: CatalogError) -> Check | None:
    """A check that cannot run, as items that error with its first problem; None when it
    has no usable id to name items by (then only the file's catalog item reports it)."""
    props = BASE_SCHEMA["properties"]
    if not _usable(item, "id", props["id"]):
        return None
    return Check(
        id=item["id"],
        title=item["title"] if _usable(item, "title", props["title"]) else item["id"],
        kind=str(item.get("kind")),
        severity=item["severity"] if _usable(item, "severity", props["severity"]) else "P3",
        runbook=CATALOG_RUNBOOK,
        source=display,
        line=line,
        apps=tuple(item["apps"]) if _usable(item, "apps", props["apps"]) else None,
        markers=tuple(m for m in item.get("markers") or () if _usable({"m": [m]}, "m", props["markers"])),
        problem=problem,
    )


def read_document(path: Path, display: str) -> tuple[Any, yaml.Node | None]:
    """A ``checks/`` file's data and its node tree (for lines); a file that cannot be read or
    parsed (duplicate keys included) raises a :class:`CatalogError` at its line."""
    try:
        return load_yaml_and_node(path.read_text(encoding="utf-8"), display)
    except ConfigError as exc:
        raise CatalogError(exc.message, path=display, line=exc.line, hint=exc.hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read: {exc}", path=display) from None


def entries_under(
    data: Any, document: yaml.Node | None, key: str, display: str, what: str, hint: str
) -> tuple[list[tuple[Any, yaml.Node]], list[CatalogError]]:
    """The entries of the list under ``key:`` that a file of the catalog holds (``checks:``,
    ``waivers:``), each with its node for lines, and what is wrong with the file's shape: a
    top-level key other than ``key``, or no list under it (then no entries)."""
    problems: list[CatalogError] = []
    items, nodes = data, document
    if isinstance(data, dict) and isinstance(document, yaml.MappingNode):
        items = data.get(key)
        for name, value in document.value:
            if name.value == key:
                nodes = value
            else:
                problems.append(
                    CatalogError(
                        f"{name.value}: is not a key of {what}",
                        path=display,
                        line=name.start_mark.line + 1,
                        hint=f"{what} holds only {key}:",
                    )
                )
    if not isinstance(items, list) or not isinstance(nodes, yaml.SequenceNode):
        problems.append(CatalogError(f"expected a list under '{key}:'", path=display, line=1, hint=hint))
        return [], problems
    return list(zip(items, nodes.value, strict=True)), problems


def _unknown_names(
    item: Mapping[str, Any], node: yaml.Node, display: str, schema: Mapping[str, Any], known: Known
) -> list[CatalogError]:
    """An app no release has, and config keys no site sets and no release defines: typos
    that would silently select nothing or blame every site (see :mod:`.known`)."""
    problems = []
    for index, app in enumerate(item.get("apps") or ()):
        if problem := known.app_problem(app):
            problems.append(
                CatalogError(
                    f"{_label(item)}: apps[{index}]: {problem}", path=display, line=_line(node, ("apps", index))
                )
            )
    for where, text, template in template_fields(schema, item):
        for _key, problem in known.unknown_keys(text, template=template):
            name = ".".join(map(str, where))
            problems.append(
                CatalogError(
                    f"{_label(item)}: {name}: {problem}",
                    path=display,
                    line=_line(node, where),
                    hint="fix the name, or define the key in releases/<release>/config.schema.json",
                )
            )
    return problems


def _parse_file(
    path: Path, display: str, validators: _Validators, root: Path, known: Known
) -> tuple[list[Check], list[CatalogError]]:
    try:
        data, document = read_document(path, display)
    except CatalogError as exc:
        return [], [exc]
    entries, problems = entries_under(
        data, document, "checks", display, "a check catalog", "start the file with checks: and list the checks under it"
    )
    checks: list[Check] = []
    for item, node in entries:
        line = node.start_mark.line + 1
        if not isinstance(item, dict):
            problems.append(
                CatalogError(
                    "a check must be a mapping of fields",
                    path=display,
                    line=line,
                    hint="write - id: ... with title, kind, severity, runbook",
                )
            )
            continue
        found = _problems(item, node, display, validators, root, known)
        if found:
            problems += found
            broken = _broken(item, display, line, found[0])
            if broken is not None:
                checks.append(broken)
            continue
        checks.append(_check(item, node, display, line))
    return checks, problems


def _problems(
    item: dict[str, Any], node: yaml.Node, display: str, validators: _Validators, root: Path, known: Known
) -> list[CatalogError]:
    """What is wrong with one check, in the order a fix needs: its fields, then its runbook, then
    the names its expressions and templates read."""
    found = validators.problems(item, node, display)
    if not found and (bad_runbook := runbook_problem(root, item["runbook"], anchors=False)):
        found = [
            CatalogError(
                f"{_label(item)}: {bad_runbook}",
                path=display,
                line=_line(node, ("runbook",)),
                hint="write the runbook or fix the path",
            )
        ]
    if not found:
        found = _unknown_names(item, node, display, validators.schema(item["kind"]), known)
    return found


def _check(item: dict[str, Any], node: yaml.Node, display: str, line: int) -> Check:
    """A valid catalog entry as a :class:`Check`: the common fields, and the kind's in ``spec``."""
    base = set(BASE_SCHEMA["properties"])
    actions = tuple({"action": a} if isinstance(a, str) else dict(a) for a in item.get("actions", ()))
    return Check(
        id=item["id"],
        title=item["title"],
        kind=item["kind"],
        severity=item["severity"],
        runbook=item["runbook"],
        source=display,
        line=line,
        apps=tuple(item["apps"]) if "apps" in item else None,
        description=item.get("description", ""),
        when=item.get("when"),
        keys=tuple(item.get("keys", ())),
        markers=tuple(item.get("markers", ())),
        actions=actions,
        spec={k: v for k, v in item.items() if k not in base},
        lines={key.value: key.start_mark.line + 1 for key, _ in node.value}
        if isinstance(node, yaml.MappingNode)
        else {},
    )


#: ``checks/`` files that are not check catalogs.
WAIVER_FILES = frozenset({"waivers.yaml"})


def _builtin(validators: _Validators, disabled: Collection[str]) -> list[Check]:
    """The built-in checks, their runbooks as ``file:`` URIs; a problem in them is a defect
    of pytest-slo (a test reads the file), so it is raised, never reported as the user's."""
    checks, problems = _parse_file(BUILTIN_CATALOG, BUILTIN_DISPLAY, validators, BUILTIN, Known(complete=False))
    if problems:
        raise CatalogError(f"pytest-slo's built-in checks are broken: {problems[0]}")
    return [replace(c, runbook=runbook(c.runbook), builtin=True) for c in checks if c.id not in disabled]


def builtin_ids() -> list[str]:
    """The ids of the checks that come with pytest-slo."""
    data, _ = read_document(BUILTIN_CATALOG, BUILTIN_DISPLAY)
    return sorted(item["id"] for item in data["checks"])


def load_catalog(
    root: Path, kinds: Mapping[str, Mapping[str, Any]], *, known: Known | None = None, disabled: Collection[str] = ()
) -> Catalog:
    """The built-in checks and every ``checks/*.yaml`` under ``root`` (a check of a built-in's
    id replaces it; ``disabled`` built-ins are left out); ``kinds`` maps kind name → its
    field schema; ``known`` tells a typo of an app or a config key from a name the
    repository has (nothing is judged unknown without it)."""
    catalog = Catalog()
    known = known or Known(complete=False)
    # a kind whose items come from elsewhere (openslo: slos/*.yaml) is no kind a check may name
    validators = _Validators({name: schema for name, schema in kinds.items() if not schema.get(NOT_IN_CHECKS)})
    checks_dir = root / "checks"
    files = sorted(checks_dir.glob("*.yaml")) + sorted(checks_dir.glob("*.yml")) if checks_dir.is_dir() else []
    # the waivers file sits with the catalog it refers to, but it is not a catalog
    files = [f for f in files if f.name not in WAIVER_FILES]
    first_seen: dict[str, Check] = {}
    builtin = {c.id: c for c in _builtin(validators, disabled)}
    for path in files:
        display = path.relative_to(root).as_posix()
        checks, problems = _parse_file(path, display, validators, root, known)
        for check in checks:
            builtin.pop(check.id, None)  # the repository's own check of that id replaces it
            if check.id in first_seen:
                other = first_seen[check.id]
                problems.append(
                    CatalogError(
                        f"check {check.id!r}: id: duplicate check id (first declared at {other.source}:{other.line})",
                        path=display,
                        line=check.line,
                        hint="check ids are test names and finding keys: make them unique",
                    )
                )
                continue
            first_seen[check.id] = check
            (catalog.broken if check.problem else catalog.checks).append(check)
        if problems:
            catalog.problems[display] = problems
    catalog.checks += builtin.values()
    catalog.checks.sort(key=lambda c: c.id)
    catalog.broken.sort(key=lambda c: c.id)
    return catalog
