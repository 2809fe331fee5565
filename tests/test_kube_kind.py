"""Kube checks through the real kubernetes client (against a loopback API server) and
through a snapshot file: the incident yields the same findings both ways; the fix passes."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# pytester forgets the modules a run imported first: imported here, the kubernetes client is not
# imported anew inside each run's first live read, which --live-timeout 2 would then include.
import kubernetes.client  # noqa: F401
import pytest

from teststack.kubeapi import FakeKubeAPI, shift_snapshot

from .support import REPO


def selected(result: pytest.RunResult) -> dict[str, int]:
    """The outcomes of the items a run selected (how many it deselected grows with the catalog)."""
    return {k: v for k, v in result.parseoutcomes().items() if k != "deselected"}


def shifted(name: str, to: dt.datetime) -> dict:
    return shift_snapshot(REPO / "examples/snapshots" / name, to)


@pytest.fixture(params=["incident.json", "fixed.json"])
def cluster(
    request: pytest.FixtureRequest, gitops: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, FakeKubeAPI, Path]]:
    data = shifted(request.param, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2))
    snapshot = gitops / "snapshot.json"
    snapshot.write_text(json.dumps(data))
    with FakeKubeAPI(data, namespaces=["production"]) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield request.param, api, snapshot


def findings_of(pytester: pytest.Pytester, *args: str) -> list[dict]:
    result = pytester.runpytest("--site", "production", "-m", "live", "-k", "kube", "--findings=f.json", *args)
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    doc = json.loads((pytester.path / "f.json").read_text())
    assert doc["summary"]["skipped"] == 0 and doc["summary"]["errors"] == 0, text
    return doc["findings"]


def key(findings: list[dict]) -> list[tuple]:
    return [
        (f["check"], f["app"], f["message"].split(" (kubernetes")[0].split(" (snapshot")[0], json.dumps(f["location"]))
        for f in findings
    ]


def test_client_and_snapshot_give_the_same_findings(
    cluster: tuple[str, FakeKubeAPI, Path], pytester: pytest.Pytester
) -> None:
    scenario, api, snapshot = cluster
    live = findings_of(pytester, "--live", "--kube-context", "fake-kube")
    assert api.requests, "the kubernetes client never reached the loopback API server"
    assert api.methods == {"GET"}
    paths = {r.path for r in api.requests}
    assert "/api/v1/namespaces/production/pods" in paths
    assert "/apis/apps/v1/namespaces/production/statefulsets" in paths
    offline = findings_of(pytester, f"--kube-snapshot={snapshot}")
    assert [(f["check"], f["app"]) for f in live] == [(f["check"], f["app"]) for f in offline]
    if scenario == "fixed.json":
        assert live == []
        return
    checks = {(f["check"], f["app"]) for f in live}
    assert {
        ("kube-crashloop", "redis-cluster"),
        ("kube-oomkilled", "redis-cluster"),
        ("kube-resources-drift", "redis-cluster"),
    } <= checks
    by = {(f["check"], f["app"]): f for f in live}
    crash = by[("kube-crashloop", "redis-cluster")]
    # what is wrong first; the check's title is the finding's title, not the message's start
    assert (
        crash["message"].splitlines()[0]
        == "redis-cluster-2/redis: CrashLoopBackOff, 7 restarts, last terminated OOMKilled (exit 137)"
    )
    assert crash["title"] == "no container of the app is in CrashLoopBackOff"
    assert crash["evidence"]["time_from"] == "current time"
    oom = by[("kube-oomkilled", "redis-cluster")]
    assert [i["pod"] for i in oom["evidence"]["items"]] == ["redis-cluster-2", "redis-cluster-1"]  # latest first
    assert all(i["exitCode"] == 137 for i in oom["evidence"]["items"])
    drift = by[("kube-resources-drift", "redis-cluster")]
    env = (pytester.path / "sites/production/config.env").read_text().splitlines()
    limit_line = next(i for i, line in enumerate(env, 1) if line.startswith("REDIS_MEMORY_LIMIT="))
    assert drift["location"] == {"path": "sites/production/config.env", "line": limit_line}
    fields = {r["field"]: r for r in drift["evidence"]["fields"] if not r["same"]}
    assert (
        fields["resources.limits.memory"]["declared"] == "2Gi" and fields["resources.limits.memory"]["live"] == "512Mi"
    )
    assert (
        drift["message"].splitlines()[0]
        == "StatefulSet/redis-cluster redis: resources.limits.memory is 512Mi live, 2Gi declared (and 1 more)"
    )
    assert f"declared 2Gi      live 512Mi    (declared at sites/production/config.env:{limit_line})" in drift["message"]
    # config.env and the committed values say 2Gi already: the fix is a roll-out, not an edit
    assert drift["action"].startswith(
        "roll out redis-cluster (argocd app sync redis-cluster, or helm upgrade redis-cluster with "
    )
    assert drift["action"].endswith(
        ": StatefulSet/redis-cluster runs memory limit 512Mi, the committed values say 2Gi (and 1 more field)"
    )
    restarts = by[("kube-restarts", "redis-cluster")]
    assert re.fullmatch(
        r"redis-cluster-2/redis: 7 restarts, the last [45] min ago \(limit 5 while the last restart is within 24h\)",
        restarts["message"].splitlines()[0],
    )


def test_quantities_compare_by_value_not_spelling(gitops: Path, pytester: pytest.Pytester) -> None:
    snapshot = gitops / "fixed.json"
    snapshot.write_text((REPO / "examples/snapshots/fixed.json").read_text())
    assert '"memory": "2048Mi"' in snapshot.read_text()  # values.yaml says 2Gi
    assert findings_of(pytester, f"--kube-snapshot={snapshot}", "-k", "resources-drift") == []
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text().replace("REDIS_MEMORY_REQUEST=2Gi", "REDIS_MEMORY_REQUEST=2G"))
    subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            str(env),
            "--output",
            "sites/production/apps/redis-cluster/values.yaml",
        ],
        cwd=gitops,
        check=True,
        capture_output=True,
    )
    (finding,) = findings_of(pytester, f"--kube-snapshot={snapshot}", "-k", "resources-drift")
    assert (
        finding["message"].splitlines()[0]
        == "StatefulSet/redis-cluster redis: resources.requests.memory is 2048Mi live, 2G declared"
    )


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
        (
            "403",
            "kubernetes unavailable: 403 Forbidden: * may not list pods in namespace production (add verb list "
            "on pods to deploy/rbac.yaml's Role)",
        ),
        ("500", "kubernetes unavailable: 500 Internal Server Error*"),
    ],
)
def test_api_faults_error_with_one_line(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str, reason: str
) -> None:
    with FakeKubeAPI(
        shifted("incident.json", dt.datetime.now(dt.timezone.utc)), namespaces=["production"], mode=mode
    ) as api:  # type: ignore[arg-type]
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        result = pytester.runpytest(
            "--site", "production", "--live", "-m", "live", "-k", "kube and redis-cluster", "--live-timeout", "2"
        )
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", outcomes.get("error")) == 7 and "passed" not in outcomes
    result.stdout.fnmatch_lines(["*ERROR at setup of production/redis-cluster: kube-crashloop*", reason + "*"])


def test_an_echoed_token_reaches_neither_terminal_nor_findings(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sa-token-very-secret"

    def echo(method: str, path: str, query: object, authorization: str | None) -> tuple[int, dict]:
        # a proxy in front of the API server that echoes the request into its error
        return 502, {
            "kind": "Status",
            "status": "Failure",
            "code": 502,
            "message": f"upstream error; Authorization={authorization}",
        }

    with FakeKubeAPI(
        shifted("incident.json", dt.datetime.now(dt.timezone.utc)), namespaces=["production"], token=secret
    ) as api:
        monkeypatch.setattr(api, "answer", echo)
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        result = pytester.runpytest(
            "--site",
            "production",
            "--live",
            "-m",
            "live",
            "-k",
            "kube-crashloop and redis-cluster",
            "--live-timeout",
            "2",
            "--findings=f.json",
        )
    text = result.stdout.str() + result.stderr.str()
    findings = (pytester.path / "f.json").read_text()
    assert selected(result) == {"errors": 1}, text
    assert secret not in text and secret not in findings
    result.stdout.fnmatch_lines(
        ["kubernetes unavailable: 502 Bad Gateway: upstream error; Authorization=Bearer [*][*][*]*"]
    )
    assert "502 Bad Gateway: upstream error; Authorization=Bearer ***" in findings


def test_unreachable_api_and_missing_namespace(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeKubeAPI(shifted("incident.json", dt.datetime.now(dt.timezone.utc)), namespaces=["production"])
    with api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
    # stopped: the port refuses connections now
    result = pytester.runpytest(
        "--site", "production", "--live", "-m", "live", "-k", "kube-crashloop and redis-cluster", "--live-timeout", "2"
    )
    result.stdout.fnmatch_lines(["kubernetes unavailable: cannot connect to http://127.0.0.1:*: connection refused*"])
    assert selected(result) == {"errors": 1}
    with FakeKubeAPI(shifted("incident.json", dt.datetime.now(dt.timezone.utc)), namespaces=["production"]) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        env = gitops / "sites/production/config.env"
        env.write_text(env.read_text().replace("KUBE_NAMESPACE=production", "KUBE_NAMESPACE=prod"))
        result = pytester.runpytest(
            "--site",
            "production",
            "--live",
            "-m",
            "live",
            "-k",
            "kube-crashloop and redis-cluster",
            "--live-timeout",
            "2",
        )
    result.stdout.fnmatch_lines(["kubernetes unavailable: namespace 'prod' not found*"])
    assert selected(result) == {"errors": 1}


def test_an_app_that_is_not_there_is_one_finding(
    gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text() + "KUBE_APP_SELECTOR=app={app}\n")
    selector_line = len(env.read_text().splitlines())
    (gitops / "fixed.json").write_text((REPO / "examples/snapshots/fixed.json").read_text())
    args = (
        "--site",
        "production",
        "-k",
        "kube and redis-cluster",
        "--kube-snapshot=fixed.json",
        "--findings=f.json",
        "-rs",
    )
    result = pytester.runpytest(*args)
    assert selected(result) == {"failed": 1, "skipped": 6}, result.stdout.str()
    (finding,) = json.loads((gitops / "f.json").read_text())["findings"]
    assert finding["check"] == "kube-rollout"
    assert finding["message"].splitlines()[:3] == [
        "no pod or workload in namespace production matches app=redis-cluster",
        "  the namespace's 7 pods carry app.kubernetes.io/name: api-server (3), redis-backup (1), redis-cluster (3); "
        "app.kubernetes.io/instance: api-server (3), redis-cluster (3); none has app",
        "  3 pods have app.kubernetes.io/name=redis-cluster: set KUBE_APP_SELECTOR=app.kubernetes.io/name={app} "
        "in sites/production/config.env",
    ]
    assert finding["location"] == {"path": "sites/production/config.env", "line": selector_line}
    result.stdout.fnmatch_lines(
        ["SKIPPED * no pod or workload in namespace production matches app=redis-cluster (reported by kube-rollout)"]
    )
    # the same through the real client: the namespace's pods are one more list, still a GET
    with FakeKubeAPI(json.loads((gitops / "fixed.json").read_text()), namespaces=["production"]) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(gitops / "kubeconfig")))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        result = pytester.runpytest(
            "--site", "production", "--live", "-m", "kube", "-k", "redis-cluster", "--findings=live.json"
        )
    assert selected(result) == {"failed": 1, "skipped": 6}, result.stdout.str()
    assert api.methods == {"GET"}
    # one LIST of the namespace's pods serves the app's selection and what the namespace holds
    assert [r.query for r in api.requests if r.path == "/api/v1/namespaces/production/pods"] == [{}]
    (live,) = json.loads((gitops / "live.json").read_text())["findings"]
    assert live["message"].splitlines()[:3] == finding["message"].splitlines()[:3]
    # the nightly drift run has no rollout item: the first drift check reports, the other skips
    result = pytester.runpytest(
        "--site", "production", "-m", "drift and kube", "-k", "redis-cluster", "--kube-snapshot=fixed.json"
    )
    assert selected(result) == {"failed": 1, "skipped": 1}, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*redis-cluster: kube-image-drift*", "no pod or workload in namespace production matches app=redis-cluster"]
    )


def test_a_missing_values_file_is_an_error_not_a_finding(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "sites/production/apps/redis-cluster/values.yaml").unlink()
    (gitops / "fixed.json").write_text((REPO / "examples/snapshots/fixed.json").read_text())
    result = pytester.runpytest(
        "--site", "production", "-k", "kube and drift", "--kube-snapshot=fixed.json", "--findings=f.json"
    )
    text = result.stdout.str()
    assert "Traceback" not in text and "FileNotFoundError" not in text
    assert selected(result) == {"passed": 2, "errors": 2}, text
    findings = json.loads((gitops / "f.json").read_text())["findings"]
    assert {(f["check"], f["outcome"]) for f in findings} == {
        ("kube-image-drift", "error"),
        ("kube-resources-drift", "error"),
    }
    assert {f["message"] for f in findings} == {
        "sites/production/apps/redis-cluster/values.yaml: rendered values are missing (render them: python3 "
        "releases/1.15/render_values.py"
        " --env-file sites/production/config.env --output sites/production/apps/redis-cluster/values.yaml)"
    }


def test_an_old_snapshot_is_judged_at_the_current_time_unless_told(gitops: Path, pytester: pytest.Pytester) -> None:
    taken = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=3)
    (gitops / "old.json").write_text(json.dumps(shifted("incident.json", taken)))
    now = findings_of(pytester, "--kube-snapshot=old.json", "-k", "kube and redis-cluster")
    checks = {f["check"] for f in now}
    # the crash loop is a state, still true; the OOM kills and restarts are three days old
    assert "kube-crashloop" in checks and not {"kube-oomkilled", "kube-restarts"} & checks
    crash = next(f for f in now if f["check"] == "kube-crashloop")
    assert crash["evidence"]["time_from"] == "current time"
    assert abs(
        dt.datetime.fromisoformat(crash["evidence"]["time"].replace("Z", "+00:00")) - taken - dt.timedelta(days=3)
    ) < dt.timedelta(minutes=5)
    stamp = taken.strftime("%Y-%m-%dT%H:%M:%SZ")
    then = findings_of(
        pytester, "--kube-snapshot=old.json", f"--kube-snapshot-time={stamp}", "-k", "kube and redis-cluster"
    )
    oom = next(f for f in then if f["check"] == "kube-oomkilled")
    assert (oom["evidence"]["time"], oom["evidence"]["time_from"]) == (stamp, "--kube-snapshot-time")
    assert f", judged at {stamp} (--kube-snapshot-time)" in oom["message"].splitlines()[1]
    assert "kube-restarts" in {f["check"] for f in then}


def test_the_shipped_snapshots_with_their_time(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "incident.json").write_text((REPO / "examples/snapshots/incident.json").read_text())
    pytester.makeini(
        "[pytest]\nslo_kube_snapshot = incident.json\nslo_kube_snapshot_time = 2026-11-27T14:58:00+01:00\n"
    )
    found = findings_of(pytester, "-k", "kube-oomkilled and redis-cluster")
    assert [f["message"].splitlines()[0] for f in found] == [
        "redis-cluster-2/redis: OOMKilled (exit 137) 2 min ago, at 2026-11-27T13:55:47Z (and 1 more)"
    ]
    assert found[0]["evidence"]["time"] == "2026-11-27T13:58:00Z"


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--kube-snapshot=s.json", "--kube-snapshot-time=yesterday"],
            "",
            "ERROR: --kube-snapshot-time / slo_kube_snapshot_time: 'yesterday': expected an RFC 3339 time with "
            "its offset, such as 2026-11-27T13:58:00Z or 2026-11-27T14:58:00+01:00",
        ),
        (
            ["--kube-snapshot=s.json", "--kube-snapshot-time=2026-11-27T13:58:00"],
            "",
            "*'2026-11-27T13:58:00': expected an RFC 3339 time with its offset*",
        ),
        (
            [],
            "slo_kube_snapshot = s.json\nslo_kube_snapshot_time = 2026-02-30T00:00:00Z\n",
            "*slo_kube_snapshot_time: '2026-02-30T00:00:00Z': expected*",
        ),
        (
            ["--kube-snapshot-time=2026-11-27T13:58:00Z"],
            "",
            "ERROR: --kube-snapshot-time / slo_kube_snapshot_time: only applies with --kube-snapshot=FILE (a "
            "cluster is judged at the current time)",
        ),
    ],
)
def test_a_bad_snapshot_time_is_a_usage_error(
    gitops: Path, pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini("[pytest]\n" + ini)
    result = pytester.runpytest("--site", "production", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "snapshot.json*not valid JSON*"),
        ('{"apiVersion": "v1", "kind": "List", "items": {}}', "snapshot.json*items: expected a list*"),
        ('{"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod"}]}', "snapshot.json: items[[]0[]].*: missing*"),
    ],
)
def test_bad_snapshot_names_file_and_json_path(
    gitops: Path, pytester: pytest.Pytester, content: str, message: str
) -> None:
    (gitops / "snapshot.json").write_text(content)
    result = pytester.runpytest("--site", "production", "-k", "kube-crashloop", "--kube-snapshot=snapshot.json")
    text = result.stdout.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text
    result.stdout.fnmatch_lines([f"*{message}*"])
    assert selected(result) == {"errors": 2}  # one per app, never a finding


def test_a_postmortem_from_a_snapshot_is_detected_at_the_snapshot_time(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "incident.json").write_text((REPO / "examples/snapshots/incident.json").read_text())
    result = pytester.runpytest("--site", "production", "--kube-snapshot=incident.json",
                                "--kube-snapshot-time=2026-11-27T13:58:00Z", "--postmortem-dir=pm")
    assert selected(result)["failed"] >= 1
    (draft,) = (gitops / "pm").glob("*.md")
    text = draft.read_text()
    assert (
        "Detected by pytest-slo (judging the kube snapshot as of --kube-snapshot-time) at 2026-11-27 13:58:00 UTC."
        in text
    )
    assert "| 2026-11-27 13:58:00 | pytest-slo judging the kube snapshot" in text
