"""Turning slo item reports into findings, and writing every report once at the end."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest

from ..catalog.runbooks import runbook
from ..errors import SloError
from ..findings.fingerprint import fingerprint, identity
from ..findings.model import (
    FIELDS,
    Finding,
    atomic_write,
    jsonable,
    judged,
    repository_problem,
    sort_findings,
    summarize,
    waived_in_full,
)
from ..findings.waived import waived
from ..kinds.base import Location
from .context import RunContext
from .nodes import CatalogItem, CheckFailed, SloItem, WaiverItem, unwrap

__all__ = ["FindingStore", "annotate", "build_finding", "item_meta", "observed", "settle"]

Key = tuple[str, "str | None", "str | None"]


def annotate(run: RunContext, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """What a report of one of our items carries to the controller: ``report.slo`` (the
    item), and for a failure its finding, settled against the baseline and the waivers."""
    if not isinstance(item, (SloItem, CatalogItem, WaiverItem)) or (report.when != "call" and report.passed):
        # A passed setup or teardown tells the findings nothing (its call report, or its
        # skip, carries the item): under xdist every report attribute is serialized.
        return
    report.slo = item_meta(item)  # type: ignore[attr-defined]
    if report.failed:
        exc = unwrap(call.excinfo.value if call.excinfo else None)
        if call.when != "call" and isinstance(exc, SloError) and isinstance(item, (SloItem, WaiverItem)):
            # an error is one line saying what is wrong and where, never a traceback
            # of our own code (a defect keeps its traceback with --full-trace)
            report.longrepr = item.redact(str(exc)) if isinstance(item, SloItem) else str(exc)
        report.slo_finding = finding = build_finding(item, report, call.excinfo)  # type: ignore[attr-defined]
        # the baseline and the waivers decide whether this finding fails the run
        settle(run, item, report, finding)
    if report.when == "call" and isinstance(item, SloItem) and (seen := observed(item)) is not None:
        report.slo_observed = seen  # type: ignore[attr-defined]


def item_meta(item: pytest.Item) -> dict[str, Any]:
    """What a report of ``item`` carries as ``report.slo``: built once per item and shared by
    its setup, call and teardown reports (read-only: copy before changing it)."""
    meta: dict[str, Any] | None = getattr(item, "_slo_meta", None)
    if meta is None:
        meta = _meta(item)
        item._slo_meta = meta  # type: ignore[attr-defined]
    return meta


def _meta(item: pytest.Item) -> dict[str, Any]:
    if isinstance(item, SloItem):
        check = item.check
        return {
            "check": check.id,
            "title": check.title,
            "severity": check.severity,
            "site": item.target.site.name,
            "app": item.target.app,
            "kind": check.kind,
            "runbook": check.runbook,
        }
    if isinstance(item, WaiverItem):
        return item.meta()
    assert isinstance(item, CatalogItem)
    return {
        "check": item.name,
        "title": "check catalog is valid" if item.name == "catalog" else "runbook links resolve",
        "severity": "P3",
        "site": None,
        "app": None,
        "kind": "catalog",
        "runbook": runbook(f"runbooks/catalog.md#{item.name}"),
    }


def build_finding(
    item: pytest.Item, report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None
) -> Finding:
    finding = dict(item_meta(item))
    exc = unwrap(excinfo.value if excinfo else None)
    location: Location | None = None
    evidence: dict[str, Any] = {}
    objects: list[dict[str, str]] = []
    action: str | None = None
    if isinstance(exc, CheckFailed):
        message = exc.verdict.message
        location = exc.verdict.location
        action = exc.verdict.action
        evidence = exc.verdict.evidence
        objects = [identity(o) for o in exc.verdict.objects]
    elif isinstance(exc, SloError):
        message = str(exc)
        location = Location(exc.path, exc.line) if exc.path else None
    elif exc is not None:
        message = f"{type(exc).__name__}: {exc}"
    else:
        message = str(report.longrepr)
    finding.update(
        # only a verdict fails: anything else an item raised is an error
        outcome="failed" if report.when == "call" and isinstance(exc, CheckFailed) else "error",
        message=message,
        location=location.as_dict() if location else None,
        action=action,
        evidence=jsonable(evidence),
        nodeid=report.nodeid,
        objects=objects,
    )
    if isinstance(item, SloItem):
        try:
            finding = item.target.site.redactor.data(finding)
        except SloError:
            pass
    finding["fingerprint"] = fingerprint(finding["check"], finding.get("site"), finding.get("app"), finding["objects"])
    return cast(Finding, {k: finding.get(k) for k in FIELDS})


def settle(run: RunContext, item: pytest.Item, report: pytest.TestReport, finding: Finding) -> None:
    """Give a verdict's finding its baseline state and waiver; a finding the run accepts (a
    complete, unexpired waiver; or unchanged under ``--fail-on=new``) no longer fails its item:
    the report becomes an xfail with the reason, as pytest reports an expected failure."""
    baseline = run.baseline
    if baseline is not None:
        finding["baseline_state"] = baseline.state(finding)
    if not judged(finding):
        # an error or a problem of the repository's files fails whatever the baseline says
        _properties(item, report, [("slo_fingerprint", finding["fingerprint"])])
        return
    cover = waived(finding, run.waivers, run.today)
    reason = None
    if cover is not None:
        finding["waiver"] = cover.as_dict()
        if cover.complete:
            reason = cover.reason()
    if (
        reason is None
        and baseline is not None
        and run.settings.fail_on == "new"
        and finding.get("baseline_state") == "unchanged"
    ):
        reason = (
            f"unchanged since the baseline {baseline.path.name} ({baseline.generated_at}); --fail-on=new fails "
            "only new findings"
        )
    props = [("slo_fingerprint", finding["fingerprint"])]
    if finding.get("baseline_state"):
        props.append(("slo_baseline_state", str(finding["baseline_state"])))
    if cover is not None:
        props.append(("slo_waiver", cover.reason()))
    _properties(item, report, props)
    if reason is not None:
        report.outcome = "skipped"
        report.wasxfail = reason  # type: ignore[attr-defined]


def _properties(item: pytest.Item, report: pytest.TestReport, props: list[tuple[str, str]]) -> None:
    # junitxml writes the properties of the item's teardown report, made from the item's
    # ``user_properties``: add them there (once), and to this report for other readers
    new = [p for p in props if p not in item.user_properties]
    item.user_properties.extend(new)
    report.user_properties = [*report.user_properties, *new]


def observed(item: SloItem) -> dict[str, Any] | None:
    """What a live check evaluated (time and series values), kept in findings.json so the next
    run can judge a regression against it, passing or not."""
    verdict = item.verdict
    if verdict is None or item.kind is None or not item.kind.live:
        return None
    evidence = verdict.evidence
    if not isinstance(evidence.get("values"), list) or not evidence.get("time"):
        return None
    entry = {
        "check": item.check.id,
        "site": item.target.site.name,
        "app": item.target.app,
        "time": evidence["time"],
        "values": evidence["values"],
    }
    try:
        return jsonable(item.target.site.redactor.data(entry))
    except SloError:
        return None


class FindingStore:
    """Gathers findings and outcomes on the controller; writes every report once."""

    def __init__(self) -> None:
        self.findings: dict[str, Finding] = {}
        self.outcomes: Counter[str] = Counter()
        self.sites: set[str] = set()
        self.apps: set[str] = set()
        self.written: list[tuple[str, Path]] = []
        self.failed_writes: list[str] = []
        #: The outcome of each slo item's call (or its setup when it never got to one), by
        #: (check, site, app): what "fixed since the baseline" and "stale waiver" rest on.
        self.ran: dict[Key, str] = {}
        self.observations: dict[Key, dict[str, Any]] = {}
        #: Set at session end: the baseline's findings fixed in this run, and stale waivers.
        self.absent: list[Finding] = []
        self.stale: list[Any] = []
        self.used_waivers: set[int] = set()
        self.started = time.time()  # the metrics' run duration
        self.metas: dict[Key, dict[str, Any]] = {}  # severity and kind of each key in ``ran``, for the metrics

    def add(self, report: pytest.TestReport) -> None:
        meta = getattr(report, "slo", None)
        if meta is None:
            return
        if meta.get("site"):
            self.sites.add(meta["site"])
        if meta.get("app"):
            self.apps.add(meta["app"])
        finding = getattr(report, "slo_finding", None)
        key: Key = (meta["check"], meta.get("site"), meta.get("app"))
        self.metas.setdefault(key, meta)
        if report.when == "call":
            failed = "error" if finding is not None and finding["outcome"] == "error" else "failed"
            if hasattr(report, "wasxfail") and finding is not None:
                outcome = "waived" if waived_in_full(finding) else "accepted"
            else:
                outcome = "passed" if report.passed else failed if report.failed else "skipped"
            self.outcomes[outcome] += 1
            self.ran[key] = outcome
        elif report.when == "setup" and not report.passed:
            self.outcomes["skipped" if report.skipped else "error"] += 1
            self.ran.setdefault(key, "skipped" if report.skipped else "error")
        if finding is not None and report.nodeid not in self.findings:
            self.findings[report.nodeid] = finding
        seen = getattr(report, "slo_observed", None)
        if seen is not None:
            self.observations[key] = seen

    def sorted(self) -> list[Finding]:
        return sort_findings(self.findings.values())

    def failed(self) -> list[Finding]:
        """The findings of verdicts on the system (outcome ``failed``), waived or not: not the
        errored items, not the problems of the repository's own files."""
        return [f for f in self.sorted() if judged(f)]

    def waived(self) -> list[Finding]:
        """Findings an unexpired waiver covers in full: reported, not failing."""
        return [f for f in self.failed() if waived_in_full(f)]

    def verdicts(self) -> list[Finding]:
        """The findings on the system no waiver covers in full."""
        return [f for f in self.failed() if not waived_in_full(f)]

    def catalog_problems(self) -> list[Finding]:
        """Failed catalog and waiver items: a mistake in checks/*.yaml or an expired waiver,
        never a finding about production."""
        return [f for f in self.sorted() if repository_problem(f)]

    def errors(self) -> list[Finding]:
        return [f for f in self.sorted() if f.get("outcome") != "failed"]

    def summary(self) -> dict[str, Any]:
        # ``findings`` and ``by_severity`` count verdicts only: errors are counted apart
        summary = summarize(self.verdicts(), self.outcomes, self.sites, self.apps)
        summary["waived"] = len(self.waived())
        summary["catalog_problems"] = len(self.catalog_problems())
        return summary

    def write(self, label: str, path: Path | None, render: Any) -> None:
        if path is None:
            return
        try:
            atomic_write(path, render())
        except OSError as exc:
            self.failed_writes.append(f"pytest-slo: cannot write {label} to {path}: {exc.strerror or exc}")
        else:
            self.written.append((label, path))
