"""Hooks other plugins (and a team's conftest.py) implement to extend pytest-slo."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["pytest_slo_finding", "pytest_slo_kinds", "pytest_slo_postmortem_context"]


@pytest.hookspec
def pytest_slo_kinds() -> list[Any]:
    """Return a list of check kinds to register.

    A kind implements the :class:`pytest_slo.Kind` protocol (``name``, ``live``, ``scope``,
    ``spec_schema``, ``needs_live``, ``scope_of``, ``prefetch``, ``fetch``, ``evaluate``);
    subclassing ``pytest_slo.Kind`` gives every member a default but ``name`` and
    ``evaluate``. Every kind is checked in full when it registers: a missing or wrongly
    typed member is a usage error naming the plugin. Called once, through pytest's hook
    caller: a ``wrapper=True`` implementation receives the list of every implementation's
    list and may change it.
    """
    raise NotImplementedError


@pytest.hookspec
def pytest_slo_finding(config: pytest.Config, finding: dict[str, Any]) -> None:
    """Adjust a finding before it is written (add an ``owner``, change ``severity``, add
    evidence). Called once per finding, on the xdist controller."""


@pytest.hookspec
def pytest_slo_postmortem_context(config: pytest.Config, context: dict[str, Any]) -> None:
    """Add to the context a postmortem draft is rendered with (ticket links, on-call names)."""
