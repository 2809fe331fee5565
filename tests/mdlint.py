"""markdownlint-cli2 (an npm package, an authority we did not write) over generated Markdown.

Found in the repository's ``node_modules/.bin``, at ``$MARKDOWNLINT_CLI2`` or on PATH; the rules
are the repository's ``.markdownlint-cli2.jsonc``. Missing, it fails the test in CI
(``CI=true``) and skips it elsewhere, naming the command that installs it, like the servers mark.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / ".markdownlint-cli2.jsonc"
INSTALL = (
    "run `npm install --no-save markdownlint-cli2` in the repository (Node.js and npm: apt-get install -y nodejs npm)"
)


def markdownlint() -> str | None:
    for candidate in (str(REPO / "node_modules/.bin/markdownlint-cli2"), os.environ.get("MARKDOWNLINT_CLI2"),
                      shutil.which("markdownlint-cli2")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = markdownlint()
    if binary is None:
        message = f"markdownlint-cli2 not found: {INSTALL}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return subprocess.run(
        [binary, "--config", str(CONFIG), str(path)], cwd=path.parent, capture_output=True, text=True, timeout=120
    )


def assert_lints_clean(path: Path) -> None:
    done = lint(path)
    assert done.returncode == 0, done.stdout + done.stderr
