"""The shape of a findings document (``--findings``) as the readers of one rely on it.

``--baseline`` and ``python -m pytest_slo merge`` read findings.json files other runs wrote,
perhaps by hand, truncated or from another tool. Both check them against this one schema, so
a document either reads in full or is refused with the field that is wrong; no writer meets
a value of a type it does not expect. Fields a ``pytest_slo_finding`` hook adds (``owner``)
are allowed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FINDINGS_SCHEMA", "problem_of"]

_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_FINDING = {
    "type": "object",
    "required": ["check", "severity", "outcome", "nodeid", "title", "message"],
    "properties": {
        **{k: _TEXT for k in ("check", "severity", "outcome", "nodeid", "title", "message")},
        **{k: _MAYBE_TEXT for k in ("site", "app", "kind", "runbook", "fingerprint", "baseline_state", "action")},
        "location": {
            "type": ["object", "null"],
            "properties": {"path": _MAYBE_TEXT, "line": {"type": ["integer", "null"]}},
        },
        "waiver": {"type": ["object", "null"]},
        "evidence": {"type": ["object", "null"]},
        "objects": {"type": ["array", "null"], "items": {"type": "object"}},
    },
}
FINDINGS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["summary", "findings"],
    "properties": {
        "summary": {
            "type": "object",
            "properties": {
                "sites": {"type": "array", "items": _TEXT},
                "generated_at": _MAYBE_TEXT,
                "repo": _MAYBE_TEXT,
            },
        },
        "findings": {"type": "array", "items": _FINDING},
        "absent": {"type": ["array", "null"], "items": _FINDING},
        "observations": {"type": ["array", "null"], "items": {"type": "object"}},
    },
}


def _where(path: Any) -> str:
    """``findings[2].waiver`` as people count: ``finding 3: waiver``."""
    names: list[str] = []
    for part in path:
        if isinstance(part, int) and names:
            names[-1] = f"{'finding' if names[-1] == 'findings' else names[-1]} {part + 1}"
        else:
            names.append(str(part))
    return ": ".join(names)


def problem_of(doc: Any) -> str | None:
    """The first field of ``doc`` that is not as a findings document has it, or None."""
    from jsonschema import Draft202012Validator

    errors = sorted(
        Draft202012Validator(FINDINGS_SCHEMA).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if not errors:
        return None
    error = errors[0]
    where = _where(error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
