"""The render CLI: the seed's exact command, and the bytes the gate expects."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import LAYOUT, REPO, assert_counts

SEED = ["python3", "releases/1.15/render_values.py", "--env-file", "sites/production/config.env", "--output", "apps/redis-cluster/values.yaml"]


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    for name in LAYOUT:
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "pytest_slo", tmp_path / "pytest_slo")
    return tmp_path


def test_the_seed_command_verbatim_renders_the_committed_bytes(repo_copy: Path) -> None:
    done = subprocess.run(SEED, cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "rendered redis-cluster for sites/production/config.env -> apps/redis-cluster/values.yaml"
    rendered = (repo_copy / "apps/redis-cluster/values.yaml").read_bytes()
    assert rendered == (REPO / "sites/production/apps/redis-cluster/values.yaml").read_bytes()
    assert b'memory: "2Gi"' in rendered and b'maxmemoryPolicy: "allkeys-lru"' in rendered


def test_app_flag_and_unknown_app(repo_copy: Path) -> None:
    out = repo_copy / "x" / "values.yaml"
    done = subprocess.run([*SEED[:4], "--output", str(out), "--app", "api-server"], cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (REPO / "sites/production/apps/api-server/values.yaml").read_bytes()
    done = subprocess.run([*SEED[:4], "--output", "apps/nope/values.yaml"], cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown app 'nope' in release 1.15 (known: api-server, redis-cluster); pass --app" in done.stderr


def test_bad_input_is_one_line_with_file_and_line(repo_copy: Path) -> None:
    env = repo_copy / "sites/production/config.env"
    env.write_text(env.read_text().replace("REDIS_REPLICAS=3\n", ""))
    done = subprocess.run(SEED, cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and "values.yaml.j2:3: template uses an undefined variable: 'REDIS_REPLICAS' is undefined" in done.stderr
    assert not (repo_copy / "apps/redis-cluster/values.yaml").exists()


def test_the_gate_agrees_after_a_config_change_and_rerender(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text().replace("REDIS_MEMORY_LIMIT=2Gi", "REDIS_MEMORY_LIMIT=3Gi"))
    result = pytester.runpytest("--site", "production", "--app", "redis-cluster", "-q")
    assert_counts(result, failed=1)
    result.stdout.fnmatch_lines(["*line 12 is 'memory: \"2Gi\"', a fresh render gives 'memory: \"3Gi\"'*"])
    subprocess.run(
        [sys.executable, "releases/1.15/render_values.py", "--env-file", "sites/production/config.env", "--output", "sites/production/apps/redis-cluster/values.yaml"],
        cwd=gitops,
        check=True,
        capture_output=True,
    )
    assert_counts(pytester.runpytest("--site", "production", "--app", "redis-cluster", "-q"))
