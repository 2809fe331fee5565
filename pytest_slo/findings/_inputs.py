"""What the report writers read of a run, as interfaces: the findings stage depends on no stage
above it (the run, the settings, the kinds), only on these shapes, which the run fulfils."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..catalog.model import Catalog
    from ..repo.site import Repo
    from ..sources import Sources

__all__ = ["ReportSettings", "RunView", "StoreView"]


class ReportSettings(Protocol):
    @property
    def runbook_base_url(self) -> str | None: ...
    @property
    def postmortem_dir(self) -> Path | None: ...
    @property
    def postmortem_window(self) -> str: ...
    @property
    def postmortem_template(self) -> Path | None: ...


class Kinds(Protocol):
    @property
    def names(self) -> list[str]: ...
    def __getitem__(self, name: str) -> Any: ...


class RunView(Protocol):
    """The run as reports see it: settings, repository, catalog, kinds, live sources."""

    @property
    def settings(self) -> ReportSettings: ...
    @property
    def repo(self) -> Repo: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def registry(self) -> Kinds: ...
    @property
    def sources(self) -> Sources: ...


class StoreView(Protocol):
    """Where reports are written: once, atomically, failures remembered for the summary."""

    failed_writes: list[str]

    def write(self, label: str, path: Path | None, render: Any) -> None: ...
