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

from .mdlint import assert_lints_clean
from .support import REPO, STACK, set_line

pytestmark = pytest.mark.servers(*STACK)

SECRET = "planted-Secret-9f8e7d"


def run_incident(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: Stack, *args: str
) -> pytest.RunResult:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    snapshot = shift_snapshot(
        REPO / "examples/snapshots/incident.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)
    )
    (pytester.path / "cluster.json").write_text(json.dumps(snapshot))
    return pytester.runpytest(
        "--site",
        "production",
        "--live",
        "--kube-snapshot=cluster.json",
        "--postmortem-dir=pm",
        "--findings=f.json",
        *args,
    )


def section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def draft(gitops: Path) -> tuple[Path, str]:
    (path,) = (gitops / "pm").glob("*.md")
    return path, path.read_text()


def test_the_incident_produces_a_postmortem_draft(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_line(gitops / "sites/production/config.env", "REDIS_PASSWORD", SECRET)
    result = run_incident(
        pytester, monkeypatch, incident, "--findings-md=f.md", "--sarif=f.sarif", "--junitxml", "j.xml"
    )
    path, text = draft(gitops)
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    # named by what happened: the top-ranked cause and the worst symptom it explains
    assert path.name == f"{today}-production-redis-cluster-memory-limit-drift-oom-kills.md"
    assert (
        text.splitlines()[0]
        == "# Postmortem: production — redis-cluster: memory limit 512Mi live vs 2Gi declared, 2 OOM kills"
    )
    result.stdout.fnmatch_lines([f"slo postmortem draft (production) written to {path}"])
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Summary", "## Impact", "## Timeline (UTC)", "## What changed", "## Charts", "## Root cause",
                        "## What went well", "## What went wrong", "## Action items", "## Supporting evidence"]
    assert re.search(r"\| \*\*Incident ID\*\* \| INC-\d{4}-\d\d-\d\d-001 \|", text)
    assert "| **Severity** | P1 |" in text and "| **Status** | Draft |" in text
    assert "| **Mitigated** | — |" in text and "| **Time to detection** | " in text

    # the first root-cause candidate is the memory limit (it explains the OOM kills and the
    # memory growth), then the eviction policy (the refused writes), each at its config.env line
    causes = section(text, "Root cause")
    first, second = [line for line in causes.splitlines() if re.match(r"^\d+\. ", line)][:2]
    assert first.startswith("1. **kube-resources-drift** (P2, redis-cluster)")
    assert (
        "`REDIS_MEMORY_LIMIT` at `sites/production/config.env:" in first
        and "explains kube-oomkilled, redis-memory-growth" in first
    )
    assert second.startswith("2. **redis-eviction-policy-live** (P1, redis-cluster)")
    assert (
        "`REDIS_EVICTION_POLICY` at `sites/production/config.env:" in second and "explains redis-oom-errors" in second
    )
    assert re.search(r"^- \*\*Primary\*\*: `REDIS_MEMORY_LIMIT`: ", causes, re.M)
    assert re.search(r"^- \*\*Secondary\*\*: `REDIS_EVICTION_POLICY`: ", causes, re.M)

    # the timeline shows the breach time Prometheus holds (the scenario's breach start)
    breach = dt.datetime.fromtimestamp(incident.breach_started_at, dt.timezone.utc)
    rows = re.findall(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| slo-latency-p99 breached", text, re.M)
    assert rows, text
    at = dt.datetime.strptime(rows[-1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    assert abs((at - breach).total_seconds()) <= 6 * 60, (at, breach)
    # the kube OOM kills and the Warning events of the snapshot are timeline rows of their own
    assert re.search(
        r"^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| .*redis-cluster-2/redis OOMKilled \(exit 137\)", text, re.M
    ), text
    assert re.search(
        r"^\| \S+ \S+ \| redis-cluster-2: Warning BackOff ×27, last at \d\d:\d\d UTC: Back-off restarting", text, re.M
    )
    # outside a git repository, the changes are said to be unknown, not guessed
    assert re.search(
        r"^Changes from git are skipped: .* is not in a git repository\.$", section(text, "What changed"), re.M
    )

    # impact carries the measured SLO values in their own terms; unknowns are visible placeholders
    impact = section(text, "Impact")
    assert re.search(
        r"\| slo-latency-p99 \| api-server \| \\<= 500 ms \| p99 \d{4} ms \(\d+\.\dx the SLO\) \| \d{4}-", impact
    )
    assert re.search(r"\*\*Requests failed\*\*: [\d,]+ of [\d,]+ \(1[12]\.\d\d%\)", impact), impact
    assert "_TODO: how many, which regions or customers_" in impact
    # the memory growth is said in its own terms (time to full), never as its query's percentage
    assert "redis-memory-growth" not in impact
    wrong = section(text, "What went wrong")
    assert re.search(r"explains redis-memory-growth: .*already past 80% of maxmemory", wrong), wrong
    assert not re.search(r"redis-memory-growth[^|\n]*\d{4,}(\.\d+)?%", text)

    # action items: the catalog's, with due dates by priority, no generic rows
    actions = section(text, "Action items")
    due = (dt.datetime.strptime(today, "%Y-%m-%d") + dt.timedelta(days=1)).strftime("%Y-%m-%d")
    assert (
        f"| Review all Redis clusters for eviction policy | Platform team | {due} | P1 | `redis-eviction-policy-live` |"
        in actions
    ), actions
    assert "Follow the runbook" not in text
    # the evidence links runbooks that exist
    links = re.findall(r"\]\(([^)]+)\)", section(text, "Supporting evidence"))
    assert links and all(runbook_problem(gitops, link) is None for link in links)

    # no secret anywhere
    outputs = [text, result.stdout.str()] + [(gitops / n).read_text() for n in ("f.json", "f.md", "f.sarif", "j.xml")]
    assert not [o for o in outputs if SECRET in o]
    assert not [o for o in outputs if incident.redis_password and incident.redis_password in o]
    assert_lints_clean(path)


def test_no_postmortem_when_only_offline_checks_fail(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / "sites/production/config.env", "REDIS_EVICTION_POLICY", "noeviction")
    result = pytester.runpytest("--site", "production", "--postmortem-dir=pm")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1 and "errors" not in outcomes  # the offline finding is there...
    assert not list(gitops.glob("pm/*.md"))  # ...and no draft: nothing live failed


def test_a_team_template_and_context_hook(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (gitops / "pm.j2").write_text(
        "{{ incident_id }} {{ severity }} ticket={{ ticket }} first={{ candidates[0].finding.check }} title={{ "
        "title }}\n"
    )
    pytester.makeini("[pytest]\nslo_postmortem_template = pm.j2\n")
    pytester.makeconftest("def pytest_slo_postmortem_context(config, context):\n    context['ticket'] = 'OPS-42'\n")
    run_incident(pytester, monkeypatch, incident, "-k", "redis-cluster")
    _, text = draft(gitops)
    first, rest = text.split("\n", 1)
    assert re.fullmatch(
        r"INC-\d{4}-\d\d-\d\d-001 P1 ticket=OPS-42 first=kube-resources-drift "
        r"title=redis-cluster: memory limit 512Mi live vs 2Gi declared, 2 OOM kills",
        first,
    )
    # what later runs need to find and update the draft goes after the team's text
    assert rest.startswith("\n<!-- pytest-slo:begin state -->\n<!--\n{") and rest.endswith(
        "-->\n<!-- pytest-slo:end state -->\n"
    )


def test_a_broken_team_template_is_one_line(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (gitops / "pm.j2").write_text("{{ no_such_thing.x }}\n")
    result = run_incident(pytester, monkeypatch, incident, "-k", "redis-oom", "--postmortem-template=pm.j2")
    result.stdout.fnmatch_lines(["pytest-slo: cannot render the postmortem template: UndefinedError: *no_such_thing*"])
    assert "Traceback" not in result.stdout.str()
