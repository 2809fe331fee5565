"""The PromQL of an OpenSLO indicator over a window: what the gate reads and the rules record.

One place builds both, so the gate and the exported alert rules measure the same thing.

* ratio SLIs, ``Occurrences``: events are requests. A ``counter: true`` query is counted by
  the rule every shipped promql check counts by, ``sum(counted(q, w))``
  (:func:`pytest_slo.expr.counted`: ``increase()``, and a series born inside the window from
  its first sample; any expression but a selector through a 1m subquery), so the
  availability SLO and ``slo-error-rate`` count the same errors. A ``counter: false`` query is
  read as events per second: ``avg_over_time((q)[w:1m]) * w``.
* threshold SLIs, and every ``Timeslices`` objective: events are time slices (a minute for a
  threshold SLI with ``Occurrences``; ``timeSliceWindow`` otherwise). The query answers the
  share of good slices in the window; a slice without traffic counts as good.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog.openslo import Objective, Slo
from ..expr import counted, is_selector
from ..units import format_duration as duration

__all__ = ["SliQueries", "duration", "is_selector"]


@dataclass(frozen=True)
class SliQueries:
    """An SLO objective's PromQL for one site: ``good``/``bad``/``total``/``query`` rendered."""

    slo: Slo
    objective: Objective
    target_slice: float | None  # the rendered timeSliceTarget
    value: float | None  # the rendered threshold value
    good: str | None = None
    bad: str | None = None
    total: str | None = None
    query: str | None = None

    @property
    def by_slices(self) -> bool:
        """Events are time slices, not requests."""
        return self.slo.indicator == "threshold" or self.slo.method == "Timeslices"

    @property
    def slice(self) -> float:
        return self.objective.slice_window or 60.0

    @property
    def unit(self) -> str:
        return "requests" if not self.by_slices else "minutes" if self.slice == 60 else f"{duration(self.slice)} slices"

    def _counted(self, q: str, w: float) -> str:
        if not self.slo.counter:
            return f"(sum(avg_over_time(({q})[{duration(w)}:1m])) * {int(w)})"
        return f"sum({counted(q, duration(w))})"

    def _bad(self, w: float) -> str:
        # a numerator without series (no 5xx yet) counts 0, not "no data": ``or vector(0)``
        if self.bad:
            return f"({self._counted(self.bad, w)} or vector(0))"
        assert self.good and self.total
        return f"({self._counted(self.total, w)} - ({self._counted(self.good, w)} or vector(0)))"

    def good_slice(self) -> str:
        """1 for a good slice ending at each step, 0 for a bad one."""
        s = self.slice
        if self.slo.indicator == "threshold":
            good_now = f"(({self.query}) {self.objective.op} bool {self.value:g})"
            if self.slo.method != "Timeslices":
                return good_now
            return f"(avg_over_time({good_now}[{duration(s)}:1m]) >= bool {self.target_slice:g})"
        total = self._counted(self.total or "", s)
        good = f"({total} - {self._bad(s)})" if self.bad else f"({self._counted(self.good or '', s)} or vector(0))"
        return f"({good} >= bool ({self.target_slice:g} * {total}))"

    def good_share(self, w: float) -> str:
        """The share of good slices in window ``w`` (the worst series', if several)."""
        return f"min(avg_over_time({self.good_slice()}[{duration(w)}:{duration(self.slice)}]))"

    def bad_count(self, w: float) -> str:
        return self._bad(w)

    def total_count(self, w: float) -> str:
        return self._counted(self.total or "", w)

    def reads(self, w: float) -> tuple[str, ...]:
        """The instant queries the gate sends for window ``w``."""
        return (self.good_share(w),) if self.by_slices else (self.bad_count(w), self.total_count(w))

    def error_ratio(self, w: float) -> str:
        """The error ratio over ``w`` as one expression (recording rules, the postmortem's history)."""
        if self.by_slices:
            return f"(1 - {self.good_share(w)})"
        return f"({self.bad_count(w)} / {self.total_count(w)})"

    @staticmethod
    def held_step(w: float) -> int:
        """The resolution of :meth:`held_since` over ``w``: ``w / 240`` in whole minutes, at least 1m."""
        return max(60, int(w // 240) // 60 * 60)

    def held_since(self, w: float) -> str:
        """The first time within ``w`` Prometheus holds the SLI's data, to :meth:`held_step`.

        The subquery sees only step-aligned instants: data younger than the last of them is
        "now" (the ``or``), never "no data"."""
        basis = self.query if self.slo.indicator == "threshold" else self.total
        held = f"timestamp(count({basis}))"
        return f"(min_over_time({held}[{duration(w)}:{duration(self.held_step(w))}]) or {held})"
