"""The GitOps repository as the gate reads it.

Owns: sites and their ``config.env`` (:mod:`.envfile`), releases, the sandboxed rendering
of ``values.yaml.j2`` (:mod:`.render`), and the JSON Schemas of config and values
(:mod:`.schema`). Reads files only; never the network. Imports nothing above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .layout import DEFAULT_VALUES_PATH

if TYPE_CHECKING:
    from .site import Release, Repo, Site

__all__ = ["DEFAULT_VALUES_PATH", "Release", "Repo", "Site"]


def __getattr__(name: str) -> Any:
    # the sites and releases read config, render and validate (jinja2, jsonschema): imported
    # when a run in a repository asks for them, so settings and the layout stay cheap to import
    if name in ("Release", "Repo", "Site"):
        from . import site

        return getattr(site, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
