"""``kind: kube``: pod health and declared-vs-deployed drift, read-only (get/list only).

Pods and workloads (StatefulSets, Deployments) are found by the app's label selector,
``app.kubernetes.io/name=<app>`` unless the site sets ``KUBE_APP_SELECTOR`` (``{app}`` is
substituted), in ``KUBE_NAMESPACE``. The source is the cluster (kubeconfig context, or
in-cluster config in a CronJob) or, with ``--kube-snapshot``, a ``kubectl get -o json`` dump,
which needs no ``--live``. ``test`` picks what to judge:

crashloop        no container (or init container) waiting in CrashLoopBackOff
oomkilled        no container OOMKilled (current or last state) within ``window`` (24h)
restarts         no container restarted more than ``max_restarts`` (5) times with its last
                 restart within ``window`` (24h)
pods             no pod stuck: an image, config or start error, a failed init container,
                 evicted or failed, or pending, not Ready or deleted-but-there for longer
                 than ``window`` (10m); see :mod:`._kube_pods`
rollout          the app is there, and every workload has as many ready replicas as desired
resources-drift  the pod template's limits/requests equal the rendered values (as quantities)
image-drift      the pod template's image tag equals the values' ``image.tag``, when pinned

Every failing verdict carries the recent Warning events of the objects it names (the pods,
the workloads), read from one LIST of the namespace's events per run: in its evidence
(``events``) and as the message's last lines. Events that cannot be read (a Role without
``list events``) are a warning of the run, never an error of a check.

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

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ..catalog.schema import DURATION, field
from ..errors import ConfigError, SloError, SloWarning
from ..expr import duration_seconds
from ..units import QuantityError
from . import _kube_checks as judges
from ._kube_drift import committed, drift_verdict, rows
from ._kube_events import event_lines, recent_warnings
from ._kube_state import KubeState, Problem
from ._kube_text import Absent, absent_message, context, listing, missing, where
from .base import Kind, Target, Verdict

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ..sources import LiveOptions, Sources

__all__ = ["TESTS", "KubeKind", "KubeTest", "app_selector"]


@dataclass(frozen=True)
class KubeTest:
    """What one ``test:`` reads and how it judges."""

    judge: Callable[[Check, Target, KubeState, tuple[str, float] | None], list[Problem]]
    needs: Literal["pods", "workloads"]
    #: The default ``window`` of a test that reads one (how far back, or how long), else None.
    window: str | None = None
    #: Drift: judged against the committed values; said by :func:`._kube_drift.drift_verdict`.
    drift: bool = False


TESTS: dict[str, KubeTest] = {
    "crashloop": KubeTest(judges.crashloop, "pods"),
    "oomkilled": KubeTest(judges.oomkilled, "pods", window="24h"),
    "restarts": KubeTest(judges.restarts, "pods", window="24h"),
    "pods": KubeTest(judges.pods, "pods", window="10m"),
    "rollout": KubeTest(judges.rollout, "workloads"),
    "resources-drift": KubeTest(rows, "workloads", drift=True),
    "image-drift": KubeTest(rows, "workloads", drift=True),
}
WINDOWED = [name for name, test in TESTS.items() if test.window]


def app_selector(target: Target) -> str:
    pattern = str(target.site.config.get("KUBE_APP_SELECTOR") or "app.kubernetes.io/name={app}")
    return pattern.replace("{app}", target.app or "")


def _state(target: Target) -> KubeState:
    source = target.sources.kube(target.site)
    namespace, selector = target.sources.namespace(target.site), app_selector(target)

    def read() -> KubeState:
        # shared, not copied: evaluate() only reads, and the state is shared by the app's checks anyway
        pods = source.pods(namespace, selector, shared=True)
        workloads = source.workloads(namespace, selector, shared=True)
        events: list[dict[str, Any]] = []
        error = None
        if pods or workloads:
            try:  # what the cluster says of them; without it the verdicts stand
                events = source.events(namespace, shared=True)
            except SloError as exc:
                error = str(exc)
        return KubeState(
            origin=source.origin,
            namespace=namespace,
            selector=selector,
            now=source.now(),
            now_from=_now_from(target.sources.options),
            pods=pods,
            workloads=workloads,
            # only when nothing matches: what the namespace does hold, to say what is wrong
            namespace_pods=None if pods or workloads else source.pods(namespace, shared=True),
            events=events,
            events_error=error,
        )

    return target.sources.once(("kube-state", namespace, selector), read)


def _now_from(options: LiveOptions) -> str:
    """Where the evaluation time of kube windows comes from, as evidence and messages name it."""
    return (
        "--kube-snapshot-time" if options.kube_snapshot is not None and options.kube_snapshot_time else "current time"
    )


def _window(check: Check) -> tuple[str, float] | None:
    default = TESTS[check.spec["test"]].window
    if default is None:
        return None
    text = str(check.spec.get("window", default))
    try:
        return text, duration_seconds(text)
    except QuantityError as exc:
        raise ConfigError(f"{check.id}: window: {exc}", path=check.source, line=check.line) from None


def _warn_events(target: Target, state: KubeState) -> None:
    """Events that could not be read are said once per namespace and run, as a warning."""
    if state.events_error is None:
        return

    def warn() -> bool:
        warnings.warn_explicit(
            SloWarning(f"kube findings carry no events of namespace {state.namespace}: {state.events_error}"),
            SloWarning, filename=state.origin, lineno=0,
        )
        return True

    target.sources.once(("kube-events-warning", state.namespace), warn)


def _with_events(state: KubeState, verdict: Verdict, involves: Iterable[str]) -> Verdict:
    """A failing verdict with the recent Warning events of the objects it names."""
    if verdict.ok:
        return verdict
    events = recent_warnings(state, involves)
    verdict.evidence["events"] = events
    verdict.message += "".join(f"\n  {line}" for line in event_lines(events, state.now))
    return verdict


class KubeKind(Kind):
    name = "kube"
    live = True
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = {
        "properties": {
            "test": field("a test of kind kube", list(TESTS), enum=list(TESTS)),
            "window": DURATION,  # how far back an OOM kill or the last restart counts; how long a pod may be on its way
            "max_restarts": field("a number of restarts, 0 or more", [5], type="integer", minimum=0),
            "container": field("a container name", ["redis"], type="string", pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        },
        "required": ["test"],
        # a field no test reads is a mistake that would otherwise pass silently
        "dependentSchemas": {
            "window": {
                "description": "only " + " and ".join(f"test: {t}" for t in WINDOWED) + " read it",
                "$comment": f"remove window:, or set test: {', '.join(WINDOWED[:-1])} or {WINDOWED[-1]}",
                "properties": {"test": {"enum": WINDOWED}},
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
        _window(check)
        if TESTS[check.spec["test"]].drift:
            committed(target)

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        state: KubeState = data
        test = TESTS[check.spec["test"]]
        gone = missing(test.needs, state)
        if gone is not None:
            return self._absent(check, target, state, gone)
        _warn_events(target, state)
        records = test.judge(check, target, state, _window(check))
        if test.drift:
            verdict = drift_verdict(target, state, records, context(state))
        else:
            verdict = self._verdict(check, target, state, records, timed=test.window is not None)
        return _with_events(state, verdict, (name for r in records if not r.ok for name in r.involves))

    @staticmethod
    def _verdict(check: Check, target: Target, state: KubeState, records: list[Problem], *, timed: bool) -> Verdict:
        detail = {**context(state), "items": [r.evidence for r in records]}
        failing = [r for r in records if not r.ok]
        if not failing:
            return Verdict.passed(**detail)
        location = target.env_location(*check.keys) if check.keys else None
        message = listing(
            [r.text for r in failing], where(state, timed, snapshot=target.sources.options.kube_snapshot is not None)
        )
        return Verdict.failed(message, detail, location, objects=[r.identity for r in failing])

    def _absent(self, check: Check, target: Target, state: KubeState, gone: Absent) -> Verdict:
        message, facts = absent_message(gone, state, target.app or "", target.site.env_display)
        detail = {**context(state), **facts}
        reporter = self._reporter(check, target, gone)
        if gone == "pods" or reporter != check.id:
            by = f" (reported by {reporter})" if gone != "pods" else " (the rollout check judges the replicas)"
            return Verdict.skipped(message.splitlines()[0] + by)
        location = target.env_location("KUBE_APP_SELECTOR", "KUBE_NAMESPACE")
        return Verdict.failed(message + f"\n  {state.origin}", detail, location)

    def _reporter(self, check: Check, target: Target, gone: Absent) -> str:
        """The one check that reports an app (or its workloads) not being there."""
        checks = self._selected.get((target.site.name, target.app))
        if checks is None:  # evaluated without a run's prefetch: the shipped catalog's owner reports
            return check.id if check.spec.get("test") == "rollout" else "kube-rollout"
        able = [c for c in checks if gone == "app" or TESTS[c.spec["test"]].needs == "workloads"]
        rollout = [c for c in able if c.spec.get("test") == "rollout"]
        return (rollout or able or [check])[0].id
