"""`make demo`: the shipped example, run live against the local stack, catches the incident."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .support import REPO, STACK

pytestmark = pytest.mark.servers(*STACK)


def test_the_demo_catches_the_incident_and_stops_everything(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "teststack.demo", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "The incident was caught" in done.stdout
    assert "the Kubernetes API saw only GET requests (read-only)" in done.stdout
    findings = json.loads((tmp_path / "findings.json").read_text())["findings"]
    checks = {(f["check"], f["app"]) for f in findings}
    assert {
        ("redis-eviction-policy-live", "redis-cluster"),
        ("redis-oom-errors", "redis-cluster"),
        ("slo-latency-p99", "api-server"),
        ("kube-oomkilled", "redis-cluster"),
        ("kube-resources-drift", "redis-cluster"),
    } <= checks
    assert not [f for f in findings if f["outcome"] == "error"], [
        f["message"] for f in findings if f["outcome"] == "error"
    ]
    # the same findings, at the same lines, as the demo gave before the live sources were rebuilt
    golden = json.loads((REPO / "tests/data/demo-findings.json").read_text())["findings"]
    keys = ("check", "app", "outcome", "severity", "location")
    checks_findings = [f for f in findings if f["kind"] != "openslo"]
    assert sorted(json.dumps({k: f[k] for k in keys}) for f in checks_findings) == sorted(json.dumps(g) for g in golden)
    # the OpenSLO documents of slos/ fail on budget and burn, pointing at the config.env target keys
    slo_findings = {
        (f["check"], f["outcome"], f["severity"], f["location"]["line"]) for f in findings if f["kind"] == "openslo"
    }
    assert slo_findings == {
        ("api-availability::burn-rate", "failed", "P1", 30), ("api-availability::error-budget", "failed", "P2", 30),
        ("api-latency::burn-rate", "failed", "P1", 32), ("api-latency::error-budget", "failed", "P2", 32),
    }
    (draft,) = (tmp_path / "postmortems").glob("*-production-redis-cluster-memory-limit-drift-oom-kills.md")
    assert f"postmortem:  {draft}" in done.stdout
    text = draft.read_text()
    assert re.search(r"\| api-availability::burn-rate: burn rate above 14\.4× since \d\d:\d\d UTC", text)
    assert re.search(
        r"\| api-availability::burn-rate \| api-server \| burn rate under 14\.4× over 1h & 5m \(99\.9% over 6h\) "
        r"\| 120\.0× & 120\.0× \| \d{4}-",
        text,
    )
    assert (tmp_path / "findings.sarif").is_file() and (tmp_path / "findings.md").is_file()
    # every server the demo started is gone: its ports refuse connections
    ports = [
        int(p)
        for p in re.findall(
            r"127\.0\.0\.1:(\d+)", done.stdout.split("pytest-slo demo: every process")[0].split("collected")[0]
        )
    ]
    assert len(ports) >= 3
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
