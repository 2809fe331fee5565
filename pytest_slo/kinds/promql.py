"""``kind: promql``: an instant query's result vector against an expectation (live).

The query is a jinja2 template over the site's config plus ``selector`` (the app's label
matchers), ``namespace`` and ``app``. Each series is compared with ``op threshold``; the
threshold is an expression over the config (``SLO_API_LATENCY_P99_MS``).

A series *breaches* exactly when the alerting rule ``<query> <negated op> <threshold>`` would
fire on it, PromQL's own comparison: so NaN (``histogram_quantile`` or a ratio over no
requests) never breaches an ordering, as no alert fires on it. A result whose every series is
NaN has no value to judge: the item is skipped with that reason (``no_data: pass`` passes it).
An empty result fails by default with a diagnosis of why (``no_data: fail | skip | pass``).
``tests/test_oracle.py`` holds every shipped check to ``promtool test rules`` this way.

The query may count with ``counted(series, window)`` (:func:`pytest_slo.expr.counted`, the
counting rule of every shipped check). ``details`` (name: query) are read along for the
message: ``found`` sees each as the sample of the breaching series' labels (``used.value``,
``room.labels.limit``), or ``None``. A failure's evidence keeps, besides the values, what
``found`` said of each breaching series, worst first (``evidence["shown"]``, in the order of
``evidence["breaching"]``): the value in the check's own terms (``reaches the 2Gi container
limit in about 4.6 days``), for reports and the postmortem.
Every query of the run is sent when the first promql item starts, concurrently and once;
items are judged as their answers arrive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, ClassVar

from ..catalog.schema import DURATION, TEMPLATE, field
from ..compare import BREACHES, OPS
from ..errors import ConfigError, SloError
from ..expr import expression_names
from ._expr import config_context, evaluate, message_text, render_text
from ._regression import REGRESSION_SCHEMA, regressions
from .base import Kind, Location, Target, Verdict
from .live import iso

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..sources import Sources
    from ..sources.prometheus import InstantResult, Sample

__all__ = ["BREACHES", "OPS", "PromqlFacts", "PromqlKind", "format_labels"]

#: ``value op threshold`` holds: the series is fine.
_WORST_FIRST = {"<": True, "<=": True, ">": False, ">=": False}  # sort breaching values descending?


def format_labels(labels: Mapping[str, str]) -> str:
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}" if inner or not name else name


def _number(value: float) -> str:
    """Four significant digits, a large number whole (``2500000000``, never ``2.5e+09``); ``nan``, ``inf``."""
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"


@dataclass(frozen=True)
class PromqlFacts:
    """What ``fetch`` read for one item: the query's result, why it is empty (when it is and
    ``no_data`` is ``fail``), and the results of the check's ``details`` queries."""

    result: InstantResult
    diagnosis: str | None = None
    details: Mapping[str, InstantResult] = dataclass_field(default_factory=dict)


@dataclass
class _Seen:
    """What every verdict of one item says, whatever it is."""

    threshold: float
    evidence: dict[str, Any]
    location: Location | None
    footer: str


class PromqlKind(Kind):
    name = "promql"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = {
        "properties": {
            "query": {
                **TEMPLATE,
                "minLength": 1,
                "description": "a PromQL instant query, a jinja2 template over the config and {{ selector }}",
                "examples": ["sum(rate(http_requests_total{ {{ selector }} }[5m]))"],
            },
            "op": field("a comparison operator", list(OPS), enum=list(OPS)),
            "threshold": field(
                "a number, or a jinja2 expression over the config",
                [80, "SLO_API_LATENCY_P99_MS"],
                type=["number", "string"],
                minLength=1,
                format="slo-expression",
            ),
            "unit": field(
                "a short unit shown after each value",
                ["%", " ms"],
                type="string",
                **{"$comment": "write at most 16 characters without braces or newlines, such as % or ' ms'"},
                maxLength=16,
                pattern="^[^{}\\n]*$",
            ),
            "no_data": field("what an empty result means", ["fail", "skip", "pass"], enum=["fail", "skip", "pass"]),
            "found": {
                **TEMPLATE,
                "description": "a jinja2 template over value, labels, threshold and the config",
                "examples": ["p99 {{ '%.0f' | format(value) }} ms"],
            },
            "expect": {**TEMPLATE, "description": "a jinja2 template saying what was expected", "examples": ["none"]},
            "regression": REGRESSION_SCHEMA,
            "alert": {
                "type": "object",
                "description": (
                    "export this check as a Prometheus alert (--export-rules) that fires after the breach lasts 'for'"
                ),
                "examples": [{"for": "10m"}, {"for": "1h", "severity": "warning"}],
                "properties": {
                    "for": DURATION,
                    "severity": field(
                        "the alert's severity label (default: page for P1/P2 checks, ticket otherwise)",
                        ["warning", "page"],
                        type="string",
                        pattern="^[a-z][a-z0-9_-]*$",
                    ),
                },
                "required": ["for"],
                "additionalProperties": False,
            },
            "details": {
                "type": "object",
                "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*$"},
                "additionalProperties": {"type": "string", "minLength": 1},
            },
        },
        "required": ["query", "op", "threshold"],
    }

    def __init__(self) -> None:
        # (query template, site, app) -> the query as sent: rendered once, read by the offline
        # parse of the catalog, the prefetch and the item
        self._queries: dict[tuple[str, str, str | None], str] = {}

    def _context(self, target: Target) -> dict[str, Any]:
        context = config_context(target)
        context.update(selector=target.sources.selector(target.site, target.app), namespace=target.site.namespace)
        return context

    def query_text(self, check: Check, target: Target) -> str:
        """The check's query as sent to Prometheus for ``target`` (whitespace collapsed)."""
        key = (check.spec["query"], target.site.name, target.app)
        query = self._queries.get(key)
        if query is None:
            query = self._queries[key] = " ".join(
                render_text(check.spec["query"], check, target, self._context(target)).split()
            )
        return query

    def detail_queries(self, check: Check, target: Target) -> dict[str, str]:
        """The check's ``details`` queries for ``target``, by name."""
        context = self._context(target)
        return {
            name: " ".join(render_text(text, check, target, context).split())
            for name, text in (check.spec.get("details") or {}).items()
        }

    def threshold(self, check: Check, target: Target) -> float:
        """The check's threshold for the target's site: a number, or an expression over its config."""
        raw = check.spec["threshold"]
        value = raw if isinstance(raw, (int, float)) else evaluate(str(raw), check, target, config_context(target))
        try:
            return float(value)
        except (TypeError, ValueError):
            # a key that holds text: its line is the one to edit; else the check's threshold
            keys = [n for n in expression_names(str(raw)) if target.site.env.line_of(n)]
            where = target.env_location(*keys) if keys else Location(check.source, check.line_of("threshold"))
            read = "".join(
                f"\n  {target.site.env_display}:{target.site.env.line_of(k)}: {k}={target.site.env.entries[k].value}"
                for k in keys
            )
            raise ConfigError(
                f"check {check.id}: threshold {raw!r} is {value!r} at {target.site.name}, not a number{read}",
                path=where.path,
                line=where.line,
            ) from None

    def prefetch(self, sources: Sources, pairs: Iterable[tuple[Check, Target]]) -> None:
        # Each query leaves as soon as it is rendered, in the items' order, and the items run
        # while later ones are on the wire: the run waits for the network, not for itself.
        at = sources.eval_time
        for check, target in pairs:
            try:
                source = sources.prometheus(target.site)
                queries = [self.query_text(check, target), *self.detail_queries(check, target).values()]
            except SloError:
                continue  # the item reports it when it runs
            source.send(queries, at)

    def fetch(self, check: Check, target: Target) -> PromqlFacts:
        source = target.sources.prometheus(target.site)
        query = self.query_text(check, target)
        at = target.sources.eval_time
        result = source.query(query, at)
        diagnosis = None
        if not result.samples and check.spec.get("no_data", "fail") == "fail":
            diagnosis = source.diagnose_empty(query, at)
        details = self.detail_queries(check, target)
        answers = source.query_many(details.values(), at)
        # A detail only words the message: one that fails leaves its part of the message out.
        return PromqlFacts(
            result, diagnosis, {n: a for n, q in details.items() if not isinstance(a := answers[q], SloError)}
        )

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        facts: PromqlFacts = data
        result, seen = facts.result, self._seen(check, target, facts.result)
        policy = check.spec.get("no_data")  # fail, unless it says skip or pass
        if not result.samples:
            if policy == "skip":
                return Verdict.skipped(f"no data for {result.query}")
            if policy == "pass":
                return Verdict.passed(**seen.evidence)
            seen.evidence["diagnosis"] = facts.diagnosis
            return Verdict.failed(f"{facts.diagnosis}{seen.footer}", seen.evidence, seen.location)
        bad = [s for s in result.samples if BREACHES[check.spec["op"]](s.value, seen.threshold)]
        if bad:
            return self._breaching(check, target, facts, seen, bad)
        if all(math.isnan(s.value) for s in result.samples):
            return (
                Verdict.passed(**seen.evidence)
                if policy == "pass"
                else self._no_value(target, result, seen.evidence["time"])
            )
        return self._regression(check, target, result, seen.evidence, seen.location, seen.footer)

    def _seen(self, check: Check, target: Target, result: InstantResult) -> _Seen:
        """What every verdict of the check says: the evidence, the line to edit, the footer."""
        raw = check.spec["threshold"]
        threshold = self.threshold(check, target)
        at = iso(result.time)
        evidence: dict[str, Any] = {
            "query": result.query,
            "time": at,
            "op": check.spec["op"],
            "threshold": threshold,
            "unit": check.spec.get("unit", ""),
            "values": [{"labels": s.labels, "value": s.value} for s in result.samples],
        }
        keys = list(check.keys) or [n for n in _names(raw) if n in config_context(target)]
        footer = f"\n  query: {result.query}\n  at: {at}"
        if result.warnings:  # partial data, a limit hit: the verdict may rest on less than it seems
            evidence["warnings"] = list(result.warnings)
            footer += "".join(f"\n  prometheus warned: {w}" for w in result.warnings)
        return _Seen(threshold, evidence, target.env_location(*keys) if keys else None, footer)

    @staticmethod
    def _no_value(target: Target, result: InstantResult, at: str) -> Verdict:
        named = "; ".join(w for w in (_where(s.labels, target) for s in result.samples[:3]) if w)
        more = f" and {len(result.samples) - 3} more" if len(result.samples) > 3 else ""
        return Verdict.skipped(
            f"no value to judge: the query is NaN{f' for {named}{more}' if named else ''} at {at} (a ratio "
            "or histogram_quantile over no requests in the window)"
        )

    def _breaching(self, check: Check, target: Target, facts: PromqlFacts, seen: _Seen, bad: list[Sample]) -> Verdict:
        """The series that breach, worst first, each in the check's own words."""
        op, raw, unit = check.spec["op"], check.spec["threshold"], check.spec.get("unit", "")
        if op in _WORST_FIRST:  # an ordering: NaN never breaches it
            bad.sort(key=lambda s: -s.value if _WORST_FIRST[op] else s.value)
        context = config_context(target)
        shown, lines = [], []
        for sample in bad:
            context.update(value=sample.value, labels=sample.labels, threshold=seen.threshold)
            context.update(_details(check, facts.details, sample))
            found = (
                message_text(check.spec["found"], check, target, context)
                if "found" in check.spec
                else f"{_number(sample.value)}{unit}"
            )
            shown.append(found)
            where = _where(sample.labels, target)
            lines.append(f"{where}: {found}" if where else found)
        expect = (
            message_text(check.spec["expect"], check, target, context)
            if "expect" in check.spec
            else f"{op} {_number(seen.threshold)}{unit}"
        )
        threshold_note = f" ({raw})" if isinstance(raw, str) and raw.strip() != _number(seen.threshold) else ""
        total = len(facts.result.samples)
        count = (
            f" (and {len(bad) - 1} more of {total} series)"
            if len(bad) > 1
            else f" (1 of {total} series)"
            if total > 1
            else ""
        )
        message = f"{lines[0]}{count}; expected {expect}{threshold_note}"
        if len(bad) > 1:
            message += "\n  " + "\n  ".join(lines)
        seen.evidence["breaching"] = [{"labels": s.labels, "value": s.value} for s in bad]
        seen.evidence["shown"] = shown
        return Verdict.failed(
            message + seen.footer, seen.evidence, seen.location, objects=[dict(s.labels) for s in bad]
        )

    def _regression(
        self, check: Check, target: Target, result: InstantResult, evidence: dict[str, Any], location: Any, footer: str
    ) -> Verdict:
        """Within the threshold: with ``regression:`` and a baseline, not much worse than then."""
        spec = check.spec.get("regression")
        before = target.baseline.observed(check.id, target.site.name, target.app) if spec and target.baseline else None
        if not spec or before is None:
            return Verdict.passed(**evidence)
        unit = check.spec.get("unit", "")
        worse, rows = regressions(spec, [(s.labels, s.value) for s in result.samples], before, unit)
        evidence["regression"] = {"baseline_time": before.get("time"), "series": rows}
        if not worse:
            return Verdict.passed(**evidence)
        shown, lines = [], []
        for r in worse:
            where = _where(r.labels, target)
            text = (
                f"{_number(r.value)}{unit} now, {_number(r.baseline)}{unit} at {before.get('time')} ({r.change} "
                "since the baseline, "
                f"more than the {r.allowed} allowed); still within {evidence['op']} "
                f"{_number(evidence['threshold'])}{unit}"
            )
            shown.append(text)
            lines.append(f"{where}: {text}" if where else text)
        evidence["shown"] = shown
        message = lines[0] + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else "")
        if len(lines) > 1:
            message += "\n  " + "\n  ".join(lines)
        return Verdict.failed(message + footer, evidence, location, objects=[dict(r.labels) for r in worse])


def _where(labels: Mapping[str, str], target: Target) -> str:
    """The labels that say which series it is; those the app's selector fixes go without saying,
    and so does a ``job`` named after the app (what a ServiceMonitor sets)."""
    from ..sources.prometheus import vector_selectors

    fixed = {
        m.label: m.value
        for s in vector_selectors("{" + target.sources.selector(target.site, target.app) + "}")
        for m in s.matchers
        if m.op == "="
    }
    if target.app:
        fixed.setdefault("job", target.app)
    return format_labels({k: v for k, v in labels.items() if k != "__name__" and fixed.get(k) != v})[1:-1]


def _details(check: Check, details: Mapping[str, InstantResult], sample: Sample) -> dict[str, Sample | None]:
    """Each detail's sample whose labels agree with ``sample`` on every label both carry."""
    out: dict[str, Sample | None] = dict.fromkeys(check.spec.get("details") or {})
    for name, answer in details.items():
        out[name] = next(
            (d for d in answer.samples
             if all(sample.labels[k] == v for k, v in d.labels.items() if k in sample.labels and k != "__name__")),
            None,
        )
    return out


def _names(raw: Any) -> list[str]:
    if not isinstance(raw, str):
        return []
    from ..expr import expression_names

    try:
        return list(expression_names(raw))
    except Exception:  # a syntax error is reported by evaluate()
        return []
