"""Why a PromQL query is empty: a metric nobody exports, a series that stopped, the one label
matcher that no series satisfies, or a function that drops what it was given.

An empty result is the most common way an SLO check goes wrong without failing, so a check
that finds nothing says which part of its query selected nothing, in the terms a person
fixes it in:

* a selector whose series had samples in the last hour but none now is *stale*, and the
  ``up`` series of their targets say why: the target is down (``up == 0``), no longer scraped
  (no ``up``: gone from service discovery), or up and no longer exporting the series;
* a metric that exists nowhere is not scraped, unless it is one an exporter only exports
  with a flag (:data:`EXPORTER_FLAGS`), and then the flag is named;
* when every selector matches, ``histogram_quantile`` over series without ``le`` is named.

The diagnosis costs a bounded number of extra queries (see :data:`MAX_SELECTORS`), batched
through the source.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol

from pytest_slo.errors import SloError

from ._answers import InstantResult
from ._promql import Selector, call_arguments, vector_selectors


class PrometheusSource(Protocol):
    """What a diagnosis asks of the client (kept apart from it: no import cycle)."""

    def query(self, promql: str, at: float) -> InstantResult: ...

    def query_many(self, queries: list[str], at: float) -> dict[str, InstantResult | SloError]: ...

    def label_names(self, selector: str, at: float, window: float = 3600.0) -> list[str]: ...

__all__ = ["EXPORTER_FLAGS", "MAX_MATCHERS", "MAX_SELECTORS", "diagnose_empty"]

MAX_SELECTORS = 4  # diagnose_empty: at most 3 + 4 + 1 queries per selector, plus 2 per histogram_quantile
MAX_MATCHERS = 4
STALE_WINDOW = "1h"

#: metric -> (exporter, a metric it always exports, the flag that adds the metric). Checked
#: against the Debian package's redis_exporter 1.45 in tests/test_promql_diagnosis.py.
EXPORTER_FLAGS: Mapping[str, tuple[str, str, str]] = {
    "redis_total_system_memory_bytes": (
        "redis_exporter", "redis_up", "--include-system-metrics (REDIS_EXPORTER_INCL_SYSTEM_METRICS=true)",
    ),
}


def diagnose_empty(source: PrometheusSource, promql: str, at: float) -> str:
    """One line on why ``promql`` is empty at ``at``: a missing metric, or the matcher no series has."""
    try:
        if (found := len(source.query(promql, at).samples)) > 0:
            return f"not empty: {found} sample{'s' if found != 1 else ''}"
        selectors = vector_selectors(promql)[:MAX_SELECTORS]
        if not selectors:
            return "no series: the query selects no metric, so its result is empty by construction"
        return "no series: " + "; ".join(_Diagnosis(source, promql, selectors, at).run())
    except SloError as exc:
        return f"no series (diagnosis failed: {exc})"


class _Diagnosis:
    def __init__(self, source: PrometheusSource, promql: str, selectors: list[Selector], at: float) -> None:
        self.source, self.promql, self.selectors, self.at = source, promql, selectors, at
        self.answers: dict[str, InstantResult | SloError] = {}

    def ask(self, queries: list[str]) -> None:
        self.answers.update(self.source.query_many([q for q in queries if q not in self.answers], self.at))

    def result(self, query: str) -> InstantResult | None:
        answer = self.answers.get(query)
        return answer if isinstance(answer, InstantResult) else None

    def count(self, query: str) -> int | None:
        r = self.result(query)
        return None if r is None else int(r.samples[0].value) if r.samples else 0

    def run(self) -> list[str]:
        now = {s: f"count({s})" for s in self.selectors}
        before = {s: f"count(last_over_time({s}[{STALE_WINDOW}]))" for s in self.selectors}
        base = {s: f"count({s.base})" for s in self.selectors if s.base}
        self.ask([*now.values(), *before.values(), *base.values()])
        plan = []
        for s in self.selectors:
            if self.count(now[s]):
                continue
            if self.count(before[s]):
                plan += [_targets(s), _up(s)]
            elif s.base and self.count(base[s]) == 0:
                plan.append(f"count(last_over_time({s.base}[{STALE_WINDOW}]))")
                plan += [f"count({m.base})" for m in [_marker(s)] if m]
            elif s.base:
                plan += [f"count by ({m.label}) ({s.base})" for m in s.filters[:MAX_MATCHERS]]
        self.ask(plan)
        matched, missing = [], []
        stale: dict[str, list[str]] = {}  # why -> the selectors it explains
        for s in self.selectors:
            n = self.count(now[s])
            if n:
                matched.append(f"{s} matches {n}")
            elif had := self.count(before[s]):
                stale.setdefault(self.stale(s), []).append(f"{s} ({had} series)")
            elif not s.base:
                if n == 0:
                    missing.append(f"no series has {s}")
            elif self.count(base[s]) == 0:
                missing.append(self.absent(s))
            elif n == 0:
                missing.append(self.culprit(s))
        if stale:  # series that stopped explain an empty result whatever else the query asks for
            return [f"{' and '.join(which)} had samples in the {STALE_WINDOW} before {_utc(self.at)} but none in "
                    f"the last 5 minutes: {why}" for why, which in stale.items()]
        if missing:
            return missing
        if matched:
            return [self.histogram() or (
                f"every selector matches series ({', '.join(matched)}); the rest of the query removes them "
                "(a comparison, a binary operation whose labels differ, or a rate() window with under two samples)")]
        return ["could not be diagnosed (the diagnosis queries failed)"]

    def stale(self, s: Selector) -> str:
        """Why the series of ``s`` stopped, from the ``up`` of their targets."""
        targets, up = self.result(_targets(s)), self.result(_up(s))
        if targets is None or up is None:
            return "they stopped (is their target down? check up{job=...})"
        keys = sorted({(t.labels.get("job", ""), t.labels.get("instance", "")) for t in targets.samples})
        if not any(any(k) for k in keys):
            return "they have no job or instance label (a recording rule or a remote-write sender stopped?)"
        state = {(u.labels.get("job", ""), u.labels.get("instance", "")): u.value for u in up.samples}
        down = [k for k in keys if state.get(k) == 0]
        gone = [k for k in keys if k not in state]
        if down:
            return f"their target is down ({_target_list(down)} == 0)"
        if gone:
            return f"their target is no longer scraped (no {_target_list(gone)}: removed from service discovery?)"
        return (f"their target is up ({_target_list(keys)} == 1) but no longer exports them: the app or exporter "
                "stopped reporting these series (a label value it no longer has, or a restart that cleared them)")

    def absent(self, s: Selector) -> str:
        if self.count(f"count(last_over_time({s.base}[{STALE_WINDOW}]))"):
            return (f"metric {s.metric} has no sample in the 5 minutes before {_utc(self.at)} but had some in the "
                    f"{STALE_WINDOW} before (none with {', '.join(map(str, s.filters)) or 'these labels'})")
        marker = _marker(s)
        if marker is not None:
            exporter, _, flag = EXPORTER_FLAGS[s.name or ""]
            running = (
                f"{marker.metric} exists, so {exporter} is scraped but runs without it"
                if self.count(f"count({marker.base})")
                else f"no {exporter} is scraped either ({marker.metric} does not exist)"
            )
            return f"metric {s.metric} does not exist in Prometheus: {exporter} exports it only with {flag}; {running}"
        return f"metric {s.metric} does not exist in Prometheus (is it scraped? check the ServiceMonitor)"

    def culprit(self, s: Selector) -> str:
        values: dict[str, list[str]] = {}
        for m in s.filters[:MAX_MATCHERS]:
            r = self.result(f"count by ({m.label}) ({s.base})")
            if r is not None:
                values[m.label] = sorted({x.labels.get(m.label, "") for x in r.samples})
        for m in s.filters[:MAX_MATCHERS]:
            have = values.get(m.label)
            if have is None or any(m.matches(v) for v in have):
                continue
            if have == [""]:
                try:
                    names = self.source.label_names(s.base or "", self.at)
                except SloError:
                    names = ["(unknown)"]
                shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
                return f"{s.metric} exists, but none has {m} (no series has a {m.label} label; labels: {shown})"
            shown = ", ".join(v or '""' for v in have[:5]) + (f" and {len(have) - 5} more" if len(have) > 5 else "")
            return f"{s.metric} exists, but none has {m} ({m.label} has: {shown})"
        together = ", ".join(map(str, s.filters))
        return f"{s.metric} exists, and each matcher matches some series, but none has all of {together}"

    def histogram(self) -> str | None:
        """histogram_quantile drops every input series without an ``le`` label: say so."""
        inputs = [args[1] for args in call_arguments(self.promql, "histogram_quantile") if len(args) == 2][:2]
        self.ask([f"count by (le) ({arg})" for arg in inputs])
        for arg in inputs:
            r = self.result(f"count by (le) ({arg})")
            if r is not None and r.samples and not any(x.labels.get("le") for x in r.samples):
                names = [s.name for s in vector_selectors(arg) if s.name and not s.name.endswith("_bucket")]
                hint = f" ({names[0]} is not a histogram's _bucket series)" if names else ""
                return (f"histogram_quantile gets series without an le label{hint}, and drops them: give it the "
                        "_bucket series and keep le when aggregating, e.g. sum by (le) (rate(x_bucket[5m]))")
        return None


def _targets(s: Selector) -> str:
    return f"count by (job, instance) (last_over_time({s}[{STALE_WINDOW}]))"


def _up(s: Selector) -> str:
    return f"up and on (job, instance) count by (job, instance) (last_over_time({s}[{STALE_WINDOW}]))"


def _marker(s: Selector) -> Selector | None:
    entry = EXPORTER_FLAGS.get(s.name or "")
    return Selector(entry[1]) if entry else None


def _target_list(keys: list[tuple[str, str]]) -> str:
    shown = ["up{" + ", ".join(f'{k}="{v}"' for k, v in (("job", j), ("instance", i)) if v) + "}" for j, i in keys[:3]]
    return ", ".join(shown) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
