"""The cluster's own account of a finding: the recent Warning events of the objects it names.

Read from the namespace's one LIST of core/v1 Events per run (``KubeSource.events``). An
event names its object by kind and name (``involvedObject``); the same reason and message
for the same object is one line however many Event objects carry it (their counts add up,
the latest time is kept). "Recent" is the hour before the evaluation time: the API server
keeps events for an hour by default (``--event-ttl``), so a live LIST holds nothing older,
and a snapshot judged later does not pass days-old events off as an explanation.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._kube_state import parse_time, within
from ._kube_text import ago
from .live import iso

if TYPE_CHECKING:
    from ._kube_state import KubeState

__all__ = ["EVENT_WINDOW", "event_lines", "recent_warnings"]

EVENT_WINDOW = 3600.0
SHOWN_PER_OBJECT = 3  # in the message; the evidence keeps every one
KEPT = 50


def _last_seen(event: dict[str, Any]) -> _dt.datetime | None:
    series = event.get("series") or {}
    for text in (series.get("lastObservedTime"), event.get("lastTimestamp"), event.get("eventTime"),
                 event.get("firstTimestamp"), (event.get("metadata") or {}).get("creationTimestamp")):
        at = parse_time(text)
        if at is not None:
            return at
    return None


def _count(event: dict[str, Any]) -> int:
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    return int(count) if isinstance(count, int) and count > 0 else 1


def recent_warnings(state: KubeState, involves: Iterable[str]) -> list[dict[str, Any]]:
    """The recent Warning events of ``involves`` (``Kind/name``), deduplicated, each object's
    latest first, in the order the objects are named."""
    order = {name: i for i, name in enumerate(dict.fromkeys(involves))}
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in state.events:
        if event.get("type") != "Warning":
            continue
        about = event.get("involvedObject") or {}
        obj = f"{about.get('kind')}/{about.get('name')}"
        if obj not in order:
            continue
        seen = _last_seen(event)
        if seen is not None and not within(state.now, seen, EVENT_WINDOW):
            continue
        message = " ".join(str(event.get("message") or "").split())
        key = (obj, str(event.get("reason") or ""), message)
        record = merged.setdefault(
            key, {"object": obj, "reason": key[1], "count": 0, "last_seen": None, "message": message, "_at": None}
        )
        record["count"] += _count(event)
        if seen is not None and (record["_at"] is None or seen > record["_at"]):
            record["_at"], record["last_seen"] = seen, iso(seen)
    oldest = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
    records = sorted(
        merged.values(), key=lambda r: (order[r["object"]], -(r["_at"] or oldest).timestamp(), r["reason"])
    )
    return [{k: v for k, v in r.items() if k != "_at"} for r in records[:KEPT]]


def event_lines(records: list[dict[str, Any]], now: _dt.datetime) -> list[str]:
    """One line per event for the message's detail, at most a few per object."""
    lines: list[str] = []
    shown: dict[str, int] = {}
    for r in records:
        shown[r["object"]] = shown.get(r["object"], 0) + 1
        if shown[r["object"]] > SHOWN_PER_OBJECT:
            continue
        at = parse_time(r["last_seen"])
        when = f", last {ago((now - at).total_seconds())}" if at is not None else ""
        lines.append(f"event {r['object']}: {r['reason']} x{r['count']}{when}: {r['message']}")
    hidden = sum(max(0, n - SHOWN_PER_OBJECT) for n in shown.values())
    if hidden:
        lines.append(f"... {hidden} more events in the evidence")
    return lines
