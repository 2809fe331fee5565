"""The live benchmarks: Prometheus behind a latency proxy, and a 5,000-pod namespace on the loopback Kubernetes API.

live-latency  K promql checks (distinct queries) through a proxy adding ``PROXY_DELAY`` each way
              (a 40 ms round trip) / the floor: the same pytest command with ``--co`` (start-up
              and collection, nothing sent) plus ceil(K / concurrency) round trips     <= 1.15
              and the TCP connections the proxy accepted in a run              <= concurrency
kube-scale    the kube checks of N apps on a namespace of P pods / the floor: the same pytest
              command with ``--co`` plus the time of one LIST of the namespace's pods with the
              kubernetes client (``kube_list.py``, its LIST alone)                      <= 2
              and, from the server's request log, one LIST per (namespace, resource) per run,
              at most one namespace GET, whatever the number of apps and checks

Every run is checked for what the timing relies on (a run that breaks it stops the
benchmark): every item ran; the proxy forwarded one request per distinct query; the API
server saw one LIST per resource. The connection count is a figure with a target, reported
per run (RESULTS.json ``observed``), as is the request log.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from harness import Comparison, Outcome, Side, measure, run_timed
from latency_proxy import LatencyProxy
from make_cluster import make_cluster
from make_repo import make_repo

__all__ = ["LATENCY_TARGET", "PROXY_DELAY", "SCALE_TARGET", "kube_lists", "kube_scale", "live_latency"]

HERE = Path(__file__).resolve().parent
PROXY_DELAY = 0.02  # seconds each way: a 40 ms round trip, a link between regions
LATENCY_TARGET = 1.15
SCALE_TARGET = 2.0
NAMESPACE = "production"
RESOURCES = ("pods", "statefulsets", "deployments", "events")
COLLECTED = re.compile(r"^(\d+)(?:/\d+)? tests? collected", re.MULTILINE)


class Bench(Protocol):
    """What these benchmarks use of ``run.Bench``."""

    python: str
    env: dict[str, str]
    work: Path
    repeats: int
    extra: list[str]

    def pytest(self, *args: str) -> list[str]: ...


def expect_collected(total: int) -> Callable[[str], None]:
    def check(output: str) -> None:
        found = COLLECTED.findall(output)
        assert found and int(found[-1]) == total, f"expected {total} items collected, got {found or 'none'}"

    return check


def expect_ran(total: int) -> Callable[[str], None]:
    """Every item ran (passed, failed or skipped) and none errored."""
    def check(output: str) -> None:
        summary = [line for line in output.splitlines() if re.search(r" in \d+\.\d+s", line)]
        assert summary, "no pytest summary line in the output"
        got = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", summary[-1])}
        assert sum(v for k, v in got.items() if not k.startswith("error")) == total, (
            f"expected {total} items, got {got}"
        )
        assert not any(k.startswith("error") for k in got), f"errors: {got}"

    return check


# --------------------------------------------------------------------------- Prometheus


def _queries(path: Path) -> list[str]:
    import yaml

    from pytest_slo.expr import render_string

    catalog = yaml.safe_load((path / "checks" / "bench-promql.yaml").read_text(encoding="utf-8"))
    return [
        " ".join(render_string(c["query"], {"selector": f'namespace="{NAMESPACE}", service="{c["apps"][0]}"'}).split())
        for c in catalog["checks"]
    ]


def _minimal_client(url: str, queries: Sequence[str], concurrency: int) -> float:
    """Seconds a bare keep-alive client (requests, ``concurrency`` threads) takes for ``queries``:
    the round trips plus Prometheus's own time, without pytest."""
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from requests.adapters import HTTPAdapter

    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(pool_maxsize=concurrency, pool_block=True))
        at = round(time.time(), 3)
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            statuses = set(
                pool.map(
                    lambda q: session.get(f"{url}/api/v1/query", params={"query": q, "time": at}).json()["status"],
                    queries,
                )
            )
        seconds = time.perf_counter() - start
    assert statuses == {"success"}, statuses
    return seconds


def live_latency(b: Bench, count: int, concurrencies: Sequence[int]) -> list[Outcome]:
    """``count`` promql checks through the latency proxy, at each concurrency."""
    if not all(shutil.which(x) for x in ("prometheus", "redis-server", "prometheus-redis-exporter")):
        b.extra.append(
            "live-latency: prometheus/redis binaries are missing (scripts/system-deps.sh); comparison skipped."
        )
        return []
    from teststack.scenario import Stack

    path = b.work / f"repo-live-{count}"
    if not path.exists():
        make_repo(path, 1, 2, promql=count, site_names=[NAMESPACE])
    queries = _queries(path)
    distinct = len(set(queries))
    assert distinct == count, "the promql checks must be distinct"
    rtt = 2 * PROXY_DELAY
    outcomes = []
    with Stack("incident") as stack, LatencyProxy(stack.prometheus_url, PROXY_DELAY) as proxy:
        for c in concurrencies:
            rounds = math.ceil(distinct / c)
            observed: dict[str, Any] = {
                "concurrency": c,
                "distinct_queries": distinct,
                "connections": [],
                "requests": [],
            }
            ran = expect_ran(count)

            def check(output: str, observed: dict[str, Any] = observed, ran: Callable[[str], None] = ran) -> None:
                ran(output)
                seen = proxy.take()
                observed["connections"].append(seen.connections)
                observed["requests"].append(seen.requests)
                assert seen.requests == distinct, (
                    f"{seen.requests} requests through the proxy, not one per distinct query ({distinct})"
                )

            live = [
                "--live",
                "-m",
                "promql",
                "-k",
                "bench-promql",
                f"--prometheus-url={proxy.url}",
                f"--prometheus-concurrency={c}",
            ]
            run = Side(f"run, concurrency {c}", [b.pytest(*live)], path, b.env, (0,), check, before=proxy.take)
            floor = Side(f"--co + {rounds} x {rtt * 1000:.0f} ms", [b.pytest(*live, "--co")], path, b.env, (0,),
                         expect_collected(count), plus=rounds * rtt)
            outcome = measure(Comparison(
                f"live-latency-c{c}",
                f"{count} promql checks through a latency proxy ({PROXY_DELAY * 1000:.0f} ms each way), "
                f"--prometheus-concurrency={c} / the floor: `--co` + ceil({distinct}/{c}) x {rtt * 1000:.0f} ms",
                run, floor, ("<=", LATENCY_TARGET), observed=observed), b.repeats)
            bare = statistics.median(_minimal_client(proxy.url, queries, c) for _ in range(3))
            proxy.take()
            conns, reqs = observed["connections"], observed["requests"]
            co = statistics.median(w[0] for w in floor.walls)
            outcome.notes += [
                f"floor = `--co` run (median {co:.3f} s) + {rounds} x {rtt * 1000:.0f} ms = {rounds * rtt:.2f} s "
                "of round trips",
                f"TCP connections the proxy accepted per run: {', '.join(map(str, conns))} (max {max(conns)}, "
                f"target <= {c}); "
                f"requests per run: {', '.join(map(str, reqs))} ({distinct} distinct queries)",
                f"a bare keep-alive client (requests, {c} threads, no pytest) takes {bare:.3f} s for the same queries "
                f"through the proxy: {bare - rounds * rtt:+.3f} s on the round trips is Prometheus's and the "
                "proxy's own time; "
                "against `--co` + that client's time the run is at "
                f"{statistics.median(outcome.num_seconds) / (co + bare):.2f}x "
                "(context: what pytest-slo itself adds)",
            ]
            b.extra.append(
                f"live-latency at concurrency {c}: {max(conns)} TCP connections at most per run "
                f"({'holds' if max(conns) <= c else 'MISSES'} <= {c}), {max(reqs)} requests for {distinct} "
                "distinct queries; "
                f"wall / floor {outcome.median_ratio:.2f} ({'holds' if outcome.holds else 'MISSES'} <= "
                f"{LATENCY_TARGET})."
            )
            outcomes.append(outcome)
    return outcomes


# --------------------------------------------------------------------------- Kubernetes


def kube_lists(requests: Sequence[Any]) -> dict[str, int]:
    """A request log (``FakeKubeAPI.requests``) as counts: LISTs per resource of the namespace,
    namespace GETs, anything else."""
    counts: Counter[str] = Counter()
    for r in requests:
        parts = r.path.strip("/").split("/")
        if r.method == "GET" and parts[-1] in RESOURCES and parts[-3:-1] == ["namespaces", NAMESPACE]:
            counts[f"LIST {parts[-1]}"] += 1
        elif r.method == "GET" and parts == ["api", "v1", "namespaces", NAMESPACE]:
            counts["GET namespace"] += 1
        else:
            counts[f"other: {r.method} {r.path}"] += 1
    return dict(sorted(counts.items()))


def one_list_each(counts: dict[str, int]) -> str | None:
    """What is wrong with a run's request counts, or None: one LIST per resource, at most one namespace GET."""
    wrong = [f"{counts.get(f'LIST {r}', 0)} LISTs of {r}" for r in RESOURCES if counts.get(f"LIST {r}", 0) != 1]
    wrong += [f"{n} namespace GETs" for k, n in counts.items() if k == "GET namespace" and n > 1]
    wrong += [f"{n} x {k}" for k, n in counts.items() if k.startswith("other")]
    return "; ".join(wrong) or None


def _kube_checks(path: Path) -> list[str]:
    import yaml

    return [c["id"] for c in yaml.safe_load((path / "checks" / "kube.yaml").read_text(encoding="utf-8"))["checks"]]


def kube_scale(b: Bench, apps: int, pods: int) -> list[Outcome]:
    """The kube checks of ``apps`` apps on a namespace of ``pods`` pods."""
    from teststack.kubeapi import FakeKubeAPI

    path = b.work / f"repo-kube-{apps}"
    if not path.exists():
        make_repo(path, 1, apps, site_names=[NAMESPACE])
    manifest = json.loads((path / "bench-manifest.json").read_text(encoding="utf-8"))
    checks = _kube_checks(path)
    items = len(checks) * apps
    cluster = make_cluster(path, NAMESPACE, pods)
    with FakeKubeAPI(cluster, namespaces=[NAMESPACE]) as api:
        env = {k: v for k, v in b.env.items() if not k.startswith("KUBERNETES_")}  # never in-cluster
        env["KUBECONFIG"] = str(api.kubeconfig(b.work / "kubeconfig", namespace=NAMESPACE))
        observed: dict[str, Any] = {"apps": apps, "pods": pods, "items": items, "requests": []}
        ran = expect_ran(items)

        def check(output: str) -> None:
            ran(output)
            counts = kube_lists(api.requests)
            observed["requests"].append(counts)
            wrong = one_list_each(counts)
            assert wrong is None, f"not one LIST per (namespace, resource): {wrong}"

        kube = ["--live", "-m", "kube"]
        run = Side(
            f"kube checks of {apps} apps", [b.pytest(*kube)], path, env, (0, 1), check, before=api.clear_requests
        )
        collected = expect_collected(items)

        def floor_check(output: str) -> None:
            if " pods in namespace " not in output:  # the --co run; kube_list.py checks its count (--expect)
                collected(output)

        floor = Side("`--co` + one pods LIST", [b.pytest(*kube, "--co"), [
            b.python, str(HERE / "kube_list.py"), "--kubeconfig", env["KUBECONFIG"], "--namespace", NAMESPACE,
            "--expect", str(pods)]], path, env, (0,), floor_check, self_timed=(1,))
        outcome = measure(Comparison(
            "kube-scale", f"kube checks of {apps} apps ({items} items) on a namespace of {pods} pods, loopback API / "
            "the floor: `--co` + one LIST of the pods (kubernetes client, the LIST alone)",
            run, floor, ("<=", SCALE_TARGET), observed=observed), b.repeats)
        # whatever the number of apps and checks: the same requests for one app, and for one check
        others = {}
        for label, args in ((f"one app ({next(iter(manifest['apps']))})", ["--app", next(iter(manifest["apps"]))]),
                            (f"one check (kube-rollout) of {apps} apps", ["-k", "kube-rollout"])):
            api.clear_requests()
            result = run_timed(b.pytest(*kube, *args), path, env)
            assert result.returncode in (0, 1), result.output[-3000:]
            others[label] = kube_lists(api.requests)
            wrong = one_list_each(others[label])
            assert wrong is None, f"{label}: not one LIST per (namespace, resource): {wrong}"
        observed["other_runs"] = others
    co = statistics.median(w[0] for w in floor.walls)
    whole = statistics.median(w[1] for w in floor.walls)
    listed = statistics.median(outcome.den_seconds) - co
    size = len(json.dumps(cluster)) / 1e6
    outcome.notes += [
        f"the namespace: {pods} pods of {apps} apps' StatefulSets and Deployments ({size:.0f} MB of JSON), shapes of "
        "examples/snapshots/incident.json (benchmarks/make_cluster.py), served by teststack.kubeapi.FakeKubeAPI",
        f"floor = `--co` run (median {co:.3f} s) + the LIST alone (median {listed:.3f} s: request to parsed JSON, "
        f"kubernetes client with _preload_content=False); kube_list.py as a whole command (interpreter, kubernetes "
        f"import, kubeconfig, LIST) took {whole:.3f} s",
        "requests of each run of the kube checks (server log): "
        + "; ".join(sorted({json.dumps(r, sort_keys=True) for r in observed["requests"]}))
        + f" ({len(observed['requests'])} runs)",
        *[f"requests of a run of {label}: {json.dumps(counts, sort_keys=True)}" for label, counts in others.items()],
    ]
    every = [*observed["requests"], *others.values()]
    b.extra.append(f"kube-scale: one LIST per (namespace, resource) in every run "
                   f"({'holds' if all(one_list_each(r) is None for r in every) else 'MISSES'}: {len(every)} runs, "
                   f"{items} items of {apps} apps, 1 app, 1 check); wall / floor {outcome.median_ratio:.2f} "
                   f"({'holds' if outcome.holds else 'MISSES'} <= {SCALE_TARGET:g}).")
    return [outcome]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through benchmarks/run.py --only live-latency,kube-scale")
