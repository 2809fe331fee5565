"""Check kinds: judge facts and return a Verdict.

Owns: the published :class:`Kind` interface and its registry, and the built-in kinds
(config, values, promql, redis, kube, openslo). A kind reads through the run's Sources (``fetch``)
and judges (``evaluate``); it never builds a client or reads the environment.
"""

from __future__ import annotations

from .base import Kind, KindRegistry, Location, Target, Verdict

__all__ = ["Kind", "KindRegistry", "Location", "Target", "Verdict", "builtin_kinds"]


def builtin_kinds() -> list[Kind]:
    from .config import ConfigKind
    from .kube import KubeKind
    from .openslo import OpenSloKind
    from .promql import PromqlKind
    from .redis import RedisKind
    from .values import ValuesKind

    kinds: list[Kind] = [ConfigKind(), ValuesKind(), PromqlKind(), RedisKind(), KubeKind(), OpenSloKind()]
    return kinds
