"""``kind: redis`` with ``test: cluster``: is the Redis Cluster whole?

Fails when a node's ``CLUSTER INFO`` says ``cluster_state:fail`` or fewer than 16384 slots
served (``cluster_slots_ok``; the rest are ``_pfail``, ``_fail`` or not assigned), when a
node does not answer or the cluster flags it (``fail``, ``pfail``, ``handshake``,
``noaddr``), and, when config.env declares ``REDIS_CLUSTER_REPLICAS``, when a master has
fewer replicas up. One line per problem, naming the node, its role and slot ranges, and one
identity per node (``{"instance": "127.0.0.1:7002"}``) so fingerprints and waivers tell the
nodes apart. A Redis that is not a cluster is skipped, saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..sources.redis import SLOTS, Cluster, ClusterNode, describe, slot_count, slot_text, unassigned
from ..units import plural
from .base import Target, Verdict

if TYPE_CHECKING:
    from ..catalog.model import Check

__all__ = ["REPLICAS_KEY", "judge_cluster", "unread"]

REPLICAS_KEY = "REDIS_CLUSTER_REPLICAS"
_FAILED = {"fail", "pfail"}


def unread(cluster: Cluster | None) -> list[str]:
    """The nodes that did not answer, each with why: the other checks judged every other node."""
    if not cluster:
        return []
    return [f"{describe(n)}: {n['error']}" for n in cluster["nodes"] if not n["answered"]]


def judge_cluster(check: Check, target: Target, cluster: Cluster | None) -> Verdict:
    if cluster is None:
        how = (
            "INFO says cluster_enabled:0"
            if _via(target) == "direct"
            else "redis_exporter says redis_mode is not cluster"
        )
        return Verdict.skipped(f"not a Redis Cluster: {how}; {check.id} judges the nodes of a cluster")
    declared = _declared_replicas(target)
    nodes = cluster["nodes"]
    lines: list[str] = []
    objects: list[dict[str, str]] = []
    todo: list[str] = []
    headline = _state(cluster)
    if headline:
        lines += headline
        objects.append({"cluster": "slots"})
    node_lines, node_objects, node_todo = _nodes(cluster)
    lines += node_lines
    objects += node_objects
    todo += node_todo
    short = _short_of_replicas(nodes, declared) if declared is not None else []
    for node, missing in short:
        lines.append(f"{describe(node)}: {node['replicas']} of {declared} replicas up ({REPLICAS_KEY}={declared})"
                     + (f"; {missing}" if missing else ""))
        objects.append({"instance": node["address"] or node["name"], "problem": "replicas"})
    if short:
        todo.append(f"bring the missing replicas back until every master has {declared} (a replica pod that is not "
                    "running: kubectl get pods; a node that lost its master: CLUSTER REPLICATE)")
    known = max((n["view"]["known_nodes"] for n in nodes if n["view"]), default=0)
    if cluster["via"] == "prometheus" and known > len(nodes):
        lines.append(f"the cluster knows {known} nodes; redis_exporter shows {len(nodes)} of them: "
                     "a node without an exporter target is not judged")
        objects.append({"cluster": "nodes"})
    evidence: dict[str, Any] = {"via": cluster["via"], "seed": cluster["seed"], "nodes": nodes}
    if declared is not None:
        evidence[REPLICAS_KEY] = declared
    location = target.env_location(REPLICAS_KEY) if short else None
    if not lines:
        return Verdict.passed(**evidence)
    masters = sum(1 for n in nodes if n["role"] == "master")
    lines.append(f"  read via {cluster['via']}: {plural(len(nodes), 'node')}, "
                 f"{plural(masters, 'master')}; expected cluster_state ok with all "
                 f"{SLOTS} slots served by masters that answer"
                 + (f", each with {declared} replica{'s' if declared != 1 else ''}" if declared else ""))
    return Verdict.failed("\n".join(lines), evidence, location, objects=objects, action="; ".join(todo) or None)


def _via(target: Target) -> str:
    return target.sources.redis_via(target.site)


def _declared_replicas(target: Target) -> int | None:
    value = target.site.config.get(REPLICAS_KEY)
    if value is None or value == "":
        return None
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        loc = target.env_location(REPLICAS_KEY)
        raise ConfigError(f"{REPLICAS_KEY}={value} is not a count of replicas", path=loc.path, line=loc.line,
                          hint="write a whole number, 0 or more")
    return count


def _state(cluster: Cluster) -> list[str]:
    """The cluster as its worst-off answering node sees it, when that is not whole."""
    seen = [(n, n["view"]) for n in cluster["nodes"] if n["view"] is not None]
    if not seen:
        return ["no node of the cluster answered"]
    node, worst = min(seen, key=lambda nv: (nv[1]["state"] == "ok", nv[1]["slots_ok"]))
    if worst["state"] == "ok" and worst["slots_ok"] >= SLOTS:
        return []
    unserved = SLOTS - worst["slots_ok"]
    lines = [
        f"cluster_state {worst['state']} as {node['name']} sees it: {unserved} of {SLOTS} slots not served "
        f"(cluster_slots_ok {worst['slots_ok']}, pfail {worst['slots_pfail']}, fail {worst['slots_fail']}, "
        f"unassigned {SLOTS - worst['slots_assigned']})"
    ]
    if worst["slots_assigned"] < SLOTS and all(n["slots"] is not None for n in cluster["nodes"]):
        free = unassigned(cluster["nodes"])
        lines.append(f"slots {slot_text(free)} are assigned to no master")
    return lines


def _health(node: ClusterNode) -> str:
    """``down`` (the cluster, or redis_exporter, says so), ``flagged`` (answers, but the cluster
    flags it), ``hangs`` (no answer in time, not flagged), ``unreachable`` (the gate cannot
    connect, the cluster sees it fine) or ``ok``."""
    flags = set(node["flags"])
    if flags & _FAILED or node["link"] == "disconnected" or (not node["answered"] and node["slots"] is None):
        return "down" if not node["answered"] else "flagged"
    if not node["answered"]:
        return "hangs" if node["error"].startswith("no answer") else "unreachable"
    return "flagged" if flags & {"handshake", "noaddr"} else "ok"


def _nodes(cluster: Cluster) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """A line and an identity per node that is not a healthy member, and what to do about them."""
    lines, objects, todo = [], [], []
    seed = cluster["seed"]
    by_health: dict[str, list[str]] = {}
    for node in cluster["nodes"]:
        health = _health(node)
        if health == "ok":
            continue
        by_health.setdefault(health, []).append(node["name"])
        parts = [f"does not answer: {node['error']}"] if not node["answered"] else []
        flags = [f for f in node["flags"] if f != "nofailover"]
        if flags:
            parts.append(f"the cluster flags it {','.join(flags)}")
        elif node["link"] == "disconnected":
            parts.append(f"{seed} lost its link to it too (flagged pfail after cluster-node-timeout)")
        elif health == "hangs":
            parts.append(f"{seed} sees it connected and has not flagged it: it hangs, or the network between the "
                         "gate and the node drops packets")
        elif health == "unreachable":
            parts.append(
                f"{seed} sees it connected and not failing: the gate cannot reach the address the node announces"
            )
        if node["role"] == "master" and node["slots"] and set(node["flags"]) & _FAILED:
            parts.append(f"its {slot_count(node['slots'])} slots are not served")
        lines.append(f"{describe(node)}: {'; '.join(parts)}")
        objects.append({"instance": node["address"] or node["name"]})
    if by_health.get("down") or by_health.get("flagged"):
        names = ", ".join(by_health.get("down", []) + by_health.get("flagged", []))
        todo.append(f"bring {names} back (kubectl get pods says why a pod is not running); slots without a live "
                    "master come back with their node, or move with redis-cli --cluster fix")
    if by_health.get("hangs"):
        todo.append(f"see why {', '.join(by_health['hangs'])} does not answer (its log, LATENCY DOCTOR, the network "
                    "from the gate)")
    if by_health.get("unreachable"):
        todo.append("run the gate where the addresses the nodes announce are reachable (inside the cluster), "
                    "or make the nodes announce reachable ones (cluster-announce-ip)")
    return lines, objects, todo


def _short_of_replicas(nodes: list[ClusterNode], declared: int) -> list[tuple[ClusterNode, str]]:
    """The masters serving slots (or, via prometheus, answering) with fewer replicas up than declared,
    and which of their replicas are down."""
    short = []
    for node in nodes:
        if node["role"] != "master" or node["replicas"] is None or set(node["flags"]) & _FAILED:
            continue
        if node["slots"] is not None and not node["slots"]:
            continue  # a master without slots (a failed-over one come back) serves nobody
        if node["replicas"] < declared:
            down = [
                n["name"]
                for n in nodes
                if n["role"] == "replica"
                and n["master"] in (node["address"], node["name"])
                and (set(n["flags"]) & _FAILED or not n["answered"])
            ]
            short.append((node, f"{', '.join(down)} {'is' if len(down) == 1 else 'are'} down" if down else ""))
    return short
