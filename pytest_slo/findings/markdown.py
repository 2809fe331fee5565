"""``--findings-md PATH``: a Markdown summary grouped by severity, with runbook links.

With ``--baseline`` each finding says whether it is new or unchanged, and the baseline's
findings fixed in this run are listed; waived findings and the waivers' states have their
own sections, so what the run accepted is as visible as what failed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import SEVERITIES, counted, judged, repository_problem, waived_in_full

__all__ = ["render_markdown"]

_LABEL = {"P1": "P1 — page now", "P2": "P2 — urgent", "P3": "P3 — soon", "P4": "P4 — housekeeping"}


def _link(runbook: str | None) -> str:
    return f"[runbook]({runbook})" if runbook else "no runbook"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def _where(f: Mapping[str, Any]) -> str:
    loc = f.get("location")
    return f"`{loc['path']}:{loc['line']}`" if loc and loc.get("line") else (f"`{loc['path']}`" if loc else "—")


def _first(f: Mapping[str, Any]) -> str:
    return (f.get("message") or "").splitlines()[0] if f.get("message") else ""


def render_markdown(summary: dict[str, Any], findings: list[dict[str, Any]], extra: Mapping[str, Any] | None = None) -> str:
    extra = extra or {}
    sites = ", ".join(summary["sites"]) or "no site"
    baseline = summary.get("baseline")
    lines = [
        f"# pytest-slo findings: {sites}",
        "",
        f"{summary['items']} items: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['errors']} errors, {summary['skipped']} skipped. Generated {summary['generated_at']}.",
        "",
    ]
    if baseline:
        lines += [
            f"Against the baseline `{baseline['path']}` ({baseline['generated_at']}): **{baseline['new']} new**, "
            f"{baseline['unchanged']} unchanged, {baseline['absent']} fixed since baseline."
            + (" Only new findings fail this run (`--fail-on=new`)." if summary.get("fail_on") == "new" else ""),
            "",
        ]
    absent = extra.get("absent") or []
    waivers = extra.get("waivers") or []
    if not findings and not absent and not waivers:
        lines += ["No findings.", ""]
        return "\n".join(lines)
    counts = " · ".join(f"{s}: {summary['by_severity'].get(s, 0)}" for s in SEVERITIES)
    fully_waived = [f for f in findings if judged(f) and waived_in_full(f)]
    verdicts = [f for f in findings if counted(f)]
    catalog = [f for f in findings if repository_problem(f)]
    errors = [f for f in findings if f.get("outcome") != "failed"]
    waived_note = f"; {len(fully_waived)} waived" if fully_waived else ""
    lines += [f"**{len(verdicts)} findings** ({counts}){waived_note}; {len(catalog)} catalog problems; {len(errors)} errors", ""]
    # the system's findings by severity; then what kept a check from judging at all
    groups = [(f"{_LABEL[sev]} ({n})", g) for sev in SEVERITIES if (n := len(g := [f for f in verdicts if f.get("severity") == sev]))]
    if catalog:
        if all(f.get("kind") == "catalog" for f in catalog):
            groups.append((f"The check catalog ({len(catalog)}): fix these first, their checks did not run", catalog))
        else:
            groups.append((f"The check catalog and waivers ({len(catalog)}): fix these first", catalog))
    if errors:
        groups.append((f"Errors ({len(errors)}): no verdict, an input or a source to fix", errors))
    state = baseline is not None
    for title, group in groups:
        lines += [f"## {title}", ""]
        head = "| check | site / app | " + ("state | " if state else "") + "outcome | what is wrong | edit | runbook |"
        lines += [head, "|---" * (head.count("|") - 1) + "|"]
        for f in group:
            cells = [f"`{f['check']}`", f"{f.get('site') or '—'} / {f.get('app') or '—'}"]
            if state:
                cells.append(f"**{f['baseline_state']}**" if f.get("baseline_state") == "new" else (f.get("baseline_state") or "—"))
            cells += [f["outcome"], _cell(_first(f)), _where(f), _link(f.get("runbook"))]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if fully_waived:
        lines += [f"## Waived ({len(fully_waived)}): accepted until the date, not failing", ""]
        lines += ["| check | site / app | what is wrong | until | owner | reason | waiver |", "|---|---|---|---|---|---|---|"]
        for f in fully_waived:
            w = f["waiver"]
            lines.append(
                f"| `{f['check']}` | {f.get('site') or '—'} / {f.get('app') or '—'} | {_cell(_first(f))} | {w['until']} | "
                f"{_cell(w['owner'])} | {_cell(w['reason'])} | `{w['location']['path']}:{w['location']['line']}` |"
            )
        lines.append("")
    if absent:
        lines += [f"## Fixed since baseline ({len(absent)})", ""]
        lines += ["| check | site / app | was |", "|---|---|---|"]
        lines += [f"| `{f['check']}` | {f.get('site') or '—'} / {f.get('app') or '—'} | {_cell(_first(f))} |" for f in absent]
        lines.append("")
    tidy = [w for w in waivers if w.get("state") in ("stale", "expired")]
    if tidy:
        lines += [f"## Waivers to tidy ({len(tidy)})", ""]
        lines += ["| waiver | check | state | until | owner |", "|---|---|---|---|---|"]
        for w in tidy:
            what = "matched no finding: remove it" if w["state"] == "stale" else "expired: fix or renew"
            lines.append(f"| `{w['location']['path']}:{w['location']['line']}` | `{w['check']}` | {what} | {w['until']} | {_cell(w['owner'])} |")
        lines.append("")
    return "\n".join(lines)
