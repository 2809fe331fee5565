"""The check catalog: ``checks/*.yaml`` read and validated into :class:`Check` specs.

Owns: reading catalog files (with the line of every field), the JSON Schema of a check of
each kind (the fields common to every check plus the kind's ``spec_schema``), what a schema
error says to a person, and runbook links. Imports only the shared foundation (errors,
expressions, YAML).
"""

from .model import CATALOG_RUNBOOK, Catalog, Check, load_catalog, runbook_problem
from .schema import BASE_SCHEMA, DURATION, EXPRESSION, RUNBOOK, TEMPLATE, catalog_schema, field, kind_schema

__all__ = [
    "BASE_SCHEMA",
    "CATALOG_RUNBOOK",
    "DURATION",
    "EXPRESSION",
    "RUNBOOK",
    "TEMPLATE",
    "Catalog",
    "Check",
    "catalog_schema",
    "field",
    "kind_schema",
    "load_catalog",
    "runbook_problem",
]
