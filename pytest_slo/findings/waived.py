"""Which findings the repository's waivers cover.

A waiver without ``match`` covers the check's finding at its site and app. With ``match`` it
covers each failing object whose identity has every label given (a ``pod`` also matches by the
name of its owner, as fingerprints do). A finding is waived only when every one of its failing
objects is covered by an unexpired waiver: one more instance breaching is no longer the
accepted problem, so the finding fails again, saying which objects the waivers covered.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fingerprint import identity
from .model import Finding

if TYPE_CHECKING:
    from ..catalog.waivers import Waiver

__all__ = ["Waived", "covers", "waived"]


def covers(waiver: Waiver, obj: Mapping[str, Any]) -> bool:
    """Whether ``waiver``'s ``match`` holds for one failing object. Both sides are compared as
    fingerprints see them: a pod written with its generated name (as a message shows it) or
    with its owner's name matches the same pods; a label fingerprints ignore matches nothing."""
    have = identity(obj)
    wanted = identity(waiver.match)
    return len(wanted) == len(waiver.match) and all(have.get(key) == value for key, value in wanted.items())


@dataclass(frozen=True)
class Waived:
    """The unexpired waivers that apply to a finding, and whether together they cover it all."""

    waivers: tuple[Waiver, ...]
    complete: bool

    def as_dict(self) -> dict[str, Any]:
        first = self.waivers[0]
        out = first.as_dict()
        if len(self.waivers) > 1:
            out["also"] = [w.as_dict()["location"] for w in self.waivers[1:]]
        out["complete"] = self.complete
        return out

    def reason(self) -> str:
        w = self.waivers[0]
        return f"waived until {w.until.isoformat()} by {w.owner}: {w.reason} ({w.where})"


def waived(finding: Finding, waivers: Iterable[Waiver], today: _dt.date) -> Waived | None:
    """The waivers covering ``finding`` (or part of it), or None when none applies."""
    usable = [
        w for w in waivers
        if w.applies(str(finding.get("check")), finding.get("site"), finding.get("app")) and not w.expired(today)
    ]
    if not usable:
        return None
    objects = list(finding.get("objects") or ())
    if not objects:
        # a finding about the check as a whole: only a waiver without match covers it
        whole = [w for w in usable if not w.match]
        return Waived(tuple(whole), True) if whole else None
    used: list[Waiver] = []
    complete = True
    for obj in objects:
        hit = next((w for w in usable if covers(w, obj)), None)
        if hit is None:
            complete = False
        elif hit not in used:
            used.append(hit)
    return Waived(tuple(used), complete) if used else None
