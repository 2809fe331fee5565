"""What an option's value must be, for the checks :mod:`pytest_slo.settings` makes of them.

Each function raises ``ValueError`` (or returns the problem) saying what is wrong in a
person's words; settings turns that into a usage error naming the flag and its ini twin.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

__all__ = [
    "due_offsets",
    "pushgateway_problem",
    "render_command_problem",
    "rfc3339",
    "seconds",
    "slos_path_problem",
    "template_problem",
    "values_path_problem",
]


def _placeholders(pattern: str) -> list[str]:
    """The ``{names}`` of a format pattern; ``ValueError`` for a lone brace."""
    import string

    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]


def values_path_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot say where an app's rendered values live at a site."""
    try:
        names = _placeholders(pattern)
    except ValueError as exc:
        return f"{pattern!r}: {exc} (write {{site}} and {{app}}, e.g. sites/{{site}}/apps/{{app}}/values.yaml)"
    unknown = [n for n in names if n not in ("site", "app")]
    if unknown:
        return f"{pattern!r}: {{{unknown[0]}}} is no placeholder: the placeholders are {{site}} and {{app}}"
    if "app" not in names:
        return (
            f"{pattern!r} has no {{app}}: every app of a site would read the same file (e.g. "
            "sites/{site}/apps/{app}/values.yaml)"
        )
    return None


_WORD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
RENDER_PLACEHOLDERS = ("release", "site", "app", "env_file", "output")


def render_command_problem(command: str) -> str | None:
    """Why ``command`` cannot render: a ``{placeholder}`` it does not know, or no ``{output}``."""
    import difflib

    for name in _WORD.findall(command):
        if name not in RENDER_PLACEHOLDERS:
            close = difflib.get_close_matches(name, RENDER_PLACEHOLDERS, n=1)
            return (f"{{{name}}} is no placeholder" + (f": did you mean {{{close[0]}}}?" if close else "")
                    + f" (the placeholders are {', '.join('{' + p + '}' for p in RENDER_PLACEHOLDERS)})")
    if "{output}" not in command:
        return "the command has no {output}: it must write the app's values to the file the gate names there"
    return None


def seconds(text: str) -> float:
    from .expr import duration_seconds

    seconds = duration_seconds(text)  # its QuantityError is a ValueError saying why
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration greater than 0")
    return seconds


def due_offsets(text: str) -> dict[str, float]:
    """``P1=1d,P2=3d`` → seconds after detection by priority (P0..P4)."""
    offsets: dict[str, float] = {}
    for part in text.split(","):
        priority, sep, duration = (s.strip() for s in part.partition("="))
        if not sep or not re.fullmatch(r"P[0-4]", priority):
            raise ValueError(f"{part.strip()!r} is not PRIORITY=DURATION such as P1=1d (priorities P0 to P4)")
        offsets[priority] = seconds(duration)
    return offsets


def template_problem(path: Path) -> str | None:
    """Why a postmortem template cannot be used, found before the run instead of on the night."""
    import jinja2

    from .expr import SloEnvironment

    try:
        SloEnvironment().parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return f"{path} is not UTF-8 text"
    except jinja2.TemplateSyntaxError as exc:
        return f"{path}:{exc.lineno}: template syntax error: {exc.message}"
    return None


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)")


def rfc3339(text: str) -> datetime:
    """An RFC 3339 time with its offset, in UTC; ``ValueError`` otherwise."""
    expected = "expected an RFC 3339 time with its offset, such as 2026-11-27T13:58:00Z or 2026-11-27T14:58:00+01:00"
    parsed = None
    if match := _RFC3339.fullmatch(text):
        date, clock, fraction, offset = match.groups()
        micro = (fraction or "0")[:6].ljust(6, "0")  # Python 3.10 takes 6 digits only
        try:
            parsed = datetime.fromisoformat(f"{date}T{clock}.{micro}{'+00:00' if offset in 'Zz' else offset}")
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValueError(f"{text!r}: {expected}")
    return parsed.astimezone(timezone.utc)


def slos_path_problem(root: Path, slos_path: str, given: bool) -> str | None:
    """Why the SLO folder cannot be read: one named on purpose must exist, or every SLO of the
    repository would be dropped without a word; the default ``slos`` may be absent (no SLOs)."""
    folder = root / slos_path
    if folder.is_dir():
        return None
    what = "name the folder of the OpenSLO documents (*.yaml), relative to the root"
    if folder.exists():
        return f"{slos_path} is a file, not a folder (root {root}): {what}"
    if given:
        return f"no folder {slos_path} under the root {root}: {what}"
    return None


def pushgateway_problem(url: str) -> str | None:
    """Why ``url`` is no Pushgateway address: an http(s) URL without credentials (those come
    from the environment, never a flag)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL such as http://pushgateway.monitoring:9091"
    if parts.username or parts.password:
        return ("the URL carries credentials; set SLO_PUSHGATEWAY_USER and SLO_PUSHGATEWAY_PASSWORD"
                " (or SLO_PUSHGATEWAY_TOKEN) in the environment instead")
    return None
