"""``kind: kube``: pod health and declared-vs-deployed drift, read-only (get/list only).

Pods and workloads (StatefulSets, Deployments) are found by the app's label selector,
``app.kubernetes.io/name=<app>`` unless the site sets ``KUBE_APP_SELECTOR`` (``{app}`` is
substituted), in ``KUBE_NAMESPACE``. The source is the cluster (kubeconfig context, or
in-cluster config in a CronJob) or, with ``--kube-snapshot``, a ``kubectl get -o json`` dump,
which needs no ``--live``. ``test`` picks what to judge:

crashloop        no container waiting in CrashLoopBackOff
oomkilled        no container OOMKilled (current or last state) within ``window`` (24h)
restarts         every container restarted fewer than ``max_restarts`` times
rollout          ready replicas equal desired, for every workload
resources-drift  the pod template's limits/requests equal the rendered values (as quantities)
image-drift      the pod template's image tag equals the values' ``image.tag``, when pinned
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, ClassVar

from ..catalog.schema import DURATION, field
from ..expr import duration_seconds
from ..units import QuantityError, k8s_quantity
from ..yamlio import line_of_path, load_yaml
from .base import Kind, Location, Target, Verdict
from .values import trace_to_config

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..settings import Settings

__all__ = ["KubeKind", "app_selector"]

TESTS = ("crashloop", "oomkilled", "restarts", "rollout", "resources-drift", "image-drift")


def app_selector(target: Target) -> str:
    pattern = str(target.site.config.get("KUBE_APP_SELECTOR") or "app.kubernetes.io/name={app}")
    return pattern.replace("{app}", target.app or "")


def _namespace(target: Target) -> str:
    return str(target.site.config.get("KUBE_NAMESPACE") or target.site.name)


def _source(target: Target) -> Any:
    settings = target.run.settings

    def make() -> Any:
        from ..sources.kube import KubeSource

        if settings.kube_snapshot is not None:
            return KubeSource.from_snapshot(settings.kube_snapshot)
        return KubeSource.from_config(context=settings.kube_context, timeout=settings.live_timeout)

    return target.run.source(("kube", str(settings.kube_snapshot), settings.kube_context), make)


def _state(target: Target) -> dict[str, Any]:
    source = _source(target)
    namespace, selector = _namespace(target), app_selector(target)

    def read() -> dict[str, Any]:
        return {
            "origin": source.origin,
            "namespace": namespace,
            "selector": selector,
            "now": source.now(),
            "pods": source.pods(namespace, selector),
            "workloads": source.workloads(namespace, selector),
        }

    return target.run.source(("kube-state", id(source), namespace, selector), read)  # type: ignore[no-any-return]


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", "?"))


def _statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or [])


def _time(text: Any) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


class KubeKind(Kind):
    name = "kube"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = {
        "properties": {
            "test": field("a test of kind kube", list(TESTS), enum=list(TESTS)),
            "window": DURATION,  # how far back an OOM kill counts
            "max_restarts": field("a number of restarts, 0 or more", [5], type="integer", minimum=0),
            "container": field("a container name", ["redis"], type="string", pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        },
        "required": ["test"],
        # a field no test reads is a mistake that would otherwise pass silently
        "dependentSchemas": {
            "window": {
                "description": "only test: oomkilled reads it",
                "$comment": "remove window:, or set test: oomkilled",
                "properties": {"test": {"const": "oomkilled"}},
            },
            "max_restarts": {
                "description": "only test: restarts reads it",
                "$comment": "remove max_restarts:, or set test: restarts",
                "properties": {"test": {"const": "restarts"}},
            },
            "container": {
                "description": "only test: resources-drift and test: image-drift read it",
                "$comment": "remove container:",
                "properties": {"test": {"enum": ["resources-drift", "image-drift"]}},
            },
        },
    }

    def needs_live(self, settings: Settings) -> bool:
        return settings.kube_snapshot is None

    def fetch(self, check: Check, target: Target) -> Any:
        return _state(target)

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        test = check.spec["test"]
        state: dict[str, Any] = data
        where = f"namespace {state['namespace']}, selector {state['selector']} ({state['origin']})"
        if test in ("resources-drift", "image-drift"):
            if not state["workloads"]:
                return Verdict(False, f"{check.title}: no StatefulSet or Deployment matches {where}", {"selector": state["selector"]})
            return self._drift(check, target, state, test)
        if test != "rollout" and not state["pods"]:
            return Verdict(False, f"{check.title}: no pods match {where}; is the app deployed, is the selector right (KUBE_APP_SELECTOR)?", {"selector": state["selector"]})
        problems: list[str] = []
        evidence: list[dict[str, Any]] = []
        if test == "crashloop":
            for pod in state["pods"]:
                for cs in _statuses(pod):
                    waiting = (cs.get("state") or {}).get("waiting") or {}
                    if waiting.get("reason") == "CrashLoopBackOff":
                        last = ((cs.get("lastState") or {}).get("terminated") or {})
                        why = f", last terminated {last.get('reason')} (exit {last.get('exitCode')})" if last else ""
                        problems.append(f"{_name(pod)}/{cs.get('name')}: CrashLoopBackOff, {cs.get('restartCount', 0)} restarts{why}")
                        evidence.append({"pod": _name(pod), "container": cs.get("name"), "restartCount": cs.get("restartCount"), "lastState": last})
        elif test == "oomkilled":
            window = duration_seconds(check.spec.get("window", "24h"))
            now: _dt.datetime = state["now"]
            for pod in state["pods"]:
                for cs in _statuses(pod):
                    for which in ("state", "lastState"):
                        term = ((cs.get(which) or {}).get("terminated")) or {}
                        finished = _time(term.get("finishedAt"))
                        if term.get("reason") == "OOMKilled" and finished and (now - finished).total_seconds() <= window:
                            age = max(0.0, (now - finished).total_seconds()) / 3600
                            problems.append(f"{_name(pod)}/{cs.get('name')}: OOMKilled (exit {term.get('exitCode')}) at {term.get('finishedAt')}, {age:.1f}h ago")
                            evidence.append({"pod": _name(pod), "container": cs.get("name"), "finishedAt": term.get("finishedAt"), "exitCode": term.get("exitCode"), "restartCount": cs.get("restartCount")})
        elif test == "restarts":
            limit = int(check.spec.get("max_restarts", 5))
            for pod in state["pods"]:
                for cs in _statuses(pod):
                    if int(cs.get("restartCount") or 0) >= limit:
                        problems.append(f"{_name(pod)}/{cs.get('name')}: {cs.get('restartCount')} restarts (limit {limit})")
                        evidence.append({"pod": _name(pod), "container": cs.get("name"), "restartCount": cs.get("restartCount")})
        elif test == "rollout":
            if not state["workloads"]:
                return Verdict(False, f"{check.title}: no StatefulSet or Deployment matches {where}", {"selector": state["selector"]})
            for wl in state["workloads"]:
                desired = int((wl.get("spec") or {}).get("replicas", 1))
                ready = int((wl.get("status") or {}).get("readyReplicas") or 0)
                evidence.append({"workload": f"{wl.get('kind')}/{_name(wl)}", "desired": desired, "ready": ready})
                if ready != desired:
                    problems.append(f"{wl.get('kind')}/{_name(wl)}: {ready} of {desired} replicas ready")
        detail = {"namespace": state["namespace"], "selector": state["selector"], "source": state["origin"], "items": evidence}
        if not problems:
            return Verdict(True, evidence=detail)
        location = target.env_location(*check.keys) if check.keys else None
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        message = f"{check.title}: {problems[0]}{more}\n  in {where}:\n  " + "\n  ".join(problems)
        return Verdict(False, message, detail, location)

    def _drift(self, check: Check, target: Target, state: dict[str, Any], test: str) -> Verdict:
        site, app = target.site, target.app or ""
        path = site.values_file(app)
        display = site.repo.rel(path)
        text = path.read_text(encoding="utf-8")
        values = load_yaml(text, display) or {}
        rows: list[dict[str, Any]] = []
        location: Location | None = None
        for wl in state["workloads"]:
            containers = (((wl.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
            wanted = check.spec.get("container")
            chosen = [c for c in containers if c.get("name") == wanted] if wanted else containers[:1]
            for container in chosen:
                for declared_path, live, declared in self._pairs(test, values, container):
                    same = _same(test, declared, live)
                    row = {"workload": f"{wl.get('kind')}/{_name(wl)}", "container": container.get("name"), "field": ".".join(declared_path), "declared": declared, "live": live, "same": same}
                    if not same:
                        line = line_of_path(text, declared_path)
                        edit = trace_to_config(target, line) or Location(display, line)
                        row["edit"] = str(edit)
                        location = location or edit
                    rows.append(row)
        differ = [r for r in rows if not r["same"]]
        evidence = {"namespace": state["namespace"], "selector": state["selector"], "source": state["origin"], "values": display, "fields": rows}
        if not rows:
            return Verdict.skipped(f"{display} pins nothing this check compares") if test == "image-drift" else Verdict(True, evidence=evidence)
        if not differ:
            return Verdict(True, evidence=evidence, location=location)
        width = max(len(r["field"]) for r in differ)
        lines = [
            f"{r['workload']} {r['container']}: {r['field']:<{width}}  declared {r['declared']!s:<8} live {r['live']!s:<8} (declared at {r['edit']})"
            for r in differ
        ]
        first = differ[0]
        head = f"{first['field']} declared {first['declared']}, live {first['live']}" + (f" (and {len(differ) - 1} more)" if len(differ) > 1 else "")
        message = f"{check.title}: {head}\n  {display} vs {state['origin']}:\n  " + "\n  ".join(lines)
        return Verdict(False, message, evidence, location)

    @staticmethod
    def _pairs(test: str, values: dict[str, Any], container: dict[str, Any]) -> list[tuple[tuple[str, ...], Any, Any]]:
        pairs: list[tuple[tuple[str, ...], Any, Any]] = []
        if test == "resources-drift":
            declared = values.get("resources") or {}
            live = container.get("resources") or {}
            for group in ("limits", "requests"):
                for resource in ("memory", "cpu"):
                    want = (declared.get(group) or {}).get(resource)
                    if want is not None:
                        pairs.append((("resources", group, resource), (live.get(group) or {}).get(resource), want))
        else:
            tag = (values.get("image") or {}).get("tag")
            if tag:
                image = str(container.get("image", ""))
                live_tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
                pairs.append((("image", "tag"), live_tag.split("@")[0], str(tag)))
        return pairs


def _same(test: str, declared: Any, live: Any) -> bool:
    if live is None:
        return False
    if test == "image-drift":
        return str(declared) == str(live)
    try:
        return k8s_quantity(declared) == k8s_quantity(live)
    except QuantityError:
        return str(declared) == str(live)
