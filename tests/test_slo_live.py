"""The OpenSLO items against the real local stack: Prometheus (Debian package) with six hours
of promtool-backfilled history of the example API, the incident and the fixed state."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from teststack.scenario import Stack

from .support import REPO, STACK

pytestmark = pytest.mark.servers(*STACK)

SLO_ITEMS = {
    "api-availability::error-budget",
    "api-availability::burn-rate",
    "api-latency::error-budget",
    "api-latency::burn-rate",
}


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Path:
    for name in ("sites", "releases", "checks", "slos"):
        shutil.copytree(REPO / name, pytester.path / name)
    pytester.makeini("[pytest]\n")
    return pytester.path


def slo_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: Stack, *args: str
) -> tuple[pytest.RunResult, dict]:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    result = pytester.runpytest(
        "--site", "production", "--live", "-m", "openslo", "-rs", "--findings=f.json", "--sarif=f.sarif", *args
    )
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return result, json.loads((pytester.path / "f.json").read_text())


def test_the_incident_fails_on_burn_rate_and_budget(
    incident: Stack, repo: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, doc = slo_run(pytester, monkeypatch, incident)
    found = {f["check"]: f for f in doc["findings"]}
    assert set(found) == SLO_ITEMS, result.stdout.str()
    assert all(f["outcome"] == "failed" and f["kind"] == "openslo" and f["app"] == "api-server" for f in found.values())
    burn = found["api-availability::burn-rate"]
    # 12% 5xx against a 0.1% budget: 120x over the last hour and the last 5 minutes
    assert burn["message"].startswith(
        "burning the error budget 120.0× as fast as allowed over 1h and 120.0× over 5m (limit 14.4× on both): "
        "12% of requests were bad in the last 1h, 0.1% allowed"
    )
    assert (
        burn["severity"] == "P1"
        and burn["nodeid"] == "sites/production/config.env::api-server::api-availability::burn-rate"
    )
    env = (repo / "sites/production/config.env").read_text().splitlines()
    assert burn["location"] == {
        "path": "sites/production/config.env",
        "line": next(i for i, line in enumerate(env, 1) if line.startswith("SLO_API_ERROR_RATE_PERCENT=")),
    }
    pairs = {p["pair"]: p for p in burn["evidence"]["pairs"]}
    assert pairs["1h & 5m at 14.4×"]["firing"] and pairs["6h & 30m at 6×"]["firing"]
    assert 35 < pairs["6h & 30m at 6×"]["long_burn_rate"] < 45  # 2 h of 12% in 6 h
    windows = {w["window"]: w for w in burn["evidence"]["windows"]}
    assert set(windows) == {"6h", "1h", "30m", "5m"} and windows["1h"]["sli"] == pytest.approx(0.88, abs=0.001)
    budget = found["api-availability::error-budget"]
    assert budget["message"].startswith("error budget exhausted: ")
    # 0.1% of 6 h at 40 requests a second is 864; Prometheus extrapolates increase() to the
    # window's edges, so where the 6h window falls against the scrapes moves it by a request or two
    allowed = re.search(r"bad requests over 6h against ([\d,]+) allowed", budget["message"])
    assert allowed and 855 <= int(allowed[1].replace(",", "")) <= 870, budget["message"]
    ev = budget["evidence"]
    assert ev["budget_left_percent"] < -3000 and ev["budget_left_minutes"] < 0 and ev["target"] == pytest.approx(0.999)
    latency = found["api-latency::error-budget"]
    assert latency["location"]["line"] == next(
        i for i, line in enumerate(env, 1) if line.startswith("SLO_API_LATENCY_TARGET_PERCENT=")
    )
    sarif = json.loads((pytester.path / "f.sarif").read_text())
    assert SLO_ITEMS <= {r["ruleId"] for r in sarif["runs"][0]["results"]}
    result.stdout.fnmatch_lines(
        [
            "_ production/api-server: api-availability::burn-rate *P1* API availability: error budget burn rate _",
            "burning the error budget 120.0× as fast as allowed over 1h*",
            # 2h of incident in 6h is 40×; the incident stack goes on burning while the suite runs
            "  also 6h & 30m at 6×: 4?.?× and 120.0×",
        ]
    )


def test_the_fixed_state_passes(
    fixed: Stack, repo: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, doc = slo_run(pytester, monkeypatch, fixed)
    assert doc["findings"] == [], result.stdout.str()
    result.assert_outcomes(passed=4)


def test_a_window_longer_than_the_data_is_said_not_guessed(
    incident: Stack, repo: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    slos = repo / "slos/api-server.yaml"
    slos.write_text(slos.read_text().replace("duration: 6h", "duration: 28d"))
    result, doc = slo_run(pytester, monkeypatch, incident)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*api-availability::error-budget: the SLO window is 28d but Prometheus holds about *h*m of "
            "its data: the budget over 28d is not judged",
        ]
    )
    # the burn-rate pairs (at most 6h) are still judged, on data Prometheus holds
    assert {f["check"] for f in doc["findings"]} == {"api-availability::burn-rate", "api-latency::burn-rate"}


def test_an_slo_over_series_nobody_serves_fails_saying_so(
    incident: Stack, repo: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no data at all is a failure that says so (as a promql check without data fails), never a pass
    slos = repo / "slos/api-server.yaml"
    slos.write_text(
        slos.read_text().replace('default("http_requests_total")', 'default("http_requests_never_served_total")')
    )
    _, doc = slo_run(pytester, monkeypatch, incident)
    found = {f["check"]: f for f in doc["findings"]}
    assert found["api-availability::burn-rate"]["message"].startswith(
        'no data: Prometheus holds no samples of http_requests_never_served_total{ namespace="production", '
        'service="api-server" } in the last 6h'
    )
    assert found["api-availability::burn-rate"]["location"]["path"] == "slos/api-server.yaml"


def test_threshold_and_timeslice_slos_are_judged_in_minutes_and_slices(
    incident: Stack, repo: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_export_rules import OTHER_SLOS

    (repo / "slos/api-server.yaml").write_text(OTHER_SLOS)
    result, doc = slo_run(pytester, monkeypatch, incident)
    found = {f["check"]: f for f in doc["findings"]}
    assert {"api-p99::burn-rate", "api-good-slices::burn-rate", "api-good-slices::error-budget"} <= set(found), (
        result.stdout.str()
    )
    # rate(...[5m]) has no value in the first minutes of the 6h of history: until the stack has
    # run a few minutes the 6h budget of the p99 SLI is not judged, and the run says how much
    # data there is; after that it is judged, and spent
    if "api-p99::error-budget" in found:
        assert found["api-p99::error-budget"]["message"].startswith("error budget exhausted: ")
        assert "bad minutes over 6h against 3.6 allowed" in found["api-p99::error-budget"]["message"]
    else:
        result.stdout.fnmatch_lines(
            [
                "SKIPPED*api-p99::error-budget: the SLO window is 6h but Prometheus holds about 5h5*m of its "
                "data: the budget over 6h is not judged"
            ]
        )
    # p99 has been 8.4 s for two hours: every minute of the last hour is bad, 100x a 1% budget
    assert found["api-p99::burn-rate"]["message"].startswith(
        "burning the error budget 100.0× as fast as allowed over 1h and 100.0× over 5m (limit 14.4× on both): "
        "100% of minutes were bad"
    )
    assert found["api-p99::burn-rate"]["evidence"]["unit"] == "minutes"
    assert "bad 5m slices over 6h" in found["api-good-slices::error-budget"]["message"]
