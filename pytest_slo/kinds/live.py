"""What live kinds share: the run's evaluation time, sources by address, label selectors."""

from __future__ import annotations

import datetime as _dt
import os
import time
from typing import TYPE_CHECKING, Any

from ..errors import SourceUnavailable

if TYPE_CHECKING:
    from ..run.context import RunContext
    from ..sources.prometheus import PrometheusSource
    from .base import Target

__all__ = ["eval_time", "iso", "prometheus", "prometheus_url", "selector"]

DEFAULT_SELECTOR = 'namespace="{namespace}", service="{app}"'


def eval_time(run: RunContext) -> float:
    """One evaluation time per run: every instant query sees the same moment."""
    return float(run.source("eval-time", lambda: round(time.time(), 3)))


def iso(at: float) -> str:
    """RFC 3339 in UTC to the millisecond: the run's evaluation time is one, so the same query
    sent at this time gets the same answer."""
    return _dt.datetime.fromtimestamp(at, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prometheus_url(target: Target) -> str:
    url = target.run.settings.prometheus_url or target.site.config.get("PROMETHEUS_URL")
    if not url:
        raise SourceUnavailable(
            "prometheus", f"no URL: pass --prometheus-url or set PROMETHEUS_URL in {target.site.env_display}"
        )
    return str(url)


def prometheus(target: Target) -> PrometheusSource:
    """The run's client of the site's Prometheus, created on first use."""
    url = prometheus_url(target)
    settings = target.run.settings

    def make() -> Any:
        from ..sources.prometheus import PrometheusConfig, PrometheusSource

        config = PrometheusConfig.from_env(
            url,
            timeout=settings.live_timeout,
            retries=settings.live_retries,
            concurrency=settings.prometheus_concurrency,
            environ=os.environ,
        )
        return PrometheusSource(config)

    return target.run.source(("prometheus", url), make)  # type: ignore[no-any-return]


def selector(target: Target) -> str:
    """The label matchers of an app's series: ServiceMonitor's namespace + service by default."""
    config = target.site.config
    pattern = str(config.get("PROMETHEUS_SELECTOR") or DEFAULT_SELECTOR)
    namespace = config.get("KUBE_NAMESPACE", target.site.name)
    return pattern.replace("{namespace}", str(namespace)).replace("{app}", target.app or "")
