"""``kind: kube``: pod health and declared-vs-deployed drift, read-only (get/list only).

Pods and workloads (StatefulSets, Deployments) are found by the app's label selector,
``app.kubernetes.io/name=<app>`` unless the site sets ``KUBE_APP_SELECTOR`` (``{app}`` is
substituted), in ``KUBE_NAMESPACE``. The source is the cluster (kubeconfig context, or
in-cluster config in a CronJob) or, with ``--kube-snapshot``, a ``kubectl get -o json`` dump,
which needs no ``--live``. ``test`` picks what to judge:

crashloop        no container waiting in CrashLoopBackOff
oomkilled        no container OOMKilled (current or last state) within ``window`` (24h)
restarts         no container restarted more than ``max_restarts`` (5) times with its last
                 restart within ``window`` (24h)
rollout          the app is there, and every workload has as many ready replicas as desired
resources-drift  the pod template's limits/requests equal the rendered values (as quantities)
image-drift      the pod template's image tag equals the values' ``image.tag``, when pinned

Time: a window ends at the evaluation time, which is the current time for a cluster and for
a snapshot alike (an OOM kill in a dump taken three days ago is three days old), unless
``--kube-snapshot-time`` says when a snapshot is to be judged. The evidence of every verdict
names the time used (``time``) and where it came from (``time_from``).

Restarts: ``restartCount`` counts every restart since the pod was created, and Kubernetes
keeps only the last termination, so the last restart bounds the window. A container whose
last restart (``lastState.terminated.finishedAt``, else ``state.running.startedAt``) is older
than the window passes however many restarts it has; one with more than ``max_restarts``
whose last restart is inside the window fails. Restarts without any recorded time count.

An app that is not there is one finding: when the selector matches no pod and no workload in
the namespace, the app's ``rollout`` check reports it with the namespace, the selector and the
labels the namespace's pods do carry, and the app's other kube checks skip with that reason.
Missing workloads alone are reported the same way by ``rollout`` (the drift checks skip);
missing pods alone make the pod checks skip (``rollout`` judges the replicas). When the run
holds no rollout item for the app (``-m drift``, ``-k``), the first of its selected kube checks
by id reports instead, so a missing app never passes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from ..catalog.schema import DURATION, field
from ..errors import ConfigError
from ..expr import duration_seconds
from ..units import QuantityError, k8s_quantity
from ..yamlio import line_of_path, load_yaml
from ._kube_text import Absent, absent_message, ago, context, iso, listing, missing, name_of, shown, where
from .base import Kind, Location, Target, Verdict
from .values import committed_values, render_command, trace_to_config

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..sources import LiveOptions, Sources

__all__ = ["KubeKind", "app_selector"]

TESTS = ("crashloop", "oomkilled", "restarts", "rollout", "resources-drift", "image-drift")
DRIFT_TESTS = ("resources-drift", "image-drift")
DEFAULT_WINDOW = "24h"
DEFAULT_MAX_RESTARTS = 5
# Kubelets' clocks may run a little ahead of ours: a termination up to this many seconds
# after the evaluation time is "just now"; later ones happened after it and are not counted.
CLOCK_SKEW = 300.0


def app_selector(target: Target) -> str:
    pattern = str(target.site.config.get("KUBE_APP_SELECTOR") or "app.kubernetes.io/name={app}")
    return pattern.replace("{app}", target.app or "")


def _source(target: Target) -> Any:
    return target.sources.kube(target.site)


def _state(target: Target) -> dict[str, Any]:
    source = _source(target)
    namespace, selector = target.sources.namespace(target.site), app_selector(target)

    def read() -> dict[str, Any]:
        # shared, not copied: evaluate() only reads, and the state is shared by the app's checks anyway
        pods = source.pods(namespace, selector, shared=True)
        workloads = source.workloads(namespace, selector, shared=True)
        return {
            "origin": source.origin,
            "namespace": namespace,
            "selector": selector,
            "now": source.now(),
            "now_from": _now_from(target.sources.options),
            "pods": pods,
            "workloads": workloads,
            # only when nothing matches: what the namespace does hold, to say what is wrong
            "namespace_pods": None if pods or workloads else source.pods(namespace, shared=True),
        }

    return target.sources.once(("kube-state", namespace, selector), read)


def _now_from(options: LiveOptions) -> str:
    """Where the evaluation time of kube windows comes from, as evidence and messages name it."""
    return "--kube-snapshot-time" if options.kube_snapshot is not None and options.kube_snapshot_time else "current time"


def _statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or [])


def _time(text: Any) -> _dt.datetime | None:
    if not text:
        return None
    try:
        parsed = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


def _restarts(count: int) -> str:
    return f"{count} restart" + ("" if count == 1 else "s")


def _within(now: _dt.datetime, at: _dt.datetime, window: float) -> bool:
    return -CLOCK_SKEW <= (now - at).total_seconds() <= window


def _window(check: Check) -> tuple[str, float]:
    text = str(check.spec.get("window", DEFAULT_WINDOW))
    try:
        return text, duration_seconds(text)
    except QuantityError as exc:
        raise ConfigError(f"{check.id}: window: {exc}", path=check.source, line=check.line) from None


def _values(target: Target) -> tuple[str, dict[str, Any], str]:
    """The committed values of the app (text, parsed, display path): the file the values
    kind reads, parsed once per run."""
    text, display = committed_values(target)

    def parse() -> dict[str, Any]:
        values = load_yaml(text, display)
        if values is None:
            return {}
        if not isinstance(values, dict):
            raise ConfigError(
                f"rendered values are a YAML {type(values).__name__}, not a mapping of Helm values",
                path=display, hint=f"render them again: {render_command(target)}",
            )
        return values

    return text, target.site.memo(("kube-values", target.app or ""), parse), display


class KubeKind(Kind):
    name = "kube"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = {
        "properties": {
            "test": field("a test of kind kube", list(TESTS), enum=list(TESTS)),
            "window": DURATION,  # how far back an OOM kill, or the last restart, counts
            "max_restarts": field("a number of restarts, 0 or more", [5], type="integer", minimum=0),
            "container": field("a container name", ["redis"], type="string", pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        },
        "required": ["test"],
        # a field no test reads is a mistake that would otherwise pass silently
        "dependentSchemas": {
            "window": {
                "description": "only test: oomkilled and test: restarts read it",
                "$comment": "remove window:, or set test: oomkilled or restarts",
                "properties": {"test": {"enum": ["oomkilled", "restarts"]}},
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

    def __init__(self) -> None:
        # (site, app) -> the app's kube checks selected in this run, by id
        self._selected: dict[tuple[str, str | None], list[Check]] = {}

    def needs_live(self, options: LiveOptions) -> bool:
        return options.kube_snapshot is None

    def prefetch(self, sources: Sources, pairs: Iterable[tuple[Check, Target]]) -> None:
        # Which of an app's kube checks run decides which one reports an app that is not there.
        selected: dict[tuple[str, str | None], list[Check]] = {}
        for check, target in pairs:
            selected.setdefault((target.site.name, target.app), []).append(check)
        self._selected = {key: sorted(checks, key=lambda c: c.id) for key, checks in selected.items()}

    def fetch(self, check: Check, target: Target) -> Any:
        self._preflight(check, target)
        return _state(target)

    @staticmethod
    def _preflight(check: Check, target: Target) -> None:
        """Mistakes in the repository are errors at setup, before any verdict: a bad window,
        a missing or broken values file."""
        test = check.spec.get("test")
        if test in ("oomkilled", "restarts"):
            _window(check)
        if test in DRIFT_TESTS:
            _values(target)

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        test = check.spec["test"]
        state: dict[str, Any] = data
        gone = missing(test, state)
        if gone is not None:
            return self._absent(check, target, state, gone)
        if test in DRIFT_TESTS:
            return self._drift(check, target, state, test)
        problems: list[str] = []
        evidence: list[dict[str, Any]] = []
        now: _dt.datetime = state["now"]
        if test == "crashloop":
            for pod in state["pods"]:
                for cs in _statuses(pod):
                    waiting = (cs.get("state") or {}).get("waiting") or {}
                    if waiting.get("reason") == "CrashLoopBackOff":
                        last = (cs.get("lastState") or {}).get("terminated") or {}
                        why = f", last terminated {last.get('reason')} (exit {last.get('exitCode')})" if last else ""
                        problems.append(f"{name_of(pod)}/{cs.get('name')}: CrashLoopBackOff, {_restarts(cs.get('restartCount') or 0)}{why}")
                        evidence.append({"pod": name_of(pod), "container": cs.get("name"), "restartCount": cs.get("restartCount"), "lastState": last})
        elif test == "oomkilled":
            _, window = _window(check)
            for pod in state["pods"]:
                for cs in _statuses(pod):
                    for which in ("state", "lastState"):
                        term = ((cs.get(which) or {}).get("terminated")) or {}
                        finished = _time(term.get("finishedAt"))
                        if term.get("reason") != "OOMKilled" or (finished and not _within(now, finished, window)):
                            continue
                        if finished is None:  # a kill whose time cannot be read is not waved through
                            problems.append(f"{name_of(pod)}/{cs.get('name')}: OOMKilled (exit {term.get('exitCode')}), no readable time recorded ({term.get('finishedAt')!r})")
                        else:
                            age = ago((now - finished).total_seconds())
                            problems.append(f"{name_of(pod)}/{cs.get('name')}: OOMKilled (exit {term.get('exitCode')}) {age}, at {term.get('finishedAt')}")
                        evidence.append({"pod": name_of(pod), "container": cs.get("name"), "finishedAt": term.get("finishedAt"), "exitCode": term.get("exitCode"), "restartCount": cs.get("restartCount")})
            # the latest kill first: it is what is happening now (unreadable times lead)
            order = sorted(range(len(problems)), key=lambda i: _time(evidence[i]["finishedAt"]) or now, reverse=True)
            problems, evidence = [problems[i] for i in order], [evidence[i] for i in order]
        elif test == "restarts":
            problems, evidence = self._restarted(check, state)
        else:  # rollout
            for wl in state["workloads"]:
                desired = int((wl.get("spec") or {}).get("replicas", 1))
                ready = int((wl.get("status") or {}).get("readyReplicas") or 0)
                evidence.append({"workload": f"{wl.get('kind')}/{name_of(wl)}", "desired": desired, "ready": ready})
                if ready != desired:
                    problems.append(f"{wl.get('kind')}/{name_of(wl)}: {ready} of {desired} replicas ready")
        detail = {**context(state), "items": evidence}
        if not problems:
            return Verdict(True, evidence=detail)
        location = target.env_location(*check.keys) if check.keys else None
        timed = test in ("oomkilled", "restarts")
        objects = [{k: str(e[k]) for k in ("workload", "pod", "container") if e.get(k)} for e in evidence]
        if test == "rollout":
            objects = [o for o, e in zip(objects, evidence, strict=True) if e["ready"] != e["desired"]]
        message = listing(problems, where(state, timed, snapshot=target.sources.options.kube_snapshot is not None))
        return Verdict(False, message, detail, location, objects=objects)

    @staticmethod
    def _restarted(check: Check, state: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
        limit = int(check.spec.get("max_restarts", DEFAULT_MAX_RESTARTS))
        window_text, window = _window(check)
        now: _dt.datetime = state["now"]
        problems: list[str] = []
        evidence: list[dict[str, Any]] = []
        for pod in state["pods"]:
            for cs in _statuses(pod):
                count = int(cs.get("restartCount") or 0)
                if count <= limit:
                    continue
                terminated = (cs.get("lastState") or {}).get("terminated") or {}
                running = (cs.get("state") or {}).get("running") or {}
                last = _time(terminated.get("finishedAt")) or _time(running.get("startedAt"))
                if last is not None and not _within(now, last, window):
                    continue  # the last restart, so all of them, fell outside the window
                when = f"the last {ago((now - last).total_seconds())}" if last else "no time recorded for the last"
                problems.append(f"{name_of(pod)}/{cs.get('name')}: {_restarts(count)}, {when} (limit {limit} while the last restart is within {window_text})")
                evidence.append({"pod": name_of(pod), "container": cs.get("name"), "restartCount": count, "lastRestart": iso(last) if last else None})
        return problems, evidence

    def _absent(self, check: Check, target: Target, state: dict[str, Any], gone: Absent) -> Verdict:
        message, facts = absent_message(gone, state, target.app or "", target.site.env_display)
        detail = {**context(state), **facts}
        reporter = self._reporter(check, target, gone)
        if gone == "pods" or reporter != check.id:
            by = f" (reported by {reporter})" if gone != "pods" else " (the rollout check judges the replicas)"
            return Verdict.skipped(message.splitlines()[0] + by)
        location = target.env_location("KUBE_APP_SELECTOR", "KUBE_NAMESPACE")
        return Verdict(False, message + f"\n  {state['origin']}", detail, location)

    def _reporter(self, check: Check, target: Target, gone: Absent) -> str:
        """The one check that reports an app (or its workloads) not being there."""
        checks = self._selected.get((target.site.name, target.app))
        if checks is None:  # evaluated without a run's prefetch: the shipped catalog's owner reports
            return check.id if check.spec.get("test") == "rollout" else "kube-rollout"
        tests = TESTS if gone == "app" else ("rollout", *DRIFT_TESTS)
        able = [c for c in checks if c.spec.get("test") in tests]
        rollout = [c for c in able if c.spec.get("test") == "rollout"]
        return (rollout or able or [check])[0].id

    def _drift(self, check: Check, target: Target, state: dict[str, Any], test: str) -> Verdict:
        text, values, display = _values(target)
        rows: list[dict[str, Any]] = []
        location: Location | None = None
        for wl in state["workloads"]:
            containers = (((wl.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
            wanted = check.spec.get("container")
            chosen = [c for c in containers if c.get("name") == wanted] if wanted else containers[:1]
            for container in chosen:
                for declared_path, live, declared in self._pairs(test, values, container):
                    same = _same(test, declared, live)
                    row = {"workload": f"{wl.get('kind')}/{name_of(wl)}", "container": container.get("name"), "field": ".".join(declared_path), "declared": declared, "live": live, "same": same}
                    if not same:
                        line = line_of_path(text, declared_path)
                        edit = trace_to_config(target, line) or Location(display, line)
                        row["edit"] = str(edit)
                        location = location or edit
                    rows.append(row)
        differ = [r for r in rows if not r["same"]]
        evidence = {**context(state), "values": display, "fields": rows}
        if not rows:
            # nothing declared is nothing proven: never a pass
            return Verdict.skipped(f"{display} pins nothing this check compares")
        if not differ:
            return Verdict(True, evidence=evidence, location=location)
        width = max(len(r["field"]) for r in differ)
        lines = [
            f"{r['workload']} {r['container']}: {r['field']:<{width}}  declared {r['declared']!s:<8} live {shown(r['live']):<8} (declared at {r['edit']})"
            for r in differ
        ]
        first = differ[0]
        more = f" (and {len(differ) - 1} more)" if len(differ) > 1 else ""
        head = f"{first['workload']} {first['container']}: {first['field']} is {shown(first['live'])} live, {first['declared']} declared{more}"
        message = f"{head}\n  {display} vs {state['origin']}"
        if len(lines) > 1:
            message += "".join(f"\n  {line}" for line in lines)
        objects = [{"workload": r["workload"], "container": str(r["container"]), "field": r["field"]} for r in differ]
        return Verdict(False, message, evidence, location, objects=objects)

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
                # registry:port/path/name:tag@sha256:digest -> tag (no tag means latest)
                name = str(container.get("image", "")).split("@", 1)[0].rsplit("/", 1)[-1]
                live_tag = name.rsplit(":", 1)[1] if ":" in name else "latest"
                pairs.append((("image", "tag"), live_tag, str(tag)))
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
