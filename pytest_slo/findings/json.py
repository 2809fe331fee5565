"""``--findings PATH``: the JSON findings document.

``summary`` and ``findings`` always; with ``--baseline`` also ``absent`` (the baseline's
findings fixed in this run); ``waivers`` (each with its state: active, used, stale, expired)
and ``observations`` (what live checks evaluated, passing or not: the next run's baseline
judges regressions against them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .model import Finding

__all__ = ["render_json"]


def render_json(summary: dict[str, Any], findings: list[Finding], extra: Mapping[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {"summary": summary, "findings": findings}
    for key, value in (extra or {}).items():
        if value is not None:
            doc[key] = value
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
