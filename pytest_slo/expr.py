"""The sandboxed jinja2 environment shared by templates, check expressions and messages.

Config values are always passed in as data; nothing a ``config.env`` holds is ever parsed
as a template, so ``{{ 7*7 }}`` in a value stays those eight characters.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import units

__all__ = ["SloEnvironment", "compile_expression", "environment", "expression_names", "render_string"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: object) -> float:
    """A Prometheus duration (``5m``, ``1h30m``) in seconds."""
    s = str(text).strip()
    parts = _DURATION.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise units.QuantityError(f"{s!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return sum(float(n) * _DURATION_SECONDS[u] for n, u in parts)


def _yaml_scalar(value: Any) -> str:
    # JSON is a subset of YAML: quoting through it keeps any value one safe scalar.
    return json.dumps(value)


_FILTERS: dict[str, Callable[..., Any]] = {
    "bytes": units.k8s_bytes,
    "redis_bytes": units.redis_bytes,
    "cpu": lambda v: float(units.k8s_cpu(v)),
    "quantity": lambda v: float(units.k8s_quantity(v)),
    "human_bytes": units.format_bytes,
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


@functools.lru_cache(maxsize=1)
def environment() -> SloEnvironment:
    return SloEnvironment()


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Callable[..., Any]:
    """Compile a check expression once per process; raises ``jinja2.TemplateSyntaxError``."""
    return environment().compile_expression(source, undefined_to_none=False)


@functools.lru_cache(maxsize=4096)
def _compiled_template(source: str) -> jinja2.Template:
    return environment().from_string(source)


def render_string(source: str, context: Mapping[str, Any]) -> str:
    """Render a short message template (a check's ``found``/``expect``)."""
    return _compiled_template(source).render(context)


@functools.lru_cache(maxsize=4096)
def expression_names(source: str, *, template: bool = False) -> tuple[str, ...]:
    """The free names an expression reads, in order of first use: the config keys it depends on."""
    text = source if template else "{{ " + source + " }}"
    ast = environment().parse(text)
    found = meta.find_undeclared_variables(ast)
    # find_undeclared_variables is a set; keep the order they appear in the text
    return tuple(sorted(found, key=lambda n: (text.find(n) if n in text else len(text), n)))
