#!/usr/bin/env python3
"""The fleet view at scale (its own section of RESULTS.md, ``fleet``).

    python benchmarks/fleet.py              # 300 sites, 5 repeats
    python benchmarks/fleet.py --quick      # 30 sites, 2 repeats (a smoke run)

Targets (absolute, on the 2-core machine):
  merge    ``python -m pytest_slo merge`` of 300 findings files into JSON, Markdown, SARIF
           and HTML: <= 2 s wall (median) and <= 300 MB peak RSS
  html     the HTML of that merge opens in headless Chromium (Debian's package): from
           navigation start to the page's load event (``performance.now()`` in the page)
           <= 2 s; the browser's own start-up is reported apart, for context
plus, for context, the same 300 sites' metrics pushed to a local Pushgateway, scraped by a
local Prometheus, and the dashboard's fleet-table query over them.

Each simulated site has 10 apps and 15-30 findings drawn from the shipped catalog's checks
(severities and kinds as the catalog has them, config.env locations, evidence, a
fingerprint); one site in ten re-reports another site's findings (a re-run), which the merge
must collapse.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from harness import environment, run_timed, write_results  # noqa: E402

CHECKS = [  # (check, severity, kind, config.env key line) as in the shipped catalog
    ("redis-eviction-policy", "P1", "config", 17),
    ("redis-memory-limit", "P2", "config", 13),
    ("redis-maxmemory-headroom", "P2", "config", 16),
    ("redis-maxmemory-samples", "P3", "config", 18),
    ("values-in-sync", "P2", "values", 12),
    ("values-schema", "P2", "values", None),
    ("values-stray", "P3", "values", None),
    ("slo-latency-p99", "P1", "promql", 29),
    ("slo-error-rate", "P1", "promql", 30),
    ("redis-memory-growth", "P2", "promql", 13),
    ("kube-oomkilled", "P1", "kube", 13),
    ("kube-crashloop", "P1", "kube", None),
    ("kube-restarts", "P3", "kube", None),
    ("kube-resources-drift", "P2", "kube", 13),
    ("config-schema", "P2", "config", None),
]
APPS = [f"app-{i:02d}" for i in range(10)]


def _finding(rng: random.Random, site: str) -> dict[str, Any]:
    check, severity, kind, line = rng.choice(CHECKS)
    app = rng.choice(APPS)
    return {
        "check": check, "title": check.replace("-", " "), "severity": severity, "site": site, "app": app, "kind": kind,
        "outcome": "failed" if rng.random() > 0.05 else "error",
        "message": f"{check} at {site}/{app}: measured {rng.uniform(1, 900):.1f} against the objective; "
                   "expected the declared value (see the runbook for the safe change and its rollback)",
        "runbook": f"checks/runbooks/{kind}.md#{check}",
        "location": {"path": f"sites/{site}/config.env", "line": line} if line else None,
        "evidence": {"query": f'histogram_quantile(0.99, rate(x{{namespace="{site}", service="{app}"}}[5m]))',
                     "values": [{"labels": {"instance": f"10.0.{i}.1:9121"}, "value": rng.random()} for i in range(3)]},
        "nodeid": f"sites/{site}/config.env::{app}::{check}",
        "fingerprint": hashlib.sha256(f"{check}|{site}|{app}".encode()).hexdigest()[:32],
    }


def make_findings(out: Path, sites: int, seed: int = 13) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    docs: list[dict[str, Any]] = []
    for i in range(sites):
        site = f"site-{i:03d}"
        if i % 10 == 9 and docs:  # a re-run of an earlier site: the same findings again
            doc = json.loads(json.dumps(docs[-1]))
            doc["summary"]["generated_at"] = "2026-11-27T03:30:00+00:00"
        else:
            findings = {f["nodeid"]: f for f in (_finding(rng, site) for _ in range(rng.randint(15, 30)))}
            verdicts = [f for f in findings.values() if f["outcome"] == "failed"]
            doc = {
                "summary": {
                    "generated_at": f"2026-11-27T03:{i % 60:02d}:00+00:00",
                    "sites": [site],
                    "apps": APPS,
                    "items": 140,
                    "passed": 140 - len(findings),
                    "failed": len(verdicts),
                    "errors": len(findings) - len(verdicts),
                    "skipped": 0,
                    "findings": len(verdicts),
                    "by_severity": {s: sum(f["severity"] == s for f in verdicts) for s in ("P1", "P2", "P3", "P4")},
                    "catalog_problems": 0,
                    "commit": hashlib.sha1(site.encode()).hexdigest(),
                },
                "findings": list(findings.values()),
            }
        docs.append(doc)
        path = out / f"site-{i:03d}" / "findings.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(doc, indent=2))
        paths.append(path)
    return paths


def chromium_open(page: Path) -> tuple[float, int, int]:
    """(browser wall s, ms to filters ready, ms to the load event) of opening ``page``."""
    with tempfile.TemporaryDirectory(prefix="slo-bench-chromium-") as profile:
        start = time.perf_counter()
        done = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--host-resolver-rules=MAP * ~NOTFOUND",
             f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120, check=True)
        wall = time.perf_counter() - start
    body = re.search(r"<body[^>]*>", done.stdout)
    attrs = dict(re.findall(r'(data-[a-z-]+)="(\d+)"', body.group(0) if body else ""))
    return wall, int(attrs.get("data-ready-ms", -1)), int(attrs.get("data-loaded-ms", -1))


def prometheus_side(paths: list[Path]) -> list[str]:
    """Push every site's metrics to a local Pushgateway, let a local Prometheus scrape it, and
    time the dashboard's fleet-table query."""
    from pytest_slo.findings.metrics import Outcome, RunMetrics, push
    from teststack.servers import Prometheus, Pushgateway

    runs = []
    for path in paths:
        doc = json.loads(path.read_text())
        site = doc["summary"]["sites"][0]
        failed = {(f["app"], f["check"]) for f in doc["findings"]}
        outcomes = [
            Outcome(site, app, check, sev, kind, (app, check) not in failed)
            for app in APPS
            for check, sev, kind, _ in CHECKS
        ]
        runs.append(
            RunMetrics([site], outcomes, [f for f in doc["findings"] if f["outcome"] == "failed"], 0.0, time.time())
        )
    with tempfile.TemporaryDirectory(prefix="slo-bench-fleet-") as tmp, Pushgateway() as gateway:
        start = time.perf_counter()
        problems = [p for run in runs for p in push(run, gateway.base_url, {})]
        pushed = time.perf_counter() - start
        assert not problems, problems[:3]
        with Prometheus(
            [("pushgateway", gateway.address, {})], Path(tmp) / "data", workdir=tmp, honor_labels=["pushgateway"]
        ) as prom:
            prom.wait_for_scrapes()
            query = "sum by (site, severity) (slo_findings)"
            seconds = []
            for _ in range(5):
                t = time.perf_counter()
                rows = prom.query(query)
                seconds.append(time.perf_counter() - t)
            series = prom.query("count(slo_check_ok)")[0]["value"][1]
    return [
        f"- Prometheus side: {len(runs)} sites pushed to a local Pushgateway in {pushed:.2f} s "
        f"({pushed / len(runs) * 1000:.1f} ms a site, one PUT per site); {series} slo_check_ok series scraped",
        f"- dashboard fleet table `{query}`: {len(rows)} rows in {statistics.median(seconds) * 1000:.1f} ms "
        "(median of 5)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sites", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print, do not rewrite RESULTS.md")
    args = parser.parse_args(argv)
    sites = args.sites or (30 if args.quick else 300)
    repeats = args.repeats or (2 if args.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="slo-bench-fleet-"))
    try:
        paths = make_findings(work / "out", sites)
        size = sum(p.stat().st_size for p in paths)
        cmd = [sys.executable, "-m", "pytest_slo", "merge", *(str(p) for p in paths), f"--findings={work}/all.json",
               f"--findings-md={work}/all.md", f"--sarif={work}/all.sarif", f"--html={work}/all.html"]
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        runs = [run_timed(cmd, work, env) for _ in range(repeats + 1)][1:]  # one warm-up
        assert all(r.returncode == 0 for r in runs), runs[0].output[-2000:]
        merge_s = statistics.median(r.seconds for r in runs)
        rss_mb = max(r.max_rss_kb for r in runs) / 1024
        merged = json.loads((work / "all.json").read_text())
        findings_in = sum(len(json.loads(p.read_text())["findings"]) for p in paths)
        opens = [chromium_open(work / "all.html") for _ in range(repeats)]
        loaded = statistics.median(o[2] for o in opens) / 1000
        ready = statistics.median(o[1] for o in opens) / 1000
        wall = statistics.median(o[0] for o in opens)
        html_mb = (work / "all.html").stat().st_size / 1e6
        lines = [
            f"- merge of {sites} findings files ({size / 1e6:.1f} MB, {findings_in} findings, every tenth site a "
            "re-run) into JSON, "
            f"Markdown, SARIF and HTML: {merge_s:.2f} s median wall over {repeats} runs "
            f"({'holds' if merge_s <= 2 else 'misses'} <= 2 s), peak RSS {rss_mb:.0f} MB "
            f"({'holds' if rss_mb <= 300 else 'misses'} <= 300 MB); {merged['summary']['findings']} findings "
            "after collapsing duplicates.",
            f"- HTML of the merge ({html_mb:.1f} MB, {len(merged['findings'])} rows) in headless Chromium: load "
            f"event at {loaded:.2f} s "
            f"after navigation start, median of {repeats} ({'holds' if loaded <= 2 else 'misses'} <= 2 s); "
            "filters ready at "
            f"{ready:.2f} s; the whole `chromium --headless --dump-dom` process, browser start-up included, "
            f"{wall:.2f} s (context).",
        ]
        if shutil.which("prometheus-pushgateway") and shutil.which("prometheus"):
            lines += prometheus_side(paths)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))
    if not args.no_write:
        write_results(args.results, environment(sys.executable), [], lines, {"sites": sites, "repeats": repeats},
                      section="fleet", heading="Fleet view (benchmarks/fleet.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
