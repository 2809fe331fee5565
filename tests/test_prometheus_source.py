"""pytest_slo.sources.prometheus against a real Prometheus 2.42 and a loopback fake for the faults.

The real server scrapes a loopback ``/metrics`` endpoint through two jobs (namespaces
``production`` and ``staging``) and holds an hour of promtool-backfilled history that ended
ten minutes before it started. The fake is a threaded HTTP server in this file that records
each request and answers whatever a test tells it. Nothing talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import math
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_slo.errors import ConfigError, QueryError, SourceUnavailable
from pytest_slo.sources.prometheus import (
    MAX_SELECTORS,
    InstantResult,
    Matcher,
    PrometheusConfig,
    PrometheusSource,
    Selector,
    vector_selectors,
)
from teststack.servers import MetricsServer, Prometheus, backfill, free_port, require_binary

TOKEN = "tok-9f8e7d6c5b4a-secret"
PASSWORD = "pw-0a1b2c3d-secret"
HISTORY_STEP = 60
HISTORY_POINTS = 61  # one hour, a sample a minute
EXPOSITION = """\
# TYPE redis_memory_used_bytes gauge
redis_memory_used_bytes 1048576
# TYPE redis_memory_max_bytes gauge
redis_memory_max_bytes 4194304
# TYPE slo_special_values gauge
slo_special_values{kind="nan"} NaN
slo_special_values{kind="inf"} +Inf
slo_special_values{kind="minus_inf"} -Inf
"""


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- the real Prometheus


@dataclass
class RealPrometheus:
    url: str
    history_start: int
    started_at: float


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealPrometheus]:
    workdir = tmp_path_factory.mktemp("prometheus")
    now = int(time.time())
    history_start = now - 600 - (HISTORY_POINTS - 1) * HISTORY_STEP  # ends 10 min ago: stale by now
    backfill(
        "# TYPE slo_backfilled gauge\n"
        + "".join(
            f'slo_backfilled{{job="history",namespace="production"}} {i} {history_start + i * HISTORY_STEP}\n'
            for i in range(HISTORY_POINTS)
        ),
        workdir / "data",
    )
    with MetricsServer() as metrics:
        metrics.set_text(EXPOSITION)
        targets = [
            ("redis-cluster", metrics.address, {"namespace": "production", "service": "redis-cluster"}),
            ("redis-cluster-staging", metrics.address, {"namespace": "staging", "service": "redis-cluster"}),
        ]
        with Prometheus(targets, workdir / "data", workdir=workdir) as prometheus:
            prometheus.wait_for_scrapes()
            yield RealPrometheus(prometheus.url, history_start, time.time())


@pytest.fixture
def source(real: RealPrometheus) -> PrometheusSource:
    return PrometheusSource(PrometheusConfig(real.url, timeout=10.0))


def test_instant_query_returns_labelled_samples(source: PrometheusSource) -> None:
    at = time.time()
    result = source.query("redis_memory_used_bytes", at)
    assert isinstance(result, InstantResult)
    assert (result.query, result.time, result.result_type) == ("redis_memory_used_bytes", at, "vector")
    by_namespace = {s.labels["namespace"]: s for s in result.samples}
    assert sorted(by_namespace) == ["production", "staging"]
    production = by_namespace["production"]
    assert production.value == 1048576.0
    assert production.labels["__name__"] == "redis_memory_used_bytes"
    assert production.labels["job"] == "redis-cluster"
    assert production.labels["service"] == "redis-cluster"
    assert production.labels["instance"].startswith("127.0.0.1:")


def test_scalar_and_special_values(source: PrometheusSource) -> None:
    at = time.time()
    scalar = source.query("scalar(sum(redis_memory_max_bytes))", at)
    assert scalar.result_type == "scalar"
    assert [(s.labels, s.value) for s in scalar.samples] == [({}, 8388608.0)]
    samples = source.query('slo_special_values{namespace="production"}', at).samples
    special = {s.labels["kind"]: s.value for s in samples}
    assert math.isnan(special["nan"])
    assert special["inf"] == math.inf
    assert special["minus_inf"] == -math.inf


def test_query_range_over_backfilled_history(source: PrometheusSource, real: RealPrometheus) -> None:
    start = real.history_start + 10 * HISTORY_STEP
    series = source.query_range("slo_backfilled", start, start + 10 * HISTORY_STEP, HISTORY_STEP)
    assert len(series) == 1
    assert series[0].labels == {"__name__": "slo_backfilled", "job": "history", "namespace": "production"}
    assert series[0].points == [(float(start + i * HISTORY_STEP), float(10 + i)) for i in range(11)]
    rate = source.query_range("deriv(slo_backfilled[10m])", start, start + 600, 300)
    assert [round(v * 60, 6) for _, v in rate[0].points] == [1.0, 1.0, 1.0]  # one more each minute


def test_bad_promql_is_a_query_error_with_prometheus_message(source: PrometheusSource) -> None:
    query = "sum(rate(http_requests_total[5m])"
    with pytest.raises(QueryError) as caught:
        source.query(query, time.time())
    assert str(caught.value) == (
        "prometheus rejected the query: 1:34: parse error: unclosed left parenthesis"
        " : sum(rate(http_requests_total[5m])"
    )
    with pytest.raises(QueryError, match=r"^prometheus rejected the query: .*parse error.* : rate\(x\[5m\]\) by$"):
        source.query_range("rate(x[5m]) by", time.time() - 60, time.time(), 15)


def test_query_many_against_real_prometheus_keeps_each_outcome(source: PrometheusSource) -> None:
    at = time.time()
    results = source.query_many(["count(redis_memory_used_bytes)", "sum(", "absent(nope_metric)"], at)
    assert list(results) == ["count(redis_memory_used_bytes)", "sum(", "absent(nope_metric)"]
    assert [s.value for s in results["count(redis_memory_used_bytes)"].samples] == [2.0]  # type: ignore[union-attr]
    assert isinstance(results["sum("], QueryError)
    assert [s.labels for s in results["absent(nope_metric)"].samples] == [{}]  # type: ignore[union-attr]
    assert not source.query('count(redis_memory_used_bytes{namespace="nowhere"})', at).samples


DIAGNOSES = [
    pytest.param(
        "histogram_quantile(0.99, sum by (le)"
        ' (rate(http_request_duration_seconds_bucket{namespace="production"}[5m])))',
        "no series: metric http_request_duration_seconds_bucket does not exist in Prometheus"
        " (is it scraped? check the ServiceMonitor)",
        id="missing-metric",
    ),
    pytest.param(
        'redis_memory_used_bytes{namespace="prod", service="redis-cluster"} / redis_memory_max_bytes{namespace="prod"}',
        'no series: redis_memory_used_bytes exists, but none has namespace="prod" (namespace has: production, staging);'
        ' redis_memory_max_bytes exists, but none has namespace="prod" (namespace has: production, staging)',
        id="wrong-label-value",
    ),
    pytest.param(
        'max(redis_memory_used_bytes{service=~"redis-(cache|sessions)"})',
        'no series: redis_memory_used_bytes exists, but none has service=~"redis-(cache|sessions)"'
        " (service has: redis-cluster)",
        id="regex-matches-nothing",
    ),
    pytest.param(
        'redis_memory_used_bytes{kubernetes_namespace="production"}',
        'no series: redis_memory_used_bytes exists, but none has kubernetes_namespace="production"'
        " (no series has a kubernetes_namespace label; labels: instance, job, namespace, service)",
        id="label-absent",
    ),
    pytest.param(
        'redis_memory_used_bytes{namespace="staging", job="redis-cluster"}',
        "no series: redis_memory_used_bytes exists, and each matcher matches some series,"
        ' but none has all of namespace="staging", job="redis-cluster"',
        id="matchers-only-together",
    ),
    pytest.param(
        '{__name__=~"redis_memory_.*", namespace="prod"}',
        'no series: {__name__=~"redis_memory_.*"} exists, but none has namespace="prod"'
        " (namespace has: production, staging)",
        id="name-by-regex",
    ),
    pytest.param(
        "redis_memory_used_bytes > 1e12",
        "no series: every selector matches series (redis_memory_used_bytes matches 2); the rest of the query removes"
        " them (a comparison, a binary operation whose labels differ, or a rate() window with under two samples)",
        id="filtered-by-comparison",
    ),
]


@pytest.mark.parametrize(("query", "expected"), DIAGNOSES)
def test_diagnose_empty_on_real_prometheus(source: PrometheusSource, query: str, expected: str) -> None:
    at = time.time()
    assert source.query(query, at).samples == ()
    assert source.diagnose_empty(query, at) == expected


def test_diagnose_empty_names_a_stale_metric(source: PrometheusSource, real: RealPrometheus) -> None:
    at = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    assert source.diagnose_empty('slo_backfilled{namespace="production"}', at) == (
        f'no series: slo_backfilled{{namespace="production"}} (1 series) had samples in the 1h before {stamp} but none'
        ' in the last 5 minutes: their target is no longer scraped (no up{job="history"}: removed from service '
        'discovery?)'
    )


def test_diagnose_empty_on_a_non_empty_result(source: PrometheusSource) -> None:
    assert source.diagnose_empty("redis_memory_used_bytes", time.time()) == "not empty: 2 samples"


# --------------------------------------------------------------------------- a fake for the faults


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]


Answer = tuple[int, dict[str, str], Any]  # status, headers, body (dict -> JSON, str/bytes as is)


def vector(*values: float, **labels: str) -> dict[str, Any]:
    result = [{"metric": dict(labels), "value": [1700000000.0, repr(v)]} for v in values]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


class FakePrometheus:
    """A loopback HTTP server: ``answer(seen)`` decides each reply; every request is kept in ``seen``."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.answer: Callable[[Seen], Answer] = lambda seen: (200, {}, vector(1.0))
        self.delay = 0.0
        self.seen: list[Seen] = []
        self.inflight = self.max_inflight = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def hang(self) -> None:
        """Hold every request until the test ends."""
        self.answer = lambda seen: (self.release.wait(30), (200, {}, vector(1.0)))[1]

    def script(self, *answers: Answer) -> None:
        """Answer these in turn, then repeat the last."""
        queue = list(answers)
        self.answer = lambda seen: queue.pop(0) if len(queue) > 1 else queue[0]

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve(urllib.parse.urlsplit(self.path).query)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length).decode())

            def _serve(self, form: str) -> None:
                seen = Seen(self.command, urllib.parse.urlsplit(self.path).path, urllib.parse.parse_qs(form),
                            {k.lower(): v for k, v in self.headers.items()})
                with fake._lock:
                    fake.seen.append(seen)
                    fake.inflight += 1
                    fake.max_inflight = max(fake.max_inflight, fake.inflight)
                try:
                    time.sleep(fake.delay)
                    status, headers, body = fake.answer(seen)
                finally:
                    with fake._lock:
                        fake.inflight -= 1
                payload = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    yield server
    server.stop()


def make(fake: FakePrometheus, **options: Any) -> PrometheusSource:
    return PrometheusSource(PrometheusConfig(fake.url, **options))


def unavailable(call: Callable[[], object]) -> str:
    with pytest.raises(SourceUnavailable) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_query_many_runs_concurrently(fake: FakePrometheus) -> None:
    fake.delay = 1.0
    source = make(fake, concurrency=8)
    begun = time.monotonic()
    results = source.query_many([f"up{{i='{i}'}}" for i in range(8)], time.time())
    elapsed = time.monotonic() - begun
    assert all(isinstance(r, InstantResult) for r in results.values())
    assert len(fake.seen) == 8
    assert fake.max_inflight == 8
    assert elapsed < 2.5, elapsed  # one after another would take 8 s


def test_query_many_holds_to_the_concurrency_limit(fake: FakePrometheus) -> None:
    fake.delay = 0.2
    make(fake, concurrency=3).query_many([f"q{i}" for i in range(9)], time.time())
    assert (len(fake.seen), fake.max_inflight) == (9, 3)


def test_query_many_dedupes_and_caches(fake: FakePrometheus) -> None:
    source, at = make(fake), time.time()
    results = source.query_many(["up", "up", "rate(x[5m])", "up"], at)
    assert list(results) == ["up", "rate(x[5m])"]
    assert sorted(p["query"][0] for p in (s.params for s in fake.seen)) == ["rate(x[5m])", "up"]
    assert source.query("up", at) is results["up"]  # no new request
    source.query_many(["rate(x[5m])", "up"], at)
    assert len(fake.seen) == 2
    source.query("up", at + 30)  # another time is another question
    assert len(fake.seen) == 3
    assert fake.seen[-1].params["time"] == [f"{at + 30:.3f}".rstrip("0").rstrip(".")]


def test_send_returns_before_the_answers_and_a_query_waits_for_its_own(fake: FakePrometheus) -> None:
    fake.hang()  # every answer held until released
    source, at = make(fake, concurrency=2), time.time()
    source.send(["q0", "q1", "q2", "q1"], at)
    with fake._lock:
        assert len(fake.seen) - fake.inflight == 0  # nothing answered yet: send() did not wait
    fake.release.set()
    assert source.query("q2", at).samples[0].value == 1.0
    source.query_many(["q0", "q1"], at)
    assert sorted(s.params["query"][0] for s in fake.seen) == ["q0", "q1", "q2"]  # each sent once, by send()
    assert fake.max_inflight <= 2
    source.close()


def test_concurrent_callers_of_one_query_share_one_request(fake: FakePrometheus) -> None:
    fake.delay = 0.3
    source, at = make(fake), time.time()
    threads = [threading.Thread(target=source.query, args=("up", at)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.seen) == 1


def test_errors_are_cached_too(fake: FakePrometheus) -> None:
    fake.script((400, {}, {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unexpected <EOF>"}))
    source, at = make(fake), time.time()
    results = source.query_many(["sum(", "sum("], at)
    assert isinstance(results["sum("], QueryError)
    with pytest.raises(QueryError):
        source.query("sum(", at)
    assert len(fake.seen) == 1


def test_connection_refused() -> None:
    port = free_port()
    source = PrometheusSource(PrometheusConfig(f"http://127.0.0.1:{port}"))
    assert unavailable(lambda: source.query("up", time.time())) == (
        f"prometheus unavailable: cannot connect to http://127.0.0.1:{port}: connection refused"
    )


def test_hang_ends_within_the_timeout(fake: FakePrometheus) -> None:
    fake.hang()
    source = make(fake, timeout=1.0)
    begun = time.monotonic()
    message = unavailable(lambda: source.query("up", time.time()))
    assert time.monotonic() - begun < 2.0
    assert message == f"prometheus unavailable: no answer from {fake.url}/api/v1/query within 1.0 s"


def test_500_then_200_is_retried(fake: FakePrometheus) -> None:
    fake.script((500, {}, "internal error"), (200, {}, vector(3.0)))
    assert [s.value for s in make(fake).query("up", time.time()).samples] == [3.0]
    assert len(fake.seen) == 2


def test_503_always_fails_after_the_retries(fake: FakePrometheus) -> None:
    fake.script((503, {}, "Service Unavailable: overloaded\nsecond line"))
    begun = time.monotonic()
    message = unavailable(lambda: make(fake, retries=2).query("up", time.time()))
    assert message == (
        f"prometheus unavailable: HTTP 503 from {fake.url}/api/v1/query after 3 attempts:"
        " Service Unavailable: overloaded"
    )
    assert len(fake.seen) == 3
    assert time.monotonic() - begun < 2.0  # 0.2 s + 0.4 s of backoff


def test_5xx_with_a_prometheus_error_body_shows_the_error(fake: FakePrometheus) -> None:
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
    fake.script((503, {}, body))
    assert unavailable(lambda: make(fake, retries=0).query("up", time.time())) == (
        f"prometheus unavailable: HTTP 503 from {fake.url}/api/v1/query after 1 attempt:"
        " query timed out in expression evaluation"
    )


def test_429_retry_after_is_respected(fake: FakePrometheus) -> None:
    fake.script((429, {"Retry-After": "1"}, "too many requests"), (200, {}, vector(1.0)))
    begun = time.monotonic()
    make(fake).query("up", time.time())
    assert time.monotonic() - begun >= 0.95
    assert len(fake.seen) == 2


def test_429_with_a_long_retry_after_is_reported_not_waited_for(fake: FakePrometheus) -> None:
    fake.script((429, {"Retry-After": "3600"}, "too many requests"))
    begun = time.monotonic()
    message = unavailable(lambda: make(fake).query("up", time.time()))
    assert time.monotonic() - begun < 0.5
    assert message == (
        f"prometheus unavailable: HTTP 429 from {fake.url}/api/v1/query after 1 attempt: too many requests"
        " (Retry-After 3600 s)"
    )


def test_retries_stay_within_the_total_timeout(fake: FakePrometheus) -> None:
    fake.script((503, {"Retry-After": "2"}, "busy"))
    begun = time.monotonic()
    message = unavailable(lambda: make(fake, timeout=3.0, retries=5).query("up", time.time()))
    assert 1.9 < time.monotonic() - begun < 3.0
    assert message.endswith("after 2 attempts: busy (Retry-After 2 s)")


def test_invalid_json(fake: FakePrometheus) -> None:
    fake.script((200, {"Content-Type": "text/html"}, "<html><body>Bad gateway</body></html>"))
    assert unavailable(lambda: make(fake).query("up", time.time())) == (
        f"prometheus unavailable: invalid JSON from {fake.url}/api/v1/query"
        " (starts with '<html><body>Bad gateway</body></html>')"
    )
    fake.script((200, {}, "<!DOCTYPE html>\n<html><head><title>Grafana</title></head><body>" + "x" * 500))
    assert unavailable(lambda: make(fake).query("up", time.time())).endswith(
        "(starts with '<!DOCTYPE html>\\n<html><head><title>Grafa...')"
    )


def test_status_error_is_a_query_error(fake: FakePrometheus) -> None:
    error = 'invalid parameter "query": 1:5: parse error: unexpected <EOF>'
    body = {"status": "error", "errorType": "bad_data", "error": error}
    fake.script((400, {}, body))
    with pytest.raises(QueryError) as caught:
        make(fake).query("sum(", time.time())
    assert str(caught.value) == (
        "prometheus rejected the query: 1:5: parse error: unexpected <EOF> : sum("
    )
    body = {"status": "error", "errorType": "execution", "error": "many-to-many matching not allowed"}
    fake.script((422, {}, body))
    with pytest.raises(QueryError, match=r"^prometheus rejected the query: many-to-many matching not allowed : a / b$"):
        make(fake).query("a / b", time.time())
    assert len(fake.seen) == 2  # no retries for a refusal


def test_401_names_the_variable_and_never_the_token(fake: FakePrometheus) -> None:
    fake.script((401, {"WWW-Authenticate": "Bearer"}, f"bad token {TOKEN}"))
    source = PrometheusSource(PrometheusConfig.from_env(fake.url, environ={"SLO_PROMETHEUS_TOKEN": TOKEN}))
    message = unavailable(lambda: source.query("up", time.time()))
    assert message == (
        f"prometheus unavailable: HTTP 401 Unauthorized from {fake.url}/api/v1/query (check SLO_PROMETHEUS_TOKEN)"
    )
    fake.script((403, {}, "forbidden"))
    basic = PrometheusSource(
        PrometheusConfig.from_env(fake.url, environ={"SLO_PROMETHEUS_USER": "slo", "SLO_PROMETHEUS_PASSWORD": PASSWORD})
    )
    assert unavailable(lambda: basic.query("up", time.time())) == (
        f"prometheus unavailable: HTTP 403 Forbidden from {fake.url}/api/v1/query"
        " (check SLO_PROMETHEUS_USER and SLO_PROMETHEUS_PASSWORD)"
    )
    for text in (repr(source), str(source.config), repr(basic), repr(basic.config)):
        assert TOKEN not in text and PASSWORD not in text
    assert "token='***'" in repr(source.config) and "password='***'" in repr(basic.config)


def test_a_body_echoing_the_token_is_scrubbed(fake: FakePrometheus) -> None:
    fake.script((502, {}, f"upstream rejected Authorization: Bearer {TOKEN}"))
    source = PrometheusSource(PrometheusConfig(fake.url, token=TOKEN, retries=0))
    assert unavailable(lambda: source.query("up", time.time())) == (
        f"prometheus unavailable: HTTP 502 from {fake.url}/api/v1/query after 1 attempt:"
        " upstream rejected Authorization: Bearer ***"
    )


def echo(status: int, before: str = "upstream error; ") -> Callable[[Seen], Answer]:
    """An answer echoing the request's Authorization header, as a misbehaving proxy does."""
    return lambda seen: (status, {}, f"{before}Authorization={seen.headers.get('authorization')}")


def test_a_body_echoing_the_basic_credentials_is_scrubbed(fake: FakePrometheus) -> None:
    fake.answer = echo(502)
    source = PrometheusSource(PrometheusConfig(fake.url, username="slo", password="hunter2-secret", retries=0))
    message = unavailable(lambda: source.query("up", time.time()))
    assert fake.seen[-1].headers["authorization"] == "Basic c2xvOmh1bnRlcjItc2VjcmV0"  # what went on the wire
    assert message == (
        f"prometheus unavailable: HTTP 502 from {fake.url}/api/v1/query after 1 attempt:"
        " upstream error; Authorization=Basic ***"
    )
    # an Authorization header of one's own (SLO_PROMETHEUS_HEADERS) is masked the same way
    source = PrometheusSource(PrometheusConfig(fake.url, headers={"Authorization": f"Bearer {TOKEN}"}, retries=0))
    assert unavailable(lambda: source.query("up", time.time())).endswith(" upstream error; Authorization=Bearer ***")


def test_a_secret_at_the_clipping_edge_is_scrubbed_whole(fake: FakePrometheus) -> None:
    fake.answer = echo(502, "x" * 170 + " ")  # the token spans characters 192-215; the gist is cut at 200
    source = PrometheusSource(PrometheusConfig(fake.url, token=TOKEN, retries=0))
    message = unavailable(lambda: source.query("up", time.time()))
    assert TOKEN[:6] not in message
    assert message.endswith(" Authorization=Bearer ***")


def test_echoed_credentials_reach_neither_terminal_nor_findings(
    fake: FakePrometheus, gitops: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.answer = echo(502)
    monkeypatch.setenv("SLO_PROMETHEUS_USER", "slo")
    monkeypatch.setenv("SLO_PROMETHEUS_PASSWORD", "hunter2-secret")
    result = pytester.runpytest(
        "--site", "production", "--live", "-m", "live and not kube", "-k", "slo-", "--findings=f.json",
        "--prometheus-url", fake.url, "--live-timeout", "5",
    )
    text = result.stdout.str() + result.stderr.str()
    findings = (pytester.path / "f.json").read_text()
    wire = base64.b64encode(b"slo:hunter2-secret").decode()
    assert {f["outcome"] for f in json.loads(findings)["findings"]} == {"error"}, text
    for secret in (wire, "hunter2-secret"):
        assert secret not in text and secret not in findings
    result.stdout.fnmatch_lines(
        ["prometheus unavailable: HTTP 502 from *: upstream error; Authorization=Basic [*][*][*]"]
    )
    assert "upstream error; Authorization=Basic ***" in findings


def test_auth_headers_reach_the_server(fake: FakePrometheus) -> None:
    environ = {"SLO_PROMETHEUS_TOKEN": TOKEN + "\n", "SLO_PROMETHEUS_HEADERS": "X-Scope-OrgID: tenant-a; X-Other: v"}
    PrometheusSource(PrometheusConfig.from_env(fake.url, environ=environ)).query("up", time.time())
    headers = fake.seen[-1].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert (headers["x-scope-orgid"], headers["x-other"]) == ("tenant-a", "v")
    assert "read-only" in headers["user-agent"]
    environ = {"SLO_PROMETHEUS_USER": "slo", "SLO_PROMETHEUS_PASSWORD": PASSWORD}
    PrometheusSource(PrometheusConfig.from_env(fake.url, environ=environ)).query("up", time.time())
    assert fake.seen[-1].headers["authorization"] == "Basic " + base64.b64encode(f"slo:{PASSWORD}".encode()).decode()
    PrometheusSource(PrometheusConfig.from_env(fake.url, environ={})).query("up", time.time())
    assert "authorization" not in fake.seen[-1].headers


def test_only_read_endpoints_and_long_queries_as_form_posts(fake: FakePrometheus) -> None:
    source, at = make(fake), time.time()
    source.query("up", at)
    long_query = "sum(" + " + ".join(f'up{{instance="host-{i}.example:9100"}}' for i in range(80)) + ")"
    source.query(long_query, at)
    fake.script((200, {}, {"status": "success", "data": {"resultType": "matrix", "result": []}}))
    source.query_range("up", at - 60, at, 15)
    fake.script((200, {}, {"status": "success", "data": ["__name__", "job"]}))
    assert source.label_names("up", at) == ["job"]
    assert [(s.method, s.path) for s in fake.seen] == [
        ("GET", "/api/v1/query"), ("POST", "/api/v1/query"), ("GET", "/api/v1/query_range"), ("GET", "/api/v1/labels"),
    ]
    assert fake.seen[1].params["query"] == [long_query]
    assert fake.seen[1].headers["content-type"] == "application/x-www-form-urlencoded"


def test_redirects_are_not_followed(fake: FakePrometheus) -> None:
    fake.script((302, {"Location": "/elsewhere/api/v1/query?query=up"}, ""))
    message = unavailable(lambda: make(fake).query("up", time.time()))
    assert message.startswith(f"prometheus unavailable: HTTP 302 Found from {fake.url}/api/v1/query")
    assert fake.paths() == ["/api/v1/query"]


def test_a_url_with_a_path_prefix(fake: FakePrometheus) -> None:
    PrometheusSource(PrometheusConfig(fake.url + "/prometheus/")).query("up", time.time())
    assert fake.paths() == ["/prometheus/api/v1/query"]


def test_a_matrix_or_unexpected_answer(fake: FakePrometheus) -> None:
    fake.script((200, {}, {"status": "success", "data": {"resultType": "matrix", "result": []}}))
    with pytest.raises(QueryError, match=r"returned a matrix, not a vector; .* rate\(\) around it: up\[5m\]$"):
        make(fake).query("up[5m]", time.time())
    fake.script((200, {}, {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}))
    assert unavailable(lambda: make(fake).query("up", time.time())).startswith(
        f"prometheus unavailable: unexpected answer from {fake.url}/api/v1/query: KeyError"
    )
    fake.script((200, {}, {"hello": "world"}))
    assert "is it a Prometheus API?" in unavailable(lambda: make(fake).query("up", time.time()))


def test_diagnosis_is_bounded(fake: FakePrometheus) -> None:
    fake.script((200, {}, vector()))  # nothing exists
    query = " + ".join(f'metric_{i}{{a="1", b="2"}}' for i in range(10))
    text = make(fake).diagnose_empty(query, time.time())
    assert text.startswith("no series: metric metric_0 does not exist in Prometheus")
    assert text.count("does not exist") == MAX_SELECTORS
    assert len(fake.seen) <= 1 + 7 * MAX_SELECTORS


def test_diagnosis_when_prometheus_is_down() -> None:
    port = free_port()
    text = PrometheusSource(PrometheusConfig(f"http://127.0.0.1:{port}")).diagnose_empty("up", time.time())
    assert text == (
        f"no series (diagnosis failed: prometheus unavailable: cannot connect to http://127.0.0.1:{port}:"
        " connection refused)"
    )


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = require_binary("openssl", "openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def test_tls_verification(certificate: tuple[Path, Path]) -> None:
    server = FakePrometheus(tls=certificate)
    try:
        message = unavailable(lambda: PrometheusSource(PrometheusConfig(server.url)).query("up", time.time()))
        assert message.startswith(f"prometheus unavailable: TLS certificate of {server.url} not trusted: self")
        assert message.endswith("(set SLO_PROMETHEUS_CA_BUNDLE to the CA file that signed it)")
        trusted = PrometheusConfig.from_env(server.url, environ={"SLO_PROMETHEUS_CA_BUNDLE": str(certificate[0])})
        assert PrometheusSource(trusted).query("up", time.time()).samples[0].value == 1.0
        insecure = PrometheusConfig.from_env(server.url, environ={"SLO_PROMETHEUS_INSECURE": "1"})
        assert insecure.verify is False
        assert PrometheusSource(insecure).query("up", time.time()).samples[0].value == 1.0
    finally:
        server.stop()


def test_a_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    config = PrometheusConfig("https://127.0.0.1:1", ca_bundle=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match=r"cannot load the CA bundle .*nope\.pem: No such file or directory"):
        PrometheusSource(config)


# --------------------------------------------------------------------------- configuration


def test_from_env_reads_only_the_environment() -> None:
    config = PrometheusConfig.from_env(
        "http://127.0.0.1:9090/", timeout=3.0, retries=1, concurrency=2,
        environ={"SLO_PROMETHEUS_HEADERS": "X-Scope-OrgID: tenant-a;\nX-Other: v",
                 "SLO_PROMETHEUS_CA_BUNDLE": "/ca.pem"},
    )
    assert config == PrometheusConfig(
        "http://127.0.0.1:9090", timeout=3.0, retries=1, concurrency=2,
        headers=(("X-Scope-OrgID", "tenant-a"), ("X-Other", "v")), ca_bundle="/ca.pem",
    )
    assert config.verify is True
    assert PrometheusConfig.from_env("http://p:9090", environ={"SLO_PROMETHEUS_INSECURE": "0"}).verify is True


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SLO_PROMETHEUS_PASSWORD": PASSWORD}, "SLO_PROMETHEUS_PASSWORD is set but SLO_PROMETHEUS_USER is not"),
        ({"SLO_PROMETHEUS_HEADERS": f"X-Ok: 1; {TOKEN}"}, "SLO_PROMETHEUS_HEADERS entry 2 is not 'Name: value'"),
        ({"SLO_PROMETHEUS_INSECURE": "maybe"}, "SLO_PROMETHEUS_INSECURE must be 1 or 0"),
        ({"SLO_PROMETHEUS_TOKEN": TOKEN, "SLO_PROMETHEUS_USER": "u"}, "set either SLO_PROMETHEUS_TOKEN or"),
    ],
)
def test_from_env_errors_never_echo_secrets(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PrometheusConfig.from_env("http://127.0.0.1:9090", environ=environ)
    assert str(caught.value).startswith(message)
    assert TOKEN not in str(caught.value) and PASSWORD not in str(caught.value)


def test_a_url_with_credentials_is_refused_without_echo() -> None:
    with pytest.raises(ConfigError) as caught:
        PrometheusConfig(f"http://admin:{PASSWORD}@127.0.0.1:9090")
    assert PASSWORD not in str(caught.value)
    with pytest.raises(ConfigError, match="must look like http"):
        PrometheusConfig("127.0.0.1:9090")


def test_secret_headers_are_masked_in_repr() -> None:
    config = PrometheusConfig("http://127.0.0.1:9090", headers={"X-Scope-OrgID": "tenant-a", "X-Api-Key": TOKEN})
    assert "tenant-a" in repr(config) and TOKEN not in repr(config)


# --------------------------------------------------------------------------- selectors


def test_vector_selectors_skip_functions_keywords_and_label_names() -> None:
    query = """
        histogram_quantile(0.99, sum by (le, service) (rate(
            http_request_duration_seconds_bucket{namespace="production", service=~"api-.*"}[5m] offset 1h)))
        > on (service) group_left(team) 2 * avg without (pod) (slo:latency:target{service!="x"})
        and label_replace(up, "dst", "$1", "src", "(.*)") unless {__name__="redis_up", job='r\\'s'}  # comment rate
    """
    assert [str(s) for s in vector_selectors(query)] == [
        'http_request_duration_seconds_bucket{namespace="production",service=~"api-.*"}',
        'slo:latency:target{service!="x"}',
        "up",
        'redis_up{job="r\'s"}',
    ]
    selector = vector_selectors('{__name__=~"redis_.*", namespace="p"}')[0]
    assert (selector.name, selector.base) == (None, '{__name__=~"redis_.*"}')
    assert selector.filters == (Matcher("namespace", "=", "p"),)
    assert vector_selectors("vector(1) > bool 2") == []


NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_:]{0,12}", fullmatch=True).filter(
    lambda n: n.lower() not in {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                                "atan2", "bool", "offset", "inf", "nan", "sum", "avg", "count", "min", "max", "group",
                                "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values"}
)
MATCHERS = st.builds(
    Matcher,
    st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(lambda n: n != "__name__"),
    st.sampled_from(["=", "!=", "=~", "!~"]),
    st.text(max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(NAMES, st.lists(MATCHERS, max_size=4, unique_by=lambda m: m.label))
def test_selectors_round_trip(name: str, matchers: list[Matcher]) -> None:
    selector = Selector(name, tuple(matchers))
    query = f"histogram_quantile(0.9, sum by (le) (rate({selector}[5m])))"
    assert vector_selectors(query) == [selector]


def test_warnings_come_back_with_the_answer(fake: FakePrometheus) -> None:
    fake.script((200, {}, {**vector(1.0), "warnings": ["partial response: store s3 unavailable"]}))
    assert make(fake).query("up", time.time()).warnings == ("partial response: store s3 unavailable",)
