"""What live kinds share: how times read in evidence."""

from __future__ import annotations

import datetime as _dt

__all__ = ["iso"]


def iso(at: float) -> str:
    return _dt.datetime.fromtimestamp(at, _dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
