"""What went well, what went wrong, and what to do: computed where the data says so.

* Detection: how long the breach went on before the first failing live run; within
  :data:`DETECTION_TARGET` it went well (a page-worthy burn of 14.4× over 1h & 5m alerts within
  minutes: a gate slower than this missed what an alert would have caught).
* Runbooks: whether every failing check links a runbook that exists.
* Alerting: which user-facing checks an exported alert rule covers (a promql check with
  ``alert:``, every SLO's burn-rate page) and which symptoms none does.
* Mitigation and the fix: how long recovery took after detection, and whether it came through
  a commit that changed a cause's key or without one (a manual change, which config.env may
  still contradict).
* What went wrong, grouped by cause: each config key the root-cause candidates point at, the
  candidates on it, the symptoms they explain, and whether a commit changed it since.

Action items are the catalog's ``actions`` of the incident's checks, one per action text,
each due a priority's offset after detection (``--postmortem-due``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalog.model import runbook_problem
from ..findings.mdtext import cell, code, prose
from ..optionvalues import due_offsets
from .impact import spoken
from .tracks import BUDGET, CAUSE, PAGE, Track, shown

if TYPE_CHECKING:
    from ._inputs import IncidentRun
    from .githistory import Commit
    from .rootcause import Candidate

__all__ = ["DETECTION_TARGET", "action_items", "went_well_and_wrong"]

DETECTION_TARGET = _dt.timedelta(minutes=15)


def action_items(run: IncidentRun, tracks: Sequence[Track], detected: _dt.datetime) -> list[dict[str, str]]:
    """The catalog's actions of the incident's checks, one per action, with a due date."""
    offsets = due_offsets(run.settings.postmortem_due)
    checks = {c.id: c for c in run.catalog.checks}
    items: dict[str, dict[str, Any]] = {}
    for track in sorted(tracks, key=lambda t: (t.finding.get("severity", "P4"), t.check, t.app or "")):
        check = checks.get(track.check)
        for action in check.actions if check else ():
            text = str(action["action"])
            item = items.setdefault(text, {"action": text, "owner": action.get("owner") or "", "checks": [],
                                           "priority": action.get("priority") or track.finding.get("severity", "P3")})
            if track.check not in item["checks"]:
                item["checks"].append(track.check)
    rows = []
    for item in items.values():
        offset = offsets.get(item["priority"])
        due = (detected + _dt.timedelta(seconds=offset)).date().isoformat() if offset is not None else ""
        rows.append(
            {
                "action": cell(item["action"]),
                "owner": cell(item["owner"]) if item["owner"] else "",
                "priority": item["priority"],
                "due": due,
                "from": ", ".join(code(c) for c in item["checks"]),
            }
        )
    return sorted(rows, key=lambda r: (r["priority"], r["due"], r["action"]))


def _alerted(run: IncidentRun, track: Track) -> str | None:
    """The exported alert that covers a check, if one does."""
    if track.kind == "openslo" and track.role == PAGE:
        return "SloBurnRatePage"
    check = next((c for c in run.catalog.checks if c.id == track.check), None)
    alert = check.spec.get("alert") if check else None
    return f"its own alert after {alert['for']}" if isinstance(alert, dict) and alert.get("for") else None


def _checks(tracks: Sequence[Track]) -> str:
    return ", ".join(code(c) for c in dict.fromkeys(t.check for t in tracks))


#: One topic's lessons: what went well, what went wrong (either may be empty).
_Lessons = tuple[list[str], list[str]]


def went_well_and_wrong(
    run: IncidentRun,
    tracks: Sequence[Track],
    candidates: Sequence[Candidate],
    commits: Sequence[Commit],
    times: dict[str, Any],
) -> tuple[list[str], list[str]]:
    """Markdown list items: what went well, and what went wrong (the causes first). ``times``:
    started, detected, mitigated; ``git``: whether the history could be read."""
    started, detected, mitigated = times.get("started"), times.get("detected"), times.get("mitigated")
    topics = [
        _detection(started, detected),
        _runbooks(run, tracks),
        _alerting(run, tracks),
        _mitigation(detected, mitigated),
        _fix(commits, candidates, mitigated, bool(times.get("git"))),
    ]
    well = [item for good, _ in topics for item in good]
    wrong = [item for _, bad in topics for item in bad]
    return well, _by_cause(tracks, candidates, commits) + wrong


def _detection(started: _dt.datetime | None, detected: _dt.datetime | None) -> _Lessons:
    """How long the breach went on before a live run caught it, against :data:`DETECTION_TARGET`."""
    if not (started and detected):
        return [], []
    delay = detected - started
    if delay <= DETECTION_TARGET:
        return [f"**Detection**: the live gate caught the breach {spoken(delay.total_seconds())} after it began."], []
    return [], [f"**Detection**: the breach went on for {spoken(delay.total_seconds())} before a live run caught it: "
                "run the live gate more often, or page on the exported alerts (`--export-rules`)."]


def _runbooks(run: IncidentRun, tracks: Sequence[Track]) -> _Lessons:
    """Whether every failing check links a runbook that exists; nothing to say when none failed."""
    failing = [t for t in tracks if t.finding.get("outcome") == "failed"]
    missing = [
        t
        for t in failing
        if not t.finding.get("runbook") or runbook_problem(run.settings.root, str(t.finding["runbook"]))
    ]
    if missing:
        return [], [f"**Runbooks**: no runbook to follow for {_checks(missing)}."]
    if failing:
        return [
            "**Runbooks**: every failing check links a runbook that exists "
            f"({len({t.finding['runbook'] for t in failing})} runbooks)."
        ], []
    return [], []


def _alerting(run: IncidentRun, tracks: Sequence[Track]) -> _Lessons:
    """Which user-facing checks (the pages, and the live symptoms) an exported alert covers, and
    which only the gate could see."""
    user = [
        t
        for t in tracks
        if t.role in (PAGE,) or (t.role not in (CAUSE, BUDGET) and t.kind in ("promql", "kube", "redis"))
    ]
    covered = [t for t in user if _alerted(run, t)]
    uncovered = [t for t in user if not _alerted(run, t)]
    well, wrong = [], []
    if covered:
        named = ", ".join(
            f"{code(t.check)} ({prose(_alerted(run, t))})" for t in {t.check: t for t in covered}.values()
        )
        well.append(f"**Alerting**: an exported alert rule covers {named}.")
    if uncovered:
        wrong.append(f"**Alerting**: no alert rule covers {_checks(uncovered)}: only the gate could see them.")
    return well, wrong


def _mitigation(detected: _dt.datetime | None, mitigated: _dt.datetime | None) -> _Lessons:
    """How long recovery took after detection, once the user-facing checks are back."""
    if mitigated and detected:
        return [f"**Mitigation**: mitigated {spoken((mitigated - detected).total_seconds())} after detection."], []
    return [], []


def _fix(
    commits: Sequence[Commit], candidates: Sequence[Candidate], mitigated: _dt.datetime | None, git: bool
) -> _Lessons:
    """Whether the fix is a commit that changed a cause's key (reviewable, repeatable), or the
    checks recovered without one while a cause's key is known (``git``: the history was read)."""
    fix = next((c for c in commits if c.fix), None)
    if fix is not None:
        changed = ", ".join(k.markdown for k in fix.keys)
        return [
            f"**Fix in git**: {code(fix.short)} changed the declared config ({changed}), reviewable and repeatable."
        ], []
    if mitigated and git and any(c.key for c in candidates):
        return [], [
            "**Fix outside git**: the user-facing checks recovered without a commit that changes a cause's key: "
            "a manual change may still differ from config.env."
        ]
    return [], []


def _by_cause(tracks: Sequence[Track], candidates: Sequence[Candidate], commits: Sequence[Commit]) -> list[str]:
    """One item per config key the candidates point at, the symptoms it explains nested; then
    the failing checks no candidate explains."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.key or f"{candidate.finding['check']}@{candidate.finding.get('app')}", []).append(
            candidate
        )
    items, explained = [], set()
    for key, group in groups.items():
        text, keys = _cause_item(key, group, tracks, commits)
        items.append(text)
        explained |= keys
    rest = [
        t
        for t in tracks
        if t.role not in (CAUSE, BUDGET) and t.key not in explained and t.finding.get("outcome") == "failed"
    ]
    if rest:
        # named only: the summary and the impact say what each saw
        items.append(f"**Not explained by a candidate's key**: {_checks(rest)}.")
    return items


def _cause_item(
    key: str, group: Sequence[Candidate], tracks: Sequence[Track], commits: Sequence[Commit]
) -> tuple[str, set[str]]:
    """One cause's item: its key (or check) and where it is declared, what each candidate on
    it found, the commits that changed it, whether they all pass now; then a nested line per
    track of a symptom it explains. Also the keys of those tracks."""
    first = group[0]
    found = "; ".join(f"{prose(c.finding['check'])}: {prose(shown(c.finding))}" for c in group)
    lines = [f"{_cause_head(key, first)}: {found}{_changed_by(first, commits)}{_passes_now(group, tracks)}."]
    explained = set()
    for name in dict.fromkeys(s for c in group for s in c.explains):
        for track in (t for t in tracks if t.check == name):
            explained.add(track.key)
            lines.append(f"  - explains {prose(track.check)}: {prose(shown(track.finding))}")
    return "\n".join(lines), explained


def _cause_head(key: str, first: Candidate) -> str:
    """The cause in bold: its config key and the line declaring it, or the check of a candidate
    without a key."""
    if not first.key:
        return f"**{prose(first.finding['check'])}**"
    loc: Mapping[str, Any] = first.finding.get("location") or {}
    spot = f"{loc.get('path')}:{loc.get('line')}"
    where = f" at {code(spot)}" if loc.get("path") and loc.get("line") else ""
    return f"**{code(key)}**{where}"


def _changed_by(first: Candidate, commits: Sequence[Commit]) -> str:
    """``; changed by <commits>`` when commits since the breach changed the cause's key."""
    changed = [c for c in commits if any(k.key == first.key for k in c.keys)] if first.key else []
    return f"; changed by {', '.join(code(c.short) for c in changed)}" if changed else ""


def _passes_now(group: Sequence[Candidate], tracks: Sequence[Track]) -> str:
    """``; passes now`` when every candidate on the cause has a track that passes in this run."""
    by_track = {(t.check, t.app): t for t in tracks}
    return (
        "; passes now"
        if all((t := by_track.get((c.finding["check"], c.finding.get("app")))) and t.passing for c in group)
        else ""
    )
