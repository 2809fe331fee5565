r"""What an OpenSLO v1 document becomes once read: :class:`Slo` with its :class:`Objective`\ s,
the :class:`SloCatalog` of a run, and the document being read (``_Doc``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import CatalogError

__all__ = ["Doc", "Objective", "Slo", "SloCatalog"]


@dataclass(frozen=True)
class Objective:
    display: str
    label: str  # "" for an SLO's only objective, else its name in the item id
    target: float | str  # a number, or a jinja2 expression over the config
    line: int
    op: str | None = None  # PromQL comparison of a threshold SLI
    value: float | str | None = None
    slice_target: float | str | None = None
    slice_window: float | None = None  # seconds


@dataclass(frozen=True)
class Slo:
    """One OpenSLO ``SLO``, with its indicator resolved."""

    name: str
    display: str
    service: str
    app: str
    source: str
    line: int
    indicator: str  # "ratio" or "threshold"
    window: float  # seconds
    window_text: str
    method: str  # Occurrences | Timeslices
    objectives: tuple[Objective, ...]
    good: str | None = None
    bad: str | None = None
    total: str | None = None
    counter: bool = True
    query: str | None = None  # the threshold SLI's query
    budget_floor: float = 0.0  # percent
    pairs: tuple[tuple[float, float, float], ...] = ()  # (long s, short s, factor)
    runbook: str | None = None
    severity: str | None = None
    description: str = ""


@dataclass
class SloCatalog:
    slos: list[Slo] = field(default_factory=list)
    #: SLOs that cannot be judged (by name, when they have one): their items error with it.
    broken: list[tuple[str, str, str, int, CatalogError]] = field(
        default_factory=list
    )  # name, app, file, line, problem
    problems: dict[str, list[CatalogError]] = field(default_factory=dict)


@dataclass
class Doc:
    data: dict[str, Any]
    node: yaml.Node
    display: str
