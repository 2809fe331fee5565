"""Rendered values findings point at the line to change, never at the generated file;
repeated keys and renders outside slo_values_path are findings.

Authority: check-jsonschema (its own YAML loader, ruamel.yaml) agrees with each verdict on
the same files: it rejects the quoted replica count and the repeated key too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import ENV, check_jsonschema

VALUES = "sites/production/apps/redis-cluster/values.yaml"
TEMPLATE = "releases/1.15/apps/redis-cluster/values.yaml.j2"
SCHEMA = "releases/1.15/apps/redis-cluster/values.schema.json"
RENDER = f"python3 releases/1.15/render_values.py --env-file {ENV} --output {VALUES}"


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest("--site", "production", "--findings=f.json", *args)
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text and "Traceback" not in text, text
    return result, json.loads((pytester.path / "f.json").read_text())


def findings_of(doc: dict, check: str) -> list[dict]:
    return [f for f in doc["findings"] if f["check"] == check and f["app"] in ("redis-cluster", None)]


def render(gitops: Path, output: str = VALUES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "releases/1.15/render_values.py", "--env-file", ENV, "--output", output],
        cwd=gitops, capture_output=True, text=True, check=True,
    )


def line_of(path: Path, start: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(start))


def test_a_template_that_quotes_a_valid_key_is_blamed_not_config_env(gitops: Path, pytester: pytest.Pytester) -> None:
    template = gitops / TEMPLATE
    template.write_text(
        template.read_text().replace("replicaCount: {{ REDIS_REPLICAS }}", 'replicaCount: "{{ REDIS_REPLICAS }}"')
    )
    render(gitops)  # committed and fresh agree: only the schema can catch it
    line = line_of(template, "replicaCount:")
    result, doc = run(pytester)
    (f,) = findings_of(doc, "values-schema")
    assert f["location"] == {"path": TEMPLATE, "line": line}
    assert (
        f"{VALUES}:{line}: replicaCount: '3' is not of type 'integer' "
        f"(the template turns REDIS_REPLICAS=3 into '3': fix {TEMPLATE}:{line})"
    ) in f["message"]
    assert not findings_of(doc, "values-in-sync")
    result.stdout.fnmatch_lines([f"edit: {TEMPLATE}:{line}"])
    authority = check_jsonschema("--schemafile", SCHEMA, VALUES, cwd=gitops)
    assert authority.returncode == 1 and "$.replicaCount: '3' is not of type 'integer'" in authority.stdout


def test_a_config_value_the_schema_refuses_is_blamed_on_config_env(gitops: Path, pytester: pytest.Pytester) -> None:
    schema = gitops / SCHEMA
    data = json.loads(schema.read_text())
    data["properties"]["redis"]["properties"]["maxmemoryPolicy"]["enum"] = ["allkeys-lfu"]
    schema.write_text(json.dumps(data))
    _, doc = run(pytester)
    (f,) = findings_of(doc, "values-schema")
    line = line_of(gitops / ENV, "REDIS_EVICTION_POLICY=")
    assert f["location"] == {"path": ENV, "line": line}
    assert f"set by REDIS_EVICTION_POLICY at {ENV}:{line}" in f["message"]


def test_out_of_sync_points_at_the_changed_key_and_gives_the_render_command(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    env = gitops / ENV
    env.write_text(env.read_text().replace("REDIS_MEMORY_REQUEST=2Gi", "REDIS_MEMORY_REQUEST=1Gi"))
    result, doc = run(pytester)
    (f,) = findings_of(doc, "values-in-sync")
    line = line_of(env, "REDIS_MEMORY_REQUEST=")
    assert f["location"] == {"path": ENV, "line": line}
    assert f["message"] == (
        f"{VALUES} is out of date with {ENV}: line 9 is 'memory: \"2Gi\"', a fresh render gives 'memory: \"1Gi\"' "
        f"(REDIS_MEMORY_REQUEST at {ENV}:{line}). Re-render and commit: {RENDER}"
    )
    assert f["evidence"]["command"] == RENDER
    assert f"edit: {VALUES}" not in result.stdout.str()


def test_out_of_sync_from_template_text_points_at_the_template(gitops: Path, pytester: pytest.Pytester) -> None:
    template = gitops / TEMPLATE
    template.write_text(
        template.read_text().replace("  repository: redis\n", "  repository: docker.io/library/redis\n")
    )
    _, doc = run(pytester)
    (f,) = findings_of(doc, "values-in-sync")
    assert f["location"] == {"path": TEMPLATE, "line": 5}
    assert f"(from the template, {TEMPLATE}:5). Re-render and commit: {RENDER}" in f["message"]


def test_a_repeated_key_written_by_hand_fails_at_both_lines(gitops: Path, pytester: pytest.Pytester) -> None:
    values = gitops / VALUES
    values.write_text(
        values.read_text().replace("  maxmemorySamples: 5\n", '  maxmemorySamples: 5\n  maxmemory: "512mb"\n')
    )
    first, again = line_of(values, '  maxmemory: "1536mb"'), line_of(values, '  maxmemory: "512mb"')
    _, doc = run(pytester)
    (f,) = findings_of(doc, "values-schema")
    assert f["message"] == (
        f"{VALUES} repeats a key: YAML keeps only the last value and helm lint rejects the file\n"
        f"  {VALUES}:{again}: duplicate key 'redis.maxmemory' (first at line {first}); not what a fresh render "
        f"gives: re-render with {RENDER}"
    )
    assert f["location"] == {"path": VALUES, "line": again}
    assert f["evidence"]["duplicates"] == [{"key": "redis.maxmemory", "line": again, "first": first}]
    assert findings_of(doc, "values-in-sync")
    authority = check_jsonschema("--schemafile", SCHEMA, VALUES, cwd=gitops)
    assert authority.returncode == 1 and 'found duplicate key "maxmemory"' in authority.stdout


def test_a_repeated_key_from_the_template_points_at_the_template(gitops: Path, pytester: pytest.Pytester) -> None:
    template = gitops / TEMPLATE
    template.write_text(template.read_text().replace("  maxmemorySamples:", "  maxmemory: 1gb\n  maxmemorySamples:"))
    render(gitops)
    again = line_of(template, "  maxmemory: 1gb")
    _, doc = run(pytester)
    (f,) = findings_of(doc, "values-schema")
    assert f["location"] == {"path": TEMPLATE, "line": again}
    assert (
        f"duplicate key 'redis.maxmemory' (first at line 15); the template writes it: fix {TEMPLATE}:{again}"
        in f["message"]
    )
    # the other items that read the values file cannot judge it and say where, too
    assert not findings_of(doc, "values-in-sync")


def test_a_repeated_key_in_the_catalog_fails_the_catalog_item(gitops: Path, pytester: pytest.Pytester) -> None:
    catalog = gitops / "checks/redis.yaml"
    catalog.write_text(catalog.read_text().replace("    severity: P1\n", "    severity: P1\n    severity: P4\n", 1))
    again = line_of(catalog, "    severity: P4")
    _, doc = run(pytester)
    (f,) = [x for x in doc["findings"] if x["check"] == "catalog"]
    assert f["location"] == {"path": "checks/redis.yaml", "line": again}
    assert f"checks/redis.yaml:{again}: duplicate key 'checks.0.severity' (first at line {again - 1})" in f["message"]


def test_a_render_outside_the_values_path_is_a_finding(gitops: Path, pytester: pytest.Pytester) -> None:
    done = render(gitops, "apps/redis-cluster/values.yaml")  # the seed's command
    assert "warning: no check reads apps/redis-cluster/values.yaml" in done.stderr
    # a vendored Helm chart of the same name is not a render
    chart = gitops / "charts/redis-cluster"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: redis-cluster\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicaCount: 1\n")
    _, doc = run(pytester)
    (f,) = findings_of(doc, "values-stray")
    assert f["message"] == (
        "apps/redis-cluster/values.yaml: rendered values of redis-cluster that no check reads "
        f"(the gate reads {VALUES}, slo_values_path sites/{{site}}/apps/{{app}}/values.yaml); "
        f"delete it, and render with {RENDER}"
    )
    assert f["location"] == {"path": "apps/redis-cluster/values.yaml", "line": None}
    assert f["severity"] == "P3"
    (gitops / "apps/redis-cluster/values.yaml").unlink()
    _, doc = run(pytester)
    assert not findings_of(doc, "values-stray")


def test_with_a_one_site_values_path_the_per_site_files_are_the_strays(gitops: Path, pytester: pytest.Pytester) -> None:
    shutil.rmtree(gitops / "sites/staging")  # a one-site repository: the seed's layout
    pytester.makeini("[pytest]\nslo_values_path = apps/{app}/values.yaml\n")
    done = render(gitops, "apps/redis-cluster/values.yaml")
    assert done.stderr == ""
    _, doc = run(pytester, "--app", "redis-cluster")
    (f,) = findings_of(doc, "values-stray")
    assert f["evidence"]["stray"] == ["sites/production/apps/redis-cluster/values.yaml"]
    assert f["message"].startswith(f"{VALUES}: rendered values of redis-cluster that no check reads")


def test_a_template_with_blocks_still_blames_config_env_or_the_template(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    # {% %} blocks shift lines: the blame goes by value, then to the template file
    template = gitops / TEMPLATE
    text = template.read_text().replace("metrics:\n", "{% if true %}\nmetrics:\n{% endif %}\n")
    template.write_text(text.replace("  maxmemorySamples:", "  maxmemory: 1gb\n  maxmemorySamples:"))
    schema = gitops / SCHEMA
    data = json.loads(schema.read_text())
    data["properties"]["replicaCount"]["maximum"] = 2
    schema.write_text(json.dumps(data))
    render(gitops)
    _, doc = run(pytester)
    (f,) = findings_of(doc, "values-schema")
    assert f["location"] == {"path": TEMPLATE, "line": None}
    assert "duplicate key 'redis.maxmemory' (first at line 15); the template writes it: fix " + TEMPLATE in f["message"]
    template.write_text(text)
    render(gitops)
    _, doc = run(pytester)
    (f,) = findings_of(doc, "values-schema")
    assert f["location"] == {"path": ENV, "line": line_of(gitops / ENV, "REDIS_REPLICAS=")}
    assert f"replicaCount: 3 is greater than the maximum of 2 (set by REDIS_REPLICAS at {ENV}:" in f["message"]


def test_an_impossible_date_in_the_values_is_an_error_at_its_line(gitops: Path, pytester: pytest.Pytester) -> None:
    values = gitops / VALUES
    values.write_text(values.read_text() + "rotatedOn: 2026-02-30\n")
    where = line_of(values, "rotatedOn:")
    result, doc = run(pytester)
    said = (
        f"{VALUES}:{where}: 2026-02-30 is not a date: day is out of range for month (write a real date, or quote "
        "it ('2026-02-30') if it is text)"
    )
    result.stdout.fnmatch_lines(["*_ ERROR at setup of production/redis-cluster: values-schema *", said])
    (f,) = [f for f in findings_of(doc, "values-schema") if f["outcome"] == "error"]
    assert f["message"] == said


def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(gitops: Path) -> None:
    output = f"{ENV}/redis-cluster/values.yaml"  # under a file, not a folder
    done = subprocess.run(
        [
            sys.executable,
            "releases/1.15/render_values.py",
            "--env-file",
            ENV,
            "--output",
            output,
            "--app",
            "redis-cluster",
        ],
        cwd=gitops,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: cannot write {output}: Not a directory; pass an --output in a folder you can write\n"
