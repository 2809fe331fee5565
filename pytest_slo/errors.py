"""The exception tree of pytest-slo.

Everything the plugin raises on purpose derives from :class:`SloError`, so a caller can
tell a user's mistake (a bad ``config.env``, a broken template) or an unreachable live
source from a defect in pytest-slo itself.

``SloWarning`` (a ``UserWarning``): something to tidy that fails nothing, e.g. a stale waiver

``SloError``
    ``ConfigError``        bad input in the GitOps repository; names file and line
        ``CatalogError``   a ``checks/*.yaml`` problem
        ``RenderError``    a values template that does not render
    ``SourceUnavailable``  a live source could not answer (down, timeout, 5xx, auth)
    ``QueryError``         a live source answered, but refused the query
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CatalogError",
    "ConfigError",
    "QueryError",
    "RenderError",
    "SloError",
    "SloWarning",
    "SourceUnavailable",
]


class SloError(Exception):
    """Base class: a message, optionally the file and 1-based line it concerns, and a hint."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class ConfigError(SloError):
    """The repository's input is wrong: the message says where and what to do."""


class CatalogError(ConfigError):
    """A check file is malformed, names an unknown kind, repeats an id, or a runbook is missing."""


class RenderError(ConfigError):
    """A values template failed to render (syntax error, undefined variable)."""


class SourceUnavailable(SloError):
    """A live source (Prometheus, Redis, Kubernetes) did not give an answer in time."""

    def __init__(self, source: str, reason: str, **kwargs: object) -> None:
        super().__init__(f"{source} unavailable: {reason}", **kwargs)  # type: ignore[arg-type]
        self.source = source
        self.reason = reason


class QueryError(SloError):
    """A live source answered but rejected the request (bad PromQL, unknown command)."""


class SloWarning(UserWarning):
    """Something to tidy that fails nothing (a waiver that matched no finding): pytest lists it
    in its warnings summary."""
