"""``--metrics-file PATH`` and ``--pushgateway URL``: the run's outcome as Prometheus metrics.

The text is the Prometheus exposition format that node_exporter's textfile collector reads
(``*.prom`` in its ``--collector.textfile.directory``; written atomically, as it asks) and
that a Pushgateway accepts. One site's metrics go to the Pushgateway under the grouping key
``job="pytest-slo", site="<site>"``: a run over several sites pushes one group per site, so a
site's next run replaces only its own series.

Metrics (every label value is bounded: site, app, check ids, severities and kinds come from
the repository and the catalog; messages, values and URLs are never labels):

- ``slo_check_ok{site,app,check,severity,kind}``: 1 an item that ran passed, 0 it failed, was waived or
  errored (no verdict is not a pass). Skipped items (live checks without ``--live``) are absent.
  Catalog items (``kind="catalog"``) belong to every site of the run, with ``app=""``.
- ``slo_findings{site,severity,state}``: failed verdicts per site and severity. ``state`` is
  the finding's ``baseline_state`` (``new``/``unchanged``) when a baseline was compared,
  ``waived`` for a finding under a waiver, and ``none`` without a baseline. Every severity is
  written, zeros included, so a fixed site reads 0 instead of vanishing.
- ``slo_run_timestamp_seconds{site}`` and ``slo_run_duration_seconds{site}``.
- ``slo_waivers_expiring_seconds{site,app,check}``: when a waiver ends, as a Unix time (a
  gauge that stays true in a Pushgateway, unlike a countdown); only when waivers exist.
"""

from __future__ import annotations

import datetime as _dt
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import SEVERITIES, Finding

__all__ = ["JOB", "Outcome", "RunMetrics", "push", "render_metrics", "waivers_of"]

JOB = "pytest-slo"


@dataclass(frozen=True)
class Outcome:
    """One item that ran: its catalog identity and whether it passed."""

    site: str | None
    app: str | None
    check: str
    severity: str
    kind: str
    ok: bool


@dataclass
class RunMetrics:
    """What the metrics say about one run (plain data: the writers build it from the store)."""

    sites: Sequence[str]
    outcomes: Sequence[Outcome]
    findings: Sequence[Finding]
    started: float
    finished: float
    waivers: Sequence[Mapping[str, Any]] = field(default_factory=list)


def _until_seconds(value: Any) -> float | None:
    """A waiver's ``until`` (a date, a datetime or their ISO text) as a Unix time; a date
    runs to the end of its day in UTC."""
    if isinstance(value, _dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        return moment.timestamp()
    if isinstance(value, _dt.date):
        return _dt.datetime.combine(value, _dt.time.max, _dt.timezone.utc).timestamp()
    if isinstance(value, str):
        try:
            return _until_seconds(_dt.date.fromisoformat(value))
        except ValueError:
            try:
                return _until_seconds(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                return None
    return None


def waivers_of(findings: Iterable[Finding], extra: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """The waivers behind ``findings`` (``finding["waiver"]``) and any the store lists apart,
    as ``{site, app, check, until}`` with ``until`` in Unix seconds; duplicates once."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    rows = [({**(f.get("waiver") or {}), "_f": f}) for f in findings if f.get("waiver")]
    rows += [dict(w) for w in extra]
    for row in rows:
        owner = row.pop("_f", {})
        until = _until_seconds(row.get("until"))
        if until is None:
            continue
        key = (str(row.get("site") or owner.get("site") or ""), str(row.get("app") or owner.get("app") or ""),
               str(row.get("check") or owner.get("check") or ""))
        seen[key] = {"site": key[0], "app": key[1], "check": key[2], "until": until}
    return [seen[k] for k in sorted(seen)]


def _state(finding: Finding) -> str:
    waiver = finding.get("waiver") or {}
    if waiver and waiver.get("complete", True):  # a waiver covering only part of a finding leaves it failing
        return "waived"
    return str(finding.get("baseline_state") or "none")


def _registry(metrics: RunMetrics, site: str | None) -> Any:
    """A prometheus_client registry with the series of ``site`` (None: every site)."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry(auto_describe=True)
    sites = [site] if site is not None else list(metrics.sites)
    ok = Gauge(
        "slo_check_ok",
        "1 when a pytest-slo check passed, 0 when it failed, errored or was waived (items that ran).",
        ["site", "app", "check", "severity", "kind"],
        registry=registry,
    )
    for o in metrics.outcomes:
        for s in [o.site] if o.site else sites:  # a catalog item concerns every site of the run
            if s in sites:
                ok.labels(s, o.app or "", o.check, o.severity, o.kind).set(1 if o.ok else 0)
    counts = Counter((f.get("site"), f.get("severity"), _state(f)) for f in metrics.findings)
    states = sorted({state for (_, _, state) in counts} or {"none"})
    found = Gauge(
        "slo_findings",
        "Failed pytest-slo verdicts by severity and baseline state (new, unchanged, waived, none).",
        ["site", "severity", "state"],
        registry=registry,
    )
    stamp = Gauge(
        "slo_run_timestamp_seconds", "When the pytest-slo run finished, Unix time.", ["site"], registry=registry
    )
    took = Gauge("slo_run_duration_seconds", "How long the pytest-slo run took.", ["site"], registry=registry)
    for s in sites:
        for sev in SEVERITIES:
            for state in states:
                found.labels(s, sev, state).set(counts.get((s, sev, state), 0))
        stamp.labels(s).set(round(metrics.finished, 3))
        took.labels(s).set(round(max(0.0, metrics.finished - metrics.started), 3))
    waivers = [w for w in metrics.waivers if not w["site"] or w["site"] in sites]
    if waivers:
        ends = Gauge("slo_waivers_expiring_seconds", "When a pytest-slo waiver expires, Unix time.",
                     ["site", "app", "check"], registry=registry)
        for w in waivers:
            for s in [w["site"]] if w["site"] else sites:
                ends.labels(s, w["app"], w["check"]).set(w["until"])
    return registry


def render_metrics(metrics: RunMetrics) -> str:
    """The Prometheus text format of every site's series (for ``--metrics-file``)."""
    from prometheus_client import generate_latest

    return str(generate_latest(_registry(metrics, None)).decode("utf-8"))


def _handler(environ: Mapping[str, str]) -> Any:
    """The Pushgateway request handler: bearer token or basic auth from the settings' environment."""
    from prometheus_client.exposition import basic_auth_handler, default_handler

    token, user = environ.get("SLO_PUSHGATEWAY_TOKEN"), environ.get("SLO_PUSHGATEWAY_USER")

    def handle(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes) -> Any:
        if token:
            return default_handler(url, method, timeout, [*headers, ("Authorization", f"Bearer {token}")], data)
        if user:
            return basic_auth_handler(
                url, method, timeout, headers, data, user, environ.get("SLO_PUSHGATEWAY_PASSWORD", "")
            )
        return default_handler(url, method, timeout, headers, data)

    return handle


def shown_url(url: str) -> str:
    """``url`` without credentials, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username or parts.password:
        parts = parts._replace(
            netloc=parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""
        )
    return urllib.parse.urlunsplit(parts)


def push(metrics: RunMetrics, url: str, environ: Mapping[str, str], timeout: float = 10.0) -> list[str]:
    """Push each site's group (``job``/``site``) to the Pushgateway at ``url``, replacing the
    group's previous series (PUT). Returns one error line per site that could not be pushed."""
    from prometheus_client import push_to_gateway

    problems = []
    for site in metrics.sites:
        try:
            push_to_gateway(url, JOB, _registry(metrics, site), grouping_key={"site": site}, timeout=timeout,
                            handler=_handler(environ))
        except Exception as exc:  # urllib's URLError/HTTPError, a refused or reset connection, a bad URL
            reason = getattr(exc, "reason", None) or exc
            problems.append(
                f"pytest-slo: cannot push metrics of site {site} to the Pushgateway at {shown_url(url)}: {reason}"
                " (the report files are written; the fleet view misses this run)"
            )
    return problems
