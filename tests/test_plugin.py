"""The offline gate as a user runs it: options, selection, node ids, header."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import assert_counts


def test_help_shows_the_slo_group_with_ini_twins(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    out = " ".join(result.stdout.str().split())
    assert "pytest-slo: config, values and live SLO checks" in out
    for flag, ini in [("--site", "slo_site"), ("--app", "slo_app"), ("--live", "slo_live"), ("--findings", "slo_findings"), ("--prometheus-concurrency", "slo_prometheus_concurrency")]:
        assert flag in out and f"[ini: {ini}]" in out


def test_site_runs_exactly_that_sites_gate(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_project="def test_not_part_of_the_gate():\n    assert False\n")
    result = pytester.runpytest("--site", "production", "-v")
    assert_counts(result)
    out = result.stdout.str()
    assert "live check: pass --live" not in out  # -v shows SKIPPED, not the reason
    assert "slo: site=production app=all live=off" in out
    assert "sites/production/config.env::redis-cluster::redis-eviction-policy PASSED" in out
    assert "sites/production/config.env::config-schema PASSED" in out
    assert "staging" not in out.replace("site=production", "")
    assert "test_project" not in out


def test_app_selection_keeps_site_items_and_drops_other_apps(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--site", "production", "--app", "redis-cluster", "--co", "-q")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert ids == sorted(ids, key=lambda i: (i.count("::"), i)) or ids
    assert all("api-server" not in i for i in ids)
    assert "sites/production/config.env::config-schema" in ids
    assert "sites/production/config.env::redis-cluster::values-in-sync" in ids


def test_no_site_means_every_site(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--app", "redis-cluster", "-q", "--co")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert {i.split("::")[0] for i in ids if i.startswith("sites/")} == {"sites/production/config.env", "sites/staging/config.env"}
    assert not any("api-server" in i for i in ids)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "prod"], "--site: unknown site prod * (known sites: production, staging)"),
        (["--app", "redis"], "--app: unknown app redis * (known apps: api-server, redis-cluster)"),
        (["--postmortem-window", "6hours"], "--postmortem-window / slo_postmortem_window: '6hours' is not a Prometheus duration*"),
        (["--live-timeout", "soon"], "--live-timeout / slo_live_timeout: 'soon' is not a number"),
    ],
)
def test_unknown_site_or_app_is_a_usage_error(gitops: Path, pytester: pytest.Pytester, args: list[str], message: str) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_ini_twins_select_too(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nslo_site = staging\nslo_app = api-server\n")
    result = pytester.runpytest("--co", "-q")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert ids and all(i.startswith(("sites/staging/", "checks/")) for i in ids)
    assert not any("redis-cluster" in i for i in ids)


def test_node_ids_are_sorted_and_stable(gitops: Path, pytester: pytest.Pytester) -> None:
    first = pytester.runpytest("--co", "-q").stdout.lines
    second = pytester.runpytest("--co", "-q", "-p", "no:randomly").stdout.lines
    ids = [line for line in first if "::" in line]
    assert ids == [line for line in second if "::" in line]
    site_ids = [i for i in ids if i.startswith("sites/production/")]
    assert site_ids[:2] == ["sites/production/config.env::config-parse", "sites/production/config.env::config-schema"]


def test_a_single_item_can_be_selected_by_node_id(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("sites/production/config.env::redis-cluster::redis-eviction-policy", "-q")
    assert_counts(result)


def test_live_items_are_skipped_without_live(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("checks", "live.yaml").write_text(
        "checks:\n  - id: live-one\n    title: t\n    kind: live-dummy\n    severity: P2\n    runbook: checks/runbooks/redis.md\n"
    )
    pytester.makeconftest(
        """
import pytest
from pytest_slo import Kind, Verdict

class Dummy(Kind):
    name = "live-dummy"
    live = True
    scope = "site"
    def fetch(self, check, target):
        return 42
    def evaluate(self, check, target, data):
        return Verdict(data == 42, "data was not 42")

def pytest_slo_kinds():
    return [Dummy()]
"""
    )
    result = pytester.runpytest("--site", "production", "-rs", "-k", "live-one")
    assert result.parseoutcomes() == {"skipped": 1, "deselected": result.parseoutcomes()["deselected"]}
    result.stdout.fnmatch_lines(["*live check: pass --live*"])
    result = pytester.runpytest("--site", "production", "--live", "-k", "live-one", "-m", "live")
    assert result.parseoutcomes()["passed"] == 1 and "failed" not in result.parseoutcomes()


def test_a_kind_registered_twice_names_the_plugin(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
from pytest_slo import Kind
class C(Kind):
    name = "config"
    def evaluate(self, check, target, data): ...
def pytest_slo_kinds():
    return [C()]
"""
    )
    result = pytester.runpytest("--site", "production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*plugin *conftest*: hook pytest_slo_kinds: kind 'config' is already registered by *"])
