"""What the cluster said: the Warning events of the incident's apps, deduplicated with counts.

Events come from the run's Kubernetes source (one LIST of events per namespace, read-only; a
``--kube-snapshot`` that holds them answers the same) and from the kube findings' own
``evidence["events"]``. Events carry no app labels: one belongs to an app when its involved
object is one of the app's pods or workloads (by the app's selector) or is named after one of
its workloads (a ReplicaSet, a Job's pod). A node's events name no app and are left out.

Kubernetes already folds repeats of one event into a ``count`` (or a ``series``); here the
events of one owner and reason fold into one row (``api-server``: 3 pods, ``Unhealthy`` ×53),
the count summed, with the first and last time seen and the newest message. A row seen by an
earlier run of the incident is merged with this run's (Kubernetes keeps events for an hour
by default, so the first run often saw what a later one cannot).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import SloError
from ..findings.fingerprint import owner_of_pod
from ..findings.mdtext import prose
from ..findings.model import Finding
from .timeline import Event, parse_time

if TYPE_CHECKING:
    from ._inputs import IncidentRun

__all__ = ["WarningRow", "as_events", "from_evidence", "from_objects", "merge_warnings", "warning_events"]

#: A Normal event worth a row: the kubelet killing a container (a failed liveness probe).
NOTABLE = frozenset({"Killing"})
MESSAGE_CHARS = 200


@dataclass(frozen=True)
class WarningRow:
    app: str
    owner: str  # the pod's owner (api-server), a StatefulSet pod's own name, a workload
    reason: str
    type: str
    count: int
    first: str  # ISO times
    last: str
    message: str
    objects: tuple[str, ...] = ()  # the involved objects' names

    @property
    def key(self) -> str:
        return f"{self.app}:{self.owner}:{self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "objects": list(self.objects)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WarningRow | None:
        try:
            return cls(
                str(data["app"]),
                str(data["owner"]),
                str(data["reason"]),
                str(data.get("type", "Warning")),
                int(data["count"]),
                str(data["first"]),
                str(data["last"]),
                str(data.get("message", "")),
                tuple(map(str, data.get("objects") or ())),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _when(event: Mapping[str, Any]) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    series = event.get("series") or {}
    first = parse_time(
        event.get("firstTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp")
    )
    last = parse_time(series.get("lastObservedTime") or event.get("lastTimestamp") or event.get("eventTime")) or first
    return first or last, last


def _count(event: Mapping[str, Any]) -> int:
    series = event.get("series") or {}
    try:
        return max(1, int(series.get("count") or event.get("count") or 1))
    except (TypeError, ValueError):
        return 1


def from_objects(
    events: Iterable[Mapping[str, Any]], apps: Mapping[str, tuple[set[str], set[str]]], since: _dt.datetime
) -> list[WarningRow]:
    """Rows from core/v1 Event objects: ``apps`` maps an app to (its objects' names, its
    workloads' names); events last seen before ``since`` are left out."""
    rows = []
    for event in events:
        kind = str(event.get("type") or "")
        reason = str(event.get("reason") or "")
        if kind != "Warning" and reason not in NOTABLE:
            continue
        involved = event.get("involvedObject") or {}
        name = str(involved.get("name") or "")
        app = next((a for a, (names, workloads) in sorted(apps.items())
                    if name in names or any(name.startswith(w + "-") for w in workloads)), None)
        first, last = _when(event)
        if app is None or last is None or first is None or last < since:
            continue
        owner = owner_of_pod(name) if involved.get("kind") == "Pod" else name
        rows.append(WarningRow(app, owner, reason, kind or "Normal", _count(event), first.isoformat(), last.isoformat(),
                            str(event.get("message") or "").strip(), (name,)))
    return rows


def from_evidence(findings: Iterable[Finding], since: _dt.datetime) -> list[WarningRow]:
    """Rows from the kube findings' ``evidence["events"]`` (``object``, ``reason``, ``count``,
    ``last_seen``, ``message``): the recent Warning events of each finding's objects."""
    rows = []
    for finding in findings:
        for item in (finding.get("evidence") or {}).get("events") or ():
            if not isinstance(item, Mapping) or not item.get("reason"):
                continue
            last = parse_time(item.get("last_seen"))
            if last is None or last < since:
                continue
            obj = str(item.get("object") or "")
            name = obj.rpartition("/")[2]
            try:
                count = max(1, int(item.get("count") or 1))
            except (TypeError, ValueError):
                count = 1
            rows.append(
                WarningRow(
                    str(finding.get("app") or ""),
                    owner_of_pod(name),
                    str(item["reason"]),
                    "Warning",
                    count,
                    last.isoformat(),
                    last.isoformat(),
                    str(item.get("message") or "").strip(),
                    (name,),
                )
            )
    return rows


def _fold(rows: Sequence[WarningRow], *, same_run: bool) -> dict[str, WarningRow]:
    """Rows of one key folded: counts summed within a run (one per event object), the larger
    count kept across runs (Kubernetes counts one event object up, never down)."""
    folded: dict[str, WarningRow] = {}
    for row in rows:
        was = folded.get(row.key)
        if was is None:
            folded[row.key] = row
            continue
        objects = tuple(sorted(set(was.objects) | set(row.objects)))
        newer = row if row.last >= was.last else was
        same_object = set(row.objects) <= set(was.objects)
        count = max(was.count, row.count) if not same_run or same_object else was.count + row.count
        folded[row.key] = replace(
            newer, count=count, first=min(was.first, row.first), last=max(was.last, row.last), objects=objects
        )
    return folded


def merge_warnings(old: Iterable[WarningRow], new: Iterable[WarningRow]) -> list[WarningRow]:
    """An earlier run's rows and this run's, one per (app, owner, reason), in time order."""
    this_run = _fold(list(new), same_run=True)
    merged = _fold([*old, *this_run.values()], same_run=False)
    return sorted(merged.values(), key=lambda w: (w.first, w.key))


def as_events(rows: Iterable[WarningRow]) -> list[Event]:
    events = []
    for row in rows:
        first = parse_time(row.first)
        last = parse_time(row.last)
        if first is None or last is None:
            continue
        message = row.message if len(row.message) <= MESSAGE_CHARS else row.message[: MESSAGE_CHARS - 1] + "…"
        many = f" on {len(row.objects)} objects" if len(row.objects) > 1 else ""
        until = f", last at {last:%H:%M} UTC" if last - first >= _dt.timedelta(minutes=1) else ""
        what = f"{prose(row.owner)}: {row.type} {prose(row.reason)} ×{row.count}{many}{until}: {prose(message)}"
        events.append(Event(first, what, "kubernetes"))
    return events


def warning_events(
    run: IncidentRun, site: str, apps: Sequence[str], since: _dt.datetime
) -> tuple[list[WarningRow], list[str]]:
    """This run's rows for ``apps`` at ``site`` from the Kubernetes source, and why not, if not."""
    from ..kinds.base import Target
    from ..kinds.kube import app_selector

    if not apps:
        return [], []
    try:
        target_site = run.repo.site(site)
        source = run.sources.kube(target_site)
        namespace = run.sources.namespace(target_site)
        objects: dict[str, tuple[set[str], set[str]]] = {}
        with run.sources.budget():
            for app in apps:
                selector = app_selector(Target(target_site, app, run.sources))
                pods = source.pods(namespace, selector, shared=True)
                workloads = {str(w["metadata"]["name"]) for w in source.workloads(namespace, selector, shared=True)}
                objects[app] = ({str(p["metadata"]["name"]) for p in pods} | workloads, workloads)
            # once per namespace per run, however many drafts of the site this run updates
            listed = run.sources.once(("incident-events", namespace), lambda: source.events(namespace))
    except SloError as exc:
        return [], [f"Kubernetes events unavailable: {exc}"]
    return from_objects(listed, objects, since), []
