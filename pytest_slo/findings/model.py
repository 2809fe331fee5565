"""The finding: what a failed or errored slo item becomes, in every report.

Findings are plain JSON-ready dicts so they travel on pytest-xdist test reports unchanged
and every writer reads the same fields (the README's "Findings": check, title, severity, site, app, kind,
outcome, message, runbook, location, evidence, nodeid; then ``fingerprint`` and the failing
``objects`` it is made of, ``baseline_state`` (new, unchanged, absent; None without
``--baseline``) and ``waiver`` (the waiver that covers it, or None)).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

from ..catalog.schema import SEVERITIES  # the one list: findings carry the catalog's severities

__all__ = [
    "FIELDS",
    "REPOSITORY_KINDS",
    "SEVERITIES",
    "Finding",
    "FindingLocation",
    "atomic_write",
    "counted",
    "jsonable",
    "judged",
    "repository_problem",
    "runbook_url",
    "sort_findings",
    "summarize",
    "waived_in_full",
]

class FindingLocation(TypedDict):
    """The repo-relative file and 1-based line a person should edit (line None: the file)."""

    path: str | None
    line: int | None


class Finding(TypedDict, total=False):
    """One finding, as findings.json holds it and every writer reads it (a plain dict at run
    time: it travels on pytest-xdist reports and plugins' ``pytest_slo_finding`` may add keys)."""

    check: str
    title: str
    severity: str
    site: str | None
    app: str | None
    kind: str | None
    outcome: str  # failed (a verdict) or error (no verdict)
    message: str
    runbook: str | None
    location: FindingLocation | None
    evidence: dict[str, Any]
    nodeid: str
    #: What to do when editing ``location`` is not the fix (live drifted from a correct declaration).
    action: str | None
    #: What makes the finding the same problem on the next run, and what the run made of it.
    fingerprint: str
    objects: list[dict[str, str]]
    baseline_state: str | None
    waiver: dict[str, Any] | None
    #: ``merge``: the findings.json the finding came from.
    source: str


#: The fields of a finding a run writes, in the order findings.json has them.
FIELDS: tuple[str, ...] = tuple(k for k in Finding.__annotations__ if k != "source")
#: Finding kinds about the repository's own files (the catalog, the waivers), not the system.
REPOSITORY_KINDS = frozenset({"catalog", "waiver"})


def judged(finding: Finding) -> bool:
    """A verdict on the system: a failed check, not a problem of the repository's own files."""
    return finding.get("outcome") == "failed" and finding.get("kind") not in REPOSITORY_KINDS


def waived_in_full(finding: Finding) -> bool:
    """An unexpired waiver covers the finding in full: reported, not failing."""
    return bool((finding.get("waiver") or {}).get("complete"))


def counted(finding: Finding) -> bool:
    """What ``summary.findings`` counts: a verdict on the system no waiver covers in full."""
    return judged(finding) and not waived_in_full(finding)


def repository_problem(finding: Finding) -> bool:
    """A failed catalog or waiver item: a mistake in checks/*.yaml or an expired waiver."""
    return finding.get("outcome") == "failed" and finding.get("kind") in REPOSITORY_KINDS


def jsonable(value: Any) -> Any:
    """Evidence as strict JSON: Decimals, paths, tuples and sets become plain values, and
    NaN/Inf (a ratio over maxmemory 0) become Prometheus' spellings, "NaN" and "+Inf"."""
    return _finite(json.loads(json.dumps(value, default=_default)))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by node id: the same order with and without xdist."""
    return sorted(findings, key=lambda f: (f.get("severity") or "P9", f.get("nodeid") or ""))


def summarize(
    findings: list[Finding], outcomes: Counter[str], sites: Iterable[str], apps: Iterable[str]
) -> dict[str, Any]:
    by_severity = Counter(f.get("severity") for f in findings)
    return {
        "generated_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "sites": sorted(set(sites)),
        "apps": sorted(set(apps)),
        "items": sum(outcomes.values()),
        "passed": outcomes.get("passed", 0),
        "failed": outcomes.get("failed", 0),
        "errors": outcomes.get("error", 0),
        "skipped": outcomes.get("skipped", 0),
        # items whose finding did not fail the run: unchanged under --fail-on=new
        "accepted": outcomes.get("accepted", 0),
        "findings": len(findings),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
    }


def atomic_write(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and ``os.replace``: readers never see half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a report gets the mode any new file would
        # (0644 under the usual umask), so a CI artifact or a web server can read it
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://")


def runbook_url(runbook: str | None, base: str | None) -> str:
    """A runbook link as every report writes it: a URL stays; a repository path goes under
    ``--runbook-base-url`` when one is set, else stays as written."""
    if not runbook:
        return ""
    if base and not _URL.match(runbook):
        return base.rstrip("/") + "/" + runbook.lstrip("/")
    return runbook
