"""The same Redis Cluster checks read through redis_exporter only (``REDIS_CHECK_VIA=exporter``).

A real cluster (three masters, a replica each, no automatic failover), one Debian
prometheus-redis-exporter 1.45 per node as a chart's metrics sidecar would run, and a real
Prometheus scraping them with ``namespace``, ``service`` and ``pod`` labels. The gate has no
Redis address and no Redis password: everything comes from Prometheus. The figures a finding
is compared with come from the servers (``redis-cli CLUSTER INFO``) and from Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from teststack.cluster import ClusterMonitoring, RedisCluster
from teststack.servers import RedisServer

from .cluster_helpers import PASSWORD, by_check, declare, run, slots
from .support import ENV

pytestmark = pytest.mark.servers("redis-server", "prometheus", "prometheus-redis-exporter")


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterMonitoring]:
    with RedisCluster(3, 1, password=PASSWORD, maxmemory="1536mb", policy="allkeys-lru", failover=False) as cluster, \
            ClusterMonitoring(cluster, tmp_path_factory.mktemp("prometheus")) as monitoring:
        yield monitoring


@pytest.fixture
def live(monitored: ClusterMonitoring, gitops: Path, monkeypatch: pytest.MonkeyPatch) -> ClusterMonitoring:
    assert monitored.cluster.healthy(), "an earlier test did not put the cluster back"
    monitored.wait_for('count(redis_up{service="redis-cluster"} == 1) == 6 and count(redis_cluster_state == 1) == 6',
                       "every node up and whole")
    for key in ("SLO_REDIS_URL", "SLO_REDIS_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    declare(gitops, "REDIS_CHECK_VIA", "exporter")
    declare(gitops, "REDIS_CLUSTER_REPLICAS", "1")
    declare(gitops, "PROMETHEUS_URL", monitored.url)
    return monitored


def pod(live: ClusterMonitoring, address: str) -> str:
    return live.pod(live.cluster.node(address))


def test_policy_and_maxmemory_drift_on_two_nodes_through_the_exporter(
    live: ClusterMonitoring, gitops: Path, pytester: pytest.Pytester
) -> None:
    cluster = live.cluster
    master = cluster.masters()[1]
    (replica,) = cluster.replicas_of(cluster.masters()[0])
    name, replica_name = pod(live, master["address"]), pod(live, replica["address"])
    with cluster.setting(cluster.node(master["address"]), "maxmemory-policy", "noeviction"), \
            cluster.setting(cluster.node(replica["address"]), "maxmemory", "1gb"):
        live.wait_for(f'redis_instance_info{{pod="{name}", maxmemory_policy="noeviction"}} and on() '
                      f'redis_memory_max_bytes{{pod="{replica_name}"}} == {1 << 30}', "the new settings")
        result, doc = run(pytester)
    live.wait_for(f'redis_instance_info{{pod="{name}", maxmemory_policy="allkeys-lru"}} and on() '
                  f'redis_memory_max_bytes{{pod="{replica_name}"}} == {1536 << 20}', "the settings back")
    found = by_check(doc)  # the whole cluster passes redis-cluster-state
    assert set(found) == {"redis-eviction-policy-live", "redis-maxmemory-live"}
    policy = found["redis-eviction-policy-live"]
    assert policy["message"].splitlines() == [
        f"{name} (master): maxmemory-policy noeviction live (read via prometheus)",
        "  expected allkeys-lru, as config.env declares (1 of 6 instances)",
    ]
    assert (
        found["redis-maxmemory-live"]["message"].splitlines()[0]
        == f"{replica_name} (replica): maxmemory 1Gi live (read via prometheus)"
    )
    assert policy["evidence"]["instances"][0]["via"] == "prometheus"
    (identity,) = policy["objects"]
    assert identity["instance"] == live.prometheus.query(f'up{{pod="{name}"}}')[0]["metric"]["instance"]
    assert policy["action"].startswith("live differs from what is committed")
    assert result.parseoutcomes()["passed"] == 1


def test_a_master_shut_down_through_the_exporter(
    live: ClusterMonitoring, gitops: Path, pytester: pytest.Pytester
) -> None:
    cluster = live.cluster
    down = cluster.masters()[1]
    node, name = cluster.node(down["address"]), pod(live, down["address"])
    seed = live.pod(cluster.seed)
    cluster.kill(node)
    try:
        live.wait_for(f'redis_up{{pod="{name}"}} == 0 and on() count(redis_cluster_slots_fail == 5462) == 5',
                      "the master down, and every other node seeing its slots failed")
        truth = cluster.cluster_info(cluster.seed)
        _result, doc = run(pytester)
    finally:
        cluster.restart(node)
    found = by_check(doc)
    state = found["redis-cluster-state"]
    assert state["message"].splitlines()[:2] == [
        f"cluster_state fail as {seed} sees it: 5462 of 16384 slots not served (cluster_slots_ok "
        f"{truth['cluster_slots_ok']}, pfail 0, fail {truth['cluster_slots_fail']}, unassigned 0)",
        f"{name} (master): does not answer: redis_up 0: its exporter cannot reach it",
    ]
    assert int(truth["cluster_slots_fail"]) == 10922 - 5461 + 1 == 16384 - int(truth["cluster_slots_ok"])
    assert "read via prometheus: 6 nodes, 3 masters" in state["message"]
    assert (
        state["evidence"]["via"] == "prometheus"
        and state["evidence"]["seed"] == 'namespace="production", service="redis-cluster"'
    )
    assert state["action"].startswith(f"bring {name} back")
    # the other nodes are still judged: their policy and maxmemory are as declared
    assert set(found) == {"redis-cluster-state"}, [f["message"] for f in doc["findings"]]


def test_a_replica_missing_through_the_exporter(
    live: ClusterMonitoring, gitops: Path, pytester: pytest.Pytester
) -> None:
    cluster = live.cluster
    master = cluster.masters()[2]
    (replica,) = cluster.replicas_of(master)
    node = cluster.node(replica["address"])
    master_pod, replica_pod = pod(live, master["address"]), pod(live, replica["address"])
    cluster.kill(node)
    try:
        live.wait_for(
            f'redis_connected_slaves{{pod="{master_pod}"}} == 0 and on() redis_up{{pod="{replica_pod}"}} == 0',
            "the master without its replica",
        )
        _result, doc = run(pytester)
    finally:
        cluster.restart(node)
    (finding,) = doc["findings"]
    line = declare(gitops, "REDIS_CLUSTER_REPLICAS", "1")
    assert finding["message"].splitlines()[:2] == [
        f"{replica_pod} (replica of {master_pod}): does not answer: redis_up 0: its exporter cannot reach it",
        f"{master_pod} (master): 0 of 1 replicas up (REDIS_CLUSTER_REPLICAS=1); {replica_pod} is down",
    ]
    assert finding["location"] == {"path": ENV, "line": line}
    assert [o.get("problem") for o in finding["objects"]] == [None, "replicas"]
    assert slots(master) == "10923-16383"  # the exporter has no slot ranges: the message has none


def test_a_single_redis_through_the_exporter_is_not_a_cluster(
    gitops: Path, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    from teststack.servers import Prometheus, RedisExporter

    labels = {"namespace": "production", "service": "redis-cluster"}
    with RedisServer("1536mb", "allkeys-lru") as redis, RedisExporter(redis.url) as exporter, \
            Prometheus([("redis-cluster", exporter.address, labels)], tmp_path / "data") as prometheus:
        prometheus.wait_for_scrapes()
        declare(gitops, "REDIS_CHECK_VIA", "exporter")
        result, doc = run(pytester, f"--prometheus-url={prometheus.url}")
    assert doc["findings"] == []
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*not a Redis Cluster: redis_exporter says redis_mode is not cluster; redis-cluster-state "
            "judges the nodes of a cluster"
        ]
    )
