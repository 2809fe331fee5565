"""pytest_slo.sources.kube: the real ``kubernetes`` client against the loopback FakeKubeAPI,
and the snapshot source that must answer identically.

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_slo.errors import ConfigError, QueryError, SourceUnavailable
from pytest_slo.sources.kube import (
    KubeSource,
    KubeTimeouts,
    field_selector_matches,
    label_selector_matches,
    parse_label_selector,
)
from teststack.kubeapi import FakeKubeAPI

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO / "examples" / "snapshots"
INCIDENT = SNAPSHOTS / "incident.json"
FIXED = SNAPSHOTS / "fixed.json"
SNAPSHOT_TIME = datetime(2026, 11, 27, 13, 58, tzinfo=timezone.utc)
REDIS = "app.kubernetes.io/name=redis-cluster"
API = "app.kubernetes.io/name=api-server"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, no ambient kubeconfig or in-cluster env may leak into these tests."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Any:
    with FakeKubeAPI(INCIDENT) as api:
        yield api


@pytest.fixture
def kubeconfig(fake: FakeKubeAPI, tmp_path: Path) -> Path:
    return fake.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def live(kubeconfig: Path) -> Any:
    with KubeSource.from_config(context="fake-kube", kubeconfig=str(kubeconfig), timeout=2.0) as source:
        yield source


@pytest.fixture
def snapshot() -> KubeSource:
    return KubeSource.from_snapshot(INCIDENT)


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["metadata"]["name"] for item in items]


def container_status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return next(cs for cs in pod["status"]["containerStatuses"] if cs["name"] == name)


def unavailable(call: Any) -> tuple[SourceUnavailable, float]:
    start = time.monotonic()
    with pytest.raises(SourceUnavailable) as info:
        call()
    return info.value, time.monotonic() - start


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- import cost


def test_importing_the_source_does_not_import_kubernetes() -> None:
    code = (
        "import sys, pytest_slo.sources.kube\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3'))\n"
        "assert not leaked, leaked\n"
        "pytest_slo.sources.kube.KubeSource.from_snapshot(sys.argv[1]).pods('production')\n"
        "assert 'kubernetes' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(INCIDENT)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- live answers


def test_pods_by_label_selector(live: KubeSource, fake: FakeKubeAPI) -> None:
    pods = live.pods("production", REDIS)

    assert names(pods) == ["redis-cluster-0", "redis-cluster-1", "redis-cluster-2"]
    assert {(p["apiVersion"], p["kind"]) for p in pods} == {("v1", "Pod")}
    broken = container_status(pods[2], "redis")
    assert broken["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert broken["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert broken["lastState"]["terminated"]["exitCode"] == 137
    assert broken["restartCount"] == 7
    # one LIST of the namespace per run, whatever the number of apps: the selector is applied here
    assert [(r.path, r.query) for r in fake.requests] == [("/api/v1/namespaces/production/pods", {})]
    assert names(live.pods("production", "app.kubernetes.io/name=api-server")) == [
        "api-server-6b7f9c8d4-2xkqp", "api-server-6b7f9c8d4-9hzvw", "api-server-6b7f9c8d4-tq5ln"
    ]
    assert len(fake.requests) == 1


def test_statefulset_comes_back_exactly_as_in_the_json(live: KubeSource) -> None:
    document = json.loads(INCIDENT.read_text())
    expected = next(i for i in document["items"] if i["kind"] == "StatefulSet")

    [statefulset] = live.statefulsets("production", REDIS)

    assert statefulset == expected
    redis = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert redis["name"] == "redis"
    assert redis["resources"] == {
        "limits": {"cpu": "500m", "memory": "512Mi"},
        "requests": {"cpu": "250m", "memory": "512Mi"},
    }
    assert (statefulset["spec"]["replicas"], statefulset["status"]["readyReplicas"]) == (3, 2)


QUERIES = [
    ("pods", ("production", REDIS)),
    ("pods", ("production", "app.kubernetes.io/name in (redis-cluster, api-server)")),
    ("pods", ("production", "app.kubernetes.io/name!=redis-cluster,!job-name")),
    ("pods", ("production", "app.kubernetes.io/name notin (redis-cluster),app.kubernetes.io/part-of")),
    ("pods", ("production", None)),
    ("statefulsets", ("production", REDIS)),
    ("deployments", ("production", API)),
    ("deployments", ("production", REDIS)),
    ("workloads", ("production", "app.kubernetes.io/name in (redis-cluster,api-server)")),
    ("events", ("production",)),
    ("events", ("production", "involvedObject.name=redis-cluster-2")),
    ("events", ("production", "type=Warning,involvedObject.kind=Pod")),
    ("events", ("production", "reason!=BackOff")),
]


@pytest.mark.parametrize("path", [INCIDENT, FIXED], ids=["incident", "fixed"])
@pytest.mark.parametrize(("method", "args"), QUERIES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(QUERIES)])
def test_snapshot_answers_exactly_like_the_live_api(
    path: Path, method: str, args: tuple[Any, ...], tmp_path: Path
) -> None:
    with FakeKubeAPI(path) as api:
        config = api.kubeconfig(tmp_path / "kubeconfig")
        with KubeSource.from_config(context="fake-kube", kubeconfig=config, timeout=2.0) as live:
            live_answer = getattr(live, method)(*args)
    snapshot_answer = getattr(KubeSource.from_snapshot(path), method)(*args)

    assert live_answer == snapshot_answer
    assert api.methods == {"GET"}


def test_selectors_select_what_they_say(snapshot: KubeSource) -> None:
    assert names(snapshot.pods("production", API)) == [
        "api-server-6b7f9c8d4-2xkqp",
        "api-server-6b7f9c8d4-9hzvw",
        "api-server-6b7f9c8d4-tq5ln",
    ]
    both = snapshot.pods("production", "app.kubernetes.io/name in (redis-cluster, api-server)")
    assert len(both) == 6
    assert names(snapshot.pods("production", "app.kubernetes.io/name=redis-backup")) == ["redis-backup-29929795-x7k2p"]
    assert [(w["kind"], w["metadata"]["name"]) for w in snapshot.workloads("production", "app.kubernetes.io/name")] == [
        ("StatefulSet", "redis-cluster"),
        ("Deployment", "api-server"),
    ]
    warnings = snapshot.events("production", "type=Warning,involvedObject.name=redis-cluster-2")
    assert sorted(e["reason"] for e in warnings) == ["BackOff", "Unhealthy"]
    # the node's OOMKilling event lives in namespace default
    assert [e["reason"] for e in snapshot.events("default")] == ["OOMKilling"]
    assert snapshot.pods("production", "app.kubernetes.io/name=nothing") == []


def test_label_selector_grammar() -> None:
    labels = {"app": "redis", "tier": "cache", "shard": "3"}
    assert label_selector_matches("app=redis,tier==cache", labels)
    assert label_selector_matches("app in (api, redis), tier notin (web)", labels)
    assert label_selector_matches("app,!missing,shard>2,shard<4", labels)
    assert label_selector_matches("missing!=x", labels)
    assert not label_selector_matches("app!=redis", labels)
    assert not label_selector_matches("missing in (x)", labels)
    assert not label_selector_matches("!app", labels)
    assert label_selector_matches("", labels) and label_selector_matches(None, None)
    for bad in ("app in (", "app=re dis", "a=b,,c=d", "-bad=x", "app in ()"):
        with pytest.raises(ValueError):
            parse_label_selector(bad)
    event = {"involvedObject": {"name": "redis-cluster-2"}, "type": "Warning"}
    assert field_selector_matches("involvedObject.name=redis-cluster-2,type!=Normal", event)
    assert not field_selector_matches("involvedObject.kind=Pod", event)


# --------------------------------------------------------------------------- read-only


def test_only_get_requests_are_sent(live: KubeSource, fake: FakeKubeAPI) -> None:
    live.pods("production", REDIS)
    live.workloads("production", REDIS)
    live.events("production", "involvedObject.name=redis-cluster-2")
    fake.add_namespace("staging")
    assert live.pods("staging") == []

    assert fake.methods == {"GET"}
    assert [r.path for r in fake.requests] == [
        "/api/v1/namespaces/production/pods",
        "/apis/apps/v1/namespaces/production/statefulsets",
        "/apis/apps/v1/namespaces/production/deployments",
        "/api/v1/namespaces/production/events",
        "/api/v1/namespaces/staging/pods",
        "/api/v1/namespaces/staging",  # an empty list: does the namespace exist?
    ]
    assert all("watch" not in r.query for r in fake.requests)
    seen = len(fake.requests)
    live.pods("staging", REDIS)  # listed once per run: neither a second LIST nor a namespace GET
    live.workloads("production", "app.kubernetes.io/name=api-server")
    assert len(fake.requests) == seen


def shipped_kube_reads(api: FakeKubeAPI, kubeconfig: Path) -> list[str]:
    """The paths the shipped kube checks request, for every app of the production site."""
    from pytest_slo.catalog.model import load_catalog
    from pytest_slo.kinds import KindRegistry, Target, builtin_kinds
    from pytest_slo.repo.site import Repo
    from pytest_slo.sources import LiveOptions, Sources

    registry = KindRegistry()
    for kind in builtin_kinds():
        registry.register(kind)
    checks = [c for c in load_catalog(REPO, registry.schemas).checks if c.kind == "kube"]
    site = Repo(REPO).site("production")
    sources = Sources(LiveOptions(timeout=2.0, kube_context="fake-kube", environ={"KUBECONFIG": str(kubeconfig)}))
    try:
        for app in site.apps:
            for check in checks:
                sources.read(registry["kube"].fetch, check, Target(site, app, sources))
    finally:
        sources.close()
    return [r.path for r in api.requests]


def test_rbac_role_grants_exactly_what_the_checks_read(fake: FakeKubeAPI, kubeconfig: Path, tmp_path: Path) -> None:
    fake.add_namespace("production")
    requests = shipped_kube_reads(fake, kubeconfig)
    assert "/api/v1/namespaces/production/events" in requests  # why each finding happened
    # a namespace with nothing in it: the source asks whether the namespace exists
    with FakeKubeAPI(None, namespaces=["production"]) as empty:
        requests += shipped_kube_reads(empty, empty.kubeconfig(tmp_path / "empty-kubeconfig"))
    assert "/api/v1/namespaces/production" in requests

    documents = list(yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()))
    kinds = {d["kind"]: d for d in documents}
    assert set(kinds) == {"ServiceAccount", "Role", "RoleBinding"}, "no ClusterRole: see the comments"
    role = kinds["Role"]
    assert role["metadata"]["namespace"] == "production"
    granted = {
        (group, resource, verb, tuple(rule.get("resourceNames") or ()))
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert {verb for *_, verb, _ in granted} <= {"get", "list"}

    def needed(path: str) -> tuple[str, str, str, str | None]:
        parts = path.strip("/").split("/")
        group = "" if parts[0] == "api" else parts[1]
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        if rest[0] == "namespaces" and len(rest) == 2:
            return ("", "namespaces", "get", rest[1])
        return (group, rest[2], "list", None)

    used = set()
    for path in requests:
        group, resource, verb, name = needed(path)
        grant = next(
            (
                (g, r, v, n)
                for g, r, v, n in granted
                if g == group and r == resource and v == verb and (not n or name in n)
            ),
            None,
        )
        assert grant, f"GET {path} is not granted by deploy/rbac.yaml"
        used.add(grant)
    # and nothing more: a grant the checks never use is privilege for nothing
    assert granted == used, f"deploy/rbac.yaml grants what no check reads: {sorted(granted - used)}"

    binding = kinds["RoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    account = kinds["ServiceAccount"]["metadata"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", **{k: account[k] for k in ("name", "namespace")}}]

    cronjob = next(
        d
        for d in yaml.safe_load_all((REPO / "deploy" / "nightly-drift-cronjob.yaml").read_text())
        if d["kind"] == "CronJob"
    )
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["name"]
    [container] = pod["containers"]
    assert container["command"] == ["/bin/sh", "-c"]  # the baseline loop: tests/test_baseline_live.py runs it
    assert "exec pytest --site production --live -m drift" in container["args"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"]["memory"]


def test_fake_api_refuses_and_records_other_methods(fake: FakeKubeAPI) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"{fake.url}/api/v1/namespaces/production/pods/redis-cluster-2",
        method="DELETE",
        headers={"Authorization": f"Bearer {fake.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(request, timeout=5)
    assert info.value.code == 405
    assert json.loads(info.value.read())["reason"] == "MethodNotAllowed"
    assert fake.requests[-1].method == "DELETE"
    assert fake.methods == {"DELETE"}


def test_fake_api_lists_look_like_the_real_api(fake: FakeKubeAPI) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"{fake.url}/api/v1/namespaces/production/pods?labelSelector=app.kubernetes.io%2Fname%3Dredis-cluster",
        headers={"Authorization": f"Bearer {fake.token}"},
    )
    with opener.open(request, timeout=5) as response:
        body = json.loads(response.read())
    assert (body["kind"], body["apiVersion"]) == ("PodList", "v1")
    assert body["metadata"]["resourceVersion"].isdigit()
    assert len(body["items"]) == 3
    assert "kind" not in body["items"][0] and "apiVersion" not in body["items"][0]


# --------------------------------------------------------------------------- faults


def test_401_wrong_token(fake: FakeKubeAPI, tmp_path: Path) -> None:
    config = fake.kubeconfig(tmp_path / "kubeconfig", token="stolen-and-revoked")
    source = KubeSource.from_config(context="fake-kube", kubeconfig=config, timeout=2.0)

    error, elapsed = unavailable(lambda: source.pods("production", REDIS))

    assert error.source == "kubernetes"
    assert error.reason == "401 Unauthorized: credentials rejected"
    assert "fake-kube" in (error.hint or "")
    assert elapsed < 2.0


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("401", "401 Unauthorized: credentials rejected"),
        (
            "403",
            "403 Forbidden: the service account monitoring/pytest-slo may not list pods in namespace production "
            "(add verb list on pods to deploy/rbac.yaml's Role)",
        ),
        ("500", "500 Internal Server Error: Internal error occurred: etcdserver: leader changed"),
    ],
)
def test_fault_modes_give_one_line_reasons(live: KubeSource, fake: FakeKubeAPI, mode: str, reason: str) -> None:
    fake.mode = mode  # type: ignore[assignment]

    error, elapsed = unavailable(lambda: live.pods("production", REDIS))

    assert error.reason == reason
    assert "\n" not in str(error)
    assert str(error).startswith(f"kubernetes unavailable: {reason}")
    assert elapsed < 2.0
    assert len(fake.requests) == 1  # no retries on status codes


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (502, "502 Bad Gateway: upstream error; Authorization=Bearer ***"),
        (200, "answered with something that is not JSON: b'upstream error; Authorization=Bearer ***'"),
    ],
)
def test_a_body_echoing_the_token_is_scrubbed(fake: FakeKubeAPI, tmp_path: Path, status: int, reason: str) -> None:
    """A proxy answering plain text with the request's Authorization header in it."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"upstream error; Authorization={self.headers.get('Authorization')}".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = fake.kubeconfig(tmp_path / "kubeconfig", token="sa-token-very-secret")
        config.write_text(config.read_text().replace(fake.url, f"http://127.0.0.1:{server.server_address[1]}"))
        with KubeSource.from_config(context="fake-kube", kubeconfig=config, timeout=2.0) as source:
            error, _ = unavailable(lambda: source.pods("production", REDIS))
    finally:
        server.shutdown()
        server.server_close()
    assert "sa-token-very-secret" not in str(error)
    assert str(error).startswith("kubernetes unavailable: ") and str(error).endswith(reason)


def test_403_names_the_missing_rule(live: KubeSource, fake: FakeKubeAPI) -> None:
    fake.forbidden.add(("list", "statefulsets"))
    assert names(live.pods("production", REDIS))  # pods are still allowed

    error, _ = unavailable(lambda: live.workloads("production", REDIS))

    assert error.reason == (
        "403 Forbidden: the service account monitoring/pytest-slo may not list statefulsets.apps in namespace "
        "production (add verb list on statefulsets.apps to deploy/rbac.yaml's Role)"
    )


def test_403_on_the_namespace_check(live: KubeSource, fake: FakeKubeAPI) -> None:
    fake.add_namespace("staging")
    fake.forbidden.add(("get", "namespaces"))

    error, _ = unavailable(lambda: live.pods("staging"))

    assert error.reason == (
        "403 Forbidden: the service account monitoring/pytest-slo may not get namespace staging "
        "(add verb get on namespaces, resourceNames [staging], to deploy/rbac.yaml's Role)"
    )


def test_hang_ends_after_the_read_timeout_without_retries(fake: FakeKubeAPI, kubeconfig: Path) -> None:
    fake.mode = "hang"
    source = KubeSource.from_config(context="fake-kube", kubeconfig=str(kubeconfig), timeout=1.0)

    error, elapsed = unavailable(lambda: source.pods("production", REDIS))

    assert error.reason == f"GET {fake.url}/api/v1/namespaces/production/pods: no answer within 1.0 s"
    assert 0.9 < elapsed < 3.0
    assert len(fake.requests) == 1  # urllib3's retry loop did not multiply the timeout


def test_closed_port_is_connection_refused(tmp_path: Path) -> None:
    port = closed_port()
    with FakeKubeAPI(INCIDENT) as api:  # only to write the kubeconfig
        config = api.kubeconfig(tmp_path / "kubeconfig")
        url = api.url
    text = config.read_text().replace(url, f"http://127.0.0.1:{port}")
    config.write_text(text)
    source = KubeSource.from_config(context="fake-kube", kubeconfig=config, timeout=1.0)

    error, elapsed = unavailable(lambda: source.statefulsets("production", REDIS))

    assert error.reason == f"cannot connect to http://127.0.0.1:{port}: connection refused"
    assert elapsed < 2.0


def test_connect_timeout(tmp_path: Path) -> None:
    """A loopback listener whose accept queue is full drops further SYNs: connect() hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
        with FakeKubeAPI() as api:  # only to write the kubeconfig
            config = api.kubeconfig(tmp_path / "kubeconfig")
            url = api.url
        config.write_text(config.read_text().replace(url, f"http://127.0.0.1:{port}"))
        source = KubeSource.from_config(kubeconfig=config, timeout=1.0)
        try:
            error, elapsed = unavailable(lambda: source.pods("production"))
        finally:
            for filler in fillers:
                filler.close()

    assert error.reason == f"cannot connect to http://127.0.0.1:{port}: no answer within 1.0 s"
    assert elapsed < 3.0


def test_stopped_fake_is_connection_refused(fake: FakeKubeAPI, live: KubeSource) -> None:
    url = fake.url
    live.pods("production", REDIS)  # a pooled keep-alive connection exists now
    fake.stop()

    error, elapsed = unavailable(lambda: live.events("production"))

    assert error.reason in (
        f"cannot connect to {url}: connection refused",
        f"{url} closed the connection without an answer (GET /api/v1/namespaces/production/events)",
    )
    assert elapsed < 2.0


def test_unknown_namespace(live: KubeSource, fake: FakeKubeAPI, snapshot: KubeSource) -> None:
    error, elapsed = unavailable(lambda: live.pods("staging", REDIS))

    assert error.reason == "namespace 'staging' not found"
    assert [r.path for r in fake.requests] == ["/api/v1/namespaces/staging/pods", "/api/v1/namespaces/staging"]
    assert elapsed < 2.0
    assert unavailable(lambda: snapshot.pods("staging", REDIS))[0].reason == "namespace 'staging' not found"


def test_bad_selector_is_a_query_error_live_and_from_snapshot(live: KubeSource, snapshot: KubeSource) -> None:
    for source in (live, snapshot):
        with pytest.raises(QueryError, match="app in"):
            source.pods("production", "app in (")


def test_unloadable_kubeconfig(tmp_path: Path) -> None:
    error, _ = unavailable(lambda: KubeSource.from_config(kubeconfig=tmp_path / "missing.yaml"))
    assert error.reason.startswith(f"cannot load kubeconfig {tmp_path / 'missing.yaml'}")

    with FakeKubeAPI() as api:
        config = api.kubeconfig(tmp_path / "kubeconfig")
    error, _ = unavailable(lambda: KubeSource.from_config(context="nope", kubeconfig=config))
    assert error.reason.startswith(f"cannot load kubeconfig {config} (context 'nope'):")
    assert "\n" not in error.reason


def test_in_cluster_config_is_chosen_from_the_environment(
    fake: FakeKubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KUBERNETES_SERVICE_HOST set, no explicit kubeconfig → the pod's service account (HTTPS).

    The fake speaks plain HTTP, so the TLS handshake fails: that proves which path was taken
    and how a TLS problem reads.
    """
    import certifi
    from kubernetes.config import incluster_config

    token = tmp_path / "token"
    token.write_text(fake.token)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", certifi.where())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake.port))

    source = KubeSource.from_config(timeout=1.0)
    assert source.origin == f"kubernetes in-cluster service account at https://127.0.0.1:{fake.port}"
    error, elapsed = unavailable(lambda: source.pods("production", REDIS))
    assert error.reason.startswith(f"cannot connect to https://127.0.0.1:{fake.port}: TLS error"), error.reason
    assert "\n" not in error.reason
    assert elapsed < 2.0

    # an explicit kubeconfig wins over the environment
    config = fake.kubeconfig(tmp_path / "kubeconfig")
    with KubeSource.from_config(kubeconfig=config) as explicit:
        assert explicit.origin == f"kubernetes context 'fake-kube' at {fake.url}"
        assert names(explicit.statefulsets("production")) == ["redis-cluster"]

    # and in-cluster outside a pod says so in one line
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "absent"))
    error, _ = unavailable(lambda: KubeSource.from_config(in_cluster=True))
    assert error.reason.startswith("cannot load in-cluster configuration:")


def test_timeouts_value_object() -> None:
    assert KubeTimeouts() == KubeTimeouts(connect=10.0, read=10.0, retries=0)
    assert (KubeTimeouts.of(1).connect, KubeTimeouts.of(1).read) == (1.0, 1.0)
    assert (KubeTimeouts.of((3, 30)).connect, KubeTimeouts.of((3, 30)).read) == (3.0, 30.0)
    assert KubeTimeouts.of(None) == KubeTimeouts()
    assert KubeTimeouts(connect=2, read=5, retries=1).worst_case == 9.0
    retries = KubeTimeouts(retries=2).urllib3_retries()
    assert (retries.connect, retries.read, retries.status) == (2, 0, 0)
    with pytest.raises(ValueError):
        KubeTimeouts(read=0)


# --------------------------------------------------------------------------- snapshots


def test_a_snapshot_is_judged_now_unless_told_when() -> None:
    # A dump records no time of its own: its newest timestamp is only when the last thing in
    # it happened, and read days later, old OOM kills would pass for recent ones.
    before = datetime.now(timezone.utc)
    source = KubeSource.from_snapshot(INCIDENT)
    assert before <= source.now() <= datetime.now(timezone.utc)
    assert source.now() == source.now()  # one moment per source, not the clock at each call
    assert KubeSource.from_snapshot(INCIDENT, as_of=SNAPSHOT_TIME).now() == SNAPSHOT_TIME
    assert KubeSource.from_snapshot(FIXED, as_of="2026-11-28T00:00:00Z").now() == SNAPSHOT_TIME + timedelta(
        hours=10, minutes=2
    )
    with pytest.raises(ValueError, match="as_of must be an RFC 3339 time"):
        KubeSource.from_snapshot(INCIDENT, as_of="yesterday")


def test_live_now_is_the_wall_clock(live: KubeSource) -> None:
    assert abs((live.now() - datetime.now(timezone.utc)).total_seconds()) < 5
    assert live.origin.startswith("kubernetes context") and KubeSource.from_snapshot(INCIDENT).origin.startswith(
        "snapshot"
    )


def test_incident_and_fixed_snapshots_tell_the_story() -> None:
    window = timedelta(hours=2)

    def recent_oom(source: KubeSource, within: timedelta) -> list[str]:
        found = []
        for pod in source.pods("production", REDIS):
            terminated = container_status(pod, "redis")["lastState"].get("terminated") or {}
            finished = terminated.get("finishedAt")
            if terminated.get("reason") == "OOMKilled" and finished:
                if source.now() - datetime.fromisoformat(finished.replace("Z", "+00:00")) <= within:
                    found.append(pod["metadata"]["name"])
        return found

    incident, fixed = (
        KubeSource.from_snapshot(INCIDENT, as_of=SNAPSHOT_TIME),
        KubeSource.from_snapshot(FIXED, as_of=SNAPSHOT_TIME),
    )
    assert recent_oom(incident, window) == ["redis-cluster-2"]
    assert recent_oom(incident, timedelta(hours=24)) == ["redis-cluster-1", "redis-cluster-2"]
    assert recent_oom(fixed, window) == []
    assert recent_oom(fixed, timedelta(days=7)) == ["redis-cluster-0"]

    [sts] = fixed.statefulsets("production", REDIS)
    assert sts["status"]["readyReplicas"] == 3
    assert sts["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "2Gi"
    assert sts["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] == "2048Mi"
    for pod in fixed.pods("production", "app.kubernetes.io/name in (redis-cluster,api-server)"):
        assert all(cs["ready"] and "waiting" not in cs["state"] for cs in pod["status"]["containerStatuses"])
    crashlooping = [
        pod["metadata"]["name"]
        for pod in incident.pods("production")
        if any(
            (cs["state"].get("waiting") or {}).get("reason") == "CrashLoopBackOff"
            for cs in pod["status"]["containerStatuses"]
        )
    ]
    assert crashlooping == ["api-server-6b7f9c8d4-tq5ln", "redis-cluster-2"]


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "snapshot.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _incident_with(change: Any) -> dict[str, Any]:
    document = json.loads(INCIDENT.read_text())
    change(document)
    return document


def _pod_index(document: dict[str, Any], name: str) -> int:
    return next(i for i, item in enumerate(document["items"]) if item["metadata"]["name"] == name)


INCIDENT_DOC = json.loads(INCIDENT.read_text())
R2 = _pod_index(INCIDENT_DOC, "redis-cluster-2")


@pytest.mark.parametrize(
    ("document", "message", "line"),
    [
        (
            '{"kind": "List", "items": [\n  {"kind": "Pod",}\n]}',
            "$: not valid JSON: Expecting property name enclosed in double quotes at line 2 column 18",
            2,
        ),
        ("", "$: not valid JSON: Expecting value at line 1 column 1", 1),
        ([], "$: expected a `v1 List` object, got a list", None),
        ({"kind": "Pod", "items": []}, "kind: expected 'List', got 'Pod'", None),
        ({"apiVersion": "v1", "kind": "List"}, "items: missing", None),
        ({"apiVersion": "v1", "kind": "List", "items": {"kind": "Pod"}}, "items: expected a list, got an object", None),
        (
            {"apiVersion": "v1", "kind": "List", "items": ["redis-cluster-0"]},
            "items[0]: expected an object, got a string",
            None,
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": []}}],
            },
            "items[0].metadata: missing",
            None,
        ),
        (
            _incident_with(lambda d: d["items"][R2]["status"].__setitem__("containerStatuses", {"name": "redis"})),
            f"items[{R2}].status.containerStatuses: expected a list, got an object (Pod production/redis-cluster-2)",
            None,
        ),
        (
            _incident_with(lambda d: d["items"][R2]["status"]["containerStatuses"][1].__setitem__("restartCount", "7")),
            f"items[{R2}].status.containerStatuses[1].restartCount: expected a number, got a string (Pod "
            "production/redis-cluster-2)",
            None,
        ),
        (
            _incident_with(
                lambda d: d["items"][R2]["spec"]["containers"][0]["resources"]["limits"].__setitem__("memory", "512MB")
            ),
            f"items[{R2}].spec.containers[0].resources.limits.memory: '512MB' is not a Kubernetes quantity",
            None,
        ),
        (
            _incident_with(lambda d: d["items"][R2]["metadata"].pop("namespace")),
            f"items[{R2}].metadata.namespace: missing (Pod redis-cluster-2)",
            None,
        ),
    ],
    ids=[
        "not-json",
        "empty-file",
        "top-level-list",
        "not-a-list-kind",
        "no-items",
        "items-not-a-list",
        "item-not-object",
        "pod-without-metadata",
        "containerStatuses-not-a-list",
        "restartCount-string",
        "bad-quantity",
        "pod-without-namespace",
    ],
)
def test_malformed_snapshot_names_file_and_json_path(
    tmp_path: Path, document: Any, message: str, line: int | None
) -> None:
    path = _write(tmp_path, document)

    with pytest.raises(ConfigError) as info:
        KubeSource.from_snapshot(path)

    error = info.value
    assert error.path == str(path)
    assert error.message.startswith(message)
    assert error.line == line
    assert str(error).startswith(f"{path}")
    assert "kubectl get pods,deployments,statefulsets,events" in (error.hint or "")


def test_missing_snapshot_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="snapshot file not found") as info:
        KubeSource.from_snapshot(tmp_path / "nope.json")
    assert info.value.path == str(tmp_path / "nope.json")


def test_snapshot_ignores_kinds_it_does_not_serve(tmp_path: Path) -> None:
    document = _incident_with(
        lambda d: d["items"].append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis-cluster"}})
    )
    source = KubeSource.from_snapshot(_write(tmp_path, document))
    assert names(source.pods("production", REDIS)) == ["redis-cluster-0", "redis-cluster-1", "redis-cluster-2"]


def test_answers_are_copies(snapshot: KubeSource) -> None:
    snapshot.pods("production", REDIS)[0]["metadata"]["name"] = "mutated"
    assert names(snapshot.pods("production", REDIS))[0] == "redis-cluster-0"


def test_shared_answers_are_the_runs_own_objects(snapshot: KubeSource) -> None:
    shared = snapshot.pods("production", REDIS, shared=True)
    assert snapshot.pods("production", REDIS, shared=True)[0] is shared[0]  # no copy of thousands of pods
    assert snapshot.pods("production", REDIS)[0] is not shared[0]
    assert (
        snapshot.workloads("production", REDIS, shared=True)[0]
        is snapshot.statefulsets("production", REDIS, shared=True)[0]
    )


def test_events_are_listed_once_per_namespace_for_every_caller(live: KubeSource, fake: FakeKubeAPI) -> None:
    everything = live.events("production")
    warnings = live.events("production", "type=Warning,involvedObject.name=redis-cluster-2")
    assert sorted(e["reason"] for e in warnings) == ["BackOff", "Unhealthy"]
    assert len(everything) > len(warnings) and all(e["kind"] == "Event" for e in everything)
    assert (
        live.events("production", shared=True)[0] is live.events("production", shared=True)[0]
    )  # the postmortem's too
    assert live.events("production")[0] is not live.events("production", shared=True)[0]
    assert [r.path for r in fake.requests] == ["/api/v1/namespaces/production/events"]
    with pytest.raises(QueryError, match="invalid field selector"):
        live.events("production", "involvedObject.name")


def test_every_source_words_a_network_failure_alike() -> None:
    """One wording of the same failure, whatever library wrapped it (sources._network)."""
    import socket

    from pytest_slo.sources._network import network_reason

    def wrapped(error: BaseException) -> Exception:
        try:
            try:
                raise error
            except OSError as inner:
                raise RuntimeError("library wrapper") from inner
        except RuntimeError as outer:
            return outer

    assert (
        network_reason(wrapped(ConnectionRefusedError(111, "Connection refused")), "redis://r:6379", "r")
        == "cannot connect to redis://r:6379: connection refused"
    )
    assert (
        network_reason(wrapped(socket.gaierror(-2, "Name or service not known")), "http://p:9090", "p")
        == "cannot connect to http://p:9090: host p does not resolve"
    )
    assert (
        network_reason(wrapped(ConnectionResetError(104, "reset")), "https://k:6443", "k")
        == "https://k:6443 closed the connection without an answer"
    )
    assert (
        network_reason(wrapped(OSError(113, "No route to host")), "https://k:6443", "k")
        == "cannot connect to https://k:6443: host unreachable"
    )
