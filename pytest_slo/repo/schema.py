"""JSON Schema for ``config.env`` and rendered values: compile once, report by file and line."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from .. import units
from ..errors import ConfigError
from ..schematext import explain

__all__ = ["Problem", "coerce_config", "config_problems", "load_validator", "values_problems"]

_FORMATS = FormatChecker()


@_FORMATS.checks("k8s-quantity", raises=units.QuantityError)
def _k8s_quantity(value: object) -> bool:
    return not isinstance(value, str) or bool(units.k8s_quantity(value) is not None)


@_FORMATS.checks("k8s-memory", raises=units.QuantityError)
def _k8s_memory(value: object) -> bool:
    return not isinstance(value, str) or units.k8s_bytes(value) >= 0


@_FORMATS.checks("k8s-cpu", raises=units.QuantityError)
def _k8s_cpu(value: object) -> bool:
    return not isinstance(value, str) or units.k8s_cpu(value) >= 0


@_FORMATS.checks("redis-memory", raises=units.QuantityError)
def _redis_memory(value: object) -> bool:
    return not isinstance(value, (str, int)) or units.redis_bytes(value) >= 0


@_FORMATS.checks("prometheus-duration", raises=units.QuantityError)
def _duration(value: object) -> bool:
    from ..expr import duration_seconds

    return not isinstance(value, str) or duration_seconds(value) >= 0


@dataclass(frozen=True)
class Problem:
    """One schema violation: what, and where (the key or the values path); for rendered
    values also the offending value (``instance``), which tells a config.env value from
    what the template made of it."""

    message: str
    key: str | None = None
    path: tuple[str | int, ...] = ()
    instance: Any = field(default=None, compare=False)


def load_validator(path: Path, display: str) -> Any:
    """Load a schema file and compile its validator; a broken schema is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("schema file not found", path=display) from exc
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", path=display, line=exc.lineno) from exc
    cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        pointer = "/" + "/".join(str(p) for p in exc.path)
        raise ConfigError(
            f"not a valid JSON Schema at {pointer}: {exc.message}",
            path=display,
            line=_json_line(text, list(exc.path)),
            hint="see https://json-schema.org/draft/2020-12",
        ) from exc
    for where, name in _formats(schema):
        if name not in _FORMATS.checkers:
            close = difflib.get_close_matches(name, sorted(_FORMATS.checkers), n=1)
            raise ConfigError(
                f"unknown format {name!r} at /{'/'.join(map(str, where))}: no value would ever be checked against it",
                path=display,
                line=_json_line(text, [*where, "format"]),
                hint=(f"did you mean {close[0]}? " if close else "")
                + f"the formats checked are: {', '.join(sorted(_FORMATS.checkers))}",
            )
    return cls(schema, format_checker=_FORMATS)


def _formats(schema: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every ``format`` keyword of a schema, with the path of the subschema that holds it."""
    if isinstance(schema, dict):
        if isinstance(schema.get("format"), str):
            yield where, schema["format"]
        for key, value in schema.items():
            if key not in ("enum", "const", "examples", "default"):
                yield from _formats(value, (*where, key))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _formats(value, (*where, index))


def _json_line(text: str, path: list[Any]) -> int | None:
    """Best-effort line of a JSON pointer: the line where its last key is written."""
    line = None
    offset = 0
    for part in path:
        if isinstance(part, int):
            continue
        found = text.find(json.dumps(str(part)), offset)
        if found < 0:
            return line
        offset = found
        line = text.count("\n", 0, found) + 1
    return line


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOL = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _coerce(value: str, types: list[str]) -> Any:
    for kind in types:
        if kind == "integer" and _INT.match(value):
            return int(value)
        if kind == "number" and _FLOAT.match(value):
            return float(value) if not _INT.match(value) else int(value)
        if kind == "boolean" and value.lower() in _BOOL:
            return _BOOL[value.lower()]
        if kind == "string":
            return value
    return value


def coerce_config(values: Mapping[str, str], validator: Any) -> dict[str, Any]:
    """Turn config.env strings into the types the schema declares; unparsable stays a string."""
    props = validator.schema.get("properties", {}) if validator is not None else {}
    typed: dict[str, Any] = {}
    for key, value in values.items():
        declared = props.get(key, {}).get("type", "string") if isinstance(props.get(key), dict) else "string"
        types = declared if isinstance(declared, list) else [declared]
        typed[key] = _coerce(value, ["string"] if "string" in types and len(types) == 1 else types)
    return typed


def _known(validator: Any, key: str) -> bool:
    schema = validator.schema
    if key in schema.get("properties", {}):
        return True
    return any(re.search(p, key) for p in schema.get("patternProperties", {}))


def config_problems(typed: Mapping[str, Any], validator: Any) -> Iterator[Problem]:
    """Unknown keys (with a did-you-mean), then every schema error tied to its key, in the
    words of :mod:`pytest_slo.schematext` (the one explainer of schema errors)."""
    schema = validator.schema
    strict = schema.get("additionalProperties") is False
    props = list(schema.get("properties", {}))
    for key in typed:
        if strict and not _known(validator, key):
            near = difflib.get_close_matches(key, props, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            yield Problem(f"unknown key {key}{hint}", key=key)
    errors = sorted(validator.iter_errors(dict(typed)), key=lambda e: [str(p) for p in e.absolute_path])
    missing: set[str] = set()  # jsonschema reports a required key once per key missing, each error naming all
    for error in errors:
        if error.validator == "additionalProperties":
            continue
        if error.validator == "required":
            for key in (k for k in error.validator_value if k not in error.instance and k not in missing):
                missing.add(key)
                yield Problem(f"missing required key {key}", key=None, path=(key,))
            continue
        _, message, advice = explain(error, schema, "config.env")[0]
        at = str(error.absolute_path[0]) if error.absolute_path else None
        yield Problem(message + (f" ({advice})" if advice else ""), key=at, path=tuple(error.absolute_path))


def _message(error: Any) -> str:
    # a format error's cause carries our unit hint ("write 2Gi or 2G")
    if error.validator == "format" and error.cause is not None:
        return str(error.cause)
    return str(error.message)


def values_problems(values: Any, validator: Any) -> list[Problem]:
    """Every schema error of a rendered values document, with its path."""
    errors = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    return [Problem(_message(e), path=tuple(e.absolute_path), instance=e.instance) for e in errors]
