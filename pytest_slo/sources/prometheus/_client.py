"""The client of one Prometheus: cached, batched instant queries, range and label queries."""

from __future__ import annotations

import datetime as _dt
import re
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from http.client import responses
from typing import Any

from pytest_slo.errors import QueryError, SloError, SourceUnavailable

from .._deadline import Deadline, current, waiting_on
from .._network import exception_chain, network_reason
from .._text import basic_auth, one_line, scrub, scrub_bytes, seconds
from .._workers import Workers
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
from ._config import SECRET_HEADER, PrometheusConfig
from ._diagnose import diagnose_empty as _diagnose_empty

__all__ = ["PrometheusSource"]

MAX_GET_URL = 2048  # longer requests go as a form POST: proxies cut long URLs (414)


class _Pending:
    """One (query, time)'s answer, shared by every thread that asks for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: InstantResult | None = None
        self.error: BaseException | None = None

    def outcome(self, deadline: Deadline | None = None, url: str = "") -> InstantResult | SloError:
        if not self.done.wait(None if deadline is None else deadline.remaining()):
            # another thread (the prefetch) is still waiting for this query's answer
            return SourceUnavailable(SOURCE, f"no answer from {url} within {seconds(deadline.total)} s")  # type: ignore[union-attr]
        if self.error is not None and not isinstance(self.error, SloError):
            raise self.error
        return self.error if isinstance(self.error, SloError) else self.result  # type: ignore[return-value]


class PrometheusSource:
    """A thread-safe client of one Prometheus; see :class:`PrometheusConfig`."""

    def __init__(self, config: PrometheusConfig) -> None:
        from ._http import build_clients

        self.config = config
        self._clients = build_clients(config)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, float], _Pending] = {}
        self._workers = Workers(config.concurrency, "slo-prometheus")  # requests sent ahead of their items
        # Every credential as it goes on the wire: a server or proxy may echo it into an error body.
        self._secrets = (
            config.token,
            config.password,
            basic_auth(config.username, config.password or "") if config.username is not None else None,
            *(v for k, v in config.headers if SECRET_HEADER.search(k)),
        )

    def __repr__(self) -> str:
        return f"PrometheusSource({self.config!r})"

    # ----------------------------------------------------------------- queries

    def query(self, promql: str, at: float) -> InstantResult:
        """The instant query ``promql`` evaluated at ``at`` (epoch seconds); cached per (query, time)."""
        deadline = current(self.config.timeout)
        outcome = self._pending(promql, at, deadline).outcome(deadline, self._endpoint("query"))
        if isinstance(outcome, SloError):
            raise outcome
        return outcome

    def send(self, queries: Iterable[str], at: float) -> None:
        """Send every query not asked yet, ``concurrency`` at a time in the order given, and return
        at once: a later :meth:`query` of one waits for its answer (within its own deadline)
        instead of asking again. The run's prefetch, so that items are judged while the
        queries of later items are still on the wire."""
        with self._lock:
            todo = []
            for promql in dict.fromkeys(queries):
                key = (promql, float(at))
                if key not in self._cache:
                    self._cache[key] = pending = _Pending()
                    todo.append((promql, pending))
        for promql, pending in todo:  # each query gets the whole budget from the moment it is sent
            self._workers.submit(self._fill, promql, at, pending, None)

    def query_many(self, queries: Iterable[str], at: float) -> dict[str, InstantResult | SloError]:
        """Every distinct query once, ``concurrency`` at a time; each value is its result or its error."""
        distinct = list(dict.fromkeys(queries))
        deadline = current(self.config.timeout)
        self.send(distinct, at)
        url = self._endpoint("query")
        with self._lock:
            pendings = {q: self._cache[(q, float(at))] for q in distinct}
        return {q: pending.outcome(deadline, url) for q, pending in pendings.items()}

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        """The range query ``promql`` from ``start`` to ``end`` every ``step`` seconds (not cached)."""
        def call(client: Any) -> Any:
            return client.custom_query_range(promql, start_time=_when(start), end_time=_when(end), step=_ts(step))

        result = self._call("query_range", promql, call)
        with shape_check(self._endpoint("query_range")):
            if result and "values" not in result[0]:
                raise QueryError(f"prometheus returned a {_result_type(result)}, not a matrix: {one_line(promql, 200)}")
            return [Series(dict(s["metric"]), [(float(t), float(v)) for t, v in s["values"]]) for s in result]

    def label_names(self, selector: str, at: float, window: float = 3600.0) -> list[str]:
        """The label names of the series ``selector`` selects in the ``window`` seconds before ``at``."""
        params = {"match[]": selector, "start": _ts(at - window), "end": _ts(at)}
        names = self._call("labels", selector, lambda client: client.get_label_names(params=params))
        with shape_check(self._endpoint("labels")):
            return sorted(str(n) for n in names if n != "__name__")

    def close(self) -> None:
        # queries nobody waits for any more are not sent; one still on the wire is abandoned
        for promql, _at, pending, _deadline in self._workers.close():
            pending.error = SourceUnavailable(SOURCE, f"the run ended before {one_line(promql, 80)} was sent")
            pending.done.set()
        self._clients.close()

    def _pending(self, promql: str, at: float, deadline: Deadline | None) -> _Pending:
        key = (promql, float(at))
        with self._lock:
            pending = self._cache.get(key)
            if pending is not None:
                return pending
            pending = self._cache[key] = _Pending()
        self._fill(promql, at, pending, deadline)
        return pending

    def _fill(self, promql: str, at: float, pending: _Pending, deadline: Deadline | None) -> None:
        try:
            pending.result = self._instant(promql, at, deadline)
        except SloError as exc:
            pending.error = exc
        except BaseException as exc:  # a defect or Ctrl-C: wake the waiters, but remember nothing
            with self._lock:
                self._cache.pop((promql, float(at)), None)
            pending.error = exc
            raise
        finally:
            pending.done.set()

    def _instant(self, promql: str, at: float, deadline: Deadline | None) -> InstantResult:
        from ._http import last_response

        params = {"time": _ts(at)}
        if len(self._endpoint("query")) + len(urllib.parse.quote(promql)) > MAX_GET_URL:
            form = {"query": promql, **params}
            self._call("query", promql, lambda client: self._clients.post_query(form), deadline)
        else:
            self._call("query", promql, lambda client: client.custom_query(promql, params=params), deadline)
        # The library hands back data.result alone; the type and the warnings are beside it.
        response = last_response()
        answer = json_object(response.content) if response is not None else None
        with shape_check(self._endpoint("query")):
            data = answer["data"]  # type: ignore[index]
            kind, result = data["resultType"], data["result"]
            if kind == "vector":
                samples = tuple(Sample(dict(s["metric"]), sample_value(s)) for s in result)
            elif kind == "scalar":
                samples = (Sample({}, float(result[1])),)
            else:
                hint = "; an instant query needs a function such as rate() around it" if kind == "matrix" else ""
                raise QueryError(f"prometheus returned a {kind}, not a vector{hint}: {one_line(promql, 200)}")
            return InstantResult(
                promql, float(at), samples, kind, tuple(self._scrub(str(w)) for w in answer.get("warnings") or ())  # type: ignore[union-attr]
            )

    # ----------------------------------------------------------------- HTTP

    def _endpoint(self, name: str) -> str:
        return f"{self.config.url}/api/v1/{name}"

    def _call(self, name: str, subject: str, request: Callable[[Any], Any], deadline: Deadline | None = None) -> Any:
        """What the library returns for ``request(client)``, or one SloError line; GET unless the
        query is too long for a URL (proxies cut long URLs: 414)."""
        from prometheus_api_client import PrometheusApiClientException
        from requests import RequestException
        from requests.exceptions import TooManyRedirects

        from ._http import call_with, last_response

        url = self._endpoint(name)
        client = self._clients.client
        deadline = deadline or current(self.config.timeout)
        waiting_on(SOURCE, self.config.url)
        try:
            return call_with(deadline, lambda: request(client))
        except (PrometheusApiClientException, TooManyRedirects):
            response = last_response()
            if response is None:
                raise SourceUnavailable(SOURCE, f"no answer from {url}") from None
            self._refused(response, url, subject)
        except (ValueError, KeyError, TypeError):  # the library's json()["data"]["result"]
            response = last_response()
            body = response.content if response is not None else b""
            answer = json_object(body)
            if answer is not None and answer.get("status") == "error":
                self._rejected(answer, subject)
            if answer is None:
                clean = scrub_bytes(body, self._secrets)
                head = clean[:40].decode("utf-8", "replace") + ("..." if len(clean) > 40 else "")
                raise SourceUnavailable(SOURCE, f"invalid JSON from {url} (starts with {head!r})") from None
            raise SourceUnavailable(
                SOURCE, f"unexpected answer from {url}: no status/data (is it a Prometheus API?)"
            ) from None
        except RequestException as exc:  # after ValueError: requests' JSONDecodeError is both
            raise SourceUnavailable(SOURCE, self._network_reason(exc, url, deadline)) from None

    def _refused(self, response: Any, url: str, subject: str) -> None:
        """Raise the one line that says why Prometheus did not answer 200."""
        status = response.status_code
        body = scrub_bytes(response.content, self._secrets)  # a proxy may echo the request, Authorization included
        answer = json_object(body)
        gist = self._scrub(error_gist(answer, body))  # again: a JSON-escaped secret (\/ for /) is plain once parsed
        if status == 429 or status >= 500:
            history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
            attempts = len(history) + 1
            pause = retry_after(response.headers.get("Retry-After"))
            asked = f" (Retry-After {pause:g} s)" if pause is not None else ""
            plural = "s" if attempts > 1 else ""
            raise SourceUnavailable(SOURCE, f"HTTP {status} from {url} after {attempts} attempt{plural}: {gist}{asked}")
        phrase = responses.get(status, "Error")
        if status in (401, 403):
            raise SourceUnavailable(SOURCE, f"HTTP {status} {phrase} from {url} ({self._auth_hint()})")
        if 300 <= status < 400:
            where = self._scrub(str(response.headers.get("Location", "elsewhere")))
            raise SourceUnavailable(
                SOURCE,
                f"HTTP {status} {phrase} from {url}: redirects to {where}, not followed (point the URL at the "
                "final address)",
            )
        if answer is not None and answer.get("status") == "error":  # bad_data (400), execution (422)
            self._rejected(answer, subject)
        hint = " (is the URL Prometheus' base URL, without /graph or /api/v1?)" if status == 404 else ""
        raise SourceUnavailable(SOURCE, f"HTTP {status} {phrase} from {url}: {gist}{hint}")

    def _rejected(self, answer: dict[str, Any], subject: str) -> None:
        error = one_line(self._scrub(str(answer.get("error") or answer.get("errorType") or "unknown")), 300)
        error = re.sub(r'^invalid parameter "(query|match\[\])": ', "", error)  # the query follows anyway
        raise QueryError(f"prometheus rejected the query: {error} : {one_line(subject, 300)}")

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _auth_hint(self) -> str:
        if self.config.token:
            return "check SLO_PROMETHEUS_TOKEN"
        if self.config.username is not None:
            return "check SLO_PROMETHEUS_USER and SLO_PROMETHEUS_PASSWORD"
        return "set SLO_PROMETHEUS_TOKEN, or SLO_PROMETHEUS_USER and SLO_PROMETHEUS_PASSWORD"

    def _network_reason(self, exc: BaseException, url: str, deadline: Deadline) -> str:
        from requests import Timeout as RequestsTimeout
        from requests.exceptions import SSLError

        base = self.config.url
        chain = list(exception_chain(exc))
        if isinstance(exc, RequestsTimeout) or any(isinstance(e, (TimeoutError, socket.timeout)) for e in chain):
            return f"no answer from {url} within {seconds(deadline.total)} s"
        verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
        if verify is not None:
            return (
                f"TLS certificate of {base} not trusted: {verify.verify_message or verify.reason} "
                "(set SLO_PROMETHEUS_CA_BUNDLE to the CA file that signed it)"
            )
        if isinstance(exc, SSLError):
            tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
            return f"TLS error with {base}: {(tls.reason if tls else None) or one_line(str(exc), 120)}"
        return network_reason(exc, base, urllib.parse.urlsplit(base).hostname or base)

    # ----------------------------------------------------------------- diagnosis

    def diagnose_empty(self, promql: str, at: float) -> str:
        """One line on why ``promql`` is empty at ``at``: a missing metric, or the matcher no series has."""
        return _diagnose_empty(self, promql, at)


def _result_type(result: Any) -> str:
    """The library hands back ``data.result`` alone; its shape tells the type."""
    if isinstance(result, list) and (not result or isinstance(result[0], dict)):
        return "matrix" if result and "values" in result[0] else "vector"
    if isinstance(result, list) and len(result) == 2:
        try:
            float(result[1])
        except (TypeError, ValueError):
            return "string"
        return "scalar"
    raise ValueError(f"result is a {type(result).__name__}")


def _when(at: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(at, _dt.timezone.utc)


def _ts(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")

