"""Breaches and recoveries of the incident timeline, on hand-made range-query series (no server)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pytest

from pytest_slo.incident.timeline import Event, breach_events, burn_breach, merge_events, promql_breach

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
STEP = 60.0


@dataclass
class Series:
    """The two attributes a range-query series has that the timeline reads."""

    values: list[float]
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> list[tuple[float, float]]:
        return [(T0 + i * STEP, v) for i, v in enumerate(self.values)]


def at(index: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(T0 + index * STEP, dt.timezone.utc)


def test_a_sustained_breach_and_its_recovery() -> None:
    b = promql_breach("<=", 500, [Series([100, 120, 900, 950, 8400, 130, 110])])
    assert (b.first, b.recovered, b.first_value, b.peak, b.last) == (at(2), at(5), 900, 8400, 110)


def test_a_single_point_blip_is_noise_but_not_at_the_end() -> None:
    b = promql_breach("<=", 500, [Series([100, 900, 100, 100, 100])])
    assert (b.first, b.recovered) == (None, None)
    # the same point as the newest sample is the breach still going on
    b = promql_breach("<=", 500, [Series([100, 100, 100, 100, 900])])
    assert (b.first, b.recovered) == (at(4), None)


@pytest.mark.parametrize(
    ("values", "first", "back"),
    [
        # two good points inside a breach do not end it
        ([900, 900, 100, 100, 900, 900, 100, 100, 100], 0, 6),
        # three do: the incident is the last episode, and it is back for good after it
        ([900, 900, 100, 100, 100, 900, 900, 100], 5, 7),
    ],
)
def test_back_for_good_is_after_the_last_episode(values: list[float], first: int, back: int) -> None:
    b = promql_breach("<=", 500, [Series(values)])
    assert (b.first, b.recovered) == (at(first), at(back))


def test_an_objective_with_a_lower_bound_and_no_traffic() -> None:
    b = promql_breach(">=", 99.9, [Series([99.99, 99.95, 99.9, 98.2, 97.0, 97.5])])
    assert (b.first, b.recovered, b.peak) == (at(3), None, 97.0)
    # NaN (a ratio over no requests) is no breach, as in the verdict
    b = promql_breach("<=", 500, [Series([math.nan, 900, 900, math.nan, math.nan, math.nan])])
    assert (b.first, b.recovered) == (at(1), at(3))


def test_several_series_the_earliest_start_and_the_latest_recovery() -> None:
    a = Series([100, 100, 900, 900, 100, 100, 100], {"instance": "a:6379", "__name__": "x"})
    b = Series([100, 900, 900, 900, 900, 900, 100], {"instance": "b:6379", "namespace": "production"})
    found = promql_breach("<=", 500, [a, b])
    assert (found.first, found.recovered) == (at(1), at(6))
    assert found.label == '`instance="b:6379"`'  # the series that began it; the app's own labels go without saying
    # one series still breaching: not recovered, however many others are
    c = Series([100, 100, 100, 100, 100, 900, 900])
    assert promql_breach("<=", 500, [a, c]).recovered is None


def test_no_series_and_a_series_within_objective() -> None:
    assert promql_breach("<=", 500, []).first is None
    assert promql_breach("<=", 500, [Series([100, 500, 499])]).first is None


def test_a_burn_rate_page_fires_only_while_both_windows_burn() -> None:
    long = [Series([1, 20, 30, 40, 40, 40, 40, 40])]
    short = [Series([1, 1, 30, 40, 40, 2, 1, 1])]
    b = burn_breach(14.4, [(14.4, long, short)])
    # fires at 2 (the long window alone at 1 is not enough); back for good when the short one drops
    assert (b.first, b.recovered, b.first_value) == (at(2), at(5), 30)
    # a second pair that still fires keeps the page firing
    six = burn_breach(14.4, [(14.4, long, short), (6.0, [Series([7] * 8)], [Series([7] * 8)])])
    assert six.recovered is None


def test_events_of_runs_merge_by_key() -> None:
    first = breach_events("slo-latency-p99", "api", at(3), None, "900 ms")
    assert [(e.at, e.what) for e in first] == [(at(3), "slo-latency-p99 breached: 900 ms")]
    # a later run reads a finer range: the start moves earlier, and the recovery is found
    later = breach_events("slo-latency-p99", "api", at(2), at(9), "850 ms")
    merged = merge_events(first, later)
    assert [(e.at, e.what) for e in merged] == [
        (at(2), "slo-latency-p99 breached: 850 ms"),
        (at(9), "slo-latency-p99: back within objective for good"),
    ]
    # the first run's detection stays the detection
    detected = [Event(at(5), "detected", "pytest-slo", "detected")]
    assert merge_events(detected, [Event(at(8), "detected again", "pytest-slo", "detected")]) == detected
    burn = breach_events("api::burn-rate", "api", at(1), at(4), "15.0× at first", burn="14.4×")
    assert [e.what for e in burn] == ["api::burn-rate: burn rate above 14.4× since 22:14 UTC (15.0× at first)",
                                      "api::burn-rate: burn rate back under 14.4× for good"]
    # an event round-trips through the draft's state
    assert [Event.from_dict(e.as_dict()) for e in burn] == burn
