"""What Prometheus answers: the result types, and the helpers that decode an HTTP answer.

Every decoding failure becomes a :class:`~pytest_slo.errors.SloError` with one line of
context, never a KeyError: a proxy's HTML error page or a half-compatible backend must
read as "unavailable", not as a defect of pytest-slo.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from pytest_slo.errors import QueryError, SourceUnavailable

from .._text import one_line

__all__ = [
    "SOURCE",
    "InstantResult",
    "Sample",
    "Series",
    "error_gist",
    "json_object",
    "retry_after",
    "sample_value",
    "shape_check",
]

SOURCE = "prometheus"


@dataclass(frozen=True)
class Sample:
    """One sample of an instant vector (a scalar answer is one sample without labels)."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and its (time, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class InstantResult:
    """The answer to one instant query at one time, with the warnings Prometheus sent along."""

    query: str
    time: float
    samples: tuple[Sample, ...]
    result_type: str  # "vector" or "scalar"
    warnings: tuple[str, ...] = ()


@contextmanager
def shape_check(url: str) -> Iterator[None]:
    """Turns a malformed ``data`` (missing keys, wrong types) into one SourceUnavailable line."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SourceUnavailable(SOURCE, f"unexpected answer from {url}: {type(exc).__name__} {exc}") from None


def sample_value(sample: Mapping[str, Any]) -> float:
    """The float value of one vector sample; a native histogram sample has none."""
    if "value" not in sample and "histogram" in sample:
        raise QueryError("prometheus returned a native histogram; use histogram_quantile() or histogram_count()")
    return float(sample["value"][1])  # "NaN", "+Inf" and "-Inf" parse as floats


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else (HTML, text, a list)."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return answer if isinstance(answer, dict) else None


def error_gist(answer: dict[str, Any] | None, body: bytes) -> str:
    """The error of a JSON answer, else the first line of the body without HTML tags."""
    if answer is not None and answer.get("error"):
        return one_line(str(answer["error"]), 200)
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        text = re.sub(r"<[^>]*>", " ", text)
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    return one_line(line, 200) or "(empty body)"


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None
