"""``kind: values``: judge an app's rendered Helm values (offline).

``test: in-sync`` re-renders in memory and compares with the committed file byte for byte;
``test: schema`` validates the committed file against the app's ``values.schema.json``;
otherwise ``assert`` is an expression over ``values`` (the committed document) and the config.
A failure is traced back to the config.env line that fed the value when the template
makes that knowable (output line N comes from template line N).
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from ..catalog.model import Check
from ..catalog.schema import test_or_assert
from ..errors import ConfigError
from ..repo.schema import values_problems
from ..yamlio import line_of_path, load_yaml
from ._expr import EXPRESSION_SCHEMA, config_context, judge, location_keys
from .base import Kind, Location, Target, Verdict

__all__ = ["ValuesKind", "render_command"]


def render_command(target: Target) -> str:
    site, app = target.site, target.app or ""
    release = site.release.display
    out = site.values_display(app)
    return f"python3 {release}/render_values.py --env-file {site.env_display} --output {out}"


def _committed(target: Target) -> tuple[str, str]:
    """The committed values text and its display path, read once per run (in-sync and
    schema items of one (site, app) share it); a missing file fails each of them."""
    site, app = target.site, target.app or ""
    display = site.values_display(app)

    def read() -> str:
        try:
            return site.values_file(app).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                "rendered values are missing",
                path=display,
                hint=f"render them: {render_command(target)}",
            ) from None

    return site.memo(("committed", app), read), display


def trace_to_config(target: Target, rendered_line: int | None) -> Location | None:
    """The config.env line that fed a rendered line, when the template makes it knowable."""
    if rendered_line is None or target.app is None:
        return None
    template = target.site.release.template(target.app)
    if not template.line_preserving:
        return None
    for name in template.names_by_line.get(rendered_line, ()):
        line = target.site.env.line_of(name)
        if line:
            return Location(target.site.env_display, line)
    return None


class ValuesKind(Kind):
    name = "values"
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = test_or_assert("values", ["in-sync", "schema"], EXPRESSION_SCHEMA)

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        test = check.spec.get("test")
        if test == "in-sync":
            return self._in_sync(target)
        if test == "schema":
            return self._schema(target)
        text, display = _committed(target)
        context = config_context(target)
        context["values"] = load_yaml(text, display) or {}
        ok, message, evidence = judge(check, target, context)
        keys = location_keys(check, context)
        location = target.env_location(*keys) if keys else Location(display, None)
        return Verdict(ok, message, evidence, location)

    def _in_sync(self, target: Target) -> Verdict:
        fresh = target.site.rendered(target.app or "")
        committed, display = _committed(target)
        if committed == fresh:
            return Verdict.passed(file=display, bytes=len(fresh))
        old, new = committed.splitlines(), fresh.splitlines()
        first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
        diff = list(difflib.unified_diff(old, new, f"{display} (committed)", f"{display} (fresh render)", lineterm="", n=1))
        shown = diff[:40] + ([f"... {len(diff) - 40} more diff lines"] if len(diff) > 40 else [])
        was = old[first].strip() if first < len(old) else "<end of file>"
        now = new[first].strip() if first < len(new) else "<end of file>"
        return Verdict(
            False,
            f"{display} is out of date with {target.site.env_display}: line {first + 1} is {was!r}, "
            f"a fresh render gives {now!r}. Re-render and commit: {render_command(target)}",
            {"diff": "\n".join(shown), "command": render_command(target)},
            Location(display, first + 1),
        )

    def _schema(self, target: Target) -> Verdict:
        app = target.app or ""
        validator = target.site.release.values_validator(app)
        text, display = _committed(target)
        values = load_yaml(text, display)
        problems = values_problems(values, validator)
        schema = f"{target.site.release.display}/apps/{app}/values.schema.json"
        if not problems:
            return Verdict.passed(file=display, schema=schema)
        lines = []
        location: Location | None = None
        for problem in problems:
            path = ".".join(map(str, problem.path)) or "<document>"
            line = line_of_path(text, problem.path)
            traced = trace_to_config(target, line)
            fed_by = f" (set by {traced})" if traced else ""
            lines.append(f"{display}:{line or '?'}: {path}: {problem.message}{fed_by}")
            location = location or traced or Location(display, line)
        return Verdict(
            False,
            f"{display} does not match {schema} ({len(problems)} problem(s)):\n  " + "\n  ".join(lines),
            {"problems": lines, "schema": schema},
            location,
        )
