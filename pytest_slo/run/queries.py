"""Every PromQL query a check sends, rendered for a site, and parsed before anything is sent.

A query is a jinja2 template; what it renders to at a site is only known there
(``metric{{ selector }}`` renders ``metricnamespace="x", service="y"``, which Prometheus
refuses). So each promql check's query and details and each OpenSLO indicator's queries are
rendered for every site of the run and parsed offline by a real PromQL parser
(``promql-parser``, GreptimeDB's parser): a query that does not parse is a problem of the
catalog at its line, with the rendered text and the parser's word, and the check's items at
that site error with it instead of asking Prometheus.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..catalog.model import Check
from ..errors import CatalogError, SloError
from ..kinds.base import Kind, Target

__all__ = ["parse_problem", "query_problems", "rendered_queries", "sends_queries"]


def sends_queries(kind: Kind) -> bool:
    """Whether items of ``kind`` send PromQL queries :func:`rendered_queries` can name."""
    from ..kinds.openslo import OpenSloKind
    from ..kinds.promql import PromqlKind

    return isinstance(kind, (PromqlKind, OpenSloKind)) or callable(getattr(kind, "promql_queries", None))


def rendered_queries(kind: Kind, check: Check, target: Target) -> list[tuple[str, str]]:
    """``(field, query)`` of every PromQL query ``check`` sends for ``target``, rendered."""
    from ..kinds.openslo import OpenSloKind, render_queries
    from ..kinds.promql import PromqlKind

    if isinstance(kind, PromqlKind):
        details = kind.detail_queries(check, target)
        return [("query", kind.query_text(check, target)), *((f"details.{n}", q) for n, q in details.items())]
    if isinstance(kind, OpenSloKind):
        queries = render_queries(check, target)[0]
        return [(name, text) for name in ("good", "bad", "total", "query") if (text := getattr(queries, name))]
    own = getattr(kind, "promql_queries", None)  # a plugin kind may say what it sends
    return list(own(check, target)) if callable(own) else []


def parse_problem(query: str) -> str | None:
    """Why ``query`` is not PromQL, in the parser's words (with a hint for the usual slips);
    None when it parses."""
    problem = _parsed(_EQUALS.sub(r'\g<op>"_"', query))
    return None if problem is None else problem + _hint(query, problem)


# The value an equality matcher compares with is a string whatever it holds: every site's
# query (one namespace each) parses alike, so a query is parsed once per shape, not per site.
# Regex matchers (=~, !~) keep their text: a pattern can be invalid.
_EQUALS = re.compile(r'(?P<op>!=|(?<![!=~<>])=)\s*"(?:[^"\\]|\\.)*"')


@functools.lru_cache(maxsize=4096)
def _parsed(query: str) -> str | None:
    import promql_parser

    try:
        promql_parser.parse(query)
    except ValueError as exc:
        return str(exc)
    return None


# ``metric{{ selector }}``: the selector's matchers glued to the name, outside braces
_GLUED = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*?[a-z_]+=~?\"")


def _hint(query: str, problem: str) -> str:
    if _GLUED.search(query) and "{" not in query.split("=", 1)[0]:
        return ": label matchers outside { } (write metric{ {{ selector }} }, not metric{{ selector }})"
    if "parenthes" in problem and query.count("(") != query.count(")"):
        return f": {query.count('(')} ( against {query.count(')')} )"
    return ""


def query_problems(kinds: Any, pairs: Iterable[tuple[Check, Target]]) -> Iterator[tuple[Check, Target, CatalogError]]:
    """For each (check, target) whose rendered queries do not all parse: the problem, at the
    check's line. A query that cannot be rendered at a site is the item's own error, not this."""
    for check, target in pairs:
        if check.problem is not None or check.kind not in kinds:
            continue
        try:
            queries = rendered_queries(kinds[check.kind], check, target)
        except SloError:
            continue
        for field, text in queries:
            problem = parse_problem(text)
            if problem is not None:
                yield (
                    check,
                    target,
                    CatalogError(
                        f"check {check.id!r}: {field} at site {target.site.name} is not PromQL: {problem}; "
                        f"rendered: {text}",
                        path=check.source,
                        line=check.line_of(field.partition(".")[0]),
                        hint="fix the query template (the parser is promql-parser, as Prometheus parses)",
                    ),
                )
                break

