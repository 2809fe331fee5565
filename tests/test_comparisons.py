"""The comparisons a check's ``op`` names, and where a series breaches them.

A series breaches where an alert rule on the check would fire: ``value <negated op> threshold``,
with IEEE 754 comparisons as PromQL has them (NaN never fires an ordering alert).
"""

from __future__ import annotations

import math

import pytest

from pytest_slo.compare import BREACHES, OPS

# (op, value, threshold, holds): the boundary, either side of it, and NaN
CASES = [
    ("<", 1, 2, True), ("<", 2, 2, False), ("<", 3, 2, False),
    ("<=", 1, 2, True), ("<=", 2, 2, True), ("<=", 3, 2, False),
    (">", 1, 2, False), (">", 2, 2, False), (">", 3, 2, True),
    (">=", 1, 2, False), (">=", 2, 2, True), (">=", 3, 2, True),
    ("==", 2, 2, True), ("==", 1, 2, False), ("==", 3, 2, False),
    ("!=", 2, 2, False), ("!=", 1, 2, True), ("!=", 3, 2, True),
]


def test_the_ops_are_the_six_promql_comparisons() -> None:
    assert set(OPS) == set(BREACHES) == {"<", "<=", ">", ">=", "==", "!="}


@pytest.mark.parametrize(("op", "value", "threshold", "holds"), CASES)
def test_a_check_holds_and_breaches_on_the_right_side_of_its_threshold(
    op: str, value: float, threshold: float, holds: bool
) -> None:
    assert OPS[op](value, threshold) is holds
    assert BREACHES[op](value, threshold) is (not holds)


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_nan_never_breaches_an_ordering_as_no_alert_on_it_fires(op: str) -> None:
    assert not BREACHES[op](math.nan, 1.0) and not OPS[op](math.nan, 1.0)


def test_nan_is_unequal_to_everything_as_in_promql() -> None:
    assert BREACHES["=="](math.nan, math.nan) and not BREACHES["!="](math.nan, math.nan)


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_infinities_compare_as_numbers(op: str) -> None:
    # a ratio over maxmemory 0 is +Inf: it breaches "<= 0.9" and holds "> 0.9"
    assert OPS[op](math.inf, 0.9) is (op in (">", ">="))
    assert BREACHES[op](-math.inf, 0.9) is (op in (">", ">="))
