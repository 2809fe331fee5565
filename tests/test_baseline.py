"""Fingerprints and baselines on the offline gate: "what is new since last night"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from pytest_slo.findings.fingerprint import fingerprint, identity, owner_of_pod

from .support import ENV, set_line
from .test_reports import sarif_schema


def run(pytester: pytest.Pytester, name: str, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest(
        "--site", "production", f"--findings={name}.json", f"--findings-md={name}.md", f"--sarif={name}.sarif", *args
    )
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return result, json.loads((pytester.path / f"{name}.json").read_text())


def states(doc: dict) -> dict[str, str | None]:
    return {f["check"]: f["baseline_state"] for f in doc["findings"]}


def valid_sarif(path: Path) -> dict:
    doc = json.loads(path.read_text())
    errors = list(jsonschema.validators.validator_for(sarif_schema())(sarif_schema()).iter_errors(doc))
    assert not errors, [e.message for e in errors[:5]]
    return doc


# ------------------------------------------------------------------ fingerprints (unit)


def test_generated_pod_names_are_cut_to_their_owner_and_stable_names_stay() -> None:
    assert owner_of_pod("api-server-6b7f9c8d4-tq5ln") == "api-server"  # a ReplicaSet's pod
    assert owner_of_pod("fluent-bit-x7k2p") == "fluent-bit"  # a DaemonSet's pod
    assert owner_of_pod("redis-cluster-2") == "redis-cluster-2"  # a StatefulSet's ordinal
    assert owner_of_pod("api-server") == "api-server"
    # vowels and 0/1/3 never appear in a generated suffix: a real word is kept
    assert owner_of_pod("billing-queue") == "billing-queue"


def test_a_fingerprint_ignores_values_times_and_volatile_labels() -> None:
    a = fingerprint(
        "kube-crashloop", "production", "api-server", [{"pod": "api-server-6b7f9c8d4-tq5ln", "container": "api"}]
    )
    b = fingerprint(
        "kube-crashloop", "production", "api-server", [{"pod": "api-server-7c8d9f5b6-zx2vw", "container": "api"}]
    )
    assert a == b  # rescheduled: the same problem
    series = {"instance": "10.0.3.7:6379", "pod": "redis-cluster-0", "container_id": "containerd://1ac5", "uid": "9f2e"}
    assert identity(series) == {"instance": "10.0.3.7:6379", "pod": "redis-cluster-0"}
    assert fingerprint("c", "s", "a", [series]) == fingerprint(
        "c", "s", "a", [dict(series, container_id="containerd://ffff")]
    )
    assert fingerprint("c", "s", "a", [series]) != fingerprint("c", "s", "a", [dict(series, instance="10.0.3.8:6379")])
    assert fingerprint("c", "production", "a") != fingerprint("c", "staging", "a") != fingerprint("c", "staging", "b")
    # order and repeats of objects do not matter
    x, y = {"instance": "a:1"}, {"instance": "b:1"}
    assert fingerprint("c", "s", "a", [x, y]) == fingerprint("c", "s", "a", [y, x, y])


def test_fingerprints_are_the_same_across_runs_machines_and_xdist(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    _, first = run(pytester, "a")
    # another checkout of the same repository at another path
    other = pytester.path / "elsewhere"
    for name in ("sites", "releases", "checks"):
        shutil.copytree(gitops / name, other / name)
    (other / "pytest.ini").write_text("[pytest]\n")
    moved = pytester.runpytest(
        "--site", "production", f"--rootdir={other}", f"--slo-root={other}", f"--findings={other}/b.json", "-n", "2"
    )
    assert "Traceback" not in moved.stdout.str()
    second = json.loads((other / "b.json").read_text())
    prints = {f["nodeid"]: f["fingerprint"] for f in first["findings"]}
    assert prints and prints == {f["nodeid"]: f["fingerprint"] for f in second["findings"]}
    assert len(set(prints.values())) == len(prints)


# ---------------------------------------------------------------- the three-run sequence


def test_unchanged_new_and_fixed_against_the_baseline(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    set_line(env, "REDIS_EVICTION_POLICY", "noeviction")
    _, base = run(pytester, "night1")
    assert {f["check"] for f in base["findings"]} == {"redis-eviction-policy", "values-in-sync"}
    assert all(f["baseline_state"] is None for f in base["findings"]) and "absent" not in base

    again, same = run(pytester, "night2", "--baseline=night1.json")
    again.stdout.fnmatch_lines(["slo findings: 2 (0 new, 2 unchanged; 0 fixed since baseline); 1 P1, 1 P2"])
    assert set(states(same).values()) == {"unchanged"}
    assert same["absent"] == [] and same["summary"]["baseline"]["unchanged"] == 2

    # the eviction policy is fixed; the maxmemory headroom breaks
    set_line(env, "REDIS_EVICTION_POLICY", "allkeys-lru")
    set_line(env, "REDIS_MAXMEMORY", "1900mb")
    third, doc = run(pytester, "night3", "--baseline=night2.json")
    third.stdout.fnmatch_lines(["slo findings: 2 (2 new, 0 unchanged; 1 fixed since baseline); 2 P2"])
    # values-in-sync now drifts on REDIS_MAXMEMORY, not on the policy: a new problem
    assert states(doc) == {"redis-maxmemory-headroom": "new", "values-in-sync": "new"}
    assert [(f["check"], f["baseline_state"]) for f in doc["absent"]] == [("redis-eviction-policy", "absent")]
    md = (gitops / "night3.md").read_text()
    assert "**2 new**, 0 unchanged, 1 fixed since baseline" in md
    assert (
        "## Fixed since baseline (1)" in md
        and "| `redis-eviction-policy` | production / redis-cluster | `REDIS_EVICTION_POLICY=noeviction`" in md
    )
    assert "| `redis-maxmemory-headroom` | production / redis-cluster | **new** | failed |" in md
    sarif = valid_sarif(gitops / "night3.sarif")
    results = {(r["ruleId"], r["baselineState"]) for r in sarif["runs"][0]["results"]}
    assert results == {
        ("redis-maxmemory-headroom", "new"),
        ("values-in-sync", "new"),
        ("redis-eviction-policy", "absent"),
    }
    by_rule = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    fp = {f["check"]: f["fingerprint"] for f in doc["findings"]}
    assert by_rule["values-in-sync"]["partialFingerprints"] == {"pytestSloFinding/v1": fp["values-in-sync"]}


def test_a_finding_that_narrows_is_unchanged_and_one_that_spreads_is_new(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    """One of two drifted keys fixed: still the known problem. A third key drifting: new."""
    committed = gitops / "sites/production/apps/redis-cluster/values.yaml"
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    set_line(gitops / ENV, "REDIS_MAXMEMORY", "1400mb")
    run(pytester, "base")
    set_line(gitops / ENV, "REDIS_MAXMEMORY", "1536mb")  # back to what the committed file says
    _, narrowed = run(pytester, "narrow", "--baseline=base.json")
    assert states(narrowed)["values-in-sync"] == "unchanged"
    committed.write_text(committed.read_text())  # unchanged file; now a new key drifts
    set_line(gitops / ENV, "REDIS_MAXMEMORY_SAMPLES", "7")
    _, spread = run(pytester, "spread", "--baseline=base.json")
    assert states(spread)["values-in-sync"] == "new"


def test_fail_on_new_fails_only_new_findings(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    set_line(env, "REDIS_EVICTION_POLICY", "noeviction")
    run(pytester, "base")
    quiet, _ = run(pytester, "same", "--baseline=base.json", "--fail-on=new", "-rx")
    assert quiet.ret == 0
    quiet.stdout.fnmatch_lines(
        [
            "XFAIL sites/production/config.env::redis-cluster::redis-eviction-policy - unchanged since the "
            "baseline base.json (*); --fail-on=new fails only new findings",
        ]
    )
    assert quiet.parseoutcomes().get("xfailed") == 2 and "failed" not in quiet.parseoutcomes()
    set_line(env, "REDIS_MAXMEMORY", "1900mb")
    loud, doc = run(pytester, "more", "--baseline=base.json", "--fail-on=new", "--junitxml=j.xml")
    assert loud.ret == 1
    assert loud.parseoutcomes()["failed"] == 2  # the new headroom finding, and values-in-sync drifting on a new key
    assert states(doc)["redis-eviction-policy"] == "unchanged" and doc["summary"]["accepted"] == 1
    cases = {c.get("name"): c for c in ElementTree.parse(gitops / "j.xml").getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["redis-maxmemory-headroom"].iter("property")}
    assert props["slo_baseline_state"] == "new" and props["slo_fingerprint"] == next(
        f["fingerprint"] for f in doc["findings"] if f["check"] == "redis-maxmemory-headroom"
    )
    skipped = cases["redis-eviction-policy"].find("skipped")
    assert skipped is not None and "unchanged since the baseline" in (skipped.get("message") or "")


# ------------------------------------------------------------------- bad baselines


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            None,
            "--baseline: */nope.json: no such file (pass the findings.json an earlier run wrote with --findings=PATH)",
        ),
        (
            '{"summary": {"fingerprints": "v1"}, "findings": [',
            "--baseline: */nope.json: not JSON (line 1: *); a truncated file?*",
        ),
        ("[1, 2]", "--baseline: */nope.json: not a pytest-slo findings file (no summary and findings)*"),
        (
            '{"summary": {}, "findings": []}',
            "--baseline: */nope.json: written without v1 fingerprints (by an older pytest-slo)*",
        ),
        (
            '{"summary": {"fingerprints": "v1", "sites": ["staging"]}, "findings": []}',
            "--baseline: */nope.json: written for site staging, this run checks production (use the baseline of "
            "the same site*",
        ),
        (
            '{"summary": {"fingerprints": "v1", "repo": "github.com/other/gitops"}, "findings": []}',
            "--baseline: */nope.json: written for repository github.com/other/gitops, this run checks *",
        ),
        (
            '{"summary": {"fingerprints": "v1"}, "findings": [{"check": "x"}]}',
            "--baseline: */nope.json: not a pytest-slo findings file: finding 1: 'severity' is a required property*",
        ),
        (
            '{"summary": {"fingerprints": "v1", "sites": "production"}, "findings": []}',
            "--baseline: */nope.json: not a pytest-slo findings file: summary: sites: 'production' is not of "
            "type 'array'*",
        ),
        (
            '{"summary": {"fingerprints": "v1"}, "findings": [FINDING]}',
            "--baseline: */nope.json: finding 1 has no check or fingerprint*",
        ),
        (
            '{"summary": {"fingerprints": "v1"}, "findings": [FINDING_FP]}'.replace(
                "FINDING_FP", '{"fingerprint": "abc", "objects": "abc", ' + "FIELDS"
            ),
            "--baseline: */nope.json: not a pytest-slo findings file: finding 1: objects: 'abc' is not of type "
            "'array', 'null'*",
        ),
    ],
    ids=[
        "missing",
        "truncated",
        "not-findings",
        "old",
        "other-site",
        "other-repo",
        "malformed-finding",
        "sites-not-a-list",
        "no-fingerprint",
        "objects-not-a-list",
    ],
)
def test_a_bad_baseline_is_a_usage_error_naming_the_file(
    gitops: Path, pytester: pytest.Pytester, content: str | None, said: str
) -> None:
    if content is not None:
        fields = '"check": "x", "severity": "P1", "outcome": "failed", "nodeid": "n", "title": "t", "message": "m"'
        (gitops / "nope.json").write_text(
            content.replace("FINDING", "{" + fields + "}").replace("FIELDS", fields + "}")
        )
    result = pytester.runpytest("--site", "production", "--baseline=nope.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {said}"])
    assert "Traceback" not in result.stderr.str()


def test_fail_on_is_checked(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--site", "production", "--fail-on=new")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --fail-on=new needs --baseline=PATH (last run's findings.json)*"])
    (gitops / "b.json").write_text('{"summary": {"fingerprints": "v1"}, "findings": []}')
    result = pytester.runpytest("--site", "production", "--baseline=b.json", "--fail-on=some")
    result.stderr.fnmatch_lines(["ERROR: --fail-on / slo_fail_on: 'some' is not all or new"])
    result = pytester.runpytest("--site", "production", "--baseline", "b.json")
    result.stderr.fnmatch_lines(["ERROR: --baseline b.json: write --baseline=b.json"])


def test_ini_twins(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    run(pytester, "base")
    pytester.makeini("[pytest]\nslo_baseline = base.json\nslo_fail_on = new\n")
    result, doc = run(pytester, "again")
    assert result.ret == 0 and set(states(doc).values()) == {"unchanged"}
