"""What the incident cost, from the same counters the SLO checks read.

*Requests failed* are the bad events of an OpenSLO ratio SLO of the incident's services
between the breach's start and the recovery (or now, while it lasts): the SLO's own ``bad``
(or ``total - good``) and ``total`` counted with ``increase`` over exactly that interval, as
its items count a window. Of several such SLOs, one that counts failures (a ``bad`` query)
is preferred over one that counts successes, whose complement holds slow requests too.
The *error budget burnt* is those requests as minutes of complete outage at the interval's
traffic (bad / total × minutes), next to the budget the SLO's whole window allows.

The impact table gives each user-facing check's value in its own terms: the finding's words
at detection, and the worst and newest values its range shows (a promql check's in its unit,
a burn rate as ×).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SloError
from ..findings.mdtext import cell
from ..units import format_duration
from .tracks import BUDGET, PAGE, SEEN, Track

if TYPE_CHECKING:
    from ._inputs import IncidentRun, IncidentStore

__all__ = ["Requests", "describe_requests", "impact_rows", "requests_failed", "spoken"]

MIN_INTERVAL = 60  # seconds: a shorter interval counts too few scrapes to say anything


@dataclass(frozen=True)
class Requests:
    slo: str
    app: str | None
    bad: float
    total: float
    start: _dt.datetime
    end: _dt.datetime
    target: float
    window: float  # the SLO's window, seconds
    bad_query: str
    total_query: str

    @property
    def ratio(self) -> float:
        return self.bad / self.total if self.total > 0 else 0.0

    @property
    def minutes(self) -> float:
        """The failed requests as minutes of complete outage at the interval's traffic."""
        return self.ratio * (self.end - self.start).total_seconds() / 60

    @property
    def budget_minutes(self) -> float:
        """The error budget of the SLO's whole window, in minutes of complete outage."""
        return (1 - self.target) * self.window / 60


def spoken(seconds: float) -> str:
    """A duration as a person says it: ``2 h 5 min``, ``40 s``."""
    whole = max(0, round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
    if secs and not days and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 s"


def requests_failed(run: IncidentRun, site: str, tracks: list[Track], start: _dt.datetime | None,
                    end: _dt.datetime) -> tuple[Requests | None, str]:
    """The requests failed over ``start``..``end``, or why they are not known."""
    from ..kinds.base import Target
    from ..kinds.openslo import render_queries

    apps = sorted({t.app for t in tracks if t.role in (PAGE, BUDGET) and t.app})
    if not apps:
        return None, "no user-facing check failed"
    if start is None:
        return None, "the breach began before the window Prometheus was read over"
    width = int((end - start).total_seconds())
    if width < MIN_INTERVAL:
        return None, f"the interval is {width} s, too short to count"
    choices = []
    for check in run.catalog.checks:
        if check.kind != "openslo" or check.spec.get("item") != "burn-rate" or not set(check.apps or ()) & set(apps):
            continue
        for app in sorted(set(check.apps or ()) & set(apps)):
            try:
                queries, target, _ = render_queries(check, Target(run.repo.site(site), app, run.sources))
            except SloError:
                continue
            if not queries.by_slices and queries.slo.counter:
                choices.append((queries.bad is None, check.spec["slo"].name, app, queries, target))
    if not choices:
        return (
            None,
            f"no OpenSLO SLO of {', '.join(apps) or 'the apps'} counts requests (a ratioMetric with counter: true)",
        )
    _, name, app, queries, target = min(choices, key=lambda c: c[:3])
    bad_query, total_query = queries.bad_count(width), queries.total_count(width)
    try:
        source = run.sources.prometheus(run.repo.site(site))
        with run.sources.budget():
            answers = source.query_many([bad_query, total_query], end.timestamp())
    except SloError as exc:
        return None, f"Prometheus did not answer: {exc}"
    values = []
    for query in (bad_query, total_query):
        answer = answers[query]
        if isinstance(answer, SloError):
            return None, f"Prometheus did not answer: {answer}"
        values.append(answer.samples[0].value if answer.samples else math.nan)
    if any(math.isnan(v) for v in values):
        return None, f"Prometheus holds no samples of {name}'s counters over the interval"
    return Requests(name, app, values[0], values[1], start, end, target, queries.slo.window, bad_query, total_query), ""


def _value(track: Track, value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if track.kind == "openslo":
        return f"{value:.1f}×"
    return f"{value:.4g}{track.unit}" if abs(value) < 1e6 else f"{value:.0f}{track.unit}"


def _objective(track: Track) -> str:
    ev = track.finding.get("evidence") or {}
    if track.kind == "promql":
        threshold = ev.get("threshold")
        return f"{ev.get('op')} {threshold:g}{track.unit}" if isinstance(threshold, (int, float)) else "—"
    target = ev.get("target")
    pct = (
        f"{target * 100:g}% over {ev.get('window')}"
        if isinstance(target, (int, float))
        else str(ev.get("window") or "")
    )
    if track.role == BUDGET:
        return f"error budget left over {ev.get('window')} ({pct})"
    firing = [p for p in ev.get("pairs") or () if p.get("firing")]
    pair = firing[0] if firing else None
    return (
        f"burn rate under {pair['factor']:g}× over {pair['long']} & {pair['short']} ({pct})"
        if pair
        else f"burn rate ({pct})"
    )


def _now(track: Track, store: IncidentStore, site: str) -> str:
    """This run's value: what the failing finding says, or the passing check's value."""
    from .tracks import shown

    if not track.passing:
        return shown(track.finding) if track.fresh else (track.outcome or "not run")
    seen = store.observations.get((track.check, site, track.app)) or {}
    values = [
        float(v["value"])
        for v in seen.get("values") or ()
        if isinstance(v, dict) and isinstance(v.get("value"), (int, float))
    ]
    if values and track.kind == "promql":
        return _value(
            track,
            max(values)
            if not str((track.finding.get("evidence") or {}).get("op", "<")).startswith(">")
            else min(values),
        )
    if track.now_text:
        return track.now_text
    return _value(track, track.now) if track.now is not None and track.role == PAGE else "passes"


def impact_rows(tracks: list[Track], store: IncidentStore, site: str) -> list[dict[str, str]]:
    """One row per user-facing check (pages, then budgets): table cells, escaped."""
    rows = []
    for track in sorted(
        (t for t in tracks if t.role in (PAGE, BUDGET)), key=lambda t: (t.role != PAGE, t.check, t.app or "")
    ):
        back = "—"
        if track.recovered is not None:
            back = f"{track.recovered:%Y-%m-%d %H:%M:%S} UTC" + (
                " (first run that saw it pass)" if track.how == SEEN else ""
            )
        rows.append(
            {
                "check": cell(track.check),
                "app": cell(track.app or "—"),
                "objective": cell(_objective(track)),
                "before": cell(track.before),
                "since": f"{track.first:%Y-%m-%d %H:%M UTC}"
                if track.first
                else "—"
                if track.role == BUDGET
                else "before the window",
                "worst": cell(_value(track, track.peak)) if track.role == PAGE else "—",
                "now": cell(_now(track, store, site)),
                "back": back,
            }
        )
    return rows


def describe_requests(found: Requests) -> dict[str, Any]:
    """The numbers of :class:`Requests` as the draft words them."""
    return {
        "slo": found.slo,
        "app": found.app,
        "bad": f"{found.bad:,.0f}",
        "total": f"{found.total:,.0f}",
        "ratio": f"{found.ratio * 100:.2f}%",
        "start": f"{found.start:%Y-%m-%d %H:%M:%S}",
        "end": f"{found.end:%Y-%m-%d %H:%M:%S}",
        "minutes": f"{found.minutes:.1f}",
        "budget_minutes": f"{found.budget_minutes:.2f}",
        "window": format_duration(found.window),
        "times": f"{found.minutes / found.budget_minutes:.0f}" if found.budget_minutes > 0 else "—",
        "bad_query": found.bad_query,
        "total_query": found.total_query,
    }
