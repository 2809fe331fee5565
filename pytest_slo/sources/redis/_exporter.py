"""The redis kind's facts from redis_exporter's series in Prometheus, for sites without direct access.

What prometheus-redis-exporter 1.45 exports (checked against redis-server 7.0 in
``teststack/cluster.py``): per Redis it watches, ``redis_instance_info{maxmemory_policy,
role, redis_mode, tcp_port}``, ``redis_memory_max_bytes``, ``redis_memory_used_bytes``,
``redis_up``; for a cluster node also that node's ``CLUSTER INFO`` (``redis_cluster_state``
1/0, ``redis_cluster_slots_assigned``, ``_ok``, ``_pfail``, ``_fail``,
``redis_cluster_known_nodes``, ``redis_cluster_size``), ``redis_connected_slaves`` on a
master and ``redis_slave_info{master_host, master_port}`` on a replica. It exports no slot
ranges and nothing of the nodes it does not watch, so a cluster is seen through one exporter
per node (a chart's metrics sidecar), each node named by its ``pod`` label, else its
``instance``. A node that stopped answering is known by its exporter's ``redis_up 0`` (or the
scrape's ``up 0``), and by what ``redis_instance_info`` said of it in the last hour.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pytest_slo.errors import SloError, SourceUnavailable

from .._once import Once
from ._cluster import Cluster, ClusterNode, describe, view
from ._facts import Instance, instance

if TYPE_CHECKING:
    from ..prometheus import InstantResult, PrometheusSource

__all__ = ["ExporterRedisFacts"]

_CLUSTER = "redis_cluster_(state|slots_assigned|slots_ok|slots_pfail|slots_fail|known_nodes|size)"
_REMEMBERED = "1h"  # how far back a node that stopped answering is still known by its role


class ExporterRedisFacts:
    """redis_exporter's series of the instances ``selector`` picks, at the run's evaluation time."""

    def __init__(self, prometheus: PrometheusSource, selector: str, at: Callable[[], float]) -> None:
        self.prometheus, self.selector, self._at = prometheus, selector, at
        self._once: Once[list[Instance]] = Once("redis", "the read of the instances' facts another item started")
        self._cluster: Once[Cluster | None] = Once("redis", "the read of the cluster's nodes another item started")

    def instances(self) -> list[Instance]:
        return list(self._once.get(self._read))

    def cluster(self) -> Cluster | None:
        return self._cluster.get(self._read_cluster)

    def close(self) -> None:
        """The Prometheus client belongs to the run's Sources, which closes it."""

    def _ask(self, queries: Mapping[str, str], at: float) -> dict[str, InstantResult]:
        answers = self.prometheus.query_many(list(queries.values()), at)
        for answer in answers.values():
            if isinstance(answer, SloError):
                raise answer
        return {name: answers[q] for name, q in queries.items()}  # type: ignore[misc]

    def _read(self) -> list[Instance]:
        sel, at = self.selector, self._at()
        info_q = f"redis_instance_info{{{sel}}}"
        answers = self._ask(
            {"info": info_q, "max": f"redis_memory_max_bytes{{{sel}}}", "used": f"redis_memory_used_bytes{{{sel}}}"}, at
        )
        info = answers["info"].samples
        if not info:
            raise SourceUnavailable(
                "prometheus", f"no redis_exporter series at {_iso(at)}: {self.prometheus.diagnose_empty(info_q, at)}"
            )
        maxmem, used = _by_instance(answers["max"]), _by_instance(answers["used"])
        for sample in info:  # a missing series is no fact: reading it as 0 would be a false "no limit"
            name = sample.labels.get("instance", "")
            for metric, values in (("redis_memory_max_bytes", maxmem), ("redis_memory_used_bytes", used)):
                if name not in values:
                    raise SourceUnavailable(
                        "prometheus",
                        f"redis_exporter shows {name} in redis_instance_info but has no {metric} for it at {_iso(at)}",
                    )
        found = []
        for s in sorted(info, key=lambda s: _natural(s.labels.get("pod") or s.labels.get("instance", ""))):
            labels = s.labels
            address = labels.get("instance", "")
            role = labels.get("role", "master")
            node = describe(_node(labels, role)) if labels.get("redis_mode") == "cluster" else address
            settings = {
                "maxmemory": maxmem[address],
                "maxmemory_policy": labels.get("maxmemory_policy", ""),
                "maxmemory_samples": None,
            }
            found.append(instance(address, node, role, "prometheus", {"used_memory": used[address]}, settings))
        return found

    def _read_cluster(self) -> Cluster | None:
        sel, at = self.selector, self._at()
        answers = self._ask({
            "info": f"redis_instance_info{{{sel}}}",
            "last": f"last_over_time(redis_instance_info{{{sel}}}[{_REMEMBERED}])",
            "redis_up": f"redis_up{{{sel}}}",
            "scrape_up": f"up{{{sel}}}",
            "cluster": f'{{__name__=~"{_CLUSTER}", {sel}}}',
            "replicas": f"redis_connected_slaves{{{sel}}}",
            "master": f"redis_slave_info{{{sel}}}",
            "last_master": f"last_over_time(redis_slave_info{{{sel}}}[{_REMEMBERED}])",
        }, at)
        labels: dict[str, dict[str, str]] = {}
        for name in ("last", "info"):  # what each node said last, then what it says now
            for s in answers[name].samples:
                labels[s.labels.get("instance", "")] = s.labels
        if not labels:
            query = f"redis_instance_info{{{sel}}}"
            raise SourceUnavailable(
                "prometheus", f"no redis_exporter series at {_iso(at)}: {self.prometheus.diagnose_empty(query, at)}"
            )
        if not any(v.get("redis_mode") == "cluster" for v in labels.values()):
            return None
        redis_up, scrape_up = _by_instance(answers["redis_up"]), _by_instance(answers["scrape_up"])
        current = {s.labels.get("instance", "") for s in answers["info"].samples}
        views: dict[str, dict[str, Any]] = {}
        for s in answers["cluster"].samples:
            metric = s.labels.get("__name__", "").removeprefix("redis_")
            views.setdefault(s.labels.get("instance", ""), {})[metric] = (
                ("ok" if s.value == 1 else "fail") if metric == "cluster_state" else s.value
            )
        # a replica names its master by the address Redis knows it by: that master's host and tcp_port
        known_as = {f"{_host(a)}:{v.get('tcp_port', '')}": v.get("pod") or a for a, v in labels.items()}
        masters: dict[str, str] = {}
        for name in ("last_master", "master"):
            for s in answers[name].samples:
                master = f"{s.labels.get('master_host', '')}:{s.labels.get('master_port', '')}"
                masters[s.labels.get("instance", "")] = known_as.get(master, master)
        replicas = _by_instance(answers["replicas"])
        nodes: list[ClusterNode] = []
        for address in sorted(set(labels) | set(redis_up) | set(scrape_up)):
            node = _node(labels.get(address, {"instance": address}), labels.get(address, {}).get("role", ""),
                         masters.get(address, ""))
            node["answered"] = answered = address in current and redis_up.get(address) == 1
            if answered:
                node["view"] = view(views.get(address, {}))
                if node["role"] == "master" and address in replicas:
                    node["replicas"] = int(replicas[address])
            else:
                node["error"] = _silence(address, redis_up.get(address), scrape_up.get(address))
            nodes.append(node)
        nodes.sort(key=lambda n: (n["role"] != "master", _natural(n["name"])))
        return Cluster(via="prometheus", seed=sel, nodes=nodes)


def _node(labels: Mapping[str, str], role: str, master: str = "") -> ClusterNode:
    address = labels.get("instance", "")
    return ClusterNode(
        id="", address=address, name=labels.get("pod") or address,
        role={"slave": "replica", "master": "master"}.get(role, role), master=master, slots=None, flags=[], link="",
        replicas=None, answered=False, error="", view=None,
    )


def _silence(address: str, redis_up: float | None, scrape_up: float | None) -> str:
    if scrape_up == 0:
        return f"its exporter at {address} does not answer Prometheus' scrapes (up 0)"
    if redis_up == 0:
        return "redis_up 0: its exporter cannot reach it"
    return f"redis_exporter has no series of it at the run's time (its last were within {_REMEMBERED})"


def _natural(name: str) -> list[tuple[int, int | str]]:
    """``redis-cluster-2`` before ``redis-cluster-10``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]


def _host(instance: str) -> str:
    """The host of a scrape's ``instance`` (``10.0.3.7:9121``, or ``redis://10.0.3.7:6379`` of a
    multi-target exporter)."""
    return instance.split("://", 1)[-1].rpartition(":")[0]


def _by_instance(result: InstantResult) -> dict[str, float]:
    return {s.labels.get("instance", ""): s.value for s in result.samples}


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
