"""Redis, read-only: INFO and CONFIG GET, for the ``redis`` kind and the drift checks.

Only INFO and CONFIG GET are ever sent, plus the AUTH the connection needs. The ``redis``
package costs about 0.13 s to import, so it is imported on first use, never by importing
this module. The connection speaks RESP2 and skips CLIENT SETINFO: on Redis 7.0 the RESP3
handshake extras and SETINFO are unknown commands, and each one would count as an ``ERR``
in the server's errorstats, that is, in the ``redis_errors_total`` the SLO checks read.
"""

from ._client import MemorySettings, RedisSource
from ._facts import DirectRedisFacts, ExporterRedisFacts, Instance, RedisFacts

__all__ = ["DirectRedisFacts", "ExporterRedisFacts", "Instance", "MemorySettings", "RedisFacts", "RedisSource"]
