"""``--findings-md PATH``: a Markdown summary grouped by severity, with runbook links.

With ``--baseline`` each finding says whether it is new or unchanged, and the baseline's
findings fixed in this run are listed; waived findings and the waivers' states have their
own sections, so what the run accepted is as visible as what failed it. Each finding's whole
message follows under "Details", as the terminal shows it.

The file renders as written: every text goes through :mod:`.mdtext` (ids, paths and queries
in code spans, messages with what a reader copies set apart, the rest escaped), and CI lints
it with markdownlint-cli2 and the repository's ``.markdownlint-cli2.jsonc``. A finding with an
``action`` (the declared line is right, the live system drifted) says what to do and where
it is declared instead of sending the reader to edit a line that is already correct.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import mdtext
from .model import SEVERITIES, Finding, counted, judged, repository_problem, waived_in_full

__all__ = ["render_markdown", "what_to_do"]

_LABEL = {"P1": "P1 — page now", "P2": "P2 — urgent", "P3": "P3 — soon", "P4": "P4 — housekeeping"}


def _link(runbook: str | None) -> str:
    if not runbook:
        return "no runbook"
    # a destination with spaces or parentheses is written in <...>, as CommonMark allows
    return f"[runbook](<{runbook}>)" if any(c in runbook for c in " ()") else f"[runbook]({runbook})"


def _at(location: Mapping[str, Any] | None) -> str | None:
    if not location or not location.get("path"):
        return None
    return f"{location['path']}:{location['line']}" if location.get("line") else str(location["path"])


def what_to_do(f: Finding) -> str:
    """The "what to do" cell: the line to edit, or the action and where it is declared."""
    at = _at(f.get("location"))
    if f.get("action"):
        return mdtext.message(f["action"], in_table=True) + (f"; declared at {mdtext.code(at)}" if at else "")
    return f"edit {mdtext.code(at)}" if at else "—"


def _first(f: Finding) -> str:
    return str(f.get("message") or "").splitlines()[0] if f.get("message") else ""


def _who(f: Finding) -> str:
    return mdtext.prose(f"{f.get('site') or '—'} / {f.get('app') or '—'}")


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]


def render_markdown(summary: dict[str, Any], findings: list[Finding], extra: Mapping[str, Any] | None = None) -> str:
    """The whole report: the heading and counts, a table per severity (then the catalog's
    problems and the errors), the waived findings, the baseline's fixed ones, the waivers to
    tidy, and each finding's whole message."""
    extra = extra or {}
    absent = extra.get("absent") or []
    waivers = extra.get("waivers") or []
    lines = _heading(summary)
    if not findings and not absent and not waivers:
        return "\n".join([*lines, "No findings.", ""])
    fully_waived = [f for f in findings if judged(f) and waived_in_full(f)]
    groups = _groups(findings)
    lines += _counts(summary, findings, fully_waived)
    lines += _tables(groups, summary.get("baseline") is not None)
    lines += _waived(fully_waived) + _fixed(absent) + _to_tidy(waivers)
    lines += _details([f for _, group in groups for f in group] + fully_waived)
    return "\n".join(lines)


def _heading(summary: Mapping[str, Any]) -> list[str]:
    """The title (the sites), the items' outcomes, and the comparison with a baseline."""
    sites = ", ".join(summary["sites"]) or "no site"
    lines = [
        f"# pytest-slo findings: {mdtext.prose(sites)}",
        "",
        f"{summary['items']} items: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['errors']} errors, {summary['skipped']} skipped. Generated {summary['generated_at']}.",
        "",
    ]
    baseline = summary.get("baseline")
    if baseline:
        lines += [
            f"Against the baseline {mdtext.code(baseline['path'])} ({baseline['generated_at']}): "
            f"**{baseline['new']} new**, "
            f"{baseline['unchanged']} unchanged, {baseline['absent']} fixed since baseline."
            + (" Only new findings fail this run (`--fail-on=new`)." if summary.get("fail_on") == "new" else ""),
            "",
        ]
    return lines


def _counts(summary: Mapping[str, Any], findings: Sequence[Finding], fully_waived: Sequence[Finding]) -> list[str]:
    """The verdicts by severity, the waived ones, the catalog's problems and the errors, in one line."""
    counts = " · ".join(f"{s}: {summary['by_severity'].get(s, 0)}" for s in SEVERITIES)
    waived_note = f"; {len(fully_waived)} waived" if fully_waived else ""
    verdicts = sum(1 for f in findings if counted(f))
    catalog = sum(1 for f in findings if repository_problem(f))
    errors = sum(1 for f in findings if f.get("outcome") != "failed")
    return [f"**{verdicts} findings** ({counts}){waived_note}; {catalog} catalog problems; {errors} errors", ""]


def _groups(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    """The tables' titles and findings: the system's findings by severity; then what kept a
    check from judging at all (the catalog's and the waivers' problems, the errors)."""
    verdicts = [f for f in findings if counted(f)]
    groups = [
        (f"{_LABEL[sev]} ({n})", g)
        for sev in SEVERITIES
        if (n := len(g := [f for f in verdicts if f.get("severity") == sev]))
    ]
    groups += _catalog_group([f for f in findings if repository_problem(f)])
    errors = [f for f in findings if f.get("outcome") != "failed"]
    if errors:
        groups.append((f"Errors ({len(errors)}): no verdict, an input or a source to fix", errors))
    return groups


def _catalog_group(catalog: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """The repository's own problems, first to fix: the catalog's alone kept their checks from
    running; with a waiver's among them the title names both."""
    if not catalog:
        return []
    if all(f.get("kind") == "catalog" for f in catalog):
        return [(f"The check catalog ({len(catalog)}): fix these first, their checks did not run", catalog)]
    return [(f"The check catalog and waivers ({len(catalog)}): fix these first", catalog)]


def _tables(groups: Sequence[tuple[str, list[Finding]]], state: bool) -> list[str]:
    """A section with a table per group; ``state``: a column for each finding's state against
    the baseline."""
    head = ["check", "site / app", *(["state"] if state else []), "outcome", "what is wrong", "what to do", "runbook"]
    lines = []
    for title, group in groups:
        lines += [f"## {title}", "", *_table(head, [_row(f, state) for f in group])]
    return lines


def _row(f: Finding, state: bool) -> list[str]:
    """A finding's row; ``state``: with its state against the baseline, a new one in bold."""
    cells = [mdtext.code(f["check"]), _who(f)]
    if state:
        cells.append(
            f"**{f['baseline_state']}**"
            if f.get("baseline_state") == "new"
            else mdtext.prose(f.get("baseline_state") or "—")
        )
    return [
        *cells,
        mdtext.prose(f["outcome"]),
        mdtext.message(_first(f), in_table=True),
        what_to_do(f),
        _link(f.get("runbook")),
    ]


def _waived(fully_waived: Sequence[Finding]) -> list[str]:
    """The findings a waiver accepts in full, with the waiver's date, owner, reason and line."""
    if not fully_waived:
        return []
    return [f"## Waived ({len(fully_waived)}): accepted until the date, not failing", "", *_table(
        ["check", "site / app", "what is wrong", "until", "owner", "reason", "waiver"],
        [[mdtext.code(f["check"]), _who(f), mdtext.message(_first(f), in_table=True), mdtext.prose(w["until"]),
          mdtext.cell(w["owner"]), mdtext.cell(w["reason"]), mdtext.code(_at(w["location"]))]
         for f in fully_waived if (w := f.get("waiver") or {})],
    )]


def _fixed(absent: Sequence[Finding]) -> list[str]:
    """The baseline's findings this run no longer has."""
    if not absent:
        return []
    rows = [[mdtext.code(f["check"]), _who(f), mdtext.message(_first(f), in_table=True)] for f in absent]
    return [f"## Fixed since baseline ({len(absent)})", "", *_table(["check", "site / app", "was"], rows)]


def _to_tidy(waivers: Sequence[Mapping[str, Any]]) -> list[str]:
    """The waivers that matched no finding or expired: each to remove, fix or renew."""
    tidy = [w for w in waivers if w.get("state") in ("stale", "expired")]
    if not tidy:
        return []
    return [
        f"## Waivers to tidy ({len(tidy)})",
        "",
        *_table(
            ["waiver", "check", "state", "until", "owner"],
            [
                [
                    mdtext.code(_at(w["location"])),
                    mdtext.code(w["check"]),
                    "matched no finding: remove it" if w["state"] == "stale" else "expired: fix or renew",
                    mdtext.prose(w["until"]),
                    mdtext.cell(w["owner"]),
                ]
                for w in tidy
            ],
        ),
    ]


def _details(findings: Sequence[Finding]) -> list[str]:
    """Each finding's whole message in a code block, as the terminal shows it (its lines and
    their alignment matter: the drift tables, the query a live check ran)."""
    shown = [f for f in findings if len(str(f.get("message") or "").splitlines()) > 1 or f.get("action")]
    if not shown:
        return []
    lines = ["## Details", ""]
    for f in shown:
        lines += [
            f"**{f.get('severity')}** {mdtext.code(f['check'])} at {_who(f)}, item {mdtext.code(f['nodeid'])}:",
            "",
        ]
        lines += [*mdtext.block(f.get("message") or f.get("title") or ""), ""]
        if f.get("action"):
            lines += [
                f"Do: {mdtext.message(f['action'])}"
                + (
                    f"; declared at {mdtext.code(_at(f['location']))}, which is right."
                    if _at(f.get("location"))
                    else ""
                ),
                "",
            ]
    return lines
