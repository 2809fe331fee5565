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
(``deploy/rbac.yaml`` grants nothing else). Each resource of a namespace is listed once per
run (pods, StatefulSets, Deployments, Events), whatever the number of apps, checks and
callers: selectors are applied here to the run's one list, exactly as the API server applies
them.

Importing this module does not import ``kubernetes`` (about 0.5 s): the client is imported
inside :meth:`KubeSource.from_config`, so the offline path never pays for it.

Time in snapshots
-----------------
"In the last 24 hours" ends at :meth:`KubeSource.now`: for a live source the current UTC
time; for a snapshot the ``as_of`` given to :meth:`from_snapshot` (the plugin passes
``--kube-snapshot-time``), else the current time when the file was loaded. A dump does not
record when it was taken, and its newest timestamp is only when the last thing in it
happened, so an OOM kill in a dump read three days later is three days old unless ``as_of``
says otherwise. The shipped ``examples/snapshots/incident.json``, ``fixed.json`` and ``stuck.json`` were
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

import copy
import os
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from pytest_slo.errors import QueryError

from .._once import Once

# The backends and the selector grammar live in private modules. Every name this module
# offered before the split stays importable from here; `X as X` re-exports those not in __all__.
from ._live import RBAC_FILE as RBAC_FILE
from ._live import LiveBackend
from ._resources import DEPLOYMENTS, EVENTS, PODS, STATEFULSETS, Backend, KubeObject, Resource
from ._resources import SOURCE as SOURCE
from ._selectors import Requirement as Requirement
from ._selectors import field_selector_matches, label_selector_matches, parse_field_selector, parse_label_selector
from ._snapshot import SNAPSHOT_HINT as SNAPSHOT_HINT
from ._snapshot import SnapshotBackend
from ._timeouts import KubeTimeouts

__all__ = [
    "KubeSource",
    "KubeTimeouts",
    "field_selector_matches",
    "label_selector_matches",
    "parse_label_selector",
]


# --------------------------------------------------------------------------- settings


# --------------------------------------------------------------------------- source


class KubeSource:
    """Read-only view of one cluster (or one snapshot of it).

    Every method takes the namespace explicitly and returns a new list of plain dicts in the
    Kubernetes JSON shape (camelCase), items sorted by (namespace, name), each with
    ``apiVersion`` and ``kind``. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        # One LIST per (resource, namespace) per run, whatever the number of apps and checks:
        # label selectors are applied here, exactly as the API server applies them.
        self._lists: dict[tuple[str, str], Once[list[KubeObject]]] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_config(
        cls,
        context: str | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        in_cluster: bool | None = None,
        timeout: float | tuple[float, float] | KubeTimeouts = 10.0,
        environ: Mapping[str, str] | None = None,
    ) -> KubeSource:
        """Connect with the official client. Nothing is sent until the first query.

        ``in_cluster=None`` means: use the pod's service account when
        ``KUBERNETES_SERVICE_HOST`` is set and neither ``context`` nor ``kubeconfig`` was
        given (the CronJob case); otherwise read ``kubeconfig`` (default ``$KUBECONFIG``,
        then ``~/.kube/config``) with ``context`` (default: its current-context).

        ``environ`` is the settings' snapshot of the environment (``KUBERNETES_SERVICE_HOST``,
        ``KUBECONFIG``); the process environment when not given.

        Raises :class:`SourceUnavailable` when no usable configuration is found.
        """
        timeouts = KubeTimeouts.of(timeout)
        env = os.environ if environ is None else environ
        if in_cluster is None:
            in_cluster = bool(env.get("KUBERNETES_SERVICE_HOST")) and context is None and kubeconfig is None
        if kubeconfig is None and not in_cluster:
            kubeconfig = env.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
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

    def pods(self, namespace: str, label_selector: str | None = None, *, shared: bool = False) -> list[KubeObject]:
        """The namespace's pods (``GET /api/v1/namespaces/{namespace}/pods``, once per run) that
        ``label_selector`` selects.

        Copies, unless ``shared``: then the run's own objects, for a caller that only reads
        them (a deep copy of thousands of pods costs seconds)."""
        return self._selected(PODS, namespace, label_selector, shared)

    def statefulsets(
        self, namespace: str, label_selector: str | None = None, *, shared: bool = False
    ) -> list[KubeObject]:
        """The namespace's StatefulSets (one LIST per run) that ``label_selector`` selects (``shared``: see
        :meth:`pods`)."""
        return self._selected(STATEFULSETS, namespace, label_selector, shared)

    def deployments(
        self, namespace: str, label_selector: str | None = None, *, shared: bool = False
    ) -> list[KubeObject]:
        """The namespace's Deployments (one LIST per run) that ``label_selector`` selects (``shared``: see
        :meth:`pods`)."""
        return self._selected(DEPLOYMENTS, namespace, label_selector, shared)

    def _selected(
        self,
        resource: Resource,
        namespace: str,
        label_selector: str | None,
        shared: bool,
        field_selector: str | None = None,
    ) -> list[KubeObject]:
        with self._lock:
            listed = self._lists.get((resource.kind, namespace))
            if listed is None:
                listed = self._lists[(resource.kind, namespace)] = Once(
                    SOURCE, f"the LIST of {resource.kind}s in {namespace}"
                )
        requirements = None
        try:
            if label_selector:
                requirements = parse_label_selector(label_selector)
        except ValueError as exc:
            raise QueryError(f"invalid label selector {label_selector!r}: {exc}") from None
        try:
            parse_field_selector(field_selector)
        except ValueError as exc:
            raise QueryError(f"invalid field selector: {exc}") from None
        items = listed.get(lambda: self._backend.list(resource, namespace, None, None))
        chosen = [
            i
            for i in items
            if (requirements is None or label_selector_matches(requirements, _labels(i)))
            and field_selector_matches(field_selector, i)
        ]
        # callers may change a copy; the run's list stays as listed
        return chosen if shared else copy.deepcopy(chosen)

    def events(
        self,
        namespace: str,
        field_selector: str | None = None,
        label_selector: str | None = None,
        *,
        shared: bool = False,
    ) -> list[KubeObject]:
        """The namespace's core/v1 Events (``GET /api/v1/namespaces/{namespace}/events``, one
        LIST per run, shared by every check and the postmortem) that the selectors select.

        Events carry no app labels; select them with a field selector such as
        ``involvedObject.name=redis-cluster-2`` or ``type=Warning``. A Role without
        ``list events`` makes this raise :class:`SourceUnavailable` (403, naming the verb):
        callers that only add events to what they say catch it. ``shared``: see :meth:`pods`.
        """
        return self._selected(EVENTS, namespace, label_selector, shared, field_selector)

    def workloads(self, namespace: str, label_selector: str | None = None, *, shared: bool = False) -> list[KubeObject]:
        """StatefulSets then Deployments matching ``label_selector`` (two requests); tell them apart by ``kind``."""
        return self.statefulsets(namespace, label_selector, shared=shared) + self.deployments(
            namespace, label_selector, shared=shared
        )

    def now(self) -> datetime:
        """The moment windows end at (UTC): the wall clock, or a snapshot's ``as_of``."""
        return self._backend.now()

    @property
    def origin(self) -> str:
        """Where answers come from, for messages: ``kubernetes context 'x' at https://...`` or ``snapshot FILE``."""
        return self._backend.origin

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> KubeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KubeSource({self.origin})"


def _labels(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})
