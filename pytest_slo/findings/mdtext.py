"""Text inside generated Markdown that renders as written.

Findings' messages are plain text that often holds PromQL (``100 * (sum(x) / 0 * y)``),
label matchers (``{le="0.5"}``), addresses and URLs. Dropped into Markdown as they are,
``*`` and ``_`` become emphasis, ``<`` a tag, ``|`` a table cell's end and a bare URL a lint
error (markdownlint's MD037, MD033, MD034). Every writer of Markdown (findings.md, the
postmortem draft) passes text through one of these functions instead: :func:`prose` for
words, :func:`code` for a query or a path, :func:`cell` for a table cell, :func:`message` for a
finding's line (what a reader copies in code spans, the rest as prose) and :func:`block` for
text whose lines and spacing matter.
"""

from __future__ import annotations

import re

__all__ = ["block", "cell", "code", "message", "prose"]

# the characters CommonMark lets a backslash escape that change inline rendering
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!])")
_URL = re.compile(r"\bhttps?://[^\s<>`]+[^\s<>`.,;:!?)\]'\"]")
# What a reader of a finding copies rather than reads, found in its message: a URL (an
# autolink), then a series selector with its range, a matcher set, a label pair, a Kubernetes
# label selector, a config assignment or key, an address with its port (code spans).
_TOKEN = re.compile(
    r"""(?P<url>""" + _URL.pattern + r""")
    | (?P<code>
        [A-Za-z_:][\w:]*\{[^{}\n]*\}(?:\[[^\]\s]+\])?
      | \{[^{}\n]*[=~][^{}\n]*\}(?:\[[^\]\s]+\])?
      | \b[A-Za-z_][\w]*(?:=|!=|=~|!~)"[^"\n]*"
      | \b[\w.-]+/[\w.-]+=[\w.-]+
      | \b[A-Z][A-Z0-9_]*=[^\s,;()]+
      | \b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b
      | \b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b
      | \b[\w-]+(?:\.[\w-]+)+:\d{2,5}\b
    )""",
    re.X,
)
# a message line that names a query (the live checks' ``  query: ...`` footer)
_LABELLED = re.compile(r"^(\s*(?:query|queries|expr|expression|selector):\s)(.+)$")


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


def message(text: object, *, in_table: bool = False) -> str:
    """One line of a finding's message as inline Markdown: what a reader copies (URLs as
    autolinks; a query after ``query:``, series selectors, label pairs, ``KEY=value``,
    addresses in code spans) set apart, the rest as :func:`prose`. ``in_table``: a ``|`` in a
    code span is escaped too, as a GFM table cell needs."""
    line = " ".join(str(text).split("\n"))
    labelled = _LABELLED.match(line)
    if labelled:
        return prose(labelled.group(1)) + _code(labelled.group(2).strip(), in_table)
    out: list[str] = []
    pos = 0
    for token in _TOKEN.finditer(line):
        out.append(prose(line[pos : token.start()]))
        out.append(f"<{token.group()}>" if token.lastgroup == "url" else _code(token.group(), in_table))
        pos = token.end()
    out.append(prose(line[pos:]))
    return "".join(out)


def _code(text: str, in_table: bool) -> str:
    span = code(text)
    return span.replace("|", "\\|") if in_table else span


def block(text: object, lang: str = "text") -> list[str]:
    """``text`` as a fenced code block (its lines), fenced past any backtick run inside."""
    body = str(text).splitlines() or [""]
    longest = max((len(run) for run in re.findall(r"`+", str(text))), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", *body, fence]
