"""``kind: config`` verdicts a user reads (no server, no pytest run): the lines of config.env
that are not ``KEY=VALUE``, the keys the release's schema refuses, an ``assert`` over the typed
config, each with its exact words and the file:line to edit. Every site is a small GitOps
repository written into tmp_path, with the shipped release 1.15 and the shipped checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_slo.errors import ConfigError
from pytest_slo.kinds import Location, Target, Verdict
from pytest_slo.kinds.config import ConfigKind
from pytest_slo.repo.site import Repo
from pytest_slo.sources import LiveOptions, Sources

from .kube_helpers import CHECKS, REPO

ENV = "sites/production/config.env"
SCHEMA = "releases/1.15/config.schema.json"
GOOD = "RELEASE=1.15\nKUBE_NAMESPACE=production\nREDIS_MEMORY_LIMIT=2Gi\nREDIS_EVICTION_POLICY=allkeys-lru\n"


def site(tmp_path: Path, env: str) -> Target:
    """The production site of a repository holding release 1.15 and this config.env."""
    shutil.copytree(REPO / "releases", tmp_path / "releases")
    (tmp_path / "sites/production").mkdir(parents=True)
    (tmp_path / ENV).write_text(env)
    return Target(Repo(tmp_path).site("production"), "redis-cluster", Sources(LiveOptions()))


def judge(tmp_path: Path, check: str, env: str) -> Verdict:
    return ConfigKind().evaluate(CHECKS[check], site(tmp_path, env), None)


# --------------------------------------------------------------------------- test: parse


def test_a_config_env_of_key_value_lines_passes_and_counts_its_keys(tmp_path: Path) -> None:
    verdict = judge(tmp_path, "config-parse", "# a comment\n\n" + GOOD + "export REDIS_ROLE=cache\n")
    assert verdict == Verdict(True, evidence={"keys": 5})


def test_every_line_that_is_not_key_value_is_named_and_the_first_is_the_line_to_edit(tmp_path: Path) -> None:
    env = GOOD + "REDIS ROLE=cache\nno equals sign\nREDIS_ROLE=cache\nREDIS_ROLE=store\n"
    verdict = judge(tmp_path, "config-parse", env)
    problems = [
        f"{ENV}:5: 'REDIS ROLE' is not a valid key (keys are letters, digits and _, not starting with a digit)",
        f"{ENV}:6: line has no '=': 'no equals sign' (write KEY=VALUE, or start the line with # to make it a comment)",
        f"{ENV}:8: duplicate key REDIS_ROLE (first set on line 7) (keep one of the two lines)",
    ]
    assert verdict.ok is False
    assert verdict.message == f"{ENV} has 3 line(s) that are not KEY=VALUE:\n  " + "\n  ".join(problems)
    assert verdict.evidence == {"problems": problems}
    assert verdict.location == Location(ENV, 5)
    assert verdict.objects == [] and verdict.action is None and verdict.skip is None


# --------------------------------------------------------------------------- test: schema


def test_a_config_env_the_schema_accepts_passes_naming_the_schema_and_the_keys(tmp_path: Path) -> None:
    verdict = judge(tmp_path, "config-schema", GOOD + "REDIS_REPLICAS=3\n")
    assert verdict == Verdict(True, evidence={"schema": SCHEMA, "keys": 5})


def test_schema_problems_are_listed_in_line_order_with_the_first_line_to_edit(tmp_path: Path) -> None:
    # the unknown key (line 4) is found before the bad namespace (line 2); the missing key has no line
    env = "RELEASE=1.15\nKUBE_NAMESPACE=Production\nREDIS_MEMORY_LIMIT=2Gi\nREDIS_EVICTON_POLICY=noeviction\n" \
          "REDIS_REPLICAS=0\n"
    verdict = judge(tmp_path, "config-schema", env)
    problems = [
        f"{ENV}:2: KUBE_NAMESPACE: 'Production' is not valid",
        f"{ENV}:4: unknown key REDIS_EVICTON_POLICY; did you mean REDIS_EVICTION_POLICY?",
        f"{ENV}:5: REDIS_REPLICAS: 0 is below the minimum of 1",
        f"{ENV}: missing required key REDIS_EVICTION_POLICY",
    ]
    assert verdict.ok is False
    assert verdict.message == f"{ENV} does not match {SCHEMA} (4 problem(s)):\n  " + "\n  ".join(problems)
    assert verdict.evidence == {"problems": problems, "schema": SCHEMA}
    assert verdict.location == Location(ENV, 2)
    assert verdict.objects == [] and verdict.action is None


@pytest.mark.parametrize(
    ("env", "line"),
    [
        # one problem on a line: that line, not another
        ("RELEASE=1.15\nKUBE_NAMESPACE=production\nREDIS_MEMORY_LIMIT=2Gi\nREDIS_EVICTION_POLICY=allkeys-lru\n"
         "REDIS_REPLICAS=0\n", 5),
        # two lines: the first of them in the file, whichever the schema reports first
        ("RELEASE=1.15\nREDIS_REPLICAS=0\nKUBE_NAMESPACE=production\nREDIS_MEMORY_LIMIT=2Gi\n"
         "REDIS_EVICTION_POLICY=allkeys-lru\nREDIS_ROLEE=cache\n", 2),
        ("RELEASE=1.15\nKUBE_NAMESPACE=production\nREDIS_MEMORY_LIMIT=2Gi\nREDIS_EVICTION_POLICY=allkeys-lru\n"
         "REDIS_ROLEE=cache\nREDIS_REPLICAS=0\n", 5),
    ],
)
def test_the_line_to_edit_is_the_first_problem_line_of_the_file(tmp_path: Path, env: str, line: int) -> None:
    assert judge(tmp_path, "config-schema", env).location == Location(ENV, line)


def test_a_missing_required_key_alone_points_at_the_file_not_a_line(tmp_path: Path) -> None:
    verdict = judge(tmp_path, "config-schema", "RELEASE=1.15\nKUBE_NAMESPACE=production\n")
    head, *problems = verdict.message.splitlines()
    assert head.startswith(f"{ENV} does not match {SCHEMA} (2 problem(s))")
    assert sorted(problems) == sorted({
        f"  {ENV}: missing required key REDIS_EVICTION_POLICY", f"  {ENV}: missing required key REDIS_MEMORY_LIMIT"
    })
    assert verdict.location == Location(ENV, None)


# --------------------------------------------------------------------------- assert


def test_an_assert_that_holds_passes_with_what_it_read(tmp_path: Path) -> None:
    verdict = judge(tmp_path, "redis-eviction-policy", GOOD)
    assert verdict.ok and verdict.message == ""
    assert verdict.evidence == {
        "assert": "REDIS_EVICTION_POLICY != 'noeviction'",
        "REDIS_EVICTION_POLICY": "allkeys-lru",
    }


def test_an_assert_that_fails_says_what_was_found_expected_and_the_line_of_the_key(tmp_path: Path) -> None:
    env = GOOD.replace("allkeys-lru", "noeviction")
    verdict = judge(tmp_path, "redis-eviction-policy", env)
    expected = (
        "an evicting policy such as allkeys-lru (a full cache under noeviction answers 'OOM command not allowed' "
        "and grows until the pod is OOM-killed)"
    )
    assert verdict == Verdict(
        False,
        f"REDIS_EVICTION_POLICY=noeviction; expected {expected}",
        {
            "assert": "REDIS_EVICTION_POLICY != 'noeviction'",
            "REDIS_EVICTION_POLICY": "noeviction",
            "found": "REDIS_EVICTION_POLICY=noeviction",
            "expected": expected,
        },
        Location(ENV, 4),
    )


def test_a_failing_assert_points_at_the_first_declared_key_the_site_sets(tmp_path: Path) -> None:
    # keys: [REDIS_MEMORY_LIMIT, REDIS_MEMORY_REQUEST]: the limit's line, though the request is written first
    env = "RELEASE=1.15\nREDIS_MEMORY_REQUEST=3Gi\nKUBE_NAMESPACE=production\nREDIS_MEMORY_LIMIT=2Gi\n"
    verdict = judge(tmp_path, "redis-memory-limit", env)
    assert not verdict.ok
    assert verdict.message == (
        "REDIS_MEMORY_REQUEST=3Gi, REDIS_MEMORY_LIMIT=2Gi; expected a request set and at most the limit (2Gi)"
    )
    assert verdict.location == Location(ENV, 4)


def test_an_assert_over_a_key_the_site_does_not_set_is_an_error_naming_config_env(tmp_path: Path) -> None:
    env = "RELEASE=1.15\nKUBE_NAMESPACE=production\nREDIS_MEMORY_LIMIT=2Gi\nREDIS_EVICTION_POLICY=allkeys-lru\n"
    with pytest.raises(ConfigError) as caught:
        judge(tmp_path, "redis-maxmemory-samples", env)
    assert caught.value.message == "REDIS_MAXMEMORY_SAMPLES is not set, and check redis-maxmemory-samples needs it"
    assert caught.value.path == ENV
