"""What both Kubernetes backends share: the resources queried, and the backend interface.

Kept apart from both backends so that the snapshot path never imports the live one's
error mapping, and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "BY_KIND",
    "DEPLOYMENTS",
    "EVENTS",
    "NAMESPACES",
    "PODS",
    "SOURCE",
    "STATEFULSETS",
    "Backend",
    "KubeObject",
    "Resource",
    "sort_key",
]

SOURCE = "kubernetes"

KubeObject = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    api_version: str  # "v1" or "apps/v1"
    list_method: str  # method of CoreV1Api / AppsV1Api

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified(self) -> str:
        """``pods``, ``statefulsets.apps`` — how RBAC and kubectl name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str) -> str:
        prefix = f"/apis/{self.api_version}" if self.group else f"/api/{self.api_version}"
        return f"{prefix}/namespaces/{namespace}/{self.plural}"


PODS = Resource("pods", "Pod", "v1", "list_namespaced_pod")
STATEFULSETS = Resource("statefulsets", "StatefulSet", "apps/v1", "list_namespaced_stateful_set")
DEPLOYMENTS = Resource("deployments", "Deployment", "apps/v1", "list_namespaced_deployment")
EVENTS = Resource("events", "Event", "v1", "list_namespaced_event")
NAMESPACES = Resource("namespaces", "Namespace", "v1", "read_namespace")
BY_KIND = {(r.api_version, r.kind): r for r in (PODS, STATEFULSETS, DEPLOYMENTS, EVENTS)}


def sort_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name): the order in which the API server lists objects."""
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Backend:
    """Where a :class:`~pytest_slo.sources.kube.KubeSource` gets its answers."""

    origin: str

    def list(
        self, resource: Resource, namespace: str, label_selector: str | None, field_selector: str | None
    ) -> list[KubeObject]:
        raise NotImplementedError

    def now(self) -> datetime:
        raise NotImplementedError

    def close(self) -> None:
        pass
