"""Evaluate a check's ``assert``/``found``/``expect`` expressions over a context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2

from ..catalog.schema import EXPRESSION, TEMPLATE
from ..errors import CatalogError, ConfigError, SloError
from ..expr import compile_expression, environment, expression_names, render_string
from .base import Location

if TYPE_CHECKING:
    from ..catalog.model import Check
    from .base import Target

__all__ = [
    "EXPRESSION_SCHEMA",
    "cannot_evaluate",
    "config_context",
    "evaluate",
    "judge",
    "message_text",
    "read_paths",
    "render_text",
]

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
        raise CatalogError(
            f"check {check.id}: expression {source!r}: {exc.message}", path=check.source, line=check.line
        ) from None
    except jinja2.UndefinedError as exc:
        raise _undefined(check, target, exc) from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise cannot_evaluate(source, check, target, context, exc) from None


def cannot_evaluate(
    source: str, check: Check, target: Target, context: Mapping[str, Any], exc: Exception, *, template: bool = False
) -> ConfigError:
    """Why ``source`` cannot be evaluated at the target's site, in a person's words: each
    config key it reads with its line and value, the one whose value is wrong first (the
    error's location), and what it had to be."""
    env = target.site.env
    names = [n for n in expression_names(source, template=template) if n in context and env.line_of(n)]
    culprits = _culprits(names, context, exc)
    why = _reason(exc, culprits, context, target)
    lines = _key_lines(names, culprits, target, exc)
    loc = target.env_location(*(culprits or names))
    if not template:
        # the fields of values (or live) it read: the value's own words when a key did not say it
        fields, loc, why = _field_lines(source, context, exc, culprits, target, loc, why)
        lines += fields
    message = f"check {check.id}: cannot evaluate {_shortened(source)!r} at {target.site.name}: {why}" + "".join(lines)
    return ConfigError(
        # the reason quotes values as Python wrote them ('hunter22' is text...): a secret's too
        target.site.redactor.text(message),
        path=loc.path,
        line=loc.line,
    )


def _culprits(names: list[str], context: Mapping[str, Any], exc: Exception) -> list[str]:
    """The config keys whose values made ``exc``. A unit filter names the value it refused
    (''2GB' is not a Kubernetes quantity'); Python's operators name only types ('<=' not
    supported between 'str' and 'int'): then the keys that are text where the expression does
    arithmetic or compares."""
    text = str(exc)
    culprits = [n for n in names if repr(str(context[n])) in text or f"'{context[n]}'" in text]
    if not culprits and isinstance(exc, TypeError) and "'str'" in text:
        culprits = [n for n in names if isinstance(context[n], str)]
    return culprits


def _pointer(exc: Exception) -> str:
    """What a line adds after the value that is wrong: text where a number was needed, or
    just the value a unit filter refused."""
    return "  <- text, not a number" if isinstance(exc, TypeError) else "  <- this value"


def _key_lines(names: list[str], culprits: list[str], target: Target, exc: Exception) -> list[str]:
    """One line per config key read, ``config.env:LINE: KEY=value`` (redacted): the culprits
    first, marked, each group in the file's order."""
    env, display = target.site.env, target.site.env_display
    lines = []
    for name in sorted(names, key=lambda n: (n not in culprits, env.line_of(n) or 0)):
        value = target.site.redactor.text(str(env.entries[name].value))
        note = _pointer(exc) if name in culprits else ""
        lines.append(f"\n  {display}:{env.line_of(name)}: {name}={value}{note}")
    return lines


def _field_lines(
    source: str,
    context: Mapping[str, Any],
    exc: Exception,
    culprits: list[str],
    target: Target,
    loc: Location,
    why: str,
) -> tuple[list[str], Location, str]:
    """One line per field of ``values`` or ``live`` the expression reads, with its value. When
    no config key is to blame, a field whose value is wrong is marked; a field of values then
    takes the error's ``loc`` (its line of the committed values file) and ``why``."""
    lines = []
    for path in [p for p in read_paths(source) if p[0] in ("values", "live") and p[0] in context]:
        value = _at(context, path)
        wrong = not culprits and (
            (isinstance(exc, TypeError) and isinstance(value, str)) or repr(str(value)) in str(exc)
        )
        lines.append(f"\n  {'.'.join(path)}={value!r}" + (_pointer(exc) if wrong else ""))
        if wrong and path[0] == "values" and target.app:
            loc = _values_line(target, path[1:]) or loc
            why = (
                f"{'.'.join(path)}={value!r} is text where the expression needs a number"
                if isinstance(exc, TypeError)
                else why
            )
    return lines, loc, why


def _shortened(source: str) -> str:
    """The expression on one line, cut at 120 characters: the message names it, the catalog
    holds it in full."""
    shown = " ".join(source.split())
    return shown if len(shown) <= 120 else shown[:117] + "..."


def _values_line(target: Target, path: tuple[str, ...]) -> Location | None:
    """The committed values file's line of ``path`` (a problem there is rare: read it again)."""
    from ..yamlio import line_of_path

    site, app = target.site, target.app or ""
    try:
        line = line_of_path(site.values_file(app).read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError):
        return None
    return Location(site.values_display(app), line)


def _reason(exc: Exception, culprits: list[str], context: Mapping[str, Any], target: Target) -> str:
    if not (isinstance(exc, TypeError) and culprits):
        return str(exc)
    schema = f"{target.site.release_display()}/config.schema.json"
    declared = [n for n in culprits if _declared_type(target, n) in ("integer", "number")]
    shown = ", ".join(f"{n}={context[n]!r}" for n in culprits)
    if declared:
        return f"{shown} is not a number, though {schema} declares {', '.join(declared)} one: write a number"
    return (
        f'{shown} is text where the expression needs a number: write a number, and declare the key "type": '
        f'"integer" (or "number") in {schema}'
    )


def _declared_type(target: Target, key: str) -> Any:
    try:
        properties = target.site.release.config_validator.schema.get("properties") or {}
    except SloError:
        return None
    declared = properties.get(key)
    return declared.get("type") if isinstance(declared, Mapping) else None


def render_text(source: str, check: Check, target: Target, context: Mapping[str, Any]) -> str:
    """A template (a query) rendered at the target; a value it cannot use is the site's error,
    never text in the result (a query holding an error message would go to Prometheus)."""
    try:
        return render_string(source, context).strip()
    except jinja2.TemplateSyntaxError as exc:
        raise CatalogError(f"check {check.id}: {source!r}: {exc.message}", path=check.source, line=check.line) from None
    except jinja2.UndefinedError as exc:
        raise _undefined(check, target, exc) from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise cannot_evaluate(source, check, target, context, exc, template=True) from None


def message_text(source: str, check: Check, target: Target, context: Mapping[str, Any]) -> str:
    """A message template (``found``, ``expect``): a value it cannot use is shown in its place,
    so the verdict it words still reaches the person; a name no site sets is still an error."""
    try:
        return render_string(source, context).strip()
    except (ValueError, TypeError, ArithmeticError) as exc:
        return f"<{exc}>"
    except jinja2.TemplateError:
        return render_text(source, check, target, context)  # raises the catalog's or the site's error


def judge(check: Check, target: Target, context: Mapping[str, Any]) -> tuple[bool, str, dict[str, Any]]:
    """Run ``assert``; on failure build the reviewer-style message from ``found``/``expect``."""
    source = check.spec["assert"]
    ok = bool(evaluate(source, check, target, context))
    names = [n for n in expression_names(source) if n in context and n.isupper()]
    evidence: dict[str, Any] = {"assert": source}
    evidence.update({n: context[n] for n in names})
    if ok:
        return True, "", evidence
    if "found" in check.spec:
        found = message_text(check.spec["found"], check, target, context)
    else:  # what the assert read: the config keys, then the fields of values / live it names
        read = [f"{n}={context[n]}" for n in names] + [f"{'.'.join(p)}={_at(context, p)!r}" for p in read_paths(source)]
        found = ", ".join(read) or f"{source} is false"
    expect = message_text(check.spec["expect"], check, target, context) if "expect" in check.spec else source
    evidence.update({"found": found, "expected": expect})
    # what is wrong first; the check's title is the item's heading, not the message's
    return False, f"{found}; expected {expect}", evidence


_MISSING = object()


def _at(context: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = context
    for part in path:
        value = value.get(part, _MISSING) if isinstance(value, Mapping) else getattr(value, part, _MISSING)
        if value is _MISSING:
            return None
    return value


def read_paths(source: str) -> list[tuple[str, ...]]:
    """The fields an expression reads below a context name, outermost first and once each:
    ``values.resources.limits.memory >= ...`` reads ``("values", "resources", "limits", "memory")``."""
    try:
        ast = environment().parse("{{ " + source + " }}")
    except jinja2.TemplateSyntaxError:
        return []
    found: list[tuple[str, ...]] = []
    inner: set[int] = set()
    for node in ast.find_all((jinja2.nodes.Getattr, jinja2.nodes.Getitem)):
        if id(node) in inner:
            continue
        path: list[str] = []
        at: Any = node
        while isinstance(at, (jinja2.nodes.Getattr, jinja2.nodes.Getitem)):
            inner.add(id(at.node))
            key = at.attr if isinstance(at, jinja2.nodes.Getattr) else getattr(at.arg, "value", None)
            if not isinstance(key, (str, int)):
                break
            path.insert(0, str(key))
            at = at.node
        if isinstance(at, jinja2.nodes.Name) and path and (at.name, *path) not in found:
            found.append((at.name, *path))
    return found


def location_keys(check: Check, context: Mapping[str, Any]) -> list[str]:
    """The config keys a failure points at: declared ``keys`` first, then those the assert reads."""
    keys = list(check.keys)
    if "assert" in check.spec:
        # config keys only: ``values`` or ``live`` name no line of config.env
        keys += [n for n in expression_names(check.spec["assert"]) if n in context and n.isupper() and n not in keys]
    return keys
