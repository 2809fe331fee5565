"""The judges of ``kind: kube``'s pod and workload tests: each returns its problem records.

One function per ``test:``, all of the same shape ``(check, target, state, window) -> [Problem]``
(the drift tests' is :func:`._kube_drift.rows`); ``kinds.kube.TESTS`` maps the test names to
them. ``window`` is the check's window as written and in seconds (None for a test that reads none).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from ._kube_pods import kubectl_status, ready, stuck
from ._kube_state import Problem, name_of, parse_time, statuses, within
from ._kube_text import ago, replicas
from .live import iso

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ._kube_state import KubeState
    from .base import Target

__all__ = ["DEFAULT_MAX_RESTARTS", "Window", "crashloop", "oomkilled", "pods", "restarts", "rollout"]

DEFAULT_MAX_RESTARTS = 5
Window = tuple[str, float]  # ("24h", 86400.0)


def _restarts(count: int) -> str:
    return f"{count} restart" + ("" if count == 1 else "s")


def _container(pod: dict[str, Any], cs: dict[str, Any], evidence: dict[str, Any], text: str) -> Problem:
    name = name_of(pod)
    return Problem(text, evidence, {"pod": name, "container": str(cs.get("name"))}, (f"Pod/{name}",))


def _is_init(pod: dict[str, Any], cs: dict[str, Any]) -> bool:
    return any(cs is s for s in (pod.get("status") or {}).get("initContainerStatuses") or [])


def crashloop(check: Check, target: Target, state: KubeState, window: Window | None) -> list[Problem]:
    problems = []
    for pod in state.pods:
        for cs in statuses(pod):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") != "CrashLoopBackOff":
                continue
            last = (cs.get("lastState") or {}).get("terminated") or {}
            why = f", last terminated {last.get('reason')} (exit {last.get('exitCode')})" if last else ""
            # as kubectl shows it: an init container's crash loop keeps the pod in Init:
            status = "Init:CrashLoopBackOff" if _is_init(pod, cs) else "CrashLoopBackOff"
            text = f"{name_of(pod)}/{cs.get('name')}: {status}, {_restarts(cs.get('restartCount') or 0)}{why}"
            evidence = {
                "pod": name_of(pod),
                "container": cs.get("name"),
                "restartCount": cs.get("restartCount"),
                "lastState": last,
            }
            problems.append(_container(pod, cs, evidence, text))
    return problems


def oomkilled(check: Check, target: Target, state: KubeState, window: Window | None) -> list[Problem]:
    assert window is not None
    now, seconds = state.now, window[1]
    found: list[tuple[_dt.datetime, Problem]] = []
    for pod in state.pods:
        for cs in statuses(pod):
            for which in ("state", "lastState"):
                term = ((cs.get(which) or {}).get("terminated")) or {}
                finished = parse_time(term.get("finishedAt"))
                if term.get("reason") != "OOMKilled" or (finished and not within(now, finished, seconds)):
                    continue
                head = f"{name_of(pod)}/{cs.get('name')}: OOMKilled (exit {term.get('exitCode')})"
                if finished is None:  # a kill whose time cannot be read is not waved through
                    text = f"{head}, no readable time recorded ({term.get('finishedAt')!r})"
                else:
                    text = f"{head} {ago((now - finished).total_seconds())}, at {term.get('finishedAt')}"
                evidence = {"pod": name_of(pod), "container": cs.get("name"), "finishedAt": term.get("finishedAt"),
                            "exitCode": term.get("exitCode"), "restartCount": cs.get("restartCount")}
                found.append((finished or now, _container(pod, cs, evidence, text)))
    # the latest kill first: it is what is happening now (unreadable times lead)
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [problem for _, problem in found]


def restarts(check: Check, target: Target, state: KubeState, window: Window | None) -> list[Problem]:
    assert window is not None
    limit = int(check.spec.get("max_restarts", DEFAULT_MAX_RESTARTS))
    window_text, seconds = window
    now = state.now
    problems = []
    for pod in state.pods:
        for cs in statuses(pod):
            count = int(cs.get("restartCount") or 0)
            if count <= limit:
                continue
            terminated = (cs.get("lastState") or {}).get("terminated") or {}
            running = (cs.get("state") or {}).get("running") or {}
            last = parse_time(terminated.get("finishedAt")) or parse_time(running.get("startedAt"))
            if last is not None and not within(now, last, seconds):
                continue  # the last restart, so all of them, fell outside the window
            when = f"the last {ago((now - last).total_seconds())}" if last else "no time recorded for the last"
            text = (
                f"{name_of(pod)}/{cs.get('name')}: {_restarts(count)}, {when} (limit {limit} while the last "
                f"restart is within {window_text})"
            )
            evidence = {
                "pod": name_of(pod),
                "container": cs.get("name"),
                "restartCount": count,
                "lastRestart": iso(last) if last else None,
            }
            problems.append(_container(pod, cs, evidence, text))
    return problems


def _owned_by(pod: dict[str, Any], workload: dict[str, Any]) -> bool:
    """Whether ``pod`` belongs to ``workload``: a StatefulSet owns its pods, a Deployment
    through a ReplicaSet named ``<deployment>-<pod-template-hash>``."""
    name = name_of(workload)
    for owner in (pod.get("metadata") or {}).get("ownerReferences") or []:
        kind, owner_name = owner.get("kind"), str(owner.get("name"))
        if kind == workload.get("kind") and owner_name == name:
            return True
        if kind == "ReplicaSet" and workload.get("kind") == "Deployment" and owner_name.rsplit("-", 1)[0] == name:
            return True
    return False


def rollout(check: Check, target: Target, state: KubeState, window: Window | None) -> list[Problem]:
    records = []
    for wl in state.workloads:
        desired, ready_count = replicas(wl), int((wl.get("status") or {}).get("readyReplicas") or 0)
        workload = f"{wl.get('kind')}/{name_of(wl)}"
        evidence: dict[str, Any] = {"workload": workload, "desired": desired, "ready": ready_count}
        text = f"{workload}: {ready_count} of {desired} replicas ready"
        involves = [workload]
        if ready_count != desired:
            # why, when the pods say it: the ones of this workload that are not Ready
            waiting = [p for p in state.pods if _owned_by(p, wl) and not ready(p)]
            if waiting:
                evidence["not_ready"] = {name_of(p): kubectl_status(p).text for p in waiting}
                text += " (not Ready: " + ", ".join(f"{n} {s}" for n, s in evidence["not_ready"].items()) + ")"
                involves += [f"Pod/{name_of(p)}" for p in waiting]
        records.append(Problem(text, evidence, {"workload": workload}, tuple(involves), ok=ready_count == desired))
    return records


def pods(check: Check, target: Target, state: KubeState, window: Window | None) -> list[Problem]:
    assert window is not None
    return [p for p in (stuck(pod, state.now, window[1]) for pod in state.pods) if p is not None]
