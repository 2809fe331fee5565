"""``kube-pods``: every way a pod gets stuck, said as ``kubectl get pods`` says it, then in the
kubelet's or the scheduler's own words (no server).

States without an is-healthy fixture use the wording Kubernetes itself writes, from its source:
``pkg/kubelet/images/image_manager.go`` (``Back-off pulling image %q``, ``Failed to apply default
image tag %q: couldn't parse image name %q: invalid reference format``),
``pkg/kubelet/kuberuntime/kuberuntime_container.go`` with ``pkg/kubelet/secret/secret_manager.go``
(``secret "redis-auth" not found``), ``pkg/scheduler/framework/types.go`` (FitError: ``0/3 nodes are
available: 3 Insufficient memory. preemption: ...``), ``pkg/kubelet/eviction/helpers.go`` (``The node
was low on resource: memory. Threshold quantity: ...``) and ``pkg/printers/internalversion/printers.go``
(printPod: ``Init:``, ``Terminating``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pytest_slo.findings.fingerprint import fingerprint
from pytest_slo.kinds._kube_pods import kubectl_status

from .kube_helpers import WHERE, at, judge, pod, state, status, sts, terminated

UNSCHEDULABLE = (
    "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod.."
)
EVICTED = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi. "


def waiting(reason: str, message: str | None = None, name: str = "redis") -> dict[str, Any]:
    detail = {"reason": reason, **({"message": message} if message else {})}
    return {"name": name, "restartCount": 0, "ready": False, "state": {"waiting": detail}, "lastState": {}}


def conditions(
    item: dict[str, Any], *entries: tuple[str, str, timedelta | None, str | None, str | None]
) -> dict[str, Any]:
    item["status"]["conditions"] = [
        {"type": kind, "status": value, **({"lastTransitionTime": at(since)} if since else {}),
         **({"reason": reason} if reason else {}), **({"message": message} if message else {})}
        for kind, value, since, reason, message in entries
    ]
    return item


def created(item: dict[str, Any], ago: timedelta) -> dict[str, Any]:
    item["metadata"]["creationTimestamp"] = at(ago)
    return item


def first_line(*pods: dict[str, Any], **spec: Any) -> str | None:
    verdict = judge("kube-pods", state(list(pods), [sts()]), **spec)
    return None if verdict.ok else verdict.message.splitlines()[0]


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("ImagePullBackOff", 'Back-off pulling image "redis:7.0.99"'),
        (
            "ErrImagePull",
            'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/redis:7.0.99": '
            'failed to resolve reference "docker.io/library/redis:7.0.99": docker.io/library/redis:7.0.99: not found',
        ),
        (
            "InvalidImageName",
            'Failed to apply default image tag "redis:7.0.15:x": couldn\'t parse image name "redis:7.0.15:x": '
            "invalid reference format",
        ),
        ("CreateContainerConfigError", 'secret "redis-auth" not found'),
        (
            "CreateContainerError",
            'failed to generate container "4f1c" spec: failed to apply OCI options: no such file or directory',
        ),
        (
            "RunContainerError",
            "failed to create containerd task: failed to create shim task: OCI runtime create failed: unknown",
        ),
    ],
)
def test_a_container_that_cannot_start_is_stuck_at_once(reason: str, message: str) -> None:
    # created a minute ago: an error is not progress, no window to wait for
    item = created(pod("redis-cluster-2", status("metrics"), waiting(reason, message)), timedelta(minutes=1))
    item["status"]["phase"] = "Pending"
    assert kubectl_status(item).text == reason
    verdict = judge("kube-pods", state([item], [sts()]))
    assert (
        verdict.message
        == f"redis-cluster-2: {reason} (container redis): {message}\n{WHERE}, judged at 2026-11-27T13:58:00Z "
           "(--kube-snapshot-time)"
    )
    assert verdict.objects == [{"pod": "redis-cluster-2", "container": "redis"}]
    [item_evidence] = verdict.evidence["items"]
    assert (item_evidence["status"], item_evidence["container"], item_evidence["message"]) == (reason, "redis", message)


def test_an_init_container_that_cannot_start_or_failed_names_it() -> None:
    pulling = pod(
        "redis-cluster-0", waiting("PodInitializing"), init=[waiting("ErrImagePull", "not found", name="init-sysctl")]
    )
    assert first_line(pulling) == "redis-cluster-0: Init:ErrImagePull (init container init-sysctl): not found"
    failed_init = {"name": "init-sysctl", "restartCount": 1, "ready": False,
                   "state": {"terminated": terminated("Error", 1, timedelta(seconds=20))}, "lastState": {}}
    failed = pod("redis-cluster-0", waiting("PodInitializing"), init=[failed_init])
    assert first_line(failed) == "redis-cluster-0: Init:Error (init container init-sysctl): exit 1"
    # a completed init container is passed over: the next one is the one that holds the pod
    done = {"name": "init-perms", "restartCount": 0, "ready": True,
            "state": {"terminated": terminated("Completed", 0, timedelta(minutes=3))}, "lastState": {}}
    assert (
        kubectl_status(pod("redis-cluster-0", waiting("PodInitializing"), init=[done, failed_init])).text
        == "Init:Error"
    )
    assert (
        kubectl_status(
            pod("redis-cluster-0", waiting("PodInitializing"), init=[done, waiting("PodInitializing", name="b")])
        ).text
        == "Init:1/2"
    )


def test_crash_loops_are_the_crashloop_checks_also_in_an_init_container() -> None:
    looping = {
        "name": "init-sysctl",
        "restartCount": 470,
        "ready": False,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": terminated("Error", 1, timedelta(minutes=3))},
    }
    item = pod("redis-cluster-0", waiting("PodInitializing"), init=[looping])
    assert kubectl_status(item).text == "Init:CrashLoopBackOff"
    assert first_line(item) is None
    crash = judge("kube-crashloop", state([item], [sts()]))
    assert (
        crash.message.splitlines()[0]
        == "redis-cluster-0/init-sysctl: Init:CrashLoopBackOff, 470 restarts, last terminated Error (exit 1)"
    )
    assert first_line(pod("redis-cluster-2", waiting("CrashLoopBackOff"))) is None


@pytest.mark.parametrize(("age", "stuck"), [(timedelta(minutes=10), False), (timedelta(minutes=10, seconds=1), True)])
def test_an_unschedulable_pod_counts_once_pending_longer_than_the_window(age: timedelta, stuck: bool) -> None:
    item = created(pod("redis-cluster-2"), age)
    item["status"] = {"phase": "Pending"}
    conditions(item, ("PodScheduled", "False", timedelta(minutes=9), "Unschedulable", UNSCHEDULABLE))
    line = first_line(item)
    assert (line is not None) is stuck
    if stuck:
        assert line == f"redis-cluster-2: Pending for 10 min, Unschedulable: {UNSCHEDULABLE}"
        assert first_line(item, window="1h") is None  # the check's window, not a constant


def test_a_pod_creating_its_containers_for_too_long_says_why() -> None:
    item = created(pod("redis-cluster-2", waiting("ContainerCreating")), timedelta(minutes=25))
    item["status"]["phase"] = "Pending"
    conditions(
        item,
        ("PodScheduled", "True", timedelta(minutes=25), None, None),
        ("Ready", "False", timedelta(minutes=25), "ContainersNotReady", "containers with unready status: [redis]"),
    )
    assert (
        first_line(item)
        == "redis-cluster-2: ContainerCreating for 25 min (container redis): containers with unready status: [redis]"
    )
    assert first_line(created(item, timedelta(minutes=5))) is None


def test_evicted_with_the_kubelets_message_whatever_kubectl_prints() -> None:
    item = pod("redis-cluster-1", {"name": "redis", "restartCount": 0, "ready": False,
                                   "state": {"terminated": {"reason": "ContainerStatusUnknown", "exitCode": 137}}})
    item["status"].update(phase="Failed", reason="Evicted", message=EVICTED)
    assert (
        first_line(item)
        == "redis-cluster-1: Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi."
    )
    assert judge("kube-pods", state([item], [sts()])).objects == [{"pod": "redis-cluster-1"}]


@pytest.mark.parametrize(("past", "stuck"), [(timedelta(minutes=10), False), (timedelta(minutes=11), True)])
def test_terminating_past_its_grace_period(past: timedelta, stuck: bool) -> None:
    item = pod("redis-cluster-0", status("redis"))
    item["metadata"].update(
        deletionTimestamp=at(past), deletionGracePeriodSeconds=30, finalizers=["example.com/backup"]
    )
    assert kubectl_status(item).text == "Terminating"
    line = first_line(item)
    assert (line is not None) is stuck
    if stuck:
        assert line == (f"redis-cluster-0: Terminating 11 min past its grace period: deleted with 30 s grace, "
                        f"due gone at {at(past)}; finalizers example.com/backup hold it")


@pytest.mark.parametrize(("since", "stuck"), [(timedelta(minutes=10), False), (timedelta(minutes=40), True)])
def test_running_but_not_ready_for_longer_than_the_window(since: timedelta, stuck: bool) -> None:
    item = pod("redis-cluster-2", status("metrics"), {**status("redis"), "ready": False})
    conditions(item, ("Ready", "False", since, "ContainersNotReady", "containers with unready status: [redis]"))
    line = first_line(item)
    assert (line is not None) is stuck
    if stuck:
        assert (
            line
            == "redis-cluster-2: Running, not Ready for 40 min (1/2 containers ready): containers with unready "
               "status: [redis]"
        )


def test_pods_that_run_or_finished_are_fine() -> None:
    running = conditions(pod("redis-cluster-0", status("redis")), ("Ready", "True", timedelta(days=3), None, None))
    finished = pod(
        "redis-backup-29929795-x7k2p",
        {
            "name": "backup",
            "restartCount": 0,
            "ready": False,
            "state": {"terminated": terminated("Completed", 0, timedelta(minutes=1))},
        },
    )
    finished["status"]["phase"] = "Succeeded"
    assert kubectl_status(finished).text == "Completed"
    verdict = judge("kube-pods", state([running, finished], [sts()]))
    assert verdict.ok and verdict.evidence["items"] == []


def test_every_stuck_pod_is_listed_and_a_generated_name_counts_as_its_owner() -> None:
    def pulling(name: str) -> dict[str, Any]:
        item = pod(
            name,
            waiting("ImagePullBackOff", 'Back-off pulling image "api:3.4.2"', name="api"),
            owner="ReplicaSet/api-server-6b7f9c8d4",
        )
        item["status"]["phase"] = "Pending"
        return item

    verdict = judge(
        "kube-pods", state([pulling("api-server-6b7f9c8d4-tq5ln"), pulling("api-server-6b7f9c8d4-2xkqp")], [sts()])
    )
    assert verdict.message.splitlines()[0].endswith("(and 1 more)")
    assert len(verdict.message.splitlines()) == 4
    rescheduled = judge("kube-pods", state([pulling("api-server-7c9d5f6b8-zz2kq")], [sts()]))
    # another ReplicaSet's pod, same Deployment, same container: the same problem for baselines and waivers
    assert fingerprint("kube-pods", "production", "api-server", verdict.objects) == fingerprint(
        "kube-pods", "production", "api-server", rescheduled.objects
    )


def test_kubectl_status_reads_as_kubectl_prints_it() -> None:
    """The rarer branches of kubectl's printPod, each as kubectl prints it."""
    done = {
        "name": "sidecar",
        "restartCount": 0,
        "ready": False,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    up = {
        "name": "proxy",
        "restartCount": 0,
        "ready": True,
        "state": {"running": {"startedAt": at(timedelta(hours=1))}},
    }
    completed_but_running = pod("job-0", done, up)
    assert kubectl_status(completed_but_running).text == "NotReady"
    conditions(completed_but_running, ("Ready", "True", None, None, None))
    assert kubectl_status(completed_but_running).text == "Running"
    gated = pod("redis-cluster-3")
    gated["status"] = {"phase": "Pending"}
    conditions(
        gated,
        ("PodScheduled", "False", None, "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates"),
    )
    assert kubectl_status(gated).text == "SchedulingGated"
    lost = pod("redis-cluster-1", status("redis"))
    lost["metadata"]["deletionTimestamp"] = at(timedelta(minutes=1))
    lost["status"]["reason"] = "NodeLost"
    assert kubectl_status(lost).text == "Unknown"
    signalled = pod(
        "redis-cluster-0",
        {"name": "redis", "restartCount": 0, "ready": False, "state": {"terminated": {"exitCode": 137, "signal": 9}}},
    )
    assert kubectl_status(signalled).text == "Signal:9"
    exited = pod(
        "redis-cluster-0",
        {"name": "redis", "restartCount": 0, "ready": False, "state": {"terminated": {"exitCode": 3}}},
    )
    assert kubectl_status(exited).text == "ExitCode:3"
    # a sidecar (an init container that keeps running) that started does not hold the pod in Init:
    sidecar = pod(
        "redis-cluster-0",
        status("redis"),
        init=[
            {
                "name": "istio-proxy",
                "restartCount": 0,
                "ready": True,
                "started": True,
                "state": {"running": {"startedAt": at(timedelta(hours=1))}},
            }
        ],
    )
    sidecar["spec"]["initContainers"] = [{"name": "istio-proxy", "restartPolicy": "Always"}]
    assert kubectl_status(sidecar).text == "Running"
    sidecar["spec"]["initContainers"][0].pop("restartPolicy")
    assert kubectl_status(sidecar).text == "Init:0/1"


def not_ready_since(*, condition_at: timedelta | None, started: timedelta | None, start: timedelta | None,
                    created: timedelta | None, reason: str | None = None, message: str | None = None) -> str | None:
    state_ = {"running": {"startedAt": at(started)}} if started else {"waiting": {"reason": "ContainerCreating"}}
    item = pod("redis-cluster-2", {"name": "redis", "restartCount": 0, "ready": False, "state": state_})
    item["status"]["phase"] = "Running"
    if start:
        item["status"]["startTime"] = at(start)
    if created:
        item["metadata"]["creationTimestamp"] = at(created)
    conditions(item, ("Ready", "False", condition_at, reason, message))
    return first_line(item)


def test_how_long_a_pod_has_not_been_ready_when_the_condition_has_no_time() -> None:
    head = "redis-cluster-2: Running, not Ready"
    assert not_ready_since(
        condition_at=timedelta(minutes=40), started=timedelta(hours=5), start=None, created=None
    ) == (f"{head} for 40 min (0/1 containers ready): condition Ready is False")
    # no time on the condition: the latest container start bounds it, then the pod's start, then its creation
    assert not_ready_since(
        condition_at=None, started=timedelta(minutes=30), start=timedelta(hours=5), created=None
    ).startswith(f"{head} for 30 min")
    assert not_ready_since(condition_at=None, started=None, start=timedelta(hours=2), created=timedelta(hours=5)) == (
        "redis-cluster-2: ContainerCreating, not Ready for 2.0h (0/1 containers ready): condition Ready is False")
    assert not_ready_since(condition_at=None, started=None, start=None, created=timedelta(hours=3)).startswith(
        "redis-cluster-2: ContainerCreating, not Ready for 3.0h")
    assert not_ready_since(condition_at=None, started=None, start=None, created=None) == (
        "redis-cluster-2: ContainerCreating, not Ready, since a time not recorded (0/1 containers ready): "
        "condition Ready is False"
    )
    assert not_ready_since(
        condition_at=timedelta(hours=1), started=None, start=None, created=None, reason="ReadinessGatesNotReady"
    ) == ("redis-cluster-2: ContainerCreating, not Ready for 60 min (0/1 containers ready): ReadinessGatesNotReady")


def test_the_evidence_of_each_stuck_pod() -> None:
    evicted = pod("redis-cluster-1")
    evicted["status"] = {"phase": "Failed", "reason": "Evicted", "message": EVICTED}
    pending = created(pod("redis-cluster-3"), timedelta(minutes=30))
    pending["status"] = {"phase": "Pending"}
    conditions(pending, ("PodScheduled", "False", None, "Unschedulable", UNSCHEDULABLE))
    failed = pod(
        "job-x7k2p", {"name": "job", "restartCount": 0, "ready": False, "state": {"terminated": {"reason": "Error"}}}
    )
    failed["status"]["phase"] = "Failed"
    verdict = judge("kube-pods", state([evicted, pending, failed], [sts()]))
    assert verdict.evidence["items"] == [
        {
            "pod": "redis-cluster-1",
            "status": "Evicted",
            "container": None,
            "reason": "Evicted",
            "message": EVICTED.strip(),
            "since": None,
        },
        {
            "pod": "redis-cluster-3",
            "status": "Pending",
            "container": None,
            "reason": None,
            "message": UNSCHEDULABLE,
            "since": at(timedelta(minutes=30)),
        },
        {"pod": "job-x7k2p", "status": "Error", "container": "job", "reason": "Error", "message": None, "since": None},
    ]
    assert (
        verdict.message.splitlines()[-1] == "  job-x7k2p: Error (container job)"
    )  # nothing more said: nothing appended


def test_a_stuck_pods_events_come_with_it() -> None:
    item = pod(
        "redis-cluster-2", status("metrics"), waiting("CreateContainerConfigError", 'secret "redis-auth" not found')
    )
    failed = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e"},
        "type": "Warning",
        "reason": "Failed",
        "involvedObject": {"kind": "Pod", "name": "redis-cluster-2"},
        "message": 'Error: secret "redis-auth" not found',
        "count": 78,
        "lastTimestamp": at(timedelta(seconds=16)),
    }
    verdict = judge("kube-pods", state([item], [sts()], events=[failed]))
    assert (
        verdict.message.splitlines()[-1]
        == '  event Pod/redis-cluster-2: Failed x78, last 16 s ago: Error: secret "redis-auth" not found'
    )


def test_deleted_pods_without_finalizers_or_a_readable_time() -> None:
    item = pod("redis-cluster-0", status("redis"))
    item["metadata"].update(deletionTimestamp=at(timedelta(hours=2)), deletionGracePeriodSeconds=30)
    assert first_line(item) == (f"redis-cluster-0: Terminating 2.0h past its grace period: deleted with 30 s grace, "
                                f"due gone at {at(timedelta(hours=2))}")
    item["metadata"]["deletionTimestamp"] = "soon"
    assert first_line(item) is None  # not judged: no time to say how long


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (-5, "0 s"),
        (89, "89 s"),
        (90, "2 min"),
        (5399, "90 min"),
        (5400, "1.5h"),
        (48 * 3600 - 1, "48.0h"),
        (48 * 3600, "2.0 days"),
    ],
)
def test_durations_read_in_a_persons_units(seconds: float, said: str) -> None:
    from pytest_slo.kinds._kube_text import duration

    assert duration(seconds) == said


def test_a_terminated_container_without_a_reason_reads_by_its_exit_code() -> None:
    bare = pod("redis-cluster-0", {"name": "redis", "restartCount": 0, "ready": False, "state": {"terminated": {}}})
    assert kubectl_status(bare).text == "ExitCode:0"
    one = judge(
        "kube-crashloop", state([pod("redis-cluster-2", status("redis", 1, waiting="CrashLoopBackOff"))], [sts()])
    )
    assert one.message.splitlines()[0] == "redis-cluster-2/redis: CrashLoopBackOff, 1 restart"
