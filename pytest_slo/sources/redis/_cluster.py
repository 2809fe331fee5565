"""A Redis Cluster as its nodes say it is: ``CLUSTER NODES`` parsed, every node read.

The seed (the address the run was given) says ``cluster_enabled:1`` in ``INFO``; its
``CLUSTER NODES`` lists every node with the address it announces, its role, its slots, its
flags (``fail``, ``fail?`` = pfail, ``handshake``, ``noaddr``) and the state of the seed's
link to it. Every other node is then asked, concurrently, ``INFO``, ``CONFIG GET
maxmemory*`` and ``CLUSTER INFO`` at that announced address: the addresses a client of the
cluster is redirected to, so where the gate runs must reach them. A node that does not
answer within the item's ``--live-timeout`` is a fact (``answered: False`` and why), never an
error: the other nodes' verdicts stand.

The text of ``CLUSTER NODES`` is parsed here rather than by redis-py, whose parser keys nodes
by address: every node without one (``noaddr``) would collapse into a single entry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from pytest_slo.errors import SloError

from .._deadline import current

if TYPE_CHECKING:
    from ._client import MemorySettings, RedisSource

__all__ = [
    "SLOTS", "TROUBLE", "Cluster", "ClusterNode", "View", "describe", "one_reason", "parse_nodes", "read_nodes",
    "slot_count", "slot_text", "unassigned", "view",
]

SLOTS = 16384
#: Flags of CLUSTER NODES that say a node is not a healthy member; ``fail?`` is spelled pfail.
TROUBLE = ("fail", "pfail", "handshake", "noaddr")
_SHARE = 0.8  # of the item's time left that the nodes may take; the rest is for the verdicts


class View(TypedDict):
    """One node's ``CLUSTER INFO``: the cluster as that node sees it."""

    state: str  # "ok" or "fail"
    slots_assigned: int
    slots_ok: int
    slots_pfail: int
    slots_fail: int
    known_nodes: int
    size: int  # masters serving at least one slot


class ClusterNode(TypedDict):
    id: str  # the node id; "" when the source does not show it (redis_exporter)
    address: str  # host:port the node announces (via prometheus: the scrape's instance)
    name: str  # how messages name it: its address, or its pod
    role: str  # "master" or "replica"
    master: str  # a replica's master, as an address; "" for a master
    slots: list[list[int]] | None  # [[first, last], ...]; None when the source does not say
    flags: list[str]  # those of TROUBLE (and nofailover) the seed's CLUSTER NODES shows
    link: str  # the seed's link to it: "connected", "disconnected"; "" when unknown
    replicas: int | None  # a master's replicas that are up; None when unknown
    answered: bool
    error: str  # why it did not answer; "" when it did
    view: View | None  # its CLUSTER INFO, when it answered


class Cluster(TypedDict):
    via: str  # "redis" or "prometheus"
    seed: str  # the address asked first, or the selector of the exporter's series
    nodes: list[ClusterNode]


NodeRead = tuple[dict[str, Any], "MemorySettings", dict[str, Any]]  # INFO, CONFIG GET maxmemory*, CLUSTER INFO


def parse_nodes(text: str) -> list[ClusterNode]:
    """The nodes of a ``CLUSTER NODES`` reply (documented at redis.io/commands/cluster-nodes),
    each as not yet read; ``myself`` is kept in ``flags`` for the reader."""
    rows: list[tuple[str, str, set[str], str, str, list[list[int]]]] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_id, addr, master_id, link = fields[0], fields[1], fields[3], fields[7]
        host_port = addr.split("@", 1)[0].split(",", 1)[0]
        host, _, port = host_port.rpartition(":")
        address = (
            ""
            if not host or not port.isdigit() or port == "0"
            else (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        )
        names = {"pfail" if f == "fail?" else f for f in fields[2].split(",")}
        rows.append((node_id, address, names, master_id, link, _slots(fields[8:])))
    addresses = {node_id: address for node_id, address, *_ in rows}
    up_replicas: dict[str, int] = {}
    for _, _, node_flags, master_id, _, _ in rows:
        if master_id != "-" and not node_flags & set(TROUBLE):
            up_replicas[master_id] = up_replicas.get(master_id, 0) + 1
    return [
        ClusterNode(
            id=node_id, address=address, name=address or f"node {node_id[:8]}",
            role="replica" if master_id != "-" else "master",
            master=addresses.get(master_id) or master_id[:8] if master_id != "-" else "",
            slots=slots, flags=sorted(f for f in flags if f in (*TROUBLE, "nofailover", "myself")),
            link=link, replicas=up_replicas.get(node_id, 0) if master_id == "-" else None,
            answered=False, error="", view=None,
        )
        for node_id, address, flags, master_id, link, slots in rows
    ]


def _slots(fields: Iterable[str]) -> list[list[int]]:
    out: list[list[int]] = []
    for field in fields:
        if field.startswith("["):  # a slot being imported or migrated: still served by its owner
            continue
        first, _, last = field.partition("-")
        try:
            out.append([int(first), int(last or first)])
        except ValueError:
            continue
    return sorted(out)


def view(info: Mapping[str, Any]) -> View:
    """A ``CLUSTER INFO`` reply (or redis_exporter's ``redis_cluster_*`` values) as a :class:`View`."""
    def number(name: str) -> int:
        try:
            return int(float(info.get(f"cluster_{name}", 0)))
        except (TypeError, ValueError):
            return 0

    state = info.get("cluster_state", "")
    return View(
        state=str(state), slots_assigned=number("slots_assigned"), slots_ok=number("slots_ok"),
        slots_pfail=number("slots_pfail"), slots_fail=number("slots_fail"), known_nodes=number("known_nodes"),
        size=number("size"),
    )


def read_nodes(
    seed: RedisSource, seed_read: NodeRead, connect: Callable[[str, float], RedisSource]
) -> tuple[list[ClusterNode], dict[str, NodeRead]]:
    """Every node of the seed's ``CLUSTER NODES``, and what each node that answered said.

    The seed answers for itself (the node flagged ``myself``), whatever address it announces;
    the others are asked concurrently, each within what is left of the item's deadline.
    """
    nodes = parse_nodes(seed.cluster_nodes())
    deadline = current(seed.timeout)
    wait = max(0.1, round(min(seed.timeout, _SHARE * deadline.remaining()), 1))
    reads: dict[str, NodeRead] = {}
    errors: dict[str, str] = {}
    threads: list[threading.Thread] = []

    def ask(node: ClusterNode) -> None:
        try:
            with connect(node["address"], wait) as source:
                reads[node["id"]] = (source.info(), source.memory_settings(), source.cluster_info())
        except SloError as exc:
            errors[node["id"]] = one_reason(exc)

    for node in nodes:
        if "myself" in node["flags"]:
            reads[node["id"]] = seed_read
        elif not node["address"]:
            errors[node["id"]] = "it announces no address (noaddr)"
        elif "handshake" in node["flags"]:
            errors[node["id"]] = "it is still in handshake, not yet a member"
        else:
            thread = threading.Thread(target=ask, args=(node,), name="slo-redis-node", daemon=True)
            threads.append(thread)
            thread.start()
    end = time.monotonic() + wait + 0.05
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    answered, failed = dict(reads), dict(errors)  # what came in time; a late answer is not taken
    for node in nodes:
        node["flags"] = [f for f in node["flags"] if f != "myself"]
        if node["id"] in answered:
            node["answered"], node["view"] = True, view(answered[node["id"]][2])
        else:
            node["error"] = failed.get(node["id"], f"no answer from {node['address']} within {wait:.1f} s")
    return nodes, answered


def one_reason(exc: SloError) -> str:
    return str(getattr(exc, "reason", None) or exc.message)


def slot_count(slots: Iterable[Iterable[int]]) -> int:
    return sum(last - first + 1 for first, last in slots)


def slot_text(slots: list[list[int]], most: int = 4) -> str:
    """``0-5460, 10923-16383``; past ``most`` ranges, ``... (+3 more ranges)``."""
    parts = [f"{a}-{b}" if a != b else str(a) for a, b in slots[:most]]
    more = f" (+{len(slots) - most} more ranges)" if len(slots) > most else ""
    return ", ".join(parts) + more


def unassigned(nodes: Iterable[ClusterNode]) -> list[list[int]]:
    """The slot ranges no master of ``nodes`` claims (only when every node's slots are known)."""
    taken = sorted(r for n in nodes if n["role"] == "master" for r in (n["slots"] or ()))
    free, nxt = [], 0
    for first, last in taken:
        if first > nxt:
            free.append([nxt, first - 1])
        nxt = max(nxt, last + 1)
    if nxt < SLOTS:
        free.append([nxt, SLOTS - 1])
    return free


def describe(node: ClusterNode) -> str:
    """``127.0.0.1:7002 (master, slots 5461-10922)``, ``redis-cluster-4 (replica of 10.0.3.7:6379)``."""
    if node["role"] == "replica":
        role = f"replica of {node['master']}" if node["master"] else "replica"
    elif node["slots"] is None:
        role = "master"
    else:
        role = f"master, slots {slot_text(node['slots'])}" if node["slots"] else "master, no slots"
    return f"{node['name']} ({role})"
