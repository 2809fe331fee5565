"""What the incident stage reads of a run, as interfaces: the run fulfils them, and this stage
imports nothing of the run stage above it. The report writers' views, with the rest of the
settings (match window, due dates) and what the run saw of each item."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..findings._inputs import RunView, StoreView

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["IncidentRun", "IncidentStore", "Key"]

Key = tuple[str, "str | None", "str | None"]  # (check, site, app)


class IncidentRun(RunView, Protocol):
    """The run as the postmortem sees it: settings, repository, catalog, kinds, live sources."""

    @property
    def settings(self) -> Settings: ...


class IncidentStore(StoreView, Protocol):
    """What the run saw (each item's outcome, each live check's values) and where drafts go."""

    @property
    def ran(self) -> Mapping[Key, str]: ...
    @property
    def observations(self) -> Mapping[Key, dict[str, Any]]: ...
