"""A finding with an ``action`` (live drifted from a declaration that is right) tells the reader
what to do and where the declaration is, in every report, instead of sending them to edit a
line that is already correct."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_slo.findings.html import render_html
from pytest_slo.findings.markdown import render_markdown
from pytest_slo.findings.sarif import render_sarif

from .authorities import markdownlint, sarif_errors
from .support import ENV, REPO

ACTION = "roll out redis-cluster: kubectl -n production rollout restart statefulset/redis-cluster"
SUMMARY = {"sites": ["production"], "items": 2, "passed": 0, "failed": 2, "errors": 0, "skipped": 0,
           "generated_at": "2026-11-27T14:00:00+00:00", "by_severity": {"P1": 0, "P2": 2, "P3": 0, "P4": 0}}


def finding(check: str, line: int, action: str | None) -> dict:
    return {
        "check": check,
        "title": check,
        "severity": "P2",
        "site": "production",
        "app": "redis-cluster",
        "kind": "kube",
        "outcome": "failed",
        "message": "StatefulSet/redis-cluster redis: resources.limits.memory is 512Mi live, 2Gi declared",
        "runbook": "checks/runbooks/kube.md#kube-resources-drift",
        "location": {"path": ENV, "line": line},
        "evidence": {},
        "nodeid": f"{ENV}::redis-cluster::{check}",
        "action": action,
        "fingerprint": f"{check}-fp",
        "objects": [],
        "baseline_state": None,
        "waiver": None,
    }


def limit_line() -> int:
    return next(
        i for i, line in enumerate((REPO / ENV).read_text().splitlines(), 1) if line.startswith("REDIS_MEMORY_LIMIT=")
    )


def test_every_report_shows_the_action_and_where_it_is_declared(tmp_path: Path) -> None:
    line = limit_line()
    drift, edit = finding("kube-resources-drift", line, ACTION), finding("redis-memory-limit", line, None)
    md = render_markdown(SUMMARY, [drift, edit])
    rows = {row.split(" | ")[0]: row for row in md.splitlines() if row.startswith("| `")}
    assert (
        f"kubectl -n production rollout restart statefulset/redis-cluster; declared at `{ENV}:{line}`"
        in rows["| `kube-resources-drift`"]
    )
    assert f"edit `{ENV}:{line}`" not in rows["| `kube-resources-drift`"]  # the line is right: editing it fixes nothing
    assert f"| edit `{ENV}:{line}` |" in rows["| `redis-memory-limit`"]
    assert (
        "Do: roll out redis-cluster: kubectl -n production rollout restart statefulset/redis-cluster; declared "
        f"at `{ENV}:{line}`, which is right."
        in md
    )
    (tmp_path / "findings.md").write_text(md)
    assert markdownlint(tmp_path / "findings.md") == []

    run = SimpleNamespace(
        settings=SimpleNamespace(runbook_base_url=None),
        catalog=SimpleNamespace(checks=[]),
        repo=SimpleNamespace(root=REPO),
    )
    sarif = render_sarif(run, [drift, edit])  # type: ignore[arg-type]
    results = {r["ruleId"]: r for r in json.loads(sarif)["runs"][0]["results"]}
    shown = results["kube-resources-drift"]
    assert shown["message"]["text"].endswith(
        f"\nDo: {ACTION}\nDeclared at {ENV}:{line} (the declaration is right; the live system differs)"
    )
    assert shown["locations"][0]["message"]["text"] == "declared here, and right: the live system differs"
    assert shown["locations"][0]["physicalLocation"]["region"]["startLine"] == line
    assert shown["properties"]["action"] == ACTION
    assert (
        "Do:" not in results["redis-memory-limit"]["message"]["text"]
        and "message" not in results["redis-memory-limit"]["locations"][0]
    )
    (tmp_path / "findings.sarif").write_text(sarif)
    assert sarif_errors(tmp_path / "findings.sarif") == {}

    html = render_html(SUMMARY, [drift, edit], root=REPO)
    cells = html.split('<div class="edit">')[1:]
    assert f"<b>do:</b> {ACTION}" in cells[0] and f"declared at <code>{ENV}:{line}</code> (right as it is)" in cells[0]
    assert "REDIS_MEMORY_LIMIT=2Gi" in cells[0]  # the declared line as it reads
    assert "do:" not in cells[1] and f"<code>{ENV}:{line}</code>" in cells[1]


def test_a_drift_run_reports_each_finding_as_the_terminal_does(gitops: Path, pytester: pytest.Pytester) -> None:
    """The incident's cluster (512Mi live, 2Gi declared) judged from a snapshot: every report
    says what the terminal says, "do:"/"declared at:" for a finding with an action and "edit:"
    for one without."""
    (gitops / "cluster.json").write_text((REPO / "examples/snapshots/incident.json").read_text())
    result = pytester.runpytest(
        "--site",
        "production",
        "--kube-snapshot=cluster.json",
        "-k",
        "drift",
        "--findings=f.json",
        "--findings-md=f.md",
        "--sarif=f.sarif",
        "--html=f.html",
        "-p",
        "no:cacheprovider",
    )
    text = result.stdout.str()
    findings = json.loads((gitops / "f.json").read_text())["findings"]
    drift = next(f for f in findings if f["check"] == "kube-resources-drift")
    assert drift["message"].startswith(
        "StatefulSet/redis-cluster redis: resources.limits.memory is 512Mi live, 2Gi declared"
    )
    md = (gitops / "f.md").read_text()
    sarif = {r["ruleId"]: r for r in json.loads((gitops / "f.sarif").read_text())["runs"][0]["results"]}
    html = (gitops / "f.html").read_text()
    for f in findings:
        at = f"{f['location']['path']}:{f['location']['line']}"
        row = next(r for r in md.splitlines() if r.startswith(f"| `{f['check']}` |"))
        if f["action"]:
            assert f"do: {f['action']}" in text and f"declared at: {at}" in text
            assert f"declared at `{at}`" in row and f"edit `{at}`" not in row
            assert sarif[f["check"]]["message"]["text"].endswith(
                f"Declared at {at} (the declaration is right; the live system differs)"
            )
            assert f"<b>do:</b> {f['action']}" in html
        else:
            assert f"edit: {at}" in text
            assert f"edit `{at}`" in row
            assert "Do:" not in sarif[f["check"]]["message"]["text"]
    assert markdownlint(gitops / "f.md") == []
    assert sarif_errors(gitops / "f.sarif") == {}
