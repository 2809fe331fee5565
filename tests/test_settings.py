"""Flags and ini settings that name a folder: one named on purpose must be one, or what it
holds would be dropped without a word."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "ini", "said"),
    [
        (
            ["--slos-path=slo"],
            "",
            "ERROR: --slos-path / slo_slos_path: no folder slo under the root {root}: name the folder of the "
            "OpenSLO documents (*.yaml), relative to the root",
        ),
        (
            [],
            "slo_slos_path = openslo\n",
            "ERROR: --slos-path / slo_slos_path: no folder openslo under the root {root}: name the folder of the "
            "OpenSLO documents (*.yaml), relative to the root",
        ),
        (
            ["--slos-path=slos/api-server.yaml"],
            "",
            "ERROR: --slos-path / slo_slos_path: slos/api-server.yaml is a file, not a folder (root {root}): "
            "name the folder of the OpenSLO documents (*.yaml), relative to the root",
        ),
    ],
    ids=["flag-missing", "ini-missing", "flag-a-file"],
)
def test_a_slos_path_that_is_no_folder_is_a_usage_error(
    gitops: Path, pytester: pytest.Pytester, args: list[str], ini: str, said: str
) -> None:
    if ini:
        pytester.makeini("[pytest]\n" + ini)
    result = pytester.runpytest("--site=production", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert said.format(root=gitops) in result.stderr.lines


def test_the_default_slos_folder_may_be_absent(gitops: Path, pytester: pytest.Pytester) -> None:
    for path in (gitops / "slos").iterdir():
        path.unlink()
    (gitops / "slos").rmdir()
    result = pytester.runpytest("--site=production")
    assert result.ret == pytest.ExitCode.OK
    assert "slos/" not in result.stdout.str()
