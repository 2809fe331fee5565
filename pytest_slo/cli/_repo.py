"""The repository a command works on, and the run it builds there (as a pytest run would)."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ..errors import SloError
from ..kinds import KindRegistry, builtin_kinds
from ..repo.layout import is_repository
from ..run.context import RunContext
from ..settings import from_ini

__all__ = ["CommandError", "add_root", "find_root", "open_run", "pick", "repository_run"]


class CommandError(Exception):
    """A usage error of a command: printed as one line, exit 2."""


def add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="the repository (the folder holding sites/); default: this folder or the nearest parent with sites/",
    )


def find_root(given: Path | None) -> Path:
    """``given``, else the nearest folder from here up that holds ``sites/``."""
    if given is not None:
        root = given.resolve()
        if not is_repository(root):
            raise CommandError(
                f"--root {given}: no sites/ folder there; pass the GitOps repository's root (the folder with "
                "sites/ and releases/)"
            )
        return root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if is_repository(folder):
            return folder
    raise CommandError(
        f"no sites/ folder in {here} or above it: run in the GitOps repository or pass --root DIR (pytest-slo "
        "init DIR makes one)"
    )


def pick(what: str, name: str, known: list[str]) -> str:
    """``name`` when it is one of ``known``; else a usage error with the nearest."""
    if name in known:
        return name
    # what was typed is often the start of the name (a check's id cut short): that one, if alone
    starts = [k for k in known if k.startswith(name)]
    close = starts if len(starts) == 1 else difflib.get_close_matches(name, known, n=1)
    if close:
        raise CommandError(f"unknown {what} {name!r}: did you mean {close[0]}?")
    raise CommandError(f"unknown {what} {name!r} (known: {', '.join(known) or 'none'})")


@contextmanager
def repository_run(args: argparse.Namespace, given: Mapping[str, Any] | None = None) -> Iterator[RunContext]:
    """The run of the repository ``--root`` names (or the one around here), closed after."""
    run = open_run(find_root(args.root), given)
    try:
        yield run
    finally:
        run.close()


def open_run(root: Path, given: Mapping[str, Any] | None = None) -> RunContext:
    """The run a gate at ``root`` would make (its ini file's settings, ``given`` on top),
    with the built-in kinds; ``close()`` it when done."""
    try:
        settings = from_ini(root, given)
    except pytest.UsageError as exc:
        raise CommandError(str(exc)) from None
    registry = KindRegistry()
    for kind in builtin_kinds():
        try:
            registry.register(kind)
        except SloError as exc:  # pragma: no cover - the built-in kinds are complete
            raise CommandError(str(exc)) from None
    return RunContext(None, settings, registry)
