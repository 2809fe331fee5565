"""The check catalog: ``checks/*.yaml`` read and validated into :class:`Check` specs.

Owns: reading catalog files (with line numbers for every field), the fields common to
every check, and runbook links. A kind's own fields are validated by the kind's schema.
Imports only the shared foundation (errors, expressions, YAML).
"""

from .model import BASE_SCHEMA, Catalog, Check, load_catalog, runbook_problem

__all__ = ["BASE_SCHEMA", "Catalog", "Check", "load_catalog", "runbook_problem"]
