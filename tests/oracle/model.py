"""What an oracle case is, and its two renderings: a ``promtool test rules`` unit test and
OpenMetrics for ``promtool tsdb create-blocks-from openmetrics`` (a real Prometheus).

Time runs in whole minutes relative to the designed evaluation time E: a series is a function
of ``m`` (E + m minutes), sampled once a minute from ``m = -EVAL_MINUTE`` (promtool's time 0)
to ``m = TAIL_MINUTES``. The tail lets a live run that starts up to ``max(DRIFT_MINUTES)``
minutes after E see the same story; promtool proves the verdict at each of those times.

An alerting rule is built from a check's exact query, operator and threshold the way a team
would write the alert of the same SLO: ``Breach`` fires on every series that breaks
``<query> <op> <threshold>`` (the negated comparison, so NaN never fires, as in any PromQL
comparison), and for ``no_data: fail`` checks ``NoData`` is ``absent(<query>)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DRIFT_MINUTES",
    "EVAL_MINUTE",
    "FAIL",
    "MINUTES",
    "NEGATED",
    "PASS",
    "REQUIRED_COVERAGE",
    "SKIP",
    "TAIL_MINUTES",
    "Case",
    "Curve",
    "Oracle",
    "Series",
    "agreement_rules",
    "case",
    "input_series",
    "openmetrics",
    "promtool_duration",
    "promtool_file",
    "rule_file",
    "series",
    "unit_test",
]

EVAL_MINUTE = 390  # 6h30m of history before E: room for the 6h range of redis-memory-growth
TAIL_MINUTES = 15
DRIFT_MINUTES = (0, 1, 2)
MINUTES = range(-EVAL_MINUTE, TAIL_MINUTES + 1)
FAIL, PASS, SKIP = "failed", "passed", "skipped"

#: The series stories every check is proven on, unless its table says why one cannot apply.
REQUIRED_COVERAGE = {
    "new-series": "a series (a counter: with a non-zero value) that first appears inside the window",
    "restart": "a counter reset (or a gauge that drops) after a restart",
    "nan": "a histogram or ratio with no traffic: the query's value is NaN",
    "zero": "zero requests: the series exist and never moved",
    "several": "several instances of which one breaches",
    "stale": "a stale series: its last sample is older than the 5 minute lookback",
    "pass": "a healthy state",
    "fail": "a plain breach",
}

NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}

Curve = Callable[[int], "float | None"]


@dataclass(frozen=True)
class Series:
    """One series of a case. ``labels`` exclude ``namespace``: the site's KUBE_NAMESPACE is added
    when the case is rendered, ``production`` for promtool and one per case for the live run."""

    name: str
    labels: Mapping[str, str]
    values: tuple[float | None, ...]

    def selector(self, namespace: str) -> str:
        labels = {**self.labels, "namespace": namespace}
        return self.name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def series(name: str, labels: Mapping[str, str], curve: Curve) -> Series:
    """``curve(m)`` at every minute; ``None`` is a minute without a sample."""
    values = []
    for m in MINUTES:
        v = curve(m)
        values.append(None if v is None else float(v))
    return Series(name, dict(labels), tuple(values))


@dataclass(frozen=True)
class Case:
    """One story and the verdict it must get. ``breaching`` are the labels of the failing
    series as the query returns them (namespace ``production``); ``values`` the exact values
    of the query at E that promtool must compute; ``message`` text the finding (or the skip
    reason) must contain."""

    name: str
    covers: frozenset[str]
    story: str
    series: tuple[Series, ...]
    verdict: str
    breaching: tuple[Mapping[str, str], ...] = ()
    values: tuple[tuple[Mapping[str, str], float], ...] = ()
    message: str = ""

    def __post_init__(self) -> None:
        assert self.verdict in (FAIL, PASS, SKIP), self.verdict
        assert not self.breaching or self.verdict == FAIL, self.name

    @property
    def no_data(self) -> bool:
        """A failing case without breaching series fails because the query is empty."""
        return self.verdict == FAIL and not self.breaching


def case(name: str, covers: str, story: str, series: Iterable[Series], verdict: str, **kwargs: Any) -> Case:
    return Case(name, frozenset(covers.split()), story, tuple(series), verdict, **kwargs)


@dataclass(frozen=True)
class Oracle:
    """A check's cases, and the coverage it cannot have (with the reason)."""

    cases: tuple[Case, ...]
    not_applicable: Mapping[str, str] = field(default_factory=dict)


def promtool_duration(milliseconds: int) -> str:
    """A Prometheus duration promtool parses exactly (``6h31m4s217ms``)."""
    parts, rest = [], milliseconds
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        n, rest = divmod(rest, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(float(value))


# --------------------------------------------------------------------------- promtool


def rule_file(query: str, op: str, threshold: float, no_data: str) -> dict[str, Any]:
    rules: list[dict[str, str]] = [{"alert": "Breach", "expr": f"({query}) {NEGATED[op]} {_number(threshold)}"}]
    if no_data == "fail":
        rules.append({"alert": "NoData", "expr": f"absent({query})"})
    return {"groups": [{"name": "oracle", "rules": rules}]}


def agreement_rules(a: str, b: str) -> dict[str, Any]:
    """An alert ``Disagree`` that fires wherever two queries of label-less results differ: two
    numbers further apart than 1e-9, a result only one of them has, or NaN on one side only."""
    expr = (f"abs(({a}) - ({b})) > 1e-9 or (({a}) unless ({b})) or (({b}) unless ({a}))"
            f" or (({a}) != ({a}) unless ({b}) != ({b})) or (({b}) != ({b}) unless ({a}) != ({a}))")
    return {"groups": [{"name": "agreement", "rules": [{"alert": "Disagree", "expr": expr}]}]}


def input_series(case: Case, namespace: str = "production") -> list[dict[str, str]]:
    return [
        {"series": s.selector(namespace), "values": " ".join("_" if v is None else _number(v) for v in s.values)}
        for s in case.series
    ]


def unit_test(
    case: Case,
    query: str,
    no_data_alert: bool,
    at_ms: int,
    breaching: Sequence[Mapping[str, str]],
    no_data: bool,
    values: Sequence[tuple[Mapping[str, str], float]] = (),
) -> dict[str, Any]:
    """One promtool test: the case's series, both alerts at ``at_ms`` after the first sample,
    and the query's exact values there (NaN through ``!= bool``: promtool compares floats
    with ==, and NaN equals nothing)."""
    at = promtool_duration(at_ms)
    alerts = [{"eval_time": at, "alertname": "Breach", "exp_alerts": [{"exp_labels": dict(b)} for b in breaching]}]
    if no_data_alert:
        alerts.append({"eval_time": at, "alertname": "NoData", "exp_alerts": [{"exp_labels": {}}] if no_data else []})
    test: dict[str, Any] = {
        "name": case.name,
        "interval": "1m",
        "input_series": input_series(case),
        "alert_rule_test": alerts,
    }
    if values:
        numbers = [(labels, v) for labels, v in values if not math.isnan(v)]
        test["promql_expr_test"] = [
            {"expr": f"({query}) == ({query})", "eval_time": at,
             "exp_samples": [{"labels": _labels(labels), "value": v} for labels, v in numbers]},
            {"expr": f"({query}) != bool ({query})", "eval_time": at,
             "exp_samples": [{"labels": _labels(labels), "value": 1 if math.isnan(v) else 0} for labels, v in values]},
        ]
    return test


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def promtool_file(rules_path: str, at_ms: int, tests: list[dict[str, Any]]) -> dict[str, Any]:
    """A promtool test file whose rules are evaluated exactly at ``at_ms`` (and at 0)."""
    return {"rule_files": [rules_path], "evaluation_interval": promtool_duration(at_ms), "tests": tests}


# --------------------------------------------------------------------------- live Prometheus


def openmetrics(case: Case, namespace: str, base: int) -> Iterable[str]:
    """The case's samples, series by series, for a Prometheus whose E is ``base`` + EVAL_MINUTE."""
    for s in case.series:
        name = s.selector(namespace)
        for m, v in zip(MINUTES, s.values, strict=True):
            if v is not None:
                yield f"{name} {_number(v)} {base + (m + EVAL_MINUTE) * 60}"
