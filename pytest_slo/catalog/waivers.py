"""``checks/waivers.yaml``: accepted findings, each for a while, owned and explained.

A waiver lives only in the repository (no annotation on a workload can waive a check) and
always ends: ``until`` is a date at most ``slo_waiver_max_days`` ahead. Each entry is checked
against a declarative schema and the catalog; a malformed entry is a problem at its line and
waives nothing. Which findings a waiver covers is decided in ``findings.waived``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import CatalogError
from ..schematext import explain
from .model import _line, entries_under, read_document

__all__ = ["WAIVERS_FILE", "WAIVER_SCHEMA", "Waiver", "load_waivers"]

WAIVERS_FILE = "checks/waivers.yaml"

_TEXT = {"type": "string", "minLength": 1}
WAIVER_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pytest-slo waivers (checks/waivers.yaml)",
    "type": "object",
    "additionalProperties": False,
    "required": ["waivers"],
    "properties": {
        "waivers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["check", "until", "owner", "reason"],
                "properties": {
                    "check": {**_TEXT, "description": "the id of the waived check"},
                    "site": {**_TEXT, "description": "only at this site (default: every site)"},
                    "app": {**_TEXT, "description": "only for this app (default: every app)"},
                    "match": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {
                            "type": ["string", "number"],
                            "description": "a label value (text or a number)",
                            "examples": ["10.0.3.7:6379"],
                        },
                        "description": (
                            "labels of the failing objects it covers: instance, pod, container, series labels"
                        ),
                    },
                    "until": {"description": "the last day the waiver holds (YYYY-MM-DD)"},
                    "owner": {**_TEXT, "description": "who answers for it"},
                    "reason": {**_TEXT, "description": "why, with a ticket"},
                },
            },
        }
    },
}


@dataclass(frozen=True)
class Waiver:
    check: str
    until: _dt.date
    owner: str
    reason: str
    line: int
    site: str | None = None
    app: str | None = None
    match: Mapping[str, str] = field(default_factory=dict)
    path: str = WAIVERS_FILE
    #: What is wrong with the entry; a waiver with a problem waives nothing.
    problem: CatalogError | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def scope(self) -> str:
        parts = [f"at {self.site}" if self.site else "at every site"]
        if self.app:
            parts.append(f"for {self.app}")
        if self.match:
            parts.append("where " + ", ".join(f"{k}={v}" for k, v in sorted(self.match.items())))
        return " ".join(parts)

    def expired(self, today: _dt.date) -> bool:
        """From the day after ``until`` on."""
        return today > self.until

    def applies(self, check: str, site: str | None, app: str | None) -> bool:
        return (
            self.problem is None
            and self.check == check
            and (self.site is None or self.site == site)
            and (self.app is None or self.app == app)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check, "site": self.site, "app": self.app, "match": dict(self.match) or None,
            "until": self.until.isoformat(), "owner": self.owner, "reason": self.reason,
            "location": {"path": self.path, "line": self.line},
        }


def _shown_until(value: Any) -> str:
    """``until`` as written: a date and time reads as the reader wrote it, not as Python's repr."""
    return value.isoformat(sep=" ") + " (a date and time)" if isinstance(value, _dt.datetime) else repr(value)


def _date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return None  # a time of day is not what `until` means
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


_ENTRY_SCHEMA: dict[str, Any] = WAIVER_SCHEMA["properties"]["waivers"]["items"]
_HINT = "write waivers: and list entries with check, until, owner and reason"


@dataclass(frozen=True)
class _Known:
    """What an entry is read against: the repository's checks, sites and apps, and the day."""

    checks: set[str]
    sites: set[str]
    apps: set[str]
    today: _dt.date
    max_days: int


def load_waivers(
    root: Path, *, checks: Iterable[str], sites: Iterable[str], apps: Iterable[str], today: _dt.date, max_days: int
) -> tuple[list[Waiver], list[CatalogError]]:
    """The waivers of ``checks/waivers.yaml`` (none when it does not exist) and the problems
    of the file as a whole. Entries with a problem are returned too, carrying it."""
    path = root / WAIVERS_FILE
    if not path.is_file():
        return [], []
    try:
        data, document = read_document(path, WAIVERS_FILE)
    except CatalogError as exc:
        return [], [exc]
    if data is None:
        return [], []
    entries, problems = entries_under(
        data if isinstance(data, dict) else {}, document, "waivers", WAIVERS_FILE, "the waivers file", _HINT
    )
    import jsonschema

    validator = jsonschema.Draft202012Validator(_ENTRY_SCHEMA)
    known = _Known(set(checks), set(sites), set(apps), today, max_days)
    return [_waiver(entry, node, validator, known) for entry, node in entries], problems


def _waiver(entry: Any, node: yaml.Node, validator: Any, known: _Known) -> Waiver:
    """One entry as a waiver, carrying its first problem, if any."""
    line = node.start_mark.line + 1
    if not isinstance(entry, dict):
        return Waiver(
            "?",
            known.today,
            "?",
            "?",
            line,
            problem=CatalogError("a waiver must be a mapping", path=WAIVERS_FILE, line=line, hint=_HINT),
        )
    label = f"waiver for {entry.get('check')}" if isinstance(entry.get("check"), str) else "waiver"
    until = _date(entry.get("until"))
    errors = sorted(validator.iter_errors(entry), key=lambda e: list(e.absolute_path))
    problem = (
        _shape_problem(errors[0], entry, node, label) if errors else _meaning_problem(entry, node, label, until, known)
    )
    return Waiver(
        check=str(entry.get("check", "?")),
        until=until or known.today,
        owner=str(entry.get("owner", "?")),
        reason=str(entry.get("reason", "?")),
        line=line,
        site=entry.get("site"),
        app=entry.get("app"),
        match={str(k): str(v) for k, v in (entry.get("match") or {}).items()}
        if isinstance(entry.get("match"), dict)
        else {},
        problem=problem,
    )


def _shape_problem(error: Any, entry: dict[str, Any], node: yaml.Node, label: str) -> CatalogError:
    """A field missing, unknown, or of the wrong type or shape: at the field's line."""
    line = node.start_mark.line + 1
    if error.validator == "additionalProperties" and not error.absolute_path:
        extra = sorted(set(entry) - set(_ENTRY_SCHEMA["properties"]))
        name = extra[0] if extra else None
        what = f"{name}: is not a field of a waiver (fields: check, site, app, match, until, owner, reason)"
        return CatalogError(
            f"{label}: {what}", path=WAIVERS_FILE, line=_line(node, (name,)) if name is not None else line, hint=_HINT
        )
    if error.validator == "required":
        name = error.message.split()[0].strip("'")
        return CatalogError(
            f"{label}: {name}: missing; a waiver needs check, until, owner and reason",
            path=WAIVERS_FILE,
            line=line,
            hint=_HINT,
        )
    # a field of the wrong type or shape: said as for checks, in a person's words
    field_path, what, advice = explain(error, _ENTRY_SCHEMA, "a waiver")[0]
    return CatalogError(
        f"{label}: {what}",
        path=WAIVERS_FILE,
        line=_line(node, field_path) if field_path else line,
        hint=advice or _HINT,
    )


def _meaning_problem(
    entry: dict[str, Any], node: yaml.Node, label: str, until: _dt.date | None, known: _Known
) -> CatalogError | None:
    """A well-formed entry that cannot hold: no date, too far ahead, or naming nothing the repository has."""

    def at(field: str, what: str, hint: str) -> CatalogError:
        return CatalogError(f"{label}: {field}: {what}", path=WAIVERS_FILE, line=_line(node, (field,)), hint=hint)

    if until is None:
        return at(
            "until",
            f"{_shown_until(entry['until'])} is not a date",
            "write the last day it holds, e.g. until: 2026-12-15",
        )
    ahead = (until - known.today).days
    if ahead > known.max_days:
        return at(
            "until",
            f"{until.isoformat()} is {ahead} days ahead, more than slo_waiver_max_days ({known.max_days})",
            "waive for a shorter time and renew it when it ends",
        )
    if entry["check"] not in known.checks:
        close = difflib.get_close_matches(str(entry["check"]), sorted(known.checks), n=1)
        return at("check", f"no check {entry['check']!r} in checks/*.yaml or the built-in checks",
                  f"did you mean {close[0]}?" if close else "write the id of a check of the catalog")
    if "site" in entry and entry["site"] not in known.sites:
        return at("site", f"no site {entry['site']!r} under sites/ (known: {', '.join(sorted(known.sites)) or 'none'})",
                  "write a site's folder name, or leave site out for every site")
    if "app" in entry and entry["app"] not in known.apps:
        return at(
            "app",
            f"no app {entry['app']!r} in releases/*/apps (known: {', '.join(sorted(known.apps)) or 'none'})",
            "write an app's name, or leave app out for every app",
        )
    return None
