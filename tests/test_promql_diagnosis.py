"""Diagnoses of empty PromQL results that are true, against a real Prometheus 2.42 scraping real
targets: a series its target stopped exporting (target up), a target that went down, series
whose target left service discovery, a metric that needs an exporter flag (the Debian
package's redis_exporter 1.45, with and without the flag), and histogram_quantile over series
without ``le``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_slo.sources.prometheus import PrometheusConfig, PrometheusSource
from pytest_slo.sources.prometheus._diagnose import EXPORTER_FLAGS
from pytest_slo.sources.prometheus._promql import call_arguments
from teststack.servers import MetricsServer, Prometheus, RedisExporter, RedisServer, backfill, http_get

APP = """\
# TYPE slo_kept gauge
slo_kept 1
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 90
http_request_duration_seconds_bucket{le="1.0"} 99
http_request_duration_seconds_bucket{le="+Inf"} 100
http_request_duration_seconds_sum 12.5
http_request_duration_seconds_count 100
"""
DROPPED = "# TYPE slo_dropped gauge\nslo_dropped 1\n"


@dataclass
class Scene:
    source: PrometheusSource
    app: str  # instance of the app target
    down: str  # instance of the target that stopped answering


def _until(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "Prometheus did not see the change in time"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    workdir = tmp_path_factory.mktemp("diagnosis")
    now = int(time.time())
    # a series whose target left service discovery: samples until 20 minutes ago, no up
    backfill("".join(f'slo_gone{{job="old-app",instance="10.0.3.1:8080",namespace="production"}} 1 {t}\n'
                     for t in range(now - 1800, now - 1200, 60)), workdir / "data")
    labels = {"namespace": "production", "service": "redis-cluster"}
    with RedisServer(maxmemory="16mb") as redis, RedisExporter(redis.url, workdir=workdir) as exporter, \
            MetricsServer() as app, MetricsServer() as down:
        app.set_text(APP + DROPPED)
        down.set_text("# TYPE slo_down gauge\nslo_down 1\n")
        targets = [("app", app.address, {"namespace": "production", "service": "app"}),
                   ("down", down.address, {"namespace": "production", "service": "down"}),
                   ("redis-cluster", exporter.address, labels)]
        with Prometheus(targets, workdir / "data", workdir=workdir) as prometheus:
            prometheus.wait_for_scrapes()
            _until(lambda: prometheus.query("count_over_time(http_request_duration_seconds_count[5m]) >= 2"))
            app.set_text(APP)  # the next scrape marks slo_dropped stale
            down.stop()
            _until(lambda: not prometheus.query("slo_dropped") and prometheus.query('up{job="down"} == 0'))
            yield Scene(PrometheusSource(PrometheusConfig(prometheus.url, timeout=10.0)), app.address, down.address)


def diagnose(scene: Scene, query: str) -> str:
    at = time.time()
    assert scene.source.query(query, at).samples == (), query
    return scene.source.diagnose_empty(query, at)


def test_a_series_its_target_stopped_exporting(scene: Scene) -> None:
    text = diagnose(scene, 'slo_dropped{service="app"}')
    assert text.startswith('no series: slo_dropped{service="app"} (1 series) had samples in the 1h before ')
    assert text.endswith(
        f'but none in the last 5 minutes: their target is up (up{{job="app", instance="{scene.app}"}} == 1) but no '
        "longer exports them: the app or exporter stopped reporting these series (a label value it no longer has, "
        "or a restart that cleared them)")
    assert "target down" not in text and "is it scraped" not in text


def test_a_target_that_went_down(scene: Scene) -> None:
    text = diagnose(scene, 'slo_down{namespace="production"}')
    assert text.endswith(f'their target is down (up{{job="down", instance="{scene.down}"}} == 0)'), text


def test_series_whose_target_left_service_discovery(scene: Scene) -> None:
    text = diagnose(scene, 'slo_gone{namespace="production"}')
    assert text.endswith('their target is no longer scraped (no up{job="old-app", instance="10.0.3.1:8080"}: '
                         "removed from service discovery?)"), text


def test_a_metric_that_needs_an_exporter_flag(scene: Scene) -> None:
    text = diagnose(scene, 'redis_total_system_memory_bytes{namespace="production", service="redis-cluster"}')
    assert text == (
        "no series: metric redis_total_system_memory_bytes does not exist in Prometheus: redis_exporter exports it "
        "only with --include-system-metrics (REDIS_EXPORTER_INCL_SYSTEM_METRICS=true); redis_up exists, so "
        "redis_exporter is scraped but runs without it"
    )


def test_the_exporter_flags_we_name_are_true(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each flag of EXPORTER_FLAGS adds its metric, and the exporter's marker metric is there without it."""
    assert list(EXPORTER_FLAGS) == ["redis_total_system_memory_bytes"]  # one exporter checked below
    (tmp_path / "plain").mkdir()
    (tmp_path / "flag").mkdir()
    with RedisServer(workdir=tmp_path) as redis:
        with RedisExporter(redis.url, workdir=tmp_path / "plain") as plain:
            without = http_get(plain.url)[1]
        monkeypatch.setenv("REDIS_EXPORTER_INCL_SYSTEM_METRICS", "true")
        with RedisExporter(redis.url, workdir=tmp_path / "flag") as flagged:
            with_flag = http_get(flagged.url)[1]
    for metric, (_exporter, marker, _flag) in EXPORTER_FLAGS.items():
        assert f"\n{marker} " in without and f"\n{metric} " not in without
        assert f"\n{metric} " in with_flag


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[5m])))", ""),
        ("histogram_quantile(0.99, rate(http_request_duration_seconds_count[5m]))",
         " (http_request_duration_seconds_count is not a histogram's _bucket series)"),
    ],
    ids=["sum-without-by-le", "count-not-bucket"],
)
def test_histogram_quantile_over_series_without_le(scene: Scene, query: str, hint: str) -> None:
    assert diagnose(scene, query) == (
        f"no series: histogram_quantile gets series without an le label{hint}, and drops them: give it the _bucket "
        "series and keep le when aggregating, e.g. sum by (le) (rate(x_bucket[5m]))"
    )


def test_histogram_quantile_with_le_is_not_blamed(scene: Scene) -> None:
    """An empty quantile for another reason (a comparison) keeps the general diagnosis."""
    text = diagnose(
        scene, "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 1e9"
    )
    assert "without an le label" not in text and "the rest of the query removes them" in text


def test_call_arguments_respect_strings_matchers_and_nesting() -> None:
    query = 'histogram_quantile(0.9, sum by (le, job) (rate(x_bucket{a="1,2", b=~"(c|d)"}[5m]))) / scalar(f(y, z))'
    assert call_arguments(query, "histogram_quantile") == [
        ("0.9", 'sum by (le, job) (rate(x_bucket{a="1,2", b=~"(c|d)"}[5m]))')
    ]
    assert call_arguments(query, "f") == [("y", "z")]
    assert call_arguments(query, "rate") == [('x_bucket{a="1,2", b=~"(c|d)"}[5m]',)]
    assert call_arguments(query, "nothing") == []
