"""``--export-rules``: the rule files promtool accepts, and promtool's proof that each page
alert fires on the example incident and stays quiet on the fixed state.

The series are the local stack's own (``teststack.scenario``: the API's counters as functions
of time, the incident's 12% 5xx and p99 8.4 s from two hours before the end of six hours of
history, the fixed state's 0.08% and 485 ms throughout), one sample a minute, labelled as a
ServiceMonitor labels them. promtool (the Debian package) is the oracle: it evaluates the
exported rules on them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from teststack.scenario import DEGRADED, HEALTHY, RECOVERED, Traffic, _ApiTimeline

from .support import REPO

pytestmark = pytest.mark.servers("promtool")

HOURS = 6
MINUTES = HOURS * 60
BREACH = 4 * 60  # the incident starts 2 h before the end
SELECTOR = {"namespace": "production", "service": "api-server", "job": "api-server", "instance": "10.0.2.21:8080"}
PAGE = {"SloBurnRatePage", "SloErrorRate", "SloLatencyP99"}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool not found: apt-get install prometheus (CI must run the rule oracle)")
        pytest.skip("promtool not found: apt-get install prometheus")
    return path


def export(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    for name in ("sites", "releases", "checks", "slos"):
        shutil.copytree(REPO / name, pytester.path / name)
    return pytester.runpytest("-p", "no:cacheprovider", "--export-rules=rules", *args)


def input_series(phases: list[tuple[float, Traffic]], reset_at: int | None = None) -> list[dict[str, str]]:
    """promtool ``input_series`` of the API from minute 0 to MINUTES; counters start again
    from 0 at ``reset_at`` (a restarted pod), as a real counter does."""
    timeline = _ApiTimeline(tuple(phases))
    values: dict[str, list[float]] = {}
    for minute in range(MINUTES + 1):
        base = timeline.samples(reset_at * 60.0) if reset_at is not None and minute >= reset_at else None
        for name, labels, value in timeline.samples(minute * 60.0):
            key = name + "{" + ",".join(f'{k}="{v}"' for k, v in {**SELECTOR, **labels}.items()) + "}"
            if base is not None:
                value -= next(v for n, lab, v in base if n == name and lab == labels)
            values.setdefault(key, []).append(round(value, 6))
    return [{"series": key, "values": " ".join(f"{v:g}" for v in points)} for key, points in values.items()]


def alerts_of(rules: dict[str, Any], names: set[str]) -> list[dict[str, Any]]:
    return [
        r
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") in names and r["labels"].get("severity") == "page"
    ]


def expected(alert: dict[str, Any]) -> dict[str, Any]:
    return {"exp_labels": dict(alert["labels"]), "exp_annotations": dict(alert["annotations"])}


def run_tests(
    tmp_path: Path, rules: Path, tests: list[dict[str, Any]], every: str = "1m"
) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "tests.yaml"
    spec.write_text(
        yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": every, "tests": tests}, width=10**9)
    )
    return subprocess.run([promtool(), "test", "rules", str(spec)], capture_output=True, text=True, timeout=240)


def test_every_exported_file_passes_promtool_check_rules(pytester: pytest.Pytester) -> None:
    result = export(pytester)
    result.stdout.fnmatch_lines(
        [
            "export-rules: wrote */rules/production.rules.yaml (21 rules)",
            "export-rules: wrote */rules/staging.rules.yaml (21 rules)",
        ]
    )
    files = sorted((pytester.path / "rules").glob("*.rules.yaml"))
    assert [f.name for f in files] == ["production.rules.yaml", "staging.rules.yaml"]
    done = subprocess.run([promtool(), "check", "rules", *map(str, files)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    rules = yaml.safe_load(files[0].read_text())
    page = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "SloBurnRatePage"]
    assert {r["labels"]["slo"] for r in page} == {"api-availability", "api-latency"}
    assert all(r["labels"]["site"] == "production" and r["labels"]["app"] == "api-server" for r in page)
    # the burn-rate runbook comes with pytest-slo: a file here, so the alert says how to print it
    assert "runbook_url" not in page[0]["annotations"]
    assert (
        page[0]["annotations"]["runbook"]
        == f"pytest-slo explain {page[0]['labels']['slo']}::burn-rate --site production"
    )
    # the workbook's factors times the budget of 99.9% (SLO_API_ERROR_RATE_PERCENT=0.1)
    assert "> (14.4 * 0.001)" in page[0]["expr"] and "> (6 * 0.001)" in page[0]["expr"]
    checks = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "check" in r.get("labels", {})}
    assert (
        set(checks) == {"SloErrorRate", "SloLatencyP99", "RedisMemoryGrowth"} and checks["SloErrorRate"]["for"] == "10m"
    )
    assert checks["SloErrorRate"]["labels"]["severity"] == "page"  # a P1 check without an alert severity pages


def test_a_rule_that_does_not_parse_is_never_written(pytester: pytest.Pytester) -> None:
    """The rule file is parsed as the gate parses queries before it is written: a rule whose
    expression is not PromQL is left out and said (here a threshold only this site makes odd)."""
    from pytest_slo.run.rules import _parsed

    notes: list[str] = []
    groups = [
        {"name": "g", "rules": [{"alert": "Good", "expr": "up == 0"}, {"alert": "Bad", "expr": "sum(rate(x[5m])"}]}
    ]
    assert _parsed(groups, "production", notes) == [{"name": "g", "rules": [{"alert": "Good", "expr": "up == 0"}]}]
    assert notes == [
        "production: Bad left out: its expression is not PromQL: unclosed left parenthesis: 2 ( against 1 )"
    ]


def test_the_runbook_base_url_makes_runbook_links(pytester: pytest.Pytester) -> None:
    export(pytester, "--site", "production", "--runbook-base-url", "https://git.example.com/gitops/blob/main/")
    rules = yaml.safe_load((pytester.path / "rules/production.rules.yaml").read_text())
    links = {
        r["annotations"]["runbook_url"]
        for g in rules["groups"]
        for r in g["rules"]
        if "runbook_url" in r.get("annotations", {})
    }
    assert links == {"https://git.example.com/gitops/blob/main/checks/runbooks/" + a
                     for a in ("slo.md#slo-error-rate", "slo.md#slo-latency-p99", "redis.md#redis-memory-growth")}
    assert not (pytester.path / "rules/staging.rules.yaml").exists()


Case = Callable[[], list[dict[str, str]]]
CASES: dict[str, tuple[Case, bool]] = {
    "incident": (lambda: input_series([(0.0, HEALTHY), (BREACH * 60.0, DEGRADED)]), True),
    "incident-with-a-counter-reset": (
        lambda: input_series([(0.0, HEALTHY), (BREACH * 60.0, DEGRADED)], reset_at=MINUTES - 30),
        True,
    ),
    "fixed": (lambda: input_series([(0.0, RECOVERED)]), False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_promtool_proves_each_page_alert_fires_on_the_incident_and_stays_quiet_when_fixed(
    pytester: pytest.Pytester, tmp_path: Path, case: str
) -> None:
    export(pytester, "--site", "production")
    path = pytester.path / "rules/production.rules.yaml"
    rules = yaml.safe_load(path.read_text())
    page = alerts_of(rules, PAGE)
    assert {a["alert"] for a in page} == PAGE
    make, fires = CASES[case]
    series = make()
    tests = []
    for name in sorted(PAGE):
        mine = [a for a in page if a["alert"] == name]
        # at the end of the story: firing in the incident (every page alert), quiet once fixed;
        # and quiet before the incident began
        tests.append({"interval": "1m", "input_series": series, "alert_rule_test": [
            {"eval_time": f"{HOURS}h", "alertname": name, "exp_alerts": [expected(a) for a in mine] if fires else []},
            {"eval_time": f"{BREACH - 1}m", "alertname": name, "exp_alerts": []},
        ]})
    done = run_tests(tmp_path, path, tests)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "SUCCESS" in done.stdout


def test_promtool_agrees_with_the_recorded_error_ratios(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # the recording rules hold the SLI the gate reads: 12% 5xx over the last hour of the incident
    export(pytester, "--site", "production")
    path = pytester.path / "rules/production.rules.yaml"
    labels = {"site": "production", "app": "api-server", "slo": "api-availability"}
    tests = [
        {
            "interval": "1m",
            "input_series": input_series([(0.0, HEALTHY), (BREACH * 60.0, DEGRADED)]),
            "promql_expr_test": [
                {
                    "expr": 'round(slo:sli_error:ratio_rate1h{slo="api-availability"}, 0.0001)',
                    "eval_time": f"{HOURS}h",
                    "exp_samples": [
                        {"labels": "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "value": 0.12}
                    ],
                },
                {
                    "expr": 'round(slo:sli_error:ratio_rate1h{slo="api-availability"}, 0.0001)',
                    "eval_time": f"{BREACH - 60}m",
                    "exp_samples": [
                        {"labels": "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "value": 0.0004}
                    ],
                },
            ],
        }
    ]
    done = run_tests(tmp_path, path, tests)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


OTHER_SLOS = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-p99
spec:
  service: api-server
  indicator:
    metadata:
      name: api-p99-seconds
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: >-
              histogram_quantile(0.99, sum by (le)
              (rate(http_request_duration_seconds_bucket{ {{ selector }} }[5m])))
  timeWindow:
    - duration: 6h
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: p99 within 500 ms
      op: lte
      value: "{{ SLO_API_LATENCY_P99_MS / 1000 }}"
      target: 0.99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-good-slices
spec:
  service: api-server
  indicator:
    metadata:
      name: api-non-5xx
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{ {{ selector }}, status=~"5.." }
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{ {{ selector }} }
  timeWindow:
    - duration: 6h
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - displayName: 5-minute slices with 99% good requests
      target: 0.95
      timeSliceTarget: 0.99
      timeSliceWindow: 5m
"""


@pytest.mark.parametrize("case", ["incident", "fixed"])
def test_threshold_and_timeslice_slos_become_rules_promtool_evaluates(
    pytester: pytest.Pytester, tmp_path: Path, case: str
) -> None:
    export(pytester, "--site", "production")
    (pytester.path / "slos/api-server.yaml").write_text(OTHER_SLOS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--site", "production", "--export-rules=rules")
    result.stdout.fnmatch_lines(
        ["export-rules: wrote */rules/production.rules.yaml (23 rules)"]
    )  # + 2 good-slice records
    path = pytester.path / "rules/production.rules.yaml"
    checked = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    page = [a for a in alerts_of(yaml.safe_load(path.read_text()), {"SloBurnRatePage"})]
    assert {a["labels"]["slo"] for a in page} == {"api-p99", "api-good-slices"}
    make, fires = CASES[case]
    labels = 'slo:sli_error:ratio_rate1h{app="api-server",site="production",slo="api-p99"}'
    tests = [
        {
            "interval": "1m",
            "input_series": make(),
            "alert_rule_test": [
                {
                    "eval_time": f"{HOURS}h",
                    "alertname": "SloBurnRatePage",
                    "exp_alerts": [expected(a) for a in page] if fires else [],
                },
            ],
            "promql_expr_test": [
                # every minute of the last hour of the incident is over 500 ms; none once fixed
                {
                    "expr": 'slo:sli_error:ratio_rate1h{slo="api-p99"}',
                    "eval_time": f"{HOURS}h",
                    "exp_samples": [{"labels": labels, "value": 1 if fires else 0}],
                },
            ],
        }
    ]
    done = run_tests(tmp_path, path, tests)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@pytest.mark.parametrize("case", list(CASES))
def test_promtool_proves_the_ticket_alerts_too(pytester: pytest.Pytester, tmp_path: Path, case: str) -> None:
    """The slower pairs (1d & 2h at 3x, 3d & 6h at 1x): a ticket once two hours at 120x have
    burnt a day's share, nothing before the breach, nothing on the fixed state (0.8x)."""
    export(pytester, "--site", "production")
    path = pytester.path / "rules/production.rules.yaml"
    rules = yaml.safe_load(path.read_text())
    ticket = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "SloBurnRateTicket"]
    assert {a["labels"]["slo"] for a in ticket} == {"api-availability", "api-latency"}
    assert all(a["labels"]["severity"] == "ticket" for a in ticket)
    make, fires = CASES[case]
    done = run_tests(
        tmp_path,
        path,
        [
            {
                "interval": "1m",
                "input_series": make(),
                "alert_rule_test": [
                    {
                        "eval_time": f"{HOURS}h",
                        "alertname": "SloBurnRateTicket",
                        "exp_alerts": [expected(a) for a in ticket] if fires else [],
                    },
                    {"eval_time": f"{BREACH - 1}m", "alertname": "SloBurnRateTicket", "exp_alerts": []},
                ],
            }
        ],
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "SUCCESS" in done.stdout


def test_promtool_agrees_with_when_the_sli_data_began(tmp_path: Path) -> None:
    # held_since over a 30d window looks at 3h-aligned instants: data younger than the last of
    # them is "now", not "no data" (which would fail the SLO saying Prometheus holds nothing)
    from types import SimpleNamespace

    from pytest_slo.kinds.slo_queries import SliQueries

    queries = SliQueries(SimpleNamespace(indicator="ratio"), None, None, None, total='requests_total{app="a"}')  # type: ignore[arg-type]
    held = queries.held_since(30 * 86400.0)
    rules = tmp_path / "none.yaml"
    rules.write_text("groups: []\n")
    tests = [
        {
            "interval": "1m",
            "input_series": [{"series": 'requests_total{app="a"}', "values": "_x10 1+1x300"}],
            "promql_expr_test": [
                {
                    "expr": held,
                    "eval_time": "2h",
                    "exp_samples": [{"labels": "{}", "value": 7200}],
                },  # began at 0h10, after the 0h instant
                {
                    "expr": held,
                    "eval_time": "5h",
                    "exp_samples": [{"labels": "{}", "value": 10800}],
                },  # held at the 3h instant
                {"expr": held, "eval_time": "5m", "exp_samples": []},  # nothing yet
            ],
        }
    ]
    done = run_tests(tmp_path, rules, tests)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_a_templated_slice_target_out_of_range_is_an_error_at_the_config_line(pytester: pytest.Pytester) -> None:
    export(pytester, "--site", "production")
    (pytester.path / "slos/api-server.yaml").write_text(
        OTHER_SLOS.replace("timeSliceTarget: 0.99", 'timeSliceTarget: "{{ SLO_API_ERROR_RATE_PERCENT * 95 }}"')
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--site", "production", "--export-rules=rules")
    env = (pytester.path / "sites/production/config.env").read_text().splitlines()
    line = next(i for i, text in enumerate(env, 1) if text.startswith("SLO_API_ERROR_RATE_PERCENT="))
    result.stdout.fnmatch_lines(
        [
            "export-rules: production/api-server: api-good-slices::* left out: "
            f"sites/production/config.env:{line}: SLO api-good-slices::*: "
            "timeSliceTarget '{{ SLO_API_ERROR_RATE_PERCENT * 95 }}' is 9.5 at site production: write a ratio "
            "above 0, at most 1 (0.95 for 95%)"
        ]
    )
    assert "api-good-slices" not in (pytester.path / "rules/production.rules.yaml").read_text()


# ------------------------------------------------------------------------- the trend alert INC-2025-11-09-001 asked for

MIB = 1024**2
REDIS = {"namespace": "production", "service": "redis-cluster", "job": "redis-cluster", "instance": "10.0.1.11:9121"}
FORTNIGHT = 14 * 24 * 12  # five-minute scrapes in two weeks


def redis_series(used: str, policy: str = "noeviction") -> list[dict[str, str]]:
    """redis_exporter's series of one Redis for two weeks, a scrape every 5 minutes: ``used``
    in promtool's expanding notation, maxmemory 1536mb as production declares."""
    def name(metric: str, **more: str) -> str:
        return metric + "{" + ",".join(f'{k}="{v}"' for k, v in {**REDIS, **more}.items()) + "}"
    return [
        {"series": name("redis_memory_used_bytes"), "values": used},
        {"series": name("redis_memory_max_bytes"), "values": f"{1536 * MIB}+0x{FORTNIGHT}"},
        {"series": name("redis_instance_info", maxmemory_policy=policy), "values": f"1+0x{FORTNIGHT}"},
    ]


GROWTH_CASES = {
    # the incident: noeviction, 2 MB an hour for two weeks (1.4 GB a month: past 80% of a
    # 1536mb maxmemory wherever it starts)
    "two-weeks-of-2MB-an-hour": (f"{100 * MIB}+{2 * MIB / 12:.6f}x{FORTNIGHT}", True),
    "flat": (f"{740 * MIB}+0x{FORTNIGHT}", False),
}


@pytest.mark.parametrize("case", list(GROWTH_CASES))
def test_promtool_proves_the_memory_growth_trend_alert(pytester: pytest.Pytester, tmp_path: Path, case: str) -> None:
    export(pytester, "--site", "production")
    path = pytester.path / "rules/production.rules.yaml"
    (alert,) = [
        r
        for g in yaml.safe_load(path.read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "RedisMemoryGrowth"
    ]
    # the seed's RedisMemoryGrowthTrend: predict_linear over the growth window, 30 days out,
    # against 80% of maxmemory (noeviction), for an hour, a warning with its runbook
    assert "predict_linear(redis_memory_used_bytes{" in alert["expr"] and "[6h], 30 * 86400)" in alert["expr"]
    assert "0.8 * redis_memory_max_bytes{" in alert["expr"] and alert["expr"].endswith(") >= 100")
    assert alert["for"] == "1h"
    assert alert["labels"] == {
        "severity": "warning",
        "priority": "P2",
        "site": "production",
        "app": "redis-cluster",
        "check": "redis-memory-growth",
    }
    assert alert["annotations"]["runbook_url"] == "checks/runbooks/redis.md#redis-memory-growth"
    used, fires = GROWTH_CASES[case]
    # a per-instance result (matched on (instance)): the alert names the instance
    firing = [
        {
            "exp_labels": {"instance": REDIS["instance"], **alert["labels"]},
            "exp_annotations": dict(alert["annotations"]),
        }
    ]
    # the exported rule alone: two weeks of the SLOs' 3-day windows would take promtool minutes
    alone = tmp_path / "growth.rules.yaml"
    alone.write_text(yaml.safe_dump({"groups": [{"name": "growth", "rules": [alert]}]}, sort_keys=False, width=10**9))
    done = run_tests(tmp_path, alone, [{"interval": "5m", "input_series": redis_series(used), "alert_rule_test": [
        {"eval_time": "14d", "alertname": "RedisMemoryGrowth", "exp_alerts": firing if fires else []},
        # breaching from the second scrape on, but not yet for an hour
        {"eval_time": "50m", "alertname": "RedisMemoryGrowth", "exp_alerts": []},
        {"eval_time": "70m", "alertname": "RedisMemoryGrowth", "exp_alerts": firing if fires else []},
    ]}], every="5m")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "SUCCESS" in done.stdout
