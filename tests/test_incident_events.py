"""Warning events of the incident's apps: read through the real kubernetes client from the
loopback API server (and from the same snapshot file), attributed to apps, deduplicated with
their counts (no Prometheus, no Redis)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pytest_slo.incident.events import WarningRow, as_events, from_evidence, from_objects, merge_warnings
from pytest_slo.sources.kube import KubeSource
from teststack.kubeapi import FakeKubeAPI

from .support import REPO

SNAPSHOT = REPO / "examples/snapshots/incident.json"
AS_OF = dt.datetime(2026, 11, 27, 13, 58, tzinfo=dt.timezone.utc)  # when the shipped snapshot was taken


def objects_of(source: KubeSource) -> dict[str, tuple[set[str], set[str]]]:
    apps = {}
    for app in ("api-server", "redis-cluster"):
        selector = f"app.kubernetes.io/name={app}"
        workloads = {w["metadata"]["name"] for w in source.workloads("production", selector)}
        apps[app] = ({p["metadata"]["name"] for p in source.pods("production", selector)} | workloads, workloads)
    return apps


def rows(
    source: KubeSource, since: dt.datetime = AS_OF - dt.timedelta(hours=2)
) -> dict[str, tuple[int, int, str, str]]:
    found = merge_warnings([], from_objects(source.events("production"), objects_of(source), since))
    return {w.key: (w.count, len(w.objects), w.first, w.last) for w in found}


def test_events_of_the_incidents_apps_deduplicated_with_their_counts(tmp_path: Path) -> None:
    with FakeKubeAPI(json.loads(SNAPSHOT.read_text()), namespaces=["production"]) as api:
        live = KubeSource.from_config(kubeconfig=api.kubeconfig(tmp_path / "kubeconfig"), in_cluster=False)
        found = rows(live)
        assert api.methods == {"GET"}  # read-only
        lists = [r.path for r in api.requests if r.path.endswith("/events")]
        assert lists == ["/api/v1/namespaces/production/events"]  # one LIST for every app
    assert found == {
        # api-server's two pods fold into their Deployment's name: 12 + 41 readiness and liveness failures
        "api-server:api-server:Unhealthy": (53, 2, "2026-11-27T13:25:02+00:00", "2026-11-27T13:56:21+00:00"),
        "api-server:api-server:BackOff": (19, 1, "2026-11-27T13:31:48+00:00", "2026-11-27T13:57:36+00:00"),
        "api-server:api-server:Killing": (4, 1, "2026-11-27T13:27:32+00:00", "2026-11-27T13:48:52+00:00"),
        "redis-cluster:redis-cluster-2:BackOff": (27, 1, "2026-11-27T13:24:05+00:00", "2026-11-27T13:58:00+00:00"),
        "redis-cluster:redis-cluster-2:Unhealthy": (9, 1, "2026-11-27T13:19:46+00:00", "2026-11-27T13:51:17+00:00"),
    }  # Normal events (Pulled, Started, Scheduled), the backup Job's and the node's OOMKilling are not the apps'
    # the snapshot file answers exactly as the API server does
    assert rows(KubeSource.from_snapshot(SNAPSHOT, as_of=AS_OF)) == found
    # events last seen before the incident's window are left out
    assert set(rows(KubeSource.from_snapshot(SNAPSHOT, as_of=AS_OF), since=AS_OF - dt.timedelta(minutes=5))) == {
        "api-server:api-server:BackOff", "api-server:api-server:Unhealthy", "redis-cluster:redis-cluster-2:BackOff"}


def test_a_series_event_counts_its_series() -> None:
    """events.k8s.io-era events keep ``count`` empty and count in ``series`` (the Event API reference,
    kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1)."""
    event = {
        "type": "Warning",
        "reason": "FailedScheduling",
        "message": "0/3 nodes are available: 3 Insufficient memory.",
        "involvedObject": {"kind": "Pod", "name": "api-server-6b7f9c8d4-x2x2x"},
        "eventTime": "2026-11-27T13:00:00.000000Z",
        "series": {"count": 14, "lastObservedTime": "2026-11-27T13:40:00.000000Z"},
    }
    [row] = from_objects(
        [event], {"api-server": ({"api-server-6b7f9c8d4-x2x2x"}, {"api-server"})}, AS_OF - dt.timedelta(hours=1)
    )
    assert (row.owner, row.count, row.first, row.last) == (
        "api-server",
        14,
        "2026-11-27T13:00:00+00:00",
        "2026-11-27T13:40:00+00:00",
    )


def test_runs_merge_without_counting_twice() -> None:
    first = WarningRow(
        "redis-cluster",
        "redis-cluster-2",
        "BackOff",
        "Warning",
        20,
        "2026-11-27T13:24:05+00:00",
        "2026-11-27T13:50:00+00:00",
        "old",
        ("redis-cluster-2",),
    )
    later = WarningRow(
        "redis-cluster",
        "redis-cluster-2",
        "BackOff",
        "Warning",
        27,
        "2026-11-27T13:30:00+00:00",
        "2026-11-27T13:58:00+00:00",
        "new",
        ("redis-cluster-2",),
    )
    [merged] = merge_warnings([first], [later])
    # Kubernetes counts one event up: the larger count, the earliest first time, the newest message
    assert (merged.count, merged.first, merged.last, merged.message) == (27, first.first, later.last, "new")
    # the kube findings' own evidence of the same event (another reader of it) is no second count
    evidence = from_evidence(
        [
            {
                "app": "redis-cluster",
                "evidence": {
                    "events": [
                        {
                            "object": "Pod/redis-cluster-2",
                            "reason": "BackOff",
                            "count": 27,
                            "last_seen": "2026-11-27T13:58:00Z",
                            "message": "new",
                        }
                    ]
                },
            }
        ],
        AS_OF - dt.timedelta(hours=1),
    )
    assert [m.count for m in merge_warnings([merged], evidence)] == [27]
    [event] = as_events([merged])
    assert event.what == "redis-cluster-2: Warning BackOff ×27, last at 13:58 UTC: new"
    assert WarningRow.from_dict(merged.as_dict()) == merged
