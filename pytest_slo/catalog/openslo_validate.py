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
from ..schematext import explain
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
            {k: (stand_in[k] if k in stand_in and _templated(v) else v) for k, v in o.items()}
            if isinstance(o, dict)
            else o
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
            raise ValueError(
                f"{part.strip()!r}: the factor must be greater than 0 (how many times the budget's even pace, "
                "e.g. 14.4)"
            )
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


def schema_problems(doc: Any, node: yaml.Node, display: str) -> list[CatalogError]:
    found: dict[tuple[int, str], CatalogError] = {}
    validator = openslo_validator()
    for error in validator.iter_errors(_for_schema(_plain(doc))):
        for path, message, hint in explain(error, validator.schema, "an OpenSLO document"):
            if len(message) > 160:
                message = message[:157] + "..."
            line = _line(node, path)
            found.setdefault(
                (line, message), CatalogError(f"{message} (OpenSLO v1 schema)", path=display, line=line, hint=hint)
            )
    return [found[k] for k in sorted(found)]


