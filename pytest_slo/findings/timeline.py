"""A postmortem timeline computed from what the sources hold, never invented.

For each failing promql check, a range query over the window finds when each series first
breached and whether (and when) it recovered. Kube findings add OOM kills and the last
restarts. The run itself is the detection event.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..compare import BREACHES

__all__ = ["Event", "breaches", "burn_events", "kube_events", "parse_time", "slo_impact"]



@dataclass(frozen=True)
class Event:
    at: _dt.datetime
    what: str
    check: str

    @property
    def stamp(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M:%S")


def parse_time(text: Any) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _utc(ts: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)


def _episodes(bad: list[bool], min_points: int = 2, max_gap: int = 2) -> list[tuple[int, int | None]]:
    """(first, recovered-at) index pairs of sustained breaches: blips shorter than
    ``min_points`` are noise, and recoveries shorter than ``max_gap`` do not end an episode."""
    runs: list[list[int]] = []
    for i, b in enumerate(bad):
        if not b:
            continue
        if runs and i - runs[-1][1] <= max_gap + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    episodes: list[tuple[int, int | None]] = []
    for first, last in runs:
        if last - first + 1 >= min_points or last == len(bad) - 1:
            episodes.append((first, last + 1 if last + 1 < len(bad) else None))
    return episodes


def breaches(finding: dict[str, Any], series: Iterable[Any], max_episodes: int = 3) -> tuple[list[Event], dict[str, Any]]:
    """Events for one promql finding from its range-query series, and a summary of them."""
    evidence = finding.get("evidence") or {}
    breach = BREACHES[evidence.get("op", "<=")]
    threshold = float(evidence.get("threshold", 0))
    unit = evidence.get("unit", "")
    objective = f"objective {evidence.get('op')} {threshold:g}{unit}"
    events: list[Event] = []
    first_breach: _dt.datetime | None = None
    recovered_all = True
    for s in series:
        label = ", ".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()) if k != "__name__") or "all series"
        points = list(s.points)
        bad = [breach(v, threshold) for _, v in points]  # NaN (no traffic) is no breach, as in the verdict
        episodes = _episodes(bad)
        if len(episodes) > max_episodes:
            ts = points[episodes[0][0]][0]
            events.append(Event(_utc(ts), f"{finding['check']} first breached ({label}); {len(episodes) - max_episodes} short episodes before the ones below", finding["check"]))
        for first, recovered in episodes[-max_episodes:]:
            ts, value = points[first]
            events.append(Event(_utc(ts), f"{finding['check']} breached ({label}): {value:.4g}{unit}, {objective}", finding["check"]))
            if recovered is not None:
                ts, value = points[recovered]
                events.append(Event(_utc(ts), f"{finding['check']} back within objective ({label}): {value:.4g}{unit}", finding["check"]))
        if episodes:
            # the incident is the episode still open at the end (else the last one)
            opened = _utc(points[episodes[-1][0]][0])
            first_breach = opened if first_breach is None or opened < first_breach else first_breach
            recovered_all = recovered_all and episodes[-1][1] is not None
    return events, {"first_breach": first_breach, "recovered": recovered_all if first_breach else None}


def kube_events(finding: dict[str, Any]) -> list[Event]:
    """OOM kills and crash loops as the pods' statuses record them."""
    events = []
    for item in (finding.get("evidence") or {}).get("items", []):
        if finding["check"] == "kube-oomkilled" or (item.get("finishedAt") and item.get("exitCode")):
            at = parse_time(item.get("finishedAt"))
            if at:
                events.append(Event(at, f"{item['pod']}/{item['container']} OOMKilled (exit {item.get('exitCode')})", finding["check"]))
        last = item.get("lastState") or {}
        at = parse_time(last.get("finishedAt"))
        if at and finding["check"] != "kube-oomkilled":
            events.append(Event(at, f"{item['pod']}/{item['container']} last terminated: {last.get('reason')} (exit {last.get('exitCode')}), now in CrashLoopBackOff after {item.get('restartCount')} restarts", finding["check"]))
    return events


def burn_events(finding: dict[str, Any], series: Iterable[Any]) -> tuple[list[Event], dict[str, Any]]:
    """When an SLO's burn rate (its ``burn_query``, the long window of the pair that fired)
    rose above the pair's factor and stayed there: "burn rate above 14.4× since ..."."""
    evidence = finding.get("evidence") or {}
    factor = float(evidence.get("factor", 0))
    events: list[Event] = []
    since: _dt.datetime | None = None
    for s in series:
        points = list(s.points)
        bad = [v > factor for _, v in points]  # NaN (no traffic) burns nothing
        episodes = _episodes(bad)
        if not episodes:
            continue
        first, recovered = episodes[-1]
        at, value = points[first]
        pair = next((p["pair"] for p in evidence.get("pairs", []) if p.get("firing")), f"{factor:g}×")
        events.append(Event(_utc(at), f"{finding['check']}: burn rate above {factor:g}× since {_utc(at).strftime('%H:%M UTC')} "
                                      f"({value:.1f}× at first; page pair {pair})", finding["check"]))
        if recovered is not None:
            events.append(Event(_utc(points[recovered][0]), f"{finding['check']}: burn rate back under {factor:g}×", finding["check"]))
        since = _utc(at) if since is None or _utc(at) < since else since
    return events, {"first_breach": since, "recovered": None}


def slo_impact(finding: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any] | None:
    """The postmortem's impact row of a burn-rate finding: the pair that fired, since when.
    A spent budget has no "since" of its own: it is listed with the findings, not here."""
    ev = finding.get("evidence") or {}
    firing = [p for p in ev.get("pairs", []) if p.get("firing")]
    target = ev.get("target")
    if not firing or not isinstance(target, (int, float)):
        return None
    pair = firing[0]
    return {
        "check": finding["check"], "title": finding["title"], "app": finding.get("app"),
        "objective": f"burn rate under {pair['factor']:g}× over {pair['long']} & {pair['short']} ({target * 100:g}% over {ev.get('window')})",
        "measured": f"{pair['long_burn_rate']:.1f}× & {pair['short_burn_rate']:.1f}×",
        "since": summary.get("first_breach"), "recovered": None,
    }
