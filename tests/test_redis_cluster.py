"""The live redis checks on a real Redis Cluster: Debian redis-server nodes joined by
``redis-cli --cluster create`` (three masters, a replica each), read directly.

One cluster serves the module; a test that breaks it (a node stopped, a setting changed)
puts it back before it ends. Replicas do not fail over (``cluster-replica-no-failover``), so
a stopped master leaves its slots unserved, as a master without a replica would. The
expected node addresses, roles, slot ranges and slot counts come from the servers through
``redis-cli`` (CLUSTER NODES parsed by redis-py, CLUSTER INFO), never from the code under test.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from teststack.cluster import RedisCluster, paused
from teststack.servers import RedisServer, free_port

from .cluster_helpers import PASSWORD, READ_ONLY, by_check, commands, declare, run, sent, slots
from .support import ENV

pytestmark = pytest.mark.servers("redis-server")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisCluster]:
    # maxmemory and policy as sites/production/config.env declares them
    with RedisCluster(
        3, 1, password=PASSWORD, maxmemory="1536mb", policy="allkeys-lru", failover=False
    ) as redis_cluster:
        yield redis_cluster


@pytest.fixture
def live(cluster: RedisCluster, gitops: Path, monkeypatch: pytest.MonkeyPatch) -> RedisCluster:
    """The gate pointed at the cluster's first node, as REDIS_ADDR would point it at the service."""
    assert cluster.healthy(), "an earlier test did not put the cluster back"
    monkeypatch.setenv("SLO_REDIS_URL", f"redis://{cluster.address(cluster.seed)}")
    monkeypatch.setenv("SLO_REDIS_PASSWORD", PASSWORD)
    return cluster


def test_a_whole_cluster_passes_and_no_node_sees_a_command_that_is_not_read_only(
    live: RedisCluster, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(gitops, "REDIS_CLUSTER_REPLICAS", "1")
    # a user that may run only the read-only commands: anything else is refused and lands in ACL LOG
    allowed = " ".join(f"+{c}" for c in sorted(READ_ONLY - {"auth"}))
    for node in live.nodes:
        live.cli(node, "ACL", "SETUSER", "slo-reader", "reset", "on", f">{PASSWORD}", *allowed.split())
        live.cli(node, "ACL", "LOG", "RESET")
    monkeypatch.setenv("SLO_REDIS_URL", f"redis://slo-reader@{live.address(live.seed)}")
    before = {live.address(n): commands(n, live) for n in live.nodes}
    result, doc = run(pytester)
    assert doc["findings"] == [], result.stdout.str()
    assert result.parseoutcomes() == {"passed": 3, "deselected": result.parseoutcomes()["deselected"]}
    after = {live.address(n): commands(n, live) for n in live.nodes}
    for node in live.nodes:
        address = live.address(node)
        assert live.cli(node, "ACL", "LOG").strip() == "", f"{address} refused a command of the gate"
        delta = sent(before[address], after[address])
        # the cluster's own replication traffic: replicas' REPLCONF ACK to a master, a master's PING to its replicas
        delta = {k: v for k, v in delta.items() if k not in ("cmdstat_replconf", "cmdstat_ping")}
        assert {k.removeprefix("cmdstat_") for k in delta} <= READ_ONLY, (address, delta)
        assert not [k for k in delta if k.startswith("errorstat_")], (address, delta)
        # every node was asked, each once: INFO, CONFIG GET maxmemory*, CLUSTER INFO (+ redis-cli's own INFOs)
        assert delta["cmdstat_config|get"] == 1 and delta["cmdstat_cluster|info"] == 1, (address, delta)
        assert delta.get("cmdstat_cluster|nodes", 0) == (1 if node is live.seed else 0), (address, delta)
    for node in live.nodes:
        live.cli(node, "ACL", "DELUSER", "slo-reader")


def test_policy_drift_on_one_node_names_that_node_and_says_what_brings_it_back(
    live: RedisCluster, gitops: Path, pytester: pytest.Pytester
) -> None:
    master = live.masters()[1]
    with live.setting(live.node(master["address"]), "maxmemory-policy", "noeviction"):
        result, doc = run(pytester)
    (finding,) = doc["findings"]
    assert finding["check"] == "redis-eviction-policy-live" and finding["outcome"] == "failed"
    assert finding["message"].splitlines() == [
        f"{master['address']} (master, slots {slots(master)}): maxmemory-policy noeviction live (read via redis)",
        "  expected allkeys-lru, as config.env declares (1 of 6 instances)",
    ]
    assert finding["objects"] == [{"instance": master["address"]}]
    assert finding["evidence"]["instances"][0]["instance"] == master["address"]
    line = declare(gitops, "REDIS_EVICTION_POLICY", "allkeys-lru")
    assert finding["location"] == {"path": ENV, "line": line}
    # the declared line is right: the finding says what brings live back, not "edit" it
    assert finding["action"].startswith(
        f"live differs from what is committed: config.env declares REDIS_EVICTION_POLICY=allkeys-lru ({ENV}:{line}); "
        "sync and roll out redis-cluster"
    )
    assert "a CONFIG SET on a node is lost at its next restart and is no fix" in finding["action"]
    result.stdout.fnmatch_lines(["do: live differs from what is committed*", f"declared at: {ENV}:{line}"])
    assert f"edit: {ENV}:{line}" not in result.stdout.str()


def test_a_waiver_covers_one_node_and_not_another(live: RedisCluster, gitops: Path, pytester: pytest.Pytester) -> None:
    accepted, other = live.masters()[1], live.masters()[2]
    until = dt.date.today() + dt.timedelta(days=7)
    (gitops / "checks/waivers.yaml").write_text(
        "waivers:\n  - check: redis-eviction-policy-live\n    site: production\n"
        f"    match: {{instance: \"{accepted['address']}\"}}\n    until: {until}\n"
        "    owner: sre-oncall\n    reason: node being drained (OPS-4321)\n"
    )
    with live.setting(live.node(accepted["address"]), "maxmemory-policy", "noeviction"):
        waived, doc = run(pytester, "-rx", select="redis-eviction-policy-live")
        with live.setting(live.node(other["address"]), "maxmemory-policy", "volatile-lru"):
            _result, both = run(pytester, select="redis-eviction-policy-live")
    waived.stdout.fnmatch_lines(
        ["XFAIL sites/production/config.env::redis-cluster::redis-eviction-policy-live - waived until *"]
    )
    (alone,) = doc["findings"]
    assert alone["waiver"]["complete"] and alone["objects"] == [{"instance": accepted["address"]}]
    (finding,) = both["findings"]  # one more node out of line is not the accepted problem
    assert finding["outcome"] == "failed" and not finding["waiver"]["complete"]
    assert finding["objects"] == [{"instance": accepted["address"]}, {"instance": other["address"]}]
    assert finding["fingerprint"] != alone["fingerprint"]


def test_maxmemory_drift_on_one_replica(live: RedisCluster, gitops: Path, pytester: pytest.Pytester) -> None:
    master = live.masters()[0]
    (replica,) = live.replicas_of(master)
    with live.setting(live.node(replica["address"]), "maxmemory", "1gb"):
        _result, doc = run(pytester)
    (finding,) = doc["findings"]
    assert finding["check"] == "redis-maxmemory-live"
    assert finding["message"].splitlines()[0] == (
        f"{replica['address']} (replica of {master['address']}): maxmemory 1Gi live (read via redis)"
    )
    assert finding["objects"] == [{"instance": replica["address"]}]
    assert finding["evidence"]["instances"][0]["maxmemory"] == 1 << 30


def test_a_master_shut_down_fails_the_cluster_check_and_the_other_nodes_are_still_judged(
    live: RedisCluster, gitops: Path, pytester: pytest.Pytester
) -> None:
    declare(gitops, "REDIS_CLUSTER_REPLICAS", "1")
    down, drifted = live.masters()[1], live.masters()[2]
    node = live.node(down["address"])
    live.kill(node)
    try:
        running = [n for n in live.nodes if n is not node]
        live.wait_until(lambda: all(live.cluster_info(n)["cluster_state"] == "fail" for n in running)
                        and "fail" in live.flags(node), "every node sees the master failed")
        truth = live.cluster_info(live.seed)
        with live.setting(live.node(drifted["address"]), "maxmemory-policy", "noeviction"):
            result, doc = run(pytester)
    finally:
        live.restart(node)
    found = by_check(doc)
    state = found["redis-cluster-state"]
    unserved = 16384 - int(truth["cluster_slots_ok"])
    assert unserved == int(truth["cluster_slots_fail"]) == 10922 - 5461 + 1  # a third of the slots
    seed = live.address(live.seed)
    assert state["message"].splitlines()[:2] == [
        f"cluster_state fail as {seed} sees it: {unserved} of 16384 slots not served "
        f"(cluster_slots_ok {truth['cluster_slots_ok']}, pfail 0, fail {truth['cluster_slots_fail']}, unassigned 0)",
        f"{down['address']} (master, slots {slots(down)}): does not answer: cannot connect to {down['address']}: "
        f"connection refused; the cluster flags it fail; its {unserved} slots are not served",
    ]
    assert state["severity"] == "P1" and state["outcome"] == "failed"
    assert state["objects"] == [{"cluster": "slots"}, {"instance": down["address"]}]
    assert state["action"].startswith(f"bring {down['address']} back")
    # the node that does not answer hides no other verdict: the drifted master is named
    policy = found["redis-eviction-policy-live"]
    assert policy["outcome"] == "failed"
    assert (
        policy["message"]
        .splitlines()[0]
        .startswith(f"{drifted['address']} (master, slots {slots(drifted)}): maxmemory-policy noeviction")
    )
    assert (
        f"  not read: {down['address']} (master, slots {slots(down)}): cannot connect to {down['address']}: "
        "connection refused (see redis-cluster-state)"
        in policy["message"]
    )
    assert "redis-maxmemory-live" not in found
    result.stdout.fnmatch_lines([f"do: bring {down['address']} back*"])


def test_a_replica_missing(live: RedisCluster, gitops: Path, pytester: pytest.Pytester) -> None:
    line = declare(gitops, "REDIS_CLUSTER_REPLICAS", "1")
    master = live.masters()[2]
    (replica,) = live.replicas_of(master)
    node = live.node(replica["address"])
    live.kill(node)
    try:
        live.wait_until(lambda: "fail" in live.flags(node), "the cluster flags the replica failed")
        _result, doc = run(pytester)
    finally:
        live.restart(node)
    (finding,) = doc["findings"]
    assert finding["check"] == "redis-cluster-state"
    assert finding["message"].splitlines()[:2] == [
        f"{replica['address']} (replica of {master['address']}): does not answer: cannot connect to "
        f"{replica['address']}: connection refused; the cluster flags it fail",
        f"{master['address']} (master, slots {slots(master)}): 0 of 1 replicas up (REDIS_CLUSTER_REPLICAS=1); "
        f"{replica['address']} is down",
    ]
    assert finding["location"] == {"path": ENV, "line": line}
    assert finding["objects"] == [
        {"instance": replica["address"]},
        {"instance": master["address"], "problem": "replicas"},
    ]


def test_fewer_replicas_than_declared(live: RedisCluster, gitops: Path, pytester: pytest.Pytester) -> None:
    declare(gitops, "REDIS_CLUSTER_REPLICAS", "2")
    _result, doc = run(pytester, select="redis-cluster-state")
    (finding,) = doc["findings"]
    assert finding["message"].splitlines()[:3] == [
        f"{m['address']} (master, slots {slots(m)}): 1 of 2 replicas up (REDIS_CLUSTER_REPLICAS=2)"
        for m in live.masters()
    ]


def test_a_node_whose_announced_address_the_gate_cannot_reach(
    live: RedisCluster, gitops: Path, pytester: pytest.Pytester
) -> None:
    """The node announces a client port nothing listens on (as behind NAT): the cluster, which
    talks over the bus port, sees it healthy; the gate, redirected like a client, cannot reach it."""
    master = live.masters()[2]
    (replica,) = live.replicas_of(master)
    port = free_port()
    unreachable = f"127.0.0.1:{port}"
    with live.setting(live.node(replica["address"]), "cluster-announce-port", str(port)):
        live.wait_until(
            lambda: any(n["address"] == unreachable for n in live.topology()), "the new address is gossiped"
        )
        _result, doc = run(pytester)
    live.wait_until(lambda: any(n["address"] == replica["address"] for n in live.topology()), "the old address is back")
    (finding,) = doc["findings"]
    assert finding["message"].splitlines()[0] == (
        f"{unreachable} (replica of {master['address']}): does not answer: cannot connect to {unreachable}: connection "
        f"refused; {live.address(live.seed)} sees it connected and not failing: the gate cannot reach the address "
        "the node announces"
    )
    assert finding["action"].startswith("run the gate where the addresses the nodes announce are reachable")


def test_a_node_that_does_not_answer_ends_within_the_live_timeout(
    live: RedisCluster, gitops: Path, pytester: pytest.Pytester
) -> None:
    master = live.masters()[0]
    (replica,) = live.replicas_of(master)
    node = live.node(replica["address"])
    with paused(live, node):  # SIGSTOP: the kernel still accepts connections, nothing answers
        result, doc = run(pytester, "--live-timeout=2", "--durations=0", "-vv")
    live.wait_until(live.healthy, "the paused replica is back")
    # the three items share one read of the cluster, and it ends inside the one --live-timeout
    took = sum(float(t) for t in re.findall(r"^([0-9.]+)s (?:setup|call|teardown) +sites/", result.stdout.str(), re.M))
    assert 1.0 < took < 2.0, result.stdout.str()
    (finding,) = doc["findings"]  # the drift checks judged the five other nodes and passed
    first = finding["message"].splitlines()[0]
    # 0.8 of what is left of the 2 s: the rest is for judging; then the seed's view of the node
    assert re.match(rf"{re.escape(replica['address'])} \(replica of {re.escape(master['address'])}\): does not answer: "
                    rf"no answer from {re.escape(replica['address'])} within 1\.[56] s; ", first), first
    assert finding["outcome"] == "failed"


def test_a_single_redis_is_not_a_cluster(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RedisServer("1536mb", "allkeys-lru") as server:
        monkeypatch.setenv("SLO_REDIS_URL", server.url)
        result, doc = run(pytester)
    assert doc["findings"] == []
    assert result.parseoutcomes()["passed"] == 2 and result.parseoutcomes()["skipped"] == 1
    result.stdout.fnmatch_lines([
        "SKIPPED*not a Redis Cluster: INFO says cluster_enabled:0; redis-cluster-state judges the nodes of a cluster"
    ])
