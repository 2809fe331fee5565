"""``--sarif PATH``: SARIF 2.1.0 for code scanning.

One rule per check id (helpUri = the runbook, level from the severity), one result per
finding, located at the config.env (or values.yaml) line to edit. ``partialFingerprints``
carry the finding's fingerprint, so code scanning keeps it the same alert across runs; with
``--baseline`` every result has a ``baselineState`` (the fixed ones are ``absent`` results);
a waived finding is a result with an accepted ``suppressions`` entry justified by its waiver.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._version import __version__
from .fingerprint import VERSION
from .model import runbook_url

if TYPE_CHECKING:
    from ._inputs import RunView

__all__ = ["LEVELS", "render_sarif"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"P1": "error", "P2": "error", "P3": "warning", "P4": "note"}


def _rules(run: RunView, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = run.settings.runbook_base_url
    rules: dict[str, dict[str, Any]] = {}
    for check in run.catalog.checks:
        rules[check.id] = {
            "id": check.id,
            # an identifier: ``api-availability::burn-rate`` -> ``ApiAvailabilityBurnRate``
            "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", check.id)),
            "shortDescription": {"text": check.title},
            "fullDescription": {"text": check.description or check.title},
            "helpUri": runbook_url(check.runbook, base),
            "help": {"text": f"Runbook: {check.runbook}", "markdown": f"[Runbook]({runbook_url(check.runbook, base)})"},
            "defaultConfiguration": {"level": LEVELS[check.severity]},
            "properties": {"tags": sorted({check.kind, check.severity, *check.markers}), "severity": check.severity},
        }
    for finding in findings:
        if finding["check"] not in rules:
            title, runbook = finding["title"], finding.get("runbook") or ""
            rules[finding["check"]] = {
                "id": finding["check"],
                "shortDescription": {"text": title},
                "helpUri": runbook_url(runbook, base),
                "defaultConfiguration": {"level": LEVELS.get(finding["severity"], "warning")},
                "properties": {"tags": [finding.get("kind") or "catalog"], "severity": finding["severity"]},
            }
    return [rules[k] for k in sorted(rules)]


def _result(finding: dict[str, Any], index: dict[str, int], baselined: bool) -> dict[str, Any]:
    fingerprint = finding.get("fingerprint") or _legacy_fingerprint(finding)
    result: dict[str, Any] = {
        "ruleId": finding["check"],
        "ruleIndex": index[finding["check"]],
        "level": LEVELS.get(finding["severity"], "warning"),
        "message": {"text": finding["message"] or finding["title"]},
        "partialFingerprints": {f"pytestSloFinding/{VERSION}": fingerprint},
        "properties": {
            "site": finding.get("site"),
            "app": finding.get("app"),
            "severity": finding["severity"],
            "outcome": finding["outcome"],
            "nodeid": finding["nodeid"],
            "runbook": finding.get("runbook"),
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
                "location": {"physicalLocation": {"artifactLocation": {"uri": waiver["location"]["path"], "uriBaseId": "%SRCROOT%"}, "region": {"startLine": int(waiver["location"]["line"])}}},
                "properties": {"owner": waiver["owner"], "until": waiver["until"]},
            }
        ]
    location = finding.get("location")
    if location:
        physical: dict[str, Any] = {"artifactLocation": {"uri": location["path"], "uriBaseId": "%SRCROOT%"}}
        if location.get("line"):
            physical["region"] = {"startLine": int(location["line"])}
        result["locations"] = [{"physicalLocation": physical}]
    return result


def _legacy_fingerprint(finding: dict[str, Any]) -> str:
    key = f"{finding['check']}|{finding.get('site')}|{finding.get('app')}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def render_sarif(run: RunView, findings: list[dict[str, Any]], absent: Sequence[dict[str, Any]] | None = None) -> str:
    """``absent``: with ``--baseline``, the baseline's findings fixed in this run (results with
    ``baselineState: absent``); None without a baseline, when no result carries a state."""
    everything = [*findings, *(absent or ())]
    rules = _rules(run, everything)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
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
                "automationDetails": {"id": "pytest-slo/" + ",".join(sorted({f["site"] for f in findings if f.get("site")})) },
                "results": [_result(f, index, absent is not None) for f in everything],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
