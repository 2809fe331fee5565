"""Text helpers shared by the sources' error messages: one-line clipping and secret scrubbing."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

__all__ = ["MIN_SECRET", "basic_auth", "one_line", "scrub", "scrub_bytes", "seconds"]

MIN_SECRET = 4  # shorter values are left alone: masking "ab" would garble the message, not protect it
_SCHEMES = ("bearer", "basic")


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line, whitespace collapsed, cut to ``limit`` characters with ``...``.

    Server messages and exception texts end up in one-line findings and terminal reports, so
    a multi-line stack trace from a proxy must not break them.
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def basic_auth(username: str, password: str) -> str:
    """The ``Authorization`` value HTTP Basic sends for ``username``/``password`` (requests and
    urllib3 both encode the pair as latin-1, then base64): the form a server can echo back."""
    try:
        pair = f"{username}:{password}".encode("latin-1")
    except UnicodeEncodeError:
        pair = f"{username}:{password}".encode()  # neither client sends this; masked all the same
    return "Basic " + base64.b64encode(pair).decode("ascii")


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every form of every secret replaced by ``***``.

    A server or proxy may echo the request, ``Authorization`` header included, into an error
    body that ends up in the terminal and in findings.json. A secret that is an
    ``Authorization`` value (``Bearer x``, ``Basic x``) is masked by its credential ``x``, so
    the scheme stays readable (``Bearer ***``); for ``Basic`` the decoded ``user:password`` and
    the password are masked too. Longer forms are replaced first, so no piece of a secret that
    contains another survives. Scrub before clipping: a cut secret no longer matches.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update(_forms(secret))
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= MIN_SECRET:
            text = text.replace(form, "***")
    return text


def scrub_bytes(data: bytes, secrets: Iterable[str | None]) -> bytes:
    """:func:`scrub` for a raw body; bytes that are not UTF-8 come back unchanged."""
    return scrub(data.decode("utf-8", "surrogateescape"), secrets).encode("utf-8", "surrogateescape")


def _forms(secret: str) -> list[str]:
    scheme, _, credential = secret.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() not in _SCHEMES or not credential:
        return [secret, secret.strip()]
    forms = [credential]
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return forms
        password = pair.partition(":")[2]
        forms += [pair, password] if password else []
    return forms


def seconds(value: float) -> str:
    """A timeout as messages say it: ``2.0``, ``0.25``."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"
