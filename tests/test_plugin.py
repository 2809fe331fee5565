"""The offline gate as a user runs it: options, selection, node ids, header."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .support import assert_counts


def test_help_shows_the_slo_group_with_ini_twins(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    out = " ".join(result.stdout.str().split())
    assert "pytest-slo: config, values and live SLO checks" in out
    for flag, ini in [
        ("--site", "slo_site"),
        ("--app", "slo_app"),
        ("--live", "slo_live"),
        ("--findings", "slo_findings"),
        ("--prometheus-concurrency", "slo_prometheus_concurrency"),
    ]:
        # the twin is named in the flag's own entry, before the next entry's twin
        assert re.search(rf"(?<![\w-]){re.escape(flag)}[= ][^\[]*\[ini: {ini}\]", out), (flag, ini)


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
    every = [line for line in result.stdout.lines if "::" in line]
    # the SLO files are catalogs too: validated whichever app is selected, collected last
    ids = [i for i in every if not i.startswith("slos/")]
    assert every == [*ids, "slos/api-server.yaml::catalog"]
    # catalog files, then the site-wide items, then the app's items, each sorted
    assert ids == sorted(ids, key=lambda i: (i.count("::"), i))
    assert ids[0] == "checks/kube.yaml::catalog"
    assert all("api-server" not in i for i in ids)
    assert "sites/production/config.env::config-schema" in ids
    assert "sites/production/config.env::redis-cluster::values-in-sync" in ids


def test_no_site_means_every_site(gitops: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--app", "redis-cluster", "-q", "--co")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert {i.split("::")[0] for i in ids if i.startswith("sites/")} == {
        "sites/production/config.env",
        "sites/staging/config.env",
    }
    assert not any("api-server" in i for i in ids if not i.startswith("slos/"))  # the SLO file's own catalog item stays


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "prod"], "--site: unknown site prod * (known sites: production, staging)"),
        (["--app", "redis"], "--app: unknown app redis * (known apps: api-server, redis-cluster)"),
        (
            ["--postmortem-window", "6hours"],
            "--postmortem-window / slo_postmortem_window: '6hours' is not a Prometheus duration*",
        ),
        (["--live-timeout", "soon"], "--live-timeout / slo_live_timeout: 'soon' is not a number"),
    ],
)
def test_unknown_site_or_app_is_a_usage_error(
    gitops: Path, pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_ini_twins_select_too(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nslo_site = staging\nslo_app = api-server\n")
    result = pytester.runpytest("--co", "-q")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert ids and all(i.startswith(("sites/staging/", "checks/", "slos/")) for i in ids)
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
        "checks:\n  - id: live-one\n    title: t\n    kind: live-dummy\n    severity: P2\n    runbook: "
        "checks/runbooks/redis.md\n"
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


WRAPPER = """
import pytest
from pytest_slo import Kind, Verdict

SEEN = []

class Team(Kind):
    name = "team"
    scope = "site"
    def evaluate(self, check, target, data):
        return Verdict(check.spec["expect_ok"], "the team check says no")

@pytest.hookimpl(wrapper=True)
def pytest_slo_kinds():
    returned = yield
    SEEN.extend(sorted(k.name for kinds in returned for k in kinds))
    return [*returned, [Team()]]

def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("kinds seen by the wrapper: " + ",".join(SEEN))
"""


def test_a_wrapper_hookimpl_in_conftest_sees_and_extends_the_kinds(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(WRAPPER)
    (gitops / "checks" / "team.yaml").write_text(
        "checks:\n"
        "  - {id: team-yes, title: t, kind: team, severity: P4, runbook: checks/runbooks/redis.md, expect_ok: true}\n"
        "  - {id: team-no, title: t, kind: team, severity: P4, runbook: checks/runbooks/redis.md, expect_ok: false}\n"
    )
    result = pytester.runpytest("--site", "production", "-v")
    result.stdout.fnmatch_lines(
        [
            "*checks/team.yaml::catalog FAILED*",  # expect_ok is no field of the kind's schema
            "*expect_ok is not a field of a team check*",
            "kinds seen by the wrapper: config,kube,openslo,promql,redis,values",
        ]
    )
    pytester.makeconftest(
        WRAPPER.replace(
            '    scope = "site"',
            '    scope = "site"\n    spec_schema = {"properties": {"expect_ok": {"type": "boolean"}}, '
            '"required": ["expect_ok"]}',
        )
    )
    result = pytester.runpytest("--site", "production", "-v")
    result.stdout.fnmatch_lines(
        [
            "*sites/production/config.env::team-no FAILED*",
            "*sites/production/config.env::team-yes PASSED*",
            "the team check says no",
            "kinds seen by the wrapper: config,kube,openslo,promql,redis,values",
        ]
    )
    assert_counts(result, failed=1)


BASE_KIND = """
from pytest_slo import Kind, Verdict
class Bad(Kind):
    name = "bad"
    def evaluate(self, check, target, data):
        return Verdict.passed()
"""


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("", "(conftest.Bad): has no 'name'"),
        (
            '    name = "Bad Kind"\n',
            "name 'Bad Kind' is not usable: write lower-case letters, digits, '-' and '_', not one of catalog, "
            "drift, *",
        ),
        ('    name = "bad"\n    live = "yes"\n', "live is 'yes', not True or False"),
        ('    name = "bad"\n    scope = "cluster"\n', "scope is 'cluster', not 'site' or 'app'"),
        (
            '    name = "bad"\n    spec_schema = ["window"]\n',
            "spec_schema is list, not a mapping (a JSON Schema of the kind's fields)",
        ),
        (
            '    name = "bad"\n    spec_schema = {"properties": {"window": {"type": "duration"}}}\n',
            "spec_schema is not a valid JSON Schema at *: 'duration' is not valid under any of the given schemas",
        ),
        (
            '    name = "bad"\n    spec_schema = {"properties": {"severity": {"type": "string"}}}\n',
            "spec_schema redefines the common field(s) severity",
        ),
        ('    name = "bad"\n    fetch = 42\n', "fetch is 42, not a method"),
        (
            '    name = "bad"\n    def needs_live(self):\n        return False\n',
            "needs_live() cannot be called as needs_live(options)",
        ),
    ],
)
def test_a_kind_is_checked_against_the_protocol_in_full(
    gitops: Path, pytester: pytest.Pytester, change: str, problem: str
) -> None:
    pytester.makeconftest(
        BASE_KIND.replace('    name = "bad"\n', change) + "\ndef pytest_slo_kinds():\n    return [Bad()]\n"
    )
    result = pytester.runpytest("--site", "production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: plugin *conftest.py: hook pytest_slo_kinds: *{problem}*"])
    assert "Traceback" not in result.stderr.str()


def test_a_kind_need_not_subclass_kind(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
from pytest_slo import Kind, Verdict

class Plain:  # every member of the protocol, no base class
    name = "plain"
    live = False
    scope = "site"
    spec_schema = {"properties": {}}
    def needs_live(self, settings): return False
    def scope_of(self, check): return "site"
    def prefetch(self, run, pairs): pass
    def fetch(self, check, target): return None
    def evaluate(self, check, target, data): return Verdict(False, "plain says no")

class Partial:  # no evaluate
    name = "partial"

assert isinstance(Plain(), Kind)

def pytest_slo_kinds():
    return [Plain()]
"""
    )
    (gitops / "checks" / "team.yaml").write_text(
        "checks:\n  - {id: plain-check, title: t, kind: plain, severity: P4, runbook: checks/runbooks/redis.md}\n"
    )
    result = pytester.runpytest("--site", "production", "-k", "plain")
    assert result.parseoutcomes() == {"failed": 1, "deselected": result.parseoutcomes()["deselected"]}
    result.stdout.fnmatch_lines(["plain says no"])
    pytester.makeconftest("class Partial:\n    name = 'partial'\n\ndef pytest_slo_kinds():\n    return [Partial()]\n")
    result = pytester.runpytest("--site", "production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*kind 'partial' (conftest.Partial): has no 'live'; has no 'scope'; has no 'spec_schema'; has no "
            "needs_live(); has no scope_of(); has no prefetch(); has no fetch(); has no evaluate()"
        ]
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "return {}['missing']",
            "kind buggy raised KeyError: 'missing' while judging buggy-check (a defect of *conftest.py, not a "
            "finding; run with --full-trace to see where)",
        ),
        ("return None", "kind buggy returned None for buggy-check, not a Verdict (a defect of *conftest.py)"),
        (
            "raise ConfigError('THRESHOLD is not a number', path='sites/production/config.env', line=3)",
            "sites/production/config.env:3: THRESHOLD is not a number",
        ),
    ],
)
def test_anything_but_a_verdict_is_an_error_of_one_line(
    gitops: Path, pytester: pytest.Pytester, body: str, message: str
) -> None:
    pytester.makeconftest(
        f"""
from pytest_slo import ConfigError, Kind

class Buggy(Kind):
    name = "buggy"
    scope = "site"
    def evaluate(self, check, target, data):
        {body}

def pytest_slo_kinds():
    return [Buggy()]
"""
    )
    (gitops / "checks" / "team.yaml").write_text(
        "checks:\n  - {id: buggy-check, title: t, kind: buggy, severity: P1, runbook: checks/runbooks/redis.md}\n"
    )
    result = pytester.runpytest("--site", "production", "--findings=f.json", "--junitxml", "j.xml", "-k", "buggy")
    out = result.stdout.str()
    assert "Traceback" not in out and "def evaluate" not in out
    assert result.parseoutcomes() == {"errors": 1, "deselected": result.parseoutcomes()["deselected"]}
    result.stdout.fnmatch_lines(
        ["*_ ERROR at setup of production: buggy-check [[]P1[]] t _*", message, "slo findings: 0 (none); 1 error"]
    )
    (finding,) = json.loads((gitops / "f.json").read_text())["findings"]
    assert finding["outcome"] == "error"
    assert re.fullmatch(message.replace("*", ".*").replace("(", r"\(").replace(")", r"\)"), finding["message"])
    junit = (gitops / "j.xml").read_text()
    assert "<error " in junit and "<failure " not in junit


def test_full_trace_shows_where_a_defect_is(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
from pytest_slo import Kind

class Buggy(Kind):
    name = "buggy"
    scope = "site"
    def evaluate(self, check, target, data):
        return {}["missing"]

def pytest_slo_kinds():
    return [Buggy()]
"""
    )
    (gitops / "checks" / "team.yaml").write_text(
        "checks:\n  - {id: buggy-check, title: t, kind: buggy, severity: P1, runbook: checks/runbooks/redis.md}\n"
    )
    result = pytester.runpytest("--site", "production", "-k", "buggy", "--full-trace")
    result.stdout.fnmatch_lines(["*return {}[[]\"missing\"[]]*", "E*KeyError: 'missing'"])
    assert result.parseoutcomes()["errors"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--postmortem-template=missing.j2"],
            "--postmortem-template / slo_postmortem_template: cannot read */missing.j2: No such file or directory",
        ),
        (
            ["--postmortem-template=bad.j2"],
            "--postmortem-template / slo_postmortem_template: */bad.j2:2: template syntax error: *",
        ),
        (["--live-timeout=0"], "--live-timeout / slo_live_timeout: must be greater than 0, got 0"),
        (["--live-retries=-1"], "--live-retries / slo_live_retries: must be 0 or more, got -1"),
    ],
)
def test_flag_mistakes_are_usage_errors_before_anything_runs(
    gitops: Path, pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    (gitops / "bad.j2").write_text("# {{ title }}\n{% if %}\n")
    result = pytester.runpytest("--site", "production", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_no_retries_is_a_choice(gitops: Path, pytester: pytest.Pytester) -> None:
    assert_counts(pytester.runpytest("--site", "production", "--live-retries=0"))
