"""The oracle table: for every shipped promql check, the series stories it is proven on and
the verdict each must get. ``tests/test_oracle.py`` turns each case into a promtool rule unit
test and into series of a real Prometheus, and holds pytest-slo's verdict to both.

Minutes ``m`` are relative to the evaluation time E (see ``model.py``); one sample a minute.
Label sets are what a Prometheus Operator ServiceMonitor attaches (``job``, ``instance``,
``service``; ``namespace`` is added per site). The API's latency profiles are the local
stack's (``teststack.scenario``: HEALTHY p99 50 ms, DEGRADED p99 8.4 s), whose bucket shares
put ``histogram_quantile(0.99)`` exactly on their p99.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from teststack.scenario import BUCKETS, DEGRADED, HEALTHY, Traffic

from .model import EVAL_MINUTE, FAIL, MINUTES, PASS, SKIP, Curve, Oracle, Series, case, series

__all__ = ["ORACLES", "SLO_COUNTING"]

REDIS, API = "redis-cluster", "api-server"
MIB, GIB = 1024**2, 1024**3
MAXMEMORY = 1536 * MIB  # REDIS_MAXMEMORY=1536mb of the reference site
PER_MINUTE = 2400  # requests a minute per API pod: 40 per second
PODS = ("10.0.2.21:8080", "10.0.2.22:8080", "10.0.2.23:8080")
REDISES = ("10.0.1.11:9121", "10.0.1.12:9121", "10.0.1.13:9121", "10.0.1.14:9121")
SLOW = Traffic(9.0, 0.0, (0.0,) * (len(BUCKETS) - 1) + (1.0,), 9.0)  # every request between 5 and 10 s
FIRST = -EVAL_MINUTE
#: What a diagnosis of series that stopped says: backfilled series have no ``up`` to explain them.
STALE = "but none in the last 5 minutes: their target is no longer scraped"


def counter(per_minute: Callable[[int], float], *, born: int = FIRST, dies: int | None = None,
            restarts: Sequence[int] = (), absent: range = range(0), start: float = 0.0) -> Curve:
    """A counter counting ``per_minute(m)`` in minute m: its first sample (at ``born``) already
    holds that minute's count, it starts from 0 again at each restart, and has no sample in
    ``absent`` or from ``dies`` on."""
    totals, total = {}, start
    for m in MINUTES:
        if m in restarts:
            total = 0.0
        if m >= born:
            total += per_minute(m)
        totals[m] = total
    return lambda m: None if m < born or (dies is not None and m >= dies) or m in absent else totals[m]


def gauge(f: Callable[[int], float], *, born: int = FIRST, dies: int | None = None) -> Curve:
    return lambda m: None if m < born or (dies is not None and m >= dies) else f(m)


# --------------------------------------------------------------------------- API series


def pod(instance: str, **extra: str) -> dict[str, str]:
    return {"job": API, "service": API, "instance": instance, "handler": "/api/v1/items", **extra}


def histogram(instance: str, traffic: Callable[[int], tuple[float, Traffic]], **kwargs: object) -> list[Series]:
    """``http_request_duration_seconds_bucket`` of one pod: ``traffic(m)`` is the number of
    requests in minute m and their latency profile."""
    bounds = [*(repr(float(b)) for b in BUCKETS), "+Inf"]
    out = []
    for i, le in enumerate(bounds):
        def share(m: int, i: int = i) -> float:
            n, profile = traffic(m)
            return n * (profile.cdf[i] if i < len(BUCKETS) else 1.0)

        out.append(
            series("http_request_duration_seconds_bucket", {**pod(instance), "le": le}, counter(share, **kwargs))
        )  # type: ignore[arg-type]
    return out


def requests(instance: str, per_minute: Callable[[int], float], error_ratio: Callable[[int], float],
             errors: dict[str, object] | None = None, **kwargs: object) -> list[Series]:
    """``http_requests_total`` of one pod, status 200 and 500; ``errors`` overrides the 500
    series' counter options (a 5xx series is created at the first error)."""
    ok = counter(lambda m: per_minute(m) * (1 - error_ratio(m)), **kwargs)  # type: ignore[arg-type]
    bad = counter(lambda m: per_minute(m) * error_ratio(m), **{**kwargs, **(errors or {})})  # type: ignore[arg-type]
    return [series("http_requests_total", pod(instance, status="200"), ok),
            series("http_requests_total", pod(instance, status="500"), bad)]


def steady(profile: Traffic, n: float = PER_MINUTE) -> Callable[[int], tuple[float, Traffic]]:
    return lambda m: (n, profile)


def since(
    minute: int, before: Traffic, after: Traffic, n: float = PER_MINUTE
) -> Callable[[int], tuple[float, Traffic]]:
    return lambda m: (n, after if m >= minute else before)


LATENCY = Oracle((
    case("healthy", "pass", "three pods, p99 50 ms", (s for p in PODS for s in histogram(p, steady(HEALTHY))), PASS),
    case("slow", "fail", "three pods at p99 8.4 s for 20 minutes",
         (s for p in PODS for s in histogram(p, since(-20, HEALTHY, DEGRADED))), FAIL,
         breaching=({},), message="p99 8400 ms (16.8x the SLO)"),
    case("no-traffic", "nan", "no request for 30 minutes: every bucket's rate is 0, the quantile NaN",
         (s for p in PODS for s in histogram(p, lambda m: (PER_MINUTE if m < -30 else 0, HEALTHY))), SKIP,
         message="NaN"),
    case("zero-requests", "zero", "pods up, never called: every bucket at 0",
         (s for p in PODS for s in histogram(p, steady(HEALTHY, 0))), SKIP, message="NaN"),
    case("cold-start", "new-series", "a new pod's first scrape (2 minutes ago) holds 600 requests of 5-10 s, "
         "then it is fast: 2% of the window's requests are slow",
         [*(s for p in PODS[:2] for s in histogram(p, steady(HEALTHY))),
          *histogram(PODS[2], lambda m: (600, SLOW) if m == -2 else (PER_MINUTE, HEALTHY), born=-2)], FAIL,
         breaching=({},)),
    case("restart", "restart", "a pod restarted 3 minutes ago (its counters start from 0) and is slow since",
         [*(s for p in PODS[:2] for s in histogram(p, steady(HEALTHY))),
          *histogram(PODS[2], since(-3, HEALTHY, DEGRADED), restarts=(-3,), start=5e6)], FAIL, breaching=({},)),
    case("one-pod-slow", "several", "one pod of three at p99 8.4 s: the service's p99 breaks",
         [*(s for p in PODS[:2] for s in histogram(p, steady(HEALTHY))),
          *histogram(PODS[2], since(-20, HEALTHY, DEGRADED))], FAIL, breaching=({},)),
    case("stale-pod", "stale", "a slow pod was removed 20 minutes ago; the other two are fast",
         [*(s for p in PODS[:2] for s in histogram(p, steady(HEALTHY))),
          *histogram(PODS[2], steady(DEGRADED), dies=-20)], PASS),
    case("all-stale", "stale", "every pod's series stopped 20 minutes ago: nothing to judge",
         (s for p in PODS for s in histogram(p, steady(HEALTHY), dies=-20)), FAIL,
         message=STALE),
))


def ratio(value: float, since_minute: int = FIRST) -> Callable[[int], float]:
    return lambda m: value if m >= since_minute else 0.0004


ERRORS = Oracle(
    (
        case(
            "healthy",
            "pass",
            "0.04% of requests fail",
            (s for p in PODS for s in requests(p, lambda m: PER_MINUTE, ratio(0.0004))),
            PASS,
        ),
        case(
            "burning",
            "fail",
            "12% of requests fail for 20 minutes",
            (s for p in PODS for s in requests(p, lambda m: PER_MINUTE, ratio(0.12, -20))),
            FAIL,
            breaching=({},),
            message="12.00% of requests fail with 5xx",
            values=(({}, 12.0),),
        ),
        case(
            "no-traffic",
            "nan",
            "no request for 30 minutes: 0 / 0",
            (s for p in PODS for s in requests(p, lambda m: PER_MINUTE if m < -30 else 0, ratio(0.0004))),
            SKIP,
            message="NaN",
        ),
        case(
            "zero-requests",
            "zero",
            "pods up, never called: only a status=200 series at 0",
            (series("http_requests_total", pod(p, status="200"), counter(lambda m: 0)) for p in PODS),
            SKIP,
            message="NaN",
        ),
        case(
            "no-errors-ever",
            "zero",
            "no request ever failed: there is no status=500 series",
            (series("http_requests_total", pod(p, status="200"), counter(lambda m: PER_MINUTE)) for p in PODS),
            PASS,
            values=(({}, 0.0),),
        ),
        case(
            "first-5xx-burst",
            "new-series",
            "the first 500s ever: a burst of 120 two minutes ago creates the status=500 "
            "series at 120, none since: 120 of 36,120 requests in the window (0.33%)",
            [
                *(s for p in PODS for s in requests(p, lambda m: PER_MINUTE, lambda m: 0.0)[:1]),
                series(
                    "http_requests_total", pod(PODS[0], status="500"), counter(lambda m: 120 if m == -2 else 0, born=-2)
                ),
            ],
            FAIL,
            breaching=({},),
        ),
        case(
            "restart",
            "restart",
            "a pod restarted 3 minutes ago (counters from 0) and fails 6% of its requests since",
            [
                *(s for p in PODS[:2] for s in requests(p, lambda m: PER_MINUTE, ratio(0.0))),
                *requests(PODS[2], lambda m: PER_MINUTE, ratio(0.06, -3), restarts=(-3,), start=1e6),
            ],
            FAIL,
            breaching=({},),
        ),
        case(
            "one-pod-failing",
            "several",
            "one pod of three fails 5% of its requests: 1.67% of the service's",
            [
                *(s for p in PODS[:2] for s in requests(p, lambda m: PER_MINUTE, ratio(0.0))),
                *requests(PODS[2], lambda m: PER_MINUTE, ratio(0.05, -20)),
            ],
            FAIL,
            breaching=({},),
        ),
        case(
            "stale-pod",
            "stale",
            "a failing pod was removed 20 minutes ago; the other two are fine",
            [
                *(s for p in PODS[:2] for s in requests(p, lambda m: PER_MINUTE, ratio(0.0))),
                *requests(PODS[2], lambda m: PER_MINUTE, ratio(0.5), dies=-20),
            ],
            PASS,
            values=(({}, 0.0),),
        ),
        case(
            "all-stale",
            "stale",
            "every pod's series stopped 20 minutes ago",
            (s for p in PODS for s in requests(p, lambda m: PER_MINUTE, ratio(0.0004), dies=-20)),
            FAIL,
            message=STALE,
        ),
    )
)


# --------------------------------------------------------------------------- Redis series


def redis(instance: str) -> dict[str, str]:
    return {"job": REDIS, "service": REDIS, "instance": instance}


def result(instance: str) -> dict[str, str]:
    """The labels of a per-instance result of the memory queries (the metric name dropped)."""
    return {**redis(instance), "namespace": "production"}


def memory(instance: str, used: Callable[[int], float], maxmemory: float = MAXMEMORY, policy: str = "allkeys-lru",
           **kwargs: int) -> list[Series]:
    return [
        series("redis_memory_used_bytes", redis(instance), gauge(used, **kwargs)),
        series("redis_memory_max_bytes", redis(instance), gauge(lambda m: maxmemory, **kwargs)),
        series("redis_instance_info", {**redis(instance), "maxmemory_policy": policy}, gauge(lambda m: 1, **kwargs)),
    ]


def flat(share: float) -> Callable[[int], float]:
    return lambda m: share * MAXMEMORY


HEADROOM = Oracle(
    (
        case(
            "healthy",
            "pass",
            "three instances at 50% of maxmemory",
            (s for r in REDISES[:3] for s in memory(r, flat(0.5))),
            PASS,
        ),
        case(
            "full",
            "fail",
            "one instance at 93.75% of maxmemory",
            memory(REDISES[0], flat(15 / 16)),
            FAIL,
            breaching=(result(REDISES[0]),),
            values=((result(REDISES[0]), 93.75),),
            message="93.8% of maxmemory used",
        ),
        case(
            "one-of-three",
            "several",
            "the third of three instances at 90%",
            [*memory(REDISES[0], flat(0.5)), *memory(REDISES[1], flat(0.6)), *memory(REDISES[2], flat(0.9))],
            FAIL,
            breaching=(result(REDISES[2]),),
        ),
        case(
            "no-maxmemory",
            "fail",
            "maxmemory 0 (no limit): used / 0 is +Inf",
            memory(REDISES[0], flat(0.1), maxmemory=0),
            FAIL,
            breaching=(result(REDISES[0]),),
            message="maxmemory is 0 (no limit)",
        ),
        case(
            "new-instance",
            "new-series",
            "a fourth instance appeared 2 minutes ago at 85%",
            [*(s for r in REDISES[:3] for s in memory(r, flat(0.5))), *memory(REDISES[3], flat(0.85), born=-2)],
            FAIL,
            breaching=(result(REDISES[3]),),
        ),
        case(
            "restart",
            "restart",
            "an instance at 95% restarted 10 minutes ago and holds 2% since",
            memory(REDISES[0], lambda m: (0.95 if m < -10 else 0.02) * MAXMEMORY),
            PASS,
        ),
        case(
            "stale-instance",
            "stale",
            "an instance at 95% lost its exporter 20 minutes ago; the others are at 50%",
            [*(s for r in REDISES[:2] for s in memory(r, flat(0.5))), *memory(REDISES[2], flat(0.95), dies=-20)],
            PASS,
        ),
        case(
            "all-stale",
            "stale",
            "every exporter stopped 20 minutes ago",
            (s for r in REDISES[:3] for s in memory(r, flat(0.5), dies=-20)),
            FAIL,
            message=STALE,
        ),
    ),
    {
        "nan": "used_memory of a running Redis is never 0, so used / max is never 0 / 0 (maxmemory 0 is +Inf: "
               "no-maxmemory)",
        "zero": "a gauge, not a counter of requests",
    },
)

def instance(name: str) -> dict[str, str]:
    """The labels of a per-instance result matched ``on (instance)`` or summed ``by (instance)``."""
    return {"instance": name}


PER_DAY = 180 * MIB


def growing(now: float, per_day: float) -> Callable[[int], float]:
    return lambda m: now + per_day * m / 1440


GROWTH = Oracle(
    (
        case("flat", "pass", "1.2 GiB used, flat", memory(REDISES[0], lambda m: 1.2 * GIB), PASS),
        case(
            "growing",
            "fail",
            "1.2 GiB used and +180 MiB a day: the 2Gi limit is 4.6 days away",
            memory(REDISES[0], growing(1.2 * GIB, PER_DAY)),
            FAIL,
            breaching=(instance(REDISES[0]),),
            message="reaches the 2Gi container limit in about 4.6 days; 1.2Gi used, +180Mi/day",
        ),
        case(
            "noeviction",
            "fail",
            "noeviction, 1000 MiB used, +20 MiB a day: 80% of maxmemory (1228.8 MiB) is 11 days away",
            memory(REDISES[0], growing(1000 * MIB, 20 * MIB), policy="noeviction"),
            FAIL,
            breaching=(instance(REDISES[0]),),
            message="reaches 80% of maxmemory (1.2Gi) in about 11 days",
        ),
        case(
            "no-room",
            "fail",
            "noeviction with maxmemory 0: nothing may be used",
            memory(REDISES[0], growing(100 * MIB, MIB), maxmemory=0, policy="noeviction"),
            FAIL,
            breaching=(instance(REDISES[0]),),
            message="no room to grow: maxmemory is 0 under noeviction",
        ),
        case(
            "one-of-three",
            "several",
            "one instance of three grows 180 MiB a day",
            [
                *memory(REDISES[0], lambda m: GIB),
                *memory(REDISES[1], lambda m: GIB),
                *memory(REDISES[2], growing(1.2 * GIB, PER_DAY)),
            ],
            FAIL,
            breaching=(instance(REDISES[2]),),
        ),
        case(
            "new-instance",
            "new-series",
            "an instance that appeared 2 hours ago grows 100 MiB an hour",
            [*memory(REDISES[0], lambda m: GIB), *memory(REDISES[1], growing(300 * MIB, 2400 * MIB), born=-120)],
            FAIL,
            breaching=(instance(REDISES[1]),),
        ),
        case(
            "restart",
            "restart",
            "at 1.9 GiB until a restart 2 hours ago, refilled to 1.1 GiB within the hour, flat since",
            memory(REDISES[0], lambda m: 1.9 * GIB if m < -120 else min(1.1 * GIB, 50 * MIB + (m + 120) * 18 * MIB)),
            PASS,
        ),
        case(
            "stale-instance",
            "stale",
            "a fast-growing instance lost its exporter 20 minutes ago; the other is flat",
            [*memory(REDISES[0], lambda m: GIB), *memory(REDISES[1], growing(1.2 * GIB, 10 * PER_DAY), dies=-20)],
            PASS,
        ),
        case(
            "all-stale",
            "stale",
            "every exporter stopped 20 minutes ago",
            memory(REDISES[0], lambda m: GIB, dies=-20),
            FAIL,
            message=STALE,
        ),
    ),
    {
        "nan": "predict_linear over a gauge with two samples is a number; maxmemory 0 is +Inf (no-room)",
        "zero": "a gauge, not a counter of requests",
    },
)


def oom(instance: str, curve: Curve) -> Series:
    return series("redis_errors_total", {**redis(instance), "err": "OOM"}, curve)


OOM_ERRORS = Oracle(
    (
        case(
            "never",
            "pass",
            "no OOM ever: redis_exporter has no err=OOM series",
            [series("redis_up", redis(REDISES[0]), gauge(lambda m: 1))],
            PASS,
        ),
        case(
            "old-flat",
            "zero",
            "an OOM series from last week, unchanged for hours",
            [oom(REDISES[0], lambda m: 100)],
            PASS,
            values=((instance(REDISES[0]), 0.0),),
        ),
        case(
            "first-oom",
            "new-series",
            "the first OOM errors ever, 30 minutes ago: the series appears at 51 and stays there",
            [oom(REDISES[0], gauge(lambda m: 51, born=-30))],
            FAIL,
            breaching=(instance(REDISES[0]),),
            values=((instance(REDISES[0]), 51.0),),
            message="51 writes refused",
        ),
        # 141 errors in all; increase() extrapolates the 90 after the first sample by half a scrape
        # interval towards the window's start (Prometheus' rate extrapolation): 51 + 91.5.
        case(
            "first-oom-rising",
            "new-series",
            "the series appears 30 minutes ago at 51 and rises 3 a minute",
            [oom(REDISES[0], gauge(lambda m: 51 + 3 * max(0, m + 30), born=-30))],
            FAIL,
            breaching=(instance(REDISES[0]),),
            values=((instance(REDISES[0]), 142.5),),
        ),
        case(
            "first-scrape",
            "new-series",
            "the series' first sample is the one at E: 51",
            [oom(REDISES[0], gauge(lambda m: 51, born=0))],
            FAIL,
            breaching=(instance(REDISES[0]),),
            values=((instance(REDISES[0]), 51.0),),
        ),
        case(
            "old-rising",
            "fail",
            "an old series at 100 rises 2 a minute for the last 10 minutes",
            [oom(REDISES[0], lambda m: 100 + 2 * max(0, m + 10))],
            FAIL,
            breaching=(instance(REDISES[0]),),
            values=((instance(REDISES[0]), 20.0),),
        ),
        case(
            "restart-then-oom",
            "restart",
            "at 100 until Redis restarted 20 minutes ago (errorstats cleared: the series "
            "is gone), back 10 minutes ago at 7",
            [oom(REDISES[0], lambda m: None if -20 <= m < -10 else 100 if m < -20 else 7)],
            FAIL,
            breaching=(instance(REDISES[0]),),
            values=((instance(REDISES[0]), 7.0),),
        ),
        # 58 were refused; the count is 7 + 7.1167: once a reset follows a series' birth,
        # min_over_time (the smallest value) is no longer its first value, and increase()
        # extrapolates the 7 after the reset by 2/3 of a minute. The verdict holds.
        case(
            "first-oom-then-restart",
            "new-series restart",
            "the series appears 40 minutes ago at 51; Redis restarts "
            "20 minutes ago (series gone) and the series is back 10 minutes ago at 7",
            [oom(REDISES[0], gauge(lambda m: None if -20 <= m < -10 else 51 if m < -20 else 7, born=-40))],
            FAIL,
            breaching=(instance(REDISES[0]),),
            values=((instance(REDISES[0]), 14.116666666666667),),
        ),
        case(
            "restart-clean",
            "restart stale",
            "at 100 until Redis restarted 20 minutes ago; no OOM since",
            [oom(REDISES[0], gauge(lambda m: 100, dies=-20))],
            PASS,
            values=((instance(REDISES[0]), 0.0),),
        ),
        case(
            "scrape-gap",
            "stale",
            "the exporter was down from 65 to 55 minutes ago, across the window's start; the counter did not move",
            [oom(REDISES[0], lambda m: None if -65 <= m < -55 else 100)],
            PASS,
        ),
        case(
            "burst-then-gone",
            "stale new-series",
            "the series appeared 50 minutes ago at 51 and is gone since 40 "
            "minutes ago (Redis restarted): 51 writes were refused within the hour",
            [oom(REDISES[0], gauge(lambda m: 51, born=-50, dies=-40))],
            FAIL,
            breaching=(instance(REDISES[0]),),
            values=((instance(REDISES[0]), 51.0),),
        ),
        case(
            "one-of-three",
            "several",
            "instance 1 has an old flat series, instance 2 got its first 3 OOM errors 5 minutes ago, instance 3 none",
            [oom(REDISES[0], lambda m: 100), oom(REDISES[1], gauge(lambda m: 3, born=-5))],
            FAIL,
            breaching=(instance(REDISES[1]),),
            values=((instance(REDISES[0]), 0.0), (instance(REDISES[1]), 3.0)),
        ),
    ),
    {"nan": "an increase of a counter is never NaN"},
)


#: Every promql check of checks/*.yaml and its oracle. A promql check missing here fails
#: tests/test_oracle.py::test_every_promql_check_has_an_oracle.
ORACLES: dict[str, Oracle] = {
    "slo-latency-p99": LATENCY,
    "slo-error-rate": ERRORS,
    "redis-memory-headroom": HEADROOM,
    "redis-memory-growth": GROWTH,
    "redis-oom-errors": OOM_ERRORS,
}


#: OpenSLO objectives of slos/*.yaml and the check whose cases prove their counting: the
#: availability SLO counts slo-error-rate's errors by the same rule (``counted``), so over
#: the same window its error ratio, in percent, is the check's value in every one of its
#: stories. tests/test_oracle.py holds them to agree in promtool and in a real Prometheus, over
#: the page pair's short and long windows (5m, 1h).
SLO_COUNTING: dict[str, str] = {"api-availability": "slo-error-rate"}
