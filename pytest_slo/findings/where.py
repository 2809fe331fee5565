"""Where a report shows a finding in the repository, also when it has no line to edit.

A finding's ``location`` is the line a person should edit, and many have none: a pod in
CrashLoopBackOff, a rollout stuck at 2 of 3, a source that could not be reached. Code scanning
(GitHub rejects a whole SARIF file when one result has no location) still needs a file and a
line, so this module names the line that *declares* what failed, and says that it is not the
line to edit:

1. the finding's own location; a file without a line stands for the file as a whole (line 1);
2. for a site's item (its node id starts with the site's ``config.env``), the config.env line
   of the key that says where the failing objects live (``KUBE_NAMESPACE`` for pods,
   ``REDIS_ADDR`` for a Redis, ...) or, for an item whose source could not be read, where that
   source is (``PROMETHEUS_URL``); else the site's config.env itself;
3. for any other item (a catalog file's, an SLO file's, a waiver's), the check's catalog line
   when the check is known, else the file the node id starts with.

Only the repository's files are read (``root``): merged findings get the same answer as the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SloError
from ..repo.envfile import EnvFile, read_env
from .model import Finding

__all__ = ["DECLARING_KEYS", "SOURCE_KEYS", "Locator", "Where"]

#: The config.env keys that say where a kind's live objects are, most specific first: the
#: keys the sources select with (README: "Live checks").
DECLARING_KEYS: Mapping[str, tuple[str, ...]] = {
    "kube": ("KUBE_APP_SELECTOR", "KUBE_NAMESPACE"),
    "redis": ("REDIS_ADDR",),
    "promql": ("PROMETHEUS_SELECTOR", "KUBE_NAMESPACE", "PROMETHEUS_URL"),
    "openslo": ("PROMETHEUS_SELECTOR", "KUBE_NAMESPACE", "PROMETHEUS_URL"),
}
#: For an item that errored (its source could not be read), the keys that say where the source is.
SOURCE_KEYS: Mapping[str, tuple[str, ...]] = {
    "promql": ("PROMETHEUS_URL",),
    "openslo": ("PROMETHEUS_URL",),
    "redis": ("REDIS_ADDR",),
}


@dataclass(frozen=True)
class Where:
    """A file and line to show a finding at; ``note`` says what the line is when it is not
    the line to edit (None: it is)."""

    path: str
    line: int
    note: str | None = None


class Locator:
    """Finds :class:`Where` for findings of one repository; reads each config.env once."""

    def __init__(self, root: Path | None, check_lines: Mapping[str, tuple[str, int]] | None = None) -> None:
        self.root = root
        #: check id -> (catalog file, line), when the catalog is at hand (not in a merge)
        self.check_lines = dict(check_lines or {})
        self._envs: dict[str, EnvFile | None] = {}

    def where(self, finding: Finding) -> Where:
        location: Mapping[str, Any] = finding.get("location") or {}
        path, line = location.get("path"), location.get("line")
        if path and line:
            return Where(str(path), int(line))
        if path:
            return Where(str(path), 1, "the file as a whole: the finding names no line in it")
        head = str(finding.get("nodeid") or "").split("::", 1)[0]
        if head.endswith("config.env"):
            return self._declared(finding, head)
        check = self.check_lines.get(str(finding.get("check")))
        if check is not None and (not head or check[0] == head):
            return Where(check[0], check[1], f"no line to edit: where check {finding.get('check')} is declared")
        if head:
            return Where(head, 1, "no line to edit: the file of this item")
        check_file = check[0] if check else "checks"
        return Where(check_file, check[1] if check else 1, "no line to edit: the check catalog")

    def _declared(self, finding: Finding, env_path: str) -> Where:
        env = self._env(env_path)
        kind = str(finding.get("kind"))
        whose = f"{finding['app']}'s" if finding.get("app") else "the site's"
        if finding.get("outcome") == "error":
            for key in SOURCE_KEYS.get(kind, ()):
                if env is not None and (line := env.line_of(key)):
                    return Where(
                        env_path, line, f"no line to edit: {key} here declares the source this item could not read"
                    )
        for key in DECLARING_KEYS.get(kind, ()):
            if env is not None and (line := env.line_of(key)):
                return Where(env_path, line, f"no line to edit: {key} here declares where {whose} objects live")
        return Where(env_path, 1, f"no line to edit: the site's {Path(env_path).name}")

    def _env(self, path: str) -> EnvFile | None:
        if path not in self._envs:
            env = None
            if self.root is not None:
                try:
                    env = read_env(self.root / path, path)
                except SloError:
                    env = None  # unreadable: the file itself, line 1, is still where the site is
            self._envs[path] = env
        return self._envs[path]
