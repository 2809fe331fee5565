"""What the repository declares, to tell a typo in the catalog from a site's omission.

A check that names an app no release has (``apps: [redis-clustr]``) would select nothing,
and one that reads a config key no site sets and no release's ``config.schema.json`` defines
(``REDIS_EVICTON_POLICY``) would blame every site for not setting it. Both are mistakes of the
catalog, reported at their line with the nearest known name; a key that only some sites lack
stays those sites' finding.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from ..expr import expression_names

__all__ = ["KEY", "Field", "Known", "template_fields"]

#: What reads as a config.env key in an expression: upper-case letters, digits and ``_``.
#: Lower-case names are what a kind puts in the context (``selector``, ``live``, ``value``).
KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Known:
    """The apps of every release and the config keys any site sets or any release defines."""

    apps: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    #: ``patternProperties`` of the releases' config schemas: keys matching one are defined.
    key_patterns: tuple[str, ...] = ()
    #: False when nothing is known (no sites, no releases): then nothing is judged unknown.
    complete: bool = True

    def app_problem(self, app: str) -> str | None:
        """Why ``app`` is no app of this repository, with the nearest one; None when it is."""
        if not self.complete or app in self.apps:
            return None
        return _unknown(f"{app!r} is no app of any release", app, self.apps, "apps")

    def key_problem(self, key: str) -> str | None:
        """Why ``key`` is a key no site sets and no release schema defines; None when known."""
        if not self.complete or key in self.keys or any(re.search(p, key) for p in self.key_patterns):
            return None
        return _unknown(
            f"{key} is set by no site and defined by no release's config.schema.json", key, self.keys, "keys"
        )

    def unknown_keys(self, text: str, *, template: bool) -> Iterator[tuple[str, str]]:
        """``(key, problem)`` for each config key ``text`` reads that the repository lacks."""
        try:
            names = expression_names(text, template=template)
        except jinja2.TemplateSyntaxError:
            return  # the schema's format check reports it
        for name in names:
            if KEY.match(name) and (problem := self.key_problem(name)):
                yield name, problem


def _unknown(message: str, word: str, choices: Iterable[str], what: str) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if close:
        return f"{message}: did you mean {close[0]}?"
    shown = sorted(choices)
    listed = ", ".join(shown[:12]) + (", ..." if len(shown) > 12 else "")
    return f"{message} (known {what}: {listed or 'none'})"


Field = tuple[tuple[Any, ...], str, bool]


def template_fields(schema: Mapping[str, Any], item: Any) -> list[Field]:
    """Every ``(path, text, is_template)`` of ``item`` that its schema marks as a jinja2
    expression (format ``slo-expression``) or template (``slo-template``)."""
    found: dict[tuple[Any, ...], Field] = {}
    _visit(schema, item, (), found)
    return list(found.values())


def _visit(schema: Any, item: Any, path: tuple[Any, ...], found: dict[tuple[Any, ...], Field]) -> None:
    if not isinstance(schema, Mapping):
        return
    fmt = schema.get("format")
    if fmt in ("slo-expression", "slo-template") and isinstance(item, str):
        found[path] = (path, item, fmt == "slo-template")
        return
    for part in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(part, ()):
            _visit(sub, item, path, found)
    if isinstance(item, Mapping):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in item.items():
            if key in props:
                _visit(props[key], value, (*path, key), found)
            elif isinstance(extra, Mapping):
                _visit(extra, value, (*path, key), found)
    elif isinstance(item, list) and isinstance(schema.get("items"), Mapping):
        for index, value in enumerate(item):
            _visit(schema["items"], value, (*path, index), found)
