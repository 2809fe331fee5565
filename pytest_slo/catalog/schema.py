"""The JSON Schema of a check, one per kind, and what a schema error says to a person.

A kind's ``spec_schema`` holds its own fields (``properties``, ``required`` and any other
keyword of JSON Schema 2020-12); :func:`kind_schema` joins it with :data:`BASE_SCHEMA`, the
fields every check has, into a complete schema. :func:`catalog_schema` is the schema of a
whole ``checks/*.yaml`` file, so editors and ``check-jsonschema`` judge a catalog exactly as
the gate does. Every field schema carries a ``description`` (what the value must be, as a
noun phrase) and ``examples`` (what to write): the messages are made from them.

Expressions and templates are checked with the formats ``slo-expression`` and
``slo-template`` (they must compile in the sandbox); a validator that does not know these
formats ignores them, as JSON Schema prescribes for unknown formats.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
import jsonschema

from ..expr import compile_expression, environment

__all__ = [
    "BASE_SCHEMA",
    "DURATION",
    "EXPRESSION",
    "FORMATS",
    "RUNBOOK",
    "SEVERITIES",
    "TEMPLATE",
    "catalog_schema",
    "explain",
    "field",
    "kind_schema",
    "test_or_assert",
    "validator_for",
]

SEVERITIES = ("P1", "P2", "P3", "P4")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def field(description: str, examples: list[Any] | None = None, **schema: Any) -> dict[str, Any]:
    """A field's schema with what it must be (``description``) and what to write (``examples``)."""
    out = dict(schema)
    out["description"] = description
    if examples:
        out["examples"] = examples
    return out


#: Prometheus' own duration syntax (prometheus/common model.ParseDuration, durationRE):
#: integers with units from largest to smallest, each at most once. ``1day``, ``1.5h`` and
#: ``30m1h`` are refused by Prometheus, so they are refused here.
DURATION = field(
    "a Prometheus duration",
    ["24h", "5m", "1h30m", "7d"],
    type="string",
    **{"$comment": "write an integer and a unit, largest unit first, as in 24h, 5m, 1h30m or 7d; the units are ms, s, m, h, d, w and y"},
    minLength=2,
    pattern="^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$",
)
EXPRESSION = field(
    "a jinja2 expression over the site's config",
    ["REDIS_EVICTION_POLICY != 'noeviction'", "REDIS_MAXMEMORY | redis_bytes <= 0.8 * (REDIS_MEMORY_LIMIT | bytes)"],
    type="string",
    minLength=1,
    format="slo-expression",
)
TEMPLATE = field(
    "a jinja2 template over the site's config",
    ["REDIS_EVICTION_POLICY={{ REDIS_EVICTION_POLICY }}"],
    type="string",
    format="slo-template",
)
RUNBOOK = field(
    "a repo-relative Markdown path with an optional #anchor, or a URL",
    ["checks/runbooks/redis.md#redis-eviction-policy", "https://runbooks.example.com/redis#oom"],
    type="string",
    pattern="^([a-z][a-z0-9+.-]*://[^ ]+|[^ #]+(#[A-Za-z0-9_.-]+)?)$",
)
SEVERITY = field("a severity, P1 (page now) to P4 (housekeeping)", list(SEVERITIES), enum=list(SEVERITIES))
# pytest gives these marker names behaviour: a check marked ``skip`` would silently never run.
_PYTEST_MARKS = ["skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "tryfirst", "trylast"]

BASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "kind", "severity", "runbook"],
    "properties": {
        "id": field(
            "a kebab-case id",
            ["redis-eviction-policy"],
            type="string",
            **{"$comment": "write lower-case words joined by '-', such as redis-eviction-policy: the id is the test name and the finding's key"},
            pattern="^[a-z0-9]+(-[a-z0-9]+)*$",
        ),
        "title": field("a one-line title saying what holds when the check passes", ["Redis evicts instead of refusing writes"], type="string", minLength=1),
        "kind": field("the name of a check kind", ["config", "values", "promql", "redis", "kube"], type="string"),
        "severity": SEVERITY,
        "runbook": RUNBOOK,
        "description": field("free text", ["why the check exists"], type="string"),
        "apps": field(
            "a list of app names",
            [["redis-cluster"]],
            **{"$comment": "write a list of folders under releases/<release>/apps/, such as [redis-cluster]"},
            type="array",
            minItems=1,
            uniqueItems=True,
            items=field("an app name", ["redis-cluster"], type="string", pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        ),
        "when": {**EXPRESSION, "description": "a jinja2 expression over the site's config: the check applies only where it is true"},
        "keys": field(
            "a list of config.env keys a failure points at",
            [["REDIS_MEMORY_LIMIT"]],
            type="array",
            items=field("a config.env key", ["REDIS_MEMORY_LIMIT"], type="string", pattern="^[A-Za-z_][A-Za-z0-9_]*$"),
        ),
        "markers": field(
            "a list of pytest marker names",
            [["drift"]],
            type="array",
            items=field(
                "a pytest marker name of lower-case letters, digits and '_' that pytest gives no behaviour",
                ["drift"],
                type="string",
                pattern="^[a-z][a-z0-9_]*$",
                **{"not": {"enum": _PYTEST_MARKS}},
            ),
        ),
        "actions": field(
            "a list of postmortem action items",
            [["Review every Redis cache for its eviction policy"]],
            type="array",
            items={
                "oneOf": [
                    field("an action item", ["Review every Redis cache for its eviction policy"], type="string", minLength=1),
                    field(
                        "an action item with owner and priority",
                        [{"action": "Capacity planning review", "owner": "SRE lead", "priority": "P2"}],
                        type="object",
                        required=["action"],
                        properties={
                            "action": field("what to do", ["Capacity planning review"], type="string", minLength=1),
                            "owner": field("who does it", ["SRE lead"], type="string"),
                            "priority": {**SEVERITY, "description": "a priority, P1 to P4"},
                            "runbook": RUNBOOK,
                        },
                        additionalProperties=False,
                    ),
                ]
            },
        ),
    },
}

_COMBINE = ("properties", "required")


def test_or_assert(kind: str, tests: list[str], expression: Mapping[str, Any]) -> dict[str, Any]:
    """The spec schema of a kind judged either by a named ``test:`` or by an ``assert:``
    expression (with ``found:``/``expect:`` for its message), never both."""
    return {
        "properties": {"test": field(f"a test of kind {kind}", tests, enum=tests), **expression},
        "anyOf": [{"required": ["test"]}, {"required": ["assert"]}],
        "dependentSchemas": {
            "test": {
                "description": "is set, so assert: is never read",
                "$comment": "keep one of test: and assert:",
                "not": {"required": ["assert"]},
            }
        },
        "dependentRequired": {"found": ["assert"], "expect": ["assert"]},
    }


def kind_schema(name: str, spec_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The complete JSON Schema of one check of kind ``name``: the common fields, the kind's
    fields, no others; the kind's other keywords (``dependentSchemas``, ``anyOf``...) apply too."""
    properties = {**BASE_SCHEMA["properties"], **dict(spec_schema.get("properties", {}))}
    properties["kind"] = field(f"the kind {name}", [name], const=name)
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": f"a pytest-slo check of kind {name}",
        "type": "object",
        "required": [*BASE_SCHEMA["required"], *(r for r in spec_schema.get("required", ()) if r not in BASE_SCHEMA["required"])],
        "properties": properties,
        "additionalProperties": False,
    }
    extra = {k: v for k, v in spec_schema.items() if k not in _COMBINE}
    if extra:
        schema["allOf"] = [extra]
    return schema


def catalog_schema(kinds: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON Schema of a ``checks/*.yaml`` file for the given kinds (name → spec_schema)."""
    defs = {name: {k: v for k, v in kind_schema(name, spec).items() if k != "$schema"} for name, spec in kinds.items()}
    branches = [
        {"if": {"properties": {"kind": {"const": name}}, "required": ["kind"]}, "then": {"$ref": f"#/$defs/{name}"}}
        for name in sorted(kinds)
    ]
    check = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": sorted(kinds)}},
        "allOf": branches,
    }
    return {
        "$schema": DIALECT,
        "title": "a pytest-slo check catalog (checks/*.yaml)",
        "type": "object",
        "required": ["checks"],
        "properties": {"checks": {"type": "array", "items": check}},
        "additionalProperties": False,
        "$defs": defs,
    }


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("slo-expression", raises=jinja2.TemplateSyntaxError)
def _expression(value: object) -> bool:
    if isinstance(value, str):
        compile_expression(value)
    return True


@FORMATS.checks("slo-template", raises=jinja2.TemplateSyntaxError)
def _template(value: object) -> bool:
    if isinstance(value, str):
        environment().from_string(value)  # compiling also finds unknown filters
    return True


def validator_for(name: str, spec_schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(kind_schema(name, spec_schema), format_checker=FORMATS)


# --------------------------------------------------------------------------- messages

_TYPES = {str: "text", int: "a number", float: "a number", bool: "true/false", list: "a list", dict: "a mapping", type(None): "empty"}


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
    found = None
    for node in _walk(root, path):
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


def explain(error: jsonschema.ValidationError, root: Mapping[str, Any], kind: str) -> list[tuple[tuple[Any, ...], str, str | None]]:
    """What a schema error means for a person: for each field it concerns, the path of the
    field to edit, what is wrong, and what to write."""
    path = tuple(error.absolute_path)
    where = _name(path)
    at = f"{where}: " if where else ""
    schema_path = list(error.absolute_schema_path)
    examples = _nearest(root, schema_path[:-1], "examples")
    description = _nearest(root, schema_path[:-1], "description")
    advice = _nearest(root, schema_path[:-1], "$comment")
    validator: Any = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    properties = _nearest_properties(root, schema_path)

    if "dependentSchemas" in schema_path:
        # "field X needs the check to be such": blame X, at the level the rule applies to
        cut = schema_path.index("dependentSchemas")
        owner = schema_path[cut + 1]
        below = sum(1 for part in schema_path[cut + 2 :] if part in ("properties", "items", "additionalProperties"))
        rule = _node(root, schema_path[: cut + 2])
        return [((*path[: len(path) - below], owner), f"{owner}: {rule.get('description', error.message)}", rule.get("$comment"))]
    if validator == "required":
        missing = [k for k in value if isinstance(instance, Mapping) and k not in instance]
        return [(path, f"{at}{m} is missing", _write(_prop(properties, m).get("examples"), m)) for m in missing[:1]]
    if validator == "additionalProperties" and isinstance(instance, Mapping):
        known = sorted(properties)
        out: list[tuple[tuple[Any, ...], str, str | None]] = []
        for extra in sorted(set(instance) - set(properties), key=str):
            close = _closest(str(extra), known)
            hint = f"did you mean {close}?" if close else f"the fields are: {', '.join(known)}"
            out.append(((*path, extra), f"{extra} is not a field of {where or f'a {kind} check'}", hint))
        return out
    if validator == "dependentRequired" and isinstance(instance, Mapping):
        out = []
        for key, needs in value.items():
            lacking = [n for n in needs if key in instance and n not in instance]
            if lacking:
                out.append(((*path, key), f"{key}: is read only together with {lacking[0]}:", f"add {lacking[0]}: or remove {key}:"))
        return out
    if validator in ("anyOf", "oneOf") and all(isinstance(s, Mapping) and set(s) == {"required"} for s in value):
        options = [s["required"][0] for s in value]
        shown = [f"{o}: {_prop(properties, o).get('examples', ['...'])[0]}" for o in options]
        return [(path, f"{at}needs {' or '.join(o + ':' for o in options)}", "write " + " or ".join(shown))]
    if validator == "oneOf":
        # an action item that is neither text nor a valid mapping: the mapping's error says more
        context = [e for e in error.context or [] if e.validator != "type"]
        if context and isinstance(instance, Mapping):
            return explain(context[0], root, kind)
        return [(path, f"{at}{_show(instance)} is not {description or 'valid'}", _write(examples))]
    if validator == "enum":
        close = _closest(str(instance), [str(v) for v in value]) if isinstance(instance, str) else None
        hint = (f"did you mean {close}? " if close else "") + "write one of: " + ", ".join(map(str, value))
        return [(path, f"{at}{_show(instance)} is not {description or 'one of the allowed values'}", hint)]
    if validator == "format":
        detail = getattr(error.cause, "message", None) or str(error.cause or error.message)
        return [(path, f"{at}{_show(instance)} does not compile: {detail}", _write(examples))]
    if validator == "type":
        value_shown = "" if isinstance(instance, (dict, list)) else f"{_show(instance)} "  # "a list is a list" says nothing
        return [(path, f"{at}{value_shown}is {_TYPES.get(type(instance), type(instance).__name__)}, not {description or value}", advice or _write(examples))]
    if validator in ("minLength", "minItems"):
        return [(path, f"{at}is empty", _write(examples))]
    if validator == "minimum":
        return [(path, f"{at}{_show(instance)} is below the minimum of {value}", _write(examples))]
    if validator == "uniqueItems":
        return [(path, f"{at}lists a value twice", "list each once")]
    if validator == "not":
        return [(path, f"{at}{_show(instance)} is reserved: pytest gives it behaviour", "choose another name")]
    if validator in ("pattern", "const"):
        return [(path, f"{at}{_show(instance)} is not {description or 'valid'}", advice or _write(examples))]
    return [(path, f"{at}{error.message}", advice or _write(examples))]


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
