"""Text in generated Markdown renders as the characters it holds."""

from __future__ import annotations

from pytest_slo.findings.mdtext import cell, code, prose


def test_prose_escapes_what_markdown_would_render() -> None:
    query = '100 * (sum(rate(x{le="0.5"}[5m])) / 0 * last_over_time(y[1h])) | <b>_a_'
    assert prose(query) == r'100 \* (sum(rate(x\{le="0.5"\}\[5m\])) / 0 \* last\_over\_time(y\[1h\])) \| \<b\>\_a\_'


def test_prose_makes_urls_autolinks_without_their_trailing_punctuation() -> None:
    assert prose("see https://example.com/a_b?x=1. then") == "see <https://example.com/a_b?x=1>. then"


def test_code_span_fences_around_backticks() -> None:
    assert code("rate(x[5m])") == "`rate(x[5m])`"
    assert code("a `b` c") == "``a `b` c``"
    assert code("`start") == "`` `start ``"


def test_cell_keeps_lines_apart() -> None:
    assert cell("a|b\nc*d") == r"a\|b<br>c\*d"
