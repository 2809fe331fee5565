"""The fix from git: commits read from a real scratch repository with git itself (no server)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_slo.incident.githistory import GitUnavailable, KeyChange, commits, mark_fix

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not found: apt-get install -y git")

T0 = 1_800_000_000  # 2027-01-15 08:00 UTC
ENV = "sites/production/config.env"
VALUES = "sites/production/apps/redis-cluster/values.yaml"


def commit(repo: Path, message: str, when: int, author: str = "Dana Ops", **files: str) -> None:
    for name, text in files.items():
        path = repo / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": "a@example.com",
        "GIT_AUTHOR_DATE": f"@{when} +0000",
        "GIT_COMMITTER_DATE": f"@{when} +0000",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
    }
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=repo, env=env, check=True)


def utc(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A monorepo whose GitOps root is a subfolder, with a day of history."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    root = tmp_path / "gitops"
    env = "REDIS_MEMORY_LIMIT=512Mi\nREDIS_EVICTION_POLICY=noeviction\nREDIS_PASSWORD=hunter2-secret\n"
    commit(tmp_path, "production: first config", T0 - 3 * 86400, **{f"gitops__{ENV.replace('/', '__')}": env})
    commit(tmp_path, "docs: unrelated", T0 - 3600, **{"gitops__README.md": "hello\n"})
    commit(tmp_path, "rotate the Redis password", T0 - 1800, author="Sam Sec",
           **{f"gitops__{ENV.replace('/', '__')}": env.replace("hunter2-secret", "correct-horse-9")})
    fixed = (
        env.replace("512Mi", "2Gi").replace("noeviction", "allkeys-lru").replace("hunter2-secret", "correct-horse-9")
    )
    commit(
        tmp_path,
        "fix(redis): 2Gi and LRU",
        T0 + 600,
        **{f"gitops__{ENV.replace('/', '__')}": fixed, f"gitops__{VALUES.replace('/', '__')}": "maxmemory: 1536mb\n"},
    )
    commit(
        tmp_path,
        "values: re-render",
        T0 + 900,
        **{f"gitops__{VALUES.replace('/', '__')}": "maxmemory: 1536mb # again\n"},
    )
    return root


def test_commits_that_touched_the_site_with_the_keys_they_changed(repo: Path) -> None:
    found = commits(repo, [ENV, VALUES], ENV, utc(T0 - 86400))
    assert [(c.subject, c.author, c.time) for c in found] == [
        ("rotate the Redis password", "Sam Sec", utc(T0 - 1800)),
        ("fix(redis): 2Gi and LRU", "Dana Ops", utc(T0 + 600)),
        ("values: re-render", "Dana Ops", utc(T0 + 900)),
    ]  # the first commit is older than the day asked for; the README commit touched nothing asked for
    rotate, fix, render = found
    # a secret key is named, never its values
    assert [k.text for k in rotate.keys] == ["REDIS_PASSWORD changed"]
    assert [k.text for k in fix.keys] == [
        "REDIS_EVICTION_POLICY noeviction → allkeys-lru",
        "REDIS_MEMORY_LIMIT 512Mi → 2Gi",
    ]
    assert set(fix.files) == {ENV, VALUES} and len(fix.short) >= 7 and fix.hash.startswith(fix.short)
    assert render.keys == () and render.files == (VALUES,)
    assert "hunter2" not in repr(found) and "correct-horse" not in repr(found)


def test_the_fix_is_the_first_commit_after_the_breach_that_changed_a_causes_key(repo: Path) -> None:
    found = commits(repo, [ENV, VALUES], ENV, utc(T0 - 86400))
    marked = mark_fix(found, utc(T0), {"REDIS_EVICTION_POLICY"})
    assert [c.subject for c in marked if c.fix] == ["fix(redis): 2Gi and LRU"]
    # before the breach it is no fix; a key no candidate names fixes nothing
    assert not any(c.fix for c in mark_fix(found, utc(T0 + 700), {"REDIS_EVICTION_POLICY"}))
    assert not any(c.fix for c in mark_fix(found, utc(T0), {"API_REPLICAS"}))


def test_the_first_version_of_a_file_and_key_changes_in_words() -> None:
    assert KeyChange("A", None, "1").text == "A added (1)"
    assert KeyChange("A", "1", None).text == "A removed (was 1)"
    assert KeyChange("API_KEY", None, "x").text == "API_KEY changed"
    assert KeyChange("REDIS_MEMORY_LIMIT", "512Mi", "2Gi").markdown == "`REDIS_MEMORY_LIMIT` 512Mi → 2Gi"


def test_outside_a_repository_it_says_so(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    with pytest.raises(GitUnavailable, match=r"is not in a git repository"):
        commits(tmp_path, [ENV], ENV, utc(T0))


def test_git_log_writes_nothing(repo: Path) -> None:
    """Read-only: the repository's files (its index included) are the same after reading."""
    git = repo.parent / ".git"
    before = {p: p.stat().st_mtime_ns for p in git.rglob("*") if p.is_file()}
    commits(repo, [ENV, VALUES], ENV, utc(T0 - 86400))
    assert {p: p.stat().st_mtime_ns for p in git.rglob("*") if p.is_file()} == before
