"""Kube checks through the real kubernetes client (against a loopback API server) and
through a snapshot file: the incident yields the same findings both ways; the fix passes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from teststack.kubeapi import FakeKubeAPI, shift_snapshot

from .conftest import REPO


def shifted(name: str, to: dt.datetime) -> dict:
    return shift_snapshot(REPO / "examples/snapshots" / name, to)


@pytest.fixture(params=["incident.json", "fixed.json"])
def cluster(request: pytest.FixtureRequest, gitops: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FakeKubeAPI, Path]]:
    data = shifted(request.param, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2))
    snapshot = gitops / "snapshot.json"
    snapshot.write_text(json.dumps(data))
    with FakeKubeAPI(data, namespaces=["production"]) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield request.param, api, snapshot


def findings_of(pytester: pytest.Pytester, *args: str) -> list[dict]:
    result = pytester.runpytest("--site", "production", "-m", "live", "-k", "kube", "--findings", "f.json", *args)
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    doc = json.loads((pytester.path / "f.json").read_text())
    assert doc["summary"]["skipped"] == 0 and doc["summary"]["errors"] == 0, text
    return doc["findings"]


def key(findings: list[dict]) -> list[tuple]:
    return [(f["check"], f["app"], f["message"].split(" (kubernetes")[0].split(" (snapshot")[0], json.dumps(f["location"])) for f in findings]


def test_client_and_snapshot_give_the_same_findings(cluster: tuple[str, FakeKubeAPI, Path], pytester: pytest.Pytester) -> None:
    scenario, api, snapshot = cluster
    live = findings_of(pytester, "--live", "--kube-context", "fake-kube")
    assert api.requests, "the kubernetes client never reached the loopback API server"
    assert api.methods == {"GET"}
    paths = {r.path for r in api.requests}
    assert "/api/v1/namespaces/production/pods" in paths
    assert "/apis/apps/v1/namespaces/production/statefulsets" in paths
    offline = findings_of(pytester, "--kube-snapshot", str(snapshot))
    assert [(f["check"], f["app"]) for f in live] == [(f["check"], f["app"]) for f in offline]
    if scenario == "fixed.json":
        assert live == []
        return
    checks = {(f["check"], f["app"]) for f in live}
    assert {("kube-crashloop", "redis-cluster"), ("kube-oomkilled", "redis-cluster"), ("kube-resources-drift", "redis-cluster")} <= checks
    by = {(f["check"], f["app"]): f for f in live}
    crash = by[("kube-crashloop", "redis-cluster")]
    assert "redis-cluster-2/redis: CrashLoopBackOff, 7 restarts, last terminated OOMKilled (exit 137)" in crash["message"]
    oom = by[("kube-oomkilled", "redis-cluster")]
    assert [i["pod"] for i in oom["evidence"]["items"]] == ["redis-cluster-1", "redis-cluster-2"]
    assert all(i["exitCode"] == 137 for i in oom["evidence"]["items"])
    drift = by[("kube-resources-drift", "redis-cluster")]
    env = (pytester.path / "sites/production/config.env").read_text().splitlines()
    limit_line = next(i for i, line in enumerate(env, 1) if line.startswith("REDIS_MEMORY_LIMIT="))
    assert drift["location"] == {"path": "sites/production/config.env", "line": limit_line}
    fields = {r["field"]: r for r in drift["evidence"]["fields"] if not r["same"]}
    assert fields["resources.limits.memory"]["declared"] == "2Gi" and fields["resources.limits.memory"]["live"] == "512Mi"
    assert f"declared 2Gi      live 512Mi    (declared at sites/production/config.env:{limit_line})" in drift["message"]


def test_quantities_compare_by_value_not_spelling(gitops: Path, pytester: pytest.Pytester) -> None:
    snapshot = gitops / "fixed.json"
    snapshot.write_text((REPO / "examples/snapshots/fixed.json").read_text())
    assert '"memory": "2048Mi"' in snapshot.read_text()  # values.yaml says 2Gi
    assert findings_of(pytester, "--kube-snapshot", str(snapshot), "-k", "resources-drift") == []
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text().replace("REDIS_MEMORY_REQUEST=2Gi", "REDIS_MEMORY_REQUEST=2G"))
    subprocess.run(
        [sys.executable, "releases/1.15/render_values.py", "--env-file", str(env), "--output", "sites/production/apps/redis-cluster/values.yaml"],
        cwd=gitops, check=True, capture_output=True,
    )
    (finding,) = findings_of(pytester, "--kube-snapshot", str(snapshot), "-k", "resources-drift")
    assert "resources.requests.memory declared 2G, live 2048Mi" in finding["message"]


def test_drift_marker_selects_the_nightly_set(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--site", "production", "-m", "drift", "--co", "-q")
    ids = sorted(line.split("::")[-1] for line in result.stdout.lines if "::" in line)
    assert ids == sorted(
        ["kube-image-drift", "kube-resources-drift"] * 2 + ["redis-eviction-policy-live", "redis-maxmemory-live"]
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("401", "kubernetes unavailable: 401 Unauthorized: credentials rejected"),
        ("403", "kubernetes unavailable: 403 Forbidden: * may not list pods in namespace production (add verbs get,list on pods to deploy/rbac.yaml's Role)"),
        ("500", "kubernetes unavailable: 500 Internal Server Error*"),
    ],
)
def test_api_faults_error_with_one_line(gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str, reason: str) -> None:
    with FakeKubeAPI(shifted("incident.json", dt.datetime.now(dt.timezone.utc)), namespaces=["production"], mode=mode) as api:  # type: ignore[arg-type]
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        result = pytester.runpytest("--site", "production", "--live", "-m", "live", "-k", "kube and redis-cluster", "--live-timeout", "2")
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 6 and "passed" not in outcomes
    result.stdout.fnmatch_lines(["*ERROR at setup of production/redis-cluster: kube-crashloop*", reason + "*"])


def test_unreachable_api_and_missing_namespace(gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeKubeAPI(shifted("incident.json", dt.datetime.now(dt.timezone.utc)), namespaces=["production"])
    with api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
    # stopped: the port refuses connections now
    result = pytester.runpytest("--site", "production", "--live", "-m", "live", "-k", "kube-crashloop and redis-cluster", "--live-timeout", "2")
    result.stdout.fnmatch_lines(["kubernetes unavailable: cannot connect to http://127.0.0.1:*: connection refused*"])
    with FakeKubeAPI(shifted("incident.json", dt.datetime.now(dt.timezone.utc)), namespaces=["production"]) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        env = gitops / "sites/production/config.env"
        env.write_text(env.read_text().replace("KUBE_NAMESPACE=production", "KUBE_NAMESPACE=prod"))
        result = pytester.runpytest("--site", "production", "--live", "-m", "live", "-k", "kube-crashloop and redis-cluster", "--live-timeout", "2")
    result.stdout.fnmatch_lines(["kubernetes unavailable: namespace 'prod' not found*"])


def test_no_matching_pods_is_a_finding(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text() + "KUBE_APP_SELECTOR=app={app}\n")
    (gitops / "fixed.json").write_text((REPO / "examples/snapshots/fixed.json").read_text())
    result = pytester.runpytest("--site", "production", "-k", "kube-crashloop and redis-cluster", "--kube-snapshot", "fixed.json")
    result.stdout.fnmatch_lines(["*no pods match namespace production, selector app=redis-cluster*"])
    assert result.parseoutcomes()["failed"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "snapshot.json*not valid JSON*"),
        ('{"apiVersion": "v1", "kind": "List", "items": {}}', "snapshot.json*items: expected a list*"),
        ('{"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod"}]}', "snapshot.json: items[[]0[]].*: missing*"),
    ],
)
def test_bad_snapshot_names_file_and_json_path(gitops: Path, pytester: pytest.Pytester, content: str, message: str) -> None:
    (gitops / "snapshot.json").write_text(content)
    result = pytester.runpytest("--site", "production", "-k", "kube-crashloop", "--kube-snapshot", "snapshot.json")
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text
    result.stdout.fnmatch_lines([f"*{message}*"])
    assert result.parseoutcomes().get("errors", 0) == 2 and "failed" not in result.parseoutcomes()
