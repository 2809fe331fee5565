"""Where rendered values live: the ``slo_values_path`` pattern, and the files outside it.

The gate reads each app's rendered values from one place per site (``slo_values_path``,
default ``sites/{site}/apps/{app}/values.yaml``). A render written anywhere else is read by
no check and, with ArgoCD pointed at the gate's path, deployed by nobody: the renderer warns
about such an ``--output`` and the ``values-stray`` check fails while such a file exists.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_VALUES_PATH",
    "VALUES_NAMES",
    "app_folders",
    "configured_values_path",
    "counts_as_render",
    "ini_settings",
    "is_repository",
    "pytest_section",
    "stray_values",
]

DEFAULT_VALUES_PATH = "sites/{site}/apps/{app}/values.yaml"

#: File names that hold an app's rendered values (the renderer names the app after the folder).
VALUES_NAMES = ("values.yaml", "values.yml")

#: Folders never searched for strays: tool caches, virtualenvs, the templates themselves.
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})

_INI_KEY = "slo_values_path"


def _toml(path: Path) -> dict[str, Any] | None:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python 3.10: tomllib is 3.11+, tomli may be installed
        try:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            return None
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _ini_section(path: Path, section: str) -> dict[str, str] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    return dict(parser[section]) if parser.has_section(section) else None


def pytest_section(path: Path) -> dict[str, Any] | None:
    """The pytest settings a config file holds, or None when it holds none (pytest's rule:
    the first file that has a pytest section is the ini file, even if the key is absent)."""
    name = path.name
    if name in ("pytest.ini", ".pytest.ini"):
        return _ini_section(path, "pytest") or {}
    if name in ("pytest.toml", ".pytest.toml"):
        doc = _toml(path)
        return None if doc is None else dict(doc.get("pytest", {}))
    if name == "pyproject.toml":
        tool = (_toml(path) or {}).get("tool", {})
        found = tool.get("pytest", {}).get("ini_options") if isinstance(tool.get("pytest"), dict) else None
        return found if isinstance(found, dict) else None
    if name == "tox.ini":
        return _ini_section(path, "pytest")
    if name == "setup.cfg":
        return _ini_section(path, "tool:pytest")
    return None


_INI_FILES = ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "pyproject.toml", "tox.ini", "setup.cfg")


def _ini_file(root: Path) -> tuple[str, dict[str, Any]] | None:
    """``(file name, its pytest settings)`` of the ini file pytest would pick at ``root``."""
    for name in _INI_FILES:
        path = root / name
        if path.is_file() and (section := pytest_section(path)) is not None:
            return name, section
    return None


def ini_settings(root: Path) -> dict[str, Any]:
    """The pytest settings of the ini file at ``root`` (empty without one)."""
    found = _ini_file(root)
    return found[1] if found else {}


def configured_values_path(root: Path) -> tuple[str, str]:
    """``(pattern, where it comes from)`` as a gate run at ``root`` would read it from its
    ini file (a ``--values-path`` flag given to pytest is not known here)."""
    found = _ini_file(root)
    if found is not None:
        name, section = found
        value = str(section.get(_INI_KEY, "")).strip()
        if value:
            return value, f"{_INI_KEY} in {name}"
    return DEFAULT_VALUES_PATH, f"default {_INI_KEY}"


def app_folders(root: Path, pattern: str, site: str) -> dict[str, str]:
    """The folders the values path puts apps in, at ``site``: ``{name: repo-relative path}``
    of every folder where an app's folder would be (``sites/production/apps/*``); empty when
    the pattern does not give each app a folder of its own."""
    head, found, tail = pattern.partition("{app}")
    if not found or not (head == "" or head.endswith("/")) or not tail.startswith("/"):
        return {}
    parent = root / head.format(site=site, app="")
    if not parent.is_dir():
        return {}
    return {
        p.name: p.relative_to(root).as_posix()
        for p in sorted(parent.iterdir())
        if p.is_dir() and not p.name.startswith(".")
    }


def counts_as_render(root: Path, path: Path, apps: Iterable[str]) -> bool:
    """Whether :func:`stray_values` would count ``path`` (a ``values.yaml`` in a folder named
    after an app, outside ``releases/`` and hidden folders, not in a Helm chart)."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return False  # outside the repository: no check of it could ever see it
    parts = rel.parts
    return (
        path.name in VALUES_NAMES
        and path.parent.name in set(apps)
        and parts[0] != "releases"
        and not any(p.startswith(".") or p in _SKIP_DIRS for p in parts[:-1])
        and not (path.parent / "Chart.yaml").exists()
        and not any(is_repository(root.joinpath(*parts[: i + 1])) for i in range(len(parts) - 1))
    )


def is_repository(folder: Path) -> bool:
    """Whether ``folder`` is a GitOps repository (it holds ``sites/``): elsewhere, in any other
    Python project, pytest-slo collects nothing and says nothing. A repository inside another is
    its own: its renders are not the outer one's strays."""
    return (folder / "sites").is_dir()


def stray_values(root: Path, pattern: str, sites: Iterable[str], apps: Iterable[str]) -> dict[str, list[str]]:
    """Rendered values files no check reads, by app: repo-relative paths, sorted.

    A file counts when it is named ``values.yaml`` (or ``.yml``) in a folder named after an
    app, which is what the renderer writes when ``--output`` points elsewhere. Not counted:
    the gate's own paths, anything under ``releases/``, hidden folders, Helm charts (a
    folder with a ``Chart.yaml`` holds the chart's defaults, not a render) and GitOps
    repositories nested in this one (a folder with a ``sites/`` of its own).
    """
    apps = set(apps)
    expected = {(root / pattern.format(site=s, app=a)).resolve() for s in sites for a in apps}
    found: dict[str, list[str]] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIP_DIRS
            and not (here == root and d == "releases")
            and not is_repository(here / d)
        )
        if here.name not in apps or "Chart.yaml" in files:
            continue
        for name in VALUES_NAMES:
            if name in files and (here / name).resolve() not in expected:
                found.setdefault(here.name, []).append((here / name).relative_to(root).as_posix())
    return found
