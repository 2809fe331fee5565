"""The local stack against the real servers: redis-server, redis_exporter, Prometheus.

No skips: a missing binary fails, naming the Debian package to install.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from teststack import Stack, StackError
from teststack.servers import Prometheus, RedisServer, backfill, free_port, require_binary

from .support import STACK

pytestmark = pytest.mark.servers(*STACK)

REPO = Path(__file__).resolve().parents[1]
API = 'namespace="production",service="api-server"'
REDIS = 'namespace="production",service="redis-cluster"'
MIB = 1024 * 1024


def p99(window: str) -> str:
    return ("histogram_quantile(0.99, sum by (le) "
            f"(rate(http_request_duration_seconds_bucket{{{API}}}[{window}])))")


def error_ratio(window: str) -> str:
    return (f'sum(rate(http_requests_total{{{API},status=~"5.."}}[{window}]))'
            f" / sum(rate(http_requests_total{{{API}}}[{window}]))")

# the incident and fixed stacks are the session fixtures of conftest.py


def scalar(stack: Stack, promql: str, at: float | None = None) -> float:
    result = stack.prometheus.query(promql, at)
    assert len(result) == 1, f"{promql} gave {result}"
    return float(result[0]["value"][1])


def eventually(probe: Callable[[], Any], timeout: float = 15.0) -> Any:
    """The first truthy ``probe()``; bounded, since a scrape lands every second."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, "condition not met within the time limit"
        time.sleep(0.25)
    return value


def refused(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 0), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# --- building blocks ------------------------------------------------------------------------

def test_the_servers_are_installed() -> None:
    for name, package in [("redis-server", "redis-server"), ("prometheus", "prometheus"),
                          ("promtool", "prometheus"),
                          ("prometheus-redis-exporter", "prometheus-redis-exporter")]:
        assert Path(require_binary(name, package)).is_file()


def test_a_missing_binary_names_the_package() -> None:
    with pytest.raises(StackError) as info:
        require_binary("slo-no-such-server", "slo-server-pkg")
    assert str(info.value) == "slo-no-such-server not found: apt-get install -y slo-server-pkg"


def test_free_port_can_be_bound() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_a_server_that_exits_reports_its_log(tmp_path: Path) -> None:
    with pytest.raises(StackError) as info:
        RedisServer("1mb", "no-such-policy", workdir=tmp_path).start()
    message = str(info.value)
    assert "redis-server exited with code 1 before answering PING" in message
    assert "maxmemory-policy" in message  # redis-server's own complaint, from the log


def test_backfill_reports_what_promtool_rejected(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="promtool could not backfill"):
        backfill("not openmetrics at all {\n", tmp_path / "data")


def test_an_unknown_scenario_is_refused() -> None:
    with pytest.raises(StackError, match=r"unknown scenario 'outage' \(choose one of incident, fixed\)"):
        Stack("outage")


def test_every_process_stops_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), Stack("fixed", password=False,
                                            wait_for_scrapes=False) as stack:
        assert set(stack.env()) == {"SLO_PROMETHEUS_URL", "SLO_REDIS_URL"}
        assert stack.redis.client().ping()
        pids = [s.process.pid for s in (stack.redis, stack.exporter, stack.prometheus) if s.process]
        assert len(pids) == 3
        urls = [stack.redis_url, stack.exporter_url, stack.prometheus_url, stack.api_metrics_url]
        workdir = stack.workdir
        assert all(Path(f"/proc/{pid}").exists() for pid in pids)
        raise RuntimeError("boom")
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert all(refused(url) for url in urls)
    assert not workdir.exists()


def test_a_failed_start_stops_what_already_started(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Prometheus) -> Prometheus:
        raise StackError("prometheus refused to start")

    monkeypatch.setattr(Prometheus, "start", refuse)
    stack = Stack("fixed", wait_for_scrapes=False)
    with pytest.raises(StackError, match="refused to start"):
        stack.start()
    assert refused(stack.redis_url) and refused(stack.exporter_url)
    assert refused(stack.api_metrics_url)
    assert not stack.workdir.exists()


# --- the incident ------------------------------------------------------------------------------

def test_incident_redis_runs_noeviction_at_16mb(incident: Stack) -> None:
    client = incident.redis.client()
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert client.config_get("maxmemory") == {"maxmemory": str(16 * MIB)}


def test_incident_writes_fail_with_oom(incident: Stack) -> None:
    client = incident.redis.client()
    with pytest.raises(redis.OutOfMemoryError, match="command not allowed when used memory"):
        client.set("probe", b"x" * 65536)
    assert client.info("errorstats")["errorstat_OOM"]["count"] >= 10


def test_incident_exporter_series_carry_the_app_labels(incident: Stack) -> None:
    [series] = incident.prometheus.query(f"redis_memory_used_bytes{{{REDIS}}}")
    assert series["metric"] == {
        "__name__": "redis_memory_used_bytes", "namespace": "production",
        "service": "redis-cluster", "job": "redis-cluster",
        "instance": incident.exporter.address,
    }
    assert float(series["value"][1]) >= 0.99 * 16 * MIB
    assert scalar(incident, f"redis_memory_max_bytes{{{REDIS}}}") == 16 * MIB
    assert scalar(incident, f'redis_instance_info{{{REDIS},maxmemory_policy="noeviction"}}') == 1


def test_incident_oom_errors_keep_rising(incident: Stack) -> None:
    oom = f'redis_errors_total{{{REDIS},err="OOM"}}'
    first = scalar(incident, oom)
    eventually(lambda: scalar(incident, oom) > first)


def test_incident_history_grows_2mib_an_hour_until_the_breach(incident: Stack) -> None:
    start, breach = incident.started_at, incident.breach_started_at
    assert breach == start - 2 * 3600
    [series] = incident.prometheus.query_range(
        f"redis_memory_used_bytes{{{REDIS}}}", start - 6 * 3600, start - 60, 600)
    values = [(int(t), float(v)) for t, v in series["values"]]
    assert values[0][0] == start - 6 * 3600 and len(values) == 36
    rising = [v for t, v in values if t <= breach]
    assert all(b - a == pytest.approx(MIB / 3, rel=1e-3) for a, b in itertools.pairwise(rising))
    assert {v for t, v in values if t >= breach} == {rising[-1]}
    slope = scalar(incident, f"deriv(redis_memory_used_bytes{{{REDIS}}}[4h])", at=breach)
    assert slope * 3600 == pytest.approx(2 * MIB, rel=1e-3)
    # The history runs into the live series: same labels, and it ends at today's level.
    live = scalar(incident, f"redis_memory_used_bytes{{{REDIS}}}")
    assert rising[-1] == pytest.approx(live, rel=0.01)


def test_incident_api_p99_is_8_4_s_and_errors_12_percent(incident: Stack) -> None:
    assert (incident.scenario.current.p99, incident.scenario.current.error_ratio) == (8.4, 0.12)
    assert scalar(incident, p99("5m")) == pytest.approx(8.4, rel=0.01)
    assert scalar(incident, error_ratio("5m")) == pytest.approx(0.12, rel=0.01)


def test_incident_live_scrapes_alone_show_the_breach(incident: Stack) -> None:
    # [10s] holds live samples only: the history ends a minute before start.
    live = eventually(lambda: incident.prometheus.query(p99("10s")))
    assert float(live[0]["value"][1]) == pytest.approx(8.4, rel=0.01)


def test_incident_breach_starts_at_the_recorded_time(incident: Stack) -> None:
    breach = incident.breach_started_at
    assert breach is not None
    before, after = breach - 600, breach + 600
    assert scalar(incident, p99("5m"), at=before) == pytest.approx(0.05, rel=0.01)
    assert scalar(incident, error_ratio("5m"), at=before) == pytest.approx(0.0004, rel=0.01)
    assert scalar(incident, p99("5m"), at=after) == pytest.approx(8.4, rel=0.01)
    assert scalar(incident, error_ratio("5m"), at=after) == pytest.approx(0.12, rel=0.01)


# --- after the fix -----------------------------------------------------------------------------

def test_fixed_redis_evicts_lru_and_accepts_writes(fixed: Stack) -> None:
    client = fixed.redis.client()
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert client.set("probe", b"x" * 65536)
    memory = client.info("memory")
    assert memory["used_memory"] < 0.8 * memory["maxmemory"]


def test_fixed_memory_is_under_80_percent_without_oom_errors(fixed: Stack) -> None:
    used = scalar(fixed, f"redis_memory_used_bytes{{{REDIS}}} / redis_memory_max_bytes{{{REDIS}}}")
    assert 0 < used < 0.8
    assert fixed.prometheus.query(f'redis_errors_total{{{REDIS},err="OOM"}}') == []


def test_fixed_history_is_flat(fixed: Stack) -> None:
    start = fixed.started_at
    [series] = fixed.prometheus.query_range(
        f"redis_memory_used_bytes{{{REDIS}}}", start - 6 * 3600, start - 60, 600)
    assert len({v for _, v in series["values"]}) == 1
    assert fixed.breach_started_at is None


def test_fixed_api_p99_is_485_ms_and_errors_0_08_percent(fixed: Stack) -> None:
    assert (fixed.scenario.current.p99, fixed.scenario.current.error_ratio) == (0.485, 0.0008)
    assert scalar(fixed, p99("5m")) == pytest.approx(0.485, rel=0.01)
    assert scalar(fixed, error_ratio("5m")) == pytest.approx(0.0008, rel=0.01)
    live = eventually(lambda: fixed.prometheus.query(p99("10s")))
    assert float(live[0]["value"][1]) == pytest.approx(0.485, rel=0.01)
    assert math.isclose(scalar(fixed, p99("1h"), at=fixed.started_at - 3600), 0.485,
                        rel_tol=0.01)


# --- the command line ------------------------------------------------------------------------

CHILD = """
import json, os, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
url = os.environ["SLO_PROMETHEUS_URL"] + "/api/v1/query?query=up"
up = json.load(opener.open(url, timeout=5))["data"]["result"]
print(json.dumps({"env": {k: v for k, v in os.environ.items() if k.startswith("SLO_")},
                  "jobs": sorted(s["metric"]["job"] for s in up if s["value"][1] == "1")}))
sys.exit(7)
"""


def cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    # cwd=REPO: "-m" puts the checkout first on sys.path, installed or not.
    return subprocess.Popen([sys.executable, "-m", "teststack", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_cli_runs_a_command_against_the_stack_and_stops_it() -> None:
    import json

    proc = cli("--scenario", "fixed", "--", sys.executable, "-c", CHILD)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 7, err
    seen = json.loads(out)
    assert seen["jobs"] == ["api-server", "redis-cluster"]
    env = seen["env"]
    assert set(env) == {"SLO_PROMETHEUS_URL", "SLO_REDIS_URL", "SLO_REDIS_PASSWORD"}
    assert env["SLO_REDIS_URL"].startswith("redis://127.0.0.1:")
    assert "scenario 'fixed'" in err
    assert refused(env["SLO_PROMETHEUS_URL"]) and refused(env["SLO_REDIS_URL"])


def test_cli_serves_until_ctrl_c_then_stops_everything() -> None:
    # The child must not inherit an ignored SIGINT (as under a backgrounded shell job).
    proc = cli("--scenario", "incident", "--print-env",
               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        if not all(lines):
            pytest.fail(f"no env block; stderr:\n{proc.communicate(timeout=30)[1]}")
        env = dict(line.split("=", 1) for line in lines)
        client = redis.Redis.from_url(env["SLO_REDIS_URL"], password=env["SLO_REDIS_PASSWORD"])
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        client.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "stopped" in err
    assert refused(env["SLO_PROMETHEUS_URL"]) and refused(env["SLO_REDIS_URL"])
