"""Live checks against the real servers: the incident fails with the right evidence and
the fixed state passes. Redis, redis_exporter and Prometheus are the Debian packages,
started on loopback by teststack; a missing binary fails here, never skips."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from teststack.scenario import Stack
from teststack.servers import RedisServer, free_port

from .support import STACK

pytestmark = pytest.mark.servers(*STACK)

LIVE_CHECKS = {
    ("slo-latency-p99", "api-server"),
    ("slo-error-rate", "api-server"),
    ("redis-memory-headroom", "redis-cluster"),
    ("redis-memory-growth", "redis-cluster"),
    ("redis-oom-errors", "redis-cluster"),
    ("redis-eviction-policy-live", "redis-cluster"),
    ("redis-maxmemory-live", "redis-cluster"),
    # the shipped OpenSLO SLOs (slos/api-server.yaml): their budget and burn-rate items
    ("api-availability::error-budget", "api-server"),
    ("api-availability::burn-rate", "api-server"),
    ("api-latency::error-budget", "api-server"),
    ("api-latency::burn-rate", "api-server"),
}


def live_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: Stack | None, *args: str
) -> tuple[pytest.RunResult, dict]:
    if stack is not None:
        for key, value in stack.env().items():
            monkeypatch.setenv(key, value)
    result = pytester.runpytest("--site", "production", "--live", "-m", "live and not kube", "--findings=f.json", *args)
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return result, json.loads((pytester.path / "f.json").read_text())


def by_check(doc: dict) -> dict[tuple[str, str], dict]:
    return {(f["check"], f["app"]): f for f in doc["findings"]}


def test_the_incident_fails_every_live_check_with_evidence(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, doc = live_run(pytester, monkeypatch, incident)
    found = by_check(doc)
    assert set(found) == LIVE_CHECKS, result.stdout.str()
    assert all(f["outcome"] == "failed" for f in found.values())
    p99 = found[("slo-latency-p99", "api-server")]
    ev = p99["evidence"]
    assert ev["threshold"] == 500 and ev["op"] == "<=" and "histogram_quantile(0.99, sum by (le)" in ev["query"]
    assert 'namespace="production", service="api-server"' in ev["query"]
    assert 7000 < ev["values"][0]["value"] < 10000
    assert ev["time"].endswith("Z")
    errors = found[("slo-error-rate", "api-server")]["evidence"]["values"][0]["value"]
    assert 8 < errors < 16
    policy = found[("redis-eviction-policy-live", "redis-cluster")]
    assert (
        ": maxmemory-policy noeviction live (read via redis)" in policy["message"]
        and "expected allkeys-lru" in policy["message"]
    )
    env = (gitops / "sites/production/config.env").read_text().splitlines()
    assert policy["location"]["line"] == next(
        i for i, line in enumerate(env, 1) if line.startswith("REDIS_EVICTION_POLICY=")
    )
    oom = found[("redis-oom-errors", "redis-cluster")]
    assert oom["evidence"]["breaching"][0]["value"] > 0
    everything = result.stdout.str() + (pytester.path / "f.json").read_text()
    assert incident.redis_password and incident.redis_password not in everything


def test_the_fixed_state_passes(
    fixed: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, doc = live_run(pytester, monkeypatch, fixed)
    assert doc["findings"] == [], result.stdout.str()
    assert doc["summary"]["passed"] >= len(LIVE_CHECKS)


def test_live_items_skip_without_live(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--site", "production", "-m", "live", "-rs")
    result.stdout.fnmatch_lines(
        ["*live check: pass --live (or set slo_live = true) to query Prometheus, Redis and Kubernetes"]
    )
    assert set(result.parseoutcomes()) == {"skipped", "deselected"}


def test_redis_through_the_exporter_gives_the_same_verdict(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text() + "REDIS_CHECK_VIA=exporter\n")
    _, doc = live_run(pytester, monkeypatch, incident, "-k", "eviction-policy-live")
    (finding,) = doc["findings"]
    assert ": maxmemory-policy noeviction live (read via prometheus)" in finding["message"]


def test_config_disabled_falls_back_to_info(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = RedisServer(maxmemory="1536mb", policy="allkeys-lru", password=None, rename_config=True)
    with server:
        monkeypatch.setenv("SLO_REDIS_URL", server.url)
        _, doc = live_run(pytester, monkeypatch, None, "-k", "eviction-policy-live or maxmemory-live")
    assert doc["findings"] == []
    assert doc["summary"]["passed"] == 2


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("down", "redis unavailable: cannot connect to 127.0.0.1:*: connection refused"),
        ("password", "redis unavailable: authentication failed at 127.0.0.1:* (check SLO_REDIS_PASSWORD)"),
    ],
)
def test_redis_faults_are_errors_with_one_line(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, setup: str, reason: str
) -> None:
    for key, value in incident.env().items():
        monkeypatch.setenv(key, value)
    if setup == "down":
        monkeypatch.setenv("SLO_REDIS_URL", f"redis://127.0.0.1:{free_port()}")
    else:
        monkeypatch.setenv("SLO_REDIS_PASSWORD", "wrong-password")
    result, doc = live_run(pytester, monkeypatch, None, "-k", "eviction-policy-live or maxmemory-live or slo-latency")
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 2, result.stdout.str()
    assert outcomes.get("failed") == 1  # the SLO item still ran
    result.stdout.fnmatch_lines([reason])
    assert {f["outcome"] for f in doc["findings"] if f["kind"] == "redis"} == {"error"}
    assert "wrong-password" not in result.stdout.str()


def test_prometheus_down_errors_every_promql_item_quickly(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    result, _doc = live_run(
        pytester,
        monkeypatch,
        None,
        "-k",
        "slo- or redis-memory or redis-oom",
        "--prometheus-url",
        f"http://127.0.0.1:{free_port()}",
    )
    assert time.monotonic() - started < 15
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 5
    result.stdout.fnmatch_lines(["prometheus unavailable: cannot connect to http://127.0.0.1:*: connection refused"])


def test_empty_result_fails_with_a_diagnosis(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text().replace("KUBE_NAMESPACE=production", "KUBE_NAMESPACE=prod"))
    _result, doc = live_run(pytester, monkeypatch, incident, "-k", "slo-latency")
    (finding,) = doc["findings"]
    assert finding["outcome"] == "failed"
    assert 'but none has namespace="prod" (namespace has: production)' in finding["message"]
    assert finding["evidence"]["diagnosis"]


def test_a_bad_query_is_an_error_naming_prometheus_message(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PromQL that parses offline but that this Prometheus (2.42) does not know: limitk came in 3.x
    (gitops / "checks/team.yaml").write_text(
        "checks:\n  - id: broken-query\n    title: t\n    kind: promql\n    apps: [api-server]\n"
        "    query: 'limitk(1, sum(rate(http_requests_total[5m])))'\n    op: '<'\n    threshold: 1\n    "
        "severity: P3\n    runbook: checks/runbooks/slo.md\n"
    )
    result, _ = live_run(pytester, monkeypatch, incident, "-k", "broken-query")
    result.stdout.fnmatch_lines(["prometheus rejected the query: *parse error*limitk*"])
    assert result.parseoutcomes().get("errors", result.parseoutcomes().get("error")) == 1


def test_a_query_that_does_not_parse_never_reaches_prometheus(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Caught offline, also with --live: the item errors at the catalog's line, nothing is sent
    (the Prometheus URL here answers nothing at all)."""
    (gitops / "checks/team.yaml").write_text(
        "checks:\n  - id: broken-query\n    title: t\n    kind: promql\n    apps: [api-server]\n"
        "    query: 'sum(rate(http_requests_total[5m])'\n    op: '<'\n    threshold: 1\n    severity: P3\n    "
        "runbook: checks/runbooks/slo.md\n"
    )
    monkeypatch.setenv("SLO_PROMETHEUS_URL", "http://127.0.0.1:9")
    result, doc = live_run(pytester, monkeypatch, None, "-k", "broken-query")
    result.stdout.fnmatch_lines(
        ["checks/team.yaml:6: check 'broken-query': query at site production is not PromQL: unclosed left parenthesis*"]
    )
    assert "unavailable" not in result.stdout.str()
    assert [f["outcome"] for f in doc["findings"] if f["check"] == "broken-query"] == ["error"]


def test_a_cache_without_maxmemory_is_a_finding(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from teststack.servers import Prometheus, RedisExporter

    labels = {"namespace": "production", "service": "redis-cluster"}
    with RedisServer(maxmemory="0", policy="allkeys-lru") as redis, RedisExporter(redis.url) as exporter:
        redis.client().set("k", "x" * 1000)
        with Prometheus([("redis-cluster", exporter.address, labels)], tmp_path / "data") as prometheus:
            prometheus.wait_for_scrapes()
            monkeypatch.setenv("SLO_PROMETHEUS_URL", prometheus.url)
            _, doc = live_run(pytester, monkeypatch, None, "-k", "redis-memory-headroom")
    (finding,) = doc["findings"]
    assert (
        "maxmemory is 0 (no limit): a cache without maxmemory grows until the container is OOM-killed"
        in finding["message"]
    )
    assert finding["evidence"]["breaching"][0]["value"] in ("+Inf", "NaN")
    json.loads((pytester.path / "f.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_live_findings_are_the_same_under_xdist(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in incident.env().items():
        monkeypatch.setenv(key, value)
    args = ("--site", "production", "--live", "-m", "live and not kube", "-p", "no:cacheprovider")
    pytester.runpytest_subprocess(*args, "--findings=serial.json")
    result = pytester.runpytest_subprocess(*args, "--findings=xdist.json", "-n", "2")
    result.stdout.fnmatch_lines(["*2 workers*"])

    def shape(name: str) -> list[tuple]:
        doc = json.loads((pytester.path / name).read_text())
        return [
            (f["check"], f["app"], f["outcome"], f["location"]["line"] if f["location"] else None)
            for f in doc["findings"]
        ]

    assert shape("xdist.json") == shape("serial.json")
    assert {c for c, *_ in shape("serial.json")} == {c for c, _ in LIVE_CHECKS}


class _Faulty(http.server.BaseHTTPRequestHandler):
    mode = "hang"

    def do_GET(self) -> None:
        if self.mode == "hang":
            time.sleep(5)
            return
        if self.mode == "503":
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"overloaded")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"<html>not json</html>")

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("hang", "prometheus unavailable: no answer from http://127.0.0.1:*/api/v1/query within 1.0 s"),
        ("503", "prometheus unavailable: HTTP 503 from http://127.0.0.1:*/api/v1/query after * attempts: overloaded"),
        (
            "json",
            "prometheus unavailable: invalid JSON from http://127.0.0.1:*/api/v1/query (starts with '<html>not "
            "json</html>')",
        ),
    ],
)
def test_prometheus_faults_end_within_the_timeout(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str, reason: str
) -> None:
    handler = type("Handler", (_Faulty,), {"mode": mode})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        result, doc = live_run(
            pytester, monkeypatch, None, "-k", "slo- or redis-memory or redis-oom",
            "--prometheus-url", f"http://127.0.0.1:{server.server_address[1]}", "--live-timeout", "1",
        )
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert elapsed < 8, elapsed  # five items, one timeout: the queries ran concurrently
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 5 and "passed" not in outcomes
    result.stdout.fnmatch_lines([reason])
    assert {f["outcome"] for f in doc["findings"]} == {"error"}
