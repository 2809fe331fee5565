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

from collections.abc import Mapping
from typing import Any

import jinja2
import jsonschema

from ..expr import check_template, compile_expression

__all__ = [
    "BASE_SCHEMA",
    "DURATION",
    "EXPRESSION",
    "FORMATS",
    "RUNBOOK",
    "SEVERITIES",
    "TEMPLATE",
    "catalog_schema",
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
    **{
        "$comment": "write an integer and a unit, largest unit first, as in 24h, 5m, 1h30m or 7d; the units are ms, s, "
                    "m, h, d, w and y"
    },
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
            **{
                "$comment": "write lower-case words joined by '-', such as redis-eviction-policy: the id is the test "
                            "name and the finding's key"
            },
            pattern="^[a-z0-9]+(-[a-z0-9]+)*$",
        ),
        "title": field(
            "a one-line title saying what holds when the check passes",
            ["Redis evicts instead of refusing writes"],
            type="string",
            minLength=1,
        ),
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
        "when": {
            **EXPRESSION,
            "description": "a jinja2 expression over the site's config: the check applies only where it is true",
        },
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
                    field(
                        "an action item",
                        ["Review every Redis cache for its eviction policy"],
                        type="string",
                        minLength=1,
                    ),
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
        "required": [
            *BASE_SCHEMA["required"],
            *(r for r in spec_schema.get("required", ()) if r not in BASE_SCHEMA["required"]),
        ],
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
        check_template(value)  # its syntax and its filters; it compiles when first rendered
    return True


def validator_for(name: str, spec_schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(kind_schema(name, spec_schema), format_checker=FORMATS)
