"""pytest-slo: a GitOps repository's config, rendered values and live SLOs as pytest items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import CatalogError, ConfigError, QueryError, RenderError, SloError, SourceUnavailable

if TYPE_CHECKING:
    from .catalog.model import Check
    from .kinds.base import Kind, Location, Target, Verdict

__all__ = [
    "CatalogError",
    "Check",
    "ConfigError",
    "Kind",
    "Location",
    "QueryError",
    "RenderError",
    "SloError",
    "SourceUnavailable",
    "Target",
    "Verdict",
    "__version__",
]


#: Where each name of the kind interface lives: imported on first use, so that importing the
#: plugin (which every pytest run in an environment that has it installed does) reads neither
#: the catalog's JSON Schemas nor the kinds.
_LAZY = {
    "Check": "catalog.model",
    "Kind": "kinds.base",
    "Location": "kinds.base",
    "Target": "kinds.base",
    "Verdict": "kinds.base",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
