"""Runbooks: the links checks make, the headings they point at, and those that come with pytest-slo.

A check's ``runbook`` is a repo-relative Markdown path with an optional ``#anchor`` (a
GitHub-style heading slug), or a URL. The checks that come with pytest-slo
(``builtin/checks.yaml``: config.env parses and matches its schema, rendered values are in
sync, match theirs and sit where the gate reads them), catalog problems, waivers and OpenSLO
items link Markdown files in ``builtin/runbooks/`` by a ``file:`` URI of the installed file:
absolute, so every report can link it, and ``pytest-slo explain`` prints it anywhere.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = [
    "BUILTIN",
    "is_builtin_runbook",
    "markdown_anchors",
    "runbook",
    "runbook_problem",
    "runbook_text",
    "section_of",
]

#: The folder of the built-in checks and runbooks.
BUILTIN = Path(__file__).with_name("builtin")


def runbook(ref: str) -> str:
    """A runbook of ``builtin/`` (``runbooks/config.md#config-parse``) as a ``file:`` URI."""
    path, _, anchor = ref.partition("#")
    uri = (BUILTIN / path).resolve().as_uri()
    return f"{uri}#{anchor}" if anchor else uri


def is_builtin_runbook(uri: str) -> bool:
    return uri.startswith(BUILTIN.resolve().as_uri() + "/")


def runbook_problem(root: Path, runbook: str, *, anchors: bool = True) -> str | None:
    """Why a runbook reference does not resolve, or None. URLs are taken as given."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", runbook):
        return None
    path, _, anchor = runbook.partition("#")
    target = root / path
    if not path or not target.is_file():
        return f"runbook {path or runbook!r} does not exist"
    if anchors and anchor and anchor not in markdown_anchors(target):
        return f"runbook {path} has no heading for #{anchor}"
    return None


def _headings(text: str) -> list[tuple[int, int, str]]:
    """``(line index, level, GitHub-style slug)`` of every heading of a Markdown text."""
    out: list[tuple[int, int, str]] = []
    seen: dict[str, int] = {}
    for index, line in enumerate(text.splitlines()):
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if heading:
            words = re.sub(r"\{#[^}]*\}", "", heading.group(2))
            slug = re.sub(r"[^\w\- ]", "", words.strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            out.append((index, len(heading.group(1)), slug if count == 0 else f"{slug}-{count}"))
    return out


def markdown_anchors(path: Path) -> set[str]:
    """GitHub-style heading slugs plus explicit ``<a id=...>`` / ``{#id}`` anchors."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = {slug for _, _, slug in _headings(text)}
    found.update(re.findall(r"""<a\s+(?:id|name)=["']([^"']+)["']""", text))
    found.update(re.findall(r"\{#([A-Za-z0-9_-]+)\}", text))
    return found


def section_of(text: str, anchor: str) -> str | None:
    """The Markdown section whose heading's slug is ``anchor``, up to the next heading of
    the same or a higher level; None when no heading has that slug."""
    lines = text.splitlines()
    headings = _headings(text)
    for position, (index, level, slug) in enumerate(headings):
        if slug == anchor:
            end = next((i for i, lv, _ in headings[position + 1 :] if lv <= level), len(lines))
            return "\n".join(lines[index:end]).strip() + "\n"
    return None



@functools.lru_cache(maxsize=32)
def _file(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def runbook_text(reference: str, root: Path | None = None) -> str | None:
    """The Markdown section a runbook reference points at (the whole file without an
    anchor), for ``file:`` URIs and repo-relative paths under ``root``; None for other URLs
    or a file that cannot be read."""
    if reference.startswith("file:"):
        parts = urlsplit(reference)
        path, anchor = unquote(parts.path), parts.fragment
    elif "://" in reference or root is None:
        return None
    else:
        relative, _, anchor = reference.partition("#")
        path = str(root / relative)
    try:
        text = _file(path)
    except (OSError, UnicodeDecodeError):
        return None
    return section_of(text, anchor) if anchor else text
