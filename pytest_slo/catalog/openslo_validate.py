"""The OpenSLO v1 JSON Schema (vendored, see ``openslo_schema/README.md``) and what its
errors say to a person: the path as written (``spec.objectives[0].target``), its line, and
for a ``oneOf`` only the branch of the document's own ``kind``."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..errors import CatalogError
from ..expr import duration_seconds
from .model import _line

__all__ = ["dotted", "openslo_validator", "parse_pairs", "schema_problems"]

_SCHEMA_DIR = Path(__file__).with_name("openslo_schema")
_PAIR = re.compile(r"^\s*(\w+)\s*/\s*(\w+)\s*:\s*([0-9]*\.?[0-9]+)\s*$")


@functools.lru_cache(maxsize=1)
def openslo_validator() -> Any:
    """The vendored OpenSLO v1 JSON Schema (draft-07, ``$ref`` by its published URLs)."""
    import jsonschema
    from referencing import Registry, Resource

    resources = []
    for path in sorted(_SCHEMA_DIR.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry: Registry[Any] = Registry().with_resources(resources)
    root = json.loads((_SCHEMA_DIR / "openslo.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(root, registry=registry)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _for_schema(doc: Any) -> Any:
    """The document with templated targets replaced by a number the schema accepts."""
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        return doc
    spec = dict(doc["spec"])
    objectives = spec.get("objectives")
    if isinstance(objectives, list):
        stand_in = {"target": 0.5, "value": 0.0, "timeSliceTarget": 0.5}
        spec["objectives"] = [
            {k: (stand_in[k] if k in stand_in and _templated(v) else v) for k, v in o.items()} if isinstance(o, dict) else o
            for o in objectives
        ]
    return {**doc, "spec": spec}


def parse_pairs(text: str) -> tuple[tuple[float, float, float], ...]:
    """``1h/5m:14.4, 6h/30m:6`` → ((3600, 300, 14.4), (21600, 1800, 6.0)); ValueError says why."""
    pairs = []
    for part in text.split(","):
        match = _PAIR.match(part)
        if not match:
            raise ValueError(f"{part.strip()!r} is not LONG/SHORT:FACTOR such as 1h/5m:14.4")
        long, short = duration_seconds(match[1]), duration_seconds(match[2])
        if short >= long:
            raise ValueError(f"{part.strip()!r}: the short window must be shorter than the long one")
        factor = float(match[3])
        if factor <= 0:  # a burn rate above 0 is any error at all: an alert on it pages for every failed request
            raise ValueError(f"{part.strip()!r}: the factor must be greater than 0 (how many times the budget's even pace, e.g. 14.4)")
        pairs.append((long, short, factor))
    return tuple(pairs)


def dotted(path: Iterable[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(document)"


def _plain(value: Any) -> Any:
    """YAML timestamps as the text they were written as (OpenSLO's calendar startTime is a string)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(value)
    return value


def _branches(error: Any) -> list[Any]:
    """The errors of a oneOf/anyOf's branches, leaving out every branch written for another
    ``kind`` (the schema's top level has one branch per kind)."""
    groups: dict[Any, list[Any]] = {}
    for child in error.context:
        groups.setdefault(child.relative_schema_path[0] if child.relative_schema_path else None, []).append(child)
    kept = [g for g in groups.values() if not any(c.validator == "const" and list(c.absolute_path) == ["kind"] for c in g)]
    return [c for g in kept for c in g]


def _explain(error: Any) -> list[tuple[tuple[Any, ...], str]]:
    """What a schema error says at which path: a oneOf of required fields as "needs one of",
    any other one/anyOf as the problems of its branches."""
    if not error.context:
        return [(tuple(error.absolute_path), error.message)]
    children = _branches(error)
    paths = {tuple(e.absolute_path) for e in children}
    if len(children) > 1 and all(e.validator == "required" and not e.context for e in children) and len(paths) == 1:
        names = list(dict.fromkeys("/".join(map(str, e.validator_value)) for e in children))
        return [(paths.pop(), f"needs one of {', '.join(names)}")]
    out: list[tuple[tuple[Any, ...], str]] = []
    for child in children:
        out += _explain(child)
    return out or [(tuple(error.absolute_path), error.message)]


def schema_problems(doc: Any, node: yaml.Node, display: str) -> list[CatalogError]:
    found: dict[tuple[int, str], CatalogError] = {}
    for error in openslo_validator().iter_errors(_for_schema(_plain(doc))):
        for path, message in _explain(error):
            if len(message) > 160:
                message = message[:157] + "..."
            line = _line(node, path)
            found.setdefault((line, message), CatalogError(f"{dotted(path)}: {message} (OpenSLO v1 schema)", path=display, line=line))
    return [found[k] for k in sorted(found)]


