"""The check catalog: ``checks/*.yaml`` read and validated into :class:`Check` specs, and
``checks/waivers.yaml`` into :class:`Waiver` entries.

Owns: reading catalog files (with the line of every field), the JSON Schema of a check of
each kind (the fields common to every check plus the kind's ``spec_schema``), what a schema
error says to a person, and runbook links. Imports only the shared foundation (errors,
expressions, YAML).
"""

from .model import CATALOG_RUNBOOK, Catalog, Check, load_catalog, runbook_problem
from .schema import BASE_SCHEMA, DURATION, EXPRESSION, RUNBOOK, TEMPLATE, catalog_schema, field, kind_schema
from .waivers import WAIVER_SCHEMA, WAIVERS_FILE, Waiver, load_waivers

__all__ = [
    "BASE_SCHEMA",
    "CATALOG_RUNBOOK",
    "DURATION",
    "EXPRESSION",
    "RUNBOOK",
    "TEMPLATE",
    "WAIVERS_FILE",
    "WAIVER_SCHEMA",
    "Catalog",
    "Check",
    "Waiver",
    "catalog_schema",
    "field",
    "kind_schema",
    "load_catalog",
    "load_waivers",
    "runbook_problem",
]
