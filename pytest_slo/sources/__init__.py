"""Live sources: the run's connections to Prometheus, Redis and Kubernetes, and the facts they give.

Owns: one :class:`Sources` per run (``RunContext.sources``), which builds every client once,
shares it between items, bounds every call by the item's deadline (``--live-timeout``, see
:mod:`._deadline`) and closes them at the end. Kinds and the postmortem ask it for facts
and never build a client or read the environment. Every failure crosses this boundary as
one :class:`~pytest_slo.errors.SourceUnavailable` or :class:`~pytest_slo.errors.QueryError`
line. One subpackage per source: :mod:`.prometheus`, :mod:`.redis`, :mod:`.kube`.

Clients are imported on first use: the offline gate never pays for them.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import SourceUnavailable
from ._deadline import Deadline, ItemBudget, budget
from ._once import Once
from ._workers import Readers

if TYPE_CHECKING:
    from ..repo.site import Site
    from .kube import KubeSource
    from .prometheus import PrometheusSource
    from .redis import RedisFacts

__all__ = ["DEFAULT_SELECTOR", "Deadline", "LiveOptions", "Sources"]

#: An app's series as a Prometheus Operator ServiceMonitor labels them; PROMETHEUS_SELECTOR overrides.
DEFAULT_SELECTOR = 'namespace="{namespace}", service="{app}"'
T = TypeVar("T")
_GRACE = 0.25  # the sources' own deadline errors, which name the request, come first
_POLL = 0.05


@dataclass(frozen=True)
class LiveOptions:
    """How the run reaches live sources: resolved once from flags, ini and environment."""

    #: The most a live item waits for its facts, every attempt, back-off and follow-up included.
    timeout: float = 10.0
    retries: int = 2  # of a request answered 429 or 5xx
    concurrency: int = 8  # Prometheus queries in flight, and keep-alive connections per Prometheus
    prometheus_url: str | None = None
    redis_url: str | None = None
    kube_context: str | None = None
    kube_snapshot: Path | None = None
    kube_snapshot_time: datetime | None = None
    #: The settings' snapshot of the environment (credentials, proxies, kubeconfig): never os.environ.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)


class Sources:
    """Every live source of one run, created on first use and shared by every item.

    A source that could not be built (no URL, a bad credential setting) fails every later
    item asking for it at once, with the same reason, instead of trying again.
    """

    def __init__(self, options: LiveOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._made: dict[Any, Once[Any]] = {}
        self._eval_time: float | None = None
        self._readers = Readers("slo-read")

    # ----------------------------------------------------------------- time

    @property
    def eval_time(self) -> float:
        """One evaluation time per run (epoch seconds, ms precision): every instant query sees
        the same moment, and re-running a query at the time in its evidence gives the same answer."""
        with self._lock:
            if self._eval_time is None:
                self._eval_time = round(time.time(), 3)
            return self._eval_time

    @contextmanager
    def budget(self) -> Iterator[ItemBudget]:
        """One item's reads: every source call inside shares one ``--live-timeout`` deadline."""
        with budget(self.options.timeout) as item:
            yield item

    def read(self, fetch: Callable[..., T], *args: Any) -> T:
        """``fetch(*args)`` as one item's read: within ``--live-timeout``, whatever it calls.

        Each source cuts its own timeouts to the deadline and says which request did not
        answer; this is the backstop for a call that cannot be cut (a Redis command already
        on the wire, a plugin kind's own client): the item stops waiting at the deadline and
        the read finishes, or times out, in the background.
        """
        with self.budget() as item:
            call = self._readers.run(contextvars.copy_context().run, fetch, *args)
            started = time.monotonic()
            while not call.done.wait(_POLL):
                # A read that never reached one of our sources (a plugin's own client) gets
                # the same budget again for set-up.
                end = item.deadline.at if item.deadline else started + 2 * item.seconds
                if time.monotonic() > end + _GRACE:
                    source, where = item.source or "live source", item.where
                    raise SourceUnavailable(
                        source, f"no answer{f' from {where}' if where else ''} within {item.seconds:g} s"
                    )
            if call.error is not None:
                raise call.error
            return call.value  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- Prometheus

    def prometheus_url(self, site: Site) -> str:
        url = self.options.prometheus_url or site.config.get("PROMETHEUS_URL")
        if not url:
            raise SourceUnavailable(
                "prometheus", f"no URL: pass --prometheus-url or set PROMETHEUS_URL in {site.env_display}"
            )
        return str(url)

    def prometheus(self, site: Site) -> PrometheusSource:
        """The run's client of the site's Prometheus."""
        url = self.prometheus_url(site)

        def make() -> PrometheusSource:
            from .prometheus import PrometheusConfig, PrometheusSource

            o = self.options
            config = PrometheusConfig.from_env(
                url, timeout=o.timeout, retries=o.retries, concurrency=o.concurrency, environ=o.environ
            )
            return PrometheusSource(config)

        return self._once(("prometheus", url), make)

    @staticmethod
    def selector(site: Site, app: str | None) -> str:
        """The label matchers of an app's series: ServiceMonitor's namespace + service by default."""
        config = site.config
        pattern = str(config.get("PROMETHEUS_SELECTOR") or DEFAULT_SELECTOR)
        namespace = site.namespace
        return pattern.replace("{namespace}", str(namespace)).replace("{app}", app or "")

    # ----------------------------------------------------------------- Redis

    def redis_address(self, site: Site) -> str | None:
        url = self.options.redis_url or site.config.get("REDIS_ADDR")
        return str(url) if url else None

    def redis_via(self, site: Site) -> str:
        """``direct`` (INFO/CONFIG GET) or ``exporter`` (redis_exporter's series): REDIS_CHECK_VIA,
        else direct when an address is known."""
        via = str(site.config.get("REDIS_CHECK_VIA", "")).strip()
        if via in ("direct", "exporter"):
            return via
        return "direct" if self.redis_address(site) else "exporter"

    def redis(self, site: Site, app: str | None) -> RedisFacts:
        """The app's Redis instances' facts, read one of two ways (see :meth:`redis_via`); for a
        Redis Cluster, every node its ``CLUSTER NODES`` lists, from the one address given."""
        from .redis import DirectRedisFacts, ExporterRedisFacts

        if self.redis_via(site) == "exporter":
            prometheus, selector = self.prometheus(site), self.selector(site, app)
            return self._once(("redis-exporter", id(prometheus), selector),
                              lambda: ExporterRedisFacts(prometheus, selector, lambda: self.eval_time))
        address = self.redis_address(site)
        if not address:
            raise SourceUnavailable("redis", f"no address: pass --redis-url or set REDIS_ADDR in {site.env_display}")
        env = self.options.environ
        password = env.get("SLO_REDIS_PASSWORD") or site.config.get("REDIS_PASSWORD") or None

        def make() -> RedisFacts:
            from .redis import RedisSource

            return DirectRedisFacts(RedisSource.from_url(address, password=password, timeout=self.options.timeout))

        return self._once(("redis", address), make)

    # ----------------------------------------------------------------- Kubernetes

    @staticmethod
    def namespace(site: Site) -> str:
        return site.namespace

    def kube(self, site: Site | None = None) -> KubeSource:
        """The cluster (or ``--kube-snapshot``) the run reads; one per run."""
        o = self.options

        def make() -> KubeSource:
            from .kube import KubeSource

            if o.kube_snapshot is not None:
                return KubeSource.from_snapshot(o.kube_snapshot, as_of=o.kube_snapshot_time)
            return KubeSource.from_config(context=o.kube_context, timeout=o.timeout, environ=o.environ)

        return self._once(("kube", str(o.kube_snapshot), o.kube_context), make)

    # ----------------------------------------------------------------- plumbing

    def once(self, key: Any, make: Callable[[], T]) -> T:
        """``make()`` once per run for ``key`` (facts shared by every item that needs them);
        an SloError is remembered and raised again for every later caller."""
        return self._once(("facts", key), make)

    def _once(self, key: Any, make: Callable[[], T]) -> T:
        with self._lock:
            slot = self._made.get(key)
            if slot is None:
                slot = self._made[key] = Once("live source", "a read another item started")
        return slot.get(make)

    def close(self) -> None:
        self._readers.close()
        with self._lock:
            made, self._made = list(self._made.values()), {}
        for slot in made:
            closer = getattr(slot.value, "close", None)
            if callable(closer):
                closer()
