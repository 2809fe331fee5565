"""``kind: openslo``: the items of ``slos/*.yaml`` (``<slo>::error-budget``, ``<slo>::burn-rate``).

Items are made from OpenSLO documents (:mod:`pytest_slo.catalog.openslo`), never written in
``checks/``. Both items of an objective read the same instant queries at the run's
evaluation time (so they share every answer), sent ahead with the rest of the run's reads:
per window, bad and total events (or the share of good slices), and once the first time
Prometheus holds the SLI's data, so that a window longer than that is *said*, not guessed.

* ``error-budget`` fails when the budget left over the objective's window is at or below the
  floor (``pytest-slo.org/error-budget-floor``, default 0%);
* ``burn-rate`` fails when both windows of a pair burn faster than its factor (the SRE
  workbook's page pairs 1h & 5m at 14.4×, 6h & 30m at 6× unless ``pytest-slo.org/burn-rate-pairs``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..catalog.model import NOT_IN_CHECKS
from ..catalog.openslo import Objective, Slo
from ..errors import CatalogError, ConfigError, SloError
from ..expr import expression_names
from ._expr import config_context, evaluate, render_text
from .base import Kind, Location, Target, Verdict
from .burn import PAGE_PAIRS, Budget, BurnPair, PairVerdict, WindowCount, budget, burn_rate, error_ratio, judge_pair
from .live import iso
from .slo_queries import SliQueries, duration

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..sources import Sources

__all__ = ["OpenSloKind", "SloFacts", "pairs_of", "render_queries"]

_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


def pairs_of(slo: Slo) -> tuple[BurnPair, ...]:
    return tuple(BurnPair(*p) for p in slo.pairs) or PAGE_PAIRS


def _evaluate_number(raw: Any, what: str, check: Check, target: Target, line: int) -> tuple[float, list[str]]:
    """A target/value: a number, or ``{{ expression }}`` over the site's config."""
    if isinstance(raw, (int, float)):
        return float(raw), []
    match = _EXPRESSION.match(str(raw))
    if not match:  # text around an expression (the catalog refuses any other text)
        raise ConfigError(
            f"SLO {check.id}: {what} {raw!r} is neither a number nor one {{{{ expression }}}}: write the whole {what} "
            f"as one expression, e.g. {{{{ 1 - SLO_API_ERROR_RATE_PERCENT / 100 }}}}",
            path=check.source,
            line=line,
        )
    source = match[1]
    value = evaluate(source, check, target, config_context(target))
    try:
        return float(value), [n for n in expression_names(source) if n.isupper()]
    except (TypeError, ValueError):
        raise ConfigError(f"SLO {check.id}: {what} {raw!r} is {value!r} at site {target.site.name}, not a number",
                          path=check.source, line=line) from None


def render_queries(check: Check, target: Target) -> tuple[SliQueries, float, list[str]]:
    """The objective's queries for ``target``'s site, its target, and the config keys it reads."""
    slo: Slo = check.spec["slo"]
    objective: Objective = check.spec["objective"]

    def ratio(raw: Any, what: str, ok: Callable[[float], bool], hint: str) -> tuple[float, list[str]]:
        value, keys = _evaluate_number(raw, what, check, target, objective.line)
        if not ok(value):
            loc = target.env_location(*keys) if keys else Location(check.source, objective.line)
            raise ConfigError(
                f"SLO {check.id}: {what} {raw!r} is {value:g} at site {target.site.name}: {hint}",
                path=loc.path,
                line=loc.line,
            )
        return value, keys

    value, keys = ratio(objective.target, "target", lambda v: 0 <= v < 1, "write a ratio below 1 (0.999 for 99.9%)")
    slice_target = 1.0
    if objective.slice_target is not None:
        slice_target = ratio(
            objective.slice_target,
            "timeSliceTarget",
            lambda v: 0 < v <= 1,
            "write a ratio above 0, at most 1 (0.95 for 95%)",
        )[0]
    threshold = (
        _evaluate_number(objective.value, "value", check, target, objective.line)[0]
        if objective.value is not None
        else None
    )
    context = config_context(target)
    context.update(selector=target.sources.selector(target.site, target.app), namespace=target.site.namespace)

    def render(q: str | None) -> str | None:
        return " ".join(render_text(q, check, target, context).split()) if q else None

    queries = SliQueries(
        slo, objective, slice_target, threshold, render(slo.good), render(slo.bad), render(slo.total), render(slo.query)
    )
    return queries, value, keys


def _windows(check: Check) -> list[float]:
    slo: Slo = check.spec["slo"]
    if check.spec["item"] == "error-budget":
        return [slo.window]
    return sorted({w for p in pairs_of(slo) for w in (p.long, p.short)}, reverse=True)


def _longest(slo: Slo) -> float:
    return max([slo.window, *(p.long for p in pairs_of(slo))])


@dataclass(frozen=True)
class SloFacts:
    counts: tuple[WindowCount, ...]
    held_since: float | None  # epoch seconds; None: no data at all
    at: float
    target: float
    queries: SliQueries
    keys: tuple[str, ...]


class OpenSloKind(Kind):
    name = "openslo"
    live = True
    scope = "app"
    #: no check of checks/ names this kind: its items are made from slos/*.yaml
    spec_schema: ClassVar[dict[str, Any]] = {"properties": {}, NOT_IN_CHECKS: True}

    def _all_reads(self, check: Check, target: Target) -> tuple[SliQueries, float, list[str], list[str]]:
        queries, value, keys = render_queries(check, target)
        reads = [queries.held_since(_longest(queries.slo))]
        for w in _windows(check):
            reads += queries.reads(w)
        return queries, value, keys, reads

    def prefetch(self, sources: Sources, pairs: Iterable[tuple[Check, Target]]) -> None:
        for check, target in pairs:
            try:
                if "slo" not in check.spec:
                    continue
                source = sources.prometheus(target.site)
                reads = self._all_reads(check, target)[3]
            except SloError:
                continue  # the item says it when it runs
            source.send(reads, sources.eval_time)

    def fetch(self, check: Check, target: Target) -> SloFacts:
        if "slo" not in check.spec:
            raise CatalogError(
                f"check {check.id}: kind openslo items come from slos/*.yaml (OpenSLO), not from checks/",
                path=check.source,
                line=check.line,
            )
        queries, value, keys, reads = self._all_reads(check, target)
        source = target.sources.prometheus(target.site)
        at = target.sources.eval_time
        answers = source.query_many(reads, at)
        for answer in answers.values():
            if isinstance(answer, SloError):
                raise answer
        held = answers[reads[0]].samples  # type: ignore[union-attr]
        since = held[0].value if held and not math.isnan(held[0].value) else None
        step = queries.held_step(_longest(queries.slo))
        counts = []
        for w in _windows(check):
            # the data began at most one step before ``since``: a window longer than the step
            # is given that step, a shorter one must fit after ``since`` itself
            covered = since is not None and since <= at - w + (step if w > step else 0) + 1
            values = []
            for q in queries.reads(w):
                samples = answers[q].samples  # type: ignore[union-attr]
                values.append(samples[0].value if samples else None)
            if queries.by_slices:
                share = values[0]
                slices = w / queries.slice
                counts.append(
                    WindowCount(
                        w, None if share is None else (1 - share) * slices, None if share is None else slices, covered
                    )
                )
            else:
                counts.append(WindowCount(w, values[0], values[1], covered))
        return SloFacts(tuple(counts), since, at, value, queries, tuple(keys))

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        facts: SloFacts = data
        slo: Slo = check.spec["slo"]
        location = (
            target.env_location(*facts.keys) if facts.keys else Location(check.source, check.spec["objective"].line)
        )
        unit = facts.queries.unit
        windows = [_window_evidence(c, facts.target) for c in facts.counts]
        evidence: dict[str, Any] = {
            "slo": slo.name,
            "objective": check.spec["objective"].display,
            "target": facts.target,
            "window": slo.window_text,
            "budgeting": slo.method,
            "unit": unit,
            "time": iso(facts.at),
            "windows": windows,
            "data_since": iso(facts.held_since) if facts.held_since is not None else None,
        }
        footer = (
            f"\n  SLO: {slo.name} ({slo.source}:{slo.line}), target {_pct(facts.target)} over "
            f"{slo.window_text}\n  at: {iso(facts.at)}"
        )
        if facts.held_since is None:
            basis = facts.queries.query or facts.queries.total
            return Verdict.failed(
                f"no data: Prometheus holds no samples of {basis} in the last {duration(_longest(slo))}, so the "
                f"SLO cannot be judged{footer}",
                evidence,
                Location(slo.source, slo.line),
            )
        held = _held(facts)
        if check.spec["item"] == "error-budget":
            return self._budget(check, facts, evidence, location, footer, held)
        return self._burn(check, facts, evidence, location, footer, held)

    def _budget(
        self, check: Check, facts: SloFacts, evidence: dict[str, Any], location: Location, footer: str, held: str
    ) -> Verdict:
        slo: Slo = check.spec["slo"]
        count = facts.counts[0]
        if not count.covered:
            return Verdict.skipped(
                f"{check.id}: the SLO window is {slo.window_text} but Prometheus holds {held} of its data: the "
                f"budget over {slo.window_text} is not judged"
            )
        spent = budget(count, facts.target)
        if spent is None:
            return Verdict.skipped(f"{check.id}: no {facts.queries.unit} counted over {slo.window_text}")
        evidence.update(_budget_evidence(spent))
        left = spent.left_ratio * 100
        if left > slo.budget_floor:
            return Verdict.passed(**evidence)
        unit = facts.queries.unit
        floor = f" (floor {slo.budget_floor:g}%)" if slo.budget_floor else ""
        what = "exhausted" if left <= 0 else "nearly spent"
        sli = error_ratio(count)
        message = (
            f"error budget {what}: {_events(spent.spent)} bad {unit} over {slo.window_text} against "
            f"{_events(spent.allowed)} allowed "
            f"(budget left {_pct_left(left)}{floor}, {spent.left_minutes:+.1f} min of full outage); "
            f"SLI {_pct(1 - (sli or 0))}, target {_pct(facts.target)}"
        )
        return Verdict.failed(message + footer, evidence, location)

    def _burn(
        self, check: Check, facts: SloFacts, evidence: dict[str, Any], location: Location, footer: str, held: str
    ) -> Verdict:
        slo: Slo = check.spec["slo"]
        verdicts = [judge_pair(p, facts.counts, facts.target) for p in pairs_of(slo)]
        evidence["pairs"] = [_pair_evidence(v) for v in verdicts]
        judged = [v for v in verdicts if v.judged]
        if not judged:
            return Verdict.skipped(
                f"{check.id}: no burn-rate pair can be judged: " + "; ".join(_why_not(v, facts, held) for v in verdicts)
            )
        firing = [v for v in judged if v.firing]
        if not firing:
            if any(not v.judged for v in verdicts):
                evidence["not_judged"] = [_why_not(v, facts, held) for v in verdicts if not v.judged]
            return Verdict.passed(**evidence)
        worst = firing[0]
        ratio = error_ratio(next(c for c in facts.counts if c.window == worst.pair.long)) or 0.0
        evidence["burn_query"] = f"{facts.queries.error_ratio(worst.pair.long)} / {1 - facts.target:.10g}"
        evidence["factor"] = worst.pair.factor
        rest = "".join(f"\n  also {v.pair.label}: {v.long_rate:.1f}× and {v.short_rate:.1f}×" for v in firing[1:])
        message = (
            f"burning the error budget {worst.long_rate:.1f}× as fast as allowed over {duration(worst.pair.long)} and "
            f"{worst.short_rate:.1f}× over {duration(worst.pair.short)} (limit {worst.pair.factor:g}× on both): "
            f"{_pct(ratio)} of {facts.queries.unit} were bad in the last {duration(worst.pair.long)}, "
            f"{_pct(1 - facts.target)} allowed{rest}"
        )
        return Verdict.failed(message + footer, evidence, location)


def _why_not(verdict: PairVerdict, facts: SloFacts, held: str) -> str:
    """Why a pair was not judged: the data does not reach back far enough, or a window has no samples."""
    counts = {c.window: c for c in facts.counts}
    for window in (verdict.pair.long, verdict.pair.short):
        count = counts.get(window)
        if count is not None and not count.covered:
            return f"{verdict.pair.label}: Prometheus holds {held} of the SLI's data, less than {duration(window)}"
        if count is not None and (count.bad is None or count.total is None):
            return f"{verdict.pair.label}: no samples of the SLI in the last {duration(window)}"
    return f"{verdict.pair.label}: not judged"


def _held(facts: SloFacts) -> str:
    """How much of the SLI's data Prometheus holds, to the minute: ``about 5h51m``."""
    if facts.held_since is None:
        return "none"
    minutes = int(max(60, facts.at - facts.held_since) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return "about " + "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n)


def _pct(ratio: float) -> str:
    text = f"{ratio * 100:.3f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _pct_left(percent: float) -> str:
    return f"{percent:.1f}%" if math.isfinite(percent) else "none"


def _events(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 else f"{n:.2g}"


def _window_evidence(count: WindowCount, target: float) -> dict[str, Any]:
    ratio = error_ratio(count)
    return {
        "window": duration(count.window), "covered": count.covered, "bad": count.bad, "total": count.total,
        "sli": None if ratio is None else 1 - ratio, "burn_rate": burn_rate(ratio, target),
        **({"note": "bad exceeded total (a counter reset?): counted as total"} if count.clamped else {}),
    }


def _budget_evidence(spent: Budget) -> dict[str, Any]:
    return {"budget_left_percent": spent.left_ratio * 100 if math.isfinite(spent.left_ratio) else None,
            "budget_allowed": spent.allowed, "budget_spent": spent.spent, "budget_left_minutes": spent.left_minutes}


def _pair_evidence(v: PairVerdict) -> dict[str, Any]:
    return {
        "pair": v.pair.label,
        "long": duration(v.pair.long),
        "short": duration(v.pair.short),
        "factor": v.pair.factor,
        "long_burn_rate": v.long_rate,
        "short_burn_rate": v.short_rate,
        "firing": v.firing,
        "judged": v.judged,
    }
