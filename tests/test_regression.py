"""``regression:`` criteria judged against the baseline's values (no server)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pytest_slo.kinds._regression import regressions

BEFORE = {"time": "2026-11-26T03:17:00Z", "values": [
    {"labels": {"instance": "10.0.3.7:6379"}, "value": 50.0},
    {"labels": {"instance": "10.0.3.8:6379"}, "value": 0.0},
    {"labels": {"instance": "10.0.3.9:6379"}, "value": "NaN"},
    {"labels": {"pod": "api-server-6b7f9c8d4-tq5ln"}, "value": 100.0},
]}


def test_relative_and_absolute_increase() -> None:
    worse, rows = regressions({"max_increase": "10%"}, [({"instance": "10.0.3.7:6379"}, 56.0)], BEFORE, "%")
    assert [(w.change, w.allowed) for w in worse] == [("+12.0%", "10%")]
    assert rows == [{"labels": {"instance": "10.0.3.7:6379"}, "value": 56.0, "baseline_value": 50.0, "max_increase": "+12.0%"}]
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
    result.stdout.fnmatch_lines([f"  checks/redis-live.yaml:{line}: check 'redis-memory-headroom': max_increse is not a field of regression (did you mean max_increase?)"])
    assert result.parseoutcomes()["failed"] == 1
