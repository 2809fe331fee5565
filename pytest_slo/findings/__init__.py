"""Findings and the reports written from them.

Owns: the finding model (fields, severities, summaries, atomic writes), what makes a finding
the same on the next run (fingerprints), what a run makes of an earlier one (baselines: new,
unchanged, absent; regressions read its values) and of the repository's waivers, and every
report made from findings: JSON, Markdown, SARIF, HTML with charts of failing live series.
The postmortem draft is the stage above (:mod:`pytest_slo.incident`). Reads the run only
through the interfaces of :mod:`._inputs`; imports no kind.
"""

from .model import FIELDS, SEVERITIES, atomic_write, sort_findings, summarize

__all__ = ["FIELDS", "SEVERITIES", "atomic_write", "sort_findings", "summarize"]
