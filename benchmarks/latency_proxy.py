"""A loopback HTTP/1.1 proxy that delays every request and every answer: Prometheus as if across a network.

On loopback a Prometheus instant query answers in about a millisecond, so a benchmark there
measures pytest, not the network round trips that concurrent queries and keep-alive
connections save. This proxy sits in front of a real (local) server and

* speaks HTTP/1.1 keep-alive to its clients (a client that keeps its connection sends all
  its requests over it; one that says ``Connection: close``, or speaks HTTP/1.0, gets one
  request per connection);
* waits ``delay`` seconds before forwarding a request and again before returning the
  answer, so a round trip costs ``2 * delay`` on top of the server's own time, as a link
  with that one-way latency would (a TCP handshake is not delayed: it is counted instead);
* counts the TCP connections it accepts and the requests it forwards (:meth:`take`), which
  is how a benchmark proves that a client reused its connections.

Bodies, status codes and end-to-end headers pass through unchanged (a gzip answer stays
gzip); each client connection has its own keep-alive connection to the upstream server.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

__all__ = ["Counts", "LatencyProxy"]

# RFC 9110 7.6.1: headers about one connection, never forwarded; the lengths are recomputed.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "transfer-encoding", "upgrade", "content-length", "host"})


class Counts(NamedTuple):
    """What the proxy saw between two :meth:`LatencyProxy.take` calls."""

    connections: int  # TCP connections accepted from clients
    requests: int  # requests forwarded upstream (answered, whatever the status)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # the default listen backlog (5) drops the SYNs of a burst of connections, which the
    # client then resends a second later: a benchmark would measure TCP's retransmit timer
    request_queue_size = 128


class LatencyProxy:
    """``with LatencyProxy(upstream_url, delay) as proxy:`` ... ``proxy.url`` ... ``proxy.take()``."""

    def __init__(self, upstream: str, delay: float) -> None:
        split = urllib.parse.urlsplit(upstream)
        if split.scheme != "http" or not split.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._host, self._port = split.hostname, split.port or 80
        self._prefix = split.path.rstrip("/")
        self.delay = delay
        self._lock = threading.Lock()
        self._connections = 0
        self._requests = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def take(self) -> Counts:
        """The connections accepted and requests forwarded since the last call (or the start)."""
        with self._lock:
            counts = Counts(self._connections, self._requests)
            self._connections = self._requests = 0
        return counts

    def _count(self, *, connection: bool = False, request: bool = False) -> None:
        with self._lock:
            self._connections += connection
            self._requests += request

    def __enter__(self) -> LatencyProxy:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive unless the client closes
            disable_nagle_algorithm = True  # headers and body leave at once, not after a delayed ACK

            def setup(self) -> None:
                super().setup()
                owner._count(connection=True)
                self.upstream: http.client.HTTPConnection | None = None

            def finish(self) -> None:
                if self.upstream is not None:
                    self.upstream.close()
                try:
                    super().finish()
                except OSError:
                    pass

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                time.sleep(owner.delay)  # the request crossing the network
                status, reason, answer_headers, answer = self.ask(body, headers)
                owner._count(request=True)
                time.sleep(owner.delay)  # the answer crossing back
                self.send_response(status, reason)
                for name, value in answer_headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

            def ask(self, body: bytes | None, headers: dict[str, str]) -> tuple[int, str, list[tuple[str, str]], bytes]:
                for attempt in (1, 2):  # once more on a fresh connection if the kept one went stale
                    conn = self.upstream or http.client.HTTPConnection(owner._host, owner._port, timeout=60)
                    self.upstream = conn
                    try:
                        conn.request(self.command, owner._prefix + self.path, body=body, headers=headers)
                        response = conn.getresponse()
                        data = response.read()
                    except (http.client.HTTPException, OSError) as exc:
                        conn.close()
                        self.upstream = None
                        if attempt == 2:
                            return 502, "Bad Gateway", [("Content-Type", "text/plain")], f"upstream: {exc}".encode()
                        continue
                    if response.will_close:
                        conn.close()
                        self.upstream = None
                    return response.status, response.reason, response.getheaders(), data
                raise AssertionError("unreachable")

            do_GET = do_POST = do_HEAD = forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)  # port 0: the kernel picks
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="latency-proxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

