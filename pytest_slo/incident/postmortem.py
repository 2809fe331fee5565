"""The postmortem draft's content: what the template shows, computed from the incident's
findings (this run's and the earlier runs' the draft remembers), Prometheus, Kubernetes and git.

The sections are the seed's postmortem (``reference/incident-session-example.md``, after the
Google SRE and PagerDuty templates): incident ID, severity, status, duration, time to
detection, mitigation and resolution; summary; impact (each user-facing check before, at its
worst and now; requests failed; error budget burnt); timeline (breach, Warning events,
detection, commits and the fix, recovery); root cause (primary, secondary, ranked
candidates); what went well and wrong; action items with owner, due date and priority;
evidence. What cannot be known is a visible ``_TODO: ..._`` outside the generated parts,
where a person's answer is kept. ``slo_postmortem_template`` replaces the template and
``pytest_slo_postmortem_context`` adds to what it is rendered with.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SloError
from ..expr import expression_names
from ..findings.mdtext import cell, code, prose
from ..findings.model import Finding, runbook_url
from .draft import BEGIN, END, state_part
from .events import WarningRow, as_events, from_evidence, merge_warnings, warning_events
from .githistory import Commit, GitUnavailable, commits, mark_fix
from .impact import describe_requests, impact_rows, requests_failed, spoken
from .lessons import action_items, went_well_and_wrong
from .rootcause import headline, is_symptom, rank_candidates
from .timeline import Event, breach_events, kube_events, merge_events, parse_time
from .tracks import PAGE, PROMETHEUS, Track, build_tracks, read_histories, status

if TYPE_CHECKING:
    from ._inputs import IncidentRun, IncidentStore

__all__ = ["TEMPLATE", "TODO", "chart_file", "incident_context", "render_postmortem"]

TODO = "_TODO: {}_"
TEMPLATE = Path(__file__).with_name("templates") / "postmortem.md.j2"
HISTORY_BEFORE = _dt.timedelta(hours=24)  # commits this long before the breach may have caused it
EVENTS_BEFORE = _dt.timedelta(hours=1)  # Kubernetes keeps events an hour: older ones are gone anyway
_STAMP = "%Y-%m-%d %H:%M:%S UTC"


def _symptom_keys(run: IncidentRun) -> dict[str, list[str]]:
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


def _env_lines(run: IncidentRun, site: str) -> dict[str, dict[int, str]]:
    try:
        env = run.repo.site(site)
        return {env.env_display: {e.line: e.key for e in env.env.entries.values()}}
    except SloError:
        return {}


def _detected(run: IncidentRun, findings: list[Finding], now: _dt.datetime) -> tuple[_dt.datetime, str]:
    """When the failure was seen: now for a live run; a snapshot's own time when only kube
    findings from ``--kube-snapshot`` with ``--kube-snapshot-time`` are the live ones behind it."""
    options = run.sources.options
    live = [f for f in findings if f.get("kind") in run.registry.names and run.registry[str(f.get("kind"))].live]
    if options.kube_snapshot is not None and options.kube_snapshot_time and live and all(f.get("kind") == "kube" for f in live):
        return options.kube_snapshot_time.replace(microsecond=0), "judging the kube snapshot as of --kube-snapshot-time"
    return now, "live run"


def _judged_at(run: IncidentRun, now: _dt.datetime) -> _dt.datetime:
    """When this run saw the system: a kube snapshot's ``--kube-snapshot-time`` when that is all
    it judged, else now (a check first seen passing then is back from then on)."""
    options = run.sources.options
    if options.kube_snapshot is not None and options.kube_snapshot_time and not run.settings.live:
        return options.kube_snapshot_time.replace(microsecond=0)
    return now


def _free_stem(out: Path, stem: str) -> str:
    """``stem``, or ``stem-2``, ``-3``...: a new incident never writes over an earlier one's draft."""
    taken, n = stem, 1
    while (out / f"{taken}.md").exists():
        n += 1
        taken = f"{stem}-{n}"
    return taken


def _next_id(out: Path, detected: _dt.datetime) -> str:
    """``INC-<date>-NNN``: the next number of the day the incident was detected, whatever the
    drafts of that day are called."""
    prefix = f"INC-{detected:%Y-%m-%d}-"
    taken = set()
    for path in out.glob("*.md") if out.is_dir() else ():
        try:
            found = re.search(rf'"incident_id": "{prefix}(\d+)"', path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if found:
            taken.add(int(found[1]))
    return f"{prefix}{max(taken, default=0) + 1:03d}"


def chart_file(stem: str, check: str, app: str | None) -> str:
    """A chart's file name: no ``:`` (an SLO item's id has two), which breaks checkouts and uploads."""
    safe = lambda text: re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")  # noqa: E731
    return f"{stem}.{safe(check)}.{safe(app or 'site')}.svg"


#: What the draft keeps of a finding's evidence for later runs: the objective, the query and
#: what it saw in the check's own terms; every series' values and pod list are left out.
_KEPT = ("op", "threshold", "unit", "query", "time", "shown", "factor", "burn_query", "pairs", "target", "window",
         "budget_left_percent", "budget_spent", "budget_allowed")


def _trim(finding: Finding) -> dict[str, Any]:
    """A finding as the draft remembers it for the runs after this one."""
    evidence = {k: v for k, v in (finding.get("evidence") or {}).items() if k in _KEPT}
    return {**{k: v for k, v in finding.items() if k not in ("waiver", "objects", "action")}, "evidence": evidence}


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
    return [{"hash": code(c.short), "time": f"{c.time:%Y-%m-%d %H:%M:%S}", "author": cell(c.author), "subject": cell(c.subject),
             "changed": "; ".join(k.markdown for k in c.keys) if c.keys else ("adds config.env" if c.first else cell(", ".join(c.files))),
             "fix": "**the fix**" if c.fix else "—"} for c in found]


def _git(run: IncidentRun, site: str, since: _dt.datetime, started: _dt.datetime | None, cause_keys: set[str]) -> tuple[list[Commit], str]:
    target = run.repo.site(site)
    paths = [target.env_display, *(target.values_display(app) for app in target.apps)]
    try:
        paths.append(run.repo.rel(target.release.path / "apps"))
    except SloError:
        pass  # no release to read: its templates cannot have changed
    try:
        found = commits(run.settings.root, paths, target.env_display, since, timeout=run.settings.live_timeout)
    except GitUnavailable as exc:
        return [], f"Changes from git are skipped: {exc}."
    return mark_fix(found, started, cause_keys), ""


def _check_events(tracks: list[Track]) -> list[Event]:
    """Each check's breach and recovery; OOM kills and crash loops from this run's kube findings."""
    events: list[Event] = []
    for track in tracks:
        evidence = track.finding.get("evidence") or {}
        back = track.recovered if track.how == PROMETHEUS else None
        if track.kind == "openslo" and track.role == PAGE:
            factor = evidence.get("factor") or 14.4
            what = f"{track.first_value:.1f}× at first" if track.first_value is not None else "the page's long window"
            events += breach_events(track.check, track.app, track.first, back, what, burn=f"{factor:g}×")
        elif track.kind == "promql":
            if track.role == PAGE and track.first_value is not None:
                objective = f"{evidence.get('op')} {evidence.get('threshold', 0):g}{track.unit}"
                what = f"{track.first_value:.4g}{prose(track.unit)}, objective {prose(objective)}"
            else:
                # a symptom's raw value (a % of some room) says little: its title says what broke
                what = prose(track.finding.get("title") or track.check)
            events += breach_events(track.check, track.app, track.first, back, what)
        if track.fresh and track.kind == "kube":
            events += kube_events(track.finding)
    return events


def _commit_events(found: list[Commit]) -> list[Event]:
    events = []
    for commit in found:
        what = f"commit {code(commit.short)} by {prose(commit.author)}: {prose(commit.subject)}"
        if commit.keys:
            what += f" ({'; '.join(k.markdown for k in commit.keys)})"
        events.append(Event(commit.time, what + (", the fix" if commit.fix else ""), "git", f"commit:{commit.hash}", "last"))
    return events


@dataclass(frozen=True)
class Moments:
    """When the incident was detected (and how), mitigated and resolved."""

    detected: _dt.datetime
    how: str
    mitigated: _dt.datetime | None
    resolved: _dt.datetime | None


def _timeline(run: IncidentRun, site: str, state: dict[str, Any], tracks: list[Track], found: list[Commit],
              moments: Moments, since: _dt.datetime) -> tuple[list[Event], list[Event], list[WarningRow], list[str]]:
    """The timeline (this run's events merged with the draft's), the keyed events the state
    keeps, the Warning rows, and what could not be read."""
    events = [Event(moments.detected, f"pytest-slo {moments.how} detected the failing checks (first failing run)", "pytest-slo", "detected"),
              *_check_events(tracks), *_commit_events(found)]
    ends = {"mitigated": (moments.mitigated, "Mitigated: every user-facing check back within its objective"),
            "resolved": (moments.resolved, "Resolved: every check of the incident passes")}
    events += [Event(when, text, "pytest-slo", key, "last") for key, (when, text) in ends.items() if when]
    # a status a check's new breach took back is no longer true
    earlier = [e for e in map(Event.from_dict, state.get("timeline") or []) if e and (e.key not in ends or ends[e.key][0])]
    keyed = merge_events(earlier, events)
    apps = sorted({t.app for t in tracks if t.app})
    rows, gaps = warning_events(run, site, apps, since) if run.settings.live or run.sources.options.kube_snapshot else ([], [])
    warnings = merge_warnings([w for w in map(WarningRow.from_dict, state.get("warnings") or []) if w],
                              [*rows, *from_evidence([t.finding for t in tracks if t.fresh], since)])
    return sorted([*keyed, *as_events(warnings)], key=lambda e: (e.at, e.what)), keyed, warnings, gaps


def incident_context(run: IncidentRun, store: IncidentStore, site: str, state: dict[str, Any] | None, current: list[Finding],
                     now: _dt.datetime) -> dict[str, Any]:
    """What the template is rendered with, and the draft's new ``state``."""
    state = state or {}
    tracks = build_tracks(run, store, site, state.get("findings") or [], current, state.get("checks") or {}, _judged_at(run, now))
    gaps: list[str] = []
    read_histories(run, site, tracks, min((t.first for t in tracks if t.first), default=None), gaps)
    firsts = [t.first for t in tracks if t.first]
    earliest = min(firsts, default=None)
    started = min((t.first for t in tracks if t.first and t.role == PAGE), default=earliest)
    stage, mitigated, resolved = status(tracks)
    evaluated = _dt.datetime.fromtimestamp(run.sources.eval_time, _dt.timezone.utc).replace(microsecond=0)
    detected, how = parse_time(state.get("detected_at")), str(state.get("detected_by") or "")
    if detected is None:
        detected, how = _detected(run, current, now)
    live_kinds = {name for name in run.registry.names if run.registry[name].live}
    drift = {c.id for c in run.catalog.checks if "drift" in c.markers}
    findings = [t.finding for t in tracks]
    candidates = rank_candidates(findings, live_kinds=live_kinds, drift=drift, symptom_keys=_symptom_keys(run), env_lines=_env_lines(run, site))
    symptoms = [f for f in findings if is_symptom(f, live_kinds, drift)]
    title, slug = state.get("title"), state.get("slug")
    if not title:
        title, slug = headline(candidates, symptoms, {c.id: c.spec.get("test") for c in run.catalog.checks})
        if not title:
            title = slug = (symptoms or findings)[0]["check"]
    out = run.settings.postmortem_dir or Path(".")
    stem = str(state.get("stem") or _free_stem(out, f"{detected:%Y-%m-%d}-{site}-{slug}"))
    by_id = {c.id: c for c in run.catalog.checks}
    cause_keys = {c.key for c in candidates if c.key} | {k for c in candidates for k in getattr(by_id.get(c.finding["check"]), "keys", ())}
    found, git_gap = _git(run, site, (earliest or detected) - HISTORY_BEFORE, started or earliest, cause_keys)
    moments = Moments(detected, how, mitigated, resolved)
    timeline, keyed, warnings, event_gaps = _timeline(run, site, state, tracks, found, moments, (earliest or detected) - EVENTS_BEFORE)
    requests, requests_gap = requests_failed(run, site, tracks, started, mitigated or evaluated)
    well, wrong = went_well_and_wrong(run, tracks, candidates, found, {"started": started, "detected": detected, "mitigated": mitigated,
                                                                       "git": not git_gap})
    severity = min([str(state.get("severity") or "P4"), *(f["severity"] for f in current if f.get("kind") in live_kinds)])
    charts = [{"check": t.check, "app": t.app, "file": chart_file(stem, t.check, t.app), "draw": (_chartable(t), t.series, t.first)}
              for t in tracks if t.series]
    drawn = {c["file"] for c in charts}
    charts += [c for c in state.get("charts") or [] if c.get("file") not in drawn and (out / str(c["file"])).is_file()]
    apps = sorted({t.app for t in tracks if t.app})
    new_state = {
        "incident_id": state.get("incident_id") or _next_id(out, detected), "site": site, "stem": stem,
        "title": title, "slug": slug, "severity": severity, "status": stage, "drafted_at": state.get("drafted_at") or now.isoformat(),
        "updated_at": now.isoformat(), "detected_at": detected.isoformat(), "detected_by": how,
        "started_at": started.isoformat() if started else None, "mitigated_at": mitigated.isoformat() if mitigated else None,
        "resolved_at": resolved.isoformat() if resolved else None,
        "fingerprints": sorted({*(state.get("fingerprints") or []), *(f["fingerprint"] for f in current if f.get("fingerprint"))}),
        "findings": [_trim(t.finding) for t in tracks], "checks": {t.key: t.as_state() for t in tracks},
        "timeline": [e.as_dict() for e in keyed], "warnings": [w.as_dict() for w in warnings],
        "charts": [{"check": c["check"], "app": c["app"], "file": c["file"]} for c in charts],
    }
    stamp = lambda t: t.strftime(_STAMP) if t else "—"  # noqa: E731
    primary = candidates[0] if candidates and candidates[0].explains else None
    secondary = next((c for c in candidates[1:] if c.explains and c.key != primary.key), None) if primary else None
    return {
        "incident_id": new_state["incident_id"], "site": site, "apps": apps, "severity": severity, "status": stage,
        "title": title, "slug": slug, "stem": stem, "window": run.settings.postmortem_window,
        "generated_at": stamp(now), "drafted_at": stamp(parse_time(new_state["drafted_at"])), "detected_at": stamp(detected), "detected_by": how,
        "started_at": stamp(started), "mitigated_at": stamp(mitigated), "resolved_at": stamp(resolved),
        "first_breach": started, "duration": _duration(started, mitigated, evaluated, any(t.kind in ("promql", "openslo") for t in tracks)),
        "time_to_detection": _span(started, detected), "time_to_mitigation": _since(started, detected, mitigated),
        "time_to_resolution": _since(started, detected, resolved),
        "tracks": tracks, "symptoms": symptoms, "impact": impact_rows(tracks, store, site),
        "requests": describe_requests(requests) if requests else None, "requests_gap": requests_gap,
        "timeline": timeline, "timeline_gaps": gaps + event_gaps, "commits": _commit_rows(found), "git_gap": git_gap,
        "candidates": candidates, "primary": primary, "secondary": secondary, "well": well, "wrong": wrong,
        "actions": action_items(run, tracks, detected), "findings": findings, "charts": charts,
        "state": new_state, "state_part": state_part(new_state), "begin": BEGIN.format, "end": END.format,
        "link": lambda runbook: runbook_url(runbook, run.settings.runbook_base_url), "todo": lambda what: TODO.format(what),
        "prose": prose, "code": code, "cell": cell, "fence": _fence,
        "first_line": lambda text: str(text or "").splitlines()[0] if text else "",
    }


def _chartable(track: Track) -> Finding:
    """The finding a chart is drawn for: a burn rate against its page's factor."""
    if track.kind != "openslo":
        return track.finding
    factor = (track.finding.get("evidence") or {}).get("factor", 14.4)
    return {**track.finding, "evidence": {**(track.finding.get("evidence") or {}), "op": "<=", "threshold": factor, "unit": "×"}}


def _duration(started: _dt.datetime | None, mitigated: _dt.datetime | None, now: _dt.datetime, history: bool) -> str:
    if started is None and not history:
        return "unknown: no failing check has a history in Prometheus"
    if started is None:
        return "unknown: the breach began before the window Prometheus was read over"
    if mitigated is None:
        return f"ongoing: {spoken((now - started).total_seconds())} so far (since {started:%Y-%m-%d %H:%M} UTC)"
    return f"{spoken((mitigated - started).total_seconds())} ({started:%Y-%m-%d %H:%M} to {mitigated:%H:%M} UTC)"


def render_postmortem(run: IncidentRun, context: dict[str, Any]) -> str:
    from ..expr import SloEnvironment

    path = run.settings.postmortem_template or TEMPLATE
    env = SloEnvironment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.from_string(path.read_text(encoding="utf-8")).render(context).rstrip("\n") + "\n"
