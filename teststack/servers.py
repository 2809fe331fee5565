"""Real monitoring servers on loopback ports: redis-server, redis_exporter, Prometheus.

Every server binds 127.0.0.1 only, runs in its own session and process group with its output
in a log file, and is stopped by ``stop()`` (SIGTERM, then SIGKILL after a short wait).
Processes left running when the interpreter exits, or when it gets SIGTERM or SIGHUP, are
stopped by an atexit hook; only a SIGKILL of the parent can leak them.

What ``prometheus-redis-exporter`` 1.45 exports, checked against redis-server 7.0.15:

- ``redis_up`` 1 once it can talk to Redis;
- ``redis_memory_used_bytes`` (INFO used_memory) and ``redis_memory_max_bytes`` (INFO
  maxmemory, 0 = no limit); ``redis_config_maxmemory`` (CONFIG GET), *absent* when CONFIG is
  renamed away;
- ``redis_instance_info{maxmemory_policy="noeviction", redis_version, redis_mode, role,
  tcp_port, os, process_id, run_id, redis_build_id}`` 1: the policy comes from INFO, so it
  is there even without CONFIG;
- ``redis_errors_total{err="OOM"}`` from INFO errorstats, a series per error prefix that
  exists only after the first such error (the exporter's own probing adds a few ``ERR``);
  ``redis_commands_rejected_calls_total{cmd="set"}``, ``redis_total_error_replies`` and
  ``redis_evicted_keys_total`` count the same story;
- no ``redis_memory_limit_bytes``: in the incident that is the container limit, which
  kube-state-metrics would export.

Once a noeviction Redis is full, ``redis_memory_used_bytes`` hovers at
``redis_memory_max_bytes`` and writes fail with ``OOM command not allowed when used memory >
'maxmemory'``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from http.client import HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Process handling lives in _process; its public names stay importable from here.
from teststack._process import (
    LOOPBACK,
    READY_TIMEOUT,
    ProcessServer,
    ServerProcess,
    StackError,
    free_port,
    http_get,
    require_binary,
)

__all__ = [
    "MetricsServer",
    "Prometheus",
    "Pushgateway",
    "RedisExporter",
    "RedisServer",
    "ScrapeTarget",
    "ServerProcess",
    "StackError",
    "backfill",
    "free_port",
    "require_binary",
]


class _MetricsEndpoint:
    """A loopback ``/metrics`` endpoint on ``self.port``."""

    port: int

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"


def _redis_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class RedisServer(ProcessServer):
    """redis-server without persistence; ``rename_config`` disables CONFIG like managed Redis;
    ``extra`` config lines add the rest (a cluster node's, see :mod:`teststack.cluster`)."""

    name = "redis-server"

    def __init__(self, maxmemory: str = "0", policy: str = "noeviction",
                 password: str | None = None, *, rename_config: bool = False,
                 extra: Sequence[str] = (), workdir: str | Path | None = None) -> None:
        super().__init__(workdir)
        self.maxmemory = maxmemory
        self.policy = policy
        self.password = password
        self.rename_config = rename_config
        self.extra = list(extra)

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}"

    def start(self) -> RedisServer:
        binary = require_binary("redis-server", "redis-server")
        # A config file rather than flags: rename-command is only accepted there, and it keeps
        # the password out of the process list.
        lines = [f"bind {LOOPBACK}", f"port {self.port}", "protected-mode yes",
                 'save ""', "appendonly no", f"dir {_redis_quote(str(self.workdir))}",
                 f"maxmemory {self.maxmemory}", f"maxmemory-policy {self.policy}"]
        if self.password is not None:
            lines.append(f"requirepass {_redis_quote(self.password)}")
        if self.rename_config:
            lines.append('rename-command CONFIG ""')
        lines += self.extra
        conf = self.workdir / "redis.conf"
        conf.write_text("\n".join(lines) + "\n")
        conf.chmod(0o600)
        self._launch([binary, str(conf)], self._answers, "answering PING")
        return self

    def _answers(self) -> bool:
        # AUTH first when needed: a bare PING would count as a NOAUTH error in errorstats.
        commands = ([[b"AUTH", self.password.encode()]] if self.password is not None else [])
        commands.append([b"PING"])
        request = b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a)
                                                          for a in c) for c in commands)
        reply = b""
        with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as sock:
            sock.sendall(request)
            while reply.count(b"\r\n") < len(commands):
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
        # LOADING (or a wrong password) keeps the last reply from being +PONG.
        return reply.split(b"\r\n")[len(commands) - 1] == b"+PONG"

    def client(self, **kwargs: Any) -> Any:
        """A ``redis.Redis`` for this server (the redis package is imported only here)."""
        import inspect

        import redis

        options: dict[str, Any] = {"host": LOOPBACK, "port": self.port, "password": self.password,
                                   "socket_timeout": 5.0}
        # No CLIENT SETINFO: Redis 7.0 does not know it and counts two ERRs per connection in
        # errorstats. redis-py 8.1 spells that driver_info=None and deprecates lib_name.
        if "driver_info" in inspect.signature(redis.Redis.__init__).parameters:
            options["driver_info"] = None
        else:
            options.update(lib_name=None, lib_version=None)
        options.update(kwargs)
        return redis.Redis(**options)


class RedisExporter(_MetricsEndpoint, ProcessServer):
    """prometheus-redis-exporter for one Redis; ready once /metrics shows ``redis_up 1``."""

    name = "redis-exporter"

    def __init__(self, redis_url: str, password: str | None = None, *,
                 workdir: str | Path | None = None) -> None:
        super().__init__(workdir)
        self.redis_url = redis_url
        self.password = password


    def start(self) -> RedisExporter:
        binary = require_binary("prometheus-redis-exporter", "prometheus-redis-exporter")
        env = dict(os.environ)
        env.pop("REDIS_PASSWORD", None)
        if self.password is not None:
            env["REDIS_PASSWORD"] = self.password  # read by the exporter; not visible in ps
        argv = [binary, "-web.listen-address", self.address, "-redis.addr", self.redis_url,
                "-redis-only-metrics"]
        self._launch(argv, lambda: "\nredis_up 1" in http_get(self.url)[1],
                     "exporting redis_up 1", env)
        return self


class MetricsServer(_MetricsEndpoint):
    """/metrics in Prometheus text format from a background thread, like an instrumented app.

    The body is ``render()`` at each scrape when a renderer is given, else the last
    :meth:`set_text`.
    """

    def __init__(self, render: Callable[[], str] | None = None) -> None:
        self._render = render
        self._text = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def set_text(self, text: str) -> None:
        self._render, self._text = None, text

    def body(self) -> str:
        return self._render() if self._render is not None else self._text


    def start(self) -> MetricsServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if urllib.parse.urlsplit(self.path).path != "/metrics":
                    self.send_error(404)
                    return
                payload = owner.body().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per scrape would bury the test output

        # Port 0: the kernel picks, so there is no window for another process to take it.
        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="slo-metrics-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


ScrapeTarget = tuple[str, str, Mapping[str, str]]  # (job, "host:port", extra target labels)


class Prometheus(ProcessServer):
    """Prometheus scraping static targets; load backfilled blocks into ``data_dir`` first.

    Prometheus 2.42 loads overlapping and backfilled blocks without any flag. Its scrape
    manager applies new targets on a 5 s tick, so the first live sample lands about 5-6 s
    after start: :meth:`wait_for_scrapes` waits for it.
    """

    name = "prometheus"

    def __init__(self, scrape_targets: Sequence[ScrapeTarget], data_dir: str | Path, *,
                 scrape_interval: str = "1s", workdir: str | Path | None = None,
                 rule_files: Sequence[str | Path] = (), honor_labels: Sequence[str] = ()) -> None:
        super().__init__(workdir)
        self.targets = [(job, address, dict(labels)) for job, address, labels in scrape_targets]
        self.data_dir = Path(data_dir)
        self.scrape_interval = scrape_interval
        self.rule_files = [str(Path(f).resolve()) for f in rule_files]
        self.honor_labels = set(honor_labels)  # jobs whose labels win (a Pushgateway's job/site)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def config(self) -> dict[str, Any]:
        return {
            "global": {"scrape_interval": self.scrape_interval,
                       "scrape_timeout": self.scrape_interval,
                       "evaluation_interval": self.scrape_interval},
            "rule_files": self.rule_files,
            "scrape_configs": [
                {"job_name": job, "honor_labels": job in self.honor_labels,
                 "static_configs": [{"targets": [address], "labels": labels}]}
                for job, address, labels in self.targets
            ],
        }

    def start(self) -> Prometheus:
        binary = require_binary("prometheus", "prometheus")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "prometheus.yml"
        conf.write_text(json.dumps(self.config(), indent=2))  # JSON is YAML: no yaml needed
        argv = [binary, f"--config.file={conf}", f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address={LOOPBACK}:{self.port}"]
        self._launch(argv, lambda: http_get(f"{self.url}/-/ready")[0] == 200,
                     "answering /-/ready")
        return self

    def _api(self, endpoint: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/{endpoint}?{urllib.parse.urlencode(params)}"
        try:
            status, body = http_get(url, timeout=10.0)
            answer = json.loads(body)
        except (OSError, ValueError, HTTPException) as exc:
            raise StackError(f"Prometheus at {self.url} did not answer {endpoint}: {exc}") from exc
        if answer.get("status") != "success":
            raise StackError(f"Prometheus rejected {params.get('query')!r} ({status}): "
                             f"{answer.get('error')}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector (``metric``/``value`` dicts) of ``promql`` now or at ``at``."""
        return self._api("query", {"query": promql} if at is None else
                         {"query": promql, "time": at})

    def query_range(self, promql: str, start: float, end: float,
                    step: float) -> list[dict[str, Any]]:
        return self._api("query_range",
                         {"query": promql, "start": start, "end": end, "step": step})

    def wait_for_scrapes(self, timeout: float = READY_TIMEOUT) -> None:
        """Block until every target has been scraped once and answered (``up == 1``)."""
        assert self.process is not None, "start() first"
        jobs = {job for job, _, _ in self.targets}
        self.process.wait_ready(
            lambda: {s["metric"]["job"] for s in self.query("up == 1")} >= jobs,
            "a successful scrape of every target", timeout)


class Pushgateway(_MetricsEndpoint, ProcessServer):
    """prometheus-pushgateway (Debian package, 1.5) on loopback, in memory only; ready
    once it answers ``/-/ready``. Prometheus scrapes it with ``honor_labels: true``."""

    name = "pushgateway"

    def __init__(self, *, workdir: str | Path | None = None) -> None:
        super().__init__(workdir)

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> Pushgateway:
        binary = require_binary("prometheus-pushgateway", "prometheus-pushgateway")
        # Debian's build persists to /var/lib/prometheus/pushgateway.data by default: a test
        # gateway would then start with every earlier run's groups. In memory only.
        argv = [binary, f"--web.listen-address={self.address}", "--persistence.file="]
        self._launch(argv, lambda: http_get(f"{self.base_url}/-/ready")[0] == 200, "answering /-/ready")
        return self


def backfill(openmetrics_text: str, data_dir: str | Path) -> Path:
    """Turn OpenMetrics samples into TSDB blocks in ``data_dir``; call before Prometheus starts.

    Timestamps are in seconds; ``# EOF`` is appended when missing. Samples up to ``now``
    load on a fresh data dir; live scrapes must then be newer than the last backfilled
    sample, so keep the history strictly in the past. Several calls may fill one data dir
    (overlapping blocks are fine). Returns the OpenMetrics file written.
    """
    promtool = require_binary("promtool", "prometheus")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    text = openmetrics_text.rstrip("\n")
    if not text.endswith("# EOF"):
        text += "\n# EOF"
    # A new file per call: callers may backfill one data dir in several runs.
    fd, name = tempfile.mkstemp(prefix=f"{data_dir.name}-", suffix=".om", dir=data_dir.parent)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    source = Path(name)
    try:
        result = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source),
             str(data_dir)], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"promtool took over {exc.timeout} s to backfill", path=source) from exc
    if result.returncode != 0:
        detail = "\n".join((result.stderr or result.stdout).splitlines()[-10:])
        raise StackError(f"promtool could not backfill: {detail}", path=source)
    return source
