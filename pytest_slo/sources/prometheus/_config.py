"""How to reach Prometheus: :class:`PrometheusConfig`, a value object built from the settings.

Credentials come from ``SLO_PROMETHEUS_*`` variables only (never from the URL or a check
file), read once with the rest of the settings; the client never follows redirects, so they
reach no host but the configured one.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from pytest_slo.errors import ConfigError

from .._text import one_line

__all__ = ["SECRET_HEADER", "PrometheusConfig"]

SECRET_HEADER = re.compile(r"authorization|token|secret|password|key|cookie", re.IGNORECASE)
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
    proxies: tuple[tuple[str, str], ...] = ()  # scheme -> proxy URL, from HTTP(S)_PROXY; never for loopback

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"the Prometheus URL must look like http(s)://host:port, not {one_line(self.url, 80)!r}")
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
        headers = tuple((k, "***" if SECRET_HEADER.search(k) else v) for k, v in self.headers)
        return (
            f"PrometheusConfig(url={self.url!r}, timeout={self.timeout!r}, retries={self.retries!r}, "
            f"concurrency={self.concurrency!r}, token={'***' if self.token else None!r}, "
            f"username={self.username!r}, password={'***' if self.password else None!r}, "
            f"headers={headers!r}, ca_bundle={self.ca_bundle!r}, verify={self.verify!r}, proxies={self.proxies!r})"
        )

    @classmethod
    def from_env(
        cls,
        url: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        concurrency: int = 8,
        environ: Mapping[str, str],
    ) -> PrometheusConfig:
        """``url`` plus credentials and TLS settings from ``SLO_PROMETHEUS_*`` variables, and only from there.

        ``environ`` is the settings' snapshot of the environment, never ``os.environ`` itself."""
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
            proxies=_proxies(url, environ),
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


def _proxies(url: str, environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """HTTP(S)_PROXY for this URL, unless its host is loopback or listed in NO_PROXY."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if _LOOPBACK.match(host):
        return ()
    env = {k.lower(): v for k, v in environ.items() if k.lower() in ("http_proxy", "https_proxy", "no_proxy")}
    if env.get("no_proxy") and urllib.request.proxy_bypass_environment(host, {"no": env["no_proxy"]}):  # type: ignore[attr-defined]
        return ()
    return tuple((scheme, env[f"{scheme}_proxy"]) for scheme in ("http", "https") if env.get(f"{scheme}_proxy"))
