"""The checks of an incident and where each stands: its role, this run's outcome, and what its
history in Prometheus says (when it breached, its worst value, whether and when it came back
within its objective for good).

Roles decide the status:

* ``page``: what users see: an SLO's burn-rate item, and a promql check of an app that has an
  OpenSLO SLO (the app is a service with users); without any, the incident's live symptoms;
* ``budget``: an SLO's error-budget item: the cost of the incident, which comes back only as
  the window slides on, so it never holds the status back;
* ``cause``: declared config that breaks a policy (``config``/``values`` checks) or a live
  value that drifted from it (``drift`` checks);
* ``symptom``: every other live check (OOM errors, OOM kills in the window, crash loops).

The incident is *Mitigated* once every page passes, at the latest time one of them came back
for good; *Resolved* once every cause and symptom passes too. A check whose history
Prometheus holds comes back when its range says so (``how`` = ``Prometheus``); any other, at
the first run that saw it pass.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import SloError
from ..findings.model import Finding
from .rootcause import OFFLINE_KINDS
from .timeline import Breach, burn_breach, parse_time, promql_breach

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ._inputs import IncidentRun, IncidentStore

__all__ = [
    "BUDGET",
    "CAUSE",
    "PAGE",
    "PROMETHEUS",
    "SEEN",
    "SYMPTOM",
    "Track",
    "build_tracks",
    "key_of",
    "read_histories",
    "shown",
    "status",
]

PAGE, BUDGET, CAUSE, SYMPTOM = "page", "budget", "cause", "symptom"
LEAD = 600.0  # seconds read before a breach began, so that the range shows it begin
MAX_POINTS = 1000  # per range read: a few seconds' resolution for an incident of hours
MIN_STEP = 5.0
PROMETHEUS = "Prometheus"
SEEN = "first run that saw it pass"


def key_of(check: str, app: str | None) -> str:
    return f"{check}@{app or ''}"


def shown(finding: Finding) -> str:
    """What a finding says it saw, in the check's own terms: ``evidence["shown"]`` when the
    kind gives it; an SLO item's burn rates or budget; else its message's first line without
    the title and the expectation."""
    evidence = finding.get("evidence") or {}
    if isinstance(evidence.get("shown"), str) and evidence["shown"]:
        return str(evidence["shown"])
    firing = [p for p in evidence.get("pairs") or () if isinstance(p, dict) and p.get("firing")]
    if finding.get("kind") == "openslo" and firing:
        # the objective names the windows
        return f"{firing[0]['long_burn_rate']:.1f}× & {firing[0]['short_burn_rate']:.1f}×"
    left = evidence.get("budget_left_percent")
    if finding.get("kind") == "openslo" and isinstance(left, (int, float)):
        return (
            f"budget left {left:.1f}% ({evidence.get('budget_spent', 0):,.0f} bad of "
            f"{evidence.get('budget_allowed', 0):,.0f} allowed)"
        )
    first = str(finding.get("message") or "").splitlines()[0] if finding.get("message") else ""
    title = str(finding.get("title") or "")
    if title and first.startswith(title + ": "):
        first = first[len(title) + 2 :]
    return first.split("; expected ")[0]


@dataclass
class Track:
    """One check (at one app) of the incident."""

    check: str
    app: str | None
    kind: str
    role: str
    finding: Finding  # the newest finding of it: this run's, else an earlier run's
    outcome: str | None  # this run's: passed, failed, waived, accepted, skipped, error; None: did not run
    fresh: bool = False  # ``finding`` is this run's
    first: _dt.datetime | None = None
    first_value: float | None = None  # the value when it began
    recovered: _dt.datetime | None = None
    how: str = ""
    before: str = ""  # at detection, in the check's terms
    peak: float | None = None
    now: float | None = None
    now_text: str = ""  # this run's value in words, when a number alone would mislead
    passing_since: _dt.datetime | None = None
    series: list[Any] = field(default_factory=list)  # this run's range, for the charts

    @property
    def key(self) -> str:
        return key_of(self.check, self.app)

    @property
    def passing(self) -> bool:
        return self.outcome == "passed"

    @property
    def unit(self) -> str:
        return "×" if self.kind == "openslo" else str((self.finding.get("evidence") or {}).get("unit", ""))

    def as_state(self) -> dict[str, Any]:
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return {
            "first": iso(self.first),
            "first_value": self.first_value,
            "recovered": iso(self.recovered),
            "how": self.how,
            "before": self.before,
            "peak": self.peak,
            "now": self.now,
            "passing_since": iso(self.passing_since),
        }


def _role(finding: Finding, drift: set[str], services: set[str]) -> str:
    kind, check = finding.get("kind"), finding["check"]
    if kind == "openslo":
        return BUDGET if check.endswith("::error-budget") else PAGE
    if kind in OFFLINE_KINDS or check in drift:
        return CAUSE
    if kind == "promql" and finding.get("app") in services:
        return PAGE
    return SYMPTOM


def build_tracks(run: IncidentRun, store: IncidentStore, site: str, earlier: list[Finding], current: list[Finding],
                 records: dict[str, dict[str, Any]], now: _dt.datetime) -> list[Track]:
    """The incident's checks: the earlier runs' findings, this run's replacing them, each with
    this run's outcome and what earlier runs recorded of it (``records``)."""
    drift = {c.id for c in run.catalog.checks if "drift" in c.markers}
    services = {a for c in run.catalog.checks if c.kind == "openslo" for a in (c.apps or ())}
    latest = {key_of(f["check"], f.get("app")): f for f in earlier}
    fresh = {key_of(f["check"], f.get("app")): f for f in current}
    latest.update(fresh)
    tracks = []
    for key, finding in sorted(latest.items()):
        record = records.get(key) or {}
        track = Track(
            finding["check"],
            finding.get("app"),
            str(finding.get("kind")),
            _role(finding, drift, services),
            finding,
            store.ran.get((finding["check"], site, finding.get("app"))),
            key in fresh,
        )
        track.first = parse_time(record.get("first")) if record.get("first") else None
        track.first_value = record.get("first_value") if isinstance(record.get("first_value"), (int, float)) else None
        track.before = str(record.get("before") or shown(finding))
        track.peak = record.get("peak") if isinstance(record.get("peak"), (int, float)) else None
        if track.passing:
            track.passing_since = parse_time(record.get("passing_since")) or now
            track.recovered = parse_time(record.get("recovered"))
            track.how = str(record.get("how") or "")
            if track.recovered is None:
                track.recovered, track.how = track.passing_since, SEEN
        tracks.append(track)
    return tracks


def _checks(run: IncidentRun) -> dict[str, Check]:
    return {c.id: c for c in run.catalog.checks}


def _range(run: IncidentRun, site: str, query: str, start: float, end: float) -> list[Any]:
    step = max(MIN_STEP, math.ceil((end - start) / MAX_POINTS))
    source = run.sources.prometheus(run.repo.site(site))
    with run.sources.budget():
        return list(source.query_range(query, start, end, step))


def _promql_range(run: IncidentRun, site: str, check: Check, track: Track, start: float, end: float) -> Breach:
    from ..kinds.base import Target

    kind = run.registry["promql"]
    target = Target(run.repo.site(site), track.app, run.sources)
    query, threshold = kind.query_text(check, target), kind.threshold(check, target)
    track.series = _range(run, site, query, start, end)
    return promql_breach(check.spec["op"], threshold, track.series)


def _burn_range(run: IncidentRun, site: str, check: Check, track: Track, start: float, end: float) -> Breach:
    from ..kinds.base import Target
    from ..kinds.openslo import pairs_of, render_queries

    queries, target, _ = render_queries(check, Target(run.repo.site(site), track.app, run.sources))
    pairs = []
    for pair in pairs_of(check.spec["slo"]):
        long, short = (
            _range(run, site, f"{queries.error_ratio(w)} / {1 - target:.10g}", start, end)
            for w in (pair.long, pair.short)
        )
        pairs.append((pair.factor, long, short))
        if not track.series:
            track.series = long  # the chart: the first pair's long window, as the page names it
            # the long window still burns long after the fix: the page is about both
            rates = [s.points[-1][1] for s in (*long, *short) if s.points]
            if len(rates) == 2:
                track.now_text = f"{rates[0]:.1f}× & {rates[1]:.1f}×"
    factor = float((track.finding.get("evidence") or {}).get("factor") or pairs[0][0])
    return burn_breach(factor, pairs)


def read_histories(
    run: IncidentRun, site: str, tracks: list[Track], since: _dt.datetime | None, gaps: list[str]
) -> None:
    """Fill in each promql and burn-rate check's breach from Prometheus: a failing check from the
    history the reports share (``--postmortem-window`` up to the run's evaluation time), a
    passing one from a finer range over the incident, which finds its recovery."""
    from ..findings.charts import history

    checks = _checks(run)
    end = run.sources.eval_time
    for track in tracks:
        check = checks.get(track.check)
        evidence = track.finding.get("evidence") or {}
        is_burn = track.kind == "openslo" and track.role == PAGE
        if check is None or not (track.kind == "promql" or is_burn):
            continue
        try:
            if track.passing:
                began = min((t for t in (track.first, since) if t is not None), default=None)
                start = began.timestamp() - LEAD if began else end - _window(run)
                breach = (_burn_range if is_burn else _promql_range)(run, site, check, track, start, end)
            elif (
                track.fresh
                and track.finding.get("outcome") == "failed"
                and evidence.get("burn_query" if is_burn else "query")
            ):
                track.series = history(run, site, evidence["burn_query"] if is_burn else evidence["query"])
                if is_burn:  # the page's long window above its factor
                    breach = promql_breach("<=", float(evidence.get("factor", 0)), track.series)
                else:
                    breach = promql_breach(evidence.get("op", "<="), float(evidence.get("threshold", 0)), track.series)
            else:
                continue  # did not run, or not judged: what earlier runs saw stands
        except SloError as exc:
            gaps.append(f"{track.check}: history unavailable ({exc})")
            continue
        if breach.first is not None and (track.first is None or breach.first < track.first):
            track.first, track.first_value = breach.first, breach.first_value
        if breach.peak is not None and track.role == PAGE:
            track.peak = _worse(track, track.peak, breach.peak)
        track.now = breach.last
        if track.passing and breach.recovered is not None:
            track.recovered, track.how = breach.recovered, PROMETHEUS
        elif track.first is None and not track.passing:
            gaps.append(
                f"{track.check}: no breach inside the {run.settings.postmortem_window} window; it started earlier"
            )


def _worse(track: Track, a: float | None, b: float) -> float:
    """The worse of two values of a check: the larger, unless its objective is a lower bound."""
    if a is None:
        return b
    lower = str((track.finding.get("evidence") or {}).get("op", "<=")).startswith(">") and track.kind == "promql"
    return min(a, b) if lower else max(a, b)


def _window(run: IncidentRun) -> float:
    from ..expr import duration_seconds

    return duration_seconds(run.settings.postmortem_window)


def status(tracks: list[Track]) -> tuple[str, _dt.datetime | None, _dt.datetime | None]:
    """``(status, mitigated at, resolved at)`` of the incident from its checks (see the module)."""
    judged = [t for t in tracks if t.role != BUDGET]
    pages = [t for t in judged if t.role == PAGE] or [t for t in judged if t.role == SYMPTOM] or judged
    if not pages or not all(t.passing and t.recovered for t in pages):
        return "Draft", None, None
    mitigated = max(t.recovered for t in pages if t.recovered)
    if all(t.passing and t.recovered for t in judged):
        return "Resolved", mitigated, max(mitigated, *(t.recovered for t in judged if t.recovered))
    return "Mitigated", mitigated, None
