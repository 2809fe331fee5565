"""Findings and the reports written from them."""

from .model import FIELDS, SEVERITIES, atomic_write, sort_findings, summarize

__all__ = ["FIELDS", "SEVERITIES", "atomic_write", "sort_findings", "summarize"]
