"""Evaluate a check's ``assert``/``found``/``expect`` expressions over a context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2

from ..catalog.schema import EXPRESSION, TEMPLATE
from ..errors import CatalogError, ConfigError
from ..expr import compile_expression, expression_names, render_string

if TYPE_CHECKING:
    from ..catalog.model import Check
    from .base import Target

__all__ = ["EXPRESSION_SCHEMA", "config_context", "evaluate", "judge", "render_text"]

#: ``assert`` must compile as an expression, ``found``/``expect`` as templates, when the
#: catalog is read (formats of :mod:`pytest_slo.catalog.schema`).
EXPRESSION_SCHEMA: dict[str, Any] = {
    "assert": {**EXPRESSION, "description": "a jinja2 expression over the site's config, true when the check passes"},
    "found": {
        **TEMPLATE,
        "description": "a jinja2 template saying what was found",
        "examples": ["REDIS_EVICTION_POLICY={{ REDIS_EVICTION_POLICY }}"],
    },
    "expect": {
        **TEMPLATE,
        "description": "a jinja2 template saying what was expected",
        "examples": ["an evicting policy such as allkeys-lru"],
    },
}


def config_context(target: Target) -> dict[str, Any]:
    context = dict(target.site.config)
    context["site"] = target.site.name
    context["app"] = target.app
    return context


def _undefined(check: Check, target: Target, exc: jinja2.UndefinedError) -> ConfigError:
    name = str(exc.message or "").split("'")[1] if "'" in str(exc.message) else str(exc.message)
    if name.isupper():
        return ConfigError(
            f"{name} is not set, and check {check.id} needs it",
            path=target.site.env_display,
            hint=f"add {name}=... to {target.site.env_display}",
        )
    return ConfigError(f"check {check.id}: {exc.message}", path=check.source, line=check.line)


def evaluate(source: str, check: Check, target: Target, context: Mapping[str, Any]) -> Any:
    """One expression's value; a syntax error blames the catalog, an undefined key the site."""
    try:
        return compile_expression(source)(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise CatalogError(f"check {check.id}: expression {source!r}: {exc.message}", path=check.source, line=check.line) from None
    except jinja2.UndefinedError as exc:
        raise _undefined(check, target, exc) from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        names = [n for n in expression_names(source) if n in context]
        loc = target.env_location(*names)
        raise ConfigError(f"check {check.id}: {exc}", path=loc.path, line=loc.line) from None


def render_text(source: str, check: Check, target: Target, context: Mapping[str, Any]) -> str:
    try:
        return render_string(source, context).strip()
    except jinja2.TemplateSyntaxError as exc:
        raise CatalogError(f"check {check.id}: {source!r}: {exc.message}", path=check.source, line=check.line) from None
    except jinja2.UndefinedError as exc:
        raise _undefined(check, target, exc) from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        return f"<{exc}>"


def judge(check: Check, target: Target, context: Mapping[str, Any]) -> tuple[bool, str, dict[str, Any]]:
    """Run ``assert``; on failure build the reviewer-style message from ``found``/``expect``."""
    source = check.spec["assert"]
    ok = bool(evaluate(source, check, target, context))
    names = [n for n in expression_names(source) if n in context and n.isupper()]
    evidence: dict[str, Any] = {"assert": source}
    evidence.update({n: context[n] for n in names})
    if ok:
        return True, "", evidence
    found = render_text(check.spec["found"], check, target, context) if "found" in check.spec else ", ".join(
        f"{n}={context[n]}" for n in names
    )
    expect = render_text(check.spec["expect"], check, target, context) if "expect" in check.spec else source
    evidence.update({"found": found, "expected": expect})
    # what is wrong first; the check's title is the item's heading, not the message's
    return False, f"{found}; expected {expect}", evidence


def location_keys(check: Check, context: Mapping[str, Any]) -> list[str]:
    """The config keys a failure points at: declared ``keys`` first, then those the assert reads."""
    keys = list(check.keys)
    if "assert" in check.spec:
        keys += [n for n in expression_names(check.spec["assert"]) if n in context and n not in keys]
    return keys
