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

promtool is required: in CI (``CI=true``) its absence fails these tests, elsewhere it skips.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_slo.catalog.model import Check, load_catalog
from pytest_slo.kinds import KindRegistry, Target, builtin_kinds
from pytest_slo.kinds.promql import PromqlKind
from pytest_slo.repo.site import DEFAULT_VALUES_PATH, Repo
from pytest_slo.sources import LiveOptions, Sources
from tests.oracle.cases import ORACLES
from tests.oracle.model import (
    DRIFT_MINUTES,
    EVAL_MINUTE,
    FAIL,
    PASS,
    REQUIRED_COVERAGE,
    SKIP,
    Case,
    openmetrics,
    promtool_file,
    rule_file,
    unit_test,
)
from teststack.servers import Prometheus, RedisExporter, RedisServer, backfill

REPO = Path(__file__).resolve().parents[1]
REFERENCE_SITE = "production"
INSTALL = "promtool not found: apt-get install prometheus"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{INSTALL} (CI must run the promtool oracle)")
        pytest.skip(INSTALL)
    return path


@dataclass(frozen=True)
class Reference:
    """A promql check as pytest-slo renders it for the reference site."""

    check: Check
    app: str
    query: str
    threshold: float

    @property
    def op(self) -> str:
        return str(self.check.spec["op"])

    @property
    def no_data(self) -> str:
        return str(self.check.spec.get("no_data", "fail"))


@functools.lru_cache(maxsize=1)
def references() -> dict[str, Reference]:
    registry = KindRegistry()
    for kind in builtin_kinds():
        registry.register(kind)
    catalog = load_catalog(REPO, registry.schemas)
    assert not catalog.problems, catalog.problems
    site = Repo(REPO, DEFAULT_VALUES_PATH).site(REFERENCE_SITE)
    kind = PromqlKind()
    found = {}
    for check in catalog.checks:
        if check.kind != "promql":
            continue
        assert check.apps and len(check.apps) == 1, f"{check.id}: the oracle renders one app per check"
        target = Target(site, check.apps[0], Sources(LiveOptions()))  # rendering asks the sources nothing
        found[check.id] = Reference(check, check.apps[0], kind.query_text(check, target), kind.threshold(check, target))
    return found


def run_promtool(folder: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), "test", "rules", *map(str, files)], cwd=folder, capture_output=True,
                          text=True, timeout=300)


def write_tests(folder: Path, ref: Reference, tests_at: Mapping[int, list[dict[str, Any]]]) -> list[Path]:
    """The rule file of ``ref`` and one promtool test file per evaluation time (ms after the first sample)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(yaml.safe_dump(rule_file(ref.query, ref.op, ref.threshold, ref.no_data), width=10_000))
    files = []
    for at_ms, tests in tests_at.items():
        path = folder / f"at-{at_ms}ms.yml"
        path.write_text(yaml.safe_dump(promtool_file("rules.yml", at_ms, tests), width=10_000, sort_keys=False))
        files.append(path)
    return files


def designed_tests(ref: Reference, cases: tuple[Case, ...]) -> dict[int, list[dict[str, Any]]]:
    out = {}
    for drift in DRIFT_MINUTES:
        at_ms = (EVAL_MINUTE + drift) * 60_000
        out[at_ms] = [
            unit_test(c, ref.query, ref.no_data == "fail", at_ms, c.breaching, c.no_data, c.values if drift == 0 else ())
            for c in cases
        ]
    return out


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


@pytest.mark.parametrize("check_id", sorted(ORACLES))
def test_promtool_agrees_with_the_table(check_id: str, tmp_path: Path) -> None:
    ref = references()[check_id]
    files = write_tests(tmp_path, ref, designed_tests(ref, ORACLES[check_id].cases))
    result = run_promtool(tmp_path, files)
    assert result.returncode == 0, f"{check_id}: the rule disagrees with the table\n{result.stdout}{result.stderr}"
    assert result.stdout.count("SUCCESS") == len(files), result.stdout


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


# --------------------------------------------------------------------------- a real Prometheus


def namespace(check_id: str, case: Case) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{check_id}-{case.name}")[:63].strip("-")


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


def _unname(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels of a live result with the case's namespace read back as the reference site's."""
    return {k: (REFERENCE_SITE if k == "namespace" else v) for k, v in labels.items()}


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
        breaching = [_unname(b["labels"]) for b in finding["evidence"].get("breaching", [])]
        assert sorted(map(sorted, map(dict.items, breaching))) == sorted(map(sorted, map(dict.items, case.breaching))), seen
        assert case.message in finding["message"], seen
    elif case.verdict == SKIP:
        assert case.message in (outcome["reason"] or ""), seen
    else:
        assert finding is None


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
        reported = sorted((json.dumps(v["labels"], sort_keys=True), repr(_number(v["value"]))) for v in evidence["values"])
        assert seen == reported, finding["nodeid"]  # repr: exact, and NaN equals NaN


def _number(value: Any) -> float:
    return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}.get(value, value) if isinstance(value, str) else float(value)


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
            breaching = [_unname(b["labels"]) for b in evidence.get("breaching", [])]
            values = [(_unname(v["labels"]), _number(v["value"])) for v in evidence.get("values", [])]
            tests.append(unit_test(c, ref.query, ref.no_data == "fail", at_ms, breaching, "diagnosis" in evidence, values))
        files += write_tests(tmp_path / check_id, ref, {at_ms: tests})
    result = run_promtool(tmp_path, files)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- the issue, on real parts


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
        with RedisExporter(server.url, workdir=tmp_path) as exporter, \
                Prometheus([("redis-cluster", exporter.address, labels)], tmp_path / "data", workdir=tmp_path) as prometheus:
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
    assert finding["message"].startswith(f"instance=\"{exporter.address}\": {refused} writes refused with 'OOM command not allowed'")
    assert finding["evidence"]["breaching"][0]["value"] == refused
