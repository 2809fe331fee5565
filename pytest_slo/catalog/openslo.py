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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import CatalogError
from ..yamlio import load_documents
from ._openslo_parts import indicator, read_slo
from .known import Known
from .model import Check, _line
from .openslo_model import Doc, Objective, Slo, SloCatalog
from .openslo_validate import dotted as _dotted
from .openslo_validate import openslo_validator, parse_pairs, schema_problems
from .runbooks import runbook as builtin_runbook

__all__ = [
    "BUDGET_RUNBOOK",
    "BURN_RUNBOOK",
    "Objective",
    "Slo",
    "SloCatalog",
    "load_slos",
    "openslo_validator",
    "parse_pairs",
    "slo_checks",
    "with_slos",
]

BUDGET_RUNBOOK = builtin_runbook("runbooks/openslo.md#error-budget")
BURN_RUNBOOK = builtin_runbook("runbooks/openslo.md#burn-rate")
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
            problems.append(
                CatalogError(
                    "an OpenSLO document must be a mapping (apiVersion, kind, metadata, spec)",
                    path=display,
                    line=node.start_mark.line + 1,
                )
            )
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
    return CatalogError(
        f"metadata.name: duplicate {kind} name {name!r} (first at {first.display}:{first.node.start_mark.line + 1})",
        path=doc.display,
        line=_line(doc.node, ("metadata", "name")),
        hint=f"{kind} names are {'item names and finding keys' if kind == 'SLO' else 'what indicatorRef names'}: "
             "make them unique",
    )


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
    documents, invalid = _read(root, files, known, catalog)
    slis, bad_slis = _slis(documents, catalog)
    _add_slos(documents, invalid, slis, bad_slis, list(apps), catalog)
    return catalog


def _read(
    root: Path, files: list[Path], known: Known | None, catalog: SloCatalog
) -> tuple[list[Doc], dict[int, CatalogError]]:
    """The documents pytest-slo reads, and the first problem of each named SLO the schema refused
    (by id(doc): its items error with it, and its name is taken); every problem goes to ``catalog``."""
    documents: list[Doc] = []
    invalid: dict[int, CatalogError] = {}
    for path in files:
        display = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        docs, problems = _documents(path, display)
        for doc in docs:
            found = schema_problems(doc.data, doc.node, display)
            if not found and known is not None:
                found = _unknown_keys(doc, known)
            kind = doc.data.get("kind")
            if not found and kind not in ("SLO", "SLI", "Service"):
                found = [
                    CatalogError(
                        f"kind: {kind} is not read by pytest-slo (it judges SLO and SLI documents; Service is "
                        "accepted and names a service)",
                        path=display,
                        line=_line(doc.node, ("kind",)),
                    )
                ]
            problems += found
            if not found:
                documents.append(doc)
            elif kind == "SLO" and _name_and_app(doc.data):
                documents.append(doc)
                invalid[id(doc)] = found[0]
        if problems:
            catalog.problems[display] = problems
    return documents, invalid


def _slis(documents: list[Doc], catalog: SloCatalog) -> tuple[dict[str, Doc], dict[str, Doc]]:
    """The named SLIs, usable and not: an SLI is judged on its own too (one that no SLO uses yet
    is still an error), and a name given twice is an error at the second."""
    slis: dict[str, Doc] = {}
    bad_slis: dict[str, Doc] = {}
    for doc in documents:
        if doc.data["kind"] != "SLI":
            continue
        name = doc.data["metadata"]["name"]
        sli_problems: list[CatalogError] = []
        if (first := slis.get(name) or bad_slis.get(name)) is not None:
            sli_problems.append(_repeated(doc, first))
        else:
            indicator(doc.data["spec"], ("spec",), doc, sli_problems)
            (bad_slis if sli_problems else slis)[name] = doc
        if sli_problems:
            catalog.problems.setdefault(doc.display, []).extend(sli_problems)
    return slis, bad_slis


def _add_slos(
    documents: list[Doc],
    invalid: dict[int, CatalogError],
    slis: dict[str, Doc],
    bad_slis: dict[str, Doc],
    apps: list[str],
    catalog: SloCatalog,
) -> None:
    """Each SLO document read into ``catalog.slos``, or into ``catalog.broken`` with its first problem."""
    seen: dict[str, Doc] = {}
    for doc in documents:
        if doc.data["kind"] != "SLO":
            continue
        name = doc.data["metadata"]["name"]
        # the schema's problems are reported already
        slo, problems = (None, []) if id(doc) in invalid else read_slo(doc, slis, apps, bad_slis)
        if name in seen:  # valid or not, the first SLO of a name owns its items' ids
            catalog.problems.setdefault(doc.display, []).extend([_repeated(doc, seen[name]), *problems])
            continue
        seen[name] = doc
        if problems:
            catalog.problems.setdefault(doc.display, []).extend(problems)
        if slo is None:
            first = invalid.get(id(doc)) or problems[0]
            catalog.broken.append((name, _app_of(doc.data), doc.display, doc.node.start_mark.line + 1, first))
        else:
            catalog.slos.append(slo)


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
                checks.append(
                    Check(
                        id=f"{base}::{item}",
                        title=title,
                        kind="openslo",
                        severity=slo.severity or severity,
                        runbook=slo.runbook or runbook,
                        source=slo.source,
                        line=slo.line,
                        apps=(slo.app,),
                        description=slo.description,
                        spec={"slo": slo, "objective": objective, "item": item},
                    )
                )
    for name, app, source, line, problem in catalog.broken:
        for item, runbook in (("error-budget", BUDGET_RUNBOOK), ("burn-rate", BURN_RUNBOOK)):
            broken.append(
                Check(
                    id=f"{name}::{item}",
                    title=f"{name}: {item}",
                    kind="openslo",
                    severity="P3",
                    runbook=runbook,
                    source=source,
                    line=line,
                    apps=(app,),
                    problem=problem,
                )
            )
    return checks, broken


def with_slos(catalog: Any, slos: SloCatalog) -> Any:
    """``catalog`` (a :class:`~.model.Catalog`) with the SLOs' items and problems added."""
    checks, broken = slo_checks(slos)
    catalog.checks = sorted([*catalog.checks, *checks], key=lambda c: c.id)
    catalog.broken = sorted([*catalog.broken, *broken], key=lambda c: c.id)
    for display, problems in slos.problems.items():
        catalog.problems.setdefault(display, []).extend(problems)
    return catalog
