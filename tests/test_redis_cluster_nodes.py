"""CLUSTER NODES as Redis writes it, parsed: no server needed.

The inputs are real outputs, quoted with their source:

* DOC: the example of ``CLUSTER NODES`` on Redis 7.2.0 in the Redis documentation
  (github.com/redis/redis-doc, commands/cluster-nodes.md, also redis.io/commands/cluster-nodes),
  with the special slot entries that page lists (``[77->-...]`` migrating, ``[93-<-...]``
  importing) on the ``myself`` line, where the page says they appear;
* FAILOVER: a three-master cluster after one master (6381) was shut down and its replica took
  over, from a user's session (blog.csdn.net/2201_75960169/article/details/135788134);
* ALONE: a node before it met any other, with single slots added by hand
  (blog.csdn.net/zhizhengguan/article/details/120952505).
"""

from __future__ import annotations

from pytest_slo.sources.redis import describe, slot_count, slot_text, unassigned
from pytest_slo.sources.redis._cluster import parse_nodes

DOC = """\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,hostname4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002,hostname2 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003,hostname3 master - 0 1426238318243 3 connected 10923-16383
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005,hostname5 slave 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006,hostname6 slave 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1426238317741 6 connected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001,hostname1 myself,master - 0 0 1 connected 0-5460 [77->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca] [93-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
"""

FAILOVER = """\
a5757758fd0bdd8106e10905bbd1674c574f10c1 192.168.92.131:6386@16386 slave 1fca4878cd2a2a4fe055003f53d53c84cb589859 0 1706013398731 3 connected
ee718fe879729ec1f961b08c4342c78537997ab4 192.168.92.129:6381@16381 master,fail - 1706013346893 1706013345000 1 disconnected
69d920127eec13adc0d9fcaf0e9448a80d1a4803 192.168.92.130:6384@16384 master - 0 1706013398000 7 connected 0-5460
2eabe702c6bba38aee780477fab74bc4969d9bf3 192.168.92.129:6382@16382 myself,slave 30b1f7bfccd93049117e1dab1cd6385eaf800015 0 1706013398000 5 connected
30b1f7bfccd93049117e1dab1cd6385eaf800015 192.168.92.131:6385@16385 master - 0 1706013399538 5 connected 10923-16383
1fca4878cd2a2a4fe055003f53d53c84cb589859 192.168.92.130:6383@16383 master - 0 1706013399538 3 connected 5461-10922
"""

ALONE = (
    "447c827edc4fd98e49633bab1ece5ad705b48ac4 :6380@16380 myself,master - 0 0 0 connected 5368 5798 6257 7142 "
    "9670 10918 12539\n"
)


def test_the_documented_example() -> None:
    nodes = {n["address"]: n for n in parse_nodes(DOC)}
    assert sorted(nodes) == [f"127.0.0.1:3000{i}" for i in range(1, 7)]  # the hostname and bus port are not the address
    first = nodes["127.0.0.1:30001"]
    # a migrating or importing entry is no slot of its own: 0-5460 stays what the node serves
    assert first["slots"] == [[0, 5460]] and first["flags"] == ["myself"] and first["role"] == "master"
    assert first["replicas"] == 1 and first["link"] == "connected"
    assert nodes["127.0.0.1:30004"]["role"] == "replica" and nodes["127.0.0.1:30004"]["master"] == "127.0.0.1:30001"
    assert describe(nodes["127.0.0.1:30002"]) == "127.0.0.1:30002 (master, slots 5461-10922)"
    assert describe(nodes["127.0.0.1:30005"]) == "127.0.0.1:30005 (replica of 127.0.0.1:30002)"
    assert unassigned(nodes.values()) == []
    assert sum(slot_count(n["slots"] or []) for n in nodes.values()) == 16384


def test_a_master_that_failed_over() -> None:
    nodes = {n["address"]: n for n in parse_nodes(FAILOVER)}
    dead = nodes["192.168.92.129:6381"]
    # its replica 6384 took its slots over (0-5460, config epoch 7) and has no replica of its own
    assert dead["flags"] == ["fail"] and dead["link"] == "disconnected" and dead["slots"] == []
    assert describe(dead) == "192.168.92.129:6381 (master, no slots)"
    assert nodes["192.168.92.129:6382"]["flags"] == ["myself"]
    assert nodes["192.168.92.129:6382"]["master"] == "192.168.92.131:6385"
    assert {a: n["replicas"] for a, n in nodes.items() if n["role"] == "master"} == {
        "192.168.92.129:6381": 0, "192.168.92.130:6384": 0, "192.168.92.131:6385": 1, "192.168.92.130:6383": 1,
    }


def test_a_node_alone_with_single_slots() -> None:
    (node,) = parse_nodes(ALONE)
    # no address known yet (it never met another node): named by its id
    assert node["address"] == "" and node["name"] == "node 447c827e"
    assert node["slots"] == [
        [5368, 5368],
        [5798, 5798],
        [6257, 6257],
        [7142, 7142],
        [9670, 9670],
        [10918, 10918],
        [12539, 12539],
    ]
    assert slot_text(node["slots"]) == "5368, 5798, 6257, 7142 (+3 more ranges)"
    free = unassigned([node])
    assert free[0] == [0, 5367] and free[-1] == [12540, 16383]
    assert slot_count(free) == 16384 - 7


def test_pfail_noaddr_and_handshake_flags() -> None:
    # written after the flags the documentation lists (fail? is PFAIL; noaddr has ":0@0")
    text = (
        "aaaa000000000000000000000000000000000001 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-16383\n"
        "aaaa000000000000000000000000000000000002 10.0.0.2:6379@16379 slave,fail? "
        "aaaa000000000000000000000000000000000001 1 0 1 connected\n"
        "aaaa000000000000000000000000000000000003 :0@0 slave,noaddr aaaa000000000000000000000000000000000001 0 0 "
        "1 disconnected\n"
        "aaaa000000000000000000000000000000000004 10.0.0.4:6379@16379 handshake - 0 0 0 connected\n"
    )
    nodes = parse_nodes(text)
    assert [n["flags"] for n in nodes] == [["myself"], ["pfail"], ["noaddr"], ["handshake"]]
    assert nodes[2]["address"] == "" and nodes[2]["name"] == "node aaaa0000"
    assert nodes[0]["replicas"] == 0  # neither a replica in pfail nor one without an address counts as up
