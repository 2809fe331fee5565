"""Why a PromQL query is empty: a metric nobody scrapes, a target that went down, or the one
label matcher that no series satisfies.

An empty result is the most common way an SLO check goes wrong without failing, so a check
that finds nothing says which part of its query selected nothing. The diagnosis costs a
bounded number of extra queries (see :data:`MAX_SELECTORS`), batched through the source.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol

from pytest_slo.errors import SloError

from ._answers import InstantResult
from ._promql import Selector, vector_selectors


class PrometheusSource(Protocol):
    """What a diagnosis asks of the client (kept apart from it: no import cycle)."""

    def query(self, promql: str, at: float) -> InstantResult: ...

    def query_many(self, queries: list[str], at: float) -> dict[str, InstantResult | SloError]: ...

    def label_names(self, selector: str, at: float, window: float = 3600.0) -> list[str]: ...

__all__ = ["MAX_MATCHERS", "MAX_SELECTORS", "diagnose_empty"]

MAX_SELECTORS = 4  # diagnose_empty: at most 2 + 4 + 1 queries per selector, so <= 28 in all
MAX_MATCHERS = 4


def diagnose_empty(source: PrometheusSource, promql: str, at: float) -> str:
    """One line on why ``promql`` is empty at ``at``: a missing metric, or the matcher no series has."""
    try:
        if (found := len(source.query(promql, at).samples)) > 0:
            return f"not empty: {found} sample{'s' if found != 1 else ''}"
        selectors = vector_selectors(promql)[:MAX_SELECTORS]
        if not selectors:
            return "no series: the query selects no metric, so its result is empty by construction"
        return "no series: " + "; ".join(_diagnose(source, selectors, at))
    except SloError as exc:
        return f"no series (diagnosis failed: {exc})"


def _diagnose(source: PrometheusSource, selectors: list[Selector], at: float) -> list[str]:
    def count(q: str) -> int | None:
        r = first.get(q) or second.get(q)
        return None if not isinstance(r, InstantResult) else int(r.samples[0].value) if r.samples else 0

    first = source.query_many([q for s in selectors for q in (f"count({s})", s.base and f"count({s.base})") if q], at)
    second: dict[str, InstantResult | SloError] = {}
    plan = []
    for s in selectors:
        if s.base and count(f"count({s.base})") == 0:
            plan.append(f"count(last_over_time({s.base}[1h]))")
        elif s.base and count(f"count({s})") == 0:
            plan += [f"count by ({m.label}) ({s.base})" for m in s.filters[:MAX_MATCHERS]]
    second = source.query_many(plan, at)
    matched, missing = [], []
    for s in selectors:
        n = count(f"count({s})")
        if n:
            matched.append(f"{s} matches {n}")
        elif not s.base:
            if n == 0:
                missing.append(f"no series has {s}")
        elif count(f"count({s.base})") == 0:
            if count(f"count(last_over_time({s.base}[1h]))"):
                missing.append(f"metric {s.metric} has no sample in the 5 minutes before {_utc(at)} but had "
                               "some in the hour before (is its target down? check up{job=...})")
            else:
                missing.append(f"metric {s.metric} does not exist in Prometheus"
                               " (is it scraped? check the ServiceMonitor)")
        elif n == 0:
            missing.append(_culprit(source, s, second, at))
    if missing:
        return missing
    if matched:
        return [f"every selector matches series ({', '.join(matched)}); the rest of the query removes them "
                "(a comparison, a binary operation whose labels differ, or a rate() window with under two samples)"]
    return ["could not be diagnosed (the diagnosis queries failed)"]


def _culprit(source: PrometheusSource, s: Selector, answers: Mapping[str, InstantResult | SloError], at: float) -> str:
    values: dict[str, list[str]] = {}
    for m in s.filters[:MAX_MATCHERS]:
        r = answers.get(f"count by ({m.label}) ({s.base})")
        if isinstance(r, InstantResult):
            values[m.label] = sorted({x.labels.get(m.label, "") for x in r.samples})
    for m in s.filters[:MAX_MATCHERS]:
        have = values.get(m.label)
        if have is None or any(m.matches(v) for v in have):
            continue
        if have == [""]:
            try:
                names = source.label_names(s.base or "", at)
            except SloError:
                names = ["(unknown)"]
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            return f"{s.metric} exists, but none has {m} (no series has a {m.label} label; labels: {shown})"
        shown = ", ".join(v or '""' for v in have[:5]) + (f" and {len(have) - 5} more" if len(have) > 5 else "")
        return f"{s.metric} exists, but none has {m} ({m.label} has: {shown})"
    together = ", ".join(map(str, s.filters))
    return f"{s.metric} exists, and each matcher matches some series, but none has all of {together}"


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
