"""The CI recipes the README shows, run: the pre-commit hooks through the real ``pre-commit``
tool, and the commands of the GitHub Actions and GitLab CI recipes (examples/ci/), each on a
scratch git repository holding the example layout. A recipe that stops working fails here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from .authorities import sarif_errors
from .support import LAYOUT, REPO, check_jsonschema, incident_config

RECIPES = REPO / "examples/ci"
#: What GitHub would put in the workflow's ``${{ ... }}`` expressions; any other is a test failure.
GITHUB = {
    "github.server_url": "https://github.example",
    "github.repository": "acme/gitops",
    "github.sha": "0123456789abcdef",
}
GITLAB = {"CI_PROJECT_URL": "https://gitlab.example/acme/gitops", "CI_COMMIT_SHA": "0123456789abcdef"}
INSTALL = re.compile(r"^pip install (\S+)$")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A GitOps repository of the team's own: the example layout and an ini file, committed."""
    repo = tmp_path / "gitops"
    for name in LAYOUT:
        shutil.copytree(REPO / name, repo / name)
    (repo / "pytest.ini").write_text("[pytest]\n")
    (repo / "README.md").write_text("# gitops\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the example layout")
    return repo


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This interpreter's pytest (where pytest-slo is installed) first on PATH; no pytest
    settings of the outer run leak into the recipe's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PRE_COMMIT"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    return {**env, **extra}


def pre_commit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )


def hooks() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}


def test_the_hooks_manifest_is_valid_and_its_two_hooks_run_the_same_gate(tmp_path: Path) -> None:
    done = pre_commit(REPO, environment(tmp_path), "validate-manifest", ".pre-commit-hooks.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    python, system = hooks()["pytest-slo"], hooks()["pytest-slo-system"]
    assert (python["language"], system["language"]) == ("python", "system")
    same = ("entry", "args", "pass_filenames", "files")
    assert {k: python[k] for k in same} == {k: system[k] for k in same}
    assert python["entry"] == "pytest" and python["pass_filenames"] is False
    gated = re.compile(python["files"])
    assert all(
        gated.search(p)
        for p in (
            "sites/production/config.env",
            "sites/production/apps/redis-cluster/values.yaml",
            "releases/1.15/apps/redis-cluster/values.yaml.j2",
            "checks/redis.yaml",
            "slos/api-server.yaml",
        )
    )
    assert not any(gated.search(p) for p in ("README.md", "docs/incidents/2026-11-27.md", "src/app.py"))
    # the local recipe of the README gates the same files
    local = yaml.safe_load((RECIPES / "pre-commit-config.yaml").read_text())["repos"][0]["hooks"][0]
    assert local["files"] == python["files"] and local["language"] == "system"


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="pre-commit try-repo needs this repository as a git checkout")
def test_pre_commit_try_repo_runs_the_gate_on_a_team_repository(scratch: Path, tmp_path: Path) -> None:
    env = environment(tmp_path)
    clean = pre_commit(scratch, env, "try-repo", str(REPO), "pytest-slo-system", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"pytest-slo offline gate \(installed pytest\)\.+Passed", clean.stdout)
    # a commit that touches only a file the gate does not read does not run it
    (scratch / "README.md").write_text("# gitops\n\nnotes\n")
    git(scratch, "add", "README.md")
    skipped = pre_commit(scratch, env, "try-repo", str(REPO), "pytest-slo-system")
    assert skipped.returncode == 0 and re.search(r"\(no files to check\)Skipped", skipped.stdout), skipped.stdout
    # the incident's config.env staged: the hook fails the commit, naming the line to edit
    incident_config(scratch)
    git(scratch, "add", "-A")
    broken = pre_commit(scratch, env, "try-repo", str(REPO), "pytest-slo-system")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert re.search(r"pytest-slo offline gate \(installed pytest\)\.+Failed", broken.stdout)
    assert "FAILED sites/production/config.env::redis-cluster::redis-eviction-policy" in broken.stdout
    assert "edit: sites/production/config.env:" in broken.stdout


def test_the_local_pre_commit_recipe_runs_offline(scratch: Path, tmp_path: Path) -> None:
    shutil.copy(RECIPES / "pre-commit-config.yaml", scratch / ".pre-commit-config.yaml")
    git(scratch, "add", ".pre-commit-config.yaml")
    env = environment(tmp_path)
    assert (done := pre_commit(scratch, env, "run", "--all-files")).returncode == 0, done.stdout + done.stderr
    incident_config(scratch)
    done = pre_commit(scratch, env, "run", "--all-files")
    assert done.returncode == 1 and "slo findings: 3 (1 P1, 2 P2)" in done.stdout, done.stdout


def run_step(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One step's command as the CI runners run it: bash, stopping at the first failure."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def installs(command: str) -> bool:
    """An install line names this project's distribution; it is not run (no network here, and
    the test's interpreter has this checkout installed)."""
    match = INSTALL.match(command.strip())
    if match:
        assert match.group(1) == "pytest-slo"
    return match is not None


def github_expressions(command: str) -> str:
    def value(match: re.Match[str]) -> str:
        assert match.group(1) in GITHUB, f"the recipe uses ${{{{ {match.group(1)} }}}}: give the test its value"
        return GITHUB[match.group(1)]

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", value, command)


def check_reports(out: Path, base_url: str) -> dict:
    """What the recipes upload is there and is what code scanning and JUnit readers take."""
    junit = ElementTree.parse(out / "junit.xml").getroot()
    assert len(list(junit.iter("testcase"))) > 10
    assert sarif_errors(out / "findings.sarif") == {}
    rules = json.loads((out / "findings.sarif").read_text())["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["helpUri"].startswith(base_url) for r in rules if r["id"] == "redis-eviction-policy")
    return json.loads((out / "findings.json").read_text())


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "incident"])
def test_the_github_actions_recipe_runs(scratch: Path, tmp_path: Path, broken: bool) -> None:
    workflow = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    assert (
        check_jsonschema("--builtin-schema", "vendor.github-workflows", str(RECIPES / "github-actions.yml")).returncode
        == 0
    )
    if broken:
        incident_config(scratch)
    summary = tmp_path / "step-summary.md"
    env = environment(tmp_path, GITHUB_STEP_SUMMARY=str(summary))
    failed = False
    ran = 0
    for step in workflow["jobs"]["gate"]["steps"]:
        if failed and step.get("if") != "always()":
            continue  # GitHub skips the rest of a failed job but for steps run always()
        if "uses" in step:
            # the reports the upload steps name were written by the steps before
            for key in ("sarif_file", "report_paths", "path"):
                if key in step.get("with", {}):
                    assert (scratch / step["with"][key]).exists(), (
                        f"{step['uses']}: {step['with'][key]} was not written"
                    )
            continue
        if installs(step["run"]):
            continue
        done = run_step(github_expressions(step["run"]), scratch, env)
        ran += 1
        failed = failed or done.returncode != 0
    assert ran == 2 and failed == broken
    doc = check_reports(scratch / "out", "https://github.example/acme/gitops/blob/0123456789abcdef/checks/runbooks/")
    assert sorted(doc["summary"]["sites"]) == ["production", "staging"]
    assert summary.read_text() == (scratch / "out/findings.md").read_text()
    assert ("redis-eviction-policy" in summary.read_text()) == broken


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "incident"])
def test_the_gitlab_ci_recipe_runs(scratch: Path, tmp_path: Path, broken: bool) -> None:
    pipeline = yaml.safe_load((RECIPES / "gitlab-ci.yml").read_text())
    assert check_jsonschema("--builtin-schema", "vendor.gitlab-ci", str(RECIPES / "gitlab-ci.yml")).returncode == 0
    job = pipeline["pytest-slo"]
    if broken:
        incident_config(scratch)
    env = environment(tmp_path, **GITLAB)
    commands = [c for c in job["script"] if not installs(c)]
    assert len(commands) == 1
    done = run_step("\n".join(commands), scratch, env)
    assert (done.returncode != 0) == broken, done.stdout + done.stderr
    # artifacts: when: always keeps the findings of a failing job
    assert job["artifacts"]["when"] == "always"
    assert all((scratch / p).exists() for p in job["artifacts"]["paths"])
    assert (scratch / job["artifacts"]["reports"]["junit"]).is_file()
    doc = check_reports(scratch / "out", "https://gitlab.example/acme/gitops/-/blob/0123456789abcdef/checks/runbooks/")
    assert doc["summary"]["by_severity"]["P1"] == (1 if broken else 0)


def test_the_readme_shows_the_recipes_as_they_are_tested() -> None:
    readme = (REPO / "README.md").read_text()
    for recipe in sorted(RECIPES.iterdir()):
        assert f"```yaml\n{recipe.read_text()}```\n" in readme, (
            f"README.md does not include {recipe.relative_to(REPO)} verbatim"
        )
