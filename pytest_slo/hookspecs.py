"""Hooks other plugins (and a team's conftest.py) implement to extend pytest-slo."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["pytest_slo_finding", "pytest_slo_kinds", "pytest_slo_postmortem_context"]


@pytest.hookspec
def pytest_slo_kinds() -> list[Any]:
    """Return check kinds to register (objects with ``name``, ``live``, ``scope``,
    ``spec_schema``, ``fetch`` and ``evaluate``; see ``pytest_slo.Kind``)."""
    raise NotImplementedError


@pytest.hookspec
def pytest_slo_finding(config: pytest.Config, finding: dict[str, Any]) -> None:
    """Adjust a finding before it is written (add an ``owner``, change ``severity``, add
    evidence). Called once per finding, on the xdist controller."""


@pytest.hookspec
def pytest_slo_postmortem_context(config: pytest.Config, context: dict[str, Any]) -> None:
    """Add to the context a postmortem draft is rendered with (ticket links, on-call names)."""
