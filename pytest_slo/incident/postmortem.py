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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SloError
from ..expr import expression_names
from ..findings.mdtext import code, prose
from ..findings.model import Finding
from ._context import TODO, Causes, Draft, Moments, draft_state, template_context
from .events import WarningRow, as_events, from_evidence, merge_warnings, warning_events
from .githistory import Commit, GitUnavailable, commits, mark_fix
from .impact import requests_failed
from .lessons import went_well_and_wrong
from .rootcause import Candidate, headline, is_symptom, rank_candidates
from .timeline import Event, breach_events, kube_events, merge_events, parse_time
from .tracks import PAGE, PROMETHEUS, Track, build_tracks, read_histories, status

if TYPE_CHECKING:
    from ._inputs import IncidentRun, IncidentStore

__all__ = ["TEMPLATE", "TODO", "chart_file", "incident_context", "render_postmortem"]

TEMPLATE = Path(__file__).with_name("templates") / "postmortem.md.j2"
HISTORY_BEFORE = _dt.timedelta(hours=24)  # commits this long before the breach may have caused it
EVENTS_BEFORE = _dt.timedelta(hours=1)  # Kubernetes keeps events an hour: older ones are gone anyway


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
    if (
        options.kube_snapshot is not None
        and options.kube_snapshot_time
        and live
        and all(f.get("kind") == "kube" for f in live)
    ):
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


def _git(
    run: IncidentRun, site: str, since: _dt.datetime, started: _dt.datetime | None, cause_keys: set[str]
) -> tuple[list[Commit], str]:
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
        events.append(
            Event(commit.time, what + (", the fix" if commit.fix else ""), "git", f"commit:{commit.hash}", "last")
        )
    return events


def _timeline(run: IncidentRun, site: str, state: dict[str, Any], tracks: list[Track], found: list[Commit],
              moments: Moments, since: _dt.datetime) -> tuple[list[Event], list[Event], list[WarningRow], list[str]]:
    """The timeline (this run's events merged with the draft's), the keyed events the state
    keeps, the Warning rows, and what could not be read."""
    events = [
        Event(
            moments.detected,
            f"pytest-slo {moments.how} detected the failing checks (first failing run)",
            "pytest-slo",
            "detected",
        ),
        *_check_events(tracks),
        *_commit_events(found),
    ]
    ends = {"mitigated": (moments.mitigated, "Mitigated: every user-facing check back within its objective"),
            "resolved": (moments.resolved, "Resolved: every check of the incident passes")}
    events += [Event(when, text, "pytest-slo", key, "last") for key, (when, text) in ends.items() if when]
    # a status a check's new breach took back is no longer true
    earlier = [
        e for e in map(Event.from_dict, state.get("timeline") or []) if e and (e.key not in ends or ends[e.key][0])
    ]
    keyed = merge_events(earlier, events)
    warnings, gaps = _warnings(run, site, state, tracks, since)
    return sorted([*keyed, *as_events(warnings)], key=lambda e: (e.at, e.what)), keyed, warnings, gaps


def _warnings(
    run: IncidentRun, site: str, state: dict[str, Any], tracks: list[Track], since: _dt.datetime
) -> tuple[list[WarningRow], list[str]]:
    """The draft's Warning rows folded with this run's: Kubernetes' events of the incident's
    apps (when the run judged the live system or a snapshot of it) and those its fresh
    findings' evidence holds; and what could not be read."""
    apps = sorted({t.app for t in tracks if t.app})
    rows, gaps = (
        warning_events(run, site, apps, since) if run.settings.live or run.sources.options.kube_snapshot else ([], [])
    )
    warnings = merge_warnings([w for w in map(WarningRow.from_dict, state.get("warnings") or []) if w],
                              [*rows, *from_evidence([t.finding for t in tracks if t.fresh], since)])
    return warnings, gaps


def incident_context(
    run: IncidentRun,
    store: IncidentStore,
    site: str,
    state: dict[str, Any] | None,
    current: list[Finding],
    now: _dt.datetime,
) -> dict[str, Any]:
    """What the template is rendered with, and the draft's new ``state``."""
    state = state or {}
    draft = _learn(run, store, site, state, current, now)
    incident_id = state.get("incident_id") or _next_id(run.settings.postmortem_dir or Path("."), draft.when.detected)
    return template_context(run, store, draft, draft_state(draft, state, current, incident_id, now), now)


def _learn(
    run: IncidentRun, store: IncidentStore, site: str, state: dict[str, Any], current: list[Finding], now: _dt.datetime
) -> Draft:
    """What the draft says of the incident: its checks with their histories, when it began, was
    detected and recovered, its causes and name, the commits, the timeline, the requests failed
    and the lessons. ``state``: what the draft kept so far (empty for a new incident)."""
    tracks = build_tracks(
        run, store, site, state.get("findings") or [], current, state.get("checks") or {}, _judged_at(run, now)
    )
    gaps: list[str] = []
    read_histories(run, site, tracks, min((t.first for t in tracks if t.first), default=None), gaps)
    when = _moments(run, state, tracks, current, now)
    causes = _causes(run, site, tracks)
    title, slug = _title(run, state, causes)
    out = run.settings.postmortem_dir or Path(".")
    stem = str(state.get("stem") or _free_stem(out, f"{when.detected:%Y-%m-%d}-{site}-{slug}"))
    found, git_gap = _git(run, site, (when.earliest or when.detected) - HISTORY_BEFORE, when.started or when.earliest,
                          _cause_keys(run, causes.candidates))
    timeline, keyed, warnings, event_gaps = _timeline(
        run, site, state, tracks, found, when, (when.earliest or when.detected) - EVENTS_BEFORE
    )
    requests, requests_gap = requests_failed(run, site, tracks, when.started, when.mitigated or when.evaluated)
    well, wrong = went_well_and_wrong(
        run,
        tracks,
        causes.candidates,
        found,
        {"started": when.started, "detected": when.detected, "mitigated": when.mitigated, "git": not git_gap},
    )
    return Draft(
        site=site,
        stem=stem,
        title=title,
        slug=slug,
        severity=_severity(state, current, causes.live_kinds),
        when=when,
        tracks=tracks,
        causes=causes,
        commits=found,
        git_gap=git_gap,
        timeline=timeline,
        keyed=keyed,
        warnings=warnings,
        gaps=gaps + event_gaps,
        requests=requests,
        requests_gap=requests_gap,
        well=well,
        wrong=wrong,
        charts=_charts(tracks, state, out, stem),
    )


def _moments(
    run: IncidentRun, state: dict[str, Any], tracks: list[Track], current: list[Finding], now: _dt.datetime
) -> Moments:
    """When the incident began, from its tracks once their histories are read; when it was
    detected (a draft keeps its first detection), mitigated and resolved."""
    earliest = min((t.first for t in tracks if t.first), default=None)
    started = min((t.first for t in tracks if t.first and t.role == PAGE), default=earliest)
    stage, mitigated, resolved = status(tracks)
    evaluated = _dt.datetime.fromtimestamp(run.sources.eval_time, _dt.timezone.utc).replace(microsecond=0)
    detected, how = parse_time(state.get("detected_at")), str(state.get("detected_by") or "")
    if detected is None:
        detected, how = _detected(run, current, now)
    return Moments(
        earliest=earliest,
        started=started,
        detected=detected,
        how=how,
        mitigated=mitigated,
        resolved=resolved,
        stage=stage,
        evaluated=evaluated,
    )


def _causes(run: IncidentRun, site: str, tracks: list[Track]) -> Causes:
    """The root-cause candidates among the incident's findings, ranked by the symptoms whose
    config keys they point at, and the symptoms (failing live checks that are not drift checks)."""
    live_kinds = {name for name in run.registry.names if run.registry[name].live}
    drift = {c.id for c in run.catalog.checks if "drift" in c.markers}
    findings = [t.finding for t in tracks]
    candidates = rank_candidates(
        findings, live_kinds=live_kinds, drift=drift, symptom_keys=_symptom_keys(run), env_lines=_env_lines(run, site)
    )
    symptoms = [f for f in findings if is_symptom(f, live_kinds, drift)]
    return Causes(findings=findings, candidates=candidates, symptoms=symptoms, live_kinds=live_kinds)


def _title(run: IncidentRun, state: dict[str, Any], causes: Causes) -> tuple[str, str]:
    """The incident's title and slug: the draft's own once named (a person may have retitled
    it), else its top cause and worst symptom, else the first symptom's (or finding's) check."""
    title: Any = state.get("title")  # the state is JSON a person may have edited: kept as it is
    slug: Any = state.get("slug")
    if not title:
        title, slug = headline(
            causes.candidates, causes.symptoms, {c.id: c.spec.get("test") for c in run.catalog.checks}
        )
        if not title:
            title = slug = (causes.symptoms or causes.findings)[0]["check"]
    return title, slug


def _cause_keys(run: IncidentRun, candidates: list[Candidate]) -> set[str]:
    """The config keys a fix would change: the candidates' own, and those their checks declare."""
    by_id = {c.id: c for c in run.catalog.checks}
    return {c.key for c in candidates if c.key} | {
        k for c in candidates for k in getattr(by_id.get(c.finding["check"]), "keys", ())
    }


def _severity(state: dict[str, Any], current: list[Finding], live_kinds: set[str]) -> str:
    """The worst severity the incident reached: the draft's so far, or a live finding's of this run."""
    return min([str(state.get("severity") or "P4"), *(f["severity"] for f in current if f.get("kind") in live_kinds)])


def _charts(tracks: list[Track], state: dict[str, Any], out: Path, stem: str) -> list[dict[str, Any]]:
    """This run's charts, with what to draw each from (a check's range); then the earlier runs'
    the draft lists whose files are still there."""
    charts = [
        {
            "check": t.check,
            "app": t.app,
            "file": chart_file(stem, t.check, t.app),
            "draw": (_chartable(t), t.series, t.first),
        }
        for t in tracks
        if t.series
    ]
    drawn = {c["file"] for c in charts}
    return charts + [
        c for c in state.get("charts") or [] if c.get("file") not in drawn and (out / str(c["file"])).is_file()
    ]


def _chartable(track: Track) -> Finding:
    """The finding a chart is drawn for: a burn rate against its page's factor."""
    if track.kind != "openslo":
        return track.finding
    factor = (track.finding.get("evidence") or {}).get("factor", 14.4)
    return {
        **track.finding,
        "evidence": {**(track.finding.get("evidence") or {}), "op": "<=", "threshold": factor, "unit": "×"},
    }


def render_postmortem(run: IncidentRun, context: dict[str, Any]) -> str:
    from ..expr import SloEnvironment

    path = run.settings.postmortem_template or TEMPLATE
    env = SloEnvironment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.from_string(path.read_text(encoding="utf-8")).render(context).rstrip("\n") + "\n"
