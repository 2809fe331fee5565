"""``--sarif PATH``: SARIF 2.1.0 for code scanning.

One rule per check id (level from the severity; the runbook in the rule's help, and as
``helpUri`` when it is an absolute URL: a repository path is no URI GitHub accepts, so without
``--runbook-base-url`` the help text names it), one result per finding. Every result has a
location, as GitHub code scanning rejects a whole file when one result has none: the
config.env (or values.yaml) line to edit, or for a finding with no line to edit (a pod in
CrashLoopBackOff) the line that declares where its objects live, with a location message
saying so (:mod:`.where`). A finding with an ``action`` (the declared line is right, the live
system drifted) says what to do in its message and shows the line as where it is declared.
``partialFingerprints``
carry the finding's fingerprint, so code scanning keeps it the same alert across runs; with
``--baseline`` every result has a ``baselineState`` (the fixed ones are ``absent`` results);
a waived finding is a result with an accepted ``suppressions`` entry justified by its waiver.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._version import __version__
from .fingerprint import VERSION
from .model import Finding, runbook_url
from .where import Locator

if TYPE_CHECKING:
    from ._inputs import RunView

__all__ = ["LEVELS", "render_sarif", "rule_help"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"P1": "error", "P2": "error", "P3": "warning", "P4": "note"}
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$")


def rule_help(runbook: str | None, base: str | None) -> dict[str, Any]:
    """The rule's ``help`` (and ``helpUri`` when the runbook is an absolute URL): the runbook
    as a link under ``--runbook-base-url``, else its path in the repository as text."""
    if not runbook:
        return {"help": {"text": "No runbook.", "markdown": "No runbook."}}
    url = runbook_url(runbook, base)
    if _ABSOLUTE.match(url):
        return {"helpUri": url, "help": {"text": f"Runbook: {url}", "markdown": f"[Runbook]({url})"}}
    return {
        "help": {
            "text": f"Runbook: {runbook} (in the repository)",
            "markdown": f"Runbook: `{runbook}` in the repository",
        }
    }


def _rules(run: RunView, findings: list[Finding]) -> list[dict[str, Any]]:
    base = run.settings.runbook_base_url
    rules: dict[str, dict[str, Any]] = {}
    for check in run.catalog.checks:
        rules[check.id] = {
            "id": check.id,
            "name": _name(check.id),
            "shortDescription": {"text": check.title},
            "fullDescription": {"text": check.description or check.title},
            **rule_help(check.runbook, base),
            "defaultConfiguration": {"level": LEVELS[check.severity]},
            "properties": {"tags": sorted({check.kind, check.severity, *check.markers}), "severity": check.severity},
        }
    for finding in findings:
        if finding["check"] not in rules:
            title, runbook = finding["title"], finding.get("runbook") or ""
            rules[finding["check"]] = {
                "id": finding["check"],
                "name": _name(finding["check"]),
                "shortDescription": {"text": title},
                "fullDescription": {"text": title},
                **rule_help(runbook, base),
                "defaultConfiguration": {"level": LEVELS.get(finding["severity"], "warning")},
                "properties": {"tags": [finding.get("kind") or "catalog"], "severity": finding["severity"]},
            }
    return [rules[k] for k in sorted(rules)]


def _name(check_id: str) -> str:
    """An identifier: ``api-availability::burn-rate`` -> ``ApiAvailabilityBurnRate``."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", check_id))


def _message(finding: Finding) -> str:
    text = finding["message"] or finding["title"]
    action = finding.get("action")
    if action:
        location: Mapping[str, Any] = finding.get("location") or {}
        declared = f"{location['path']}:{location['line']}" if location.get("line") else location.get("path")
        text += f"\nDo: {action}" + (
            f"\nDeclared at {declared} (the declaration is right; the live system differs)" if declared else ""
        )
    return str(text)


def _result(finding: Finding, index: dict[str, int], baselined: bool, locator: Locator) -> dict[str, Any]:
    fingerprint = finding.get("fingerprint") or _legacy_fingerprint(finding)
    result: dict[str, Any] = {
        "ruleId": finding["check"],
        "ruleIndex": index[finding["check"]],
        "level": LEVELS.get(finding["severity"], "warning"),
        "message": {"text": _message(finding)},
        "partialFingerprints": {f"pytestSloFinding/{VERSION}": fingerprint},
        "properties": {
            "site": finding.get("site"),
            "app": finding.get("app"),
            "severity": finding["severity"],
            "outcome": finding["outcome"],
            "nodeid": finding["nodeid"],
            "runbook": finding.get("runbook"),
            **({"action": finding["action"]} if finding.get("action") else {}),
        },
    }
    if baselined:
        result["baselineState"] = finding.get("baseline_state") or "new"
    waiver = finding.get("waiver")
    if waiver and waiver.get("complete"):
        # an accepted finding is a suppressed result, justified by its waiver (SARIF §3.35)
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{waiver['reason']} (owner {waiver['owner']}, until {waiver['until']})",
                "location": {
                    "physicalLocation": {
                        "artifactLocation": {"uri": waiver["location"]["path"], "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": int(waiver["location"]["line"])},
                    }
                },
                "properties": {"owner": waiver["owner"], "until": waiver["until"]},
            }
        ]
    where = locator.where(finding)
    shown: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": where.path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": where.line},
        }
    }
    note = (
        "declared here, and right: the live system differs"
        if finding.get("action") and where.note is None
        else where.note
    )
    if note:
        shown["message"] = {"text": note}
    result["locations"] = [shown]
    return result


def _legacy_fingerprint(finding: Finding) -> str:
    key = f"{finding['check']}|{finding.get('site')}|{finding.get('app')}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def render_sarif(run: RunView, findings: list[Finding], absent: Sequence[Finding] | None = None) -> str:
    """``absent``: with ``--baseline``, the baseline's findings fixed in this run (results with
    ``baselineState: absent``); None without a baseline, when no result carries a state."""
    everything = [*findings, *(absent or ())]
    rules = _rules(run, everything)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    repo = getattr(run, "repo", None)
    locator = Locator(getattr(repo, "root", None), {c.id: (c.source, c.line) for c in run.catalog.checks})
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pytest-slo",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "automationDetails": {
                    "id": "pytest-slo/" + ",".join(sorted({str(f.get("site")) for f in findings if f.get("site")}))
                },
                "results": [_result(f, index, absent is not None, locator) for f in everything],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
