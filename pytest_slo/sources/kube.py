"""Read-only access to Kubernetes: a live cluster, or a snapshot file that answers the same way.

Two sources, one interface (:class:`KubeSource`):

* :meth:`KubeSource.from_config` talks to an API server with the official ``kubernetes``
  client: in-cluster service-account credentials when ``KUBERNETES_SERVICE_HOST`` is set
  (the nightly CronJob), else a kubeconfig context.
* :meth:`KubeSource.from_snapshot` answers from a ``v1 List`` JSON file, the output of
  ``kubectl get pods,deployments,statefulsets,events -n NS -o json``.

Both return plain dicts in the Kubernetes JSON shape (camelCase, exactly what the REST API
and ``kubectl -o json`` show), each item carrying ``apiVersion`` and ``kind`` as kubectl
writes them, sorted by (namespace, name) as the API server lists them. A check therefore
cannot tell a live answer from a snapshot answer, and its tests can run on snapshots.

Read-only by construction: the only verbs ever sent are ``get`` and ``list``
(``deploy/rbac.yaml`` grants nothing else).

Importing this module does not import ``kubernetes`` (about 0.5 s): the client is imported
inside :meth:`KubeSource.from_config`, so the offline path never pays for it.

Time in snapshots
-----------------
A snapshot is frozen, so "in the last 2 hours" must be measured from the moment it was taken,
not from the wall clock. :meth:`KubeSource.now` gives that moment: for a live source the
current UTC time, for a snapshot the ``as_of`` given to :meth:`from_snapshot`, else the
latest timestamp found in the file (events' ``lastTimestamp``, containers' ``finishedAt``...,
which in a dump taken during an incident is the minute of the dump). The shipped
``examples/snapshots/incident.json`` and ``fixed.json`` are both fixed at
``2026-11-27T13:58:00Z``. Checks should take their window (e.g. ``within: 2h``) from the
check spec and compare against ``source.now()``.

Errors
------
:class:`~pytest_slo.errors.SourceUnavailable` (source ``"kubernetes"``) with a one-line
reason when the cluster cannot answer: connection refused, timeout, 401, 403 (naming the
verb and resource the Role lacks), unknown namespace, 5xx.
:class:`~pytest_slo.errors.QueryError` when the server refuses the query itself (a bad
selector, an API group it does not serve).
:class:`~pytest_slo.errors.ConfigError` for a snapshot file that is not a well-formed
``v1 List``, naming the file and the JSON path (``items[3].status.containerStatuses``).
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pytest_slo.errors import ConfigError, QueryError, SourceUnavailable

if TYPE_CHECKING:  # pragma: no cover - typing only; never imported at run time
    from kubernetes.client import ApiClient, Configuration

__all__ = [
    "KubeSource",
    "KubeTimeouts",
    "field_selector_matches",
    "label_selector_matches",
    "parse_label_selector",
]

SOURCE = "kubernetes"
RBAC_FILE = "deploy/rbac.yaml"
SNAPSHOT_HINT = "expected the output of `kubectl get pods,deployments,statefulsets,events -n NAMESPACE -o json`"

KubeObject = dict[str, Any]


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class KubeTimeouts:
    """How long one API request may take, and how often a failed connection is retried.

    ``connect`` and ``read`` (seconds) are passed as ``_request_timeout=(connect, read)`` on
    every call. ``retries`` bounds urllib3's retry loop for *connection* errors only; reads
    are never retried, so a server that accepts and then hangs costs one ``read`` timeout,
    not four (urllib3's default ``Retry(3)`` would multiply it). The worst case for one call
    is :attr:`worst_case` seconds.
    """

    connect: float = 10.0
    read: float = 10.0
    retries: int = 0

    def __post_init__(self) -> None:
        if not (self.connect > 0 and self.read > 0):
            raise ValueError(f"kubernetes timeouts must be > 0 s, got connect={self.connect} read={self.read}")
        if self.retries < 0:
            raise ValueError(f"kubernetes retries must be >= 0, got {self.retries}")

    @classmethod
    def of(cls, value: float | tuple[float, float] | KubeTimeouts | None) -> KubeTimeouts:
        """``10`` → connect and read 10 s; ``(3, 30)`` → connect 3 s, read 30 s; None → defaults."""
        if value is None:
            return cls()
        if isinstance(value, KubeTimeouts):
            return value
        if isinstance(value, tuple):
            connect, read = value
            return cls(connect=float(connect), read=float(read))
        return cls(connect=float(value), read=float(value))

    @property
    def request_timeout(self) -> tuple[float, float]:
        """The client's ``_request_timeout`` argument."""
        return (self.connect, self.read)

    @property
    def worst_case(self) -> float:
        """Upper bound in seconds for one call, retries included."""
        return self.connect * (self.retries + 1) + self.read

    def urllib3_retries(self) -> Any:
        """The ``Configuration.retries`` value: connection retries only, no read/status retries."""
        from urllib3.util.retry import Retry

        return Retry(
            total=self.retries,
            connect=self.retries,
            read=0,
            status=0,
            other=0,
            redirect=0,
            backoff_factor=0,
            raise_on_status=False,
            raise_on_redirect=True,
        )


# --------------------------------------------------------------------------- resources


@dataclass(frozen=True)
class _Resource:
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


_PODS = _Resource("pods", "Pod", "v1", "list_namespaced_pod")
_STATEFULSETS = _Resource("statefulsets", "StatefulSet", "apps/v1", "list_namespaced_stateful_set")
_DEPLOYMENTS = _Resource("deployments", "Deployment", "apps/v1", "list_namespaced_deployment")
_EVENTS = _Resource("events", "Event", "v1", "list_namespaced_event")
_NAMESPACES = _Resource("namespaces", "Namespace", "v1", "read_namespace")
_BY_KIND = {(r.api_version, r.kind): r for r in (_PODS, _STATEFULSETS, _DEPLOYMENTS, _EVENTS)}


# --------------------------------------------------------------------------- selectors

_LABEL_KEY = re.compile(r"(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_REQ_SET = re.compile(r"^\s*(?P<key>\S+?)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_REQ_CMP = re.compile(r"^\s*(?P<key>[^\s=!<>]+)\s*(?P<op>==|=|!=|<|>)\s*(?P<value>[^\s=!<>]*)\s*$")
_REQ_NOT = re.compile(r"^\s*!\s*(?P<key>\S+)\s*$")
_REQ_HAS = re.compile(r"^\s*(?P<key>[^\s=!<>(),]+)\s*$")

Requirement = tuple[str, str, tuple[str, ...]]
"""(key, operator, values); operator one of ``= != in notin exists !exists gt lt``."""


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _check_key(key: str, selector: str) -> str:
    if not _LABEL_KEY.fullmatch(key):
        raise ValueError(f"invalid label key {key!r} in selector {selector!r}")
    return key


def _check_value(value: str, selector: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise ValueError(f"invalid label value {value!r} in selector {selector!r}")
    return value


def parse_label_selector(selector: str | None) -> tuple[Requirement, ...]:
    """Parse a Kubernetes label selector; raise ``ValueError`` saying what is wrong.

    Supports the whole grammar the API server accepts: ``k=v``, ``k==v``, ``k!=v``,
    ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``, ``k>1``, ``k<1``, comma-joined (AND).
    ``None`` and ``""`` select everything.
    """
    if selector is None or not selector.strip():
        return ()
    requirements: list[Requirement] = []
    for part in _split_top_level(selector):
        if not part.strip():
            raise ValueError(f"empty requirement in selector {selector!r}")
        if m := _REQ_SET.match(part):
            values = tuple(v.strip() for v in m["values"].split(","))
            if values == ("",):
                raise ValueError(f"{m['op']} needs at least one value in selector {selector!r}")
            for value in values:
                _check_value(value, selector)
            requirements.append((_check_key(m["key"], selector), m["op"], values))
        elif m := _REQ_NOT.match(part):
            requirements.append((_check_key(m["key"], selector), "!exists", ()))
        elif m := _REQ_CMP.match(part):
            op = {"==": "=", "<": "lt", ">": "gt"}.get(m["op"], m["op"])
            value = m["value"]
            if op in ("lt", "gt"):
                if not re.fullmatch(r"-?\d+", value):
                    raise ValueError(f"{m['op']} needs an integer in selector {selector!r}")
            else:
                _check_value(value, selector)
            requirements.append((_check_key(m["key"], selector), op, (value,)))
        elif m := _REQ_HAS.match(part):
            requirements.append((_check_key(m["key"], selector), "exists", ()))
        else:
            raise ValueError(f"unable to parse requirement {part.strip()!r} in selector {selector!r}")
    return tuple(requirements)


def label_selector_matches(selector: str | tuple[Requirement, ...] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector`` (a string, or the result of :func:`parse_label_selector`)."""
    requirements = parse_label_selector(selector) if selector is None or isinstance(selector, str) else selector
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "=" and not (present and value == values[0]):
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and not (present and value in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
        if op in ("gt", "lt"):
            try:
                number = int(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            if (op == "gt" and not number > int(values[0])) or (op == "lt" and not number < int(values[0])):
                return False
    return True


def _parse_field_selector(selector: str | None) -> list[tuple[str, str, str]]:
    if selector is None or not selector.strip():
        return []
    out = []
    for part in selector.split(","):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise ValueError(f"invalid field selector requirement {part.strip()!r} in {selector!r}")
        out.append((m[1], "!=" if m[2] == "!=" else "=", m[3]))
    return out


def field_selector_matches(selector: str | None, obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` satisfies a field selector such as ``involvedObject.name=redis-cluster-2,type!=Normal``.

    Paths are dotted JSON paths into the object; a missing field compares as ``""``
    (as the API server does for the fields it indexes).
    """
    for path, op, expected in _parse_field_selector(selector):
        node: Any = obj
        for step in path.split("."):
            node = node.get(step) if isinstance(node, Mapping) else None
        actual = "" if node is None else str(node)
        if (op == "=") != (actual == expected):
            return False
    return True


# --------------------------------------------------------------------------- source


class KubeSource:
    """Read-only view of one cluster (or one snapshot of it).

    Every method takes the namespace explicitly and returns a new list of plain dicts in the
    Kubernetes JSON shape (camelCase), items sorted by (namespace, name), each with
    ``apiVersion`` and ``kind``. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_config(
        cls,
        context: str | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        in_cluster: bool | None = None,
        timeout: float | tuple[float, float] | KubeTimeouts = 10.0,
    ) -> KubeSource:
        """Connect with the official client. Nothing is sent until the first query.

        ``in_cluster=None`` means: use the pod's service account when
        ``KUBERNETES_SERVICE_HOST`` is set and neither ``context`` nor ``kubeconfig`` was
        given (the CronJob case); otherwise read ``kubeconfig`` (default ``$KUBECONFIG``,
        then ``~/.kube/config``) with ``context`` (default: its current-context).

        Raises :class:`SourceUnavailable` when no usable configuration is found.
        """
        timeouts = KubeTimeouts.of(timeout)
        if in_cluster is None:
            in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and context is None and kubeconfig is None
        return cls(
            _LiveBackend.connect(context=context, kubeconfig=kubeconfig, in_cluster=in_cluster, timeouts=timeouts)
        )

    @classmethod
    def from_snapshot(cls, path: str | os.PathLike[str], *, as_of: datetime | str | None = None) -> KubeSource:
        """Answer from a ``v1 List`` JSON file; see the module docstring for ``as_of``.

        Raises :class:`ConfigError` naming the file and the JSON path when the file is
        missing, not JSON, or not a well-formed List of the kinds it holds.
        """
        return cls(_SnapshotBackend.load(Path(path), as_of=as_of))

    # ----------------------------------------------------------------- queries

    def pods(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """``GET /api/v1/namespaces/{namespace}/pods?labelSelector=...`` → the items."""
        return self._backend.list(_PODS, namespace, label_selector, None)

    def statefulsets(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """``GET /apis/apps/v1/namespaces/{namespace}/statefulsets?labelSelector=...`` → the items."""
        return self._backend.list(_STATEFULSETS, namespace, label_selector, None)

    def deployments(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """``GET /apis/apps/v1/namespaces/{namespace}/deployments?labelSelector=...`` → the items."""
        return self._backend.list(_DEPLOYMENTS, namespace, label_selector, None)

    def events(
        self, namespace: str, field_selector: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject]:
        """``GET /api/v1/namespaces/{namespace}/events?fieldSelector=...`` → the core/v1 Events.

        Events carry no app labels; select them with a field selector such as
        ``involvedObject.name=redis-cluster-2`` or ``type=Warning``.
        """
        return self._backend.list(_EVENTS, namespace, label_selector, field_selector)

    def workloads(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """StatefulSets then Deployments matching ``label_selector`` (two requests); tell them apart by ``kind``."""
        return self.statefulsets(namespace, label_selector) + self.deployments(namespace, label_selector)

    def now(self) -> datetime:
        """The moment the answers describe (UTC): wall clock live, the dump time for a snapshot."""
        return self._backend.now()

    @property
    def origin(self) -> str:
        """Where answers come from, for messages: ``kubernetes context 'x' at https://...`` or ``snapshot FILE``."""
        return self._backend.origin

    @property
    def is_live(self) -> bool:
        return isinstance(self._backend, _LiveBackend)

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> KubeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KubeSource({self.origin})"


# --------------------------------------------------------------------------- helpers


def _sort_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _iter_times(node: Any) -> Iterator[datetime]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(value, str) and (key.endswith(("Timestamp", "Time")) or key in ("startedAt", "finishedAt")):
                parsed = _parse_time(value)
                if parsed is not None:
                    yield parsed
            elif isinstance(value, (Mapping, list)):
                yield from _iter_times(value)
    elif isinstance(node, list):
        for value in node:
            yield from _iter_times(value)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _seconds(value: float) -> str:
    return str(float(value))


class _Backend:
    origin: str

    def list(
        self, resource: _Resource, namespace: str, label_selector: str | None, field_selector: str | None
    ) -> list[KubeObject]:
        raise NotImplementedError

    def now(self) -> datetime:
        raise NotImplementedError

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- snapshot


class _SnapshotBackend(_Backend):
    def __init__(self, path: Path, items: list[KubeObject], as_of: datetime) -> None:
        self.path = path
        self.origin = f"snapshot {path}"
        self._items = items
        self._as_of = as_of
        self._namespaces = {item["metadata"]["namespace"] for item in items}

    @classmethod
    def load(cls, path: Path, *, as_of: datetime | str | None = None) -> _SnapshotBackend:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("snapshot file not found", path=path, hint=SNAPSHOT_HINT) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read snapshot: {_one_line(str(exc))}", path=path) from exc
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"$: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                path=path,
                line=exc.lineno,
                hint=SNAPSHOT_HINT,
            ) from None
        items = _SnapshotValidator(path).items(document)
        if as_of is None:
            moment = max(_iter_times(items), default=None)
            if moment is None:
                moment = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
        elif isinstance(as_of, str):
            parsed = _parse_time(as_of)
            if parsed is None:
                raise ValueError(f"as_of must be an RFC 3339 time such as 2026-11-27T13:58:00Z, got {as_of!r}")
            moment = parsed
        else:
            moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=timezone.utc)
        return cls(path, items, moment)

    def list(
        self, resource: _Resource, namespace: str, label_selector: str | None, field_selector: str | None
    ) -> list[KubeObject]:
        try:
            requirements = parse_label_selector(label_selector)
            _parse_field_selector(field_selector)
        except ValueError as exc:
            raise QueryError(f"{resource.qualified} in namespace {namespace}: {exc}", path=self.path) from None
        if namespace not in self._namespaces:
            known = ", ".join(sorted(self._namespaces)) or "none"
            raise SourceUnavailable(
                SOURCE, f"namespace {namespace!r} not found", hint=f"snapshot {self.path} holds namespaces: {known}"
            )
        found = [
            item
            for item in self._items
            if (item["apiVersion"], item["kind"]) == (resource.api_version, resource.kind)
            and item["metadata"]["namespace"] == namespace
            and label_selector_matches(requirements, item["metadata"].get("labels"))
            and field_selector_matches(field_selector, item)
        ]
        return json.loads(json.dumps(found))  # callers get their own copies

    def now(self) -> datetime:
        return self._as_of


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class _SnapshotValidator:
    """Checks the parts of each object that checks read; names the JSON path of the first problem."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.subject = ""

    def fail(self, where: str, problem: str) -> ConfigError:
        subject = f" ({self.subject})" if self.subject else ""
        return ConfigError(f"{where}: {problem}{subject}", path=self.path, hint=SNAPSHOT_HINT)

    def need(
        self, obj: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], *, required: bool = True
    ) -> Any:
        here = f"{where}.{key}" if where else key
        if key not in obj or (obj[key] is None and not required):
            if required:
                raise self.fail(here, "missing")
            return None
        value = obj[key]
        wanted = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in wanted:
            ok = False
        else:
            ok = isinstance(value, wanted)
        if not ok:
            expected = " or ".join(_type_name(t()) if t is not type(None) else "null" for t in wanted)
            raise self.fail(here, f"expected {expected}, got {_type_name(value)}")
        return value

    def items(self, document: object) -> list[KubeObject]:
        if not isinstance(document, dict):
            raise self.fail("$", f"expected a `v1 List` object, got {_type_name(document)}")
        kind = document.get("kind")
        if not (isinstance(kind, str) and kind.endswith("List")):
            raise self.fail("kind", f"expected 'List', got {kind!r}")
        raw_items = self.need(document, "items", "", list)
        items: list[KubeObject] = []
        for index, item in enumerate(raw_items):
            where = f"items[{index}]"
            self.subject = ""
            if not isinstance(item, dict):
                raise self.fail(where, f"expected an object, got {_type_name(item)}")
            item_kind = self.need(item, "kind", where, str)
            api_version = self.need(item, "apiVersion", where, str)
            meta = self.need(item, "metadata", where, dict)
            name = self.need(meta, "name", f"{where}.metadata", str)
            self.subject = f"{item_kind} {name}"
            resource = _BY_KIND.get((api_version, item_kind))
            if resource is None:
                continue  # Services, ReplicaSets, events.k8s.io Events... are not queried
            namespace = self.need(meta, "namespace", f"{where}.metadata", str)
            self.subject = f"{item_kind} {namespace}/{name}"
            labels = self.need(meta, "labels", f"{where}.metadata", dict, required=False) or {}
            for key, value in labels.items():
                if not isinstance(value, str):
                    raise self.fail(f"{where}.metadata.labels.{key}", f"expected a string, got {_type_name(value)}")
            if resource is _PODS:
                self.pod(item, where)
            elif resource is _EVENTS:
                self.event(item, where)
            else:
                self.workload(item, where)
            items.append(item)
        self.subject = ""
        items.sort(key=_sort_key)
        return items

    def containers(self, spec: Mapping[str, Any], where: str) -> None:
        containers = self.need(spec, "containers", where, list)
        for i, container in enumerate(containers):
            here = f"{where}.containers[{i}]"
            if not isinstance(container, dict):
                raise self.fail(here, f"expected an object, got {_type_name(container)}")
            self.need(container, "name", here, str)
            self.need(container, "image", here, str, required=False)
            resources = self.need(container, "resources", here, dict, required=False) or {}
            for part in ("limits", "requests"):
                quantities = self.need(resources, part, f"{here}.resources", dict, required=False) or {}
                for key, value in quantities.items():
                    self.quantity(value, f"{here}.resources.{part}.{key}")

    def quantity(self, value: object, where: str) -> None:
        from pytest_slo.units import QuantityError, k8s_quantity

        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(where, f"expected a quantity such as '512Mi', got {_type_name(value)}")
        try:
            k8s_quantity(str(value))
        except QuantityError as exc:
            raise self.fail(where, f"{value!r} is not a Kubernetes quantity ({exc})") from None

    def pod(self, item: Mapping[str, Any], where: str) -> None:
        spec = self.need(item, "spec", where, dict)
        self.containers(spec, f"{where}.spec")
        status = self.need(item, "status", where, dict, required=False) or {}
        self.need(status, "phase", f"{where}.status", str, required=False)
        for key in ("initContainerStatuses", "containerStatuses"):
            statuses = self.need(status, key, f"{where}.status", list, required=False) or []
            for i, cs in enumerate(statuses):
                here = f"{where}.status.{key}[{i}]"
                if not isinstance(cs, dict):
                    raise self.fail(here, f"expected an object, got {_type_name(cs)}")
                self.need(cs, "name", here, str)
                self.need(cs, "restartCount", here, int)
                self.need(cs, "ready", here, bool, required=False)
                for state_key in ("state", "lastState"):
                    state = self.need(cs, state_key, here, dict, required=False) or {}
                    for phase in ("waiting", "running", "terminated"):
                        detail = self.need(state, phase, f"{here}.{state_key}", dict, required=False) or {}
                        if phase == "terminated":
                            self.need(detail, "exitCode", f"{here}.{state_key}.terminated", int, required=False)
                        for text in ("reason", "startedAt", "finishedAt"):
                            self.need(detail, text, f"{here}.{state_key}.{phase}", str, required=False)
        for i, condition in enumerate(self.need(status, "conditions", f"{where}.status", list, required=False) or []):
            here = f"{where}.status.conditions[{i}]"
            if not isinstance(condition, dict):
                raise self.fail(here, f"expected an object, got {_type_name(condition)}")
            self.need(condition, "type", here, str)
            self.need(condition, "status", here, str)

    def workload(self, item: Mapping[str, Any], where: str) -> None:
        spec = self.need(item, "spec", where, dict)
        self.need(spec, "replicas", f"{where}.spec", int, required=False)
        template = self.need(spec, "template", f"{where}.spec", dict)
        template_spec = self.need(template, "spec", f"{where}.spec.template", dict)
        self.containers(template_spec, f"{where}.spec.template.spec")
        status = self.need(item, "status", where, dict, required=False) or {}
        for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas"):
            self.need(status, key, f"{where}.status", int, required=False)

    def event(self, item: Mapping[str, Any], where: str) -> None:
        involved = self.need(item, "involvedObject", where, dict)
        self.need(involved, "kind", f"{where}.involvedObject", str)
        self.need(involved, "name", f"{where}.involvedObject", str)
        for key in ("reason", "message", "type", "lastTimestamp", "firstTimestamp"):
            self.need(item, key, where, str, required=False)
        self.need(item, "count", where, int, required=False)


# --------------------------------------------------------------------------- live


_SUBJECT = re.compile(r'User "(?P<user>[^"]+)"')


class _LiveBackend(_Backend):
    """The official client, called only with get/list, every call bounded by the timeouts."""

    VERBS = frozenset({"get", "list"})

    def __init__(
        self, api_client: ApiClient, configuration: Configuration, timeouts: KubeTimeouts, origin: str, auth_hint: str
    ) -> None:
        from kubernetes import client

        self._api_client = api_client
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self.host = str(configuration.host)
        self.timeouts = timeouts
        self.origin = origin
        self._auth_hint = auth_hint
        self._known_namespaces: set[str] = set()

    @classmethod
    def connect(
        cls, *, context: str | None, kubeconfig: str | os.PathLike[str] | None, in_cluster: bool, timeouts: KubeTimeouts
    ) -> _LiveBackend:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        configuration = client.Configuration()
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=configuration)
                origin = f"kubernetes in-cluster service account at {configuration.host}"
                auth_hint = "is the pod's service account token mounted and its ServiceAccount still present?"
            else:
                location = (
                    os.fspath(kubeconfig)
                    if kubeconfig is not None
                    else (os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config"))
                )
                config.load_kube_config(
                    config_file=location, context=context, client_configuration=configuration, persist_config=False
                )
                name = context or str(config.list_kube_config_contexts(location)[1].get("name") or "current-context")
                origin = f"kubernetes context {name!r} at {configuration.host}"
                auth_hint = f"renew the credentials of kubeconfig context {name!r} in {location}"
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            where = (
                "in-cluster configuration"
                if in_cluster
                else f"kubeconfig {kubeconfig or '$KUBECONFIG or ~/.kube/config'}"
            )
            reason = f"cannot load {where}"
            if context and not in_cluster:
                reason += f" (context {context!r})"
            raise SourceUnavailable(SOURCE, f"{reason}: {_one_line(str(exc) or type(exc).__name__)}") from exc
        except Exception as exc:  # yaml errors and friends from a broken kubeconfig
            raise SourceUnavailable(
                SOURCE, f"cannot load kubeconfig {kubeconfig or ''}: {_one_line(str(exc))}"
            ) from exc

        configuration.retries = timeouts.urllib3_retries()
        configuration.client_go_retries = False
        host = (configuration.host or "").lower()
        if re.match(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:|/|$)", host):
            configuration.proxy = None  # an HTTP(S)_PROXY from the environment cannot reach our loopback
        api_client = client.ApiClient(configuration)
        api_client.user_agent = "pytest-slo (read-only; kubernetes-python)"
        return cls(api_client, configuration, timeouts, origin, auth_hint)

    def close(self) -> None:
        self._api_client.close()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    # ----------------------------------------------------------------- calls

    def list(
        self, resource: _Resource, namespace: str, label_selector: str | None, field_selector: str | None
    ) -> list[KubeObject]:
        api = self._apps if resource.group == "apps" else self._core
        method = getattr(api, resource.list_method)
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        body = self._call("list", resource, namespace, lambda **call: method(namespace, **kwargs, **call))
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise SourceUnavailable(
                SOURCE,
                f"GET {self.host}{resource.path(namespace)} answered without an items list (not a Kubernetes API?)",
            )
        if items:
            self._known_namespaces.add(namespace)
        else:
            self._require_namespace(namespace)
        objects = [{"apiVersion": resource.api_version, "kind": resource.kind, **item} for item in items]
        objects.sort(key=_sort_key)
        return objects

    def _require_namespace(self, namespace: str) -> None:
        """An empty list is ambiguous: the real API lists an unknown namespace as empty. Ask once."""
        if namespace in self._known_namespaces:
            return
        self._call("get", _NAMESPACES, namespace, lambda **call: self._core.read_namespace(namespace, **call))
        self._known_namespaces.add(namespace)

    def _call(self, verb: Literal["get", "list"], resource: _Resource, namespace: str, call: Callable[..., Any]) -> Any:
        assert verb in self.VERBS, verb  # read-only, always
        import urllib3
        from kubernetes.client.exceptions import ApiException

        path = f"/api/v1/namespaces/{namespace}" if resource is _NAMESPACES else resource.path(namespace)
        try:
            response = call(_preload_content=False, _request_timeout=self.timeouts.request_timeout)
            try:
                raw = response.data
            finally:
                response.release_conn()
        except ApiException as exc:
            raise self._api_error(exc, verb, resource, namespace, path) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SourceUnavailable(SOURCE, self._network_reason(exc, path)) from exc
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise SourceUnavailable(
                SOURCE, f"GET {self.host}{path} answered with something that is not JSON: {_one_line(repr(raw[:80]))}"
            ) from None

    # ----------------------------------------------------------------- error mapping

    def _network_reason(self, exc: BaseException, path: str) -> str:
        import urllib3

        chain = list(_exception_chain(exc))
        if any(isinstance(e, urllib3.exceptions.ReadTimeoutError) for e in chain):
            return f"GET {self.host}{path}: no answer within {_seconds(self.timeouts.read)} s"
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
            "connection refused" in str(e).lower() for e in chain
        ):
            return f"cannot connect to {self.host}: connection refused"
        if any(isinstance(e, (urllib3.exceptions.NameResolutionError, socket.gaierror)) for e in chain):
            return f"cannot connect to {self.host}: name does not resolve"
        for e in chain:
            if isinstance(e, OSError) and e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                return f"cannot connect to {self.host}: {'host' if e.errno == errno.EHOSTUNREACH else 'network'} unreachable"
        if any(isinstance(e, urllib3.exceptions.SSLError) for e in chain):
            return f"cannot connect to {self.host}: TLS error: {_one_line(str(chain[-1]), 120)}"
        if any(
            isinstance(e, (urllib3.exceptions.ConnectTimeoutError, socket.timeout, TimeoutError))
            and not isinstance(e, urllib3.exceptions.NewConnectionError)
            for e in chain
        ):
            return f"cannot connect to {self.host}: no answer within {_seconds(self.timeouts.connect)} s"
        if any(isinstance(e, (urllib3.exceptions.ProtocolError, ConnectionResetError)) for e in chain):
            return f"{self.host} dropped the connection during GET {path}"
        return f"cannot connect to {self.host}: {_one_line(str(chain[-1]) or type(chain[-1]).__name__, 120)}"

    def _api_error(self, exc: Any, verb: str, resource: _Resource, namespace: str, path: str) -> Exception:
        status = int(exc.status or 0)
        body = exc.body if isinstance(exc.body, str) else ""
        try:
            detail = json.loads(body) if body else {}
        except ValueError:
            detail = {}
        if not isinstance(detail, dict):
            detail = {}
        server_message = _one_line(str(detail.get("message") or body or exc.reason or ""), 160)
        if status == 0:  # the client's own wrapping of TLS errors
            return SourceUnavailable(
                SOURCE, f"cannot connect to {self.host}: TLS error: {_one_line(str(exc.reason), 120)}"
            )
        if status == 401:
            return SourceUnavailable(SOURCE, "401 Unauthorized: credentials rejected", hint=self._auth_hint)
        if status == 403:
            return SourceUnavailable(SOURCE, _forbidden_reason(verb, resource, namespace, server_message))
        if status == 404:
            details = detail.get("details")
            details = details if isinstance(details, dict) else {}
            if resource is _NAMESPACES or details.get("kind") == "namespaces":
                return SourceUnavailable(SOURCE, f"namespace {namespace!r} not found")
            return QueryError(
                f"404 Not Found: {server_message} (GET {path}; does the cluster serve {resource.api_version}?)"
            )
        phrase = _status_phrase(status)
        if status >= 500 or status == 429:
            return SourceUnavailable(SOURCE, f"{status} {phrase}: {server_message}")
        return QueryError(f"{status} {phrase}: {server_message} (GET {path})")


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(
            [
                getattr(current, "reason", None)
                if isinstance(getattr(current, "reason", None), BaseException)
                else None,
                current.__cause__,
                current.__context__,
            ]
        )


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def _forbidden_reason(verb: str, resource: _Resource, namespace: str, server_message: str) -> str:
    match = _SUBJECT.search(server_message)
    who = "the service account"
    if match:
        user = match["user"]
        if user.startswith("system:serviceaccount:"):
            sa_namespace, _, sa_name = user.removeprefix("system:serviceaccount:").partition(":")
            who = f"the service account {sa_namespace}/{sa_name}"
        else:
            who = f"user {user}"
    if resource is _NAMESPACES:
        return (
            f"403 Forbidden: {who} may not get namespace {namespace} "
            f"(add verb get on namespaces, resourceNames [{namespace}], to {RBAC_FILE}'s Role)"
        )
    return (
        f"403 Forbidden: {who} may not {verb} {resource.qualified} in namespace {namespace} "
        f"(add verbs get,list on {resource.qualified} to {RBAC_FILE}'s Role)"
    )
