"""The Node authorities generated reports are checked against, installed by ``npm ci`` from the
repository's package-lock.json (scripts/system-deps.sh and .ci/run do it):

* Microsoft's SARIF Multitool (``@microsoft/sarif-multitool``) with GitHub's rules: what code
  scanning would reject in a SARIF file;
* markdownlint-cli2 with the repository's ``.markdownlint-cli2.jsonc``: Markdown that does not
  render as written;
* markdown-it, a CommonMark renderer with GFM tables: what a reader of the Markdown sees.

A tool that is not installed fails the test in CI (``CI=true``), naming how to install it, and
skips it elsewhere, as a missing Debian server does (conftest.py).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO / "node_modules"
MARKDOWNLINT_CONFIG = REPO / ".markdownlint-cli2.jsonc"
INSTALL = (
    "run `npm ci` in the repository (Node.js and npm: apt-get install -y nodejs npm), as scripts/system-deps.sh does"
)


def _missing(what: str) -> None:
    message = f"{what} not found: {INSTALL}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def multitool() -> Path:
    """The Multitool's native binary (the npm package's ``bin.js`` runs it through a shell,
    which would split ``--rule-kind "Gh;Sarif"`` at the semicolon)."""
    platform = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    binary = (
        NODE_MODULES
        / "@microsoft"
        / f"sarif-multitool-{platform}"
        / ("Sarif.Multitool.exe" if platform == "win32" else "Sarif.Multitool")
    )
    if not binary.is_file():
        _missing(f"the SARIF Multitool ({binary})")
    return binary


def sarif_problems(sarif: Path) -> Counter[tuple[str, str]]:
    """``Sarif.Multitool validate --rule-kind "Gh;Sarif"`` on ``sarif``: how many results of
    each (level, rule id) it reports. Its exit code is 0 whatever it finds, so its own SARIF
    output is read."""
    binary = multitool()
    with tempfile.TemporaryDirectory(prefix="slo-multitool-") as tmp:
        out = Path(tmp) / "validation.sarif"
        # a .NET program: without ICU (libicu) it would not start; SARIF needs no culture data
        env = {**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"}
        done = subprocess.run(
            [str(binary), "validate", "--rule-kind", "Gh;Sarif", "--output", str(out), str(sarif)],
            capture_output=True, text=True, timeout=120, env=env,
        )
        assert done.returncode == 0 and out.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
        doc = json.loads(out.read_text(encoding="utf-8-sig"))
    return Counter((r.get("level", "warning"), r["ruleId"]) for run in doc["runs"] for r in run.get("results", []))


def sarif_errors(sarif: Path) -> dict[str, int]:
    """The rule ids the Multitool reports as errors (what GitHub rejects), with their counts."""
    return {rule: n for (level, rule), n in sorted(sarif_problems(sarif).items()) if level == "error"}


def markdownlint(*files: Path) -> list[str]:
    """markdownlint-cli2 with the repository's config on ``files``: one line per problem
    (``findings.md:12:5 error MD037/no-space-in-emphasis ...``), empty when clean."""
    binary = NODE_MODULES / ".bin" / "markdownlint-cli2"
    if not binary.exists():
        _missing(f"markdownlint-cli2 ({binary})")
    node = shutil.which("node")
    if node is None:
        _missing("node")
    done = subprocess.run(
        [str(binary), "--config", str(MARKDOWNLINT_CONFIG), *(str(f) for f in files)],
        capture_output=True, text=True, timeout=120,
    )
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if re.search(r":\d+(:\d+)? (error|warning) MD\d+", line)
    ]
    assert done.returncode in (0, 1) and (done.returncode == 0) == (not problems), done.stdout + done.stderr
    return problems


def rule_counts(problems: list[str]) -> dict[str, int]:
    """``{"MD037": 12, "MD034": 8}`` from :func:`markdownlint`'s lines."""
    return dict(sorted(Counter(m.group(1) for p in problems if (m := re.search(r" (MD\d+)/", p))).items()))


def render_markdown(text: str) -> str:
    """``text`` rendered to HTML by markdown-it (CommonMark with GFM tables), as a reader sees it."""
    binary = NODE_MODULES / ".bin" / "markdown-it"
    if not binary.exists():
        _missing(f"markdown-it ({binary})")
    done = subprocess.run([str(binary)], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def rendered_texts(markdown: str) -> list[str]:
    """The text of each paragraph and table cell of ``markdown`` once rendered (markdown-it),
    as a browser shows it: tags dropped, entities decoded."""
    parts = re.findall(r"<(?:p|td)>(.*?)</(?:p|td)>", render_markdown(markdown), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", part)) for part in parts]
