"""``pytest-slo init``, ``explain`` and ``render``, and a team's own renderer
(``slo_render_command``), as a user runs them: the console script in a subprocess."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .support import ENV, REPO, set_line


def slo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``pytest-slo ARGS``: the console script next to this interpreter (python -m as fallback)."""
    script = Path(sys.executable).with_name("pytest-slo")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "pytest_slo"]
    return subprocess.run([*argv, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def gate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_init_writes_a_repository_that_passes_its_own_gate(tmp_path: Path) -> None:
    done = slo("init", "gitops", "--site", "eu-1", "--app", "checkout", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    repo = tmp_path / "gitops"
    for path in (
        "pytest.ini",
        "Makefile",
        "sites/eu-1/config.env",
        "releases/1.0/render_values.py",
        "releases/1.0/config.schema.json",
        "releases/1.0/apps/checkout/values.yaml.j2",
        "releases/1.0/apps/checkout/values.schema.json",
        "checks/checkout.yaml",
        "checks/runbooks/checkout.md",
        "sites/eu-1/apps/checkout/values.yaml",
    ):
        assert (repo / path).is_file(), path
    assert "CHECKOUT_MEMORY_LIMIT=512Mi" in (repo / "sites/eu-1/config.env").read_text()
    result = gate(repo)
    assert result.returncode == 0, result.stdout
    assert "slo findings: 0 (none)" in result.stdout
    # the Makefile's merge gate, and the render script the config.env comment names
    make = subprocess.run(
        ["make", "test-app", "APP=checkout", f"PYTEST={sys.executable} -m pytest -p no:cacheprovider"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert make.returncode == 0, make.stdout + make.stderr
    set_line(repo / "sites/eu-1/config.env", "CHECKOUT_MEMORY_REQUEST", "1Gi")
    result = gate(repo)
    assert result.returncode == 1
    assert "CHECKOUT_MEMORY_REQUEST=1Gi is more than CHECKOUT_MEMORY_LIMIT=512Mi" in result.stdout  # the starter check
    assert "values-in-sync" in result.stdout  # and the built-in one: the render is stale
    rendered = subprocess.run(
        [
            sys.executable,
            "releases/1.0/render_values.py",
            "--env-file",
            "sites/eu-1/config.env",
            "--output",
            "sites/eu-1/apps/checkout/values.yaml",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "memory: \"1Gi\"" in (repo / "sites/eu-1/apps/checkout/values.yaml").read_text()


def test_init_refuses_a_folder_that_has_any_of_its_files_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks/web.yaml").write_text("ours\n")
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    done = slo("init", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "already has checks/web.yaml: nothing written" in done.stdout
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "checks/web.yaml").read_text() == "ours\n"


def test_explain_shows_the_check_as_it_reads_at_a_site(gitops: Path) -> None:
    set_line(gitops / ENV, "REDIS_EVICTION_POLICY", "noeviction")
    line = (gitops / ENV).read_text().splitlines().index("REDIS_EVICTION_POLICY=noeviction") + 1
    done = slo("explain", "redis-eviction-policy", "--site", "production", cwd=gitops)
    assert done.returncode == 1, done.stdout  # it fails there
    out = done.stdout
    assert out.startswith(
        "redis-eviction-policy [P1, config] a Redis cache evicts instead of refusing writes\n  declared at "
        "checks/redis.yaml:"
    )
    assert "\nat production / redis-cluster\n" in out
    assert "  assert: REDIS_EVICTION_POLICY != 'noeviction'\n" in out
    assert f"    {ENV}:{line}: REDIS_EVICTION_POLICY=noeviction\n" in out
    assert "  verdict: FAILS\n    REDIS_EVICTION_POLICY=noeviction; expected an evicting policy" in out
    assert f"  edit: {ENV}:{line}\n" in out
    assert "runbook: checks/runbooks/redis.md#redis-eviction-policy\n\n  ## redis-eviction-policy" in out


def test_explain_renders_queries_and_thresholds_and_keeps_secrets(gitops: Path) -> None:
    set_line(gitops / ENV, "REDIS_PASSWORD", "hunter2-secret")
    done = slo("explain", "slo-latency-p99", "--site", "production", cwd=gitops)
    assert done.returncode == 0, done.stdout
    out = done.stdout
    assert "  threshold: <= 500 ms   (SLO_API_LATENCY_P99_MS)\n" in out
    assert 'histogram_quantile(0.99, sum by (le) (' in out and 'namespace="production", service="api-server"' in out
    assert "SLO_API_LATENCY_P99_MS=500" in out
    assert "verdict: a live check: pass --live to read it now (read-only)" in out
    assert "hunter2" not in out
    # a built-in check: its runbook comes with the plugin and is printed from there
    done = slo("explain", "values-in-sync", "--site", "production", "--app", "api-server", cwd=gitops / "sites")
    assert done.returncode == 0, done.stdout
    assert "(comes with pytest-slo; a check of this id in checks/*.yaml replaces it)" in done.stdout
    assert "  ## values-in-sync\n" in done.stdout and "verdict: passes" in done.stdout


def test_explain_live_reads_the_value_now(gitops: Path, tmp_path: Path) -> None:
    snapshot = REPO / "examples/snapshots/incident.json"
    done = slo(
        "explain",
        "kube-oomkilled",
        "--site",
        "production",
        "--app",
        "redis-cluster",
        "--kube-snapshot",
        str(snapshot),
        "--live",
        cwd=gitops,
    )
    assert "verdict:" in done.stdout and "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["explain", "redis-evicton-policy", "--site", "production"],
            "unknown check 'redis-evicton-policy': did you mean redis-eviction-policy?",
        ),
        (
            ["explain", "redis-eviction-policy", "--site", "prodution"],
            "unknown site 'prodution': did you mean production?",
        ),
        (
            ["explain", "slo-error-rate", "--site", "production", "--app", "redis-cluster"],
            "unknown app of production that slo-error-rate applies to 'redis-cluster'",
        ),
        (["render", "--site", "nowhere"], "unknown site 'nowhere' (known: production, staging)"),
        (["frobnicate"], "pytest-slo: unknown command 'frobnicate'"),
    ],
)
def test_command_mistakes_are_one_line_with_a_did_you_mean(gitops: Path, args: list[str], said: str) -> None:
    done = slo(*args, cwd=gitops)
    assert done.returncode == 2
    assert said in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_explain_outside_a_repository_says_how_to_point_at_one(tmp_path: Path) -> None:
    done = slo("explain", "config-parse", "--site", "production", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        f"no sites/ folder in {tmp_path.resolve()} or above it: run in the GitOps repository or pass --root DIR"
        in done.stdout
    )


def test_render_writes_every_app_of_a_site_where_the_gate_reads(gitops: Path) -> None:
    set_line(gitops / ENV, "REDIS_MEMORY_LIMIT", "3Gi")
    set_line(gitops / ENV, "REDIS_MEMORY_REQUEST", "3Gi")
    done = slo("render", "--site", "production", cwd=gitops)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        f"rendered api-server for {ENV} -> sites/production/apps/api-server/values.yaml",
        f"rendered redis-cluster for {ENV} -> sites/production/apps/redis-cluster/values.yaml",
    ]
    assert 'memory: "3Gi"' in (gitops / "sites/production/apps/redis-cluster/values.yaml").read_text()
    assert gate(gitops, "--site=production", "-k", "values-in-sync").returncode == 0


# ----------------------------------------------------------------------- a team's own renderer

RENDERER = """#!/usr/bin/env python3
# Our renderer: not pytest-slo's. It writes a header of its own and sorts nothing.
import argparse, pathlib
p = argparse.ArgumentParser()
p.add_argument("--env"); p.add_argument("--app"); p.add_argument("--site"); p.add_argument("--out")
a = p.parse_args()
env = dict(l.split("=", 1) for l in pathlib.Path(a.env).read_text().splitlines() if "=" in l and not l.startswith("#"))
if a.app == "broken":
    raise SystemExit("values for broken: REDIS_MEMORY_LIMIT is not set")
out = pathlib.Path(a.out)
out.parent.mkdir(parents=True, exist_ok=True)
replicas = env.get('REDIS_REPLICAS', '1').split()[0]
out.write_text(f"# rendered by our own tool for {a.site}\\napp: {a.app}\\nreplicas: {replicas}\\n")
"""


@pytest.fixture
def own_renderer(gitops: Path) -> Path:
    script = gitops / "tools/render.py"
    script.parent.mkdir()
    script.write_text(RENDERER)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (gitops / "tox.ini").unlink(missing_ok=True)
    (gitops / "pytest.ini").write_text(
        "[pytest]\nslo_render_command = python3 tools/render.py --env {env_file} --app {app} --site {site} --out "
        "{output}\n"
    )
    for site in ("production", "staging"):
        for app in ("api-server", "redis-cluster"):
            replicas = "3"
            (gitops / f"sites/{site}/apps/{app}/values.yaml").write_text(
                f"# rendered by our own tool for {site}\napp: {app}\nreplicas: {replicas}\n"
            )
    return gitops


def test_values_in_sync_runs_the_repositorys_own_renderer(own_renderer: Path) -> None:
    result = gate(own_renderer, "--site=production", "-k", "values-in-sync", "--findings=f.json")
    assert result.returncode == 0, result.stdout  # byte for byte what our tool writes, header and all
    set_line(own_renderer / ENV, "REDIS_REPLICAS", "7")
    line = (own_renderer / ENV).read_text().splitlines().index("REDIS_REPLICAS=7") + 1
    result = gate(own_renderer, "--site=production", "-k", "redis-cluster and values-in-sync", "--findings=f.json")
    assert result.returncode == 1
    (finding,) = json.loads((own_renderer / "f.json").read_text())["findings"]
    # no template says which key wrote the line: the one key whose value it is
    assert (
        f"line 3 is 'replicas: 3', a fresh render gives 'replicas: 7' (REDIS_REPLICAS at {ENV}:{line})"
        in finding["message"]
    )
    assert finding["location"] == {"path": ENV, "line": line}
    set_line(own_renderer / ENV, "REDIS_REPLICAS", "5")  # REDIS_MAXMEMORY_SAMPLES=5 too: no line can be told
    gate(own_renderer, "--site=production", "-k", "redis-cluster and values-in-sync", "--findings=f.json")
    (finding,) = json.loads((own_renderer / "f.json").read_text())["findings"]
    assert "gives 'replicas: 5' (one of REDIS_MAXMEMORY_SAMPLES, REDIS_REPLICAS)" in finding["message"]
    assert finding["location"] == {"path": ENV, "line": None}
    # the command to run again is the repository's own, with the real paths
    assert finding["evidence"]["command"] == (
        "python3 tools/render.py --env sites/production/config.env --app redis-cluster --site production "
        "--out sites/production/apps/redis-cluster/values.yaml"
    )
    # pytest-slo render keeps the same contract
    done = slo("render", "--site", "production", "--app", "redis-cluster", cwd=own_renderer)
    assert done.returncode == 0, done.stdout
    assert gate(own_renderer, "--site=production", "-k", "redis-cluster and values-in-sync").returncode == 0


def test_a_renderer_that_fails_is_an_error_naming_the_command(own_renderer: Path) -> None:
    release = own_renderer / "releases/1.15/apps/broken"
    shutil.copytree(own_renderer / "releases/1.15/apps/api-server", release)
    result = gate(own_renderer, "--site=production", "-k", "broken and values-in-sync", "--findings=f.json")
    (finding,) = json.loads((own_renderer / "f.json").read_text())["findings"]
    assert finding["outcome"] == "error"
    assert finding["message"] == (
        "render command exited 1: python3 tools/render.py --env sites/production/config.env --app broken --site "
        "production "
        "--out "
        + finding["message"].split("--out ")[1].split(":")[0]
        + ": values for broken: REDIS_MEMORY_LIMIT is not set"
    )
    assert "Traceback" not in result.stdout


def test_a_render_outside_the_values_path_that_no_check_notices_is_said_so(gitops: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            ENV,
            "--app",
            "redis-cluster",
            "--output",
            "sites/production/apps/redis-cluster/values-prod.yaml",
        ],
        cwd=gitops,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert (
        "no check will notice this file either (values-stray looks for values.yaml in a folder named after an app)"
        in done.stderr
    )
    done = subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            ENV,
            "--output",
            "apps/redis-cluster/values.yaml",
        ],
        cwd=gitops,
        capture_output=True,
        text=True,
    )
    assert "its values-stray check fails while a render sits elsewhere" in done.stderr
    result = gate(gitops, "--site=production", "-k", "values-stray")
    assert (
        result.returncode == 1
        and "apps/redis-cluster/values.yaml: rendered values of redis-cluster that no check reads" in result.stdout
    )


def test_explain_says_a_numeric_threshold_and_exits_2_when_it_cannot_judge(gitops: Path) -> None:
    catalog = gitops / "checks/redis-live.yaml"
    done = slo("explain", "redis-memory-headroom", "--site", "production", cwd=gitops)
    assert "  threshold: < 80%\n" in done.stdout and done.returncode == 0
    catalog.write_text(catalog.read_text().replace('op: "<"', 'op: "=<"', 1))
    done = slo("explain", "redis-memory-headroom", "--site", "production", cwd=gitops)
    assert done.returncode == 2 and "cannot run: checks/redis-live.yaml:" in done.stdout


def test_explain_finds_a_check_by_the_start_of_its_id(gitops: Path) -> None:
    done = slo("explain", "redis-maxmemory-he", "--site", "production", cwd=gitops)
    assert "did you mean redis-maxmemory-headroom?" in done.stdout


def test_render_says_when_the_config_it_rendered_is_refused(gitops: Path) -> None:
    set_line(gitops / ENV, "REDIS_REPLICAS", "three")
    done = slo("render", "--site", "production", cwd=gitops)
    assert done.returncode == 1
    line = (gitops / ENV).read_text().splitlines().index("REDIS_REPLICAS=three") + 1
    assert (
        f"warning: {ENV}:{line}: REDIS_REPLICAS: 'three' is text, not an integer (config-parse or config-schema "
        "fails until it is fixed)"
        in done.stderr
    )


def test_rendering_one_sites_config_into_anothers_file_is_said(gitops: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            "sites/staging/config.env",
            "--output",
            "sites/production/apps/redis-cluster/values.yaml",
        ],
        cwd=gitops,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert (
        "warning: sites/production/apps/redis-cluster/values.yaml is where the gate reads production's values, "
        "but this renders "
        "sites/staging/config.env (staging)"
    ) in done.stderr
