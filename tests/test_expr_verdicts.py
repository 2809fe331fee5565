"""A check's ``assert``/``found``/``expect`` evaluated at a site of a small GitOps repository
written into tmp_path (the shipped example's ``sites/`` and ``releases/``): the verdict, the
message a person reads when a value cannot be used, and the line it sends them to. No server,
no pytest session; the errors are raised through ``evaluate``/``render_text``, never built here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_slo.catalog.model import Check
from pytest_slo.errors import CatalogError, ConfigError
from pytest_slo.kinds import Target
from pytest_slo.kinds._expr import (
    config_context,
    evaluate,
    judge,
    location_keys,
    message_text,
    read_paths,
    render_text,
)
from pytest_slo.kinds.values import ValuesKind
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo
from pytest_slo.sources import LiveOptions, Sources
from pytest_slo.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[1]
ENV = "sites/production/config.env"
VALUES = "sites/production/apps/redis-cluster/values.yaml"
CONFIG_SCHEMA = "releases/1.15/config.schema.json"
NUMBER = 'write a number, and declare the key "type": "integer" (or "number") in'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("sites", "releases"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def target(root: Path, app: str | None = "redis-cluster") -> Target:
    return Target(Repo(root, DEFAULT_VALUES_PATH).site("production"), app, Sources(LiveOptions()))


def check(*, keys: tuple[str, ...] = (), **spec: Any) -> Check:
    return Check(id="t-check", title="the title", kind="values", severity="P2", runbook="checks/runbooks/v.md",
                 source="checks/team.yaml", line=7, apps=("redis-cluster",), keys=keys, spec=spec)


def set_env(root: Path, **values: str) -> None:
    """Set keys of the site's config.env (appended when new)."""
    path = root / ENV
    lines = path.read_text().splitlines()
    for key, value in values.items():
        at = [i for i, line in enumerate(lines) if line.startswith(f"{key}=")]
        if at:
            lines[at[0]] = f"{key}={value}"
        else:
            lines.append(f"{key}={value}")
    path.write_text("\n".join(lines) + "\n")


def env_line(root: Path, key: str) -> int:
    lines = (root / ENV).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(f"{key}="))


def context(root: Path, t: Target, *, values: bool = True) -> dict[str, Any]:
    found = config_context(t)
    if values:
        found["values"] = load_yaml((root / VALUES).read_text(), VALUES)
    return found


def error_of(source: str, root: Path, t: Target | None = None, ctx: dict[str, Any] | None = None, *,
             template: bool = False) -> ConfigError:
    t = t or target(root)
    ctx = context(root, t) if ctx is None else ctx
    with pytest.raises(ConfigError) as caught:
        (render_text if template else evaluate)(source, check(), t, ctx)
    return caught.value


def cannot(source: str, why: str, *lines: str) -> str:
    return f"check t-check: cannot evaluate {source!r} at production: {why}" + "".join(f"\n  {x}" for x in lines)


# --------------------------------------------------------------------------- the context


def test_the_context_is_the_typed_config_with_the_site_and_the_app(root: Path) -> None:
    found = config_context(target(root))
    assert found["REDIS_REPLICAS"] == 3 and found["REDIS_MAXMEMORY"] == "1536mb"
    assert (found["site"], found["app"]) == ("production", "redis-cluster")
    assert config_context(target(root, None))["app"] is None


# --------------------------------------------------------------------------- verdicts


def test_a_true_assert_passes_with_the_keys_it_read_as_evidence(root: Path) -> None:
    t = target(root)
    ok, message, evidence = judge(check(**{"assert": "REDIS_REPLICAS >= 3 and site == 'production'"}), t,
                                  context(root, t))
    assert (ok, message) == (True, "")
    assert evidence == {"assert": "REDIS_REPLICAS >= 3 and site == 'production'", "REDIS_REPLICAS": 3}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("REDIS_REPLICAS > 5", "REDIS_REPLICAS=3; expected REDIS_REPLICAS > 5"),
        ("REDIS_REPLICAS > 5 or values.replicaCount > 5 or values['redis'].maxmemory == '1gb'",
         "REDIS_REPLICAS=3, values.replicaCount=3, values.redis.maxmemory='1536mb'; expected REDIS_REPLICAS > 5 or "
         "values.replicaCount > 5 or values['redis'].maxmemory == '1gb'"),
        ("values.image.get('nothing') == 1", "values.image.get=None; expected values.image.get('nothing') == 1"),
        ("1 > 2", "1 > 2 is false; expected 1 > 2"),
    ],
)
def test_a_false_assert_says_what_it_read_and_what_it_expected(root: Path, source: str, message: str) -> None:
    t = target(root)
    ok, said, evidence = judge(check(**{"assert": source}), t, context(root, t))
    found, _, expected = message.partition("; expected ")
    assert (ok, said) == (False, message)
    assert (evidence["found"], evidence["expected"], evidence["assert"]) == (found, expected, source)


def test_a_field_of_an_object_is_read_by_attribute(root: Path) -> None:
    t = target(root)
    ctx = {**context(root, t), "live": SimpleNamespace(used=5)}
    ok, message, _ = judge(check(**{"assert": "live.used > 10 and live.nope"}), t, ctx)
    assert (ok, message) == (False, "live.used=5, live.nope=None; expected live.used > 10 and live.nope")


def test_found_and_expect_templates_word_the_message(root: Path) -> None:
    set_env(root, REDIS_MEMORY_LIMIT="2GB")
    t = target(root)
    spec = {"assert": "REDIS_REPLICAS > 5", "found": " {{ REDIS_REPLICAS }} replicas ",
            "expect": "more than {{ REDIS_MEMORY_LIMIT | bytes }} bytes"}
    ok, message, evidence = judge(check(**spec), t, context(root, t))
    bad = "<'2GB' is not a Kubernetes quantity (Kubernetes writes 2Gi for binary or 2G for decimal units)>"
    assert not ok  # the value it cannot use stands in for the whole template
    assert message == f"3 replicas; expected {bad}"
    assert evidence == {"assert": "REDIS_REPLICAS > 5", "REDIS_REPLICAS": 3, "found": "3 replicas", "expected": bad}


def test_a_message_template_that_names_no_key_or_breaks_is_an_error(root: Path) -> None:
    t = target(root)
    with pytest.raises(ConfigError) as caught:
        message_text("{{ NOPE_KEY }}", check(), t, context(root, t))
    assert (caught.value.message, caught.value.path, caught.value.hint) == (
        "NOPE_KEY is not set, and check t-check needs it", ENV, f"add NOPE_KEY=... to {ENV}"
    )
    with pytest.raises(CatalogError) as syntax:
        message_text("{{ REDIS_REPLICAS ", check(), t, context(root, t))
    assert (syntax.value.path, syntax.value.line) == ("checks/team.yaml", 7)
    assert syntax.value.message.startswith("check t-check: '{{ REDIS_REPLICAS ': unexpected end of template")


# --------------------------------------------------------------------------- errors of the site and the catalog


def test_an_unset_key_is_the_sites_error_and_says_what_to_add(root: Path) -> None:
    e = error_of("NOPE_KEY > 1", root)
    assert (e.message, e.path, e.line, e.hint) == (
        "NOPE_KEY is not set, and check t-check needs it", ENV, None, f"add NOPE_KEY=... to {ENV}"
    )
    e = error_of("{{ NOPE_KEY }}", root, template=True)
    assert e.message == "NOPE_KEY is not set, and check t-check needs it"


@pytest.mark.parametrize(
    ("source", "said"),
    [("nope > 1", "'nope' is undefined"), ("values.nope.deeper", "'dict object' has no attribute 'nope'")],
)
def test_an_undefined_lower_case_name_is_the_catalogs_error(root: Path, source: str, said: str) -> None:
    e = error_of(source, root)
    assert (e.message, e.path, e.line, e.hint) == (f"check t-check: {said}", "checks/team.yaml", 7, None)


def test_a_syntax_error_is_the_catalogs_error(root: Path) -> None:
    e = error_of("a +", root)
    assert isinstance(e, CatalogError)
    assert (e.message, e.path, e.line) == ("check t-check: expression 'a +': unexpected 'end of template'",
                                           "checks/team.yaml", 7)
    e = error_of("x{{ REDIS_REPLICAS ", root, template=True)
    assert isinstance(e, CatalogError)
    assert (e.message, e.path, e.line) == (
        "check t-check: 'x{{ REDIS_REPLICAS ': unexpected end of template, expected 'end of print statement'.",
        "checks/team.yaml", 7,
    )


def test_a_template_renders_stripped(root: Path) -> None:
    t = target(root)
    assert render_text("  up{{ REDIS_REPLICAS }} \n", check(), t, context(root, t)) == "up3"


# --------------------------------------------------------------------------- a value it cannot use


def test_a_unit_filter_names_the_key_it_refused_first_and_points_at_it(root: Path) -> None:
    set_env(root, REDIS_MEMORY_LIMIT="2GB")
    source = "REDIS_MEMORY_REQUEST | bytes <= REDIS_MEMORY_LIMIT | bytes"
    e = error_of(source, root)
    assert e.message == cannot(
        source, "'2GB' is not a Kubernetes quantity (Kubernetes writes 2Gi for binary or 2G for decimal units)",
        f"{ENV}:13: REDIS_MEMORY_LIMIT=2GB  <- this value", f"{ENV}:12: REDIS_MEMORY_REQUEST=2Gi",
    )
    assert (e.path, e.line) == (ENV, 13)


def test_a_value_with_a_quote_is_still_found_in_the_error(root: Path) -> None:
    set_env(root, REDIS_MEMORY_LIMIT="it's")
    source = "REDIS_MEMORY_REQUEST | bytes <= REDIS_MEMORY_LIMIT | bytes"
    e = error_of(source, root)
    assert e.message.endswith(
        f"\n  {ENV}:13: REDIS_MEMORY_LIMIT=it's  <- this value\n  {ENV}:12: REDIS_MEMORY_REQUEST=2Gi"
    )
    assert e.line == 13


def test_a_template_names_the_key_it_refused(root: Path) -> None:
    set_env(root, REDIS_MEMORY_LIMIT="2GB")
    source = "limit {{ REDIS_MEMORY_LIMIT | bytes }}"
    e = error_of(source, root, template=True)
    assert e.message == cannot(
        source, "'2GB' is not a Kubernetes quantity (Kubernetes writes 2Gi for binary or 2G for decimal units)",
        f"{ENV}:13: REDIS_MEMORY_LIMIT=2GB  <- this value",
    )
    assert (e.path, e.line) == (ENV, 13)


def test_text_compared_with_a_number_names_the_text_keys_and_how_to_declare_them(root: Path) -> None:
    set_env(root, REDIS_PASSWORD="hunter22")
    source = "REDIS_REPLICAS > 0 and REDIS_IMAGE_TAG > 3 and REDIS_PASSWORD > 2"
    e = error_of(source, root)
    line = env_line(root, "REDIS_PASSWORD")
    assert e.message.startswith(
        f"check t-check: cannot evaluate {source!r} at production: REDIS_IMAGE_TAG='7.0.15', REDIS_PASSWORD='***'"
    )
    assert "hunter22" not in e.message
    assert e.message.endswith(
        f" is text where the expression needs a number: {NUMBER} {CONFIG_SCHEMA}"
        f"\n  {ENV}:10: REDIS_IMAGE_TAG=7.0.15  <- text, not a number"
        f"\n  {ENV}:{line}: REDIS_PASSWORD=***  <- text, not a number"
        f"\n  {ENV}:9: REDIS_REPLICAS=3"
    )
    assert (e.path, e.line) == (ENV, 10)


def test_the_text_key_is_listed_first_though_its_line_is_later(root: Path) -> None:
    source = "REDIS_REPLICAS > REDIS_EVICTION_POLICY"
    e = error_of(source, root)
    assert e.message == cannot(
        source, f"REDIS_EVICTION_POLICY='allkeys-lru' is text where the expression needs a number: {NUMBER} "
        f"{CONFIG_SCHEMA}",
        f"{ENV}:17: REDIS_EVICTION_POLICY=allkeys-lru  <- text, not a number", f"{ENV}:9: REDIS_REPLICAS=3",
    )
    assert e.line == 17


@pytest.mark.parametrize("key", ["REDIS_REPLICAS", "SLO_API_ERROR_RATE_PERCENT"])
def test_a_key_declared_a_number_but_written_as_text_is_named_as_such(root: Path, key: str) -> None:
    set_env(root, **{key: "three"})
    source = f"{key} > 1"
    e = error_of(source, root)
    assert e.message == cannot(
        source, f"{key}='three' is not a number, though {CONFIG_SCHEMA} declares {key} one: write a number",
        f"{ENV}:{env_line(root, key)}: {key}=three  <- text, not a number",
    )


def test_two_keys_declared_numbers_but_written_as_text_are_both_named(root: Path) -> None:
    set_env(root, REDIS_REPLICAS="three", API_REPLICAS="four")
    source = "REDIS_REPLICAS > 1 and API_REPLICAS > 1"
    e = error_of(source, root)
    assert e.message.startswith(cannot(
        source, f"REDIS_REPLICAS='three', API_REPLICAS='four' is not a number, though {CONFIG_SCHEMA} declares "
        "REDIS_REPLICAS, API_REPLICAS one: write a number",
    ) + "\n")


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "object"}, CONFIG_SCHEMA),  # no properties at all
        ({"type": "object", "properties": {"REDIS_IMAGE_TAG": True}}, CONFIG_SCHEMA),
        (None, "releases/<release>/config.schema.json"),  # the site's release does not exist
    ],
)
def test_a_key_the_schema_does_not_declare_is_asked_to_be_declared(
    root: Path, schema: dict[str, Any] | None, where: str
) -> None:
    t = target(root)
    ctx = context(root, t)  # typed by the shipped schema
    if schema is None:
        set_env(root, RELEASE="9.99")
    else:
        (root / CONFIG_SCHEMA).write_text(json.dumps(schema))
    source = "REDIS_IMAGE_TAG > 3"
    e = error_of(source, root, target(root), ctx)
    assert e.message == cannot(
        source, f"REDIS_IMAGE_TAG='7.0.15' is text where the expression needs a number: {NUMBER} {where}",
        f"{ENV}:10: REDIS_IMAGE_TAG=7.0.15  <- text, not a number",
    )


def test_an_error_that_names_no_key_lists_the_keys_read_in_file_order_and_points_at_the_first_read(root: Path) -> None:
    source = "1/0 > REDIS_MAXMEMORY_SAMPLES + REDIS_REPLICAS + (site | length)"
    e = error_of(source, root)
    samples = env_line(root, "REDIS_MAXMEMORY_SAMPLES")
    assert e.message == cannot(
        source, "division by zero", f"{ENV}:9: REDIS_REPLICAS=3", f"{ENV}:{samples}: REDIS_MAXMEMORY_SAMPLES=5"
    )
    assert (e.path, e.line) == (ENV, samples)


def test_an_error_that_reads_no_key_points_at_config_env(root: Path) -> None:
    e = error_of("1/0 > (site | length)", root)
    assert e.message == cannot("1/0 > (site | length)", "division by zero")
    assert (e.path, e.line) == (ENV, None)


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("1/0  >\n  REDIS_REPLICAS", "1/0 > REDIS_REPLICAS"),
        ("1/0 > " + " + ".join(["REDIS_REPLICAS"] * 6) + " + " + "9" * 12, None),  # 120 characters: whole
        ("1/0 > " + " + ".join(["REDIS_REPLICAS"] * 6) + " + " + "9" * 13, None),  # 121: cut
    ],
)
def test_the_expression_is_shown_on_one_line_of_at_most_120_characters(
    root: Path, source: str, shown: str | None
) -> None:
    if shown is None:
        shown = source if len(source) <= 120 else source[:117] + "..."
    e = error_of(source, root)
    assert e.message.startswith(f"check t-check: cannot evaluate {shown!r} at production: division by zero\n")
    assert len(source) in (23, 120, 121)  # the cases are what their comments say


# --------------------------------------------------------------------------- fields of values and live


def test_a_text_field_of_values_compared_with_a_number_points_at_its_line(root: Path) -> None:
    source = "values.resources.limits.memory > 1"
    e = error_of(source, root)
    assert e.message == cannot(
        source, "values.resources.limits.memory='2Gi' is text where the expression needs a number",
        "values.resources.limits.memory='2Gi'  <- text, not a number",
    )
    assert (e.path, e.line) == (VALUES, 12)


def test_the_values_kind_raises_the_same_error_at_the_committed_line(root: Path) -> None:
    c = check(**{"assert": "values.resources.limits.memory > 1"})
    with pytest.raises(ConfigError) as caught:
        ValuesKind().evaluate(c, target(root), None)
    assert (caught.value.path, caught.value.line) == (VALUES, 12)


def test_the_field_a_unit_filter_refused_is_marked_and_its_line_named(root: Path) -> None:
    source = "values.resources.limits.memory | bytes > 0 and values.redis.maxmemory | bytes > 0"
    e = error_of(source, root)
    assert e.message == cannot(
        source,
        "'1536mb' is not a Kubernetes quantity (Kubernetes writes 1536Mi for binary or 1536M for decimal units)",
        "values.resources.limits.memory='2Gi'", "values.redis.maxmemory='1536mb'  <- this value",
    )
    assert (e.path, e.line) == (VALUES, 15)


def test_a_field_is_not_blamed_when_a_key_was(root: Path) -> None:
    source = "REDIS_IMAGE_TAG > 3 or values.resources.limits.memory > 1"
    e = error_of(source, root)
    assert e.message.endswith(
        f"\n  {ENV}:10: REDIS_IMAGE_TAG=7.0.15  <- text, not a number\n  values.resources.limits.memory='2Gi'"
    )
    assert (e.path, e.line) == (ENV, 10)


def test_a_number_field_in_a_type_error_is_not_blamed(root: Path) -> None:
    source = "values.replicaCount + 'x'"
    e = error_of(source, root)
    assert e.message == cannot(source, 'unsupported operand type(s) for +: \'int\' and \'str\'',
                               "values.replicaCount=3")
    assert (e.path, e.line) == (ENV, None)


def test_a_field_of_values_without_an_app_or_a_committed_file_points_at_config_env(root: Path) -> None:
    source = "values.resources.limits.memory > 1"
    t = target(root)
    ctx = context(root, t)
    (root / VALUES).unlink()
    e = error_of(source, root, t, ctx)
    assert (e.path, e.line) == (ENV, None)
    assert e.message.startswith(cannot(source, "values.resources.limits.memory='2Gi' is text where the expression"))
    other = target(root, None)
    e = error_of(source, root, other, {**config_context(other), "values": ctx["values"]})
    assert (e.path, e.line) == (ENV, None)
    assert e.message == cannot(source, "'>' not supported between instances of 'str' and 'int'",
                               "values.resources.limits.memory='2Gi'  <- text, not a number")


def test_a_live_field_is_shown_but_names_no_line(root: Path) -> None:
    t = target(root)
    ctx = {**context(root, t), "live": {"used": "12MB"}}
    source = "live.used > 1"
    e = error_of(source, root, t, ctx)
    assert e.message == cannot(source, "'>' not supported between instances of 'str' and 'int'",
                               "live.used='12MB'  <- text, not a number")
    assert (e.path, e.line) == (ENV, None)


def test_a_field_of_a_name_the_context_lacks_is_not_listed(root: Path) -> None:
    t = target(root)
    source = "1/0 > 0 or values.replicaCount > 0"
    e = error_of(source, root, t, context(root, t, values=False))
    assert e.message == cannot(source, "division by zero")


def test_a_template_lists_no_fields(root: Path) -> None:
    source = "{{ values.resources.limits.memory > 1 }}"
    e = error_of(source, root, template=True)
    assert e.message == cannot(source, "'>' not supported between instances of 'str' and 'int'")
    assert (e.path, e.line) == (ENV, None)


# --------------------------------------------------------------------------- the fields an expression reads


@pytest.mark.parametrize(
    ("source", "paths"),
    [
        ("values.resources.limits.memory >= 1", [("values", "resources", "limits", "memory")]),
        ("values['a-b'][0].c", [("values", "a-b", "0", "c")]),
        ("values.a > 1 and values.a < 5 and live.b", [("values", "a"), ("live", "b")]),
        ("values[x].y", []),
        ("values", []),
        ("(1).real", []),
        ("values.get('a')", [("values", "get")]),
        ("a +", []),
    ],
)
def test_read_paths(source: str, paths: list[tuple[str, ...]]) -> None:
    assert read_paths(source) == paths


@pytest.mark.parametrize(
    ("keys", "spec", "found"),
    [
        ((), {"assert": "REDIS_REPLICAS > 1 and values.a and site"}, ["REDIS_REPLICAS"]),
        (("REDIS_MAXMEMORY",), {"assert": "REDIS_REPLICAS > REDIS_MAXMEMORY | bytes"},
         ["REDIS_MAXMEMORY", "REDIS_REPLICAS"]),
        (("REDIS_MAXMEMORY",), {"test": "in-sync"}, ["REDIS_MAXMEMORY"]),
        ((), {"assert": "NOT_IN_CONTEXT > 1"}, []),
    ],
)
def test_location_keys_are_the_declared_keys_then_the_config_keys_read(
    root: Path, keys: tuple[str, ...], spec: dict[str, Any], found: list[str]
) -> None:
    t = target(root)
    assert location_keys(check(keys=keys, **spec), context(root, t)) == found


def test_a_query_template_lists_no_fields_even_when_its_text_reads_as_an_expression(root: Path) -> None:
    source = "sum(up) }} {{ values.resources.limits.memory > 1 }}"
    e = error_of(source, root, template=True)
    assert e.message == cannot(source, "'>' not supported between instances of 'str' and 'int'")
    assert (e.path, e.line) == (ENV, None)


def test_only_the_key_whose_value_the_error_names_is_blamed_though_other_keys_are_text(root: Path) -> None:
    set_env(root, REDIS_IMAGE_TAG="str")
    source = "REDIS_IMAGE_TAG > 1 or REDIS_ROLE > 1"
    e = error_of(source, root)
    assert e.message == cannot(
        source, f"REDIS_IMAGE_TAG='str' is text where the expression needs a number: {NUMBER} {CONFIG_SCHEMA}",
        f"{ENV}:10: REDIS_IMAGE_TAG=str  <- text, not a number", f"{ENV}:8: REDIS_ROLE=cache",
    )


def test_what_lies_below_a_missing_field_reads_as_missing(root: Path) -> None:
    t = target(root)
    ctx = {**context(root, t), "live": SimpleNamespace(used=5)}
    source = "live.used > 10 and live.nope.__class__ and values.nope.__class__"
    ok, message, _ = judge(check(**{"assert": source}), t, ctx)
    found = "live.used=5, live.nope.__class__=None, values.nope.__class__=None"
    assert (ok, message) == (False, f"{found}; expected {source}")


@pytest.mark.parametrize("field", ["found", "expect"])
def test_a_message_template_naming_an_unset_key_is_the_sites_error(root: Path, field: str) -> None:
    t = target(root)
    c = check(**{"assert": "REDIS_REPLICAS > 5", field: "{{ NOPE_KEY }}"})
    with pytest.raises(ConfigError) as caught:
        judge(c, t, context(root, t))
    assert (caught.value.message, caught.value.path) == ("NOPE_KEY is not set, and check t-check needs it", ENV)
    c = check(**{"assert": "REDIS_REPLICAS > 5", field: "{{ NOPE_KEY "})
    with pytest.raises(CatalogError) as syntax:
        judge(c, t, context(root, t))
    assert (syntax.value.path, syntax.value.line) == ("checks/team.yaml", 7)


def _shipped_templates() -> list[str]:
    import yaml

    root = Path(__file__).resolve().parent.parent
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in sorted([*root.glob("checks/*.yaml"), *root.glob("pytest_slo/catalog/builtin/*.yaml")]):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize(
    "text",
    [
        *_shipped_templates(),
        "{{ MAXMEMORY | bytes > LIMIT }}",
        "up{ {{ selector }} } # {{ namespace }} {{ range(3) | list }}",  # globals are no keys
        "{% set x = A %}{{ x + B }}",
        "{% for i in ITEMS %}{{ i }}{{ loop.index }}{% endfor %}{{ i }}",
        "{% macro m(p) %}{{ p }}{{ Q }}{% endmacro %}{{ m(R) }}",
        "{% with w = W %}{{ w }}{% endwith %}{{ w }}",
        "{{ false and HIDDEN }}",
    ],
)
def test_the_keys_an_expression_reads_are_the_ones_jinja_finds(text):
    """``expression_names`` walks the tree when nothing in it declares a name, and asks jinja
    otherwise: either way the names are jinja's own (a key missed here is a check that never
    blames the site that lacks it)."""
    from jinja2 import meta

    from pytest_slo.expr import environment, expression_names

    assert set(expression_names(text, template=True)) == meta.find_undeclared_variables(environment().parse(text))


def test_a_template_rendered_first_still_names_every_key_it_reads():
    """One parse serves the render and the names: jinja folds ``false and X`` to a constant when
    it compiles, in the tree itself, so the names must not come from a compiled tree."""
    from pytest_slo.expr import compile_template, expression_names

    text = "{{ false and NEVER_READ_WHEN_FALSE }}{{ SHOWN }}"
    assert compile_template(text).render(SHOWN=1) == "False1"
    assert expression_names(text, template=True) == ("NEVER_READ_WHEN_FALSE", "SHOWN")
