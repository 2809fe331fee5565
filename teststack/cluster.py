"""A real Redis Cluster on loopback: Debian ``redis-server`` nodes joined by ``redis-cli --cluster create``.

``RedisCluster(masters=3, replicas=1)`` starts ``masters * (1 + replicas)`` nodes with
``cluster-enabled yes`` (no persistence, ``cluster-node-timeout`` 1 s so that a stopped node
is flagged ``fail`` within seconds), joins them and waits until every node says
``cluster_state:ok``, knows every other node and every replica's link to its master is up.
The test's own admin commands go through ``redis-cli`` (:meth:`RedisCluster.cli`), never
through the code under test. :class:`ClusterMonitoring` adds one redis_exporter per node
(as a Helm chart's metrics sidecar does) and a Prometheus scraping them with the app's labels.

What redis-server 7.0.15 and prometheus-redis-exporter 1.45 do with a cluster, checked here:

- ``redis-cli --cluster create`` gives three masters the slots 0-5460, 5461-10922 and
  10923-16383, and assigns replicas itself (it only warns that they share a host);
- a stopped master without replicas is flagged ``master,fail`` in the others' ``CLUSTER
  NODES`` about 2 s later; their ``CLUSTER INFO`` then says ``cluster_state:fail`` with its
  slots in ``cluster_slots_fail``; a stopped replica becomes ``slave,fail`` and its master's
  ``connected_slaves`` drops, while ``cluster_state`` stays ``ok``;
- the exporter reads ``CLUSTER INFO`` of the one node it watches whenever ``INFO`` says
  ``cluster_enabled:1``, with or without ``--is-cluster`` (which only changes how it reads
  keys): ``redis_cluster_state`` (1 ok, 0 fail), ``redis_cluster_slots_assigned``,
  ``_slots_ok``, ``_slots_pfail``, ``_slots_fail``, ``redis_cluster_known_nodes``,
  ``redis_cluster_size``; ``redis_instance_info{redis_mode="cluster", role, tcp_port}``,
  ``redis_connected_slaves`` on a master, ``redis_slave_info{master_host, master_port}`` and
  ``redis_master_link_up`` on a replica. It exports no slot ranges and nothing of the other
  nodes; for a node that does not answer it exports ``redis_up 0`` and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from teststack._process import LOOPBACK, READY_TIMEOUT, StackError, free_port, require_binary
from teststack.servers import Prometheus, RedisExporter, RedisServer

__all__ = ["ClusterMonitoring", "RedisCluster"]

SLOTS = 16384


class RedisCluster:
    """``masters`` masters with ``replicas`` replicas each; a context manager."""

    def __init__(self, masters: int = 3, replicas: int = 0, *, password: str | None = None,
                 maxmemory: str = "64mb", policy: str = "allkeys-lru", node_timeout_ms: int = 1000,
                 failover: bool = True) -> None:
        self.masters_wanted, self.replicas_wanted = masters, replicas
        self.password, self.maxmemory, self.policy = password, maxmemory, policy
        self.node_timeout_ms = node_timeout_ms
        self.failover = failover
        self.nodes: list[RedisServer] = []
        self.workdir: Path | None = None
        self._bus_ports: dict[Path, int] = {}  # a restarted node keeps its bus port

    # ----------------------------------------------------------------- life cycle

    def __enter__(self) -> RedisCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> RedisCluster:
        self.workdir = Path(tempfile.mkdtemp(prefix="slo-redis-cluster-"))
        try:
            for i in range(self.masters_wanted * (1 + self.replicas_wanted)):
                self.nodes.append(self._node(self.workdir / f"node-{i}").start())
            addresses = [self.address(n) for n in self.nodes]
            self._cli_run(["--cluster", "create", *addresses, "--cluster-replicas", str(self.replicas_wanted),
                           "--cluster-yes"], timeout=60)
            self.wait_until(self.healthy, "every node says cluster_state:ok and every replica is linked")
        except BaseException:
            self.stop()
            raise
        return self

    def _node(self, workdir: Path, port: int | None = None) -> RedisServer:
        workdir.mkdir(exist_ok=True)
        lines = ["cluster-enabled yes", "cluster-config-file nodes.conf",
                 f"cluster-node-timeout {self.node_timeout_ms}",
                 "repl-diskless-sync-delay 0",  # replicas sync at once, not after the default 5 s
                 # the bus port must be free too: port + 10000 by default, past 65535 for high ports
                 f"cluster-port {self._bus_ports.setdefault(workdir, free_port())}"]
        if self.password is not None:
            lines.append(f'masterauth "{self.password}"')  # replicas authenticate to their master
        if not self.failover:
            lines.append("cluster-replica-no-failover yes")  # a stopped master leaves its slots unserved
        node = RedisServer(self.maxmemory, self.policy, self.password, extra=lines, workdir=workdir)
        if port is not None:
            node.port = port
        return node

    def stop(self) -> None:
        for node in self.nodes:
            self.resume(node)  # a stopped (SIGSTOP) process would not see SIGTERM
            node.stop()
        self.nodes = []
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # ----------------------------------------------------------------- admin, through redis-cli

    @property
    def seed(self) -> RedisServer:
        return self.nodes[0]

    def address(self, node: RedisServer) -> str:
        return f"{LOOPBACK}:{node.port}"

    def node(self, address: str) -> RedisServer:
        return next(n for n in self.nodes if self.address(n) == address)

    def cli(self, node: RedisServer, *command: str) -> str:
        return self._cli_run(["-h", LOOPBACK, "-p", str(node.port), *command])

    def info(self, node: RedisServer, section: str) -> dict[str, str]:
        return _fields(self.cli(node, "INFO", section))

    def cluster_info(self, node: RedisServer) -> dict[str, str]:
        return _fields(self.cli(node, "CLUSTER", "INFO"))

    def topology(self, node: RedisServer | None = None) -> list[dict[str, Any]]:
        """``CLUSTER NODES`` as one node sees it, parsed by redis-py (not by the code under test)."""
        from redis._parsers.helpers import parse_cluster_nodes

        text = self.cli(node or self.seed, "CLUSTER", "NODES")
        return [{"address": address, **fields} for address, fields in parse_cluster_nodes(text).items()]

    def masters(self) -> list[dict[str, Any]]:
        """The masters that serve slots, by their first slot."""
        found = [n for n in self.topology() if "master" in n["flags"] and n["slots"]]
        return sorted(found, key=lambda n: int(n["slots"][0][0]))

    def flags(self, node: RedisServer, seen_by: RedisServer | None = None) -> set[str]:
        """The flags ``seen_by`` (the seed) has for ``node`` in its CLUSTER NODES."""
        row = next(n for n in self.topology(seen_by) if n["address"] == self.address(node))
        return set(row["flags"].split(","))

    def replicas_of(self, master: dict[str, Any]) -> list[dict[str, Any]]:
        return [n for n in self.topology() if n["master_id"] == master["node_id"]]

    @contextlib.contextmanager
    def setting(self, node: RedisServer, name: str, value: str) -> Iterator[None]:
        """``CONFIG SET name value`` on one node inside the block (a hand-made change, as drift
        starts); the value it had before, after."""
        before = self.cli(node, "CONFIG", "GET", name).splitlines()[1]
        self.cli(node, "CONFIG", "SET", name, value)
        try:
            yield
        finally:
            self.cli(node, "CONFIG", "SET", name, before)

    def kill(self, node: RedisServer) -> None:
        """Stop a node (SIGTERM, then SIGKILL): its port refuses connections; :meth:`restart` brings it back."""
        node.stop()

    def restart(self, node: RedisServer) -> RedisServer:
        """A stopped node again, on its port with its ``nodes.conf``: it rejoins as what it was;
        returns once the cluster is whole again."""
        again = self._node(node.workdir, node.port).start()
        self.nodes[self.nodes.index(node)] = again
        self.wait_until(self.healthy, f"{self.address(again)} rejoined and the cluster is whole")
        return again

    def pause(self, node: RedisServer) -> None:
        """SIGSTOP: the node keeps its port (the kernel accepts connections) and answers nothing."""
        self._signal(node, signal.SIGSTOP)

    def resume(self, node: RedisServer) -> None:
        self._signal(node, signal.SIGCONT)

    def healthy(self) -> bool:
        running = [n for n in self.nodes if n.process is not None and n.process.running()]
        for node in running:
            info = self.cluster_info(node)
            if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) != len(self.nodes):
                return False
            replication = self.info(node, "replication")
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 3 * READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(subprocess.CalledProcessError, StackError):
                if condition():
                    return
            if time.monotonic() > deadline:
                raise StackError(f"the Redis Cluster did not get to: {what} within {timeout:g} s")
            time.sleep(0.1)

    def _signal(self, node: RedisServer, sig: signal.Signals) -> None:
        if node.process is not None and node.process.pid is not None and node.process.running():
            os.killpg(node.process.pid, sig)

    def _cli_run(self, args: Sequence[str], timeout: float = 10) -> str:
        argv = [require_binary("redis-cli", "redis-tools"), *args]
        env = dict(os.environ)
        env.pop("REDISCLI_AUTH", None)
        if self.password is not None:
            env["REDISCLI_AUTH"] = self.password  # not in the process list, no warning on stderr
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if done.returncode != 0 or done.stdout.startswith(("ERR", "NOAUTH", "WRONGPASS")):
            raise StackError(f"redis-cli {' '.join(args[:4])} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        return done.stdout


class ClusterMonitoring:
    """One redis_exporter per node of ``cluster`` and a Prometheus scraping them.

    Each target carries ``namespace``, ``service`` (the app) and ``pod`` (``<app>-<i>``), as
    a ServiceMonitor attaches them to a StatefulSet's metrics sidecars.
    """

    def __init__(self, cluster: RedisCluster, data_dir: str | Path, *, namespace: str = "production",
                 app: str = "redis-cluster") -> None:
        self.cluster, self.data_dir, self.namespace, self.app = cluster, Path(data_dir), namespace, app
        self.exporters: list[RedisExporter] = []
        self.prometheus: Prometheus | None = None

    def pod(self, node: RedisServer) -> str:
        return f"{self.app}-{self.cluster.nodes.index(node)}"

    def __enter__(self) -> ClusterMonitoring:
        try:
            self.exporters = [RedisExporter(n.url, self.cluster.password).start() for n in self.cluster.nodes]
            targets = [(f"{self.app}-{i}", e.address, {"namespace": self.namespace, "service": self.app,
                                                      "pod": f"{self.app}-{i}"})
                       for i, e in enumerate(self.exporters)]
            self.prometheus = Prometheus(targets, self.data_dir).start()
            self.prometheus.wait_for_scrapes()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.prometheus is not None:
            self.prometheus.stop()
        for exporter in self.exporters:
            exporter.stop()

    @property
    def url(self) -> str:
        assert self.prometheus is not None
        return self.prometheus.url

    def wait_for(self, promql: str, what: str, timeout: float = 3 * READY_TIMEOUT) -> None:
        """Until ``promql`` returns a sample now (after a change the tests made to the cluster)."""
        assert self.prometheus is not None
        prometheus = self.prometheus
        self.cluster.wait_until(lambda: bool(prometheus.query(promql)), f"Prometheus shows {what}", timeout)


def _fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep and not name.startswith("#"):
            out[name] = value
    return out


@contextlib.contextmanager
def paused(cluster: RedisCluster, node: RedisServer) -> Iterator[None]:
    """The node answers nothing inside the block, and again after it."""
    cluster.pause(node)
    try:
        yield
    finally:
        cluster.resume(node)
