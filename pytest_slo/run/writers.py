"""Write every requested report once, at session end, and summarize in the terminal.

The summary line counts verdicts by severity and errors apart:
``slo findings: 3 (1 P1, 2 P2); 2 errors``; with ``--baseline`` by state:
``slo findings: 5 (1 new, 4 unchanged; 2 fixed since baseline); 1 P1, 4 P2; 2 waived``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import SloWarning
from ..findings.fingerprint import VERSION
from ..findings.model import SEVERITIES, jsonable
from .context import RunContext
from .report import FindingStore

if TYPE_CHECKING:
    from ..catalog.waivers import Waiver

__all__ = ["finish", "summary_lines", "write_all"]


def finish(config: pytest.Config, run: RunContext, store: FindingStore) -> None:
    """What is known only once every item reported: the baseline's fixed findings and the
    waivers that matched nothing."""
    if run.baseline is not None:
        passed = [key for key, outcome in store.ran.items() if outcome == "passed"]
        store.absent = run.baseline.absent(store.failed(), passed)
    # the lines of the waivers some finding used, in full or as one of several
    store.used_waivers = {
        loc["line"] for f in store.failed() if (w := f.get("waiver")) for loc in (w["location"], *w.get("also", ()))
    }
    store.stale = _stale(config, run, store)
    for waiver in store.stale:
        # a warning, not a failure: pytest lists it in its warnings summary, at the waiver's line
        warnings.warn_explicit(
            SloWarning(
                f"stale waiver: waiver for {waiver.check} {waiver.scope} matched no finding in this run: "
                f"remove it if the problem is fixed (owner {waiver.owner})"
            ),
            SloWarning,
            filename=waiver.path,
            lineno=waiver.line,
        )


def _stale(config: pytest.Config, run: RunContext, store: FindingStore) -> list[Waiver]:
    """Unexpired waivers whose checks all ran (none deselected, skipped or errored) without
    one finding for the waiver to cover: only a full run of their scope can say so."""
    if config.getoption("keyword", "") or config.getoption("markexpr", "") or not run.waivers:
        return []
    s = run.settings
    stale = []
    for waiver in run.waivers:
        if waiver.problem is not None or waiver.expired(run.today) or waiver.line in store.used_waivers:
            continue
        if s.site and (waiver.site is None or waiver.site not in s.site):
            continue  # the waiver reaches sites this run did not check
        if s.app and (waiver.app is None or waiver.app not in s.app):
            continue
        outcomes = [o for (check, site, app), o in store.ran.items() if check == waiver.check and waiver.site in (None, site) and waiver.app in (None, app)]
        if outcomes and all(o in ("passed", "failed", "accepted", "waived") for o in outcomes):
            stale.append(waiver)
    return stale


def report_summary(run: RunContext, store: FindingStore) -> dict[str, Any]:
    summary = store.summary()
    summary["repo"] = run.repo.identity
    summary["fingerprints"] = VERSION
    summary["fail_on"] = run.settings.fail_on
    if run.baseline is not None:
        states = [f.get("baseline_state") for f in store.verdicts()]
        summary["baseline"] = {
            "path": str(run.baseline.path),
            "generated_at": run.baseline.generated_at,
            "new": states.count("new"),
            "unchanged": states.count("unchanged"),
            "absent": len(store.absent),
        }
    return summary


def write_all(config: pytest.Config, run: RunContext, store: FindingStore) -> None:
    finish(config, run, store)
    findings = store.sorted()
    for finding in findings:
        config.hook.pytest_slo_finding(config=config, finding=finding)
        # a hook may add any value ("add evidence"): every writer gets strict JSON, in place so
        # that the findings the store hands to later writers are the same
        adjusted = jsonable(finding)
        finding.clear()  # type: ignore[attr-defined]  # a TypedDict is a dict at run time
        finding.update(adjusted)
    summary = report_summary(run, store)
    extra: dict[str, Any] = {
        "absent": store.absent if run.baseline is not None else None,
        "waivers": [dict(w.as_dict(), state=_state(run, store, w)) for w in run.waivers if w.problem is None],
        "observations": [store.observations[k] for k in sorted(store.observations, key=lambda k: tuple(map(str, k)))],
    }
    s = run.settings
    if s.findings or s.html:
        from .fleet import provenance

        summary.update(provenance(run))
    if s.findings:
        from ..findings.json import render_json

        store.write("findings", s.findings, lambda: render_json(summary, findings, extra))
    if s.findings_md:
        from ..findings.markdown import render_markdown

        store.write("findings (Markdown)", s.findings_md, lambda: render_markdown(summary, findings, extra))
    if s.sarif:
        from ..findings.sarif import render_sarif

        store.write("SARIF", s.sarif, lambda: render_sarif(run, findings, store.absent if run.baseline is not None else None))
    if s.postmortem_dir:
        from ..incident import write_postmortems

        # an errored item says nothing about the system: it never writes or feeds a postmortem;
        # a waived finding is accepted for now: it does not page anyone either
        write_postmortems(config, run, store, store.verdicts())
    if s.metrics_file or s.pushgateway:
        from .fleet import write_metrics

        write_metrics(run, store, findings)
    if s.html:
        from .fleet import write_html

        write_html(run, store, summary, findings)


def _state(run: RunContext, store: FindingStore, waiver: Waiver) -> str:
    if waiver.expired(run.today):
        return "expired"
    if waiver in store.stale:
        return "stale"
    return "used" if waiver.line in store.used_waivers else "active"


def summary_lines(store: FindingStore, run: RunContext) -> list[tuple[str, dict[str, Any]]]:
    if not (store.outcomes or store.findings or store.failed_writes):
        return []
    verdicts, waived, errors, catalog = store.verdicts(), store.waived(), store.errors(), store.catalog_problems()
    counts = {sev: sum(1 for f in verdicts if f.get("severity") == sev) for sev in SEVERITIES}
    lines: list[tuple[str, dict[str, Any]]] = []
    severities = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n) or "none"
    if run.baseline is not None:
        states = [f.get("baseline_state") for f in verdicts]
        fixed = len(store.absent)
        line = f"slo findings: {len(verdicts)} ({states.count('new')} new, {states.count('unchanged')} unchanged; {fixed} fixed since baseline)"
        if verdicts:
            line += f"; {severities}"
    else:
        line = f"slo findings: {len(verdicts)} ({severities})"
    if waived:
        line += f"; {len(waived)} waived"
    if catalog:
        line += f"; {len(catalog)} catalog problem{'s' if len(catalog) > 1 else ''}"
    if errors:
        line += f"; {len(errors)} error{'s' if len(errors) > 1 else ''}"
    failing = [f for f in verdicts if run.settings.fail_on == "all" or f.get("baseline_state") == "new"]
    if any(f.get("severity") in ("P1", "P2") for f in failing) or errors or catalog:
        markup = {"red": True, "bold": True}
    else:
        markup = {"yellow": True} if verdicts or waived else {"green": True}
    lines.append((line, markup))
    if run.settings.fail_on == "new" and len(failing) < len(verdicts):
        lines.append((f"slo --fail-on=new: {len(verdicts) - len(failing)} unchanged finding(s) reported, not failing", {}))
    for label, path in store.written:
        lines.append((f"slo {label} written to {path}", {}))
    for message in store.failed_writes:
        lines.append((message, {"red": True}))
    return lines
