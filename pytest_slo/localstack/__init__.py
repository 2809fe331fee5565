"""A real local monitoring stack on loopback ports, for the test fixtures and ``make demo``.

``python -m pytest_slo.localstack --scenario incident`` runs it by hand;
``pytest_slo.localstack.__main__.run_with_stack`` runs a command against it.
"""

from __future__ import annotations

from pytest_slo.localstack.scenario import SCENARIOS, Scenario, Stack
from pytest_slo.localstack.servers import StackError

__all__ = ["SCENARIOS", "Scenario", "Stack", "StackError"]
