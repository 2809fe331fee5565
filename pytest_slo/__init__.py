"""pytest-slo: a GitOps repository's config, rendered values and live SLOs as pytest items."""

from __future__ import annotations

from ._version import __version__
from .catalog.model import Check
from .errors import CatalogError, ConfigError, QueryError, RenderError, SloError, SourceUnavailable
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

