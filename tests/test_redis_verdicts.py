"""``kind: redis`` verdicts a user reads (no server, no pytest run): the node whose setting
drifted, the node that lost its slots or its replicas, what to do, the config.env line.

The kind reads through the product's own Redis source (``RedisSource``, ``DirectRedisFacts``,
``read_nodes``); only redis-py's client is replaced, by :class:`Client`, which hands over the
replies of servers written here as redis-py would: the ``CLUSTER NODES`` text of real
clusters (tests/test_redis_cluster_nodes.py quotes the sources), ``CLUSTER INFO`` as the Redis
documentation prints it (redis.io/commands/cluster-info), ``INFO`` and ``CONFIG GET``
parsed. A node that does not answer raises what redis-py raises. Through redis_exporter, the
series come from :class:`Prometheus`, answers to the instant queries the source sends.
The checks are the shipped ones (checks/redis-live.yaml); the site is sites/production's
config.env in a small repository written into tmp_path.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from pytest_slo.errors import ConfigError
from pytest_slo.kinds import Location, Target, Verdict
from pytest_slo.kinds.redis import RedisKind
from pytest_slo.repo.site import Repo
from pytest_slo.sources import LiveOptions, Sources
from pytest_slo.sources.prometheus import InstantResult, Sample
from pytest_slo.sources.redis import ExporterRedisFacts

from .kube_helpers import CHECKS, REPO
from .test_prometheus_source import FakePrometheus, Seen
from .test_redis_cluster_nodes import DOC, FAILOVER

ENV = "sites/production/config.env"
POLICY, MAXMEMORY, STATE = "redis-eviction-policy-live", "redis-maxmemory-live", "redis-cluster-state"
SEED = "127.0.0.1:30001"
GiB = 1 << 30

#: The example of CLUSTER INFO in the Redis documentation (redis.io/commands/cluster-info).
WHOLE = """\
cluster_state:ok
cluster_slots_assigned:16384
cluster_slots_ok:16384
cluster_slots_pfail:0
cluster_slots_fail:0
cluster_known_nodes:6
cluster_size:3
cluster_current_epoch:6
cluster_my_epoch:2
cluster_stats_messages_sent:1483972
cluster_stats_messages_received:1483968
total_cluster_links_buffer_limit_exceeded:0
"""


def cluster_info(**changed: object) -> str:
    """WHOLE with some fields changed: ``cluster_info(state="fail", slots_ok=10923)``."""
    lines = []
    for line in WHOLE.splitlines():
        name, _, value = line.partition(":")
        lines.append(f"{name}:{changed.get(name.removeprefix('cluster_'), value)}")
    return "\n".join(lines) + "\n"


def server(
    nodes: str | None = DOC, *, role: str = "master", policy: str = "allkeys-lru", maxmemory: int = 1536 << 20,
    info: str = WHOLE,
) -> dict[str, Any]:
    """What one Redis server answers (``nodes=None``: not a cluster)."""
    return {
        "info": {"role": role, "cluster_enabled": 0 if nodes is None else 1, "used_memory": 734003200,
                 "maxmemory": maxmemory, "maxmemory_policy": policy, "redis_version": "7.2.0"},
        "config": {"maxmemory": str(maxmemory), "maxmemory-policy": policy, "maxmemory-samples": "5",
                   "maxmemory-clients": "0", "maxmemory-eviction-tenacity": "10"},
        "nodes": nodes,
        "cluster_info": info,
    }


class Client:
    """redis-py's ``Redis`` as RedisSource uses it, answering for the servers in ``SERVERS``."""

    SERVERS: dict[str, dict[str, Any] | Exception] = {}

    def __init__(self, host: str, port: int, **options: Any) -> None:
        self.address = f"{host}:{port}"

    def _server(self) -> dict[str, Any]:
        answer = self.SERVERS.get(self.address)
        if answer is None:
            raise redis.ConnectionError(f"Error 111 connecting to {self.address}. Connection refused.")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def set_response_callback(self, *args: Any) -> None:
        pass

    def info(self, section: str | None = None) -> dict[str, Any]:
        return dict(self._server()["info"])

    def config_get(self, pattern: str) -> dict[str, str]:
        return dict(self._server()["config"])

    def execute_command(self, *args: str) -> Any:
        answer = self._server()
        if args == ("CLUSTER NODES",):
            return answer["nodes"]
        assert args == ("CLUSTER INFO",), args
        return dict(line.split(":", 1) for line in answer["cluster_info"].splitlines())

    def close(self) -> None:
        pass


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, dict[str, Any] | Exception]]:
    """The Redis servers the gate can reach, by address; every other address refuses connections."""
    known: dict[str, dict[str, Any] | Exception] = {}
    monkeypatch.setattr(Client, "SERVERS", known)
    monkeypatch.setattr(redis, "Redis", Client)
    yield known


def doc_cluster(servers: dict[str, Any], nodes: str = DOC, **changed: Any) -> None:
    """The six nodes of the documented cluster, every one answering, but those in ``changed``."""
    for i in range(1, 7):
        address = f"127.0.0.1:3000{i}"
        servers[address] = changed.get(address, server(nodes, role="master" if i <= 3 else "slave"))


def site(tmp_path: Path, *, addr: str | None = SEED, **config: str | None) -> Target:
    """The production site, its Redis at ``addr``, with config.env keys set (or, None, removed)."""
    shutil.copytree(REPO / "releases", tmp_path / "releases")
    (tmp_path / "sites/production").mkdir(parents=True)
    config.setdefault("REDIS_ADDR", addr)
    lines = []
    for line in (REPO / ENV).read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in config:
            value = config.pop(key)
            if value is not None:
                lines.append(f"{key}={value}")
            continue
        lines.append(line)
    lines += [f"{k}={v}" for k, v in config.items() if v is not None]
    (tmp_path / ENV).write_text("\n".join(lines) + "\n")
    return Target(Repo(tmp_path).site("production"), "redis-cluster", Sources(LiveOptions(timeout=2.0)))


def line_of(target: Target, key: str) -> int:
    line = target.site.env.line_of(key)
    assert line
    return line


def run(target: Target, check: str = STATE, **spec: Any) -> Verdict:
    c = CHECKS[check]
    if spec:
        c = dataclasses.replace(c, spec={**c.spec, **spec})
    kind = RedisKind()
    return kind.evaluate(c, target, kind.fetch(c, target))


NOT_SERVED = "expected cluster_state ok with all 16384 slots served by masters that answer"


# --------------------------------------------------------------------------- the instances' settings


def test_a_whole_cluster_as_declared_passes_with_every_instance_in_evidence(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    doc_cluster(servers)
    target = site(tmp_path)
    verdict = run(target, POLICY)
    assert verdict.ok and verdict.message == "" and verdict.skip is None
    assert set(verdict.evidence) == {"instances"}
    instances = verdict.evidence["instances"]
    # masters by their first slot, then the replicas by address
    assert [i["instance"] for i in instances] == [
        "127.0.0.1:30001", "127.0.0.1:30002", "127.0.0.1:30003", "127.0.0.1:30004", "127.0.0.1:30005",
        "127.0.0.1:30006",
    ]
    assert instances[0] == {
        "instance": "127.0.0.1:30001", "node": "127.0.0.1:30001 (master, slots 0-5460)", "role": "master",
        "via": "redis", "maxmemory": 1536 << 20, "maxmemory_policy": "allkeys-lru", "maxmemory_samples": 5,
        "used_memory": 734003200,
    }
    assert run(target, MAXMEMORY).ok


def test_the_fetch_reads_every_instance_and_the_cluster_once(tmp_path: Path, servers: dict[str, Any]) -> None:
    doc_cluster(servers)
    target = site(tmp_path)
    kind = RedisKind()
    facts = kind.fetch(CHECKS[POLICY], target)
    assert set(facts) == {"instances", "cluster"}
    assert len(facts["instances"]) == 6 and facts["cluster"]["seed"] == SEED
    assert facts["cluster"]["nodes"][0]["name"] == SEED
    # the cluster test reads the cluster only
    state = kind.fetch(CHECKS[STATE], target)
    assert state == {"cluster": facts["cluster"], "instances": None}


def test_policy_drift_on_one_node_names_it_first_with_what_brings_it_back(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    doc_cluster(servers, **{"127.0.0.1:30005": server(role="slave", policy="noeviction")})
    target = site(tmp_path)
    verdict = run(target, POLICY)
    line = line_of(target, "REDIS_EVICTION_POLICY")
    assert not verdict.ok
    assert verdict.message == (
        "127.0.0.1:30005 (replica of 127.0.0.1:30002): maxmemory-policy noeviction live (read via redis)\n"
        "  expected allkeys-lru, as config.env declares (1 of 6 instances)"
    )
    assert verdict.objects == [{"instance": "127.0.0.1:30005"}]
    assert verdict.location == Location(ENV, line)
    # the failing instance first, then the others in their order
    assert [i["instance"] for i in verdict.evidence["instances"]] == [
        "127.0.0.1:30005", "127.0.0.1:30001", "127.0.0.1:30002", "127.0.0.1:30003", "127.0.0.1:30004",
        "127.0.0.1:30006",
    ]
    assert {k: v for k, v in verdict.evidence.items() if k != "instances"} == {
        "assert": "live.maxmemory_policy == REDIS_EVICTION_POLICY",
        "REDIS_EVICTION_POLICY": "allkeys-lru",
        "expected": "allkeys-lru, as config.env declares",
    }
    assert verdict.action == (
        f"live differs from what is committed: config.env declares REDIS_EVICTION_POLICY=allkeys-lru ({ENV}:{line}); "
        "sync and roll out redis-cluster so every node restarts with the rendered values (e.g. argocd app sync "
        "redis-cluster, or helm upgrade, then kubectl rollout restart statefulset/redis-cluster); a CONFIG SET on a "
        "node is lost at its next restart and is no fix"
    )


def test_two_drifted_nodes_each_have_a_line_and_an_identity(tmp_path: Path, servers: dict[str, Any]) -> None:
    doc_cluster(servers, **{
        "127.0.0.1:30002": server(maxmemory=GiB), "127.0.0.1:30006": server(role="slave", maxmemory=0),
    })
    verdict = run(site(tmp_path), MAXMEMORY)
    assert verdict.message.splitlines() == [
        "127.0.0.1:30002 (master, slots 5461-10922): maxmemory 1Gi live (read via redis)",
        "127.0.0.1:30006 (replica of 127.0.0.1:30003): maxmemory 0 (no limit) live (read via redis)",
        "  expected 1.5Gi (REDIS_MAXMEMORY=1536mb), as config.env declares (2 of 6 instances)",
    ]
    assert verdict.objects == [{"instance": "127.0.0.1:30002"}, {"instance": "127.0.0.1:30006"}]
    assert [i["instance"] for i in verdict.evidence["instances"]][:2] == ["127.0.0.1:30002", "127.0.0.1:30006"]
    assert verdict.action is not None and verdict.action.startswith(
        f"live differs from what is committed: config.env declares REDIS_MAXMEMORY=1536mb ({ENV}:"
    )
    # the same check without the drift marker: the line of config.env is what to edit
    c = dataclasses.replace(CHECKS[MAXMEMORY], markers=())
    target = site(tmp_path / "2")
    undrifted = RedisKind().evaluate(c, target, RedisKind().fetch(c, target))
    assert undrifted.message == verdict.message and undrifted.action is None


def test_a_single_redis_is_one_instance_without_a_count(tmp_path: Path, servers: dict[str, Any]) -> None:
    servers["10.0.3.7:6379"] = server(None, policy="volatile-lru")
    verdict = run(site(tmp_path, addr="10.0.3.7:6379"), POLICY)
    assert verdict.message == (
        "10.0.3.7:6379: maxmemory-policy volatile-lru live (read via redis)\n  expected allkeys-lru, as "
        "config.env declares"
    )
    assert verdict.evidence["instances"] == [{
        "instance": "10.0.3.7:6379", "node": "10.0.3.7:6379", "role": "master", "via": "redis",
        "maxmemory": 1536 << 20, "maxmemory_policy": "volatile-lru", "maxmemory_samples": 5, "used_memory": 734003200,
    }]
    assert "not_read" not in verdict.evidence


def test_a_node_that_does_not_answer_is_said_under_every_setting_check(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    doc_cluster(servers, **{
        "127.0.0.1:30002": server(policy="noeviction"),
        "127.0.0.1:30006": redis.TimeoutError("Timeout reading from socket"),
    })
    target = site(tmp_path)
    verdict = run(target, POLICY)
    gone = "127.0.0.1:30006 (replica of 127.0.0.1:30003): no answer from 127.0.0.1:30006 within 1.6 s"
    assert verdict.message.splitlines() == [
        "127.0.0.1:30002 (master, slots 5461-10922): maxmemory-policy noeviction live (read via redis)",
        "  expected allkeys-lru, as config.env declares (1 of 5 instances)",
        f"  not read: {gone} (see redis-cluster-state)",
    ]
    assert verdict.evidence["not_read"] == [gone]
    passed = run(target, MAXMEMORY)
    assert passed.ok and passed.evidence["not_read"] == [gone] and len(passed.evidence["instances"]) == 5


def test_drift_of_a_check_that_reads_no_config_key_says_the_committed_config(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    doc_cluster(servers, **{"127.0.0.1:30003": server(policy="noeviction")})
    target = site(tmp_path)
    c = dataclasses.replace(
        CHECKS[POLICY], keys=(), spec={"assert": "live.maxmemory_policy == 'allkeys-lru'"}
    )
    target = Target(target.site, None, target.sources)
    kind = RedisKind()
    verdict = kind.evaluate(c, target, kind.fetch(c, target))
    assert verdict.message.splitlines() == [
        "127.0.0.1:30003 (master, slots 10923-16383): live.maxmemory_policy='noeviction' (read via redis)",
        "  expected live.maxmemory_policy == 'allkeys-lru' (1 of 6 instances)",
    ]
    assert verdict.location == Location(ENV, None)
    assert verdict.action == (
        "live differs from what is committed: config.env declares the committed config; sync and roll out the app so "
        "every node restarts with the rendered values (e.g. argocd app sync the app, or helm upgrade, then kubectl "
        "rollout restart statefulset/the app); a CONFIG SET on a node is lost at its next restart and is no fix"
    )


# --------------------------------------------------------------------------- the cluster as a whole


def test_a_whole_cluster_passes_with_what_it_read(tmp_path: Path, servers: dict[str, Any]) -> None:
    doc_cluster(servers)
    verdict = run(site(tmp_path, REDIS_CLUSTER_REPLICAS="1"))
    assert verdict.ok and verdict.skip is None and verdict.message == ""
    assert set(verdict.evidence) == {"via", "seed", "nodes", "REDIS_CLUSTER_REPLICAS"}
    assert verdict.evidence["via"] == "redis" and verdict.evidence["seed"] == SEED
    assert verdict.evidence["REDIS_CLUSTER_REPLICAS"] == 1
    assert len(verdict.evidence["nodes"]) == 6
    # without REDIS_CLUSTER_REPLICAS the replicas are not judged nor reported
    assert "REDIS_CLUSTER_REPLICAS" not in run(site(tmp_path / "2")).evidence


def test_a_redis_that_is_not_a_cluster_is_skipped_saying_so(tmp_path: Path, servers: dict[str, Any]) -> None:
    servers[SEED] = server(None)
    verdict = run(site(tmp_path))
    assert verdict.ok and verdict.skip == (
        "not a Redis Cluster: INFO says cluster_enabled:0; redis-cluster-state judges the nodes of a cluster"
    )


@pytest.mark.parametrize(("value", "declared"), [("", None), ("0", 0), ("2", 2)])
def test_replicas_declared(tmp_path: Path, servers: dict[str, Any], value: str, declared: int | None) -> None:
    doc_cluster(servers)
    verdict = run(site(tmp_path, REDIS_CLUSTER_REPLICAS=value))
    if declared == 2:  # each master of the documented cluster has one replica
        assert not verdict.ok and verdict.evidence["REDIS_CLUSTER_REPLICAS"] == 2
    else:
        assert verdict.ok and verdict.evidence.get("REDIS_CLUSTER_REPLICAS") == declared


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_replicas_that_are_not_a_count_are_an_error_at_their_line(
    tmp_path: Path, servers: dict[str, Any], value: str
) -> None:
    doc_cluster(servers)
    target = site(tmp_path, REDIS_CLUSTER_REPLICAS=value)
    with pytest.raises(ConfigError) as caught:
        run(target)
    assert caught.value.message == f"REDIS_CLUSTER_REPLICAS={value} is not a count of replicas"
    assert caught.value.path == ENV and caught.value.line == line_of(target, "REDIS_CLUSTER_REPLICAS")
    assert caught.value.hint == "write a whole number, 0 or more"


def test_a_master_short_of_replicas_is_named_with_the_one_that_is_down(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    # 30004, the replica of 30001, hangs: the cluster still counts it, 2 are declared
    doc_cluster(servers, **{"127.0.0.1:30004": redis.TimeoutError("Timeout reading from socket")})
    target = site(tmp_path, REDIS_CLUSTER_REPLICAS="2")
    verdict = run(target)
    assert verdict.message.splitlines() == [
        "127.0.0.1:30004 (replica of 127.0.0.1:30001): does not answer: no answer from 127.0.0.1:30004 within 1.6 s; "
        "127.0.0.1:30001 sees it connected and has not flagged it: it hangs, or the network between the gate and the "
        "node drops packets",
        "127.0.0.1:30001 (master, slots 0-5460): 1 of 2 replicas up (REDIS_CLUSTER_REPLICAS=2); 127.0.0.1:30004 "
        "is down",
        "127.0.0.1:30002 (master, slots 5461-10922): 1 of 2 replicas up (REDIS_CLUSTER_REPLICAS=2)",
        "127.0.0.1:30003 (master, slots 10923-16383): 1 of 2 replicas up (REDIS_CLUSTER_REPLICAS=2)",
        f"  read via redis: 6 nodes, 3 masters; {NOT_SERVED}, each with 2 replicas",
    ]
    assert verdict.objects == [
        {"instance": "127.0.0.1:30004"},
        {"instance": "127.0.0.1:30001", "problem": "replicas"},
        {"instance": "127.0.0.1:30002", "problem": "replicas"},
        {"instance": "127.0.0.1:30003", "problem": "replicas"},
    ]
    assert verdict.location == Location(ENV, line_of(target, "REDIS_CLUSTER_REPLICAS"))
    assert verdict.action == (
        "see why 127.0.0.1:30004 does not answer (its log, LATENCY DOCTOR, the network from the gate); "
        "bring the missing replicas back until every master has 2 (a replica pod that is not running: kubectl get "
        "pods; a node that lost its master: CLUSTER REPLICATE)"
    )
    assert verdict.evidence["REDIS_CLUSTER_REPLICAS"] == 2


def test_the_replicas_that_are_down_are_listed_after_the_count(tmp_path: Path, servers: dict[str, Any]) -> None:
    # two replicas of 30001: one flagged pfail, one refusing connections; one declared
    nodes = DOC.replace("slave e7d1", "slave,fail? e7d1").replace(
        "824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006,hostname6 slave "
        "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f",
        "824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006,hostname6 slave "
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca",
    )
    doc_cluster(servers, nodes)
    del servers["127.0.0.1:30006"]
    verdict = run(site(tmp_path, REDIS_CLUSTER_REPLICAS="1"))
    lines = verdict.message.splitlines()
    assert lines[0] == "127.0.0.1:30004 (replica of 127.0.0.1:30001): the cluster flags it pfail"
    assert lines[1] == (
        "127.0.0.1:30006 (replica of 127.0.0.1:30001): does not answer: cannot connect to 127.0.0.1:30006: connection "
        "refused; 127.0.0.1:30001 sees it connected and not failing: the gate cannot reach the address the node "
        "announces"
    )
    # 30006 is up for the cluster: 1 of 1; 30003 lost its only replica to 30001
    assert lines[2] == "127.0.0.1:30003 (master, slots 10923-16383): 0 of 1 replicas up (REDIS_CLUSTER_REPLICAS=1)"
    assert lines[3:] == [f"  read via redis: 6 nodes, 3 masters; {NOT_SERVED}, each with 1 replica"]
    assert verdict.action == (
        "bring 127.0.0.1:30004 back (kubectl get pods says why a pod is not running); slots without a live master "
        "come back with their node, or move with redis-cli --cluster fix; run the gate where the addresses the nodes "
        "announce are reachable (inside the cluster), or make the nodes announce reachable ones "
        "(cluster-announce-ip); bring the missing replicas back until every master has 1 (a replica pod that is not "
        "running: kubectl get pods; a node that lost its master: CLUSTER REPLICATE)"
    )


def test_a_master_that_failed_over_and_its_lone_successor(tmp_path: Path, servers: dict[str, Any]) -> None:
    seed = "192.168.92.129:6382"
    for address in ("192.168.92.131:6386", "192.168.92.130:6384", seed, "192.168.92.131:6385", "192.168.92.130:6383"):
        servers[address] = server(FAILOVER, role="slave" if address.endswith(("6382", "6386")) else "master")
    target = site(tmp_path, addr=seed, REDIS_CLUSTER_REPLICAS="1")
    verdict = run(target)
    assert verdict.message.splitlines() == [
        "192.168.92.129:6381 (master, no slots): does not answer: cannot connect to 192.168.92.129:6381: connection "
        "refused; the cluster flags it fail",
        "192.168.92.130:6384 (master, slots 0-5460): 0 of 1 replicas up (REDIS_CLUSTER_REPLICAS=1)",
        f"  read via redis: 6 nodes, 4 masters; {NOT_SERVED}, each with 1 replica",
    ]
    assert verdict.objects == [
        {"instance": "192.168.92.129:6381"}, {"instance": "192.168.92.130:6384", "problem": "replicas"}
    ]
    assert verdict.action == (
        "bring 192.168.92.129:6381 back (kubectl get pods says why a pod is not running); slots without a live master "
        "come back with their node, or move with redis-cli --cluster fix; bring the missing replicas back until every "
        "master has 1 (a replica pod that is not running: kubectl get pods; a node that lost its master: CLUSTER "
        "REPLICATE)"
    )
    assert verdict.evidence["seed"] == seed


def test_a_master_back_without_slots_serves_nobody_and_needs_no_replica(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    nodes = FAILOVER.replace("master,fail - 1706013346893 1706013345000 1 disconnected",
                             "master - 0 1706013345000 1 connected")
    seed = "192.168.92.129:6382"
    for port in range(6381, 6387):
        servers[f"192.168.92.{129 + (port - 6381) // 2}:{port}"] = server(nodes)
    verdict = run(site(tmp_path, addr=seed, REDIS_CLUSTER_REPLICAS="1"))
    assert verdict.message.splitlines() == [
        "192.168.92.130:6384 (master, slots 0-5460): 0 of 1 replicas up (REDIS_CLUSTER_REPLICAS=1)",
        f"  read via redis: 6 nodes, 4 masters; {NOT_SERVED}, each with 1 replica",
    ]


LOST = DOC.replace(
    "master - 0 1426238318243 3 connected 10923-16383", "master,fail - 1426238318243 1426238318243 3 disconnected "
    "10923-16383"
)


def test_a_failed_master_that_still_holds_its_slots_and_the_node_that_sees_it_worst(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    # the seed has not yet agreed on the failure (pfail, state ok); 30002 has (fail)
    doc_cluster(servers, LOST, **{
        SEED: server(LOST, info=cluster_info(slots_ok=10923, slots_pfail=5461)),
        "127.0.0.1:30002": server(LOST, info=cluster_info(state="fail", slots_ok=10923, slots_fail=5461)),
    })
    del servers["127.0.0.1:30003"]
    verdict = run(site(tmp_path))
    assert verdict.message.splitlines() == [
        "cluster_state fail as 127.0.0.1:30002 sees it: 5461 of 16384 slots not served (cluster_slots_ok 10923, "
        "pfail 0, fail 5461, unassigned 0)",
        "127.0.0.1:30003 (master, slots 10923-16383): does not answer: cannot connect to 127.0.0.1:30003: connection "
        "refused; the cluster flags it fail; its 5461 slots are not served",
        f"  read via redis: 6 nodes, 3 masters; {NOT_SERVED}",
    ]
    assert verdict.objects == [{"cluster": "slots"}, {"instance": "127.0.0.1:30003"}]
    assert verdict.location is None and "REDIS_CLUSTER_REPLICAS" not in verdict.evidence
    assert verdict.action == (
        "bring 127.0.0.1:30003 back (kubectl get pods says why a pod is not running); slots without a live master "
        "come back with their node, or move with redis-cli --cluster fix"
    )


@pytest.mark.parametrize(
    ("info", "headline"),
    [
        (cluster_info(), None),
        (cluster_info(slots_ok=16383, slots_pfail=1), "cluster_state ok as 127.0.0.1:30001 sees it: 1 of 16384 slots "
         "not served (cluster_slots_ok 16383, pfail 1, fail 0, unassigned 0)"),
        (cluster_info(state="fail"), "cluster_state fail as 127.0.0.1:30001 sees it: 0 of 16384 slots not served "
         "(cluster_slots_ok 16384, pfail 0, fail 0, unassigned 0)"),
    ],
)
def test_the_cluster_is_whole_only_when_ok_with_every_slot_served(
    tmp_path: Path, servers: dict[str, Any], info: str, headline: str | None
) -> None:
    doc_cluster(servers, **{SEED: server(info=info)})
    verdict = run(site(tmp_path))
    if headline is None:
        assert verdict.ok
    else:
        assert verdict.message.splitlines() == [headline, f"  read via redis: 6 nodes, 3 masters; {NOT_SERVED}"]
        assert verdict.objects == [{"cluster": "slots"}] and verdict.action is None


def test_slots_no_master_claims_are_named(tmp_path: Path, servers: dict[str, Any]) -> None:
    nodes = DOC.replace("connected 10923-16383", "connected").replace("connected 0-5460 ", "connected 1-5460 ")
    info = cluster_info(state="fail", slots_assigned=10922, slots_ok=10922)
    doc_cluster(servers, nodes, **{SEED: server(nodes, info=info)})
    verdict = run(site(tmp_path))
    assert verdict.message.splitlines() == [
        "cluster_state fail as 127.0.0.1:30001 sees it: 5462 of 16384 slots not served (cluster_slots_ok 10922, "
        "pfail 0, fail 0, unassigned 5462)",
        "slots 0, 10923-16383 are assigned to no master",
        f"  read via redis: 6 nodes, 3 masters; {NOT_SERVED}",
    ]
    assert verdict.action is None


FLAGGED = (
    DOC.replace("hostname4 slave e7d1", "hostname4 slave,nofailover,fail? e7d1")
    .replace("6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005,hostname5 slave 67ed2db8d677e59ec4a4cefb"
             "06858cf2a1a89fa1 0 1426238316232 5 connected",
             "6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005,hostname5 slave 67ed2db8d677e59ec4a4cefb"
             "06858cf2a1a89fa1 0 1426238316232 5 disconnected")
    .replace("hostname6 slave 292f", "hostname6 slave,fail 292f")
    .replace("hostname3 master -", "hostname3 master,nofailover -")
)


def test_nodes_the_cluster_flags_or_lost_its_link_to(tmp_path: Path, servers: dict[str, Any]) -> None:
    # 30004 (pfail) and 30005 (link lost) still answer the gate; 30006 (fail) does not; 30003 only
    # says nofailover, which is no trouble
    doc_cluster(servers, FLAGGED)
    del servers["127.0.0.1:30006"]
    verdict = run(site(tmp_path))
    assert verdict.message.splitlines() == [
        "127.0.0.1:30004 (replica of 127.0.0.1:30001): the cluster flags it pfail",
        "127.0.0.1:30005 (replica of 127.0.0.1:30002): 127.0.0.1:30001 lost its link to it too (flagged pfail after "
        "cluster-node-timeout)",
        "127.0.0.1:30006 (replica of 127.0.0.1:30003): does not answer: cannot connect to 127.0.0.1:30006: connection "
        "refused; the cluster flags it fail",
        f"  read via redis: 6 nodes, 3 masters; {NOT_SERVED}",
    ]
    assert verdict.objects == [
        {"instance": "127.0.0.1:30004"}, {"instance": "127.0.0.1:30005"}, {"instance": "127.0.0.1:30006"}
    ]
    # the nodes that are down first, then the flagged ones
    assert verdict.action == (
        "bring 127.0.0.1:30006, 127.0.0.1:30004, 127.0.0.1:30005 back (kubectl get pods says why a pod is not "
        "running); slots without a live master come back with their node, or move with redis-cli --cluster fix"
    )


def test_a_node_that_lost_its_link_and_does_not_answer_is_down(tmp_path: Path, servers: dict[str, Any]) -> None:
    nodes = DOC.replace("5 connected", "5 disconnected")
    doc_cluster(servers, nodes, **{"127.0.0.1:30005": redis.TimeoutError("Timeout reading from socket")})
    verdict = run(site(tmp_path))
    assert verdict.message.splitlines()[0] == (
        "127.0.0.1:30005 (replica of 127.0.0.1:30002): does not answer: no answer from 127.0.0.1:30005 within 1.6 s; "
        "127.0.0.1:30001 lost its link to it too (flagged pfail after cluster-node-timeout)"
    )
    assert verdict.action is not None and verdict.action.startswith("bring 127.0.0.1:30005 back (")


ODD = (
    "aaaa000000000000000000000000000000000001 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-16383\n"
    "aaaa000000000000000000000000000000000003 :0@0 slave,noaddr aaaa000000000000000000000000000000000001 0 0 "
    "1 disconnected\n"
    "aaaa000000000000000000000000000000000004 10.0.0.4:6379@16379 handshake - 0 0 0 connected\n"
)


def test_a_node_without_an_address_and_one_in_handshake_are_not_asked(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    servers["10.0.0.1:6379"] = server(ODD, info=cluster_info(known_nodes=3, size=1))
    servers["10.0.0.4:6379"] = server(ODD)  # it would answer: it is never asked
    verdict = run(site(tmp_path, addr="10.0.0.1:6379"))
    assert verdict.message.splitlines() == [
        "10.0.0.4:6379 (master, no slots): does not answer: it is still in handshake, not yet a member; the cluster "
        "flags it handshake",
        "node aaaa0000 (replica of 10.0.0.1:6379): does not answer: it announces no address (noaddr); the cluster "
        "flags it noaddr",
        f"  read via redis: 3 nodes, 2 masters; {NOT_SERVED}",
    ]
    assert verdict.objects == [{"instance": "10.0.0.4:6379"}, {"instance": "node aaaa0000"}]
    assert verdict.action == (
        "bring node aaaa0000 back (kubectl get pods says why a pod is not running); slots without a live master come "
        "back with their node, or move with redis-cli --cluster fix; run the gate where the addresses the nodes "
        "announce are reachable (inside the cluster), or make the nodes announce reachable ones (cluster-announce-ip)"
    )


# --------------------------------------------------------------------------- through redis_exporter

AT = 1_795_000_000.0
SELECTOR = 'namespace="production", service="redis-cluster"'


class Prometheus:
    """Prometheus answering the instant queries ExporterRedisFacts sends, from series given as
    (name, labels, value); ``remembered`` are those only ``last_over_time(...[1h])`` still sees."""

    def __init__(self, series: list[tuple[str, dict[str, str], float]],
                 remembered: list[tuple[str, dict[str, str], float]] = ()) -> None:  # type: ignore[assignment]
        self.series, self.remembered = series, [*series, *remembered]

    def query_many(self, queries: list[str], at: float) -> dict[str, InstantResult]:
        return {q: InstantResult(q, at, tuple(self.select(q)), "vector") for q in queries}

    def select(self, query: str) -> list[Sample]:
        if SELECTOR not in query:
            return []
        if query.startswith("last_over_time("):
            name = query.removeprefix("last_over_time(").split("{")[0]
            return [Sample(dict(labels), v) for n, labels, v in self.remembered if n == name]
        if query.startswith('{__name__=~"redis_cluster_('):
            return [
                Sample({"__name__": n, **labels}, v) for n, labels, v in self.series if n.startswith("redis_cluster_")
            ]
        name = query.split("{")[0]
        return [Sample({"__name__": n, **labels}, v) for n, labels, v in self.series if n == name]


def pod(i: int) -> dict[str, str]:
    return {"instance": f"10.0.3.{i + 1}:9121", "pod": f"redis-cluster-{i}", "namespace": "production",
            "service": "redis-cluster"}


def exporter_node(
    i: int, *, master: int | None = None, replicas: int | None = 1, up: float = 1, view: dict[str, float] | None = None,
    policy: str = "allkeys-lru", mode: str = "cluster",
) -> list[tuple[str, dict[str, str], float]]:
    """The series one redis_exporter sidecar shows of its node (``master``: the replica's master's number)."""
    labels = pod(i)
    role = "slave" if master is not None else "master"
    info = {**labels, "role": role, "redis_mode": mode, "tcp_port": "6379", "maxmemory_policy": policy}
    series = [("up", labels, 1.0), ("redis_up", labels, up)]
    if not up:
        return series
    series += [("redis_instance_info", info, 1.0), ("redis_memory_max_bytes", labels, float(1536 << 20)),
               ("redis_memory_used_bytes", labels, 734003200.0)]
    whole = {"state": 1, "slots_assigned": 16384, "slots_ok": 16384, "slots_pfail": 0, "slots_fail": 0,
             "known_nodes": 6, "size": 3}
    if mode == "cluster":
        series += [(f"redis_cluster_{k}", labels, float(v)) for k, v in {**whole, **(view or {})}.items()]
    if master is not None:
        series.append(
            ("redis_slave_info", {**labels, "master_host": f"10.0.3.{master + 1}", "master_port": "6379"}, 1.0)
        )
    elif replicas is not None:
        series.append(("redis_connected_slaves", labels, float(replicas)))
    return series


def info_of(i: int, master: int | None = None) -> tuple[str, dict[str, str], float]:
    role = "slave" if master is not None else "master"
    return ("redis_instance_info", {**pod(i), "role": role, "redis_mode": "cluster", "tcp_port": "6379"}, 1.0)


def through_exporter(tmp_path: Path, prometheus: Prometheus, check: str = STATE, **config: str) -> Verdict:
    target = site(tmp_path, addr=None, REDIS_CHECK_VIA="exporter", **config)
    facts = ExporterRedisFacts(prometheus, SELECTOR, lambda: AT)  # type: ignore[arg-type]
    data = {"cluster": facts.cluster(), "instances": None if check == STATE else facts.instances()}
    return RedisKind().evaluate(CHECKS[check], target, data)


def test_through_the_exporter_a_replica_down_and_a_node_without_an_exporter(tmp_path: Path) -> None:
    # redis-cluster-5 has no exporter target; redis-cluster-4's exporter cannot reach its Redis;
    # redis-cluster-0 shows no redis_connected_slaves: its replicas are not known, not missing
    series = [
        *exporter_node(0, replicas=None), *exporter_node(1, replicas=0), *exporter_node(2),
        *exporter_node(3, master=0), *exporter_node(4, master=1, up=0),
    ]
    prometheus = Prometheus(series, remembered=[info_of(4, master=1), ("redis_slave_info", {
        **pod(4), "master_host": "10.0.3.2", "master_port": "6379"}, 1.0)])
    verdict = through_exporter(tmp_path, prometheus, REDIS_CLUSTER_REPLICAS="1")
    assert verdict.message.splitlines() == [
        "redis-cluster-4 (replica of redis-cluster-1): does not answer: redis_up 0: its exporter cannot reach it",
        "redis-cluster-1 (master): 0 of 1 replicas up (REDIS_CLUSTER_REPLICAS=1); redis-cluster-4 is down",
        "the cluster knows 6 nodes; redis_exporter shows 5 of them: a node without an exporter target is not judged",
        f"  read via prometheus: 5 nodes, 3 masters; {NOT_SERVED}, each with 1 replica",
    ]
    assert verdict.objects == [
        {"instance": "10.0.3.5:9121"}, {"instance": "10.0.3.2:9121", "problem": "replicas"}, {"cluster": "nodes"},
    ]
    assert verdict.evidence["via"] == "prometheus" and verdict.evidence["seed"] == SELECTOR
    assert verdict.action == (
        "bring redis-cluster-4 back (kubectl get pods says why a pod is not running); slots without a live master "
        "come back with their node, or move with redis-cli --cluster fix; bring the missing replicas back until every "
        "master has 1 (a replica pod that is not running: kubectl get pods; a node that lost its master: CLUSTER "
        "REPLICATE)"
    )


def test_through_the_exporter_every_node_shown_and_whole_passes(tmp_path: Path) -> None:
    series = [*exporter_node(0), *exporter_node(1), *exporter_node(2)]
    series += [*exporter_node(3, master=0), *exporter_node(4, master=1), *exporter_node(5, master=2)]
    verdict = through_exporter(tmp_path, Prometheus(series), REDIS_CLUSTER_REPLICAS="1")
    assert verdict.ok and verdict.skip is None and len(verdict.evidence["nodes"]) == 6


def test_through_the_exporter_slots_unassigned_are_counted_not_named(tmp_path: Path) -> None:
    # redis_exporter shows no slot ranges: which slots no master claims is not known
    view = {"state": 0, "slots_assigned": 10923, "slots_ok": 10923}
    series = [*exporter_node(0, view=view), *exporter_node(1, view=view), *exporter_node(2, view=view)]
    series += [*exporter_node(3, master=0), *exporter_node(4, master=1), *exporter_node(5, master=2)]
    verdict = through_exporter(tmp_path, Prometheus(series))
    assert verdict.message.splitlines() == [
        "cluster_state fail as redis-cluster-0 sees it: 5461 of 16384 slots not served (cluster_slots_ok 10923, "
        "pfail 0, fail 0, unassigned 5461)",
        f"  read via prometheus: 6 nodes, 3 masters; {NOT_SERVED}",
    ]


def test_through_the_exporter_no_node_answering_is_said_once(tmp_path: Path) -> None:
    series = [*exporter_node(0, up=0), *exporter_node(1, master=0, up=0)]
    prometheus = Prometheus(series, remembered=[info_of(0), info_of(1, master=0)])
    verdict = through_exporter(tmp_path, prometheus)
    assert verdict.message.splitlines() == [
        "no node of the cluster answered",
        "redis-cluster-0 (master): does not answer: redis_up 0: its exporter cannot reach it",
        "redis-cluster-1 (replica): does not answer: redis_up 0: its exporter cannot reach it",
        f"  read via prometheus: 2 nodes, 1 master; {NOT_SERVED}",
    ]
    assert verdict.objects[0] == {"cluster": "slots"}


def test_through_the_exporter_a_redis_that_is_not_a_cluster_is_skipped_saying_so(tmp_path: Path) -> None:
    verdict = through_exporter(tmp_path, Prometheus(exporter_node(0, mode="standalone")))
    assert verdict.ok and verdict.skip == (
        "not a Redis Cluster: redis_exporter says redis_mode is not cluster; redis-cluster-state judges the nodes of a "
        "cluster"
    )


def test_through_the_exporter_a_drifted_node_is_named_by_its_pod(tmp_path: Path) -> None:
    series = [*exporter_node(0), *exporter_node(1, policy="noeviction"), *exporter_node(2)]
    series += [*exporter_node(3, master=0), *exporter_node(4, master=1), *exporter_node(5, master=2)]
    verdict = through_exporter(tmp_path, Prometheus(series), POLICY)
    assert verdict.message.splitlines() == [
        "redis-cluster-1 (master): maxmemory-policy noeviction live (read via prometheus)",
        "  expected allkeys-lru, as config.env declares (1 of 6 instances)",
    ]
    assert verdict.objects == [{"instance": "10.0.3.2:9121"}]


def test_through_the_exporter_two_instances_are_counted(tmp_path: Path) -> None:
    series = [*exporter_node(0, view={"known_nodes": 2, "size": 1}),
              *exporter_node(1, master=0, policy="volatile-lru", view={"known_nodes": 2, "size": 1})]
    verdict = through_exporter(tmp_path, Prometheus(series), POLICY)
    assert verdict.message.splitlines() == [
        "redis-cluster-1 (replica): maxmemory-policy volatile-lru live (read via prometheus)",
        "  expected allkeys-lru, as config.env declares (1 of 2 instances)",
    ]


def test_replicas_that_are_down_are_all_named(tmp_path: Path, servers: dict[str, Any]) -> None:
    # 30001 has two replicas, 30004 (pfail) and 30006 (fail); two are declared
    nodes = DOC.replace("hostname4 slave e7d1", "hostname4 slave,fail? e7d1").replace(
        "hostname6 slave 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f",
        "hostname6 slave,fail e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca",
    )
    doc_cluster(servers, nodes)
    verdict = run(site(tmp_path, REDIS_CLUSTER_REPLICAS="2"))
    assert (
        "127.0.0.1:30001 (master, slots 0-5460): 0 of 2 replicas up (REDIS_CLUSTER_REPLICAS=2); 127.0.0.1:30004, "
        "127.0.0.1:30006 are down"
    ) in verdict.message.splitlines()


def test_no_replicas_declared_asks_for_none(tmp_path: Path, servers: dict[str, Any]) -> None:
    doc_cluster(servers, **{SEED: server(info=cluster_info(state="fail"))})
    verdict = run(site(tmp_path, REDIS_CLUSTER_REPLICAS="0"))
    assert verdict.message.splitlines()[-1] == f"  read via redis: 6 nodes, 3 masters; {NOT_SERVED}"
    assert verdict.evidence["REDIS_CLUSTER_REPLICAS"] == 0 and verdict.location is None


def test_the_fetch_through_the_exporter_asks_for_the_apps_series(tmp_path: Path) -> None:
    """The whole read through a loopback Prometheus (tests/test_prometheus_source.py's fake)
    answering from the series above: the app's service is in every selector."""
    series = [*exporter_node(0), *exporter_node(1, policy="noeviction"), *exporter_node(2)]
    series += [*exporter_node(3, master=0), *exporter_node(4, master=1), *exporter_node(5, master=2)]
    prometheus = Prometheus(series)

    def answer(seen: Seen) -> tuple[int, dict[str, str], Any]:
        samples = prometheus.select((seen.params.get("query") or [""])[0])
        result = [{"metric": s.labels, "value": [AT, repr(s.value)]} for s in samples]
        return 200, {}, {"status": "success", "data": {"resultType": "vector", "result": result}}

    fake = FakePrometheus()
    fake.answer = answer
    try:
        target = site(tmp_path, addr=None, REDIS_CHECK_VIA="exporter")
        target = Target(target.site, "redis-cluster", Sources(LiveOptions(prometheus_url=fake.url, timeout=5.0)))
        verdict = run(target, POLICY)
        assert run(target).ok
    finally:
        fake.stop()
    assert verdict.message.splitlines()[0] == (
        "redis-cluster-1 (master): maxmemory-policy noeviction live (read via prometheus)"
    )


def test_a_setting_check_on_a_site_that_does_not_declare_the_setting_is_an_error_naming_config_env(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    doc_cluster(servers)
    with pytest.raises(ConfigError) as caught:
        run(site(tmp_path, REDIS_EVICTION_POLICY=None), POLICY)
    assert caught.value.message == "REDIS_EVICTION_POLICY is not set, and check redis-eviction-policy-live needs it"
    assert caught.value.path == ENV


@pytest.mark.parametrize("flag", ["noaddr", "handshake"])
def test_a_seed_the_cluster_flags_is_not_whole_though_it_answers(
    tmp_path: Path, servers: dict[str, Any], flag: str
) -> None:
    # written after the flags CLUSTER NODES documents: the node asked first (it answers), flagged
    nodes = ODD.replace("myself,master", f"myself,master,{flag}").replace(
        "aaaa000000000000000000000000000000000004 10.0.0.4:6379@16379 handshake - 0 0 0 connected\n", ""
    ).replace("slave,noaddr aaaa000000000000000000000000000000000001 0 0 1 disconnected",
              "slave aaaa000000000000000000000000000000000001 0 0 1 connected")
    servers["10.0.0.1:6379"] = server(nodes, info=cluster_info(known_nodes=2, size=1))
    verdict = run(site(tmp_path, addr="10.0.0.1:6379"))
    assert verdict.message.splitlines()[0] == f"10.0.0.1:6379 (master, slots 0-16383): the cluster flags it {flag}"
    assert verdict.action is not None and verdict.action.startswith("bring 10.0.0.1:6379 back (")


def test_two_nodes_that_hang_are_named_together_and_a_master_that_hangs_still_serves(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    hang = redis.TimeoutError("Timeout reading from socket")
    doc_cluster(servers, **{"127.0.0.1:30002": hang, "127.0.0.1:30005": hang})
    verdict = run(site(tmp_path))
    assert verdict.message.splitlines()[0] == (
        "127.0.0.1:30002 (master, slots 5461-10922): does not answer: no answer from 127.0.0.1:30002 within 1.6 s; "
        "127.0.0.1:30001 sees it connected and has not flagged it: it hangs, or the network between the gate and the "
        "node drops packets"
    )
    assert verdict.action == (
        "see why 127.0.0.1:30002, 127.0.0.1:30005 does not answer (its log, LATENCY DOCTOR, the network from the gate)"
    )


def test_a_forgotten_master_without_an_address_shows_every_flag(tmp_path: Path, servers: dict[str, Any]) -> None:
    # a removed node as CLUSTER NODES keeps showing it: no address, fail and noaddr
    gone = "aaaa000000000000000000000000000000000005 :0@0 master,fail,noaddr - 1 1 4 disconnected\n"
    nodes = ODD.replace("aaaa000000000000000000000000000000000004 10.0.0.4:6379@16379 handshake - 0 0 0 connected\n",
                        gone)
    servers["10.0.0.1:6379"] = server(nodes, info=cluster_info(known_nodes=3, size=1))
    verdict = run(site(tmp_path, addr="10.0.0.1:6379"))
    assert verdict.message.splitlines()[0] == (
        "node aaaa0000 (master, no slots): does not answer: it announces no address (noaddr); the cluster flags it "
        "fail,noaddr"
    )


def test_a_master_without_an_address_short_of_replicas_is_named_by_its_id(
    tmp_path: Path, servers: dict[str, Any]
) -> None:
    nodes = (
        "aaaa000000000000000000000000000000000001 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-8191\n"
        "aaaa000000000000000000000000000000000002 10.0.0.2:6379@16379 slave aaaa000000000000000000000000000000000001 "
        "0 0 1 connected\n"
        "aaaa000000000000000000000000000000000003 :0@0 master,noaddr - 0 0 2 connected 8192-16383\n"
    )
    servers["10.0.0.1:6379"] = server(nodes, info=cluster_info(known_nodes=3, size=2))
    servers["10.0.0.2:6379"] = server(nodes, role="slave", info=cluster_info(known_nodes=3, size=2))
    verdict = run(site(tmp_path, addr="10.0.0.1:6379", REDIS_CLUSTER_REPLICAS="1"))
    assert "node aaaa0000 (master, slots 8192-16383): 0 of 1 replicas up (REDIS_CLUSTER_REPLICAS=1)" in (
        verdict.message.splitlines()
    )
    assert {"instance": "node aaaa0000", "problem": "replicas"} in verdict.objects
