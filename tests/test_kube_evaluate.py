"""``KubeKind.evaluate`` on hand-made inputs (no server, no pytest run); real-world pods are in
tests/test_kube_realworld.py."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.errors import ConfigError
from pytest_slo.kinds.kube import KubeKind

from .kube_helpers import CHECKS, REPO, SELECTOR, WHERE, T, judge, pod, state, status, sts, target, terminated

HEALTHY = pod("redis-cluster-0", status("redis"))
CRASHING = pod(
    "redis-cluster-2",
    status("redis", 7, waiting="CrashLoopBackOff", last=terminated("OOMKilled", 137, timedelta(minutes=2, seconds=13))),
)


# --------------------------------------------------------------------------- crashloop


def test_crashloop_says_what_is_wrong_first() -> None:
    verdict = judge("kube-crashloop", state([HEALTHY, CRASHING], [sts(ready=2)]))
    assert not verdict.ok
    assert (
        verdict.message
        == f"redis-cluster-2/redis: CrashLoopBackOff, 7 restarts, last terminated OOMKilled (exit 137)\n{WHERE}"
    )
    assert CHECKS["kube-crashloop"].title not in verdict.message
    [item] = verdict.evidence["items"]
    assert (item["pod"], item["restartCount"], item["lastState"]["reason"]) == ("redis-cluster-2", 7, "OOMKilled")


def test_crashloop_lists_every_container_after_the_first() -> None:
    other = pod("redis-cluster-1", status("redis", 3, waiting="CrashLoopBackOff"))
    message = judge("kube-crashloop", state([CRASHING, other], [sts()])).message
    assert message.splitlines() == [
        "redis-cluster-2/redis: CrashLoopBackOff, 7 restarts, last terminated OOMKilled (exit 137) (and 1 more)",
        WHERE,
        "  redis-cluster-2/redis: CrashLoopBackOff, 7 restarts, last terminated OOMKilled (exit 137)",
        "  redis-cluster-1/redis: CrashLoopBackOff, 3 restarts",
    ]


def test_passing_verdicts_name_the_time_they_used() -> None:
    verdict = judge("kube-crashloop", state([HEALTHY], [sts()]))
    assert verdict.ok
    assert verdict.evidence["time"] == "2026-11-27T13:58:00Z"
    assert verdict.evidence["time_from"] == "--kube-snapshot-time"


# --------------------------------------------------------------------------- oomkilled


@pytest.mark.parametrize(
    ("ago", "fails"),
    [
        (timedelta(minutes=2), True),
        (timedelta(hours=24), True),  # the window includes its edge
        (timedelta(hours=24, seconds=1), False),
        (timedelta(days=3), False),
        (-timedelta(minutes=4), True),  # a kubelet clock slightly ahead: just now
        (-timedelta(hours=3), False),  # after the evaluation time: not yet happened
    ],
)
def test_oomkilled_counts_kills_in_the_window_ending_at_the_evaluation_time(ago: timedelta, fails: bool) -> None:
    killed = pod("redis-cluster-1", status("redis", 1, last=terminated("OOMKilled", 137, ago)))
    assert judge("kube-oomkilled", state([killed], [sts()])).ok is not fails


def test_oomkilled_message_gives_age_time_and_the_time_judged_at() -> None:
    killed = pod(
        "redis-cluster-1", status("redis", 1, last=terminated("OOMKilled", 137, timedelta(hours=16, minutes=21)))
    )
    verdict = judge("kube-oomkilled", state([killed, CRASHING], [sts()]))
    lines = verdict.message.splitlines()
    # the latest kill first: what is happening now
    assert lines[0] == "redis-cluster-2/redis: OOMKilled (exit 137) 2 min ago, at 2026-11-27T13:55:47Z (and 1 more)"
    assert lines[1] == WHERE + ", judged at 2026-11-27T13:58:00Z (--kube-snapshot-time)"
    assert lines[3] == "  redis-cluster-1/redis: OOMKilled (exit 137) 16.4h ago, at 2026-11-26T21:37:00Z"
    assert str(verdict.location) == "sites/production/config.env:13"  # REDIS_MEMORY_LIMIT, the check's key
    assert [i["finishedAt"] for i in verdict.evidence["items"]] == ["2026-11-27T13:55:47Z", "2026-11-26T21:37:00Z"]


def test_a_snapshot_judged_at_the_current_time_says_how_to_judge_it_as_of_the_dump() -> None:
    killed = pod("redis-cluster-2", status("redis", 1, last=terminated("OOMKilled", 137, timedelta(minutes=2))))
    verdict = judge("kube-oomkilled", state([killed], [sts()], now=T + timedelta(minutes=1), now_from="current time"),
                    target(snapshot_time=None))
    assert verdict.message.splitlines()[1].endswith(
        ", judged at 2026-11-27T13:59:00Z (current time); --kube-snapshot-time judges a dump as of when it was taken"
    )
    assert verdict.evidence["time_from"] == "current time"


def test_a_misspelt_window_is_an_error_of_the_catalog_line() -> None:
    with pytest.raises(ConfigError) as info:
        judge("kube-oomkilled", state([HEALTHY], [sts()]), window="1day")
    assert info.value.where == f"checks/kube.yaml:{CHECKS['kube-oomkilled'].line}"
    assert "'1day' is not a Prometheus duration" in info.value.message


# --------------------------------------------------------------------------- restarts


@pytest.mark.parametrize(
    ("restarts", "running_since", "last_ago", "fails"),
    [
        (5, None, timedelta(minutes=2), False),  # exactly the limit passes: more than 5 fails
        (6, None, timedelta(minutes=2), True),
        (257, timedelta(days=571), None, False),  # cert-manager's 257 restarts, the last in 2024
        (257, None, timedelta(hours=23), True),
        (9, None, timedelta(days=5), False),  # the last restart left the window
        (0, None, None, False),
    ],
)
def test_restarts_count_only_what_the_window_allows(
    restarts: int, running_since: timedelta | None, last_ago: timedelta | None, fails: bool
) -> None:
    last = terminated("Error", 1, last_ago) if last_ago else None
    container = status(
        "redis", restarts, running=running_since or (last_ago or timedelta(days=1)) - timedelta(seconds=5), last=last
    )
    verdict = judge("kube-restarts", state([pod("redis-cluster-0", container)], [sts()]))
    assert verdict.ok is not fails, verdict.message


def test_restarts_message() -> None:
    container = status("redis", 6, last=terminated("Error", 1, timedelta(minutes=7)))
    verdict = judge("kube-restarts", state([pod("redis-cluster-0", container)], [sts()]))
    assert (
        verdict.message.splitlines()[0]
        == "redis-cluster-0/redis: 6 restarts, the last 7 min ago (limit 5 while the last restart is within 24h)"
    )
    assert verdict.evidence["items"] == [
        {"pod": "redis-cluster-0", "container": "redis", "restartCount": 6, "lastRestart": "2026-11-27T13:51:00Z"}
    ]


def test_restarts_without_a_recorded_time_count() -> None:
    container = {
        "name": "redis",
        "restartCount": 12,
        "state": {"waiting": {"reason": "ContainerCreating"}},
        "lastState": {},
    }
    verdict = judge("kube-restarts", state([pod("redis-cluster-0", container)], [sts()]))
    assert verdict.message.startswith("redis-cluster-0/redis: 12 restarts, no time recorded for the last (limit 5")


def test_restarts_of_init_containers_and_a_custom_limit_and_window() -> None:
    init = status("init-sysctl", 2, last=terminated("Error", 1, timedelta(hours=30)))
    target_pod = pod("redis-cluster-0", status("redis"), init=[init])
    assert judge("kube-restarts", state([target_pod], [sts()]), max_restarts=1).ok  # 30h ago: outside 24h
    verdict = judge("kube-restarts", state([target_pod], [sts()]), max_restarts=1, window="2d")
    assert verdict.message.startswith(
        "redis-cluster-0/init-sysctl: 2 restarts, the last 30.0h ago (limit 1 while the last restart is within 2d)"
    )


# --------------------------------------------------------------------------- rollout


def test_rollout() -> None:
    assert judge("kube-rollout", state([HEALTHY], [sts()])).ok
    verdict = judge("kube-rollout", state([HEALTHY], [sts(desired=3, ready=2)]))
    assert verdict.message == f"StatefulSet/redis-cluster: 2 of 3 replicas ready\n{WHERE}"
    assert verdict.evidence["items"] == [{"workload": "StatefulSet/redis-cluster", "desired": 3, "ready": 2}]


# --------------------------------------------------------------------------- an app that is not there


def namespace_pods() -> list[dict[str, Any]]:
    api = {"app.kubernetes.io/name": "api-server"}
    return [
        pod("api-server-1", status("api"), labels=api, owner="ReplicaSet/api-server-6b7f9c8d4"),
        pod("api-server-2", status("api"), labels=api, owner="ReplicaSet/api-server-6b7f9c8d4"),
        pod("redis-cluster-0", status("redis"), labels={"app": "redis-cluster"}),
    ]


def test_an_app_that_is_not_there_is_one_finding_of_rollout() -> None:
    data = state(namespace_pods=namespace_pods())
    kind = KubeKind()
    verdicts = {check_id: judge(check_id, data, kind=kind) for check_id in CHECKS if check_id.startswith("kube-")}
    assert [c for c, v in verdicts.items() if not v.ok] == ["kube-rollout"]
    rollout = verdicts.pop("kube-rollout")
    assert rollout.message.splitlines() == [
        f"no pod or workload in namespace production matches {SELECTOR}",
        "  the namespace's 3 pods carry app.kubernetes.io/name: api-server (2); app: redis-cluster (1)",
        "  1 pod has app=redis-cluster: set KUBE_APP_SELECTOR=app={app} in sites/production/config.env",
        "  snapshot dump.json",
    ]
    assert str(rollout.location) == "sites/production/config.env:4"  # KUBE_NAMESPACE; no KUBE_APP_SELECTOR line
    assert rollout.evidence["labels"] == {"app.kubernetes.io/name": {"api-server": 2}, "app": {"redis-cluster": 1}}
    assert rollout.evidence["namespace_pods"] == 3
    assert {v.skip for v in verdicts.values()} == {
        f"no pod or workload in namespace production matches {SELECTOR} (reported by kube-rollout)"
    }


def test_without_a_rollout_item_the_first_selected_check_reports_the_missing_app() -> None:
    kind = KubeKind()
    tgt = target()
    drift = [CHECKS["kube-resources-drift"], CHECKS["kube-image-drift"]]
    kind.prefetch(tgt.sources, [(c, tgt) for c in reversed(drift)])
    data = state(namespace_pods=[])
    second, first = (kind.evaluate(c, tgt, data) for c in drift)  # by id, image-drift comes first
    assert first.message.splitlines()[:2] == [
        f"no pod or workload in namespace production matches {SELECTOR}",
        "  namespace production has no pods at all: is the app deployed to another namespace (KUBE_NAMESPACE)?",
    ]
    assert second.skip is not None and second.skip.endswith("(reported by kube-image-drift)")


def test_a_selector_key_no_pod_has_and_no_pod_named_after_the_app() -> None:
    data = state(selector="tier=cache,app.kubernetes.io/name=redis-cluster", namespace_pods=namespace_pods()[:2])
    lines = judge("kube-rollout", data).message.splitlines()
    assert lines[1] == "  the namespace's 2 pods carry app.kubernetes.io/name: api-server (2); none has tier"
    assert (
        lines[2]
        == "  no pod there carries the app's name redis-cluster: is it deployed, and to namespace production "
           "(KUBE_NAMESPACE)?"
    )


def test_pods_without_a_workload_are_reported_by_rollout_and_pod_checks_still_judge() -> None:
    data = state([HEALTHY, CRASHING])
    rollout = judge("kube-rollout", data)
    assert rollout.message.splitlines()[:2] == [
        f"no StatefulSet or Deployment in namespace production matches {SELECTOR}, though 2 pods do",
        "  the pods are owned by StatefulSet/redis-cluster; label the StatefulSet or Deployment itself, not only "
        "its pod template",
    ]
    assert judge("kube-resources-drift", data).skip == (
        f"no StatefulSet or Deployment in namespace production matches {SELECTOR}, though 2 pods do (reported by "
        "kube-rollout)"
    )
    assert judge("kube-crashloop", data).message.startswith("redis-cluster-2/redis: CrashLoopBackOff")


def test_workloads_without_pods_skip_the_pod_checks() -> None:
    data = state([], [sts(desired=3, ready=0)])
    assert judge("kube-crashloop", data).skip == (
        f"no pod in namespace production matches {SELECTOR} (StatefulSet/redis-cluster wants 3) (the rollout "
        "check judges the replicas)"
    )
    assert judge("kube-rollout", data).message.startswith("StatefulSet/redis-cluster: 0 of 3 replicas ready")


# --------------------------------------------------------------------------- drift


def test_resources_drift_says_what_differs_first_and_points_at_config_env() -> None:
    verdict = judge("kube-resources-drift", state([HEALTHY], [sts(memory="512Mi")]))
    assert verdict.message.splitlines()[:2] == [
        "StatefulSet/redis-cluster redis: resources.limits.memory is 512Mi live, 2Gi declared (and 1 more)",
        "  sites/production/apps/redis-cluster/values.yaml vs snapshot dump.json",
    ]
    assert str(verdict.location) == "sites/production/config.env:13"
    assert judge("kube-resources-drift", state([HEALTHY], [sts(memory="2048Mi")])).ok


@pytest.mark.parametrize(
    ("image", "live"),
    [
        ("docker.io/library/redis:7.0.11@sha256:4f8a7a7c", "7.0.11"),
        ("registry.local:5000/cache/redis:7.0.11", "7.0.11"),
        ("registry.local:5000/cache/redis", "latest"),
        ("redis@sha256:4f8a7a7c", "latest"),
    ],
)
def test_image_drift_reads_the_tag_of_any_image_reference(image: str, live: str) -> None:
    verdict = judge("kube-image-drift", state([HEALTHY], [sts(image=image)]))
    assert (
        verdict.message.splitlines()[0] == f"StatefulSet/redis-cluster redis: image.tag is {live} live, 7.0.15 declared"
    )
    assert judge("kube-image-drift", state([HEALTHY], [sts(image="redis:7.0.15@sha256:4f8a7a7c")])).ok


def test_a_missing_values_file_is_an_error_naming_the_render_command(tmp_path: Path) -> None:
    for name in ("sites", "releases", "checks"):
        shutil.copytree(REPO / name, tmp_path / name)
    (tmp_path / "sites/production/apps/redis-cluster/values.yaml").unlink()
    with pytest.raises(ConfigError) as info:
        judge("kube-resources-drift", state([HEALTHY], [sts()]), target(root=tmp_path))
    assert str(info.value) == (
        "sites/production/apps/redis-cluster/values.yaml: rendered values are missing (render them: "
        "python3 releases/1.15/render_values.py --env-file sites/production/config.env "
        "--output sites/production/apps/redis-cluster/values.yaml)"
    )


@pytest.mark.parametrize(
    ("content", "outcome"),
    [
        ("- a\n", "rendered values are a YAML list, not a mapping of Helm values"),
        ("", "pins nothing this check compares"),  # an empty render proves nothing: a skip, never a pass
    ],
)
def test_values_that_are_no_mapping_are_an_error_and_empty_ones_prove_nothing(
    tmp_path: Path, content: str, outcome: str
) -> None:
    for name in ("sites", "releases", "checks"):
        shutil.copytree(REPO / name, tmp_path / name)
    (tmp_path / "sites/production/apps/redis-cluster/values.yaml").write_text(content)
    tgt = target(root=tmp_path)
    if content:
        with pytest.raises(ConfigError, match=outcome):
            judge("kube-resources-drift", state([HEALTHY], [sts(memory="512Mi")]), tgt)
        return
    for check in ("kube-resources-drift", "kube-image-drift"):
        verdict = judge(check, state([HEALTHY], [sts(memory="512Mi")]), tgt)
        assert verdict.skip is not None and outcome in verdict.skip


def test_an_oom_kill_without_a_readable_time_is_not_waved_through() -> None:
    kill = terminated("OOMKilled", 137, timedelta(minutes=3)) | {"finishedAt": "yesterday"}
    verdict = judge("kube-oomkilled", state([pod("redis-cluster-2", status(restarts=1, last=kill))], [sts()]))
    assert not verdict.ok
    assert (
        verdict.message.splitlines()[0]
        == "redis-cluster-2/redis: OOMKilled (exit 137), no readable time recorded ('yesterday')"
    )
