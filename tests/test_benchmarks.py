"""The benchmark's synthetic repository is a real gate: it collects what the catalog says and
fails exactly where failures were planted (benchmarks/make_repo.py)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

MAKE_REPO = REPO / "benchmarks" / "make_repo.py"
# Where REDIS_MEMORY_LIMIT=2GB is planted, these checks cannot evaluate their expression:
# they *error* (config-schema is the one that fails, saying what is wrong with the value).
UNJUDGEABLE = ("redis-memory-limit", "redis-maxmemory-headroom")


def errored(manifest: dict) -> list[list]:
    site = manifest["plants"].get("bad-quantity")
    return [f for f in manifest["expected_findings"] if f[1] == site and f[0] in UNJUDGEABLE]


def _env() -> dict[str, str]:
    # the gate under test must not inherit this session's pytest or pytest-slo settings
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SLO_"))}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench") / "repo"
    subprocess.run([sys.executable, str(MAKE_REPO), "--sites", "4", "--apps", "4", "--promql", "3", "--out", str(out)],
                   check=True, capture_output=True, text=True, env=_env())
    return out, json.loads((out / "bench-manifest.json").read_text())


def test_make_repo_clones_apps_and_renders_every_site(tiny: tuple[Path, dict]) -> None:
    repo, manifest = tiny
    assert manifest["apps"] == {"redis-cluster": "redis-cluster", "api-server": "api-server",
                                "redis-cluster-02": "redis-cluster", "api-server-02": "api-server"}
    assert set(manifest["plants"]) == {"noeviction", "out-of-sync", "bad-quantity"}
    assert len(set(manifest["plants"].values())) == 3  # one site per planted failure
    for site in manifest["sites"]:
        for app in manifest["apps"]:
            assert (repo / "sites" / site / "apps" / app / "values.yaml").is_file()
    assert "nameOverride: redis-cluster-02" in (repo / f"sites/{manifest['sites'][1]}/apps/redis-cluster-02/values.yaml").read_text()
    assert "apps: [redis-cluster, redis-cluster-02]" in (repo / "checks" / "redis.yaml").read_text()
    assert len(manifest["promql_checks"]) == 3


def test_gate_collects_the_expected_items_and_finds_the_planted_failures(tiny: tuple[Path, dict]) -> None:
    repo, manifest = tiny
    findings_path = repo.parent / "findings.json"
    # --findings=PATH, not "--findings PATH": pytest reads plugin options' values as paths
    # when it looks for the rootdir, before plugins are loaded (an existing file moves it).
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--findings={findings_path}"],
        cwd=repo, capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in (part.split()[:2] for part in summary.split(" in ")[0].split(", "))}
    ran = sum(n for word, n in counts.items() if word in ("passed", "failed", "skipped", "error", "errors"))
    assert ran == manifest["expected_items"], summary
    found = sorted([f["check"], f["site"], f["app"]] for f in json.loads(findings_path.read_text())["findings"])
    assert found == sorted(manifest["expected_findings"])
    assert counts["errors"] == len(errored(manifest)) > 0
    assert counts["failed"] == len(manifest["expected_findings"]) - len(errored(manifest))


def test_a_large_gate_in_process_leaves_nothing_frozen(pytester: pytest.Pytester) -> None:
    """From 1000 items on the gate freezes the collected tree out of the garbage collector's
    sight; an in-process run (pytester, IDEs) must get every object back at unconfigure."""
    repo = pytester.path / "repo"
    subprocess.run([sys.executable, str(MAKE_REPO), "--sites", "8", "--apps", "10", "--out", str(repo)],
                   check=True, capture_output=True, text=True, env=_env())
    manifest = json.loads((repo / "bench-manifest.json").read_text())
    assert manifest["expected_items"] > 1000
    before = gc.get_freeze_count()
    result = pytester.runpytest_inprocess(str(repo), "-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes["errors"] == len(errored(manifest)) > 0
    assert outcomes["failed"] == len(manifest["expected_findings"]) - len(errored(manifest))
    assert sum(outcomes.get(k, 0) for k in ("passed", "failed", "skipped", "errors")) == manifest["expected_items"]
    assert gc.get_freeze_count() == before
