"""What the tests share besides fixtures: the example repository's paths and a few helpers.

pytest's own advice: conftest.py holds fixtures and hooks, which pytest finds by itself; a
helper tests import lives in a module of its own (here), never imported from conftest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["ENV", "LAYOUT", "REPO", "STACK", "assert_counts", "check_jsonschema", "incident_config", "set_line"]

REPO = Path(__file__).resolve().parents[1]
LAYOUT = ("sites", "releases", "checks", "slos")
ENV = "sites/production/config.env"
#: The Debian binaries of the local stack (servers the tests start on loopback).
STACK = ("redis-server", "prometheus", "promtool", "prometheus-redis-exporter")


def check_jsonschema(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """check-jsonschema (an authority we did not write), run by this interpreter wherever it lives."""
    pytest.importorskip("check_jsonschema")
    return subprocess.run([sys.executable, "-m", "check_jsonschema", *args], cwd=cwd, capture_output=True, text=True)


def set_line(path: Path, key: str, value: str | None) -> None:
    """Set (or with None, delete) KEY in a config.env, keeping the other lines."""
    lines = path.read_text().splitlines()
    out, done = [], False
    for line in lines:
        if line.split("=", 1)[0].strip() == key:
            done = True
            if value is not None:
                out.append(f"{key}={value}")
            continue
        out.append(line)
    if not done and value is not None:
        out.append(f"{key}={value}")
    path.write_text("\n".join(out) + "\n")


def incident_config(gitops: Path) -> None:
    """The production site as it was before the incident: noeviction at 512Mi."""
    env = gitops / ENV
    set_line(env, "REDIS_EVICTION_POLICY", "noeviction")
    set_line(env, "REDIS_MEMORY_LIMIT", "512Mi")
    set_line(env, "REDIS_MEMORY_REQUEST", "512Mi")


def assert_counts(result: pytest.RunResult, *, failed: int = 0, errors: int = 0) -> dict[str, int]:
    """The run failed exactly ``failed`` items, errored ``errors``, and passed some."""
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == failed, result.stdout.str()
    assert outcomes.get("errors", outcomes.get("error", 0)) == errors, result.stdout.str()
    assert outcomes.get("passed", 0) > 0
    return outcomes
