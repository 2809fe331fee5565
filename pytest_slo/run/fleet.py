"""The fleet view's writers of one run: metrics (file and Pushgateway) and the HTML report.

Kept apart from :mod:`.writers` so each is one small block there; everything here runs once,
on the controller, after the findings are final.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from ..findings.model import Finding
from .context import RunContext
from .report import FindingStore

__all__ = ["provenance", "run_metrics", "write_html", "write_metrics"]


def provenance(run: RunContext) -> dict[str, Any]:
    """Which commit of the repository the run judged: ``SLO_COMMIT`` when the CI sets it,
    else the repository's git HEAD; nothing when neither is known."""
    commit = run.settings.environ.get("SLO_COMMIT")
    if not commit and (run.settings.root / ".git").exists():
        try:
            done = subprocess.run(["git", "-C", str(run.settings.root), "rev-parse", "HEAD"],
                                  capture_output=True, text=True, timeout=5, check=False)
            commit = done.stdout.strip() if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            commit = None
    return {"commit": commit} if commit else {}


def run_metrics(run: RunContext, store: FindingStore, findings: list[Finding]) -> Any:
    from ..findings.metrics import Outcome, RunMetrics, waivers_of

    outcomes = []
    for key, outcome in store.ran.items():
        if outcome == "skipped":
            continue  # never ran: no verdict either way
        meta = store.metas.get(key, {})
        check, site, app = key
        # waived and accepted items failed their check: the waiver shows in slo_findings' state
        outcomes.append(
            Outcome(site, app, check, meta.get("severity") or "P3", meta.get("kind") or "", outcome == "passed")
        )
    sites = sorted(store.sites) or sorted({o.site for o in outcomes if o.site})
    # every valid waiver of checks/waivers.yaml, used by a finding or not
    waivers = waivers_of(findings, [w.as_dict() for w in run.waivers if w.problem is None])
    return RunMetrics(sites, outcomes, store.failed(), store.started, time.time(), waivers)


def write_metrics(run: RunContext, store: FindingStore, findings: list[Finding]) -> None:
    s = run.settings
    metrics = run_metrics(run, store, findings)
    if s.metrics_file:
        from ..findings.metrics import render_metrics

        store.write("metrics", s.metrics_file, lambda: render_metrics(metrics))
    if s.pushgateway:
        from ..findings.metrics import push

        if not metrics.sites:
            return
        store.failed_writes.extend(push(metrics, s.pushgateway, s.environ))


def write_html(run: RunContext, store: FindingStore, summary: dict[str, Any], findings: list[Finding]) -> None:
    from ..findings.charts import live_charts
    from ..findings.html import render_html

    charts = live_charts(run, store.failed()) if run.settings.live else {}
    sources = [
        {"site": site, **{k: summary.get(k) for k in ("generated_at", "commit")}} for site in summary.get("sites", [])
    ]
    page = run.settings.html
    assert page is not None
    store.write("HTML report", page,
                lambda: render_html(summary, findings, charts=charts, sources=sources, base=page.parent,
                                    root=run.settings.root, runbook_base_url=run.settings.runbook_base_url))
