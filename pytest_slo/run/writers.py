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
from ..findings.model import SEVERITIES, Finding, jsonable
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
    return [w for w in run.waivers if _could_have_matched(run, store, w) and _ran_in_full(store, w)]


def _could_have_matched(run: RunContext, store: FindingStore, waiver: Waiver) -> bool:
    """A waiver this run could call stale: valid, unexpired, unused, and every site and app it
    reaches among those the run checked."""
    if waiver.problem is not None or waiver.expired(run.today) or waiver.line in store.used_waivers:
        return False
    return not _beyond(run.settings.site, waiver.site) and not _beyond(run.settings.app, waiver.app)


def _beyond(selected: tuple[str, ...], reached: str | None) -> bool:
    """Whether a waiver reaching ``reached`` (None: every one) goes beyond the sites or apps the
    run was narrowed to (``--site``, ``--app``): the run cannot have seen all it covers."""
    return bool(selected) and (reached is None or reached not in selected)


def _ran_in_full(store: FindingStore, waiver: Waiver) -> bool:
    """Whether the waiver's check ran in its scope and every item reached a verdict (none
    skipped or errored: those say nothing about whether the problem is still there)."""
    outcomes = [
        o
        for (check, site, app), o in store.ran.items()
        if check == waiver.check and waiver.site in (None, site) and waiver.app in (None, app)
    ]
    return bool(outcomes) and all(o in ("passed", "failed", "accepted", "waived") for o in outcomes)


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
    extra = _extra(run, store)
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

        store.write(
            "SARIF", s.sarif, lambda: render_sarif(run, findings, store.absent if run.baseline is not None else None)
        )
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


def _extra(run: RunContext, store: FindingStore) -> dict[str, Any]:
    """What the reports show besides the findings: the baseline's findings this run no longer
    has, each valid waiver with its state, and what the live checks saw."""
    return {
        "absent": store.absent if run.baseline is not None else None,
        "waivers": [dict(w.as_dict(), state=_state(run, store, w)) for w in run.waivers if w.problem is None],
        "observations": [store.observations[k] for k in sorted(store.observations, key=lambda k: tuple(map(str, k)))],
    }


def _state(run: RunContext, store: FindingStore, waiver: Waiver) -> str:
    if waiver.expired(run.today):
        return "expired"
    if waiver in store.stale:
        return "stale"
    return "used" if waiver.line in store.used_waivers else "active"


def summary_lines(store: FindingStore, run: RunContext) -> list[tuple[str, dict[str, Any]]]:
    """The terminal summary: the counts line (red, yellow or green), what ``--fail-on=new``
    reported without failing, the reports written and the writes that failed."""
    if not (store.outcomes or store.findings or store.failed_writes):
        return []
    verdicts, waived, errors, catalog = store.verdicts(), store.waived(), store.errors(), store.catalog_problems()
    line = _verdict_counts(verdicts, len(store.absent) if run.baseline is not None else None) + _other_counts(
        waived, catalog, errors
    )
    failing = [f for f in verdicts if run.settings.fail_on == "all" or f.get("baseline_state") == "new"]
    lines: list[tuple[str, dict[str, Any]]] = [
        (line, _markup(failing, bool(verdicts or waived), bool(errors or catalog)))
    ]
    if run.settings.fail_on == "new" and len(failing) < len(verdicts):
        lines.append(
            (f"slo --fail-on=new: {len(verdicts) - len(failing)} unchanged finding(s) reported, not failing", {})
        )
    lines += [(f"slo {label} written to {path}", {}) for label, path in store.written]
    lines += [(message, {"red": True}) for message in store.failed_writes]
    return lines


def _verdict_counts(verdicts: list[Finding], fixed: int | None) -> str:
    """``slo findings: 3 (1 P1, 2 P2)``; against a baseline (``fixed``: how many of its
    findings this run no longer has) the states first, then the severities of any verdict."""
    counts = {sev: sum(1 for f in verdicts if f.get("severity") == sev) for sev in SEVERITIES}
    severities = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n) or "none"
    if fixed is None:
        return f"slo findings: {len(verdicts)} ({severities})"
    states = [f.get("baseline_state") for f in verdicts]
    line = (
        f"slo findings: {len(verdicts)} ({states.count('new')} new, {states.count('unchanged')} unchanged; "
        f"{fixed} fixed since baseline)"
    )
    return (line + f"; {severities}") if verdicts else line


def _other_counts(waived: list[Finding], catalog: list[Finding], errors: list[Finding]) -> str:
    """What is not a verdict, counted apart and only when there is some: ``; 2 waived; 1
    catalog problem; 3 errors``."""
    parts = [
        (len(waived), "waived", "waived"),
        (len(catalog), "catalog problem", "catalog problems"),
        (len(errors), "error", "errors"),
    ]
    return "".join(f"; {n} {many if n > 1 else one}" for n, one, many in parts if n)


def _markup(failing: list[Finding], reported: bool, unjudged: bool) -> dict[str, Any]:
    """Red when the run fails on a P1 or P2 or could not judge something (an error, a catalog
    problem); yellow when it only reports findings; green when it found nothing."""
    if any(f.get("severity") in ("P1", "P2") for f in failing) or unjudged:
        return {"red": True, "bold": True}
    return {"yellow": True} if reported else {"green": True}
