"""``slos/*.yaml``: OpenSLO v1 documents (``SLO``, ``SLI``) read into :class:`Slo` specs.

Every document is validated against the published OpenSLO v1 JSON Schema (vendored in
``openslo_schema/``, see its README for the source), then against what pytest-slo can judge:
Prometheus ratio and threshold indicators, rolling windows, ``Occurrences`` and
``Timeslices``. Anything else is a :class:`CatalogError` at the file, line and field, never
skipped. Targets (``target``, ``value``, ``timeSliceTarget``) may be jinja2 expressions over
the site's config (``"{{ 1 - SLO_API_ERROR_RATE_PERCENT / 100 }}"``): the schema sees a
number in their place and each site's value is checked when its items run.

pytest-slo reads these annotations of an SLO (``metadata.annotations``):

* ``pytest-slo.org/error-budget-floor``: the least budget left, in percent (default ``0``);
* ``pytest-slo.org/burn-rate-pairs``: ``1h/5m:14.4, 6h/30m:6`` (long/short window: factor);
* ``pytest-slo.org/runbook``, ``pytest-slo.org/severity`` (P1..P4, default P1 for burn, P2 for budget);

and maps ``spec.service`` to an app by name, or by the label ``pytest-slo/app``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import CatalogError
from ..yamlio import load_documents
from .known import Known
from .model import Check, _line
from .openslo_model import Doc, Objective, Slo, SloCatalog
from .openslo_validate import dotted as _dotted
from .openslo_validate import openslo_validator, parse_pairs, schema_problems
from .runbooks import runbook as builtin_runbook
from .schema import SEVERITIES

__all__ = ["BUDGET_RUNBOOK", "BURN_RUNBOOK", "Objective", "Slo", "SloCatalog", "load_slos", "openslo_validator", "parse_pairs", "slo_checks", "with_slos"]

BUDGET_RUNBOOK = builtin_runbook("runbooks/openslo.md#error-budget")
BURN_RUNBOOK = builtin_runbook("runbooks/openslo.md#burn-rate")
_OPS = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}
#: The OpenSLO duration shorthand units pytest-slo can turn into a fixed length of time.
_FIXED_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _metric(source: Any, where: tuple[Any, ...], node: yaml.Node, display: str, problems: list[CatalogError]) -> str | None:
    """The PromQL query of a ``metricSource``; anything but Prometheus is a problem."""
    ms = source.get("metricSource") if isinstance(source, dict) else None
    if not isinstance(ms, dict):
        return None
    kind = ms.get("type")
    if kind != "Prometheus":
        what = f"type {kind!r}" if kind else "no type (a metricSourceRef to a DataSource is not read)"
        problems.append(CatalogError(
            f"{_dotted((*where, 'metricSource', 'type'))}: {what} is not supported: pytest-slo reads type: Prometheus with spec.query",
            path=display, line=_line(node, (*where, "metricSource", "type" if kind else "metricSourceRef"))))
        return None
    query = (ms.get("spec") or {}).get("query")
    if not isinstance(query, str) or not query.strip():
        problems.append(CatalogError(f"{_dotted((*where, 'metricSource', 'spec', 'query'))}: missing: write the PromQL query",
                                     path=display, line=_line(node, (*where, "metricSource", "spec"))))
        return None
    return query


def _indicator(spec: dict[str, Any], base: tuple[Any, ...], doc: Doc, problems: list[CatalogError]) -> dict[str, Any]:
    """The fields of an SLI spec pytest-slo judges (queries, counter), or {} with problems."""
    node, display = doc.node, doc.display
    if "ratioMetric" in spec:
        ratio = spec["ratioMetric"]
        where = (*base, "ratioMetric")
        if "raw" in ratio or "rawType" in ratio:
            problems.append(CatalogError(f"{_dotted(where)}.raw: a precomputed ratio is not supported: write good (or bad) and total",
                                         path=display, line=_line(node, (*where, "raw" if "raw" in ratio else "rawType"))))
            return {}
        out: dict[str, Any] = {"indicator": "ratio", "counter": bool(ratio.get("counter", True))}
        for part in ("good", "bad", "total"):
            if part in ratio:
                out[part] = _metric(ratio[part], (*where, part), node, display, problems)
        return out
    if "thresholdMetric" in spec:
        return {"indicator": "threshold", "query": _metric(spec["thresholdMetric"], (*base, "thresholdMetric"), node, display, problems)}
    problems.append(CatalogError(f"{_dotted(base)}: the indicator has neither ratioMetric nor thresholdMetric",
                                 path=display, line=_line(node, base)))
    return {}


def _objectives(spec: dict[str, Any], doc: Doc, indicator: str, problems: list[CatalogError]) -> list[Objective]:
    out = []
    items = spec.get("objectives") or []
    if not items:
        problems.append(CatalogError("spec.objectives: empty: write at least one objective (displayName and target)", path=doc.display, line=_line(doc.node, ("spec", "objectives"))))
    labels: dict[str, int] = {}
    for index, item in enumerate(items):
        base = ("spec", "objectives", index)
        line = _line(doc.node, (*base, "target"))
        display = str(item.get("displayName") or "")
        label = "" if len(items) == 1 else re.sub(r"[^a-z0-9]+", "-", display.lower()).strip("-") or str(index)
        if label in labels:  # two items of one node id: pytest would run one of them only
            problems.append(CatalogError(f"spec.objectives[{index}].displayName: {display!r} gives the item name {label!r} of spec.objectives[{labels[label]}]",
                                         path=doc.display, line=_line(doc.node, (*base, "displayName")), hint="objectives are told apart by their displayName in lower case letters and digits: make them differ there"))
            continue
        labels[label] = index
        op = item.get("op")
        composite = [k for k in ("indicator", "indicatorRef", "compositeWeight", "targetPercent") if k in item]
        if composite:
            what = "targetPercent: write target as a ratio (0.999)" if composite == ["targetPercent"] else "a composite SLO (an indicator per objective) is not supported: write one SLO per indicator"
            problems.append(CatalogError(f"spec.objectives[{index}].{composite[0]}: {what}", path=doc.display, line=_line(doc.node, (*base, composite[0]))))
            continue
        if indicator == "threshold" and (op is None or "value" not in item):
            problems.append(CatalogError(f"spec.objectives[{index}]: a thresholdMetric objective needs op and value (the SLI is good when it is op value)",
                                         path=doc.display, line=_line(doc.node, base)))
            continue
        window = item.get("timeSliceWindow")
        slice_window = None
        if window is not None:
            slice_window = float(window) * 60 if isinstance(window, (int, float)) else _fixed(str(window), (*base, "timeSliceWindow"), doc, problems)
        out.append(Objective(display or f"objective {index + 1}", label, item["target"], line, _OPS.get(op) if indicator == "threshold" else None,
                             item.get("value"), item.get("timeSliceTarget"), slice_window))
    return out


def _fixed(text: str, path: tuple[Any, ...], doc: Doc, problems: list[CatalogError]) -> float | None:
    unit = text[-1:]
    if unit not in _FIXED_UNITS:
        problems.append(CatalogError(f"{_dotted(path)}: {text!r} is a calendar length (months, quarters, years vary): write it in m, h, d or w",
                                     path=doc.display, line=_line(doc.node, path)))
        return None
    return float(text[:-1]) * _FIXED_UNITS[unit]


def _slo(doc: Doc, slis: Mapping[str, Doc], apps: Iterable[str], bad_slis: Mapping[str, Doc]) -> tuple[Slo | None, list[CatalogError]]:
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
        name=name, display=str(meta.get("displayName") or name), service=str(spec["service"]), app=app, source=display,
        line=node.start_mark.line + 1, indicator=fields["indicator"], window=seconds, window_text=text,
        method=spec["budgetingMethod"], objectives=tuple(objectives), good=fields.get("good"), bad=fields.get("bad"),
        total=fields.get("total"), counter=fields.get("counter", True), query=fields.get("query"), budget_floor=floor,
        pairs=pairs, runbook=annotations.get("pytest-slo.org/runbook"), severity=severity, description=str(spec.get("description") or ""),
    ), []


def _app_checked(doc: Doc, apps: Iterable[str], problems: list[CatalogError]) -> str:
    """The app an SLO is of: its ``pytest-slo/app`` label, else ``spec.service``; one the
    repository lacks is a problem at the field that named it."""
    meta, spec = doc.data["metadata"], doc.data["spec"]
    labels = meta.get("labels") or {}
    app = str(labels.get("pytest-slo/app") or spec["service"])
    if app not in set(apps):
        where = ("metadata", "labels", "pytest-slo/app") if "pytest-slo/app" in labels else ("spec", "service")
        problems.append(CatalogError(f"{'.'.join(where)}: {app!r} is no app of this repository ({', '.join(sorted(apps)) or 'none'})",
                                     path=doc.display, line=_line(doc.node, where), hint="name the app in spec.service or label the SLO pytest-slo/app: <app>"))
    return app


def _indicator_of(doc: Doc, slis: Mapping[str, Doc], bad_slis: Mapping[str, Doc], problems: list[CatalogError]) -> dict[str, Any]:
    """The indicator's fields: inline, or of the SLI ``indicatorRef`` names."""
    spec = doc.data["spec"]
    if "indicator" in spec:
        return _indicator(spec["indicator"].get("spec") or {}, ("spec", "indicator", "spec"), doc, problems)
    ref = spec["indicatorRef"]
    line = _line(doc.node, ("spec", "indicatorRef"))
    if ref in bad_slis:
        other = bad_slis[ref]
        problems.append(CatalogError(f"spec.indicatorRef: the SLI {ref!r} cannot be judged (see {other.display}:{other.node.start_mark.line + 1})",
                                     path=doc.display, line=line))
        return {}
    sli = slis.get(ref)
    if sli is None:
        problems.append(CatalogError(f"spec.indicatorRef: no SLI named {ref!r} in the slos files", path=doc.display, line=line))
        return {}
    return _indicator(sli.data["spec"], ("spec",), sli, problems)


def _window(doc: Doc, problems: list[CatalogError]) -> tuple[float | None, str]:
    """The budget's rolling window, in seconds and as written."""
    windows = doc.data["spec"].get("timeWindow") or []
    if not windows:
        problems.append(CatalogError("spec.timeWindow: missing: write - duration: 28d with isRolling: true", path=doc.display, line=_line(doc.node, ("spec",))))
        return None, ""
    window = windows[0]
    text = str(window.get("duration"))
    if window.get("isRolling") is not True or "calendar" in window:
        problems.append(CatalogError("spec.timeWindow[0]: a calendar-aligned window is not supported: write isRolling: true",
                                     path=doc.display, line=_line(doc.node, ("spec", "timeWindow", 0, "calendar" if "calendar" in window else "isRolling"))))
        return None, text
    return _fixed(text, ("spec", "timeWindow", 0, "duration"), doc, problems), text


_FLOOR, _PAIRS, _SEVERITY = "pytest-slo.org/error-budget-floor", "pytest-slo.org/burn-rate-pairs", "pytest-slo.org/severity"


def _annotations(doc: Doc, annotations: Mapping[str, Any], problems: list[CatalogError]) -> tuple[float, tuple[tuple[float, float, float], ...], str | None]:
    """What the SLO's annotations tune: the budget's floor, the burn-rate pairs, the severity."""

    def problem(key: str, what: str) -> None:
        problems.append(CatalogError(f"metadata.annotations.{key}: {what}", path=doc.display, line=_line(doc.node, ("metadata", "annotations", key))))

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


def _documents(path: Path, display: str) -> tuple[list[Doc], list[CatalogError]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [CatalogError(f"cannot read: {exc}", path=display)]
    found, errors = load_documents(text, display)
    problems = [CatalogError(e.message, path=display, line=e.line, hint=e.hint) for e in errors]
    docs = []
    for data, node in found:
        if not isinstance(data, dict):
            problems.append(CatalogError("an OpenSLO document must be a mapping (apiVersion, kind, metadata, spec)", path=display, line=node.start_mark.line + 1))
            continue
        docs.append(Doc(data, node, display))
    return docs, problems


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _app_of(data: dict[str, Any]) -> str:
    """An SLO's app (its label, else its service), read without trusting the document's shape."""
    labels, spec = _mapping(_mapping(data.get("metadata")).get("labels")), _mapping(data.get("spec"))
    return str(labels.get("pytest-slo/app") or spec.get("service") or "")


def _name_and_app(data: dict[str, Any]) -> tuple[str, str] | None:
    """An invalid SLO's name and app, when it has them: its items can still say what is wrong."""
    name = _mapping(data.get("metadata")).get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        return None
    return name, _app_of(data)


def _repeated(doc: Doc, first: Doc) -> CatalogError:
    """A second SLO or SLI of one name: the first keeps it (an SLO's name is its items' id)."""
    kind, name = doc.data["kind"], doc.data["metadata"]["name"]
    return CatalogError(f"metadata.name: duplicate {kind} name {name!r} (first at {first.display}:{first.node.start_mark.line + 1})", path=doc.display,
                        line=_line(doc.node, ("metadata", "name")), hint=f"{kind} names are {'item names and finding keys' if kind == 'SLO' else 'what indicatorRef names'}: make them unique")


#: Where OpenSLO documents hold jinja2 templates over a site's config: queries and targets.
_TEMPLATED = ("query", "target", "value", "timeSliceTarget")


def _templates(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in _TEMPLATED and isinstance(value, str):
                yield (*path, key), value
            else:
                yield from _templates(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _templates(value, (*path, index))


def _unknown_keys(doc: Doc, known: Known) -> list[CatalogError]:
    """Config keys a query or target reads that no site sets and no release defines."""
    return [
        CatalogError(f"{_dotted(path)}: {problem}", path=doc.display, line=_line(doc.node, path),
                     hint="fix the name, or define the key in releases/<release>/config.schema.json")
        for path, text in _templates(doc.data)
        for _key, problem in known.unknown_keys(text, template=True)
    ]


def load_slos(root: Path, folder: str, apps: Iterable[str], known: Known | None = None) -> SloCatalog:
    """Every OpenSLO document of ``root/folder/*.yaml``; ``apps`` are the repository's apps;
    ``known`` the names a template may read (see :mod:`.known`)."""
    catalog = SloCatalog()
    base = root / folder
    files = sorted([*base.glob("*.yaml"), *base.glob("*.yml")]) if base.is_dir() else []
    apps = list(apps)
    documents: list[Doc] = []
    invalid: dict[int, CatalogError] = {}  # the first problem of each named SLO the schema refused, by id(doc)
    for path in files:
        display = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        docs, problems = _documents(path, display)
        for doc in docs:
            found = schema_problems(doc.data, doc.node, display)
            if not found and known is not None:
                found = _unknown_keys(doc, known)
            kind = doc.data.get("kind")
            if not found and kind not in ("SLO", "SLI", "Service"):
                found = [CatalogError(f"kind: {kind} is not read by pytest-slo (it judges SLO and SLI documents; Service is accepted and names a service)",
                                      path=display, line=_line(doc.node, ("kind",)))]
            problems += found
            if not found:
                documents.append(doc)
            elif kind == "SLO" and _name_and_app(doc.data):
                documents.append(doc)  # its items error with the problem, and its name is taken
                invalid[id(doc)] = found[0]
        if problems:
            catalog.problems[display] = problems
    slis: dict[str, Doc] = {}
    bad_slis: dict[str, Doc] = {}
    for doc in documents:
        if doc.data["kind"] == "SLI":
            name = doc.data["metadata"]["name"]
            # an SLI is judged on its own too: one that no SLO uses yet is still an error
            sli_problems: list[CatalogError] = []
            if (first := slis.get(name) or bad_slis.get(name)) is not None:
                sli_problems.append(_repeated(doc, first))
            else:
                _indicator(doc.data["spec"], ("spec",), doc, sli_problems)
                (bad_slis if sli_problems else slis)[name] = doc
            if sli_problems:
                catalog.problems.setdefault(doc.display, []).extend(sli_problems)
    seen: dict[str, Doc] = {}
    for doc in documents:
        if doc.data["kind"] != "SLO":
            continue
        name = doc.data["metadata"]["name"]
        slo, problems = (None, []) if id(doc) in invalid else _slo(doc, slis, apps, bad_slis)  # the schema's are reported
        if name in seen:  # valid or not, the first SLO of a name owns its items' ids
            catalog.problems.setdefault(doc.display, []).extend([_repeated(doc, seen[name]), *problems])
            continue
        seen[name] = doc
        if problems:
            catalog.problems.setdefault(doc.display, []).extend(problems)
        if slo is None:
            catalog.broken.append((name, _app_of(doc.data), doc.display, doc.node.start_mark.line + 1, invalid.get(id(doc)) or problems[0]))
        else:
            catalog.slos.append(slo)
    return catalog


def slo_checks(catalog: SloCatalog) -> tuple[list[Check], list[Check]]:
    """The items' specs: two per objective (``<slo>::error-budget``, ``<slo>::burn-rate``),
    and for an SLO that cannot be judged two that error with its first problem."""
    checks: list[Check] = []
    broken: list[Check] = []
    for slo in catalog.slos:
        for objective in slo.objectives:
            base = f"{slo.name}/{objective.label}" if objective.label else slo.name
            for item, title, runbook, severity in (
                ("error-budget", f"{slo.display}: error budget left over {slo.window_text}", BUDGET_RUNBOOK, "P2"),
                ("burn-rate", f"{slo.display}: error budget burn rate", BURN_RUNBOOK, "P1"),
            ):
                checks.append(Check(
                    id=f"{base}::{item}", title=title, kind="openslo", severity=slo.severity or severity, runbook=slo.runbook or runbook,
                    source=slo.source, line=slo.line, apps=(slo.app,), description=slo.description,
                    spec={"slo": slo, "objective": objective, "item": item},
                ))
    for name, app, source, line, problem in catalog.broken:
        for item, runbook in (("error-budget", BUDGET_RUNBOOK), ("burn-rate", BURN_RUNBOOK)):
            broken.append(Check(id=f"{name}::{item}", title=f"{name}: {item}", kind="openslo", severity="P3", runbook=runbook,
                                source=source, line=line, apps=(app,), problem=problem))
    return checks, broken


def with_slos(catalog: Any, slos: SloCatalog) -> Any:
    """``catalog`` (a :class:`~.model.Catalog`) with the SLOs' items and problems added."""
    checks, broken = slo_checks(slos)
    catalog.checks = sorted([*catalog.checks, *checks], key=lambda c: c.id)
    catalog.broken = sorted([*catalog.broken, *broken], key=lambda c: c.id)
    for display, problems in slos.problems.items():
        catalog.problems.setdefault(display, []).extend(problems)
    return catalog
