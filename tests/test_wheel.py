"""The package as a team installs it: the wheel built from this tree, in a fresh virtualenv,
gates a copy of the example repository that holds no source, and a repository made by
``pytest-slo init``. Every file of the package that is not Python is in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .support import REPO

pytestmark = pytest.mark.wheel

#: What a copy of the example holds: the repository without the package, its tests and servers.
NOT_COPIED = ("pytest_slo/", "teststack/", "tests/", "benchmarks/")


def run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # a copy of the tree git tracks, so nothing built or cached here gets in
    src = out / "src"
    files = run(["git", "ls-files", "-z"], REPO).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)], out)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("pytest_slo-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv (no site packages of this one) with the wheel and its dependencies."""
    home = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    done = run([str(home / "bin/python"), "-m", "pip", "install", "-q", str(wheel)], home)
    assert done.returncode == 0, done.stdout + done.stderr
    return home / "bin"


def test_every_file_of_the_package_that_is_not_python_is_in_the_wheel(wheel: Path) -> None:
    tracked = run(["git", "ls-files", "pytest_slo"], REPO).stdout.split()
    data = {name for name in tracked if not name.endswith(".py")}
    assert data, "the package holds templates, schemas, built-in checks and runbooks"
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    assert sorted(data - shipped) == []
    assert {name for name in tracked if name.endswith(".py")} <= shipped


def test_the_wheel_gates_the_example_from_a_copy_without_source(installed: Path, tmp_path: Path) -> None:
    copy = tmp_path / "gitops"
    for name in filter(None, run(["git", "ls-files", "-z"], REPO).stdout.split("\0")):
        if not name.startswith(NOT_COPIED) and (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    assert (copy / "slos/api-server.yaml").is_file() and not (copy / "pytest_slo").exists()
    for site in ("production", "staging"):
        done = run(
            [
                str(installed / "pytest"),
                "-p",
                "no:cacheprovider",
                f"--site={site}",
                "--findings=f.json",
                "--sarif=f.sarif",
            ],
            copy,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert "slo findings: 0 (none)" in done.stdout and "Traceback" not in done.stdout
        assert f"sites/{site}/config.env::api-server::api-availability::burn-rate SKIPPED" not in done.stdout
    # the SLO files were read (their catalog item ran) and the render script runs on the installed package
    done = run([str(installed / "pytest"), "-p", "no:cacheprovider", "--site=production", "--co", "-q"], copy)
    assert "slos/api-server.yaml::catalog" in done.stdout
    rendered = run(
        [
            str(installed / "python"),
            "releases/1.15/render_values.py",
            "--env-file",
            "sites/production/config.env",
            "--output",
            "sites/production/apps/redis-cluster/values.yaml",
        ],
        copy,
    )
    assert rendered.returncode == 0, rendered.stderr
    explained = run(
        [str(installed / "pytest-slo"), "explain", "values-schema", "--site", "production", "--app", "redis-cluster"],
        copy,
    )
    assert explained.returncode == 0 and "## values-schema" in explained.stdout, explained.stdout + explained.stderr


def test_the_wheel_gates_a_repository_made_by_init(installed: Path, tmp_path: Path) -> None:
    done = run([str(installed / "pytest-slo"), "init", "repo", "--app", "payments"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run([str(installed / "pytest"), "-p", "no:cacheprovider"], tmp_path / "repo")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "slo findings: 0 (none)" in done.stdout
    assert run([str(installed / "python"), "-m", "pytest_slo", "--help"], tmp_path).returncode == 0
