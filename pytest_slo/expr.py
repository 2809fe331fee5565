"""The sandboxed jinja2 environment shared by templates, check expressions and messages.

Config values are always passed in as data; nothing a ``config.env`` holds is ever parsed
as a template, so ``{{ 7*7 }}`` in a value stays those eight characters.

Besides the unit filters, every template may call the PromQL helper ``counted(series,
window)`` (the counting rule of every shipped query and of the OpenSLO indicators) and word
a value with ``time_to_full(now, limit, per_second)`` and the filter ``human_duration``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import units

__all__ = [
    "SloEnvironment",
    "compile_expression",
    "compile_template",
    "counted",
    "environment",
    "expression_names",
    "human_duration",
    "is_selector",
    "render_string",
    "time_to_full",
]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: object) -> float:
    """A Prometheus duration (``5m``, ``1h30m``) in seconds."""
    s = str(text).strip()
    parts = _DURATION.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise units.QuantityError(f"{s!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return sum(float(n) * _DURATION_SECONDS[u] for n, u in parts)


_SELECTOR = re.compile(r"^\s*(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*)?(?:\{[^{}]*\})?\s*$")


def is_selector(query: str) -> bool:
    """True for a plain vector selector (``name{...}``), which a range ``q[w]`` takes as is."""
    return bool(query.strip()) and bool(_SELECTOR.match(query))


def counted(series: object, window: object, born_within: object = "1h") -> str:
    """PromQL: what each counter of ``series`` counted over ``window``, one sample per series.

    ``increase()`` counts from a series' first sample in the window, so a series *born* inside
    it (a new pod, a handler's first 5xx, redis_exporter's ``err="OOM"`` series at Redis' first
    refused write) would lose what that first sample already holds. The rule: a series without
    a sample in the ``born_within`` before the window was born in it and counts from 0, so its
    first value (``min_over_time``) is added; a series with one sample in the window counts
    ``0`` from ``increase()`` (``or 0 * last_over_time``) plus that value if it was born.
    Counter resets are ``increase()``'s. ``series`` is a selector, or any other expression
    (read through a 1m subquery); ``window`` a duration (``5m``) or seconds.

    In a query: ``sum({{ counted('http_requests_total{' ~ selector ~ '}', '5m') }})``.
    """
    s = str(series).strip()
    w = units.format_duration(window) if isinstance(window, (int, float)) else str(window).strip()

    def over(span: object) -> str:
        return f"{s}[{span}]" if is_selector(s) else f"({s})[{span}:1m]"

    present = f"0 * last_over_time({over(w)})"
    return (
        f"((increase({over(w)}) or {present})"
        f" + (min_over_time({over(w)}) unless last_over_time({over(born_within)} offset {w}) or {present}))"
    )


def time_to_full(now: float, limit: float, per_second: float) -> float:
    """Seconds until a quantity at ``now``, changing by ``per_second``, reaches ``limit``:
    0 when it is there already, ``inf`` when it never gets there."""
    if now >= limit:
        return 0.0
    if per_second <= 0:
        return math.inf
    return (limit - now) / per_second


def _plural(n: float, unit: str) -> str:
    text = f"{n:.1f}" if n < 10 and unit == "day" else f"{n:.0f}"
    return f"{text} {unit}{'' if text == '1' else 's'}"


def human_duration(seconds: object) -> str:
    """A span of time as a person says it: ``40 minutes``, ``14 hours`` (under two days),
    ``4.6 days`` (under ten), ``26 days``; ``never`` for an infinite one."""
    s = float(seconds)  # type: ignore[arg-type]
    if math.isinf(s) and s > 0:
        return "never"
    if s < 2 * 3600:
        return _plural(s / 60, "minute")
    if s < 2 * 86400:
        return _plural(s / 3600, "hour")
    return _plural(s / 86400, "day")


def _yaml_scalar(value: Any) -> str:
    # JSON is a subset of YAML: quoting through it keeps any value one safe scalar.
    return json.dumps(value)


_FILTERS: dict[str, Callable[..., Any]] = {
    "bytes": units.k8s_bytes,
    "redis_bytes": units.redis_bytes,
    "cpu": lambda v: float(units.k8s_cpu(v)),
    "quantity": lambda v: float(units.k8s_quantity(v)),
    "human_bytes": units.format_bytes,
    "human_duration": human_duration,
    "seconds": duration_seconds,
    "yaml": _yaml_scalar,
}


class SloEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed, strict (an undefined name is an error) and with the unit filters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("undefined", jinja2.StrictUndefined)
        kwargs.setdefault("keep_trailing_newline", True)
        kwargs.setdefault("autoescape", False)
        super().__init__(**kwargs)
        self.filters.update(_FILTERS)
        self.globals.update(counted=counted, time_to_full=time_to_full)


@functools.lru_cache(maxsize=1)
def environment() -> SloEnvironment:
    return SloEnvironment()


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Callable[..., Any]:
    """Compile a check expression once per process; raises ``jinja2.TemplateSyntaxError``."""
    return environment().compile_expression(source, undefined_to_none=False)


#: Nodes that declare names. A template without any reads only free names, which a walk of its
#: tree finds; jinja's own :func:`~jinja2.meta.find_undeclared_variables` generates the code of
#: the whole template to tell them apart, as costly as compiling it.
_BINDS = (
    nodes.Assign,
    nodes.AssignBlock,
    nodes.For,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.With,
    nodes.Import,
    nodes.FromImport,
    nodes.Scope,
    nodes.OverlayScope,
)


class _Parsed:
    """One template text read once: its syntax tree, the free names it reads and the first
    filter or test no environment has. Both are taken before the tree is compiled: jinja's
    optimizer folds constants in the tree in place, so ``false and X`` would lose ``X``."""

    def __init__(self, text: str) -> None:
        env = environment()
        self.tree = env.parse(text)
        if any(True for _ in self.tree.find_all(_BINDS)):
            found = meta.find_undeclared_variables(self.tree)
        else:  # nothing declares a name: every name read but a global is free (as jinja's walk finds)
            found = {n.name for n in self.tree.find_all(nodes.Name) if n.ctx == "load" and n.name not in env.globals}
        # find_undeclared_variables is a set; keep the order they appear in the text
        self.names = tuple(sorted(found, key=lambda n: (text.find(n) if n in text else len(text), n)))
        self.unknown: jinja2.TemplateAssertionError | None = None
        for node in self.tree.find_all((nodes.Filter, nodes.Test)):
            is_filter = isinstance(node, nodes.Filter)
            if node.name not in (env.filters if is_filter else env.tests):
                # jinja's own words, which it says only when compiling, and not at all inside an
                # ``if`` (there the name fails when rendered): here anywhere, before any render
                what = "filter" if is_filter else "test"
                self.unknown = jinja2.TemplateAssertionError(f"No {what} named {node.name!r}.", node.lineno)
                break


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> _Parsed:
    return _Parsed(text)


def check_template(source: str) -> None:
    """Raise what compiling ``source`` would (``jinja2.TemplateSyntaxError``, an unknown
    filter's ``TemplateAssertionError``) from one parse; the compile itself waits for the first
    render (:func:`compile_template`), which a message template of a passing check never has."""
    unknown = _parsed(source).unknown
    if unknown is not None:
        raise unknown


@functools.lru_cache(maxsize=4096)
def compile_template(source: str) -> jinja2.Template:
    """Compile a template once per process (the catalog's check of it and every site's render
    share its parse); raises ``jinja2.TemplateSyntaxError``, or an unknown filter's error."""
    check_template(source)
    return environment().from_string(_parsed(source).tree)


def render_string(source: str, context: Mapping[str, Any]) -> str:
    """Render a short message template (a check's ``found``/``expect``)."""
    return compile_template(source).render(context)


def expression_names(source: str, *, template: bool = False) -> tuple[str, ...]:
    """The free names an expression reads, in order of first use: the config keys it depends on."""
    return _parsed(source if template else "{{ " + source + " }}").names
