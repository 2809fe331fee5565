"""The GitOps repository as the gate sees it: sites, releases and their apps.

Everything here is loaded once per run and shared by every item: a config.env is parsed
once, a template, a schema validator is compiled once per release, whatever the number of
sites and checks that use it. A load that fails is remembered and raised again to each item
that needs it, so one broken file fails the items that depend on it and nothing else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, SloError
from ..redact import Redactor, is_secret_key
from .envfile import EnvFile, read_env
from .layout import DEFAULT_VALUES_PATH, stray_values
from .render import TEMPLATE_NAME, Template, load_template, render
from .renderer import BuiltinRenderer, Renderer, renderer_for
from .schema import coerce_config, load_validator

__all__ = ["DEFAULT_VALUES_PATH", "Release", "Repo", "Site"]

T = TypeVar("T")


class _Memo:
    def __init__(self) -> None:
        self._cache: dict[Any, tuple[bool, Any]] = {}

    def memo(self, key: Any, load: Callable[[], T]) -> T:
        if key not in self._cache:
            try:
                self._cache[key] = (True, load())
            except SloError as exc:
                self._cache[key] = (False, exc)
        ok, value = self._cache[key]
        if ok:
            return value  # type: ignore[no-any-return]
        raise value


class Release(_Memo):
    """``releases/<name>/``: the config schema and, per app, a template and a values schema."""

    def __init__(self, path: Path, display: str) -> None:
        super().__init__()
        self.path = path
        self.name = path.name
        self.display = display
        apps_dir = path / "apps"
        self.apps = sorted(p.name for p in apps_dir.iterdir() if p.is_dir()) if apps_dir.is_dir() else []

    @property
    def config_validator(self) -> Any:
        return self.memo(
            "config-schema",
            lambda: load_validator(self.path / "config.schema.json", f"{self.display}/config.schema.json"),
        )

    def template(self, app: str) -> Template:
        return self.memo(
            ("template", app),
            lambda: load_template(
                self.path / "apps" / app / TEMPLATE_NAME, f"{self.display}/apps/{app}/{TEMPLATE_NAME}"
            ),
        )

    def values_validator(self, app: str) -> Any:
        return self.memo(
            ("values-schema", app),
            lambda: load_validator(
                self.path / "apps" / app / "values.schema.json", f"{self.display}/apps/{app}/values.schema.json"
            ),
        )

    def typed(self, env: EnvFile) -> dict[str, Any]:
        return coerce_config(env.values, self.config_validator)

    def render(self, env: EnvFile, *, site: str, app: str) -> str:
        return render(self.template(app), self.typed(env), site=site, app=app)


class Repo(_Memo):
    """The repository root: ``sites/``, ``releases/``, ``checks/``."""

    def __init__(self, root: Path, values_path: str = DEFAULT_VALUES_PATH, render_command: str | None = None) -> None:
        super().__init__()
        self.root = root
        self.values_path = values_path
        self.render_command = render_command
        self._releases: dict[str, Release] = {}
        self._sites: dict[str, Site] = {}

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self._resolved_root).as_posix()
        except ValueError:
            return str(path)

    @functools.cached_property
    def identity(self) -> str:
        """Which repository this is, the same on every clone: the ``origin`` remote's URL
        (credentials and ``.git`` dropped) when the root is a git checkout, else the root
        folder's name. Baselines written for another repository are refused by it."""
        return remote_identity(self.root) or self.root.resolve().name

    @functools.cached_property
    def _resolved_root(self) -> Path:
        # resolve() is a syscall per path component: once per run, not once per item
        return self.root.resolve()

    @functools.cached_property
    def site_names(self) -> list[str]:
        """The sites (folders of sites/ with a config.env), read once per run."""
        sites = self.root / "sites"
        if not sites.is_dir():
            return []
        return sorted(p.name for p in sites.iterdir() if (p / "config.env").is_file())

    @property
    def release_names(self) -> list[str]:
        releases = self.root / "releases"
        return sorted(p.name for p in releases.iterdir() if p.is_dir()) if releases.is_dir() else []

    def release(self, name: str) -> Release | None:
        if name not in self._releases:
            path = self.root / "releases" / name
            if not name or "/" in name or name.startswith(".") or not path.is_dir():
                return None
            self._releases[name] = Release(path, self.rel(path))
        return self._releases[name]

    @property
    def app_names(self) -> list[str]:
        names: set[str] = set()
        for name in self.release_names:
            release = self.release(name)
            if release:
                names.update(release.apps)
        return sorted(names)

    @property
    def config_keys(self) -> set[str]:
        """Every key a site's config.env sets or a release's config.schema.json defines."""
        keys: set[str] = set()
        for name in self.site_names:
            try:
                keys.update(self.site(name).env.entries)
            except SloError:
                continue  # an unreadable config.env is its own error
        for name in self.release_names:
            schema = self._schema_of(name)
            keys.update(schema.get("properties") or {})
        return keys

    @property
    def config_key_patterns(self) -> tuple[str, ...]:
        """The ``patternProperties`` of the releases' config schemas."""
        return tuple(
            sorted({p for name in self.release_names for p in (self._schema_of(name).get("patternProperties") or {})})
        )

    def _schema_of(self, name: str) -> dict[str, Any]:
        release = self.release(name)
        try:
            schema = release.config_validator.schema if release else {}
        except SloError:
            return {}  # a missing or broken schema is config-schema's error
        return schema if isinstance(schema, dict) else {}

    @property
    def renderer(self) -> Renderer:
        """The render contract of this repository: its own command, else the built-in renderer."""
        return self.memo("renderer", lambda: renderer_for(self.render_command, self.root))

    @property
    def stray_values(self) -> dict[str, list[str]]:
        """Rendered values files outside ``values_path``, by app (one walk of the tree per run)."""
        return self.memo("strays", lambda: stray_values(self.root, self.values_path, self.site_names, self.app_names))

    def site(self, name: str) -> Site:
        if name not in self._sites:
            self._sites[name] = Site(self, name)
        return self._sites[name]


class Site(_Memo):
    """One site: its parsed config.env, its release, and the paths of its rendered values."""

    def __init__(self, repo: Repo, name: str) -> None:
        super().__init__()
        self.repo = repo
        self.name = name
        self.env_path = repo.root / "sites" / name / "config.env"
        self.env_display = repo.rel(self.env_path)

    @property
    def env(self) -> EnvFile:
        return self.memo("env", lambda: read_env(self.env_path, self.env_display))

    @property
    def redactor(self) -> Redactor:
        return self.memo(
            "redactor", lambda: Redactor(v for k, v in self.env.values.items() if is_secret_key(k))
        )

    @property
    def release(self) -> Release:
        def load() -> Release:
            entry = self.env.entries.get("RELEASE")
            if entry is None:
                raise ConfigError(
                    "RELEASE is not set",
                    path=self.env_display,
                    hint=f"add RELEASE=<one of {', '.join(self.repo.release_names) or 'releases/*'}>",
                )
            release = self.repo.release(entry.value)
            if release is None:
                known = ", ".join(self.repo.release_names) or "none"
                raise ConfigError(
                    f"RELEASE={entry.value} does not exist (no releases/{entry.value}/)",
                    path=self.env_display,
                    line=entry.line,
                    hint=f"known releases: {known}",
                )
            return release

        return self.memo("release", load)

    @property
    def namespace(self) -> str:
        """The Kubernetes namespace of the site's apps: ``KUBE_NAMESPACE``, else the site's name."""
        entry = self.env.entries.get("KUBE_NAMESPACE")
        return entry.value if entry is not None and entry.value else self.name

    def release_display(self) -> str:
        """Where the site's release lives (``releases/1.15``), or ``releases/<release>`` without one."""
        try:
            return self.release.display
        except SloError:
            return "releases/<release>"

    @property
    def apps(self) -> list[str]:
        try:
            return self.release.apps
        except SloError:
            return self.repo.app_names

    @property
    def config(self) -> dict[str, Any]:
        """The config values, typed as the release's schema declares."""
        return self.memo("typed", lambda: self.release.typed(self.env))

    def values_file(self, app: str) -> Path:
        return self.repo.root / self.repo.values_path.format(site=self.name, app=app)

    def values_display(self, app: str) -> str:
        """The repo-relative path of an app's rendered values, as messages show it."""
        return self.memo(("values-display", app), lambda: self.repo.rel(self.values_file(app)))

    def rendered(self, app: str) -> str:
        """A fresh render of the app's values, by the repository's render contract; once per run."""
        return self.memo(("render", app), lambda: self.repo.renderer.render(self, app))

    def render_command(self, app: str) -> str:
        """What a person runs to render the app's values where the gate reads them."""
        try:
            renderer = self.repo.renderer
        except SloError:
            renderer = BuiltinRenderer()
        return renderer.command(self, app, self.values_display(app))


_REMOTE = re.compile(r'^\[remote "origin"\]\s*$')


def remote_identity(root: Path) -> str | None:
    """``github.com/org/gitops`` from ``.git/config``'s origin (https, ssh or scp-like URL)."""
    git = root / ".git"
    if git.is_file():  # a worktree: ``gitdir: /main/.git/worktrees/x``; the config is the main one's
        try:
            pointer = git.read_text(encoding="utf-8").split(":", 1)[1].strip()
        except (OSError, IndexError, UnicodeDecodeError):
            return None
        git = Path(pointer).parent.parent if "/worktrees/" in pointer else Path(pointer)
    try:
        lines = (git / "config").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    inside = False
    for line in lines:
        if line.strip().startswith("["):
            inside = bool(_REMOTE.match(line.strip()))
        elif inside and line.strip().startswith("url"):
            url = line.split("=", 1)[1].strip()
            url = re.sub(r"^[a-z+]+://", "", url)  # scheme
            url = re.sub(r"^[^@/]*@", "", url)  # user:password@ or git@
            url = re.sub(r"^([^/:]+):(?!\d+/)", r"\1/", url)  # scp-like host:path
            url = re.sub(r"^([^/:]+):\d+/", r"\1/", url)  # a port
            return re.sub(r"(\.git)?/*$", "", url) or None
    return None
