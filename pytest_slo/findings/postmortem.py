"""``--postmortem-dir DIR``: a postmortem draft when a live P1/P2 check fails.

The structure follows the Google SRE / PagerDuty template: incident id, severity, status,
summary, impact, detection, timeline, root-cause candidates, what went wrong, action items
and supporting evidence. Everything computed comes from the findings and from what
Prometheus holds over ``--postmortem-window``; what cannot be known is left as a visible
``TODO`` placeholder, never guessed. A team replaces the template with
``slo_postmortem_template`` and adds context through ``pytest_slo_postmortem_context``.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SloError
from ..expr import expression_names
from .charts import history
from .model import runbook_url
from .rootcause import headline, is_symptom, rank_candidates
from .timeline import Event, breaches, burn_events, kube_events, slo_impact

if TYPE_CHECKING:
    import pytest

    from ._inputs import RunView, StoreView

__all__ = ["TODO", "postmortem_context", "render_postmortem", "write_postmortems"]

TODO = "_TODO: {}_"
TEMPLATE = Path(__file__).with_name("templates") / "postmortem.md.j2"


def _symptom_keys(run: RunView) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for check in run.catalog.checks:
        names = list(check.keys)
        for field in ("query", "threshold", "assert"):
            value = check.spec.get(field)
            if isinstance(value, str):
                try:
                    found = expression_names(value, template=field == "query")
                except Exception:  # a broken expression is the catalog item's business
                    found = ()
                names += [n for n in found if n.isupper() and n not in names]
        keys[check.id] = names
    return keys


def _env_lines(run: RunView, sites: set[str]) -> dict[str, dict[int, str]]:
    lines: dict[str, dict[int, str]] = {}
    for name in sites:
        try:
            site = run.repo.site(name)
            lines[site.env_display] = {e.line: e.key for e in site.env.entries.values()}
        except SloError:
            continue
    return lines


def _timeline(run: RunView, site: str, findings: list[dict[str, Any]], now: _dt.datetime) -> tuple[list[Event], dict[str, Any], list[str]]:
    events: list[Event] = []
    per_check: dict[str, Any] = {}
    gaps: list[str] = []
    charts: list[tuple[dict[str, Any], Any, Any]] = []
    for finding in findings:
        if finding.get("kind") == "kube":
            events += kube_events(finding)
            continue
        evidence = finding.get("evidence") or {}
        burn = finding.get("kind") == "openslo" and evidence.get("burn_query")
        query = evidence.get("burn_query") if burn else evidence.get("query")
        if not (burn or finding.get("kind") == "promql") or not query:
            continue
        try:
            series = history(run, site, query)
        except SloError as exc:
            gaps.append(f"{finding['check']}: history unavailable ({exc})")
            continue
        found, summary = burn_events(finding, series) if burn else breaches(finding, series)
        events += found
        per_check[finding["check"]] = summary
        charts.append((finding, series, summary["first_breach"]))
        if summary["first_breach"] is None:
            gaps.append(f"{finding['check']}: no breach inside the {run.settings.postmortem_window} window; it started earlier")
    detected, how = _detected(run, findings, now)
    events.append(Event(detected, f"pytest-slo {how} detected the failing checks (this draft)", "pytest-slo"))
    events.sort(key=lambda e: (e.at, e.what))
    per_check["_charts"] = charts
    return events, per_check, gaps


def _detected(run: RunView, findings: list[dict[str, Any]], now: _dt.datetime) -> tuple[_dt.datetime, str]:
    """When the failure was seen: now for a live run; a snapshot's own time when only kube
    findings from ``--kube-snapshot`` with ``--kube-snapshot-time`` are the live ones behind it."""
    options = run.sources.options
    live = [f for f in findings if f.get("kind") in run.registry.names and run.registry[f["kind"]].live]
    if options.kube_snapshot is not None and options.kube_snapshot_time and all(f.get("kind") == "kube" for f in live):
        return options.kube_snapshot_time.replace(microsecond=0), "judging the kube snapshot as of --kube-snapshot-time"
    return now, "live run"


def postmortem_context(run: RunView, site: str, findings: list[dict[str, Any]], now: _dt.datetime, seq: int) -> dict[str, Any]:
    live_kinds = {name for name in run.registry.names if run.registry[name].live}
    drift = {c.id for c in run.catalog.checks if "drift" in c.markers}
    checks = {c.id: c for c in run.catalog.checks}
    symptoms = [f for f in findings if is_symptom(f, live_kinds, drift)]
    candidates = rank_candidates(
        findings, live_kinds=live_kinds, drift=drift, symptom_keys=_symptom_keys(run), env_lines=_env_lines(run, {site})
    )
    events, per_check, gaps = _timeline(run, site, findings, now)
    charted = per_check.pop("_charts")
    severity = min(f["severity"] for f in findings if f.get("kind") in live_kinds)
    impact = []
    for f in symptoms:
        ev = f.get("evidence") or {}
        if f.get("kind") == "promql":
            values = [v["value"] for v in ev.get("breaching", ev.get("values", []))]
            summary = per_check.get(f["check"], {})
            impact.append(
                {
                    "check": f["check"], "title": f["title"], "app": f.get("app"),
                    "objective": f"{ev.get('op')} {ev.get('threshold'):g}{ev.get('unit', '')}",
                    "measured": ", ".join(f"{v:.4g}{ev.get('unit', '')}" for v in values) or "no data",
                    "since": summary.get("first_breach"),
                    "recovered": summary.get("recovered"),
                }
            )
        elif f.get("kind") == "openslo" and (row := slo_impact(f, per_check.get(f["check"], {}))):
            impact.append(row)
    actions: list[dict[str, str]] = []
    seen: set[str] = set()
    for f in findings:
        check = checks.get(f["check"])
        for action in check.actions if check else ():
            if action["action"] not in seen:
                seen.add(action["action"])
                actions.append({"action": action["action"], "owner": action.get("owner", ""), "priority": action.get("priority", f["severity"]), "runbook": runbook_url(f.get("runbook"), run.settings.runbook_base_url)})
        generic = f"Follow the runbook for {f['check']}"
        if check and not check.actions and f in symptoms and generic not in seen:
            seen.add(generic)
            actions.append({"action": generic, "owner": "", "priority": f["severity"], "runbook": runbook_url(f.get("runbook"), run.settings.runbook_base_url)})
    # named by what happened (top cause, worst symptom it explains), never by a check's title
    title, slug = headline(candidates, symptoms, {c.id: c.spec.get("test") for c in run.catalog.checks})
    if not title:
        title, slug = (symptoms or findings)[0]["check"], (symptoms or findings)[0]["check"]
    stem = f"{now:%Y-%m-%d}-{site}-{slug}"
    return {
        # SVG files written next to the draft (findings/charts.py): name, and what draws it
        "charts": [{"check": f["check"], "app": f.get("app"), "file": f"{stem}.{f['check']}.{f.get('app') or 'site'}.svg",
                    "draw": (f, series, first)} for f, series, first in charted],
        "incident_id": f"INC-{now:%Y-%m-%d}-{seq:03d}",
        "site": site,
        "apps": sorted({f.get("app") for f in findings if f.get("app")}),
        "severity": severity,
        "status": "Draft",
        "generated_at": now.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "detected_at": (detected := _detected(run, findings, now))[0].strftime("%Y-%m-%d %H:%M:%S UTC"),
        "detected_by": detected[1],
        "window": run.settings.postmortem_window,
        "title": title,
        "slug": slug,
        "symptoms": symptoms,
        "impact": impact,
        "timeline": events,
        "timeline_gaps": gaps,
        "first_breach": min((e.at for e in events if "breached" in e.what), default=None),
        "candidates": candidates,
        "findings": findings,
        "actions": sorted(actions, key=lambda a: (a["priority"], a["action"])),
        "link": lambda runbook: runbook_url(runbook, run.settings.runbook_base_url),
        "todo": lambda what: TODO.format(what),
    }


def render_postmortem(run: RunView, context: dict[str, Any]) -> str:
    from ..expr import SloEnvironment

    path = run.settings.postmortem_template or TEMPLATE
    env = SloEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(path.read_text(encoding="utf-8")).render(context)


def write_postmortems(config: pytest.Config, run: RunView, store: StoreView, findings: list[dict[str, Any]]) -> None:
    live_kinds = {name for name in run.registry.names if run.registry[name].live}
    by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        if f.get("site"):
            by_site[f["site"]].append(f)
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    out: Path = run.settings.postmortem_dir  # type: ignore[assignment]
    for site, site_findings in sorted(by_site.items()):
        burning = [f for f in site_findings if f.get("kind") in live_kinds and f["severity"] in ("P1", "P2") and f["outcome"] == "failed"]
        if not burning:
            continue
        existing = list(out.glob(f"{now:%Y-%m-%d}-*.md")) if out.is_dir() else []
        context = postmortem_context(run, site, site_findings, now, len(existing) + 1)
        config.hook.pytest_slo_postmortem_context(config=config, context=context)
        path = out / f"{now:%Y-%m-%d}-{site}-{context['slug']}.md"
        try:
            text = render_postmortem(run, context)
        except Exception as exc:  # a team's template: say what broke, keep the run's result
            store.failed_writes.append(f"pytest-slo: cannot render the postmortem template: {type(exc).__name__}: {exc}")
            continue
        text = run.repo.site(site).redactor.text(text)
        store.write(f"postmortem draft ({site})", path, lambda t=text: t)
        _write_charts(run, store, site, out, context.get("charts") or [])


def _write_charts(run: RunView, store: StoreView, site: str, out: Path, charts: list[dict[str, Any]]) -> None:
    """The draft's charts as SVG files next to it (the draft links them by file name)."""
    if not charts:
        return
    from .charts import render_chart

    redactor = run.repo.site(site).redactor
    for chart in charts:
        finding, series, first = chart["draw"]
        store.write(f"postmortem chart ({site}, {chart['check']})", out / chart["file"],
                    lambda f=finding, s=series, b=first: redactor.text(render_chart(f, s, b)))
