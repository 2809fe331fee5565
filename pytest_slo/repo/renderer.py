"""The render contract: how a site's config.env becomes an app's committed values.yaml.

``values-in-sync`` renders each (site, app) afresh and compares the bytes with the committed
file; ``pytest-slo render`` writes them. Two renderers keep that contract:

* the built-in one: ``releases/<release>/apps/<app>/values.yaml.j2``, a sandboxed jinja2
  template over the site's typed config (what ``releases/<release>/render_values.py`` of the
  reference layout calls);
* the repository's own, ``slo_render_command`` (``--render-command``): a command with the
  placeholders ``{release}``, ``{site}``, ``{app}``, ``{env_file}`` (repo-relative) and
  ``{output}``, run from the repository root without a shell, that must write the values of
  ``{app}`` at ``{site}`` to ``{output}`` and exit 0. The gate gives it an ``{output}`` in a
  temporary folder, ``.../<app>/values.yaml``, so a script that names the app after the
  output's folder works unchanged.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import RenderError

if TYPE_CHECKING:
    from .envfile import EnvFile


class Site(Protocol):
    """What a renderer reads of a site (:class:`~pytest_slo.repo.site.Site`)."""

    name: str
    env_display: str

    @property
    def env(self) -> EnvFile: ...

    @property
    def release(self) -> Any: ...

__all__ = ["PLACEHOLDERS", "BuiltinRenderer", "CommandRenderer", "Renderer", "renderer_for"]

PLACEHOLDERS = ("{release}", "{site}", "{app}", "{env_file}", "{output}")
#: The most a renderer may take for one (site, app): a hung ``helm template`` must not hang the gate.
TIMEOUT = 120.0


class Renderer(Protocol):
    def render(self, site: Site, app: str) -> str:
        """The values text of ``app`` at ``site``; raises :class:`RenderError`."""
        ...

    def command(self, site: Site, app: str, output: str) -> str:
        """What a person runs to write the same text to ``output`` (repo-relative)."""
        ...


class BuiltinRenderer:
    """``releases/<release>/apps/<app>/values.yaml.j2`` over the site's typed config."""

    def render(self, site: Site, app: str) -> str:
        return site.release.render(site.env, site=site.name, app=app)

    def command(self, site: Site, app: str, output: str) -> str:
        script = site.release.path / "render_values.py"
        if script.is_file():  # the repository's own wrapper (the reference layout has one)
            return f"python3 {site.release.display}/render_values.py --env-file {site.env_display} --output {output}"
        return f"pytest-slo render --site {site.name} --app {app}"


class CommandRenderer:
    """The repository's own renderer, run once per (site, app) into a temporary folder."""

    def __init__(self, template: str, root: Path) -> None:
        self.template = template
        self.root = root
        try:
            self.argv = shlex.split(template)
        except ValueError as exc:
            raise RenderError(f"slo_render_command {template!r} cannot be split into words: {exc}") from None
        if not self.argv:
            raise RenderError("slo_render_command is empty: write the command that renders one app's values")

    def _words(self, site: Site, app: str, output: str) -> list[str]:
        values = {
            "{release}": _release(site),
            "{site}": site.name,
            "{app}": app,
            "{env_file}": site.env_display,
            "{output}": output,
        }
        words = []
        for word in self.argv:
            for placeholder, value in values.items():
                word = word.replace(placeholder, value)
            words.append(word)
        return words

    def command(self, site: Site, app: str, output: str) -> str:
        return shlex.join(self._words(site, app, output))

    def render(self, site: Site, app: str) -> str:
        with tempfile.TemporaryDirectory(prefix="pytest-slo-render-") as folder:
            output = Path(folder) / app / "values.yaml"
            output.parent.mkdir()
            words = self._words(site, app, str(output))
            shown = shlex.join(words)
            try:
                done = subprocess.run(
                    words, cwd=self.root, capture_output=True, text=True, timeout=TIMEOUT, check=False
                )
            except FileNotFoundError:
                raise RenderError(
                    f"render command not found: {words[0]} (slo_render_command: {self.template})"
                ) from None
            except subprocess.TimeoutExpired:
                raise RenderError(f"render command took more than {TIMEOUT:g} s: {shown}") from None
            if done.returncode != 0:
                last = next(
                    (line.strip() for line in reversed(done.stderr.splitlines()) if line.strip()), "no output on stderr"
                )
                raise RenderError(f"render command exited {done.returncode}: {shown}: {last}")
            try:
                return output.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise RenderError(
                    f"render command exited 0 but wrote nothing to {{output}} ({output}): {shown}"
                ) from None
            except (OSError, UnicodeDecodeError) as exc:
                raise RenderError(f"cannot read what the render command wrote: {exc}: {shown}") from None


def _release(site: Site) -> str:
    entry = site.env.entries.get("RELEASE")
    return entry.value if entry else ""


def renderer_for(command: str | None, root: Path) -> Renderer:
    """The renderer of a run: the repository's command when it has one, else the built-in."""
    return CommandRenderer(command, root) if command else BuiltinRenderer()
