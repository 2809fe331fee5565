"""Error budgets and burn rates from counts (no server): the SRE workbook's arithmetic and its edges."""

from __future__ import annotations

import math

import pytest

from pytest_slo.kinds.burn import (
    PAGE_PAIRS,
    TICKET_PAIRS,
    BurnPair,
    WindowCount,
    budget,
    burn_rate,
    error_ratio,
    judge_pair,
)

HOUR = 3600.0
TARGET = 0.999  # 99.9%: a budget of 0.1%


def test_the_workbook_pairs() -> None:
    assert [(p.long, p.short, p.factor) for p in PAGE_PAIRS] == [(3600, 300, 14.4), (21600, 1800, 6.0)]
    assert [(p.long, p.short, p.factor) for p in TICKET_PAIRS] == [(86400, 7200, 3.0), (259200, 21600, 1.0)]
    assert PAGE_PAIRS[0].label == "1h & 5m at 14.4×"


def test_burn_rate_is_the_error_ratio_over_the_budget_ratio() -> None:
    # the workbook: 14.4x burn over 1h of a 30-day 99.9% SLO spends 2% of the budget
    ratio = error_ratio(WindowCount(HOUR, bad=144, total=10_000))
    assert ratio == pytest.approx(0.0144)
    assert burn_rate(ratio, TARGET) == pytest.approx(14.4)
    assert 14.4 * HOUR / (30 * 24 * HOUR) == pytest.approx(0.02)


def test_no_traffic_burns_nothing_and_spends_nothing() -> None:
    count = WindowCount(HOUR, bad=0, total=0)
    assert error_ratio(count) == 0.0
    assert burn_rate(error_ratio(count), TARGET) == 0.0
    spent = budget(count, TARGET)
    assert spent is not None and spent.left_ratio == 1.0 and spent.left_events == 0


def test_a_single_request_or_a_fraction_of_a_slice_is_traffic() -> None:
    # one request in the window, and it failed: all of it was bad (not "no traffic")
    assert error_ratio(WindowCount(HOUR, bad=1, total=1)) == 1.0
    assert error_ratio(WindowCount(300, bad=0.25, total=0.5)) == 0.5  # extrapolated counts are fractional
    spent = budget(WindowCount(HOUR, bad=1, total=1), TARGET)
    assert spent is not None and (spent.spent, spent.total) == (1, 1) and spent.left_ratio < 0


def test_a_count_prometheus_could_not_compute_is_no_error() -> None:
    # NaN bad events (a 0/0 somewhere upstream) spend nothing; NaN traffic is no traffic
    assert error_ratio(WindowCount(HOUR, bad=math.nan, total=100)) == 0.0
    assert error_ratio(WindowCount(HOUR, bad=3, total=math.nan)) == 0.0
    spent = budget(WindowCount(HOUR, bad=0, total=1000), TARGET)
    assert spent is not None and (spent.spent, spent.total, spent.allowed) == (0, 1000, pytest.approx(1))


@pytest.mark.parametrize(("bad", "total"), [(None, 100.0), (5.0, None), (None, None)])
def test_either_count_missing_is_not_judged(bad: float | None, total: float | None) -> None:
    # one of the two queries answered no series (its window has no samples): never a guess
    assert error_ratio(WindowCount(HOUR, bad, total)) is None
    assert budget(WindowCount(HOUR, bad, total), TARGET) is None
    assert not judge_pair(PAGE_PAIRS[0], [WindowCount(HOUR, bad, total), WindowCount(300, 1, 10)], TARGET).judged


def test_a_pair_whose_window_was_not_read_is_not_judged() -> None:
    verdict = judge_pair(PAGE_PAIRS[0], [WindowCount(HOUR, 50, 100)], TARGET)
    assert (verdict.long_rate, verdict.short_rate, verdict.judged, verdict.firing) == (
        pytest.approx(500),
        None,
        False,
        False,
    )


def test_no_data_and_a_window_longer_than_the_data_are_not_judged() -> None:
    assert error_ratio(WindowCount(HOUR, bad=None, total=None)) is None
    uncovered = WindowCount(6 * HOUR, bad=10, total=1000, covered=False)
    assert error_ratio(uncovered) is None
    assert budget(uncovered, TARGET) is None
    verdict = judge_pair(PAGE_PAIRS[1], [uncovered, WindowCount(1800, bad=50, total=100)], TARGET)
    assert not verdict.judged and not verdict.firing
    assert verdict.long_rate is None and verdict.short_rate == pytest.approx(500)


def test_a_counter_reset_that_leaves_bad_above_total_is_clamped_and_said() -> None:
    # increase() of two counters extrapolated separately, one of them just reset: bad > total
    count = WindowCount(HOUR, bad=120, total=100)
    assert count.clamped
    assert error_ratio(count) == 1.0
    spent = budget(count, TARGET)
    assert spent is not None and spent.spent == 100
    assert not WindowCount(HOUR, bad=5, total=100).clamped
    assert error_ratio(WindowCount(HOUR, bad=-3, total=100)) == 0.0  # a negative count never helps


def test_a_pair_fires_only_when_both_windows_burn_faster_than_its_factor() -> None:
    pair = BurnPair(HOUR, 300, 14.4)
    long_hot, short_hot = WindowCount(HOUR, 20, 1000), WindowCount(300, 2, 100)  # 20x and 20x
    short_cool = WindowCount(300, 1, 1000)  # 1x: the incident is over
    assert judge_pair(pair, [long_hot, short_hot], TARGET).firing
    assert not judge_pair(pair, [long_hot, short_cool], TARGET).firing
    exactly = WindowCount(HOUR, 144, 10_000)  # exactly 14.4x: the alert's ">" does not fire
    assert not judge_pair(pair, [exactly, short_hot], TARGET).firing


def test_budget_left_in_events_and_minutes_of_full_outage() -> None:
    # 99.9% over 30 days is 43.2 minutes of full outage; a quarter spent leaves 32.4
    window = 30 * 24 * HOUR
    spent = budget(WindowCount(window, bad=250, total=1_000_000), TARGET)
    assert spent is not None
    assert spent.allowed == pytest.approx(1000)
    assert spent.left_ratio == pytest.approx(0.75)
    assert spent.left_events == pytest.approx(750)
    assert spent.left_minutes == pytest.approx(32.4)
    over = budget(WindowCount(window, bad=3000, total=1_000_000), TARGET)
    assert over is not None and over.left_ratio == pytest.approx(-2.0)


def test_a_target_of_one_leaves_no_budget_to_burn() -> None:
    with pytest.raises(ValueError, match="no error budget"):
        burn_rate(0.1, 1.0)
    assert math.isinf(budget(WindowCount(HOUR, 1, 100), 1.0).left_ratio)  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the items' verdicts


def _verdict(item: str, counts: list[WindowCount], held_since: float | None = 0.0):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from pytest_slo.catalog.openslo import load_slos, slo_checks
    from pytest_slo.kinds.openslo import OpenSloKind, SloFacts
    from pytest_slo.kinds.slo_queries import SliQueries

    repo = Path(__file__).resolve().parents[1]
    check = next(
        c for c in slo_checks(load_slos(repo, "slos", ["api-server"]))[0] if c.id == f"api-availability::{item}"
    )
    slo, objective = check.spec["slo"], check.spec["objective"]
    queries = SliQueries(slo, objective, None, None, bad="b", total="t")
    facts = SloFacts(tuple(counts), held_since, 6 * HOUR, TARGET, queries, ())
    return OpenSloKind().evaluate(check, None, facts)  # type: ignore[arg-type]


def burn_counts(bad: dict[float, float | None], total: float = 1000, covered: float = 6 * HOUR) -> list[WindowCount]:
    return [WindowCount(w, b, None if b is None else total, w <= covered) for w, b in bad.items()]


def test_no_traffic_passes_the_burn_rate_item() -> None:
    verdict = _verdict("burn-rate", [WindowCount(w, 0, 0) for w in (6 * HOUR, HOUR, 1800, 300)])
    assert verdict.ok and verdict.skip is None
    assert [p["long_burn_rate"] for p in verdict.evidence["pairs"]] == [0.0, 0.0]


def test_a_window_without_samples_is_not_judged_and_says_so() -> None:
    # the app stopped being scraped 3 minutes ago: the 5m window has no samples
    verdict = _verdict("burn-rate", burn_counts({6 * HOUR: 1, HOUR: 1, 1800: 1, 300: None}))
    assert verdict.ok
    assert verdict.evidence["not_judged"] == ["1h & 5m at 14.4×: no samples of the SLI in the last 5m"]


def test_less_data_than_every_pair_needs_is_a_skip_naming_how_much() -> None:
    verdict = _verdict(
        "burn-rate",
        burn_counts({6 * HOUR: 500, HOUR: 500, 1800: 500, 300: 500}, covered=1800),
        held_since=6 * HOUR - 2400,
    )
    assert verdict.skip == (
        "api-availability::burn-rate: no burn-rate pair can be judged: "
        "1h & 5m at 14.4×: Prometheus holds about 40m of the SLI's data, less than 1h; "
        "6h & 30m at 6×: Prometheus holds about 40m of the SLI's data, less than 6h"
    )


def test_a_spent_budget_says_what_is_wrong_first_in_requests_and_minutes() -> None:
    verdict = _verdict("error-budget", [WindowCount(6 * HOUR, 30, 10_000)])
    assert not verdict.ok
    assert verdict.message.startswith(
        "error budget exhausted: 30 bad requests over 6h against 10 allowed (budget left -200.0%, -0.7 min of "
        "full outage); SLI 99.7%, target 99.9%"
    )
    assert verdict.evidence["budget_left_percent"] == pytest.approx(-200)
    assert verdict.location is not None and str(verdict.location) == "slos/api-server.yaml:22"
    kept = _verdict("error-budget", [WindowCount(6 * HOUR, 5, 10_000)])
    assert kept.ok and kept.evidence["budget_left_percent"] == pytest.approx(50)
