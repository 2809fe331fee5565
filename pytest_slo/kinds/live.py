"""What live kinds share: how times read in evidence."""

from __future__ import annotations

import datetime as _dt

__all__ = ["iso"]


def iso(at: float) -> str:
    """RFC 3339 in UTC to the millisecond: the run's evaluation time is one, so the same query
    sent at this time gets the same answer."""
    return _dt.datetime.fromtimestamp(at, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

