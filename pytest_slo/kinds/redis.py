"""``kind: redis``: judge the live state of an app's Redis instances (read-only).

The run's sources give the same per-instance facts (``maxmemory``, ``maxmemory_policy``,
``maxmemory_samples``, ``used_memory``) from either of two readers
(:mod:`pytest_slo.sources.redis`):

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

from typing import TYPE_CHECKING, Any, ClassVar

from ._expr import EXPRESSION_SCHEMA, config_context, judge, location_keys
from .base import Kind, Target, Verdict

if TYPE_CHECKING:
    from ..catalog.model import Check

__all__ = ["RedisKind"]


class RedisKind(Kind):
    name = "redis"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = {"properties": dict(EXPRESSION_SCHEMA), "required": ["assert"]}

    def fetch(self, check: Check, target: Target) -> Any:
        return [dict(i) for i in target.sources.redis(target.site, target.app).instances()]

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        instances: list[dict[str, Any]] = data
        context = config_context(target)
        failures: list[str] = []
        failing: list[dict[str, str]] = []
        evidence: dict[str, Any] = {"instances": instances}
        for live in instances:
            context["live"] = live
            ok, message, detail = judge(check, target, context)
            if not ok:
                failures.append(f"{live['instance']}: {detail['found']} (read via {live['via']})")
                failing.append({"instance": str(live["instance"])})
                evidence.update({k: v for k, v in detail.items() if k not in ("found",)})
        location = target.env_location(*location_keys(check, context))
        if not failures:
            return Verdict(True, evidence=evidence, location=location)
        expect = evidence.get("expected", check.spec["assert"])
        # what is wrong first, one line per instance; then what was expected
        of = f" ({len(failures)} of {len(instances)} instances)" if len(instances) > 1 else ""
        message = "\n".join(failures) + f"\n  expected {expect}{of}"
        return Verdict(False, message, evidence, location, objects=failing)
