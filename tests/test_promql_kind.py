"""``PromqlKind.evaluate`` on hand-made query results: no server. The shipped reference site
(sites/production/config.env) supplies the config; each check is built here.

What a breach is, is PromQL's own comparison (tests/test_oracle.py proves the shipped checks
against promtool); these pin the judgement and the words a person reads."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.catalog.model import Check
from pytest_slo.errors import CatalogError, ConfigError
from pytest_slo.kinds import Target
from pytest_slo.kinds.promql import BREACHES, OPS, PromqlFacts, PromqlKind, format_labels
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo
from pytest_slo.sources import LiveOptions, Sources
from pytest_slo.sources.prometheus import InstantResult, Sample
from tests.oracle.model import NEGATED

REPO = Path(__file__).resolve().parents[1]
AT = 1_795_000_000.125
STAMP = "2026-11-18T11:06:40.125Z"  # date -u -d @1795000000
ENV = (REPO / "sites/production/config.env").read_text().splitlines()


def env_line(key: str) -> int:
    return next(i for i, line in enumerate(ENV, 1) if line.startswith(f"{key}="))


def check(**spec: Any) -> Check:
    spec.setdefault("query", "q")
    spec.setdefault("op", "<=")
    spec.setdefault("threshold", 1)
    return Check(id="t-check", title="the title", kind="promql", severity="P2", runbook="checks/runbooks/slo.md",
                 source="checks/team.yaml", line=7, apps=("redis-cluster",), spec=spec)


@pytest.fixture(scope="module")
def target() -> Target:
    return Target(Repo(REPO, DEFAULT_VALUES_PATH).site("production"), "redis-cluster", Sources(LiveOptions()))


def judge(target: Target, c: Check, *values: float | tuple[dict[str, str], float], diagnosis: str | None = None,
          details: dict[str, list[tuple[dict[str, str], float]]] | None = None) -> Any:
    samples = tuple(Sample(*v) if isinstance(v, tuple) else Sample({}, v) for v in values)
    answers = {
        n: InstantResult(n, AT, tuple(Sample(dict(lb), v) for lb, v in s), "vector") for n, s in (details or {}).items()
    }
    return PromqlKind().evaluate(c, target, PromqlFacts(InstantResult("q", AT, samples, "vector"), diagnosis, answers))


def redis(instance: str, **more: str) -> dict[str, str]:
    return {"instance": instance, "job": "redis-cluster", "namespace": "production", "service": "redis-cluster", **more}


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("op", "value", "ok"),
    [("<", 0.99, True), ("<", 1, False), ("<=", 1, True), ("<=", 1.01, False), (">", 1.01, True), (">", 1, False),
     (">=", 1, True), (">=", 0.99, False), ("==", 1, True), ("==", 2, False), ("!=", 2, True), ("!=", 1, False)],
)
def test_operators_at_and_around_the_threshold(target: Target, op: str, value: float, ok: bool) -> None:
    verdict = judge(target, check(op=op, threshold=1), value)
    assert verdict.ok is ok and verdict.skip is None
    assert (verdict.message == "") is ok


def test_a_breach_is_the_negated_comparison_the_oracle_alerts_on() -> None:
    names = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
    assert set(BREACHES) == set(OPS) == set(NEGATED)
    for op in OPS:
        assert BREACHES[op].__name__ == names[NEGATED[op]], op


def test_infinity_breaches_an_upper_bound(target: Target) -> None:
    verdict = judge(target, check(op="<", threshold=80, unit="%"), (redis("10.0.1.11:9121"), math.inf))
    assert not verdict.ok
    assert verdict.message.splitlines()[0] == 'instance="10.0.1.11:9121": inf%; expected < 80%'


# --------------------------------------------------------------------------- thresholds


def test_a_threshold_from_config_with_its_unit_and_line(target: Target) -> None:
    verdict = judge(target, check(op="<=", threshold="SLO_API_LATENCY_P99_MS", unit=" ms"), 640.0)
    assert verdict.message.splitlines()[0] == "640 ms; expected <= 500 ms (SLO_API_LATENCY_P99_MS)"
    assert verdict.evidence["threshold"] == 500.0
    assert str(verdict.location) == f"sites/production/config.env:{env_line('SLO_API_LATENCY_P99_MS')}"


def test_a_threshold_in_kubernetes_units(target: Target) -> None:
    c = check(op="<", threshold="REDIS_MEMORY_LIMIT | bytes", keys=("REDIS_MEMORY_LIMIT",))
    assert judge(target, c, 2147483647.0).ok
    verdict = judge(target, c, 2147483648.0)
    assert verdict.message.splitlines()[0] == "2147483648; expected < 2147483648 (REDIS_MEMORY_LIMIT | bytes)"


def test_a_threshold_that_is_not_a_number_blames_the_key_that_holds_text(target: Target) -> None:
    with pytest.raises(ConfigError) as caught:
        judge(target, check(threshold="REDIS_EVICTION_POLICY"), 1.0)
    env = target.site.env
    assert (caught.value.path, caught.value.line) == (
        "sites/production/config.env",
        env.line_of("REDIS_EVICTION_POLICY"),
    )
    assert "threshold 'REDIS_EVICTION_POLICY' is 'allkeys-lru' at production, not a number" in str(caught.value)
    assert (
        f"sites/production/config.env:{env.line_of('REDIS_EVICTION_POLICY')}: REDIS_EVICTION_POLICY=allkeys-lru"
        in str(caught.value)
    )


# --------------------------------------------------------------------------- NaN and no data


def test_nan_alone_is_skipped_with_the_reason(target: Target) -> None:
    verdict = judge(target, check(threshold="SLO_API_LATENCY_P99_MS"), math.nan)
    assert verdict.ok and verdict.skip == (
        f"no value to judge: the query is NaN at {STAMP} (a ratio or histogram_quantile over no requests in the window)"
    )


def test_nan_passes_when_no_data_may_pass(target: Target) -> None:
    verdict = judge(target, check(no_data="pass"), math.nan)
    assert verdict.ok and verdict.skip is None
    assert [v["labels"] for v in verdict.evidence["values"]] == [{}]  # kept for the next run's baseline


@pytest.mark.parametrize(("instances", "named"), [
    (["a"], 'instance="a"'),
    (["a", "b", "c"], 'instance="a"; instance="b"; instance="c"'),
    (["a", "b", "c", "d"], 'instance="a"; instance="b"; instance="c" and 1 more'),
    (["a", "b", "c", "d", "e"], 'instance="a"; instance="b"; instance="c" and 2 more'),
])
def test_nan_everywhere_names_the_series_it_skips(target: Target, instances: list[str], named: str) -> None:
    verdict = judge(target, check(), *((redis(i), math.nan) for i in instances))
    assert verdict.skip is not None and verdict.skip.startswith(
        f"no value to judge: the query is NaN for {named} at {STAMP} ("
    )


def test_nan_beside_a_breach_is_not_reported(target: Target) -> None:
    verdict = judge(target, check(op="<", threshold=80), (redis("a"), math.nan), (redis("b"), 90.0))
    assert not verdict.ok
    assert [b["labels"]["instance"] for b in verdict.evidence["breaching"]] == ["b"]
    assert verdict.message.splitlines()[0] == 'instance="b": 90 (1 of 2 series); expected < 80'


def test_nan_breaches_equality_as_in_promql(target: Target) -> None:
    """``NaN != 1`` is true in PromQL: an alert ``q != 1`` fires, so an ``op: ==`` check fails."""
    verdict = judge(target, check(op="==", threshold=1), math.nan)
    assert not verdict.ok and verdict.message.startswith("nan; expected == 1")


def test_no_data_fails_with_the_diagnosis(target: Target) -> None:
    verdict = judge(
        target, check(threshold="SLO_API_ERROR_RATE_PERCENT"), diagnosis="no series: metric x does not exist"
    )
    assert verdict.ok is False and verdict.skip is None
    assert verdict.message == f"no series: metric x does not exist\n  query: q\n  at: {STAMP}"
    assert verdict.evidence["diagnosis"] == "no series: metric x does not exist"
    assert str(verdict.location) == f"sites/production/config.env:{env_line('SLO_API_ERROR_RATE_PERCENT')}"


@pytest.mark.parametrize(("policy", "ok", "skip"), [("skip", True, "no data for q"), ("pass", True, None)])
def test_no_data_policies(target: Target, policy: str, ok: bool, skip: str | None) -> None:
    verdict = judge(target, check(no_data=policy))
    assert (verdict.ok, verdict.skip) == (ok, skip)
    if policy == "pass":  # an empty result that passes still records what was asked, and when
        assert (verdict.evidence["query"], verdict.evidence["time"], verdict.evidence["values"]) == ("q", STAMP, [])


# --------------------------------------------------------------------------- several series, wording


def test_several_series_one_breaching(target: Target) -> None:
    c = check(op="<", threshold=80, unit="%", found="{{ '%.1f' | format(value) }}% of maxmemory used")
    verdict = judge(target, c, (redis("a"), 50.0), (redis("b"), 91.25), (redis("c"), 60.0))
    assert verdict.message == (
        f'instance="b": 91.2% of maxmemory used (1 of 3 series); expected < 80%\n  query: q\n  at: {STAMP}'
    )
    assert verdict.evidence["breaching"] == [{"labels": redis("b"), "value": 91.25}]
    assert [v["value"] for v in verdict.evidence["values"]] == [50.0, 91.25, 60.0]


def test_several_breaching_worst_first_each_on_its_line(target: Target) -> None:
    verdict = judge(target, check(op="<", threshold=80), (redis("a"), 85.0), (redis("b"), 99.0), (redis("c"), 10.0))
    assert verdict.message.splitlines()[:3] == [
        'instance="b": 99 (and 1 more of 3 series); expected < 80', '  instance="b": 99', '  instance="a": 85',
    ]


@pytest.mark.parametrize(("op", "values", "worst_first"), [
    ("<", [85, 99, 90], ["b", "c", "a"]), ("<=", [85, 99, 90], ["b", "c", "a"]),  # an upper bound: the highest first
    (">", [5, 1, 3], ["b", "c", "a"]), (">=", [5, 1, 3], ["b", "c", "a"]),  # a lower bound: the lowest first
    ("==", [5, 1, 3], ["a", "b", "c"]), ("!=", [50, 50, 50], ["a", "b", "c"]),  # no worse: as Prometheus answered
])
def test_the_worst_series_comes_first_and_is_the_findings_object(
    target: Target, op: str, values: list[float], worst_first: list[str]
) -> None:
    threshold = {"<": 80, "<=": 80, ">": 10, ">=": 10, "==": 50, "!=": 50}[op]
    verdict = judge(
        target, check(op=op, threshold=threshold), *((redis(i), v) for i, v in zip("abc", values, strict=True))
    )
    assert [b["labels"]["instance"] for b in verdict.evidence["breaching"]] == worst_first
    assert verdict.message.startswith(f'instance="{worst_first[0]}": ')
    # what failed, worst first: the finding's fingerprint and the waivers' match read these
    assert verdict.objects == [redis(i) for i in worst_first]


def test_a_failure_keeps_every_value_and_says_each_breach_in_the_checks_terms(target: Target) -> None:
    c = check(op="<", threshold=80, unit="%", found="{{ '%.0f' | format(value) }}% used of {{ threshold | int }}%")
    verdict = judge(target, c, (redis("a"), 50.0), (redis("b"), 91.0), (redis("c"), 85.0))
    assert verdict.evidence == {
        "query": "q", "time": STAMP, "op": "<", "threshold": 80.0, "unit": "%",
        "values": [{"labels": redis(i), "value": v} for i, v in (("a", 50.0), ("b", 91.0), ("c", 85.0))],
        "breaching": [{"labels": redis("b"), "value": 91.0}, {"labels": redis("c"), "value": 85.0}],
        "shown": ["91% used of 80%", "85% used of 80%"],
    }
    assert verdict.location is None  # a number, no config key: no line to point at
    assert judge(target, check(op="<", threshold=80), 90.0).evidence["shown"] == ["90"]


@pytest.mark.parametrize(("value", "words"), [(0.125, "0.125"), (99.99, "99.99"), (123456.0, "1.235e+05"),
                                              (1e6, "1000000"), (1e6 + 0.5, "1000000"), (2.5e9, "2500000000")])
def test_values_are_written_for_a_person(target: Target, value: float, words: str) -> None:
    assert judge(target, check(op="<", threshold=0, unit=" B"), value).message.startswith(f"{words} B; expected < 0 B")


def test_labels_the_selector_fixes_go_unsaid_and_others_stay(target: Target) -> None:
    verdict = judge(target, check(), (redis("a", job="other", err="OOM"), 5.0))
    assert verdict.message.startswith('err="OOM", instance="a", job="other": 5; expected <= 1')
    assert judge(target, check(), ({"namespace": "staging"}, 5.0)).message.startswith('namespace="staging": 5;')
    # a plain selector's result keeps its metric name: the name says nothing of which series
    assert judge(target, check(), (redis("a", __name__="redis_up"), 5.0)).message.startswith('instance="a": 5;')
    assert judge(target, check(), (redis("a", job="redis-cluster"), 5.0)).message.startswith('instance="a": 5;')


def test_found_and_expect_see_value_labels_and_threshold(target: Target) -> None:
    c = check(op="<=", threshold=0, found="{{ value | int }} writes refused on {{ labels.instance }}", expect="none")
    verdict = judge(target, c, ({"instance": "r1"}, 51.0))
    assert verdict.message.splitlines()[0] == 'instance="r1": 51 writes refused on r1; expected none'


@pytest.mark.parametrize("field", ["found", "expect", "threshold", "details"])
def test_a_config_key_the_site_lacks_is_an_error_at_the_site(target: Target, field: str) -> None:
    c = check(
        **{
            field: {"threshold": "REDIS_SHARDS * 2", "details": {"shards": "x * {{ REDIS_SHARDS }}"}}.get(
                field, "{{ REDIS_SHARDS }}"
            )
        }
    )
    with pytest.raises(ConfigError) as caught:
        PromqlKind().detail_queries(c, target) if field == "details" else judge(target, c, 5.0)
    assert str(caught.value).startswith(
        "sites/production/config.env: REDIS_SHARDS is not set, and check t-check needs it"
    )


def test_a_broken_threshold_expression_blames_the_check(target: Target) -> None:
    with pytest.raises(CatalogError) as caught:
        judge(target, check(threshold="SLO_API_LATENCY_P99_MS *"), 5.0)
    assert (caught.value.path, caught.value.line) == ("checks/team.yaml", 7)


def test_a_detail_is_the_sample_of_the_same_series_whatever_its_metric_name(target: Target) -> None:
    c = check(found="{{ value }} of {{ room.value if room else 'unknown' }}")
    details = {"room": [(redis("b", __name__="room_bytes"), 20.0), (redis("a", __name__="room_bytes"), 10.0)]}
    verdict = judge(target, c, (redis("a", __name__="used_bytes"), 5.0), details=details)
    assert verdict.evidence["shown"] == ["5.0 of 10.0"]
    lone = judge(target, c, (redis("c"), 5.0), details=details)  # no detail for this series
    assert lone.evidence["shown"] == ["5.0 of unknown"]


def test_evidence_time_keeps_milliseconds(target: Target) -> None:
    verdict = judge(target, check(), 5.0)
    assert verdict.evidence["time"] == STAMP and verdict.message.endswith(f"at: {STAMP}")


# --------------------------------------------------------------------------- details: redis-memory-growth


def growth_check() -> tuple[Check, Any]:
    from pytest_slo.catalog.model import load_catalog
    from pytest_slo.kinds import KindRegistry, builtin_kinds

    registry = KindRegistry()
    for kind in builtin_kinds():
        registry.register(kind)
    (c,) = [c for c in load_catalog(REPO, registry.schemas).checks if c.id == "redis-memory-growth"]
    return c, registry


GIB, MIB = 1024**3, 1024**2


def growth(
    used: float, per_day: float, room: float = 2.0 * GIB, limit: str = "container", **labels: str
) -> tuple[float, dict[str, Any]]:
    """redis-memory-growth's value (predict_linear 30 days out, in % of the room) for a straight
    line of ``used`` bytes now and ``per_day``, and its details, for instance r1."""
    r1 = redis("r1", **labels)
    details = {"used": [(dict(r1, __name__="redis_memory_used_bytes"), used)], "trend_now": [(r1, used)],
               "per_day": [(r1, per_day)], "room": [({"instance": "r1", "limit": limit}, room)]}
    return 100 * (used + 30 * per_day) / room, details


def test_growth_says_when_memory_runs_out(target: Target) -> None:
    c, _ = growth_check()
    value, details = growth(1.2 * GIB, 180 * MIB)
    verdict = judge(target, c, ({"instance": "r1"}, value), details=details)
    shown = "reaches the 2Gi container limit in about 4.6 days; 1.2Gi used, +180Mi/day"
    assert verdict.message.splitlines()[0] == (
        f'instance="r1": {shown}; expected to stay '
        "under its limit for the next 30 days (80% of maxmemory under noeviction, else the container limit)"
    )
    # what a report or the postmortem shows of the value: the check's own words, not "324%"
    assert verdict.evidence["shown"] == [shown]
    assert verdict.evidence["breaching"] == [{"labels": {"instance": "r1"}, "value": value}]


@pytest.mark.parametrize(
    ("used", "per_day", "words"),
    [
        (1.9 * GIB, 180 * MIB, "reaches the 2Gi container limit in about 14 hours; 1.9Gi used, +180Mi/day"),
        (
            2.0 * GIB - 45 * MIB,
            1440 * MIB,
            "reaches the 2Gi container limit in about 45 minutes; 1.96Gi used, +1.41Gi/day",
        ),
        (1.0 * GIB, 40 * MIB, "reaches the 2Gi container limit in about 26 days; 1Gi used, +40Mi/day"),
        (2.5 * GIB, -10 * MIB, "already past the 2Gi container limit; 2.5Gi used, -10Mi/day"),
    ],
)
def test_growth_wording(target: Target, used: float, per_day: float, words: str) -> None:
    c, _ = growth_check()
    value, details = growth(used, per_day)
    verdict = judge(target, c, ({"instance": "r1"}, value), details=details)
    assert verdict.message.startswith(f'instance="r1": {words};'), verdict.message
    slower_value, slower = growth(used, 10 * MIB)
    assert judge(target, c, ({"instance": "r1"}, slower_value), details=slower).ok is (used < 1.5 * GIB)


def test_growth_under_noeviction_and_without_details(target: Target) -> None:
    c, _ = growth_check()
    value, details = growth(1000 * MIB, 20 * MIB, room=0.8 * 1536 * MIB, limit="maxmemory")
    verdict = judge(target, c, ({"instance": "r1"}, value), details=details)
    assert verdict.message.startswith(
        'instance="r1": reaches 80% of maxmemory (1.2Gi) in about 11 days; 1000Mi used, +20Mi/day;'
    )
    bare = judge(target, c, ({"instance": "r1"}, 130.0), details={"used": [(redis("other"), 1.0)]})
    assert bare.message.startswith('instance="r1": projected to reach 130% of what it may use in 30 days;')
    assert judge(target, c, ({"instance": "r1"}, math.inf)).message.startswith(
        'instance="r1": no room to grow: maxmemory is 0 under noeviction;')


def test_each_series_is_worded_with_its_own_details(target: Target) -> None:
    """Details are matched to a breaching series by the labels both carry (never by the metric
    name, which a detail keeps and the query's result has lost)."""
    c, _ = growth_check()
    fast, fast_details = growth(1.9 * GIB, 180 * MIB)
    slow, slow_details = growth(1.0 * GIB, 40 * MIB)
    details = {
        name: [*(({**labels, "instance": "r2"}, v) for labels, v in slow_details[name]), *fast_details[name]]
        for name in fast_details
    }
    verdict = judge(target, c, ({"instance": "r2"}, slow), ({"instance": "r1"}, fast), details=details)
    assert verdict.evidence["shown"] == [
        "reaches the 2Gi container limit in about 14 hours; 1.9Gi used, +180Mi/day",  # worst first
        "reaches the 2Gi container limit in about 26 days; 1Gi used, +40Mi/day",
    ]
    assert verdict.message.splitlines()[1:3] == [
        f'  instance="r1": {verdict.evidence["shown"][0]}',
        f'  instance="r2": {verdict.evidence["shown"][1]}',
    ]


def test_details_are_queries_rendered_for_the_site(target: Target) -> None:
    c, _ = growth_check()
    queries = PromqlKind().detail_queries(c, target)
    assert sorted(queries) == ["per_day", "room", "trend_now", "used"]
    assert queries["used"] == 'redis_memory_used_bytes{ namespace="production", service="redis-cluster" }'
    assert (
        queries["trend_now"]
        == 'predict_linear(redis_memory_used_bytes{ namespace="production", service="redis-cluster" }[6h], 0)'
    )
    assert '+ 2147483648, "limit", "container", "", "")' in queries["room"]


def test_warnings_of_prometheus_reach_the_evidence_and_the_message(target: Target) -> None:
    warnings = ("partial response: store s3 unavailable", "query hit max_samples")
    result = InstantResult("q", AT, (Sample({}, 9.0),), "vector", warnings)
    verdict = PromqlKind().evaluate(check(op="<=", threshold=5), target, PromqlFacts(result, None, {}))
    assert not verdict.ok
    assert verdict.evidence["warnings"] == list(warnings)
    assert verdict.message == (
        f"9; expected <= 5\n  query: q\n  at: {STAMP}\n  prometheus warned: partial response: store s3 unavailable"
        "\n  prometheus warned: query hit max_samples"
    )


def test_format_labels_writes_a_selector() -> None:
    assert format_labels({"__name__": "up", "job": "a", "instance": "i"}) == 'up{instance="i", job="a"}'
    assert format_labels({"__name__": "up"}) == "up"
    assert format_labels({"job": "a"}) == '{job="a"}' and format_labels({}) == "{}"
