"""The redis kind's facts read through redis_exporter's series: no server needed."""

from __future__ import annotations

import pytest


def test_an_exporter_instance_without_its_memory_series_is_an_error_not_no_limit() -> None:
    from pytest_slo.errors import SourceUnavailable
    from pytest_slo.sources.prometheus import InstantResult, Sample
    from pytest_slo.sources.redis import ExporterRedisFacts

    class Answers:
        def query_many(self, queries: list[str], at: float) -> dict[str, InstantResult]:
            info = (Sample({"instance": "r1:9121", "maxmemory_policy": "allkeys-lru"}, 1.0),)
            used = (Sample({"instance": "r1:9121"}, 1024.0),)
            return {
                q: InstantResult(q, at, info if "info" in q else used if "used" in q else (), "vector") for q in queries
            }

    facts = ExporterRedisFacts(Answers(), 'service="redis-cluster"', lambda: 1700000000.0)  # type: ignore[arg-type]
    with pytest.raises(
        SourceUnavailable, match="shows r1:9121 in redis_instance_info but has no redis_memory_max_bytes for it"
    ):
        facts.instances()
