"""The incident of ``reference/incident-session-example.md``, live on loopback.

``Stack("incident")`` starts a real Redis (noeviction, filled until writes fail with OOM), its
exporter, an API ``/metrics`` endpoint and Prometheus, with hours of history backfilled so
that range queries and ``predict_linear`` see the story:

=========  ===========================================  =====================================
scenario   Redis                                        API (``service="api-server"``)
=========  ===========================================  =====================================
incident   noeviction, 16mb, full: every write fails    p99 8.4 s, 12 % 5xx since
           with OOM; memory grew 2 MiB/h for 4 h, then   ``breach_started_at`` (2 h before
           flat at the limit since the breach            start); 50 ms and 0.04 % before
fixed      allkeys-lru, 1536mb (as config.env declares  p99 485 ms, 0.08 % 5xx throughout
           after the fix), 1 % used, no errors, flat
=========  ===========================================  =====================================

``Stack.heal()`` lands the fix in a running incident: Redis gets 1536mb and allkeys-lru, the
writes stop growing the key set, and the API serves the recovered traffic from then on, so a
later run sees the recovery in Prometheus's history.

Series carry ``namespace="production"`` and ``service``/``job`` = the app (``redis-cluster``
for the exporter, ``api-server`` for the API), as a ServiceMonitor would attach them. The
history (one sample a minute for 6 h, ending a minute before start) carries the same
``instance`` labels as the live scrapes, so it continues into them. ``redis_errors_total``
is live only: its value belongs to the real Redis. A writer thread keeps five writes a
second going, so in the incident the OOM counter keeps rising.

Measured on the 2-core dev machine: ``Stack`` starts in 5.9-6.6 s. Redis, the exporter, the
fill and the 6 h backfill take ~0.5 s; the rest is Prometheus's scrape manager, which applies
targets on a 5 s tick. ``wait_for_scrapes=False`` skips that wait (~1 s; queries then see only
the history for the first seconds). A 7 d history adds ~3.5 s of promtool.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teststack.servers import (
    MetricsServer,
    Prometheus,
    RedisExporter,
    RedisServer,
    StackError,
    backfill,
)

__all__ = [
    "API_APP",
    "BUCKETS",
    "DEGRADED",
    "HEALTHY",
    "RECOVERED",
    "REDIS_APP",
    "SCENARIOS",
    "Scenario",
    "Stack",
    "Traffic",
]

REDIS_APP = "redis-cluster"
API_APP = "api-server"
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
API_LABELS: Mapping[str, str] = {"handler": "/api/v1/items", "method": "GET"}
HISTORY_STEP = 60  # rate(...[5m]) needs several samples per window anywhere in the history
REQUESTS_PER_SECOND = 40.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class Traffic:
    """A steady API regime: the share of requests at or under each of ``BUCKETS``."""

    p99: float
    error_ratio: float
    cdf: tuple[float, ...]
    mean_latency: float

    @classmethod
    def with_p99(cls, p99: float, error_ratio: float, below: Mapping[float, float],
                 mean_latency: float) -> Traffic:
        """Shares from ``below`` (bounds under p99's bucket); the bucket holding ``p99`` gets
        the share that puts ``histogram_quantile(0.99)``'s linear interpolation exactly on it,
        and every bucket above holds all requests."""
        hi_index = next(i for i, bound in enumerate(BUCKETS) if p99 <= bound)
        lo = BUCKETS[hi_index - 1] if hi_index else 0.0
        at_lo = below.get(lo, 0.0)
        at_hi = at_lo + (0.99 - at_lo) * (BUCKETS[hi_index] - lo) / (p99 - lo)
        if not at_lo < 0.99 <= at_hi <= 1.0:
            raise ValueError(f"no bucket shares give p99={p99} from {at_lo} under {lo}")
        cdf = tuple(below.get(b, 0.0) if i < hi_index else at_hi if i == hi_index else 1.0
                    for i, b in enumerate(BUCKETS))
        return cls(p99, error_ratio, cdf, mean_latency)


HEALTHY = Traffic.with_p99(0.05, 0.0004, {0.005: 0.05, 0.01: 0.2, 0.025: 0.9}, 0.015)
DEGRADED = Traffic.with_p99(
    8.4, 0.12, {0.01: 0.01, 0.025: 0.05, 0.05: 0.1, 0.1: 0.15, 0.25: 0.25, 0.5: 0.4,
                1.0: 0.55, 2.5: 0.8, 5.0: 0.97}, 1.9)
RECOVERED = Traffic.with_p99(
    0.485, 0.0008, {0.005: 0.01, 0.01: 0.05, 0.025: 0.2, 0.05: 0.45, 0.1: 0.7, 0.25: 0.95}, 0.09)


@dataclass(frozen=True)
class Scenario:
    name: str
    maxmemory: str            # Redis syntax: "16mb" is 16 MiB
    policy: str
    fill: float | None        # share of maxmemory to fill; None: until writes fail with OOM
    history: int              # seconds of backfilled history before start
    breach_ago: int | None    # the SLO breach began this long before start
    growth_per_hour: float    # memory growth in bytes/h before the breach
    before: Traffic
    after: Traffic | None = None
    history_step: int = HISTORY_STEP  # seconds between backfilled samples

    @property
    def current(self) -> Traffic:
        """The traffic the live endpoint serves now."""
        return self.after or self.before


SCENARIOS: dict[str, Scenario] = {
    # 16mb rather than a few: 2 MiB/h over the 4 h before the breach needs 8 MiB of room.
    "incident": Scenario("incident", "16mb", "noeviction", None, 6 * 3600, 2 * 3600,
                         2 * MIB, HEALTHY, DEGRADED),
    # The REDIS_MAXMEMORY and policy sites/production/config.env declares after the fix, so
    # drift checks pass; filled to 1% only, since every filled byte is real memory here.
    "fixed": Scenario("fixed", "1536mb", "allkeys-lru", 0.01, 6 * 3600, None, 0.0, RECOVERED),
}


# --- exposition ---------------------------------------------------------------------------

Sample = tuple[str, Mapping[str, str], float]


def _le(bound: float) -> str:
    return repr(float(bound))  # "0.005", "1.0": what client libraries write


def _series(name: str, labels: Mapping[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _exposition(samples: Iterable[Sample]) -> str:
    """Prometheus text format, with the TYPE lines an instrumented app writes."""
    types = {"http_request_duration_seconds": "histogram", "http_requests_total": "counter"}
    lines, typed = [], set()
    for name, labels, value in samples:
        family = next((f for f in types if name.startswith(f)), name)
        if family not in typed and family in types:
            typed.add(family)
            lines.append(f"# TYPE {family} {types[family]}")
        lines.append(f"{_series(name, labels)} {value!r}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _ApiTimeline:
    """Counters as functions of time, so backfill and live scrapes tell one continuous story."""

    phases: tuple[tuple[float, Traffic], ...]  # (begins at, traffic), first begins at start

    def samples(self, t: float) -> list[Sample]:
        served = []
        for i, (begins, traffic) in enumerate(self.phases):
            ends = self.phases[i + 1][0] if i + 1 < len(self.phases) else t
            served.append((max(0.0, min(ends, t) - begins) * REQUESTS_PER_SECOND, traffic))
        total = sum(n for n, _ in served)
        errors = sum(n * tr.error_ratio for n, tr in served)
        bucket = "http_request_duration_seconds_bucket"
        out: list[Sample] = [
            (bucket, {**API_LABELS, "le": _le(b)}, sum(n * tr.cdf[i] for n, tr in served))
            for i, b in enumerate(BUCKETS)
        ]
        out += [
            (bucket, {**API_LABELS, "le": "+Inf"}, total),
            ("http_request_duration_seconds_sum", API_LABELS,
             sum(n * tr.mean_latency for n, tr in served)),
            ("http_request_duration_seconds_count", API_LABELS, total),
            ("http_requests_total", {**API_LABELS, "status": "200"}, total - errors),
            ("http_requests_total", {**API_LABELS, "status": "500"}, errors),
        ]
        return out


# --- Redis --------------------------------------------------------------------------------

def _fill(client: Any, scenario: Scenario) -> None:
    """Write cache entries until the scenario's memory state holds."""
    import redis

    value, key = b"v" * 16384, 0
    maxmemory = int(client.info("memory")["maxmemory"])
    while True:
        pipe = client.pipeline(transaction=False)
        for _ in range(64):
            pipe.set(f"cache:{key}", value)
            key += 1
        replies = pipe.execute(raise_on_error=False)
        if any(isinstance(r, redis.OutOfMemoryError) for r in replies):
            break
        if scenario.fill is not None and (
                int(client.info("memory")["used_memory"]) >= scenario.fill * maxmemory):
            return
        if key > 1_000_000:
            raise StackError(f"Redis still accepts writes after {key} keys: is maxmemory set?")
    # Freed query buffers can let a small write through right after the first OOM: keep
    # writing until they fail in a row, so memory stays past maxmemory and errorstats count.
    in_a_row = 0
    while in_a_row < 10:
        try:
            client.set(f"session:{key}", b"s" * 512)
            in_a_row = 0
        except redis.OutOfMemoryError:
            in_a_row += 1
        key += 1


class _Writer(threading.Thread):
    """App-like writes five times a second, so error counters move between scrapes."""

    def __init__(self, client: Any, growing: bool) -> None:
        super().__init__(name="slo-redis-writer", daemon=True)
        self.client = client
        self.growing = growing
        self._stopping = threading.Event()

    def run(self) -> None:
        import redis

        n = 0
        while not self._stopping.wait(0.2):
            # New keys keep a full noeviction Redis at its limit (another client leaving
            # frees a few KB); a bounded key set keeps a healthy one's memory flat.
            key = f"load:{n}" if self.growing else f"load:{n % 500}"
            try:
                self.client.set(key, b"w" * 4096)
            except redis.RedisError:
                pass  # OOM is the point of the incident
            n += 1

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=5)


# --- the stack ----------------------------------------------------------------------------

class Stack:
    """Redis, its exporter, the API endpoint and Prometheus for one scenario; a context manager.

    Every process is stopped and the temp dir removed on exit, on an exception during start,
    and (via the servers' atexit hook) when the interpreter exits or gets SIGTERM or SIGHUP.
    ``password=False`` runs Redis without requirepass.
    """

    redis: RedisServer
    exporter: RedisExporter
    api: MetricsServer
    prometheus: Prometheus
    workdir: Path
    started_at: int                  # epoch s; the history ends a minute before it
    breach_started_at: int | None    # epoch s when p99/errors left the SLO; None in "fixed"
    startup_seconds: float
    _timeline: _ApiTimeline          # what the API serves; heal() adds a phase
    _writer: _Writer

    def __init__(self, scenario: str | Scenario = "incident", *, namespace: str = "production",
                 password: bool = True, wait_for_scrapes: bool = True) -> None:
        if isinstance(scenario, str):
            if scenario not in SCENARIOS:
                raise StackError(f"unknown scenario {scenario!r}",
                                 hint="choose one of " + ", ".join(SCENARIOS))
            scenario = SCENARIOS[scenario]
        self.scenario = scenario
        self.namespace = namespace
        self.wait_for_scrapes = wait_for_scrapes
        self.redis_password = secrets.token_hex(12) if password else None
        self._exit = contextlib.ExitStack()

    @property
    def prometheus_url(self) -> str:
        return self.prometheus.url

    @property
    def redis_url(self) -> str:
        return self.redis.url

    @property
    def exporter_url(self) -> str:
        return self.exporter.url

    @property
    def api_metrics_url(self) -> str:
        return self.api.url

    def env(self) -> dict[str, str]:
        """The variables pytest-slo reads to reach this stack."""
        env = {"SLO_PROMETHEUS_URL": self.prometheus_url, "SLO_REDIS_URL": self.redis_url}
        if self.redis_password:
            env["SLO_REDIS_PASSWORD"] = self.redis_password
        return env

    def _labels(self, app: str, address: str) -> dict[str, str]:
        """The labels Prometheus puts on a series of ``app`` scraped from ``address``."""
        return {"job": app, "instance": address, "namespace": self.namespace, "service": app}

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Stack:
        begun = time.monotonic()
        try:
            self._start()
        except BaseException:  # KeyboardInterrupt too: never leave half a stack running
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - begun
        return self

    def _start(self) -> None:
        sc, push = self.scenario, self._exit.callback
        self.workdir = Path(tempfile.mkdtemp(prefix=f"slo-stack-{sc.name}-"))
        push(shutil.rmtree, self.workdir, ignore_errors=True)
        # Each stop is registered before its start, so a half-started server is stopped too.
        self.redis = RedisServer(sc.maxmemory, sc.policy, self.redis_password,
                                 workdir=self.workdir)
        push(self.redis.stop)
        self.redis.start()
        self.exporter = RedisExporter(self.redis.url, self.redis_password, workdir=self.workdir)
        push(self.exporter.stop)
        self.exporter.start()
        # One client fills and then keeps writing: a filling client that disconnects frees
        # its buffers, which would let writes through again for a while.
        client = self.redis.client()
        push(client.close)
        _fill(client, sc)
        memory = client.info("memory")

        self.started_at = now = int(time.time())
        self.breach_started_at = None if sc.breach_ago is None else now - sc.breach_ago
        phases = [(now - sc.history, sc.before)]
        if sc.after is not None and self.breach_started_at is not None:
            phases.append((self.breach_started_at, sc.after))
        self._timeline = _ApiTimeline(tuple(phases))
        self.api = MetricsServer(lambda: _exposition(self._timeline.samples(time.time())))
        push(self.api.stop)
        self.api.start()

        data_dir = self.workdir / "prometheus-data"
        for chunk in self._history(self._timeline, int(memory["used_memory"]),
                                   int(memory["maxmemory"])):
            backfill(chunk, data_dir)
        self.prometheus = Prometheus(
            [(app, address, {"namespace": self.namespace, "service": app})
             for app, address in ((REDIS_APP, self.exporter.address),
                                  (API_APP, self.api.address))],
            data_dir, workdir=self.workdir)
        push(self.prometheus.stop)
        self.prometheus.start()
        writer = self._writer = _Writer(client, growing=sc.growth_per_hour > 0)
        push(writer.stop)
        writer.start()
        if self.wait_for_scrapes:
            self.prometheus.wait_for_scrapes()

    def _history(self, timeline: _ApiTimeline, used_now: int,
                 maxmemory: int) -> Iterator[str]:
        """OpenMetrics texts, a day each, from ``history`` ago up to a minute before start.

        A day per promtool run: promtool re-reads its whole input for every 2 h block it
        writes, so one file of 7 days takes ~13 s where seven files of a day take ~3.5 s.
        """
        sc, now = self.scenario, self.started_at
        # Memory ramps up to today's value until the breach (or start), and is flat after;
        # never under an empty Redis's footprint, however long the history.
        ramp_end = self.breach_started_at if self.breach_started_at is not None else now
        floor = min(used_now, MIB)
        redis_labels = self._labels(REDIS_APP, self.exporter.address)
        api_labels = self._labels(API_APP, self.api.address)
        for day in range(now - sc.history, now, 86400):
            lines = []
            for t in range(day, min(day + 86400, now), sc.history_step):
                used = max(floor, used_now - sc.growth_per_hour * max(0, ramp_end - t) / 3600)
                samples: list[Sample] = [
                    ("redis_memory_used_bytes", redis_labels, float(round(used))),
                    ("redis_memory_max_bytes", redis_labels, float(maxmemory)),
                ]
                samples += [(name, {**api_labels, **labels}, value)
                            for name, labels, value in timeline.samples(t)]
                lines += [f"{_series(name, labels)} {value!r} {t}"
                          for name, labels, value in samples]
            yield "\n".join(lines) + "\n# EOF\n"

    def heal(self, maxmemory: str = "1536mb", policy: str = "allkeys-lru", traffic: Traffic = RECOVERED) -> float:
        """The fix lands live, as a rollout of the fixed config would: Redis gets room and
        evicts (CONFIG SET, as a restart with the new values would start it), app writes stop
        growing the key set, and the API serves ``traffic`` from now on (its counters go on
        from where they are). Returns when it healed, in epoch seconds."""
        client = self.redis.client()
        try:
            client.config_set("maxmemory", maxmemory)
            client.config_set("maxmemory-policy", policy)
        finally:
            client.close()
        self._writer.growing = False
        # a moment just ahead, not a truncated second: a scrape that read the old timeline
        # counted the old traffic up to its own time, and counters must never go down
        healed = time.time() + 0.25
        self._timeline = _ApiTimeline((*self._timeline.phases, (healed, traffic)))
        return healed

    def stop(self) -> None:
        """Stop everything started so far; safe to call twice."""
        self._exit.close()
