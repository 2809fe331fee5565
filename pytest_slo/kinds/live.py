"""What live kinds share: how times read in evidence."""

from __future__ import annotations

import datetime as _dt

__all__ = ["iso"]


def iso(at: float | _dt.datetime) -> str:
    """RFC 3339 in UTC, as every piece of evidence says a time. An epoch time (the run's
    evaluation time) to the millisecond, so the same query sent at that time gets the same
    answer; a Kubernetes time to the second, milliseconds only when it has them."""
    if isinstance(at, _dt.datetime):
        return (
            at.astimezone(_dt.timezone.utc)
            .isoformat(timespec="milliseconds" if at.microsecond else "seconds")
            .replace("+00:00", "Z")
        )
    return _dt.datetime.fromtimestamp(at, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

