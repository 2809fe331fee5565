"""The Prometheus HTTP API, read-only: instant and range queries, batched, cached, diagnosed.

Speaks the query API that Prometheus, Thanos, Mimir/Cortex and VictoriaMetrics share, and
only its read endpoints (``/api/v1/query``, ``/api/v1/query_range``, ``/api/v1/labels``).
Standard library only, so that the live path costs no import time beyond the JSON it parses.

Every call is bounded by :attr:`PrometheusConfig.timeout` in total, retries included. One
session sees one answer per (query, time): results, and errors, are cached on the source, so
checks sharing a query cost one request and agree with each other.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException, responses
from typing import Any

from pytest_slo.errors import QueryError, SloError, SourceUnavailable

from .._text import one_line
from ._answers import (
    SOURCE,
    InstantResult,
    Sample,
    Series,
    error_gist,
    json_object,
    retry_after,
    sample_value,
    shape_check,
)
from ._config import SECRET_HEADER, PrometheusConfig, build_opener

# Split over private modules; every public name stays importable from here, as before.
from ._diagnose import MAX_MATCHERS as MAX_MATCHERS
from ._diagnose import MAX_SELECTORS as MAX_SELECTORS
from ._diagnose import diagnose_empty as _diagnose_empty
from ._promql import Matcher, Selector, vector_selectors

__all__ = [
    "InstantResult",
    "Matcher",
    "PrometheusConfig",
    "PrometheusSource",
    "Sample",
    "Selector",
    "Series",
    "vector_selectors",
]

BACKOFF = 0.2  # first wait before a retry; doubles each time
MAX_RETRY_AFTER = 5.0  # a server asking for a longer pause is reported, not waited for
MAX_GET_URL = 2048  # longer requests go as a form POST: proxies cut long URLs (414)


class _Pending:
    """One (query, time)'s answer, shared by every thread that asks for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: InstantResult | None = None
        self.error: BaseException | None = None

    def outcome(self) -> InstantResult | SloError:
        self.done.wait()
        if self.error is not None and not isinstance(self.error, SloError):
            raise self.error
        return self.error if isinstance(self.error, SloError) else self.result  # type: ignore[return-value]


class PrometheusSource:
    """A thread-safe client of one Prometheus; see :class:`PrometheusConfig`."""

    def __init__(self, config: PrometheusConfig) -> None:
        self.config = config
        self._opener = build_opener(config)
        self._headers = {"Accept": "application/json", "User-Agent": "pytest-slo (read-only)", **dict(config.headers)}
        if config.token:
            self._headers["Authorization"] = f"Bearer {config.token}"
        elif config.username is not None:
            pair = f"{config.username}:{config.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, float], _Pending] = {}

    def __repr__(self) -> str:
        return f"PrometheusSource({self.config!r})"

    # ----------------------------------------------------------------- queries

    def query(self, promql: str, at: float) -> InstantResult:
        """The instant query ``promql`` evaluated at ``at`` (epoch seconds); cached per (query, time)."""
        outcome = self._pending(promql, at).outcome()
        if isinstance(outcome, SloError):
            raise outcome
        return outcome

    def query_many(self, queries: Iterable[str], at: float) -> dict[str, InstantResult | SloError]:
        """Every distinct query once, ``concurrency`` at a time; each value is its result or its error."""
        distinct = list(dict.fromkeys(queries))
        with self._lock:
            todo = [q for q in distinct if (q, float(at)) not in self._cache]
        if todo:
            workers = min(self.config.concurrency, len(todo))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slo-prometheus") as pool:
                list(pool.map(lambda q: self._pending(q, at).outcome(), todo))
        return {q: self._pending(q, at).outcome() for q in distinct}

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        """The range query ``promql`` from ``start`` to ``end`` every ``step`` seconds (not cached)."""
        params = [("query", promql), ("start", _ts(start)), ("end", _ts(end)), ("step", _ts(step))]
        data = self._call("query_range", params, promql)
        with shape_check(self._endpoint("query_range")):
            if data["resultType"] != "matrix":
                raise QueryError(f"prometheus returned a {data['resultType']}, not a matrix: {one_line(promql, 200)}")
            return [Series(dict(s["metric"]), [(float(t), float(v)) for t, v in s["values"]]) for s in data["result"]]

    def series_count(self, selector: str, at: float) -> int:
        """How many series ``selector`` selects at ``at`` (within the lookback window)."""
        result = self.query(f"count({selector})", at)
        return int(result.samples[0].value) if result.samples else 0

    def label_names(self, selector: str, at: float, window: float = 3600.0) -> list[str]:
        """The label names of the series ``selector`` selects in the ``window`` seconds before ``at``."""
        params = [("match[]", selector), ("start", _ts(at - window)), ("end", _ts(at))]
        names = self._call("labels", params, selector)
        with shape_check(self._endpoint("labels")):
            return sorted(str(n) for n in names if n != "__name__")

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _pending(self, promql: str, at: float) -> _Pending:
        key = (promql, float(at))
        with self._lock:
            pending = self._cache.get(key)
            if pending is not None:
                return pending
            pending = self._cache[key] = _Pending()
        try:
            pending.result = self._instant(promql, at)
        except SloError as exc:
            pending.error = exc
        except BaseException as exc:  # a defect or Ctrl-C: wake the waiters, but remember nothing
            with self._lock:
                self._cache.pop(key, None)
            pending.error = exc
            raise
        finally:
            pending.done.set()
        return pending

    def _instant(self, promql: str, at: float) -> InstantResult:
        data = self._call("query", [("query", promql), ("time", _ts(at))], promql)
        with shape_check(self._endpoint("query")):
            kind, result = data["resultType"], data["result"]
            if kind == "vector":
                samples = tuple(Sample(dict(s["metric"]), sample_value(s)) for s in result)
            elif kind == "scalar":
                samples = (Sample({}, float(result[1])),)
            else:
                hint = "; an instant query needs a function such as rate() around it" if kind == "matrix" else ""
                raise QueryError(f"prometheus returned a {kind}, not a vector{hint}: {one_line(promql, 200)}")
            return InstantResult(promql, float(at), samples, kind, tuple(map(str, data.get("warnings") or ())))

    # ----------------------------------------------------------------- HTTP

    def _endpoint(self, name: str) -> str:
        return f"{self.config.url}/api/v1/{name}"

    def _call(self, name: str, params: list[tuple[str, str]], subject: str) -> Any:
        """The ``data`` of a successful answer from endpoint ``name``; retries 5xx/429 within the timeout."""
        url, encoded = self._endpoint(name), urllib.parse.urlencode(params)
        post = len(url) + len(encoded) > MAX_GET_URL
        deadline = time.monotonic() + self.config.timeout
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(
                url if post else f"{url}?{encoded}", data=encoded.encode() if post else None,
                headers=self._headers, method="POST" if post else "GET",
            )
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                with self._opener.open(request, timeout=remaining) as response:
                    status, body, headers = response.status, response.read(), response.headers
            except urllib.error.HTTPError as exc:
                status, headers = exc.code, exc.headers
                try:
                    body = exc.read()
                except (OSError, HTTPException):
                    body = b""
            except (urllib.error.URLError, OSError, HTTPException) as exc:
                raise SourceUnavailable(SOURCE, self._network_reason(exc, url)) from None
            answer = json_object(body)
            gist = self._scrub(error_gist(answer, body))  # a proxy may echo the request, Authorization included
            if status == 200:
                return self._data(answer, body, url, subject)
            if status == 429 or status >= 500:
                pause = retry_after(headers.get("Retry-After"))
                wait = BACKOFF * 2 ** (attempt - 1) if pause is None else pause
                if attempt <= self.config.retries and wait <= MAX_RETRY_AFTER and time.monotonic() + wait < deadline:
                    time.sleep(wait)
                    continue
                asked = f" (Retry-After {pause:g} s)" if pause is not None else ""
                plural = "s" if attempt > 1 else ""
                raise SourceUnavailable(
                    SOURCE, f"HTTP {status} from {url} after {attempt} attempt{plural}: {gist}{asked}"
                )
            phrase = responses.get(status, "Error")
            if status in (401, 403):
                raise SourceUnavailable(SOURCE, f"HTTP {status} {phrase} from {url} ({self._auth_hint()})")
            if answer is not None and answer.get("status") == "error":  # bad_data (400), execution (422)
                self._data(answer, body, url, subject)
            hint = " (is the URL Prometheus' base URL, without /graph or /api/v1?)" if status == 404 else ""
            raise SourceUnavailable(SOURCE, f"HTTP {status} {phrase} from {url}: {gist}{hint}")

    def _data(self, answer: dict[str, Any] | None, body: bytes, url: str, subject: str) -> Any:
        if answer is None:
            head = self._scrub(body[:40].decode("utf-8", "replace")) + ("..." if len(body) > 40 else "")
            raise SourceUnavailable(SOURCE, f"invalid JSON from {url} (starts with {head!r})")
        if answer.get("status") == "error":
            error = self._scrub(one_line(str(answer.get("error") or answer.get("errorType") or "unknown"), 300))
            error = re.sub(r'^invalid parameter "(query|match\[\])": ', "", error)  # the query follows anyway
            raise QueryError(f"prometheus rejected the query: {error} : {one_line(subject, 300)}")
        if answer.get("status") != "success" or "data" not in answer:
            raise SourceUnavailable(SOURCE, f"unexpected answer from {url}: no status/data (is it a Prometheus API?)")
        return answer["data"]

    def _scrub(self, text: str) -> str:
        secret_headers = (v for k, v in self.config.headers if SECRET_HEADER.search(k))
        for secret in (self.config.token, self.config.password, *secret_headers):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _auth_hint(self) -> str:
        if self.config.token:
            return "check SLO_PROMETHEUS_TOKEN"
        if self.config.username is not None:
            return "check SLO_PROMETHEUS_USER and SLO_PROMETHEUS_PASSWORD"
        return "set SLO_PROMETHEUS_TOKEN, or SLO_PROMETHEUS_USER and SLO_PROMETHEUS_PASSWORD"

    def _network_reason(self, exc: BaseException, url: str) -> str:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        base = self.config.url
        if isinstance(reason, TimeoutError):
            return f"no answer from {url} within {_seconds(self.config.timeout)} s"
        if isinstance(reason, ConnectionRefusedError):
            return f"cannot connect to {base}: connection refused"
        if isinstance(reason, ssl.SSLCertVerificationError):
            return (
                f"TLS certificate of {base} not trusted: {reason.verify_message or reason.reason} "
                "(set SLO_PROMETHEUS_CA_BUNDLE to the CA file that signed it)"
            )
        if isinstance(reason, ssl.SSLError):
            return f"TLS error with {base}: {reason.reason or one_line(str(reason), 120)}"
        if isinstance(reason, socket.gaierror):
            return f"cannot connect to {base}: host {urllib.parse.urlsplit(base).hostname} does not resolve"
        if isinstance(reason, (ConnectionError, HTTPException)):
            return f"{base} closed the connection without an answer ({type(reason).__name__})"
        if isinstance(reason, OSError) and reason.strerror:
            return f"cannot connect to {base}: {reason.strerror.lower()}"
        return f"cannot connect to {base}: {one_line(str(reason) or type(reason).__name__, 160)}"

    # ----------------------------------------------------------------- diagnosis

    def diagnose_empty(self, promql: str, at: float) -> str:
        """One line on why ``promql`` is empty at ``at``: a missing metric, or the matcher no series has."""
        return _diagnose_empty(self, promql, at)


def _ts(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _seconds(value: float) -> str:
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"
