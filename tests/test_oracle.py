"""Every shipped promql check, proven against Prometheus itself.

One table (``tests/oracle/cases.py``) drives two oracles:

* ``promtool test rules`` (the Debian package's rule unit-test runner): an alerting rule built
  from the check's query as pytest-slo renders it for the reference site, with its operator and
  threshold, must fire on exactly the failing series of each case and stay quiet otherwise, at
  E and at the times a live run may start (E+1m, E+2m); and where a case states values, the
  query must compute them exactly;
* a real Prometheus whose TSDB holds the same series (``promtool tsdb create-blocks-from
  openmetrics``, each case in its own namespace and site), against which pytest-slo runs live:
  every item's outcome must be the table's, and promtool, evaluating the same rule at the very
  millisecond of the live run, must agree with what pytest-slo reported there.

The OpenSLO objectives that count as a check does (``SLO_COUNTING``) are held to that check's
cases: promtool and the real Prometheus must compute the same error ratio from both, story by
story. The table's own consistency needs no server; everything else is marked ``servers``.
promtool is required: in CI (``CI=true``) its absence fails these tests, elsewhere it skips.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.oracle.cases import ORACLES, SLO_COUNTING
from tests.oracle.harness import (
    REFERENCE_SITE,
    REPO,
    counting_pair,
    designed_tests,
    namespace,
    number,
    promtool,
    references,
    run_promtool,
    unname,
    write_tests,
)
from tests.oracle.model import (
    DRIFT_MINUTES,
    EVAL_MINUTE,
    FAIL,
    PASS,
    REQUIRED_COVERAGE,
    SKIP,
    Case,
    agreement_rules,
    input_series,
    openmetrics,
    promtool_duration,
    unit_test,
)
from teststack.servers import Prometheus, RedisExporter, RedisServer, backfill

PROMTOOL = pytest.mark.servers("promtool")
LIVE = pytest.mark.servers("prometheus", "promtool")


def test_without_promtool_ci_fails_and_elsewhere_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="promtool not found: apt-get install prometheus"):
        promtool()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"^promtool not found: apt-get install prometheus$"):
        promtool()


# --------------------------------------------------------------------------- the table itself


def test_every_promql_check_has_an_oracle() -> None:
    assert sorted(ORACLES) == sorted(references()), (
        "every promql check of checks/*.yaml needs oracle cases in tests/oracle/cases.py (and only those)"
    )


@pytest.mark.parametrize("check_id", sorted(ORACLES))
def test_each_oracle_covers_the_required_stories(check_id: str) -> None:
    oracle = ORACLES[check_id]
    covered = set().union(*(c.covers for c in oracle.cases))
    assert set(oracle.not_applicable) <= set(REQUIRED_COVERAGE)
    missing = set(REQUIRED_COVERAGE) - covered - set(oracle.not_applicable)
    assert not missing, {m: REQUIRED_COVERAGE[m] for m in missing}
    assert len({c.name for c in oracle.cases}) == len(oracle.cases)


# --------------------------------------------------------------------------- promtool


@PROMTOOL
@pytest.mark.parametrize("check_id", sorted(ORACLES))
def test_promtool_agrees_with_the_table(check_id: str, tmp_path: Path) -> None:
    ref = references()[check_id]
    files = write_tests(tmp_path, ref, designed_tests(ref, ORACLES[check_id].cases))
    result = run_promtool(tmp_path, files)
    assert result.returncode == 0, f"{check_id}: the rule disagrees with the table\n{result.stdout}{result.stderr}"
    assert result.stdout.count("SUCCESS") == len(files), result.stdout


@PROMTOOL
def test_promtool_catches_a_wrong_expectation(tmp_path: Path) -> None:
    """The harness can fail: the OOM burst of the issue, claimed to pass, is refused by promtool."""
    ref = references()["redis-oom-errors"]
    (first,) = [c for c in ORACLES["redis-oom-errors"].cases if c.name == "first-oom"]
    at_ms = EVAL_MINUTE * 60_000
    files = write_tests(tmp_path, ref, {at_ms: [unit_test(first, ref.query, False, at_ms, (), False)]})
    result = run_promtool(tmp_path, files)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "name: first-oom,\n    alertname: Breach, time: 6h30m" in output, output
    assert re.search(r'got:\[\s+0:\s+Labels:\{alertname="Breach", instance="10\.0\.1\.11:9121"\}', output), output


# --------------------------------------------------------------------------- the SLO counts as its check

#: The windows the SLO's counting is held to: the page pair's short and long windows.
WINDOWS = ("5m", "1h")
SLO_CASES = [
    (slo, window, c) for slo in sorted(SLO_COUNTING) for window in WINDOWS for c in ORACLES[SLO_COUNTING[slo]].cases
]


def agreement_tests(cases: list[Case] | tuple[Case, ...]) -> dict[int, list[dict[str, Any]]]:
    """``Disagree`` quiet on every case, at E and at the times a live run may start."""
    out = {}
    for drift in DRIFT_MINUTES:
        at_ms = (EVAL_MINUTE + drift) * 60_000
        alerts = [{"eval_time": promtool_duration(at_ms), "alertname": "Disagree", "exp_alerts": []}]
        out[at_ms] = [
            {"name": c.name, "interval": "1m", "input_series": input_series(c), "alert_rule_test": alerts}
            for c in cases
        ]
    return out


def test_the_slo_counting_is_held_to_every_story_of_its_check() -> None:
    assert {slo for slo, _, _ in SLO_CASES} == set(SLO_COUNTING) == {"api-availability"}
    check, slo = counting_pair("api-availability", "5m")
    # one rule: the SLO's error ratio is made of the very terms the check divides
    assert check.startswith("100 * (sum(((increase(") and slo.startswith("100 * ((sum(((increase(")
    assert check.split("/ sum(")[1] in slo and check.split(" or vector(0))")[0].removeprefix("100 * (") in slo


@PROMTOOL
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("slo", sorted(SLO_COUNTING))
def test_promtool_computes_the_same_errors_for_the_slo_and_its_check(slo: str, window: str, tmp_path: Path) -> None:
    files = write_tests(
        tmp_path, agreement_rules(*counting_pair(slo, window)), agreement_tests(ORACLES[SLO_COUNTING[slo]].cases)
    )
    result = run_promtool(tmp_path, files)
    assert result.returncode == 0, (
        f"{slo} counts otherwise than {SLO_COUNTING[slo]} over {window}\n{result.stdout}{result.stderr}"
    )
    assert result.stdout.count("SUCCESS") == len(files), result.stdout


@PROMTOOL
def test_promtool_tells_plain_increase_from_the_counting_rule(tmp_path: Path) -> None:
    """The harness can fail: the SLO's counting before it used ``counted``, plain
    ``sum(increase())``, misses the first 5xx burst the check counts (0 errors against 0.33%)."""
    check, _ = counting_pair("api-availability", "5m")
    errors, requests = (
        f'http_requests_total{{ namespace="production", service="api-server"{m} }}' for m in (', status=~"5.."', "")
    )
    plain = f"100 * ((sum(increase({errors}[5m])) or vector(0)) / sum(increase({requests}[5m])))"
    (burst,) = [c for c in ORACLES["slo-error-rate"].cases if c.name == "first-5xx-burst"]
    at_ms = EVAL_MINUTE * 60_000
    files = write_tests(tmp_path, agreement_rules(check, plain), {at_ms: agreement_tests([burst])[at_ms]})
    result = run_promtool(tmp_path, files)
    assert (
        result.returncode == 1 and "name: first-5xx-burst,\n    alertname: Disagree" in result.stdout + result.stderr
    ), result.stdout


# --------------------------------------------------------------------------- a real Prometheus


ALL_CASES = [(check_id, c) for check_id, oracle in sorted(ORACLES.items()) for c in oracle.cases]

CONFTEST = '''
import json
OUTCOMES = {}

def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        reason = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) else None
        OUTCOMES[report.nodeid] = {"when": report.when, "outcome": report.outcome, "reason": reason}

def pytest_sessionfinish(session):
    with open("outcomes.json", "w") as out:
        json.dump(OUTCOMES, out)
'''


@dataclass
class LiveRun:
    base: int  # epoch second of the cases' first sample
    outcomes: dict[str, dict[str, Any]]
    findings: dict[str, dict[str, Any]]
    output: str
    prometheus: Prometheus

    def item(self, check_id: str, case: Case) -> tuple[dict[str, Any], dict[str, Any] | None]:
        nodeid = f"sites/{namespace(check_id, case)}/config.env::{references()[check_id].app}::{check_id}"
        return self.outcomes.get(nodeid, {"outcome": "not run"}), self.findings.get(nodeid)




@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    promtool()
    root = tmp_path_factory.mktemp("oracle-repo")
    for name in ("releases", "checks"):
        shutil.copytree(REPO / name, root / name)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(CONFTEST)
    reference_env = (REPO / "sites" / REFERENCE_SITE / "config.env").read_text()
    e = int(time.time()) // 60 * 60  # E: the last whole minute; the run starts within two
    base = e - EVAL_MINUTE * 60
    lines: list[str] = []
    nodeids = []
    for check_id, c in ALL_CASES:
        ns = namespace(check_id, c)
        site = root / "sites" / ns
        site.mkdir(parents=True)
        (site / "config.env").write_text(re.sub(r"(?m)^KUBE_NAMESPACE=.*$", f"KUBE_NAMESPACE={ns}", reference_env))
        nodeids.append(f"sites/{ns}/config.env::{references()[check_id].app}::{check_id}")
        lines.extend(openmetrics(c, ns, base))
    workdir = tmp_path_factory.mktemp("oracle-prometheus")
    backfill("\n".join(lines) + "\n", workdir / "data")
    with Prometheus([], workdir / "data", workdir=workdir) as prometheus:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("SLO_PROMETHEUS_URL", None)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", *nodeids, "--live", "--prometheus-url", prometheus.url,
             "--findings=findings.json", "-p", "no:cacheprovider", "-q"],
            cwd=root, env=env, capture_output=True, text=True, timeout=300,
        )
        output = result.stdout + result.stderr
        assert "Traceback" not in output and "INTERNALERROR" not in output, output
        outcomes = json.loads((root / "outcomes.json").read_text())
        findings = {f["nodeid"]: f for f in json.loads((root / "findings.json").read_text())["findings"]}
        yield LiveRun(base, outcomes, findings, output, prometheus)


@LIVE
@pytest.mark.parametrize(("check_id", "case"), ALL_CASES, ids=[f"{k}-{c.name}" for k, c in ALL_CASES])
def test_live_verdict_is_the_tables(live: LiveRun, check_id: str, case: Case) -> None:
    outcome, finding = live.item(check_id, case)
    seen = f"{outcome}\n{finding and finding['message']}"
    # a verdict: judged in setup, where a skip ("no value to judge") is reported; a failure or
    # pass is the call phase. An error in setup would be no verdict at all.
    assert outcome["outcome"] == case.verdict, f"{case.story}\n{seen}"
    assert outcome["when"] == ("setup" if case.verdict == SKIP else "call"), f"{case.story}\n{seen}"
    if case.verdict == FAIL:
        assert finding is not None
        breaching = [unname(b["labels"]) for b in finding["evidence"].get("breaching", [])]
        assert sorted(map(sorted, map(dict.items, breaching))) == sorted(
            map(sorted, map(dict.items, case.breaching))
        ), seen
        assert case.message in finding["message"], seen
        if breaching:  # the value in the check's own terms, series by series, as the message's first line
            shown = finding["evidence"]["shown"]
            assert len(shown) == len(breaching) and shown[0] in finding["message"].splitlines()[0], seen
            assert case.message in shown[0], seen
    elif case.verdict == SKIP:
        assert case.message in (outcome["reason"] or ""), seen
    else:
        assert finding is None


@LIVE
def test_the_evidence_query_at_the_evidence_time_gives_the_same_answer(live: LiveRun) -> None:
    """Evidence times keep milliseconds: the finding's query, sent again at its ``time``, answers
    exactly the values the finding holds."""
    promql = [f for f in live.findings.values() if f["kind"] == "promql" and f["evidence"]["values"]]
    assert len(promql) > 20
    for finding in promql:
        evidence = finding["evidence"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", evidence["time"])
        again = live.prometheus.query(evidence["query"], evidence["time"])  # type: ignore[arg-type]
        seen = sorted((json.dumps(s["metric"], sort_keys=True), repr(float(s["value"][1]))) for s in again)
        reported = sorted(
            (json.dumps(v["labels"], sort_keys=True), repr(number(v["value"]))) for v in evidence["values"]
        )
        assert seen == reported, finding["nodeid"]  # repr: exact, and NaN equals NaN



@LIVE
def test_promtool_agrees_with_the_live_run(live: LiveRun, tmp_path: Path) -> None:
    """The rule, evaluated by promtool at the millisecond pytest-slo queried, fires on exactly the
    series pytest-slo failed, and the query's values there are exactly the ones it reported."""
    times = {f["evidence"]["time"] for f in live.findings.values() if f["kind"] == "promql"}
    assert len(times) == 1, times  # one evaluation time per run
    at = dt.datetime.fromisoformat(times.pop().replace("Z", "+00:00"))
    at_ms = round(at.timestamp() * 1000) - live.base * 1000
    assert 0 <= at_ms - EVAL_MINUTE * 60_000 <= max(DRIFT_MINUTES) * 60_000, "the live run started too late"
    files = []
    for check_id, oracle in sorted(ORACLES.items()):
        ref = references()[check_id]
        tests = []
        for c in oracle.cases:
            outcome, finding = live.item(check_id, c)
            assert outcome["outcome"] in (PASS, SKIP, FAIL), outcome
            evidence = finding["evidence"] if finding else {}
            breaching = [unname(b["labels"]) for b in evidence.get("breaching", [])]
            values = [(unname(v["labels"]), number(v["value"])) for v in evidence.get("values", [])]
            tests.append(
                unit_test(c, ref.query, ref.no_data == "fail", at_ms, breaching, "diagnosis" in evidence, values)
            )
        files += write_tests(tmp_path / check_id, ref, {at_ms: tests})
    result = run_promtool(tmp_path, files)
    assert result.returncode == 0, result.stdout + result.stderr


@LIVE
@pytest.mark.parametrize(("slo", "window", "case"), SLO_CASES, ids=[f"{s}-{w}-{c.name}" for s, w, c in SLO_CASES])
def test_a_real_prometheus_computes_the_same_errors_for_the_slo_and_its_check(
    live: LiveRun, slo: str, window: str, case: Case
) -> None:
    ns = namespace(SLO_COUNTING[slo], case)
    at = live.base + EVAL_MINUTE * 60
    answers = []
    for query in counting_pair(slo, window):
        samples = live.prometheus.query(query.replace(f'namespace="{REFERENCE_SITE}"', f'namespace="{ns}"'), at)  # type: ignore[arg-type]
        answers.append([(s["metric"], float(s["value"][1])) for s in samples])
    check, objective = answers
    assert [labels for labels, _ in check] == [labels for labels, _ in objective], (case.story, answers)
    for (_, a), (_, b) in zip(check, objective, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (
            case.story,
            answers,
        )


# --------------------------------------------------------------------------- the issue, on real parts


@pytest.mark.servers("redis-server", "prometheus-redis-exporter", "prometheus")
def test_the_first_oom_burst_is_counted_on_real_redis(gitops: Path, pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A real Redis refuses writes before Prometheus ever scraped its exporter: redis_exporter's
    err="OOM" series appears at its first scrape already holding every refused write, and
    stays flat. The finding counts them all (the query before the fix read 0: a missed P1)."""
    import redis as redis_py

    labels = {"namespace": "production", "service": "redis-cluster"}
    with RedisServer(maxmemory="1mb", policy="noeviction", workdir=tmp_path) as server:
        client = server.client()
        for i in range(10_000):
            try:
                client.set(f"k{i}", b"v" * 4096)
            except redis_py.OutOfMemoryError:
                break
        for i in range(50):  # and a few more, refused too
            with pytest.raises(redis_py.OutOfMemoryError):
                client.set(f"more{i}", b"v" * 4096)
        refused = int(client.info("errorstats")["errorstat_OOM"]["count"])
        assert refused >= 51
        with (
            RedisExporter(server.url, workdir=tmp_path) as exporter,
            Prometheus(
                [("redis-cluster", exporter.address, labels)], tmp_path / "data", workdir=tmp_path
            ) as prometheus,
        ):
            prometheus.wait_for_scrapes()
            deadline = time.monotonic() + 15
            while not prometheus.query('count_over_time(redis_errors_total{err="OOM"}[1m]) >= 3'):
                assert time.monotonic() < deadline, "three scrapes of the OOM series"
                time.sleep(0.2)
            history = prometheus.query('redis_errors_total{err="OOM"}[1m]')
            assert {float(v) for s in history for _, v in s["values"]} == {refused}  # born with the whole burst, flat
            monkeypatch.setenv("SLO_PROMETHEUS_URL", prometheus.url)
            result = pytester.runpytest("--site", "production", "--live", "-k", "redis-oom-errors", "--findings=f.json")
    findings = json.loads((pytester.path / "f.json").read_text())["findings"]
    assert len(findings) == 1, f"{refused} refused writes and no finding:\n{result.stdout.str()}"
    (finding,) = findings
    assert result.ret == 1 and finding["outcome"] == "failed"
    assert finding["message"].startswith(
        f"instance=\"{exporter.address}\": {refused} writes refused with 'OOM command not allowed'"
    )
    assert finding["evidence"]["breaching"][0]["value"] == refused
