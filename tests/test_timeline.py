"""Breach episodes of the postmortem timeline, on hand-made range-query series (no server)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from pytest_slo.findings.timeline import breaches

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
STEP = 60.0


@dataclass
class Series:
    """The two attributes ``breaches`` reads of a range-query series."""

    values: list[float]
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> list[tuple[float, float]]:
        return [(T0 + i * STEP, v) for i, v in enumerate(self.values)]


def at(index: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(T0 + index * STEP, dt.timezone.utc)


def latency(op: str = "<=", threshold: float = 500) -> dict:
    return {"check": "slo-latency-p99", "evidence": {"op": op, "threshold": threshold, "unit": " ms"}}


def described(events: list) -> list[tuple[dt.datetime, str]]:
    return [(e.at, e.what) for e in events]


def test_a_sustained_breach_and_its_recovery() -> None:
    events, summary = breaches(latency(), [Series([100, 120, 900, 950, 8400, 130, 110])])
    assert described(events) == [
        (at(2), "slo-latency-p99 breached (all series): 900 ms, objective <= 500 ms"),
        (at(5), "slo-latency-p99 back within objective (all series): 130 ms"),
    ]
    assert summary == {"first_breach": at(2), "recovered": True}


def test_a_single_point_blip_is_noise_but_not_at_the_end() -> None:
    events, summary = breaches(latency(), [Series([100, 900, 100, 100, 100])])
    assert events == [] and summary == {"first_breach": None, "recovered": None}
    # the same point as the newest sample is the breach still going on
    events, summary = breaches(latency(), [Series([100, 100, 100, 100, 900])])
    assert described(events) == [(at(4), "slo-latency-p99 breached (all series): 900 ms, objective <= 500 ms")]
    assert summary == {"first_breach": at(4), "recovered": False}


@pytest.mark.parametrize(
    ("values", "episodes"),
    [
        # two good points inside a breach do not end it
        ([900, 900, 100, 100, 900, 900, 100, 100, 100], [(0, 6)]),
        # three do: two episodes
        ([900, 900, 100, 100, 100, 900, 900, 100], [(0, 2), (5, 7)]),
    ],
)
def test_short_recoveries_do_not_split_an_episode(values: list[float], episodes: list[tuple[int, int]]) -> None:
    events, summary = breaches(latency(), [Series(values)])
    expected = []
    for first, back in episodes:
        expected.append((at(first), f"slo-latency-p99 breached (all series): {values[first]:g} ms, objective <= 500 ms"))
        expected.append((at(back), f"slo-latency-p99 back within objective (all series): {values[back]:g} ms"))
    assert described(events) == expected
    # the incident is the last episode
    assert summary == {"first_breach": at(episodes[-1][0]), "recovered": True}


def test_an_objective_with_a_lower_bound() -> None:
    availability = {"check": "slo-availability", "evidence": {"op": ">=", "threshold": 99.9, "unit": "%"}}
    events, summary = breaches(availability, [Series([99.99, 99.95, 99.9, 98.2, 97.0, 97.5])])
    assert described(events) == [(at(3), "slo-availability breached (all series): 98.2%, objective >= 99.9%")]
    assert summary == {"first_breach": at(3), "recovered": False}


def test_many_episodes_keep_the_first_breach_and_the_last_three() -> None:
    values = [100.0] * 30
    starts = [0, 5, 10, 15, 20]
    for start in starts:
        values[start] = values[start + 1] = 900.0
    events, summary = breaches(latency(), [Series(values)])
    whats = [w for _, w in described(events)]
    assert whats[0] == "slo-latency-p99 first breached (all series); 2 short episodes before the ones below"
    assert events[0].at == at(0)
    breached = [e.at for e in events if "breached (all series): " in e.what]
    assert breached == [at(10), at(15), at(20)]
    assert summary == {"first_breach": at(20), "recovered": True}


def test_several_series_name_themselves_and_the_earliest_open_episode_wins() -> None:
    a = Series([100, 100, 900, 900, 900, 900], {"instance": "a:6379", "__name__": "x"})
    b = Series([100, 900, 900, 100, 100, 100], {"instance": "b:6379"})
    c = Series([900, 900, 900, 900, 900, 900], {"instance": "c:6379"})
    events, summary = breaches(latency(), [a, b, c])
    assert ('slo-latency-p99 breached (instance="a:6379"): 900 ms, objective <= 500 ms') in [e.what for e in events]
    assert ('slo-latency-p99 back within objective (instance="b:6379"): 100 ms') in [e.what for e in events]
    assert summary == {"first_breach": at(0), "recovered": False}
    # all recovered: the summary says so
    _, summary = breaches(latency(), [b])
    assert summary == {"first_breach": at(1), "recovered": True}


def test_no_series_and_a_series_within_objective() -> None:
    assert breaches(latency(), []) == ([], {"first_breach": None, "recovered": None})
    assert breaches(latency(), [Series([100, 500, 499])]) == ([], {"first_breach": None, "recovered": None})
