"""The cluster's own events on kube findings: the recent Warning events of the objects a
finding names, from one LIST per namespace and run, through the real client and a snapshot;
a Role that may not list events is one warning, never an error."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes.client  # noqa: F401  (imported once: see tests/test_kube_kind.py)
import pytest

from pytest_slo.kinds._kube_events import event_lines, recent_warnings
from teststack.kubeapi import FakeKubeAPI, shift_snapshot

from .kube_helpers import REPO, T, at, judge, pod, state, status, sts, terminated

CRASHING = pod(
    "redis-cluster-2",
    status("redis", 7, waiting="CrashLoopBackOff", last=terminated("OOMKilled", 137, dt.timedelta(minutes=2))),
)


def event(name: str, reason: str, message: str, *, ago: dt.timedelta, count: int | None = 1, kind: str = "Pod",
          type_: str = "Warning") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{reason}{ago.seconds}", "namespace": "production"},
        "involvedObject": {"kind": kind, "name": name, "namespace": "production"},
        "reason": reason,
        "message": message,
        "type": type_,
        "count": count,
        "firstTimestamp": at(ago + dt.timedelta(minutes=30)),
        "lastTimestamp": at(ago),
    }


READINESS = "Readiness probe failed: Could not connect to Redis at 127.0.0.1:6379: Connection refused"
BACKOFF = "Back-off restarting failed container redis in pod redis-cluster-2_production(d89d46c1)"


def test_a_finding_carries_the_recent_warning_events_of_what_it_names() -> None:
    events = [  # what is left out comes first: one left out must not end the reading
        event(
            "redis-cluster-2", "Pulled", "Container image already present", ago=dt.timedelta(minutes=1), type_="Normal"
        ),
        event("redis-cluster-1", "Unhealthy", READINESS, ago=dt.timedelta(minutes=1)),  # another pod
        event(
            "redis-cluster-2", "Unhealthy", "Liveness probe failed", ago=dt.timedelta(hours=2)
        ),  # gone from a live LIST by now
        event("redis-cluster-2", "Unhealthy", "after the judging time", ago=-dt.timedelta(minutes=30)),
        event("redis-cluster-2", "Unhealthy", READINESS, ago=dt.timedelta(minutes=7), count=9),
        event(
            "redis-cluster-2", "Unhealthy", READINESS + "  ", ago=dt.timedelta(minutes=3), count=2
        ),  # the same, said again
        event("redis-cluster-2", "BackOff", BACKOFF, ago=dt.timedelta(seconds=20), count=None),  # count unset: once
    ]
    verdict = judge("kube-crashloop", state([CRASHING], [sts()], events=events))
    assert verdict.evidence["events"] == [
        {
            "object": "Pod/redis-cluster-2",
            "reason": "BackOff",
            "count": 1,
            "last_seen": at(dt.timedelta(seconds=20)),
            "message": BACKOFF,
        },
        {
            "object": "Pod/redis-cluster-2",
            "reason": "Unhealthy",
            "count": 11,
            "last_seen": at(dt.timedelta(minutes=3)),
            "message": READINESS,
        },
    ]
    assert verdict.message.splitlines()[2:] == [
        f"  event Pod/redis-cluster-2: BackOff x1, last 20 s ago: {BACKOFF}",
        f"  event Pod/redis-cluster-2: Unhealthy x11, last 3 min ago: {READINESS}",
    ]
    assert (
        "events"
        not in judge("kube-crashloop", state([pod("redis-cluster-0", status())], [sts()], events=events)).evidence
    )


def test_workload_findings_carry_the_workloads_events_and_the_not_ready_pods() -> None:
    events = [
        event(
            "redis-cluster",
            "FailedCreate",
            'create Pod redis-cluster-3 in StatefulSet redis-cluster failed error: pods "redis-cluster-3" '
            "is forbidden: exceeded quota: compute, requested: limits.memory=2Gi",
            ago=dt.timedelta(minutes=4),
            kind="StatefulSet",
        ),
        event("redis-cluster-2", "Unhealthy", READINESS, ago=dt.timedelta(minutes=2)),
    ]
    rollout = judge("kube-rollout", state([CRASHING], [sts(ready=2)], events=events))
    assert (
        rollout.message.splitlines()[0]
        == "StatefulSet/redis-cluster: 2 of 3 replicas ready (not Ready: redis-cluster-2 CrashLoopBackOff)"
    )
    assert [e["object"] for e in rollout.evidence["events"]] == ["StatefulSet/redis-cluster", "Pod/redis-cluster-2"]
    assert rollout.objects == [
        {"workload": "StatefulSet/redis-cluster"}
    ]  # the pods explain it; they are not its identity
    drift = judge("kube-resources-drift", state([CRASHING], [sts(memory="512Mi")], events=events))
    assert [e["reason"] for e in drift.evidence["events"]] == ["FailedCreate"]


def test_a_noisy_object_shows_a_few_events_and_keeps_the_rest_in_the_evidence() -> None:
    events = [event("redis-cluster-2", f"Reason{i}", f"message {i}", ago=dt.timedelta(minutes=i)) for i in range(1, 6)]
    verdict = judge("kube-crashloop", state([CRASHING], [sts()], events=events))
    assert len(verdict.evidence["events"]) == 5
    assert verdict.message.splitlines()[-1] == "  ... 2 more events in the evidence"
    assert [line.split(":")[1] for line in verdict.message.splitlines()[2:5]] == [
        " Reason1 x1, last 60 s ago", " Reason2 x1, last 2 min ago", " Reason3 x1, last 3 min ago"  # the latest first
    ]


def test_an_event_without_a_time_is_kept_and_said_without_one() -> None:
    undated = event("redis-cluster-2", "FailedMount", "MountVolume.SetUp failed", ago=dt.timedelta(0))
    del undated["firstTimestamp"], undated["lastTimestamp"]
    bare = {k: v for k, v in undated.items() if k not in ("reason", "message")}
    records = recent_warnings(state([CRASHING], [], events=[undated, bare]), ["Pod/redis-cluster-2"])
    assert records == [
        {"object": "Pod/redis-cluster-2", "reason": "", "count": 1, "last_seen": None, "message": ""},
        {
            "object": "Pod/redis-cluster-2",
            "reason": "FailedMount",
            "count": 1,
            "last_seen": None,
            "message": "MountVolume.SetUp failed",
        },
    ]
    assert event_lines(records[1:], T) == ["event Pod/redis-cluster-2: FailedMount x1: MountVolume.SetUp failed"]


# --------------------------------------------------------------------------- through the client and a snapshot


@pytest.fixture
def incident(gitops: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeKubeAPI, Path]]:
    data = shift_snapshot(
        REPO / "examples/snapshots/incident.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    )
    snapshot = gitops / "snapshot.json"
    snapshot.write_text(json.dumps(data))
    with FakeKubeAPI(data, namespaces=["production"]) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield api, snapshot


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, list[dict[str, Any]]]:
    result = pytester.runpytest("--site", "production", "-m", "kube", "--findings=f.json", "-W", "default", *args)
    return result, json.loads((pytester.path / "f.json").read_text())["findings"]


def test_one_events_list_per_namespace_feeds_every_finding_live_and_from_a_snapshot(
    incident: tuple[FakeKubeAPI, Path], pytester: pytest.Pytester
) -> None:
    api, snapshot = incident
    _, live = run(pytester, "--live")
    assert api.methods == {"GET"}
    assert [r.path for r in api.requests].count(
        "/api/v1/namespaces/production/events"
    ) == 1  # two apps, every kube check
    _, offline = run(pytester, f"--kube-snapshot={snapshot}")
    assert [f["evidence"].get("events") for f in live] == [f["evidence"].get("events") for f in offline]
    crash = next(f for f in live if (f["check"], f["app"]) == ("kube-crashloop", "redis-cluster"))
    assert [(e["object"], e["reason"]) for e in crash["evidence"]["events"]] == [
        ("Pod/redis-cluster-2", "BackOff"),
        ("Pod/redis-cluster-2", "Unhealthy"),
    ]
    assert any(
        line.startswith("  event Pod/redis-cluster-2: Unhealthy x9, last ")
        and line.endswith(": Readiness probe failed: Could not connect to Redis at 127.0.0.1:6379: Connection refused")
        for line in crash["message"].splitlines()
    )


def test_a_role_without_list_events_is_one_warning_not_an_error(
    incident: tuple[FakeKubeAPI, Path], pytester: pytest.Pytester
) -> None:
    api, _ = incident
    _, allowed = run(pytester, "--live")
    api.forbidden.add(("list", "events"))
    result, findings = run(pytester, "--live")
    text = result.stdout.str()
    assert "errors" not in result.parseoutcomes() and "Traceback" not in text
    assert [(f["check"], f["app"], f["message"].splitlines()[0]) for f in findings] == [
        (f["check"], f["app"], f["message"].splitlines()[0]) for f in allowed
    ]
    assert all("events" not in f["evidence"] or f["evidence"]["events"] == [] for f in findings)
    warned = [line for line in text.splitlines() if "kube findings carry no events" in line]
    assert len(warned) == 1, text
    assert warned[0].endswith(
        "SloWarning: kube findings carry no events of namespace production: kubernetes unavailable: 403 "
        "Forbidden: the service "
        "account monitoring/pytest-slo may not list events in namespace production (add verb list on events to "
        "deploy/rbac.yaml's Role)"
    )
