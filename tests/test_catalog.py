"""A broken check catalog fails its own item, names file:line, and the rest still runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import assert_counts

GOOD = """checks:
  - id: extra-check
    title: replicas are at least one
    kind: config
    assert: "REDIS_REPLICAS >= 1"
    severity: P4
    runbook: checks/runbooks/redis.md#redis-memory-limit
"""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("checks:\n  - id: a\n    title: [unclosed\n", 4, "not valid YAML"),
        (GOOD.replace("kind: config", "kind: confg"), 2, "check 'extra-check': unknown kind 'confg' (known kinds: config, kube, promql, redis, values)"),
        (GOOD.replace("id: extra-check", "id: redis-eviction-policy"), 2, "duplicate check id 'redis-eviction-policy' (first declared at checks/redis.yaml:"),
        (GOOD.replace("runbooks/redis.md", "runbooks/nope.md"), 2, "check 'extra-check': runbook 'checks/runbooks/nope.md' does not exist"),
        (GOOD.replace("    runbook: checks/runbooks/redis.md#redis-memory-limit\n", ""), 2, "check 'extra-check': check: 'runbook' is a required property"),
        (GOOD.replace("severity: P4", "severity: high"), 2, "check 'extra-check': severity: 'high' is not one of ['P1', 'P2', 'P3', 'P4']"),
        (GOOD.replace("assert:", "asert:"), 2, "check 'extra-check': check: Additional properties are not allowed ('asert' was unexpected)"),
    ],
)
def test_catalog_problems(gitops: Path, pytester: pytest.Pytester, text: str, line: int, message: str) -> None:
    (gitops / "checks" / "team.yaml").write_text(text)
    result = pytester.runpytest("--site", "production", "-q")
    out = result.stdout.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out
    assert f"checks/team.yaml:{line}: {message}" in out
    assert_counts(result, failed=1)


def test_a_valid_extra_check_runs(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks" / "team.yaml").write_text(GOOD)
    result = pytester.runpytest("--site", "production", "-v")
    result.stdout.fnmatch_lines(["*sites/production/config.env::extra-check PASSED*"])


def test_runbook_links_checks_anchors(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks" / "team.yaml").write_text(GOOD.replace("#redis-memory-limit", "#no-such-heading"))
    result = pytester.runpytest("--site", "production", "-q")
    assert_counts(result, failed=1)
    result.stdout.fnmatch_lines(["*checks/team.yaml:2: check extra-check: runbook checks/runbooks/redis.md has no heading for #no-such-heading*"])


def test_a_bad_expression_blames_the_check(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks" / "team.yaml").write_text(GOOD.replace('"REDIS_REPLICAS >= 1"', '"REDIS_REPLICAS >="'))
    result = pytester.runpytest("--site", "production", "-q")
    assert_counts(result, failed=1)
    result.stdout.fnmatch_lines(["*checks/team.yaml:2: check extra-check: expression 'REDIS_REPLICAS >=': *"])
