"""checks/waivers.yaml read by ``load_waivers`` (no pytest session): which entries hold, and what a
malformed one says, at which line, with which advice. An entry with a problem waives nothing.

The repository knows three checks, two sites and two apps; today is 2026-06-01 and a waiver may
hold at most 90 days ahead (``slo_waiver_max_days``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pytest_slo.catalog.waivers import Waiver, load_waivers
from pytest_slo.errors import CatalogError

TODAY = dt.date(2026, 6, 1)
CHECKS = ("redis-eviction-policy", "redis-memory-headroom", "values-in-sync")
SITES = ("production", "staging")
APPS = ("api-server", "redis-cluster")
HINT = "write waivers: and list entries with check, until, owner and reason"
FIELDS = "(fields: check, site, app, match, until, owner, reason)"
#: A well-formed entry at line 2 of the file; its fields at lines 3 to 6.
ENTRY = (
    "  - check: redis-eviction-policy\n"
    "    until: 2026-06-10\n"
    "    owner: sre-oncall\n"
    "    reason: migrating to the new cluster (OPS-1234)\n"
)


def load(
    tmp_path: Path, text: str | None, *, checks: tuple[str, ...] = CHECKS, sites: tuple[str, ...] = SITES,
    apps: tuple[str, ...] = APPS, today: dt.date = TODAY, max_days: int = 90,
) -> tuple[list[Waiver], list[CatalogError]]:
    """``text`` as checks/waivers.yaml of a repository in ``tmp_path`` (None: no such file), read."""
    (tmp_path / "checks").mkdir(exist_ok=True)
    if text is not None:
        (tmp_path / "checks" / "waivers.yaml").write_text(text, encoding="utf-8")
    return load_waivers(tmp_path, checks=iter(checks), sites=iter(sites), apps=iter(apps), today=today,
                        max_days=max_days)


def one(tmp_path: Path, entries: str, **known: Any) -> Waiver:
    """The only waiver of a file listing ``entries``; the file as a whole has no problem."""
    waivers, problems = load(tmp_path, "waivers:\n" + entries, **known)
    assert problems == []
    (waiver,) = waivers
    return waiver


def problem(tmp_path: Path, entries: str, **known: Any) -> str:
    waiver = one(tmp_path, entries, **known)
    assert waiver.problem is not None, "the entry was accepted"
    assert not waiver.applies(waiver.check, "production", "redis-cluster")
    return str(waiver.problem)


def replaced(old: str, new: str) -> str:
    assert old in ENTRY
    return ENTRY.replace(old, new)


# --------------------------------------------------------------------------- the file as a whole


def test_no_waivers_file_and_an_empty_one_waive_nothing_and_say_nothing(tmp_path: Path) -> None:
    assert load(tmp_path, None) == ([], [])
    (tmp_path / "checks" / "waivers.yaml").mkdir()  # a folder of that name is no file either
    assert load(tmp_path, None) == ([], [])


@pytest.mark.parametrize("text", ["", "# nothing waived yet\n"], ids=["empty", "comment-only"])
def test_a_file_without_a_document_waives_nothing_and_says_nothing(tmp_path: Path, text: str) -> None:
    assert load(tmp_path, text) == ([], [])


# (the file, what is wrong with it as a whole)
FILE_PROBLEMS = [
    pytest.param("waivers: 5\n", [f"checks/waivers.yaml:1: expected a list under 'waivers:' ({HINT})"], id="no-list"),
    pytest.param("waivers:\n", [f"checks/waivers.yaml:1: expected a list under 'waivers:' ({HINT})"], id="empty-key"),
    pytest.param("- check: redis-eviction-policy\n", [f"checks/waivers.yaml:1: expected a list under 'waivers:' "
                                                      f"({HINT})"], id="top-level-list"),
    pytest.param("just text\n", [f"checks/waivers.yaml:1: expected a list under 'waivers:' ({HINT})"], id="text"),
    pytest.param(
        "waivers: []\nexpiry: 2026-06-10\n",
        ["checks/waivers.yaml:2: expiry: is not a key of the waivers file (the waivers file holds only waivers:)"],
        id="unknown-key",
    ),
    pytest.param(
        "waivers: []\nwaivers: []\n",
        ["checks/waivers.yaml:2: duplicate key 'waivers' (first at line 1)"],
        id="duplicate-key",
    ),
    pytest.param(
        "waivers:\n  - check: [\n",
        ["checks/waivers.yaml:3: not valid YAML: did not find expected node content"],
        id="not-yaml",
    ),
]


@pytest.mark.parametrize(("text", "said"), FILE_PROBLEMS)
def test_a_malformed_file_is_a_problem_at_its_line_and_waives_nothing(
    tmp_path: Path, text: str, said: list[str]
) -> None:
    waivers, problems = load(tmp_path, text)
    assert waivers == []
    assert len(problems) == len(said) and all(isinstance(p, CatalogError) for p in problems)
    for found, expected in zip(problems, said, strict=True):
        assert str(found).startswith(expected), str(found)
        assert found.path == "checks/waivers.yaml"


def test_an_unknown_key_beside_the_list_still_reads_the_waivers(tmp_path: Path) -> None:
    waivers, problems = load(tmp_path, "waivers:\n" + ENTRY + "owner: sre\n")
    assert [str(p) for p in problems] == [
        "checks/waivers.yaml:6: owner: is not a key of the waivers file (the waivers file holds only waivers:)"
    ]
    assert [(w.check, w.problem) for w in waivers] == [("redis-eviction-policy", None)]


# --------------------------------------------------------------------------- a good entry


def test_a_well_formed_entry_is_read_field_by_field(tmp_path: Path) -> None:
    waiver = one(tmp_path, ENTRY + "    site: production\n    app: redis-cluster\n"
                               "    match: {instance: '10.0.3.7:6379', port: 6379, ratio: 0.5}\n")
    assert waiver == Waiver(
        check="redis-eviction-policy",
        until=dt.date(2026, 6, 10),
        owner="sre-oncall",
        reason="migrating to the new cluster (OPS-1234)",
        line=2,
        site="production",
        app="redis-cluster",
        match={"instance": "10.0.3.7:6379", "port": "6379", "ratio": "0.5"},
    )
    assert waiver.where == "checks/waivers.yaml:2"
    assert waiver.scope == "at production for redis-cluster where instance=10.0.3.7:6379, port=6379, ratio=0.5"
    assert waiver.as_dict() == {
        "check": "redis-eviction-policy", "site": "production", "app": "redis-cluster",
        "match": {"instance": "10.0.3.7:6379", "port": "6379", "ratio": "0.5"}, "until": "2026-06-10",
        "owner": "sre-oncall", "reason": "migrating to the new cluster (OPS-1234)",
        "location": {"path": "checks/waivers.yaml", "line": 2},
    }


def test_each_entry_is_at_its_own_line(tmp_path: Path) -> None:
    second = replaced("redis-eviction-policy", "values-in-sync")
    waivers, problems = load(tmp_path, "# accepted findings\nwaivers:\n" + ENTRY + "\n" + second)
    assert problems == []
    assert [(w.check, w.line, w.where, w.problem) for w in waivers] == [
        ("redis-eviction-policy", 3, "checks/waivers.yaml:3", None),
        ("values-in-sync", 8, "checks/waivers.yaml:8", None),
    ]


def test_without_site_app_or_match_a_waiver_covers_its_check_everywhere(tmp_path: Path) -> None:
    waiver = one(tmp_path, ENTRY)
    assert (waiver.site, waiver.app, dict(waiver.match)) == (None, None, {})
    assert waiver.scope == "at every site"
    assert waiver.as_dict()["match"] is None and waiver.as_dict()["site"] is None
    assert waiver.applies("redis-eviction-policy", "staging", "api-server")
    assert waiver.applies("redis-eviction-policy", None, None)
    assert not waiver.applies("values-in-sync", "staging", "api-server")


def test_site_and_app_narrow_the_waiver(tmp_path: Path) -> None:
    waiver = one(tmp_path, ENTRY + "    site: production\n    app: redis-cluster\n")
    assert waiver.applies("redis-eviction-policy", "production", "redis-cluster")
    assert not waiver.applies("redis-eviction-policy", "staging", "redis-cluster")
    assert not waiver.applies("redis-eviction-policy", "production", "api-server")
    assert not waiver.applies("redis-memory-headroom", "production", "redis-cluster")


@pytest.mark.parametrize(
    ("until", "read"),
    [
        ("2026-06-10", dt.date(2026, 6, 10)),
        ("'2026-06-10'", dt.date(2026, 6, 10)),  # quoted: text that spells a date
        ("' 2026-06-10 '", dt.date(2026, 6, 10)),  # spaces around it are no part of the date
        ("'2026-06-10 '", dt.date(2026, 6, 10)),
        ("' 2026-06-10'", dt.date(2026, 6, 10)),
    ],
    ids=["date", "quoted", "spaces", "trailing-space", "leading-space"],
)
def test_until_is_a_date_written_or_quoted(tmp_path: Path, until: str, read: dt.date) -> None:
    waiver = one(tmp_path, replaced("until: 2026-06-10", f"until: {until}"))
    assert waiver.problem is None and waiver.until == read


def test_a_waiver_holds_through_its_last_day(tmp_path: Path) -> None:
    waiver = one(tmp_path, ENTRY)
    assert not waiver.expired(dt.date(2026, 6, 9))
    assert not waiver.expired(dt.date(2026, 6, 10))
    assert waiver.expired(dt.date(2026, 6, 11))


@pytest.mark.parametrize(
    ("until", "max_days"),
    [("2026-08-30", 90), ("2026-06-02", 1), ("2026-06-01", 0), ("2026-05-01", 90)],
    ids=["90-days-of-90", "1-day-of-1", "today-of-0", "already-past"],
)
def test_a_waiver_up_to_max_days_ahead_is_accepted(tmp_path: Path, until: str, max_days: int) -> None:
    # a waiver already past is well formed: that it expired is said where it is used (findings.waived)
    waiver = one(tmp_path, replaced("until: 2026-06-10", f"until: {until}"), max_days=max_days)
    assert waiver.problem is None and waiver.until == dt.date.fromisoformat(until)


# --------------------------------------------------------------------------- a malformed entry

# (the entry, str() of its problem)
ENTRY_PROBLEMS = [
    pytest.param("  - redis-eviction-policy\n", f"checks/waivers.yaml:2: a waiver must be a mapping ({HINT})",
                 id="text"),
    pytest.param("  - [redis-eviction-policy]\n", f"checks/waivers.yaml:2: a waiver must be a mapping ({HINT})",
                 id="list"),
    pytest.param(
        replaced("    owner: sre-oncall\n", ""),
        f"checks/waivers.yaml:2: waiver for redis-eviction-policy: owner: missing; a waiver needs check, until, "
        f"owner and reason ({HINT})",
        id="no-owner",
    ),
    pytest.param(
        "  - until: 2026-06-10\n    owner: sre-oncall\n    reason: x\n",
        f"checks/waivers.yaml:2: waiver: check: missing; a waiver needs check, until, owner and reason ({HINT})",
        id="no-check",
    ),
    pytest.param(
        replaced("    until: 2026-06-10\n", ""),
        f"checks/waivers.yaml:2: waiver for redis-eviction-policy: until: missing; a waiver needs check, until, "
        f"owner and reason ({HINT})",
        id="no-until",
    ),
    pytest.param(
        replaced("    reason: migrating to the new cluster (OPS-1234)\n", ""),
        f"checks/waivers.yaml:2: waiver for redis-eviction-policy: reason: missing; a waiver needs check, until, "
        f"owner and reason ({HINT})",
        id="no-reason",
    ),
    pytest.param(
        replaced("    until: 2026-06-10\n    owner: sre-oncall\n", ""),
        f"checks/waivers.yaml:2: waiver for redis-eviction-policy: until: missing; a waiver needs check, until, "
        f"owner and reason ({HINT})",
        id="no-until-no-owner",
    ),
    pytest.param(
        ENTRY + "    expires: soon\n",
        f"checks/waivers.yaml:6: waiver for redis-eviction-policy: expires: is not a field of a waiver {FIELDS} "
        f"({HINT})",
        id="unknown-field",
    ),
    pytest.param(
        ENTRY + "    zone: eu\n    annotation: yes\n",
        f"checks/waivers.yaml:7: waiver for redis-eviction-policy: annotation: is not a field of a waiver {FIELDS} "
        f"({HINT})",
        id="two-unknown-fields",
    ),
    pytest.param(
        replaced("check: redis-eviction-policy", "check: 5"),
        f"checks/waivers.yaml:2: waiver: check: 5 is a number, not the id of the waived check ({HINT})",
        id="check-a-number",
    ),
    pytest.param(
        replaced("owner: sre-oncall", "owner: ''"),
        f"checks/waivers.yaml:4: waiver for redis-eviction-policy: owner: is empty ({HINT})",
        id="owner-empty",
    ),
    pytest.param(
        ENTRY + "    site: [production]\n",
        f"checks/waivers.yaml:6: waiver for redis-eviction-policy: site: is a list, not only at this site (default: "
        f"every site) ({HINT})",
        id="site-a-list",
    ),
    pytest.param(
        ENTRY + "    match: {}\n",
        f"checks/waivers.yaml:6: waiver for redis-eviction-policy: match: {{}} should be non-empty ({HINT})",
        id="match-empty",
    ),
    pytest.param(
        ENTRY + "    match:\n      instance: [1]\n",
        "checks/waivers.yaml:7: waiver for redis-eviction-policy: match.instance: is a list, not a label value "
        "(text or a number) (write e.g. 10.0.3.7:6379)",
        id="match-value-a-list",
    ),
    pytest.param(
        ENTRY.replace("    owner: sre-oncall\n", "") + "    match:\n      instance: [1]\n",
        f"checks/waivers.yaml:2: waiver for redis-eviction-policy: owner: missing; a waiver needs check, until, "
        f"owner and reason ({HINT})",
        id="missing-field-before-a-wrong-label",
    ),
    pytest.param(
        "  - match:\n      instance: [1]\n    check: redis-eviction-policy\n    until: 2026-06-10\n"
        "    owner: [sre]\n    reason: x\n",
        "checks/waivers.yaml:3: waiver for redis-eviction-policy: match.instance: is a list, not a label value "
        "(text or a number) (write e.g. 10.0.3.7:6379)",
        id="wrong-fields-in-the-order-of-their-names",
    ),
    pytest.param(
        replaced("until: 2026-06-10", "until: next week"),
        "checks/waivers.yaml:3: waiver for redis-eviction-policy: until: 'next week' is not a date (write the last "
        "day it holds, e.g. until: 2026-12-15)",
        id="until-text",
    ),
    pytest.param(
        replaced("until: 2026-06-10", "until: 20260610"),
        "checks/waivers.yaml:3: waiver for redis-eviction-policy: until: 20260610 is not a date (write the last "
        "day it holds, e.g. until: 2026-12-15)",
        id="until-a-number",
    ),
    pytest.param(
        replaced("until: 2026-06-10", "until: 2026-06-10T10:30:00"),
        "checks/waivers.yaml:3: waiver for redis-eviction-policy: until: 2026-06-10 10:30:00 (a date and time) is "
        "not a date (write the last day it holds, e.g. until: 2026-12-15)",
        id="until-a-time",
    ),
    pytest.param(
        replaced("until: 2026-06-10", "until:"),
        "checks/waivers.yaml:3: waiver for redis-eviction-policy: until: None is not a date (write the last day it "
        "holds, e.g. until: 2026-12-15)",
        id="until-empty",
    ),
    pytest.param(
        replaced("until: 2026-06-10", "until: 2026-08-31"),
        "checks/waivers.yaml:3: waiver for redis-eviction-policy: until: 2026-08-31 is 91 days ahead, more than "
        "slo_waiver_max_days (90) (waive for a shorter time and renew it when it ends)",
        id="too-far",
    ),
    pytest.param(
        replaced("check: redis-eviction-policy", "check: redis-eviction-polcy"),
        "checks/waivers.yaml:2: waiver for redis-eviction-polcy: check: no check 'redis-eviction-polcy' in "
        "checks/*.yaml or the built-in checks (did you mean redis-eviction-policy?)",
        id="check-misspelt",
    ),
    pytest.param(
        replaced("check: redis-eviction-policy", "check: redis-memory"),
        "checks/waivers.yaml:2: waiver for redis-memory: check: no check 'redis-memory' in checks/*.yaml or the "
        "built-in checks (did you mean redis-memory-headroom?)",
        id="check-close-to-one",
    ),
    pytest.param(
        replaced("check: redis-eviction-policy", "check: disk-usage"),
        "checks/waivers.yaml:2: waiver for disk-usage: check: no check 'disk-usage' in checks/*.yaml or the "
        "built-in checks (write the id of a check of the catalog)",
        id="check-unknown",
    ),
    pytest.param(
        ENTRY + "    site: prod\n",
        "checks/waivers.yaml:6: waiver for redis-eviction-policy: site: no site 'prod' under sites/ (known: "
        "production, staging) (write a site's folder name, or leave site out for every site)",
        id="site-unknown",
    ),
    pytest.param(
        ENTRY + "    app: redis\n",
        "checks/waivers.yaml:6: waiver for redis-eviction-policy: app: no app 'redis' in releases/*/apps (known: "
        "api-server, redis-cluster) (write an app's name, or leave app out for every app)",
        id="app-unknown",
    ),
    pytest.param(
        replaced("check: redis-eviction-policy", "check: disk-usage") + "    site: prod\n    app: redis\n",
        "checks/waivers.yaml:2: waiver for disk-usage: check: no check 'disk-usage' in checks/*.yaml or the "
        "built-in checks (write the id of a check of the catalog)",
        id="check-said-before-site-and-app",
    ),
    pytest.param(
        ENTRY + "    app: redis\n    site: prod\n",
        "checks/waivers.yaml:7: waiver for redis-eviction-policy: site: no site 'prod' under sites/ (known: "
        "production, staging) (write a site's folder name, or leave site out for every site)",
        id="site-said-before-app",
    ),
    pytest.param(
        replaced("until: 2026-06-10", "until: 2027-01-01").replace("redis-eviction-policy", "disk-usage"),
        "checks/waivers.yaml:3: waiver for disk-usage: until: 2027-01-01 is 214 days ahead, more than "
        "slo_waiver_max_days (90) (waive for a shorter time and renew it when it ends)",
        id="until-said-before-check",
    ),
    pytest.param(
        replaced("until: 2026-06-10", "until: soon").replace("redis-eviction-policy", "disk-usage"),
        "checks/waivers.yaml:3: waiver for disk-usage: until: 'soon' is not a date (write the last day it holds, "
        "e.g. until: 2026-12-15)",
        id="no-date-said-before-check",
    ),
]


@pytest.mark.parametrize(("entry", "said"), ENTRY_PROBLEMS)
def test_a_malformed_entry_says_what_is_wrong_at_its_line_and_waives_nothing(
    tmp_path: Path, entry: str, said: str
) -> None:
    assert problem(tmp_path, entry) == said


def test_a_problem_names_its_file_and_line_for_every_output(tmp_path: Path) -> None:
    waiver = one(tmp_path, replaced("check: redis-eviction-policy", "check: disk-usage"))
    assert waiver.problem is not None
    assert (waiver.problem.path, waiver.problem.line) == ("checks/waivers.yaml", 2)
    assert waiver.problem.message == (
        "waiver for disk-usage: check: no check 'disk-usage' in checks/*.yaml or the built-in checks"
    )
    assert waiver.problem.hint == "write the id of a check of the catalog"


@pytest.mark.parametrize(
    ("known", "said"),
    [
        ({"sites": ()}, "site: no site 'prod' under sites/ (known: none)"),
        ({"sites": ("staging", "eu-1", "production")}, "site: no site 'prod' under sites/ (known: eu-1, production, "
                                                       "staging)"),
    ],
    ids=["no-sites", "sorted"],
)
def test_an_unknown_site_lists_the_known_ones(tmp_path: Path, known: dict[str, Any], said: str) -> None:
    text = problem(tmp_path, ENTRY + "    site: prod\n", **known)
    assert f"waiver for redis-eviction-policy: {said} (write" in text


@pytest.mark.parametrize(
    ("known", "said"),
    [
        ({"apps": ()}, "app: no app 'redis' in releases/*/apps (known: none)"),
        ({"apps": ("web", "api-server", "redis-cluster")}, "app: no app 'redis' in releases/*/apps (known: api-server, "
                                                          "redis-cluster, web)"),
    ],
    ids=["no-apps", "sorted"],
)
def test_an_unknown_app_lists_the_known_ones(tmp_path: Path, known: dict[str, Any], said: str) -> None:
    text = problem(tmp_path, ENTRY + "    app: redis\n", **known)
    assert f"waiver for redis-eviction-policy: {said} (write" in text


@pytest.mark.parametrize(("until", "max_days", "ahead"), [("2026-06-02", 0, 1), ("2026-06-03", 1, 2)])
def test_a_waiver_more_than_max_days_ahead_is_refused(tmp_path: Path, until: str, max_days: int, ahead: int) -> None:
    text = problem(tmp_path, replaced("until: 2026-06-10", f"until: {until}"), max_days=max_days)
    assert f"until: {until} is {ahead} days ahead, more than slo_waiver_max_days ({max_days})" in text


@pytest.mark.parametrize(
    ("entry", "fields"),
    [
        pytest.param("  - just text\n", ("?", TODAY, "?", "?", None, None, {}), id="not-a-mapping"),
        pytest.param(
            "  - until: someday\n    site: prod\n    app: redis\n    match: [pod]\n",
            ("?", TODAY, "?", "?", "prod", "redis", {}),
            id="fields-missing",
        ),
        pytest.param(
            "  - check: 7\n    until: 2026-06-20\n    owner: 8\n    reason: 9\n    match: {port: 6379}\n",
            ("7", dt.date(2026, 6, 20), "8", "9", None, None, {"port": "6379"}),
            id="numbers",
        ),
    ],
)
def test_a_malformed_entry_is_still_shown_with_what_it_says(
    tmp_path: Path, entry: str, fields: tuple[Any, ...]
) -> None:
    # the entry is listed (its problem is reported at its line), with "?" for what it lacks
    waiver = one(tmp_path, entry)
    assert waiver.problem is not None and waiver.line == 2 and waiver.path == "checks/waivers.yaml"
    assert (waiver.check, waiver.until, waiver.owner, waiver.reason, waiver.site, waiver.app,
            dict(waiver.match)) == fields


def test_a_malformed_entry_waives_nothing_even_for_the_check_it_names(tmp_path: Path) -> None:
    waivers, problems = load(tmp_path, "waivers:\n" + ENTRY + ENTRY.replace("2026-06-10", "2026-12-31"))
    assert problems == []
    good, bad = waivers
    assert good.applies("redis-eviction-policy", "production", "redis-cluster")
    assert bad.problem is not None and not bad.applies("redis-eviction-policy", "production", "redis-cluster")
