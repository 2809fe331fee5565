"""Write every requested report once, at session end, and summarize in the terminal.

The summary line counts verdicts by severity and errors apart:
``slo findings: 3 (1 P1, 2 P2); 2 errors``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..findings.model import SEVERITIES
from .context import RunContext
from .report import FindingStore

__all__ = ["summary_lines", "write_all"]


def write_all(config: pytest.Config, run: RunContext, store: FindingStore) -> None:
    findings = store.sorted()
    for finding in findings:
        config.hook.pytest_slo_finding(config=config, finding=finding)
    summary = store.summary()
    s = run.settings
    if s.findings or s.html:
        from .fleet import provenance

        summary.update(provenance(run))
    if s.findings:
        from ..findings.json import render_json

        store.write("findings", s.findings, lambda: render_json(summary, findings))
    if s.findings_md:
        from ..findings.markdown import render_markdown

        store.write("findings (Markdown)", s.findings_md, lambda: render_markdown(summary, findings))
    if s.sarif:
        from ..findings.sarif import render_sarif

        store.write("SARIF", s.sarif, lambda: render_sarif(run, findings))
    if s.postmortem_dir:
        from ..findings.postmortem import write_postmortems

        # an errored item says nothing about the system: it never writes or feeds a postmortem
        write_postmortems(config, run, store, store.failed())
    if s.metrics_file or s.pushgateway:
        from .fleet import write_metrics

        write_metrics(run, store, findings)
    if s.html:
        from .fleet import write_html

        write_html(run, store, summary, findings)


def summary_lines(store: FindingStore, run: RunContext) -> list[tuple[str, dict[str, Any]]]:
    if not (store.outcomes or store.findings or store.failed_writes):
        return []
    findings, errors, catalog = store.failed(), store.errors(), store.catalog_problems()
    counts = {sev: sum(1 for f in findings if f.get("severity") == sev) for sev in SEVERITIES}
    lines: list[tuple[str, dict[str, Any]]] = []
    text = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n) or "none"
    line = f"slo findings: {len(findings)} ({text})"
    if catalog:
        line += f"; {len(catalog)} catalog problem{'s' if len(catalog) > 1 else ''}"
    if errors:
        line += f"; {len(errors)} error{'s' if len(errors) > 1 else ''}"
    if counts["P1"] or counts["P2"] or errors or catalog:
        markup = {"red": True, "bold": True}
    else:
        markup = {"yellow": True} if findings else {"green": True}
    lines.append((line, markup))
    for label, path in store.written:
        lines.append((f"slo {label} written to {path}", {}))
    for message in store.failed_writes:
        lines.append((message, {"red": True}))
    return lines
