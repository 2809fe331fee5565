"""Text helpers shared by the sources' error messages."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line, whitespace collapsed, cut to ``limit`` characters with ``...``.

    Server messages and exception texts end up in one-line findings and terminal reports, so
    a multi-line stack trace from a proxy must not break them.
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
