"""The built-in check kinds. Live kinds import their clients only when an item runs."""

from __future__ import annotations

from .base import Kind, KindRegistry, Location, Target, Verdict

__all__ = ["Kind", "KindRegistry", "Location", "Target", "Verdict", "builtin_kinds"]


def builtin_kinds() -> list[Kind]:
    from .config import ConfigKind
    from .kube import KubeKind
    from .promql import PromqlKind
    from .redis import RedisKind
    from .values import ValuesKind

    kinds: list[Kind] = [ConfigKind(), ValuesKind(), PromqlKind(), RedisKind(), KubeKind()]
    return kinds
