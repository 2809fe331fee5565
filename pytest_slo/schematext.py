"""What a JSON Schema error says to a person: the field to edit, what is wrong, what to write.

One explainer for every schema the gate validates against: a check of the catalog (whose
schemas carry a ``description`` of what a value must be, ``examples`` of what to write and a
``$comment`` of advice), a waiver, an OpenSLO document (the published schema, without those
annotations) and a site's config.env (a release's ``config.schema.json``). Unknown fields and
enum values get the nearest known one; a ``oneOf``/``anyOf`` is explained by the branch meant
for the document (not one written for another ``kind``), or as "needs one of" alternatives.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

__all__ = ["Explained", "explain"]

#: ``(path of the field to edit, what is wrong, what to write or None)``.
Explained = tuple[tuple[Any, ...], str, str | None]

#: Formats whose value is jinja2 the catalog compiles: an error there is a syntax error.
_COMPILED = ("slo-expression", "slo-template")

_TYPES = {
    str: "text",
    int: "a number",
    float: "a number",
    bool: "true/false",
    list: "a list",
    dict: "a mapping",
    type(None): "empty",
}


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _TYPES[type(value)]
    return repr(value)


def _walk(schema: Any, path: Any) -> Iterator[Any]:
    """Every subschema along a schema path, from the root down."""
    node = schema
    yield node
    for part in path:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return
        yield node


def _nearest(root: Mapping[str, Any], path: Any, key: str) -> Any:
    """``key`` of the deepest subschema along ``path`` that has it, the root aside: a root's
    ``description`` says what the whole document is, never what one field must be."""
    found = None
    for node in list(_walk(root, path))[1:]:
        if isinstance(node, Mapping) and key in node and not isinstance(node.get(key), Mapping):
            found = node[key]
    return found


def _write(examples: Any, name: str | None = None) -> str | None:
    if not examples:
        return None
    shown = [e if isinstance(e, str) else _dump(e) for e in examples[:3]]
    if name:  # an example's shape, never a file this repository need have
        return f"write e.g. {name}: {shown[0]}"
    return "write e.g. " + (f"{', '.join(shown[:-1])} or {shown[-1]}" if len(shown) > 1 else shown[0])


def _dump(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_dump(v)}" for k, v in value.items()) + "}"
    return str(value)


def _name(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _closest(word: str, choices: list[str]) -> str | None:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return match[0] if match else None


@dataclass(frozen=True)
class _Error:
    """What every rule reads of one error: the field, its words, and the schema around it."""

    error: Any
    root: Mapping[str, Any]
    what: str
    path: tuple[Any, ...]
    at: str
    examples: Any
    description: Any
    advice: Any
    properties: dict[str, Any]

    @classmethod
    def of(cls, error: Any, root: Mapping[str, Any], what: str) -> _Error:
        path = tuple(error.absolute_path)
        schema_path = list(error.absolute_schema_path)[:-1]
        return cls(error, root, what, path, f"{_name(path)}: " if path else "", _nearest(root, schema_path, "examples"),
                   _nearest(root, schema_path, "description"), _nearest(root, schema_path, "$comment"),
                   _nearest_properties(root, list(error.absolute_schema_path)))

    def one(self, message: str, hint: str | None = None, path: tuple[Any, ...] | None = None) -> list[Explained]:
        return [(self.path if path is None else path, message, hint)]


_NOUNS = {
    "integer": "an integer",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}


def _dependent_schema(e: _Error) -> list[Explained]:
    # "field X needs the check to be such": blame X, at the level the rule applies to
    schema_path = list(e.error.absolute_schema_path)
    cut = schema_path.index("dependentSchemas")
    owner = schema_path[cut + 1]
    below = sum(1 for part in schema_path[cut + 2 :] if part in ("properties", "items", "additionalProperties"))
    rule = _node(e.root, schema_path[: cut + 2])
    return e.one(
        f"{owner}: {rule.get('description', e.error.message)}",
        rule.get("$comment"),
        (*e.path[: len(e.path) - below], owner),
    )


def _required(e: _Error) -> list[Explained]:
    missing = [
        k for k in e.error.validator_value if isinstance(e.error.instance, Mapping) and k not in e.error.instance
    ]
    return [(e.path, f"{e.at}{m} is missing", _write(_prop(e.properties, m).get("examples"), m)) for m in missing[:1]]


def _additional(e: _Error) -> list[Explained]:
    if not isinstance(e.error.instance, Mapping):
        return _generic(e)
    known = sorted(e.properties)
    out: list[Explained] = []
    for extra in sorted(set(e.error.instance) - set(e.properties), key=str):
        close = _closest(str(extra), known)
        hint = f"did you mean {close}?" if close else f"the fields are: {', '.join(known)}"
        out.append(((*e.path, extra), f"{extra} is not a field of {_name(e.path) or e.what}", hint))
    return out


def _dependent_required(e: _Error) -> list[Explained]:
    instance = e.error.instance
    out: list[Explained] = []
    for key, needs in e.error.validator_value.items():
        lacking = [n for n in needs if isinstance(instance, Mapping) and key in instance and n not in instance]
        if lacking:
            out.append(
                (
                    (*e.path, key),
                    f"{key}: is read only together with {lacking[0]}:",
                    f"add {lacking[0]}: or remove {key}:",
                )
            )
    return out


def _alternatives(e: _Error) -> list[Explained]:
    """A oneOf/anyOf: one of several fields is needed, or the branch meant for the document says why."""
    value, instance = e.error.validator_value, e.error.instance
    if all(isinstance(s, Mapping) and set(s) == {"required"} for s in value):
        options = [s["required"][0] for s in value]
        shown = [f"{o}: {_prop(e.properties, o).get('examples', ['...'])[0]}" for o in options]
        return e.one(f"{e.at}needs {' or '.join(o + ':' for o in options)}", "write " + " or ".join(shown))
    branches = _branches(e.error)
    paths = {tuple(c.absolute_path) for c in branches}
    if len(branches) > 1 and len(paths) == 1 and all(c.validator == "required" and not c.context for c in branches):
        options = list(dict.fromkeys("/".join(map(str, c.validator_value)) for c in branches))
        return [
            (
                paths.pop(),
                f"{_name(tuple(branches[0].absolute_path))}: needs {' or '.join(o + ':' for o in options)}".lstrip(
                    ": "
                ),
                None,
            )
        ]
    # an item that is neither form: the error of the branch of its own shape says the most
    # (a branch of another type, at this very field, says only "not that type")
    shaped = (
        [c for c in branches if c.validator != "type" or tuple(c.absolute_path) != e.path]
        if isinstance(instance, Mapping)
        else []
    )
    if shaped:  # every problem of the branch meant for it, each at its field
        return [x for child in shaped for x in explain(child, e.root, e.what)]
    return e.one(f"{e.at}{_show(instance)} is not {e.description or 'valid'}", _write(e.examples))


def _branches(error: Any) -> list[Any]:
    """The errors of a oneOf/anyOf's branches, leaving out every branch written for another
    ``kind`` (OpenSLO's top level has one branch per kind)."""
    groups: dict[Any, list[Any]] = {}
    for child in error.context or ():
        groups.setdefault(child.relative_schema_path[0] if child.relative_schema_path else None, []).append(child)
    kept = [
        g for g in groups.values() if not any(c.validator == "const" and list(c.absolute_path) == ["kind"] for c in g)
    ]
    return [c for g in kept for c in g]


def _enum(e: _Error) -> list[Explained]:
    value, instance = e.error.validator_value, e.error.instance
    close = _closest(str(instance), [str(v) for v in value]) if isinstance(instance, str) else None
    hint = (f"did you mean {close}? " if close else "") + "write one of: " + ", ".join(map(str, value))
    return e.one(f"{e.at}{_show(instance)} is not {e.description or 'one of the allowed values'}", hint)


def _format(e: _Error) -> list[Explained]:
    detail = getattr(e.error.cause, "message", None) or str(e.error.cause or e.error.message)
    if e.error.validator_value in _COMPILED:  # jinja2 that does not compile
        return e.one(f"{e.at}{_show(e.error.instance)} does not compile: {detail}", _write(e.examples))
    return e.one(f"{e.at}{detail}", _write(e.examples))  # a unit's own words (``'2GB' is not a Kubernetes quantity``)


def _type(e: _Error) -> list[Explained]:
    instance, value = e.error.instance, e.error.validator_value
    value_shown = "" if isinstance(instance, (dict, list)) else f"{_show(instance)} "  # "a list is a list" says nothing
    wanted = e.description or " or ".join(
        _NOUNS.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value])
    )
    return e.one(
        f"{e.at}{value_shown}is {_TYPES.get(type(instance), type(instance).__name__)}, not {wanted}",
        e.advice or _write(e.examples),
    )


def _bound(e: _Error) -> list[Explained]:
    word = {"minimum": "below the minimum of", "exclusiveMinimum": "not above", "maximum": "above the maximum of",
            "exclusiveMaximum": "not below"}[e.error.validator]
    return e.one(f"{e.at}{_show(e.error.instance)} is {word} {e.error.validator_value}", _write(e.examples))


def _text(message: str, hint: str | None = None) -> Callable[[_Error], list[Explained]]:
    return lambda e: e.one(f"{e.at}{message.format(value=_show(e.error.instance))}", hint or _write(e.examples))


def _shape(e: _Error) -> list[Explained]:
    wanted = e.description or (_show(e.error.validator_value) if e.error.validator == "const" else "valid")
    return e.one(f"{e.at}{_show(e.error.instance)} is not {wanted}", e.advice or _write(e.examples))


def _generic(e: _Error) -> list[Explained]:
    return e.one(f"{e.at}{e.error.message}", e.advice or _write(e.examples))


_RULES: dict[str, Callable[[_Error], list[Explained]]] = {
    "required": _required,
    "additionalProperties": _additional,
    "dependentRequired": _dependent_required,
    "anyOf": _alternatives,
    "oneOf": _alternatives,
    "enum": _enum,
    "format": _format,
    "type": _type,
    "minimum": _bound, "exclusiveMinimum": _bound, "maximum": _bound, "exclusiveMaximum": _bound,
    "minLength": _text("is empty"),
    "minItems": _text("is empty"),
    "uniqueItems": _text("lists a value twice", "list each once"),
    "not": _text("{value} is reserved: pytest gives it behaviour", "choose another name"),
    "pattern": _shape,
    "const": _shape,
}


def explain(error: jsonschema.ValidationError, root: Mapping[str, Any], what: str) -> list[Explained]:
    """What a schema error means for a person: for each field it concerns, the path of the
    field to edit, what is wrong, and what to write. ``what`` names the document (``a kube
    check``, ``a waiver``): an unknown top-level field is "not a field of" it."""
    e = _Error.of(error, root, what)
    if "dependentSchemas" in error.absolute_schema_path:
        return _dependent_schema(e)
    return _RULES.get(str(error.validator), _generic)(e)


def _node(root: Mapping[str, Any], path: list[Any]) -> Mapping[str, Any]:
    node: Any = root
    for node in _walk(root, path):  # noqa: B007 - the last one reached is wanted
        pass
    return node if isinstance(node, Mapping) else {}


def _nearest_properties(root: Mapping[str, Any], schema_path: list[Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for node in _walk(root, schema_path[:-1]):
        if isinstance(node, Mapping) and isinstance(node.get("properties"), Mapping):
            props = dict(node["properties"])
    return props


def _prop(properties: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = properties.get(name)
    return value if isinstance(value, Mapping) else {}
