"""``ValuesKind.evaluate`` and ``blame`` on a small GitOps repository written into tmp_path: no
server, no pytest session. The repository is a copy of the shipped example's ``sites/`` and
``releases/``; each test edits the config.env, a template, a schema or a committed values
file the way a person would, and pins what the verdict says, where it points and what it carries.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_slo.catalog.model import Check
from pytest_slo.errors import ConfigError
from pytest_slo.kinds import Location, Target, Verdict
from pytest_slo.kinds.values import ValuesKind, blame, committed_values, render_command, trace_to_config
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo
from pytest_slo.sources import LiveOptions, Sources

REPO = Path(__file__).resolve().parents[1]
ENV = "sites/production/config.env"
VALUES = "sites/production/apps/redis-cluster/values.yaml"
TEMPLATE = "releases/1.15/apps/redis-cluster/values.yaml.j2"
SCHEMA = "releases/1.15/apps/redis-cluster/values.schema.json"
RENDER = f"python3 releases/1.15/render_values.py --env-file {ENV} --output {VALUES}"
SYNC = f"{VALUES} is out of date with {ENV}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("sites", "releases"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def target(root: Path, app: str | None = "redis-cluster", *, site: str = "production", command: str | None = None,
           values_path: str = DEFAULT_VALUES_PATH) -> Target:
    return Target(Repo(root, values_path, command).site(site), app, Sources(LiveOptions()))


def check(*, keys: tuple[str, ...] = (), **spec: Any) -> Check:
    return Check(id="t-values", title="the title", kind="values", severity="P2", runbook="checks/runbooks/v.md",
                 source="checks/team.yaml", line=3, apps=("redis-cluster",), keys=keys, spec=spec)


def judge(root: Path, *, app: str = "redis-cluster", site: str = "production", command: str | None = None,
          **spec: Any) -> Verdict:
    verdict = ValuesKind().evaluate(check(**spec), target(root, app, site=site, command=command), None)
    assert verdict.ok is True or verdict.ok is False  # a verdict, never a maybe
    return verdict


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def env_line(root: Path, key: str) -> int:
    lines = (root / ENV).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(f"{key}="))


def render_fresh(root: Path, app: str = "redis-cluster") -> None:
    """Commit what a fresh render gives (the product's own render)."""
    fresh = target(root, app).site.rendered(app)
    (root / f"sites/production/apps/{app}/values.yaml").write_text(fresh)


def at(path: str, line: int | None) -> Location:
    return Location(path, line)


# --------------------------------------------------------------------------- in-sync


def test_a_committed_render_is_in_sync_and_says_what_it_compared(root: Path) -> None:
    verdict = judge(root, test="in-sync")
    assert verdict.ok and verdict.message == ""
    assert verdict.evidence == {"file": VALUES, "bytes": len((root / VALUES).read_text())}


def test_a_changed_key_is_named_with_its_line_the_diff_and_the_command(root: Path) -> None:
    edit(root / ENV, "REDIS_MEMORY_REQUEST=2Gi", "REDIS_MEMORY_REQUEST=1Gi")
    verdict = judge(root, test="in-sync")
    line = env_line(root, "REDIS_MEMORY_REQUEST")
    assert verdict.ok is False
    assert verdict.message == (
        f"{SYNC}: line 9 is 'memory: \"2Gi\"', a fresh render gives 'memory: \"1Gi\"' "
        f"(REDIS_MEMORY_REQUEST at {ENV}:{line}). Re-render and commit: {RENDER}"
    )
    assert verdict.evidence == {
        "diff": f"--- {VALUES} (committed)\n+++ {VALUES} (fresh render)\n@@ -8,3 +8,3 @@\n   requests:\n"
        '-    memory: "2Gi"\n+    memory: "1Gi"\n     cpu: "250m"',
        "command": RENDER,
    }
    assert verdict.location == at(ENV, line)
    assert verdict.objects == [{"key": "REDIS_MEMORY_REQUEST"}]
    assert verdict.action == f"re-render and commit {VALUES}: {RENDER}"


def test_template_text_that_changed_points_at_the_template_line(root: Path) -> None:
    edit(root / TEMPLATE, "  repository: redis\n", "  repository: docker.io/library/redis\n")
    verdict = judge(root, test="in-sync")
    assert verdict.message == (
        f"{SYNC}: line 5 is 'repository: redis', a fresh render gives 'repository: docker.io/library/redis' "
        f"(from the template, {TEMPLATE}:5). Re-render and commit: {RENDER}"
    )
    assert verdict.location == at(TEMPLATE, 5)
    assert verdict.objects == [{"line": "repository: docker.io/library/redis"}]


@pytest.mark.parametrize(
    ("first", "edited", "last"), [(0, 18, None), (1, 19, "... 1 more diff lines"), (0, 19, "... 2 more diff lines")]
)
def test_a_long_diff_is_cut_at_forty_lines(root: Path, first: int, edited: int, last: str | None) -> None:
    values = root / VALUES
    lines = values.read_text().splitlines(keepends=True)
    values.write_text("".join("#" + line if first <= i < edited else line for i, line in enumerate(lines)))
    diff = judge(root, test="in-sync").evidence["diff"].split("\n")
    if last is None:
        assert len(diff) == 40 and diff[-1] == '   enabled: true'
    else:
        assert len(diff) == 41 and diff[-1] == last and diff[-2] == ("+metrics:" if first == 0 else "+  enabled: true")


def test_lines_past_the_end_of_the_render_are_a_hand_edit_of_the_committed_file(root: Path) -> None:
    values = root / VALUES
    values.write_text(values.read_text() + "extra: 1\n")
    verdict = judge(root, test="in-sync")
    assert verdict.message == (
        f"{SYNC}: line 23 is 'extra: 1', a fresh render gives '<end of file>' (no render writes it: an edit by hand). "
        f"Re-render and commit: {RENDER}"
    )
    assert verdict.location == at(VALUES, 23)
    # the fingerprint names what the render's last line comes from
    assert verdict.objects == [{"key": "KUBE_NAMESPACE"}]


def test_a_committed_file_cut_short_points_at_the_key_of_the_missing_line(root: Path) -> None:
    values = root / VALUES
    values.write_text("".join(values.read_text().splitlines(keepends=True)[:-1]))
    verdict = judge(root, test="in-sync")
    line = env_line(root, "KUBE_NAMESPACE")
    assert verdict.message == (
        f"{SYNC}: line 22 is '<end of file>', a fresh render gives 'namespace: \"production\"' "
        f"(KUBE_NAMESPACE at {ENV}:{line}). Re-render and commit: {RENDER}"
    )
    assert verdict.location == at(ENV, line)
    assert verdict.objects == [{"key": "KUBE_NAMESPACE"}]


def test_a_hand_line_in_the_middle_is_one_drifted_object(root: Path) -> None:
    edit(root / VALUES, "image:\n", "image:\n  pullPolicy: Always\n")
    verdict = judge(root, test="in-sync")
    assert verdict.location == at(TEMPLATE, 5)
    assert verdict.message.startswith(
        f"{SYNC}: line 5 is 'pullPolicy: Always', a fresh render gives 'repository: redis' (from the template, "
        f"{TEMPLATE}:5)."
    )
    assert verdict.objects == [{"line": "repository: redis"}]


def test_every_line_changed_names_every_drifted_key_and_line_once(root: Path) -> None:
    values = root / VALUES
    values.write_text("".join("#" + line for line in values.read_text().splitlines(keepends=True)))
    verdict = judge(root, test="in-sync")
    assert verdict.location == at(TEMPLATE, 1)
    assert verdict.objects == [
        {"line": "# Rendered from sites/production/config.env by releases/1.15/render_values.py: edit config.env, "
                 "not this file."},
        {"line": "nameOverride: redis-cluster"}, {"key": "REDIS_REPLICAS"}, {"line": "image:"},
        {"line": "repository: redis"}, {"key": "REDIS_IMAGE_TAG"}, {"line": "resources:"}, {"line": "requests:"},
        {"key": "REDIS_MEMORY_REQUEST"}, {"key": "REDIS_CPU_REQUEST"}, {"line": "limits:"},
        {"key": "REDIS_MEMORY_LIMIT"}, {"key": "REDIS_CPU_LIMIT"}, {"line": "redis:"}, {"key": "REDIS_MAXMEMORY"},
        {"key": "REDIS_EVICTION_POLICY"}, {"key": "REDIS_MAXMEMORY_SAMPLES"}, {"line": "metrics:"},
        {"line": "enabled: true"}, {"line": "serviceMonitor:"}, {"key": "KUBE_NAMESPACE"},
    ]


def test_at_most_fifty_drifted_lines_are_fingerprinted(root: Path) -> None:
    app = root / "releases/1.15/apps/big"
    app.mkdir()
    (app / "values.yaml.j2").write_text("".join(f"k{i}: {i}\n" for i in range(60)))
    folder = root / "sites/production/apps/big"
    folder.mkdir()
    (folder / "values.yaml").write_text("".join(f"k{i}: x{i}\n" for i in range(60)))
    verdict = judge(root, app="big", test="in-sync")
    assert verdict.objects == [{"line": f"k{i}: {i}"} for i in range(50)]


def test_a_template_that_renders_nothing_makes_every_committed_line_a_hand_edit(root: Path) -> None:
    app = root / "releases/1.15/apps/empty"
    app.mkdir()
    (app / "values.yaml.j2").write_text("")
    folder = root / "sites/production/apps/empty"
    folder.mkdir()
    (folder / "values.yaml").write_text("a: 1\n")
    verdict = judge(root, app="empty", test="in-sync")
    display = "sites/production/apps/empty/values.yaml"
    assert verdict.location == at(display, 1)
    assert "line 1 is 'a: 1', a fresh render gives '<end of file>' (no render writes it: an edit by hand)" in (
        verdict.message
    )
    assert verdict.objects == [{"line": "<end of file>"}]


def test_a_template_with_blocks_names_no_line_when_out_of_sync(root: Path) -> None:
    edit(root / TEMPLATE, "metrics:\n", "{% if true %}\nmetrics:\n{% endif %}\n")
    edit(root / ENV, "REDIS_MEMORY_REQUEST=2Gi", "REDIS_MEMORY_REQUEST=1Gi")
    verdict = judge(root, test="in-sync")
    assert verdict.location == at(ENV, None)
    # no key or template line can be named: the message says only what differs, and the fix
    assert verdict.message == (
        f"{SYNC}: line 9 is 'memory: \"2Gi\"', a fresh render gives 'memory: \"1Gi\"'. Re-render and commit: {RENDER}"
    )
    assert verdict.objects[0] == {"line": 'memory: "1Gi"'}


def test_without_a_render_script_the_command_is_pytest_slo_render(root: Path) -> None:
    (root / "releases/1.15/render_values.py").unlink()
    edit(root / ENV, "REDIS_MEMORY_REQUEST=2Gi", "REDIS_MEMORY_REQUEST=1Gi")
    verdict = judge(root, test="in-sync")
    assert verdict.evidence["command"] == "pytest-slo render --site production --app redis-cluster"
    assert render_command(target(root)) == "pytest-slo render --site production --app redis-cluster"


# the repository's own renderer: `cp` of a file the test writes stands for it
COPY = "cp sites/{site}/fresh.yaml {output}"
COPY_SHOWN = f"cp sites/production/fresh.yaml {VALUES}"


@pytest.mark.parametrize(
    ("fresh_line", "why", "line"),
    [
        ('  maxmemory: "4gb"', " (written by the repository's renderer (slo_render_command))", None),
        ("  maxmemory: '1536mb'  # 75%", " (REDIS_MAXMEMORY at {ENV}:16)", 16),
        ('  maxmemory: "2Gi"', " (one of REDIS_MEMORY_LIMIT, REDIS_MEMORY_REQUEST)", None),
        ("  maxmemory", " (written by the repository's renderer (slo_render_command))", None),
        ("  maxmemory:", " (written by the repository's renderer (slo_render_command))", None),
        ('  maxmemory: "redis-cluster.production.svc:6379"', " (REDIS_ADDR at {ENV}:11)", 11),
        ("  maxmemory: XL", " (REDIS_SIZE at {ENV}:34)", 34),
    ],
)
def test_the_repository_renderer_is_blamed_by_value(root: Path, fresh_line: str, why: str, line: int | None) -> None:
    (root / ENV).write_text((root / ENV).read_text() + "EMPTY_KEY=\nREDIS_SIZE=XL\n")
    fresh = (root / VALUES).read_text().replace('  maxmemory: "1536mb"', fresh_line)
    (root / "sites/production/fresh.yaml").write_text(fresh)
    verdict = judge(root, command=COPY, test="in-sync")
    assert verdict.message == (
        f"{SYNC}: line 15 is 'maxmemory: \"1536mb\"', a fresh render gives {fresh_line.strip()!r}"
        f"{why.format(ENV=ENV)}. Re-render and commit: {COPY_SHOWN}"
    )
    assert verdict.location == at(ENV, line)
    assert verdict.evidence["command"] == COPY_SHOWN


# --------------------------------------------------------------------------- blame


@pytest.mark.parametrize(
    ("line", "value", "path", "where", "key", "note"),
    [
        (3, "<any>", ENV, "REDIS_REPLICAS", "REDIS_REPLICAS", ""),
        (3, 3, ENV, "REDIS_REPLICAS", "REDIS_REPLICAS", ""),
        (3, "3", TEMPLATE, 3, None, "the template turns REDIS_REPLICAS=3 into '3'"),
        (3, True, TEMPLATE, 3, None, "the template turns REDIS_REPLICAS=3 into True"),
        (5, "redis", TEMPLATE, 5, None, "the template writes it"),
        (1, "<any>", TEMPLATE, 1, None, "the template writes it"),  # {{ site }} is no config.env key
        (15, "1536mb", ENV, "REDIS_MAXMEMORY", "REDIS_MAXMEMORY", ""),
    ],
)
def test_blame_of_a_line_preserving_template(
    root: Path, line: int, value: Any, path: str, where: Any, key: str | None, note: str
) -> None:
    args = () if value == "<any>" else (value,)
    found = blame(target(root), line, *args)
    assert found is not None
    expected = env_line(root, where) if isinstance(where, str) else where
    assert (found.location, found.key, found.note) == (at(path, expected), key, note)


def test_blame_of_a_line_reading_two_keys_picks_the_one_whose_value_it_is(root: Path) -> None:
    edit(root / TEMPLATE, "cpu: {{ REDIS_CPU_LIMIT | yaml }}", "cpu: {{ REDIS_CPU_REQUEST }}-{{ REDIS_CPU_LIMIT }}")
    t = target(root)
    found = blame(t, 13, "500m")
    assert found is not None and (found.key, found.location) == ("REDIS_CPU_LIMIT", at(ENV, 15))
    found = blame(t, 13, "250m-500m")
    assert found is not None and found.key is None and found.location == at(TEMPLATE, 13)
    assert found.note == "the template turns REDIS_CPU_REQUEST='250m', REDIS_CPU_LIMIT='500m' into '250m-500m'"
    found = blame(t, 13)
    assert found is not None and found.key == "REDIS_CPU_REQUEST"


@pytest.mark.parametrize(
    ("value", "path", "line", "key", "note"),
    [
        ("<any>", None, None, None, None),
        (3, ENV, "REDIS_REPLICAS", "REDIS_REPLICAS", ""),
        ("production", ENV, "KUBE_NAMESPACE", "KUBE_NAMESPACE", ""),
        ("2Gi", TEMPLATE, None, None, "the template writes it"),  # two keys have it
        ("nothing", TEMPLATE, None, None, "the template writes it"),
        ("3", TEMPLATE, None, None, "the template writes it"),  # REDIS_REPLICAS is a number
    ],
)
def test_blame_of_a_template_with_blocks_goes_by_value(
    root: Path, value: Any, path: str | None, line: Any, key: str | None, note: str | None
) -> None:
    edit(root / TEMPLATE, "metrics:\n", "{% if true %}\nmetrics:\n{% endif %}\n")
    found = blame(target(root), 3, *(() if value == "<any>" else (value,)))
    if path is None:
        assert found is None
        return
    assert found is not None
    expected = env_line(root, line) if isinstance(line, str) else line
    assert (found.location, found.key, found.note) == (at(path, expected), key, note)


def test_a_comment_block_also_keeps_no_lines(root: Path) -> None:
    edit(root / TEMPLATE, "metrics:\n", "{# a comment #}\nmetrics:\n")
    assert blame(target(root), 3) is None


def test_blame_needs_a_line_an_app_and_a_template_it_can_read(root: Path) -> None:
    assert blame(target(root), None) is None
    assert blame(target(root, None), 3) is None
    assert trace_to_config(target(root), None) is None
    (root / TEMPLATE).write_text("replicaCount: {{ REDIS_REPLICAS \n")
    assert blame(target(root), 3) is None


def test_blame_needs_a_config_it_can_type(root: Path) -> None:
    edit(root / ENV, "RELEASE=1.15", "RELEASE=9.99")
    assert blame(target(root), 3) is None


def test_trace_to_config_names_only_a_config_env_line(root: Path) -> None:
    assert trace_to_config(target(root), 3) == at(ENV, env_line(root, "REDIS_REPLICAS"))
    assert trace_to_config(target(root), 5) is None


@pytest.mark.parametrize(
    ("value", "line", "key", "note"),
    [
        ("1536mb", 16, "REDIS_MAXMEMORY", ""),
        (5, 18, "REDIS_MAXMEMORY_SAMPLES", ""),
        (3, None, None, "one of API_REPLICAS, REDIS_REPLICAS"),
        ("3", None, None, "written by the repository's renderer (slo_render_command)"),
        ("2Gi", None, None, "one of REDIS_MEMORY_LIMIT, REDIS_MEMORY_REQUEST"),
    ],
)
def test_blame_of_the_repository_renderer_goes_by_typed_value(
    root: Path, value: Any, line: int | None, key: str | None, note: str
) -> None:
    found = blame(target(root, command=COPY), 3, value)
    assert found is not None and (found.location, found.key, found.note) == (at(ENV, line), key, note)


# --------------------------------------------------------------------------- the committed file


def test_a_missing_render_is_an_error_with_the_command_to_render_it(root: Path) -> None:
    (root / VALUES).unlink()
    with pytest.raises(ConfigError) as caught:
        committed_values(target(root))
    assert (caught.value.message, caught.value.path, caught.value.hint) == (
        "rendered values are missing", VALUES, f"render them: {RENDER}"
    )


def test_an_unreadable_render_is_an_error_naming_the_file(root: Path) -> None:
    (root / VALUES).write_bytes(b"a: \xff\n")
    with pytest.raises(ConfigError) as caught:
        judge(root, test="in-sync")
    assert caught.value.message.startswith("cannot read the rendered values: 'utf-8' codec can't decode byte 0xff")
    assert (caught.value.path, caught.value.hint) == (VALUES, None)
    (root / VALUES).unlink()
    (root / VALUES).mkdir()
    with pytest.raises(ConfigError) as caught:
        committed_values(target(root))
    assert caught.value.message.startswith("cannot read the rendered values: [Errno 21] Is a directory")


def test_each_app_has_its_own_committed_text(root: Path) -> None:
    t = target(root)
    other = Target(t.site, "api-server", t.sources)
    assert committed_values(t) == ((root / VALUES).read_text(), VALUES)
    api = "sites/production/apps/api-server/values.yaml"
    assert committed_values(other) == ((root / api).read_text(), api)


# --------------------------------------------------------------------------- schema


def test_values_the_schema_accepts_pass_and_name_the_schema(root: Path) -> None:
    verdict = judge(root, test="schema")
    assert verdict.ok and verdict.evidence == {"file": VALUES, "schema": SCHEMA}


def test_a_template_that_quotes_a_number_is_blamed_at_its_line(root: Path) -> None:
    edit(root / TEMPLATE, "replicaCount: {{ REDIS_REPLICAS }}", 'replicaCount: "{{ REDIS_REPLICAS }}"')
    render_fresh(root)
    verdict = judge(root, test="schema")
    line = (
        f"{VALUES}:3: replicaCount: '3' is not of type 'integer' "
        f"(the template turns REDIS_REPLICAS=3 into '3': fix {TEMPLATE}:3)"
    )
    assert verdict.ok is False
    assert verdict.message == f"{VALUES} does not match {SCHEMA} (1 problem(s)):\n  {line}"
    assert verdict.evidence == {"problems": [line], "schema": SCHEMA}
    assert verdict.location == at(TEMPLATE, 3)
    assert verdict.objects == [{"path": "replicaCount"}]


def test_a_config_value_the_schema_refuses_is_set_by_its_key(root: Path) -> None:
    schema = root / SCHEMA
    data = json.loads(schema.read_text())
    data["properties"]["redis"]["properties"]["maxmemoryPolicy"]["enum"] = ["allkeys-lfu"]
    data["properties"]["replicaCount"]["maximum"] = 2
    schema.write_text(json.dumps(data))
    verdict = judge(root, test="schema")
    policy, replicas = env_line(root, "REDIS_EVICTION_POLICY"), env_line(root, "REDIS_REPLICAS")
    assert verdict.message == (
        f"{VALUES} does not match {SCHEMA} (2 problem(s)):\n"
        f"  {VALUES}:16: redis.maxmemoryPolicy: 'allkeys-lru' is not one of ['allkeys-lfu'] "
        f"(set by REDIS_EVICTION_POLICY at {ENV}:{policy})\n"
        f"  {VALUES}:3: replicaCount: 3 is greater than the maximum of 2 (set by REDIS_REPLICAS at {ENV}:{replicas})"
    )
    assert verdict.location == at(ENV, policy)
    assert verdict.objects == [{"path": "redis.maxmemoryPolicy"}, {"path": "replicaCount"}]


def test_a_hand_edited_line_the_schema_refuses_asks_for_a_fresh_render(root: Path) -> None:
    edit(root / VALUES, "replicaCount: 3", 'replicaCount: "3"')
    verdict = judge(root, test="schema")
    assert verdict.message == (
        f"{VALUES} does not match {SCHEMA} (1 problem(s)):\n  {VALUES}:3: replicaCount: '3' is not of type "
        f"'integer' (not what a fresh render gives: re-render with {RENDER})"
    )
    assert verdict.location == at(VALUES, 3)


def test_an_empty_document_is_a_problem_of_the_document(root: Path) -> None:
    (root / VALUES).write_text("# nothing rendered\n")
    verdict = judge(root, test="schema")
    assert verdict.message == (
        f"{VALUES} does not match {SCHEMA} (1 problem(s)):\n  {VALUES}:?: <document>: None is not of type 'object'"
    )
    assert verdict.location == at(VALUES, None)
    assert verdict.objects == [{"path": "<document>"}]


def test_a_missing_required_field_is_a_problem_of_its_mapping(root: Path) -> None:
    edit(root / VALUES, "replicaCount: 3\n", "")
    verdict = judge(root, test="schema")
    assert verdict.objects == [{"path": "<document>"}]
    assert f"  {VALUES}:2: <document>: 'replicaCount' is a required property" in verdict.message
    assert verdict.location == at(TEMPLATE, 2)


def test_a_schema_problem_with_a_broken_template_points_at_the_committed_line(root: Path) -> None:
    edit(root / VALUES, "replicaCount: 3", "replicaCount: 0")
    (root / TEMPLATE).write_text("replicaCount: {{ REDIS_REPLICAS \n")
    verdict = judge(root, test="schema")
    assert verdict.message == (
        f"{VALUES} does not match {SCHEMA} (1 problem(s)):\n  {VALUES}:3: replicaCount: 0 is less than the minimum "
        "of 1"
    )
    assert verdict.location == at(VALUES, 3)


@pytest.mark.parametrize(
    ("field", "limit", "said", "line"),
    [
        ("replicaCount", {"maximum": 2}, "replicaCount: 3 is greater than the maximum of 2 (set by REDIS_REPLICAS at "
         f"{ENV}:9)", 9),
        ("nameOverride", {"maxLength": 2}, "nameOverride: 'redis-cluster' is too long (the template writes it)", None),
    ],
)
def test_a_schema_problem_under_a_template_with_blocks(
    root: Path, field: str, limit: dict[str, int], said: str, line: int | None
) -> None:
    edit(root / TEMPLATE, "metrics:\n", "{% if true %}\nmetrics:\n{% endif %}\n")
    render_fresh(root)
    schema = root / SCHEMA
    data = json.loads(schema.read_text())
    data["properties"][field].update(limit)
    schema.write_text(json.dumps(data))
    verdict = judge(root, test="schema")
    assert verdict.message.endswith(said)
    assert verdict.location == (at(ENV, line) if line else at(TEMPLATE, None))


def test_a_schema_problem_under_the_repository_renderer_names_the_key_or_the_renderer(root: Path) -> None:
    (root / "sites/production/fresh.yaml").write_text((root / VALUES).read_text())
    schema = root / SCHEMA
    data = json.loads(schema.read_text())
    data["properties"]["replicaCount"]["maximum"] = 2
    data["properties"]["image"]["properties"]["repository"]["maxLength"] = 2
    schema.write_text(json.dumps(data))
    verdict = judge(root, command=COPY, test="schema")
    assert verdict.message == (
        f"{VALUES} does not match {SCHEMA} (2 problem(s)):\n"
        f"  {VALUES}:5: image.repository: 'redis' is too long "
        "(written by the repository's renderer (slo_render_command))\n"
        f"  {VALUES}:3: replicaCount: 3 is greater than the maximum of 2 (one of API_REPLICAS, REDIS_REPLICAS)"
    )
    assert verdict.location == at(ENV, None)


# --------------------------------------------------------------------------- repeated keys


def test_a_repeated_key_written_by_hand_asks_for_a_fresh_render(root: Path) -> None:
    edit(root / VALUES, "  maxmemorySamples: 5\n", '  maxmemorySamples: 5\n  maxmemory: "512mb"\n')
    verdict = judge(root, test="schema")
    assert verdict.ok is False
    assert verdict.message == (
        f"{VALUES} repeats a key: YAML keeps only the last value and helm lint rejects the file\n"
        f"  {VALUES}:18: duplicate key 'redis.maxmemory' (first at line 15); not what a fresh render "
        f"gives: re-render with {RENDER}"
    )
    assert verdict.location == at(VALUES, 18)
    assert verdict.evidence == {"duplicates": [{"key": "redis.maxmemory", "line": 18, "first": 15}]}
    assert verdict.objects == [{"path": "redis.maxmemory"}]


def test_keys_the_template_repeats_point_at_the_template(root: Path) -> None:
    edit(root / TEMPLATE, "  maxmemorySamples:", "  maxmemory: 1gb\n  maxmemorySamples:")
    edit(root / TEMPLATE, "metrics:\n  enabled: true\n", "metrics:\n  enabled: true\n  enabled: false\n")
    render_fresh(root)
    verdict = judge(root, test="schema")
    assert verdict.ok is False
    assert verdict.message == (
        f"{VALUES} repeats 2 keys: YAML keeps only the last value and helm lint rejects the file\n"
        f"  {VALUES}:17: duplicate key 'redis.maxmemory' (first at line 15); the template writes it: "
        f"fix {TEMPLATE}:17\n"
        f"  {VALUES}:21: duplicate key 'metrics.enabled' (first at line 20); the template writes it: fix {TEMPLATE}:21"
    )
    assert verdict.location == at(TEMPLATE, 17)
    assert verdict.objects == [{"path": "redis.maxmemory"}, {"path": "metrics.enabled"}]


def test_a_key_repeated_by_a_template_with_blocks_points_at_the_template_file(root: Path) -> None:
    edit(root / TEMPLATE, "  maxmemorySamples:", "  maxmemory: 1gb\n  maxmemorySamples:")
    edit(root / TEMPLATE, "metrics:\n", "{% if true %}\nmetrics:\n{% endif %}\n")
    render_fresh(root)
    verdict = judge(root, test="schema")
    assert verdict.location == at(TEMPLATE, None)
    assert verdict.message.endswith(f"(first at line 15); the template writes it: fix {TEMPLATE}")


def test_a_repeated_key_with_a_broken_template_points_at_the_committed_line(root: Path) -> None:
    edit(root / VALUES, "  maxmemorySamples: 5\n", '  maxmemorySamples: 5\n  maxmemory: "512mb"\n')
    (root / TEMPLATE).write_text("replicaCount: {{ REDIS_REPLICAS \n")
    verdict = judge(root, test="schema")
    assert verdict.message.endswith(f"\n  {VALUES}:18: duplicate key 'redis.maxmemory' (first at line 15)")
    assert verdict.location == at(VALUES, 18)


# --------------------------------------------------------------------------- assert


@pytest.mark.parametrize(
    ("source", "ok", "message", "path", "line"),
    [
        ("values.replicaCount >= 3", True, "", VALUES, None),
        ("values.replicaCount > 5", False, "values.replicaCount=3; expected values.replicaCount > 5", ENV,
         "REDIS_REPLICAS"),
        ("values.image.repository == 'x'", False,
         "values.image.repository='redis'; expected values.image.repository == 'x'", TEMPLATE, 5),
        ("values | length > 100", False, "values | length > 100 is false; expected values | length > 100", VALUES,
         None),
        ("values.get('nothing') == 1", False, "values.get=None; expected values.get('nothing') == 1", VALUES, None),
        ("REDIS_REPLICAS > 5 or values.replicaCount > 5", False,
         "REDIS_REPLICAS=3, values.replicaCount=3; expected REDIS_REPLICAS > 5 or values.replicaCount > 5", ENV,
         "REDIS_REPLICAS"),
    ],
)
def test_an_assert_over_the_values_points_at_what_wrote_the_field(
    root: Path, source: str, ok: bool, message: str, path: str, line: Any
) -> None:
    verdict = judge(root, **{"assert": source})
    assert (verdict.ok, verdict.message) == (ok, message)
    assert verdict.location == at(path, env_line(root, line) if isinstance(line, str) else line)


def test_an_assert_points_at_the_declared_keys_first(root: Path) -> None:
    c = check(keys=("REDIS_MEMORY_LIMIT",), **{"assert": "values.replicaCount > 5"})
    verdict = ValuesKind().evaluate(c, target(root), None)
    assert verdict.location == at(ENV, env_line(root, "REDIS_MEMORY_LIMIT"))


def test_an_assert_over_a_hand_edited_field_points_at_the_committed_line(root: Path) -> None:
    edit(root / VALUES, "replicaCount: 3", "replicaCount: 4")
    verdict = judge(root, **{"assert": "values.replicaCount > 5"})
    assert verdict.message == "values.replicaCount=4; expected values.replicaCount > 5"
    assert verdict.location == at(VALUES, 3)


def test_an_empty_committed_document_is_an_empty_mapping(root: Path) -> None:
    (root / VALUES).write_text("# nothing\n")
    verdict = judge(root, **{"assert": "values == {}"})
    assert verdict.ok


# --------------------------------------------------------------------------- stray


def test_no_stray_render_passes_with_the_path_the_gate_reads(root: Path) -> None:
    verdict = judge(root, test="stray")
    assert verdict.ok and verdict.evidence == {"reads": VALUES}


def test_a_render_outside_the_values_path_is_a_stray(root: Path) -> None:
    (root / "apps/redis-cluster").mkdir(parents=True)
    (root / "apps/redis-cluster/values.yaml").write_text("replicaCount: 3\n")
    verdict = judge(root, test="stray")
    assert verdict.ok is False
    assert verdict.message == (
        "apps/redis-cluster/values.yaml: rendered values of redis-cluster that no check reads "
        f"(the gate reads {VALUES}, slo_values_path sites/{{site}}/apps/{{app}}/values.yaml); "
        f"delete it, and render with {RENDER}"
    )
    assert verdict.evidence == {"stray": ["apps/redis-cluster/values.yaml"], "reads": VALUES,
                                "values_path": DEFAULT_VALUES_PATH}
    assert verdict.location == at("apps/redis-cluster/values.yaml", None)
    assert verdict.objects == [{"file": "apps/redis-cluster/values.yaml"}]


def test_two_strays_and_the_ones_under_another_site(root: Path) -> None:
    for folder in ("apps/redis-cluster", "old/redis-cluster", "sites/staging/old/redis-cluster"):
        (root / folder).mkdir(parents=True)
        (root / folder / "values.yaml").write_text("replicaCount: 3\n")
    verdict = judge(root, test="stray")
    assert verdict.ok is False
    assert verdict.evidence["stray"] == ["apps/redis-cluster/values.yaml", "old/redis-cluster/values.yaml"]
    assert verdict.message.startswith("apps/redis-cluster/values.yaml, old/redis-cluster/values.yaml: rendered")
    assert "; delete them, and render with " in verdict.message
    assert verdict.location == at("apps/redis-cluster/values.yaml", None)
    staging = judge(root, site="staging", test="stray")
    assert staging.evidence["stray"] == [
        "apps/redis-cluster/values.yaml", "old/redis-cluster/values.yaml", "sites/staging/old/redis-cluster/values.yaml"
    ]


# --------------------------------------------------------------------------- orphans


def test_every_app_folder_belongs_to_an_app(root: Path) -> None:
    verdict = judge(root, test="orphans")
    assert verdict.ok and verdict.evidence == {"apps": 2}


def test_folders_of_no_app_are_orphans_with_a_suggestion(root: Path) -> None:
    for name in ("redis-clustr", "zzz"):
        (root / f"sites/production/apps/{name}").mkdir()
    verdict = judge(root, test="orphans")
    assert verdict.ok is False
    assert verdict.message == (
        "2 folder(s) of rendered values belong to no app of production, so no check reads them:\n"
        "  sites/production/apps/redis-clustr/: no app redis-clustr in release 1.15: did you mean redis-cluster?\n"
        "  sites/production/apps/zzz/: no app zzz in release 1.15 (apps: api-server, redis-cluster)"
    )
    assert verdict.evidence == {
        "orphans": ["sites/production/apps/redis-clustr", "sites/production/apps/zzz"],
        "apps": ["api-server", "redis-cluster"],
    }
    assert verdict.location == at("sites/production/apps/redis-clustr", None)
    assert verdict.objects == [
        {"folder": "sites/production/apps/redis-clustr"}, {"folder": "sites/production/apps/zzz"}
    ]


def test_orphans_of_a_site_without_its_release(root: Path) -> None:
    edit(root / ENV, "RELEASE=1.15", "RELEASE=9.99")
    (root / "sites/production/apps/zzz").mkdir()
    verdict = judge(root, test="orphans")
    assert verdict.message.endswith(
        "  sites/production/apps/zzz/: no app zzz in the repository's releases (apps: api-server, redis-cluster)"
    )


def test_orphans_of_a_release_without_apps(root: Path) -> None:
    (root / "releases/2.0").mkdir()
    edit(root / ENV, "RELEASE=1.15", "RELEASE=2.0")
    verdict = judge(root, test="orphans")
    assert verdict.message == (
        "2 folder(s) of rendered values belong to no app of production, so no check reads them:\n"
        "  sites/production/apps/api-server/: no app api-server in release 2.0 (apps: none)\n"
        "  sites/production/apps/redis-cluster/: no app redis-cluster in release 2.0 (apps: none)"
    )


# --------------------------------------------------------------------------- the kind itself


def test_orphans_is_one_item_per_site_the_other_tests_one_per_app() -> None:
    kind = ValuesKind()
    assert kind.scope_of(check(test="orphans")) == "site"
    for test in ("in-sync", "schema", "stray"):
        assert kind.scope_of(check(test=test)) == "app"
    assert kind.scope_of(check(**{"assert": "values"})) == "app"


@pytest.mark.parametrize("test", ["in-sync", "schema", "stray", "orphans"])
def test_the_spec_schema_admits_the_four_tests(test: str) -> None:
    jsonschema.validate({"test": test}, ValuesKind.spec_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"test": test.upper()}, ValuesKind.spec_schema)


def test_a_committed_file_that_lost_its_last_newline_is_out_of_sync_with_no_line_to_blame(root: Path) -> None:
    values = root / VALUES
    values.write_text(values.read_text().rstrip("\n"))
    verdict = judge(root, test="in-sync")
    assert verdict.message == (
        f"{SYNC}: line 23 is '<end of file>', a fresh render gives '<end of file>'. Re-render and commit: {RENDER}"
    )
    assert verdict.location == at(ENV, None)
    assert verdict.objects == []
    assert verdict.evidence["diff"] == ""  # the lines are the same: only the bytes differ


def test_the_repository_renderer_blames_the_last_line_by_its_value(root: Path) -> None:
    (root / "sites/production/fresh.yaml").write_text((root / VALUES).read_text())
    edit(root / VALUES, 'namespace: "production"', 'namespace: "staging"')
    verdict = judge(root, command=COPY, test="in-sync")
    assert verdict.location == at(ENV, env_line(root, "KUBE_NAMESPACE"))
    assert verdict.objects == [{"key": "KUBE_NAMESPACE"}]


def test_line_zero_is_no_line_of_the_render(root: Path) -> None:
    (root / "sites/production/fresh.yaml").write_text((root / VALUES).read_text())
    found = blame(target(root, command=COPY), 0)
    assert found is not None and (found.location, found.key) == (at(ENV, None), None)


def test_a_field_past_the_end_of_a_short_render_is_a_hand_edit(root: Path) -> None:
    (root / "sites/production/fresh.yaml").write_text("nameOverride: redis-cluster\n")
    verdict = judge(root, command=COPY, **{"assert": "values.replicaCount > 5"})
    assert verdict.location == at(VALUES, 3)


def test_a_renderer_that_fails_leaves_the_assert_pointing_at_config_env(root: Path) -> None:
    verdict = judge(root, command="false", **{"assert": "values.replicaCount > 5"})
    assert verdict.ok is False
    assert verdict.location == at(ENV, None)


def test_a_hand_edit_of_the_first_line_asks_for_a_fresh_render(root: Path) -> None:
    values = root / VALUES
    lines = values.read_text().splitlines(keepends=True)
    kept = "".join(line for line in lines[1:] if not line.startswith("replicaCount"))
    values.write_text('replicaCount: "3"\n' + kept)
    verdict = judge(root, test="schema")
    assert verdict.location == at(VALUES, 1)
    assert verdict.message.endswith(
        f"  {VALUES}:1: replicaCount: '3' is not of type 'integer' (not what a fresh render gives: re-render with "
        f"{RENDER})"
    )


def test_lines_repeated_hundreds_of_times_are_not_junk_to_the_diff(root: Path) -> None:
    app = root / "releases/1.15/apps/many"
    app.mkdir()
    hosts = "- redis\n" * 120  # a list of one host, repeated: a line that is nearly all of the file
    (app / "values.yaml.j2").write_text(f"{hosts}- {{{{ REDIS_REPLICAS }}}}\n{hosts}")
    folder = root / "sites/production/apps/many"
    folder.mkdir()
    (folder / "values.yaml").write_text(f"{hosts}- 2\n{hosts}")
    verdict = judge(root, app="many", test="in-sync")
    assert verdict.objects == [{"key": "REDIS_REPLICAS"}]


def test_an_assert_over_values_that_are_not_yaml_names_the_committed_file(root: Path) -> None:
    (root / VALUES).write_text("replicaCount: [3\n")
    with pytest.raises(ConfigError) as caught:
        judge(root, **{"assert": "values.replicaCount > 5"})
    assert caught.value.path == VALUES


def test_an_assert_that_reads_an_unset_key_is_the_sites_error(root: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        judge(root, **{"assert": "NOPE_KEY > 1 and values.replicaCount > 0"})
    assert (caught.value.message, caught.value.path) == ("NOPE_KEY is not set, and check t-values needs it", ENV)


@pytest.mark.parametrize(
    ("source", "evidence"),
    [
        ("values.replicaCount > 5", {"assert": "values.replicaCount > 5", "found": "values.replicaCount=3",
                                     "expected": "values.replicaCount > 5"}),
        ("REDIS_REPLICAS > 5", {"assert": "REDIS_REPLICAS > 5", "REDIS_REPLICAS": 3, "found": "REDIS_REPLICAS=3",
                                "expected": "REDIS_REPLICAS > 5"}),
    ],
)
def test_an_assert_carries_what_it_read_as_evidence(root: Path, source: str, evidence: dict[str, Any]) -> None:
    assert judge(root, **{"assert": source}).evidence == evidence
