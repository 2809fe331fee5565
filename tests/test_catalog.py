"""A broken check catalog fails its own item at the line of the field to edit, saying what to
write; the broken check's items *error* with the same line; the rest of the catalog runs.

Every field is validated by a JSON Schema per kind, proven valid JSON Schema and agreeing
with check-jsonschema (an authority we did not write) on the shipped catalog; Prometheus
durations agree with promtool, Prometheus' own rule checker.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_slo.catalog import catalog_schema, kind_schema, load_catalog
from pytest_slo.catalog.known import Known
from pytest_slo.catalog.model import BUILTIN_CATALOG, builtin_ids
from pytest_slo.catalog.runbooks import runbook, runbook_text
from pytest_slo.kinds import KindRegistry, builtin_kinds
from pytest_slo.repo.site import Repo
from teststack.kubeapi import shift_snapshot
from teststack.servers import require_binary

from .support import REPO, assert_counts, check_jsonschema

GOOD = """checks:
  - id: extra-check
    title: replicas are at least one
    kind: config
    assert: "REDIS_REPLICAS >= 1"
    severity: P4
    runbook: checks/runbooks/redis.md#redis-memory-limit
"""
KUBE = """checks:
  - id: team-oom
    title: t
    kind: kube
    test: oomkilled
    window: 24h
    severity: P1
    runbook: checks/runbooks/kube.md
"""
PROMQL = """checks:
  - id: team-p
    title: t
    kind: promql
    apps: [api-server]
    query: "up{ {{ selector }} }"
    op: "<"
    threshold: 80
    unit: "%"
    severity: P2
    runbook: checks/runbooks/slo.md
"""


def registry() -> KindRegistry:
    kinds = KindRegistry()
    for kind in builtin_kinds():
        kinds.register(kind)
    return kinds


def problems_of(tmp_path: Path, text: str) -> list[str]:
    """The problems of ``checks/team.yaml`` holding ``text``, as the catalog item lists them."""
    shutil.copytree(REPO / "checks" / "runbooks", tmp_path / "checks" / "runbooks")
    (tmp_path / "checks" / "team.yaml").write_text(text)
    catalog = load_catalog(tmp_path, registry().schemas)
    return [str(p) for p in catalog.problems.get("checks/team.yaml", [])]


# (catalog text, line of the field, what the catalog item says first)
FIELD_PROBLEMS = [
    pytest.param(
        KUBE.replace("24h", "1day"),
        6,
        "check 'team-oom': window: '1day' is not a Prometheus duration (write an integer and a unit, largest "
        "unit first, as in 24h, 5m, 1h30m or 7d; the units are ms, s, m, h, d, w and y)",
        id="duration",
    ),
    pytest.param(
        KUBE.replace("24h", "1.5h"),
        6,
        "check 'team-oom': window: '1.5h' is not a Prometheus duration",
        id="duration-fraction",
    ),
    pytest.param(
        KUBE.replace("test: oomkilled", "test: crashloop"),
        6,
        "check 'team-oom': window: only test: oomkilled and test: restarts and test: pods read it (remove "
        "window:, or set test: oomkilled, restarts or pods)",
        id="field-no-test-reads",
    ),
    pytest.param(
        KUBE.replace("test: oomkilled", "test: oomkiled"),
        5,
        "check 'team-oom': test: 'oomkiled' is not a test of kind kube (did you mean oomkilled? write one of: "
        "crashloop, oomkilled, restarts, pods, rollout, resources-drift, image-drift)",
        id="kube-test",
    ),
    pytest.param(
        GOOD.replace('    assert: "REDIS_REPLICAS >= 1"\n', "    test: prase\n"),
        5,
        "check 'extra-check': test: 'prase' is not a test of kind config (did you mean parse? write one of: "
        "parse, schema)",
        id="config-test",
    ),
    pytest.param(
        PROMQL.replace('op: "<"', 'op: "=<"'),
        7,
        "check 'team-p': op: '=<' is not a comparison operator (did you mean <? write one of: <, <=, >, >=, ==, !=)",
        id="operator",
    ),
    pytest.param(
        PROMQL.replace('unit: "%"', 'unit: "{{ unit }}"'),
        9,
        "check 'team-p': unit: '{{ unit }}' is not a short unit shown after each value",
        id="unit",
    ),
    pytest.param(
        PROMQL.replace('unit: "%"', "no_data: ignore"),
        9,
        "check 'team-p': no_data: 'ignore' is not what an empty result means (write one of: fail, skip, pass)",
        id="no-data",
    ),
    pytest.param(
        PROMQL.replace("threshold: 80", 'threshold: "SLO_MAX |"'),
        8,
        "check 'team-p': threshold: 'SLO_MAX |' does not compile: unexpected end of template, expected 'name'.",
        id="threshold-expression",
    ),
    pytest.param(
        PROMQL.replace('query: "up{ {{ selector }} }"', 'query: "up{ {{ selector }"'),
        6,
        "check 'team-p': query: 'up{ {{ selector }' does not compile: unexpected '}'",
        id="query-template",
    ),
    pytest.param(
        GOOD.replace('"REDIS_REPLICAS >= 1"', '"REDIS_REPLICAS >="'),
        5,
        "check 'extra-check': assert: 'REDIS_REPLICAS >=' does not compile: unexpected 'end of template'",
        id="assert-expression",
    ),
    pytest.param(
        GOOD + '    found: "{{ REDIS_REPLICAS | humanbytes }}"\n',
        8,
        "check 'extra-check': found: '{{ REDIS_REPLICAS | humanbytes }}' does not compile: No filter named "
        "'humanbytes'.",
        id="found-unknown-filter",
    ),
    pytest.param(
        GOOD.replace('"REDIS_REPLICAS >= 1"', '"REDIS_REPLICAS | byte >= 1"'),
        5,
        "check 'extra-check': assert: 'REDIS_REPLICAS | byte >= 1' does not compile: No filter named 'byte'.",
        id="assert-unknown-filter",
    ),
    pytest.param(
        GOOD + '    when: "REDIS_ROLE =="\n',
        8,
        "check 'extra-check': when: 'REDIS_ROLE ==' does not compile",
        id="when-expression",
    ),
    pytest.param(
        GOOD.replace("severity: P4", "severity: high"),
        6,
        "check 'extra-check': severity: 'high' is not a severity, P1 (page now) to P4 (housekeeping) (write one "
        "of: P1, P2, P3, P4)",
        id="severity",
    ),
    pytest.param(
        GOOD.replace("assert:", "asert:"),
        5,
        "check 'extra-check': asert is not a field of a config check (did you mean assert?)",
        id="unknown-field",
    ),
    pytest.param(
        GOOD.replace("    runbook: checks/runbooks/redis.md#redis-memory-limit\n", ""),
        2,
        "check 'extra-check': runbook is missing (write e.g. runbook: checks/runbooks/redis.md#redis-eviction-policy)",
        id="missing-field",
    ),
    pytest.param(
        GOOD.replace("runbooks/redis.md", "runbooks/nope.md"),
        7,
        "check 'extra-check': runbook 'checks/runbooks/nope.md' does not exist (write the runbook or fix the path)",
        id="runbook-path",
    ),
    pytest.param(
        GOOD.replace("runbook: checks/runbooks/redis.md#redis-memory-limit", "runbook: see the wiki"),
        7,
        "check 'extra-check': runbook: 'see the wiki' is not a repo-relative Markdown path with an optional "
        "#anchor, or a URL",
        id="runbook-form",
    ),
    pytest.param(
        GOOD + "    test: parse\n",
        8,
        "check 'extra-check': test: is set, so assert: is never read (keep one of test: and assert:)",
        id="test-and-assert",
    ),
    pytest.param(
        GOOD.replace('    assert: "REDIS_REPLICAS >= 1"\n', ""),
        2,
        "check 'extra-check': needs test: or assert: (write test: parse or assert: REDIS_EVICTION_POLICY != "
        "'noeviction')",
        id="neither-test-nor-assert",
    ),
    pytest.param(
        GOOD + "    markers: [skip]\n",
        8,
        "check 'extra-check': markers[0]: 'skip' is reserved: pytest gives it behaviour",
        id="reserved-marker",
    ),
    pytest.param(
        GOOD + "    actions:\n      - action: review\n        owenr: SRE\n",
        10,
        "check 'extra-check': owenr is not a field of actions[0] (did you mean owner?)",
        id="action-field",
    ),
    pytest.param(
        GOOD + "    actions:\n      - action: review\n        priority: high\n",
        10,
        "check 'extra-check': actions[0].priority: 'high' is not a priority, P1 to P4 (write one of: P1, P2, P3, P4)",
        id="action-priority",
    ),
    pytest.param(
        GOOD.replace("kind: config", "kind: confg"),
        4,
        "check 'extra-check': kind: 'confg' is not a kind any installed plugin provides (did you mean config? "
        "the installed kinds are: config, kube, promql, redis, values)",
        id="unknown-kind",
    ),
    pytest.param(
        GOOD.replace("id: extra-check", "id: redis-eviction-policy"),
        2,
        "check 'redis-eviction-policy': id: duplicate check id (first declared at checks/redis.yaml:",
        id="duplicate-id",
    ),
    pytest.param("checks:\n  - id: a\n    title: [unclosed\n", 4, "not valid YAML", id="yaml"),
    pytest.param(
        "chekcs:\n  - id: a\n",
        1,
        "chekcs: is not a key of a check catalog (a check catalog holds only checks:)",
        id="top-level-key",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), FIELD_PROBLEMS)
def test_each_field_problem_names_the_line_and_what_to_write(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    if "redis-eviction-policy" in text:
        (tmp_path / "checks").mkdir()
        shutil.copy(REPO / "checks" / "redis.yaml", tmp_path / "checks" / "redis.yaml")
    problems = problems_of(tmp_path, text)
    assert problems, "the catalog accepted a wrong field"
    assert problems[0].startswith(f"checks/team.yaml:{line}: {message}"), problems


def test_the_shipped_catalog_has_no_problem() -> None:
    repo = Repo(REPO)
    known = Known(apps=frozenset(repo.app_names), keys=frozenset(repo.config_keys))
    catalog = load_catalog(REPO, registry().schemas, known=known)
    assert catalog.problems == {}
    assert catalog.broken == []
    assert len(catalog.checks) == 25
    # the core comes with the plugin, each check's runbook section in the package
    builtin = [c for c in catalog.checks if c.builtin]
    assert sorted(c.id for c in builtin) == builtin_ids() == [
        "config-parse", "config-schema", "values-in-sync", "values-orphans", "values-schema", "values-stray",
    ]
    for check in builtin:
        text = runbook_text(check.runbook)
        assert text is not None and text.startswith(f"## {check.id}\n"), check.runbook


@pytest.mark.parametrize(
    ("text", "line", "message", "errors"),
    [
        (
            GOOD.replace("severity: P4", "severity: high"),
            6,
            "check 'extra-check': severity: 'high' is not a severity",
            1,
        ),
        (
            GOOD.replace("kind: config", "kind: confg"),
            4,
            "check 'extra-check': kind: 'confg' is not a kind any installed plugin provides",
            1,
        ),
        # a live check: it errors without --live too, since what is wrong is offline knowledge
        (PROMQL.replace('op: "<"', 'op: "=<"'), 7, "check 'team-p': op: '=<' is not a comparison operator", 1),
        # no usable id: nothing to name items by, only the catalog item fails
        (
            GOOD.replace("id: extra-check", "id: Extra Check"),
            2,
            "check 'Extra Check': id: 'Extra Check' is not a kebab-case id",
            0,
        ),
        # PyYAML reads it as a date it cannot build: the file cannot be read, only the catalog item fails
        (
            GOOD + "    description: 2026-02-30\n",
            8,
            "2026-02-30 is not a date: day is out of range for month (write a real date, or quote it "
            "('2026-02-30') if it is text)",
            0,
        ),
    ],
)
def test_the_catalog_item_fails_and_the_checks_items_error_at_the_same_line(
    gitops: Path, pytester: pytest.Pytester, text: str, line: int, message: str, errors: int
) -> None:
    (gitops / "checks" / "team.yaml").write_text(text)
    result = pytester.runpytest("--site", "production", "--findings=f.json")
    out = result.stdout.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out
    assert_counts(result, failed=1, errors=errors)
    where = f"checks/team.yaml:{line}: {message}"
    result.stdout.fnmatch_lines(
        [
            "*_ catalog of team.yaml _*",
            "team.yaml is not a valid check catalog:",
            f"  {where}*",
            f"edit: checks/team.yaml:{line}",
        ]
    )
    doc = json.loads((gitops / "f.json").read_text())
    by_outcome: dict[str, list[dict]] = {}
    for finding in doc["findings"]:
        by_outcome.setdefault(finding["outcome"], []).append(finding)
    (catalog,) = by_outcome["failed"]
    assert (catalog["check"], catalog["location"]) == ("catalog", {"path": "checks/team.yaml", "line": line})
    assert len(by_outcome.get("error", [])) == errors
    for error in by_outcome.get("error", []):
        assert error["message"].startswith(where) and "\n" not in error["message"]
        assert error["location"] == {"path": "checks/team.yaml", "line": line}
        assert error["runbook"] == runbook("runbooks/catalog.md#catalog")
        # the item's error is one line: its message and nothing of our code
        result.stdout.fnmatch_lines([f"*ERROR at setup of production*: {error['check']} *", where + "*", "*"])
    assert doc["summary"]["errors"] == errors and doc["summary"]["failed"] == 1


def test_a_typo_in_a_kube_check_is_no_p1_and_no_postmortem(gitops: Path, pytester: pytest.Pytester) -> None:
    """The regression: ``window: 1day`` failed kube-oomkilled for every app with a traceback,
    reported P1 findings and wrote a postmortem for an incident that never happened."""
    kube = gitops / "checks" / "kube.yaml"
    kube.write_text(kube.read_text().replace("window: 24h", "window: 1day", 1))
    line = kube.read_text().splitlines().index("    window: 1day") + 1
    healthy = shift_snapshot(
        REPO / "examples/snapshots/fixed.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    )
    (gitops / "cluster.json").write_text(json.dumps(healthy))
    result = pytester.runpytest(
        "--site",
        "production",
        "--kube-snapshot=cluster.json",
        "--postmortem-dir=pm",
        "--findings=f.json",
        "--findings-md=f.md",
        "-rE",
    )
    out = result.stdout.str()
    assert "Traceback" not in out and "QuantityError" not in out
    assert_counts(result, failed=1, errors=2)
    md = (gitops / "f.md").read_text()
    assert "**0 findings** (P1: 0 · P2: 0 · P3: 0 · P4: 0); 1 catalog problems; 2 errors" in md
    assert "## The check catalog (1)" in md and "## Errors (2)" in md and "## P1" not in md
    where = (
        f"checks/kube.yaml:{line}: check 'kube-oomkilled': window: '1day' is not a Prometheus duration (write an "
        "integer and a unit"
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of production/api-server: kube-oomkilled*",
            f"{where}*",
            "*ERROR at setup of production/redis-cluster: kube-oomkilled*",
            f"{where}*",
            "*_ catalog of kube.yaml _*",
            "kube.yaml is not a valid check catalog:",
            f"  {where}*",
            "slo findings: 0 (none); 1 catalog problem; 2 errors",
        ]
    )
    doc = json.loads((gitops / "f.json").read_text())
    assert [(f["check"], f["outcome"]) for f in doc["findings"] if f["severity"] == "P1"] == [
        ("kube-oomkilled", "error")
    ] * 2
    assert doc["summary"]["by_severity"] == {
        "P1": 0,
        "P2": 0,
        "P3": 0,
        "P4": 0,
    }  # a catalog mistake is no production finding
    assert doc["summary"]["catalog_problems"] == 1 and doc["summary"]["findings"] == 0
    assert not (gitops / "pm").exists()


def test_an_errored_check_never_feeds_a_postmortem(gitops: Path, pytester: pytest.Pytester) -> None:
    kube = gitops / "checks" / "kube.yaml"
    kube.write_text(kube.read_text().replace("window: 24h", "window: 1day", 1))
    incident = shift_snapshot(
        REPO / "examples/snapshots/incident.json", dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    )
    (gitops / "cluster.json").write_text(json.dumps(incident))
    result = pytester.runpytest(
        "--site", "production", "--kube-snapshot=cluster.json", "--postmortem-dir=pm", "-k", "kube"
    )
    (draft,) = (gitops / "pm").glob("*.md")  # the real CrashLoopBackOff is a live P1: a draft
    result.stdout.fnmatch_lines(["slo findings: * P1*; 2 errors"])
    text = draft.read_text()
    assert "kube-crashloop" in text
    assert "kube-oomkilled" not in text and "1day" not in text


# --------------------------------------------------------------------------- the schemas


def test_every_kind_schema_is_valid_json_schema(tmp_path: Path) -> None:
    paths = []
    for name, spec in registry().schemas.items():
        path = tmp_path / f"{name}.schema.json"
        path.write_text(json.dumps(kind_schema(name, spec)))
        paths.append(str(path))
    catalog = tmp_path / "catalog.schema.json"
    catalog.write_text(json.dumps(catalog_schema(registry().schemas)))
    done = check_jsonschema("--check-metaschema", *paths, str(catalog))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_check_jsonschema_accepts_the_shipped_catalog_and_refuses_a_typo(tmp_path: Path) -> None:
    schema = tmp_path / "catalog.schema.json"
    schema.write_text(json.dumps(catalog_schema(registry().schemas)))
    shipped = [*sorted(str(p) for p in (REPO / "checks").glob("*.yaml")), str(BUILTIN_CATALOG)]
    assert len(shipped) == 5
    done = check_jsonschema("--schemafile", str(schema), *shipped)
    assert done.returncode == 0, done.stdout + done.stderr
    # the same schema, the same verdict as the gate on a wrong field
    bad = tmp_path / "kube.yaml"
    bad.write_text((REPO / "checks" / "kube.yaml").read_text().replace("window: 24h", "window: 1day", 1))
    done = check_jsonschema("--schemafile", str(schema), str(bad))
    assert done.returncode == 1
    assert "'1day' does not match" in done.stdout


# Durations as Prometheus parses them (model.ParseDuration): promtool is the oracle. "0" is
# left out: Prometheus special-cases it, and a window of 0 is refused here on purpose.
DURATIONS = [
    "5m",
    "24h",
    "1h30m",
    "7d",
    "2w",
    "1y",
    "500ms",
    "1h30m15s500ms",
    "90m",
    "1day",
    "1.5h",
    "30m1h",
    "",
    "5 m",
    "5M",
    "-5m",
    "5",
    "1h 30m",
    "ms",
    "24H",
]


def test_durations_agree_with_promtool(tmp_path: Path) -> None:
    files = {}
    for i, text in enumerate(DURATIONS):
        path = tmp_path / f"rule{i:02d}.yml"
        path.write_text(f'groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: {json.dumps(text)}\n')
        files[path.name] = text
    done = subprocess.run(
        [require_binary("promtool", "prometheus"), "check", "rules", *sorted(str(tmp_path / f) for f in files)],
        capture_output=True,
        text=True,
    )
    blocks = done.stdout.split("Checking ")[1:]
    promtool = {block.split()[0].rsplit("/", 1)[-1]: "SUCCESS" in block for block in blocks}
    assert set(promtool) == set(files), done.stdout
    ours = {}
    for name, text in files.items():
        kube = KUBE.replace("window: 24h", f"window: {json.dumps(text)}")
        case = tmp_path / name.replace(".yml", "")
        ours[name] = not problems_of(case, kube)
    assert ours == promtool
    assert sum(promtool.values()) == 9  # both verdicts occur


# --------------------------------------------------------------------------- runbook links


def test_a_valid_extra_check_runs(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks" / "team.yaml").write_text(GOOD)
    result = pytester.runpytest("--site", "production", "-v")
    result.stdout.fnmatch_lines(
        ["*checks/team.yaml::catalog PASSED*", "*sites/production/config.env::extra-check PASSED*"]
    )


def test_runbook_links_checks_anchors(gitops: Path, pytester: pytest.Pytester) -> None:
    (gitops / "checks" / "team.yaml").write_text(GOOD.replace("#redis-memory-limit", "#no-such-heading"))
    result = pytester.runpytest("--site", "production", "-q")
    assert_counts(result, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*checks/team.yaml:2: check extra-check: runbook checks/runbooks/redis.md has no heading for "
            "#no-such-heading*"
        ]
    )


def test_a_broken_live_check_does_not_disturb_the_others(gitops: Path, pytester: pytest.Pytester) -> None:
    # its fields are not what the kind expects: the kind's batched reads must not see it
    (gitops / "checks" / "team.yaml").write_text(PROMQL.replace('    op: "<"\n', ""))
    result = pytester.runpytest(
        "--site", "production", "--live", "-m", "promql", "--prometheus-url=http://127.0.0.1:9", "--live-timeout=1"
    )
    out = result.stdout.str()
    assert "Traceback" not in out and "KeyError" not in out
    assert result.parseoutcomes()["errors"] == 6
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of production/api-server: team-p*",
            "checks/team.yaml:2: check 'team-p': op is missing (write e.g. op: <)",
        ]
    )
    # one error report per promql item (the short summary repeats it when the terminal is wide)
    assert (
        sum(
            line.startswith("prometheus unavailable: cannot connect to http://127.0.0.1:9") for line in out.splitlines()
        )
        == 5
    )


def test_every_builtin_kinds_schema_is_json_schema() -> None:
    """Registration checks a plugin's kind against JSON Schema's own schema; the built-in
    kinds are checked here instead, once, not on every run (a tenth of a second a kind)."""
    import jsonschema

    for kind in builtin_kinds():
        jsonschema.Draft202012Validator.check_schema(kind_schema(kind.name, kind.spec_schema))
        assert KindRegistry().register(kind) is None
