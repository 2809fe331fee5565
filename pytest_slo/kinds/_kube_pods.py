"""How a pod reads in ``kubectl get pods``, and whether it is stuck (``test: pods``).

:func:`kubectl_status` is kubectl's own reading of a pod (``printPod`` in
``pkg/printers/internalversion/printers.go``): the pod's phase or reason, then the first init
container that has not completed (``Init:Error``, ``Init:CrashLoopBackOff``, ``Init:0/2``),
then the app containers' waiting or terminated reasons, ``Terminating`` once deleted.

:func:`stuck` says whether a pod is not running as it should, in three kinds of way:

* an error the kubelet reports, counted at once: a container waiting for any reason but
  progress (``ImagePullBackOff``, ``ErrImagePull``, ``InvalidImageName``,
  ``CreateContainerConfigError``, ``CreateContainerError``, ``RunContainerError``...), an init
  container that failed (``Init:Error``), an evicted or failed pod;
* progress that takes too long, counted once it has lasted longer than ``window``: pending
  (unschedulable, or creating its containers), running but not Ready, deleted and still
  there past its grace period;
* crash loops are left to ``test: crashloop`` and OOM kills to ``test: oomkilled``.

Each stuck pod is one problem: the state as kubectl shows it, then the kubelet's or the
scheduler's own message (``0/3 nodes are available: 3 Insufficient memory.``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ._kube_state import Problem, name_of, parse_time
from ._kube_text import duration
from .live import iso

__all__ = ["PodStatus", "kubectl_status", "ready", "stuck"]

#: Waiting reasons that are progress, not an error: judged only once they last too long.
PROGRESS = frozenset({"ContainerCreating", "PodInitializing"})
CRASH_LOOP = "CrashLoopBackOff"


@dataclass(frozen=True)
class PodStatus:
    """The STATUS column of ``kubectl get pods``, and the container state behind it."""

    text: str
    container: str | None = None
    init: bool = False
    #: The container's ``waiting`` or ``terminated`` state the status comes from.
    state: dict[str, Any] = field(default_factory=dict)
    waiting: bool = False


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def _terminated_reason(term: dict[str, Any]) -> str:
    if term.get("reason"):
        return str(term["reason"])
    return f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"


def _init_status(pod: dict[str, Any]) -> PodStatus | None:
    """The first init container that has not completed, as kubectl words it."""
    spec = pod.get("spec") or {}
    sidecars = {c.get("name") for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"}
    inits = (pod.get("status") or {}).get("initContainerStatuses") or []
    for index, cs in enumerate(inits):
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting") or {}
        name = cs.get("name")
        if term is not None and not term.get("exitCode"):
            continue
        if name in sidecars and cs.get("started"):
            continue  # a sidecar that started keeps running beside the app
        if term is not None:
            return PodStatus(f"Init:{_terminated_reason(term)}", name, True, term)
        if wait.get("reason") and wait["reason"] != "PodInitializing":
            return PodStatus(f"Init:{wait['reason']}", name, True, wait, waiting=True)
        return PodStatus(f"Init:{index}/{len(spec.get('initContainers') or inits)}", name, True, wait, waiting=True)
    return None


def _app_status(pod: dict[str, Any], shown: PodStatus) -> PodStatus:
    """The app containers' part of the status: the first container's waiting or terminated
    reason wins; a Completed pod with a container still running reads Running or NotReady."""
    running = False
    for cs in reversed((pod.get("status") or {}).get("containerStatuses") or []):
        state = cs.get("state") or {}
        wait, term = state.get("waiting") or {}, state.get("terminated")
        if wait.get("reason"):
            shown = PodStatus(str(wait["reason"]), cs.get("name"), False, wait, waiting=True)
        elif term is not None:
            shown = PodStatus(_terminated_reason(term), cs.get("name"), False, term)
        elif cs.get("ready") and state.get("running") is not None:
            running = True
    if shown.text == "Completed" and running:
        return PodStatus("Running" if _condition(pod, "Ready").get("status") == "True" else "NotReady")
    return shown


def kubectl_status(pod: dict[str, Any]) -> PodStatus:
    """What ``kubectl get pods`` prints in its STATUS column for ``pod``."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    shown = PodStatus(str(status.get("reason") or status.get("phase") or "Unknown"))
    if _condition(pod, "PodScheduled").get("reason") == "SchedulingGated":
        shown = PodStatus("SchedulingGated")
    init = _init_status(pod)
    if init is not None:
        shown = init
    if init is None or _condition(pod, "Initialized").get("status") == "True":
        shown = _app_status(pod, shown)
    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        return PodStatus("Unknown")
    if meta.get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        return PodStatus("Terminating")
    return shown


def ready(pod: dict[str, Any]) -> bool:
    """The pod's Ready condition; without one (an older or trimmed dump), whether every
    container says it is ready."""
    condition = _condition(pod, "Ready")
    if condition:
        return condition.get("status") == "True"
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all(cs.get("ready") for cs in statuses)


def stuck(pod: dict[str, Any], now: _dt.datetime, window: float) -> Problem | None:
    """The problem of a pod that is not running as it should, or None."""
    shown = kubectl_status(pod)
    if CRASH_LOOP in shown.text:
        return None  # test: crashloop reports it, with the restarts and the last termination
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return _deleting(pod, shown, now, window)
    phase = status.get("phase")
    if phase == "Succeeded":
        return None
    if status.get("reason") == "Evicted":
        # kubectl may print the containers' last reason (Error, ContainerStatusUnknown) instead
        return _problem(pod, PodStatus("Evicted"), status.get("message"))
    if phase == "Failed":  # a pod whose containers will not run again
        return _problem(pod, shown, status.get("message") or shown.state.get("message") or _exit(shown.state))
    if shown.waiting and shown.state.get("reason") and shown.state["reason"] not in PROGRESS:
        return _problem(pod, shown, shown.state.get("message"))  # ImagePullBackOff, Init:ErrImagePull...
    if shown.init and not shown.waiting and shown.state.get("exitCode"):
        return _problem(pod, shown, shown.state.get("message") or _exit(shown.state))  # Init:Error
    if phase == "Pending":
        return _pending(pod, shown, now, window)
    if not ready(pod):
        return _not_ready(pod, shown, now, window)
    return None


def _exit(state: dict[str, Any]) -> str:
    return f"exit {state['exitCode']}" if state.get("exitCode") is not None else ""


def _problem(
    pod: dict[str, Any], shown: PodStatus, message: Any, *, lasting: str = "", since: _dt.datetime | None = None
) -> Problem:
    name = name_of(pod)
    where = f" ({'init container' if shown.init else 'container'} {shown.container})" if shown.container else ""
    text = " ".join(str(message or "").split())  # the kubelet's messages may end in a space or wrap
    identity = {"pod": name, **({"container": str(shown.container)} if shown.container else {})}
    evidence = {
        "pod": name,
        "status": shown.text,
        "container": shown.container,
        "reason": shown.state.get("reason") or (pod.get("status") or {}).get("reason"),
        "message": text or None,
        "since": iso(since) if since else None,
    }
    line = f"{name}: {shown.text}{lasting}{where}" + (f": {text}" if text else "")
    return Problem(line, evidence, identity, (f"Pod/{name}",))


def _lasting(now: _dt.datetime, since: _dt.datetime | None, window: float) -> str | None:
    """`` for 12 min`` when it has lasted longer than ``window``; None while it has not."""
    if since is None:
        return ", since a time not recorded"
    seconds = (now - since).total_seconds()
    return f" for {duration(seconds)}" if seconds > window else None


def _pending(pod: dict[str, Any], shown: PodStatus, now: _dt.datetime, window: float) -> Problem | None:
    scheduled = _condition(pod, "PodScheduled")
    since = parse_time((pod.get("metadata") or {}).get("creationTimestamp")) or parse_time(
        scheduled.get("lastTransitionTime")
    )
    lasting = _lasting(now, since, window)
    if lasting is None:
        return None
    if scheduled.get("status") == "False":  # the scheduler's own reason: Unschedulable, SchedulingGated
        why = scheduled.get("reason") or "not scheduled"
        return _problem(pod, PodStatus(shown.text), scheduled.get("message"), lasting=f"{lasting}, {why}", since=since)
    message = shown.state.get("message") or _condition(pod, "Ready").get("message")
    return _problem(pod, shown, message, lasting=lasting, since=since)


def _not_ready(pod: dict[str, Any], shown: PodStatus, now: _dt.datetime, window: float) -> Problem | None:
    condition = _condition(pod, "Ready")
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    # Without the condition's time, the latest start bounds how long it has not been Ready.
    started = [parse_time(((cs.get("state") or {}).get("running") or {}).get("startedAt")) for cs in statuses]
    since = (
        parse_time(condition.get("lastTransitionTime"))
        or max((s for s in started if s is not None), default=None)
        or parse_time((pod.get("status") or {}).get("startTime"))
        or parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    )
    lasting = _lasting(now, since, window)
    if lasting is None:
        return None
    count = f"{sum(1 for cs in statuses if cs.get('ready'))}/{len(statuses)} containers ready"
    message = (
        condition.get("message")
        or condition.get("reason")
        or f"condition Ready is {condition.get('status', 'missing')}"
    )
    return _problem(pod, PodStatus(shown.text), message, lasting=f", not Ready{lasting} ({count})", since=since)


def _deleting(pod: dict[str, Any], shown: PodStatus, now: _dt.datetime, window: float) -> Problem | None:
    meta = pod.get("metadata") or {}
    # deletionTimestamp is when the grace period ends: the request's time plus the grace
    ends = parse_time(meta.get("deletionTimestamp"))
    if ends is None or (now - ends).total_seconds() <= window:
        return None
    grace = meta.get("deletionGracePeriodSeconds")
    finalizers = meta.get("finalizers") or []
    said = f"deleted with {grace} s grace, due gone at {iso(ends)}"
    if finalizers:
        said += f"; finalizers {', '.join(map(str, finalizers))} hold it"
    # kubectl says Terminating while it runs; a pod that finished keeps its Completed or Error
    text = shown.text if shown.text == "Terminating" else f"{shown.text}, deleted but still there"
    return _problem(
        pod,
        PodStatus(text),
        said,
        lasting=f" {duration((now - ends).total_seconds())} past its grace period",
        since=ends,
    )
