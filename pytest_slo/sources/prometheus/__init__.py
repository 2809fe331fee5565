"""The Prometheus HTTP API, read-only: instant and range queries, batched, cached, diagnosed.

Speaks the query API that Prometheus, Thanos, Mimir/Cortex and VictoriaMetrics share, and
only its read endpoints (``/api/v1/query``, ``/api/v1/query_range``, ``/api/v1/labels``),
through prometheus-api-client over one keep-alive session per Prometheus (:mod:`._http`).

Every call is bounded by the calling item's deadline (``--live-timeout``), retries and their
waits included. One session sees one answer per (query, time): results, and errors, are
cached on the source, so checks sharing a query cost one request and agree with each other.
Every failure is one :class:`~pytest_slo.errors.SourceUnavailable` or
:class:`~pytest_slo.errors.QueryError` line, raised here, at the source boundary.
"""

from ._answers import InstantResult, Sample, Series
from ._client import PrometheusSource
from ._config import PrometheusConfig
from ._diagnose import MAX_MATCHERS, MAX_SELECTORS
from ._promql import Matcher, Selector, vector_selectors

__all__ = [
    "MAX_MATCHERS",
    "MAX_SELECTORS",
    "InstantResult",
    "Matcher",
    "PrometheusConfig",
    "PrometheusSource",
    "Sample",
    "Selector",
    "Series",
    "vector_selectors",
]
