"""The render CLI behind ``releases/<release>/render_values.py``: the gate's own rendering, so
the bytes it writes are the ones the gate expects."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import SloError

__all__ = ["main", "unread_output_warning"]


def _repo_root(release_dir: Path) -> Path:
    """The repository a release belongs to: ``<root>/releases/<release>/``."""
    return release_dir.resolve().parents[1]


def _shown(path: Path, root: Path) -> str:
    """A path as a person types it in the repository: repo-relative when it is inside."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _parser(release_dir: Path) -> argparse.ArgumentParser:
    from .layout import configured_values_path

    root = _repo_root(release_dir)
    pattern, origin = configured_values_path(root)
    apps = (
        sorted(p.name for p in (release_dir / "apps").iterdir() if p.is_dir())
        if (release_dir / "apps").is_dir()
        else []
    )
    example = pattern.format(site="production", app=apps[0] if apps else "my-app")
    parser = argparse.ArgumentParser(
        prog=f"python3 {_shown(release_dir, root)}/render_values.py",
        description=f"Render an app's Helm values.yaml from a site's config.env with release {release_dir.name}.",
        epilog=f"The gate reads rendered values from {pattern} ({origin}): commit them there.",
    )
    parser.add_argument(
        "--env-file", required=True, type=Path, help="the site's config.env, e.g. sites/production/config.env"
    )
    parser.add_argument(
        "--output", required=True, type=Path,
        help=f"where to write the rendered values: the gate reads {pattern}, e.g. {example}",
    )
    parser.add_argument(
        "--app", choices=apps or None, help="the app to render (default: the output's parent folder name)"
    )
    return parser


def unread_output_warning(release_dir: Path, env_file: Path, output: Path, app: str) -> str | None:
    """A warning when no check reads ``output``: the gate reads ``slo_values_path`` only."""
    from .layout import configured_values_path, counts_as_render

    root = _repo_root(release_dir)
    pattern, origin = configured_values_path(root)
    site = env_file.resolve().parent.name
    expected = root / pattern.format(site=site, app=app)
    if output.resolve() == expected.resolve():
        return None
    command = (
        f"python3 {_shown(release_dir, root)}/render_values.py --env-file {_shown(env_file, root)} --output "
        f"{_shown(expected, root)}"
    )
    sites = (
        sorted(p.name for p in (root / "sites").iterdir() if (p / "config.env").is_file())
        if (root / "sites").is_dir()
        else []
    )
    for other in (s for s in sites if s != site):
        if output.resolve() == (root / pattern.format(site=other, app=app)).resolve():
            return (
                f"warning: {_shown(output, root)} is where the gate reads {other}'s values, but this renders "
                f"{_shown(env_file, root)} ({site}): {other}'s values-in-sync fails until it is rendered from "
                f"sites/{other}/config.env\n  {site}'s render belongs at {_shown(expected, root)}: {command}"
            )
    apps = (
        sorted(p.name for p in (release_dir / "apps").iterdir() if p.is_dir())
        if (release_dir / "apps").is_dir()
        else [app]
    )
    if counts_as_render(root, output, apps):
        consequence = "and its values-stray check fails while a render sits elsewhere"
    else:  # say what is true: no check will notice this file at all
        consequence = (
            "and no check will notice this file either (values-stray looks for values.yaml in a folder named "
            "after an app)"
        )
    return (
        f"warning: no check reads {_shown(output, root)}: the gate reads {_shown(expected, root)} ({origin}: "
        f"{pattern}), {consequence}\n  render there: {command}"
    )


def main(argv: Sequence[str] | None = None, *, release_dir: Path) -> int:
    """The render CLI; exits 2 with a one-line ``file:line: message`` on bad input."""
    from .site import Release

    args = _parser(release_dir).parse_args(argv)
    app = args.app or args.output.resolve().parent.name
    try:
        release = Release(release_dir, display=str(release_dir))
        if app not in release.apps:
            known = ", ".join(release.apps) or "none"
            print(
                f"error: unknown app {app!r} in release {release_dir.name} (known: {known}); pass --app",
                file=sys.stderr,
            )
            return 2
        from .envfile import read_env

        env = read_env(args.env_file, str(args.env_file))
        env.raise_first()
        text = release.render(env, site=args.env_file.resolve().parent.name, app=app)
    except SloError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tmp = args.output.with_name(args.output.name + ".tmp")
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        print(
            f"error: cannot write {args.output}: {exc.strerror or exc}; pass an --output in a folder you can write",
            file=sys.stderr,
        )
        return 2
    print(f"rendered {app} for {args.env_file} -> {args.output}")
    warning = unread_output_warning(release_dir, args.env_file, args.output, app)
    if warning:
        print(warning, file=sys.stderr)
    return 0
