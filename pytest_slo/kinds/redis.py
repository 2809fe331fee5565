"""``kind: redis``: judge the live state of an app's Redis instances (read-only).

The run's sources give the same per-instance facts (``maxmemory``, ``maxmemory_policy``,
``maxmemory_samples``, ``used_memory``, ``role``) and, for a Redis Cluster, every node of
``CLUSTER NODES`` from either of two readers (:mod:`pytest_slo.sources.redis`):

* ``direct``: ``INFO``, ``CONFIG GET`` and ``CLUSTER NODES``/``CLUSTER INFO`` over the Redis
  protocol, for sites without an exporter (address from ``--redis-url``/``SLO_REDIS_URL`` or
  ``REDIS_ADDR``; password from ``SLO_REDIS_PASSWORD`` or ``REDIS_PASSWORD``);
* ``exporter``: instant queries of redis_exporter's series in Prometheus, selected by the
  app's labels.

``REDIS_CHECK_VIA=direct|exporter`` in config.env chooses; by default an address given on
the command line or in config.env means ``direct``, else ``exporter``. ``assert`` is an
expression over ``live`` (one instance, every node of a cluster) and the config, evaluated
for every instance; ``test: cluster`` judges the cluster itself (:mod:`._redis_cluster`).
A drift check (marker ``drift``) that fails says what brings live back to the committed
config (``Verdict.action``): its config.env line is what is declared, not what to edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..catalog.schema import test_or_assert
from ._expr import EXPRESSION_SCHEMA, config_context, judge, location_keys
from ._redis_cluster import judge_cluster, unread
from .base import Kind, Location, Target, Verdict

if TYPE_CHECKING:
    from ..catalog.model import Check

__all__ = ["RedisKind"]


class RedisKind(Kind):
    name = "redis"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = test_or_assert("redis", ["cluster"], EXPRESSION_SCHEMA)

    def fetch(self, check: Check, target: Target) -> Any:
        facts = target.sources.redis(target.site, target.app)
        if check.spec.get("test") == "cluster":
            return {"cluster": facts.cluster(), "instances": None}
        return {"instances": [dict(i) for i in facts.instances()], "cluster": facts.cluster()}

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        if check.spec.get("test") == "cluster":
            return judge_cluster(check, target, data["cluster"])
        instances: list[dict[str, Any]] = data["instances"]
        context = config_context(target)
        failures: list[str] = []
        failing: list[dict[str, str]] = []
        evidence: dict[str, Any] = {}
        for live in instances:
            context["live"] = live
            ok, _message, detail = judge(check, target, context)
            if not ok:
                failures.append(f"{live['node']}: {detail['found']} (read via {live['via']})")
                failing.append({"instance": str(live["instance"])})
                evidence.update({k: v for k, v in detail.items() if k not in ("found",)})
        # the failing instances first: a reader (and the postmortem's cause) sees one of them first
        bad = {f["instance"] for f in failing}
        evidence["instances"] = sorted(instances, key=lambda i: i["instance"] not in bad)
        not_read = unread(data["cluster"])
        if not_read:
            evidence["not_read"] = not_read
        location = target.env_location(*location_keys(check, context))
        if not failures:
            return Verdict.passed(**evidence)
        expect = evidence.get("expected", check.spec["assert"])
        # what is wrong first, one line per instance; then what was expected
        of = f" ({len(failures)} of {len(instances)} instances)" if len(instances) > 1 else ""
        lines = [*failures, f"  expected {expect}{of}"]
        lines += [f"  not read: {n} (see redis-cluster-state)" for n in not_read]
        action = _back_to_declared(target, location, evidence) if "drift" in check.markers else None
        return Verdict.failed("\n".join(lines), evidence, location, objects=failing, action=action)


def _back_to_declared(target: Target, location: Location, evidence: dict[str, Any]) -> str:
    """What brings a drifted Redis back: the committed config rolled out, never a hand-made CONFIG SET."""
    declared = next((f"{k}={evidence[k]}" for k in evidence if k.isupper()), "the committed config")
    where = f" ({location})" if location.line else ""
    app = target.app or "the app"
    return (
        f"live differs from what is committed: config.env declares {declared}{where}; sync and roll out {app} "
        f"so every node restarts with the rendered values (e.g. argocd app sync {app}, or helm upgrade, then "
        f"kubectl rollout restart statefulset/{app}); a CONFIG SET on a node is lost at its next restart and is no fix"
    )
