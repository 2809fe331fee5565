"""The live backend: the official ``kubernetes`` client, get/list only, every call bounded.

Importing this module imports neither ``kubernetes`` (about 0.5 s) nor ``urllib3``: both are
imported inside the methods, so a snapshot-only run never pays for them.

The client's exceptions are mapped to one-line reasons here: a refused connection, a
timeout, a TLS failure, 401 and 403 (naming the verb and resource the Role lacks and the
file that grants it), an unknown namespace, 5xx.
"""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timezone
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

from pytest_slo.errors import QueryError, SourceUnavailable

from .._deadline import current, waiting_on
from .._network import exception_chain, network_reason
from .._text import basic_auth, one_line, scrub, scrub_bytes, seconds
from ._resources import NAMESPACES, SOURCE, Backend, KubeObject, Resource, sort_key

if TYPE_CHECKING:  # pragma: no cover - typing only; never imported at run time
    from kubernetes.client import ApiClient, Configuration

    from ._timeouts import KubeTimeouts

__all__ = ["RBAC_FILE", "LiveBackend"]

RBAC_FILE = "deploy/rbac.yaml"

_SUBJECT = re.compile(r'User "(?P<user>[^"]+)"')


class LiveBackend(Backend):
    """The official client, called only with get/list, every call bounded by the timeouts."""

    VERBS = frozenset({"get", "list"})

    def __init__(
        self, api_client: ApiClient, configuration: Configuration, timeouts: KubeTimeouts, origin: str, auth_hint: str
    ) -> None:
        from kubernetes import client

        self._api_client = api_client
        self._configuration = configuration  # its credentials are read when scrubbing: tokens rotate
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self.host = str(configuration.host)
        self.timeouts = timeouts
        self.origin = origin
        self._auth_hint = auth_hint
        self._known_namespaces: set[str] = set()

    @classmethod
    def connect(
        cls, *, context: str | None, kubeconfig: str | os.PathLike[str] | None, in_cluster: bool, timeouts: KubeTimeouts
    ) -> LiveBackend:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        configuration = client.Configuration()
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=configuration)
                origin = f"kubernetes in-cluster service account at {configuration.host}"
                auth_hint = "is the pod's service account token mounted and its ServiceAccount still present?"
            else:
                location = os.fspath(kubeconfig) if kubeconfig is not None else os.path.expanduser("~/.kube/config")
                config.load_kube_config(
                    config_file=location, context=context, client_configuration=configuration, persist_config=False
                )
                name = context or str(config.list_kube_config_contexts(location)[1].get("name") or "current-context")
                origin = f"kubernetes context {name!r} at {configuration.host}"
                auth_hint = f"renew the credentials of kubeconfig context {name!r} in {location}"
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            where = (
                "in-cluster configuration"
                if in_cluster
                else f"kubeconfig {kubeconfig or '$KUBECONFIG or ~/.kube/config'}"
            )
            reason = f"cannot load {where}"
            if context and not in_cluster:
                reason += f" (context {context!r})"
            raise SourceUnavailable(SOURCE, f"{reason}: {one_line(str(exc) or type(exc).__name__)}") from exc
        except Exception as exc:  # yaml errors and friends from a broken kubeconfig
            raise SourceUnavailable(SOURCE, f"cannot load kubeconfig {kubeconfig or ''}: {one_line(str(exc))}") from exc

        configuration.retries = timeouts.urllib3_retries()
        configuration.client_go_retries = False
        host = (configuration.host or "").lower()
        if re.match(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:|/|$)", host):
            configuration.proxy = None  # an HTTP(S)_PROXY from the environment cannot reach our loopback
        api_client = client.ApiClient(configuration)
        api_client.user_agent = "pytest-slo (read-only; kubernetes-python)"
        return cls(api_client, configuration, timeouts, origin, auth_hint)

    def close(self) -> None:
        self._api_client.close()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    # ----------------------------------------------------------------- calls

    def list(
        self, resource: Resource, namespace: str, label_selector: str | None, field_selector: str | None
    ) -> list[KubeObject]:
        api = self._apps if resource.group == "apps" else self._core
        method = getattr(api, resource.list_method)
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        body = self._call("list", resource, namespace, lambda **call: method(namespace, **kwargs, **call))
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise SourceUnavailable(
                SOURCE,
                f"GET {self.host}{resource.path(namespace)} answered without an items list (not a Kubernetes API?)",
            )
        if items:
            self._known_namespaces.add(namespace)
        else:
            self._require_namespace(namespace)
        objects = [{"apiVersion": resource.api_version, "kind": resource.kind, **item} for item in items]
        objects.sort(key=sort_key)
        return objects

    def _require_namespace(self, namespace: str) -> None:
        """An empty list is ambiguous: the real API lists an unknown namespace as empty. Ask once."""
        if namespace in self._known_namespaces:
            return
        self._call("get", NAMESPACES, namespace, lambda **call: self._core.read_namespace(namespace, **call))
        self._known_namespaces.add(namespace)

    def _call(self, verb: Literal["get", "list"], resource: Resource, namespace: str, call: Callable[..., Any]) -> Any:
        assert verb in self.VERBS, verb  # read-only, always
        import urllib3
        from kubernetes.client.exceptions import ApiException

        path = f"/api/v1/namespaces/{namespace}" if resource is NAMESPACES else resource.path(namespace)
        try:
            deadline = current(self.timeouts.read)  # the item's --live-timeout, shared by its calls
            waiting_on(SOURCE, self.host)
            left = max(0.001, deadline.remaining())
            response = call(_preload_content=False, _request_timeout=(min(self.timeouts.connect, left), left))
            try:
                raw = response.data
            finally:
                response.release_conn()
        except ApiException as exc:
            raise self._api_error(exc, verb, resource, namespace, path) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SourceUnavailable(SOURCE, self._network_reason(exc, path, deadline.total)) from exc
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            head = scrub_bytes(raw, self._secrets())[:80]
            raise SourceUnavailable(
                SOURCE, f"GET {self.host}{path} answered with something that is not JSON: {one_line(repr(head))}"
            ) from None

    def _secrets(self) -> tuple[str | None, ...]:
        """Every credential as the client sends it: a server or proxy may echo the request,
        ``Authorization`` included, into an error body. Read at each error, as the in-cluster
        and exec-plugin tokens are refreshed in the configuration while the run goes on."""
        conf = self._configuration
        api_keys = tuple(str(v) for v in (getattr(conf, "api_key", None) or {}).values() if v)  # "Bearer x", "Basic x"
        username, password = getattr(conf, "username", None), getattr(conf, "password", None)
        # set by hand on a Configuration; a kubeconfig's user/password reach api_key as "Basic ..."
        basic = basic_auth(username, password) if username and password else None
        return (*api_keys, password, basic)

    # ----------------------------------------------------------------- error mapping

    def _network_reason(self, exc: BaseException, path: str, budget: float) -> str:
        import urllib3

        chain = list(exception_chain(exc))
        if any(isinstance(e, urllib3.exceptions.ReadTimeoutError) for e in chain):
            return f"GET {self.host}{path}: no answer within {seconds(budget)} s"
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
            isinstance(e, (urllib3.exceptions.NameResolutionError, socket.gaierror)) for e in chain
        ):
            return network_reason(exc, self.host, urllib.parse.urlsplit(self.host).hostname or self.host)
        if any(isinstance(e, urllib3.exceptions.SSLError) for e in chain):
            return f"cannot connect to {self.host}: TLS error: {one_line(str(chain[-1]), 120)}"
        if any(
            isinstance(e, (urllib3.exceptions.ConnectTimeoutError, socket.timeout, TimeoutError))
            and not isinstance(e, urllib3.exceptions.NewConnectionError)
            for e in chain
        ):
            return f"cannot connect to {self.host}: no answer within {seconds(min(budget, self.timeouts.connect))} s"
        if any(isinstance(e, (urllib3.exceptions.ProtocolError, ConnectionResetError)) for e in chain):
            return f"{self.host} closed the connection without an answer (GET {path})"
        return network_reason(exc, self.host, urllib.parse.urlsplit(self.host).hostname or self.host)

    def _api_error(self, exc: Any, verb: str, resource: Resource, namespace: str, path: str) -> Exception:
        status = int(exc.status or 0)
        body = exc.body if isinstance(exc.body, str) else ""
        try:
            detail = json.loads(body) if body else {}
        except ValueError:
            detail = {}
        if not isinstance(detail, dict):
            detail = {}
        secrets = self._secrets()  # scrubbed before clipping: a cut secret would not match any more
        server_message = one_line(scrub(str(detail.get("message") or body or exc.reason or ""), secrets), 160)
        if status == 0:  # the client's own wrapping of TLS errors
            return SourceUnavailable(
                SOURCE, f"cannot connect to {self.host}: TLS error: {one_line(scrub(str(exc.reason), secrets), 120)}"
            )
        if status == 401:
            return SourceUnavailable(SOURCE, "401 Unauthorized: credentials rejected", hint=self._auth_hint)
        if status == 403:
            return SourceUnavailable(SOURCE, _forbidden_reason(verb, resource, namespace, server_message))
        if status == 404:
            details = detail.get("details")
            details = details if isinstance(details, dict) else {}
            if resource is NAMESPACES or details.get("kind") == "namespaces":
                return SourceUnavailable(SOURCE, f"namespace {namespace!r} not found")
            return QueryError(
                f"404 Not Found: {server_message} (GET {path}; does the cluster serve {resource.api_version}?)"
            )
        phrase = _status_phrase(status)
        if status >= 500 or status == 429:
            return SourceUnavailable(SOURCE, f"{status} {phrase}: {server_message}")
        return QueryError(f"{status} {phrase}: {server_message} (GET {path})")


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def _forbidden_reason(verb: str, resource: Resource, namespace: str, server_message: str) -> str:
    match = _SUBJECT.search(server_message)
    who = "the service account"
    if match:
        user = match["user"]
        if user.startswith("system:serviceaccount:"):
            sa_namespace, _, sa_name = user.removeprefix("system:serviceaccount:").partition(":")
            who = f"the service account {sa_namespace}/{sa_name}"
        else:
            who = f"user {user}"
    if resource is NAMESPACES:
        return (
            f"403 Forbidden: {who} may not get namespace {namespace} "
            f"(add verb get on namespaces, resourceNames [{namespace}], to {RBAC_FILE}'s Role)"
        )
    return (
        f"403 Forbidden: {who} may not {verb} {resource.qualified} in namespace {namespace} "
        f"(add verb list on {resource.qualified} to {RBAC_FILE}'s Role)"
    )

