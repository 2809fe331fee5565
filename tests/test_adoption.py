"""A team adopts pytest-slo in its own repository: typos are the catalog's problems at their
line (never a silent drop, never a site's fault), expressions that cannot be evaluated name
the keys they read, the checks of config.env and the rendered values come with the plugin,
and a folder that is no GitOps repository is either said so or left alone."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import pytest

from .support import ENV, assert_counts, set_line


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest("--site=production", "--findings=f.json", *args)
    out = result.stdout.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out, out
    return result, json.loads((pytester.path / "f.json").read_text())


def line_of(path: Path, text: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line][nth]


def catalog_problems(doc: dict, file: str) -> str:
    (item,) = [f for f in doc["findings"] if f["check"] == "catalog" and f["nodeid"] == f"{file}::catalog"]
    return item["message"]


def test_a_typo_in_apps_is_a_catalog_problem_not_a_silent_pass(gitops: Path, pytester: pytest.Pytester) -> None:
    catalog = gitops / "checks/redis.yaml"
    catalog.write_text(catalog.read_text().replace("apps: [redis-cluster]", "apps: [redis-clustr]"))
    result, doc = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    message = catalog_problems(doc, "checks/redis.yaml")
    for nth, check in enumerate(
        ["redis-eviction-policy", "redis-memory-limit", "redis-maxmemory-headroom", "redis-maxmemory-samples"]
    ):
        line = line_of(catalog, "apps: [redis-clustr]", nth)
        assert (
            f"checks/redis.yaml:{line}: check '{check}': apps[0]: 'redis-clustr' is no app of any release: did "
            "you mean redis-cluster?"
            in message
        )


def test_a_typo_in_a_config_key_is_the_catalogs_at_its_line(gitops: Path, pytester: pytest.Pytester) -> None:
    catalog = gitops / "checks/redis.yaml"
    catalog.write_text(
        catalog.read_text().replace(
            "assert: \"REDIS_EVICTION_POLICY != 'noeviction'\"", "assert: \"REDIS_EVICTON_POLICY != 'noeviction'\""
        )
    )
    line = line_of(catalog, "REDIS_EVICTON_POLICY")
    result, doc = run(pytester)
    where = (
        f"checks/redis.yaml:{line}: check 'redis-eviction-policy': assert: REDIS_EVICTON_POLICY is set by no site "
        "and defined by no release's config.schema.json: did you mean REDIS_EVICTION_POLICY?"
    )
    assert where in catalog_problems(doc, "checks/redis.yaml")
    (item,) = [f for f in doc["findings"] if f["check"] == "redis-eviction-policy"]
    # the check's item errors with the catalog's line: no site is blamed for a key nobody has
    assert (
        item["outcome"] == "error"
        and item["message"].startswith(where)
        and item["location"]["path"] == "checks/redis.yaml"
    )
    assert "add REDIS_EVICTON_POLICY" not in result.stdout.str()


@pytest.mark.parametrize(
    ("file", "old", "new", "field"),
    [
        (
            "checks/redis.yaml",
            "when: \"REDIS_ROLE | default('cache') == 'cache'\"",
            "when: \"REDIS_ROEL | default('cache') == 'cache'\"",
            "when",
        ),
        ("checks/slo.yaml", "threshold: SLO_API_LATENCY_P99_MS", "threshold: SLO_API_LATENCY_P99", "threshold"),
        (
            "checks/slo.yaml",
            "found: \"p99 {{ '%.0f' | format(value) }} ms",
            "found: \"p99 {{ SLO_WINDOW_ }} {{ '%.0f' | format(value) }} ms",
            "found",
        ),
        (
            "slos/api-server.yaml",
            'target: "{{ 1 - SLO_API_ERROR_RATE_PERCENT / 100 }}"',
            'target: "{{ 1 - SLO_API_ERROR_RATE_PERCNT / 100 }}"',
            "spec.objectives[0].target",
        ),
    ],
    ids=["when", "threshold", "found", "openslo-target"],
)
def test_every_templated_field_is_read_for_typos(
    gitops: Path, pytester: pytest.Pytester, file: str, old: str, new: str, field: str
) -> None:
    path = gitops / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    _, doc = run(pytester)
    assert f"{field}: " in catalog_problems(doc, file) and "did you mean" in catalog_problems(doc, file)


def test_a_key_only_some_sites_lack_stays_those_sites_finding(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / "sites/staging/config.env", "REDIS_MAXMEMORY_SAMPLES", None)  # production still sets it
    result = pytester.runpytest("--site=staging", "--findings=f.json")
    doc = json.loads((pytester.path / "f.json").read_text())
    (item,) = [f for f in doc["findings"] if f["check"] == "redis-maxmemory-samples"]
    assert item["outcome"] == "error" and item["location"]["path"] == "sites/staging/config.env"
    assert (
        "REDIS_MAXMEMORY_SAMPLES is not set" in item["message"]
        and "add REDIS_MAXMEMORY_SAMPLES=... to sites/staging/config.env" in item["message"]
    )
    assert not [f for f in doc["findings"] if f["check"] == "catalog"], result.stdout.str()


def test_a_query_that_does_not_parse_is_caught_offline(gitops: Path, pytester: pytest.Pytester) -> None:
    catalog = gitops / "checks/redis-live.yaml"
    text = catalog.read_text()
    glued = '"100 * redis_memory_used_bytes{{ selector }} / redis_memory_max_bytes{ {{ selector }} }"'
    catalog.write_text(
        text.replace(
            '"100 * redis_memory_used_bytes{ {{ selector }} } / redis_memory_max_bytes{ {{ selector }} }"', glued, 1
        )
    )
    line = line_of(catalog, glued)
    _, doc = run(pytester)
    message = catalog_problems(doc, "checks/redis-live.yaml")
    assert (
        f"checks/redis-live.yaml:{line}: check 'redis-memory-headroom': query at site production is not PromQL: "
        in message
    )
    assert 'rendered: 100 * redis_memory_used_bytesnamespace="production", service="redis-cluster" / ' in message
    assert "label matchers outside { }" in message
    # without --live the check's item errors with it, rather than waiting to be sent
    (item,) = [f for f in doc["findings"] if f["check"] == "redis-memory-headroom"]
    assert item["outcome"] == "error" and item["location"] == {"path": "checks/redis-live.yaml", "line": line}


def test_an_expression_that_cannot_be_evaluated_names_each_key_it_read(gitops: Path, pytester: pytest.Pytester) -> None:
    env = gitops / ENV
    set_line(env, "REDIS_MEMORY_LIMIT", "2GB")
    limit, maxmemory = line_of(env, "REDIS_MEMORY_LIMIT=2GB"), line_of(env, "REDIS_MAXMEMORY=")
    _, doc = run(pytester)
    (item,) = [f for f in doc["findings"] if f["check"] == "redis-maxmemory-headroom"]
    assert item["outcome"] == "error"
    assert item["location"] == {"path": ENV, "line": limit}  # the line of the value that is wrong, not of another key
    assert "'2GB' is not a Kubernetes quantity" in item["message"]
    assert f"{ENV}:{limit}: REDIS_MEMORY_LIMIT=2GB  <- this value" in item["message"]
    assert f"{ENV}:{maxmemory}: REDIS_MAXMEMORY=1536mb" in item["message"]


def test_text_where_a_number_is_needed_says_so(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks/team.yaml").write_text(
        "checks:\n  - id: pool-size\n    title: t\n    kind: config\n    assert: \"REDIS_REPLICAS <= 10\"\n"
        "    severity: P3\n    runbook: checks/runbooks/redis.md\n"
    )
    env = gitops / ENV
    set_line(env, "REDIS_REPLICAS", "five")
    _, doc = run(pytester)
    (item,) = [f for f in doc["findings"] if f["check"] == "pool-size"]
    line = line_of(env, "REDIS_REPLICAS=five")
    assert item["outcome"] == "error" and item["location"] == {"path": ENV, "line": line}
    assert (
        "REDIS_REPLICAS='five' is not a number, though releases/1.15/config.schema.json declares REDIS_REPLICAS one"
        in item["message"]
    )
    assert "not supported between instances" not in item["message"]


def test_the_core_checks_come_with_the_plugin(pytester: pytest.Pytester, gitops: Path) -> None:
    """A repository with no checks/ at all still gets config.env and its renders checked."""
    for path in sorted((gitops / "checks").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (gitops / "checks").rmdir()
    set_line(gitops / ENV, "REDIS_MEMORY_LIMIT", "1Gi")  # the committed render says 2Gi
    result = pytester.runpytest("--site=production", "--app=redis-cluster", "--co", "-q")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert "sites/production/config.env::config-parse" in ids and "sites/production/config.env::config-schema" in ids
    assert "sites/production/config.env::values-orphans" in ids
    for check in ("values-in-sync", "values-schema", "values-stray"):
        assert f"sites/production/config.env::redis-cluster::{check}" in ids
    result, doc = run(pytester)
    (item,) = [f for f in doc["findings"] if f["check"] == "values-in-sync"]
    assert item["runbook"].startswith("file://") and item["runbook"].endswith("/runbooks/values.md#values-in-sync")
    assert Path(item["runbook"][len("file://"):].split("#")[0]).is_file()


def test_a_catalog_check_of_a_builtin_id_replaces_it_and_one_can_be_switched_off(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    (gitops / "checks/team.yaml").write_text(
        "checks:\n  - id: values-stray\n    title: our own stray rule\n    kind: values\n    test: stray\n"
        "    severity: P1\n    runbook: checks/runbooks/redis.md\n"
    )
    result = pytester.runpytest("--site=production", "-v", "-k", "values-stray or config-parse")
    result.stdout.fnmatch_lines(["*redis-cluster::values-stray PASSED*"])
    assert result.stdout.str().count("::values-stray") == 2  # one per app, not two checks of one id
    result = pytester.runpytest("--site=production", "--co", "-q", "--disable-builtin=config-parse,values-orphans")
    assert "config-parse" not in result.stdout.str() and "values-orphans" not in result.stdout.str()
    assert "config-schema" in result.stdout.str()
    result = pytester.runpytest("--site=production", "--disable-builtin=values-strays")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "--disable-builtin / slo_disable_builtin: 'values-strays' is no built-in check: did you mean values-stray?"
        in result.stderr.str()
    )


def test_a_folder_of_renders_for_no_app_is_an_orphan(gitops: Path, pytester: pytest.Pytester) -> None:
    orphan = gitops / "sites/production/apps/redis-clustr"
    orphan.mkdir()
    (orphan / "values.yaml").write_text("replicaCount: 3\n")
    _, doc = run(pytester)
    (item,) = [f for f in doc["findings"] if f["check"] == "values-orphans"]
    assert item["outcome"] == "failed" and item["location"]["path"] == "sites/production/apps/redis-clustr"
    assert (
        "sites/production/apps/redis-clustr/: no app redis-clustr in release 1.15: did you mean redis-cluster?"
        in item["message"]
    )


def test_a_values_assert_without_found_says_what_it_read(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks/team.yaml").write_text(
        "checks:\n  - id: three-replicas\n    title: t\n    kind: values\n    apps: [redis-cluster]\n"
        "    assert: \"values.replicaCount >= 5\"\n    severity: P3\n    runbook: checks/runbooks/redis.md\n"
    )
    _, doc = run(pytester)
    (item,) = [f for f in doc["findings"] if f["check"] == "three-replicas"]
    assert item["message"] == "values.replicaCount=3; expected values.replicaCount >= 5"
    env = (gitops / ENV).read_text().splitlines()
    assert item["location"] == {"path": ENV, "line": env.index("REDIS_REPLICAS=3") + 1}  # what fed the value


def test_an_unknown_schema_format_is_an_error_at_its_line(gitops: Path, pytester: pytest.Pytester) -> None:
    schema = gitops / "releases/1.15/config.schema.json"
    schema.write_text(schema.read_text().replace('"format": "k8s-memory"', '"format": "k8s-mem"', 1))
    line = line_of(schema, '"k8s-mem"')
    _, doc = run(pytester)
    (item,) = [f for f in doc["findings"] if f["check"] == "config-schema"]
    assert item["outcome"] == "error" and item["location"] == {"path": "releases/1.15/config.schema.json", "line": line}
    assert "unknown format 'k8s-mem'" in item["message"] and "did you mean k8s-memory?" in item["message"]


def test_a_waiver_of_an_unknown_check_has_a_did_you_mean(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks/waivers.yaml").write_text(
        "waivers:\n  - check: redis-eviction-polcy\n    until: 2099-01-01\n    owner: me\n    reason: r\n"
    )
    result = pytester.runpytest("--site=production", "--waiver-max-days=100000")
    result.stdout.fnmatch_lines(
        [
            "checks/waivers.yaml:2: waiver for redis-eviction-polcy: check: no check 'redis-eviction-polcy'*(did "
            "you mean redis-eviction-policy?)"
        ]
    )


def test_a_gate_asked_for_where_there_is_no_repository_says_where_it_looked(
    pytester: pytest.Pytester, gitops: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pytester.chdir()
    result = pytester.runpytest(str(elsewhere), "--site=production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --site: pytest collects {elsewhere}, which holds no part of the repository at {gitops}*"]
    )
    (elsewhere / "pytest.ini").write_text("[pytest]\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--site=production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --site: no GitOps repository at {elsewhere} (no sites/ folder there)*--slo-root=DIR"]
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--export-rules=rules.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --export-rules: no GitOps repository at*"])
    assert not (elsewhere / "rules.yaml").exists()
    result = pytester.runpytest(f"--rootdir={elsewhere}", str(elsewhere), f"--slo-root={gitops}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --slo-root={gitops}: pytest collects {elsewhere}, which holds no part of the repository at {gitops}*"]
    )


def test_a_repository_named_as_the_path_to_collect_is_the_root(
    pytester: pytest.Pytester, gitops: Path, tmp_path: Path
) -> None:
    """``pytest path/to/repo`` from a project with an ini file of its own gates the repository."""
    parent = tmp_path / "platform"
    parent.mkdir()
    (parent / "pytest.ini").write_text("[pytest]\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(parent)
        result = pytester.runpytest_subprocess(str(gitops), "-p", "no:cacheprovider", "--site=production", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["slo findings: 0 (none)", "* passed*"])


def test_another_python_project_is_left_alone(pytester: pytest.Pytester) -> None:
    """checks/ and slos/ are common folder names: without sites/ they are not ours."""
    pytester.makepyfile(test_app="def test_app():\n    assert True\n")
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks/thing.yaml").write_text("x: 1\n")
    (pytester.path / "slos").mkdir()
    (pytester.path / "slos/x.yaml").write_text("y: 2\n")
    with_plugin = pytester.runpytest("-p", "no:cacheprovider")
    without = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:slo")
    assert with_plugin.ret == without.ret == pytest.ExitCode.OK
    assert_counts(with_plugin)
    strip = [line for line in with_plugin.stdout.lines if not line.startswith(("plugins:", "=")) and " in " not in line]
    assert strip == [
        line for line in without.stdout.lines if not line.startswith(("plugins:", "=")) and " in " not in line
    ]


@pytest.mark.parametrize(
    ("ini", "said"),
    [
        (
            "slo_values_path = sites/{site}/{application}/values.yaml",
            "--values-path / slo_values_path: 'sites/{site}/{application}/values.yaml': {application} is no "
            "placeholder: the placeholders are {site} and {app}",
        ),
        (
            "slo_values_path = sites/{site}/apps/{app}/values.yaml{",
            "--values-path / slo_values_path: 'sites/{site}/apps/{app}/values.yaml{': Single '{' encountered in "
            "format string",
        ),
        (
            "slo_values_path = sites/{site}/values.yaml",
            "--values-path / slo_values_path: 'sites/{site}/values.yaml' has no {app}: every app of a site would "
            "read the same file",
        ),
        (
            "slo_values_path = apps/{app}/values.yaml",
            "--values-path / slo_values_path: 'apps/{app}/values.yaml' has no {site}, and 2 sites (production, "
            "staging) would read the same files",
        ),
        (
            "slo_render_command = python3 r.py --env {envfile} --out {output}",
            "--render-command / slo_render_command: {envfile} is no placeholder: did you mean {env_file}?",
        ),
        (
            "slo_render_command = helm template {app}",
            "--render-command / slo_render_command: the command has no {output}",
        ),
        ("slo_finding = out/f.json", "slo_finding is no pytest-slo setting: did you mean slo_findings?"),
        ("slo_live = maybe", "slo_live: 'maybe' is not true or false"),
    ],
    ids=[
        "placeholder",
        "lone-brace",
        "no-app",
        "no-site",
        "render-placeholder",
        "render-no-output",
        "ini-typo",
        "ini-bool",
    ],
)
def test_settings_that_cannot_work_are_usage_errors(
    gitops: Path, pytester: pytest.Pytester, ini: str, said: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest("--site=production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert said in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_relative_root_and_a_run_inside_the_repository(
    pytester: pytest.Pytester, gitops: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        rel = Path(os.path.relpath(gitops, elsewhere))
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--slo-root={rel}", str(rel), "--site=production", "-q"
        )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["slo findings: 0 (none)"])
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(gitops / "releases/1.15")
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--site=production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --site: pytest collects {gitops}/releases/1.15, inside the repository at {gitops} but none "
            "of sites/, checks/ or the SLO files*"
        ]
    )


def test_a_stray_under_one_site_is_that_sites_finding(gitops: Path, pytester: pytest.Pytester) -> None:
    stray = gitops / "sites/staging/redis-cluster"
    stray.mkdir()
    (stray / "values.yaml").write_text("x: 1\n")
    result = pytester.runpytest("-k", "values-stray", "-q")
    result.stdout.fnmatch_lines(["FAILED sites/staging/config.env::redis-cluster::values-stray*"])
    assert "FAILED sites/production/config.env::redis-cluster::values-stray" not in result.stdout.str()


def test_a_query_that_fails_at_several_sites_is_one_problem_naming_them(
    gitops: Path, pytester: pytest.Pytester
) -> None:
    catalog = gitops / "checks/redis-live.yaml"
    catalog.write_text(
        catalog.read_text().replace(
            "redis_memory_used_bytes{ {{ selector }} } / ", "redis_memory_used_bytes{{ selector }} / ", 1
        )
    )
    result = pytester.runpytest("--findings=f.json")
    doc = json.loads((pytester.path / "f.json").read_text())
    message = catalog_problems(doc, "checks/redis-live.yaml")
    assert (
        message.count("is not PromQL") == 1
        and "query at site production is not PromQL" in message
        and "(also at staging)" in message
    )
    assert "Traceback" not in result.stdout.str()


def test_a_values_assert_over_text_names_the_field(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks/team.yaml").write_text(
        "checks:\n  - id: tag-major\n    title: t\n    kind: values\n    apps: [redis-cluster]\n"
        "    assert: \"values.image.tag >= 7\"\n    severity: P3\n    runbook: checks/runbooks/redis.md\n"
    )
    _, doc = run(pytester)
    (item,) = [f for f in doc["findings"] if f["check"] == "tag-major"]
    assert item["outcome"] == "error"
    assert "values.image.tag='7.0.15' is text where the expression needs a number" in item["message"]
    assert "values.image.tag='7.0.15'  <- text, not a number" in item["message"]
    values = (gitops / "sites/production/apps/redis-cluster/values.yaml").read_text().splitlines()
    assert item["location"] == {
        "path": "sites/production/apps/redis-cluster/values.yaml",
        "line": next(i for i, text in enumerate(values, 1) if "tag:" in text),
    }


def test_values_in_sync_says_to_render_and_a_hand_added_line_is_named(gitops: Path, pytester: pytest.Pytester) -> None:
    set_line(gitops / ENV, "REDIS_REPLICAS", "5")
    _, doc = run(pytester, "-k", "redis-cluster and values-in-sync")
    (item,) = doc["findings"]
    assert item["action"].startswith(
        "re-render and commit sites/production/apps/redis-cluster/values.yaml: python3 releases/1.15/render_values.py"
    )
    assert item["location"]["path"] == ENV  # declared there, and right: rendering is the fix
    set_line(gitops / ENV, "REDIS_REPLICAS", "3")
    values = gitops / "sites/production/apps/redis-cluster/values.yaml"
    lines = values.read_text().splitlines()
    values.write_text("\n".join([*lines, "replicaCount: 4"]) + "\n")
    _, doc = run(pytester, "-k", "redis-cluster and values-in-sync")
    (item,) = doc["findings"]
    assert item["location"] == {"path": "sites/production/apps/redis-cluster/values.yaml", "line": len(lines) + 1}
    assert "(no render writes it: an edit by hand)" in item["message"]


def test_queries_are_parsed_once_per_shape_and_regexes_still_checked() -> None:
    """Every site's query differs only in its matchers' strings: parsed once, the verdict the
    same; a regex matcher is parsed as written (a pattern can be wrong at one site only)."""
    from pytest_slo.run.queries import _parsed, parse_problem

    _parsed.cache_clear()
    for namespace in ("eu-1", "us-1", "ap-1"):
        assert parse_problem(f'sum(rate(x{{namespace="{namespace}", code!="200"}}[5m]))') is None
    assert _parsed.cache_info().misses == 1
    assert parse_problem('up{job=~"api-(1|2"}') == "illegal regex for api-(1|2"
    assert parse_problem('up{job="api-(1|2"}') is None  # an equality matcher's text is any text


def test_another_python_project_imports_none_of_what_a_gate_needs(pytester: pytest.Pytester) -> None:
    """Every pytest run where pytest-slo is installed imports the plugin: outside a GitOps
    repository it reads its options and nothing else (no YAML, templates, JSON Schema or HTTP
    client), so a project that merely has it installed starts as fast as without it."""
    pytester.makepyfile(test_app="def test_app():\n    assert True\n")
    probe = (
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider'])\n"
        "heavy = ('yaml', 'jinja2', 'jsonschema', 'requests', 'kubernetes', 'redis', 'promql_parser')\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
        "print('OURS', sorted(m for m in sys.modules if m.startswith('pytest_slo')))\n"
        "sys.exit(code)\n"
    )
    result = pytester.run(sys.executable, "-c", probe)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*1 passed*", "LOADED []"])
    ours = ast.literal_eval(next(line for line in result.stdout.lines if line.startswith("OURS "))[5:])
    assert "pytest_slo.plugin" in ours  # it was loaded, and stopped there
    assert not [m for m in ours if m.startswith(("pytest_slo.catalog", "pytest_slo.kinds", "pytest_slo.run"))], ours
