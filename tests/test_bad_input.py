"""Bad input in the repository names file:line, never with a traceback, and every other
item still runs. A check that judged the input and found it wrong *fails* (config-parse,
config-schema, values-schema, values-in-sync); a check that cannot judge because its input
is broken (a template that does not render, a file that is not YAML) *errors*."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_slo.catalog.runbooks import runbook

from .support import set_line

ENV = "sites/production/config.env"


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest("--site", "production", "--findings=f.json", *args)
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text and "Traceback" not in text, text
    findings = json.loads((pytester.path / "f.json").read_text())
    return result, findings


def finding(findings: dict, check: str, app: str | None = None) -> dict:
    matches = [f for f in findings["findings"] if f["check"] == check and (app is None or f["app"] == app)]
    assert len(matches) == 1, [f["nodeid"] for f in findings["findings"]]
    return matches[0]


def line_of(path: Path, key: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(key + "="))


def test_a_line_without_equals(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    env.write_text(env.read_text().replace("REDIS_ROLE=cache\n", "REDIS_ROLE=cache\nthis is not a setting\n"))
    result, findings = run(pytester)
    f = finding(findings, "config-parse")
    line = env.read_text().splitlines().index("this is not a setting") + 1
    assert f["location"] == {"path": ENV, "line": line}
    assert f"{ENV}:{line}: line has no '='" in f["message"]
    assert f["outcome"] == "failed"
    result.stdout.fnmatch_lines([f"*{ENV}:{line}: line has no '='*write KEY=VALUE*"])
    assert (
        findings["summary"]["failed"] == 1 and findings["summary"]["errors"] == 0 and findings["summary"]["passed"] > 10
    )


def test_a_duplicate_key(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    first = line_of(env, "REDIS_EVICTION_POLICY")
    env.write_text(env.read_text() + "REDIS_EVICTION_POLICY=noeviction\n")
    _, findings = run(pytester)
    f = finding(findings, "config-parse")
    assert f["outcome"] == "failed"
    assert f"duplicate key REDIS_EVICTION_POLICY (first set on line {first})" in f["message"]
    assert f["location"]["line"] == len(env.read_text().splitlines())


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("REDIS_MAXMEMORY_SAMPLS", "5", "unknown key REDIS_MAXMEMORY_SAMPLS; did you mean REDIS_MAXMEMORY_SAMPLES?"),
        ("REDIS_REPLICAS", "three", "REDIS_REPLICAS: 'three' is text, not an integer"),
        (
            "REDIS_MEMORY_LIMIT",
            "2GB",
            "REDIS_MEMORY_LIMIT: '2GB' is not a Kubernetes quantity (Kubernetes writes 2Gi for binary or 2G for "
            "decimal units)",
        ),
        (
            "REDIS_EVICTION_POLICY",
            "lru",
            "REDIS_EVICTION_POLICY: 'lru' is not one of the allowed values (write one of: noeviction, allkeys-lru",
        ),
        (
            "REDIS_MAXMEMORY",
            "2Gi",
            "REDIS_MAXMEMORY: '2Gi' is not a Redis memory size (Redis has no Gi: write 2gb for binary units, 2g "
            "for decimal)",
        ),
    ],
)
def test_schema_violations_point_at_the_key(
    gitops: Path, pytester: pytest.Pytester, key: str, value: str, expected: str
) -> None:
    env = gitops / ENV
    set_line(env, key, value)
    line = line_of(env, key)
    _, findings = run(pytester)
    f = finding(findings, "config-schema")
    assert f"{ENV}:{line}: {expected}" in f["message"]
    assert f["outcome"] == "failed"
    assert f["location"] == {"path": ENV, "line": line}
    assert f["runbook"] == runbook("runbooks/config.md#config-schema")  # comes with pytest-slo


def test_a_release_that_does_not_exist(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    set_line(env, "RELEASE", "1.99")
    _result, findings = run(pytester)
    f = finding(findings, "config-schema")
    assert f["outcome"] == "error"
    assert f["message"].startswith(
        f"{ENV}:{line_of(env, 'RELEASE')}: RELEASE=1.99 does not exist (no releases/1.99/) (known releases: 1.15)"
    )
    # the parse item does not depend on the release and still passes
    assert "config-parse" not in {x["check"] for x in findings["findings"]}


def test_an_undefined_template_variable(gitops: Path, pytester: pytest.Pytester) -> None:
    template = gitops / "releases/1.15/apps/api-server/values.yaml.j2"
    template.write_text(template.read_text() + "extra: {{ API_NOT_A_KEY }}\n")
    line = len(template.read_text().splitlines())
    _, findings = run(pytester)
    f = finding(findings, "values-in-sync", "api-server")
    assert f["location"] == {"path": "releases/1.15/apps/api-server/values.yaml.j2", "line": line}
    assert "undefined variable: 'API_NOT_A_KEY' is undefined" in f["message"]
    assert f["outcome"] == "error"
    # the other app renders from its own template and still passes
    assert {x["app"] for x in findings["findings"]} == {"api-server"}


def test_a_template_syntax_error(gitops: Path, pytester: pytest.Pytester) -> None:
    template = gitops / "releases/1.15/apps/redis-cluster/values.yaml.j2"
    template.write_text(template.read_text().replace("{{ REDIS_REPLICAS }}", "{{ REDIS_REPLICAS }"))
    _, findings = run(pytester)
    f = finding(findings, "values-in-sync", "redis-cluster")
    assert f["location"] == {"path": "releases/1.15/apps/redis-cluster/values.yaml.j2", "line": 3}
    assert "template syntax error" in f["message"]
    assert f["outcome"] == "error" and "\n" not in f["message"]


def test_a_committed_values_file_that_is_not_yaml(gitops: Path, pytester: pytest.Pytester) -> None:
    values = gitops / "sites/production/apps/redis-cluster/values.yaml"
    values.write_text(values.read_text().replace("replicaCount: 3", "replicaCount: [3"))
    _, findings = run(pytester)
    f = finding(findings, "values-schema", "redis-cluster")
    assert f["location"]["path"] == "sites/production/apps/redis-cluster/values.yaml"
    assert "not valid YAML" in f["message"] and f["location"]["line"] is not None
    assert f["outcome"] == "error"
    stale = finding(findings, "values-in-sync", "redis-cluster")
    assert (
        stale["location"] == {"path": ENV, "line": line_of(gitops / ENV, "REDIS_REPLICAS")}
        and stale["outcome"] == "failed"
    )


def test_values_schema_failure_is_traced_to_the_config_line(gitops: Path, pytester: pytest.Pytester) -> None:
    schema = gitops / "releases/1.15/apps/redis-cluster/values.schema.json"
    data = json.loads(schema.read_text())
    data["properties"]["replicaCount"]["maximum"] = 2
    schema.write_text(json.dumps(data))
    _, findings = run(pytester)
    f = finding(findings, "values-schema", "redis-cluster")
    line = line_of(gitops / ENV, "REDIS_REPLICAS")
    assert f["location"] == {"path": ENV, "line": line}
    assert f"replicaCount: 3 is greater than the maximum of 2 (set by REDIS_REPLICAS at {ENV}:{line})" in f["message"]
    assert f["outcome"] == "failed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type": "object",\n "properties": {\n', "not valid JSON"),
        ('{"type": "objekt"}', "not a valid JSON Schema at /type"),
    ],
)
def test_a_schema_file_that_is_not_json_schema(
    gitops: Path, pytester: pytest.Pytester, text: str, expected: str
) -> None:
    (gitops / "releases/1.15/config.schema.json").write_text(text)
    _, findings = run(pytester)
    f = finding(findings, "config-schema")
    assert f["location"]["path"] == "releases/1.15/config.schema.json"
    assert f["location"]["line"] is not None
    assert expected in f["message"]
    assert f["outcome"] == "error"


def test_secrets_are_redacted_everywhere(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    set_line(env, "REDIS_PASSWORD", "hunter2-s3cr3t")
    set_line(env, "REDIS_API_TOKEN", "tok-hunter2-s3cr3t-x")
    set_line(env, "REDIS_EVICTION_POLICY", "hunter2-s3cr3t")
    result, _findings = run(pytester, "--findings-md=f.md", "--junitxml", "j.xml")
    everything = (
        result.stdout.str()
        + (pytester.path / "f.json").read_text()
        + (pytester.path / "f.md").read_text()
        + (pytester.path / "j.xml").read_text()
    )
    assert "hunter2" not in everything
    assert "***" in everything


def test_config_values_with_template_syntax_are_data(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    set_line(env, "API_IMAGE_TAG", "{{ 7*7 }}")
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            ENV,
            "--output",
            "sites/production/apps/api-server/values.yaml",
        ],
        cwd=gitops,
        check=True,
        capture_output=True,
    )
    assert 'tag: "{{ 7*7 }}"' in (gitops / "sites/production/apps/api-server/values.yaml").read_text()
    _result, findings = run(pytester)
    assert findings["summary"]["failed"] == 0
