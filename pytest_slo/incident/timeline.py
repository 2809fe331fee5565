"""The incident's timeline, computed from what the sources hold, never invented.

For a promql check, a range query finds when the breach the finding is about began (each
series' last sustained episode), its worst value, and when every series was back within the
objective *for good*: after the last breaching point, not after the first good one. A
burn-rate page is firing while both windows of one of its pairs burn above the pair's factor.
Kube findings add OOM kills and crash loops as the pods' statuses record them.

Every event has a key, so the events of an incident's runs merge into one timeline: the
first breach stays the one the first run saw (later runs hold less of the past), a count or
a recovery is the latest one found.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..compare import BREACHES
from ..findings.charts import episodes
from ..findings.mdtext import code, prose
from ..findings.model import Finding

__all__ = [
    "Breach",
    "Event",
    "breach_events",
    "burn_breach",
    "kube_events",
    "merge_events",
    "parse_time",
    "promql_breach",
    "series_label",
    "utc",
]

#: Labels every series of an app carries (the ServiceMonitor's), which tell series apart not at all.
_COMMON = ("__name__", "namespace", "service", "job")


@dataclass(frozen=True)
class Event:
    """One row of the timeline. ``what`` is Markdown (its parts from messages already escaped)."""

    at: _dt.datetime
    what: str
    check: str
    key: str = ""
    #: Of two runs' events of one key: ``first`` keeps the earlier run's, ``last`` the newer.
    keep: str = "first"

    @property
    def stamp(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M:%S")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event | None:
        at = parse_time(data.get("at"))
        if at is None or not isinstance(data.get("what"), str):
            return None
        return cls(
            at, data["what"], str(data.get("check", "")), str(data.get("key", "")), str(data.get("keep", "first"))
        )


def merge_events(old: Iterable[Event], new: Iterable[Event]) -> list[Event]:
    """One event per key (events without a key are this run's only), in time order."""
    merged: dict[str, Event] = {}
    loose: list[Event] = []
    for event in old:
        if event.key:
            merged[event.key] = event
    for event in new:
        if not event.key:
            loose.append(event)
        elif event.key not in merged or event.keep == "last":
            merged[event.key] = event
    return sorted([*merged.values(), *loose], key=lambda e: (e.at, e.what))


def parse_time(text: Any) -> _dt.datetime | None:
    if isinstance(text, _dt.datetime):
        return text
    try:
        parsed = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


def utc(ts: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)


def series_label(labels: dict[str, str]) -> str:
    """Which series it is, as a code span; empty for the app's one series."""
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k not in _COMMON)
    return code(shown) if shown else ""


@dataclass(frozen=True)
class Breach:
    """What a check's history says about the incident's breach."""

    first: _dt.datetime | None  # when it began (the earliest series' start)
    recovered: _dt.datetime | None  # when every series was back within objective for good
    first_value: float | None
    peak: float | None  # the worst value while breaching
    last: float | None  # the newest value (of the worst series)
    label: str = ""


def _worst(values: Sequence[float], op: str) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    # an objective "<= x" is breached upwards: the worst is the largest value
    return max(finite) if op.startswith("<") else min(finite)


def _breach(
    points_of: Sequence[list[tuple[float, float]]],
    bad_of: Sequence[list[bool]],
    values_of: Sequence[list[float]],
    op: str,
    labels: Sequence[str],
) -> Breach:
    first: float | None = None
    first_value = peak = last = None
    recovered: float | None = None
    still = False
    label = ""
    for points, bad, values, name in zip(points_of, bad_of, values_of, labels, strict=True):
        found = episodes(bad)
        if not found:
            continue
        start, back = found[-1]
        if first is None or points[start][0] < first:
            first, first_value, label = points[start][0], values[start], name
        worst = _worst(values[start : back if back is not None else len(values)], op)
        if worst is not None and (peak is None or _worst([peak, worst], op) == worst):
            peak, last = worst, values[-1]
        if back is None:
            still = True
        elif recovered is None or points[back][0] > recovered:
            recovered = points[back][0]
    return Breach(
        utc(first) if first is not None else None,
        utc(recovered) if recovered is not None and not still else None,
        first_value, peak, last, label,
    )


def promql_breach(op: str, threshold: float, series: Iterable[Any]) -> Breach:
    """The breach in a promql check's range series (NaN, no traffic, is no breach, as in the verdict)."""
    breach = BREACHES[op]
    kept = [s for s in series if s.points]
    points = [list(s.points) for s in kept]
    values = [[v for _, v in p] for p in points]
    bad = [[breach(v, threshold) for v in vs] for vs in values]
    return _breach(points, bad, values, op, [series_label(s.labels) for s in kept])


def burn_breach(factor: float, pairs: Sequence[tuple[float, Sequence[Any], Sequence[Any]]]) -> Breach:
    """When a burn-rate page fired: ``pairs`` is ``(factor, long series, short series)`` per pair;
    it fires at a step where both windows of a pair burn above its factor. The values are the
    long window's burn rate (the one the page is about)."""
    times: dict[float, list[bool]] = {}
    long_rates: dict[float, float] = {}
    for pair_factor, long, short in pairs:
        shorts = {t: v for s in short for t, v in s.points}
        for s in long:
            for t, v in s.points:
                s_v = shorts.get(t, math.nan)
                times.setdefault(t, []).append(v > pair_factor and s_v > pair_factor)
                if pair_factor == factor:
                    long_rates[t] = v
    stamps = sorted(times)
    points = [(t, long_rates.get(t, math.nan)) for t in stamps]
    return _breach([points], [[any(times[t]) for t in stamps]], [[v for _, v in points]], "<=", [""])


def breach_events(check: str, app: str | None, first: _dt.datetime | None, recovered: _dt.datetime | None, what: str, *,
                  burn: str | None = None) -> list[Event]:
    """A check's "breached" and "back within objective" rows; ``what`` says what it saw first
    (Markdown), ``burn`` the factor of a burn-rate page."""
    events: list[Event] = []
    key = f"{check}@{app or ''}"
    if first is not None:
        text = (
            f"{prose(check)}: burn rate above {burn} since {first:%H:%M} UTC ({what})"
            if burn
            else f"{prose(check)} breached: {what}"
        )
        # "last": the draft's record of a check's start only moves earlier (a finer range)
        events.append(Event(first, text, check, f"breach:{key}", "last"))
    if recovered is not None:
        back = f"burn rate back under {burn}" if burn else "back within objective"
        events.append(Event(recovered, f"{prose(check)}: {back} for good", check, f"recovered:{key}", "last"))
    return events


def kube_events(finding: Finding) -> list[Event]:
    """OOM kills and crash loops as the pods' statuses record them."""
    events = []
    check = finding["check"]
    for item in (finding.get("evidence") or {}).get("items", []):
        if not isinstance(item, dict):
            continue
        who = prose(f"{item.get('pod')}/{item.get('container')}")
        if check == "kube-oomkilled" or (item.get("finishedAt") and item.get("exitCode")):
            at = parse_time(item.get("finishedAt"))
            if at:
                events.append(
                    Event(
                        at,
                        f"{who} OOMKilled (exit {prose(item.get('exitCode'))})",
                        check,
                        f"oom:{who}:{at.isoformat()}",
                    )
                )
        last = item.get("lastState") or {}
        at = parse_time(last.get("finishedAt"))
        if at and check != "kube-oomkilled":
            text = (f"{who} last terminated: {prose(last.get('reason'))} (exit {prose(last.get('exitCode'))}), "
                    f"now in CrashLoopBackOff after {prose(item.get('restartCount'))} restarts")
            events.append(Event(at, text, check, f"crash:{who}:{at.isoformat()}"))
    return events
