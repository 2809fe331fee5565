"""The verdicts of ``kind: openslo`` (``<slo>::error-budget``, ``<slo>::burn-rate``), no server.

The SLOs are OpenSLO documents in a repository under ``tmp_path`` (read with ``load_slos``), the
site is the reference production site (its config.env copied, edited per test); the facts are
what ``fetch`` builds from Prometheus' answers (``SloFacts`` of ``WindowCount``), and ``fetch``
itself reads them from the loopback fake of tests/test_prometheus_source.py.

Most SLOs here target 75% (a budget of 25% of the events, exact in binary) over one day, so every
number in a message is exact: 300 bad requests of 1,000 spend 120% of the 250 allowed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.catalog.model import Check
from pytest_slo.catalog.openslo import load_slos, slo_checks
from pytest_slo.errors import CatalogError, ConfigError, QueryError
from pytest_slo.kinds import Target
from pytest_slo.kinds.burn import WindowCount
from pytest_slo.kinds.openslo import OpenSloKind, SloFacts, pairs_of, render_queries
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo
from pytest_slo.sources import LiveOptions, Sources
from tests.test_prometheus_source import Answer, FakePrometheus, Seen, vector

REPO = Path(__file__).resolve().parents[1]
APPS = ["api-server", "redis-cluster"]
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
AT = 1_780_000_000.0  # the run's evaluation time
AT_ISO = "2026-05-28T20:26:40.000Z"
SELECTOR = 'namespace="production", service="api-server"'
BAD = f'http_requests_total{{ {SELECTOR}, status=~"5.." }}'
TOTAL = f"http_requests_total{{ {SELECTOR} }}"
KIND = OpenSloKind()

RATIO = """\
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{ {{ selector }}, status=~"5.." }
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{ {{ selector }} }
"""

THRESHOLD = """\
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: >-
              histogram_quantile(0.99, sum by (le)
              (rate(http_request_duration_seconds_bucket{ {{ selector }} }[5m])))
"""


def slo_text(
    name: str = "checkout", *, target: str = "0.75", window: str = "1d", method: str = "Occurrences",
    annotations: dict[str, str] | None = None, indicator: str = RATIO, objective: str = "",
) -> str:
    """An OpenSLO SLO of api-server: its document starts at line 1, its target at :func:`line_of`."""
    notes = "".join(f"    pytest-slo.org/{k}: '{v}'\n" for k, v in (annotations or {}).items())
    return (
        f"apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: {name}\n"
        + (f"  annotations:\n{notes}" if notes else "")
        + f"spec:\n  service: api-server\n  indicator:\n    metadata:\n      name: {name}-sli\n    spec:\n{indicator}"
        f"  timeWindow:\n    - duration: {window}\n      isRolling: true\n  budgetingMethod: {method}\n"
        f"  objectives:\n    - displayName: checkout works\n      target: {target}\n{objective}"
    )


def line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith(start))


def make_repo(root: Path, *, env: dict[str, str] | None = None, url: str | None = "http://127.0.0.1:9") -> Path:
    """A repository with the reference site (config.env lines replaced or added) and the releases."""
    (root / "sites" / "production").mkdir(parents=True, exist_ok=True)
    if not (root / "releases").exists():
        (root / "releases").symlink_to(REPO / "releases")
    lines = (REPO / "sites/production/config.env").read_text().splitlines()
    for key, value in (env or {}).items():
        found = [i for i, line in enumerate(lines) if line.split("=", 1)[0] == key]
        if found:
            lines[found[0]] = f"{key}={value}"
        else:
            lines.append(f"{key}={value}")
    if url is None:
        lines = [line for line in lines if not line.startswith("PROMETHEUS_URL=")]
    (root / "sites" / "production" / "config.env").write_text("\n".join(lines) + "\n")
    return root


def env_line(root: Path, key: str) -> int:
    return line_of((root / "sites/production/config.env").read_text(), f"{key}=")


def items(root: Path, text: str) -> dict[str, Check]:
    """The items of ``text`` as slos/team.yaml of ``root``; the document has no problem."""
    (root / "slos").mkdir(exist_ok=True)
    (root / "slos" / "team.yaml").write_text(text)
    catalog = load_slos(root, "slos", APPS)
    assert catalog.problems == {}
    checks, broken = slo_checks(catalog)
    assert broken == []
    return {c.id: c for c in checks}


def target_of(root: Path, url: str | None = "http://127.0.0.1:9") -> Target:
    sources = Sources(LiveOptions(prometheus_url=url, timeout=5, retries=0))
    return Target(Repo(root, DEFAULT_VALUES_PATH).site("production"), "api-server", sources)


def counts(by_window: dict[float, tuple[float | None, float | None]], *, held: float = DAY) -> tuple[WindowCount, ...]:
    """Each window's (bad, total), covered when Prometheus holds ``held`` seconds of data."""
    return tuple(WindowCount(w, bad, total, w <= held) for w, (bad, total) in by_window.items())


def facts(check: Check, target: Target, found: tuple[WindowCount, ...], *, since: float | None = AT - 2 * DAY,
          at: float = AT) -> SloFacts:
    """What fetch hands to evaluate: the counts, and the item's queries, target and keys as rendered."""
    queries, value, keys = render_queries(check, target)
    return SloFacts(found, since, at, value, queries, tuple(keys))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The reference site with SLO_API_ERROR_RATE_PERCENT=25: a target of ``{{ 1 - it / 100 }}`` is 75%."""
    return make_repo(tmp_path, env={"SLO_API_ERROR_RATE_PERCENT": "25"})


TARGET_FROM_CONFIG = '"{{ 1 - SLO_API_ERROR_RATE_PERCENT / 100 }}"'
FOOTER = f"\n  SLO: checkout (slos/team.yaml:1), target 75% over 1d\n  at: {AT_ISO}"


# --------------------------------------------------------------------------- error-budget


def test_a_spent_budget_fails_with_what_is_wrong_first_the_evidence_and_the_config_line(root: Path) -> None:
    check = items(root, slo_text(target=TARGET_FROM_CONFIG))["checkout::error-budget"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (300, 1000)})))
    assert not verdict.ok and verdict.skip is None
    assert verdict.message == (
        "error budget exhausted: 300 bad requests over 1d against 250 allowed (budget left -20.0%, -72.0 min of "
        "full outage); SLI 70%, target 75%" + FOOTER
    )
    assert str(verdict.location) == f"sites/production/config.env:{env_line(root, 'SLO_API_ERROR_RATE_PERCENT')}"
    evidence = dict(verdict.evidence)
    assert evidence.pop("budget_left_percent") == pytest.approx(-20.0)
    assert evidence.pop("budget_left_minutes") == pytest.approx(-72.0)
    assert evidence == {
        "slo": "checkout",
        "objective": "checkout works",
        "target": 0.75,
        "window": "1d",
        "budgeting": "Occurrences",
        "unit": "requests",
        "time": AT_ISO,
        "windows": [{"window": "1d", "covered": True, "bad": 300, "total": 1000, "sli": pytest.approx(0.7),
                     "burn_rate": pytest.approx(1.2)}],
        "data_since": "2026-05-26T20:26:40.000Z",
        "budget_allowed": 250.0,
        "budget_spent": 300,
    }


def test_a_number_target_blames_the_objectives_line(root: Path) -> None:
    text = slo_text()
    check = items(root, text)["checkout::error-budget"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (300, 1000)})))
    assert not verdict.ok and str(verdict.location) == f"slos/team.yaml:{line_of(text, 'target:')}"


# (the floor annotation, bad requests of 1,000 in the day: None passes, else the message's start)
BUDGETS = [
    pytest.param(None, 0, None, id="untouched"),
    pytest.param(None, 249, None, id="a-request-left"),
    pytest.param(None, 250, "error budget exhausted: 250 bad requests over 1d against 250 allowed (budget left 0.0%, "
                            "+0.0 min of full outage); SLI 75%, target 75%", id="exactly-spent"),
    pytest.param("50%", 124, None, id="above-the-floor"),
    pytest.param("50%", 125, "error budget nearly spent: 125 bad requests over 1d against 250 allowed (budget left "
                             "50.0% (floor 50%), +180.0 min of full outage); SLI 87.5%, target 75%", id="at-the-floor"),
    pytest.param("50%", 200, "error budget nearly spent: 200 bad requests over 1d against 250 allowed (budget left "
                             "20.0% (floor 50%), +72.0 min of full outage); SLI 80%, target 75%", id="below-the-floor"),
    pytest.param("50%", 248, "error budget nearly spent: 248 bad requests over 1d against 250 allowed (budget left "
                             "0.8% (floor 50%), +2.9 min of full outage); SLI 75.2%, target 75%", id="under-1%-left"),
    pytest.param("12.5%", 250, "error budget exhausted: 250 bad requests over 1d against 250 allowed (budget left "
                               "0.0% (floor 12.5%), +0.0 min of full outage); SLI 75%, target 75%", id="spent-floor"),
    pytest.param("12.5%", 1000, "error budget exhausted: 1,000 bad requests over 1d against 250 allowed (budget left "
                                "-300.0% (floor 12.5%), -1080.0 min of full outage); SLI 0%, target 75%",
                 id="all-bad"),
]


@pytest.mark.parametrize(("floor", "bad", "said"), BUDGETS)
def test_the_budget_fails_at_or_below_its_floor(root: Path, floor: str | None, bad: int, said: str | None) -> None:
    annotations = {"error-budget-floor": floor} if floor else None
    check = items(root, slo_text(annotations=annotations))["checkout::error-budget"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (bad, 1000)})))
    left = 100 * (1 - bad / 250)
    assert verdict.evidence["budget_left_percent"] == pytest.approx(left)
    assert verdict.evidence["budget_left_minutes"] == pytest.approx(left / 100 * 0.25 * DAY / 60)
    if said is None:
        assert verdict.ok and verdict.skip is None and verdict.message == ""
        assert verdict.evidence["budget_allowed"] == 250 and verdict.evidence["budget_spent"] == bad
    else:
        assert not verdict.ok and verdict.message == said + FOOTER


@pytest.mark.parametrize(
    ("bad", "total", "said"),
    [
        (2.5, 10, "2.5 bad requests over 1d against 2.5 allowed"),
        (0.25, 0.5, "0.25 bad requests over 1d against 0.12 allowed"),
        (30_000, 100_000, "30,000 bad requests over 1d against 25,000 allowed"),
        (12.5, 40, "12 bad requests over 1d against 10 allowed"),
        (9.5, 30, "9.5 bad requests over 1d against 7.5 allowed"),
    ],
)
def test_event_counts_read_as_people_count(root: Path, bad: float, total: float, said: str) -> None:
    # extrapolated counts are fractional: two digits below ten, whole events with thousands separators above
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (bad, total)})))
    assert not verdict.ok and verdict.message.startswith(f"error budget exhausted: {said} (budget left ")


def test_a_budget_item_whose_window_is_longer_than_the_data_is_skipped_saying_how_much(root: Path) -> None:
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root)
    found = counts({DAY: (300, 1000)}, held=0)
    verdict = KIND.evaluate(check, target, facts(check, target, found, since=AT - (5 * HOUR + 51 * MINUTE + 30)))
    assert verdict.ok and verdict.skip == (
        "checkout::error-budget: the SLO window is 1d but Prometheus holds about 5h51m of its data: the budget over "
        "1d is not judged"
    )


@pytest.mark.parametrize(
    ("held", "said"),
    [
        (1, "about 1m"),
        (119, "about 1m"),
        (120, "about 2m"),
        (HOUR, "about 1h"),
        (HOUR + MINUTE, "about 1h1m"),
        (DAY - 1, "about 23h59m"),
        (DAY, "about 1d"),
        (DAY + 2 * HOUR + 3 * MINUTE + 59, "about 1d2h3m"),
        (2 * DAY + 5 * MINUTE, "about 2d5m"),
        (3 * DAY + HOUR, "about 3d1h"),
    ],
)
def test_how_much_data_prometheus_holds_is_said_to_the_minute(root: Path, held: float, said: str) -> None:
    check = items(root, slo_text(window="4w"))["checkout::error-budget"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, counts({28 * DAY: (1, 10)}, held=0), since=AT - held))
    assert verdict.skip == (
        f"checkout::error-budget: the SLO window is 4w but Prometheus holds {said} of its data: the budget over 4w is "
        "not judged"
    )


def test_a_budget_without_counts_is_skipped_naming_the_unit(root: Path) -> None:
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root)
    for bad, total in ((None, 1000), (5, None), (None, None)):
        verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (bad, total)})))
        assert verdict.ok and verdict.skip == "checkout::error-budget: no requests counted over 1d"


def test_time_slices_are_the_unit_of_a_timeslices_budget(root: Path) -> None:
    text = slo_text(method="Timeslices", objective="      timeSliceTarget: 0.9\n      timeSliceWindow: 5m\n")
    check = items(root, text)["checkout::error-budget"]
    target = target_of(root)
    assert KIND.evaluate(check, target, facts(check, target, counts({DAY: (None, None)}))).skip == (
        "checkout::error-budget: no 5m slices counted over 1d"
    )
    verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (96, 288)})))
    assert verdict.message.startswith(
        "error budget exhausted: 96 bad 5m slices over 1d against 72 allowed (budget left -33.3%, -120.0 min of "
        "full outage); SLI 66.667%, target 75%"
    )
    assert verdict.evidence["unit"] == "5m slices" and verdict.evidence["budgeting"] == "Timeslices"


def test_a_budget_too_small_to_count_leaves_none(root: Path) -> None:
    # the smallest count a float holds: a quarter of it (the budget) is no event at all, and any bad
    # event leaves no budget, not a percentage of it
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (5e-324, 5e-324)})))
    assert not verdict.ok
    assert verdict.message.startswith("error budget exhausted: 4.9e-324 bad requests over 1d against 0 allowed "
                                      "(budget left none, ")
    assert verdict.evidence["budget_left_percent"] is None and verdict.evidence["budget_allowed"] == 0


# --------------------------------------------------------------------------- no data


@pytest.mark.parametrize(
    ("item", "window", "longest"),
    [("error-budget", "1d", "1d"), ("burn-rate", "1d", "1d"), ("error-budget", "1h", "6h"), ("burn-rate", "1h", "6h")],
)
def test_no_data_at_all_fails_naming_the_query_and_the_longest_window(
    root: Path, item: str, window: str, longest: str
) -> None:
    # the burn-rate pairs' long windows (6h at most by default) count: the data must reach back that far
    text = slo_text(window=window)
    check = items(root, text)[f"checkout::{item}"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, (), since=None))
    assert not verdict.ok
    assert verdict.message == (
        f"no data: Prometheus holds no samples of {TOTAL} in the last {longest}, so the SLO cannot be judged\n"
        f"  SLO: checkout (slos/team.yaml:1), target 75% over {window}\n  at: {AT_ISO}"
    )
    assert str(verdict.location) == "slos/team.yaml:1"
    assert verdict.evidence["data_since"] is None and verdict.evidence["slo"] == "checkout"


def test_no_data_of_a_threshold_sli_names_its_query(root: Path) -> None:
    text = slo_text(indicator=THRESHOLD, objective="      op: lte\n      value: 0.5\n")
    check = items(root, text)["checkout::burn-rate"]
    target = target_of(root)
    verdict = KIND.evaluate(check, target, facts(check, target, (), since=None))
    assert verdict.message.startswith(
        "no data: Prometheus holds no samples of histogram_quantile(0.99, sum by (le) "
        f"(rate(http_request_duration_seconds_bucket{{ {SELECTOR} }}[5m]))) in the last 1d, so the SLO cannot be judged"
    )


# --------------------------------------------------------------------------- burn-rate

PAIRS = {"burn-rate-pairs": "1h/5m:2, 6h/30m:1.5"}  # with a 25% budget: 2× is half the events bad
BURN_FOOTER = FOOTER


def burn_item(root: Path, annotations: dict[str, str] | None = PAIRS, **kwargs: Any) -> tuple[Check, Target]:
    return items(root, slo_text(annotations=annotations, **kwargs))["checkout::burn-rate"], target_of(root)


def by_window(bad: dict[float, float | None], total: float = 1000, held: float = DAY) -> tuple[WindowCount, ...]:
    return counts({w: (b, None if b is None else total) for w, b in bad.items()}, held=held)


def test_both_pairs_burning_fail_on_the_first_and_name_the_other(root: Path) -> None:
    check, target = burn_item(root)
    found = by_window({6 * HOUR: 500, HOUR: 600, 1800: 900, 300: 700})
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert not verdict.ok
    assert verdict.message == (
        "burning the error budget 2.4× as fast as allowed over 1h and 2.8× over 5m (limit 2× on both): 60% of "
        "requests were bad in the last 1h, 25% allowed\n  also 6h & 30m at 1.5×: 2.0× and 3.6×" + BURN_FOOTER
    )
    queries = render_queries(check, target)[0]
    assert verdict.evidence["burn_query"] == f"{queries.error_ratio(HOUR)} / 0.25"
    assert verdict.evidence["factor"] == 2.0
    assert verdict.evidence["pairs"] == [
        {"pair": "1h & 5m at 2×", "long": "1h", "short": "5m", "factor": 2.0, "long_burn_rate": pytest.approx(2.4),
         "short_burn_rate": pytest.approx(2.8), "firing": True, "judged": True},
        {"pair": "6h & 30m at 1.5×", "long": "6h", "short": "30m", "factor": 1.5, "long_burn_rate": pytest.approx(2.0),
         "short_burn_rate": pytest.approx(3.6), "firing": True, "judged": True},
    ]
    assert [(w["window"], w["bad"], w["total"], w["covered"]) for w in verdict.evidence["windows"]] == [
        ("6h", 500, 1000, True), ("1h", 600, 1000, True), ("30m", 900, 1000, True), ("5m", 700, 1000, True)
    ]
    assert verdict.evidence["windows"][1]["sli"] == pytest.approx(0.4)
    assert verdict.evidence["windows"][1]["burn_rate"] == pytest.approx(2.4)
    assert "not_judged" not in verdict.evidence
    assert str(verdict.location) == f"slos/team.yaml:{line_of(slo_text(annotations=PAIRS), 'target:')}"


def test_the_first_pair_listed_is_the_one_a_message_leads_with(root: Path) -> None:
    check, target = burn_item(root, {"burn-rate-pairs": "6h/30m:1.5, 1h/5m:2"})
    found = by_window({6 * HOUR: 500, HOUR: 600, 1800: 900, 300: 700})
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert verdict.message.startswith(
        "burning the error budget 2.0× as fast as allowed over 6h and 3.6× over 30m (limit 1.5× on both): 50% of "
        "requests were bad in the last 6h, 25% allowed\n  also 1h & 5m at 2×: 2.4× and 2.8×\n  SLO: checkout "
    )
    assert verdict.evidence["factor"] == 1.5


def test_only_a_burning_pair_is_named(root: Path) -> None:
    check, target = burn_item(root)
    found = by_window({6 * HOUR: 500, HOUR: 400, 1800: 900, 300: 700})  # the 1h window burns 1.6×: under 2×
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert verdict.message == (
        "burning the error budget 2.0× as fast as allowed over 6h and 3.6× over 30m (limit 1.5× on both): 50% of "
        "requests were bad in the last 6h, 25% allowed" + BURN_FOOTER
    )
    queries = render_queries(check, target)[0]
    assert verdict.evidence["burn_query"] == f"{queries.error_ratio(6 * HOUR)} / 0.25"
    assert [p["firing"] for p in verdict.evidence["pairs"]] == [False, True]


@pytest.mark.parametrize(
    "bad",
    [
        {6 * HOUR: 0, HOUR: 0, 1800: 0, 300: 0},
        {6 * HOUR: 375, HOUR: 500, 1800: 375, 300: 500},  # exactly at both factors: the alert's ">" does not fire
        {6 * HOUR: 1000, HOUR: 1000, 1800: 100, 300: 100},  # the incident is over: the short windows are cool
        {6 * HOUR: 100, HOUR: 100, 1800: 1000, 300: 1000},  # it just started: the long windows are cool
    ],
    ids=["nothing-bad", "at-the-factor", "over", "just-started"],
)
def test_a_pair_fires_only_when_both_windows_burn_faster_than_its_factor(root: Path, bad: dict[float, float]) -> None:
    check, target = burn_item(root)
    verdict = KIND.evaluate(check, target, facts(check, target, by_window(bad)))
    assert verdict.ok and verdict.skip is None and verdict.message == ""
    assert [(p["judged"], p["firing"]) for p in verdict.evidence["pairs"]] == [(True, False), (True, False)]
    assert "not_judged" not in verdict.evidence and "burn_query" not in verdict.evidence


def test_the_workbook_pairs_judge_an_slo_without_its_own(root: Path) -> None:
    check = items(root, slo_text(target="0.999"))["checkout::burn-rate"]
    target = target_of(root)
    assert [p.label for p in pairs_of(check.spec["slo"])] == ["1h & 5m at 14.4×", "6h & 30m at 6×"]
    found = by_window({6 * HOUR: 2, HOUR: 20, 1800: 2, 300: 20})  # 20× over 1h and 5m, 2× over 6h and 30m
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert verdict.message.startswith(
        "burning the error budget 20.0× as fast as allowed over 1h and 20.0× over 5m (limit 14.4× on both): 2% of "
        "requests were bad in the last 1h, 0.1% allowed\n  SLO: checkout (slos/team.yaml:1), target 99.9% over 1d"
    )
    assert verdict.evidence["burn_query"].endswith(" / 0.001")


def test_a_pair_without_samples_is_said_beside_a_pass(root: Path) -> None:
    # the app stopped being scraped 3 minutes ago: the 5m window has no samples
    check, target = burn_item(root)
    found = by_window({6 * HOUR: 10, HOUR: 10, 1800: 10, 300: None})
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert verdict.ok and verdict.skip is None
    assert verdict.evidence["not_judged"] == ["1h & 5m at 2×: no samples of the SLI in the last 5m"]
    assert [(p["judged"], p["short_burn_rate"]) for p in verdict.evidence["pairs"]] == [
        (False, None), (True, pytest.approx(0.04))
    ]
    assert verdict.evidence["windows"][3] == {"window": "5m", "covered": True, "bad": None, "total": None,
                                              "sli": None, "burn_rate": None}


def test_a_pair_older_than_the_data_is_said_beside_a_pass(root: Path) -> None:
    check, target = burn_item(root, {"burn-rate-pairs": "6h/30m:1.5, 30m/5m:2"})
    found = by_window({6 * HOUR: 10, 1800: 10, 300: 10}, held=2400)
    verdict = KIND.evaluate(check, target, facts(check, target, found, since=AT - 2400))
    assert verdict.ok and verdict.skip is None
    assert verdict.evidence["not_judged"] == [
        "6h & 30m at 1.5×: Prometheus holds about 40m of the SLI's data, less than 6h"
    ]


def test_every_other_burning_pair_is_named_on_a_line_of_its_own(root: Path) -> None:
    check, target = burn_item(root, {"burn-rate-pairs": "1h/5m:2, 6h/30m:1.5, 1d/2h:1.1"})
    found = by_window({DAY: 300, 6 * HOUR: 500, 2 * HOUR: 400, HOUR: 600, 1800: 900, 300: 700})
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert verdict.message == (
        "burning the error budget 2.4× as fast as allowed over 1h and 2.8× over 5m (limit 2× on both): 60% of "
        "requests were bad in the last 1h, 25% allowed\n  also 6h & 30m at 1.5×: 2.0× and 3.6×\n"
        "  also 1d & 2h at 1.1×: 1.2× and 1.6×" + BURN_FOOTER
    )


def test_a_pair_not_judged_does_not_hide_one_that_burns(root: Path) -> None:
    check, target = burn_item(root)
    found = by_window({6 * HOUR: 500, HOUR: 600, 1800: 900, 300: None})
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert not verdict.ok and verdict.message.startswith("burning the error budget 2.0× as fast as allowed over 6h ")
    assert "also" not in verdict.message


# (what Prometheus held of each window, why no pair could be judged)
NOT_JUDGED = [
    pytest.param(
        by_window({6 * HOUR: 1, HOUR: 1, 1800: 1, 300: 1}, held=2400),
        "1h & 5m at 2×: Prometheus holds about 40m of the SLI's data, less than 1h; "
        "6h & 30m at 1.5×: Prometheus holds about 40m of the SLI's data, less than 6h",
        id="data-younger-than-the-long-windows",
    ),
    pytest.param(
        by_window({6 * HOUR: None, HOUR: None, 1800: 1, 300: 1}),
        "1h & 5m at 2×: no samples of the SLI in the last 1h; 6h & 30m at 1.5×: no samples of the SLI in the last 6h",
        id="no-samples-in-the-long-windows",
    ),
    pytest.param(
        counts({6 * HOUR: (1, None), HOUR: (None, 1000), 1800: (1, 1000), 300: (1, 1000)}),
        "1h & 5m at 2×: no samples of the SLI in the last 1h; 6h & 30m at 1.5×: no samples of the SLI in the last 6h",
        id="one-count-missing",
    ),
    pytest.param(
        by_window({6 * HOUR: 1, HOUR: 1, 1800: None, 300: None}),
        "1h & 5m at 2×: no samples of the SLI in the last 5m; 6h & 30m at 1.5×: no samples of the SLI in the last "
        "30m",
        id="no-samples-in-the-short-windows",
    ),
    pytest.param(
        by_window({6 * HOUR: None, HOUR: None, 1800: 1, 300: 1}, held=2400),
        "1h & 5m at 2×: Prometheus holds about 40m of the SLI's data, less than 1h; 6h & 30m at 1.5×: Prometheus "
        "holds about 40m of the SLI's data, less than 6h",
        id="too-young-before-no-samples",
    ),
    pytest.param(
        (WindowCount(HOUR, 1, 1000), WindowCount(1800, 1, 1000)),
        "1h & 5m at 2×: not judged; 6h & 30m at 1.5×: not judged",
        id="windows-not-read",
    ),
    pytest.param(
        (WindowCount(6 * HOUR, None, None), WindowCount(300, 1, 1000, False)),
        "1h & 5m at 2×: Prometheus holds about 40m of the SLI's data, less than 5m; 6h & 30m at 1.5×: no samples "
        "of the SLI in the last 6h",
        id="short-window-uncovered",
    ),
]


@pytest.mark.parametrize(("found", "said"), NOT_JUDGED)
def test_when_no_pair_can_be_judged_the_item_is_skipped_saying_why(
    root: Path, found: tuple[WindowCount, ...], said: str
) -> None:
    check, target = burn_item(root)
    verdict = KIND.evaluate(check, target, facts(check, target, found, since=AT - 2400))
    assert verdict.ok and verdict.skip == f"checkout::burn-rate: no burn-rate pair can be judged: {said}"


def test_a_counter_reset_is_noted_in_the_windows_evidence(root: Path) -> None:
    check, target = burn_item(root)
    found = (*by_window({6 * HOUR: 10, HOUR: 10, 1800: 10, 300: 10}), WindowCount(60, 120, 100))
    verdict = KIND.evaluate(check, target, facts(check, target, found))
    assert verdict.evidence["windows"][4] == {
        "window": "1m", "covered": True, "bad": 120, "total": 100, "sli": 0.0, "burn_rate": 4.0,
        "note": "bad exceeded total (a counter reset?): counted as total",
    }
    assert "note" not in verdict.evidence["windows"][0]


# --------------------------------------------------------------------------- the target and queries, per site


def test_the_target_and_its_config_keys_are_read_at_the_site(root: Path) -> None:
    check = items(root, slo_text(target=TARGET_FROM_CONFIG))["checkout::burn-rate"]
    queries, value, keys = render_queries(check, target_of(root))
    assert (value, keys) == (0.75, ["SLO_API_ERROR_RATE_PERCENT"])
    assert (queries.bad, queries.total, queries.good, queries.query) == (BAD, TOTAL, None, None)
    assert (queries.target_slice, queries.value) == (1.0, None)


@pytest.mark.parametrize(
    ("written", "value", "keys"),
    [
        ("0.75", 0.75, []),
        ("0", 0.0, []),
        ('"{{ 0.75 if site == \'production\' else 0.5 }}"', 0.75, []),  # site is no key of config.env
        ('"{{ SLO_API_LATENCY_TARGET_PERCENT / 100 - SLO_API_ERROR_RATE_PERCENT / 100 }}"', 0.74,
         ["SLO_API_LATENCY_TARGET_PERCENT", "SLO_API_ERROR_RATE_PERCENT"]),
    ],
    ids=["number", "zero", "site", "two-keys"],
)
def test_a_target_is_a_number_or_an_expression_over_the_config(
    root: Path, written: str, value: float, keys: list[str]
) -> None:
    check = items(root, slo_text(target=written))["checkout::error-budget"]
    target = target_of(root)
    assert render_queries(check, target)[1:] == (pytest.approx(value), keys)
    verdict = KIND.evaluate(check, target, facts(check, target, counts({DAY: (1000, 1000)})))
    where = (
        f"sites/production/config.env:{env_line(root, keys[0])}" if keys
        else f"slos/team.yaml:{line_of(slo_text(target=written), 'target:')}"
    )
    assert not verdict.ok and str(verdict.location) == where


@pytest.mark.parametrize(
    ("percent", "said"),
    [
        ("0", "is 1 at site production: write a ratio below 1 (0.999 for 99.9%)"),
        ("-10", "is 1.1 at site production: write a ratio below 1 (0.999 for 99.9%)"),
        ("150", "is -0.5 at site production: write a ratio below 1 (0.999 for 99.9%)"),
    ],
)
def test_a_target_out_of_range_is_an_error_at_the_config_line(tmp_path: Path, percent: str, said: str) -> None:
    root = make_repo(tmp_path, env={"SLO_API_ERROR_RATE_PERCENT": percent})
    check = items(root, slo_text(target=TARGET_FROM_CONFIG))["checkout::burn-rate"]
    with pytest.raises(ConfigError) as caught:
        render_queries(check, target_of(root))
    assert caught.value.message == (
        f"SLO checkout::burn-rate: target '{{{{ 1 - SLO_API_ERROR_RATE_PERCENT / 100 }}}}' {said}"
    )
    assert (caught.value.path, caught.value.line) == (
        "sites/production/config.env", env_line(root, "SLO_API_ERROR_RATE_PERCENT")
    )


def test_a_target_out_of_range_without_a_config_key_is_an_error_at_the_objective(root: Path) -> None:
    text = slo_text(target='"{{ 0.5 + 0.75 }}"')
    check = items(root, text)["checkout::error-budget"]
    with pytest.raises(ConfigError) as caught:
        render_queries(check, target_of(root))
    assert str(caught.value) == (
        f"slos/team.yaml:{line_of(text, 'target:')}: SLO checkout::error-budget: target '{{{{ 0.5 + 0.75 }}}}' is "
        "1.25 at site production: write a ratio below 1 (0.999 for 99.9%)"
    )


def test_a_target_that_is_no_number_at_the_site_is_an_error_at_the_objective(root: Path) -> None:
    text = slo_text(target='"{{ SLO_WINDOW }}"')
    check = items(root, text)["checkout::error-budget"]
    with pytest.raises(ConfigError) as caught:
        render_queries(check, target_of(root))
    assert str(caught.value) == (
        f"slos/team.yaml:{line_of(text, 'target:')}: SLO checkout::error-budget: target '{{{{ SLO_WINDOW }}}}' is "
        "'5m' at site production, not a number"
    )


TIMESLICES = "      timeSliceTarget: {slice}\n      timeSliceWindow: 5m\n"


@pytest.mark.parametrize(
    ("slice_target", "read"), [("0.9", 0.9), ("1", 1.0), ('"{{ SLO_API_ERROR_RATE_PERCENT / 25 }}"', 1.0)]
)
def test_a_slice_target_is_a_ratio_above_0_at_most_1(root: Path, slice_target: str, read: float) -> None:
    text = slo_text(method="Timeslices", objective=TIMESLICES.format(slice=slice_target))
    queries = render_queries(items(root, text)["checkout::burn-rate"], target_of(root))[0]
    assert queries.target_slice == read and queries.unit == "5m slices"


@pytest.mark.parametrize(("percent", "value"), [("0", "0"), ("50", "2"), ("-25", "-1")])
def test_a_slice_target_out_of_range_is_an_error_at_the_config_line(tmp_path: Path, percent: str, value: str) -> None:
    root = make_repo(tmp_path, env={"SLO_API_ERROR_RATE_PERCENT": percent})
    text = slo_text(method="Timeslices", objective=TIMESLICES.format(slice='"{{ SLO_API_ERROR_RATE_PERCENT / 25 }}"'))
    with pytest.raises(ConfigError) as caught:
        render_queries(items(root, text)["checkout::burn-rate"], target_of(root))
    assert str(caught.value) == (
        f"sites/production/config.env:{env_line(root, 'SLO_API_ERROR_RATE_PERCENT')}: SLO checkout::burn-rate: "
        f"timeSliceTarget '{{{{ SLO_API_ERROR_RATE_PERCENT / 25 }}}}' is {value} at site production: write a ratio "
        "above 0, at most 1 (0.95 for 95%)"
    )


def test_a_target_of_text_around_an_expression_is_an_error_at_the_target(root: Path) -> None:
    text = slo_text(target='"0.5 * {{ 1.5 }}"')
    check = items(root, text)["checkout::error-budget"]
    with pytest.raises(ConfigError) as caught:
        render_queries(check, target_of(root))
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "target:" in row)
    assert str(caught.value) == (
        f"slos/team.yaml:{line}: SLO checkout::error-budget: target '0.5 * {{{{ 1.5 }}}}' is neither a number nor "
        "one {{ expression }}: write the whole target as one expression, e.g. "
        "{{ 1 - SLO_API_ERROR_RATE_PERCENT / 100 }}"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"target": '"{{ 1 - SLO_CHECKOUT_ERROR_PERCENT / 100 }}"'},
        {"indicator": RATIO.replace("query: http_requests_total{ {{ selector }} }",
                                    "query: '{{ SLO_CHECKOUT_METRIC }}{ {{ selector }} }'")},
    ],
    ids=["target", "query"],
)
def test_a_config_key_the_site_does_not_set_is_the_sites_error(root: Path, change: dict[str, str]) -> None:
    check = items(root, slo_text(**change))["checkout::burn-rate"]
    with pytest.raises(ConfigError) as caught:
        render_queries(check, target_of(root))
    name = "SLO_CHECKOUT_ERROR_PERCENT" if "target" in change else "SLO_CHECKOUT_METRIC"
    assert str(caught.value) == (
        f"sites/production/config.env: {name} is not set, and check checkout::burn-rate needs it (add {name}=... to "
        "sites/production/config.env)"
    )


def test_good_and_total_queries_are_rendered_for_the_site(root: Path) -> None:
    indicator = RATIO.replace("        bad:\n", "        good:\n").replace(', status=~"5.."', ', status!~"5.."')
    queries = render_queries(items(root, slo_text(indicator=indicator))["checkout::burn-rate"], target_of(root))[0]
    assert (queries.good, queries.bad, queries.total) == (
        f'http_requests_total{{ {SELECTOR}, status!~"5.." }}', None, TOTAL
    )


def test_a_threshold_is_read_at_the_site(root: Path) -> None:
    text = slo_text(
        indicator=THRESHOLD, objective='      op: lte\n      value: "{{ SLO_API_LATENCY_P99_MS / 1000 }}"\n'
    )
    queries = render_queries(items(root, text)["checkout::error-budget"], target_of(root))[0]
    assert queries.value == 0.5 and queries.target_slice == 1.0 and queries.unit == "minutes"
    assert queries.query == (
        f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{ {SELECTOR} }}[5m])))"
    )
    assert (queries.good, queries.bad, queries.total) == (None, None, None)


def test_a_threshold_that_is_no_number_is_an_error_at_the_objective(root: Path) -> None:
    text = slo_text(indicator=THRESHOLD, objective='      op: lte\n      value: "{{ SLO_WINDOW }}"\n')
    with pytest.raises(ConfigError) as caught:
        render_queries(items(root, text)["checkout::error-budget"], target_of(root))
    assert str(caught.value) == (
        f"slos/team.yaml:{line_of(text, 'target:')}: SLO checkout::error-budget: value '{{{{ SLO_WINDOW }}}}' is '5m' "
        "at site production, not a number"
    )


def test_queries_select_the_apps_series_at_the_site_on_one_line(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path, env={"KUBE_NAMESPACE": "shop", "PROMETHEUS_SELECTOR": 'k8s_ns="{namespace}", app="{app}"'}
    )
    indicator = RATIO.replace(
        "query: http_requests_total{ {{ selector }} }",
        "query: >-\n                sum(http_requests_total{ {{ selector }} })\n                "
        "# {{ namespace }}   {{ site }}",
    )
    queries = render_queries(items(root, slo_text(indicator=indicator))["checkout::burn-rate"], target_of(root))[0]
    assert queries.total == 'sum(http_requests_total{ k8s_ns="shop", app="api-server" }) # shop production'
    assert queries.bad == 'http_requests_total{ k8s_ns="shop", app="api-server", status=~"5.." }'


# --------------------------------------------------------------------------- fetch: what is asked, what comes back

EMPTY: dict[str, Any] = {"status": "success", "data": {"resultType": "vector", "result": []}}


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    yield server
    server.stop()


def answering(by_query: dict[str, Answer | float]) -> Callable[[Seen], Answer]:
    """Reply to each instant query as told (a number: one label-less sample); anything else is empty."""
    def answer(seen: Seen) -> Answer:
        got = by_query.get((seen.params.get("query") or [""])[0], (200, {}, EMPTY))
        return got if isinstance(got, tuple) else (200, {}, vector(got))
    return answer


def asked(fake: FakePrometheus) -> list[str]:
    return [s.params["query"][0] for s in fake.seen if s.path == "/api/v1/query"]


def test_an_item_written_in_checks_is_refused_at_its_line(root: Path) -> None:
    check = Check(id="my-slo", title="t", kind="openslo", severity="P2", runbook="checks/runbooks/slo.md",
                  source="checks/team.yaml", line=7, apps=("api-server",), spec={})
    with pytest.raises(CatalogError) as caught:
        KIND.fetch(check, target_of(root))
    assert str(caught.value) == (
        "checks/team.yaml:7: check my-slo: kind openslo items come from slos/*.yaml (OpenSLO), not from checks/"
    )


def test_the_budget_item_reads_when_the_data_began_and_its_window(root: Path, fake: FakePrometheus) -> None:
    check = items(root, slo_text(target=TARGET_FROM_CONFIG))["checkout::error-budget"]
    target = target_of(root, fake.url)
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    held = queries.held_since(DAY)
    fake.answer = answering({held: at - 2 * DAY, queries.bad_count(DAY): 300.0, queries.total_count(DAY): 1000.0})
    got = KIND.fetch(check, target)
    assert got == SloFacts((WindowCount(DAY, 300.0, 1000.0, True),), at - 2 * DAY, at, 0.75, queries,
                           ("SLO_API_ERROR_RATE_PERCENT",))
    assert sorted(asked(fake)) == sorted([held, queries.bad_count(DAY), queries.total_count(DAY)])
    assert {float(s.params["time"][0]) for s in fake.seen} == {at}  # every read at the run's evaluation time


def test_the_burn_item_reads_every_window_of_its_pairs_once(root: Path, fake: FakePrometheus) -> None:
    check = items(root, slo_text(window="1h"))["checkout::burn-rate"]  # the workbook's pairs reach back 6h
    target = target_of(root, fake.url)
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    windows = (6 * HOUR, HOUR, 1800, 300)
    answers: dict[str, Answer | float] = {queries.held_since(6 * HOUR): at - DAY}
    for i, w in enumerate(windows):
        answers[queries.bad_count(w)], answers[queries.total_count(w)] = float(i), 100.0 * (i + 1)
    fake.answer = answering(answers)
    got = KIND.fetch(check, target)
    assert got.counts == tuple(WindowCount(w, float(i), 100.0 * (i + 1), True) for i, w in enumerate(windows))
    assert (got.held_since, got.at, got.target, got.keys) == (at - DAY, at, 0.75, ())
    assert sorted(asked(fake)) == sorted(answers)


def test_a_window_without_samples_is_counted_as_none(root: Path, fake: FakePrometheus) -> None:
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root, fake.url)
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    fake.answer = answering({queries.held_since(DAY): at - 2 * DAY, queries.total_count(DAY): 1000.0})
    assert KIND.fetch(check, target).counts == (WindowCount(DAY, None, 1000.0, True),)


@pytest.mark.parametrize("held", [None, math.nan], ids=["no-series", "nan"])
def test_no_data_at_all_is_no_time_and_no_window_covered(root: Path, fake: FakePrometheus, held: float | None) -> None:
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root, fake.url)
    queries = render_queries(check, target)[0]
    answers: dict[str, Answer | float] = {queries.bad_count(DAY): 1.0, queries.total_count(DAY): 10.0}
    if held is not None:
        answers[queries.held_since(DAY)] = held
    fake.answer = answering(answers)
    got = KIND.fetch(check, target)
    assert got.held_since is None and got.counts == (WindowCount(DAY, 1.0, 10.0, False),)
    assert KIND.evaluate(check, target, got).message.startswith("no data: ")


@pytest.mark.parametrize(
    ("window", "since", "covered"),
    [
        # a 1d window is read at 6m steps: the data began at most one step before the first sample held
        (DAY, lambda at: at - DAY + 360 + 1, True),
        (DAY, lambda at: at - DAY + 360 + 2, False),
        (DAY, lambda at: at - 2 * DAY, True),
    ],
    ids=["a-step-short", "a-step-and-a-second-short", "plenty"],
)
def test_a_window_is_covered_when_the_data_reaches_back_to_within_a_step(
    root: Path, fake: FakePrometheus, window: float, since: Callable[[float], float], covered: bool
) -> None:
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root, fake.url)
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    fake.answer = answering({queries.held_since(window): since(at), queries.bad_count(window): 1.0,
                             queries.total_count(window): 10.0})
    assert KIND.fetch(check, target).counts == (WindowCount(window, 1.0, 10.0, covered),)


def test_a_window_no_longer_than_the_step_must_fit_after_the_first_sample(root: Path, fake: FakePrometheus) -> None:
    # a 4w window is read at 2h48m steps: a 6h window may begin a step before the first sample Prometheus
    # holds, the 2h48m, 1h and 5m windows must fit after it
    check = items(root, slo_text(window="4w", annotations={"burn-rate-pairs": "6h/2h48m:2, 1h/5m:2"}))[
        "checkout::burn-rate"]
    target = target_of(root, fake.url)
    queries = render_queries(check, target)[0]
    step = 2 * HOUR + 48 * MINUTE
    assert queries.held_step(28 * DAY) == step
    cases = {6 * HOUR: step, step: 0, HOUR: 0, 300: 0}  # how long before the first sample a window may begin
    answers: dict[str, Answer | float] = {}
    for w in cases:
        answers[queries.bad_count(w)], answers[queries.total_count(w)] = 1.0, 10.0
    for late, covered in ((1, True), (2, False)):
        for w, early in cases.items():
            fresh = Target(target.site, target.app, Sources(LiveOptions(prometheus_url=fake.url, timeout=5, retries=0)))
            at = fresh.sources.eval_time
            fake.answer = answering({**answers, queries.held_since(28 * DAY): at - w + early + late})
            got = {c.window: c.covered for c in KIND.fetch(check, fresh).counts}
            assert got[w] is covered, (w, late)


def test_time_slices_are_counted_from_the_share_of_good_slices(root: Path, fake: FakePrometheus) -> None:
    text = slo_text(method="Timeslices", objective=TIMESLICES.format(slice="0.9"))
    check = items(root, text)["checkout::error-budget"]
    target = target_of(root, fake.url)
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    assert queries.reads(DAY) == (queries.good_share(DAY),)
    fake.answer = answering({queries.held_since(DAY): at - 2 * DAY, queries.good_share(DAY): 0.75})
    (count,) = KIND.fetch(check, target).counts
    assert (count.window, count.bad, count.total, count.covered) == (DAY, 72.0, 288.0, True)  # 288 slices of 5m
    fake.answer = answering({queries.held_since(DAY): at - 2 * DAY})
    fresh = Target(target.site, target.app, Sources(LiveOptions(prometheus_url=fake.url, timeout=5, retries=0)))
    assert KIND.fetch(check, fresh).counts == (WindowCount(DAY, None, None, True),)


def test_the_sites_own_prometheus_is_read(tmp_path: Path, fake: FakePrometheus) -> None:
    root = make_repo(tmp_path, env={"PROMETHEUS_URL": fake.url})
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root, None)  # no --prometheus-url: the site's PROMETHEUS_URL
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    fake.answer = answering({queries.held_since(DAY): at - 2 * DAY, queries.bad_count(DAY): 3.0,
                             queries.total_count(DAY): 10.0})
    assert KIND.fetch(check, target).counts == (WindowCount(DAY, 3.0, 10.0, True),)


def test_time_slices_of_a_window_longer_than_the_data_are_not_covered(root: Path, fake: FakePrometheus) -> None:
    text = slo_text(method="Timeslices", objective=TIMESLICES.format(slice="0.9"))
    check = items(root, text)["checkout::error-budget"]
    target = target_of(root, fake.url)
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    fake.answer = answering({queries.held_since(DAY): at - HOUR, queries.good_share(DAY): 0.75})
    assert KIND.fetch(check, target).counts == (WindowCount(DAY, 72.0, 288.0, False),)


def test_a_query_prometheus_refuses_fails_the_read(root: Path, fake: FakePrometheus) -> None:
    check = items(root, slo_text())["checkout::error-budget"]
    target = target_of(root, fake.url)
    at = target.sources.eval_time
    queries = render_queries(check, target)[0]
    refused = (400, {}, {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"})
    fake.answer = answering({queries.held_since(DAY): at - 2 * DAY, queries.bad_count(DAY): refused,
                             queries.total_count(DAY): 10.0})
    with pytest.raises(QueryError, match="parse error at char 3"):
        KIND.fetch(check, target)


# --------------------------------------------------------------------------- prefetch


def wait_for(fake: FakePrometheus, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(fake.seen) < n:
        assert time.monotonic() < deadline, f"{len(fake.seen)} of {n} requests arrived"
        time.sleep(0.01)
    time.sleep(0.2)  # and no more than that


def test_prefetch_sends_the_reads_of_every_item_it_can_render(tmp_path: Path, fake: FakePrometheus) -> None:
    root = make_repo(tmp_path, env={"SLO_API_ERROR_RATE_PERCENT": "25", "PROMETHEUS_URL": fake.url})
    (root / "sites" / "staging").mkdir()
    env = (root / "sites/production/config.env").read_text().splitlines()
    (root / "sites/staging/config.env").write_text(
        "\n".join(line for line in env if not line.startswith("PROMETHEUS_URL=")) + "\n"
    )
    checks = items(
        root, slo_text(target=TARGET_FROM_CONFIG) + "---\n" + slo_text("broken", target='"{{ SLO_WINDOW }}"')
    )
    repo = Repo(root, DEFAULT_VALUES_PATH)
    sources = Sources(LiveOptions(timeout=5, retries=0))
    production, staging = (Target(repo.site(name), "api-server", sources) for name in ("production", "staging"))
    from_checks = Check(id="my-slo", title="t", kind="openslo", severity="P2", runbook="checks/runbooks/slo.md",
                        source="checks/team.yaml", line=7, apps=("api-server",), spec={})
    good = checks["checkout::error-budget"]
    KIND.prefetch(sources, [
        (from_checks, production),  # not an OpenSLO item: its fetch says so
        (checks["broken::error-budget"], production),  # its target is no number: its fetch says so
        (good, staging),  # no Prometheus at staging: its fetch says so
        (good, production),
    ])
    queries = render_queries(good, production)[0]
    expected = [queries.held_since(DAY), queries.bad_count(DAY), queries.total_count(DAY)]
    wait_for(fake, len(expected))
    assert sorted(asked(fake)) == sorted(expected)
    assert {float(s.params["time"][0]) for s in fake.seen} == {sources.eval_time}

