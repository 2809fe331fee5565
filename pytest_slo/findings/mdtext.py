"""Text inside generated Markdown that renders as written.

Findings' messages are plain text that often holds PromQL (``100 * (sum(x) / 0 * y)``),
label matchers (``{le="0.5"}``), addresses and URLs. Dropped into Markdown as they are,
``*`` and ``_`` become emphasis, ``<`` a tag, ``|`` a table cell's end and a bare URL a lint
error (markdownlint's MD037, MD033, MD034). Every writer of Markdown (findings.md, the
postmortem draft) passes text through one of these three functions instead.
"""

from __future__ import annotations

import re

__all__ = ["cell", "code", "prose"]

# the characters CommonMark lets a backslash escape that change inline rendering
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!])")
_URL = re.compile(r"\bhttps?://[^\s<>`]+[^\s<>`.,;:!?)\]'\"]")


def prose(text: object) -> str:
    """``text`` as inline Markdown that renders exactly as the characters it holds: the
    specials escaped, URLs as autolinks (``<https://...>``), one line."""
    out: list[str] = []
    rest = " ".join(str(text).split("\n"))
    pos = 0
    for match in _URL.finditer(rest):
        out.append(_SPECIAL.sub(r"\\\1", rest[pos : match.start()]))
        out.append(f"<{match.group(0)}>")
        pos = match.end()
    out.append(_SPECIAL.sub(r"\\\1", rest[pos:]))
    return "".join(out)


def code(text: object) -> str:
    """``text`` as one code span, fenced with more backticks than any run inside it."""
    body = " ".join(str(text).split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    # a span that starts or ends with a backtick (or is only spaces) needs a space inside
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def cell(text: object) -> str:
    """``text`` as a table cell: :func:`prose` with its lines joined by ``<br>``."""
    return "<br>".join(prose(line) for line in str(text).splitlines()) or ""
