"""Postmortem drafts from the incident on real servers: computed timeline, ranked causes,
action items whose runbooks exist, no secrets."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from pytest_slo.catalog.model import runbook_problem
from teststack.kubeapi import shift_snapshot
from teststack.scenario import Stack

from .conftest import REPO, STACK, set_line

pytestmark = pytest.mark.servers(*STACK)

SECRET = "planted-Secret-9f8e7d"


def run_incident(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: Stack, *args: str) -> pytest.RunResult:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    snapshot = shift_snapshot(REPO / "examples/snapshots/incident.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3))
    (pytester.path / "cluster.json").write_text(json.dumps(snapshot))
    return pytester.runpytest(
        "--site", "production", "--live", "--kube-snapshot=cluster.json", "--postmortem-dir=pm", "--findings=f.json", *args
    )


def draft(gitops: Path) -> tuple[Path, str]:
    (path,) = (gitops / "pm").glob("*.md")
    return path, path.read_text()


def test_the_incident_produces_a_postmortem_draft(incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    set_line(gitops / "sites/production/config.env", "REDIS_PASSWORD", SECRET)
    result = run_incident(pytester, monkeypatch, incident, "--findings-md=f.md", "--sarif=f.sarif", "--junitxml", "j.xml")
    path, text = draft(gitops)
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    # named by what happened: the top-ranked cause and the worst symptom it explains
    assert path.name == f"{today}-production-redis-cluster-memory-limit-drift-oom-kills.md"
    assert text.splitlines()[0] == "# Postmortem (draft): production — redis-cluster: memory limit 512Mi live vs 2Gi declared, 2 OOM kills"
    result.stdout.fnmatch_lines([f"slo postmortem draft (production) written to {path}"])
    for heading in ("## Summary", "## Impact", "## Detection", "## Timeline (UTC, computed)", "## Root-cause candidates (ranked)", "## What went wrong", "## Action items", "## Supporting evidence"):
        assert heading in text
    assert re.search(r"\| \*\*Incident ID\*\* \| INC-\d{4}-\d\d-\d\d-001 \|", text)
    assert "| **Severity** | P1 |" in text and "| **Status** | Draft |" in text

    # the first root-cause candidate is the memory limit (it explains the OOM kills and the
    # memory growth), then the eviction policy (the refused writes), each at its config.env line
    candidates = text.split("## Root-cause candidates (ranked)")[1].split("##")[0]
    first, second = candidates.strip().splitlines()[:2]
    assert first.startswith("1. **kube-resources-drift** (P2, redis-cluster)")
    assert "`REDIS_MEMORY_LIMIT` at `sites/production/config.env:" in first and "explains kube-oomkilled, redis-memory-growth" in first
    assert second.startswith("2. **redis-eviction-policy-live** (P1, redis-cluster)")
    assert "`REDIS_EVICTION_POLICY` at `sites/production/config.env:" in second and "explains redis-oom-errors" in second

    # the timeline shows the breach time Prometheus holds (the scenario's breach start)
    breach = dt.datetime.fromtimestamp(incident.breach_started_at, dt.timezone.utc)
    rows = re.findall(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| slo-latency-p99 breached", text, re.M)
    assert rows, text
    at = dt.datetime.strptime(rows[-1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    assert abs((at - breach).total_seconds()) <= 6 * 60, (at, breach)
    # the kube OOM kills are timeline rows of their own, at a time
    assert re.search(r"^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| .*redis-cluster-2/redis OOMKilled \(exit 137\)", text, re.M), text

    # impact carries the measured SLO values; unknowns are visible placeholders
    impact = text.split("## Impact")[1].split("## Detection")[0]
    assert re.search(r"\| slo-latency-p99 \| api-server \| <= 500 ms \| \d{4} ms \|", impact)
    assert "_TODO: how many, which regions or customers_" in impact

    # action items link runbooks that exist
    actions = text.split("## Action items")[1].split("## Supporting evidence")[0]
    links = re.findall(r"\]\(([^)]+)\)", actions)
    assert links and all(runbook_problem(gitops, link) is None for link in links)
    assert "| Review all Redis clusters for eviction policy | Platform team | P1 |" in actions

    # no secret anywhere
    outputs = [text, result.stdout.str()] + [(gitops / n).read_text() for n in ("f.json", "f.md", "f.sarif", "j.xml")]
    assert not [o for o in outputs if SECRET in o]
    assert not [o for o in outputs if incident.redis_password and incident.redis_password in o]


def test_no_postmortem_when_only_offline_checks_fail(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / "sites/production/config.env", "REDIS_EVICTION_POLICY", "noeviction")
    result = pytester.runpytest("--site", "production", "--postmortem-dir=pm")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1 and "errors" not in outcomes  # the offline finding is there...
    assert not list(gitops.glob("pm/*.md"))  # ...and no draft: nothing live failed


def test_a_team_template_and_context_hook(incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    (gitops / "pm.j2").write_text("{{ incident_id }} {{ severity }} ticket={{ ticket }} first={{ candidates[0].finding.check }} title={{ title }}\n")
    pytester.makeini("[pytest]\nslo_postmortem_template = pm.j2\n")
    pytester.makeconftest("def pytest_slo_postmortem_context(config, context):\n    context['ticket'] = 'OPS-42'\n")
    run_incident(pytester, monkeypatch, incident, "-k", "redis-cluster")
    _, text = draft(gitops)
    assert re.fullmatch(
        r"INC-\d{4}-\d\d-\d\d-001 P1 ticket=OPS-42 first=kube-resources-drift "
        r"title=redis-cluster: memory limit 512Mi live vs 2Gi declared, 2 OOM kills\n",
        text,
    )


def test_a_broken_team_template_is_one_line(incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    (gitops / "pm.j2").write_text("{{ no_such_thing.x }}\n")
    result = run_incident(pytester, monkeypatch, incident, "-k", "redis-oom", "--postmortem-template=pm.j2")
    result.stdout.fnmatch_lines(["pytest-slo: cannot render the postmortem template: UndefinedError: *no_such_thing*"])
    assert "Traceback" not in result.stdout.str()
