"""``pytest-slo explain CHECK --site SITE [--app APP] [--live]``: a check as it reads at a site.

For each app the check applies to at the site: every expression and query as rendered there
(``assert``, ``when``, ``threshold``, ``query``, ``details``; an SLO's indicator queries), every
config key they read with its ``file:line`` and value (secrets masked), the threshold and its
unit, and the verdict: offline checks are judged, live ones with ``--live`` (read-only, within
``--live-timeout``), which also gives the value now. Then the check's runbook.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import Any

from ..catalog.known import KEY, template_fields
from ..catalog.model import Check
from ..catalog.runbooks import runbook_text
from ..catalog.schema import kind_schema
from ..errors import SloError
from ..expr import expression_names
from ..kinds.base import Target, Verdict
from ..run.context import RunContext
from ..run.queries import rendered_queries
from ._repo import CommandError, add_root, pick, repository_run

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-slo explain", description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument(
        "check", metavar="CHECK", help="a check id (redis-eviction-policy) or an SLO item (api-availability::burn-rate)"
    )
    parser.add_argument("--site", required=True, help="the site to read the check at")
    parser.add_argument("--app", help="one app (default: every app of the site the check applies to)")
    parser.add_argument(
        "--live",
        action="store_true",
        help="judge live checks too: read Prometheus, Redis or Kubernetes now (read-only)",
    )
    parser.add_argument("--prometheus-url", metavar="URL", help="as pytest's --prometheus-url")
    parser.add_argument("--redis-url", metavar="URL", help="as pytest's --redis-url")
    parser.add_argument("--kube-snapshot", metavar="FILE", help="as pytest's --kube-snapshot")
    parser.add_argument("--live-timeout", metavar="SECONDS", help="as pytest's --live-timeout")
    add_root(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    given = {"live": args.live, "prometheus_url": args.prometheus_url, "redis_url": args.redis_url,
             "kube_snapshot": args.kube_snapshot, "live_timeout": args.live_timeout}
    try:
        with repository_run(args, given) as run:
            lines, failed = _explain(run, args)
    except CommandError as exc:
        print(f"pytest-slo explain: {exc}")
        return 2
    print("\n".join(lines))
    return failed


def _explain(run: RunContext, args: argparse.Namespace) -> tuple[list[str], int]:
    """What explain prints, and its exit code: 0 passes (or not judged here), 1 fails, 2 cannot be judged."""
    catalog = run.catalog
    checks = {c.id: c for c in catalog.declared}
    check = checks[pick("check", args.check, sorted(checks))]
    site = run.repo.site(pick("site", args.site, run.repo.site_names))
    kind = run.registry[check.kind] if check.kind in run.registry else None
    lines = [f"{check.id} [{check.severity}, {check.kind}] {check.title}", f"  declared at {_declared(check)}"]
    if check.problem is not None:
        lines.append(f"  cannot run: {check.problem}")
        return lines, 2
    assert kind is not None
    scope = kind.scope_of(check)
    if scope == "site":
        apps: list[str | None] = [None]
    else:
        applies = [a for a in site.apps if check.applies_to(a)]
        if args.app:
            apps = [pick(f"app of {site.name} that {check.id} applies to", args.app, applies)]
        elif not applies:
            raise CommandError(
                f"{check.id} applies to no app of {site.name} (apps: {', '.join(check.apps or ())}; {site.name} "
                f"runs {', '.join(site.apps)})"
            )
        else:
            apps = list(applies)
    failed = 0
    for app in apps:
        target = Target(site, app, run.sources, None)
        lines.append(f"\nat {site.name}" + (f" / {app}" if app else ""))
        lines += [f"  {line}" for line in _fields(run, check, target)]
        verdict_lines, bad = _verdict(run, check, target)
        lines += [f"  {line}" for line in verdict_lines]
        failed = max(failed, bad)
    text = runbook_text(check.runbook, run.settings.root)
    lines.append(f"\nrunbook: {check.runbook}")
    if text:
        lines += ["", *(f"  {line}" if line else "" for line in text.rstrip().splitlines())]
    return lines, failed


def _declared(check: Check) -> str:
    where = f"{check.source}:{check.line}"
    return (
        f"{where} (comes with pytest-slo; a check of this id in checks/*.yaml replaces it)" if check.builtin else where
    )


def _fields(run: RunContext, check: Check, target: Target) -> Iterator[str]:
    """The check's expressions and queries as they read at the target, then the keys they read."""
    kind: Any = run.registry[check.kind]  # a promql kind has threshold(); others have no threshold field
    names: list[str] = []
    spec_fields = (
        template_fields(kind_schema(check.kind, kind.spec_schema), dict(check.spec)) if check.kind != "openslo" else []
    )
    if check.when:
        spec_fields = [(("when",), check.when, False), *spec_fields]
    for path, text, template in spec_fields:
        field = ".".join(map(str, path))
        names += [n for n in expression_names(text, template=template) if KEY.match(n) and n not in names]
        if field == "threshold":
            continue  # said below, also when it is a number
        if not template:
            yield f"{field}: {text}"
    if "threshold" in check.spec:
        raw = check.spec["threshold"]
        try:
            value = f"{kind.threshold(check, target):g}"
        except SloError as exc:
            yield f"threshold: {raw} cannot be evaluated here: {exc}"
        else:
            unit = check.spec.get("unit", "")
            yield f"threshold: {check.spec.get('op', '')} {value}{unit}" + (f"   ({raw})" if str(raw) != value else "")
    if check.kind == "openslo":
        objective = check.spec["objective"]
        for value in (objective.target, objective.value, objective.slice_target):
            if isinstance(value, str):
                names += [n for n in expression_names(value, template=True) if KEY.match(n) and n not in names]
        yield f"objective: {objective.display}, target {objective.target}"
    try:
        for field, query in rendered_queries(kind, check, target):
            yield f"{field}: {target.site.redactor.text(query)}"
    except SloError as exc:
        yield f"queries: cannot render at {target.site.name}: {exc}"
    env = target.site.env
    if names:
        yield "reads:"
        for name in names:
            entry = env.entries.get(name)
            if entry is None:
                yield (
                    f"  {name}: not set in {target.site.env_display} (the template's default applies, if it gives "
                    "one)"
                )
            else:
                yield (
                    f"  {target.site.env_display}:{entry.line}: "
                    f"{name}={target.site.redactor.text(entry.value) if entry.value else ''}"
                )


def _verdict(run: RunContext, check: Check, target: Target) -> tuple[list[str], int]:
    kind = run.registry[check.kind]
    if kind.live and kind.needs_live(run.sources.options) and not run.settings.live:
        return ["verdict: a live check: pass --live to read it now (read-only)"], 0
    if (unparsable := run.query_errors.get((check.id, target.site.name))) is not None:
        return [f"error: {unparsable}"], 2
    try:
        if check.when:
            from ..kinds._expr import config_context, evaluate

            if not evaluate(check.when, check, target, config_context(target)):
                return [f"verdict: not applicable here (when: {check.when} is false)"], 0
        data = None
        if kind.live:
            run.prefetch_once(check.kind, [])
            data = run.sources.read(kind.fetch, check, target)
        verdict: Verdict = kind.evaluate(check, target, data)
    except SloError as exc:
        return [f"error: {target.site.redactor.text(str(exc))}"], 2
    if verdict.skip:
        return [f"verdict: skipped: {verdict.skip}"], 0
    if verdict.ok:
        return ["verdict: passes"], 0
    message = target.site.redactor.text(verdict.message).splitlines()
    out = ["verdict: FAILS", *(f"  {line}" for line in message)]
    if verdict.action:
        out.append(f"do: {verdict.action}")
    if verdict.location:
        out.append(f"{'declared at' if verdict.action else 'edit'}: {verdict.location}")
    return out, 1
