"""The label and field selector grammar of the Kubernetes API, evaluated locally.

The snapshot backend and the loopback FakeKubeAPI must select exactly what the API server
would, so both use these instead of each guessing at the grammar.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Requirement",
    "field_selector_matches",
    "label_selector_matches",
    "parse_field_selector",
    "parse_label_selector",
]

_LABEL_KEY = re.compile(r"(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_REQ_SET = re.compile(r"^\s*(?P<key>\S+?)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_REQ_CMP = re.compile(r"^\s*(?P<key>[^\s=!<>]+)\s*(?P<op>==|=|!=|<|>)\s*(?P<value>[^\s=!<>]*)\s*$")
_REQ_NOT = re.compile(r"^\s*!\s*(?P<key>\S+)\s*$")
_REQ_HAS = re.compile(r"^\s*(?P<key>[^\s=!<>(),]+)\s*$")

Requirement = tuple[str, str, tuple[str, ...]]
"""(key, operator, values); operator one of ``= != in notin exists !exists gt lt``."""


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _check_key(key: str, selector: str) -> str:
    if not _LABEL_KEY.fullmatch(key):
        raise ValueError(f"invalid label key {key!r} in selector {selector!r}")
    return key


def _check_value(value: str, selector: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise ValueError(f"invalid label value {value!r} in selector {selector!r}")
    return value


def parse_label_selector(selector: str | None) -> tuple[Requirement, ...]:
    """Parse a Kubernetes label selector; raise ``ValueError`` saying what is wrong.

    Supports the whole grammar the API server accepts: ``k=v``, ``k==v``, ``k!=v``,
    ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``, ``k>1``, ``k<1``, comma-joined (AND).
    ``None`` and ``""`` select everything.
    """
    if selector is None or not selector.strip():
        return ()
    requirements: list[Requirement] = []
    for part in _split_top_level(selector):
        if not part.strip():
            raise ValueError(f"empty requirement in selector {selector!r}")
        if m := _REQ_SET.match(part):
            values = tuple(v.strip() for v in m["values"].split(","))
            if values == ("",):
                raise ValueError(f"{m['op']} needs at least one value in selector {selector!r}")
            for value in values:
                _check_value(value, selector)
            requirements.append((_check_key(m["key"], selector), m["op"], values))
        elif m := _REQ_NOT.match(part):
            requirements.append((_check_key(m["key"], selector), "!exists", ()))
        elif m := _REQ_CMP.match(part):
            op = {"==": "=", "<": "lt", ">": "gt"}.get(m["op"], m["op"])
            value = m["value"]
            if op in ("lt", "gt"):
                if not re.fullmatch(r"-?\d+", value):
                    raise ValueError(f"{m['op']} needs an integer in selector {selector!r}")
            else:
                _check_value(value, selector)
            requirements.append((_check_key(m["key"], selector), op, (value,)))
        elif m := _REQ_HAS.match(part):
            requirements.append((_check_key(m["key"], selector), "exists", ()))
        else:
            raise ValueError(f"unable to parse requirement {part.strip()!r} in selector {selector!r}")
    return tuple(requirements)


def label_selector_matches(selector: str | tuple[Requirement, ...] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector`` (a string, or the result of :func:`parse_label_selector`)."""
    requirements = parse_label_selector(selector) if selector is None or isinstance(selector, str) else selector
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "=" and not (present and value == values[0]):
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and not (present and value in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
        if op in ("gt", "lt"):
            try:
                number = int(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            if (op == "gt" and not number > int(values[0])) or (op == "lt" and not number < int(values[0])):
                return False
    return True


def parse_field_selector(selector: str | None) -> list[tuple[str, str, str]]:
    """``(path, "=" or "!=", value)`` per comma-joined requirement; ``ValueError`` when malformed."""
    if selector is None or not selector.strip():
        return []
    out = []
    for part in selector.split(","):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise ValueError(f"invalid field selector requirement {part.strip()!r} in {selector!r}")
        out.append((m[1], "!=" if m[2] == "!=" else "=", m[3]))
    return out


def field_selector_matches(selector: str | None, obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` satisfies a field selector such as ``involvedObject.name=redis-cluster-2,type!=Normal``.

    Paths are dotted JSON paths into the object; a missing field compares as ``""``
    (as the API server does for the fields it indexes).
    """
    for path, op, expected in parse_field_selector(selector):
        node: Any = obj
        for step in path.split("."):
            node = node.get(step) if isinstance(node, Mapping) else None
        actual = "" if node is None else str(node)
        if (op == "=") != (actual == expected):
            return False
    return True
