"""Waivers that expire: checks/waivers.yaml accepted, expired, malformed and stale."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pytest_slo.catalog.waivers import Waiver
from pytest_slo.findings.waived import waived
from teststack.kubeapi import shift_snapshot

from .support import ENV, REPO, set_line
from .test_baseline import valid_sarif

TODAY = dt.datetime.now(dt.timezone.utc).date()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def write_waivers(gitops: Path, body: str) -> Path:
    path = gitops / "checks" / "waivers.yaml"
    path.write_text("waivers:\n" + body)
    return path


def policy_waiver(until: str, extra: str = "") -> str:
    return (
        "  - check: redis-eviction-policy\n"
        "    site: production\n"
        "    app: redis-cluster\n"
        f"    until: {until}\n"
        "    owner: sre-oncall\n"
        "    reason: migrating to the new cluster (OPS-1234)\n" + extra
    )


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest(
        "--findings=f.json", "--findings-md=f.md", "--sarif=f.sarif", "--junitxml=j.xml", "-rxX", *args
    )
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return result, json.loads((pytester.path / "f.json").read_text())


def test_a_current_waiver_accepts_the_finding_and_every_output_says_so(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    set_line(gitops / "sites/staging/config.env", "REDIS_EVICTION_POLICY", "noeviction")
    write_waivers(
        gitops,
        policy_waiver(day(18))
        + "  - check: values-in-sync\n    until: "
        + day(0)
        + "\n    owner: platform\n    reason: render bot (OPS-7)\n",
    )
    result, doc = run(pytester)
    # staging's policy is not waived (the waiver names production); values-in-sync is, everywhere, through today
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["xfailed"] == 3, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            f"XFAIL sites/production/config.env::redis-cluster::redis-eviction-policy - waived until {day(18)} by "
            "sre-oncall: "
            "migrating to the new cluster (OPS-1234) (checks/waivers.yaml:2)",
        ]
    )
    result.stdout.fnmatch_lines(["slo findings: 1 (1 P1); 3 waived"])
    found = {(f["check"], f["site"]): f for f in doc["findings"]}
    accepted = found[("redis-eviction-policy", "production")]
    assert accepted["waiver"] == {
        "check": "redis-eviction-policy", "site": "production", "app": "redis-cluster", "match": None, "until": day(18),
        "owner": "sre-oncall", "reason": "migrating to the new cluster (OPS-1234)",
        "location": {"path": "checks/waivers.yaml", "line": 2}, "complete": True,
    }
    assert found[("redis-eviction-policy", "staging")]["waiver"] is None
    assert doc["summary"]["findings"] == 1 and doc["summary"]["waived"] == 3
    assert {w["check"]: w["state"] for w in doc["waivers"]} == {
        "redis-eviction-policy": "used",
        "values-in-sync": "used",
    }
    md = (gitops / "f.md").read_text()
    assert "## Waived (3): accepted until the date, not failing" in md
    assert f"| {day(18)} | sre-oncall | migrating to the new cluster (OPS-1234) | `checks/waivers.yaml:2` |" in md
    sarif = valid_sarif(gitops / "f.sarif")
    suppressed = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert len(suppressed) == 3
    policy = next(r for r in suppressed if r["ruleId"] == "redis-eviction-policy")
    assert policy["suppressions"][0]["status"] == "accepted"
    assert (
        policy["suppressions"][0]["justification"]
        == f"migrating to the new cluster (OPS-1234) (owner sre-oncall, until {day(18)})"
    )
    cases = {
        (c.get("classname"), c.get("name")): c for c in ElementTree.parse(gitops / "j.xml").getroot().iter("testcase")
    }
    case = cases[("sites.production.config.env.redis-cluster", "redis-eviction-policy")]
    assert "waived until" in (case.find("skipped").get("message") or "")  # type: ignore[union-attr]


def test_the_day_after_until_the_waiver_fails_at_its_line(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    write_waivers(gitops, policy_waiver(day(-1)))
    result, doc = run(pytester, "--site", "production")
    result.stdout.fnmatch_lines(
        [
            f"checks/waivers.yaml:2: waiver for redis-eviction-policy at production expired on {day(-1)} (owner "
            "sre-oncall)",
            "  reason was: migrating to the new cluster (OPS-1234)",
        ]
    )
    failed = {f["check"] for f in doc["findings"] if f["outcome"] == "failed"}
    assert failed == {"waiver", "redis-eviction-policy", "values-in-sync"}  # the finding fails again
    expired = next(f for f in doc["findings"] if f["check"] == "waiver")
    assert expired["location"] == {"path": "checks/waivers.yaml", "line": 2} and expired["kind"] == "waiver"
    assert {w["state"] for w in doc["waivers"]} == {"expired"}
    result.stdout.fnmatch_lines(["slo findings: 2 (1 P1, 1 P2); 1 catalog problem"])


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        (
            "  - check: redis-eviction-policy\n    until: 2026-12-15\n    reason: x\n",
            "checks/waivers.yaml:2: waiver for redis-eviction-policy: owner: missing; a waiver needs check, "
            "until, owner and reason*",
        ),
        (
            "  - check: redis-eviction-policy\n    until: next week\n    owner: a\n    reason: x\n",
            "checks/waivers.yaml:3: waiver for redis-eviction-policy: until: 'next week' is not a date*",
        ),
        (
            f"  - check: redis-eviction-policy\n    until: {day(200)}\n    owner: a\n    reason: x\n",
            f"checks/waivers.yaml:3: waiver for redis-eviction-policy: until: {day(200)} is 200 days ahead, more "
            "than slo_waiver_max_days (90)*",
        ),
        (
            f"  - check: redis-eviction-polcy\n    until: {day(3)}\n    owner: a\n    reason: x\n",
            "checks/waivers.yaml:2: waiver for redis-eviction-polcy: check: no check 'redis-eviction-polcy' in "
            "checks/*.yaml*",
        ),
        (
            f"  - check: redis-eviction-policy\n    site: prod\n    until: {day(3)}\n    owner: a\n    reason: x\n",
            "checks/waivers.yaml:3: waiver for redis-eviction-policy: site: no site 'prod' under sites/ (known: "
            "production, staging)*",
        ),
        (
            f"  - check: redis-eviction-policy\n    app: redis\n    until: {day(3)}\n    owner: a\n    reason: x\n",
            "checks/waivers.yaml:3: waiver for redis-eviction-policy: app: no app 'redis' in releases/*/apps "
            "(known: api-server, redis-cluster)*",
        ),
        (
            f"  - check: redis-eviction-policy\n    until: {day(3)}\n    owner: a\n    reason: x\n    annotation: "
            "yes\n",
            "checks/waivers.yaml:6: waiver for redis-eviction-policy: annotation: is not a field of a waiver*",
        ),
        # PyYAML takes it for a date and cannot build it: the whole file is refused at the line
        (
            "  - check: redis-eviction-policy\n    until: 2026-02-30\n    owner: a\n    reason: x\n",
            "checks/waivers.yaml:3: 2026-02-30 is not a date: day is out of range for month (write a real date, "
            "or quote it ('2026-02-30') if it is text)",
        ),
        (
            f"  - check: redis-eviction-policy\n    until: {day(3)}\n    owner: a\n    reason: x\n    match: "
            "{instance: [1]}\n",
            "checks/waivers.yaml:6: waiver for redis-eviction-policy: match.instance: is a list, not a label "
            "value (text or a number) (write e.g. 10.0.3.7:6379)",
        ),
        (
            f"  - check: redis-eviction-policy\n    until: {day(3)}T10:00:00\n    owner: a\n    reason: x\n",
            f"checks/waivers.yaml:3: waiver for redis-eviction-policy: until: {day(3)} 10:00:00 (a date and time) "
            "is not a date*",
        ),
    ],
    ids=[
        "no-owner",
        "not-a-date",
        "too-far",
        "unknown-check",
        "unknown-site",
        "unknown-app",
        "unknown-field",
        "impossible-date",
        "match-not-a-value",
        "a-time",
    ],
)
def test_a_malformed_waiver_is_an_error_at_its_line_and_waives_nothing(
    gitops: Path, pytester: pytest.Pytester, entry: str, said: str
) -> None:
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    write_waivers(gitops, entry)
    result, doc = run(pytester, "--site", "production")
    result.stdout.fnmatch_lines([said])
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 1 and outcomes["failed"] == 2 and outcomes["passed"] > 10
    assert not any(f.get("waiver") for f in doc["findings"])


def test_a_waiver_that_matches_nothing_in_a_full_run_is_a_warning(gitops: Path, pytester: pytest.Pytester) -> None:
    write_waivers(gitops, policy_waiver(day(5)))
    result, doc = run(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*warnings summary*",
            "checks/waivers.yaml:2",
            "  checks/waivers.yaml:2: SloWarning: stale waiver: waiver for redis-eviction-policy at production "
            "for redis-cluster matched no finding in this run*",
        ]
    )
    assert [w["state"] for w in doc["waivers"]] == ["stale"]
    assert "## Waivers to tidy (1)" in (gitops / "f.md").read_text()
    # a run that did not judge the waived check cannot call it stale
    narrowed = pytester.runpytest("-k", "not redis-eviction-policy")
    assert "stale waiver" not in narrowed.stdout.str()


def test_no_annotation_on_a_workload_can_waive_a_check(gitops: Path, pytester: pytest.Pytester) -> None:
    snapshot = shift_snapshot(
        REPO / "examples/snapshots/incident.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    )
    for item in snapshot["items"]:
        if item["kind"] == "Pod":
            item["metadata"].setdefault("annotations", {}).update(
                {"pytest-slo/waive": "kube-crashloop", "pytest-slo/waiver": "kube-crashloop until 2099-01-01"}
            )
    (gitops / "cluster.json").write_text(json.dumps(snapshot))
    result, doc = run(pytester, "--site", "production", "--kube-snapshot=cluster.json", "-m", "kube")
    assert {f["check"] for f in doc["findings"] if f["outcome"] == "failed"} >= {"kube-crashloop", "kube-oomkilled"}
    assert "xfailed" not in result.parseoutcomes()


# ----------------------------------------------------------------- match (unit)


def _waiver(**kw: object) -> Waiver:
    base: dict = {"check": "redis-memory-headroom", "until": TODAY, "owner": "o", "reason": "r", "line": 2}
    base.update(kw)
    return Waiver(**base)


def test_match_covers_only_the_objects_it_names() -> None:
    finding = {
        "check": "redis-memory-headroom",
        "site": "staging",
        "app": "redis-cluster",
        "outcome": "failed",
        "kind": "promql",
        "objects": [{"instance": "10.0.3.7:6379"}, {"instance": "10.0.3.8:6379"}],
    }
    one = _waiver(site="staging", match={"instance": "10.0.3.7:6379"})
    other = _waiver(site="staging", match={"instance": "10.0.3.8:6379"}, line=9)
    partial = waived(finding, [one], TODAY)
    assert partial is not None and not partial.complete  # a second instance breaching is not the accepted problem
    full = waived(finding, [one, other], TODAY)
    assert full is not None and full.complete and [w.line for w in full.waivers] == [2, 9]
    assert waived(finding, [_waiver(site="production")], TODAY) is None
    assert waived(finding, [_waiver(until=TODAY - dt.timedelta(days=1))], TODAY) is None
    # a pod is matched by its owner's name, or by the generated name a message shows: a
    # finding holds the owner (as its fingerprint does), so a rescheduled pod stays waived
    crash = {
        "check": "kube-crashloop",
        "site": "s",
        "app": "a",
        "outcome": "failed",
        "kind": "kube",
        "objects": [{"pod": "api-server", "container": "api"}],
    }
    for pod in ("api-server", "api-server-6b7f9c8d4-tq5ln"):
        assert waived(crash, [_waiver(check="kube-crashloop", match={"pod": pod})], TODAY).complete  # type: ignore[union-attr]
    assert waived(crash, [_waiver(check="kube-crashloop", match={"pod": "billing"})], TODAY) is None
    # a label fingerprints ignore (it changes on every rollout) matches nothing, never everything
    assert waived(crash, [_waiver(check="kube-crashloop", match={"container_id": "containerd://1ac5"})], TODAY) is None
    # a finding about the check as a whole needs a waiver without match
    whole = {
        "check": "redis-memory-headroom",
        "site": "s",
        "app": "a",
        "outcome": "failed",
        "kind": "config",
        "objects": [],
    }
    assert waived(whole, [one], TODAY) is None and waived(whole, [_waiver()], TODAY).complete  # type: ignore[union-attr]


def test_two_waivers_that_together_cover_a_finding_are_both_used(gitops: Path, pytester: pytest.Pytester) -> None:
    """values-in-sync drifts on two keys; each waiver names one: the finding is waived, and
    neither waiver is stale or merely active."""
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    set_line(gitops / ENV, "REDIS_MAXMEMORY", "1400mb")
    entry = (
        "  - check: values-in-sync\n    site: production\n    match: {{key: {key}}}\n    until: {until}\n    "
        "owner: platform\n    reason: render bot (OPS-7)\n"
    )
    write_waivers(
        gitops,
        entry.format(key="REDIS_EVICTION_POLICY", until=day(3)) + entry.format(key="REDIS_MAXMEMORY", until=day(3)),
    )
    _, doc = run(pytester)
    sync = next(f for f in doc["findings"] if f["check"] == "values-in-sync" and f["site"] == "production")
    lines = {sync["waiver"]["location"]["line"], *(loc["line"] for loc in sync["waiver"]["also"])}
    assert sync["waiver"]["complete"] and lines == {2, 8}
    assert [w["state"] for w in doc["waivers"]] == ["used", "used"]
