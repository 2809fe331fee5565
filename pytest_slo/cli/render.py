"""``pytest-slo render --site SITE [--app APP]``: write every app's values of a site.

The values are rendered by the repository's render contract (``slo_render_command`` in its
ini file, else pytest-slo's jinja2 renderer over ``releases/<release>/apps/<app>/values.yaml.j2``)
and written where the gate reads them (``slo_values_path``), atomically: exactly the bytes
``values-in-sync`` expects.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from ..errors import SloError
from ..repo.site import Site
from ..run.context import RunContext
from ._repo import CommandError, add_root, pick, repository_run

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-slo render", description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument("--site", required=True, help="the site whose config.env to render")
    parser.add_argument("--app", help="one app (default: every app of the site's release)")
    add_root(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        with repository_run(args) as run:
            return _render(run, args)
    except CommandError as exc:
        print(f"pytest-slo render: {exc}")
        return 2


def _render(run: RunContext, args: argparse.Namespace) -> int:
    site = run.repo.site(pick("site", args.site, run.repo.site_names))
    try:
        apps = site.release.apps
    except SloError as exc:
        raise CommandError(str(exc)) from None
    if args.app:
        apps = [pick(f"app of release {site.release.name}", args.app, apps)]
    status = 0
    for app in apps:
        path = site.values_file(app)
        try:
            text = site.rendered(app)
        except SloError as exc:
            print(f"error: {exc}")
            status = 2
            continue
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            print(f"error: cannot write {site.values_display(app)}: {exc.strerror or exc}")
            status = 2
            continue
        print(f"rendered {app} for {site.env_display} -> {site.values_display(app)}")
    return max(status, _config_warnings(site))


def _config_warnings(site: Site) -> int:
    """A render of a config.env the gate refuses is written, and said: exit 1 with each problem."""
    from ..repo.schema import config_problems

    problems = [f"{site.env_display}:{p.line}: {p.message}" for p in site.env.problems]
    try:
        problems += [
            f"{site.env_display}:{site.env.line_of(p.key) or '?'}: {p.message}"
            if p.key
            else f"{site.env_display}: {p.message}"
            for p in config_problems(site.config, site.release.config_validator)
        ]
    except SloError as exc:
        problems.append(str(exc))
    for problem in problems:
        print(f"warning: {problem} (config-parse or config-schema fails until it is fixed)", file=sys.stderr)
    return 1 if problems else 0
