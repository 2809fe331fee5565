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
import json
import os
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.client import HTTPException, responses
from typing import Any

from pytest_slo.errors import ConfigError, QueryError, SloError, SourceUnavailable

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

SOURCE = "prometheus"
BACKOFF = 0.2  # first wait before a retry; doubles each time
MAX_RETRY_AFTER = 5.0  # a server asking for a longer pause is reported, not waited for
MAX_GET_URL = 2048  # longer requests go as a form POST: proxies cut long URLs (414)
MAX_SELECTORS = 4  # diagnose_empty: at most 2 + 4 + 1 queries per selector, so <= 28 in all
MAX_MATCHERS = 4
_SECRET_HEADER = re.compile(r"authorization|token|secret|password|key|cookie", re.IGNORECASE)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|::1)$")


@dataclass(frozen=True)
class PrometheusConfig:
    """Where Prometheus is and how to reach it; a value object, safe to log (secrets are masked)."""

    url: str
    timeout: float = 10.0  # seconds per call, retries and their waits included
    retries: int = 2  # on 5xx and 429 only
    concurrency: int = 8
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = ()
    ca_bundle: str | None = None
    verify: bool = True

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"the Prometheus URL must look like http(s)://host:port, not {_one_line(self.url, 80)!r}")
        if parts.username is not None or parts.password is not None:
            # Said without echoing the URL: it holds a credential.
            raise ConfigError("the Prometheus URL must not carry credentials; set SLO_PROMETHEUS_USER/_PASSWORD")
        if parts.query or parts.fragment:
            raise ConfigError(f"the Prometheus URL must not have a query string: {self.url}")
        object.__setattr__(self, "url", urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/"))))
        headers = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        object.__setattr__(self, "headers", tuple((str(k), str(v)) for k, v in headers))
        if not self.timeout > 0 or self.retries < 0 or self.concurrency < 1:
            raise ConfigError("Prometheus timeout must be > 0, retries >= 0 and concurrency >= 1")
        if self.token and self.username is not None:
            raise ConfigError("set either SLO_PROMETHEUS_TOKEN or SLO_PROMETHEUS_USER/_PASSWORD, not both")

    def __repr__(self) -> str:
        headers = tuple((k, "***" if _SECRET_HEADER.search(k) else v) for k, v in self.headers)
        return (
            f"PrometheusConfig(url={self.url!r}, timeout={self.timeout!r}, retries={self.retries!r}, "
            f"concurrency={self.concurrency!r}, token={'***' if self.token else None!r}, "
            f"username={self.username!r}, password={'***' if self.password else None!r}, "
            f"headers={headers!r}, ca_bundle={self.ca_bundle!r}, verify={self.verify!r})"
        )

    @classmethod
    def from_env(
        cls,
        url: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        concurrency: int = 8,
        environ: Mapping[str, str] = os.environ,
    ) -> PrometheusConfig:
        """``url`` plus credentials and TLS settings from ``SLO_PROMETHEUS_*`` variables, and only from there."""
        token = environ.get("SLO_PROMETHEUS_TOKEN", "").strip() or None  # mounted secrets end in a newline
        username = environ.get("SLO_PROMETHEUS_USER", "").strip() or None
        password = environ.get("SLO_PROMETHEUS_PASSWORD") or None
        if password is not None and username is None:
            raise ConfigError("SLO_PROMETHEUS_PASSWORD is set but SLO_PROMETHEUS_USER is not")
        insecure = environ.get("SLO_PROMETHEUS_INSECURE", "").strip().lower()
        if insecure not in ("", "0", "1", "false", "true", "no", "yes"):
            raise ConfigError(f"SLO_PROMETHEUS_INSECURE must be 1 or 0, not {insecure!r}")
        return cls(
            url, timeout=timeout, retries=retries, concurrency=concurrency, token=token, username=username,
            password=password if username is not None else None,
            headers=_parse_headers(environ.get("SLO_PROMETHEUS_HEADERS", "")),
            ca_bundle=environ.get("SLO_PROMETHEUS_CA_BUNDLE", "").strip() or None,
            verify=insecure not in ("1", "true", "yes"),
        )


def _parse_headers(text: str) -> tuple[tuple[str, str], ...]:
    headers = []
    for number, entry in enumerate((e.strip() for e in re.split(r"[;\r\n]", text)), 1):
        if not entry:
            continue
        name, colon, value = entry.partition(":")
        if not colon or not _HEADER_NAME.match(name.strip()):
            # The entry is not echoed: a malformed one may be a secret.
            raise ConfigError(f"SLO_PROMETHEUS_HEADERS entry {number} is not 'Name: value' (separate them with ';')")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class InstantResult:
    query: str
    time: float
    samples: tuple[Sample, ...]
    result_type: str  # "vector" or "scalar"
    warnings: tuple[str, ...] = ()


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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would forward the Authorization header to wherever a redirect points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class PrometheusSource:
    """A thread-safe client of one Prometheus; see :class:`PrometheusConfig`."""

    def __init__(self, config: PrometheusConfig) -> None:
        self.config = config
        self._opener = _opener(config)
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
        with _shape_check(self._endpoint("query_range")):
            if data["resultType"] != "matrix":
                raise QueryError(f"prometheus returned a {data['resultType']}, not a matrix: {_one_line(promql, 200)}")
            return [Series(dict(s["metric"]), [(float(t), float(v)) for t, v in s["values"]]) for s in data["result"]]

    def series_count(self, selector: str, at: float) -> int:
        """How many series ``selector`` selects at ``at`` (within the lookback window)."""
        result = self.query(f"count({selector})", at)
        return int(result.samples[0].value) if result.samples else 0

    def label_names(self, selector: str, at: float, window: float = 3600.0) -> list[str]:
        """The label names of the series ``selector`` selects in the ``window`` seconds before ``at``."""
        params = [("match[]", selector), ("start", _ts(at - window)), ("end", _ts(at))]
        names = self._call("labels", params, selector)
        with _shape_check(self._endpoint("labels")):
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
        with _shape_check(self._endpoint("query")):
            kind, result = data["resultType"], data["result"]
            if kind == "vector":
                samples = tuple(Sample(dict(s["metric"]), _value(s)) for s in result)
            elif kind == "scalar":
                samples = (Sample({}, float(result[1])),)
            else:
                hint = "; an instant query needs a function such as rate() around it" if kind == "matrix" else ""
                raise QueryError(f"prometheus returned a {kind}, not a vector{hint}: {_one_line(promql, 200)}")
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
            answer = _json(body)
            gist = self._scrub(_gist(answer, body))  # a proxy may echo the request, Authorization included
            if status == 200:
                return self._data(answer, body, url, subject)
            if status == 429 or status >= 500:
                pause = _retry_after(headers.get("Retry-After"))
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
            error = self._scrub(_one_line(str(answer.get("error") or answer.get("errorType") or "unknown"), 300))
            error = re.sub(r'^invalid parameter "(query|match\[\])": ', "", error)  # the query follows anyway
            raise QueryError(f"prometheus rejected the query: {error} : {_one_line(subject, 300)}")
        if answer.get("status") != "success" or "data" not in answer:
            raise SourceUnavailable(SOURCE, f"unexpected answer from {url}: no status/data (is it a Prometheus API?)")
        return answer["data"]

    def _scrub(self, text: str) -> str:
        secret_headers = (v for k, v in self.config.headers if _SECRET_HEADER.search(k))
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
            return f"TLS error with {base}: {reason.reason or _one_line(str(reason), 120)}"
        if isinstance(reason, socket.gaierror):
            return f"cannot connect to {base}: host {urllib.parse.urlsplit(base).hostname} does not resolve"
        if isinstance(reason, (ConnectionError, HTTPException)):
            return f"{base} closed the connection without an answer ({type(reason).__name__})"
        if isinstance(reason, OSError) and reason.strerror:
            return f"cannot connect to {base}: {reason.strerror.lower()}"
        return f"cannot connect to {base}: {_one_line(str(reason) or type(reason).__name__, 160)}"

    # ----------------------------------------------------------------- diagnosis

    def diagnose_empty(self, promql: str, at: float) -> str:
        """One line on why ``promql`` is empty at ``at``: a missing metric, or the matcher no series has."""
        try:
            if (found := len(self.query(promql, at).samples)) > 0:
                return f"not empty: {found} sample{'s' if found != 1 else ''}"
            selectors = vector_selectors(promql)[:MAX_SELECTORS]
            if not selectors:
                return "no series: the query selects no metric, so its result is empty by construction"
            return "no series: " + "; ".join(self._diagnose(selectors, at))
        except SloError as exc:
            return f"no series (diagnosis failed: {exc})"

    def _diagnose(self, selectors: list[Selector], at: float) -> list[str]:
        def count(q: str) -> int | None:
            r = first.get(q) or second.get(q)
            return None if not isinstance(r, InstantResult) else int(r.samples[0].value) if r.samples else 0

        first = self.query_many([q for s in selectors for q in (f"count({s})", s.base and f"count({s.base})") if q], at)
        second: dict[str, InstantResult | SloError] = {}
        plan = []
        for s in selectors:
            if s.base and count(f"count({s.base})") == 0:
                plan.append(f"count(last_over_time({s.base}[1h]))")
            elif s.base and count(f"count({s})") == 0:
                plan += [f"count by ({m.label}) ({s.base})" for m in s.filters[:MAX_MATCHERS]]
        second = self.query_many(plan, at)
        matched, missing = [], []
        for s in selectors:
            n = count(f"count({s})")
            if n:
                matched.append(f"{s} matches {n}")
            elif not s.base:
                if n == 0:
                    missing.append(f"no series has {s}")
            elif count(f"count({s.base})") == 0:
                if count(f"count(last_over_time({s.base}[1h]))"):
                    missing.append(f"metric {s.metric} has no sample in the 5 minutes before {_utc(at)} but had "
                                   "some in the hour before (is its target down? check up{job=...})")
                else:
                    missing.append(f"metric {s.metric} does not exist in Prometheus"
                                   " (is it scraped? check the ServiceMonitor)")
            elif n == 0:
                missing.append(self._culprit(s, second, at))
        if missing:
            return missing
        if matched:
            return [f"every selector matches series ({', '.join(matched)}); the rest of the query removes them "
                    "(a comparison, a binary operation whose labels differ, or a rate() window with under two samples)"]
        return ["could not be diagnosed (the diagnosis queries failed)"]

    def _culprit(self, s: Selector, answers: Mapping[str, InstantResult | SloError], at: float) -> str:
        values: dict[str, list[str]] = {}
        for m in s.filters[:MAX_MATCHERS]:
            r = answers.get(f"count by ({m.label}) ({s.base})")
            if isinstance(r, InstantResult):
                values[m.label] = sorted({x.labels.get(m.label, "") for x in r.samples})
        for m in s.filters[:MAX_MATCHERS]:
            have = values.get(m.label)
            if have is None or any(m.matches(v) for v in have):
                continue
            if have == [""]:
                try:
                    names = self.label_names(s.base or "", at)
                except SloError:
                    names = ["(unknown)"]
                shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
                return f"{s.metric} exists, but none has {m} (no series has a {m.label} label; labels: {shown})"
            shown = ", ".join(v or '""' for v in have[:5]) + (f" and {len(have) - 5} more" if len(have) > 5 else "")
            return f"{s.metric} exists, but none has {m} ({m.label} has: {shown})"
        together = ", ".join(map(str, s.filters))
        return f"{s.metric} exists, and each matcher matches some series, but none has all of {together}"


# --------------------------------------------------------------------------- PromQL selectors

_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<braces>\{(?:[^}"'`]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)*\})
    |(?P<range>\[[^\]]*\])
    |(?P<number>(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)[a-zA-Z0-9]*)
    |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    |(?P<comment>\#[^\n]*)
    |(?P<other>\S)""",
    re.VERBOSE,
)
_QUOTED = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"""
_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*" + _QUOTED + r"\s*,?")
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}  # followed by label names
_KEYWORDS = _GROUPING | {
    "and", "or", "unless", "atan2", "bool", "offset", "inf", "nan",
    "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
}


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.label}{self.op}{json.dumps(self.value, ensure_ascii=False)}"

    def matches(self, value: str) -> bool:
        if self.op in ("=", "!="):
            return (value == self.value) == (self.op == "=")
        try:
            return bool(re.fullmatch(self.value, value)) == (self.op == "=~")
        except re.error:
            return True  # RE2 syntax Python lacks: do not blame this matcher


@dataclass(frozen=True)
class Selector:
    """A vector selector of a query: the metric name (or ``None``) and its label matchers."""

    name: str | None
    matchers: tuple[Matcher, ...] = ()

    @property
    def filters(self) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m.label != "__name__")

    @property
    def metric(self) -> str:
        """The metric name, or the ``{__name__=~...}`` selector that stands for it."""
        return self.name or self.base or str(self)

    @property
    def base(self) -> str | None:
        """The selector with the metric name only (``None`` without one): does the metric exist?"""
        named = [m for m in self.matchers if m.label == "__name__"]
        if self.name:
            return self.name + ("{" + ",".join(map(str, named)) + "}" if named else "")
        return "{" + ",".join(map(str, named)) + "}" if named else None

    def __str__(self) -> str:
        inner = ",".join(map(str, self.matchers))
        return f"{self.name or ''}{{{inner}}}" if inner else (self.name or "{}")


def vector_selectors(promql: str) -> list[Selector]:
    """The distinct vector selectors of ``promql``, in order; function and label names are skipped."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(promql) if m.lastgroup != "comment"]
    found: dict[Selector, None] = {}
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "ident" and text.lower() in _GROUPING and after[1] == "(":
            depth, i = 1, i + 2  # skip `by (le, service)`: label names, not metrics
            while i < len(tokens) and depth:
                depth += {"(": 1, ")": -1}.get(tokens[i][1], 0)
                i += 1
            continue
        if kind == "ident" and text.lower() not in _KEYWORDS and after[1] != "(":
            found[Selector(text, _matchers(after[1]) if after[0] == "braces" else ())] = None
            i += 2 if after[0] == "braces" else 1
            continue
        if kind == "braces":
            matchers = _matchers(text)
            names = [m.value for m in matchers if m.label == "__name__" and m.op == "="]
            rest = tuple(m for m in matchers if not (m.label == "__name__" and m.op == "=")) if names else matchers
            found[Selector(names[0] if names else None, rest)] = None
        i += 1
    return list(found)


def _matchers(braces: str) -> tuple[Matcher, ...]:
    result = []
    for label, op, quoted in _MATCHER.findall(braces[1:-1]):
        if quoted[0] == "`":
            value = quoted[1:-1]
        else:
            try:
                value = json.loads('"' + quoted[1:-1].replace("\\'", "'") + '"')
            except ValueError:
                value = quoted[1:-1]
        result.append(Matcher(label, op, value))
    return tuple(result)


# --------------------------------------------------------------------------- helpers


def _opener(config: PrometheusConfig) -> urllib.request.OpenerDirector:
    host = urllib.parse.urlsplit(config.url).hostname or ""
    # Loopback never goes through an HTTP(S)_PROXY from the environment; other hosts may need it.
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({} if _LOOPBACK.match(host) else None)]
    handlers.append(_NoRedirect())
    if config.url.startswith("https:"):
        handlers.append(urllib.request.HTTPSHandler(context=_tls_context(config)))
    return urllib.request.build_opener(*handlers)


def _tls_context(config: PrometheusConfig) -> ssl.SSLContext:
    if not config.verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=config.ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        message = f"cannot load the CA bundle {config.ca_bundle}: {reason}"
        raise ConfigError(message, hint="SLO_PROMETHEUS_CA_BUNDLE") from None


@contextmanager
def _shape_check(url: str) -> Iterator[None]:
    """Turns a malformed ``data`` (missing keys, wrong types) into one SourceUnavailable line."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SourceUnavailable(SOURCE, f"unexpected answer from {url}: {type(exc).__name__} {exc}") from None


def _value(sample: Mapping[str, Any]) -> float:
    if "value" not in sample and "histogram" in sample:
        raise QueryError("prometheus returned a native histogram; use histogram_quantile() or histogram_count()")
    return float(sample["value"][1])  # "NaN", "+Inf" and "-Inf" parse as floats


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return answer if isinstance(answer, dict) else None


def _gist(answer: dict[str, Any] | None, body: bytes) -> str:
    """The error of a JSON answer, else the first line of the body without HTML tags."""
    if answer is not None and answer.get("error"):
        return _one_line(str(answer["error"]), 200)
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        text = re.sub(r"<[^>]*>", " ", text)
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    return _one_line(line, 200) or "(empty body)"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ts(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _seconds(value: float) -> str:
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
