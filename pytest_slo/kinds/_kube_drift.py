"""``test: resources-drift`` and ``test: image-drift``: what runs against what the values declare.

Each compared field is a row: the workload, the container (``container:``, else the pod
template's first), the values path, the declared and the live value. Quantities compare as
quantities (``2Gi`` equals ``2048Mi``); a field the values pin that the container does not set
differs. A differing row points at the line that declares it: the config.env line of the key
that fed it, else the values line.

What to do depends on whether that line is right. When the committed values are what
config.env renders, the repository already declares the right value and the cluster runs
another: the finding's action is to roll the app out (sync it), and the declared line is only
where it is declared. When they are not (a stale render, a hand edit), editing is the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..units import QuantityError, k8s_quantity
from ..yamlio import line_of_path, load_yaml
from ._kube_state import Problem, name_of
from ._kube_text import shown
from .base import Location, Target, Verdict
from .values import _fresh, _line, committed_values, render_command, trace_to_config

if TYPE_CHECKING:
    from ..catalog.model import Check
    from ._kube_state import KubeState

__all__ = ["committed", "drift_verdict", "image_pairs", "resource_pairs", "rows", "same"]

Pair = tuple[tuple[str, ...], Any, Any]  # (values path, live, declared)

#: How a person says each field.
WORDS = {
    "resources.limits.memory": "memory limit",
    "resources.requests.memory": "memory request",
    "resources.limits.cpu": "CPU limit",
    "resources.requests.cpu": "CPU request",
    "image.tag": "image tag",
}


def resource_pairs(values: dict[str, Any], container: dict[str, Any]) -> list[Pair]:
    declared = values.get("resources") or {}
    live = container.get("resources") or {}
    pairs: list[Pair] = []
    for group in ("limits", "requests"):
        for resource in ("memory", "cpu"):
            want = (declared.get(group) or {}).get(resource)
            if want is not None:
                pairs.append((("resources", group, resource), (live.get(group) or {}).get(resource), want))
    return pairs


def image_pairs(values: dict[str, Any], container: dict[str, Any]) -> list[Pair]:
    tag = (values.get("image") or {}).get("tag")
    if not tag:
        return []
    # registry:port/path/name:tag@sha256:digest -> tag (no tag means latest)
    name = str(container.get("image", "")).split("@", 1)[0].rsplit("/", 1)[-1]
    live_tag = name.rsplit(":", 1)[1] if ":" in name else "latest"
    return [(("image", "tag"), live_tag, str(tag))]


def same(declared: Any, live: Any, *, quantity: bool) -> bool:
    if live is None:
        return False  # pinned in the values, not set on the container: drift
    if quantity:
        try:
            return k8s_quantity(declared) == k8s_quantity(live)
        except QuantityError:
            pass
    return str(declared) == str(live)


def committed(target: Target) -> tuple[str, dict[str, Any], str]:
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


def rows(check: Check, target: Target, state: KubeState, window: object = None) -> list[Problem]:
    """One record per compared field of every workload (``ok`` when it agrees)."""
    text, values, display = committed(target)
    quantity = check.spec["test"] == "resources-drift"
    pairs = resource_pairs if quantity else image_pairs
    wanted = check.spec.get("container")
    fresh = _fresh(target)
    records: list[Problem] = []
    for wl in state.workloads:
        containers = _containers(wl)
        chosen = [c for c in containers if c.get("name") == wanted] if wanted else containers[:1]
        workload = f"{wl.get('kind')}/{name_of(wl)}"
        for container in chosen:
            for path, live, declared in pairs(values, container):
                row: dict[str, Any] = {
                    "workload": workload,
                    "container": container.get("name"),
                    "field": ".".join(path),
                    "declared": declared,
                    "live": live,
                    "same": same(declared, live, quantity=quantity),
                }
                edit = None
                if not row["same"]:
                    line = line_of_path(text, path)
                    edit = trace_to_config(target, line) or Location(display, line)
                    row["edit"] = str(edit)
                    # the committed line is what config.env renders: the declaration is right
                    row["declared_right"] = (
                        fresh is not None and line is not None and _line(fresh, line) == _line(text, line)
                    )
                identity = {"workload": workload, "container": str(container.get("name")), "field": row["field"]}
                records.append(Problem(row["field"], row, identity, (workload,), ok=row["same"], location=edit))
    names = sorted({str(c.get("name")) for wl in state.workloads for c in _containers(wl)})
    if wanted and wanted not in names:
        raise ConfigError(
            f"{check.id}: container: no workload of the app has a container {wanted!r} (they have: {', '.join(names)})",
            path=check.source,
            line=check.line,
        )
    return records


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list((((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])


def drift_verdict(target: Target, state: KubeState, records: list[Problem], evidence: dict[str, Any]) -> Verdict:
    display = target.site.values_display(target.app or "")
    fields = [r.evidence for r in records]
    evidence = {**evidence, "values": display, "fields": fields}
    differ = [r for r in records if not r.ok]
    if not records:
        return Verdict.skipped(f"{display} pins nothing this check compares")  # nothing declared proves nothing
    if not differ:
        return Verdict.passed(**evidence)
    rows_ = [r.evidence for r in differ]
    width = max(len(r["field"]) for r in rows_)
    first = rows_[0]
    more = f" (and {len(rows_) - 1} more)" if len(rows_) > 1 else ""
    lines = [
        f"{first['workload']} {first['container']}: {first['field']} is {shown(first['live'])} live, "
        f"{first['declared']} declared{more}",
        f"  {display} vs {state.origin}",
    ]
    if len(rows_) > 1:
        lines += [
            f"  {r['workload']} {r['container']}: {r['field']:<{width}}  declared {r['declared']!s:<8} live "
            f"{shown(r['live']):<8} "
            f"(declared at {r['edit']})"
            for r in rows_
        ]
    stale = next((r for r in differ if not r.evidence["declared_right"]), None)
    action = None
    if stale is None:
        action = _roll_out(target, first, len(rows_), display)
        location = differ[0].location
    else:
        lines.append(f"  {display} is not what {target.site.env_display} renders at {stale.evidence['field']}: "
                     f"edit {stale.evidence['edit']}, or re-render with {render_command(target)}")
        location = stale.location
    objects = [r.identity for r in differ]
    return Verdict.failed("\n".join(lines), evidence, location, objects=objects, action=action)


def _roll_out(target: Target, row: dict[str, Any], count: int, display: str) -> str:
    app = target.app or ""
    words = WORDS.get(row["field"], row["field"])
    runs = f"runs {words} {row['live']}" if row["live"] is not None else f"runs without a {words}"
    more = f" (and {count - 1} more field{'s' if count > 2 else ''})" if count > 1 else ""
    return (f"roll out {app} (argocd app sync {app}, or helm upgrade {app} with {display}): "
            f"{row['workload']} {runs}, the committed values say {row['declared']}{more}")


