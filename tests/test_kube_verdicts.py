"""Kube verdicts a user relies on, each a behaviour a wrong edit of the verdict code would break
(no server): drift that must not be missed and what to do about it, restarts of every
container, identities that feed fingerprints, times in any zone, the defaults."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.errors import ConfigError
from pytest_slo.findings.fingerprint import fingerprint
from pytest_slo.kinds._kube_state import CLOCK_SKEW
from pytest_slo.kinds.kube import KubeKind
from pytest_slo.run.nodes import format_verdict

from .kube_helpers import CHECKS, REPO, judge, pod, state, status, sts, target, terminated

VALUES = "sites/production/apps/redis-cluster/values.yaml"
HEALTHY = pod("redis-cluster-0", status("redis"))


def workload(
    *containers: dict[str, Any], replicas: int | None = 3, ready: int = 3, name: str = "redis-cluster"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": {"spec": {"containers": list(containers)}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": "production"},
            "spec": spec, "status": {"readyReplicas": ready}}


def redis(
    limits: dict[str, str] | None = None, requests: dict[str, str] | None = None, image: str = "redis:7.0.15"
) -> dict[str, Any]:
    return {
        "name": "redis",
        "image": image,
        "resources": {
            "limits": {"memory": "2Gi", "cpu": "500m", **(limits or {})},
            "requests": {"memory": "2Gi", "cpu": "250m", **(requests or {})},
        },
    }


def drift(*workloads: dict[str, Any], check: str = "kube-resources-drift", **spec: Any) -> Any:
    return judge(check, state([HEALTHY], list(workloads)), **spec)


# --------------------------------------------------------------------------- drift


def test_a_value_the_values_pin_that_the_cluster_does_not_set_is_drift() -> None:
    bare = redis()
    del bare["resources"]["limits"]["cpu"]
    verdict = drift(workload(bare))
    assert (
        verdict.message.splitlines()[0]
        == "StatefulSet/redis-cluster redis: resources.limits.cpu is (not set) live, 500m declared"
    )
    assert verdict.objects == [
        {"workload": "StatefulSet/redis-cluster", "container": "redis", "field": "resources.limits.cpu"}
    ]
    assert "runs without a CPU limit, the committed values say 500m" in str(verdict.action)


@pytest.mark.parametrize(("limits", "requests", "field"), [
    ({"cpu": "1"}, {}, "resources.limits.cpu is 1 live, 500m declared"),
    ({}, {"cpu": "100m"}, "resources.requests.cpu is 100m live, 250m declared"),
])
def test_cpu_limits_and_requests_are_compared(limits: dict[str, str], requests: dict[str, str], field: str) -> None:
    verdict = drift(workload(redis(limits, requests)))
    assert verdict.message.splitlines()[0] == f"StatefulSet/redis-cluster redis: {field}"
    assert drift(workload(redis({"cpu": "0.5"}, {"cpu": "0.25"}))).ok  # the same quantities, spelt otherwise


def test_the_container_field_picks_the_container_compared() -> None:
    sidecar = {
        "name": "metrics",
        "image": "oliver006/redis_exporter:v1.45.0",
        "resources": {"limits": {"memory": "64Mi"}},
    }
    first_is_sidecar = workload(sidecar, redis())
    # without container:, the template's first container: the sidecar, which runs none of the declared values
    assert drift(first_is_sidecar).message.startswith(
        "StatefulSet/redis-cluster metrics: resources.limits.memory is 64Mi live, 2Gi declared"
    )
    assert drift(first_is_sidecar, container="redis").ok
    assert drift(first_is_sidecar, check="kube-image-drift", container="redis").ok
    with pytest.raises(ConfigError) as info:
        drift(first_is_sidecar, container="valkey")
    assert info.value.where == f"checks/kube.yaml:{CHECKS['kube-resources-drift'].line}"
    assert "no workload of the app has a container 'valkey' (they have: metrics, redis)" in info.value.message


def test_drift_from_a_right_declaration_says_to_roll_the_app_out() -> None:
    verdict = drift(workload(redis({"memory": "512Mi"}, {"memory": "512Mi"})))
    assert verdict.action == (
        f"roll out redis-cluster (argocd app sync redis-cluster, or helm upgrade redis-cluster with {VALUES}): "
        "StatefulSet/redis-cluster runs memory limit 512Mi, the committed values say 2Gi (and 1 more field)"
    )
    assert str(verdict.location) == "sites/production/config.env:13"  # still where it is declared
    shown = format_verdict(verdict, CHECKS["kube-resources-drift"].runbook).splitlines()
    assert shown[-3:] == [
        f"do: {verdict.action}",
        "declared at: sites/production/config.env:13",
        "runbook: checks/runbooks/kube.md#kube-resources-drift",
    ]
    image = drift(workload(redis(image="redis:7.0.11")), check="kube-image-drift")
    assert image.action is not None and image.action.endswith(
        "StatefulSet/redis-cluster runs image tag 7.0.11, the committed values say 7.0.15"
    )


def test_drift_against_a_stale_render_says_which_line_to_edit(tmp_path: Path) -> None:
    for name in ("sites", "releases", "checks"):
        shutil.copytree(REPO / name, tmp_path / name)
    env = tmp_path / "sites/production/config.env"
    env.write_text(
        env.read_text().replace("REDIS_MEMORY_LIMIT=2Gi", "REDIS_MEMORY_LIMIT=4Gi")
    )  # committed values not re-rendered
    verdict = judge(
        "kube-resources-drift", state([HEALTHY], [workload(redis({"memory": "512Mi"}))]), target(root=tmp_path)
    )
    assert verdict.action is None
    assert str(verdict.location) == "sites/production/config.env:13"
    assert verdict.message.splitlines()[-1] == (
        f"  {VALUES} is not what sites/production/config.env renders at resources.limits.memory: edit "
        f"sites/production/config.env:13, or re-render with python3 releases/1.15/render_values.py --env-file "
        f"sites/production/config.env --output {VALUES}"
    )
    assert (
        format_verdict(verdict, CHECKS["kube-resources-drift"].runbook).splitlines()[-2]
        == "edit: sites/production/config.env:13"
    )
    subprocess.run([sys.executable, "releases/1.15/render_values.py", "--env-file", str(env), "--output", VALUES],
                   cwd=tmp_path, check=True, capture_output=True)
    rendered = judge(
        "kube-resources-drift", state([HEALTHY], [workload(redis({"memory": "512Mi"}))]), target(root=tmp_path)
    )
    assert rendered.action is not None and "the committed values say 4Gi" in rendered.action


# --------------------------------------------------------------------------- restarts, rollout, OOM kills


def test_one_old_restart_does_not_hide_the_pods_other_containers() -> None:
    old = status("metrics", 9, last=terminated("Error", 1, timedelta(days=5)))
    recent = status("redis", 8, last=terminated("Error", 1, timedelta(minutes=2)))
    verdict = judge("kube-restarts", state([pod("redis-cluster-0", old, recent)], [sts()]))
    assert verdict.message.splitlines()[0].startswith("redis-cluster-0/redis: 8 restarts, the last 2 min ago")
    assert verdict.objects == [{"pod": "redis-cluster-0", "container": "redis"}]


def test_max_restarts_defaults_to_5() -> None:
    recently = terminated("Error", 1, timedelta(minutes=2))
    spec = {k: v for k, v in CHECKS["kube-restarts"].spec.items() if k != "max_restarts"}
    check = dataclasses.replace(CHECKS["kube-restarts"], spec=spec)

    def verdict(count: int) -> Any:
        return KubeKind().evaluate(
            check, target(), state([pod("redis-cluster-0", status("redis", count, last=recently))], [sts()])
        )

    assert verdict(5).ok
    assert verdict(6).message.startswith("redis-cluster-0/redis: 6 restarts, the last 2 min ago (limit 5 ")


def test_replicas_default_to_1_as_kubernetes_defaults_them() -> None:
    assert judge("kube-rollout", state([HEALTHY], [workload(redis(), replicas=None, ready=1)])).ok
    verdict = judge("kube-rollout", state([HEALTHY], [workload(redis(), replicas=None, ready=0)]))
    assert verdict.message.splitlines()[0] == "StatefulSet/redis-cluster: 0 of 1 replicas ready"


def test_the_rollout_verdict_names_only_the_workloads_short_of_replicas() -> None:
    short = workload(redis(), ready=2)
    fine = workload(redis(), name="redis-sentinel")
    verdict = judge("kube-rollout", state([HEALTHY], [fine, short]))
    assert verdict.objects == [{"workload": "StatefulSet/redis-cluster"}]
    other = judge(
        "kube-rollout", state([HEALTHY], [workload(redis(), name="redis-sentinel", ready=1), workload(redis())])
    )
    # another workload short of replicas is another problem: baselines call it new
    assert fingerprint("kube-rollout", "production", "redis-cluster", verdict.objects) != fingerprint(
        "kube-rollout", "production", "redis-cluster", other.objects
    )


def test_the_latest_oom_kill_comes_first_and_an_unreadable_time_before_it() -> None:
    old = pod("redis-cluster-0", status("redis", 1, last=terminated("OOMKilled", 137, timedelta(hours=20))))
    recent = pod("redis-cluster-1", status("redis", 1, last=terminated("OOMKilled", 137, timedelta(minutes=3))))
    unreadable = pod(
        "redis-cluster-2", status("redis", 1, last=terminated("OOMKilled", 137, timedelta(0)) | {"finishedAt": "soon"})
    )
    verdict = judge("kube-oomkilled", state([old, recent, unreadable], [sts()]))
    assert [i["pod"] for i in verdict.evidence["items"]] == ["redis-cluster-2", "redis-cluster-1", "redis-cluster-0"]
    assert verdict.message.splitlines()[0].startswith(
        "redis-cluster-2/redis: OOMKilled (exit 137), no readable time recorded ('soon')"
    )


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(("ahead", "counted"), [(CLOCK_SKEW, True), (CLOCK_SKEW + 1, False)])
def test_a_kubelet_clock_ahead_by_the_skew_allowed_is_just_now(ahead: float, counted: bool) -> None:
    kill = terminated("OOMKilled", 137, -timedelta(seconds=ahead))
    verdict = judge("kube-oomkilled", state([pod("redis-cluster-2", status("redis", 1, last=kill))], [sts()]))
    assert verdict.ok is not counted
    assert CLOCK_SKEW == 300.0  # five minutes: what a kubelet's clock may be ahead of ours


@pytest.mark.parametrize("written", [
    "2026-11-27T13:55:47",  # no zone: Kubernetes writes UTC
    "2026-11-27T15:55:47+02:00",  # the same moment with an offset
    "2026-11-27T08:55:47-05:00",
])
def test_times_without_a_zone_or_with_an_offset_are_read_as_the_moment_they_name(written: str) -> None:
    kill = terminated("OOMKilled", 137, timedelta(minutes=2)) | {"finishedAt": written}
    verdict = judge("kube-oomkilled", state([pod("redis-cluster-2", status("redis", 1, last=kill))], [sts()]))
    assert verdict.message.splitlines()[0] == f"redis-cluster-2/redis: OOMKilled (exit 137) 2 min ago, at {written}"
    restarts = judge("kube-restarts", state([pod("redis-cluster-2", status("redis", 6, last=kill))], [sts()]))
    assert restarts.evidence["items"][0]["lastRestart"] == "2026-11-27T13:55:47Z"
