"""Rank root-cause candidates, and say in a few words what happened.

A *symptom* is a failing live check that is not a drift check (latency, OOM errors, crash
loops). A *candidate* is a finding about declared config: an offline ``config``/``values``
check, or a drift check (declared vs live). A candidate's key is the config.env key on the
line its finding points at; a symptom's keys are the ones its check names or reads. The
ranking: candidates whose key feeds a symptom first; among those the one that explains the
most, and the most severe, symptoms (a symptom counts less when the key is only one of
several its check reads); then the candidate's own severity.

:func:`headline` names an incident by its top-ranked cause and its worst symptom, in the
units a person reads ("redis-cluster: memory limit 512Mi live vs 2Gi declared, 2 OOM
kills"), from the findings' evidence, never from a check's title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..findings.model import Finding

__all__ = ["Candidate", "Phrase", "cause_phrase", "headline", "is_symptom", "rank_candidates", "symptom_phrase"]

_WEIGHT = {"P1": 8, "P2": 4, "P3": 2, "P4": 1}
OFFLINE_KINDS = ("config", "values")


@dataclass
class Candidate:
    finding: Finding
    key: str | None
    explains: list[str] = field(default_factory=list)
    score: int = 0


def is_symptom(finding: Finding, live_kinds: set[str], drift: set[str]) -> bool:
    return finding.get("kind") in live_kinds and finding["check"] not in drift and finding.get("outcome") == "failed"


def _key_at(finding: Finding, env_lines: Mapping[str, Mapping[int, str]]) -> str | None:
    location: Mapping[str, Any] = finding.get("location") or {}
    return env_lines.get(location.get("path") or "", {}).get(location.get("line") or -1)


def rank_candidates(
    findings: list[Finding],
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
        key=lambda c: (not c.explains, -c.score, c.finding["severity"], c.finding["check"], c.finding.get("app") or "")
    )
    return candidates


@dataclass(frozen=True)
class Phrase:
    """What a finding says happened: ``text`` for people, ``slug`` words for a file name
    (no measured values, so the name of one incident does not change from run to run)."""

    text: str
    slug: str


_FIELD_LABELS = {
    ("limits", "memory"): "memory limit",
    ("requests", "memory"): "memory request",
    ("limits", "cpu"): "CPU limit",
    ("requests", "cpu"): "CPU request",
}
_LIVE_LABELS = {"maxmemory_policy": "maxmemory-policy", "maxmemory": "maxmemory", "maxmemory_samples": "maxmemory-samples"}


def _field_label(path: str) -> str:
    parts = tuple(path.split("."))
    if parts[-2:] in _FIELD_LABELS:
        return _FIELD_LABELS[parts[-2:]]  # type: ignore[index]
    if parts[0] == "image":
        return "image tag" if parts[-1] == "tag" else "image"
    return path


def _redis_size(value: Any) -> str:
    # Redis sizes are binary: 1mb = 1048576 bytes (units.py); say 512mb, not 536870912
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1 << 20:
        for suffix, size in (("gb", 1 << 30), ("mb", 1 << 20)):
            if value % size == 0 or value >= size * 10:
                return f"{value / size:g}{suffix}"
    return str(value)


def _slug(*parts: str) -> str:
    return "-".join(w for w in re.split(r"[^a-z0-9]+", " ".join(parts).lower()) if w)


def cause_phrase(finding: Finding, key: str | None = None) -> Phrase | None:
    """``<what> <live> live vs <declared> declared`` for a drift, ``KEY=value`` for a
    declared value; None when the evidence does not say."""
    evidence = finding.get("evidence") or {}
    for row in evidence.get("fields") or ():
        if isinstance(row, Mapping) and row.get("same") is False and row.get("field"):
            label = _field_label(str(row["field"]))
            return Phrase(f"{label} {row.get('live')} live vs {row.get('declared')} declared", _slug(label, "drift"))
    found = re.search(r"\blive\.(\w+)", str(evidence.get("assert", "")))
    instances = evidence.get("instances") or []
    if found and instances and isinstance(instances[0], Mapping) and found.group(1) in instances[0]:
        attr = found.group(1)
        label = _LIVE_LABELS.get(attr, attr)
        declared = next((evidence[k] for k in evidence if k.isupper()), None)
        if declared is not None:
            live = instances[0][attr]
            return Phrase(f"{label} {_redis_size(live)} live vs {declared} declared", _slug(label, "drift"))
    if key and key in evidence:
        return Phrase(f"{key}={evidence[key]}", _slug(key))
    return None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def symptom_phrase(finding: Finding, test: str | None = None) -> Phrase:
    """What a failing live check saw, in its units: ``2 OOM kills``, ``p99 8400 ms vs <= 500 ms``."""
    evidence = finding.get("evidence") or {}
    if isinstance(evidence.get("shown"), str) and evidence["shown"]:
        return Phrase(str(evidence["shown"]), finding["check"])  # the kind's own words for what it saw
    items = [i for i in evidence.get("items") or () if isinstance(i, Mapping)]
    if test == "oomkilled":
        return Phrase(_count(len(items), "OOM kill", "OOM kills") if items else "OOM kills", "oom-kills")
    if test == "crashloop":
        restarts = max((int(i.get("restartCount") or 0) for i in items), default=0)
        return Phrase(f"CrashLoopBackOff, {_count(restarts, 'restart', 'restarts')}" if restarts else "CrashLoopBackOff", "crashloop")
    if test == "restarts":
        restarts = max((int(i.get("restartCount") or 0) for i in items), default=0)
        return Phrase(_count(restarts, "restart", "restarts"), "restarts")
    if test == "rollout" and items:
        worst = min(items, key=lambda i: (i.get("ready") or 0) - (i.get("desired") or 0))
        return Phrase(f"{worst.get('ready')} of {worst.get('desired')} replicas ready", "rollout")
    breaching = evidence.get("breaching") or evidence.get("values") or []
    if "op" in evidence and breaching:
        unit = evidence.get("unit", "")
        values: list[float] = [v["value"] for v in breaching if isinstance(v, Mapping) and isinstance(v.get("value"), (int, float))]
        if values:
            # the worst value: the one furthest past the threshold in the objective's direction
            peak = min(values) if str(evidence["op"]).startswith(">") else max(values)
            text = f"{finding['check']} {peak:.4g}{unit} vs {evidence['op']} {float(evidence.get('threshold', 0)):g}{unit}"
            return Phrase(text, finding["check"])
    first = str(finding.get("message", "")).splitlines()[0] if finding.get("message") else finding["check"]
    title = str(finding.get("title") or "")
    if title and first.startswith(title + ": "):
        first = first[len(title) + 2 :]
    return Phrase(first, finding["check"])


def headline(
    candidates: Sequence[Candidate], symptoms: Sequence[Finding], tests: Mapping[str, str | None] | None = None
) -> tuple[str, str]:
    """``(title, slug)`` of an incident: the top-ranked cause that explains a symptom and
    the worst symptom it explains; without one, the worst symptom alone."""
    tests = tests or {}
    order = sorted(symptoms, key=lambda f: (f["severity"], f["check"], f.get("app") or ""))
    lead = candidates[0] if candidates and candidates[0].explains else None
    cause = cause_phrase(lead.finding, lead.key) if lead else None
    if lead is not None:
        explained = [f for f in order if f["check"] in lead.explains]
        order = explained or order
    if not order:
        if lead is None:
            return "", ""
        only = cause or Phrase(lead.finding["check"], lead.finding["check"])
        app = lead.finding.get("app")
        return (f"{app}: {only.text}" if app else only.text), _slug(app or "", only.slug)
    worst = order[0]
    symptom = symptom_phrase(worst, tests.get(worst["check"]))
    if lead is None or cause is None:
        app = worst.get("app")
        return (f"{app}: {symptom.text}" if app else symptom.text), _slug(app or "", symptom.slug)
    app = lead.finding.get("app") or worst.get("app")
    where = f"{app}: " if app else ""
    other = f"{worst.get('app')} " if worst.get("app") and worst.get("app") != app else ""
    return f"{where}{cause.text}, {other}{symptom.text}", _slug(app or "", cause.slug, symptom.slug)
