"""The vector selectors of a PromQL query, found without a PromQL parser.

:meth:`~pytest_slo.sources.prometheus.PrometheusSource.diagnose_empty` needs only the
selectors (metric name and label matchers) of a query to ask, one by one, which of them
selects nothing; a tokenizer that skips strings, ranges, function names and grouping labels
is enough for that, and keeps the live path free of dependencies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["Matcher", "Selector", "call_arguments", "vector_selectors"]

_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<braces>\{(?:[^}"'`]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)*\})
    |(?P<range>\[[^\]]*\])
    |(?P<number>(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)[a-zA-Z0-9]*)
    |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    |(?P<comment>\#[^\n]*)
    |(?P<other>\S)""",
    re.VERBOSE,
)
_QUOTED = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"""
_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*" + _QUOTED + r"\s*,?")
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}  # followed by label names
_KEYWORDS = _GROUPING | {
    "and", "or", "unless", "atan2", "bool", "offset", "inf", "nan",
    "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
}


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.label}{self.op}{json.dumps(self.value, ensure_ascii=False)}"

    def matches(self, value: str) -> bool:
        if self.op in ("=", "!="):
            return (value == self.value) == (self.op == "=")
        try:
            return bool(re.fullmatch(self.value, value)) == (self.op == "=~")
        except re.error:
            return True  # RE2 syntax Python lacks: do not blame this matcher


@dataclass(frozen=True)
class Selector:
    """A vector selector of a query: the metric name (or ``None``) and its label matchers."""

    name: str | None
    matchers: tuple[Matcher, ...] = ()

    @property
    def filters(self) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m.label != "__name__")

    @property
    def metric(self) -> str:
        """The metric name, or the ``{__name__=~...}`` selector that stands for it."""
        return self.name or self.base or str(self)

    @property
    def base(self) -> str | None:
        """The selector with the metric name only (``None`` without one): does the metric exist?"""
        named = [m for m in self.matchers if m.label == "__name__"]
        if self.name:
            return self.name + ("{" + ",".join(map(str, named)) + "}" if named else "")
        return "{" + ",".join(map(str, named)) + "}" if named else None

    def __str__(self) -> str:
        inner = ",".join(map(str, self.matchers))
        return f"{self.name or ''}{{{inner}}}" if inner else (self.name or "{}")


def vector_selectors(promql: str) -> list[Selector]:
    """The distinct vector selectors of ``promql``, in order; function and label names are skipped."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(promql) if m.lastgroup != "comment"]
    found: dict[Selector, None] = {}
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "ident" and text.lower() in _GROUPING and after[1] == "(":
            depth, i = 1, i + 2  # skip `by (le, service)`: label names, not metrics
            while i < len(tokens) and depth:
                depth += {"(": 1, ")": -1}.get(tokens[i][1], 0)
                i += 1
            continue
        if kind == "ident" and text.lower() not in _KEYWORDS and after[1] != "(":
            found[Selector(text, _matchers(after[1]) if after[0] == "braces" else ())] = None
            i += 2 if after[0] == "braces" else 1
            continue
        if kind == "braces":
            matchers = _matchers(text)
            names = [m.value for m in matchers if m.label == "__name__" and m.op == "="]
            rest = tuple(m for m in matchers if not (m.label == "__name__" and m.op == "=")) if names else matchers
            found[Selector(names[0] if names else None, rest)] = None
        i += 1
    return list(found)


def call_arguments(promql: str, function: str) -> list[tuple[str, ...]]:
    """The argument texts of every call of ``function`` in ``promql``, outermost first: commas
    inside strings, label matchers, ranges and nested calls do not split an argument."""
    tokens = [m for m in _TOKEN.finditer(promql) if m.lastgroup != "comment"]
    calls = []
    for i, token in enumerate(tokens[:-1]):
        if token.lastgroup != "ident" or token.group() != function or tokens[i + 1].group() != "(":
            continue
        depth, start, args = 0, tokens[i + 1].end(), []
        for t in tokens[i + 1:]:
            text = t.group()
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
                if depth == 0:
                    args.append(promql[start:t.start()].strip())
                    break
            elif text == "," and depth == 1:
                args.append(promql[start:t.start()].strip())
                start = t.end()
        calls.append(tuple(a for a in args if a))
    return calls


def _matchers(braces: str) -> tuple[Matcher, ...]:
    result = []
    for label, op, quoted in _MATCHER.findall(braces[1:-1]):
        if quoted[0] == "`":
            value = quoted[1:-1]
        else:
            try:
                value = json.loads('"' + quoted[1:-1].replace("\\'", "'") + '"')
            except ValueError:
                value = quoted[1:-1]
        result.append(Matcher(label, op, value))
    return tuple(result)
