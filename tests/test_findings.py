"""--findings and --findings-md as a user reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .support import ENV, assert_counts, incident_config


def test_json_findings_document(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    result = pytester.runpytest("--site", "production", "--findings=out/findings.json")
    doc = json.loads((gitops / "out/findings.json").read_text())
    assert set(doc) == {"summary", "findings", "waivers", "observations"}  # "absent" only with --baseline
    checks = [(f["check"], f["app"]) for f in doc["findings"]]
    assert checks == [
        ("redis-eviction-policy", "redis-cluster"),
        ("redis-maxmemory-headroom", "redis-cluster"),
        ("values-in-sync", "redis-cluster"),
    ]
    f = doc["findings"][0]
    assert list(f) == [
        "check",
        "title",
        "severity",
        "site",
        "app",
        "kind",
        "outcome",
        "message",
        "runbook",
        "location",
        "evidence",
        "nodeid",
        "action",
        "fingerprint",
        "objects",
        "baseline_state",
        "waiver",
    ]
    assert len(f["fingerprint"]) == 24 and f["baseline_state"] is None and f["waiver"] is None
    assert f["action"] is None  # a config.env line to edit is the fix itself
    env_lines = (gitops / ENV).read_text().splitlines()
    assert f["location"] == {"path": ENV, "line": env_lines.index("REDIS_EVICTION_POLICY=noeviction") + 1}
    assert f["severity"] == "P1" and f["outcome"] == "failed" and f["site"] == "production"
    assert f["nodeid"] == "sites/production/config.env::redis-cluster::redis-eviction-policy"
    assert f["evidence"]["REDIS_EVICTION_POLICY"] == "noeviction"
    assert doc["findings"][1]["location"]["line"] == next(
        i for i, line in enumerate(env_lines, 1) if line.startswith("REDIS_MAXMEMORY=")
    )
    # values-in-sync points at the key that changed the render, never at the generated file
    assert doc["findings"][2]["location"] == {"path": ENV, "line": env_lines.index("REDIS_MEMORY_REQUEST=512Mi") + 1}
    assert doc["summary"]["by_severity"] == {"P1": 1, "P2": 2, "P3": 0, "P4": 0}
    assert doc["summary"]["failed"] == 3 and doc["summary"]["errors"] == 0 and doc["summary"]["skipped"] > 0
    result.stdout.fnmatch_lines(["slo findings: 3 (1 P1, 2 P2)", f"slo findings written to {gitops}/out/findings.json"])


def test_failure_message_reads_like_a_review_comment(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    result = pytester.runpytest("--site", "production", "-k", "redis-maxmemory-headroom")
    result.stdout.fnmatch_lines(
        [
            "*production/redis-cluster: redis-maxmemory-headroom [[]P2[]]*",
            "REDIS_MAXMEMORY=1536mb (1.5Gi) is 300% of the 512Mi limit; expected at most 80% of the limit, 410Mi*",
            f"edit: {ENV}:*",
            "runbook: checks/runbooks/redis.md#redis-maxmemory-headroom",
        ]
    )
    assert "Traceback" not in result.stdout.str() and "def runtest" not in result.stdout.str()


def test_markdown_groups_by_severity_with_runbook_links(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    pytester.runpytest("--site", "production", "--findings-md=findings.md")
    md = (gitops / "findings.md").read_text()
    assert md.startswith("# pytest-slo findings: production")
    assert md.index("## P1") < md.index("## P2")
    assert "[runbook](checks/runbooks/redis.md#redis-eviction-policy)" in md
    assert f"`{ENV}:" in md


def test_no_findings_still_writes_a_document(gitops: Path, pytester: pytest.Pytester) -> None:
    assert_counts(pytester.runpytest("--site", "production", "--findings=f.json", "--findings-md=f.md"))
    assert json.loads((gitops / "f.json").read_text())["findings"] == []
    assert "No findings." in (gitops / "f.md").read_text()


def test_an_unwritable_report_path_is_one_line(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "blocker").write_text("a file, not a folder")
    result = pytester.runpytest("--site", "production", "--findings=blocker/f.json")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["pytest-slo: cannot write findings to */blocker/f.json: *"])
    assert "Traceback" not in result.stdout.str()
