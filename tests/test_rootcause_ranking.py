"""The incident's name and its ranked causes, as the postmortem draft gets them: findings →
``rank_candidates`` → ``headline`` (the draft's title and the words of its file name).
Hand-made findings, no server."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_slo.incident.rootcause import cause_phrase, headline, is_symptom, rank_candidates

ENV = "sites/production/config.env"
LIVE = {"promql", "redis", "kube"}
DRIFT = {"kube-resources-drift", "kube-image-drift", "redis-eviction-policy-live"}
ENV_LINES = {ENV: {13: "REDIS_MEMORY_LIMIT", 16: "REDIS_MAXMEMORY", 29: "SLO_API_LATENCY_P99_MS"}}
KEYS = {
    "kube-oomkilled": ["REDIS_MEMORY_LIMIT"],
    "redis-memory-growth": ["REDIS_MEMORY_LIMIT"],
    "redis-memory-headroom": ["REDIS_MAXMEMORY"],
    "slo-latency-p99": ["SLO_API_LATENCY_P99_MS"],
}
TESTS = {
    "kube-oomkilled": "oomkilled",
    "kube-crashloop": "crashloop",
    "kube-restarts": "restarts",
    "kube-rollout": "rollout",
    "kube-pending": "pending",
}


def finding(check: str, kind: str, severity: str = "P1", *, app: str | None = "redis-cluster", line: int | None = None,
            message: str = "details", **evidence: Any) -> dict[str, Any]:
    title = f"the title of {check}"
    return {
        "check": check,
        "title": title,
        "kind": kind,
        "severity": severity,
        "site": "production",
        "app": app,
        "outcome": "failed",
        "message": f"{title}: {message}" if message else "",
        "location": {"path": ENV, "line": line} if line else None,
        "evidence": evidence,
    }


def oom_kills(n: int = 2, **kw: Any) -> dict[str, Any]:
    return finding(
        "kube-oomkilled", "kube", items=[{"pod": f"redis-cluster-{i}", "exitCode": 137} for i in range(n)], **kw
    )


def limit_drift(**kw: Any) -> dict[str, Any]:
    rows = [{"field": "resources.limits.memory", "declared": "2Gi", "live": "512Mi", "same": False}]
    return finding("kube-resources-drift", "kube", "P2", line=13, fields=rows, **kw)


def incident(findings: list[dict[str, Any]], keys: dict[str, list[str]] = KEYS) -> tuple[str, str]:
    """(title, slug) of the draft, the way the postmortem computes them."""
    ranked = rank_candidates(findings, live_kinds=LIVE, drift=DRIFT, symptom_keys=keys, env_lines=ENV_LINES)
    return headline(ranked, [f for f in findings if is_symptom(f, LIVE, DRIFT)], TESTS)


def rank(
    findings: list[dict[str, Any]], keys: dict[str, list[str]] = KEYS
) -> list[tuple[str, str | None, list[str], int]]:
    ranked = rank_candidates(findings, live_kinds=LIVE, drift=DRIFT, symptom_keys=keys, env_lines=ENV_LINES)
    return [(c.finding["check"], c.key, c.explains, c.score) for c in ranked]


@pytest.mark.parametrize(
    ("symptom", "title", "slug"),
    [
        # counts in the singular and without any count
        (oom_kills(1), "redis-cluster: 1 OOM kill", "redis-cluster-oom-kills"),
        (oom_kills(0), "redis-cluster: OOM kills", "redis-cluster-oom-kills"),
        (
            finding("kube-crashloop", "kube", items=[{"pod": "p", "restartCount": 1}]),
            "redis-cluster: CrashLoopBackOff, 1 restart",
            "redis-cluster-crashloop",
        ),
        (finding("kube-crashloop", "kube", items=[]), "redis-cluster: CrashLoopBackOff", "redis-cluster-crashloop"),
        (
            finding("kube-crashloop", "kube", items=[{"pod": "p", "restartCount": 0}, {"pod": "q"}]),
            "redis-cluster: CrashLoopBackOff",
            "redis-cluster-crashloop",
        ),
        (
            finding("kube-restarts", "kube", "P3", items=[{"restartCount": 1}]),
            "redis-cluster: 1 restart",
            "redis-cluster-restarts",
        ),
        (finding("kube-restarts", "kube", "P3", items=[]), "redis-cluster: 0 restarts", "redis-cluster-restarts"),
        (
            finding("kube-restarts", "kube", "P3", items=[{"pod": "p"}]),
            "redis-cluster: 0 restarts",
            "redis-cluster-restarts",
        ),
        # the rollout furthest from its desired replicas, not the smallest one; one scaled to zero is not short
        (
            finding("kube-rollout", "kube", "P2", items=[{"desired": 2, "ready": 2}, {"desired": 10, "ready": 5}]),
            "redis-cluster: 5 of 10 replicas ready",
            "redis-cluster-rollout",
        ),
        (
            finding("kube-rollout", "kube", "P2", items=[{"desired": 5, "ready": 3}, {"desired": 3, "ready": 0}]),
            "redis-cluster: 0 of 3 replicas ready",
            "redis-cluster-rollout",
        ),
        (
            finding("kube-rollout", "kube", "P2", items=[{"desired": 0, "ready": 0}, {"desired": 3, "ready": 2}]),
            "redis-cluster: 2 of 3 replicas ready",
            "redis-cluster-rollout",
        ),
        # a check with items that is no rollout says it in its message, without its title
        (
            finding("kube-pending", "kube", "P2", message="2 pods Pending", items=[{"pod": "p", "phase": "Pending"}]),
            "redis-cluster: 2 pods Pending",
            "redis-cluster-kube-pending",
        ),
        # a threshold check's worst value, whether its kind calls the series breaching or values
        (
            finding(
                "redis-memory-headroom",
                "promql",
                "P2",
                op="<",
                threshold=90,
                unit="%",
                values=[{"value": 93.5}, {"value": 97.0}],
            ),
            "redis-cluster: redis-memory-headroom 97% vs < 90%",
            "redis-cluster-redis-memory-headroom",
        ),
        (
            finding("redis-oom-errors", "promql", op="<=", breaching=[{"labels": {}, "value": 33.0}]),
            "redis-cluster: redis-oom-errors 33 vs <= 0",
            "redis-cluster-redis-oom-errors",
        ),
        (
            finding(
                "slo-latency-p99",
                "promql",
                app="api-server",
                op="<=",
                threshold=500,
                unit=" ms",
                breaching=[
                    {"labels": {"pod": "a"}, "value": None},
                    {"labels": {}, "value": "n/a"},
                    {"labels": {}, "value": 950.0},
                ],
            ),
            "api-server: slo-latency-p99 950 ms vs <= 500 ms",
            "api-server-slo-latency-p99",
        ),
        # series without a comparison: the check's message
        (
            finding(
                "redis-keyspace-misses", "promql", "P3", message="3 series above the line", breaching=[{"value": 3.0}]
            ),
            "redis-cluster: 3 series above the line",
            "redis-cluster-redis-keyspace-misses",
        ),
        # a message that does not start with the title is said whole (its first line); none at all, the check id
        (
            finding("redis-ping", "redis") | {"message": "connection refused by 10.0.0.7:6379\nTraceback ..."},
            "redis-cluster: connection refused by 10.0.0.7:6379",
            "redis-cluster-redis-ping",
        ),
        (finding("redis-ping", "redis", message=""), "redis-cluster: redis-ping", "redis-cluster-redis-ping"),
        # the kind's own words; the file name keeps the check id
        (
            finding("redis-memory-growth", "promql", "P2", shown="reaches 80% of maxmemory in about 3 hours"),
            "redis-cluster: reaches 80% of maxmemory in about 3 hours",
            "redis-cluster-redis-memory-growth",
        ),
        # a site-wide symptom has no app to name
        (oom_kills(3, app=None), "3 OOM kills", "oom-kills"),
    ],
)
def test_an_incident_without_a_cause_is_named_by_its_symptom_in_its_units(
    symptom: dict[str, Any], title: str, slug: str
) -> None:
    assert incident([symptom]) == (title, slug)


def test_the_worst_symptom_names_the_incident_by_severity_check_then_app() -> None:
    busy = oom_kills(2, app="redis-cluster")
    assert incident([busy, oom_kills(1, app="api-server")]) == ("api-server: 1 OOM kill", "api-server-oom-kills")
    # a site-wide symptom comes before any app's, even one whose name starts with a digit
    assert incident([oom_kills(1, app="2fa"), oom_kills(3, app=None)]) == ("3 OOM kills", "oom-kills")
    assert incident([finding("redis-oom-errors", "promql", "P2", op="<=", breaching=[{"value": 1.0}]), busy]) == (
        "redis-cluster: 2 OOM kills", "redis-cluster-oom-kills")


def test_a_cause_and_its_symptom_are_named_by_the_cause_app_or_else_the_symptom_app() -> None:
    latency = finding(
        "slo-latency-p99", "promql", app="api-server", op="<=", threshold=500, unit=" ms", breaching=[{"value": 8400.0}]
    )
    objective = finding("slo-latency-objective", "config", "P3", app=None, line=29, SLO_API_LATENCY_P99_MS=500)
    assert incident([latency, objective]) == (
        "api-server: SLO_API_LATENCY_P99_MS=500, slo-latency-p99 8400 ms vs <= 500 ms",
        "api-server-slo-api-latency-p99-ms-slo-latency-p99",
    )
    # neither has an app: no app in the title nor in the file name
    limit = finding("redis-memory-limit", "config", "P3", app=None, line=13, REDIS_MEMORY_LIMIT="512Mi")
    assert incident([oom_kills(1, app=None), limit]) == (
        "REDIS_MEMORY_LIMIT=512Mi, 1 OOM kill",
        "redis-memory-limit-oom-kills",
    )


def test_a_cause_whose_evidence_says_nothing_leaves_the_symptom_alone_in_the_title() -> None:
    silent = finding("redis-memory-limit", "config", "P3", line=13)  # explains the OOM kills, but no value to quote
    assert rank([oom_kills(), silent])[0][:3] == ("redis-memory-limit", "REDIS_MEMORY_LIMIT", ["kube-oomkilled"])
    assert incident([oom_kills(), silent]) == ("redis-cluster: 2 OOM kills", "redis-cluster-oom-kills")


def test_a_headline_without_symptoms_names_the_top_cause_alone_or_nothing() -> None:
    ranked = rank_candidates(
        [oom_kills(), limit_drift()], live_kinds=LIVE, drift=DRIFT, symptom_keys=KEYS, env_lines=ENV_LINES
    )
    assert headline(ranked, [], TESTS) == (
        "redis-cluster: memory limit 512Mi live vs 2Gi declared",
        "redis-cluster-memory-limit-drift",
    )
    # a cause without a value to quote and without an app: its check id
    silent = finding("redis-memory-limit", "config", "P3", app=None, line=13)
    ranked = rank_candidates(
        [oom_kills(), silent], live_kinds=LIVE, drift=DRIFT, symptom_keys=KEYS, env_lines=ENV_LINES
    )
    assert headline(ranked, []) == ("redis-memory-limit", "redis-memory-limit")
    assert headline([], []) == ("", "")


def test_candidates_that_tie_are_ranked_by_app_a_site_wide_one_first() -> None:
    same = [
        finding("redis-memory-limit", "config", "P3", app=app, line=13)
        for app in ("redis-cluster", "2fa", None, "api-server")
    ]
    ranked = rank_candidates(same, live_kinds=LIVE, drift=DRIFT, symptom_keys=KEYS, env_lines=ENV_LINES)
    assert [c.finding["app"] for c in ranked] == [None, "2fa", "api-server", "redis-cluster"]


def test_a_symptom_of_a_severity_the_ranking_does_not_know_counts_least() -> None:
    # a findings file from elsewhere may carry any severity: it weighs as P4
    keys = {"legacy-latency": ["REDIS_MAXMEMORY"], "redis-memory-growth": ["REDIS_MEMORY_LIMIT"]}
    legacy = finding("legacy-latency", "promql", "critical", op="<=", breaching=[{"value": 9.0}])
    growth = finding("redis-memory-growth", "promql", "P3", op="<", breaching=[{"value": 120.0}])
    maxmemory = finding("redis-maxmemory", "config", "P1", line=16, REDIS_MAXMEMORY="1gb")
    limit = finding("redis-memory-limit", "config", "P3", line=13, REDIS_MEMORY_LIMIT="512Mi")
    assert rank([legacy, growth, maxmemory, limit], keys) == [
        ("redis-memory-limit", "REDIS_MEMORY_LIMIT", ["redis-memory-growth"], 4),
        ("redis-maxmemory", "REDIS_MAXMEMORY", ["legacy-latency"], 2),
    ]


def test_a_candidate_explains_only_symptoms_that_read_the_key_on_its_line() -> None:
    # no line in config.env: no key, even where the file's first line holds one
    unlocated = finding("redis-memory-limit", "config", "P3") | {"location": {"path": ENV, "line": None}}
    ranked = rank_candidates([oom_kills(), unlocated], live_kinds=LIVE, drift=DRIFT, symptom_keys=KEYS,
                             env_lines={ENV: {1: "REDIS_MEMORY_LIMIT"}})
    assert [(c.key, c.explains) for c in ranked] == [(None, [])]
    # a symptom that reads no declared key explains no candidate
    latency = finding("redis-latency", "redis", op="<=", breaching=[{"value": 12.0}])
    assert rank([latency, limit_drift()]) == [("kube-resources-drift", "REDIS_MEMORY_LIMIT", [], 0)]


def drift(field: str, live: str, declared: str) -> dict[str, Any]:
    return {"evidence": {"fields": [{"field": field, "declared": declared, "live": live, "same": False}]}}


def maxmemory(live: int) -> dict[str, Any]:
    return {"evidence": {"assert": "live.maxmemory == REDIS_MAXMEMORY | redis_bytes", "REDIS_MAXMEMORY": "512mb",
                         "instances": [{"instance": "r:6379", "maxmemory": live}]}}


@pytest.mark.parametrize(
    ("f", "text", "slug"),
    [
        (drift("image.tag", "7.2.4", "7.2.5"), "image tag 7.2.4 live vs 7.2.5 declared", "image-tag-drift"),
        (drift("image", "redis:7.2.4", "redis:7.2.5"), "image redis:7.2.4 live vs redis:7.2.5 declared", "image-drift"),
        (
            drift("image.repository", "bitnami/redis", "redis"),
            "image bitnami/redis live vs redis declared",
            "image-drift",
        ),
        (
            drift("resources.requests.cpu", "250m", "500m"),
            "CPU request 250m live vs 500m declared",
            "cpu-request-drift",
        ),
        (drift("replicas", "2", "3"), "replicas 2 live vs 3 declared", "replicas-drift"),
        # Redis sizes as a person writes them: binary, in whole mb or gb, a fraction only from 10 up
        (maxmemory(0), "maxmemory 0 live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(1000), "maxmemory 1000 live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(5_000_000), "maxmemory 5000000 live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(1 << 20), "maxmemory 1mb live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(15_000_000), "maxmemory 14.3051mb live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(1536 << 20), "maxmemory 1536mb live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(1 << 30), "maxmemory 1gb live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(2 << 30), "maxmemory 2gb live vs 512mb declared", "maxmemory-drift"),
        (maxmemory(10752 << 20), "maxmemory 10.5gb live vs 512mb declared", "maxmemory-drift"),
        # a live setting without a friendlier name is said as Redis names it
        (
            {
                "evidence": {
                    "assert": "live.appendonly == REDIS_APPENDONLY",
                    "REDIS_APPENDONLY": "yes",
                    "instances": [{"appendonly": "no"}],
                }
            },
            "appendonly no live vs yes declared",
            "appendonly-drift",
        ),
    ],
)
def test_a_cause_is_phrased_in_the_words_and_units_a_person_reads(f: dict[str, Any], text: str, slug: str) -> None:
    phrase = cause_phrase(f)
    assert phrase is not None and (phrase.text, phrase.slug) == (text, slug)


def test_a_cause_without_a_live_comparison_quotes_its_declared_value_or_says_nothing() -> None:
    # instances read, but no assertion on a live value: the key as declared
    evidence = {"instances": [{"maxmemory": 16777216}], "REDIS_MAXMEMORY": "1gb"}
    phrase = cause_phrase({"evidence": evidence}, "REDIS_MAXMEMORY")
    assert phrase is not None and (phrase.text, phrase.slug) == ("REDIS_MAXMEMORY=1gb", "redis-maxmemory")
    # a live assertion without a declared value to compare it with
    unknown = {"assert": "live.maxmemory > 0", "instances": [{"maxmemory": 16777216}]}
    assert cause_phrase({"evidence": unknown}, "REDIS_MAXMEMORY") is None
