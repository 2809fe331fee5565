"""Baselines, waivers and regressions against the real local stack (Redis, redis_exporter,
Prometheus with backfilled history): the nightly loop as a team runs it."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from teststack.scenario import RECOVERED, Scenario, Stack

from .support import ENV, STACK, set_line
from .test_baseline import states, valid_sarif

pytestmark = pytest.mark.servers(*STACK)


def nightly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: Stack, name: str, *args: str
) -> tuple[pytest.RunResult, dict]:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    result = pytester.runpytest(
        "--site",
        "production",
        "--live",
        "-m",
        "not kube",
        f"--findings={name}.json",
        f"--findings-md={name}.md",
        f"--sarif={name}.sarif",
        *args,
    )
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return result, json.loads((pytester.path / f"{name}.json").read_text())


def test_the_nightly_loop_on_the_incident(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, night1 = nightly(pytester, monkeypatch, incident, "night1")
    live = {f["check"] for f in night1["findings"] if f["kind"] in ("promql", "redis")}
    assert live == {
        "slo-latency-p99", "slo-error-rate", "redis-memory-headroom", "redis-memory-growth", "redis-oom-errors",
        "redis-eviction-policy-live", "redis-maxmemory-live",
    }, first.stdout.str()
    # the passing live checks keep their values too, for tomorrow's regressions
    observed = {o["check"] for o in night1["observations"]}
    promql = {f["check"] for f in night1["findings"] if f["kind"] == "promql"}
    assert promql == observed and all(o["time"].endswith("Z") for o in night1["observations"])

    second, night2 = nightly(pytester, monkeypatch, incident, "night2", "--baseline=night1.json", "-n", "2")
    n = len(night1["findings"])
    second.stdout.fnmatch_lines([f"slo findings: {n} (0 new, {n} unchanged; 0 fixed since baseline)*"])
    assert {f["nodeid"]: f["fingerprint"] for f in night2["findings"]} == {
        f["nodeid"]: f["fingerprint"] for f in night1["findings"]
    }

    # the team declares what runs (noeviction): the live drift check is fixed, the gate's
    # policy check and the stale render are what is new
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    third, night3 = nightly(pytester, monkeypatch, incident, "night3", "--baseline=night2.json")
    new = sorted(c for c, s in states(night3).items() if s == "new")
    assert new == ["redis-eviction-policy", "values-in-sync"], third.stdout.str()
    assert [f["check"] for f in night3["absent"]] == ["redis-eviction-policy-live"]
    third.stdout.fnmatch_lines([f"slo findings: {n + 1} (2 new, {n - 1} unchanged; 1 fixed since baseline)*"])
    valid_sarif(pytester.path / "night3.sarif")
    md = (pytester.path / "night3.md").read_text()
    assert "**2 new**" in md and "| `redis-eviction-policy-live` | production / redis-cluster | redis*" not in md
    assert "## Fixed since baseline (1)" in md


def test_a_waiver_for_one_live_instance(
    incident: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    instance = incident.exporter.address
    body = (
        "waivers:\n"
        "  - check: redis-memory-headroom\n"
        "    site: production\n"
        f"    match: {{instance: \"{instance}\"}}\n"
        f"    until: {today + dt.timedelta(days=18)}\n"
        "    owner: sre-oncall\n"
        "    reason: migrating to the new cluster (OPS-1234)\n"
    )
    (gitops / "checks/waivers.yaml").write_text(body)
    result, doc = nightly(pytester, monkeypatch, incident, "w", "-rx")
    result.stdout.fnmatch_lines(
        ["XFAIL sites/production/config.env::redis-cluster::redis-memory-headroom - waived until * by sre-oncall: *"]
    )
    headroom = next(f for f in doc["findings"] if f["check"] == "redis-memory-headroom")
    assert headroom["waiver"]["complete"] and headroom["objects"][0]["instance"] == instance
    sarif = valid_sarif(pytester.path / "w.sarif")
    assert [r["ruleId"] for r in sarif["runs"][0]["results"] if r.get("suppressions")] == ["redis-memory-headroom"]
    (gitops / "checks/waivers.yaml").write_text(
        body.replace(str(today + dt.timedelta(days=18)), str(today - dt.timedelta(days=1)))
    )
    result, doc = nightly(pytester, monkeypatch, incident, "w2")
    result.stdout.fnmatch_lines(
        [
            "checks/waivers.yaml:2: waiver for redis-memory-headroom at production expired on "
            f"{today - dt.timedelta(days=1)} (owner sre-oncall)"
        ]
    )
    assert next(f for f in doc["findings"] if f["check"] == "redis-memory-headroom")["waiver"] is None


@pytest.fixture
def growing() -> Iterator[Stack]:
    """A healthy Redis a third full, of this test alone: it writes more into it."""
    scenario = Scenario("regression", "64mb", "allkeys-lru", 0.3, 3600, None, 0.0, RECOVERED)
    with Stack(scenario) as stack:
        yield stack


def _used_percent(stack: Stack) -> float:
    answer = requests.get(
        f"{stack.prometheus_url}/api/v1/query",
        params={"query": "100 * redis_memory_used_bytes / redis_memory_max_bytes"},
        timeout=5,
    ).json()
    return float(answer["data"]["result"][0]["value"][1])


def test_a_regression_fails_under_the_absolute_threshold(
    growing: Stack, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("-k", "redis-memory-headroom")
    _, night1 = nightly(pytester, monkeypatch, growing, "night1", *args)
    before = next(o for o in night1["observations"] if o["check"] == "redis-memory-headroom")["values"][0]["value"]
    assert before < 45 and not night1["findings"]
    # a day's growth: 15 more points of maxmemory, still under the 80% threshold
    client = growing.redis.client()
    try:
        key = 0
        while _used_percent(growing) < before + 15 and key < 4000:
            client.set(f"grow:{key}", b"g" * 16384)
            key += 1
            if key % 64 == 0:
                time.sleep(1.1)  # a scrape
    finally:
        client.close()
    time.sleep(1.5)
    _, night2 = nightly(pytester, monkeypatch, growing, "night2", "--baseline=night1.json", *args)
    [finding] = night2["findings"]
    now = finding["evidence"]["values"][0]["value"]
    assert now < 80 and now - before > 10
    first = finding["message"].splitlines()[0]
    instance = growing.exporter.address
    assert first.startswith(
        f'instance="{instance}": {now:.4g}% now, {before:.4g}% at {night1["observations"][0]["time"]} (+'
    )
    assert first.endswith("points since the baseline, more than the 10 points allowed); still within < 80%")
    assert finding["baseline_state"] == "new" and finding["location"]["path"] == ENV
    rows = finding["evidence"]["regression"]["series"]
    assert rows[0]["baseline_value"] == before and rows[0]["value"] == now
    # without a baseline the same state passes: only the absolute threshold is judged
    again, alone = nightly(pytester, monkeypatch, growing, "alone", *args)
    assert not alone["findings"] and again.ret == 0


def test_the_cronjobs_baseline_loop(incident: Stack, gitops: Path, tmp_path: Path) -> None:
    """deploy/nightly-drift-cronjob.yaml's own script, run twice as two nights: the first
    night has no baseline and fails on the drift; the second compares with the first, finds
    nothing new and passes, and keeps last night's findings as baseline.json."""
    import os
    import subprocess
    import sys

    import yaml

    from teststack.kubeapi import shift_snapshot

    from .support import REPO

    cronjob = next(
        d
        for d in yaml.safe_load_all((REPO / "deploy/nightly-drift-cronjob.yaml").read_text())
        if d["kind"] == "CronJob"
    )
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    snapshot = shift_snapshot(
        REPO / "examples/snapshots/incident.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    )
    (tmp_path / "cluster.json").write_text(json.dumps(snapshot))
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        **incident.env(),
        "OUT_DIR": str(out),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        # the cluster of the test: a kubectl dump instead of the in-cluster API
        "PYTEST_ADDOPTS": f"-p no:cacheprovider --kube-snapshot={tmp_path / 'cluster.json'}",
    }
    env.pop("CI", None)

    def night() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*container["command"], *container["args"]],
            cwd=gitops,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = night()
    assert first.returncode == 1, first.stdout + first.stderr
    assert not (out / "baseline.json").exists()
    night1 = (out / "findings.json").read_text()
    drift = {f["check"] for f in json.loads(night1)["findings"]}
    assert {"redis-eviction-policy-live", "kube-resources-drift"} <= drift
    second = night()
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"slo findings: {len(drift)} (0 new, {len(drift)} unchanged; 0 fixed since baseline)" in second.stdout
    assert (out / "baseline.json").read_text() == night1  # last night's artifact, kept
    assert {f["baseline_state"] for f in json.loads((out / "findings.json").read_text())["findings"]} == {"unchanged"}
