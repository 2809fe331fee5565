"""OpenSLO v1 documents (``slos/*.yaml``): what parses, what is refused and where it says so.

No server: the documents are read, validated against the vendored OpenSLO v1 JSON Schema and
turned into items; the OpenSLO repository's own examples (``tests/data/openslo``, source
named in its README) parse when they use Prometheus and are rejected with a reason otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_slo.catalog.openslo import load_slos, openslo_validator, parse_pairs, slo_checks
from pytest_slo.expr import counted
from pytest_slo.kinds.slo_queries import SliQueries, is_selector

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "data" / "openslo"
APPS = ["api-server", "redis-cluster", "localhost", "foo", "web-shop", "web-availability"]

GOOD = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: api-server
  indicator:
    metadata:
      name: checkout-ok
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{ {{ selector }}, status!~"5.." }
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{ {{ selector }} }
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: checkout works
      target: 0.999
"""


def problems(tmp_path: Path, text: str, name: str = "team.yaml") -> list[str]:
    (tmp_path / "slos").mkdir(exist_ok=True)
    (tmp_path / "slos" / name).write_text(text)
    catalog = load_slos(tmp_path, "slos", APPS)
    return [str(p) for p in catalog.problems.get(f"slos/{name}", [])]


def test_the_shipped_slos_parse_into_two_items_each() -> None:
    catalog = load_slos(REPO, "slos", ["api-server", "redis-cluster"])
    assert catalog.problems == {}
    checks, broken = slo_checks(catalog)
    assert broken == []
    assert [c.id for c in checks] == [
        "api-availability::error-budget",
        "api-availability::burn-rate",
        "api-latency::error-budget",
        "api-latency::burn-rate",
    ]
    availability = catalog.slos[0]
    assert (availability.app, availability.window, availability.method, availability.indicator) == (
        "api-server",
        6 * 3600,
        "Occurrences",
        "ratio",
    )
    assert (
        availability.objectives[0].target == "{{ 1 - SLO_API_ERROR_RATE_PERCENT / 100 }}"
    )  # per site, from config.env
    assert catalog.slos[1].budget_floor == 10.0


def test_the_vendored_schema_is_the_published_one() -> None:
    validator = openslo_validator()
    assert validator.schema["$id"] == "https://openslo.com/schemas/v1/openslo.schema.json"
    validator.check_schema(validator.schema)


def test_a_good_document_parses_with_its_queries(tmp_path: Path) -> None:
    assert problems(tmp_path, GOOD) == []
    slo = load_slos(tmp_path, "slos", APPS).slos[0]
    assert slo.good == 'http_requests_total{ {{ selector }}, status!~"5.." }' and slo.window == 28 * 86400


def test_the_openslo_readme_prometheus_example_parses() -> None:
    root = EXAMPLES.parent
    (slo,) = load_slos(root, "openslo", APPS).slos
    assert slo.name == "localhost-availability"
    assert slo.good == 'sum(localhost_server_requests{code=~"2xx|3xx",host="*",instance="127.0.0.1:9090"})'
    assert slo.total == 'localhost_server_requests{code="total",host="*",instance="127.0.0.1:9090"}'
    queries = SliQueries(slo, slo.objectives[0], None, None, slo.good, slo.bad, slo.total)
    # both counted by the checks' rule (expr.counted); the README's good query is an expression,
    # read through a subquery, total a selector
    good, total = 'sum(localhost_server_requests{code=~"2xx|3xx",host="*",instance="127.0.0.1:9090"})', slo.total
    assert queries.bad_count(3600) == f"(sum({counted(total, '1h')}) - (sum({counted(good, '1h')}) or vector(0)))"
    assert f"increase({total}[1h])" in queries.bad_count(3600) and f"increase(({good})[1h:1m])" in queries.bad_count(
        3600
    )


# (file of tests/data/openslo, the line, a problem pytest-slo reports there)
REJECTED = [
    ("readme-slo-inline-datadog.yaml", 6, "spec: budgetingMethod is missing (OpenSLO v1 schema)"),
    (
        "readme-threshold-redshift.yaml",
        9,
        "spec.thresholdMetric.metricSource.type: type 'Redshift' is not supported: pytest-slo reads type: "
        "Prometheus with spec.query",
    ),
    ("readme-datasource-cloudwatch.yaml", 3, "kind: DataSource is not read by pytest-slo"),
    (
        "examples-budgeting-method-occurences-slo.yaml",
        29,
        "spec.alertPolicies: None is empty, not a list (OpenSLO v1 schema)",
    ),
    (
        "examples-budgeting-method-timeslices-slo.yaml",
        15,
        "spec.indicator.spec.ratioMetric: counter is missing (OpenSLO v1 schema)",
    ),
    (
        "examples-budgeting-method-ratio-timeslices.yaml",
        29,
        "spec.budgetingMethod: 'RatioTimeslices' is not one of the allowed values (OpenSLO v1 schema)",
    ),
]


@pytest.mark.parametrize(("name", "line", "message"), REJECTED, ids=[r[0] for r in REJECTED])
def test_the_other_openslo_examples_are_rejected_with_a_reason_at_their_line(
    tmp_path: Path, name: str, line: int, message: str
) -> None:
    found = problems(tmp_path, (EXAMPLES / name).read_text(), name)
    assert found, f"{name} was accepted"
    assert any(p.startswith(f"slos/{name}:{line}: {message}") for p in found), found
    assert not load_slos(tmp_path, "slos", APPS).slos


def test_a_calendar_window_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    - duration: 28d\n      isRolling: true\n",
        "    - duration: 1M\n      calendar:\n        startTime: 2022-01-01 12:00:00\n        timeZone: "
        "America/New_York\n",
    )
    assert problems(tmp_path, text) == [
        "slos/team.yaml:25: spec.timeWindow[0]: a calendar-aligned window is not supported: write isRolling: true"
    ]


# (a change to GOOD, the line, the first problem)
BAD = [
    pytest.param(
        ("apiVersion: openslo/v1", "apiVersion: openslo/v2alpha"),
        1,
        "apiVersion: 'openslo/v2alpha' is not 'openslo/v1' (OpenSLO v1 schema)",
        id="wrong-apiVersion",
    ),
    pytest.param(
        ("      target: 0.999\n", ""),
        28,
        "spec.objectives[0]: target is missing (OpenSLO v1 schema)",
        id="missing-target",
    ),
    pytest.param(
        ("      ratioMetric:", "      latencyMetric:"),
        10,
        "spec.indicator.spec: needs thresholdMetric: or ratioMetric: (OpenSLO v1 schema)",
        id="unknown-indicator",
    ),
    pytest.param(
        ("service: api-server", "service: billing"),
        6,
        "spec.service: 'billing' is no app of this repository",
        id="unknown-app",
    ),
    pytest.param(
        ("target: 0.999", "target: 1.5"),
        29,
        "spec.objectives[0].target: 1.5 is not below 1 (OpenSLO v1 schema)",
        id="target-above-1",
    ),
    pytest.param(
        ("duration: 28d", "duration: 1Q"),
        24,
        "spec.timeWindow[0].duration: '1Q' is a calendar length (months, quarters, years vary): write it in m, "
        "h, d or w",
        id="quarter",
    ),
    pytest.param(
        (
            "  name: checkout-availability\n",
            "  name: checkout-availability\n  annotations:\n    pytest-slo.org/burn-rate-pairs: 5m/1h:14\n",
        ),
        6,
        "metadata.annotations.pytest-slo.org/burn-rate-pairs: '5m/1h:14': the short window must be shorter",
        id="pairs",
    ),
    pytest.param(
        ("      target: 0.999\n", "      target: 0.999\n      indicatorRef: checkout-latency\n"),
        30,
        "spec.objectives[0].indicatorRef: a composite SLO (an indicator per objective) is not supported",
        id="composite",
    ),
    pytest.param(
        ("budgetingMethod: Occurrences", "budgetingMethod: Occurrences\n  budgetingMethod: Timeslices"),
        27,
        "duplicate key 'spec.budgetingMethod' (first at line 26)",
        id="duplicate-key",
    ),
    pytest.param(
        ("budgetingMethod: Occurrences", "budgetingMethod: Occurrences\n  description: 2026-02-30"),
        27,
        "2026-02-30 is not a date: day is out of range for month (write a real date, or quote it ('2026-02-30') "
        "if it is text)",
        id="impossible-date",
    ),
    pytest.param(
        (
            "  name: checkout-availability\n",
            "  name: checkout-availability\n  annotations:\n    pytest-slo.org/burn-rate-pairs: 1h/5m:14.4, 6h/30m:0\n",
        ),
        6,
        "metadata.annotations.pytest-slo.org/burn-rate-pairs: '6h/30m:0': the factor must be greater than 0 (how "
        "many times the budget's even pace, e.g. 14.4)",
        id="pairs-factor-0",
    ),
    pytest.param(
        ("    - displayName: checkout works\n      target: 0.999\n", "    []\n"),
        27,
        "spec.objectives: empty: write at least one objective (displayName and target)",
        id="no-objectives",
    ),
    pytest.param(
        (
            "    - displayName: checkout works\n      target: 0.999\n",
            "    - displayName: fast enough\n      target: 0.999\n    - displayName: Fast, enough!\n      "
            "target: 0.99\n",
        ),
        30,
        "spec.objectives[1].displayName: 'Fast, enough!' gives the item name 'fast-enough' of spec.objectives[0] "
        "(objectives are told apart by their displayName in lower case letters and digits: make them differ there)",
        id="same-objective-label",
    ),
]


@pytest.mark.parametrize(("change", "line", "message"), BAD)
def test_a_bad_document_is_an_error_at_its_line(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    old, new = change
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new))
    assert found and found[0].startswith(f"slos/team.yaml:{line}: {message}"), found


def test_an_unknown_indicator_ref_is_an_error_at_its_line(tmp_path: Path) -> None:
    start, end = GOOD.index("  indicator:\n"), GOOD.index("  timeWindow:")
    text = GOOD[:start] + "  indicatorRef: checkout-ok\n" + GOOD[end:]
    assert problems(tmp_path, text) == [
        "slos/team.yaml:7: spec.indicatorRef: no SLI named 'checkout-ok' in the slos files"
    ]
    sli = "---\napiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: checkout-ok\nspec:\n" + "\n".join(
        line[4:] for line in GOOD[GOOD.index("      ratioMetric:"):end].splitlines()) + "\n"
    assert problems(tmp_path, text + sli) == []


def test_a_second_sli_of_a_name_is_an_error_at_its_name(tmp_path: Path) -> None:
    start, end = GOOD.index("  indicator:\n"), GOOD.index("  timeWindow:")
    spec = "\n".join(line[4:] for line in GOOD[GOOD.index("      ratioMetric:"):end].splitlines()) + "\n"
    sli = "---\napiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: checkout-ok\nspec:\n" + spec
    text = (
        GOOD[:start] + "  indicatorRef: checkout-ok\n" + GOOD[end:] + sli + sli.replace('status!~"5.."', 'status="200"')
    )
    assert problems(tmp_path, text) == [
        "slos/team.yaml:37: metadata.name: duplicate SLI name 'checkout-ok' (first at slos/team.yaml:16) (SLI "
        "names are what indicatorRef names: make them unique)"
    ]
    (slo,) = load_slos(tmp_path, "slos", APPS).slos
    assert slo.good == 'http_requests_total{ {{ selector }}, status!~"5.." }'  # the first one, not the last


@pytest.mark.parametrize(
    ("change", "first_line"),
    [(("service: api-server", "service: billing"), 6), (("      target: 0.999\n", ""), 28)],
    ids=["first-has-a-problem", "first-fails-the-schema"],
)
def test_a_second_slo_of_a_name_is_an_error_even_when_the_first_is_broken(
    tmp_path: Path, change: tuple[str, str], first_line: int
) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "a.yaml").write_text(GOOD.replace(*change))
    (tmp_path / "slos" / "b.yaml").write_text(GOOD)
    catalog = load_slos(tmp_path, "slos", APPS)
    assert [str(p) for p in catalog.problems["slos/b.yaml"]] == [
        "slos/b.yaml:4: metadata.name: duplicate SLO name 'checkout-availability' (first at slos/a.yaml:1) (SLO "
        "names are item names and finding keys: make them unique)"
    ]
    assert catalog.problems["slos/a.yaml"][0].line == first_line
    checks, broken = slo_checks(catalog)
    assert checks == [] and [c.id for c in broken] == [
        "checkout-availability::error-budget",
        "checkout-availability::burn-rate",
    ]
    assert {c.source for c in broken} == {"slos/a.yaml"}


def test_a_broken_slo_still_names_its_items_which_error() -> None:
    root = EXAMPLES.parent
    catalog = load_slos(root, "openslo", APPS)
    _, broken = slo_checks(catalog)
    names = {c.id for c in broken}
    assert {"foo-slo::error-budget", "foo-slo::burn-rate", "search-slo::burn-rate"} <= names
    assert all(c.problem is not None for c in broken)


def test_burn_rate_pairs_annotation() -> None:
    assert parse_pairs("1h/5m:14.4, 6h/30m:6") == ((3600, 300, 14.4), (21600, 1800, 6.0))
    with pytest.raises(ValueError, match="LONG/SHORT:FACTOR"):
        parse_pairs("1h:14")
    with pytest.raises(ValueError, match=r"'1h/5m:0\.0': the factor must be greater than 0"):
        parse_pairs("1h/5m:0.0")


def test_selectors_are_counted_with_increase_and_expressions_with_a_subquery() -> None:
    assert is_selector('http_requests_total{namespace="p", status=~"5.."}')
    assert is_selector("up")
    assert not is_selector("sum(up)")
    assert not is_selector("a / b")


def test_pytest_reports_each_problem_at_its_line(pytester: pytest.Pytester) -> None:
    for folder in ("sites", "releases", "checks"):
        shutil.copytree(REPO / folder, pytester.path / folder)
    (pytester.path / "slos").mkdir()
    (pytester.path / "slos" / "api.yaml").write_text(GOOD.replace("target: 0.999\n", "targetPercent: 99.9\n"))
    result = pytester.runpytest("--site", "production", "-p", "no:cacheprovider", "-q", "-rfE")
    out = result.stdout.str()
    where = "slos/api.yaml:28: spec.objectives[0]: target is missing (OpenSLO v1 schema)"
    # the file's catalog item fails with the problem at its line; the SLO's items error with it
    assert f"api.yaml holds OpenSLO documents pytest-slo cannot judge:\n  {where}\nedit: slos/api.yaml:28" in out
    assert (
        "ERROR at setup of production/api-server: checkout-availability::burn-rate [P3] checkout-availability: "
        f"burn-rate _\n{where}"
        in out
    )
    result.assert_outcomes(failed=1, errors=2, passed=21, skipped=22)
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()


def test_one_slo_item_is_selected_by_its_node_id(pytester: pytest.Pytester) -> None:
    for folder in ("sites", "releases", "checks", "slos"):
        shutil.copytree(REPO / folder, pytester.path / folder)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--collect-only",
        "-q",
        "sites/production/config.env::api-server::api-availability::burn-rate",
    )
    result.stdout.fnmatch_lines(
        ["sites/production/config.env::api-server::api-availability::burn-rate", "1 test collected*"]
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--collect-only", "-q", "sites/staging/config.env::api-server::api-latency"
    )
    result.stdout.fnmatch_lines(
        [
            "sites/staging/config.env::api-server::api-latency::burn-rate",
            "sites/staging/config.env::api-server::api-latency::error-budget",
            "2 tests collected*",
        ]
    )
