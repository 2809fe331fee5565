"""Which findings a waiver covers: no more than it names, and only until its date.

A waiver that covered more than it should would hide a new breach behind an accepted one; one
that covered less would fail a run the team has accepted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pytest_slo.catalog.waivers import Waiver
from pytest_slo.errors import CatalogError
from pytest_slo.findings.waived import Waived, covers, waived

TODAY = dt.date(2026, 12, 1)
A, B, C = "10.0.3.7:6379", "10.0.3.8:6379", "10.0.3.9:6379"


def waiver(**kw: Any) -> Waiver:
    base: dict[str, Any] = {
        "check": "redis-memory-headroom",
        "until": TODAY,
        "owner": "sre-oncall",
        "reason": "resize (OPS-1)",
        "line": 2,
    }
    return Waiver(**{**base, **kw})


def finding(
    *objects: dict[str, Any],
    check: str = "redis-memory-headroom",
    site: str | None = "production",
    app: str | None = "redis-cluster",
) -> dict[str, Any]:
    return {"check": check, "site": site, "app": app, "outcome": "failed", "kind": "promql", "objects": list(objects)}


# ------------------------------------------------------------------ whose findings


def test_a_waiver_covers_its_check_only() -> None:
    assert waiver().applies("redis-memory-headroom", "production", "redis-cluster")
    assert not waiver().applies("redis-memory-growth", "production", "redis-cluster")
    assert not waiver().applies("redis-memory-headroo", "production", "redis-cluster")


def test_without_site_or_app_a_waiver_covers_every_site_and_app() -> None:
    for site in ("production", "staging", None):
        for app in ("redis-cluster", "api-server", None):
            assert waiver().applies("redis-memory-headroom", site, app)


def test_a_site_or_app_narrows_a_waiver_to_it() -> None:
    narrow = waiver(site="staging", app="redis-cluster")
    assert narrow.applies("redis-memory-headroom", "staging", "redis-cluster")
    assert not narrow.applies("redis-memory-headroom", "production", "redis-cluster")
    assert not narrow.applies("redis-memory-headroom", "staging", "api-server")
    assert not narrow.applies("redis-memory-headroom", None, "redis-cluster")  # a site-wide finding of no site
    assert not narrow.applies("redis-memory-headroom", "staging", None)  # the site as a whole is not the app
    assert waiver(site="staging").applies("redis-memory-headroom", "staging", "api-server")
    assert waiver(app="api-server").applies("redis-memory-headroom", "production", "api-server")
    assert not waiver(app="api-server").applies("redis-memory-headroom", "production", "redis-cluster")


def test_a_finding_is_waived_only_by_the_waivers_of_its_check_site_and_app() -> None:
    mine = waiver(site="production", app="redis-cluster")
    assert waived(finding({"instance": A}), [mine], TODAY) == Waived((mine,), True)
    assert waived(finding({"instance": A}, app="api-server"), [mine], TODAY) is None
    assert waived(finding({"instance": A}, site="staging"), [mine], TODAY) is None
    assert waived(finding({"instance": A}, check="redis-memory-growth"), [mine], TODAY) is None


def test_a_malformed_waiver_covers_nothing() -> None:
    broken = waiver(problem=CatalogError("owner: missing", path="checks/waivers.yaml", line=2))
    assert not broken.applies("redis-memory-headroom", "production", "redis-cluster")
    assert waived(finding({"instance": A}), [broken], TODAY) is None


def test_a_waiver_holds_through_its_last_day_and_not_a_day_more() -> None:
    last = waiver(until=TODAY)
    assert not last.expired(TODAY - dt.timedelta(days=30)) and not last.expired(TODAY)
    assert last.expired(TODAY + dt.timedelta(days=1))
    assert waived(finding(), [last], TODAY) is not None
    assert waived(finding(), [last], TODAY + dt.timedelta(days=1)) is None


# ------------------------------------------------------------------ which objects


def test_match_needs_every_label_it_names() -> None:
    both = waiver(match={"instance": A, "pod": "redis-cluster-0"})
    assert covers(both, {"instance": A, "pod": "redis-cluster-0", "job": "redis"})  # other labels do not matter
    assert not covers(both, {"instance": A, "pod": "redis-cluster-1"})  # one label of two is not enough
    assert not covers(both, {"instance": B, "pod": "redis-cluster-0"})
    assert not covers(both, {"instance": A})  # a label the object lacks does not hold
    assert not covers(waiver(match={"instance": A}), {"instance": B})


def test_a_pod_matches_by_its_generated_name_or_its_owners() -> None:
    crash = {"pod": "api-server", "container": "api"}  # findings hold the owner, as fingerprints do
    for pod in ("api-server", "api-server-6b7f9c8d4-tq5ln", "api-server-7c8d9f5b6-zx2vw"):
        assert covers(waiver(match={"pod": pod}), crash), pod
        assert covers(waiver(match={"pod": pod}), {"pod": "api-server-6b7f9c8d4-tq5ln"}), pod
    assert not covers(waiver(match={"pod": "billing"}), crash)
    assert not covers(waiver(match={"pod": "api-server", "container": "sidecar"}), crash)


def test_a_label_fingerprints_ignore_matches_nothing_not_everything() -> None:
    obj = {"pod": "api-server", "container": "api", "container_id": "containerd://1ac5"}
    assert not covers(waiver(match={"container_id": "containerd://1ac5"}), obj)
    assert not covers(waiver(match={"container": "api", "image": "redis:7"}), {**obj, "image": "redis:7"})


def test_a_number_in_match_is_the_label_value_it_spells() -> None:
    # the loader keeps match values as text: "shard: 0" in YAML matches the label value "0"
    assert covers(waiver(match={"shard": "0"}), {"shard": 0, "instance": A})
    assert not covers(waiver(match={"shard": "1"}), {"shard": 0})


# ------------------------------------------------------------------ the whole finding


def test_every_failing_object_must_be_covered_for_the_finding_to_be_waived() -> None:
    one, other = waiver(match={"instance": A}), waiver(match={"instance": B}, line=9)
    three = finding({"instance": A}, {"instance": B}, {"instance": C})
    partial = waived(three, [one, other], TODAY)
    assert partial is not None and partial.complete is False and partial.waivers == (one, other)
    full = waived(finding({"instance": A}, {"instance": B}), [one, other], TODAY)
    assert full is not None and full.complete and full.waivers == (one, other)
    # an uncovered object first does not hide the covered ones after it
    late = waived(finding({"instance": C}, {"instance": A}), [one], TODAY)
    assert late is not None and late.complete is False and late.waivers == (one,)


def test_a_waiver_covering_several_objects_is_named_once_and_the_first_that_covers_wins() -> None:
    every = waiver(line=4)  # no match: the finding's objects all
    named = waiver(match={"instance": A}, line=7)
    two = finding({"instance": A}, {"instance": B})
    result = waived(two, [named, every], TODAY)
    assert result is not None and result.complete and result.waivers == (named, every)
    assert waived(two, [every, named], TODAY).waivers == (every,)  # type: ignore[union-attr]


def test_no_waiver_for_these_objects_is_no_waiver() -> None:
    assert waived(finding({"instance": C}), [waiver(match={"instance": A})], TODAY) is None
    assert waived(finding({"instance": A}), [], TODAY) is None
    assert waived(finding({"instance": A}), [waiver(check="redis-memory-growth")], TODAY) is None
    assert waived(finding({"instance": A}), [waiver(site="staging")], TODAY) is None
    assert waived(finding({"instance": A}), [waiver(until=TODAY - dt.timedelta(days=1))], TODAY) is None


@pytest.mark.parametrize("objects", [[], None])
def test_a_finding_about_the_check_as_a_whole_needs_a_waiver_without_match(objects: list | None) -> None:
    whole = {**finding(), "objects": objects}
    assert waived(whole, [waiver(match={"instance": A})], TODAY) is None
    plain, plain2 = waiver(line=3), waiver(line=5)
    result = waived(whole, [waiver(match={"instance": A}), plain, plain2], TODAY)
    assert result == Waived((plain, plain2), True)


def test_what_the_findings_and_the_terminal_say_of_a_waiver() -> None:
    first = waiver(site="production", match={"pod": "redis-cluster-0", "instance": A}, until=dt.date(2026, 12, 15))
    second = waiver(line=9, path="checks/waivers.yaml")
    both = Waived((first, second), False)
    assert both.as_dict() == {
        "check": "redis-memory-headroom",
        "site": "production",
        "app": None,
        "match": {"pod": "redis-cluster-0", "instance": A},
        "until": "2026-12-15",
        "owner": "sre-oncall",
        "reason": "resize (OPS-1)",
        "location": {"path": "checks/waivers.yaml", "line": 2},
        "also": [{"path": "checks/waivers.yaml", "line": 9}],
        "complete": False,
    }
    assert "also" not in Waived((first,), True).as_dict() and Waived((first,), True).as_dict()["complete"] is True
    assert both.reason() == "waived until 2026-12-15 by sre-oncall: resize (OPS-1) (checks/waivers.yaml:2)"
    assert (
        first.where == "checks/waivers.yaml:2" and waiver(path="ops/waivers.yaml", line=7).where == "ops/waivers.yaml:7"
    )
    assert first.scope == f"at production where instance={A}, pod=redis-cluster-0"
    assert waiver().scope == "at every site" and waiver(app="api-server").scope == "at every site for api-server"
    assert waiver().as_dict()["match"] is None
