"""Quantities: Kubernetes resource quantities and Redis memory sizes, to and from numbers.

The two systems disagree and the incident lived in the gap: Redis ``2gb`` is 2147483648
and ``2g`` is 2000000000 while ``2Gi`` is refused; Kubernetes ``2Gi`` is 2147483648,
``2G`` is 2e9 and ``2GB`` is invalid.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "QuantityError",
    "format_bytes",
    "format_duration",
    "k8s_bytes",
    "k8s_cpu",
    "k8s_quantity",
    "plural",
    "redis_bytes",
]


class QuantityError(ValueError):
    """A string that is not a quantity of the expected system; the message says why."""


_K8S_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_K8S_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE])?)$")

_REDIS_SUFFIX = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}
_REDIS_RE = re.compile(r"^(\d+)([a-z]*)$")


def k8s_quantity(text: object) -> Decimal:
    """Parse a Kubernetes quantity (``512Mi``, ``2G``, ``250m``, ``1e3``) to a Decimal."""
    if isinstance(text, bool):
        raise QuantityError(f"{text!r} is not a Kubernetes quantity")
    if isinstance(text, (int, float)):
        return Decimal(str(text))
    s = str(text).strip()
    match = _K8S_RE.match(s)
    if not match:
        hint = ""
        if spelled := re.match(r"^(\d+(?:\.\d+)?)\s*([KMGTPE])B$", s, re.IGNORECASE):
            number, prefix = spelled.group(1), spelled.group(2).upper()
            # the decimal kilo is the one lower-case suffix: 2k, never 2K
            hint = (
                f" (Kubernetes writes {number}{prefix}i for binary or {number}{'k' if prefix == 'K' else prefix} "
                "for decimal units)"
            )
        elif re.match(r"^\d+(\.\d+)?\s*[a-zA-Z]+$", s):
            hint = " (suffixes: Ki Mi Gi Ti Pi Ei, k M G T P E, m)"
        raise QuantityError(f"{s!r} is not a Kubernetes quantity{hint}")
    number, exponent, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise QuantityError(f"{s!r} is not a Kubernetes quantity") from exc
    if exponent:
        return value * (Decimal(10) ** int(exponent[1:]))
    return value * _K8S_SUFFIX[suffix or ""]


def k8s_bytes(text: object) -> int:
    """A Kubernetes memory quantity in bytes (rounded up, as the kubelet does)."""
    value = k8s_quantity(text)
    if value < 0:
        raise QuantityError(f"{text!r} is negative; memory cannot be")
    whole = int(value)
    return whole if whole == value else whole + 1


def k8s_cpu(text: object) -> Decimal:
    """A Kubernetes CPU quantity in cores (``250m`` is 0.25)."""
    value = k8s_quantity(text)
    if value < 0:
        raise QuantityError(f"{text!r} is negative; CPU cannot be")
    return value


def redis_bytes(text: object) -> int:
    """A Redis memory size (``maxmemory 2gb``) in bytes; Redis is case-insensitive here."""
    if isinstance(text, bool):
        raise QuantityError(f"{text!r} is not a Redis memory size")
    if isinstance(text, int):
        return text
    s = str(text).strip().lower()
    match = _REDIS_RE.match(s)
    if not match or match.group(2) not in _REDIS_SUFFIX:
        hint = ""
        if binary := re.match(r"^(\d+)([kmgt])i$", s):
            n, unit = int(binary.group(1)), binary.group(2)
            # Redis' largest unit is the gigabyte: 2Ti is 2048gb, 2T is 2000g
            whole, decimal, unit = (n * 1024, n * 1000, "g") if unit == "t" else (n, n, unit)
            hint = (
                f" (Redis has no {str(text).strip()[-2:]}: write {whole}{unit}b for binary units, {decimal}{unit} "
                "for decimal)"
            )
        raise QuantityError(f"{str(text).strip()!r} is not a Redis memory size{hint}")
    return int(match.group(1)) * _REDIS_SUFFIX[match.group(2)]


def format_bytes(n: float) -> str:
    """A short human reading of a byte count, binary units: ``1.5Gi``."""
    value = float(n)
    for unit in ("", "Ki", "Mi", "Gi", "Ti", "Pi"):
        if abs(value) < 1024 or unit == "Pi":
            # .3g would write 1000-1023 as 1e+03
            return f"{value:.0f}" if unit == "" else f"{value:.3g}{unit}" if abs(value) < 1000 else f"{value:.0f}{unit}"
        value /= 1024
    return str(n)  # pragma: no cover


def format_duration(seconds: float) -> str:
    """A duration as PromQL and OpenSLO write it, in its largest whole unit: ``3600`` → ``1h``."""
    seconds = int(seconds)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def plural(n: int, noun: str) -> str:
    """``n`` and its noun as a person counts: ``1 restart``, ``3 restarts``, ``2 OOM kills``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
