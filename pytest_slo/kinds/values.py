"""``kind: values``: judge an app's rendered Helm values (offline).

``test: in-sync`` re-renders in memory and compares with the committed file byte for byte;
``test: schema`` validates the committed file against the app's ``values.schema.json`` (and
refuses repeated keys, as newer ``helm lint`` does); ``test: stray`` fails while a rendered
values file of the app sits outside ``slo_values_path``, where no check reads it; otherwise
``assert`` is an expression over ``values`` (the committed document) and the config.

The rendered file is generated, so a finding never asks to edit it: it points at the
config.env line of the key that fed the value, or at the template line that wrote it
(output line N comes from template line N when the template has no ``{% %}`` blocks).
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from ..catalog.model import Check
from ..catalog.schema import test_or_assert
from ..errors import ConfigError, SloError
from ..repo.layout import app_folders
from ..repo.schema import values_problems
from ..yamlio import DuplicateKeyError, line_of_path, load_yaml
from ._expr import EXPRESSION_SCHEMA, config_context, judge, location_keys, read_paths
from .base import Kind, Location, Target, Verdict

__all__ = ["Blame", "ValuesKind", "blame", "committed_values", "render_command", "trace_to_config"]


def render_command(target: Target) -> str:
    """What a person runs to render the target's values where the gate reads them."""
    return target.site.render_command(target.app or "")


def committed_values(target: Target) -> tuple[str, str]:
    """The committed values text and its display path, read once per run (in-sync, schema and
    the kube drift items of one (site, app) share it); a missing file errors each of them."""
    site, app = target.site, target.app or ""
    display = site.values_display(app)

    def read() -> str:
        try:
            return site.values_file(app).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                "rendered values are missing",
                path=display,
                hint=f"render them: {render_command(target)}",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the rendered values: {exc}", path=display) from None

    return site.memo(("committed", app), read), display


def trace_to_config(target: Target, rendered_line: int | None) -> Location | None:
    """The config.env line that fed a rendered line, when the template makes it knowable."""
    found = blame(target, rendered_line)
    return found.location if found is not None and found.key else None


class Blame:
    """Who wrote a rendered line: a config.env key (``key`` set) or the template itself."""

    def __init__(self, location: Location, key: str | None = None, note: str = "") -> None:
        self.location = location
        self.key = key
        self.note = note


_ANY = object()


def _same(a: Any, b: Any) -> bool:
    # 3 and "3" differ, and so do True and 1: the template's quoting is what made them differ
    return type(a) is type(b) and a == b


def blame(target: Target, rendered_line: int | None, value: Any = _ANY) -> Blame | None:
    """Whom to ask to change rendered line ``rendered_line`` of the app's values.

    The config.env key read on that template line, when the rendered value is that key's
    value as config.env types it (or when no ``value`` is given); otherwise the template
    line, which turned a key into something else or wrote the text itself.

    A template with ``{% %}`` blocks does not keep lines: then the one key the template
    reads whose value the rendered value is, else the template file without a line; with
    no ``value`` to go by, None. None too when the template cannot be read.
    """
    if rendered_line is None or target.app is None:
        return None
    site = target.site
    if site.repo.render_command:
        return _blame_by_value(target, rendered_line, value)
    try:
        template = site.release.template(target.app)
        config = site.config
    except SloError:
        return None
    if not template.line_preserving:
        if value is _ANY:
            return None
        read = sorted({n for names in template.names_by_line.values() for n in names if site.env.line_of(n)})
        matching = [n for n in read if _same(config.get(n, _ANY), value)]
        if len(matching) == 1:
            return Blame(Location(site.env_display, site.env.line_of(matching[0])), matching[0])
        return Blame(Location(template.display, None), note="the template writes it")
    names = [n for n in template.names_by_line.get(rendered_line, ()) if site.env.line_of(n)]
    for name in names:
        if value is _ANY or _same(config.get(name, _ANY), value):
            return Blame(Location(site.env_display, site.env.line_of(name)), name)
    here = Location(template.display, rendered_line)
    if names:
        fed = ", ".join(f"{n}={config.get(n, '?')!r}" for n in names)
        return Blame(here, note=f"the template turns {fed} into {value!r}")
    return Blame(here, note="the template writes it")


def _blame_by_value(target: Target, rendered_line: int, value: Any) -> Blame:
    """Whom to ask when the repository's own renderer wrote the values: no template says which
    key feeds which line, so only a key whose value is the rendered value, when one alone is."""
    site = target.site
    if value is _ANY:
        text = _line(_fresh(target), rendered_line) or ""
        value = text.partition(":")[2].split("#")[0].strip().strip("'\"") if ":" in text else None
        matching = sorted(k for k, e in site.env.entries.items() if value and e.value == value)
    else:
        config = site.config
        matching = sorted(k for k in site.env.entries if _same(config.get(k, _ANY), value))
    if len(matching) == 1:
        return Blame(Location(site.env_display, site.env.line_of(matching[0])), matching[0])
    note = f"one of {', '.join(matching)}" if matching else "written by the repository's renderer (slo_render_command)"
    return Blame(Location(site.env_display, None), note=note)


def _fresh(target: Target) -> str | None:
    try:
        return target.site.rendered(target.app or "")
    except SloError:
        return None


def _line(text: str | None, number: int) -> str | None:
    lines = (text or "").splitlines()
    return lines[number - 1] if text is not None and 0 < number <= len(lines) else None


def _blame_committed(
    target: Target, committed: str, line: int | None, value: Any = _ANY, *, key: bool = False
) -> tuple[Location | None, str]:
    """Where to fix a problem found on ``line`` of the committed file, and how to say it.

    ``key``: the problem is the key itself (a repeated key), which the template writes
    whatever config.env says.
    """
    display = target.site.values_display(target.app or "")
    if line is None:
        return None, ""
    fresh = _fresh(target)
    if fresh is not None and _line(committed, line) != _line(fresh, line):
        # the committed line is not what a render gives: a hand edit or a stale render
        return Location(display, line), f"not what a fresh render gives: re-render with {render_command(target)}"
    if key:
        try:
            template = target.site.release.template(target.app or "")
        except SloError:
            return Location(display, line), ""
        # output line N is template line N only in a template without {% %} blocks
        here = Location(template.display, line if template.line_preserving else None)
        return here, f"the template writes it: fix {here}"
    found = blame(target, line, value)
    if found is None:
        return Location(display, line), ""
    if found.key:
        return found.location, f"set by {found.key} at {found.location}"
    if found.location.line is None:  # the repository's own renderer wrote it: no line to name
        return found.location, found.note
    return found.location, f"{found.note}: fix {found.location}"


class ValuesKind(Kind):
    name = "values"
    scope = "app"
    spec_schema: ClassVar[dict[str, Any]] = test_or_assert(
        "values", ["in-sync", "schema", "stray", "orphans"], EXPRESSION_SCHEMA
    )

    def scope_of(self, check: Check) -> str:
        # the folders of apps a site's release does not have belong to no app: one item per site
        return "site" if check.spec.get("test") == "orphans" else super().scope_of(check)

    def evaluate(self, check: Check, target: Target, data: Any) -> Verdict:
        test = check.spec.get("test")
        if test == "orphans":
            return self._orphans(target)
        if test == "in-sync":
            return self._in_sync(target)
        if test == "schema":
            return self._schema(target)
        if test == "stray":
            return self._stray(target)
        text, display = committed_values(target)
        context = config_context(target)
        context["values"] = load_yaml(text, display) or {}
        ok, message, evidence = judge(check, target, context)
        keys = location_keys(check, context)
        if keys:
            return Verdict(ok, message, evidence, target.env_location(*keys))
        # the line of the first values field the assert reads, traced to what wrote it
        fields = [p[1:] for p in read_paths(check.spec["assert"]) if p[0] == "values"]
        line = line_of_path(text, fields[0]) if fields and not ok else None
        location = _blame_committed(target, text, line)[0] if line else None
        return Verdict(ok, message, evidence, location or Location(display, None))

    def _in_sync(self, target: Target) -> Verdict:
        fresh = target.site.rendered(target.app or "")
        committed, display = committed_values(target)
        if committed == fresh:
            return Verdict.passed(file=display, bytes=len(fresh))
        old, new = committed.splitlines(), fresh.splitlines()
        first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
        diff = list(
            difflib.unified_diff(old, new, f"{display} (committed)", f"{display} (fresh render)", lineterm="", n=1)
        )
        shown = diff[:40] + ([f"... {len(diff) - 40} more diff lines"] if len(diff) > 40 else [])
        was = old[first].strip() if first < len(old) else "<end of file>"
        now = new[first].strip() if first < len(new) else "<end of file>"
        # the committed file is generated: point at what changed the render, never at it; past
        # the render's end the committed file has lines no render writes: a hand edit
        found = blame(target, first + 1) if first < len(new) else None
        if found is None and first >= len(new) and first < len(old):
            location, why = Location(display, first + 1), " (no render writes it: an edit by hand)"
        elif found is None:
            location, why = Location(target.site.env_display, None), ""
        elif found.key:
            location, why = found.location, f" ({found.key} at {found.location})"
        else:
            # the repository's own renderer: no template line to name, only what is known
            custom = found.location.line is None and found.note
            location, why = found.location, f" ({found.note})" if custom else f" (from the template, {found.location})"
        command = render_command(target)
        # config.env is the truth: whatever made the two differ, a fresh render is the fix
        return Verdict(
            False,
            f"{display} is out of date with {target.site.env_display}: line {first + 1} is {was!r}, "
            f"a fresh render gives {now!r}{why}. Re-render and commit: {command}",
            {"diff": "\n".join(shown), "command": command},
            location,
            objects=_drifted(target, old, new),
            action=f"re-render and commit {display}: {command}",
        )

    def _schema(self, target: Target) -> Verdict:
        app = target.app or ""
        validator = target.site.release.values_validator(app)
        text, display = committed_values(target)
        try:
            values = load_yaml(text, display)
        except DuplicateKeyError as exc:
            return self._duplicates(target, text, exc)
        problems = values_problems(values, validator)
        schema = f"{target.site.release.display}/apps/{app}/values.schema.json"
        if not problems:
            return Verdict.passed(file=display, schema=schema)
        lines = []
        location: Location | None = None
        for problem in problems:
            path = ".".join(map(str, problem.path)) or "<document>"
            line = line_of_path(text, problem.path)
            edit, why = _blame_committed(target, text, line, problem.instance)
            lines.append(f"{display}:{line or '?'}: {path}: {problem.message}" + (f" ({why})" if why else ""))
            location = location or edit
        return Verdict(
            False,
            f"{display} does not match {schema} ({len(problems)} problem(s)):\n  " + "\n  ".join(lines),
            {"problems": lines, "schema": schema},
            location or Location(display, None),
            objects=[{"path": ".".join(map(str, p.path)) or "<document>"} for p in problems],
        )

    def _duplicates(self, target: Target, text: str, exc: DuplicateKeyError) -> Verdict:
        lines = []
        location: Location | None = None
        for dup in exc.duplicates:
            edit, why = _blame_committed(target, text, dup.line, key=True)
            lines.append(dup.describe(exc.display) + (f"; {why}" if why else ""))
            location = location or edit
        what = "a key" if len(lines) == 1 else f"{len(lines)} keys"
        return Verdict(
            False,
            f"{exc.display} repeats {what}: YAML keeps only the last value and helm lint rejects the file\n  "
            + "\n  ".join(lines),
            {"duplicates": [{"key": d.key, "line": d.line, "first": d.first} for d in exc.duplicates]},
            location,
            objects=[{"path": d.key} for d in exc.duplicates],
        )

    def _stray(self, target: Target) -> Verdict:
        repo, app = target.site.repo, target.app or ""
        # a stray under another site's folder is that site's; one outside sites/ is everyone's
        others = {f"sites/{s}/" for s in repo.site_names if s != target.site.name}
        strays = [p for p in repo.stray_values.get(app, []) if not any(p.startswith(o) for o in others)]
        reads = target.site.values_display(app)
        if not strays:
            return Verdict.passed(reads=reads)
        return Verdict(
            False,
            f"{', '.join(strays)}: rendered values of {app} that no check reads (the gate reads {reads}, "
            f"slo_values_path {repo.values_path}); delete {'them' if len(strays) > 1 else 'it'}, and render with "
            f"{render_command(target)}",
            {"stray": strays, "reads": reads, "values_path": repo.values_path},
            Location(strays[0], None),
            objects=[{"file": f} for f in strays],
        )


    def _orphans(self, target: Target) -> Verdict:
        site = target.site
        folders = app_folders(site.repo.root, site.repo.values_path, site.name)
        apps = site.apps
        orphans = {name: path for name, path in folders.items() if name not in apps}
        if not orphans:
            return Verdict.passed(apps=len(folders))
        release = f"release {site.release.name}" if _has_release(target) else "the repository's releases"
        lines = []
        for name, path in orphans.items():
            close = difflib.get_close_matches(name, apps, n=1)
            lines.append(
                f"{path}/: no app {name} in {release}"
                + (f": did you mean {close[0]}?" if close else f" (apps: {', '.join(apps) or 'none'})")
            )
        return Verdict(
            False,
            f"{len(orphans)} folder(s) of rendered values belong to no app of {site.name}, so no check reads them:\n  "
            + "\n  ".join(lines),
            {"orphans": list(orphans.values()), "apps": list(apps)},
            Location(next(iter(orphans.values())), None),
            objects=[{"folder": path} for path in orphans.values()],
        )


def _has_release(target: Target) -> bool:
    try:
        target.site.release  # noqa: B018 - the site's RELEASE may be missing or wrong
    except SloError:
        return False
    return True


def _drifted(target: Target, old: list[str], new: list[str]) -> list[dict[str, str]]:
    """What drifted, for the fingerprint: the config.env key behind each changed line of the
    fresh render (or the line's text when the template, not a key, made it)."""
    changed: list[int] = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            changed += range(j1, max(j2, j1 + 1))
    objects: dict[str, dict[str, str]] = {}
    for index in changed[:50]:
        found = blame(target, min(index + 1, len(new))) if new else None
        ident = (
            {"key": found.key}
            if found is not None and found.key
            else {"line": new[index].strip() if index < len(new) else "<end of file>"}
        )
        objects[str(sorted(ident.items()))] = ident
    return list(objects.values())
