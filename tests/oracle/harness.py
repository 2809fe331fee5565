"""What tests/test_oracle.py runs the table with: the checks (and the SLOs that count as they
do) rendered by pytest-slo for the reference site, and promtool test files written from the
cases (the renderings of ``model.py``)."""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_slo.catalog.model import Check, load_catalog
from pytest_slo.catalog.openslo import load_slos, slo_checks
from pytest_slo.expr import duration_seconds
from pytest_slo.kinds import KindRegistry, Target, builtin_kinds
from pytest_slo.kinds.openslo import render_queries
from pytest_slo.kinds.promql import PromqlKind
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo, Site
from pytest_slo.sources import LiveOptions, Sources

from .cases import SLO_COUNTING
from .model import DRIFT_MINUTES, EVAL_MINUTE, Case, promtool_file, rule_file, unit_test

__all__ = [
    "INSTALL",
    "REFERENCE_SITE",
    "REPO",
    "Reference",
    "counting_pair",
    "designed_tests",
    "namespace",
    "number",
    "promtool",
    "references",
    "run_promtool",
    "unname",
    "write_tests",
]

REPO = Path(__file__).resolve().parents[2]
REFERENCE_SITE = "production"
INSTALL = "promtool not found: apt-get install prometheus"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{INSTALL} (CI must run the promtool oracle)")
        pytest.skip(INSTALL)
    return path


@dataclass(frozen=True)
class Reference:
    """A promql check as pytest-slo renders it for the reference site."""

    check: Check
    app: str
    query: str
    threshold: float

    @property
    def op(self) -> str:
        return str(self.check.spec["op"])

    @property
    def no_data(self) -> str:
        return str(self.check.spec.get("no_data", "fail"))


@functools.lru_cache(maxsize=4)
def _site(**config: str) -> Site:
    """The reference site, with ``config`` lines of its config.env replaced (a copy, in a
    temporary repository of its own)."""
    if not config:
        return Repo(REPO, DEFAULT_VALUES_PATH).site(REFERENCE_SITE)
    root = Path(tempfile.mkdtemp(prefix="oracle-site-"))
    shutil.copytree(REPO / "releases", root / "releases")
    env = (REPO / "sites" / REFERENCE_SITE / "config.env").read_text()
    for key, value in config.items():
        env, found = re.subn(rf"(?m)^{key}=.*$", f"{key}={value}", env)
        assert found == 1, key
    (root / "sites" / REFERENCE_SITE).mkdir(parents=True)
    (root / "sites" / REFERENCE_SITE / "config.env").write_text(env)
    return Repo(root, DEFAULT_VALUES_PATH).site(REFERENCE_SITE)


@functools.lru_cache(maxsize=1)
def _catalog() -> list[Check]:
    registry = KindRegistry()
    for kind in builtin_kinds():
        registry.register(kind)
    catalog = load_catalog(REPO, registry.schemas)
    assert not catalog.problems, catalog.problems
    return catalog.checks


@functools.lru_cache(maxsize=4)
def references(**config: str) -> dict[str, Reference]:
    """Every promql check rendered for the reference site (with ``config`` overrides)."""
    site, kind = _site(**config), PromqlKind()
    found = {}
    for check in _catalog():
        if check.kind != "promql":
            continue
        assert check.apps and len(check.apps) == 1, f"{check.id}: the oracle renders one app per check"
        target = Target(site, check.apps[0], Sources(LiveOptions()))  # rendering asks the sources nothing
        found[check.id] = Reference(check, check.apps[0], kind.query_text(check, target), kind.threshold(check, target))
    return found


def counting_pair(slo: str, window: str) -> tuple[str, str]:
    """(the query of the check whose cases prove ``slo``'s counting, over ``window`` (its
    ``SLO_WINDOW``); 100 × the SLO's error ratio over ``window``), as pytest-slo renders both."""
    check = references(SLO_WINDOW=window)[SLO_COUNTING[slo]]
    site = _site(SLO_WINDOW=window)
    (item,) = [c for c in slo_checks(load_slos(REPO, "slos", [check.app]))[0] if c.id == f"{slo}::burn-rate"]
    queries = render_queries(item, Target(site, check.app, Sources(LiveOptions())))[0]
    return check.query, f"100 * {queries.error_ratio(duration_seconds(window))}"


def run_promtool(folder: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), "test", "rules", *map(str, files)], cwd=folder, capture_output=True,
                          text=True, timeout=300)


def write_tests(
    folder: Path, rules: Mapping[str, Any] | Reference, tests_at: Mapping[int, list[dict[str, Any]]]
) -> list[Path]:
    """A rule file (a check's, or ``rules`` as given) and one promtool test file per evaluation
    time (ms after the first sample)."""
    if isinstance(rules, Reference):
        rules = rule_file(rules.query, rules.op, rules.threshold, rules.no_data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(yaml.safe_dump(dict(rules), width=10_000))
    files = []
    for at_ms, tests in tests_at.items():
        path = folder / f"at-{at_ms}ms.yml"
        path.write_text(yaml.safe_dump(promtool_file("rules.yml", at_ms, tests), width=10_000, sort_keys=False))
        files.append(path)
    return files


def designed_tests(ref: Reference, cases: tuple[Case, ...]) -> dict[int, list[dict[str, Any]]]:
    out = {}
    for drift in DRIFT_MINUTES:
        at_ms = (EVAL_MINUTE + drift) * 60_000
        out[at_ms] = [
            unit_test(
                c, ref.query, ref.no_data == "fail", at_ms, c.breaching, c.no_data, c.values if drift == 0 else ()
            )
            for c in cases
        ]
    return out


def namespace(check_id: str, case: Case) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{check_id}-{case.name}")[:63].strip("-")


def unname(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels of a live result with the case's namespace read back as the reference site's."""
    return {k: (REFERENCE_SITE if k == "namespace" else v) for k, v in labels.items()}


def number(value: Any) -> float:
    return (
        {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}.get(value, value)
        if isinstance(value, str)
        else float(value)
    )
