"""``kind: redis``: judge the live state of an app's Redis instances (read-only).

Two readers give the same per-instance facts (``maxmemory``, ``maxmemory_policy``,
``maxmemory_samples``, ``used_memory``):

* ``direct``: ``INFO`` and ``CONFIG GET`` over the Redis protocol, for sites without an
  exporter (address from ``--redis-url``/``SLO_REDIS_URL`` or ``REDIS_ADDR``; password from
  ``SLO_REDIS_PASSWORD`` or ``REDIS_PASSWORD``);
* ``exporter``: instant queries of redis_exporter's series in Prometheus, selected by the
  app's labels.

``REDIS_CHECK_VIA=direct|exporter`` in config.env chooses; by default an address given on
the command line or in config.env means ``direct``, else ``exporter``. ``assert`` is an
expression over ``live`` (one instance) and the config, evaluated for every instance.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import SloError, SourceUnavailable
from ._expr import EXPRESSION_SCHEMA, config_context, judge, location_keys
from .base import Kind, Target, Verdict
from .live import eval_time, iso, prometheus, selector

if TYPE_CHECKING:
    from ..catalog.model import Check

__all__ = ["RedisKind", "read_direct", "read_exporter"]


def _address(target: Target) -> str | None:
    url = target.run.settings.redis_url or target.site.config.get("REDIS_ADDR")
    return str(url) if url else None


def _via(target: Target) -> str:
    via = str(target.site.config.get("REDIS_CHECK_VIA", "")).strip()
    if via in ("direct", "exporter"):
        return via
    return "direct" if _address(target) else "exporter"


def read_direct(target: Target) -> list[dict[str, Any]]:
    address = _address(target)
    if not address:
        raise SourceUnavailable("redis", f"no address: pass --redis-url or set REDIS_ADDR in {target.site.env_display}")
    password = os.environ.get("SLO_REDIS_PASSWORD") or target.site.config.get("REDIS_PASSWORD") or None
    timeout = target.run.settings.live_timeout

    def make() -> Any:
        from ..sources.redis import RedisSource

        return RedisSource.from_url(address, password=password, timeout=timeout)

    source = target.run.source(("redis", address), make)
    facts = target.run.source(("redis-facts", address), lambda: _direct_facts(source, address))
    return [facts]


def _direct_facts(source: Any, address: str) -> dict[str, Any]:
    settings = source.memory_settings()
    memory = source.info("memory")
    return {
        "instance": address.split("://")[-1].split("@")[-1],
        "via": "redis",
        "maxmemory": int(settings["maxmemory"]),
        "maxmemory_policy": settings["maxmemory_policy"],
        "maxmemory_samples": settings.get("maxmemory_samples"),
        "used_memory": int(memory.get("used_memory", 0)),
    }


def read_exporter(target: Target) -> list[dict[str, Any]]:
    source = prometheus(target)
    at = eval_time(target.run)
    sel = selector(target)
    info_q = f"redis_instance_info{{{sel}}}"
    queries = [info_q, f"redis_memory_max_bytes{{{sel}}}", f"redis_memory_used_bytes{{{sel}}}", f"redis_config_maxmemory{{{sel}}}"]
    answers = source.query_many(queries, at)
    for query in queries[:3]:
        answer = answers[query]
        if isinstance(answer, SloError):
            raise answer
    first = answers[info_q]
    info = [] if isinstance(first, SloError) else first.samples
    if not info:
        raise SourceUnavailable("prometheus", f"no redis_exporter series at {iso(at)}: {source.diagnose_empty(info_q, at)}")

    def by_instance(query: str) -> dict[str, float]:
        answer = answers[query]
        return {} if isinstance(answer, SloError) else {s.labels.get("instance", ""): s.value for s in answer.samples}

    maxmem, used = by_instance(queries[1]), by_instance(queries[2])
    facts = []
    for sample in sorted(info, key=lambda s: s.labels.get("instance", "")):
        instance = sample.labels.get("instance", "")
        facts.append(
            {
                "instance": instance,
                "via": "prometheus",
                "maxmemory": int(maxmem.get(instance, 0)),
                "maxmemory_policy": sample.labels.get("maxmemory_policy", ""),
                "maxmemory_samples": None,
                "used_memory": int(used.get(instance, 0)),
            }
        )
    return facts


class RedisKind(Kind):
    name = "redis"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = {"properties": dict(EXPRESSION_SCHEMA), "required": ["assert"]}

    def fetch(self, check: Check, target: Target) -> Any:
        return read_direct(target) if _via(target) == "direct" else read_exporter(target)

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        instances: list[dict[str, Any]] = data
        context = config_context(target)
        failures: list[str] = []
        evidence: dict[str, Any] = {"instances": instances}
        for live in instances:
            context["live"] = live
            ok, message, detail = judge(check, target, context)
            if not ok:
                failures.append(f"{live['instance']} (via {live['via']}): {detail['found']}")
                evidence.update({k: v for k, v in detail.items() if k not in ("found",)})
        location = target.env_location(*location_keys(check, context))
        if not failures:
            return Verdict(True, evidence=evidence, location=location)
        expect = evidence.get("expected", check.spec["assert"])
        message = f"{check.title}: {len(failures)} of {len(instances)} instance(s) differ; expected {expect}\n  " + "\n  ".join(failures)
        return Verdict(False, message, evidence, location)
