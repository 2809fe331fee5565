"""The postmortem draft in words: what the template is rendered with and the state the draft
keeps for later runs, from what :func:`.postmortem.incident_context` learnt of the incident
(its checks, when it began and recovered, its causes, the commits and the timeline).

Times are stamped in UTC to the second, a span is spoken ("12 minutes"), what is not known is
"—"; the state keeps each finding's objective and what it saw, not its series."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..findings.mdtext import cell, code, prose
from ..findings.model import Finding, runbook_url
from .draft import BEGIN, END, state_part
from .impact import describe_requests, impact_rows, spoken
from .lessons import action_items
from .timeline import parse_time

if TYPE_CHECKING:
    from ._inputs import IncidentRun, IncidentStore
    from .events import WarningRow
    from .githistory import Commit
    from .impact import Requests
    from .rootcause import Candidate
    from .timeline import Event
    from .tracks import Track

__all__ = ["TODO", "Causes", "Draft", "Moments", "draft_state", "template_context"]

TODO = "_TODO: {}_"
_STAMP = "%Y-%m-%d %H:%M:%S UTC"


@dataclass(frozen=True)
class Moments:
    """When the incident's checks first breached (``earliest``: any of them; ``started``: the
    first page-worthy one, what users saw), was detected (and how), mitigated and resolved;
    its status, and when this run's queries were evaluated."""

    earliest: _dt.datetime | None
    started: _dt.datetime | None
    detected: _dt.datetime
    how: str
    mitigated: _dt.datetime | None
    resolved: _dt.datetime | None
    stage: str
    evaluated: _dt.datetime


@dataclass(frozen=True)
class Causes:
    """The incident's findings (one per check and app), the root-cause candidates ranked, the
    symptoms, and the kinds that judge the live system."""

    findings: list[Finding]
    candidates: list[Candidate]
    symptoms: list[Finding]
    live_kinds: set[str]

    @property
    def primary(self) -> Candidate | None:
        """The top-ranked candidate, when it explains a symptom."""
        return self.candidates[0] if self.candidates and self.candidates[0].explains else None

    @property
    def secondary(self) -> Candidate | None:
        """The next candidate that explains a symptom through another key than the primary's."""
        primary = self.primary
        return next((c for c in self.candidates[1:] if c.explains and c.key != primary.key), None) if primary else None


@dataclass(frozen=True)
class Draft:
    """What this run learnt of the incident at one site, before it is written down."""

    site: str
    stem: str  # the draft's file name without .md
    title: str
    slug: str
    severity: str
    when: Moments
    tracks: list[Track]
    causes: Causes
    commits: list[Commit]
    git_gap: str  # why git could not be read, or ""
    timeline: list[Event]  # every event, the Warning rows' too, in time order
    keyed: list[Event]  # the events the state keeps
    warnings: list[WarningRow]
    gaps: list[str]  # what could not be read for the timeline: histories, then events
    requests: Requests | None
    requests_gap: str
    well: list[str]
    wrong: list[str]
    charts: list[dict[str, Any]]  # this run's with what to draw, then the earlier runs' still there


#: What the draft keeps of a finding's evidence for later runs: the objective, the query and
#: what it saw in the check's own terms; every series' values and pod list are left out.
_KEPT = ("op", "threshold", "unit", "query", "time", "shown", "factor", "burn_query", "pairs", "target", "window",
         "budget_left_percent", "budget_spent", "budget_allowed")


def _trim(finding: Finding) -> dict[str, Any]:
    """A finding as the draft remembers it for the runs after this one."""
    evidence = {k: v for k, v in (finding.get("evidence") or {}).items() if k in _KEPT}
    return {**{k: v for k, v in finding.items() if k not in ("waiver", "objects", "action")}, "evidence": evidence}


def _iso(moment: _dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def draft_state(
    draft: Draft, earlier: dict[str, Any], current: list[Finding], incident_id: str, now: _dt.datetime
) -> dict[str, Any]:
    """The state the draft keeps for later runs (``earlier``: the state it kept so far): the
    incident's identity and moments, the fingerprints it matches, each check's finding and
    history, the keyed events and Warning rows, and the charts' files."""
    when = draft.when
    return {
        "incident_id": incident_id,
        "site": draft.site,
        "stem": draft.stem,
        "title": draft.title,
        "slug": draft.slug,
        "severity": draft.severity,
        "status": when.stage,
        "drafted_at": earlier.get("drafted_at") or now.isoformat(),
        "updated_at": now.isoformat(),
        "detected_at": when.detected.isoformat(),
        "detected_by": when.how,
        "started_at": _iso(when.started),
        "mitigated_at": _iso(when.mitigated),
        "resolved_at": _iso(when.resolved),
        "fingerprints": sorted(
            {*(earlier.get("fingerprints") or []), *(f["fingerprint"] for f in current if f.get("fingerprint"))}
        ),
        "findings": [_trim(t.finding) for t in draft.tracks],
        "checks": {t.key: t.as_state() for t in draft.tracks},
        "timeline": [e.as_dict() for e in draft.keyed],
        "warnings": [w.as_dict() for w in draft.warnings],
        "charts": [{"check": c["check"], "app": c["app"], "file": c["file"]} for c in draft.charts],
    }


def template_context(
    run: IncidentRun, store: IncidentStore, draft: Draft, state: dict[str, Any], now: _dt.datetime
) -> dict[str, Any]:
    """What the template is rendered with (``state``: the draft's new state): the incident's
    identity, its moments, what happened and why, the state, and the helpers a template words
    things with."""
    return {
        **_identity(run, draft, state),
        **_times(draft, state, now),
        **_analysis(run, store, draft),
        **_helpers(run, state),
    }


def _identity(run: IncidentRun, draft: Draft, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "incident_id": state["incident_id"],
        "site": draft.site,
        "apps": sorted({t.app for t in draft.tracks if t.app}),
        "severity": draft.severity,
        "status": draft.when.stage,
        "title": draft.title,
        "slug": draft.slug,
        "stem": draft.stem,
        "window": run.settings.postmortem_window,
    }


def _stamp(moment: _dt.datetime | None) -> str:
    return moment.strftime(_STAMP) if moment else "—"


def _times(draft: Draft, state: dict[str, Any], now: _dt.datetime) -> dict[str, Any]:
    """The incident's moments stamped, its duration and the times to detection, mitigation and
    resolution."""
    when = draft.when
    history = any(t.kind in ("promql", "openslo") for t in draft.tracks)
    return {
        "generated_at": _stamp(now),
        "drafted_at": _stamp(parse_time(state["drafted_at"])),
        "detected_at": _stamp(when.detected),
        "detected_by": when.how,
        "started_at": _stamp(when.started),
        "mitigated_at": _stamp(when.mitigated),
        "resolved_at": _stamp(when.resolved),
        "first_breach": when.started,
        "duration": _duration(when.started, when.mitigated, when.evaluated, history),
        "time_to_detection": _span(when.started, when.detected),
        "time_to_mitigation": _since(when.started, when.detected, when.mitigated),
        "time_to_resolution": _since(when.started, when.detected, when.resolved),
    }


def _analysis(run: IncidentRun, store: IncidentStore, draft: Draft) -> dict[str, Any]:
    """What happened and why: the checks and their impact, the requests failed, the timeline,
    the commits, the causes, the lessons and the action items, the findings and the charts."""
    causes = draft.causes
    return {
        "tracks": draft.tracks,
        "symptoms": causes.symptoms,
        "impact": impact_rows(draft.tracks, store, draft.site),
        "requests": describe_requests(draft.requests) if draft.requests else None,
        "requests_gap": draft.requests_gap,
        "timeline": draft.timeline,
        "timeline_gaps": draft.gaps,
        "commits": _commit_rows(draft.commits),
        "git_gap": draft.git_gap,
        "candidates": causes.candidates,
        "primary": causes.primary,
        "secondary": causes.secondary,
        "well": draft.well,
        "wrong": draft.wrong,
        "actions": action_items(run, draft.tracks, draft.when.detected),
        "findings": causes.findings,
        "charts": draft.charts,
    }


def _helpers(run: IncidentRun, state: dict[str, Any]) -> dict[str, Any]:
    """The state and its marked part, and what a template words things with: runbook links,
    visible TODOs, and Markdown that renders as written."""
    return {
        "state": state,
        "state_part": state_part(state),
        "begin": BEGIN.format,
        "end": END.format,
        "link": lambda runbook: runbook_url(runbook, run.settings.runbook_base_url),
        "todo": lambda what: TODO.format(what),
        "prose": prose,
        "code": code,
        "cell": cell,
        "fence": _fence,
        "first_line": lambda text: str(text or "").splitlines()[0] if text else "",
    }


def _fence(text: str) -> str:
    """``text`` as a fenced block that renders as written, whatever backticks it holds."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _span(start: _dt.datetime | None, end: _dt.datetime | None) -> str:
    return spoken((end - start).total_seconds()) if start and end else "—"


def _since(started: _dt.datetime | None, detected: _dt.datetime, end: _dt.datetime | None) -> str:
    """How long until ``end``: from the breach (what users saw) and from detection (what the team did)."""
    if end is None:
        return "—"
    after = f"{_span(detected, end)} after detection" if end >= detected else "before detection"
    return f"{_span(started, end)} from the breach, {after}" if started else after


def _commit_rows(found: list[Commit]) -> list[dict[str, str]]:
    return [
        {
            "hash": code(c.short),
            "time": f"{c.time:%Y-%m-%d %H:%M:%S}",
            "author": cell(c.author),
            "subject": cell(c.subject),
            "changed": "; ".join(k.markdown for k in c.keys)
            if c.keys
            else ("adds config.env" if c.first else cell(", ".join(c.files))),
            "fix": "**the fix**" if c.fix else "—",
        }
        for c in found
    ]


def _duration(started: _dt.datetime | None, mitigated: _dt.datetime | None, now: _dt.datetime, history: bool) -> str:
    if started is None and not history:
        return "unknown: no failing check has a history in Prometheus"
    if started is None:
        return "unknown: the breach began before the window Prometheus was read over"
    if mitigated is None:
        return f"ongoing: {spoken((now - started).total_seconds())} so far (since {started:%Y-%m-%d %H:%M} UTC)"
    return f"{spoken((mitigated - started).total_seconds())} ({started:%Y-%m-%d %H:%M} to {mitigated:%H:%M} UTC)"
