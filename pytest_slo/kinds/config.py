"""``kind: config``: judge a site's parsed config.env (offline).

``test: parse`` reports lines that are not ``KEY=VALUE``; ``test: schema`` validates against
the release's ``config.schema.json``; otherwise ``assert`` is an expression over the typed
config (``REDIS_EVICTION_POLICY != 'noeviction'``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..catalog.model import Check
from ..catalog.schema import test_or_assert
from ..repo.schema import config_problems
from ._expr import EXPRESSION_SCHEMA, config_context, judge, location_keys
from .base import Kind, Location, Target, Verdict

__all__ = ["ConfigKind"]


class ConfigKind(Kind):
    name = "config"
    scope = "site"
    spec_schema: ClassVar[dict[str, Any]] = test_or_assert("config", ["parse", "schema"], EXPRESSION_SCHEMA)

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        test = check.spec.get("test")
        if test == "parse":
            return self._parse(target)
        if test == "schema":
            return self._schema(check, target)
        context = config_context(target)
        ok, message, evidence = judge(check, target, context)
        location = target.env_location(*location_keys(check, context))
        return Verdict(ok, message, evidence, location)

    def _parse(self, target: Target) -> Verdict:
        problems = target.site.env.problems
        if not problems:
            return Verdict.passed(keys=len(target.site.env.entries))
        lines = [str(p) for p in problems]
        return Verdict(
            False,
            f"{target.site.env_display} has {len(problems)} line(s) that are not KEY=VALUE:\n  " + "\n  ".join(lines),
            {"problems": lines},
            Location(target.site.env_display, problems[0].line),
        )

    def _schema(self, check: Check, target: Target) -> Verdict:
        site = target.site
        release = site.release
        validator = release.config_validator
        problems = list(config_problems(site.config, validator))
        if not problems:
            return Verdict.passed(schema=f"{release.display}/config.schema.json", keys=len(site.config))
        env = site.env
        lines = []
        first: Location | None = None
        located = [(env.line_of(p.key) if p.key else None, p) for p in problems]
        located.sort(key=lambda lp: (lp[0] is None, lp[0] or 0))
        for line, problem in located:
            where = f"{site.env_display}:{line}" if line else site.env_display
            lines.append(f"{where}: {problem.message}")
            if first is None or (first.line is None and line):
                first = Location(site.env_display, line or None)
        return Verdict(
            False,
            f"{site.env_display} does not match {release.display}/config.schema.json ({len(problems)} problem(s)):\n  "
            + "\n  ".join(lines),
            {"problems": lines, "schema": f"{release.display}/config.schema.json"},
            first,
        )
