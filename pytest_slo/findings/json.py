"""``--findings PATH``: the JSON findings document."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["render_json"]


def render_json(summary: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    return json.dumps({"summary": summary, "findings": findings}, indent=2, sort_keys=False) + "\n"
