"""``--baseline PATH``: an earlier findings.json, and what this run's findings are against it.

A finding of this run is ``unchanged`` when the baseline holds the same problem: the same
fingerprint, or the same check at the same site and app failing on a superset of the objects
(one of three instances recovered is not a new problem). Otherwise it is ``new``: something
broke that was not broken before. A baseline finding whose item passed in this run is
``absent`` (fixed); one whose item did not run (deselected, skipped, errored) is not claimed
either way. Only verdicts about the system take part: errors and problems of the repository's
own files (the catalog, the waivers) are never accepted as "known".

The baseline also keeps the values live checks evaluated, passing or not (``observations``),
so a check with a ``regression:`` criterion can compare a series with last night's value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..errors import SloError
from .document import problem_of
from .fingerprint import VERSION, object_key
from .model import REPOSITORY_KINDS, Finding, judged

__all__ = ["NOT_BASELINED", "Baseline", "BaselineError", "judged", "load_baseline"]

#: Finding kinds that are about the repository's own files, not the system: never baselined.
NOT_BASELINED = REPOSITORY_KINDS


class BaselineError(SloError):
    """The baseline file cannot be used: missing, malformed, or from another site or repository."""


Key = tuple[str, str | None, str | None]


def _key(finding: Finding) -> Key:
    return (str(finding.get("check")), finding.get("site"), finding.get("app"))


@dataclass
class Baseline:
    path: Path
    generated_at: str | None
    sites: tuple[str, ...]
    findings: list[Finding]
    observations: dict[Key, dict[str, Any]] = field(default_factory=dict)
    #: Fingerprints of every finding of the baseline, errors included (those are compared
    #: by fingerprint only, to say whether an error is new; they never become "known").
    fingerprints: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._fingerprints = set(self.fingerprints) | {f["fingerprint"] for f in self.findings}
        self._objects: dict[Key, set[str]] = {}
        for finding in self.findings:
            self._objects.setdefault(_key(finding), set()).update(object_key(o) for o in finding.get("objects") or ())

    def state(self, finding: Finding) -> str:
        """``unchanged`` or ``new`` for one of this run's findings."""
        if finding.get("fingerprint") in self._fingerprints:
            return "unchanged"
        if not judged(finding):
            return "new"
        known = self._objects.get(_key(finding))
        objects = {object_key(o) for o in finding.get("objects") or ()}
        if known is not None and objects and objects <= known:
            return "unchanged"
        return "new"

    def absent(self, current: Iterable[Finding], passed: Iterable[Key]) -> list[Finding]:
        """The baseline's findings that are fixed: their item passed in this run."""
        still = {_key(f) for f in current}
        ok = set(passed) - still
        return [cast(Finding, {**f, "baseline_state": "absent"}) for f in self.findings if _key(f) in ok]

    def observed(self, check: str, site: str | None, app: str | None) -> dict[str, Any] | None:
        """What a live check evaluated for this site and app in the baseline run: ``time``, ``values``."""
        return self.observations.get((check, site, app))


def _fail(path: Path, why: str, hint: str) -> BaselineError:
    return BaselineError(f"--baseline: {path}: {why}", hint=hint)


def load_baseline(path: Path, *, repo: str, sites: Iterable[str]) -> Baseline:
    """Read a findings.json written by ``--findings``, refusing one from another repository
    or written for none of ``sites`` (this run's sites)."""
    again = "pass the findings.json an earlier run wrote with --findings=PATH"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, "no such file", again) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}", again) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not JSON (line {exc.lineno}: {exc.msg}); a truncated file?", again) from None
    summary = doc.get("summary") if isinstance(doc, dict) else None
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(summary, dict) or not isinstance(findings, list):
        raise _fail(path, "not a pytest-slo findings file (no summary and findings)", again)
    if summary.get("fingerprints") != VERSION:
        raise _fail(
            path,
            f"written without {VERSION} fingerprints (by an older pytest-slo), so its findings cannot be matched",
            "run once without --baseline and keep that run's findings.json as the baseline",
        )
    problem = problem_of(doc)
    if problem:
        raise _fail(path, f"not a pytest-slo findings file: {problem}", again)
    theirs = summary.get("repo")
    if theirs and theirs != repo:
        raise _fail(
            path, f"written for repository {theirs}, this run checks {repo}", "use a baseline of this repository"
        )
    mine = sorted(set(sites))
    written_for = [s for s in summary.get("sites") or () if isinstance(s, str)]
    if mine and written_for and not set(written_for) & set(mine):
        raise _fail(
            path,
            f"written for site {', '.join(written_for)}, this run checks {', '.join(mine)}",
            "use the baseline of the same site (one findings.json per site job)",
        )
    clean: list[Finding] = []
    every: set[str] = set()
    for number, finding in enumerate(findings, 1):
        if (
            not isinstance(finding, dict)
            or not isinstance(finding.get("check"), str)
            or not isinstance(finding.get("fingerprint"), str)
        ):
            raise _fail(path, f"finding {number} has no check or fingerprint", again)
        every.add(finding["fingerprint"])
        if judged(checked := cast(Finding, finding)):  # read against the findings schema above
            clean.append(checked)
    observations: dict[Key, dict[str, Any]] = {}
    for entry in doc.get("observations") or ():
        if isinstance(entry, dict) and isinstance(entry.get("values"), list):
            observations[_key(cast(Finding, entry))] = entry
    return Baseline(path, summary.get("generated_at"), tuple(written_for), clean, observations, frozenset(every))
