"""What ``kind: kube`` verdicts say: what is wrong first, then where it looked and when.

When the app's objects are not there, a wrong selector or namespace is the usual cause, so
the message names what the namespace does hold: the values of the selector's own label keys
and of the common app labels, and which label carries the app's name when one does (that is
the selector that was meant).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Literal

from ..units import plural
from ._kube_state import name_of
from .live import iso

if TYPE_CHECKING:
    from ._kube_state import KubeState

__all__ = [
    "Absent", "absent_message", "ago", "context", "duration", "listing", "missing", "replicas", "shown", "where",
]

Absent = Literal["app", "workloads", "pods"]

# labels that name an app by convention, shown besides the selector's own keys
APP_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app", "k8s-app")
SHOWN_VALUES = 8


def missing(needs: Literal["pods", "workloads"], state: KubeState) -> Absent | None:
    """What a test needs (``pods`` or ``workloads``) and the selector did not find: the whole
    app, its workloads, its pods."""
    if not state.pods and not state.workloads:
        return "app"
    if not state.workloads and needs == "workloads":
        return "workloads"
    if not state.pods and needs == "pods":
        return "pods"
    return None


def absent_message(gone: Absent, state: KubeState, app: str, env_display: str) -> tuple[str, dict[str, Any]]:
    """The message (first line: what is wrong) and the evidence facts."""
    namespace, selector = state.namespace, state.selector
    if gone == "pods":
        wants = ", ".join(f"{w.get('kind')}/{name_of(w)} wants {replicas(w)}" for w in state.workloads)
        return f"no pod in namespace {namespace} matches {selector} ({wants})", {}
    if gone == "workloads":
        pods = state.pods
        owners = sorted(
            {
                f"{o.get('kind')}/{o.get('name')}"
                for p in pods
                for o in (p.get("metadata") or {}).get("ownerReferences") or []
            }
        )
        head = (
            f"no StatefulSet or Deployment in namespace {namespace} matches {selector}, though "
            f"{plural(len(pods), 'pod')} do"
        )
        owned = f"owned by {', '.join(owners)}" if owners else "owned by nothing"
        hint = f"  the pods are {owned}; label the StatefulSet or Deployment itself, not only its pod template"
        return f"{head}\n{hint}", {"pods": [name_of(p) for p in pods], "owners": owners}
    head = f"no pod or workload in namespace {namespace} matches {selector}"
    others = state.namespace_pods
    if others is None:
        return head, {}
    if not others:
        return (
            f"{head}\n  namespace {namespace} has no pods at all: is the app deployed to another namespace "
            "(KUBE_NAMESPACE)?",
            {"namespace_pods": 0},
        )
    keys = _selector_keys(selector)
    labels = [(p.get("metadata") or {}).get("labels") or {} for p in others]
    counts = {key: Counter(lab[key] for lab in labels if key in lab) for key in dict.fromkeys([*keys, *APP_LABELS])}
    shown = [f"{key}: {_values(c)}" for key, c in counts.items() if c]
    shown += [f"none has {key}" for key in keys if not counts[key]]
    lines = [head, f"  the namespace's {plural(len(others), 'pod')} carry " + "; ".join(shown)]
    named = [(key, c[app]) for key, c in counts.items() if c.get(app)]
    for key, n in named[:1]:  # the selector's own keys first, then the most common convention
        if key in keys:
            lines.append(f"  {plural(n, 'pod')} {_has(n)} {key}={app} but not the rest of the selector")
        else:
            lines.append(
                f"  {plural(n, 'pod')} {_has(n)} {key}={app}: set KUBE_APP_SELECTOR={key}={{app}} in {env_display}"
            )
    if not named:
        lines.append(
            f"  no pod there carries the app's name {app}: is it deployed, and to namespace {namespace} "
            "(KUBE_NAMESPACE)?"
        )
    facts = {"namespace_pods": len(others), "labels": {key: dict(sorted(c.items())) for key, c in counts.items() if c}}
    return "\n".join(lines), facts


def duration(seconds: float) -> str:
    """A length of time in a person's units: 40 s, 7 min, 16.3h, 3.0 days."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f} days"


def ago(seconds: float) -> str:
    """An age in a person's units: 40 s ago, 7 min ago, 16.3h ago, 3.0 days ago."""
    return f"{duration(seconds)} ago"


def context(state: KubeState) -> dict[str, Any]:
    """What every kube verdict's evidence starts with: where it looked, and at which time."""
    return {
        "namespace": state.namespace,
        "selector": state.selector,
        "source": state.origin,
        "time": iso(state.now),
        "time_from": state.now_from,
    }


def where(state: KubeState, timed: bool, *, snapshot: bool) -> str:
    """Where a verdict looked; for windowed tests also the time the window ends at."""
    text = f"in namespace {state.namespace}, selector {state.selector} ({state.origin})"
    if not timed:
        return text
    now_from = state.now_from
    text += f", judged at {iso(state.now)} ({now_from})"
    if now_from == "current time" and snapshot:
        text += "; --kube-snapshot-time judges a dump as of when it was taken"
    return text


def listing(problems: list[str], where: str) -> str:
    """What is wrong first (the first problem), then where, then every problem when several."""
    head = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    lines = [head, f"  {where}"]
    if len(problems) > 1:
        lines += [f"  {p}" for p in problems]
    return "\n".join(lines)


def shown(value: Any) -> str:
    return "(not set)" if value is None else str(value)


def replicas(workload: dict[str, Any]) -> int:
    """The replicas a workload wants: ``spec.replicas``, which Kubernetes defaults to 1."""
    return int((workload.get("spec") or {}).get("replicas", 1))


def _selector_keys(selector: str) -> list[str]:
    from ..sources.kube import parse_label_selector

    try:
        return list(dict.fromkeys(key for key, _, _ in parse_label_selector(selector)))
    except ValueError:
        return []


def _values(counter: Counter[str]) -> str:
    items = sorted(counter.items())
    text = ", ".join(f"{value} ({n})" for value, n in items[:SHOWN_VALUES])
    return text + (f", ... {len(items) - SHOWN_VALUES} more" if len(items) > SHOWN_VALUES else "")


def _has(n: int) -> str:
    return "has" if n == 1 else "have"

