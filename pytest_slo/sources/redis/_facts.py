"""What the ``redis`` kind judges, from either of two readers behind one interface.

* :class:`DirectRedisFacts`: ``INFO`` and ``CONFIG GET`` over the Redis protocol, and for a
  Redis Cluster ``CLUSTER NODES``/``CLUSTER INFO`` and every node (:mod:`._cluster`);
* :class:`~._exporter.ExporterRedisFacts`: instant queries of redis_exporter's series in Prometheus.

Both give one :class:`Instance` dict per Redis instance that answered, with the same keys,
and the cluster's nodes (:class:`~._cluster.Cluster`, None for a Redis that is not a
cluster), read once per run (an error is remembered, so every item reports the same line).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, runtime_checkable

from .._once import Once
from ._cluster import Cluster, ClusterNode, describe, read_nodes

if TYPE_CHECKING:
    from ._client import MemorySettings, RedisSource

__all__ = ["DirectRedisFacts", "Instance", "RedisFacts", "instance"]


class Instance(TypedDict):
    instance: str  # host:port
    node: str  # how messages name it: the address, with role and slots in a cluster
    role: str  # "master" or "replica"
    via: str  # "redis" or "prometheus"
    maxmemory: int  # bytes; 0 = no limit
    maxmemory_policy: str
    maxmemory_samples: int | None  # None when the reader cannot see it
    used_memory: int  # bytes


@runtime_checkable
class RedisFacts(Protocol):
    """The live facts of an app's Redis instances."""

    def instances(self) -> list[Instance]:
        """Every instance that answered (in a cluster: every node that answered)."""
        ...

    def cluster(self) -> Cluster | None:
        """Every node of the cluster, answered or not; None when Redis is not a cluster."""
        ...

    def close(self) -> None: ...


def instance(
    address: str, node: str, role: str, via: str, memory: Mapping[str, Any], settings: Mapping[str, Any]
) -> Instance:
    return Instance(
        instance=address, node=node, role="replica" if role in ("slave", "replica") else "master", via=via,
        maxmemory=int(settings["maxmemory"]), maxmemory_policy=str(settings["maxmemory_policy"]),
        maxmemory_samples=settings.get("maxmemory_samples"), used_memory=int(memory.get("used_memory", 0)),
    )


class DirectRedisFacts:
    """A Redis server asked ``INFO`` and ``CONFIG GET maxmemory*``; when ``INFO`` says
    ``cluster_enabled:1``, every node its ``CLUSTER NODES`` lists, at the addresses they announce."""

    def __init__(self, source: RedisSource) -> None:
        self.source = source
        self._once: Once[tuple[list[Instance], Cluster | None]] = Once(
            "redis", "the read of the instances' facts another item started"
        )

    def instances(self) -> list[Instance]:
        return list(self._once.get(self._read)[0])

    def cluster(self) -> Cluster | None:
        return self._once.get(self._read)[1]

    def _read(self) -> tuple[list[Instance], Cluster | None]:
        seed = self.source
        info = seed.info()  # the default sections hold memory, replication and cluster
        settings: MemorySettings = seed.memory_settings()
        role = str(info.get("role", "master"))
        if int(info.get("cluster_enabled") or 0) != 1:
            return [instance(seed.address, seed.address, role, "redis", info, settings)], None
        nodes, reads = read_nodes(seed, (info, settings, seed.cluster_info()), seed.sibling)
        nodes.sort(key=_order)
        found = [
            instance(
                n["address"] or seed.address, describe(n), n["role"], "redis", reads[n["id"]][0], reads[n["id"]][1]
            )
            for n in nodes
            if n["id"] in reads
        ]
        return found, Cluster(via="redis", seed=seed.address, nodes=nodes)

    def close(self) -> None:
        self.source.close()


def _order(node: ClusterNode) -> tuple[int, int, str]:
    """Masters by their first slot, then replicas, each by address."""
    first = node["slots"][0][0] if node["slots"] else 1 << 14
    return (0, first, node["address"]) if node["role"] == "master" else (1, 0, node["address"])
