"""The benchmark's synthetic repository is a real gate: it collects what the catalog says and
fails exactly where failures were planted (benchmarks/make_repo.py). The live benchmarks at
quick sizes: the latency proxy counts connections, the promql run keeps to
--prometheus-concurrency connections, and the kube checks LIST each resource once however many
apps and checks run (counted by the proxy and by the loopback API server, never timed)."""

from __future__ import annotations

import gc
import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .support import REPO, STACK

MAKE_REPO = REPO / "benchmarks" / "make_repo.py"
def errored(manifest: dict) -> list[list]:
    """The planted findings whose items error (a value no check can judge), not fail."""
    return manifest["expected_errors"]


def _env() -> dict[str, str]:
    # the gate under test must not inherit this session's pytest or pytest-slo settings
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SLO_"))}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench") / "repo"
    subprocess.run([sys.executable, str(MAKE_REPO), "--sites", "4", "--apps", "4", "--promql", "3", "--out", str(out)],
                   check=True, capture_output=True, text=True, env=_env())
    return out, json.loads((out / "bench-manifest.json").read_text())


def test_make_repo_clones_apps_and_renders_every_site(tiny: tuple[Path, dict]) -> None:
    repo, manifest = tiny
    assert manifest["apps"] == {"redis-cluster": "redis-cluster", "api-server": "api-server",
                                "redis-cluster-02": "redis-cluster", "api-server-02": "api-server"}
    assert set(manifest["plants"]) == {"noeviction", "out-of-sync", "bad-quantity"}
    assert len(set(manifest["plants"].values())) == 3  # one site per planted failure
    for site in manifest["sites"]:
        for app in manifest["apps"]:
            assert (repo / "sites" / site / "apps" / app / "values.yaml").is_file()
    assert (
        "nameOverride: redis-cluster-02"
        in (repo / f"sites/{manifest['sites'][1]}/apps/redis-cluster-02/values.yaml").read_text()
    )
    assert "apps: [redis-cluster, redis-cluster-02]" in (repo / "checks" / "redis.yaml").read_text()
    assert len(manifest["promql_checks"]) == 3


def test_gate_collects_the_expected_items_and_finds_the_planted_failures(tiny: tuple[Path, dict]) -> None:
    repo, manifest = tiny
    findings_path = repo.parent / "findings.json"
    # --findings=PATH, not "--findings PATH": pytest reads plugin options' values as paths
    # when it looks for the rootdir, before plugins are loaded (an existing file moves it).
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--findings={findings_path}"],
        cwd=repo, capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in (part.split()[:2] for part in summary.split(" in ")[0].split(", "))}
    ran = sum(n for word, n in counts.items() if word in ("passed", "failed", "skipped", "error", "errors"))
    assert ran == manifest["expected_items"], summary
    found = sorted([f["check"], f["site"], f["app"]] for f in json.loads(findings_path.read_text())["findings"])
    assert found == sorted(manifest["expected_findings"])
    assert counts["errors"] == len(errored(manifest)) > 0
    assert counts["failed"] == len(manifest["expected_findings"]) - len(errored(manifest))


def test_a_large_gate_in_process_leaves_nothing_frozen(pytester: pytest.Pytester) -> None:
    """From 1000 items on the gate freezes the collected tree out of the garbage collector's
    sight; an in-process run (pytester, IDEs) must get every object back at unconfigure."""
    repo = pytester.path / "repo"
    subprocess.run([sys.executable, str(MAKE_REPO), "--sites", "8", "--apps", "10", "--out", str(repo)],
                   check=True, capture_output=True, text=True, env=_env())
    manifest = json.loads((repo / "bench-manifest.json").read_text())
    assert manifest["expected_items"] > 1000
    before = gc.get_freeze_count()
    result = pytester.runpytest_inprocess(str(repo), "-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes["errors"] == len(errored(manifest)) > 0
    assert outcomes["failed"] == len(manifest["expected_findings"]) - len(errored(manifest))
    assert sum(outcomes.get(k, 0) for k in ("passed", "failed", "skipped", "errors")) == manifest["expected_items"]
    assert gc.get_freeze_count() == before


# --------------------------------------------------------------------------- live benchmarks

BENCH_RUN = REPO / "benchmarks" / "run.py"


def _proxy() -> Any:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from latency_proxy import LatencyProxy
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return LatencyProxy


@pytest.fixture
def upstream() -> Iterator[str]:
    """A tiny HTTP/1.1 server standing in for Prometheus: answers every GET with its path."""
    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_latency_proxy_counts_connections_and_keeps_them_alive(upstream: str) -> None:
    with _proxy()(upstream, 0.001) as proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(3):  # one keep-alive connection, three requests
            kept.request("GET", f"/api/v1/query?query=q{i}")
            answer = kept.getresponse()
            assert json.loads(answer.read()) == {"path": f"/api/v1/query?query=q{i}"}
        kept.close()
        assert proxy.take() == (1, 3)
        for i in range(2):  # urllib says Connection: close: a connection per request
            with urllib.request.urlopen(f"{proxy.url}/x{i}", timeout=10) as answer:
                assert answer.status == 200
        assert proxy.take() == (2, 2)
        assert proxy.take() == (0, 0)


@pytest.fixture(scope="module")
def live_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The live benchmarks at quick sizes, one measured run each (plus the warm-up)."""
    out = tmp_path_factory.mktemp("live-bench") / "RESULTS.md"
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH_RUN),
            "--quick",
            "--only",
            "live-latency,kube-scale",
            "--repeats",
            "1",
            "--results",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads(out.with_suffix(".json").read_text())
    assert "<!-- section: live -->" in out.read_text() and "<!-- section: main -->" not in out.read_text()
    return {o["key"]: o for o in doc["sections"]["live"]["outcomes"]}


# one harness run measures both (the live one starts the real stack): both need the servers
@pytest.mark.servers(*STACK)
def test_live_latency_bench_stays_within_the_concurrency_in_connections(live_results: dict[str, Any]) -> None:
    seen = live_results["live-latency-c4"]["observed"]
    assert seen["concurrency"] == 4 and seen["distinct_queries"] == 40
    assert len(seen["connections"]) == 2  # the warm-up and the measured run
    assert all(1 <= n <= 4 for n in seen["connections"]), seen
    assert seen["requests"] == [40, 40]  # every distinct query once, none twice


@pytest.mark.servers(*STACK)
def test_kube_scale_bench_lists_each_resource_once_whatever_the_apps_and_checks(live_results: dict[str, Any]) -> None:
    seen = live_results["kube-scale"]["observed"]
    once = {"LIST deployments": 1, "LIST events": 1, "LIST pods": 1, "LIST statefulsets": 1}
    assert seen["pods"] == 400 and seen["apps"] == 4 and seen["items"] == 28
    runs = [*seen["requests"], *seen["other_runs"].values()]
    assert len(runs) == 4  # 4 apps x 7 checks (warm-up, measured), one app, one check
    for counts in runs:
        assert {k: v for k, v in counts.items() if k != "GET namespace"} == once, counts
        assert counts.get("GET namespace", 0) <= 1
