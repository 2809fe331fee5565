"""One draft per incident, through pytest on the shipped example: kube checks judged on the
shipped snapshots at the time each was taken (no server), so the lifecycle runs in seconds.

The live story (Prometheus ranges, requests failed, the fix from git) is
``test_incident_lifecycle.py``; here: matching, a person's text, the status, the match window,
due dates, a green run, the options.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest

from teststack.kubeapi import shift_snapshot

from .mdlint import assert_lints_clean
from .support import REPO

TAKEN = dt.datetime(2026, 11, 27, 13, 58, tzinfo=dt.timezone.utc)  # when the shipped snapshots were taken


def judge(pytester: pytest.Pytester, snapshot: str, at: dt.datetime, *args: str) -> pytest.RunResult:
    """A run that judges the cluster from ``snapshot``, moved to have been taken at ``at``."""
    (pytester.path / "cluster.json").write_text(
        json.dumps(shift_snapshot(REPO / f"examples/snapshots/{snapshot}.json", at))
    )
    return pytester.runpytest("--site", "production", "-m", "kube or config or values", "--kube-snapshot=cluster.json",
                              f"--kube-snapshot-time={at:%Y-%m-%dT%H:%M:%SZ}", "--postmortem-dir=docs/incidents", *args)


def drafts(gitops: Path) -> list[Path]:
    return sorted((gitops / "docs/incidents").glob("*.md"))


def test_a_later_run_updates_the_draft_and_closes_it(gitops: Path, pytester: pytest.Pytester) -> None:
    first = judge(pytester, "incident", TAKEN)
    [draft] = drafts(gitops)
    assert "cannot draft" not in first.stdout.str()
    text = draft.read_text()
    incident_id = re.search(r"\| \*\*Incident ID\*\* \| (INC-2026-11-27-001) \|", text)
    assert incident_id and "| **Status** | Draft |" in text
    mine = "- **Incident commander**: Ana, who also wrote `<this>` and _that_  \n"  # its two trailing spaces too
    ours = "\nA paragraph of ours, between two generated parts.\n"
    text = text.replace("- **Incident commander**: _TODO: name_\n", mine, 1)
    text = text.replace(
        "- **Responders**: _TODO: who was paged, who helped_\n",
        "- **Responders**: _TODO: who was paged, who helped_\n" + ours,
        1,
    )
    draft.write_text(text)

    # an hour later the cluster is healthy (the fix rolled out): the same draft is completed
    second = judge(pytester, "fixed", TAKEN + dt.timedelta(hours=1))
    assert drafts(gitops) == [draft], second.stdout.str()
    second.stdout.fnmatch_lines([f"slo postmortem draft (production) written to {draft}"])
    text = draft.read_text()
    assert mine in text and ours in text and f"| **Incident ID** | {incident_id[1]} |" in text
    assert "| **Status** | Resolved |" in text
    # no range in Prometheus for kube checks: back from the first run that saw them pass
    back = "2026-11-27 14:58:00 UTC"
    assert f"| **Mitigated** | {back} |" in text and f"| **Resolved** | {back} |" in text
    assert "| **Time to mitigation** | 1 h after detection |" in text  # no breach in Prometheus to count from
    assert re.search(rf"^\| {back[:-4]} \| Resolved: every check of the incident passes \|$", text, re.M)
    assert "Passes now; when it last failed, it said:" in text
    # the Warning events the first snapshot held stay in the timeline after they expired
    assert re.search(r"^\| \S+ \S+ \| redis-cluster-2: Warning BackOff ×27", text, re.M)
    assert_lints_clean(draft)

    # a resolved draft is closed: the same failure again is a new incident
    judge(pytester, "incident", TAKEN + dt.timedelta(hours=2))
    assert len(drafts(gitops)) == 2
    newest = next(p for p in drafts(gitops) if p != draft)
    assert "| **Incident ID** | INC-2026-11-27-002 |" in newest.read_text()


def test_a_green_run_writes_no_draft(gitops: Path, pytester: pytest.Pytester) -> None:
    result = judge(pytester, "fixed", TAKEN)
    assert result.ret == 0, result.stdout.str()
    assert not (gitops / "docs/incidents").exists()


def test_a_draft_not_updated_within_the_match_window_is_left_alone(gitops: Path, pytester: pytest.Pytester) -> None:
    judge(pytester, "incident", TAKEN, "--postmortem-match-window=1s")
    [draft] = drafts(gitops)
    before = draft.read_text()
    # a draft is stamped to the second, so the age a later run reads can be up to 1 s short of the
    # real one: more than 2 s between the two runs is past the 1 s window whatever the fractions
    time.sleep(2)
    judge(pytester, "incident", TAKEN, "--postmortem-match-window=1s")
    assert len(drafts(gitops)) == 2 and draft.read_text() == before


def test_action_items_are_due_by_priority(gitops: Path, pytester: pytest.Pytester) -> None:
    judge(pytester, "incident", TAKEN, "--postmortem-due=P1=12h,P2=2d,P3=1w")
    [draft] = drafts(gitops)
    actions = draft.read_text().split("## Action items\n", 1)[1].split("\n## ", 1)[0]
    # detected at the snapshot's time; P2 two days later
    assert (
        "| Update the runbook with the OOM procedure of this app | On-call rotation | 2026-11-29 | P2 | "
        "`kube-oomkilled` |"
        in actions
    ), actions
    assert "Follow the runbook" not in actions


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--postmortem-due=P1=1d,P9=2d"],
            "--postmortem-due / slo_postmortem_due: 'P9=2d' is not PRIORITY=DURATION such as P1=1d (priorities "
            "P0 to P4)",
        ),
        (["--postmortem-due=P1=soon"], "--postmortem-due / slo_postmortem_due: *soon*"),
        (
            ["--postmortem-match-window=0s"],
            "--postmortem-match-window / slo_postmortem_match_window: '0s' is not a duration greater than 0",
        ),
    ],
)
def test_bad_options_are_usage_errors(gitops: Path, pytester: pytest.Pytester, args: list[str], message: str) -> None:
    result = pytester.runpytest("--site", "production", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_ini_twins(gitops: Path, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nslo_postmortem_due = P2=5d\nslo_postmortem_match_window = 90m\n")
    judge(pytester, "incident", TAKEN)
    [draft] = drafts(gitops)
    assert "| On-call rotation | 2026-12-02 | P2 |" in draft.read_text()
