"""Root-cause ranking and the incident's headline, on hand-made findings (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_slo.incident.rootcause import cause_phrase, headline, is_symptom, rank_candidates, symptom_phrase

ENV = "sites/production/config.env"
LIVE = {"promql", "redis", "kube"}
DRIFT = {"kube-resources-drift", "redis-eviction-policy-live"}
ENV_LINES = {
    ENV: {
        12: "REDIS_MEMORY_REQUEST",
        13: "REDIS_MEMORY_LIMIT",
        16: "REDIS_MAXMEMORY",
        17: "REDIS_EVICTION_POLICY",
        29: "SLO_API_LATENCY_P99_MS",
    },
    "sites/staging/config.env": {13: "REDIS_MEMORY_LIMIT"},
}
KEYS = {
    "kube-oomkilled": ["REDIS_MEMORY_LIMIT"],
    "redis-oom-errors": ["REDIS_EVICTION_POLICY"],
    "redis-memory-growth": ["REDIS_MEMORY_LIMIT", "REDIS_MAXMEMORY", "REDIS_GROWTH_WINDOW"],
    "redis-memory-headroom": ["REDIS_MAXMEMORY"],
    "slo-latency-p99": ["SLO_LATENCY_METRIC", "SLO_WINDOW", "SLO_API_LATENCY_P99_MS"],
}
TESTS = {"kube-oomkilled": "oomkilled", "kube-crashloop": "crashloop", "kube-resources-drift": "resources-drift"}


def finding(
    check: str,
    kind: str,
    severity: str,
    *,
    line: int | None = None,
    app: str = "redis-cluster",
    site: str = "production",
    outcome: str = "failed",
    **evidence: Any,
) -> dict[str, Any]:
    env = ENV if site == "production" else f"sites/{site}/config.env"
    return {
        "check": check,
        "title": f"the title of {check}",
        "kind": kind,
        "severity": severity,
        "site": site,
        "app": app,
        "outcome": outcome,
        "message": f"the title of {check}: details",
        "location": {"path": env, "line": line} if line else None,
        "evidence": evidence,
    }


def memory_drift(**kw: Any) -> dict[str, Any]:
    rows = [
        {"field": "resources.limits.cpu", "declared": "500m", "live": "500m", "same": True},
        {"field": "resources.limits.memory", "declared": "2Gi", "live": "512Mi", "same": False},
    ]
    return finding("kube-resources-drift", "kube", "P2", line=13, fields=rows, **kw)


def eviction_drift() -> dict[str, Any]:
    f = finding("redis-eviction-policy-live", "redis", "P1", line=17, REDIS_EVICTION_POLICY="allkeys-lru")
    f["evidence"] |= {
        "assert": "live.maxmemory_policy == REDIS_EVICTION_POLICY",
        "instances": [{"instance": "r:6379", "maxmemory_policy": "noeviction"}],
    }
    return f


def oom_kills() -> dict[str, Any]:
    return finding(
        "kube-oomkilled",
        "kube",
        "P1",
        line=13,
        items=[{"pod": "redis-cluster-1", "exitCode": 137}, {"pod": "redis-cluster-2", "exitCode": 137}],
    )


def oom_errors() -> dict[str, Any]:
    return finding(
        "redis-oom-errors",
        "promql",
        "P1",
        line=17,
        op="<=",
        threshold=0.0,
        unit="",
        breaching=[{"labels": {}, "value": 33.0}],
    )


def growth() -> dict[str, Any]:
    return finding(
        "redis-memory-growth",
        "promql",
        "P2",
        line=13,
        op="<",
        threshold=100.0,
        unit="%",
        breaching=[{"labels": {}, "value": 8451.8}],
    )


def latency() -> dict[str, Any]:
    return finding(
        "slo-latency-p99",
        "promql",
        "P1",
        line=29,
        app="api-server",
        op="<=",
        threshold=500.0,
        unit=" ms",
        breaching=[{"labels": {}, "value": 8399.99}, {"labels": {}, "value": 950.0}],
    )


def rank(findings: list[dict[str, Any]]) -> list[tuple[str, str | None, list[str], int]]:
    ranked = rank_candidates(findings, live_kinds=LIVE, drift=DRIFT, symptom_keys=KEYS, env_lines=ENV_LINES)
    return [(c.finding["check"], c.key, c.explains, c.score) for c in ranked]


def test_the_cause_that_explains_most_comes_first_whatever_its_own_severity() -> None:
    # the example incident: the P2 memory-limit drift explains the OOM kills (P1) and the
    # memory growth (P2); the P1 eviction-policy drift explains the refused writes (P1)
    ranked = rank([oom_kills(), oom_errors(), growth(), eviction_drift(), memory_drift()])
    assert ranked == [
        ("kube-resources-drift", "REDIS_MEMORY_LIMIT", ["kube-oomkilled", "redis-memory-growth"], 16 + 8),
        ("redis-eviction-policy-live", "REDIS_EVICTION_POLICY", ["redis-oom-errors"], 16),
    ]


def test_a_key_a_symptom_reads_first_counts_more_than_one_it_reads_third() -> None:
    slo_config = finding("slo-latency-objective", "config", "P3", line=29, app="api-server")
    memory = finding("redis-memory-limit", "config", "P3", line=13)
    ranked = rank([latency(), growth(), slo_config, memory])
    # growth reads REDIS_MEMORY_LIMIT first: 4 * 2 // 1; latency reads its objective third: 8 * 2 // 3
    assert ranked == [
        ("redis-memory-limit", "REDIS_MEMORY_LIMIT", ["redis-memory-growth"], 8),
        ("slo-latency-objective", "SLO_API_LATENCY_P99_MS", ["slo-latency-p99"], 5),
    ]


def test_candidates_that_explain_nothing_come_last_even_when_more_severe() -> None:
    unrelated = finding("redis-maxmemory-samples", "config", "P1", line=99)
    nowhere = finding("values-in-sync", "values", "P2")  # no location: no key
    ranked = rank([oom_kills(), unrelated, nowhere, memory_drift()])
    assert [(check, explains) for check, _, explains, _ in ranked] == [
        ("kube-resources-drift", ["kube-oomkilled"]),
        ("redis-maxmemory-samples", []),
        ("values-in-sync", []),
    ]
    assert ranked[1][1] is None and ranked[2][1] is None


def test_equal_scores_fall_back_to_severity_then_check_id() -> None:
    a = finding("b-limit", "config", "P3", line=13)
    b = finding("a-limit", "config", "P3", line=13)
    c = finding("z-limit", "config", "P2", line=13)
    assert [r[0] for r in rank([oom_kills(), a, b, c])] == ["z-limit", "a-limit", "b-limit"]


def test_only_failed_live_non_drift_findings_are_symptoms_and_only_at_the_same_site() -> None:
    errored = oom_kills() | {"outcome": "error"}
    assert not is_symptom(errored, LIVE, DRIFT) and not is_symptom(memory_drift(), LIVE, DRIFT)
    assert is_symptom(oom_kills(), LIVE, DRIFT)
    staging = memory_drift(site="staging")
    assert rank([errored, staging]) == [("kube-resources-drift", "REDIS_MEMORY_LIMIT", [], 0)]
    assert rank([oom_kills(), staging])[0][2] == []
    # a symptom is never a candidate
    assert [r[0] for r in rank([oom_kills(), oom_errors()])] == []


def test_the_headline_says_what_happened() -> None:
    findings = [oom_kills(), oom_errors(), growth(), eviction_drift(), memory_drift()]
    ranked = rank_candidates(findings, live_kinds=LIVE, drift=DRIFT, symptom_keys=KEYS, env_lines=ENV_LINES)
    symptoms = [f for f in findings if is_symptom(f, LIVE, DRIFT)]
    title, slug = headline(ranked, symptoms, TESTS)
    assert (title, slug) == (
        "redis-cluster: memory limit 512Mi live vs 2Gi declared, 2 OOM kills",
        "redis-cluster-memory-limit-drift-oom-kills",
    )
    assert "the title of" not in title
    # the eviction policy alone: its own worst symptom, the refused writes
    title, slug = headline(ranked[1:], symptoms, TESTS)
    assert (title, slug) == (
        "redis-cluster: maxmemory-policy noeviction live vs allkeys-lru declared, redis-oom-errors 33 vs <= 0",
        "redis-cluster-maxmemory-policy-drift-redis-oom-errors",
    )


def test_a_headline_across_apps_and_without_a_cause() -> None:
    memory = finding("redis-memory-limit", "config", "P3", line=13, REDIS_MEMORY_LIMIT="512Mi")
    keys = KEYS | {"slo-latency-p99": ["REDIS_MEMORY_LIMIT"]}
    ranked = rank_candidates([latency(), memory], live_kinds=LIVE, drift=DRIFT, symptom_keys=keys, env_lines=ENV_LINES)
    assert headline(ranked, [latency()], TESTS) == (
        "redis-cluster: REDIS_MEMORY_LIMIT=512Mi, api-server slo-latency-p99 8400 ms vs <= 500 ms",
        "redis-cluster-redis-memory-limit-slo-latency-p99",
    )
    # nothing explains it: the worst symptom alone, in its units
    assert headline([], [latency(), growth()], TESTS) == (
        "api-server: slo-latency-p99 8400 ms vs <= 500 ms",
        "api-server-slo-latency-p99",
    )


@pytest.mark.parametrize(
    ("f", "test", "text"),
    [
        (
            finding("kube-crashloop", "kube", "P1", items=[{"pod": "p", "restartCount": 7}]),
            "crashloop",
            "CrashLoopBackOff, 7 restarts",
        ),
        (
            finding("kube-restarts", "kube", "P3", items=[{"restartCount": 3}, {"restartCount": 9}]),
            "restarts",
            "9 restarts",
        ),
        (
            finding("kube-rollout", "kube", "P2", items=[{"desired": 3, "ready": 3}, {"desired": 3, "ready": 1}]),
            "rollout",
            "1 of 3 replicas ready",
        ),
        (
            finding(
                "slo-availability",
                "promql",
                "P1",
                op=">=",
                threshold=99.9,
                unit="%",
                breaching=[{"value": 99.1}, {"value": 97.25}],
            ),
            None,
            "slo-availability 97.25% vs >= 99.9%",
        ),
        (finding("custom", "redis", "P2"), None, "details"),
        # a kind that says what it saw in its own terms is taken at its word, never a raw value
        (
            finding(
                "redis-memory-growth",
                "promql",
                "P2",
                op="<",
                threshold=100,
                unit="%",
                breaching=[{"value": 8452.0}],
                shown="reaches 80% of maxmemory in about 3 hours",
            ),
            None,
            "reaches 80% of maxmemory in about 3 hours",
        ),
    ],
)
def test_symptom_phrases_are_in_the_symptoms_units(f: dict[str, Any], test: str | None, text: str) -> None:
    assert symptom_phrase(f, test).text == text


def test_cause_phrases_from_redis_sizes_and_a_missing_evidence() -> None:
    maxmemory = {
        "evidence": {
            "assert": "live.maxmemory == REDIS_MAXMEMORY | redis_bytes",
            "REDIS_MAXMEMORY": "1536mb",
            "instances": [{"maxmemory": 16777216}],
        }
    }
    phrase = cause_phrase(maxmemory)
    assert phrase is not None and phrase.text == "maxmemory 16mb live vs 1536mb declared"
    assert cause_phrase({"evidence": {}}, "REDIS_MEMORY_LIMIT") is None
