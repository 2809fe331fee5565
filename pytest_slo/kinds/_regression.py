"""``regression:`` on a promql check: a series that got worse since the baseline run fails,
even while it is still within the absolute threshold.

``max_increase`` / ``max_decrease`` take a number in the check's unit (``5`` with unit
``%`` is five points) or a relative change (``"10%"``: a tenth of the baseline value). Series
are paired by their identity (the labels a fingerprint keeps), so a pod rescheduled under a
new name is still compared with itself (when the baseline had one series of that owner). A
series the baseline did not have, NaN on either side, or a relative change from 0 is not
judged: said in the evidence, never guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..findings.fingerprint import object_key

__all__ = ["REGRESSION_SCHEMA", "Regressed", "regressions"]

_AMOUNT = {
    "oneOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"},
    ],
    "description": "a number in the check's unit, or a relative change such as 10%",
    "examples": ["10%", 5],
}
REGRESSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {"max_increase": _AMOUNT, "max_decrease": _AMOUNT},
    "description": "with --baseline: the most a series may get worse since the baseline run",
    "examples": [{"max_increase": "10%"}],
}


@dataclass(frozen=True)
class Regressed:
    labels: Mapping[str, str]
    value: float
    baseline: float
    change: str  # "+17.7%" or "+12 ms": in the criterion's terms
    allowed: str


def _amount(raw: Any) -> tuple[float, bool]:
    """(amount, relative?)"""
    if isinstance(raw, str):
        return float(re.sub(r"[%\s]", "", raw)), True
    return float(raw), False


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def regressions(
    spec: Mapping[str, Any], now: Sequence[tuple[Mapping[str, str], float]], before: Mapping[str, Any], unit: str
) -> tuple[list[Regressed], list[dict[str, Any]]]:
    """The series that got worse than ``spec`` allows, and a row of evidence per compared series."""
    exact: dict[frozenset[tuple[str, str]], float] = {}
    by_identity: dict[str, list[float]] = {}
    for v in before.get("values") or ():
        if isinstance(v, Mapping):
            labels_before = {str(k): str(x) for k, x in (v.get("labels") or {}).items()}
            exact[frozenset(labels_before.items())] = _float(v.get("value"))
            by_identity.setdefault(object_key(labels_before), []).append(_float(v.get("value")))
    worse: list[Regressed] = []
    rows: list[dict[str, Any]] = []
    for labels, value in now:
        # the same series first; else its identity (a pod rescheduled under a new name), but
        # only when one baseline series has it: replicas of one owner share an identity, and
        # comparing a replica with its sibling would report a change that never happened
        old = exact.get(frozenset((str(k), str(x)) for k, x in labels.items()))
        candidates = by_identity.get(object_key(labels), [])
        if old is None and len(candidates) == 1:
            old = candidates[0]
        row: dict[str, Any] = {"labels": dict(labels), "value": value, "baseline_value": old}
        rows.append(row)
        if old is None or math.isnan(old) or math.isnan(value):
            if old is not None:
                row["judged"] = "NaN"
            elif candidates:
                row["judged"] = f"{len(candidates)} baseline series share this identity, none with these labels"
            else:
                row["judged"] = "no baseline value"
            continue
        for key, sign, mark in (("max_increase", 1.0, "+"), ("max_decrease", -1.0, "-")):
            if key not in spec:
                continue
            amount, relative = _amount(spec[key])
            delta = sign * (value - old)
            if relative:
                if old == 0:
                    row["judged"] = "no relative change from 0"
                    continue
                change = 100.0 * delta / abs(old)
                shown, allowed = f"{mark}{change:.1f}%", f"{amount:g}%"
            else:
                change = delta
                # an absolute change of a percentage is in points: "+12.5%" would read as relative
                in_unit = " points" if unit.strip() == "%" else unit
                shown, allowed = f"{mark}{change:.4g}{in_unit}", f"{amount:g}{in_unit}"
            row[key] = shown
            if change > amount:
                worse.append(Regressed(labels, value, old, shown, allowed))
    return worse, rows
