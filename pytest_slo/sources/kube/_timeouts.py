"""How long one Kubernetes API request may take: connect and read limits, connection retries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KubeTimeouts"]


@dataclass(frozen=True)
class KubeTimeouts:
    """How long one API request may take, and how often a failed connection is retried.

    ``connect`` and ``read`` (seconds) are passed as ``_request_timeout=(connect, read)`` on
    every call. ``retries`` bounds urllib3's retry loop for *connection* errors only; reads
    are never retried, so a server that accepts and then hangs costs one ``read`` timeout,
    not four (urllib3's default ``Retry(3)`` would multiply it). The worst case for one call
    is :attr:`worst_case` seconds.
    """

    connect: float = 10.0
    read: float = 10.0
    retries: int = 0

    def __post_init__(self) -> None:
        if not (self.connect > 0 and self.read > 0):
            raise ValueError(f"kubernetes timeouts must be > 0 s, got connect={self.connect} read={self.read}")
        if self.retries < 0:
            raise ValueError(f"kubernetes retries must be >= 0, got {self.retries}")

    @classmethod
    def of(cls, value: float | tuple[float, float] | KubeTimeouts | None) -> KubeTimeouts:
        """``10`` → connect and read 10 s; ``(3, 30)`` → connect 3 s, read 30 s; None → defaults."""
        if value is None:
            return cls()
        if isinstance(value, KubeTimeouts):
            return value
        if isinstance(value, tuple):
            connect, read = value
            return cls(connect=float(connect), read=float(read))
        return cls(connect=float(value), read=float(value))

    @property
    def worst_case(self) -> float:
        """Upper bound in seconds for one call, retries included."""
        return self.connect * (self.retries + 1) + self.read

    def urllib3_retries(self) -> Any:
        """The ``Configuration.retries`` value: connection retries only, no read/status retries."""
        from urllib3.util.retry import Retry

        return Retry(
            total=self.retries,
            connect=self.retries,
            read=0,
            status=0,
            other=0,
            redirect=0,
            backoff_factor=0,
            raise_on_status=False,
            raise_on_redirect=True,
        )
