"""What kube findings say in the less common cases (no server): an app partly or wholly missing,
events written the events.k8s.io way, and which pods a rollout finding names."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pytest_slo.kinds._kube_events import recent_warnings

from .kube_helpers import SELECTOR, at, judge, pod, state, status, sts


def labelled(name: str, **labels: str) -> dict[str, Any]:
    return pod(name, status(), labels=labels, owner=None)


def test_missing_pods_name_every_workload_that_wants_some() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "redis-proxy"},
        "spec": {"template": {"spec": {}}},
    }
    verdict = judge("kube-crashloop", state([], [sts(desired=3, ready=0), deployment]))
    assert verdict.skip == (f"no pod in namespace production matches {SELECTOR} (StatefulSet/redis-cluster wants 3, "
                            "Deployment/redis-proxy wants 1) (the rollout check judges the replicas)")


def test_pods_without_an_owner_or_with_several() -> None:
    bare = judge(
        "kube-rollout", state([labelled("redis-cluster-0", **{"app.kubernetes.io/name": "redis-cluster"})], [])
    )
    assert bare.message.splitlines()[1] == (
        "  the pods are owned by nothing; label the StatefulSet or Deployment itself, not only its pod template"
    )
    assert bare.evidence["pods"] == ["redis-cluster-0"] and bare.evidence["owners"] == []
    two = [
        pod("redis-cluster-0", status()),
        pod("redis-proxy-6b7f9c8d4-tq5ln", status(), owner="ReplicaSet/redis-proxy-6b7f9c8d4"),
    ]
    owned = judge("kube-rollout", state(two, []))
    assert owned.message.splitlines()[1].startswith(
        "  the pods are owned by ReplicaSet/redis-proxy-6b7f9c8d4, StatefulSet/redis-cluster;"
    )
    assert owned.evidence["owners"] == ["ReplicaSet/redis-proxy-6b7f9c8d4", "StatefulSet/redis-cluster"]


def test_an_empty_namespace_is_said_so() -> None:
    verdict = judge("kube-rollout", state(namespace_pods=[]))
    assert verdict.evidence["namespace_pods"] == 0


def test_pods_with_part_of_the_selector_are_counted_once() -> None:
    near = [
        labelled(f"redis-cluster-{i}", **{"app.kubernetes.io/name": "redis-cluster", "app": "redis-cluster"})
        for i in range(2)
    ]
    verdict = judge("kube-rollout", state(selector=f"{SELECTOR},tier=cache", namespace_pods=near))
    lines = verdict.message.splitlines()
    assert lines[2] == "  2 pods have app.kubernetes.io/name=redis-cluster but not the rest of the selector"
    assert lines[3] == "  snapshot dump.json"  # one hint: the selector's own key, not app= as well
    one = judge("kube-rollout", state(selector=f"{SELECTOR},tier=cache", namespace_pods=near[:1]))
    assert (
        one.message.splitlines()[2]
        == "  1 pod has app.kubernetes.io/name=redis-cluster but not the rest of the selector"
    )


def test_many_label_values_are_cut_after_eight() -> None:
    def apps(n: int) -> list[dict[str, Any]]:
        return [labelled(f"app-{i}", app=f"app-{i}") for i in range(n)]

    eight = judge("kube-rollout", state(namespace_pods=apps(8))).message.splitlines()[1]
    none = "; none has app.kubernetes.io/name"  # the selector's own key
    assert eight == "  the namespace's 8 pods carry app: " + ", ".join(f"app-{i} (1)" for i in range(8)) + none
    ten = judge("kube-rollout", state(namespace_pods=apps(10))).message.splitlines()[1]
    values = sorted(f"app-{i}" for i in range(10))
    assert (
        ten
        == "  the namespace's 10 pods carry app: " + ", ".join(f"{v} (1)" for v in values[:8]) + ", ... 2 more" + none
    )


def test_events_written_as_a_series_or_with_an_event_time() -> None:
    base = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e", "namespace": "production"},
        "type": "Warning",
        "involvedObject": {"kind": "Pod", "name": "redis-cluster-2"},
    }
    series = {
        **base,
        "reason": "Unhealthy",
        "message": "Readiness probe failed",
        "count": None,
        "lastTimestamp": None,
        "eventTime": at(dt.timedelta(minutes=40)),
        "series": {"count": 17, "lastObservedTime": at(dt.timedelta(minutes=1))},
    }
    timed = {
        **base,
        "reason": "FailedMount",
        "message": "MountVolume.SetUp failed",
        "eventTime": at(dt.timedelta(minutes=2)),
    }
    odd = {**base, "reason": "BackOff", "message": "Back-off", "count": 0, "lastTimestamp": at(dt.timedelta(minutes=3))}
    text = {**base, "reason": "Failed", "message": "Error", "count": "3", "lastTimestamp": at(dt.timedelta(minutes=4))}
    first = {**base, "reason": "Pulling", "message": "Pulling image", "firstTimestamp": at(dt.timedelta(minutes=5))}
    created = {**base, "reason": "Killing", "message": "Stopping container redis",
               "metadata": {"name": "k", "creationTimestamp": at(dt.timedelta(minutes=6))}}
    records = recent_warnings(state(events=[series, timed, odd, text, first, created]), ["Pod/redis-cluster-2"])
    assert [(r["reason"], r["count"], r["last_seen"]) for r in records] == [
        ("Unhealthy", 17, at(dt.timedelta(minutes=1))),
        ("FailedMount", 1, at(dt.timedelta(minutes=2))),
        ("BackOff", 1, at(dt.timedelta(minutes=3))),
        ("Failed", 1, at(dt.timedelta(minutes=4))),
        ("Pulling", 1, at(dt.timedelta(minutes=5))),  # only when it was first seen
        ("Killing", 1, at(dt.timedelta(minutes=6))),  # only when the object was made
    ]


def test_a_deployments_rollout_names_its_own_pods_only() -> None:
    def api(name: str, owner: str) -> dict[str, Any]:
        return pod(name, {**status("api"), "ready": False}, owner=owner)

    mine = api("api-server-6b7f9c8d4-tq5ln", "ReplicaSet/api-server-6b7f9c8d4")
    other = api("api-gateway-7c9d5f6b8-zz2kq", "ReplicaSet/api-gateway-7c9d5f6b8")
    sts_pod = api("api-server-0", "StatefulSet/api-server")  # same name, another kind
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api-server"},
                  "spec": {"replicas": 2, "template": {"spec": {}}}, "status": {"readyReplicas": 1}}
    verdict = judge("kube-rollout", state([mine, other, sts_pod], [deployment]))
    assert (
        verdict.message.splitlines()[0]
        == "Deployment/api-server: 1 of 2 replicas ready (not Ready: api-server-6b7f9c8d4-tq5ln Running)"
    )
    assert verdict.evidence["items"][0]["not_ready"] == {"api-server-6b7f9c8d4-tq5ln": "Running"}


def test_a_time_that_is_not_text_and_an_object_without_a_name() -> None:
    from pytest_slo.kinds._kube_state import name_of, parse_time

    assert parse_time(1764251880) is None and parse_time("yesterday") is None and parse_time("") is None
    assert name_of({}) == "?" and name_of({"metadata": {}}) == "?"
