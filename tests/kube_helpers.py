"""Hand-made Kubernetes objects and a judge for the kube verdict tests (no server, no pytest run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pytest_slo.catalog.model import Catalog, load_catalog
from pytest_slo.kinds import KindRegistry, Target, Verdict, builtin_kinds
from pytest_slo.kinds._kube_state import KubeState
from pytest_slo.kinds.kube import KubeKind
from pytest_slo.repo.site import Repo
from pytest_slo.settings import Settings
from pytest_slo.sources import Sources

__all__ = [
    "CHECKS",
    "REPO",
    "SELECTOR",
    "WHERE",
    "T",
    "at",
    "judge",
    "pod",
    "state",
    "status",
    "sts",
    "target",
    "terminated",
]

REPO = Path(__file__).resolve().parents[1]
T = datetime(2026, 11, 27, 13, 58, tzinfo=timezone.utc)
SELECTOR = "app.kubernetes.io/name=redis-cluster"
WHERE = f"  in namespace production, selector {SELECTOR} (snapshot dump.json)"


def _catalog(root: Path) -> Catalog:
    registry = KindRegistry()
    for kind in builtin_kinds():
        registry.register(kind)
    return load_catalog(root, registry.schemas)


CATALOG = _catalog(REPO)
CHECKS = {c.id: c for c in CATALOG.checks}


def target(app: str = "redis-cluster", *, root: Path = REPO, snapshot_time: datetime | None = T) -> Target:
    settings = Settings(root=root, kube_snapshot=root / "dump.json", kube_snapshot_time=snapshot_time)
    return Target(Repo(root).site("production"), app, Sources(settings.live_options()))


def state(pods: Sequence[dict[str, Any]] = (), workloads: Sequence[dict[str, Any]] = (), **extra: Any) -> KubeState:
    fields: dict[str, Any] = {
        "origin": "snapshot dump.json",
        "namespace": "production",
        "selector": SELECTOR,
        "now": T,
        "now_from": "--kube-snapshot-time",
        "pods": list(pods),
        "workloads": list(workloads),
        **extra,
    }
    return KubeState(**fields)


def at(delta: timedelta) -> str:
    return (T - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def terminated(reason: str, exit_code: int, ago: timedelta) -> dict[str, Any]:
    return {"reason": reason, "exitCode": exit_code, "startedAt": at(ago + timedelta(minutes=5)), "finishedAt": at(ago)}


def status(name: str = "redis", restarts: int = 0, *, waiting: str | None = None, running: timedelta | None = None,
           last: dict[str, Any] | None = None) -> dict[str, Any]:
    current: dict[str, Any] = (
        {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": at(running or timedelta(days=30))}}
    )
    return {"name": name, "restartCount": restarts, "ready": not waiting, "state": current,
            "lastState": {"terminated": last} if last else {}}


def pod(
    name: str,
    *statuses: dict[str, Any],
    labels: dict[str, str] | None = None,
    owner: str | None = "StatefulSet/redis-cluster",
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "production",
        "labels": labels or {"app.kubernetes.io/name": "redis-cluster"},
    }
    if owner:
        kind, _, owner_name = owner.partition("/")
        meta["ownerReferences"] = [{"kind": kind, "name": owner_name, "apiVersion": "apps/v1", "controller": True}]
    st: dict[str, Any] = {"phase": "Running", "containerStatuses": list(statuses)}
    if init:
        st["initContainerStatuses"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": s["name"]} for s in statuses]},
        "status": st,
    }


def sts(desired: int = 3, ready: int = 3, memory: str = "2Gi", image: str = "redis:7.0.15") -> dict[str, Any]:
    container = {
        "name": "redis",
        "image": image,
        "resources": {"limits": {"memory": memory, "cpu": "500m"}, "requests": {"memory": memory, "cpu": "250m"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "redis-cluster", "namespace": "production"},
        "spec": {"replicas": desired, "template": {"spec": {"containers": [container]}}},
        "status": {"readyReplicas": ready},
    }


def judge(
    check_id: str, data: KubeState, tgt: Target | None = None, kind: KubeKind | None = None, **spec: Any
) -> Verdict:
    check = CHECKS[check_id]
    if spec:
        check = dataclasses.replace(check, spec={**check.spec, **spec})
    return (kind or KubeKind()).evaluate(check, tgt or target(), data)
