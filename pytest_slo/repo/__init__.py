"""The GitOps repository as the gate reads it.

Owns: sites and their ``config.env`` (:mod:`.envfile`), releases, the sandboxed rendering
of ``values.yaml.j2`` (:mod:`.render`), and the JSON Schemas of config and values
(:mod:`.schema`). Reads files only; never the network. Imports nothing above it.
"""

from .site import DEFAULT_VALUES_PATH, Release, Repo, Site

__all__ = ["DEFAULT_VALUES_PATH", "Release", "Repo", "Site"]
