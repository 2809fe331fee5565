"""findings.sarif as GitHub code scanning takes it, and findings.md as it renders, judged by
tools we did not write: Microsoft's SARIF Multitool with GitHub's rules (``--rule-kind
"Gh;Sarif"``) and markdownlint-cli2 with the repository's config (tests/authorities.py),
on an offline run, a live run against the real stack and a merge of runs. The official SARIF
2.1.0 JSON Schema is checked too."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from teststack.kubeapi import shift_snapshot
from teststack.scenario import Stack

from .authorities import markdownlint, rendered_texts, rule_counts, sarif_errors, sarif_problems
from .support import ENV, REPO, STACK, incident_config, set_line
from .test_reports import sarif_schema


def schema_errors(path: Path) -> list[str]:
    schema = sarif_schema()
    doc = json.loads(path.read_text())
    return [e.message for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(doc)][:5]


def snapshot(gitops: Path) -> str:
    """The incident's cluster (pods in CrashLoopBackOff: findings with no line to edit), as of a few minutes ago."""
    data = shift_snapshot(
        REPO / "examples/snapshots/incident.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)
    )
    (gitops / "cluster.json").write_text(json.dumps(data))
    return "--kube-snapshot=cluster.json"


def reports(pytester: pytest.Pytester, name: str, *args: str) -> dict:
    result = pytester.runpytest(
        "--site",
        "production",
        f"--findings={name}.json",
        f"--findings-md={name}.md",
        f"--sarif={name}.sarif",
        "-p",
        "no:cacheprovider",
        *args,
    )
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return json.loads((pytester.path / f"{name}.json").read_text())


def line_of(gitops: Path, key: str) -> int:
    return next(i for i, line in enumerate((gitops / ENV).read_text().splitlines(), 1) if line.startswith(f"{key}="))


def merge(gitops: Path, *inputs: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_slo",
            "merge",
            *inputs,
            "--findings=merged.json",
            "--findings-md=merged.md",
            "--sarif=merged.sarif",
        ],
        cwd=gitops,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_authorities_catch_what_github_and_markdown_renderers_reject(tmp_path: Path) -> None:
    """The tools are wired right: the problems this suite forbids are found when present."""
    bad = tmp_path / "bad.sarif"
    bad.write_text(
        json.dumps(
            {
                "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {
                            "driver": {
                                "name": "t",
                                "rules": [
                                    {"id": "r", "shortDescription": {"text": "r"}, "helpUri": "checks/runbooks/r.md#r"}
                                ],
                            }
                        },
                        "results": [{"ruleId": "r", "message": {"text": "no location"}}],
                    }
                ],
            }
        )
    )
    errors = sarif_errors(bad)
    assert {"GH1015", "GH2012", "SARIF1002"} <= set(errors), errors
    md = tmp_path / "bad.md"
    md.write_text(
        "# t\n\nsum(x) * 100 / 0 * last_over_time(y) at https://example.com/a\n\n" + " ".join(["long line"] * 30) + "\n"
    )
    # MD037 (a query's * read as emphasis), MD034 (a bare URL); MD013 is off by the config
    assert rule_counts(markdownlint(md)) == {"MD034": 1, "MD037": 2}


def test_an_offline_run_is_accepted_by_code_scanning_and_lints_clean(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    doc = reports(pytester, "offline", snapshot(gitops))
    kube = {(f["check"], f["app"]) for f in doc["findings"] if f["location"] is None}
    assert ("kube-crashloop", "redis-cluster") in kube  # findings with no line to edit are part of the test
    sarif = gitops / "offline.sarif"
    assert sarif_errors(sarif) == {}
    assert schema_errors(sarif) == []
    run = json.loads(sarif.read_text())["runs"][0]
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in run["results"])
    crash = next(
        r for r in run["results"] if r["ruleId"] == "kube-crashloop" and r["properties"]["app"] == "redis-cluster"
    )
    where = crash["locations"][0]
    assert where["physicalLocation"]["artifactLocation"]["uri"] == ENV
    assert where["physicalLocation"]["region"]["startLine"] == line_of(gitops, "KUBE_NAMESPACE")
    assert (
        where["message"]["text"] == "no line to edit: KUBE_NAMESPACE here declares where redis-cluster's objects live"
    )
    policy = next(r for r in run["results"] if r["ruleId"] == "redis-eviction-policy")
    assert "message" not in policy["locations"][0]  # the line to edit needs no note
    # without --runbook-base-url a runbook is a repository path, no URI: it is named in the help text
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "helpUri" not in rules["kube-crashloop"]
    assert (
        rules["kube-crashloop"]["help"]["text"] == "Runbook: checks/runbooks/kube.md#kube-crashloop (in the repository)"
    )
    assert markdownlint(gitops / "offline.md") == []
    md = (gitops / "offline.md").read_text()
    assert "| `redis-eviction-policy` | production / redis-cluster | failed | `REDIS_EVICTION_POLICY=noeviction`" in md
    assert f"edit `{ENV}:{line_of(gitops, 'REDIS_EVICTION_POLICY')}`" in md
    # rendered, each finding's "what is wrong" cell reads as its message's first line
    cells = set(rendered_texts(md))
    assert all(f["message"].splitlines()[0] in cells for f in doc["findings"]), cells


def test_runbook_links_under_a_base_url_fixed_and_waived_results_are_accepted(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    incident_config(gitops)
    reports(pytester, "based", "--runbook-base-url=https://git.example.com/gitops/-/blob/main/")
    sarif = gitops / "based.sarif"
    assert sarif_errors(sarif) == {}
    rules = {r["id"]: r for r in json.loads(sarif.read_text())["runs"][0]["tool"]["driver"]["rules"]}
    url = "https://git.example.com/gitops/-/blob/main/checks/runbooks/redis.md#redis-eviction-policy"
    assert rules["redis-eviction-policy"]["helpUri"] == url
    assert rules["redis-eviction-policy"]["help"]["markdown"] == f"[Runbook]({url})"

    # the next night: one finding fixed (an absent result), one waived (a suppressed result)
    set_line(gitops / ENV, "REDIS_MAXMEMORY", "400mb")
    until = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    (gitops / "checks/waivers.yaml").write_text(
        f"waivers:\n  - check: redis-eviction-policy\n    site: production\n    until: {until}\n    owner: "
        "sre-oncall\n    reason: OPS-1234\n"
    )
    reports(
        pytester, "night2", "--baseline=based.json", "--runbook-base-url=https://git.example.com/gitops/-/blob/main/"
    )
    results = json.loads((gitops / "night2.sarif").read_text())["runs"][0]["results"]
    assert {r["baselineState"] for r in results} >= {"absent", "unchanged"} and any(
        r.get("suppressions") for r in results
    )
    assert sarif_errors(gitops / "night2.sarif") == {}
    assert schema_errors(gitops / "night2.sarif") == []
    assert markdownlint(gitops / "night2.md") == []


def test_a_merge_is_accepted_by_code_scanning_and_lints_clean(gitops: Path, pytester: pytest.Pytester) -> None:
    incident_config(gitops)
    reports(pytester, "offline", snapshot(gitops))
    # a run of another site, written before findings had a location for every kind and with
    # a check the merge has no catalog for: its rule comes from the finding alone
    other = {
        "summary": {"sites": ["staging"], "generated_at": "2026-11-27T03:00:00+00:00"},
        "findings": [
            {
                "check": "team-queue-depth",
                "title": "the queue drains",
                "severity": "P3",
                "site": "staging",
                "app": "api-server",
                "kind": "promql",
                "outcome": "error",
                "message": "Prometheus at http://127.0.0.1:9 answered 503\n  query: sum(x) * 100 / 0 * y",
                "runbook": "checks/runbooks/team.md#queue",
                "location": None,
                "evidence": {},
                "nodeid": "sites/staging/config.env::api-server::team-queue-depth",
            }
        ],
    }
    (gitops / "staging.json").write_text(json.dumps(other))
    merge(gitops, "offline.json", "staging.json")
    sarif = gitops / "merged.sarif"
    assert sarif_errors(sarif) == {}
    assert schema_errors(sarif) == []
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    queue = next(r for r in results if r["ruleId"] == "team-queue-depth")
    staging_env = (gitops / "sites/staging/config.env").read_text().splitlines()
    assert queue["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sites/staging/config.env"
    assert queue["locations"][0]["physicalLocation"]["region"]["startLine"] == next(
        i for i, line in enumerate(staging_env, 1) if line.startswith("PROMETHEUS_URL=")
    )
    assert (
        queue["locations"][0]["message"]["text"]
        == "no line to edit: PROMETHEUS_URL here declares the source this item could not read"
    )
    assert markdownlint(gitops / "merged.md") == []
    md = (gitops / "merged.md").read_text()
    assert "Prometheus at <http://127.0.0.1:9> answered 503" in md  # a URL is an autolink, never bare
    assert (
        "```text\nPrometheus at http://127.0.0.1:9 answered 503\n  query: sum(x) * 100 / 0 * y\n```" in md
    )  # the query as written


@pytest.mark.servers(*STACK)
def test_a_live_run_and_its_merge_are_accepted_and_lint_clean(incident: Stack, gitops: Path, pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in incident.env().items():
        monkeypatch.setenv(key, value)
    incident_config(gitops)
    doc = reports(pytester, "live", "--live", snapshot(gitops))
    kinds = {f["kind"] for f in doc["findings"] if f["outcome"] == "failed"}
    assert {"promql", "redis", "kube", "openslo"} <= kinds, kinds
    assert sarif_problems(gitops / "live.sarif") == {
        ("warning", "SARIF2005"): 1
    }  # no informationUri: a warning, not a rejection
    assert schema_errors(gitops / "live.sarif") == []
    assert markdownlint(gitops / "live.md") == []
    reports(pytester, "offline")
    merge(gitops, "live.json", "offline.json")
    assert sarif_errors(gitops / "merged.sarif") == {}
    assert markdownlint(gitops / "merged.md") == []


def test_every_section_of_findings_md_lints_clean_and_renders_as_written(tmp_path: Path) -> None:
    """Baseline, waived, fixed and stale-waiver sections, with people's text in them (an owner,
    a reason with a URL, a pipe and underscores), as markdownlint and a renderer see them."""
    from pytest_slo.findings.markdown import render_markdown

    waiver = {
        "check": "redis-memory-headroom",
        "site": "production",
        "app": None,
        "match": None,
        "until": "2026-12-15",
        "owner": "sre_oncall | team-cache",
        "reason": "migrating *now*, see https://tickets.example.com/OPS-1234.",
        "location": {"path": "checks/waivers.yaml", "line": 2},
    }
    base = {
        "severity": "P2",
        "site": "production",
        "app": "redis-cluster",
        "kind": "promql",
        "outcome": "failed",
        "evidence": {},
        "runbook": "checks/runbooks/redis.md#x",
        "location": {"path": ENV, "line": 16},
        "action": None,
        "objects": [],
    }
    findings = [
        {
            **base,
            "check": "redis-memory-headroom",
            "title": "t",
            "message": 'instance="10.0.3.7:6379": 95% used\n  query: 100 * a / b',
            "nodeid": f"{ENV}::redis-cluster::redis-memory-headroom",
            "baseline_state": "unchanged",
            "waiver": {**waiver, "complete": True},
        },
        {
            **base,
            "check": "redis-memory-growth",
            "title": "t",
            "message": "full in 2h_30m at this rate",
            "nodeid": f"{ENV}::redis-cluster::redis-memory-growth",
            "baseline_state": "new",
            "waiver": None,
        },
    ]
    absent = [
        {
            **base,
            "check": "redis-oom-errors",
            "title": "t",
            "message": "62 writes refused *OOM*",
            "nodeid": "x",
            "baseline_state": "absent",
        }
    ]
    summary = {
        "sites": ["production"],
        "items": 3,
        "passed": 1,
        "failed": 2,
        "errors": 0,
        "skipped": 0,
        "fail_on": "new",
        "generated_at": "2026-11-27T14:00:00+00:00",
        "by_severity": {"P1": 0, "P2": 1, "P3": 0, "P4": 0},
        "baseline": {
            "path": "last/find_ings.json",
            "generated_at": "2026-11-26T03:17:00Z",
            "new": 1,
            "unchanged": 0,
            "absent": 1,
        },
    }
    md = render_markdown(summary, findings, {"absent": absent, "waivers": [{**waiver, "state": "stale"}]})
    for section in (
        "## P2 — urgent (1)",
        "## Waived (1)",
        "## Fixed since baseline (1)",
        "## Waivers to tidy (1)",
        "## Details",
    ):
        assert section in md
    (tmp_path / "findings.md").write_text(md)
    assert markdownlint(tmp_path / "findings.md") == []
    texts = set(rendered_texts(md))
    assert {
        "sre_oncall | team-cache",
        "migrating *now*, see https://tickets.example.com/OPS-1234.",
        "62 writes refused *OOM*",
        'instance="10.0.3.7:6379": 95% used',
        "full in 2h_30m at this rate",
        "checks/waivers.yaml:2",
    } <= texts
