"""pytest_slo.sources.redis against real redis-server 7.0 processes on loopback ports.

One server has ``maxmemory 4mb``, ``noeviction`` and a password; another has CONFIG renamed
away, as managed Redis does. ``INFO commandstats`` and ``INFO errorstats`` prove that only
read-only commands ran and that the client's handshake added no error to the server's stats.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_slo.errors import ConfigError, QueryError, SourceUnavailable
from pytest_slo.sources.redis import RedisSource
from teststack.servers import RedisServer, free_port, require_binary

pytestmark = pytest.mark.servers("redis-server")

PASSWORD = "pw-4d3c2b1a-secret"
# what the source sends: RESP2 with AUTH, no HELLO, PING or CLIENT SETINFO handshake
ALLOWED = {"info", "config|get", "auth"}


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer("4mb", "noeviction", password=PASSWORD) as redis_server:
        yield redis_server


@pytest.fixture(scope="module")
def no_config() -> Iterator[RedisServer]:
    with RedisServer("8mb", "allkeys-lru", password=PASSWORD, rename_config=True) as redis_server:
        yield redis_server


@pytest.fixture
def source(server: RedisServer) -> Iterator[RedisSource]:
    with RedisSource.from_url(server.url, password=PASSWORD, timeout=5.0) as redis_source:
        yield redis_source


def redis_cli(server: RedisServer, *command: str) -> str:
    """The test's own admin commands go through redis-cli, so no Python client is involved."""
    argv = [require_binary("redis-cli", "redis-tools"), "-h", "127.0.0.1", "-p", str(server.port)]
    argv += ["--user", "default", "--pass", PASSWORD, "--no-auth-warning", *command]
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=10).stdout


def stats(server: RedisServer) -> dict[str, int]:
    """Command calls and error counts."""
    out = redis_cli(server, "INFO", "all")
    counts: dict[str, int] = {}
    for line in out.splitlines():
        name, _, fields = line.partition(":")
        if name.startswith(("cmdstat_", "errorstat_")):
            key = "calls=" if name.startswith("cmdstat_") else "count="
            counts[name] = int(fields.split(key)[1].split(",")[0])
    return counts


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def test_info(source: RedisSource) -> None:
    server_info = source.info("server")
    assert str(server_info["redis_version"]).startswith("7.")
    memory = source.info("memory")
    assert memory["maxmemory"] == 4194304
    assert memory["maxmemory_policy"] == "noeviction"
    assert isinstance(memory["used_memory"], int)
    assert "redis_version" in source.info() and "used_memory" in source.info()


def test_config_get(source: RedisSource) -> None:
    assert source.config_get("maxmemory") == "4194304"
    assert source.config_get("maxmemory-policy") == "noeviction"
    with pytest.raises(QueryError, match=r"^redis at 127\.0\.0\.1:\d+ has no configuration parameter 'no-such-thing'$"):
        source.config_get("no-such-thing")


def test_memory_settings(source: RedisSource) -> None:
    assert source.memory_settings() == {
        "maxmemory": 4194304, "maxmemory_policy": "noeviction", "maxmemory_samples": 5,
        "source": "CONFIG GET", "fallback": False,
    }


def test_memory_settings_fall_back_to_info_when_config_is_renamed(no_config: RedisServer) -> None:
    with RedisSource.from_url(f"127.0.0.1:{no_config.port}", password=PASSWORD) as redis_source:
        assert redis_source.memory_settings() == {
            "maxmemory": 8388608, "maxmemory_policy": "allkeys-lru", "maxmemory_samples": None,
            "source": "INFO memory", "fallback": True,
        }
        with pytest.raises(QueryError) as caught:
            redis_source.config_get("maxmemory")
    assert str(caught.value) == (
        f"redis at 127.0.0.1:{no_config.port} refused CONFIG GET maxmemory:"
        " unknown command 'CONFIG', with args beginning with: 'GET' 'maxmemory'"
    )


def test_only_read_only_commands_reach_the_server(server: RedisServer) -> None:
    before = stats(server)
    with RedisSource.from_url(server.url, password=PASSWORD) as redis_source:
        redis_source.info()
        redis_source.info("memory")
        redis_source.config_get("maxmemory")
        redis_source.memory_settings()
    changed = delta(before, stats(server))
    commands = {k.removeprefix("cmdstat_") for k in changed if k.startswith("cmdstat_")}
    assert commands <= ALLOWED, commands
    assert changed["cmdstat_config|get"] == 2
    # redis-cli's own INFO is one of the info calls; the handshake added no ERR to errorstats.
    assert not [k for k in changed if k.startswith("errorstat_")], changed


def test_wrong_or_missing_password(server: RedisServer) -> None:
    for password in ("not-the-password", None):
        redis_source = RedisSource.from_url(server.url, password=password, timeout=2.0)
        with pytest.raises(SourceUnavailable) as caught:
            redis_source.info()
        assert str(caught.value) == (
            f"redis unavailable: authentication failed at 127.0.0.1:{server.port} (check SLO_REDIS_PASSWORD)"
        )
        assert PASSWORD not in str(caught.value)
        assert "not-the-password" not in str(caught.value) + repr(redis_source)


def test_server_down() -> None:
    port = free_port()
    redis_source = RedisSource.from_url(f"redis://127.0.0.1:{port}", password=PASSWORD)
    begun = time.monotonic()
    with pytest.raises(SourceUnavailable) as caught:
        redis_source.memory_settings()
    assert time.monotonic() - begun < 1.0
    assert str(caught.value) == f"redis unavailable: cannot connect to 127.0.0.1:{port}: connection refused"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_timeout(silent_port: int) -> None:
    redis_source = RedisSource.from_url(f"127.0.0.1:{silent_port}", password=PASSWORD, timeout=1.0)
    begun = time.monotonic()
    with pytest.raises(SourceUnavailable) as caught:
        redis_source.info("memory")
    assert time.monotonic() - begun < 2.0
    assert str(caught.value) == f"redis unavailable: no answer from 127.0.0.1:{silent_port} within 1.0 s"


def test_a_connection_closed_by_the_server_is_survived(server: RedisServer, source: RedisSource) -> None:
    source.info("server")
    assert int(redis_cli(server, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")) >= 1
    assert source.info("memory")["maxmemory"] == 4194304


def test_importing_the_module_does_not_import_redis() -> None:
    code = "import sys, pytest_slo.sources.redis; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("127.0.0.1:6380", ("127.0.0.1", 6380, None, False)),
        ("redis://127.0.0.1:6380/0", ("127.0.0.1", 6380, None, False)),
        ("redis-cluster.production.svc", ("redis-cluster.production.svc", 6379, None, False)),
        ("rediss://slo-reader@cache.internal:6390", ("cache.internal", 6390, "slo-reader", True)),
        ("[::1]:6379", ("::1", 6379, None, False)),
    ],
)
def test_from_url(url: str, expected: tuple[Any, ...]) -> None:
    redis_source = RedisSource.from_url(url, password=PASSWORD, timeout=3.0)
    assert (redis_source.host, redis_source.port, redis_source.username, redis_source.tls) == expected
    assert redis_source.timeout == 3.0
    assert PASSWORD not in repr(redis_source) and "password='***'" in repr(redis_source)


def test_from_url_refuses_a_password_in_the_url_without_echo() -> None:
    with pytest.raises(ConfigError) as caught:
        RedisSource.from_url(f"redis://:{PASSWORD}@127.0.0.1:6379")
    assert PASSWORD not in str(caught.value)
    with pytest.raises(ConfigError, match="must look like redis://host:port"):
        RedisSource.from_url("http://127.0.0.1:6379")
    # a wrong scheme is not said by echoing a URL that holds a password
    with pytest.raises(ConfigError, match="must not carry a password") as caught:
        RedisSource.from_url(f"http://user:{PASSWORD}@127.0.0.1:6379")
    assert PASSWORD not in str(caught.value)
