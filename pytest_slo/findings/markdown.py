"""``--findings-md PATH``: a Markdown summary grouped by severity, with runbook links."""

from __future__ import annotations

from typing import Any

from .model import SEVERITIES

__all__ = ["render_markdown"]

_LABEL = {"P1": "P1 — page now", "P2": "P2 — urgent", "P3": "P3 — soon", "P4": "P4 — housekeeping"}


def _link(runbook: str | None) -> str:
    return f"[runbook]({runbook})" if runbook else "no runbook"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def render_markdown(summary: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    sites = ", ".join(summary["sites"]) or "no site"
    lines = [
        f"# pytest-slo findings: {sites}",
        "",
        f"{summary['items']} items: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['errors']} errors, {summary['skipped']} skipped. Generated {summary['generated_at']}.",
        "",
    ]
    if not findings:
        lines += ["No findings.", ""]
        return "\n".join(lines)
    counts = " · ".join(f"{s}: {summary['by_severity'].get(s, 0)}" for s in SEVERITIES)
    verdicts = [f for f in findings if f.get("outcome") == "failed" and f.get("kind") != "catalog"]
    catalog = [f for f in findings if f.get("outcome") == "failed" and f.get("kind") == "catalog"]
    errors = [f for f in findings if f.get("outcome") != "failed"]
    lines += [f"**{len(verdicts)} findings** ({counts}); {len(catalog)} catalog problems; {len(errors)} errors", ""]
    # the system's findings by severity; then what kept a check from judging at all
    groups = [(f"{_LABEL[sev]} ({n})", g) for sev in SEVERITIES if (n := len(g := [f for f in verdicts if f.get("severity") == sev]))]
    if catalog:
        groups.append((f"The check catalog ({len(catalog)}): fix these first, their checks did not run", catalog))
    if errors:
        groups.append((f"Errors ({len(errors)}): no verdict, an input or a source to fix", errors))
    for title, group in groups:
        lines += [f"## {title}", ""]
        lines += ["| check | site / app | outcome | what is wrong | edit | runbook |", "|---|---|---|---|---|---|"]
        for f in group:
            loc = f.get("location")
            where = f"`{loc['path']}:{loc['line']}`" if loc and loc.get("line") else (f"`{loc['path']}`" if loc else "—")
            first = (f.get("message") or "").splitlines()[0] if f.get("message") else ""
            lines.append(
                f"| `{f['check']}` | {f.get('site') or '—'} / {f.get('app') or '—'} | {f['outcome']} | "
                f"{_cell(first)} | {where} | {_link(f.get('runbook'))} |"
            )
        lines.append("")
    return "\n".join(lines)
