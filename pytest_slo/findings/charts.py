"""Charts of failing live checks: each series over the postmortem window, the objective as a
line, and the start of the breach marked.

The history is read through the run's :class:`~pytest_slo.sources.Sources` (the same range
query the postmortem draft makes). Charts are drawn with pygal, a library made for SVG
charts: pure Python, a few hundred KB, no numpy, and SVG out without a rendering backend.
It is imported only when a chart is drawn, so the offline gate never pays for it. Charts
carry no script and no external reference (pygal's tooltip script is switched off and its inline config dropped), so a
page or a Markdown file that embeds them works offline.
"""

from __future__ import annotations

import datetime as _dt
import re
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..compare import BREACHES
from ..errors import SloError
from ..expr import duration_seconds
from .model import Finding

if TYPE_CHECKING:
    from ._inputs import RunView

__all__ = ["MAX_SERIES", "breach_start", "episodes", "history", "live_charts", "render_chart"]

MAX_SERIES = 8  # more lines than this is a tangle; the worst ones are kept
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_PALETTE = ("#1f5fa6", "#2ca02c", "#17becf", "#6a51a3", "#8c564b", "#1a9850", "#4575b4", "#7f7f7f")
_OBJECTIVE = "#555555"
_BREACH = "#d62728"


#: Range answers per run (its Sources): the HTML report and the postmortem draft chart the
#: same history, read once. A failed read is not kept: the next reader says why itself.
_HISTORY: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, float], list[Any]]] = weakref.WeakKeyDictionary()


def history(run: RunView, site: str, query: str, end: float | None = None) -> list[Any]:
    """The range series of ``query`` at ``site`` over ``--postmortem-window`` up to ``end``
    (default: the run's evaluation time, the moment its verdicts were read at)."""
    end = run.sources.eval_time if end is None else end
    cache = _HISTORY.setdefault(run.sources, {})
    key = (site, query, end)
    if key not in cache:
        window = duration_seconds(run.settings.postmortem_window)
        source = run.sources.prometheus(run.repo.site(site))
        with run.sources.budget():
            cache[key] = list(source.query_range(query, end - window, end, max(15.0, window / 240)))
    return cache[key]


def episodes(bad: Sequence[bool], min_points: int = 2, max_gap: int = 2) -> list[tuple[int, int | None]]:
    """(first, recovered-at) index pairs of sustained breaches in a series' points: blips
    shorter than ``min_points`` are noise, and recoveries shorter than ``max_gap`` do not end
    an episode; a breach at the last point counts however short (it is still going on)."""
    runs: list[list[int]] = []
    for i, b in enumerate(bad):
        if not b:
            continue
        if runs and i - runs[-1][1] <= max_gap + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    found: list[tuple[int, int | None]] = []
    for first, last in runs:
        if last - first + 1 >= min_points or last == len(bad) - 1:
            found.append((first, last + 1 if last + 1 < len(bad) else None))
    return found


def breach_start(finding: Finding, series: Sequence[Any]) -> _dt.datetime | None:
    """When the breach of a promql ``finding`` began in ``series``: the earliest start of each
    series' last episode (the one the finding is about). NaN (no traffic) is no breach."""
    evidence = finding.get("evidence") or {}
    breach = BREACHES[evidence.get("op", "<=")]
    threshold = float(evidence.get("threshold", 0))
    starts = []
    for s in series:
        points = list(s.points)
        found = episodes([breach(v, threshold) for _, v in points])
        if found:
            starts.append(points[found[-1][0]][0])
    return _dt.datetime.fromtimestamp(min(starts), _dt.timezone.utc) if starts else None


def _label(labels: dict[str, str]) -> str:
    shown = [f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("__name__", "namespace", "job")]
    return ", ".join(shown)[:60] or "value"


def _utc(ts: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).replace(tzinfo=None)


def render_chart(finding: Finding, series: Sequence[Any], first_breach: _dt.datetime | None = None) -> str:
    """One SVG chart (no XML declaration, no script) of ``series`` for a promql ``finding``."""
    import pygal
    from pygal.style import CleanStyle

    evidence = finding.get("evidence") or {}
    unit = str(evidence.get("unit", ""))
    threshold = evidence.get("threshold")
    kept = sorted(series, key=lambda s: -max((v for _, v in s.points if v == v), default=0.0))[:MAX_SERIES]
    # series in the palette's blues and greens; the objective grey; the breach start red, so
    # the marker stands out even where it falls on a series' own step
    colors = [_PALETTE[i % len(_PALETTE)] for i in range(len(kept))] + [_OBJECTIVE, _BREACH]
    chart = pygal.DateTimeLine(
        width=760, height=280, explicit_size=True, js=[], disable_xml_declaration=True,
        show_dots=False, stroke_style={"width": 1.5}, legend_at_bottom=True, legend_font_size=10,
        truncate_legend=60, x_label_rotation=0, style=CleanStyle(colors=tuple(colors)), show_x_guides=False,
        title=f"{finding['check']} at {finding.get('site')} / {finding.get('app') or '-'}",
        x_value_formatter=lambda d: d.strftime("%H:%M"), value_formatter=lambda v: f"{v:.4g}{unit}",
        print_values=False, no_data_text="no data in the window",
    )
    times = [t for s in kept for t, _ in s.points]
    values = [v for s in kept for _, v in s.points if v == v and abs(v) != float("inf")]
    for s in kept:
        chart.add(_label(s.labels), [(_utc(t), v) for t, v in s.points if v == v and abs(v) != float("inf")])
    if times and isinstance(threshold, (int, float)):
        chart.add(f"objective {evidence.get('op', '')} {threshold:g}{unit}",
                  [(_utc(min(times)), threshold), (_utc(max(times)), threshold)],
                  stroke_style={"width": 2, "dasharray": "6, 4"})
        values.append(float(threshold))
    if first_breach is not None and values:
        at = first_breach.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        chart.add(f"breach started {at:%H:%M} UTC", [(at, min(values)), (at, max(values))],
                  stroke_style={"width": 3, "dasharray": "3, 3"}, show_dots=True, dots_size=4)
    # pygal inlines its config for the tooltip script even when that script is off: a chart
    # without a script is plain drawing, safe to embed in a page and a Markdown viewer
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def live_charts(run: RunView, findings: Sequence[Finding], end: float | None = None) -> dict[str, str]:
    """nodeid -> SVG for every failed promql finding whose history Prometheus holds; a check
    whose history cannot be read gets no chart (the report says so, the run goes on)."""
    charts: dict[str, str] = {}
    for finding in findings:
        query = (finding.get("evidence") or {}).get("query")
        if (
            finding.get("kind") != "promql"
            or finding.get("outcome") != "failed"
            or not query
            or not finding.get("site")
        ):
            continue
        try:
            series = history(run, str(finding["site"]), query, end)
        except SloError:
            continue
        charts[finding["nodeid"]] = render_chart(finding, series, breach_start(finding, series))
    return charts
