"""What the Redis Cluster tests share: a live run through pytester, and the servers' own counts.

The truth a finding is compared with comes from the servers through ``redis-cli`` (CLUSTER
NODES parsed by redis-py, CLUSTER INFO, INFO commandstats), never from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teststack.cluster import RedisCluster
from teststack.servers import RedisServer

from .support import ENV, set_line

PASSWORD = "pw-cluster-7c1e-secret"
CLUSTER_CHECKS = "redis-eviction-policy-live or redis-maxmemory-live or redis-cluster-state"
#: What the source may send: read-only commands and the AUTH of each connection.
READ_ONLY = {"info", "config|get", "cluster|nodes", "cluster|info", "auth"}


def run(pytester: pytest.Pytester, *args: str, select: str = CLUSTER_CHECKS) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest("--site", "production", "--live", "-k", select, "--findings=f.json", "-rs", *args)
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return result, json.loads((pytester.path / "f.json").read_text())


def by_check(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["check"]: f for f in doc["findings"]}


def declare(gitops: Path, key: str, value: str | None) -> int:
    """Set KEY in the production config.env; its 1-based line."""
    env = gitops / ENV
    set_line(env, key, value)
    return next(i for i, line in enumerate(env.read_text().splitlines(), 1) if line.startswith(f"{key}="))


def commands(server: RedisServer, cluster: RedisCluster) -> dict[str, int]:
    """The server's command calls and error counts, from INFO commandstats and errorstats."""
    counts: dict[str, int] = {}
    for section, key in (("commandstats", "calls="), ("errorstats", "count=")):
        for name, fields in cluster.info(server, section).items():
            counts[name] = int(fields.split(key)[1].split(",")[0])
    return counts


def sent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def slots(master: dict[str, Any]) -> str:
    """A master's slot ranges as redis-py parsed them from CLUSTER NODES: ``5461-10922``."""
    return ", ".join(f"{a}-{b}" if a != b else a for a, b in master["slots"])
