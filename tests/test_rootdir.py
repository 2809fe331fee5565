"""Path options and pytest's rootdir: the repository's ini settings are never dropped.

pytest picks its rootdir and ini file before it knows pytest-slo's options, so in
``--findings /out/f.json`` the path reads as a test path; once it exists the rootdir moves
and ``slo_live`` / ``slo_site`` from the repository's ini file are silently lost (a second
identical run skipped every live item and exited 0, or ran every site and collected tests/).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_slo.settings import OPTIONS, PATH_OPTIONS

REPO = Path(__file__).resolve().parents[1]
INI = "[pytest]\nslo_live = true\nslo_site = production\n"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the repository holding an existing snapshot and an old findings file."""
    folder = tmp_path_factory.mktemp("artifacts")
    shutil.copy(REPO / "examples" / "snapshots" / "incident.json", folder / "dump.json")
    (folder / "f.json").write_text("{}")
    return folder


@pytest.fixture
def repo(gitops: Path, pytester: pytest.Pytester) -> Path:
    pytester.makeini(INI)
    # a project test next to the gate: collected only when slo_site is dropped
    pytester.mkpydir("tests").joinpath("test_project.py").write_text("def test_project():\n    pass\n")
    return gitops


def test_every_path_valued_option_is_covered() -> None:
    path_valued = {o.flag for o in OPTIONS if o.metavar in ("PATH", "DIR", "FILE", "PATTERN")}
    assert path_valued == PATH_OPTIONS


@pytest.mark.parametrize("flag", sorted(PATH_OPTIONS))
def test_a_path_after_a_space_is_refused_before_anything_runs(
    repo: Path, pytester: pytest.Pytester, outside: Path, flag: str
) -> None:
    value = str(outside / "f.json")
    result = pytester.runpytest(flag, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {flag} {value}: write {flag}={value}", "*picks its rootdir and ini file*"])
    assert "collected" not in result.stdout.str()


def test_the_refusal_does_not_depend_on_the_path_existing(repo: Path, pytester: pytest.Pytester, outside: Path) -> None:
    # the first run (no file yet) and the second (file written) must behave the same
    result = pytester.runpytest("--findings", str(outside / "not-yet.json"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert not (outside / "not-yet.json").exists()


def test_several_are_all_named_also_from_pytest_addopts(
    repo: Path, pytester: pytest.Pytester, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", f"--findings-md {outside}/f.md")
    result = pytester.runpytest("--kube-snapshot", str(outside / "dump.json"), "--site", "production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --findings-md {outside}/f.md: write --findings-md={outside}/f.md",
            f"--kube-snapshot {outside}/dump.json: write --kube-snapshot={outside}/dump.json",
        ]
    )


def test_the_equals_form_keeps_the_rootdir_and_the_ini_settings(
    repo: Path, pytester: pytest.Pytester, outside: Path
) -> None:
    findings = outside / "f.json"
    for _ in range(2):  # the second run finds the file written by the first
        result = pytester.runpytest_subprocess(
            f"--findings={findings}", f"--kube-snapshot={outside / 'dump.json'}", "-m", "kube", "-p", "no:cacheprovider"
        )
        out = result.stdout.str()
        assert f"rootdir: {repo}" in out
        assert "slo: site=production app=all live=on" in out
        assert "test_project" not in out and "sites/staging" not in out
        # slo_live = true: the kube items of production judged the snapshot, none skipped
        outcomes = result.parseoutcomes()
        assert outcomes.get("failed", 0) + outcomes.get("passed", 0) > 0 and "skipped" not in outcomes, out
        assert '"summary"' in findings.read_text()


def test_an_option_without_a_path_still_takes_a_space(repo: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--site", "staging", "--app", "api-server", "--co", "-q")
    assert result.ret == pytest.ExitCode.OK
    ids = [line for line in result.stdout.lines if "::" in line]
    assert ids and all(i.startswith(("sites/staging/config.env", "checks/", "slos/")) for i in ids)
