"""The comparisons of checks and their negations, shared by verdicts and the postmortem timeline.

A check says what must hold (``op``: the value ``<=`` the threshold); a series *breaches* where
an alert on the check would fire, ``value <negated op> threshold``. Python's float comparisons
are IEEE 754's, as PromQL's are, so NaN compares alike here and in Prometheus: it never breaches
an ordering, exactly as an alert rule on it never fires.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

__all__ = ["BREACHES", "OPS"]

Compare = Callable[[float, float], bool]

OPS: dict[str, Compare] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
BREACHES: dict[str, Compare] = {
    "<": operator.ge,
    "<=": operator.gt,
    ">": operator.le,
    ">=": operator.lt,
    "==": operator.ne,
    "!=": operator.eq,
}
