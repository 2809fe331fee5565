"""The fleet on real servers: three site jobs, as a CI matrix or three clusters' CronJobs would
run them, each pushing to a real Pushgateway that a real Prometheus scrapes with the shipped
fleet rules loaded; the P1 alert fires for the failing site only, and the merge of the three
findings files is one SARIF that validates against the official 2.1.0 schema."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from teststack.kubeapi import shift_snapshot
from teststack.scenario import Stack
from teststack.servers import Prometheus, Pushgateway

from .fleet_helpers import RowParser, dump_dom, screenshot
from .support import REPO, STACK, set_line
from .test_reports import sarif_schema

pytestmark = pytest.mark.servers(*STACK, "prometheus-pushgateway", "chromium")

FAILING, HEALTHY = "eu-1", ("us-1", "ap-1")


@pytest.fixture(scope="module")
def fleet_prometheus() -> Iterator[tuple[Pushgateway, Prometheus]]:
    """A Pushgateway and the Prometheus that scrapes it (honor_labels) with deploy/fleet-rules.yaml."""
    with tempfile.TemporaryDirectory(prefix="slo-fleet-") as tmp, Pushgateway() as gateway:
        prometheus = Prometheus([("pushgateway", gateway.address, {})], Path(tmp) / "data", workdir=tmp,
                                rule_files=[REPO / "deploy/fleet-rules.yaml"], honor_labels=["pushgateway"])
        with prometheus:
            prometheus.wait_for_scrapes()
            yield gateway, prometheus


def _site_job(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: Stack, site: str, scenario: str,
              gateway: Pushgateway, *extra: str) -> pytest.RunResult:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    snapshot = shift_snapshot(
        REPO / f"examples/snapshots/{scenario}.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)
    )
    (pytester.path / f"cluster-{site}.json").write_text(json.dumps(snapshot))
    return pytester.runpytest(
        "--site", site, "--live", f"--kube-snapshot=cluster-{site}.json", "-p", "no:cacheprovider",
        f"--findings=out/{site}/findings.json", f"--pushgateway={gateway.base_url}", *extra,
    )


def _firing(prometheus: Prometheus, alert: str, timeout: float = 30.0) -> set[str]:
    """The sites ``alert`` fires for, once it fires (the rules are evaluated every second)."""
    deadline = time.monotonic() + timeout
    while True:
        sites = {
            s["metric"].get("site", "") for s in prometheus.query(f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
        }
        if sites or time.monotonic() > deadline:
            return sites
        time.sleep(0.5)


def test_three_site_jobs_push_the_fleet_alert_fires_and_the_merge_validates(
    incident: Stack, fixed: Stack, fleet_prometheus: tuple[Pushgateway, Prometheus], gitops: Path,
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    gateway, prometheus = fleet_prometheus
    # three sites of one fleet: copies of the shipped production site (same namespace, so the
    # live queries select the local stack's series); the failing one is in the incident
    for site in (FAILING, *HEALTHY):
        shutil.copytree(gitops / "sites/production", gitops / f"sites/{site}")
    env = gitops / "sites" / FAILING / "config.env"
    set_line(env, "REDIS_EVICTION_POLICY", "noeviction")
    set_line(env, "REDIS_MEMORY_LIMIT", "512Mi")
    set_line(env, "REDIS_MEMORY_REQUEST", "512Mi")

    def range_reads() -> float:  # Prometheus's own count, from its /metrics
        with urllib.request.urlopen(incident.prometheus.url + "/metrics", timeout=10) as answer:
            lines = answer.read().decode().splitlines()
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines
                   if line.startswith("prometheus_http_requests_total{") and 'handler="/api/v1/query_range"' in line)

    before = range_reads()
    failing = _site_job(pytester, monkeypatch, incident, FAILING, "incident", gateway,
                        "--html=out/eu-1/report.html", "--postmortem-dir=out/eu-1/postmortems")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    # the page and the postmortem chart the same history: each failing live check's series is
    # read once (Prometheus counts the requests), not once per report
    charted = [f for f in json.loads((gitops / f"out/{FAILING}/findings.json").read_text())["findings"]
               if f["outcome"] == "failed" and (f["kind"] == "promql" or (f["evidence"] or {}).get("burn_query"))]
    assert charted and range_reads() - before == len(
        {(f["evidence"].get("burn_query") or f["evidence"]["query"]) for f in charted}
    )
    for site in HEALTHY:
        result = _site_job(pytester, monkeypatch, fixed, site, "fixed", gateway)
        assert "cannot push" not in result.stdout.str(), result.stdout.str()
    findings = {site: json.loads((gitops / f"out/{site}/findings.json").read_text()) for site in (FAILING, *HEALTHY)}
    assert findings[FAILING]["summary"]["by_severity"]["P1"] > 0
    assert all(findings[s]["summary"]["by_severity"]["P1"] == 0 for s in HEALTHY), {
        s: findings[s]["summary"] for s in HEALTHY
    }

    # every site's push scraped (a scrape a second), then the fleet alert, as Prometheus
    # evaluates the shipped rules over what the sites pushed
    deadline = time.monotonic() + 30
    while (
        reporting := {s["metric"]["site"] for s in prometheus.query('slo_run_timestamp_seconds{job="pytest-slo"}')}
    ) != {FAILING, *HEALTHY}:
        assert time.monotonic() < deadline, f"only {reporting} reached Prometheus"
        time.sleep(0.5)
    assert _firing(prometheus, "SloSiteP1Finding") == {FAILING}
    assert not prometheus.query('ALERTS{alertname="SloSiteNotReporting"}')
    failing_checks = {
        s["metric"]["check"] for s in prometheus.query(f'slo_check_ok{{site="{FAILING}", severity="P1"}} == 0')
    }
    assert {"redis-eviction-policy", "slo-latency-p99"} <= failing_checks

    # the merge job of the matrix: one SARIF over the three sites, valid against the official schema
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_slo",
            "merge",
            *(f"out/{s}/findings.json" for s in (FAILING, *HEALTHY)),
            "--findings=out/all.json",
            "--sarif=out/all.sarif",
            "--html=out/all.html",
        ],
        cwd=gitops,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sarif = json.loads((gitops / "out/all.sarif").read_text())
    errors = list(jsonschema.validators.validator_for(sarif_schema())(sarif_schema()).iter_errors(sarif))
    assert not errors, [e.message for e in errors[:5]]
    merged = json.loads((gitops / "out/all.json").read_text())["summary"]
    assert merged["sites"] == sorted((FAILING, *HEALTHY)) and len(merged["inputs"]) == 3

    # the failing site's page charts its failing live checks; the postmortem draft has the same as SVG files
    page = gitops / "out/eu-1/report.html"
    html = page.read_text()
    assert html.count("<svg") >= 2 and "breach started" in html and "objective &lt;=" in html
    dom = RowParser.of(dump_dom(page, "#severity=P1"))
    assert dom.rows and all(r["severity"] == "P1" for r in dom.rows if not r["hidden"])
    drafts = list((gitops / "out/eu-1/postmortems").glob("*.md"))
    assert len(drafts) == 1
    charts = sorted((gitops / "out/eu-1/postmortems").glob("*.svg"))
    assert charts and all(f"]({c.name})" in drafts[0].read_text() for c in charts)
    shot = screenshot(page, tmp_path / "eu-1.png", "1400,1400")
    keep = Path(tempfile.gettempdir()) / "pytest-slo-fleet-report.png"  # kept for a person to look at
    shutil.copy(shot, keep)
