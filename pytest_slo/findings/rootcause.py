"""Rank root-cause candidates: declared config that feeds a failing live symptom comes first.

A *symptom* is a failing live check that is not a drift check (latency, OOM errors, crash
loops). A *candidate* is a finding about declared config: an offline ``config``/``values``
check, or a drift check (declared vs live). A candidate's key is the config.env key on the
line its finding points at; a symptom's keys are the ones its check names or reads. The
ranking: candidates whose key feeds a symptom first; among those the most severe, then the
one that explains the most (and most severe) symptoms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Candidate", "is_symptom", "rank_candidates"]

_WEIGHT = {"P1": 8, "P2": 4, "P3": 2, "P4": 1}
OFFLINE_KINDS = ("config", "values")


@dataclass
class Candidate:
    finding: dict[str, Any]
    key: str | None
    explains: list[str] = field(default_factory=list)
    score: int = 0


def is_symptom(finding: Mapping[str, Any], live_kinds: set[str], drift: set[str]) -> bool:
    return finding.get("kind") in live_kinds and finding["check"] not in drift and finding.get("outcome") == "failed"


def _key_at(finding: Mapping[str, Any], env_lines: Mapping[str, Mapping[int, str]]) -> str | None:
    location = finding.get("location") or {}
    return env_lines.get(location.get("path") or "", {}).get(location.get("line") or -1)


def rank_candidates(
    findings: list[dict[str, Any]],
    *,
    live_kinds: set[str],
    drift: set[str],
    symptom_keys: Mapping[str, list[str]],
    env_lines: Mapping[str, Mapping[int, str]],
) -> list[Candidate]:
    """``symptom_keys``: check id → config keys it depends on, most direct first;
    ``env_lines``: config.env path → {line: key}."""
    symptoms = [f for f in findings if is_symptom(f, live_kinds, drift)]
    candidates = []
    for finding in findings:
        if finding.get("kind") not in OFFLINE_KINDS and finding["check"] not in drift:
            continue
        candidate = Candidate(finding, _key_at(finding, env_lines))
        for symptom in symptoms:
            keys = symptom_keys.get(symptom["check"], [])
            same_site = symptom.get("site") == finding.get("site")
            if candidate.key and same_site and candidate.key in keys:
                candidate.explains.append(symptom["check"])
                candidate.score += _WEIGHT.get(symptom["severity"], 1) * 2 // (1 + keys.index(candidate.key))
        candidates.append(candidate)
    candidates.sort(
        key=lambda c: (not c.explains, c.finding["severity"], -c.score, c.finding["check"], c.finding.get("app") or "")
    )
    return candidates
