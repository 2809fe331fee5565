"""``checks/*.yaml`` → :class:`Check` specs, validated against a declarative schema.

Each check kind contributes the JSON Schema of its own fields; the base fields below are
common to all. A malformed check is reported with its file and line and left out, so the
rest of the catalog still runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..errors import CatalogError, ConfigError
from ..yamlio import Loader, load_yaml

__all__ = ["BASE_SCHEMA", "Catalog", "Check", "load_catalog", "runbook_problem"]

SEVERITIES = ("P1", "P2", "P3", "P4")

BASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "kind", "severity", "runbook"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "title": {"type": "string", "minLength": 1},
        "kind": {"type": "string"},
        "severity": {"enum": list(SEVERITIES)},
        "runbook": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "apps": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "when": {"type": "string"},
        "keys": {"type": "array", "items": {"type": "string"}},
        "markers": {"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}},
        "actions": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["action"],
                        "properties": {
                            "action": {"type": "string"},
                            "owner": {"type": "string"},
                            "priority": {"type": "string"},
                        },
                        "additionalProperties": False,
                    },
                ]
            },
        },
    },
}


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

    def applies_to(self, app: str | None) -> bool:
        return self.apps is None or app in self.apps


@dataclass
class Catalog:
    checks: list[Check] = field(default_factory=list)
    problems: dict[str, list[CatalogError]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def runbook_problem(root: Path, runbook: str, *, anchors: bool = True) -> str | None:
    """Why a runbook reference does not resolve, or None. URLs are taken as given."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", runbook):
        return None
    path, _, anchor = runbook.partition("#")
    target = root / path
    if not path or not target.is_file():
        return f"runbook {path or runbook!r} does not exist"
    if anchors and anchor and anchor not in markdown_anchors(target):
        return f"runbook {path} has no heading for #{anchor}"
    return None


def markdown_anchors(path: Path) -> set[str]:
    """GitHub-style heading slugs plus explicit ``<a id=...>`` / ``{#id}`` anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found.update(re.findall(r"""<a\s+(?:id|name)=["']([^"']+)["']""", line))
        found.update(re.findall(r"\{#([A-Za-z0-9_-]+)\}", line))
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            text = re.sub(r"\{#[^}]*\}", "", heading.group(1))
            slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def _check_lines(text: str) -> list[int]:
    node = yaml.compose(text, Loader=Loader)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "checks":
                node = value
                break
    if isinstance(node, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in node.value]
    return []


def _schema_for(kind_schema: Mapping[str, Any]) -> dict[str, Any]:
    schema = {**BASE_SCHEMA, "properties": {**BASE_SCHEMA["properties"], **kind_schema.get("properties", {})}}
    schema["required"] = BASE_SCHEMA["required"] + list(kind_schema.get("required", []))
    schema["additionalProperties"] = False
    return schema


def _parse_file(path: Path, display: str, kinds: Mapping[str, Mapping[str, Any]], root: Path) -> tuple[list[Check], list[CatalogError]]:
    problems: list[CatalogError] = []
    try:
        text = path.read_text(encoding="utf-8")
        data = load_yaml(text, display)
    except ConfigError as exc:
        return [], [CatalogError(exc.message, path=display, line=exc.line)]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [CatalogError(f"cannot read: {exc}", path=display)]
    items = data.get("checks") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return [], [CatalogError("expected a list of checks under 'checks:'", path=display, line=1)]
    lines = _check_lines(text)
    checks: list[Check] = []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else 1
        where = {"path": display, "line": line}
        if not isinstance(item, dict):
            problems.append(CatalogError("a check must be a mapping", **where))  # type: ignore[arg-type]
            continue
        kind = item.get("kind")
        if not isinstance(kind, str) or kind not in kinds:
            known = ", ".join(sorted(kinds))
            problems.append(CatalogError(f"check {item.get('id', '?')!r}: unknown kind {kind!r} (known kinds: {known})", **where))  # type: ignore[arg-type]
            continue
        validator = jsonschema.Draft202012Validator(_schema_for(kinds[kind]))
        errors = sorted(validator.iter_errors(item), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            first = errors[0]
            at = "/".join(map(str, first.absolute_path)) or "check"
            problems.append(CatalogError(f"check {item.get('id', '?')!r}: {at}: {first.message}", **where))  # type: ignore[arg-type]
            continue
        bad_runbook = runbook_problem(root, item["runbook"], anchors=False)
        if bad_runbook:
            problems.append(CatalogError(f"check {item['id']!r}: {bad_runbook}", hint="write the runbook or fix the path", **where))  # type: ignore[arg-type]
            continue
        base = set(BASE_SCHEMA["properties"])
        actions = tuple({"action": a} if isinstance(a, str) else dict(a) for a in item.get("actions", ()))
        checks.append(
            Check(
                id=item["id"],
                title=item["title"],
                kind=kind,
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
            )
        )
    return checks, problems


def load_catalog(root: Path, kinds: Mapping[str, Mapping[str, Any]]) -> Catalog:
    """Load every ``checks/*.yaml`` under ``root``; ``kinds`` maps kind name → its field schema."""
    catalog = Catalog()
    checks_dir = root / "checks"
    files = sorted(checks_dir.glob("*.yaml")) + sorted(checks_dir.glob("*.yml")) if checks_dir.is_dir() else []
    first_seen: dict[str, Check] = {}
    for path in files:
        display = path.relative_to(root).as_posix()
        catalog.files.append(display)
        checks, problems = _parse_file(path, display, kinds, root)
        for check in checks:
            if check.id in first_seen:
                other = first_seen[check.id]
                problems.append(
                    CatalogError(
                        f"duplicate check id {check.id!r} (first declared at {other.source}:{other.line})",
                        path=display,
                        line=check.line,
                        hint="check ids are test names and finding keys: make them unique",
                    )
                )
                continue
            first_seen[check.id] = check
            catalog.checks.append(check)
        if problems:
            catalog.problems[display] = problems
    catalog.checks.sort(key=lambda c: c.id)
    return catalog
