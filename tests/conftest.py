"""Shared fixtures: a copy of the shipped reference layout for pytester runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

# pytester runs pytest inside this process and afterwards forgets the modules first imported
# during a run; a client imported anew by every run would then mix classes of two imports
# (requests checks its cookie jar's class). The live clients are imported once, here.
import prometheus_api_client.prometheus_connect  # noqa: F401

# pygal imports the importlib_metadata backport, which hands the discovery of installed
# packages from the stdlib's finder to its own finder on sys.meta_path. pytester restores
# sys.meta_path after a run, so a chart drawn inside one run would leave the next run unable
# to find any plugin's entry point: import it once, before any pytester snapshot.
import pygal  # noqa: F401
import pytest
import requests  # noqa: F401

pytest_plugins = ["pytester"]

from .support import LAYOUT, REPO, STACK  # noqa: E402 - after pytest_plugins, which pytest reads first


@pytest.fixture
def gitops(pytester: pytest.Pytester) -> Path:
    """The shipped example repository, copied into the pytester folder."""
    for name in LAYOUT:
        shutil.copytree(REPO / name, pytester.path / name)
    pytester.makeini("[pytest]\n")
    return pytester.path


@pytest.fixture(scope="session")
def incident() -> Iterator[object]:
    """The example incident on real servers: Redis (noeviction, full), redis_exporter,
    Prometheus with hours of backfilled history, an API burning its SLOs."""
    from teststack.scenario import Stack

    with Stack("incident") as stack:
        yield stack


@pytest.fixture(scope="session")
def fixed() -> Iterator[object]:
    """The same stack after the fix: allkeys-lru, maxmemory as declared, SLOs met."""
    from teststack.scenario import Stack

    with Stack("fixed") as stack:
        yield stack


# --------------------------------------------------------------------------- test layers
#
# Tests that start real servers say so with ``@pytest.mark.servers("redis-server", ...)``.
# They run after the unit tests (which need no server and finish in seconds). A missing
# binary fails them in CI (CI=true), naming the Debian package, and skips them elsewhere
# with the command that installs it.

PACKAGES = {
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-redis-exporter": "prometheus-redis-exporter",
    "prometheus-pushgateway": "prometheus-pushgateway",
    "chromium": "chromium",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "servers(*binaries): starts these real servers (Debian packages) on loopback")
    config.addinivalue_line(
        "markers", "wheel: builds the wheel and installs it, with its dependencies, in a fresh virtualenv (minutes)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # stable: unit tests first, in their order, then the tests with servers
    items.sort(key=lambda item: item.get_closest_marker("servers") is not None)


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("servers")
    if marker is None:
        return
    missing = sorted({b for b in (marker.args or STACK) if shutil.which(b) is None})
    if not missing:
        return
    packages = " ".join(sorted({PACKAGES.get(b, b) for b in missing}))
    message = f"{', '.join(missing)} not found: apt-get install -y {packages}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
