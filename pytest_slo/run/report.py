"""Turning slo item reports into findings, and writing every report once at the end."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ..errors import SloError
from ..findings.model import atomic_write, jsonable, sort_findings, summarize
from ..kinds.base import Location
from .nodes import CatalogItem, CheckFailed, SloItem

__all__ = ["FindingStore", "build_finding", "item_meta"]


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
    assert isinstance(item, CatalogItem)
    return {
        "check": item.name,
        "title": "check catalog is valid" if item.name == "catalog" else "runbook links resolve",
        "severity": "P3",
        "site": None,
        "app": None,
        "kind": "catalog",
        "runbook": f"checks/runbooks/catalog.md#{item.name}",
    }


def build_finding(item: pytest.Item, report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None) -> dict[str, Any]:
    finding = dict(item_meta(item))
    exc = excinfo.value if excinfo else None
    location: Location | None = None
    evidence: dict[str, Any] = {}
    if isinstance(exc, CheckFailed):
        message = exc.verdict.message
        location = exc.verdict.location
        evidence = exc.verdict.evidence
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
        evidence=jsonable(evidence),
        nodeid=report.nodeid,
    )
    if isinstance(item, SloItem):
        try:
            finding = item.target.site.redactor.data(finding)
        except SloError:
            pass
    order = ("check", "title", "severity", "site", "app", "kind", "outcome", "message", "runbook", "location", "evidence", "nodeid")
    return {k: finding.get(k) for k in order}


class FindingStore:
    """Gathers findings and outcomes on the controller; writes every report once."""

    def __init__(self) -> None:
        self.findings: dict[str, dict[str, Any]] = {}
        self.outcomes: Counter[str] = Counter()
        self.sites: set[str] = set()
        self.apps: set[str] = set()
        self.written: list[tuple[str, Path]] = []
        self.failed_writes: list[str] = []
        self.started = time.time()
        #: nodeid -> (item meta, passed) of every item that ran (a call, or a setup that errored)
        self.ran: dict[str, tuple[dict[str, Any], bool]] = {}

    def add(self, report: pytest.TestReport) -> None:
        meta = getattr(report, "slo", None)
        if meta is None:
            return
        if meta.get("site"):
            self.sites.add(meta["site"])
        if meta.get("app"):
            self.apps.add(meta["app"])
        finding = getattr(report, "slo_finding", None)
        if report.when == "call":
            failed = "error" if finding is not None and finding["outcome"] == "error" else "failed"
            self.outcomes["passed" if report.passed else failed if report.failed else "skipped"] += 1
            if not report.skipped:
                self.ran[report.nodeid] = (meta, report.passed)
        elif report.when == "setup" and not report.passed:
            self.outcomes["skipped" if report.skipped else "error"] += 1
            if not report.skipped:
                self.ran[report.nodeid] = (meta, False)
        if finding is not None and report.nodeid not in self.findings:
            self.findings[report.nodeid] = finding

    def sorted(self) -> list[dict[str, Any]]:
        return sort_findings(self.findings.values())

    def failed(self) -> list[dict[str, Any]]:
        """The findings of verdicts on the system (outcome ``failed``): not the errored items,
        not the problems of the catalog itself."""
        return [f for f in self.sorted() if f.get("outcome") == "failed" and f.get("kind") != "catalog"]

    def catalog_problems(self) -> list[dict[str, Any]]:
        """Failed catalog items: a mistake in checks/*.yaml, never a finding about production."""
        return [f for f in self.sorted() if f.get("outcome") == "failed" and f.get("kind") == "catalog"]

    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.sorted() if f.get("outcome") != "failed"]

    def summary(self) -> dict[str, Any]:
        # ``findings`` and ``by_severity`` count verdicts only: errors are counted apart
        summary = summarize(self.failed(), self.outcomes, self.sites, self.apps)
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
