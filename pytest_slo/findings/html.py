"""``--html PATH`` (and ``merge --html``): one self-contained HTML page of the findings.

Everything is inline (CSS, a small script, the charts as SVG): the file opens from a CI
artifact, a mail attachment or a laptop without any network. It holds a summary by severity,
one row per finding (what is wrong, the runbook link, the config.env line to edit, or for a
finding with an ``action`` what to do and where the right declaration is), filters by
site, app and severity, and a chart for each failing live check when the run could read its
history. Filters can be preset from the address: ``report.html#site=eu-1&severity=P1``.

Runbook links are repo-relative paths in the catalog; in the page they become paths relative
to the page's own folder (so they resolve when the page is written inside the repository, as
CI artifacts usually are), or absolute links under ``--runbook-base-url``.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..redact import MASK, is_secret_key
from .model import SEVERITIES, Finding, counted, runbook_url

__all__ = ["TEMPLATE", "render_html", "runbook_href"]

TEMPLATE = Path(__file__).with_name("templates") / "report.html.j2"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://")


def runbook_href(runbook: str | None, page_dir: Path | None, root: Path | None, base_url: str | None) -> str:
    """Where a finding's runbook link points from the page: a URL stays, a repo-relative path
    goes under ``base_url`` when given, else relative to the page's folder."""
    if not runbook or base_url or _URL.match(runbook):
        return runbook_url(runbook, base_url)
    path, _, anchor = runbook.partition("#")
    if root is None or page_dir is None:
        return runbook
    rel = os.path.relpath(Path(root) / path, page_dir).replace(os.sep, "/")
    return rel + (f"#{anchor}" if anchor else "")


def _edit_line(location: Mapping[str, Any] | None, root: Path | None, cache: dict[str, list[str]]) -> str:
    """The text of the line to edit (``KEY=value``, a secret's value masked), when readable."""
    if not location or not location.get("line") or root is None:
        return ""
    path = str(location["path"])
    if path not in cache:
        try:
            cache[path] = (Path(root) / path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            cache[path] = []
    lines = cache[path]
    line = int(location["line"])
    if not 0 < line <= len(lines):
        return ""
    text = lines[line - 1].strip()
    key, sep, _ = text.partition("=")
    if sep and is_secret_key(key.strip()):
        return f"{key.strip()}={MASK}"
    return text[:200]


def render_html(
    summary: Mapping[str, Any],
    findings: Sequence[Finding],
    *,
    charts: Mapping[str, str] | None = None,
    sources: Sequence[Mapping[str, Any]] = (),
    base: Path | None = None,
    root: Path | None = None,
    runbook_base_url: str | None = None,
    title: str | None = None,
) -> str:
    """The page. ``charts`` maps a finding's nodeid (or ``site::nodeid`` in a merge) to SVG;
    ``sources`` lists the runs behind it (site, generated_at, commit, file)."""
    import jinja2

    charts = charts or {}
    cache: dict[str, list[str]] = {}
    hrefs: dict[str | None, str] = {}  # a fleet has thousands of findings and a few dozen runbooks
    rows: list[dict[str, Any]] = []
    for f in findings:
        runbook = f.get("runbook")
        if runbook not in hrefs:
            hrefs[runbook] = runbook_href(runbook, base, root, runbook_base_url)
        rows.append(
            {
                "f": f,
                "first": (str(f.get("message") or f.get("title") or "")).splitlines()[0]
                if (f.get("message") or f.get("title"))
                else "",
                "href": hrefs[runbook],
                "edit": _edit_line(f.get("location"), root, cache),
                "sites": [f["site"]] if f.get("site") else [],
                "chart": charts.get(f"{f.get('site')}::{f.get('nodeid')}") or charts.get(str(f.get("nodeid"))),
            }
        )
    # the cards count what summary.findings counts: failed checks no waiver covers in full
    counts = Counter(f.get("severity") for f in findings if counted(f))
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    sites = sorted({s for r in rows for s in r["sites"]} | set(summary.get("sites") or []))
    return template.render(
        title=title or f"pytest-slo findings: {', '.join(sites[:5]) or 'no site'}{' …' if len(sites) > 5 else ''}",
        summary=summary,
        rows=rows,
        severities=SEVERITIES,
        counts={s: counts.get(s, 0) for s in SEVERITIES},
        errors=sum(1 for f in findings if f.get("outcome") != "failed"),
        sites=sites,
        apps=sorted({str(f.get("app")) for f in findings if f.get("app")}),
        sources=list(sources),
    )
