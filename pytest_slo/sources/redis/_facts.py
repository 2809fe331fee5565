"""What the ``redis`` kind judges, from either of two readers behind one interface.

* :class:`DirectRedisFacts`: ``INFO`` and ``CONFIG GET`` over the Redis protocol;
* :class:`ExporterRedisFacts`: instant queries of redis_exporter's series in Prometheus.

Both give one :class:`Instance` dict per Redis instance with the same keys, read once per run
(an error is remembered, so every item of the instance reports the same one line).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypedDict, runtime_checkable

from pytest_slo.errors import SloError, SourceUnavailable

from .._once import Once

if TYPE_CHECKING:
    from ..prometheus import PrometheusSource
    from ._client import RedisSource

__all__ = ["DirectRedisFacts", "ExporterRedisFacts", "Instance", "RedisFacts"]


class Instance(TypedDict):
    instance: str  # host:port
    via: str  # "redis" or "prometheus"
    maxmemory: int  # bytes; 0 = no limit
    maxmemory_policy: str
    maxmemory_samples: int | None  # None when the reader cannot see it
    used_memory: int  # bytes


@runtime_checkable
class RedisFacts(Protocol):
    """The live facts of an app's Redis instances."""

    def instances(self) -> list[Instance]: ...

    def close(self) -> None: ...


class DirectRedisFacts:
    """One Redis server, asked ``CONFIG GET maxmemory*`` and ``INFO memory``."""

    def __init__(self, source: RedisSource) -> None:
        self.source = source
        self._once: Once[list[Instance]] = Once("redis", "the read of the instances' facts another item started")

    def instances(self) -> list[Instance]:
        return list(self._once.get(self._read))

    def _read(self) -> list[Instance]:
        settings = self.source.memory_settings()
        memory = self.source.info("memory")
        return [
            Instance(
                instance=self.source.address,
                via="redis",
                maxmemory=int(settings["maxmemory"]),
                maxmemory_policy=settings["maxmemory_policy"],
                maxmemory_samples=settings.get("maxmemory_samples"),
                used_memory=int(memory.get("used_memory", 0)),
            )
        ]

    def close(self) -> None:
        self.source.close()


class ExporterRedisFacts:
    """redis_exporter's series of the instances ``selector`` picks, at the run's evaluation time."""

    def __init__(self, prometheus: PrometheusSource, selector: str, at: Callable[[], float]) -> None:
        self.prometheus, self.selector, self._at = prometheus, selector, at
        self._once: Once[list[Instance]] = Once("redis", "the read of the instances' facts another item started")

    def instances(self) -> list[Instance]:
        return list(self._once.get(self._read))

    def _read(self) -> list[Instance]:
        sel, at = self.selector, self._at()
        info_q = f"redis_instance_info{{{sel}}}"
        max_q, used_q = f"redis_memory_max_bytes{{{sel}}}", f"redis_memory_used_bytes{{{sel}}}"
        answers = self.prometheus.query_many([info_q, max_q, used_q], at)
        for answer in answers.values():
            if isinstance(answer, SloError):
                raise answer
        info = answers[info_q].samples  # type: ignore[union-attr]
        if not info:
            raise SourceUnavailable(
                "prometheus", f"no redis_exporter series at {_iso(at)}: {self.prometheus.diagnose_empty(info_q, at)}"
            )

        def by_instance(query: str) -> dict[str, float]:
            return {s.labels.get("instance", ""): s.value for s in answers[query].samples}  # type: ignore[union-attr]

        maxmem, used = by_instance(max_q), by_instance(used_q)
        for sample in info:  # a missing series is no fact: reading it as 0 would be a false "no limit"
            instance = sample.labels.get("instance", "")
            for name, values in (("redis_memory_max_bytes", maxmem), ("redis_memory_used_bytes", used)):
                if instance not in values:
                    raise SourceUnavailable(
                        "prometheus", f"redis_exporter shows {instance} in redis_instance_info but has no {name} for it at {_iso(at)}"
                    )
        return [
            Instance(
                instance=s.labels.get("instance", ""),
                via="prometheus",
                maxmemory=int(maxmem.get(s.labels.get("instance", ""), 0)),
                maxmemory_policy=s.labels.get("maxmemory_policy", ""),
                maxmemory_samples=None,
                used_memory=int(used.get(s.labels.get("instance", ""), 0)),
            )
            for s in sorted(info, key=lambda s: s.labels.get("instance", ""))
        ]

    def close(self) -> None:
        """The Prometheus client belongs to the run's Sources, which closes it."""


def _iso(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


