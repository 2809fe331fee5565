"""The fleet view without the live stack: metrics (promtool, a real Pushgateway), the fleet
rules (promtool test rules), the Grafana dashboard's queries, merge, and the HTML report in
headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import jsonschema
import pytest

from pytest_slo.catalog.model import runbook_problem
from pytest_slo.catalog.runbooks import runbook_text
from pytest_slo.findings.charts import render_chart
from pytest_slo.findings.metrics import Outcome, RunMetrics, render_metrics, waivers_of
from teststack.servers import Pushgateway, free_port

from .fleet_helpers import RowParser, dump_dom, external_references, screenshot
from .support import ENV, REPO, incident_config, set_line
from .test_reports import sarif_schema

RULES = REPO / "deploy/fleet-rules.yaml"
DASHBOARD = REPO / "deploy/grafana-fleet-dashboard.json"
OUR_METRICS = {
    "slo_check_ok",
    "slo_findings",
    "slo_run_timestamp_seconds",
    "slo_run_duration_seconds",
    "slo_waivers_expiring_seconds",
}
LABELS = {
    "slo_check_ok": {"site", "app", "check", "severity", "kind"},
    "slo_findings": {"site", "severity", "state"},
    "slo_run_timestamp_seconds": {"site"},
    "slo_run_duration_seconds": {"site"},
    "slo_waivers_expiring_seconds": {"site", "app", "check"},
}


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False)


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    return [(s.name, dict(s.labels), s.value) for fam in text_string_to_metric_families(text) for s in fam.samples]


def run_site(pytester: pytest.Pytester, site: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--site", site, "-p", "no:cacheprovider", *args)


# --------------------------------------------------------------------------- metrics


@pytest.mark.servers("promtool")
def test_metrics_file_is_accepted_by_promtool_and_names_the_failing_check(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    incident_config(gitops)
    run_site(pytester, "production", "--metrics-file=out/slo.prom")
    text = (gitops / "out/slo.prom").read_text()
    checked = promtool("check", "metrics", stdin=text)
    assert checked.returncode == 0 and not checked.stdout.strip() and not checked.stderr.strip(), (
        checked.stdout + checked.stderr
    )
    samples = parse_exposition(text)
    assert {name for name, _, _ in samples} == OUR_METRICS - {"slo_waivers_expiring_seconds"}
    for name, labels, _ in samples:
        assert set(labels) == LABELS[name], (name, labels)
        # bounded values only: ids, severities, kinds; never a message or a path
        assert all(re.fullmatch(r"[a-z0-9-]*|P[1-4]", v) for v in labels.values()), labels
    ok = {(lb["app"], lb["check"]): v for n, lb, v in samples if n == "slo_check_ok"}
    assert ok[("redis-cluster", "redis-eviction-policy")] == 0
    assert ok[("redis-cluster", "redis-maxmemory-samples")] == 1
    assert ok[("", "config-schema")] == 1
    assert not any(check.startswith("slo-") for _, check in ok)  # live items were skipped: not "ran"
    findings = {(lb["severity"], lb["state"]): v for n, lb, v in samples if n == "slo_findings"}
    assert findings[("P1", "none")] >= 1 and findings[("P4", "none")] == 0


@pytest.mark.servers("promtool")
def test_waivers_and_baseline_states_become_metrics_promtool_accepts() -> None:
    findings = [
        {
            "check": "redis-eviction-policy",
            "site": "eu-1",
            "app": "redis-cluster",
            "severity": "P1",
            "baseline_state": "new",
        },
        {
            "check": "redis-memory-limit",
            "site": "eu-1",
            "app": "redis-cluster",
            "severity": "P2",
            "baseline_state": "unchanged",
        },
        {
            "check": "values-in-sync",
            "site": "eu-1",
            "app": "api-server",
            "severity": "P2",
            "waiver": {"until": "2026-12-31", "owner": "team-a", "reason": "migration"},
        },
    ]
    metrics = RunMetrics(
        ["eu-1"],
        [Outcome("eu-1", "redis-cluster", "redis-eviction-policy", "P1", "config", False)],
        findings,
        100.0,
        103.5,
        waivers_of(findings, [{"check": "kube-oomkilled", "site": "eu-1", "app": "", "until": "2027-01-15"}]),
    )
    text = render_metrics(metrics)
    assert promtool("check", "metrics", stdin=text).returncode == 0
    samples = parse_exposition(text)
    states = {(lb["severity"], lb["state"]): v for n, lb, v in samples if n == "slo_findings"}
    assert states[("P1", "new")] == 1 and states[("P2", "unchanged")] == 1 and states[("P2", "waived")] == 1
    assert states[("P1", "waived")] == 0  # every severity is written for every state seen
    ends = {lb["check"]: v for n, lb, v in samples if n == "slo_waivers_expiring_seconds"}
    assert ends == {"values-in-sync": 1798761599.999999, "kube-oomkilled": 1800057599.999999}  # end of the day, UTC
    assert [v for n, _, v in samples if n == "slo_run_duration_seconds"] == [3.5]


@pytest.mark.servers("promtool")
def test_a_waiver_of_checks_waivers_yaml_shows_in_the_metrics(gitops: Path, pytester: pytest.Pytester) -> None:
    import datetime as dt

    from .test_waivers import day, policy_waiver, write_waivers

    incident_config(gitops)
    write_waivers(gitops, policy_waiver(day(10)))
    run_site(pytester, "production", "--metrics-file=out/slo.prom")
    text = (gitops / "out/slo.prom").read_text()
    assert promtool("check", "metrics", stdin=text).returncode == 0
    samples = parse_exposition(text)
    states = {(lb["severity"], lb["state"]): v for n, lb, v in samples if n == "slo_findings"}
    assert states[("P1", "waived")] == 1 and states[("P1", "none")] == 0  # no P1 page for an accepted finding
    ok = {lb["check"]: v for n, lb, v in samples if n == "slo_check_ok" and lb["app"] == "redis-cluster"}
    assert ok["redis-eviction-policy"] == 0  # the check still fails: the waiver is a state, not a pass
    [(labels, until)] = [(lb, v) for n, lb, v in samples if n == "slo_waivers_expiring_seconds"]
    assert labels == {"site": "production", "app": "redis-cluster", "check": "redis-eviction-policy"}
    end = dt.datetime.combine(dt.date.fromisoformat(day(10)), dt.time.max, dt.timezone.utc).timestamp()
    assert until == pytest.approx(end)


@pytest.mark.servers("prometheus-pushgateway")
def test_metrics_are_pushed_under_job_and_site(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    with Pushgateway() as gateway:
        result = run_site(pytester, "production", f"--pushgateway={gateway.base_url}")
        with urllib.request.urlopen(gateway.url, timeout=5) as answer:  # loopback only
            pushed = answer.read().decode()
    assert "cannot push" not in result.stdout.str()
    samples = [s for s in parse_exposition(pushed) if s[0].startswith("slo_")]
    assert samples and all(lb.get("job") == "pytest-slo" and lb.get("site") == "production" for _, lb, _ in samples)
    assert ("slo_check_ok", "redis-eviction-policy", 0.0) in {(n, lb.get("check"), v) for n, lb, v in samples}


def test_a_pushgateway_that_is_down_is_one_line_and_no_lost_report(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident_config(gitops)
    port = free_port()  # nothing listens there
    monkeypatch.setenv("SLO_PUSHGATEWAY_USER", "fleet")
    monkeypatch.setenv("SLO_PUSHGATEWAY_PASSWORD", "hunter2")
    result = run_site(pytester, "production", f"--pushgateway=http://127.0.0.1:{port}", "--findings=out/f.json",
                      "--metrics-file=out/slo.prom")
    result.stdout.fnmatch_lines(
        [
            f"pytest-slo: cannot push metrics of site production to the Pushgateway at http://127.0.0.1:{port}: "
            "*Connection refused*"
            " (the report files are written; the fleet view misses this run)",
        ]
    )
    assert "hunter2" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the checks' outcome, not the push, decides
    assert json.loads((gitops / "out/f.json").read_text())["summary"]["findings"] >= 1
    assert (gitops / "out/slo.prom").is_file()


def test_credentials_in_the_pushgateway_url_are_refused(gitops: Path, pytester: pytest.Pytester) -> None:
    result = run_site(pytester, "production", "--pushgateway=http://fleet:hunter2@127.0.0.1:9091")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--pushgateway / slo_pushgateway: the URL carries credentials; set SLO_PUSHGATEWAY_USER*"]
    )
    assert "hunter2" not in result.stderr.str()


def test_path_options_must_be_written_with_equals(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--html", "out/r.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--html out/r.html: write --html=out/r.html*"])


def test_the_offline_gate_imports_no_chart_or_metrics_library(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import sys\n"
        "def pytest_unconfigure(config):\n"
        "    print('loaded:', sorted(m for m in ('pygal', 'prometheus_client') if m in sys.modules))\n"
    )
    result = pytester.runpytest_subprocess("--site", "production", "--findings=f.json", "-p", "no:cacheprovider", "-s")
    result.stdout.fnmatch_lines(["loaded: []"])


# --------------------------------------------------------------------------- rules and dashboard


@pytest.mark.servers("promtool")
def test_fleet_rules_pass_promtool_check_and_unit_tests(tmp_path: Path) -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0 and "SUCCESS: 3 rules found" in checked.stdout, checked.stdout + checked.stderr
    tests = tmp_path / "fleet-rules-test.yaml"
    tests.write_text((REPO / "tests/data/fleet-rules-test.yaml").read_text().replace("RULES", str(RULES)))
    tested = promtool("test", "rules", str(tests))
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


_PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "topk", "bottomk", "by", "without", "time", "and", "or", "unless", "on",
    "ignoring", "group_left", "group_right", "bool", "offset", "label_values",
}


def _exprs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "expr" and isinstance(v, str)] + [
            e for v in node.values() for e in _exprs(v)
        ]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


@pytest.mark.servers("promtool")
def test_dashboard_queries_use_only_our_metrics_and_parse(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [e.replace("$site", ".*") for e in _exprs(dashboard["panels"])]
    assert len(exprs) >= 6
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "site")
    assert variable["query"]["query"] == "label_values(slo_run_timestamp_seconds, site)"
    for expr in exprs:
        # what is left once strings, label matchers and grouping clauses are gone: functions,
        # keywords and metric names, and the metric names must all be ours
        bare = re.sub(r'"[^"]*"|\{[^}]*\}|\b(by|without)\s*\([^)]*\)', " ", expr)
        names = set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", bare)) - _PROMQL_WORDS
        assert names and names <= OUR_METRICS, (expr, names - OUR_METRICS)
    titles = " ".join(p["title"] for p in dashboard["panels"])
    assert "site and severity" in titles and "Trend" in titles and "Top failing checks" in titles
    # promtool parses each one as a recording rule (it has no bare-expression check)
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs)]}
        ]
    }
    path = tmp_path / "dashboard-exprs.yaml"
    path.write_text(json.dumps(rules))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --------------------------------------------------------------------------- merge


def _site_runs(gitops: Path, pytester: pytest.Pytester) -> list[Path]:
    incident_config(gitops)
    set_line(gitops / "sites/staging/config.env", "REDIS_EVICTION_POLICY", "noeviction")
    paths = []
    for site in ("production", "staging"):
        run_site(pytester, site, f"--findings=out/{site}/findings.json")
        paths.append(gitops / f"out/{site}/findings.json")
    return paths


def merge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_slo", "merge", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_merge_puts_sites_side_by_side_and_names_a_truncated_input(gitops: Path, pytester: pytest.Pytester) -> None:
    production, staging = _site_runs(gitops, pytester)
    doc = json.loads(production.read_text())
    # the same production run again, one day older: its findings collapse into the newer ones
    older = {**doc, "summary": {**doc["summary"], "generated_at": "2026-01-01T00:00:00+00:00", "commit": "abc123"}}
    (gitops / "out/old.json").write_text(json.dumps(older))
    text = staging.read_text()
    (gitops / "out/truncated.json").write_text(text[: len(text) // 2])
    done = merge("out/production/findings.json", "out/staging/findings.json", "out/old.json", "out/truncated.json",
                 "--findings=all.json", "--findings-md=all.md", "--sarif=all.sarif", "--html=all.html", cwd=gitops)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("pytest-slo merge: skipped out/truncated.json: not JSON (truncated?): ")
    merged = json.loads((gitops / "all.json").read_text())
    summary = merged["summary"]
    assert summary["sites"] == ["production", "staging"]
    assert [(i["file"], i["sites"], i["commit"]) for i in summary["inputs"]] == [
        ("out/old.json", ["production"], "abc123"), ("out/production/findings.json", ["production"], None),
        ("out/staging/findings.json", ["staging"], None)]
    assert summary["skipped_inputs"][0]["file"] == "out/truncated.json"
    keys = [(f["check"], f["site"], f["app"]) for f in merged["findings"]]
    assert len(keys) == len(set(keys)), "duplicates were not collapsed"
    assert {f["site"] for f in merged["findings"]} == {"production", "staging"}
    assert all(f["source"] != "out/old.json" for f in merged["findings"])  # the newer copy wins
    sarif = json.loads((gitops / "all.sarif").read_text())
    errors = list(jsonschema.validators.validator_for(sarif_schema())(sarif_schema()).iter_errors(sarif))
    assert not errors, [e.message for e in errors[:5]]
    assert {r["properties"]["site"] for r in sarif["runs"][0]["results"]} == {"production", "staging"}
    assert (gitops / "all.md").read_text().startswith("# pytest-slo findings: production, staging")
    assert "pytest-slo merge: 3 inputs, 2 sites" in done.stdout


def test_merge_collapses_by_fingerprint_and_falls_back_without_one(tmp_path: Path) -> None:
    def doc(site: str, at: str, *findings: dict) -> dict:
        return {
            "summary": {"generated_at": at, "sites": [site], "items": 3, "passed": 1, "failed": len(findings)},
            "findings": list(findings),
        }

    base = {
        "title": "t",
        "severity": "P2",
        "outcome": "failed",
        "kind": "config",
        "runbook": "checks/runbooks/redis.md",
        "location": None,
    }
    a = {
        **base,
        "check": "c1",
        "site": "eu-1",
        "app": "x",
        "message": "old words",
        "nodeid": "n1",
        "fingerprint": "f" * 16,
    }
    b = {**a, "message": "new words"}  # same fingerprint: the same finding, however it is worded now
    c = {**base, "check": "c2", "site": "eu-1", "app": "x", "message": "m", "nodeid": "n2"}
    (tmp_path / "1.json").write_text(json.dumps(doc("eu-1", "2026-11-01T00:00:00+00:00", a, c)))
    (tmp_path / "2.json").write_text(json.dumps(doc("eu-1", "2026-11-02T00:00:00+00:00", b, c)))
    (tmp_path / "3.json").write_text(json.dumps({"findings": "no"}))
    # parses, but a writer would meet a waiver that is not an object
    (tmp_path / "4.json").write_text(json.dumps(doc("eu-2", "2026-11-02T00:00:00+00:00", {**c, "waiver": "yes"})))
    done = merge("1.json", "2.json", "3.json", "4.json", "--findings=all.json", "--sarif=all.sarif", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "skipped 3.json: not a pytest-slo findings document" in done.stderr
    assert (
        "skipped 4.json: not a pytest-slo findings document: finding 1: waiver: 'yes' is not of type 'object', 'null'"
        in done.stderr
    )
    merged = json.loads((tmp_path / "all.json").read_text())
    assert [(f["check"], f["message"]) for f in merged["findings"]] == [("c1", "new words"), ("c2", "m")]
    assert merged["summary"]["items"] == 6 and merged["summary"]["by_severity"]["P2"] == 2


def test_merge_exit_codes_for_nothing_readable_and_usage(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    done = merge("bad.json", "--sarif=x.sarif", cwd=tmp_path)
    assert done.returncode == 2 and "no input could be read; nothing written" in done.stderr
    assert not (tmp_path / "x.sarif").exists()
    assert merge("bad.json", cwd=tmp_path).returncode == 2  # nothing to write


# --------------------------------------------------------------------------- HTML and charts


def test_a_chart_is_svg_with_threshold_and_breach_and_no_network() -> None:
    import datetime as dt
    from xml.etree import ElementTree

    from pytest_slo.sources.prometheus import Series

    finding = {"check": "slo-latency-p99", "site": "production", "app": "api-server",
               "evidence": {"op": "<=", "threshold": 0.5, "unit": "s"}}
    points = [(1700000000.0 + 60 * i, 0.05 if i < 30 else 8.4) for i in range(60)]
    breach = dt.datetime.fromtimestamp(points[30][0], dt.timezone.utc)
    svg = render_chart(finding, [Series({"handler": "/api/v1/items"}, points)], breach)
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "<script" not in svg and not external_references(svg)
    assert (
        "objective &lt;= 0.5s" in svg and f"breach started {breach:%H:%M} UTC" in svg and "handler=/api/v1/items" in svg
    )
    # the breach marker is drawn in red, apart from the series' and the objective's colours
    assert "#d62728" in svg and svg.count("#d62728") >= 2


@pytest.mark.servers("chromium")
def test_html_report_opens_filters_and_links_runbooks_in_chromium(
    gitops: Path, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    production, staging = _site_runs(gitops, pytester)
    set_line(gitops / ENV, "REDIS_PASSWORD", "planted-Secret-9f8e7d")
    run_site(pytester, "production", "--html=reports/production.html")
    page = gitops / "reports/production.html"
    html = page.read_text()
    assert not external_references(html), external_references(html)
    assert "planted-Secret-9f8e7d" not in html
    assert "REDIS_EVICTION_POLICY=noeviction" in html  # the config.env line to edit

    done = merge(str(production), str(staging), "--html=reports/all.html", cwd=gitops)
    assert done.returncode == 0, done.stderr
    merged = gitops / "reports/all.html"
    dom = RowParser.of(dump_dom(merged))
    assert {r["site"] for r in dom.rows} == {"production", "staging"} and not any(r["hidden"] for r in dom.rows)
    assert dom.shown == f"{len(dom.rows)} of {len(dom.rows)} shown"
    # unfiltered, the cards are the summary's counts, and the rows say the same
    assert dom.cards == {
        sev: sum(1 for r in dom.rows if r["counts"] == sev) for sev in ("P1", "P2", "P3", "P4", "errors")
    }
    # every runbook link resolves from where the page is: the file and its heading exist
    assert dom.runbooks
    for href in set(dom.runbooks):
        if href.startswith("file:"):  # a runbook that comes with pytest-slo: its installed file and heading
            assert runbook_text(href) is not None, href
            continue
        path, _, anchor = href.partition("#")
        target = (merged.parent / path).resolve()
        assert (
            runbook_problem(gitops, str(target.relative_to(gitops.resolve())) + (f"#{anchor}" if anchor else ""))
            is None
        ), href

    # filters applied by the page's own script in the browser
    for fragment, keep in (
        ("#site=staging", lambda r: r["site"] == "staging"),
        ("#severity=P1", lambda r: r["severity"] == "P1"),
        ("#site=production&app=redis-cluster", lambda r: r["site"] == "production" and r["app"] == "redis-cluster"),
    ):
        filtered = RowParser.of(dump_dom(merged, fragment))
        visible = [r for r in filtered.rows if not r["hidden"]]
        assert visible and len(visible) < len(filtered.rows), fragment
        assert all(keep(r) for r in visible) and not any(keep(r) for r in filtered.rows if r["hidden"]), fragment
        assert filtered.shown == f"{len(visible)} of {len(filtered.rows)} shown"
        # the cards count what the filter shows: verdicts by severity, errors apart
        for sev in ("P1", "P2", "P3", "P4", "errors"):
            assert filtered.cards[sev] == sum(1 for r in visible if r["counts"] == sev), (fragment, sev, filtered.cards)
        assert sum(filtered.cards.values()) > 0 and filtered.cards != dom.cards, fragment
    shot = screenshot(merged, tmp_path / "report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_fleet_benchmark_inputs_merge_and_collapse_the_re_runs(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from fleet import make_findings
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    paths = make_findings(tmp_path / "out", 20)
    done = merge(*(str(p) for p in paths), "--findings=all.json", "--html=all.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    merged = json.loads((tmp_path / "all.json").read_text())
    sent = sum(len(json.loads(p.read_text())["findings"]) for p in paths)
    # sites 9 and 19 re-report the findings of sites 8 and 18: they collapse
    reruns = sum(len(json.loads(paths[i].read_text())["findings"]) for i in (9, 19))
    assert len(merged["findings"]) == sent - reruns
    assert len(merged["summary"]["inputs"]) == 20 and len(merged["summary"]["sites"]) == 18
