"""What ``kind: kube`` reads and who reports what (no server): the app's objects and events from a
snapshot, the selector and the time windows end at, the one warning for events that cannot be
read, the one check that reports an app that is not there, mistakes in the repository."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.errors import ConfigError, SloWarning
from pytest_slo.kinds import Target
from pytest_slo.kinds.kube import KubeKind
from pytest_slo.repo.site import Repo
from pytest_slo.sources import LiveOptions, Sources

from .kube_helpers import CHECKS, REPO, SELECTOR, T, judge, pod, state, status, sts, target

INCIDENT = REPO / "examples/snapshots/incident.json"
VALUES = "sites/production/apps/redis-cluster/values.yaml"


def copy_repo(tmp_path: Path) -> Path:
    for name in ("sites", "releases", "checks"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def snapshot_target(app: str = "redis-cluster", *, root: Path = REPO, snapshot: Path = INCIDENT, at: Any = T) -> Target:
    sources = Sources(LiveOptions(kube_snapshot=snapshot, kube_snapshot_time=at))
    return Target(Repo(root).site("production"), app, sources)


def test_fetch_reads_the_apps_pods_workloads_and_the_namespaces_events() -> None:
    tgt = snapshot_target()
    data = KubeKind().fetch(CHECKS["kube-crashloop"], tgt)
    assert [p["metadata"]["name"] for p in data.pods] == ["redis-cluster-0", "redis-cluster-1", "redis-cluster-2"]
    assert [w["metadata"]["name"] for w in data.workloads] == ["redis-cluster"]
    assert (data.namespace, data.selector, data.origin) == ("production", SELECTOR, f"snapshot {INCIDENT}")
    assert (data.now, data.now_from, data.namespace_pods, data.events_error) == (T, "--kube-snapshot-time", None, None)
    # every event of the namespace: each finding picks those of the objects it names
    assert {e["involvedObject"]["name"] for e in data.events} >= {"redis-cluster-2", "api-server-6b7f9c8d4-tq5ln"}
    assert KubeKind().fetch(CHECKS["kube-rollout"], tgt) is data  # read once per run for all the app's checks
    assert snapshot_target(at=None).sources.kube().now() != T
    assert KubeKind().fetch(CHECKS["kube-crashloop"], snapshot_target(at=None)).now_from == "current time"


def test_the_site_may_choose_the_apps_selector(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    env = root / "sites/production/config.env"
    env.write_text(env.read_text() + "KUBE_APP_SELECTOR=app.kubernetes.io/instance={app},app.kubernetes.io/name\n")
    data = KubeKind().fetch(CHECKS["kube-crashloop"], snapshot_target("api-server", root=root))
    assert data.selector == "app.kubernetes.io/instance=api-server,app.kubernetes.io/name"
    assert [p["metadata"]["name"] for p in data.pods] == [
        "api-server-6b7f9c8d4-2xkqp", "api-server-6b7f9c8d4-9hzvw", "api-server-6b7f9c8d4-tq5ln"
    ]


def test_an_app_that_is_not_there_reads_what_the_namespace_holds_and_no_events() -> None:
    data = KubeKind().fetch(CHECKS["kube-rollout"], snapshot_target("valkey"))
    assert data.pods == [] and data.workloads == [] and data.events == []
    assert data.namespace_pods is not None and len(data.namespace_pods) == 7


def test_only_a_snapshot_runs_without_live() -> None:
    kind = KubeKind()
    assert kind.needs_live(LiveOptions()) is True
    assert kind.needs_live(LiveOptions(kube_snapshot=INCIDENT)) is False


def test_mistakes_in_the_repository_are_errors_before_anything_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "not-read.json"  # reading it would be another error
    bad_window = dataclasses.replace(CHECKS["kube-oomkilled"], spec={**CHECKS["kube-oomkilled"].spec, "window": "1day"})
    with pytest.raises(ConfigError, match="window: '1day' is not a Prometheus duration"):
        KubeKind().fetch(bad_window, snapshot_target(snapshot=missing))
    root = copy_repo(tmp_path)
    (root / VALUES).write_text("resources: [\n")
    with pytest.raises(ConfigError) as info:
        KubeKind().fetch(CHECKS["kube-image-drift"], snapshot_target(root=root, snapshot=missing))
    assert str(info.value).startswith(VALUES)
    (root / VALUES).write_text("- a\n")
    with pytest.raises(ConfigError) as info:
        KubeKind().fetch(CHECKS["kube-resources-drift"], snapshot_target(root=root, snapshot=missing))
    assert (info.value.path, info.value.hint) == (
        VALUES,
        f"render them again: python3 releases/1.15/render_values.py --env-file "
        f"sites/production/config.env --output {VALUES}",
    )


def test_a_window_not_written_is_the_tests_default() -> None:
    kill = pod(
        "redis-cluster-2",
        status("redis", 1, last={"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-26T14:58:00Z"}),
    )
    check = dataclasses.replace(CHECKS["kube-oomkilled"], spec={"test": "oomkilled"})
    verdict = KubeKind().evaluate(check, target(), state([kill], [sts()]))  # 23h ago: within 24h
    assert verdict.ok is False
    assert verdict.message.splitlines()[1].endswith("judged at 2026-11-27T13:58:00Z (--kube-snapshot-time)")


def test_a_finding_without_keys_points_nowhere_and_one_with_keys_at_the_first() -> None:
    crash = pod("redis-cluster-2", status("redis", 7, waiting="CrashLoopBackOff"))
    verdict = judge("kube-crashloop", state([crash], [sts()]))
    assert verdict.ok is False and verdict.location is None and verdict.action is None


# --------------------------------------------------------------------------- events that cannot be read


FORBIDDEN = ("kubernetes unavailable: 403 Forbidden: the service account monitoring/pytest-slo may not list events in "
             "namespace production (add verb list on events to deploy/rbac.yaml's Role)")


def test_events_that_cannot_be_read_are_one_warning_per_namespace_and_run() -> None:
    crash = pod("redis-cluster-2", status("redis", 7, waiting="CrashLoopBackOff"))
    data = state([crash], [sts()], events_error=FORBIDDEN)
    tgt = target()
    with pytest.warns(SloWarning) as caught:
        verdicts = [judge(check, data, tgt) for check in ("kube-crashloop", "kube-restarts", "kube-rollout")]
    assert [v.ok for v in verdicts] == [False, False, True]  # judged all the same
    assert [(str(w.message), w.filename, w.lineno) for w in caught] == [
        (f"kube findings carry no events of namespace production: {FORBIDDEN}", "snapshot dump.json", 0)
    ]
    with pytest.warns(SloWarning):  # another run says it again
        judge("kube-crashloop", data, target())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        judge("kube-crashloop", state([crash], [sts()]), target())


# --------------------------------------------------------------------------- who reports an app that is not there


@pytest.mark.parametrize(("selected", "gone", "reporter"), [
    (["kube-crashloop", "kube-rollout", "kube-resources-drift"], "workloads", "kube-rollout"),
    (["kube-crashloop", "kube-restarts", "kube-image-drift"], "workloads", "kube-image-drift"),  # pod checks judge pods
    (["kube-restarts", "kube-image-drift", "kube-crashloop"], "app", "kube-crashloop"),  # the first by id
    (["kube-image-drift", "kube-rollout", "kube-crashloop"], "app", "kube-rollout"),  # rollout first, whatever the ids
])
def test_one_selected_check_reports_what_is_missing(selected: list[str], gone: str, reporter: str) -> None:
    kind, tgt = KubeKind(), target()
    kind.prefetch(tgt.sources, [(CHECKS[c], tgt) for c in selected])
    data = state([pod("redis-cluster-0", status())] if gone == "workloads" else [], [], namespace_pods=[])
    verdicts = {c: kind.evaluate(CHECKS[c], tgt, data) for c in selected}
    able = [
        c
        for c in selected
        if c == reporter or gone == "app" or c in ("kube-rollout", "kube-resources-drift", "kube-image-drift")
    ]
    assert [c for c, v in verdicts.items() if v.ok is False] == [reporter]
    assert {c for c, v in verdicts.items() if v.skip and v.skip.endswith(f"(reported by {reporter})")} == set(able) - {
        reporter
    }
    assert (
        str(verdicts[reporter].location) == "sites/production/config.env:4"
    )  # KUBE_NAMESPACE: no KUBE_APP_SELECTOR line


def test_a_missing_app_points_at_the_selector_the_site_sets(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    env = root / "sites/production/config.env"
    env.write_text(env.read_text() + "KUBE_APP_SELECTOR=app={app}\n")
    verdict = judge("kube-rollout", state(namespace_pods=[]), target(root=root))
    assert verdict.ok is False
    assert verdict.location is not None and verdict.location.line == len(env.read_text().splitlines())
    assert verdict.message.splitlines()[-1] == "  snapshot dump.json"


def test_missing_pods_alone_skip_even_the_only_selected_check() -> None:
    kind, tgt = KubeKind(), target()
    kind.prefetch(tgt.sources, [(CHECKS["kube-crashloop"], tgt)])
    verdict = kind.evaluate(CHECKS["kube-crashloop"], tgt, state([], [sts()]))
    assert (
        verdict.skip
        == f"no pod in namespace production matches {SELECTOR} (StatefulSet/redis-cluster wants 3) (the rollout "
           "check judges the replicas)"
    )


def test_without_a_run_a_rollout_check_of_any_name_reports_itself() -> None:
    team = dataclasses.replace(CHECKS["kube-rollout"], id="team-rollout")
    verdict = KubeKind().evaluate(team, target(), state(namespace_pods=[]))
    assert verdict.ok is False
    assert KubeKind().evaluate(CHECKS["kube-crashloop"], target(), state(namespace_pods=[])).skip is not None


# --------------------------------------------------------------------------- values of several apps


def test_each_app_is_judged_against_its_own_values() -> None:
    site = Repo(REPO).site("production")
    sources = target().sources
    redis, api = Target(site, "redis-cluster", sources), Target(site, "api-server", sources)
    container = {"name": "api", "image": "api:3.4.1", "resources": {"limits": {"memory": "1Gi", "cpu": "1"},
                                                                      "requests": {"memory": "512Mi", "cpu": "250m"}}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api-server", "namespace": "production"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [container]}}},
        "status": {"readyReplicas": 3},
    }
    assert judge("kube-resources-drift", state([pod("redis-cluster-0", status())], [sts()]), redis).ok
    assert judge("kube-resources-drift", state([pod("api-server-0", status("api"))], [deployment]), api).ok


def test_a_value_the_template_writes_points_at_the_values_line(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    template = root / "releases/1.15/apps/redis-cluster/values.yaml.j2"
    template.write_text(template.read_text().replace("cpu: {{ REDIS_CPU_LIMIT | yaml }}", 'cpu: "500m"'))
    subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            "sites/production/config.env",
            "--output",
            VALUES,
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    live = sts()
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1"
    verdict = judge("kube-resources-drift", state([pod("redis-cluster-0", status())], [live]), target(root=root))
    line = (root / VALUES).read_text().splitlines().index('    cpu: "500m"') + 1
    assert str(verdict.location) == f"{VALUES}:{line}"
    assert verdict.evidence["fields"][1]["edit"] == f"{VALUES}:{line}"


def test_the_state_shares_the_runs_objects_and_is_read_per_app() -> None:
    tgt = snapshot_target()
    data = KubeKind().fetch(CHECKS["kube-crashloop"], tgt)
    source = tgt.sources.kube()
    # the run's own objects, not deep copies of thousands of pods per app
    assert data.pods[0] is source.pods("production", SELECTOR, shared=True)[0]
    assert data.workloads[0] is source.workloads("production", SELECTOR, shared=True)[0]
    assert data.events[0] is source.events("production", shared=True)[0]
    api = KubeKind().fetch(CHECKS["kube-crashloop"], Target(tgt.site, "api-server", tgt.sources))
    assert api.selector == "app.kubernetes.io/name=api-server" and api is not data
    missing = KubeKind().fetch(CHECKS["kube-rollout"], Target(tgt.site, "valkey", tgt.sources))
    assert missing.namespace_pods is not None and missing.namespace_pods[0] is source.pods("production", shared=True)[0]


def test_pods_without_a_workload_still_get_their_events() -> None:
    tgt = snapshot_target("redis-backup")  # a CronJob's pods: no StatefulSet or Deployment
    data = KubeKind().fetch(CHECKS["kube-crashloop"], tgt)
    assert [p["metadata"]["name"] for p in data.pods] == ["redis-backup-29929795-x7k2p"] and data.workloads == []
    assert data.events and data.namespace_pods is None


def test_events_the_role_may_not_list_leave_the_state_whole(tmp_path: Path) -> None:
    from teststack.kubeapi import FakeKubeAPI

    with FakeKubeAPI(INCIDENT) as api:
        api.forbidden.add(("list", "events"))
        options = LiveOptions(
            timeout=5.0, kube_context="fake-kube", environ={"KUBECONFIG": str(api.kubeconfig(tmp_path / "kubeconfig"))}
        )
        sources = Sources(options)
        try:
            data = KubeKind().fetch(
                CHECKS["kube-crashloop"], Target(Repo(REPO).site("production"), "redis-cluster", sources)
            )
        finally:
            sources.close()
    assert len(data.pods) == 3 and data.events == []
    assert data.events_error == FORBIDDEN


def test_each_namespace_whose_events_cannot_be_read_is_warned_of() -> None:
    tgt = target()
    crash = pod("redis-cluster-2", status("redis", 7, waiting="CrashLoopBackOff"))
    with pytest.warns(SloWarning) as caught:
        for namespace in ("production", "staging"):
            judge("kube-crashloop", state([crash], [sts()], namespace=namespace, events_error="403"), tgt)
    assert [str(w.message) for w in caught] == [
        "kube findings carry no events of namespace production: 403",
        "kube findings carry no events of namespace staging: 403",
    ]
