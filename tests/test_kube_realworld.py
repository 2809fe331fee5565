"""The pod verdicts on real-world pods: flanksource/is-healthy's fixtures, whose own verdicts
are the authority (tests/data/kube/is-healthy/verdicts.yaml), read through the real
``kubernetes`` client from the loopback API server and through a snapshot file."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_slo.kinds._kube_pods import kubectl_status
from pytest_slo.sources.kube import KubeSource
from teststack.kubeapi import FakeKubeAPI

from .kube_helpers import T, judge, state

FIXTURES = Path(__file__).resolve().parent / "data/kube/is-healthy"
VERDICTS: dict[str, dict[str, Any]] = yaml.safe_load((FIXTURES / "verdicts.yaml").read_text())["fixtures"]
POD_CHECKS = ("kube-crashloop", "kube-oomkilled", "kube-restarts", "kube-pods")
FAILING = ("unhealthy", "warning")


class _Loader(yaml.SafeLoader):
    """YAML as the API server would send it: times stay RFC 3339 strings, not datetimes."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def fixture_pod(name: str, now: dt.datetime) -> dict[str, Any]:
    """The fixture with is-healthy's ``@now-5m`` placeholders made relative to ``now``, as
    its health_test.go does with time.Now() before parsing."""
    units = {"m": "minutes", "h": "hours", "d": "days"}

    def moment(match: re.Match[str]) -> str:
        sign, amount, unit = match.groups()
        delta = dt.timedelta(**{units[unit]: int(amount)}) if sign else dt.timedelta(0)
        return (now - delta if sign == "-" else now + delta).strftime("%Y-%m-%dT%H:%M:%SZ")

    text = re.sub(r"@now(?:([+-])(\d+)([mhd]))?", moment, (FIXTURES / name).read_text())
    return yaml.load(text, _Loader)  # type: ignore[no-any-return]


def our_verdicts(pods: list[dict[str, Any]], namespace: str) -> dict[str, str]:
    """What we say of a pod: its kubectl status, and the first line of each failing check."""
    data = state(pods, [], namespace=namespace, selector="")
    said = {"status": kubectl_status(pods[0]).text}
    for check in POD_CHECKS:
        verdict = judge(check, data)
        if not verdict.ok:
            said[check] = verdict.message.splitlines()[0]
    return said


@pytest.fixture(scope="module")
def api() -> Any:
    with FakeKubeAPI() as server:
        yield server


def test_every_fixture_is_judged() -> None:
    assert sorted(VERDICTS) == sorted(p.name for p in FIXTURES.glob("*.yaml") if p.name != "verdicts.yaml")


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_real_world_pods_agree_with_is_healthy(name: str, api: FakeKubeAPI, tmp_path: Path) -> None:
    pod = fixture_pod(name, T)
    namespace = pod["metadata"]["namespace"]
    document = {"apiVersion": "v1", "kind": "List", "items": [pod]}
    api.load(document)
    api.clear_requests()
    with KubeSource.from_config(
        context="fake-kube", kubeconfig=api.kubeconfig(tmp_path / "kubeconfig"), timeout=5.0
    ) as live:
        served = live.pods(namespace)
    assert api.methods == {"GET"}
    snapshot = tmp_path / "dump.json"
    snapshot.write_text(json.dumps(document))
    dumped = KubeSource.from_snapshot(snapshot, as_of=T).pods(namespace)  # the validator takes them as they are
    assert served == dumped

    expected = VERDICTS[name]
    ours = our_verdicts(served, namespace)
    assert ours == expected["ours"]
    assert our_verdicts(dumped, namespace) == ours
    theirs = expected["theirs"].get("health")
    if theirs is None:
        return  # upstream asserts no health for it
    annotations = pod["metadata"].get("annotations") or {}
    if "expected-health" in annotations:  # the data says what the fixture says
        assert annotations["expected-health"] == theirs
    agree = (theirs in FAILING) == (len(ours) > 1)
    assert agree is ("differs" not in expected), f"is-healthy says {theirs}, we say {ours}"


def test_old_restarts_fail_when_judged_at_the_time_they_happened() -> None:
    pod = fixture_pod("pod-old-restarts.yaml", T)
    then = dt.datetime(2024, 5, 5, 18, 0, tzinfo=dt.timezone.utc)  # 1.6h after the webhook's last restart
    verdict = judge("kube-restarts", state([pod], [], namespace="cert-manager", now=then))
    assert verdict.message.startswith(
        "cert-manager-webhook-6fb57c4ff5-v5nm6/cert-manager: 257 restarts, the last 1.6h ago"
    )
    assert judge("kube-restarts", state([pod], [], namespace="cert-manager")).ok


def table() -> str:
    """fixture -> our verdict -> theirs, for the notes: ``python -m tests.test_kube_realworld``."""
    lines = ["| fixture | kubectl status | ours | is-healthy | agree |", "|---|---|---|---|---|"]
    for name, expected in sorted(VERDICTS.items()):
        ours = expected["ours"]
        failing = [c for c in ours if c != "status"]
        theirs = expected["theirs"]
        health = theirs.get("health")
        agree = (
            "n/a"
            if health is None
            else ("yes" if (health in FAILING) == bool(failing) else "no: " + expected["differs"][:60] + "...")
        )
        said = ", ".join(failing) or "pass"
        lines.append(
            f"| {name} | {ours['status']} | {said} | {health or '-'} / {theirs.get('status', '-')} | {agree} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
