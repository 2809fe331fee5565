"""The incident's session, replayed verbatim in its own repository layout (examples/incident):
the gate fails before the fix on the eviction policy and the memory limit; after the session's
config.env edit, its render command and ``make test-app APP=redis-cluster`` pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .support import REPO

RENDER = (
    "python3 releases/1.15/render_values.py --env-file sites/production/config.env --output "
    "apps/redis-cluster/values.yaml"
)
GATE = "make test-app APP=redis-cluster"


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # the session's commands as typed: python3 and pytest are this environment's
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_session_replayed_in_its_own_layout(tmp_path: Path) -> None:
    repo = tmp_path / "gitops"
    shutil.copytree(REPO / "examples/incident", repo)
    env = repo / "sites/production/config.env"

    before = shell(GATE, repo)
    assert before.returncode != 0, before.stdout
    failed = [line for line in before.stdout.splitlines() if line.startswith("FAILED ")]
    assert [line.split(" ")[1] for line in failed] == [
        "sites/production/config.env::redis-cluster::redis-eviction-policy",
        "sites/production/config.env::redis-cluster::redis-maxmemory-headroom",
    ], before.stdout
    assert "REDIS_EVICTION_POLICY=noeviction; expected an evicting policy" in before.stdout
    assert "is 300% of the 512Mi limit" in before.stdout

    # 4.2: "Changes to config.env"
    text = env.read_text()
    text = text.replace("REDIS_MEMORY_LIMIT=512Mi\n", "REDIS_MEMORY_LIMIT=2Gi  # Was: 512Mi\n")
    text = text.replace(
        "REDIS_EVICTION_POLICY=noeviction\n",
        "REDIS_EVICTION_POLICY=allkeys-lru  # Was: noeviction\nREDIS_MAXMEMORY_SAMPLES=5  # LRU sampling\n",
    )
    env.write_text(text)
    # the gate sees the config changed and the committed render did not
    stale = shell(GATE, repo)
    assert stale.returncode != 0 and "::redis-cluster::values-in-sync" in stale.stdout

    rendered = shell(RENDER, repo)
    assert rendered.returncode == 0, rendered.stderr
    assert (
        rendered.stdout.strip()
        == "rendered redis-cluster for sites/production/config.env -> apps/redis-cluster/values.yaml"
    )
    assert rendered.stderr == ""  # the gate reads apps/redis-cluster/values.yaml here: no warning

    after = shell(GATE, repo)
    assert after.returncode == 0, after.stdout
    assert "slo findings: 0 (none)" in after.stdout
    values = (repo / "apps/redis-cluster/values.yaml").read_text()
    assert 'memory: "2Gi"' in values and 'maxmemoryPolicy: "allkeys-lru"' in values and "maxmemorySamples: 5" in values
