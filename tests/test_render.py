"""The render CLI: the seed's exact command, and the bytes the gate expects."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import LAYOUT, REPO, assert_counts

SEED = [
    "python3",
    "releases/1.15/render_values.py",
    "--env-file",
    "sites/production/config.env",
    "--output",
    "apps/redis-cluster/values.yaml",
]


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    for name in LAYOUT:
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "pytest_slo", tmp_path / "pytest_slo")
    return tmp_path


def test_the_seed_command_verbatim_renders_the_committed_bytes(repo_copy: Path) -> None:
    done = subprocess.run(SEED, cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "rendered redis-cluster for sites/production/config.env -> apps/redis-cluster/values.yaml"
    )
    # written, but the gate reads sites/<site>/apps/<app>/values.yaml: said on stderr, exit 0
    assert done.stderr.splitlines() == [
        "warning: no check reads apps/redis-cluster/values.yaml: the gate reads "
        "sites/production/apps/redis-cluster/values.yaml "
        "(default slo_values_path: sites/{site}/apps/{app}/values.yaml), and its values-stray check fails while "
        "a render sits elsewhere",
        "  render there: python3 releases/1.15/render_values.py --env-file sites/production/config.env "
        "--output sites/production/apps/redis-cluster/values.yaml",
    ]
    rendered = (repo_copy / "apps/redis-cluster/values.yaml").read_bytes()
    assert rendered == (REPO / "sites/production/apps/redis-cluster/values.yaml").read_bytes()
    assert b'memory: "2Gi"' in rendered and b'maxmemoryPolicy: "allkeys-lru"' in rendered


def test_app_flag_and_unknown_app(repo_copy: Path) -> None:
    out = repo_copy / "x" / "values.yaml"
    done = subprocess.run(
        [*SEED[:4], "--output", str(out), "--app", "api-server"], cwd=repo_copy, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (REPO / "sites/production/apps/api-server/values.yaml").read_bytes()
    done = subprocess.run(
        [*SEED[:4], "--output", "apps/nope/values.yaml"], cwd=repo_copy, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "unknown app 'nope' in release 1.15 (known: api-server, redis-cluster); pass --app" in done.stderr


def test_bad_input_is_one_line_with_file_and_line(repo_copy: Path) -> None:
    env = repo_copy / "sites/production/config.env"
    env.write_text(env.read_text().replace("REDIS_REPLICAS=3\n", ""))
    done = subprocess.run(SEED, cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.startswith("error: ")
        and "values.yaml.j2:3: template uses an undefined variable: 'REDIS_REPLICAS' is undefined" in done.stderr
    )
    assert not (repo_copy / "apps/redis-cluster/values.yaml").exists()


def test_the_gate_agrees_after_a_config_change_and_rerender(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / "sites/production/config.env"
    env.write_text(env.read_text().replace("REDIS_MEMORY_LIMIT=2Gi", "REDIS_MEMORY_LIMIT=3Gi"))
    result = pytester.runpytest("--site", "production", "--app", "redis-cluster", "-q")
    assert_counts(result, failed=1)
    result.stdout.fnmatch_lines(["*line 12 is 'memory: \"2Gi\"', a fresh render gives 'memory: \"3Gi\"'*"])
    subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            "sites/production/config.env",
            "--output",
            "sites/production/apps/redis-cluster/values.yaml",
        ],
        cwd=gitops,
        check=True,
        capture_output=True,
    )
    assert_counts(pytester.runpytest("--site", "production", "--app", "redis-cluster", "-q"))


def test_rendering_where_the_gate_reads_says_nothing_on_stderr(repo_copy: Path) -> None:
    out = "sites/production/apps/redis-cluster/values.yaml"
    done = subprocess.run([*SEED[:5], out], cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    # from another folder, with absolute paths, it is still the gate's file
    done = subprocess.run(
        [
            sys.executable,
            str(repo_copy / SEED[1]),
            "--env-file",
            str(repo_copy / SEED[3]),
            "--output",
            str(repo_copy / out),
        ],
        cwd=repo_copy.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tox.ini", "[pytest]\nslo_values_path = apps/{app}/values.yaml\n"),
        ("pytest.ini", "[pytest]\nslo_values_path = apps/{app}/values.yaml\n"),
        ("setup.cfg", "[tool:pytest]\nslo_values_path = apps/{app}/values.yaml\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\nslo_values_path = "apps/{app}/values.yaml"\n'),
    ],
)
def test_the_values_path_comes_from_the_repositorys_ini_file(repo_copy: Path, name: str, text: str) -> None:
    if name == "pyproject.toml":
        pytest.importorskip("tomllib")
    (repo_copy / name).write_text(text)
    done = subprocess.run(SEED, cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    done = subprocess.run(
        [*SEED[:5], "sites/production/apps/redis-cluster/values.yaml"], cwd=repo_copy, capture_output=True, text=True
    )
    assert done.returncode == 0
    assert (
        f"the gate reads apps/redis-cluster/values.yaml (slo_values_path in {name}: apps/{{app}}/values.yaml)"
        in done.stderr
    )


def test_help_teaches_the_path_the_gate_reads(repo_copy: Path) -> None:
    done = subprocess.run([*SEED[:2], "--help"], cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert text.startswith("usage: python3 releases/1.15/render_values.py ")
    assert "the gate reads sites/{site}/apps/{app}/values.yaml, e.g. sites/production/apps/" in text
    assert "e.g. apps/" not in text
    script = (repo_copy / SEED[1]).read_text()
    assert "--output sites/production/apps/redis-cluster/values.yaml" in script and "--output apps/" not in script


# the metrics.prometheusRule block of the Bitnami Redis chart's values.yaml (see tests/data/README.md)
BITNAMI = (Path(__file__).parent / "data" / "bitnami-redis-prometheusrule.yaml").read_text()
TEMPLATE = "releases/1.15/apps/redis-cluster/values.yaml.j2"
HINT = (
    "is a YAML comment, but jinja2 reads {{ there too (copied from a Helm chart?): "
    "escape it as {{ '{{' }} or wrap the lines in {% raw %} ... {% endraw %})"
)


def test_helm_chart_comments_pasted_into_a_template_get_the_escape_hint(repo_copy: Path) -> None:
    template = repo_copy / TEMPLATE
    template.write_text(template.read_text() + BITNAMI)  # under `metrics:`, where the chart has it
    line = next(i for i, text in enumerate(template.read_text().splitlines(), 1) if "{{ template " in text)
    done = subprocess.run(
        [*SEED[:5], "sites/production/apps/redis-cluster/values.yaml"], cwd=repo_copy, capture_output=True, text=True
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.endswith(
        f"{TEMPLATE}:{line}: template syntax error: expected token 'end of print statement', got 'string' (line "
        f"{line} {HINT}\n"
    )
    # the advice works: the same lines inside {% raw %} render verbatim
    template.write_text(template.read_text().replace(BITNAMI, "{% raw %}" + BITNAMI + "{% endraw %}"))
    done = subprocess.run(
        [*SEED[:5], "sites/production/apps/redis-cluster/values.yaml"], cwd=repo_copy, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert BITNAMI in (repo_copy / "sites/production/apps/redis-cluster/values.yaml").read_text()


def test_the_gate_gives_the_same_hint_at_the_template_line(gitops: Path, pytester: pytest.Pytester) -> None:
    template = gitops / TEMPLATE
    template.write_text(template.read_text() + BITNAMI)
    line = next(i for i, text in enumerate(template.read_text().splitlines(), 1) if "{{ template " in text)
    result = pytester.runpytest(
        "--site", "production", "--app", "redis-cluster", "-k", "values-in-sync", "--findings=f.json"
    )
    result.stdout.fnmatch_lines([f"{TEMPLATE}:{line}: template syntax error: * (line {line} {HINT}"])
    (finding,) = json.loads((gitops / "f.json").read_text())["findings"]
    assert finding["outcome"] == "error"  # the template cannot be read: no verdict, an error at its line
    assert finding["location"] == {"path": TEMPLATE, "line": line}


def test_helm_go_template_syntax_outside_a_comment_is_named(repo_copy: Path) -> None:
    template = repo_copy / TEMPLATE
    template.write_text(
        template.read_text().replace("replicaCount: {{ REDIS_REPLICAS }}", "replicaCount: {{ .Values.replicaCount }}")
    )
    done = subprocess.run(SEED, cwd=repo_copy, capture_output=True, text=True)
    assert done.returncode == 2
    assert (
        f"{TEMPLATE}:3: template syntax error: unexpected '.' (this is Helm's Go template syntax, not jinja2: "
        "write a config.env key ({{ KEY }})"
        in done.stderr
    )
