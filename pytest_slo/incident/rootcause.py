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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..findings.model import Finding
from ..units import plural

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
_LIVE_LABELS = {
    "maxmemory_policy": "maxmemory-policy",
    "maxmemory": "maxmemory",
    "maxmemory_samples": "maxmemory-samples",
}


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
    drift = _field_drift(evidence) or _live_drift(evidence)
    if drift is not None:
        return drift
    if key and key in evidence:
        return Phrase(f"{key}={evidence[key]}", _slug(key))
    return None


def _field_drift(evidence: Mapping[str, Any]) -> Phrase | None:
    """The first field a drift check found different (a values or kube field): ``memory limit
    512Mi live vs 2Gi declared``."""
    for row in evidence.get("fields") or ():
        if isinstance(row, Mapping) and row.get("same") is False and row.get("field"):
            label = _field_label(str(row["field"]))
            return Phrase(f"{label} {row.get('live')} live vs {row.get('declared')} declared", _slug(label, "drift"))
    return None


def _live_drift(evidence: Mapping[str, Any]) -> Phrase | None:
    """A config check whose assert reads ``live.<attr>`` (a Redis setting), with the first
    instance's value against the declared key's: ``maxmemory 512mb live vs 2gb declared``."""
    found = re.search(r"\blive\.(\w+)", str(evidence.get("assert", "")))
    instances = evidence.get("instances") or []
    if not (found and instances and isinstance(instances[0], Mapping) and found.group(1) in instances[0]):
        return None
    attr = found.group(1)
    label = _LIVE_LABELS.get(attr, attr)
    declared = next((evidence[k] for k in evidence if k.isupper()), None)
    if declared is None:
        return None
    return Phrase(f"{label} {_redis_size(instances[0][attr])} live vs {declared} declared", _slug(label, "drift"))


def symptom_phrase(finding: Finding, test: str | None = None) -> Phrase:
    """What a failing live check saw, in its units: ``2 OOM kills``, ``p99 8400 ms vs <= 500 ms``."""
    evidence = finding.get("evidence") or {}
    if isinstance(evidence.get("shown"), str) and evidence["shown"]:
        return Phrase(str(evidence["shown"]), finding["check"])  # the kind's own words for what it saw
    items = [i for i in evidence.get("items") or () if isinstance(i, Mapping)]
    kube = _KUBE_PHRASES.get(test) if isinstance(test, str) else None
    phrase = kube(items) if kube else None
    return phrase or _breach_phrase(finding, evidence) or _message_phrase(finding)


def _restarts(items: Sequence[Mapping[str, Any]]) -> int:
    """The most restarts of one container among the pods a kube check listed."""
    return max((int(i.get("restartCount") or 0) for i in items), default=0)


def _oom_phrase(items: Sequence[Mapping[str, Any]]) -> Phrase:
    return Phrase(plural(len(items), "OOM kill") if items else "OOM kills", "oom-kills")


def _crashloop_phrase(items: Sequence[Mapping[str, Any]]) -> Phrase:
    restarts = _restarts(items)
    return Phrase(
        f"CrashLoopBackOff, {plural(restarts, 'restart')}" if restarts else "CrashLoopBackOff", "crashloop"
    )


def _restarts_phrase(items: Sequence[Mapping[str, Any]]) -> Phrase:
    return Phrase(plural(_restarts(items), "restart"), "restarts")


def _rollout_phrase(items: Sequence[Mapping[str, Any]]) -> Phrase | None:
    """The workload furthest from its desired replicas; None without one (the message says more)."""
    if not items:
        return None
    worst = min(items, key=lambda i: (i.get("ready") or 0) - (i.get("desired") or 0))
    return Phrase(f"{worst.get('ready')} of {worst.get('desired')} replicas ready", "rollout")


#: A kube check's test → what its listed objects say happened, counted in the test's own terms.
_KUBE_PHRASES: dict[str, Callable[[Sequence[Mapping[str, Any]]], Phrase | None]] = {
    "oomkilled": _oom_phrase,
    "crashloop": _crashloop_phrase,
    "restarts": _restarts_phrase,
    "rollout": _rollout_phrase,
}


def _breach_phrase(finding: Finding, evidence: Mapping[str, Any]) -> Phrase | None:
    """A threshold check's worst value against its objective: ``p99 8400 ms vs <= 500 ms``;
    None when the evidence holds no numeric value."""
    breaching = evidence.get("breaching") or evidence.get("values") or []
    if "op" not in evidence or not breaching:
        return None
    unit = evidence.get("unit", "")
    values: list[float] = [
        v["value"] for v in breaching if isinstance(v, Mapping) and isinstance(v.get("value"), (int, float))
    ]
    if not values:
        return None
    # the worst value: the one furthest past the threshold in the objective's direction
    peak = min(values) if str(evidence["op"]).startswith(">") else max(values)
    text = f"{finding['check']} {peak:.4g}{unit} vs {evidence['op']} {float(evidence.get('threshold', 0)):g}{unit}"
    return Phrase(text, finding["check"])


def _message_phrase(finding: Finding) -> Phrase:
    """The message's first line without the title the item's heading already shows."""
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
    if lead is None:
        return (
            _titled(order[0].get("app"), symptom_phrase(order[0], tests.get(order[0]["check"]))) if order else ("", "")
        )
    cause = cause_phrase(lead.finding, lead.key)
    order = [f for f in order if f["check"] in lead.explains] or order
    if not order:
        return _titled(lead.finding.get("app"), cause or Phrase(lead.finding["check"], lead.finding["check"]))
    symptom = symptom_phrase(order[0], tests.get(order[0]["check"]))
    if cause is None:
        return _titled(order[0].get("app"), symptom)
    return _cause_and_symptom(lead.finding, cause, order[0], symptom)


def _titled(app: str | None, phrase: Phrase) -> tuple[str, str]:
    """``(title, slug)`` of one phrase, after the app it happened to when there is one."""
    return (f"{app}: {phrase.text}" if app else phrase.text), _slug(app or "", phrase.slug)


def _cause_and_symptom(cause_finding: Finding, cause: Phrase, worst: Finding, symptom: Phrase) -> tuple[str, str]:
    """``(title, slug)`` of a cause and the worst symptom it explains, after the cause's app
    (else the symptom's); the symptom's app is named too when it is another one."""
    app = cause_finding.get("app") or worst.get("app")
    where = f"{app}: " if app else ""
    other = f"{worst.get('app')} " if worst.get("app") and worst.get("app") != app else ""
    return f"{where}{cause.text}, {other}{symptom.text}", _slug(app or "", cause.slug, symptom.slug)
