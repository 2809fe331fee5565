"""Render an app's Helm values from a site's config: the gate and the CLI share this code.

``releases/<release>/render_values.py`` is a thin wrapper over :func:`main`, so the bytes a
person commits and the bytes the gate expects come from one function.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2

from ..errors import RenderError
from ..expr import SloEnvironment

__all__ = ["TEMPLATE_NAME", "Template", "load_template", "render"]

TEMPLATE_NAME = "values.yaml.j2"


class Template:
    """A compiled values template plus what is needed to trace output lines to config keys."""

    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display
        try:
            self.source = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise RenderError("template not found", path=display) from exc
        env = _env(str(path.parent))
        try:
            self.template = env.from_string(self.source)
            self.template.filename = str(path)
            self._ast = env.parse(self.source)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                f"template syntax error: {exc.message}",
                path=display,
                line=exc.lineno,
                hint=_syntax_hint(self.source, exc.lineno),
            ) from exc

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            return self.template.render(context)
        except jinja2.UndefinedError as exc:
            raise RenderError(
                f"template uses an undefined variable: {exc.message}",
                path=self.display,
                line=_template_line(exc.__traceback__, self.template),
                hint="set the key in the site's config.env, or give it a default in the template",
            ) from None
        except jinja2.exceptions.SecurityError as exc:
            raise RenderError(f"template does something the sandbox forbids: {exc}", path=self.display) from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise RenderError(
                f"template failed: {type(exc).__name__}: {exc}",
                path=self.display,
                line=_template_line(exc.__traceback__, self.template),
            ) from None

    @functools.cached_property
    def names_by_line(self) -> dict[int, tuple[str, ...]]:
        """Template line -> config names read on it (for tracing a value back to config.env)."""
        found: dict[int, list[str]] = {}
        for node in self._ast.find_all(jinja2.nodes.Name):
            if node.ctx == "load":
                names = found.setdefault(node.lineno, [])
                if node.name not in names:
                    names.append(node.name)
        return {line: tuple(names) for line, names in found.items()}

    @functools.cached_property
    def line_preserving(self) -> bool:
        """True when output line N always comes from template line N (no multi-line blocks)."""
        return "{%" not in self.source and "{#" not in self.source


#: ``{{`` opening what reads as Helm's Go template language rather than jinja2.
_GO_TEMPLATE = re.compile(r"\{\{-?\s*(\.|\$|template\b|include\b|toYaml\b|tpl\b)")
_ESCAPE = "escape it as {{ '{{' }} or wrap the lines in {% raw %} ... {% endraw %}"


def _syntax_hint(source: str, lineno: int | None) -> str | None:
    """What to do about a syntax error on a line copied from a Helm chart's values.yaml.

    Helm charts document their values with examples in YAML comments, full of Go template
    expressions (``{{ template "x" . }}``, ``{{ .Values.y }}``); jinja2 reads a comment's
    ``{{`` like any other.
    """
    lines = source.splitlines()
    if not lineno or lineno > len(lines):
        return None
    line = lines[lineno - 1]
    opening = min((i for i in (line.find("{{"), line.find("{%")) if i >= 0), default=-1)
    if opening < 0:
        return None
    before = line[:opening]
    if before.lstrip().startswith("#") or " #" in before:
        return (
            f"line {lineno} is a YAML comment, but jinja2 reads {{{{ there too (copied from a Helm chart?): {_ESCAPE}"
        )
    if _GO_TEMPLATE.search(line):
        return f"this is Helm's Go template syntax, not jinja2: write a config.env key ({{{{ KEY }}}}), or {_ESCAPE}"
    return None


def _template_line(tb: TracebackType | None, template: jinja2.Template) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in (template.filename, "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@functools.lru_cache(maxsize=64)
def _env(search_path: str) -> SloEnvironment:
    return SloEnvironment(loader=jinja2.FileSystemLoader(search_path))


def load_template(path: Path, display: str) -> Template:
    return Template(path, display)


def render(template: Template, config: Mapping[str, Any], *, site: str, app: str) -> str:
    """The rendered values.yaml text for one app of one site."""
    context = dict(config)
    context.setdefault("site", site)
    context.setdefault("app", app)
    return template.render(context)
