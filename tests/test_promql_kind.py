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
from pytest_slo.errors import ConfigError
from pytest_slo.kinds import Target
from pytest_slo.kinds.promql import BREACHES, OPS, PromqlFacts, PromqlKind
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
    answers = {n: InstantResult(n, AT, tuple(Sample(dict(lb), v) for lb, v in s), "vector") for n, s in (details or {}).items()}
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


def test_a_threshold_that_is_not_a_number_blames_the_catalog(target: Target) -> None:
    with pytest.raises(ConfigError) as caught:
        judge(target, check(threshold="REDIS_EVICTION_POLICY"), 1.0)
    assert (caught.value.path, caught.value.line) == ("checks/team.yaml", 7)
    assert "threshold 'REDIS_EVICTION_POLICY' is 'allkeys-lru', not a number" in str(caught.value)


# --------------------------------------------------------------------------- NaN and no data


def test_nan_alone_is_skipped_with_the_reason(target: Target) -> None:
    verdict = judge(target, check(threshold="SLO_API_LATENCY_P99_MS"), math.nan)
    assert verdict.ok and verdict.skip == (
        f"no value to judge: the query is NaN at {STAMP} (a ratio or histogram_quantile over no requests in the window)"
    )


def test_nan_passes_when_no_data_may_pass(target: Target) -> None:
    verdict = judge(target, check(no_data="pass"), math.nan)
    assert verdict.ok and verdict.skip is None


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
    verdict = judge(target, check(threshold="SLO_API_ERROR_RATE_PERCENT"), diagnosis="no series: metric x does not exist")
    assert not verdict.ok
    assert verdict.message == f"no series: metric x does not exist\n  query: q\n  at: {STAMP}"
    assert verdict.evidence["diagnosis"] == "no series: metric x does not exist"
    assert str(verdict.location) == f"sites/production/config.env:{env_line('SLO_API_ERROR_RATE_PERCENT')}"


@pytest.mark.parametrize(("policy", "ok", "skip"), [("skip", True, "no data for q"), ("pass", True, None)])
def test_no_data_policies(target: Target, policy: str, ok: bool, skip: str | None) -> None:
    verdict = judge(target, check(no_data=policy))
    assert (verdict.ok, verdict.skip) == (ok, skip)


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


def test_labels_the_selector_fixes_go_unsaid_and_others_stay(target: Target) -> None:
    verdict = judge(target, check(), (redis("a", job="other", err="OOM"), 5.0))
    assert verdict.message.startswith('err="OOM", instance="a", job="other": 5; expected <= 1')
    assert judge(target, check(), ({"namespace": "staging"}, 5.0)).message.startswith('namespace="staging": 5;')


def test_found_and_expect_see_value_labels_and_threshold(target: Target) -> None:
    c = check(op="<=", threshold=0, found="{{ value | int }} writes refused on {{ labels.instance }}", expect="none")
    verdict = judge(target, c, ({"instance": "r1"}, 51.0))
    assert verdict.message.splitlines()[0] == 'instance="r1": 51 writes refused on r1; expected none'


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


def test_growth_says_when_memory_runs_out(target: Target) -> None:
    c, _ = growth_check()
    r = {"instance": "r1"}
    per_day = 180 * MIB
    value = 100 * (1.2 * GIB + 30 * per_day) / (2 * GIB)  # predict_linear 30 days out, % of the 2Gi limit
    verdict = judge(target, c, (r, value), details={
        "used": [(redis("r1", __name__="redis_memory_used_bytes"), 1.2 * GIB)],
        "per_day": [(redis("r1"), per_day)],
        "room": [({"instance": "r1", "limit": "container"}, 2.0 * GIB)],
    })
    assert verdict.message.splitlines()[0] == (
        'instance="r1": reaches the 2Gi container limit in about 4.6 days; 1.2Gi used, +180Mi/day; expected to stay '
        "under its limit for the next 30 days (80% of maxmemory under noeviction, else the container limit)"
    )
    assert "e+0" not in verdict.message


@pytest.mark.parametrize(
    ("used", "per_day", "words"),
    [(1.9 * GIB, 180 * MIB, "reaches the 2Gi container limit in about 14 hours; 1.9Gi used, +180Mi/day"),
     (1.0 * GIB, 40 * MIB, "reaches the 2Gi container limit in about 26 days; 1Gi used, +40Mi/day"),
     (2.5 * GIB, -10 * MIB, "already past the 2Gi container limit; 2.5Gi used, -10Mi/day")],
)
def test_growth_wording(target: Target, used: float, per_day: float, words: str) -> None:
    c, _ = growth_check()
    value = 100 * (used + 30 * per_day) / (2 * GIB)
    details = {"used": [(redis("r1"), used)], "per_day": [(redis("r1"), per_day)],
               "room": [({"instance": "r1", "limit": "container"}, 2.0 * GIB)]}
    verdict = judge(target, c, ({"instance": "r1"}, value), details=details)
    assert verdict.message.startswith(f'instance="r1": {words};'), verdict.message
    slower = {**details, "per_day": [(redis("r1"), 10 * MIB)]}
    assert judge(target, c, ({"instance": "r1"}, 100 * (used + 30 * 10 * MIB) / (2 * GIB)), details=slower).ok is (used < 1.5 * GIB)


def test_growth_under_noeviction_and_without_details(target: Target) -> None:
    c, _ = growth_check()
    details = {"used": [(redis("r1"), 1000 * MIB)], "per_day": [(redis("r1"), 20 * MIB)],
               "room": [({"instance": "r1", "limit": "maxmemory"}, 0.8 * 1536 * MIB)]}
    value = 100 * (1000 * MIB + 30 * 20 * MIB) / (0.8 * 1536 * MIB)
    verdict = judge(target, c, ({"instance": "r1"}, value), details=details)
    assert verdict.message.startswith('instance="r1": reaches 80% of maxmemory (1.2Gi) in about 11 days; 1000Mi used, +20Mi/day;')
    bare = judge(target, c, ({"instance": "r1"}, 130.0), details={"used": [(redis("other"), 1.0)]})
    assert bare.message.startswith('instance="r1": projected to reach 130% of what it may use in 30 days;')
    assert judge(target, c, ({"instance": "r1"}, math.inf)).message.startswith(
        'instance="r1": no room to grow: maxmemory is 0 under noeviction;')


def test_details_are_queries_rendered_for_the_site(target: Target) -> None:
    c, _ = growth_check()
    queries = PromqlKind().detail_queries(c, target)
    assert sorted(queries) == ["per_day", "room", "used"]
    assert queries["used"] == 'redis_memory_used_bytes{ namespace="production", service="redis-cluster" }'
    assert '+ 2147483648, "limit", "container", "", "")' in queries["room"]


def test_warnings_of_prometheus_reach_the_evidence_and_the_message(target: Target) -> None:
    result = InstantResult("q", AT, (Sample({}, 9.0),), "vector", ("partial response: store s3 unavailable",))
    verdict = PromqlKind().evaluate(check(op="<=", threshold=5), target, PromqlFacts(result, None, {}))
    assert not verdict.ok
    assert verdict.evidence["warnings"] == ["partial response: store s3 unavailable"]
    assert "  prometheus warned: partial response: store s3 unavailable" in verdict.message.splitlines()
