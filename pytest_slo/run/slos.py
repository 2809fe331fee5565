"""The hooks of ``slos/*.yaml``: collecting its files, and ``--export-rules`` at the end.

A separate plugin object (registered by :func:`pytest_slo.plugin.pytest_configure`), so the
OpenSLO files are collected like ``checks/*.yaml`` (a ``catalog`` item per file that fails
with every problem at its line) without touching the check catalog's own hooks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..kinds.base import Location, Verdict
from .context import RUN_KEY, RunContext
from .nodes import CatalogItem, CheckFailed

__all__ = ["SloFile", "SloFileItem", "SloHooks"]


class SloFileItem(CatalogItem):
    """``slos/<file>.yaml::catalog``: the file's OpenSLO documents can be judged."""

    def runtest(self) -> None:
        if self.problems:
            raise CheckFailed(
                Verdict.failed(
                    f"{self.path.name} holds OpenSLO documents pytest-slo cannot judge:\n  "
                    + "\n  ".join(self.problems),
                    {"problems": self.problems},
                    self.where,
                )
            )


class SloFile(pytest.File):
    def collect(self) -> Iterator[SloFileItem]:
        run = self.config.stash[RUN_KEY]
        display = run.repo.rel(self.path)
        problems = run.catalog.problems.get(display, [])
        first = Location(problems[0].path or display, problems[0].line) if problems else None
        yield SloFileItem.from_parent(self, name="catalog", problems=[str(p) for p in problems], location=first)


class SloHooks:
    """Collects ``slos/*.yaml``; on the controller writes ``--export-rules``."""

    def __init__(self, run: RunContext, controller: bool) -> None:
        self.run = run
        self.controller = controller
        self.notes: list[str] = []

    @property
    def folder(self) -> Path:
        return self.run.settings.root / self.run.settings.slos_path

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        # a run narrowed to sites or apps still reads the SLO files (as it reads checks/)
        if not self.run.settings.selective or config.args_source == pytest.Config.ArgsSource.ARGS:
            return None
        folder = self.folder
        if collection_path == folder or folder in collection_path.parents or collection_path in folder.parents:
            return False
        return None

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if file_path.parent == self.folder and file_path.suffix in (".yaml", ".yml"):
            return SloFile.from_parent(parent, path=file_path)
        return None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        target = self.run.settings.export_rules
        if not self.controller or target is None:
            return
        from .rules import write_rules

        self.notes = write_rules(self.run, target)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for note in self.notes:
            terminalreporter.write_line(f"export-rules: {note}", red=not note.startswith("wrote "))
