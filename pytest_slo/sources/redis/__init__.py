"""Redis, read-only: INFO, CONFIG GET and, for a Redis Cluster, CLUSTER NODES and CLUSTER INFO.

Owns the facts of the ``redis`` kind: each instance's memory settings and, for a cluster,
every node the seed's ``CLUSTER NODES`` lists (read at the address it announces), or the
same facts from redis_exporter's series. Only INFO, CONFIG GET, CLUSTER NODES and CLUSTER
INFO are ever sent, plus the AUTH the connection needs. The ``redis`` package costs about
0.13 s to import, so it is imported on first use, never by importing this module. The
connection speaks RESP2 and skips CLIENT SETINFO: on Redis 7.0 the RESP3 handshake extras and
SETINFO are unknown commands, and each one would count as an ``ERR`` in the server's
errorstats, that is, in the ``redis_errors_total`` the SLO checks read.
"""

from ._client import MemorySettings, RedisSource
from ._cluster import SLOTS, Cluster, ClusterNode, View, describe, slot_count, slot_text, unassigned
from ._exporter import ExporterRedisFacts
from ._facts import DirectRedisFacts, Instance, RedisFacts

__all__ = [
    "SLOTS", "Cluster", "ClusterNode", "DirectRedisFacts", "ExporterRedisFacts", "Instance", "MemorySettings",
    "RedisFacts", "RedisSource", "View", "describe", "slot_count", "slot_text", "unassigned",
]
