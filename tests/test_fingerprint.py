"""Fingerprints: one problem, one fingerprint, on every run, machine and release of v1.

A baseline is matched by fingerprint; a fingerprint that moved with label order, ignored a label,
or cut a value that is not a pod name would call a known problem new, or a new one known.
"""

from __future__ import annotations

import re

import pytest

from pytest_slo.findings.fingerprint import VERSION, VOLATILE_LABELS, fingerprint, identity, object_key, owner_of_pod

REDIS = {"instance": "10.0.3.7:6379", "pod": "redis-cluster-0", "namespace": "production"}


def test_fingerprints_written_by_the_first_v1_release_still_match() -> None:
    """Values computed by pytest-slo at commit f2d41c6, which introduced v1 fingerprints: a
    baseline kept from then on must still match the same problems today."""
    assert VERSION == "v1"
    assert fingerprint("redis-eviction-policy", "production", "redis-cluster") == "b22bc20ada77daec62ab5d0b"
    two = [REDIS, {"instance": "10.0.3.8:6379", "pod": "redis-cluster-1", "namespace": "production"}]
    assert fingerprint("redis-memory-headroom", "production", "redis-cluster", two) == "b0802948b630c71a491bae4e"
    crash = [{"pod": "api-server-6b7f9c8d4-tq5ln", "container": "api", "container_id": "containerd://1ac5"}]
    assert fingerprint("kube-crashloop", "production", "api-server", crash) == "33551c806ba691a955bb0c6b"
    assert fingerprint("values-in-sync", None, None, [{"key": "REDIS_MAXMEMORY"}]) == "7902d35e7a1d50ee872c3c91"


def test_a_fingerprint_is_24_hex_digits() -> None:
    assert re.fullmatch(r"[0-9a-f]{24}", fingerprint("c", "s", "a", [REDIS]))


def test_label_order_does_not_change_a_fingerprint() -> None:
    shuffled = dict(reversed(list(REDIS.items())))
    assert list(shuffled) != list(REDIS)
    assert fingerprint("c", "s", "a", [REDIS]) == fingerprint("c", "s", "a", [shuffled])
    assert (
        object_key(REDIS)
        == object_key(shuffled)
        == '{"instance":"10.0.3.7:6379","namespace":"production","pod":"redis-cluster-0"}'
    )


def test_every_stable_label_counts_even_after_a_dropped_one() -> None:
    # a volatile label, or one without a value, first: the labels after it still tell objects apart
    for first in ({"container_id": "containerd://1ac5"}, {"pod_uid": None}, {"node": None}):
        a = fingerprint("c", "s", "a", [{**first, "instance": "10.0.3.7:6379"}])
        b = fingerprint("c", "s", "a", [{**first, "instance": "10.0.3.8:6379"}])
        assert a != b, first
    assert identity({"container_id": "x", "node": None, "instance": "i", "le": "0.5"}) == {"instance": "i", "le": "0.5"}


def test_a_label_without_a_value_is_no_label() -> None:
    assert fingerprint("c", "s", "a", [{**REDIS, "container": None}]) == fingerprint("c", "s", "a", [REDIS])
    # but an empty or zero value is a value
    assert fingerprint("c", "s", "a", [{**REDIS, "container": ""}]) != fingerprint("c", "s", "a", [REDIS])
    assert identity({"shard": 0}) == {"shard": "0"}


@pytest.mark.parametrize("label", sorted(VOLATILE_LABELS))
def test_labels_that_change_on_every_rollout_are_ignored(label: str) -> None:
    before = fingerprint("kube-oomkilled", "production", "redis-cluster", [{**REDIS, label: "before-rollout"}])
    after = fingerprint("kube-oomkilled", "production", "redis-cluster", [{**REDIS, label: "after-rollout"}])
    assert before == after == fingerprint("kube-oomkilled", "production", "redis-cluster", [REDIS])


def test_the_volatile_labels_are_exactly_these() -> None:
    # a label added here would merge distinct problems; one removed would split one problem per rollout
    assert VOLATILE_LABELS == {
        "container_id", "id", "uid", "pod_uid", "image_id", "image",
        "pod_template_hash", "controller_revision_hash", "pod_template_generation",
    }


@pytest.mark.parametrize(
    "label",
    ["instance", "namespace", "container", "job", "service", "node", "key", "field", "le", "deployment", "statefulset"],
)
def test_labels_that_name_the_object_tell_objects_apart(label: str) -> None:
    assert fingerprint("c", "s", "a", [{**REDIS, label: "one"}]) != fingerprint(
        "c", "s", "a", [{**REDIS, label: "two"}]
    )


@pytest.mark.parametrize("key", ["pod", "pod_name", "kubernetes_pod_name"])
def test_a_rescheduled_pod_is_the_same_problem_under_each_pod_label(key: str) -> None:
    before = fingerprint(
        "kube-crashloop", "production", "api-server", [{key: "api-server-6b7f9c8d4-tq5ln", "container": "api"}]
    )
    after = fingerprint(
        "kube-crashloop", "production", "api-server", [{key: "api-server-7c8d9f5b6-zx2vw", "container": "api"}]
    )
    assert before == after
    assert identity({key: "api-server-6b7f9c8d4-tq5ln"}) == {key: "api-server"}


def test_only_pod_labels_are_cut_to_an_owner() -> None:
    # a job or a series label that looks generated is still the object's own name
    assert identity({"job": "backup-x7k2p", "container": "api-server-6b7f9c8d4-tq5ln"}) == {
        "job": "backup-x7k2p",
        "container": "api-server-6b7f9c8d4-tq5ln",
    }
    assert fingerprint("c", "s", "a", [{"job": "backup-x7k2p"}]) != fingerprint(
        "c", "s", "a", [{"job": "backup-q9z4w"}]
    )


@pytest.mark.parametrize(
    ("pod", "owner"),
    [
        ("api-server-6b7f9c8d4-tq5ln", "api-server"),  # Deployment → ReplicaSet (9-character hash) → pod
        ("web-5d8c6bd47b-2xk9w", "web"),  # a 10-character pod-template hash
        ("web-84c6c9-2xk9w", "web"),  # a 6-character one
        ("fluent-bit-x7k2p", "fluent-bit"),  # DaemonSet or Job: 5 characters only
        ("nightly-backup-28475820-x7k2p", "nightly-backup-28475820"),  # a CronJob's Job keeps its schedule stamp
        ("redis-cluster-2", "redis-cluster-2"),  # StatefulSet ordinals are stable
        ("redis-cluster-12", "redis-cluster-12"),
        ("api-server", "api-server"),
        ("billing-queue", "billing-queue"),  # vowels never occur in a generated suffix
        ("cache-b1c2d", "cache-b1c2d"),  # nor 0, 1 or 3
        ("web-84c6c-2xk9w", "web-84c6c"),  # a 5-character hash is no ReplicaSet's: only the last part goes
        ("web-84c6c9d47b2-2xk9w", "web-84c6c9d47b2"),  # 11 characters: not a pod-template hash either
        ("x7k2p", "x7k2p"),  # a suffix alone has no owner
    ],
)
def test_a_pod_name_is_cut_to_its_owners_name(pod: str, owner: str) -> None:
    assert owner_of_pod(pod) == owner


def test_check_site_and_app_each_tell_findings_apart() -> None:
    base = fingerprint("redis-eviction-policy", "production", "redis-cluster")
    assert len({base, fingerprint("redis-maxmemory-headroom", "production", "redis-cluster"),
                fingerprint("redis-eviction-policy", "staging", "redis-cluster"),
                fingerprint("redis-eviction-policy", "production", "api-server")}) == 4
    # a site-wide finding (no app) is not the finding of an app, nor of a site-less run
    assert fingerprint("config-schema", "production", None) != fingerprint(
        "config-schema", "production", "redis-cluster"
    )
    assert fingerprint("config-schema", "production", None) != fingerprint("config-schema", None, None)
    assert fingerprint("config-schema", None, None) == fingerprint("config-schema", "", "")


def test_objects_count_as_a_set() -> None:
    x, y = {"instance": "a:1"}, {"instance": "b:1"}
    assert fingerprint("c", "s", "a", [x, y]) == fingerprint("c", "s", "a", (o for o in [y, x, y]))
    assert fingerprint("c", "s", "a", [x, y]) != fingerprint("c", "s", "a", [x]) != fingerprint("c", "s", "a")
    # a rescheduled pod and its old name are one object, not two
    pods = [{"pod": "api-server-6b7f9c8d4-tq5ln"}, {"pod": "api-server-7c8d9f5b6-zx2vw"}]
    assert fingerprint("c", "s", "a", pods) == fingerprint("c", "s", "a", pods[:1])
