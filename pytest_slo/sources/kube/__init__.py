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
"In the last 24 hours" ends at :meth:`KubeSource.now`: for a live source the current UTC
time; for a snapshot the ``as_of`` given to :meth:`from_snapshot` (the plugin passes
``--kube-snapshot-time``), else the current time when the file was loaded. A dump does not
record when it was taken, and its newest timestamp is only when the last thing in it
happened, so an OOM kill in a dump read three days later is three days old unless ``as_of``
says otherwise. The shipped ``examples/snapshots/incident.json`` and ``fixed.json`` were
taken at ``2026-11-27T13:58:00Z``: judge them with ``as_of="2026-11-27T13:58:00Z"``
(``--kube-snapshot-time=2026-11-27T13:58:00Z``), or move their times with
``teststack.kubeapi.shift_snapshot``. Checks take their window (e.g. ``window: 24h``) from
the check spec and compare against ``source.now()``.

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

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# The backends and the selector grammar live in private modules. Every name this module
# offered before the split stays importable from here; `X as X` re-exports those not in __all__.
from ._live import RBAC_FILE as RBAC_FILE
from ._live import LiveBackend
from ._resources import DEPLOYMENTS, EVENTS, PODS, STATEFULSETS, Backend, KubeObject
from ._resources import SOURCE as SOURCE
from ._selectors import Requirement as Requirement
from ._selectors import field_selector_matches, label_selector_matches, parse_label_selector
from ._snapshot import SNAPSHOT_HINT as SNAPSHOT_HINT
from ._snapshot import SnapshotBackend

__all__ = [
    "KubeSource",
    "KubeTimeouts",
    "field_selector_matches",
    "label_selector_matches",
    "parse_label_selector",
]


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


# --------------------------------------------------------------------------- source


class KubeSource:
    """Read-only view of one cluster (or one snapshot of it).

    Every method takes the namespace explicitly and returns a new list of plain dicts in the
    Kubernetes JSON shape (camelCase), items sorted by (namespace, name), each with
    ``apiVersion`` and ``kind``. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, backend: Backend) -> None:
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
            LiveBackend.connect(context=context, kubeconfig=kubeconfig, in_cluster=in_cluster, timeouts=timeouts)
        )

    @classmethod
    def from_snapshot(cls, path: str | os.PathLike[str], *, as_of: datetime | str | None = None) -> KubeSource:
        """Answer from a ``v1 List`` JSON file, judged at ``as_of`` (default: now; see the module docstring).

        Raises :class:`ConfigError` naming the file and the JSON path when the file is
        missing, not JSON, or not a well-formed List of the kinds it holds.
        """
        return cls(SnapshotBackend.load(Path(path), as_of=as_of))

    # ----------------------------------------------------------------- queries

    def pods(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """``GET /api/v1/namespaces/{namespace}/pods?labelSelector=...`` → the items."""
        return self._backend.list(PODS, namespace, label_selector, None)

    def statefulsets(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """``GET /apis/apps/v1/namespaces/{namespace}/statefulsets?labelSelector=...`` → the items."""
        return self._backend.list(STATEFULSETS, namespace, label_selector, None)

    def deployments(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """``GET /apis/apps/v1/namespaces/{namespace}/deployments?labelSelector=...`` → the items."""
        return self._backend.list(DEPLOYMENTS, namespace, label_selector, None)

    def events(
        self, namespace: str, field_selector: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject]:
        """``GET /api/v1/namespaces/{namespace}/events?fieldSelector=...`` → the core/v1 Events.

        Events carry no app labels; select them with a field selector such as
        ``involvedObject.name=redis-cluster-2`` or ``type=Warning``.
        """
        return self._backend.list(EVENTS, namespace, label_selector, field_selector)

    def workloads(self, namespace: str, label_selector: str | None = None) -> list[KubeObject]:
        """StatefulSets then Deployments matching ``label_selector`` (two requests); tell them apart by ``kind``."""
        return self.statefulsets(namespace, label_selector) + self.deployments(namespace, label_selector)

    def now(self) -> datetime:
        """The moment windows end at (UTC): the wall clock, or a snapshot's ``as_of``."""
        return self._backend.now()

    @property
    def origin(self) -> str:
        """Where answers come from, for messages: ``kubernetes context 'x' at https://...`` or ``snapshot FILE``."""
        return self._backend.origin

    @property
    def is_live(self) -> bool:
        return isinstance(self._backend, LiveBackend)

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> KubeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KubeSource({self.origin})"
