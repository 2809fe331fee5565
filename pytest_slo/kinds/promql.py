"""``kind: promql``: an instant query's result vector against an expectation (live).

The query is a jinja2 template over the site's config plus ``selector`` (the app's label
matchers), ``namespace`` and ``app``. Each series is compared with ``op threshold``; the
threshold is an expression over the config (``SLO_API_LATENCY_P99_MS``). An empty result
fails by default with a diagnosis of why (``no_data: fail | skip | pass``).
Every query of the run is sent when the first promql item starts, concurrently and once;
items are judged as their answers arrive.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ConfigError, SloError
from ._expr import config_context, evaluate, location_keys, render_text
from .base import Kind, Target, Verdict
from .live import iso

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..sources import Sources

__all__ = ["PromqlKind", "format_labels"]

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


def format_labels(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}" if inner or not name else name


def _number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"


class PromqlKind(Kind):
    name = "promql"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = {
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "op": {"enum": list(OPS)},
            "threshold": {"type": ["string", "number"]},
            "unit": {"type": "string"},
            "no_data": {"enum": ["fail", "skip", "pass"]},
            "found": {"type": "string"},
            "expect": {"type": "string"},
        },
        "required": ["query", "op", "threshold"],
    }

    def query_text(self, check: Check, target: Target) -> str:
        context = config_context(target)
        context.update(
            selector=target.sources.selector(target.site, target.app),
            namespace=context.get("KUBE_NAMESPACE", target.site.name),
        )
        return " ".join(render_text(check.spec["query"], check, target, context).split())

    def prefetch(self, sources: Sources, pairs: Iterable[tuple[Check, Target]]) -> None:
        # Each query leaves as soon as it is rendered, in the items' order, and the items run
        # while later ones are on the wire: the run waits for the network, not for itself.
        at = sources.eval_time
        for check, target in pairs:
            try:
                source = sources.prometheus(target.site)
                query = self.query_text(check, target)
            except SloError:
                continue  # the item reports it when it runs
            source.send([query], at)

    def fetch(self, check: Check, target: Target) -> Any:
        source = target.sources.prometheus(target.site)
        query = self.query_text(check, target)
        at = target.sources.eval_time
        result = source.query(query, at)
        diagnosis = None
        if not result.samples and check.spec.get("no_data", "fail") == "fail":
            diagnosis = source.diagnose_empty(query, at)
        return result, diagnosis

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        result, diagnosis = data
        context = config_context(target)
        op = check.spec["op"]
        raw = check.spec["threshold"]
        threshold = raw if isinstance(raw, (int, float)) else evaluate(str(raw), check, target, context)
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ConfigError(f"check {check.id}: threshold {raw!r} is {threshold!r}, not a number", path=check.source, line=check.line) from None
        unit = check.spec.get("unit", "")
        evidence: dict[str, Any] = {
            "query": result.query,
            "time": iso(result.time),
            "op": op,
            "threshold": threshold,
            "unit": unit,
            "values": [{"labels": s.labels, "value": s.value} for s in result.samples],
        }
        keys = location_keys(check, context) or [n for n in _names(raw) if n in context]
        location = target.env_location(*keys) if keys else None
        if not result.samples:
            policy = check.spec.get("no_data", "fail")
            if policy == "skip":
                return Verdict.skipped(f"no data for {result.query}")
            if policy == "pass":
                return Verdict(True, evidence=evidence)
            evidence["diagnosis"] = diagnosis
            return Verdict(False, f"{check.title}: {diagnosis}\n  query: {result.query}\n  at: {iso(result.time)}", evidence, location)
        compare = OPS[op]
        bad = [s for s in result.samples if math.isnan(s.value) or not compare(s.value, threshold)]
        if not bad:
            return Verdict(True, evidence=evidence)
        lines = []
        for sample in bad:
            context.update(value=sample.value, labels=sample.labels, threshold=threshold)
            found = render_text(check.spec["found"], check, target, context) if "found" in check.spec else f"{_number(sample.value)}{unit}"
            lines.append(f"{format_labels(sample.labels)}: {found}")
        expect = render_text(check.spec["expect"], check, target, context) if "expect" in check.spec else f"{op} {_number(threshold)}{unit}"
        threshold_note = f" ({raw})" if isinstance(raw, str) and raw.strip() != _number(threshold) else ""
        message = (
            f"{check.title}: {len(bad)} of {len(result.samples)} series breach; expected {expect}{threshold_note}\n  "
            + "\n  ".join(lines)
            + f"\n  query: {result.query}\n  at: {iso(result.time)}"
        )
        evidence["breaching"] = [{"labels": s.labels, "value": s.value} for s in bad]
        return Verdict(False, message, evidence, location)


def _names(raw: Any) -> list[str]:
    if not isinstance(raw, str):
        return []
    from ..expr import expression_names

    try:
        return list(expression_names(raw))
    except Exception:  # a syntax error is reported by evaluate()
        return []
