"""``pytest-slo init [DIR]``: a new GitOps repository that passes its own gate at once.

It writes an ini file with the plugin's settings, one site's ``config.env``, a release with a
render script, a values template and schema and a config schema, a starter check with its
runbook, and a Makefile whose ``test-app APP=...`` target is the merge gate; then renders the
site's values. It refuses to write into a folder that already holds any of these files, and
then changes nothing there.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "plan"]

SCAFFOLD = Path(__file__).with_name("scaffold")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-slo init", description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument(
        "dir", nargs="?", default=".", type=Path, metavar="DIR", help="where to write it (default: this folder)"
    )
    parser.add_argument("--site", default="production", help="the first site (default: production)")
    parser.add_argument("--app", default="web", help="the first app (default: web)")
    parser.add_argument("--release", default="1.0", help="the first release (default: 1.0)")
    return parser


def plan(site: str, app: str, release: str) -> dict[str, str]:
    """Repo-relative path → text of every file ``init`` writes (the rendered values aside)."""
    tokens = {"@SITE@": site, "@APP@": app, "@RELEASE@": release, "@KEY@": re.sub(r"[^A-Z0-9]+", "_", app.upper())}
    out = {}
    for path in sorted(SCAFFOLD.rglob("*.tmpl")):
        rel = path.relative_to(SCAFFOLD).with_suffix("").as_posix()
        rel = "/".join({"SITE": site, "APP": app, "RELEASE": release}.get(p, p) for p in rel.split("/"))
        rel = re.sub(r"(^|/)APP\.", rf"\g<1>{app}.", rel)
        text = path.read_text(encoding="utf-8")
        for token, value in tokens.items():
            text = text.replace(token, value)
        out[rel] = text
    return out


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    for what, value, pattern in (
        ("--site", args.site, _NAME),
        ("--app", args.app, _NAME),
        ("--release", args.release, _RELEASE),
    ):
        if not pattern.match(value):
            print(
                f"pytest-slo init: {what} {value!r}: write lower-case letters, digits and '-'"
                + (" ('.' too)" if what == "--release" else "")
            )
            return 2
    root: Path = args.dir
    files = plan(args.site, args.app, args.release)
    values = f"sites/{args.site}/apps/{args.app}/values.yaml"
    if root.exists() and not root.is_dir():
        print(f"pytest-slo init: {root} is a file, not a folder")
        return 2
    taken = sorted(p for p in [*files, values] if (root / p).exists())
    if taken:
        print(
            f"pytest-slo init: {root} already has {', '.join(taken)}: nothing written (init writes only into a "
            "folder without these files)"
        )
        return 2
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if rel.endswith(".py"):
            path.chmod(0o755)
    from .render import main as render

    status = render(["--site", args.site, "--root", str(root)])
    if status:
        return status
    print(f"wrote a GitOps repository for {args.app} at {args.site} (release {args.release}) in {root}:")
    for rel in [*files, values]:
        print(f"  {rel}")
    print(f"next: cd {root} && pytest    (the gate; `make test-app APP={args.app}` is the merge gate)")
    return 0
