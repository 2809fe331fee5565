"""What a user sees of pods that are stuck (examples/snapshots/stuck.json: an image tag that does
not exist, a missing Secret, no node with the memory, an init container in a crash loop, a
failing readiness probe, an evicted pod), from a snapshot and through the real client."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import kubernetes.client  # noqa: F401  (imported once: see tests/test_kube_kind.py)
import pytest

from teststack.kubeapi import FakeKubeAPI, shift_snapshot

from .kube_helpers import REPO

STUCK = REPO / "examples/snapshots/stuck.json"
TAKEN = "2026-11-27T13:58:00Z"


def findings(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[tuple[str, str], dict[str, Any]]]:
    result = pytester.runpytest("--site", "production", "-m", "kube", "--findings=f.json", *args)
    assert "Traceback" not in result.stdout.str()
    found = json.loads((pytester.path / "f.json").read_text())["findings"]
    assert all(f["outcome"] == "failed" for f in found), [f["message"] for f in found]
    return result, {(f["check"], f["app"]): f for f in found}


def test_each_stuck_pod_is_said_as_kubectl_says_it_with_the_kubelets_words(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    result, found = findings(pytester, f"--kube-snapshot={STUCK}", f"--kube-snapshot-time={TAKEN}")
    assert sorted(found) == [
        ("kube-crashloop", "redis-cluster"),
        ("kube-pods", "api-server"),
        ("kube-pods", "redis-cluster"),
        ("kube-restarts", "redis-cluster"),
        ("kube-rollout", "redis-cluster"),
    ]
    pods = found[("kube-pods", "redis-cluster")]
    assert pods["message"].splitlines()[2:6] == [
        "  redis-cluster-0: Running, not Ready for 21 min (1/2 containers ready): containers with unready "
        "status: [redis]",
        '  redis-cluster-1: ImagePullBackOff (container redis): Back-off pulling image "redis:7.0.99"',
        '  redis-cluster-2: CreateContainerConfigError (container redis): secret "redis-auth" not found',
        "  redis-cluster-3: Pending for 14 min, Unschedulable: 0/3 nodes are available: 3 Insufficient memory. "
        "preemption: "
        "0/3 nodes are available: 3 No preemption victims found for incoming pod..",
    ]
    assert pods["objects"] == [{"pod": "redis-cluster-0"}, {"container": "redis", "pod": "redis-cluster-1"},
                               {"container": "redis", "pod": "redis-cluster-2"}, {"pod": "redis-cluster-3"}]
    assert (
        "  event Pod/redis-cluster-0: Unhealthy x249, last 8 s ago: Readiness probe failed: Could not connect to "
        "Redis at "
        "127.0.0.1:6379: Connection refused"
    ) in pods["message"].splitlines()
    assert {e["reason"] for e in pods["evidence"]["events"]} == {"Unhealthy", "BackOff", "Failed", "FailedScheduling"}
    crash = found[("kube-crashloop", "redis-cluster")]
    assert (
        crash["message"].splitlines()[0]
        == "redis-cluster-4/init-sysctl: Init:CrashLoopBackOff, 7 restarts, last terminated Error (exit 1)"
    )
    evicted = found[("kube-pods", "api-server")]
    assert evicted["message"].splitlines()[0] == (
        "api-server-6b7f9c8d4-x7k2p: Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, "
        "available: 42Mi. "
        "Container api was using 812Mi, request is 512Mi, has larger consumption of memory."
    )
    rollout = found[("kube-rollout", "redis-cluster")]
    assert rollout["message"].splitlines()[0] == (
        "StatefulSet/redis-cluster: 0 of 5 replicas ready (not Ready: redis-cluster-0 Running, redis-cluster-1 "
        "ImagePullBackOff, "
        "redis-cluster-2 CreateContainerConfigError, redis-cluster-3 Pending, redis-cluster-4 Init:CrashLoopBackOff)"
    )
    result.stdout.fnmatch_lines(
        ["*redis-cluster: kube-pods [[]P2[]] no pod of the app is stuck*", "redis-cluster-0: Running, not Ready*"]
    )


def test_the_real_client_sees_the_same(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = shift_snapshot(STUCK, dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=8))
    snapshot = gitops / "stuck.json"
    snapshot.write_text(json.dumps(data))
    with FakeKubeAPI(data, namespaces=["production"]) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        _, live = findings(pytester, "--live")
    assert api.methods == {"GET"}
    _, offline = findings(pytester, f"--kube-snapshot={snapshot}")
    assert sorted(live) == sorted(offline)
    for key, finding in live.items():
        assert finding["objects"] == offline[key]["objects"]
        assert [(e["object"], e["reason"], e["count"]) for e in finding["evidence"].get("events", [])] == [
            (e["object"], e["reason"], e["count"]) for e in offline[key]["evidence"].get("events", [])
        ]
