"""What ``kind: kube`` judges: the app's objects as read once per run, and how their times read.

One :class:`KubeState` per (namespace, selector) per run, shared by the app's kube checks;
one :class:`Problem` per thing a check finds wrong. Times in Kubernetes objects are RFC 3339;
one without a zone is read as UTC, one with an offset is converted.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from .base import Location

__all__ = ["CLOCK_SKEW", "KubeState", "Problem", "name_of", "parse_time", "statuses", "within"]

# Kubelets' clocks may run a little ahead of ours: a termination up to this many seconds
# after the evaluation time is "just now"; later ones happened after it and are not counted.
CLOCK_SKEW = 300.0


@dataclass(frozen=True)
class KubeState:
    """The app's pods and workloads, where they were read, and the time windows end at."""

    origin: str  # "snapshot dump.json", "kubernetes context 'x' at https://..."
    namespace: str
    selector: str
    now: _dt.datetime
    now_from: str = "current time"  # or "--kube-snapshot-time"
    pods: list[dict[str, Any]] = field(default_factory=list)
    workloads: list[dict[str, Any]] = field(default_factory=list)
    #: Only when nothing matches: every pod of the namespace, to say what it does hold.
    namespace_pods: list[dict[str, Any]] | None = None
    #: The namespace's core/v1 Events (one LIST per run); empty when unread.
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Why the events could not be read (a 403 when the Role lacks ``list events``), else None.
    events_error: str | None = None


@dataclass(frozen=True)
class Problem:
    """One thing a kube check found wrong: a line of the message, its evidence, its identity."""

    text: str
    evidence: dict[str, Any]
    #: The identity the fingerprint and waivers read (``{"pod": ..., "container": ...}``).
    identity: dict[str, str]
    #: The objects whose Warning events explain it, as ``Kind/name``.
    involves: tuple[str, ...] = ()
    #: Evidence of something that is fine, kept for the reader (a workload with every replica ready).
    ok: bool = False
    #: The line that declares what differs (drift).
    location: Location | None = None


def name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", "?"))


def statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod's container statuses, app containers first, then init containers."""
    status = pod.get("status") or {}
    return list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or [])


def parse_time(text: Any) -> _dt.datetime | None:
    """An RFC 3339 time (``Z``, an offset, or no zone meaning UTC); None when unreadable."""
    if not text or not isinstance(text, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


def within(now: _dt.datetime, at: _dt.datetime, window: float) -> bool:
    """Whether ``at`` lies in the ``window`` seconds before ``now`` (edges included, with
    :data:`CLOCK_SKEW` allowed after it)."""
    return -CLOCK_SKEW <= (now - at).total_seconds() <= window
