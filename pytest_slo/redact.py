"""Keep secrets out of every message, finding and report."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "Redactor", "is_secret_key"]

MASK = "***"
_SECRET_KEY = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|_KEY$|_KEY_|APIKEY|CREDENTIAL)", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """True for keys whose values must never be shown (``REDIS_PASSWORD``, ``API_KEY``)."""
    return bool(_SECRET_KEY.search(key))


class Redactor:
    """Masks known secret values anywhere in text, and secret-named keys in mappings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Very short values would mask innocent text everywhere; they are masked by key only.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        self._secrets = sorted(
            set(self._secrets) | {s for s in secrets if s and len(s) >= 4}, key=len, reverse=True
        )

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        """A copy of JSON-like data with secret keys masked and secret values replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: (MASK if isinstance(k, str) and is_secret_key(k) and v not in (None, "") else self.data(v))
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value
