"""YAML reading with the C loader when present, duplicate keys refused, and line numbers
for paths on demand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import ConfigError

__all__ = [
    "Duplicate",
    "DuplicateKeyError",
    "Loader",
    "duplicate_keys",
    "line_in",
    "line_of_path",
    "load_documents",
    "load_yaml",
    "load_yaml_and_node",
]

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class Duplicate:
    """A mapping key written twice: YAML loaders keep the last value and drop the first."""

    path: tuple[str, ...]  # the keys leading to it, the repeated key last
    line: int  # 1-based line of the repeated key
    first: int  # 1-based line where it was first written

    @property
    def key(self) -> str:
        return ".".join(self.path)

    def describe(self, display: str) -> str:
        return f"{display}:{self.line}: duplicate key '{self.key}' (first at line {self.first})"


class DuplicateKeyError(ConfigError):
    """A YAML document repeats a mapping key. PyYAML, like Helm's own loader, silently keeps
    the last value; newer ``helm lint`` parses values files strictly and rejects them
    (helm/helm#32363: ``mapping key "x" already defined at line N``)."""

    def __init__(self, duplicates: list[Duplicate], display: str) -> None:
        first = duplicates[0]
        more = f" and {len(duplicates) - 1} more" if len(duplicates) > 1 else ""
        super().__init__(
            f"duplicate key '{first.key}' (first at line {first.first}){more}",
            path=display,
            line=first.line,
            hint="YAML keeps only the last value and helm lint rejects the file: remove one of them",
        )
        self.duplicates = duplicates
        self.display = display


def duplicate_keys(node: Any, path: tuple[str, ...] = ()) -> Iterator[Duplicate]:
    """Every key repeated within one mapping of a composed node tree, in document order.

    ``<<`` merge keys are YAML's sanctioned way to override, so they are not counted.
    """
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            inner = path
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                ident = (key_node.tag, key_node.value)
                line = key_node.start_mark.line + 1
                if ident in seen:
                    yield Duplicate((*path, key_node.value), line, seen[ident])
                else:
                    seen[ident] = line
                inner = (*path, key_node.value)
            yield from duplicate_keys(value_node, inner)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from duplicate_keys(item, (*path, str(index)))


def _unconstructable(loader: Any, node: Any, display: str, exc: ValueError) -> ConfigError:
    """The ConfigError for a value the resolver took for a typed scalar that cannot be one
    (``2026-02-30`` looks like a date, so PyYAML builds a ``datetime.date`` and fails), at the
    first scalar of the document that fails alone; the document's first line if none does."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            construct = loader.yaml_constructors.get(current.tag)
            try:
                if construct is not None:
                    construct(loader, current)
            except ValueError as own:
                what = current.tag.rsplit(":", 1)[-1]
                if current.tag == _TIMESTAMP:
                    what = "date" if len(current.value) <= 10 else "date and time"
                return ConfigError(
                    f"{current.value} is not a {what}: {own}", path=display, line=current.start_mark.line + 1,
                    hint=f"write a real {what}, or quote it ('{current.value}') if it is text",
                )
        elif isinstance(current, yaml.MappingNode):
            stack += [n for pair in reversed(current.value) for n in reversed(pair)]
        elif isinstance(current, yaml.SequenceNode):
            stack += reversed(current.value)
    return ConfigError(f"cannot be read: {exc}", path=display, line=node.start_mark.line + 1)


def _construct(loader: Any, node: Any, display: str) -> Any:
    try:
        return loader.construct_document(node)
    except ValueError as exc:  # PyYAML's own constructors raise it for an impossible date or time
        raise _unconstructable(loader, node, display, exc) from None


def _syntax_error(exc: yaml.YAMLError, display: str) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return ConfigError(f"not valid YAML: {exc.problem or exc}", path=display, line=mark.line + 1 if mark else None)
    return ConfigError(f"not valid YAML: {exc}", path=display)


def load_yaml(text: str, display: str) -> Any:
    """Parse YAML; a syntax error or a value that cannot be built (``2026-02-30``) becomes a
    ConfigError at the file and line, a repeated key a :class:`DuplicateKeyError` naming both
    lines.

    The document is composed once, checked for duplicates on the node tree (which keeps
    every key and its line) and then constructed from the same tree.
    """
    return load_yaml_and_node(text, display)[0]


def load_documents(text: str, display: str) -> tuple[list[tuple[Any, Any]], list[ConfigError]]:
    """Every non-empty document of a ``---``-separated stream as (data, node tree), and the
    problems: each repeated key and each value that cannot be built (its document is left
    out, the next ones are read), and a syntax error (which ends the stream)."""
    documents: list[tuple[Any, Any]] = []
    problems: list[ConfigError] = []
    loader = Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            duplicates = list(duplicate_keys(node))
            if duplicates:
                problems += [
                    ConfigError(f"duplicate key '{d.key}' (first at line {d.first})", path=display, line=d.line)
                    for d in duplicates
                ]
                continue
            try:
                data = _construct(loader, node, display)
            except ConfigError as exc:
                problems.append(exc)
                continue
            if data is not None:
                documents.append((data, node))
    except yaml.YAMLError as exc:
        problems.append(_syntax_error(exc, display))
    finally:
        loader.dispose()
    return documents, problems


def line_in(node: Any, path: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest part of ``path`` in a composed node tree (a key's own
    line); the node's own line for an empty path; None when not even the first part is there."""
    line = node.start_mark.line + 1 if not path else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def line_of_path(text: str, path: tuple[Any, ...]) -> int | None:
    """:func:`line_in` of a document's text. Only called when a check fails, so composing the
    node tree again is cheap overall."""
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return None
    return None if node is None else line_in(node, path)


def load_yaml_and_node(text: str, display: str) -> tuple[Any, Any]:
    """:func:`load_yaml`, and the node tree it was built from (for lines of problems found later)."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        duplicates = list(duplicate_keys(node))
        if duplicates:
            raise DuplicateKeyError(duplicates, display)
        return _construct(loader, node, display), node
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, display) from exc
    finally:
        loader.dispose()
