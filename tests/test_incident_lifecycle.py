"""One incident, one draft, on real parts: the seed's story from the page to the postmortem.

The incident stack fails (Redis under noeviction, the API at p99 8.4 s and 12 % 5xx for two
hours); a live run writes the draft; a person fills in a TODO; the fix is committed in a
scratch git repository and lands live (the API heals, Redis evicts with room); the SLO
windows fill with healthy traffic; a second live run updates the same draft. The test site
judges over short windows (``SLO_WINDOW=30s``, burn-rate pairs ``1h/30s``) with history
backfilled every 10 s, so the recovery is seen within a minute, not an hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from teststack.kubeapi import shift_snapshot
from teststack.scenario import API_APP, SCENARIOS, Stack

from .mdlint import assert_lints_clean
from .structure import assert_structure
from .support import ENV, REPO, STACK, incident_config, set_line

pytestmark = pytest.mark.servers(*STACK)

WINDOW = 30  # seconds: SLO_WINDOW and the burn-rate pairs' short window
SLOW_START = 25  # seconds a scrape and a range step may add to when a check reads healthy again
AUTHOR = "Dana Ops"


def git(repo: Path, *args: str, when: int | None = None) -> str:
    env = {"GIT_AUTHOR_NAME": AUTHOR, "GIT_AUTHOR_EMAIL": "dana@example.com", "GIT_COMMITTER_NAME": AUTHOR,
           "GIT_COMMITTER_EMAIL": "dana@example.com", "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1"}
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    done = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout


def render(gitops: Path) -> None:
    for app in (API_APP, "redis-cluster"):
        subprocess.run(
            [
                sys.executable,
                "releases/1.15/render_values.py",
                "--env-file",
                ENV,
                "--output",
                f"sites/production/apps/{app}/values.yaml",
            ],
            cwd=gitops,
            check=True,
            capture_output=True,
        )


def short_windows(gitops: Path) -> None:
    """The test site judges over 30 s: the instant SLO checks and the burn-rate pages."""
    set_line(gitops / ENV, "SLO_WINDOW", f"{WINDOW}s")
    slos = gitops / "slos/api-server.yaml"
    pairs = f'    pytest-slo.org/burn-rate-pairs: "1h/{WINDOW}s:14.4"'
    text = slos.read_text().replace(
        "  name: api-availability\n", f"  name: api-availability\n  annotations:\n{pairs}\n", 1
    )
    text = text.replace("  annotations:\n    # fail the budget", f"  annotations:\n{pairs}\n    # fail the budget", 1)
    slos.write_text(text)


def run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: Stack, snapshot: str, name: str
) -> pytest.RunResult:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    cluster = shift_snapshot(
        REPO / f"examples/snapshots/{snapshot}.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)
    )
    (pytester.path / "cluster.json").write_text(json.dumps(cluster))
    return pytester.runpytest("--site", "production", "--live", "--kube-snapshot=cluster.json",
                              "--postmortem-dir=docs/incidents", f"--findings={name}.json")


def section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)


def counted(stack: Stack, selector: str, at: dt.datetime) -> float:
    """Prometheus's own count: the sum of the raw counters' samples at ``at``."""
    [sample] = stack.prometheus.query(f"sum({selector})", at=at.timestamp())
    return float(sample["value"][1])


def test_one_draft_from_the_page_to_the_recovery(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident_config(gitops)
    short_windows(gitops)
    render(gitops)
    scenario = dataclasses.replace(SCENARIOS["incident"], history_step=10)
    with Stack(scenario) as stack:
        breach = stack.breach_started_at
        assert breach is not None
        git(gitops, "init", "-q", "-b", "main")
        git(gitops, "add", "sites", "releases", "checks", "slos")
        git(gitops, "commit", "-q", "-m", "production: size the Redis cache", when=breach - 3 * 3600)

        first = run(pytester, monkeypatch, stack, "incident", "f1")
        drafts = sorted((gitops / "docs/incidents").glob("*.md"))
        assert len(drafts) == 1, first.stdout.str()
        draft = drafts[0]
        text = draft.read_text()
        assert "cannot draft" not in first.stdout.str(), first.stdout.str()
        assert "| **Status** | Draft |" in text
        incident_id = re.search(r"\| \*\*Incident ID\*\* \| (INC-\d{4}-\d\d-\d\d-\d{3}) \|", text)
        assert incident_id, text
        assert_lints_clean(draft)

        # a person takes the page: names the commander and writes the summary
        ours = "- **Incident commander**: Jane Doe (on call), paged by the burn-rate alert\n"
        summary = (
            "The cache ran out of memory under noeviction; the API fell back to the database.\n\nSecond "
            "paragraph, _ours_.\n"
        )
        text = text.replace("- **Incident commander**: _TODO: name_\n", ours, 1)
        text = text.replace(
            "_TODO: two or three sentences for readers outside the team: what happened, who noticed, what fixed it_\n",
            summary,
            1,
        )
        assert ours in text and summary in text
        draft.write_text(text)

        # the fix: config.env and the rendered values in one commit, then it lands live
        for key, value in (
            ("REDIS_MEMORY_LIMIT", "2Gi"),
            ("REDIS_MEMORY_REQUEST", "2Gi"),
            ("REDIS_EVICTION_POLICY", "allkeys-lru"),
        ):
            set_line(gitops / ENV, key, value)
        render(gitops)
        git(gitops, "add", "sites")
        git(gitops, "commit", "-q", "-m", "fix(redis): increase memory limit and enable LRU eviction")
        fix = git(gitops, "rev-parse", "--short", "HEAD").strip()
        healed = stack.heal()
        time.sleep(max(0.0, healed + WINDOW + 10 - time.time()))  # the short windows fill with healthy traffic

        second = run(pytester, monkeypatch, stack, "fixed", "f2")
        assert sorted((gitops / "docs/incidents").glob("*.md")) == [draft], second.stdout.str()
        text = draft.read_text()
        assert ours in text and summary in text  # the person's text, byte for byte
        assert f"| **Incident ID** | {incident_id[1]} |" in text
        status = re.search(r"\| \*\*Status\*\* \| (\w+) \|", text)
        assert status and status[1] in ("Mitigated", "Resolved"), section(text, "Impact")

        # recovery from Prometheus's range over the incident, within the SLO window of the heal
        timeline = section(text, "Timeline (UTC)")
        for check in ("slo-latency-p99", "slo-error-rate", "api-availability::burn-rate", "api-latency::burn-rate"):
            back = re.search(
                rf"^\| (\S+ \S+) \| {re.escape(check)}: (?:back within objective|burn rate back under 14\.4×) for "
                r"good \|",
                timeline,
                re.M,
            )
            assert back, timeline
            assert healed <= utc(back[1]).timestamp() <= healed + WINDOW + SLOW_START, (check, back[1], healed)
        mitigated = re.search(r"\| \*\*Mitigated\*\* \| (\S+ \S+) UTC \|", text)
        assert mitigated and healed <= utc(mitigated[1]).timestamp() <= healed + WINDOW + SLOW_START
        assert re.search(
            r"\| \*\*Time to mitigation\*\* \| \d h( \d+ min)? from the breach, \d+ (s|min)( \d+ s)? after "
            r"detection \|",
            text,
        ), text[:2000]

        # requests failed: the SLO's counters over the incident, against Prometheus's own count
        failed = re.search(
            r"\*\*Requests failed\*\*: ([\d,]+) of ([\d,]+) \(([\d.]+)%\) from (\S+ \S+) to (\S+ \S+) UTC", text
        )
        assert failed, section(text, "Impact")
        bad, total = (float(failed[i].replace(",", "")) for i in (1, 2))
        start, end = utc(failed[4]), utc(failed[5])
        selector = f'http_requests_total{{namespace="production", service="{API_APP}"'
        prom_bad = counted(stack, selector + ', status=~"5.."}', end) - counted(
            stack, selector + ', status=~"5.."}', start
        )
        prom_total = counted(stack, selector + "}", end) - counted(stack, selector + "}", start)
        assert bad == pytest.approx(prom_bad, rel=0.03) and total == pytest.approx(prom_total, rel=0.03), (
            bad,
            prom_bad,
            total,
            prom_total,
        )
        assert abs(start.timestamp() - breach) <= WINDOW + 120  # the breach as the checks saw it begin
        assert 11.5 <= float(failed[3]) <= 12.5

        # the fix commit from git, with the keys it changed
        changes = section(text, "What changed")
        row = next(line for line in changes.splitlines() if f"`{fix}`" in line)
        assert (
            "`REDIS_MEMORY_LIMIT` 512Mi → 2Gi" in row and "`REDIS_EVICTION_POLICY` noeviction → allkeys-lru" in row
        ), row
        assert row.endswith("| **the fix** |") and AUTHOR in row
        assert re.search(rf"^\| \S+ \S+ \| commit `{fix}` by {AUTHOR}: fix\(redis\).*, the fix \|$", timeline, re.M), (
            timeline
        )

        # Warning events of the incident's apps, counted once each
        assert re.search(r"^\| \S+ \S+ \| redis-cluster-2: Warning BackOff ×27", timeline, re.M), timeline
        assert len(re.findall(r": Warning Unhealthy ×", timeline)) == 2  # api-server's pods, redis-cluster-2

        assert_lints_clean(draft)
        assert_structure(text, REPO / "tests/data/incident-draft-structure.md")
