"""What a run's findings are against last night's: new, unchanged, or fixed.

The nightly drift run fails only on ``new`` findings (``--fail-on=new``): a known problem called
new pages someone for nothing, and a new one called known pages no one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.findings.baseline import NOT_BASELINED, Baseline, BaselineError, load_baseline
from pytest_slo.findings.fingerprint import fingerprint

SITE, APP = "production", "redis-cluster"
A, B, C = {"instance": "10.0.3.7:6379"}, {"instance": "10.0.3.8:6379"}, {"instance": "10.0.3.9:6379"}


def made(check: str = "redis-memory-headroom", *objects: dict[str, Any], outcome: str = "failed", kind: str = "promql",
         site: str | None = SITE, app: str | None = APP) -> dict[str, Any]:
    """A finding as a run writes it (the fields the baseline reads, and the ones the schema requires)."""
    return {
        "check": check, "site": site, "app": app, "kind": kind, "outcome": outcome, "severity": "P2", "title": check,
        "nodeid": f"sites/{site}/config.env::{app}::{check}", "message": "m", "objects": list(objects),
        "fingerprint": fingerprint(check, site, app, objects),
    }


def document(*findings: dict[str, Any], **summary: Any) -> dict[str, Any]:
    return {
        "summary": {"fingerprints": "v1", "sites": [SITE], "repo": "github.com/acme/gitops", **summary},
        "findings": list(findings),
    }


def written(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "night1.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


AGAIN = "pass the findings.json an earlier run wrote with --findings=PATH"


def load(path: Path, sites: tuple[str, ...] = (SITE,)) -> Baseline:
    return load_baseline(path, repo="github.com/acme/gitops", sites=sites)


# ------------------------------------------------------------------ new or unchanged


def test_the_same_problem_is_unchanged_and_another_is_new(tmp_path: Path) -> None:
    base = load(written(tmp_path, document(made("redis-memory-headroom", A))))
    assert base.state(made("redis-memory-headroom", A)) == "unchanged"
    assert base.state(made("redis-memory-growth", A)) == "new"  # another check
    assert base.state(made("redis-memory-headroom", A, site="staging")) == "new"  # another site
    assert base.state(made("redis-memory-headroom", A, app="api-server")) == "new"  # another app


def test_fewer_failing_objects_is_the_known_problem_and_more_is_new(tmp_path: Path) -> None:
    base = load(written(tmp_path, document(made("redis-memory-headroom", A, B))))
    assert base.state(made("redis-memory-headroom", B)) == "unchanged"  # one of two recovered
    assert base.state(made("redis-memory-headroom", A, B)) == "unchanged"
    assert base.state(made("redis-memory-headroom", A, B, C)) == "new"  # a third instance breaches
    assert base.state(made("redis-memory-headroom", C)) == "new"


def test_objects_are_compared_as_fingerprints_see_them(tmp_path: Path) -> None:
    rescheduled = {"pod": "api-server-6b7f9c8d4-tq5ln", "container": "api", "container_id": "containerd://1ac5"}
    base = load(
        written(
            tmp_path,
            document(
                made("kube-crashloop", rescheduled, {"pod": "api-server-6b7f9c8d4-zz2vw", "container": "sidecar"})
            ),
        )
    )
    again = {"pod": "api-server-7c8d9f5b6-zx2vw", "container": "api", "container_id": "containerd://ffff"}
    assert base.state(made("kube-crashloop", again)) == "unchanged"
    assert base.state(made("kube-crashloop", {**again, "container": "init"})) == "new"


def test_objects_of_several_baseline_findings_of_one_check_add_up() -> None:
    night = [made("redis-memory-headroom", A), {**made("redis-memory-headroom", B), "fingerprint": "other"}]
    base = Baseline(Path("b.json"), None, (SITE,), night)
    assert base.state(made("redis-memory-headroom", A, B)) == "unchanged"


def test_a_finding_without_objects_is_known_only_by_its_fingerprint(tmp_path: Path) -> None:
    base = load(written(tmp_path, document(made("redis-memory-headroom", A), made("redis-eviction-policy"))))
    assert base.state(made("redis-eviction-policy")) == "unchanged"
    # the check as a whole failing, where last night named an instance, is not the same problem
    assert base.state(made("redis-memory-headroom")) == "new"
    assert base.state({**made("redis-memory-headroom"), "objects": None}) == "new"


def test_errors_are_never_known_problems_but_the_same_error_is_not_new(tmp_path: Path) -> None:
    """An error (the check could not run) or a problem of the repository's own files is not
    accepted as known by its check and objects; the very same one, by fingerprint, is unchanged."""
    error = made("kube-crashloop", A, outcome="error", kind="kube")
    catalog = made("catalog", kind="catalog")
    failed = made("redis-memory-headroom", A, B)
    base = load(written(tmp_path, document(error, catalog, failed)))
    assert [f["check"] for f in base.findings] == ["redis-memory-headroom"]  # only verdicts on the system
    assert base.state(error) == "unchanged" and base.state(catalog) == "unchanged"
    assert base.state(made("kube-crashloop", B, outcome="error", kind="kube")) == "new"
    # an error about a subset of a known failure's objects is still new: it is no verdict
    assert base.state(made("redis-memory-headroom", A, outcome="error")) == "new"
    assert base.state({**made("redis-memory-headroom", A, kind="waiver")}) == "new"
    assert NOT_BASELINED == {"catalog", "waiver"}


def test_a_baseline_made_in_memory_knows_its_findings_fingerprints() -> None:
    night = made("redis-eviction-policy")
    assert Baseline(Path("b.json"), None, (SITE,), [night]).state(dict(night, objects=[A])) == "unchanged"
    mixed = Baseline(Path("b.json"), None, (SITE,), [night], fingerprints=frozenset({"e" * 24}))
    assert mixed.state({**night, "fingerprint": "e" * 24, "outcome": "error"}) == "unchanged"
    assert mixed.state(night) == "unchanged"


# ------------------------------------------------------------------ fixed


def test_a_finding_whose_item_passed_is_fixed_and_one_that_did_not_run_is_not_claimed(tmp_path: Path) -> None:
    policy, headroom, growth = (
        made("redis-eviction-policy"),
        made("redis-memory-headroom", A),
        made("redis-memory-growth", A),
    )
    base = load(written(tmp_path, document(policy, headroom, growth)))
    passed = [("redis-eviction-policy", SITE, APP), ("redis-memory-headroom", SITE, APP)]
    gone = base.absent([headroom], passed)  # headroom passed for one instance but still fails
    assert gone == [dict(policy, baseline_state="absent")]
    assert "baseline_state" not in policy  # the baseline's own findings are left as read
    assert base.absent([], []) == []  # deselected, skipped or errored: not claimed as fixed
    assert [f["check"] for f in base.absent([], passed)] == ["redis-eviction-policy", "redis-memory-headroom"]


# ------------------------------------------------------------------ the file


def test_what_is_read_from_a_findings_file(tmp_path: Path) -> None:
    seen = {
        "check": "redis-memory-growth",
        "site": SITE,
        "app": APP,
        "time": 1700000000,
        "values": [{"labels": A, "value": 1.5}],
    }
    doc = document(made("redis-eviction-policy"), generated_at="2026-11-30T02:00:00Z", sites=[SITE, "staging"])
    doc["observations"] = [seen, {"check": "x", "site": SITE, "app": APP, "values": "not a list"}]
    base = load(written(tmp_path, doc))
    assert base.path == tmp_path / "night1.json" and base.generated_at == "2026-11-30T02:00:00Z"
    assert base.sites == (SITE, "staging")
    assert base.observed("redis-memory-growth", SITE, APP) == seen
    assert base.observed("redis-memory-growth", "staging", APP) is None
    assert base.observed("x", SITE, APP) is None
    assert load(written(tmp_path, {**document(), "observations": None})).observations == {}


def test_a_baseline_of_none_of_this_runs_sites_names_both(tmp_path: Path) -> None:
    with pytest.raises(BaselineError) as refused:
        load(written(tmp_path, document(sites=["dev"])), sites=("staging", SITE, SITE))
    assert refused.value.message.endswith(": written for site dev, this run checks production, staging")


def test_a_baseline_of_any_of_this_runs_sites_or_of_none_is_accepted(tmp_path: Path) -> None:
    assert load(written(tmp_path, document(sites=["staging", SITE])), sites=(SITE,)).sites == ("staging", SITE)
    assert load(written(tmp_path, document(sites=[])), sites=(SITE,)).sites == ()
    assert load(written(tmp_path, document(sites=["staging"])), sites=()).sites == (
        "staging",
    )  # no site named: no check
    assert load(written(tmp_path, document(repo=None))).findings == []  # a baseline that names no repository


@pytest.mark.parametrize(
    ("content", "said", "hint"),
    [
        (
            '{"summary": {"fingerprints": "v1"}, "findings": [',
            "not JSON (line 1: Expecting value); a truncated file?",
            AGAIN,
        ),
        ("[1, 2]", "not a pytest-slo findings file (no summary and findings)", AGAIN),
        ('{"summary": [], "findings": []}', "not a pytest-slo findings file (no summary and findings)", AGAIN),
        (
            '{"summary": {"fingerprints": "v1"}, "findings": {}}',
            "not a pytest-slo findings file (no summary and findings)",
            AGAIN,
        ),
        (
            '{"summary": {}, "findings": []}',
            "written without v1 fingerprints (by an older pytest-slo), so its findings cannot be matched",
            "run once without --baseline and keep that run's findings.json as the baseline",
        ),
        (
            '{"summary": {"fingerprints": "v1", "sites": "production"}, "findings": []}',
            "not a pytest-slo findings file: summary: sites: 'production' is not of type 'array'",
            AGAIN,
        ),
        (
            '{"summary": {"fingerprints": "v1", "repo": "github.com/other/gitops"}, "findings": []}',
            "written for repository github.com/other/gitops, this run checks github.com/acme/gitops",
            "use a baseline of this repository",
        ),
        (
            '{"summary": {"fingerprints": "v1", "sites": ["staging", "dev"]}, "findings": []}',
            "written for site staging, dev, this run checks production",
            "use the baseline of the same site (one findings.json per site job)",
        ),
        (
            '{"summary": {"fingerprints": "v1"}, "findings": [{"check": "x", "severity": "P1", "outcome": '
            '"failed", "nodeid": "n", "title": "t", "message": "m"}]}',
            "finding 1 has no check or fingerprint",
            AGAIN,
        ),
    ],
    ids=[
        "truncated",
        "a-list",
        "summary-not-a-mapping",
        "findings-not-a-list",
        "old",
        "sites-not-a-list",
        "other-repo",
        "other-site",
        "no-fingerprint",
    ],
)
def test_a_baseline_that_cannot_be_used_says_why_and_what_to_pass(
    tmp_path: Path, content: str, said: str, hint: str
) -> None:
    path = written(tmp_path, content)
    with pytest.raises(BaselineError) as refused:
        load(path)
    assert refused.value.message == f"--baseline: {path}: {said}"
    assert refused.value.hint == hint


def test_a_finding_without_a_check_or_fingerprint_is_refused_with_its_number(tmp_path: Path) -> None:
    second = {k: v for k, v in made("redis-eviction-policy").items() if k != "check"}
    doc = document(made("redis-memory-headroom", A), second)
    doc["findings"][1]["check"] = 7
    path = written(tmp_path, doc)
    with pytest.raises(BaselineError, match=r"finding 2: check: 7 is not of type 'string'"):
        load(path)
    doc["findings"][1] = {**made("redis-eviction-policy"), "fingerprint": None}
    with pytest.raises(BaselineError, match=r": finding 2 has no check or fingerprint \(pass the findings.json"):
        load(written(tmp_path, doc))


def test_a_missing_or_unreadable_baseline_is_named(tmp_path: Path) -> None:
    with pytest.raises(BaselineError) as refused:
        load(tmp_path / "nope.json")
    assert refused.value.message == f"--baseline: {tmp_path / 'nope.json'}: no such file"
    assert refused.value.hint == AGAIN
    for unreadable in (_binary(tmp_path), tmp_path):  # not UTF-8; a folder
        with pytest.raises(BaselineError) as refused:
            load(unreadable)
        assert (
            refused.value.message.startswith(f"--baseline: {unreadable}: cannot read: ") and refused.value.hint == AGAIN
        )


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "night1.json"
    path.write_bytes(b'{"summary": "\xff\xfe"}')
    return path
