"""``config.env`` parsing that remembers where each key was written.

The format is the shell-compatible subset GitOps repos use: ``KEY=VALUE`` lines, ``#``
comments (also after an unquoted value, separated by whitespace), blank lines, an optional
``export`` prefix and single- or double-quoted values. Every value stays a string; typing
is the schema's job. Parsing is lenient: a bad line is recorded as a problem with its line
number and skipped, so one typo does not hide every other check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

__all__ = ["EnvEntry", "EnvFile", "EnvFileError", "parse_env", "read_env"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvFileError(ConfigError):
    """A ``config.env`` line that is not ``KEY=VALUE``; carries the path and line."""


@dataclass(frozen=True)
class EnvEntry:
    key: str
    value: str
    line: int


@dataclass
class EnvFile:
    path: str
    entries: dict[str, EnvEntry] = field(default_factory=dict)
    problems: list[EnvFileError] = field(default_factory=list)
    line_count: int = 0

    @property
    def values(self) -> dict[str, str]:
        return {k: e.value for k, e in self.entries.items()}

    def line_of(self, key: str) -> int | None:
        entry = self.entries.get(key)
        return entry.line if entry else None

    def raise_first(self) -> None:
        if self.problems:
            raise self.problems[0]


def _unquote(raw: str, path: str, lineno: int) -> str:
    quote = raw[0]
    end = raw.find(quote, 1)
    while quote == '"' and end > 0 and raw[end - 1] == "\\":
        end = raw.find(quote, end + 1)
    if end < 0:
        raise EnvFileError(
            f"unterminated {quote} quote", path=path, line=lineno, hint=f"close the value with {quote}"
        )
    rest = raw[end + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise EnvFileError(
            f"unexpected text after the quoted value: {rest[:20]!r}",
            path=path,
            line=lineno,
            hint="put comments after a space and #",
        )
    inner = raw[1:end]
    if quote == '"':
        inner = inner.replace('\\"', '"').replace("\\\\", "\\")
    return inner


def parse_env(text: str, path: str = "config.env") -> EnvFile:
    """Parse ``config.env`` text; bad lines become ``problems``, never exceptions."""
    env = EnvFile(path=path)
    lines = text.splitlines()
    env.line_count = len(lines)
    for lineno, raw_line in enumerate(lines, start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("export ") or line.startswith("export\t"):
                line = line[len("export") :].lstrip()
            if "=" not in line:
                shown = line if len(line) <= 40 else line[:37] + "..."
                raise EnvFileError(
                    f"line has no '=': {shown!r}",
                    path=path,
                    line=lineno,
                    hint="write KEY=VALUE, or start the line with # to make it a comment",
                )
            key, _, raw = line.partition("=")
            key = key.strip()
            if not _KEY.match(key):
                raise EnvFileError(
                    f"{key!r} is not a valid key",
                    path=path,
                    line=lineno,
                    hint="keys are letters, digits and _, not starting with a digit",
                )
            raw = raw.strip()
            if raw[:1] in ("'", '"'):
                value = _unquote(raw, path, lineno)
            else:
                value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
            if key in env.entries:
                first = env.entries[key].line
                raise EnvFileError(
                    f"duplicate key {key} (first set on line {first})",
                    path=path,
                    line=lineno,
                    hint="keep one of the two lines",
                )
            env.entries[key] = EnvEntry(key, value, lineno)
        except EnvFileError as problem:
            env.problems.append(problem)
    return env


def read_env(path: Path, display: str | None = None) -> EnvFile:
    """Read and parse a file; an unreadable or non-UTF-8 file is one problem, not a crash."""
    shown = display or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvFileError(f"cannot read: {exc.strerror}", path=shown) from exc
    try:
        return parse_env(data.decode("utf-8"), shown)
    except UnicodeDecodeError as exc:
        # the other lines are still read (RELEASE among them); the bad one is named
        lineno = data.count(b"\n", 0, exc.start) + 1
        lines = data.split(b"\n")
        lines[lineno - 1] = b"# (not UTF-8)"
        env = parse_env(b"\n".join(lines).decode("utf-8", "replace"), shown)
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        env.problems.insert(
            0,
            EnvFileError(
                f"not UTF-8 text ({exc.reason} at byte {column} of the line)",
                path=shown,
                line=lineno,
                hint="save the file as UTF-8",
            ),
        )
        return env
