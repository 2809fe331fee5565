"""What the fake Kubernetes API answers: its routes, ``Status`` errors and ``*List`` bodies.

Functions of the request and of the objects served, so that :mod:`kubeapi` keeps only the
server's state (mode, token, recorded requests) and its lifecycle. The shapes copy the real
API server's, since the real ``kubernetes`` client parses them in the tests.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_slo.sources.kube import Requirement, field_selector_matches, label_selector_matches

__all__ = [
    "KINDS",
    "NAMESPACE_KIND",
    "SERVICE_ACCOUNT_USER",
    "VERSION",
    "Kind",
    "forbidden_status",
    "list_answer",
    "namespaces_answer",
    "object_answer",
    "route",
    "status",
]

SERVICE_ACCOUNT_USER = "system:serviceaccount:monitoring:pytest-slo"

VERSION: dict[str, Any] = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.6",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-10-22T00:00:00Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass(frozen=True)
class Kind:
    """A resource the fake serves, by its URL plural and the kind/apiVersion of its objects."""

    plural: str
    kind: str
    api_version: str


KINDS = {
    ("api/v1", "pods"): Kind("pods", "Pod", "v1"),
    ("api/v1", "events"): Kind("events", "Event", "v1"),
    ("apis/apps/v1", "statefulsets"): Kind("statefulsets", "StatefulSet", "apps/v1"),
    ("apis/apps/v1", "deployments"): Kind("deployments", "Deployment", "apps/v1"),
}
NAMESPACE_KIND = Kind("namespaces", "Namespace", "v1")


def status(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A ``v1 Status`` failure, the body of every error answer of the real API server."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = dict(details)
    return body


def route(path: str) -> tuple[Kind, str | None, str | None] | None:
    """(kind, namespace or None, name or None) for a resource URL; None when it names none."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        prefix, rest = "api/v1", parts[2:]
    elif parts[:3] == ["apis", "apps", "v1"]:
        prefix, rest = "apis/apps/v1", parts[3:]
    else:
        return None
    if prefix == "api/v1" and rest and rest[0] == "namespaces" and len(rest) <= 2:
        return NAMESPACE_KIND, None, rest[1] if len(rest) == 2 else None
    namespace = None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 2:
        return None
    kind = KINDS.get((prefix, rest[0]))
    if kind is None:
        return None
    return kind, namespace, rest[1] if len(rest) == 2 else None


def namespaces_answer(name: str | None, known: set[str], versions: Iterator[int]) -> tuple[int, dict[str, Any]]:
    """``GET /api/v1/namespaces[/{name}]``; ``versions`` yields the next list resourceVersion."""

    def namespace_object(ns: str) -> dict[str, Any]:
        return {
            "metadata": {
                "name": ns,
                "uid": f"00000000-0000-4000-8000-{zlib.crc32(ns.encode()):012d}",
                "resourceVersion": "1042",
                "creationTimestamp": "2025-03-04T10:00:00Z",
                "labels": {"kubernetes.io/metadata.name": ns},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }

    if name is None:
        return 200, {
            "kind": "NamespaceList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(next(versions))},
            "items": [namespace_object(ns) for ns in sorted(known)],
        }
    if name not in known:
        return 404, status(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})
    return 200, {"kind": "Namespace", "apiVersion": "v1", **namespace_object(name)}


def object_answer(kind: Kind, name: str, objects: Sequence[Mapping[str, Any]]) -> tuple[int, dict[str, Any]]:
    """``GET .../{plural}/{name}``: a copy of the object, or the API server's 404."""
    for obj in objects:
        if (obj.get("metadata") or {}).get("name") == name:
            return 200, json.loads(json.dumps(obj))
    group = kind.api_version.rpartition("/")[0]
    return 404, status(
        404,
        "NotFound",
        f'{kind.plural} "{name}" not found',
        {"name": name, "group": group, "kind": kind.plural} if group else {"name": name, "kind": kind.plural},
    )


def list_answer(
    kind: Kind,
    objects: Sequence[Mapping[str, Any]],
    requirements: tuple[Requirement, ...],
    field_selector: str | None,
    versions: Iterator[int],
) -> tuple[int, dict[str, Any]]:
    """``GET .../{plural}``: the ``{Kind}List`` of the objects both selectors select.

    ``requirements`` is the parsed label selector; both selectors have been validated.
    """
    selected = [
        obj
        for obj in objects
        if label_selector_matches(requirements, (obj.get("metadata") or {}).get("labels"))
        and field_selector_matches(field_selector, obj)
    ]
    selected.sort(
        key=lambda o: (
            (o.get("metadata") or {}).get("namespace") or "",
            (o.get("metadata") or {}).get("name") or "",
        )
    )
    items = []
    for obj in selected:
        item = json.loads(json.dumps(obj))
        item.pop("kind", None)  # list items come without kind/apiVersion, as from the real API
        item.pop("apiVersion", None)
        items.append(item)
    return 200, {
        "kind": f"{kind.kind}List",
        "apiVersion": kind.api_version,
        "metadata": {"resourceVersion": str(next(versions))},
        "items": items,
    }


def forbidden_status(verb: str, kind: Kind, namespace: str | None, name: str | None) -> dict[str, Any]:
    """The 403 ``Status`` of a Role that lacks ``verb`` on ``kind``, worded as the API server words it."""
    group = kind.api_version.rpartition("/")[0]
    resource = f'resource "{kind.plural}" in API group "{group}"'
    if kind is NAMESPACE_KIND:
        scope = "at the cluster scope" if name is None else f'in the namespace "{name}"'
    else:
        scope = "at the cluster scope" if namespace is None else f'in the namespace "{namespace}"'
    target = f'{kind.plural} "{name}"' if name is not None else kind.plural
    details: dict[str, Any] = {"kind": kind.plural}
    if name is not None:
        details["name"] = name
    if group:
        details["group"] = group
    return status(
        403,
        "Forbidden",
        f'{target} is forbidden: User "{SERVICE_ACCOUNT_USER}" cannot {verb} {resource} {scope}',
        details,
    )
