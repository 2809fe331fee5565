"""``regression:`` criteria judged against the baseline's values, and the promql verdict
that says a series got worse since last night (no server)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.catalog.model import Check
from pytest_slo.findings.baseline import Baseline
from pytest_slo.kinds import Target, Verdict
from pytest_slo.kinds._regression import regressions
from pytest_slo.kinds.promql import PromqlFacts, PromqlKind
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo
from pytest_slo.sources import LiveOptions, Sources
from pytest_slo.sources.prometheus import InstantResult, Sample

BEFORE = {"time": "2026-11-26T03:17:00Z", "values": [
    {"labels": {"instance": "10.0.3.7:6379"}, "value": 50.0},
    {"labels": {"instance": "10.0.3.8:6379"}, "value": 0.0},
    {"labels": {"instance": "10.0.3.9:6379"}, "value": "NaN"},
    {"labels": {"pod": "api-server-6b7f9c8d4-tq5ln"}, "value": 100.0},
]}


def test_relative_and_absolute_increase() -> None:
    worse, rows = regressions({"max_increase": "10%"}, [({"instance": "10.0.3.7:6379"}, 56.0)], BEFORE, "%")
    assert [(w.change, w.allowed) for w in worse] == [("+12.0%", "10%")]
    assert rows == [
        {"labels": {"instance": "10.0.3.7:6379"}, "value": 56.0, "baseline_value": 50.0, "max_increase": "+12.0%"}
    ]
    worse, _ = regressions({"max_increase": "10%"}, [({"instance": "10.0.3.7:6379"}, 54.0)], BEFORE, "%")
    assert worse == []  # +8% is allowed
    worse, _ = regressions({"max_increase": 5}, [({"instance": "10.0.3.7:6379"}, 56.0)], BEFORE, "%")
    assert [(w.change, w.allowed) for w in worse] == [("+6 points", "5 points")]  # points of a percentage
    worse, _ = regressions({"max_increase": 20}, [({"instance": "10.0.3.7:6379"}, 71.0)], BEFORE, " ms")
    assert [w.change for w in worse] == ["+21 ms"]


def test_a_decrease_is_judged_only_when_declared() -> None:
    now = [({"instance": "10.0.3.7:6379"}, 30.0)]
    assert regressions({"max_increase": "10%"}, now, BEFORE, "%")[0] == []  # better, not worse
    worse, _ = regressions({"max_decrease": "10%"}, now, BEFORE, "%")
    assert [w.change for w in worse] == ["-40.0%"]
    worse, _ = regressions({"max_decrease": 12}, now, BEFORE, " ms")
    assert [(w.change, w.allowed) for w in worse] == [("-20 ms", "12 ms")]


def test_exactly_the_allowance_is_allowed() -> None:
    assert regressions({"max_increase": 10}, [({"instance": "10.0.3.7:6379"}, 60.0)], BEFORE, "%")[0] == []
    assert regressions({"max_decrease": 10}, [({"instance": "10.0.3.7:6379"}, 40.0)], BEFORE, "%")[0] == []


def test_a_relative_criterion_that_cannot_judge_from_0_leaves_the_absolute_one_to() -> None:
    worse, rows = regressions(
        {"max_increase": "10%", "max_decrease": 3}, [({"instance": "10.0.3.8:6379"}, -5.0)], BEFORE, ""
    )
    assert [(w.labels, w.value, w.baseline, w.change) for w in worse] == [
        ({"instance": "10.0.3.8:6379"}, -5.0, 0.0, "-5")
    ]
    assert rows[0]["judged"] == "no relative change from 0" and rows[0]["max_decrease"] == "-5"


def test_what_cannot_be_compared_is_said_not_guessed() -> None:
    now = [
        ({"instance": "10.0.3.8:6379"}, 5.0),  # from 0: no relative change
        ({"instance": "10.0.3.9:6379"}, 5.0),  # NaN before
        ({"instance": "10.0.4.1:6379"}, 99.0),  # not in the baseline
        ({"instance": "10.0.3.7:6379"}, math.nan),  # NaN now
    ]
    worse, rows = regressions({"max_increase": "10%"}, now, BEFORE, "%")
    assert worse == []
    assert [r.get("judged") for r in rows] == ["no relative change from 0", "NaN", "no baseline value", "NaN"]
    # an absolute criterion can judge a change from 0
    assert [w.change for w in regressions({"max_increase": 1}, now[:1], BEFORE, "%")[0]] == ["+5 points"]


def test_series_are_paired_by_identity_not_by_volatile_names() -> None:
    worse, _ = regressions({"max_increase": "10%"}, [({"pod": "api-server-7c8d9f5b6-zx2vw"}, 130.0)], BEFORE, " ms")
    assert [(w.baseline, w.change) for w in worse] == [(100.0, "+30.0%")]


def test_replicas_of_one_owner_are_each_compared_with_themselves() -> None:
    before = {"values": [
        {"labels": {"pod": "api-6b7f9c8d4-tq5ln"}, "value": 300.0},
        {"labels": {"pod": "api-6b7f9c8d4-zx2kq"}, "value": 100.0},
    ]}
    now = [({"pod": "api-6b7f9c8d4-tq5ln"}, 300.0), ({"pod": "api-6b7f9c8d4-zx2kq"}, 105.0)]
    worse, rows = regressions({"max_increase": "10%"}, now, before, " MB")
    assert worse == [] and [r["baseline_value"] for r in rows] == [300.0, 100.0]
    # rescheduled under new names, two replicas of one owner cannot be told apart: not judged
    worse, rows = regressions({"max_increase": "10%"}, [({"pod": "api-7c8d9f5b6-x7k2p"}, 900.0)], before, " MB")
    assert worse == [] and rows[0]["judged"] == "2 baseline series share this identity, none with these labels"


def test_a_malformed_regression_is_a_catalog_problem_at_its_line(gitops: Path, pytester: pytest.Pytester) -> None:
    live = gitops / "checks/redis-live.yaml"
    live.write_text(live.read_text().replace("regression: {max_increase: 10}", "regression: {max_increse: 10%}", 1))
    line = next(i for i, text in enumerate(live.read_text().splitlines(), 1) if "max_increse" in text)
    result = pytester.runpytest("--site", "production", "checks/redis-live.yaml")
    result.stdout.fnmatch_lines(
        [
            f"  checks/redis-live.yaml:{line}: check 'redis-memory-headroom': max_increse is not a field of "
            "regression (did you mean max_increase?)"
        ]
    )
    assert result.parseoutcomes()["failed"] == 1


# --------------------------------------------------------------------------- the promql verdict

REPO = Path(__file__).resolve().parents[1]
AT, STAMP = 1_795_000_000.125, "2026-11-18T11:06:40.125Z"
THEN = "2026-11-26T03:17:00Z"
ENV = (REPO / "sites/production/config.env").read_text().splitlines()


def redis(instance: str) -> dict[str, str]:
    return {"instance": instance, "job": "redis-cluster", "namespace": "production", "service": "redis-cluster"}


def headroom(**spec: Any) -> Check:
    """redis-memory-headroom as shipped: under 80% of maxmemory, at most 10 points more than last night."""
    spec = {
        k: v
        for k, v in {
            "query": "q",
            "op": "<",
            "threshold": 80,
            "unit": "%",
            "regression": {"max_increase": 10},
            **spec,
        }.items()
        if v is not None
    }
    return Check(
        id="redis-memory-headroom",
        title="t",
        kind="promql",
        severity="P2",
        runbook="checks/runbooks/redis.md",
        source="checks/redis-live.yaml",
        line=5,
        apps=("redis-cluster",),
        keys=("REDIS_MAXMEMORY",),
        spec=spec,
    )


def last_night(
    *values: tuple[dict[str, str], float], check: str = "redis-memory-headroom", app: str = "redis-cluster"
) -> Baseline:
    observed = {"check": check, "site": "production", "app": app, "time": THEN,
                "values": [{"labels": labels, "value": value} for labels, value in values]}
    return Baseline(Path("last/findings.json"), THEN, ("production",), [], {(check, "production", app): observed})


def judge(check: Check, baseline: Baseline | None, *now: tuple[dict[str, str], float]) -> Verdict:
    target = Target(
        Repo(REPO, DEFAULT_VALUES_PATH).site("production"), "redis-cluster", Sources(LiveOptions()), baseline
    )
    samples = tuple(Sample(labels, value) for labels, value in now)
    return PromqlKind().evaluate(check, target, PromqlFacts(InstantResult("q", AT, samples, "vector")))


def test_a_series_that_rose_more_than_allowed_fails_while_within_the_threshold() -> None:
    verdict = judge(headroom(), last_night((redis("10.0.3.7:6379"), 31.39)), (redis("10.0.3.7:6379"), 47.64))
    line = (
        f"47.64% now, 31.39% at {THEN} (+16.25 points since the baseline, more than the 10 points allowed); still "
        "within < 80%"
    )
    assert verdict.ok is False and verdict.skip is None
    assert verdict.message == f'instance="10.0.3.7:6379": {line}\n  query: q\n  at: {STAMP}'
    assert verdict.objects == [redis("10.0.3.7:6379")]
    assert verdict.evidence["shown"] == [line]
    assert verdict.evidence["regression"] == {"baseline_time": THEN, "series": [
        {"labels": redis("10.0.3.7:6379"), "value": 47.64, "baseline_value": 31.39, "max_increase": "+16.25 points"}]}
    line_of = next(i for i, text in enumerate(ENV, 1) if text.startswith("REDIS_MAXMEMORY="))
    assert str(verdict.location) == f"sites/production/config.env:{line_of}"


def test_within_the_allowance_it_passes_keeping_the_comparison() -> None:
    verdict = judge(headroom(), last_night((redis("10.0.3.7:6379"), 31.39)), (redis("10.0.3.7:6379"), 35.0))
    assert verdict.ok is True and verdict.skip is None
    assert verdict.evidence["regression"]["baseline_time"] == THEN
    assert verdict.evidence["regression"]["series"][0]["max_increase"] == "+3.61 points"
    assert verdict.evidence["values"] == [{"labels": redis("10.0.3.7:6379"), "value": 35.0}]


@pytest.mark.parametrize("case", ["no baseline", "no criterion", "another check", "another app"])
def test_nothing_is_compared_without_a_criterion_and_last_nights_values_of_this_check(case: str) -> None:
    rose = (redis("10.0.3.7:6379"), 31.39)
    check, baseline = {
        "no baseline": (headroom(), None),
        "no criterion": (headroom(regression=None), last_night(rose)),
        "another check": (headroom(), last_night(rose, check="redis-memory-growth")),
        "another app": (headroom(), last_night(rose, app="api-server")),
    }[case]
    verdict = judge(check, baseline, (redis("10.0.3.7:6379"), 79.0))
    assert verdict.ok is True and verdict.skip is None and "regression" not in verdict.evidence
    assert verdict.evidence["values"] == [{"labels": redis("10.0.3.7:6379"), "value": 79.0}]


def test_several_series_that_rose_are_each_on_their_line() -> None:
    check = headroom(unit=None, op="<=", threshold=1000)  # no unit: the numbers alone
    baseline = last_night(({}, 100.0), (redis("b"), 200.0))
    verdict = judge(check, baseline, ({}, 150.0), (redis("b"), 260.0))
    first = f"150 now, 100 at {THEN} (+50 since the baseline, more than the 10 allowed); still within <= 1000"
    second = f"260 now, 200 at {THEN} (+60 since the baseline, more than the 10 allowed); still within <= 1000"
    assert verdict.message.splitlines()[:3] == [f"{first} (and 1 more)", f"  {first}", f'  instance="b": {second}']
    assert verdict.objects == [{}, redis("b")] and verdict.evidence["shown"] == [first, second]
