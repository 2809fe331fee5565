"""The Redis client: a server asked INFO, CONFIG GET and CLUSTER NODES/INFO, read-only, thread-safe."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from pytest_slo.errors import ConfigError, QueryError, SourceUnavailable

from .._deadline import waiting_on
from .._network import dropped, network_reason
from .._text import one_line, seconds

if TYPE_CHECKING:
    import redis as redis_client

__all__ = ["MemorySettings", "RedisSource"]

SOURCE = "redis"
DEFAULT_PORT = 6379
T = TypeVar("T")


class MemorySettings(TypedDict):
    maxmemory: int  # bytes; 0 = no limit
    maxmemory_policy: str
    maxmemory_samples: int | None  # None when read from INFO, which does not show it
    source: str  # "CONFIG GET" or "INFO memory"
    fallback: bool  # True when CONFIG was renamed, disabled or not permitted


class _CommandRefused(QueryError):
    """The server does not know or does not permit the command (renamed CONFIG, ACL)."""


class RedisSource:
    """One Redis server, asked read-only questions; thread-safe, connects on first use."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        password: str | None = None,
        username: str | None = None,
        timeout: float = 10.0,
        tls: bool = False,
    ) -> None:
        if not timeout > 0:
            raise ConfigError("the Redis timeout must be > 0")
        self.host, self.port, self.username, self.timeout, self.tls = host, int(port), username, timeout, tls
        self._password = password
        self._client: redis_client.Redis | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, password: str | None = None, timeout: float = 10.0) -> RedisSource:
        """``redis://host:port``, ``rediss://`` (TLS) or bare ``host:port``; the password comes from the argument."""
        text = url.strip()
        parts = urllib.parse.urlsplit(text if "://" in text else f"redis://{text}")
        if parts.password is not None:
            # Said first, and without echoing the URL, whatever else is wrong: it holds a credential.
            raise ConfigError("the Redis URL must not carry a password; set SLO_REDIS_PASSWORD instead")
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ConfigError(
                f"the Redis URL must look like redis://host:port or host:port, not {one_line(text, 80)!r}"
            )
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigError(f"the Redis URL has an invalid port: {one_line(text, 80)!r}") from None
        username = urllib.parse.unquote(parts.username) if parts.username else None
        return cls(parts.hostname, port, password=password, username=username, timeout=timeout,
                   tls=parts.scheme == "rediss")

    def sibling(self, address: str, timeout: float) -> RedisSource:
        """Another node of the same cluster at ``host:port`` (as CLUSTER NODES gives it), with
        this one's credentials and TLS."""
        host, _, port = address.rpartition(":")
        return RedisSource(host.strip("[]"), int(port), password=self._password, username=self.username,
                           timeout=timeout, tls=self.tls)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        secret = ", password='***'" if self._password else ""
        return f"RedisSource({self.address!r}, timeout={self.timeout!r}{secret})"

    # ----------------------------------------------------------------- questions

    def info(self, section: str | None = None) -> dict[str, Any]:
        """``INFO [section]`` parsed by the client: numbers as numbers, keyspace lines as dicts."""
        what = f"INFO {section}" if section else "INFO"
        return self._call(what, lambda c: c.info(section) if section else c.info())

    def config_get(self, name: str) -> str:
        """The value of one configuration parameter, as Redis spells it (``maxmemory`` is bytes)."""
        values = self._call(f"CONFIG GET {name}", lambda c: c.config_get(name))
        if name not in values:
            raise QueryError(f"redis at {self.address} has no configuration parameter {name!r}")
        return str(values[name])

    def cluster_nodes(self) -> str:
        """``CLUSTER NODES``: one line per node, as the server wrote it."""
        return str(self._call("CLUSTER NODES", lambda c: c.execute_command("CLUSTER NODES")))

    def cluster_info(self) -> dict[str, str]:
        """``CLUSTER INFO``: ``cluster_state``, ``cluster_slots_ok``... as strings."""
        return dict(self._call("CLUSTER INFO", lambda c: c.execute_command("CLUSTER INFO")))

    def memory_settings(self) -> MemorySettings:
        """maxmemory, its policy and samples from CONFIG GET; from INFO memory when CONFIG is unavailable."""
        try:
            values: dict[Any, Any] = self._call("CONFIG GET maxmemory*", lambda c: c.config_get("maxmemory*"))
            where, fallback, samples = "CONFIG GET", False, "maxmemory-samples"
        except _CommandRefused:
            # Managed Redis (ElastiCache, Memorystore) renames CONFIG; INFO still shows the two that matter.
            values = {k.replace("_", "-"): v for k, v in self.info("memory").items()}
            where, fallback, samples = "INFO memory", True, ""
        try:
            return MemorySettings(
                maxmemory=int(values["maxmemory"]),
                maxmemory_policy=str(values["maxmemory-policy"]),
                maxmemory_samples=int(values[samples]) if samples else None,
                source=where,
                fallback=fallback,
            )
        except (KeyError, ValueError) as exc:
            raise QueryError(f"redis at {self.address}: {where} does not show {exc}") from None

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> RedisSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- plumbing

    def _connect(self) -> redis_client.Redis:
        with self._lock:
            if self._client is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                options: dict[str, Any] = {
                    "host": self.host, "port": self.port, "username": self.username, "password": self._password,
                    "socket_timeout": self.timeout, "socket_connect_timeout": self.timeout, "ssl": self.tls,
                    # RESP2: the RESP3 handshake's extras are unknown commands, so ERRs, on Redis 7.0.
                    "protocol": 2, "decode_responses": True, "retry": Retry(NoBackoff(), 0),  # _call retries once
                }
                try:
                    from redis.driver_info import DriverInfo

                    options["driver_info"] = DriverInfo(name=None, lib_version=None)  # no CLIENT SETINFO
                except ImportError:  # an older redis package
                    options.update(lib_name=None, lib_version=None)
                client = redis.Redis(**options)
                # the text as Redis wrote it: redis-py's parser keys nodes by address, and every
                # node without one (noaddr) would collapse into one
                client.set_response_callback("CLUSTER NODES", lambda response, **_: response)
                self._client = client
            return self._client

    def _call(self, what: str, command: Callable[[redis_client.Redis], T]) -> T:
        import redis

        waiting_on(SOURCE, self.address)
        attempt = 0
        while True:
            attempt += 1
            try:
                return command(self._connect())
            except redis.AuthenticationError:
                raise SourceUnavailable(SOURCE, self._auth_failed()) from None
            except redis.TimeoutError:
                reason = f"no answer from {self.address} within {seconds(self.timeout)} s"
                raise SourceUnavailable(SOURCE, reason) from None
            except redis.BusyLoadingError:
                raise SourceUnavailable(SOURCE, f"{self.address} is loading its dataset into memory") from None
            except redis.ConnectionError as exc:
                # One retry, for a pooled connection the server has since closed (timeout, restart).
                if attempt == 1 and dropped(exc):
                    continue
                raise SourceUnavailable(SOURCE, self._cannot_connect(exc)) from None
            except redis.ResponseError as exc:
                reply = one_line(str(exc), 160)
                if isinstance(exc, redis.exceptions.NoPermissionError) or reply.lower().startswith("unknown command"):
                    raise _CommandRefused(f"redis at {self.address} refused {what}: {reply}") from None
                raise QueryError(f"redis at {self.address} refused {what}: {reply}") from None

    def _auth_failed(self) -> str:
        return f"authentication failed at {self.address} (check SLO_REDIS_PASSWORD)"

    def _cannot_connect(self, exc: BaseException) -> str:
        return network_reason(exc, self.address, self.host)

