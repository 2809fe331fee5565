"""HTTP to Prometheus: prometheus-api-client over one pooled, keep-alive ``requests.Session``.

The library sends the requests; this module keeps what it does not do:

* **One deadline for all attempts.** :class:`_AttemptTimeout` is the timeout of every
  request; urllib3 clones it at the start of each attempt, and the clone gets what is left
  of the calling item's deadline (see :mod:`pytest_slo.sources._deadline`).
* **Retries that never outlive the deadline.** :class:`_DeadlineRetry` is urllib3's
  ``Retry`` for 429/5xx, honouring ``Retry-After``, that gives up (returning the last
  answer) instead of sleeping past the deadline or longer than :data:`MAX_RETRY_AFTER`.
  Connection errors and read timeouts are never retried: a server that is down or hangs
  costs one attempt.
* **No redirects** (a token must not follow one to another host), no ``.netrc``, proxy or
  CA settings picked up from the environment behind the settings' back.
* **The raw answer.** The library returns only ``data.result``; the response of the last
  request of this thread is kept (:func:`last_response`) for warnings, result types and
  error bodies.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from pytest_slo.errors import ConfigError

from .._deadline import Deadline
from ._config import PrometheusConfig

if TYPE_CHECKING:
    import requests
    from prometheus_api_client import PrometheusConnect

__all__ = ["MAX_RETRY_AFTER", "RETRY_STATUS", "Clients", "build_clients", "call_with", "last_response"]

RETRY_STATUS = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 5.0  # a server asking for a longer pause is reported, not waited for
BACKOFF = 0.2  # urllib3 doubles it from the second retry on
_MIN_TIMEOUT = 0.001  # urllib3 refuses 0; a spent deadline times out at once

_LOCAL = threading.local()


def _deadline() -> Deadline:
    deadline: Deadline | None = getattr(_LOCAL, "deadline", None)
    return deadline or Deadline.after(3600.0)  # only calls made through call_with() come here


def last_response() -> requests.Response | None:
    """The last HTTP response this thread received (None when no answer came)."""
    return getattr(_LOCAL, "response", None)


def call_with(deadline: Deadline, fn: Any) -> Any:
    """``fn()`` with ``deadline`` bounding every attempt of the requests it makes in this thread."""
    _LOCAL.deadline, _LOCAL.response = deadline, None
    try:
        return fn()
    finally:
        _LOCAL.deadline = None


class Clients:
    """The client of one Prometheus, and its session (pool, retries, auth, the last answer)."""

    def __init__(self, client: PrometheusConnect, session: requests.Session, url: str, timeout: Any) -> None:
        self.client, self.session, self.url, self._timeout = client, session, url, timeout

    def post_query(self, params: dict[str, str]) -> Any:
        """``/api/v1/query`` with the parameters as a form body. The library's POST puts them
        in the URL, which a proxy cuts for a long query (414); this keeps the same session."""
        response = self.session.post(f"{self.url}/api/v1/query", data=params, timeout=self._timeout)
        if response.status_code != 200:
            from prometheus_api_client import PrometheusApiClientException

            raise PrometheusApiClientException(f"HTTP Status Code {response.status_code}")
        return response.json()["data"]["result"]

    def close(self) -> None:
        self.session.close()


def build_clients(config: PrometheusConfig) -> Clients:
    """Everything is imported here: the offline gate never pays for requests or the library."""
    import requests
    from prometheus_api_client.prometheus_connect import PrometheusConnect

    if config.verify and config.ca_bundle and not os.path.isfile(config.ca_bundle):
        raise ConfigError(
            f"cannot load the CA bundle {config.ca_bundle}: No such file or directory", hint="SLO_PROMETHEUS_CA_BUNDLE"
        )
    from requests.adapters import HTTPAdapter
    from urllib3.util import Retry, Timeout

    class _AttemptTimeout(Timeout):
        def clone(self) -> Timeout:
            left = max(_MIN_TIMEOUT, _deadline().remaining())
            return Timeout(connect=left, read=left)

    class _DeadlineRetry(Retry):
        def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None,
                      _pool: Any = None, _stacktrace: Any = None) -> Any:
            from urllib3.exceptions import MaxRetryError

            nxt = super().increment(method, url, response, error, _pool, _stacktrace)
            if response is not None:
                pause = nxt.get_retry_after(response)
                wait = nxt.get_backoff_time() if pause is None else pause
                if (pause or 0) > MAX_RETRY_AFTER or wait >= _deadline().remaining():
                    raise MaxRetryError(_pool, url, error)  # returns the last answer: raise_on_status=False
            return nxt

    retry = _DeadlineRetry(
        total=config.retries, connect=0, read=0, other=0, redirect=0, status=config.retries,
        status_forcelist=RETRY_STATUS, allowed_methods=frozenset({"GET", "POST"}),
        backoff_factor=BACKOFF, respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    session.trust_env = False  # proxies, CA bundle and .netrc come from the settings only
    session.max_redirects = 0
    session.verify = (config.ca_bundle or True) if config.verify else False
    session.headers.update(
        {"Accept": "application/json", "User-Agent": "pytest-slo (read-only)", **dict(config.headers)}
    )
    if config.token:
        session.headers["Authorization"] = f"Bearer {config.token}"
    if config.proxies:
        session.proxies.update(dict(config.proxies))
    session.hooks["response"].append(_keep)
    auth = (config.username, config.password or "") if config.username is not None else None
    timeout = _AttemptTimeout(connect=config.timeout, read=config.timeout)
    client = PrometheusConnect(config.url, retry=retry, auth=auth, session=session, timeout=timeout)  # type: ignore[arg-type]
    session.auth = auth  # for post_query
    # The library mounts an adapter with urllib3's default pool (10 connections, more opened
    # on demand); this one keeps at most `concurrency` connections alive and reuses them.
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=config.concurrency, pool_block=True, max_retries=retry)
    session.mount(config.url, adapter)
    return Clients(client, session, config.url, timeout)


def _keep(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    _LOCAL.response = response
