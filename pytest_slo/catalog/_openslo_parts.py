"""The parts of one OpenSLO ``SLO`` document, each read on its own: its app, its indicator
(inline or a named ``SLI``) and objectives, its window and pytest-slo's annotations. Each
reader adds what it finds wrong to ``problems`` as a :class:`CatalogError` at the field's line
and returns what it could read; :func:`read_slo` puts them together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from ..errors import CatalogError
from .model import _line
from .openslo_model import Doc, Objective, Slo
from .openslo_validate import dotted as _dotted
from .openslo_validate import parse_pairs
from .schema import SEVERITIES

__all__ = ["indicator", "read_slo"]

_OPS = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}
#: The OpenSLO duration shorthand units pytest-slo can turn into a fixed length of time.
_FIXED_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

def _metric(
    source: Any, where: tuple[Any, ...], node: yaml.Node, display: str, problems: list[CatalogError]
) -> str | None:
    """The PromQL query of a ``metricSource``; anything but Prometheus is a problem."""
    ms = source.get("metricSource") if isinstance(source, dict) else None
    if not isinstance(ms, dict):
        return None
    kind = ms.get("type")
    if kind != "Prometheus":
        what = f"type {kind!r}" if kind else "no type (a metricSourceRef to a DataSource is not read)"
        problems.append(
            CatalogError(
                f"{_dotted((*where, 'metricSource', 'type'))}: {what} is not supported: pytest-slo reads type: "
                "Prometheus with spec.query",
                path=display,
                line=_line(node, (*where, "metricSource", "type" if kind else "metricSourceRef")),
            )
        )
        return None
    query = (ms.get("spec") or {}).get("query")
    if not isinstance(query, str) or not query.strip():
        problems.append(
            CatalogError(
                f"{_dotted((*where, 'metricSource', 'spec', 'query'))}: missing: write the PromQL query",
                path=display,
                line=_line(node, (*where, "metricSource", "spec")),
            )
        )
        return None
    return query


def indicator(spec: dict[str, Any], base: tuple[Any, ...], doc: Doc, problems: list[CatalogError]) -> dict[str, Any]:
    """The fields of an SLI spec pytest-slo judges (queries, counter), or {} with problems."""
    node, display = doc.node, doc.display
    if "ratioMetric" in spec:
        ratio = spec["ratioMetric"]
        where = (*base, "ratioMetric")
        if "raw" in ratio or "rawType" in ratio:
            problems.append(
                CatalogError(
                    f"{_dotted(where)}.raw: a precomputed ratio is not supported: write good (or bad) and total",
                    path=display,
                    line=_line(node, (*where, "raw" if "raw" in ratio else "rawType")),
                )
            )
            return {}
        out: dict[str, Any] = {"indicator": "ratio", "counter": bool(ratio.get("counter", True))}
        for part in ("good", "bad", "total"):
            if part in ratio:
                out[part] = _metric(ratio[part], (*where, part), node, display, problems)
        return out
    if "thresholdMetric" in spec:
        return {
            "indicator": "threshold",
            "query": _metric(spec["thresholdMetric"], (*base, "thresholdMetric"), node, display, problems),
        }
    problems.append(CatalogError(f"{_dotted(base)}: the indicator has neither ratioMetric nor thresholdMetric",
                                 path=display, line=_line(node, base)))
    return {}


def _objectives(spec: dict[str, Any], doc: Doc, indicator: str, problems: list[CatalogError]) -> list[Objective]:
    out = []
    items = spec.get("objectives") or []
    if not items:
        problems.append(
            CatalogError(
                "spec.objectives: empty: write at least one objective (displayName and target)",
                path=doc.display,
                line=_line(doc.node, ("spec", "objectives")),
            )
        )
    labels: dict[str, int] = {}
    for index, item in enumerate(items):
        display = str(item.get("displayName") or "")
        label = "" if len(items) == 1 else re.sub(r"[^a-z0-9]+", "-", display.lower()).strip("-") or str(index)
        if label in labels:  # two items of one node id: pytest would run one of them only
            problems.append(
                CatalogError(
                    f"spec.objectives[{index}].displayName: {display!r} gives the item name {label!r} of "
                    f"spec.objectives[{labels[label]}]",
                    path=doc.display,
                    line=_line(doc.node, ("spec", "objectives", index, "displayName")),
                    hint="objectives are told apart by their displayName in lower case letters and digits: make "
                    "them differ there",
                )
            )
            continue
        labels[label] = index
        objective = _objective(item, index, label, doc, indicator, problems)
        if objective is not None:
            out.append(objective)
    return out


def _objective(
    item: dict[str, Any], index: int, label: str, doc: Doc, indicator: str, problems: list[CatalogError]
) -> Objective | None:
    """One item of ``spec.objectives``, or None (with the reason in ``problems``) when pytest-slo
    cannot judge it: a composite objective, or a threshold objective without op and value."""
    base = ("spec", "objectives", index)
    op = item.get("op")
    composite = [k for k in ("indicator", "indicatorRef", "compositeWeight", "targetPercent") if k in item]
    if composite:
        what = (
            "targetPercent: write target as a ratio (0.999)"
            if composite == ["targetPercent"]
            else "a composite SLO (an indicator per objective) is not supported: write one SLO per indicator"
        )
        problems.append(
            CatalogError(
                f"spec.objectives[{index}].{composite[0]}: {what}",
                path=doc.display,
                line=_line(doc.node, (*base, composite[0])),
            )
        )
        return None
    if indicator == "threshold" and (op is None or "value" not in item):
        problems.append(
            CatalogError(
                f"spec.objectives[{index}]: a thresholdMetric objective needs op and value (the SLI is good "
                "when it is op value)",
                path=doc.display,
                line=_line(doc.node, base),
            )
        )
        return None
    window = item.get("timeSliceWindow")
    slice_window = None
    if window is not None:
        slice_window = (
            float(window) * 60
            if isinstance(window, (int, float))
            else _fixed(str(window), (*base, "timeSliceWindow"), doc, problems)
        )
    return Objective(
        str(item.get("displayName") or "") or f"objective {index + 1}",
        label,
        item["target"],
        _line(doc.node, (*base, "target")),
        _OPS.get(str(op)) if indicator == "threshold" else None,
        item.get("value"),
        item.get("timeSliceTarget"),
        slice_window,
    )


def _fixed(text: str, path: tuple[Any, ...], doc: Doc, problems: list[CatalogError]) -> float | None:
    unit = text[-1:]
    if unit not in _FIXED_UNITS:
        problems.append(
            CatalogError(
                f"{_dotted(path)}: {text!r} is a calendar length (months, quarters, years vary): write it in m, "
                "h, d or w",
                path=doc.display,
                line=_line(doc.node, path),
            )
        )
        return None
    return float(text[:-1]) * _FIXED_UNITS[unit]


def read_slo(
    doc: Doc, slis: Mapping[str, Doc], apps: Iterable[str], bad_slis: Mapping[str, Doc]
) -> tuple[Slo | None, list[CatalogError]]:
    data, node, display = doc.data, doc.node, doc.display
    spec, meta = data["spec"], data["metadata"]
    problems: list[CatalogError] = []
    name = meta["name"]
    annotations = meta.get("annotations") or {}
    app = _app_checked(doc, apps, problems)
    fields = _indicator_of(doc, slis, bad_slis, problems)
    seconds, text = _window(doc, problems)
    objectives = _objectives(spec, doc, str(fields.get("indicator")), problems)
    floor, pairs, severity = _annotations(doc, annotations, problems)
    if problems or seconds is None or not fields:
        return None, problems
    return Slo(
        name=name,
        display=str(meta.get("displayName") or name),
        service=str(spec["service"]),
        app=app,
        source=display,
        line=node.start_mark.line + 1,
        indicator=fields["indicator"],
        window=seconds,
        window_text=text,
        method=spec["budgetingMethod"],
        objectives=tuple(objectives),
        good=fields.get("good"),
        bad=fields.get("bad"),
        total=fields.get("total"),
        counter=fields.get("counter", True),
        query=fields.get("query"),
        budget_floor=floor,
        pairs=pairs,
        runbook=annotations.get("pytest-slo.org/runbook"),
        severity=severity,
        description=str(spec.get("description") or ""),
    ), []


def _app_checked(doc: Doc, apps: Iterable[str], problems: list[CatalogError]) -> str:
    """The app an SLO is of: its ``pytest-slo/app`` label, else ``spec.service``; one the
    repository lacks is a problem at the field that named it."""
    meta, spec = doc.data["metadata"], doc.data["spec"]
    labels = meta.get("labels") or {}
    app = str(labels.get("pytest-slo/app") or spec["service"])
    if app not in set(apps):
        where = ("metadata", "labels", "pytest-slo/app") if "pytest-slo/app" in labels else ("spec", "service")
        problems.append(
            CatalogError(
                f"{'.'.join(where)}: {app!r} is no app of this repository ({', '.join(sorted(apps)) or 'none'})",
                path=doc.display,
                line=_line(doc.node, where),
                hint="name the app in spec.service or label the SLO pytest-slo/app: <app>",
            )
        )
    return app


def _indicator_of(
    doc: Doc, slis: Mapping[str, Doc], bad_slis: Mapping[str, Doc], problems: list[CatalogError]
) -> dict[str, Any]:
    """The indicator's fields: inline, or of the SLI ``indicatorRef`` names."""
    spec = doc.data["spec"]
    if "indicator" in spec:
        return indicator(spec["indicator"].get("spec") or {}, ("spec", "indicator", "spec"), doc, problems)
    ref = spec["indicatorRef"]
    line = _line(doc.node, ("spec", "indicatorRef"))
    if ref in bad_slis:
        other = bad_slis[ref]
        problems.append(
            CatalogError(
                f"spec.indicatorRef: the SLI {ref!r} cannot be judged (see "
                f"{other.display}:{other.node.start_mark.line + 1})",
                path=doc.display,
                line=line,
            )
        )
        return {}
    sli = slis.get(ref)
    if sli is None:
        problems.append(
            CatalogError(f"spec.indicatorRef: no SLI named {ref!r} in the slos files", path=doc.display, line=line)
        )
        return {}
    return indicator(sli.data["spec"], ("spec",), sli, problems)


def _window(doc: Doc, problems: list[CatalogError]) -> tuple[float | None, str]:
    """The budget's rolling window, in seconds and as written."""
    windows = doc.data["spec"].get("timeWindow") or []
    if not windows:
        problems.append(
            CatalogError(
                "spec.timeWindow: missing: write - duration: 28d with isRolling: true",
                path=doc.display,
                line=_line(doc.node, ("spec",)),
            )
        )
        return None, ""
    window = windows[0]
    text = str(window.get("duration"))
    if window.get("isRolling") is not True or "calendar" in window:
        problems.append(
            CatalogError(
                "spec.timeWindow[0]: a calendar-aligned window is not supported: write isRolling: true",
                path=doc.display,
                line=_line(doc.node, ("spec", "timeWindow", 0, "calendar" if "calendar" in window else "isRolling")),
            )
        )
        return None, text
    return _fixed(text, ("spec", "timeWindow", 0, "duration"), doc, problems), text


_FLOOR, _PAIRS, _SEVERITY = (
    "pytest-slo.org/error-budget-floor",
    "pytest-slo.org/burn-rate-pairs",
    "pytest-slo.org/severity",
)


def _annotations(
    doc: Doc, annotations: Mapping[str, Any], problems: list[CatalogError]
) -> tuple[float, tuple[tuple[float, float, float], ...], str | None]:
    """What the SLO's annotations tune: the budget's floor, the burn-rate pairs, the severity."""

    def problem(key: str, what: str) -> None:
        problems.append(
            CatalogError(
                f"metadata.annotations.{key}: {what}",
                path=doc.display,
                line=_line(doc.node, ("metadata", "annotations", key)),
            )
        )

    floor = 0.0
    if _FLOOR in annotations:
        raw = str(annotations[_FLOOR]).strip().rstrip("%")
        try:
            floor = float(raw)
            if not 0 <= floor < 100:
                raise ValueError
        except ValueError:
            problem(_FLOOR, f"{raw!r} is not a percentage from 0 to 100")
    pairs: tuple[tuple[float, float, float], ...] = ()
    if _PAIRS in annotations:
        try:
            pairs = parse_pairs(str(annotations[_PAIRS]))
        except ValueError as exc:  # QuantityError is one
            problem(_PAIRS, str(exc))
    severity = annotations.get(_SEVERITY)
    if severity is not None and severity not in SEVERITIES:
        problem(_SEVERITY, f"{severity!r} is not P1, P2, P3 or P4")
    return floor, pairs, severity
