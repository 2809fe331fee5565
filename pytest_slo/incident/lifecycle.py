"""One draft per incident: written by the first failing live run, completed by later ones.

A live run (``--live``, or kube checks judged on ``--kube-snapshot``) with a P1/P2 live check
failing at a site looks for an *open* draft of that site in
``--postmortem-dir``: one not Resolved, updated within ``--postmortem-match-window``, whose
fingerprints share one with the run's failing findings. It updates that draft (same file,
same incident ID) and writes a new one only when none matches. Every open draft of a site
whose checks ran in a live run is updated too, so a later run, failing or green, records the
recovery and moves the status (Draft, Mitigated, Resolved); a green run never writes a new
draft. An update rewrites the generated parts and the state, and keeps a person's text.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..expr import duration_seconds
from ..findings.model import Finding
from .draft import merge, read_state
from .postmortem import incident_context, render_postmortem
from .timeline import parse_time

if TYPE_CHECKING:
    import pytest

    from ._inputs import IncidentRun, IncidentStore

__all__ = ["OpenDraft", "open_drafts", "write_postmortems"]


@dataclass(frozen=True)
class OpenDraft:
    path: Path
    text: str
    state: dict[str, Any]

    @property
    def fingerprints(self) -> set[str]:
        return set(self.state.get("fingerprints") or ())

    @property
    def keys(self) -> set[tuple[str, str | None]]:
        return {
            (f["check"], f.get("app")) for f in self.state.get("findings") or () if isinstance(f, dict) and "check" in f
        }


def open_drafts(folder: Path, site: str, now: _dt.datetime, window: float) -> list[OpenDraft]:
    """The site's drafts in ``folder`` still open to updates, the most recently updated first."""
    found = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # not a draft this run can read, so not one it may write over
        state = read_state(text)
        if not state or state.get("site") != site or state.get("status") == "Resolved":
            continue
        updated = parse_time(state.get("updated_at"))
        if updated is None or (now - updated).total_seconds() > window:
            continue
        found.append(OpenDraft(path, text, state))
    return sorted(found, key=lambda d: str(d.state.get("updated_at")), reverse=True)


def _ran(store: IncidentStore, site: str, draft: OpenDraft) -> bool:
    """Whether any check of the draft ran (passed or failed) in this run."""
    return any(
        store.ran.get((check, site, app)) in ("passed", "failed", "waived", "accepted") for check, app in draft.keys
    )


def write_postmortems(config: pytest.Config, run: IncidentRun, store: IncidentStore, findings: list[Finding]) -> None:
    """Write or update the drafts of this run's sites (``findings``: its verdicts, no errors)."""
    out = run.settings.postmortem_dir
    if out is None:
        return
    live_kinds = {name for name in run.registry.names if run.registry[name].live}
    by_site: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if site := f.get("site"):
            by_site[site].append(f)
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    window = duration_seconds(run.settings.postmortem_match_window)
    sites = sorted(set(by_site) | {site for _, site, _ in store.ran if site})
    for site in sites:
        site_findings = by_site.get(site, [])
        burning = [
            f
            for f in site_findings
            if f.get("kind") in live_kinds and f["severity"] in ("P1", "P2") and f["outcome"] == "failed"
        ]
        # a run that judged nothing live (no --live, no --kube-snapshot) cannot say how an incident stands
        judged_live = run.settings.live or run.sources.options.kube_snapshot is not None
        drafts = open_drafts(out, site, now, window) if judged_live else []
        failing = {f["fingerprint"] for f in site_findings if f.get("fingerprint")}
        match = max(drafts, key=lambda d: len(d.fingerprints & failing), default=None) if burning else None
        if match is not None and not match.fingerprints & failing:
            match = None
        for draft in drafts:
            if draft is match:
                _write(config, run, store, site, site_findings, draft, now, out)
            elif _ran(store, site, draft):
                # recovery only: this run's findings of the draft's own checks, nothing new
                mine = [f for f in site_findings if (f["check"], f.get("app")) in draft.keys]
                _write(config, run, store, site, mine, draft, now, out)
        if burning and match is None:
            _write(config, run, store, site, site_findings, None, now, out)


def _write(config: pytest.Config, run: IncidentRun, store: IncidentStore, site: str, current: list[Finding],
           draft: OpenDraft | None, now: _dt.datetime, out: Path) -> None:
    try:
        context = incident_context(run, store, site, draft.state if draft else None, current, now)
    except Exception as exc:  # a draft must never take the run's other reports down with it
        store.failed_writes.append(f"pytest-slo: cannot draft the postmortem of {site}: {type(exc).__name__}: {exc}")
        return
    config.hook.pytest_slo_postmortem_context(config=config, context=context)
    try:
        text = render_postmortem(run, context)
    except Exception as exc:  # a team's template: say what broke, keep the run's result
        store.failed_writes.append(f"pytest-slo: cannot render the postmortem template: {type(exc).__name__}: {exc}")
        return
    if context["state_part"] not in text:
        # a team's template without the state: appended, so that later runs find the draft
        text = text.rstrip("\n") + "\n\n" + context["state_part"]
    if draft is not None:
        text = merge(draft.text, text)
    path = draft.path if draft else out / f"{context['stem']}.md"
    redactor = run.repo.site(site).redactor
    text = redactor.text(text)
    store.write(f"postmortem draft ({site})", path, lambda t=text: t)
    _write_charts(store, site, out, [c for c in context.get("charts") or [] if "draw" in c], redactor)


def _write_charts(store: IncidentStore, site: str, out: Path, charts: list[dict[str, Any]], redactor: Any) -> None:
    """The draft's charts as SVG files next to it (the draft links them by file name)."""
    if not charts:
        return
    from ..findings.charts import render_chart

    for chart in charts:
        finding, series, first = chart["draw"]
        store.write(f"postmortem chart ({site}, {chart['check']})", out / chart["file"],
                    lambda f=finding, s=series, b=first: redactor.text(render_chart(f, s, b)))
