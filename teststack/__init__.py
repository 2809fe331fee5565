"""A real local monitoring stack on loopback ports, for the test fixtures and ``make demo``.

``python -m teststack --scenario incident`` runs it by hand;
``teststack.__main__.run_with_stack`` runs a command against it.
"""

from __future__ import annotations

from teststack.scenario import SCENARIOS, Scenario, Stack
from teststack.servers import StackError

__all__ = ["SCENARIOS", "Scenario", "Stack", "StackError"]
