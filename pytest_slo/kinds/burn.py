"""Error budgets and multi-window burn rates, from counts: the arithmetic and nothing else.

Written from the definitions of the SRE workbook (chapter "Alerting on SLOs"):

* the *error ratio* over a window is bad events / all events in it;
* the *error budget* of an objective ``target`` is ``1 - target`` of the events of its window;
* the *burn rate* over a window is its error ratio divided by the budget ratio ``1 - target``:
  burning at 1× spends exactly the budget over the objective's window, at 14.4× a 30-day
  budget's 2% in one hour;
* a multi-window alert fires when *both* windows of a pair burn faster than its factor
  (the long window proves it is significant, the short one that it is still happening).

An event is a request (``Occurrences`` of a ratio SLI) or a time slice / minute (threshold
SLIs and ``Timeslices``): the same arithmetic, another unit. Counter resets are PromQL's
business (``increase``); what reaches here can still be inconsistent after one (a ``good``
count above its ``total``, both from separately extrapolated counters), and is clamped and
said. No traffic is no error, and a window longer than the data Prometheus holds is
*not judged*, never extrapolated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..units import format_duration as duration

__all__ = [
    "PAGE_PAIRS",
    "TICKET_PAIRS",
    "Budget",
    "BurnPair",
    "PairVerdict",
    "WindowCount",
    "budget",
    "burn_rate",
    "error_ratio",
    "judge_pair",
]


@dataclass(frozen=True)
class BurnPair:
    """Two windows (seconds) and the burn-rate factor both must exceed."""

    long: float
    short: float
    factor: float

    @property
    def label(self) -> str:
        return f"{duration(self.long)} & {duration(self.short)} at {self.factor:g}×"


#: The SRE workbook's page and ticket pairs for a 30-day objective.
PAGE_PAIRS = (BurnPair(3600, 300, 14.4), BurnPair(6 * 3600, 1800, 6.0))
TICKET_PAIRS = (BurnPair(86400, 7200, 3.0), BurnPair(3 * 86400, 6 * 3600, 1.0))


@dataclass(frozen=True)
class WindowCount:
    """What one window holds: bad and total events (``None`` when Prometheus has no data),
    and whether Prometheus holds data for the whole window."""

    window: float
    bad: float | None
    total: float | None
    covered: bool = True

    @property
    def clamped(self) -> bool:
        """True when bad exceeded total (after a counter reset) and was cut to it."""
        return self.bad is not None and self.total is not None and self.bad > self.total > 0


def error_ratio(count: WindowCount) -> float | None:
    """Bad / total over the window; 0.0 with no traffic (nothing failed); ``None`` without
    data or when the window is longer than the data held."""
    if not count.covered or count.bad is None or count.total is None:
        return None
    if count.total <= 0 or math.isnan(count.total):
        return 0.0
    bad = 0.0 if math.isnan(count.bad) else max(0.0, count.bad)
    return min(bad, count.total) / count.total


def burn_rate(ratio: float | None, target: float) -> float | None:
    """How many times faster than ``1 - target`` the window spends the budget."""
    if ratio is None:
        return None
    allowed = 1.0 - target
    if allowed <= 0:
        raise ValueError(f"target {target} leaves no error budget (it must be below 1)")
    return ratio / allowed


@dataclass(frozen=True)
class Budget:
    """The error budget of one objective over its window."""

    target: float
    window: float
    allowed: float  # events the window may fail (budget ratio × total)
    spent: float  # events that failed
    total: float

    @property
    def left_ratio(self) -> float:
        """Budget left, as a share of the budget (1.0 untouched, 0 spent, negative overspent).
        With no traffic nothing was spent."""
        if self.allowed <= 0:
            return 1.0 if self.spent <= 0 else -math.inf
        return 1.0 - self.spent / self.allowed

    @property
    def left_events(self) -> float:
        return self.allowed - self.spent

    @property
    def left_minutes(self) -> float:
        """The budget left as minutes of complete outage (the workbook's 43.2 min of 99.9%/30d)."""
        return self.left_ratio * (1.0 - self.target) * self.window / 60.0


def budget(count: WindowCount, target: float) -> Budget | None:
    """The budget over ``count``'s window; ``None`` without data for all of it."""
    if not count.covered or count.bad is None or count.total is None:
        return None
    total = max(0.0, count.total)
    spent = min(max(0.0, count.bad), total)  # max() keeps 0.0 over a NaN count: nothing spent
    return Budget(target, count.window, (1.0 - target) * total, spent, total)


@dataclass(frozen=True)
class PairVerdict:
    pair: BurnPair
    long_rate: float | None
    short_rate: float | None

    @property
    def judged(self) -> bool:
        return self.long_rate is not None and self.short_rate is not None

    @property
    def firing(self) -> bool:
        """Both windows burn faster than the factor (strictly, as ``>`` in the alert rule)."""
        return self.judged and self.long_rate > self.pair.factor and self.short_rate > self.pair.factor  # type: ignore[operator]


def judge_pair(pair: BurnPair, counts: Sequence[WindowCount], target: float) -> PairVerdict:
    """The burn rates of a pair's two windows, from the counts of every window read."""
    by_window = {c.window: c for c in counts}
    rates = [burn_rate(error_ratio(by_window[w]), target) if w in by_window else None for w in (pair.long, pair.short)]
    return PairVerdict(pair, rates[0], rates[1])
