"""YAML reading with the C loader when present, and line numbers for paths on demand."""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError

__all__ = ["Loader", "line_of_path", "load_yaml"]

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, display: str) -> Any:
    """Parse YAML; a syntax error becomes a ConfigError at the file and line."""
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"not valid YAML: {exc.problem or exc}", path=display, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=display) from exc


def line_of_path(text: str, path: tuple[Any, ...]) -> int | None:
    """The 1-based line of a path in a YAML document (the deepest node that exists).

    Only called when a check fails, so composing the node tree again is cheap overall.
    """
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    if line is None and node is not None:
        line = node.start_mark.line + 1
    return line
