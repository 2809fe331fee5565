"""findings.mdtext's message() and block(): a finding's text, put into Markdown, renders as the
characters it holds (rendered by markdown-it, a CommonMark renderer with GFM tables), with
what a reader copies in code spans."""

from __future__ import annotations

import html
import re

from pytest_slo.findings.mdtext import block, message

from .authorities import render_markdown, rendered_texts

# real message lines of the shipped checks (the demo's findings) and what messages may hold
LINES = [
    "instance=\"127.0.0.1:42265\": 62 writes refused with 'OOM command not allowed'; expected none",
    "REDIS_MAXMEMORY=1536mb (1.5Gi) is 300% of the 512Mi limit; expected at most 80% of the limit, 410Mi",
    "127.0.0.1:54161: maxmemory-policy noeviction live (read via redis)",
    "in namespace production, selector app.kubernetes.io/name=api-server (kubernetes context 'fake-kube' at "
    "http://127.0.0.1:37159)",
    'no series: no series has redis_memory_used_bytes{namespace="production", service="redis-cluster"}',
    'query: 100 * (sum(rate(http_requests_total{code=~"5..|4.."}[5m])) / 0 * last_over_time(up[1h]))',
    "p99 8400 ms (16.8x the SLO); expected <= 500 ms (SLO_API_LATENCY_P99_MS)",
    "a `quoted` <b>tag</b> _under_ *star* [link](x) #7 ~x~ !a \\ back|pipe & amp",
    "redis-cluster.production.svc:6379 refused the connection: see https://redis.io/docs/a_b_c.",
]


def test_message_renders_as_written_and_sets_apart_what_a_reader_copies() -> None:
    markdown = "\n\n".join(message(line) for line in LINES) + "\n"
    assert rendered_texts(markdown) == LINES
    rendered = render_markdown(markdown)
    assert "<code>127.0.0.1:54161</code>" in rendered
    assert '<code>instance=&quot;127.0.0.1:42265&quot;</code>' in rendered
    assert "<code>REDIS_MAXMEMORY=1536mb</code>" in rendered and "<code>SLO_API_LATENCY_P99_MS</code>" in rendered
    assert "<code>app.kubernetes.io/name=api-server</code>" in rendered
    assert '<a href="http://127.0.0.1:37159">' in rendered and '<a href="https://redis.io/docs/a_b_c">' in rendered
    assert (
        "<code>100 * (sum(rate(http_requests_total{code=~&quot;5..|4..&quot;}[5m])) / 0 * "
        "last_over_time(up[1h]))</code>"
        in rendered
    )
    assert "<em>" not in rendered and "<b>" not in rendered  # no emphasis or tag a message did not mean


def test_message_in_a_table_cell_keeps_its_pipes() -> None:
    rows = [f"| {message(line, in_table=True)} |" for line in LINES]
    assert rendered_texts("| message |\n| --- |\n" + "\n".join(rows) + "\n") == LINES


def test_block_keeps_lines_and_spacing_past_any_fence_inside() -> None:
    text = "StatefulSet/redis-cluster redis: limits differ\n    declared 2Gi      live 512Mi\n```\n*not* emphasis"
    rendered = render_markdown("\n".join(block(text)) + "\n")
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)).rstrip("\n") == text
