"""The draft as a file: generated parts between markers, a person's text everywhere else, and
the incident's state in a comment.

A generated part is the lines from ``<!-- pytest-slo:begin NAME -->`` to
``<!-- pytest-slo:end NAME -->``. A run that updates a draft rewrites those and nothing else:
text outside them (a TODO filled in, a paragraph added, a heading renamed) is kept byte for
byte. A part a person broke (an end marker deleted) is no part any more: its text is kept as
theirs and the fresh part is written next to it, so nothing a person wrote is ever lost.

The ``state`` part holds what later runs need that the prose does not say exactly (the
fingerprints matched on, the first breach, when it was detected, the findings seen), as JSON
inside an HTML comment, which renders as nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["BEGIN", "END", "STATE", "Segment", "merge", "part", "read_state", "split", "state_part"]

BEGIN = "<!-- pytest-slo:begin {} -->"
END = "<!-- pytest-slo:end {} -->"
STATE = "state"
#: Bumped when the state's shape changes: an older draft is then left alone, never misread.
STATE_VERSION = 1
_MARK = re.compile(r"^<!-- pytest-slo:(begin|end) ([a-z0-9-]+) -->$")


@dataclass(frozen=True)
class Segment:
    """A run of the file: a generated part (``name`` set, markers included) or a person's text."""

    name: str | None
    text: str


def part(name: str, body: str) -> str:
    """``body`` wrapped in the markers of part ``name`` (the template writes the same lines)."""
    return f"{BEGIN.format(name)}\n{body.rstrip(chr(10))}\n{END.format(name)}\n"


def split(text: str) -> list[Segment]:
    """The file's segments in order; joined, they give ``text`` back exactly."""
    lines = text.splitlines(keepends=True)
    segments: list[Segment] = []
    plain: list[str] = []
    i = 0
    while i < len(lines):
        match = _MARK.match(lines[i].rstrip("\r\n"))
        if match and match[1] == "begin":
            end = END.format(match[2])
            close = next((k for k in range(i + 1, len(lines)) if lines[k].rstrip("\r\n") == end), None)
            # a begin without its end, or another marker inside, is not a part: the person's text
            if close is not None and not any(_MARK.match(x.rstrip("\r\n")) for x in lines[i + 1 : close]):
                if plain:
                    segments.append(Segment(None, "".join(plain)))
                    plain = []
                segments.append(Segment(match[2], "".join(lines[i : close + 1])))
                i = close + 1
                continue
        plain.append(lines[i])
        i += 1
    if plain:
        segments.append(Segment(None, "".join(plain)))
    return segments


def merge(old: str, new: str) -> str:
    """``old`` with each generated part replaced by ``new``'s part of that name; a part only
    ``new`` has goes after the part that precedes it there (else at the end). Everything
    else of ``old`` stays as it is, byte for byte."""
    fresh = [s for s in split(new) if s.name]
    by_name = {s.name: s.text for s in reversed(fresh)}  # the first of a name wins
    out: list[str] = []
    placed: dict[str, int] = {}
    for segment in split(old):
        if segment.name and segment.name in by_name and segment.name not in placed:
            placed[segment.name] = len(out)
            out.append(by_name[segment.name])
        else:
            out.append(segment.text)
    for index, segment in enumerate(fresh):
        name = segment.name or ""
        if name in placed:
            continue
        before = [placed[s.name] for s in fresh[:index] if s.name in placed]
        at = max(before) + 1 if before else len(out)
        if at > 0 and not out[at - 1].endswith("\n"):
            out[at - 1] += "\n"
        # set apart by one blank line on each side, as the template writes parts
        lead = "" if at == 0 or out[at - 1].endswith("\n\n") else "\n"
        trail = "\n" if at < len(out) and not out[at].startswith("\n") else ""
        out.insert(at, lead + segment.text + trail)
        placed = {k: (v + 1 if v >= at else v) for k, v in placed.items()}
        placed[name] = at
    return "".join(out)


def _dumps(state: dict[str, Any]) -> str:
    """JSON with a line per top-level key and per item of a list or mapping under it: a draft's
    diff shows which finding or event changed, and the state stays a screen or two long."""
    one = lambda value: json.dumps(value, sort_keys=True, ensure_ascii=False)  # noqa: E731
    lines = []
    for key, value in sorted(state.items()):
        if isinstance(value, list) and value:
            inner = ",\n  ".join(one(v) for v in value)
            lines.append(f" {one(key)}: [\n  {inner}\n ]")
        elif isinstance(value, dict) and value:
            inner = ",\n  ".join(f"{one(k)}: {one(v)}" for k, v in sorted(value.items()))
            lines.append(f" {one(key)}: {{\n  {inner}\n }}")
        else:
            lines.append(f" {one(key)}: {one(value)}")
    return "{\n" + ",\n".join(lines) + "\n}"


def state_part(state: dict[str, Any]) -> str:
    """The state as a generated part: JSON in an HTML comment."""
    body = _dumps({**state, "pytest_slo_state": STATE_VERSION})
    # a comment ends at the first "-->" and CommonMark's may hold no "--": both only occur
    # inside JSON strings, where a \u escape says the same
    body = body.replace("--", "-\\u002d").replace(">", "\\u003e")
    return part(STATE, f"<!--\n{body}\n-->")


def read_state(text: str) -> dict[str, Any] | None:
    """The state a draft carries; None when it has none (not ours, or of another version)."""
    for segment in split(text):
        if segment.name != STATE:
            continue
        _, opened, rest = segment.text.partition("\n<!--\n")
        raw, closed, _ = rest.rpartition("\n-->\n")
        if not (opened and closed):
            return None
        try:
            state = json.loads(raw)
        except ValueError:
            return None
        if isinstance(state, dict) and state.get("pytest_slo_state") == STATE_VERSION:
            return state
        return None
    return None
