"""A generated document's structure, without its times and values: headings, generated-part
markers and table headers, compared with a golden copy under ``tests/data``.

``SLO_UPDATE_GOLDEN=1`` rewrites the golden copy (then review its diff like code)."""

from __future__ import annotations

import os
import re
from pathlib import Path


def structure(text: str) -> str:
    lines = text.splitlines()
    kept = []
    for i, line in enumerate(lines):
        header = line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(?:\s*:?-+:?\s*\|)+", lines[i + 1])
        if line.startswith("#") or line.startswith("<!-- pytest-slo:") or header:
            # a heading names the incident and its apps: keep the shape, not the words
            line = re.sub(r"^(# Postmortem: \S+ — ).*", r"\1TITLE", line)
            kept.append(re.sub(r"INC-\d{4}-\d\d-\d\d-\d{3}", "INC-YYYY-MM-DD-NNN", line))
    return "\n".join(kept) + "\n"


def assert_structure(text: str, golden: Path) -> None:
    found = structure(text)
    if os.environ.get("SLO_UPDATE_GOLDEN") == "1":
        golden.write_text(found)
    assert found == golden.read_text(), (
        f"the draft's structure changed: compare with {golden} (SLO_UPDATE_GOLDEN=1 rewrites it)"
    )
