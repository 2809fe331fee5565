"""``--export-rules DIR``: one Prometheus rule file per site, from the same definitions the gate judges.

For every SLO objective whose app runs at the site: a recording rule of the error ratio over
each window of its page and ticket pairs (``slo:sli_error:ratio_rate<window>``, labels
``site``, ``app``, ``slo``; for minutes and time slices, averaged from a recorded
``slo:sli_good_slice``), and two multi-window burn-rate alerts, ``SloBurnRatePage`` (the
SLO's pairs, default 1h & 5m at 14.4×, 6h & 30m at 6×) and ``SloBurnRateTicket`` (1d & 2h at
3×, 3d & 6h at 1×): each fires when both windows of a pair burn faster than its factor, the
gate's own rule. The expressions come from :class:`~pytest_slo.kinds.slo_queries.SliQueries`,
which the gate reads too. Then an alert for each promql check that declares
``alert: {for: 10m}``: its query, the negation of its ``op``, its threshold, labelled
``severity: page`` for a P1/P2 check and ``ticket`` otherwise unless the ``alert:`` says
(``{for: 1h, severity: warning}``: ``redis-memory-growth``'s trend alert), with the check's
runbook as ``runbook_url`` and its ``description``, if any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..catalog.runbooks import is_builtin_runbook
from ..compare import BREACHES
from ..errors import SloError
from ..findings.model import atomic_write, runbook_url
from ..kinds.base import Target
from ..kinds.burn import TICKET_PAIRS, BurnPair
from ..kinds.openslo import pairs_of, render_queries
from ..kinds.slo_queries import duration
from .context import RunContext

__all__ = ["GOOD_SLICE", "RECORD", "rule_groups", "write_rules"]

RECORD = "slo:sli_error:ratio_rate{window}"
GOOD_SLICE = "slo:sli_good_slice"
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
assert set(_NEGATED) == set(BREACHES)


def _matchers(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _runbook(run: RunContext, check: Any, site: str) -> dict[str, str]:
    """The runbook annotation of an exported alert: ``runbook_url`` for a link Alertmanager can
    follow; a runbook that comes with pytest-slo is a file on this machine, so the alert says
    how to print it instead."""
    if is_builtin_runbook(check.runbook):
        return {"runbook": f"pytest-slo explain {check.id} --site {site}"}
    return {"runbook_url": runbook_url(check.runbook, run.settings.runbook_base_url)}


def _alert(
    name: str,
    severity: str,
    pairs: Iterable[BurnPair],
    budget_ratio: float,
    labels: dict[str, str],
    summary: str,
    runbook: dict[str, str],
) -> dict[str, Any]:
    terms = [
        f"({RECORD.format(window=duration(p.long))}{_matchers(labels)} > ({p.factor:g} * {budget_ratio:.10g})"
        f" and {RECORD.format(window=duration(p.short))}{_matchers(labels)} > ({p.factor:g} * {budget_ratio:.10g}))"
        for p in pairs
    ]
    return {
        "alert": name,
        "expr": "\n or ".join(terms),
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary, **runbook},
    }


def _slo_group(run: RunContext, target: Target, check: Any) -> dict[str, Any]:
    queries, value, _ = render_queries(check, target)
    slo_name = check.id.rsplit("::", 1)[0]
    labels = {"site": target.site.name, "app": target.app or "", "slo": slo_name}
    page, ticket = pairs_of(queries.slo), TICKET_PAIRS
    windows = sorted({w for p in (*page, *ticket) for w in (p.long, p.short)})
    if queries.by_slices:
        # a subquery over 3 days of minutes is more than Prometheus loads for one rule: the good
        # slice is recorded at each evaluation, and the windows average the recorded series
        good = {"record": GOOD_SLICE, "expr": queries.good_slice(), "labels": dict(labels)}
        rules: list[dict[str, Any]] = [good] + [
            {
                "record": RECORD.format(window=duration(w)),
                "expr": f"1 - avg_over_time({GOOD_SLICE}{_matchers(labels)}[{duration(w)}])",
                "labels": dict(labels),
            }
            for w in windows
        ]
    else:
        rules = [
            {"record": RECORD.format(window=duration(w)), "expr": queries.error_ratio(w), "labels": dict(labels)}
            for w in windows
        ]
    runbook = _runbook(run, check, target.site.name)
    what = f"{queries.slo.display} ({target.site.name}/{target.app}) is spending its error budget"
    rules.append(
        _alert(
            "SloBurnRatePage",
            "page",
            page,
            1 - value,
            labels,
            f"{what} fast: {', '.join(p.label for p in page)}",
            runbook,
        )
    )
    rules.append(
        _alert(
            "SloBurnRateTicket",
            "ticket",
            ticket,
            1 - value,
            labels,
            f"{what}: {', '.join(p.label for p in ticket)}",
            runbook,
        )
    )
    return {"name": f"pytest-slo:{target.site.name}:{slo_name}", "rules": rules}


def _check_alert(run: RunContext, target: Target, check: Any) -> dict[str, Any]:
    from ..kinds.promql import PromqlKind

    kind = run.registry["promql"]
    assert isinstance(kind, PromqlKind)
    query, threshold = kind.query_text(check, target), kind.threshold(check, target)
    alert = check.spec["alert"]
    labels = {"site": target.site.name, "app": target.app or "", "check": check.id}
    return {
        "alert": "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", check.id)),
        "expr": f"({query}) {_NEGATED[check.spec['op']]} {threshold:.10g}",
        "for": alert["for"],
        "labels": {
            "severity": alert.get("severity") or ("page" if check.severity in ("P1", "P2") else "ticket"),
            "priority": check.severity,
            **labels,
        },
        "annotations": {
            "summary": f"check {check.id} fails at {target.site.name}/{target.app}: expected {check.spec['op']} "
                       f"{threshold:g} ({check.title})",
            **({"description": check.description} if check.description else {}),
            **_runbook(run, check, target.site.name),
        },
    }


def rule_groups(run: RunContext, site_name: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The rule groups of one site, and why any SLO or check was left out."""
    site = run.repo.site(site_name)
    groups: list[dict[str, Any]] = []
    notes: list[str] = []
    alerts: list[dict[str, Any]] = []
    for check in run.catalog.checks:
        for app in site.apps:
            if not check.applies_to(app):
                continue
            target = Target(site, app, run.sources)
            try:
                if check.kind == "openslo" and check.spec.get("item") == "burn-rate":
                    groups.append(_slo_group(run, target, check))
                elif check.kind == "promql" and isinstance(check.spec.get("alert"), dict):
                    alerts.append(_check_alert(run, target, check))
            except SloError as exc:
                notes.append(f"{site_name}/{app}: {check.id} left out: {exc}")
    if alerts:
        groups.append({"name": f"pytest-slo:{site_name}:checks", "rules": alerts})
    return _parsed(groups, site_name, notes), notes


def _parsed(groups: list[dict[str, Any]], site_name: str, notes: list[str]) -> list[dict[str, Any]]:
    """The groups with every rule whose expression parses as PromQL (the gate's offline parser);
    one that does not is left out of the file and said, never written for Prometheus to refuse."""
    from .queries import parse_problem

    kept = []
    for group in groups:
        rules = []
        for rule in group["rules"]:
            problem = parse_problem(rule["expr"])
            if problem is None:
                rules.append(rule)
            else:
                notes.append(
                    f"{site_name}: {rule.get('alert') or rule.get('record')} left out: its expression is not "
                    f"PromQL: {problem}"
                )
        if rules:
            kept.append({**group, "rules": rules})
    return kept


def write_rules(run: RunContext, folder: Path) -> list[str]:
    """Write ``<folder>/<site>.rules.yaml`` for each site of the run; returns notes for the terminal."""
    notes: list[str] = []
    for site_name in run.settings.site or run.repo.site_names:
        groups, left_out = rule_groups(run, site_name)
        notes += left_out
        path = folder / f"{site_name}.rules.yaml"
        header = (
            f"# Generated by pytest-slo --export-rules from {run.settings.slos_path}/ and checks/ for site "
            f"{site_name}: do not edit.\n"
        )
        try:
            atomic_write(
                path, header + yaml.safe_dump({"groups": groups}, sort_keys=False, width=10_000, allow_unicode=True)
            )
        except OSError as exc:  # the run's verdicts stand; the missing file is said
            notes.append(f"cannot write {path}: {exc.strerror or exc}")
            continue
        notes.append(f"wrote {path} ({sum(len(g['rules']) for g in groups)} rules)")
    return notes
