"""The snapshot backend: a ``v1 List`` JSON file answering like the API server would.

The file is validated once, on load, for the parts checks read, so that a malformed dump
fails with its file name and JSON path instead of a KeyError inside some check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_slo.errors import ConfigError, QueryError, SourceUnavailable

from .._text import one_line
from ._resources import BY_KIND, EVENTS, PODS, SOURCE, Backend, KubeObject, Resource, sort_key
from ._selectors import field_selector_matches, label_selector_matches, parse_field_selector, parse_label_selector

__all__ = ["SNAPSHOT_HINT", "SnapshotBackend"]

SNAPSHOT_HINT = "expected the output of `kubectl get pods,deployments,statefulsets,events -n NAMESPACE -o json`"


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class SnapshotBackend(Backend):
    """The items of one snapshot file, validated on :meth:`load`, answered as the API server would."""

    def __init__(self, path: Path, items: list[KubeObject], as_of: datetime) -> None:
        self.path = path
        self.origin = f"snapshot {path}"
        self._items = items
        self._as_of = as_of
        self._namespaces = {item["metadata"]["namespace"] for item in items}

    @classmethod
    def load(cls, path: Path, *, as_of: datetime | str | None = None) -> SnapshotBackend:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("snapshot file not found", path=path, hint=SNAPSHOT_HINT) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read snapshot: {one_line(str(exc))}", path=path) from exc
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"$: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                path=path,
                line=exc.lineno,
                hint=SNAPSHOT_HINT,
            ) from None
        items = _SnapshotValidator(path).items(document)
        if as_of is None:
            # A dump does not say when it was taken; its newest timestamp is only when the
            # last thing happened, and days later an old OOM kill would read as recent.
            moment = datetime.now(timezone.utc)
        elif isinstance(as_of, str):
            parsed = _parse_time(as_of)
            if parsed is None:
                raise ValueError(f"as_of must be an RFC 3339 time such as 2026-11-27T13:58:00Z, got {as_of!r}")
            moment = parsed
        else:
            moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=timezone.utc)
        return cls(path, items, moment)

    def list(
        self, resource: Resource, namespace: str, label_selector: str | None, field_selector: str | None
    ) -> list[KubeObject]:
        try:
            requirements = parse_label_selector(label_selector)
            parse_field_selector(field_selector)
        except ValueError as exc:
            raise QueryError(f"{resource.qualified} in namespace {namespace}: {exc}", path=self.path) from None
        if namespace not in self._namespaces:
            known = ", ".join(sorted(self._namespaces)) or "none"
            raise SourceUnavailable(
                SOURCE, f"namespace {namespace!r} not found", hint=f"snapshot {self.path} holds namespaces: {known}"
            )
        found = [
            item
            for item in self._items
            if (item["apiVersion"], item["kind"]) == (resource.api_version, resource.kind)
            and item["metadata"]["namespace"] == namespace
            and label_selector_matches(requirements, item["metadata"].get("labels"))
            and field_selector_matches(field_selector, item)
        ]
        return json.loads(json.dumps(found))  # callers get their own copies

    def now(self) -> datetime:
        return self._as_of


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class _SnapshotValidator:
    """Checks the parts of each object that checks read; names the JSON path of the first problem."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.subject = ""

    def fail(self, where: str, problem: str) -> ConfigError:
        subject = f" ({self.subject})" if self.subject else ""
        return ConfigError(f"{where}: {problem}{subject}", path=self.path, hint=SNAPSHOT_HINT)

    def need(
        self, obj: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], *, required: bool = True
    ) -> Any:
        here = f"{where}.{key}" if where else key
        if key not in obj or (obj[key] is None and not required):
            if required:
                raise self.fail(here, "missing")
            return None
        value = obj[key]
        wanted = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in wanted:
            ok = False
        else:
            ok = isinstance(value, wanted)
        if not ok:
            expected = " or ".join(_type_name(t()) if t is not type(None) else "null" for t in wanted)
            raise self.fail(here, f"expected {expected}, got {_type_name(value)}")
        return value

    def items(self, document: object) -> list[KubeObject]:
        if not isinstance(document, dict):
            raise self.fail("$", f"expected a `v1 List` object, got {_type_name(document)}")
        kind = document.get("kind")
        if not (isinstance(kind, str) and kind.endswith("List")):
            raise self.fail("kind", f"expected 'List', got {kind!r}")
        raw_items = self.need(document, "items", "", list)
        items: list[KubeObject] = []
        for index, item in enumerate(raw_items):
            where = f"items[{index}]"
            self.subject = ""
            if not isinstance(item, dict):
                raise self.fail(where, f"expected an object, got {_type_name(item)}")
            item_kind = self.need(item, "kind", where, str)
            api_version = self.need(item, "apiVersion", where, str)
            meta = self.need(item, "metadata", where, dict)
            name = self.need(meta, "name", f"{where}.metadata", str)
            self.subject = f"{item_kind} {name}"
            resource = BY_KIND.get((api_version, item_kind))
            if resource is None:
                continue  # Services, ReplicaSets, events.k8s.io Events... are not queried
            namespace = self.need(meta, "namespace", f"{where}.metadata", str)
            self.subject = f"{item_kind} {namespace}/{name}"
            labels = self.need(meta, "labels", f"{where}.metadata", dict, required=False) or {}
            for key, value in labels.items():
                if not isinstance(value, str):
                    raise self.fail(f"{where}.metadata.labels.{key}", f"expected a string, got {_type_name(value)}")
            if resource is PODS:
                self.pod(item, where)
            elif resource is EVENTS:
                self.event(item, where)
            else:
                self.workload(item, where)
            items.append(item)
        self.subject = ""
        items.sort(key=sort_key)
        return items

    def containers(self, spec: Mapping[str, Any], where: str) -> None:
        containers = self.need(spec, "containers", where, list)
        for i, container in enumerate(containers):
            here = f"{where}.containers[{i}]"
            if not isinstance(container, dict):
                raise self.fail(here, f"expected an object, got {_type_name(container)}")
            self.need(container, "name", here, str)
            self.need(container, "image", here, str, required=False)
            resources = self.need(container, "resources", here, dict, required=False) or {}
            for part in ("limits", "requests"):
                quantities = self.need(resources, part, f"{here}.resources", dict, required=False) or {}
                for key, value in quantities.items():
                    self.quantity(value, f"{here}.resources.{part}.{key}")

    def quantity(self, value: object, where: str) -> None:
        from pytest_slo.units import QuantityError, k8s_quantity

        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(where, f"expected a quantity such as '512Mi', got {_type_name(value)}")
        try:
            k8s_quantity(str(value))
        except QuantityError as exc:
            raise self.fail(where, f"{value!r} is not a Kubernetes quantity ({exc})") from None

    def pod(self, item: Mapping[str, Any], where: str) -> None:
        spec = self.need(item, "spec", where, dict)
        self.containers(spec, f"{where}.spec")
        status = self.need(item, "status", where, dict, required=False) or {}
        self.need(status, "phase", f"{where}.status", str, required=False)
        for key in ("initContainerStatuses", "containerStatuses"):
            statuses = self.need(status, key, f"{where}.status", list, required=False) or []
            for i, cs in enumerate(statuses):
                here = f"{where}.status.{key}[{i}]"
                if not isinstance(cs, dict):
                    raise self.fail(here, f"expected an object, got {_type_name(cs)}")
                self.need(cs, "name", here, str)
                self.need(cs, "restartCount", here, int)
                self.need(cs, "ready", here, bool, required=False)
                for state_key in ("state", "lastState"):
                    state = self.need(cs, state_key, here, dict, required=False) or {}
                    for phase in ("waiting", "running", "terminated"):
                        detail = self.need(state, phase, f"{here}.{state_key}", dict, required=False) or {}
                        if phase == "terminated":
                            self.need(detail, "exitCode", f"{here}.{state_key}.terminated", int, required=False)
                        for text in ("reason", "startedAt", "finishedAt"):
                            self.need(detail, text, f"{here}.{state_key}.{phase}", str, required=False)
        for i, condition in enumerate(self.need(status, "conditions", f"{where}.status", list, required=False) or []):
            here = f"{where}.status.conditions[{i}]"
            if not isinstance(condition, dict):
                raise self.fail(here, f"expected an object, got {_type_name(condition)}")
            self.need(condition, "type", here, str)
            self.need(condition, "status", here, str)

    def workload(self, item: Mapping[str, Any], where: str) -> None:
        spec = self.need(item, "spec", where, dict)
        self.need(spec, "replicas", f"{where}.spec", int, required=False)
        template = self.need(spec, "template", f"{where}.spec", dict)
        template_spec = self.need(template, "spec", f"{where}.spec.template", dict)
        self.containers(template_spec, f"{where}.spec.template.spec")
        status = self.need(item, "status", where, dict, required=False) or {}
        for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas"):
            self.need(status, key, f"{where}.status", int, required=False)

    def event(self, item: Mapping[str, Any], where: str) -> None:
        involved = self.need(item, "involvedObject", where, dict)
        self.need(involved, "kind", f"{where}.involvedObject", str)
        self.need(involved, "name", f"{where}.involvedObject", str)
        for key in ("reason", "message", "type", "lastTimestamp", "firstTimestamp"):
            self.need(item, key, where, str, required=False)
        self.need(item, "count", where, int, required=False)
