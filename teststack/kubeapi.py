"""A loopback Kubernetes API server, just big enough for pytest-slo's read-only queries.

No real API server can be installed here, so kube code is tested with the *real*
``kubernetes`` client against this one. It serves the objects of a ``v1 List`` (the same
snapshot files :meth:`pytest_slo.sources.kube.KubeSource.from_snapshot` reads) the way the
API server does:

* ``GET /version``, ``GET /api/v1/namespaces``, ``GET /api/v1/namespaces/{ns}``
* ``GET /api/v1/namespaces/{ns}/pods[/{name}]`` and ``.../events[/{name}]``
* ``GET /apis/apps/v1/namespaces/{ns}/statefulsets[/{name}]`` and ``.../deployments[/{name}]``
* the cluster-wide forms ``/api/v1/pods``, ``/apis/apps/v1/deployments``...

Lists look like the real ones (``kind: PodList``, ``apiVersion``, ``metadata.resourceVersion``,
items without ``kind``/``apiVersion``, sorted by namespace/name), honour ``labelSelector`` and
``fieldSelector``, and a namespace that does not exist lists as empty (as the real API
does) while ``GET /api/v1/namespaces/{ns}`` answers a ``404`` ``Status`` (``reason: NotFound``).
Errors are ``Status`` objects. A bearer token is required (``401`` otherwise).

Every request is recorded in :attr:`FakeKubeAPI.requests`; any method but GET answers
``405`` (and is recorded), so a test can assert that only GETs were sent.

Fault modes, settable at any time: ``mode = "ok" | "401" | "403" | "500" | "hang"``
(``hang`` holds each request :attr:`~FakeKubeAPI.hang_seconds` before answering, longer than
any client timeout), plus :attr:`~FakeKubeAPI.forbidden`, a set of ``(verb, resource)``
pairs such as ``("list", "statefulsets")`` answered with ``403`` as a Role lacking that rule.

Binds 127.0.0.1 only. Run it by hand for a demo::

    python -m teststack.kubeapi examples/snapshots/incident.json --port 8001
"""

from __future__ import annotations

import argparse
import datetime as _dt
import itertools
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qs, urlsplit

from pytest_slo.sources.kube import field_selector_matches, parse_label_selector

# Routing and answer bodies live in _kubeapi_routes; SERVICE_ACCOUNT_USER stays importable here.
from teststack._kubeapi_routes import (
    NAMESPACE_KIND,
    VERSION,
    forbidden_status,
    list_answer,
    namespaces_answer,
    object_answer,
    route,
)
from teststack._kubeapi_routes import SERVICE_ACCOUNT_USER as SERVICE_ACCOUNT_USER
from teststack._kubeapi_routes import status as _status

__all__ = ["FakeKubeAPI", "KubeRequest", "Mode", "shift_snapshot"]

Mode = Literal["ok", "401", "403", "500", "hang"]
MODES: tuple[str, ...] = ("ok", "401", "403", "500", "hang")


_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def shift_snapshot(snapshot: str | os.PathLike[str], to: _dt.datetime) -> dict[str, Any]:
    """A snapshot with every timestamp moved so that its latest one is ``to``.

    The shipped snapshots are fixed in time; served live, "OOM-killed in the last 24h"
    must mean the same thing today as on the day they were written.
    """
    text = Path(snapshot).read_text(encoding="utf-8")
    stamps = [_dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in _ISO.findall(text)]
    delta = to - max(stamps) if stamps else _dt.timedelta(0)

    def move(match: re.Match[str]) -> str:
        moved = _dt.datetime.fromisoformat(match.group(0).replace("Z", "+00:00")) + delta
        return moved.strftime("%Y-%m-%dT%H:%M:%SZ")

    return json.loads(_ISO.sub(move, text))  # type: ignore[no-any-return]


class KubeRequest(NamedTuple):
    """One request as the fake saw it: ``method``, ``path`` and ``query`` (last value per key)."""

    method: str
    path: str
    query: dict[str, str]


class FakeKubeAPI:
    """A threaded HTTP server on 127.0.0.1 answering like a Kubernetes API server.

    ``snapshot`` is a path to a ``v1 List`` JSON file, or the parsed dict. Use as a context
    manager (or :meth:`start`/:meth:`stop`). :attr:`url` is ``http://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        snapshot: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        *,
        mode: Mode = "ok",
        token: str = "pytest-slo-fake-token",
        namespaces: Iterable[str] = ("default", "kube-system"),
        hang_seconds: float = 30.0,
        port: int = 0,
    ) -> None:
        self.mode: Mode = mode
        self.token = token
        self.hang_seconds = hang_seconds
        self.forbidden: set[tuple[str, str]] = set()
        self.requests: list[KubeRequest] = []
        self._extra_namespaces = set(namespaces)
        self._objects: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._resource_version = itertools.count(48213977)
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        if snapshot is not None:
            self.load(snapshot)

    # ----------------------------------------------------------------- data

    def load(self, snapshot: str | os.PathLike[str] | Mapping[str, Any]) -> None:
        """Serve the items of ``snapshot`` from now on (no validation: feed it what you like)."""
        document = (
            json.loads(Path(snapshot).read_text(encoding="utf-8")) if not isinstance(snapshot, Mapping) else snapshot
        )
        items = document.get("items") or []
        with self._lock:
            self._objects = [json.loads(json.dumps(item)) for item in items if isinstance(item, dict)]

    @property
    def namespaces(self) -> set[str]:
        with self._lock:
            found = {
                str((obj.get("metadata") or {}).get("namespace"))
                for obj in self._objects
                if (obj.get("metadata") or {}).get("namespace")
            }
        return found | self._extra_namespaces

    def add_namespace(self, name: str) -> None:
        """Make an (empty) namespace exist."""
        self._extra_namespaces.add(name)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    @property
    def methods(self) -> set[str]:
        """The set of HTTP methods received so far."""
        with self._lock:
            return {r.method for r in self.requests}

    # ----------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeKubeAPI is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeKubeAPI:
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"api": self})
        server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        server.daemon_threads = True
        self._server = server
        self._release.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"FakeKubeAPI:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._release.set()  # wake hanging handlers
        server.shutdown()
        server.server_close()
        with self._lock:  # a stopped server keeps no keep-alive connection open either
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubeconfig(
        self,
        path: str | os.PathLike[str],
        *,
        context: str = "fake-kube",
        namespace: str = "production",
        token: str | None = None,
    ) -> Path:
        """Write a kubeconfig whose ``context`` points at this server with token auth; return its path.

        ``token`` defaults to the server's own; pass another one to provoke a 401.
        """
        target = Path(path)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": f"{context}-reader", "user": {"token": token if token is not None else self.token}}],
            "contexts": [
                {"name": context, "context": {"cluster": context, "user": f"{context}-reader", "namespace": namespace}}
            ],
            "current-context": context,
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")  # JSON is YAML
        return target

    # ----------------------------------------------------------------- answering

    def _record(self, method: str, target: str) -> tuple[str, dict[str, str]]:
        split = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(split.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append(KubeRequest(method, split.path, query))
        return split.path, query

    def _wait_hang(self) -> None:
        self._release.wait(self.hang_seconds)

    def answer(
        self, method: str, path: str, query: Mapping[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        """The (status code, JSON body) for one request; the HTTP handler only transports it."""
        if method != "GET":
            return 405, _status(
                405,
                "MethodNotAllowed",
                f"the server does not allow this method on the requested resource ({method} {path}: this fake API "
                "is read-only)",
            )
        mode = self.mode
        if mode == "hang":
            self._wait_hang()
        if mode == "401" or authorization != f"Bearer {self.token}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        if mode == "500":
            return 500, _status(500, "InternalError", "Internal error occurred: etcdserver: leader changed")
        if path in ("/version", "/version/"):
            return 200, dict(VERSION)
        found = route(path)
        if found is None:
            return 404, _status(404, "NotFound", "the server could not find the requested resource", {})
        kind, namespace, name = found
        verb = "watch" if query.get("watch") in ("true", "1") else ("get" if name is not None else "list")
        if mode == "403" or (verb, kind.plural) in self.forbidden:
            return 403, forbidden_status(verb, kind, namespace, name)
        if verb == "watch":
            return 400, _status(400, "BadRequest", "watch is not supported by this fake API server")
        if kind is NAMESPACE_KIND:
            return namespaces_answer(name, self.namespaces, self._resource_version)
        try:
            requirements = parse_label_selector(query.get("labelSelector"))
        except ValueError as exc:
            return 400, _status(400, "BadRequest", f"invalid labelSelector: {exc}")
        try:
            field_selector_matches(query.get("fieldSelector"), {})
        except ValueError as exc:
            return 400, _status(400, "BadRequest", f"invalid fieldSelector: {exc}")
        with self._lock:
            objects = [
                obj
                for obj in self._objects
                if obj.get("kind") == kind.kind
                and obj.get("apiVersion") == kind.api_version
                and (namespace is None or (obj.get("metadata") or {}).get("namespace") == namespace)
            ]
        if name is not None:
            return object_answer(kind, name, objects)
        return list_answer(kind, objects, requirements, query.get("fieldSelector"), self._resource_version)


class _Handler(BaseHTTPRequestHandler):
    api: FakeKubeAPI  # set on the per-server subclass
    protocol_version = "HTTP/1.1"
    server_version = "FakeKubeAPI/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.api._lock:
            self.api._connections.add(self.connection)

    def finish(self) -> None:
        with self.api._lock:
            self.api._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _handle(self) -> None:
        method = self.command
        path, query = self.api._record(method, self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        code, body = self.api.answer(method, path, query, self.headers.get("Authorization"))
        payload = json.dumps(body).encode("utf-8")
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Audit-Id", f"{time.time_ns():x}")
            if code == 405:
                self.send_header("Allow", "GET")
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (hang mode)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("snapshot", help="v1 List JSON, e.g. examples/snapshots/incident.json")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--kubeconfig", default="fake-kubeconfig.yaml", help="where to write a kubeconfig for it")
    args = parser.parse_args(argv)
    with FakeKubeAPI(args.snapshot, mode=args.mode, port=args.port) as api:  # type: ignore[arg-type]
        config = api.kubeconfig(args.kubeconfig)
        print(f"fake Kubernetes API at {api.url} (mode {api.mode}); kubeconfig {config}, context fake-kube", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
