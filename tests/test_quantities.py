"""Quantities as Kubernetes and Redis read them, and as findings write them back.

The incident lived in the gap between the two systems, so each is checked against an authority we
did not write: the Kubernetes Python client's ``parse_quantity`` (the apimachinery grammar) and,
with a server, Redis itself (``CONFIG SET maxmemory`` then ``CONFIG GET``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from pytest_slo.units import QuantityError, format_bytes, format_duration, k8s_bytes, k8s_cpu, k8s_quantity, redis_bytes

# Every suffix Kubernetes knows, with its value (apimachinery resource/suffix.go: binary powers of
# 1024, decimal powers of 1000, and the milli): a suffix missing or mistyped changes a verdict.
K8S_SUFFIXES = {
    "m": Decimal("0.001"),
    "": Decimal(1),
    "k": Decimal(1000),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "Pi": Decimal(1024**5),
    "Ei": Decimal(1024**6),
}


@pytest.mark.parametrize("suffix", sorted(K8S_SUFFIXES))
def test_every_kubernetes_suffix_has_its_value(suffix: str) -> None:
    from kubernetes.utils.quantity import parse_quantity  # the Kubernetes Python client: the authority

    assert k8s_quantity(f"3{suffix}") == 3 * K8S_SUFFIXES[suffix] == parse_quantity(f"3{suffix}")


@pytest.mark.parametrize(
    "text",
    ["1.5Gi", "0.5", ".5", "5.", "+1", "-1", "1e3", "1E3", "1e-3", "1e+3", "12e6", "250m", "  512Mi  ", "0", "100.1m"],
)
def test_quantities_read_as_kubernetes_reads_them(text: str) -> None:
    from kubernetes.utils.quantity import parse_quantity

    assert k8s_quantity(text) == parse_quantity(text.strip())


@pytest.mark.parametrize(
    "text", ["2K", "2KB", "2kb", "2Gb", "2 Gi", "Gi", "", "abc", "1.2.3", "2i", "0x10", "1e", "e3", "2GiB", "--1"]
)
def test_what_kubernetes_refuses_is_refused(text: str) -> None:
    with pytest.raises(QuantityError, match=r"is not a Kubernetes quantity"):
        k8s_quantity(text)


def test_numbers_from_yaml_are_quantities_but_booleans_are_not() -> None:
    assert k8s_quantity(3) == 3 and k8s_quantity(0.1) == Decimal("0.1")  # no binary-float tail
    for value in (True, False):
        with pytest.raises(QuantityError) as refused:
            k8s_quantity(value)
        assert str(refused.value) == f"{value!r} is not a Kubernetes quantity"
        with pytest.raises(QuantityError) as refused:
            redis_bytes(value)
        assert str(refused.value) == f"{value!r} is not a Redis memory size"


# what each system refuses, and what pytest-slo says instead
K8S_REFUSED = [
    ("2GB", "'2GB' is not a Kubernetes quantity (Kubernetes writes 2Gi for binary or 2G for decimal units)"),
    ("2gb", "'2gb' is not a Kubernetes quantity (Kubernetes writes 2Gi for binary or 2G for decimal units)"),
    ("1.5 TB", "'1.5 TB' is not a Kubernetes quantity (Kubernetes writes 1.5Ti for binary or 1.5T for decimal units)"),
    ("4KB", "'4KB' is not a Kubernetes quantity (Kubernetes writes 4Ki for binary or 4k for decimal units)"),
    ("5GiB", "'5GiB' is not a Kubernetes quantity (suffixes: Ki Mi Gi Ti Pi Ei, k M G T P E, m)"),
    ("2K", "'2K' is not a Kubernetes quantity (suffixes: Ki Mi Gi Ti Pi Ei, k M G T P E, m)"),
    ("2 gigs", "'2 gigs' is not a Kubernetes quantity (suffixes: Ki Mi Gi Ti Pi Ei, k M G T P E, m)"),
    ("lots", "'lots' is not a Kubernetes quantity"),
    (" 2.5.1 ", "'2.5.1' is not a Kubernetes quantity"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # fractional bytes round up, as apimachinery's Quantity.Value() does: MustParse("0.1Gi").Value()
        # is 107374183 (astraw99/interview, k8s/quantity/resource.go), 0.9Gi is 966367641.6 bytes
        # (gtsystem/lightkube, docs/utils.md: "966367641600m") and so 966367642
        ("0.1Gi", 107374183),
        ("0.9Gi", 966367642),
        ("0.5", 1),  # half a byte is one byte, never none
        ("1500m", 2),
        ("1001m", 2),
        ("1000m", 1),
        ("0", 0),  # no memory at all is a quantity, not an error
        ("512Mi", 536870912),
        ("1e3", 1000),
        (1536, 1536),
    ],
)
def test_memory_in_bytes_rounds_fractions_up(text: str | int, expected: int) -> None:
    assert k8s_bytes(text) == expected


def test_negative_memory_and_cpu_are_refused() -> None:
    with pytest.raises(QuantityError) as refused:
        k8s_bytes("-1Mi")
    assert str(refused.value) == "'-1Mi' is negative; memory cannot be"
    with pytest.raises(QuantityError) as refused:
        k8s_cpu("-250m")
    assert str(refused.value) == "'-250m' is negative; CPU cannot be"
    with pytest.raises(QuantityError):
        k8s_bytes("-0.5")


def test_cpu_in_cores() -> None:
    assert k8s_cpu("250m") == Decimal("0.25")
    assert k8s_cpu("0") == 0 and k8s_cpu("0.5") == Decimal("0.5") and k8s_cpu("1500m") == Decimal("1.5")
    assert k8s_cpu(2) == 2


# redis.conf: "1k => 1000 bytes, 1kb => 1024 bytes, 1m => 1000000 bytes, 1mb => 1024*1024 bytes,
# 1g => 1000000000 bytes, 1gb => 1024*1024*1024 bytes; units are case insensitive so 1GB 1Gb 1gB
# are all the same" (redis/redis, redis.conf). No t, no tb: Redis 7 refuses them.
REDIS_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


@pytest.mark.parametrize("unit", sorted(REDIS_UNITS))
def test_every_redis_unit_has_its_value_in_any_case(unit: str) -> None:
    for spelled in {unit, unit.upper(), unit.capitalize(), unit.swapcase()}:
        assert redis_bytes(f"3{spelled}") == 3 * REDIS_UNITS[unit], spelled


def test_redis_sizes_read_as_redis_reads_them() -> None:
    assert redis_bytes(" 1536mb ") == 1610612736
    assert redis_bytes(2147483648) == 2147483648  # what CONFIG GET answers is already bytes
    assert redis_bytes("0") == 0


REDIS_REFUSED = [
    ("2Gi", "'2Gi' is not a Redis memory size (Redis has no Gi: write 2gb for binary units, 2g for decimal)"),
    ("512Mi", "'512Mi' is not a Redis memory size (Redis has no Mi: write 512mb for binary units, 512m for decimal)"),
    (" 64ki ", "'64ki' is not a Redis memory size (Redis has no ki: write 64kb for binary units, 64k for decimal)"),
    ("2Ti", "'2Ti' is not a Redis memory size (Redis has no Ti: write 2048gb for binary units, 2000g for decimal)"),
    ("2tb", "'2tb' is not a Redis memory size"),
    ("2t", "'2t' is not a Redis memory size"),
    ("1.5gb", "'1.5gb' is not a Redis memory size"),
    ("2 gb", "'2 gb' is not a Redis memory size"),
    ("-1", "'-1' is not a Redis memory size"),
    ("2Pi", "'2Pi' is not a Redis memory size"),
    ("gb", "'gb' is not a Redis memory size"),
]


@pytest.mark.parametrize(
    ("read", "text", "said"),
    [
        *((k8s_quantity, text, said) for text, said in K8S_REFUSED),
        *((redis_bytes, text, said) for text, said in REDIS_REFUSED),
    ],
)
def test_a_refused_size_says_how_its_system_writes_it(read: Callable[[object], object], text: str, said: str) -> None:
    with pytest.raises(QuantityError) as refused:
        read(text)
    assert str(refused.value) == said


@pytest.mark.servers("redis-server")
def test_redis_itself_reads_every_size_alike() -> None:
    """CONFIG SET maxmemory, then CONFIG GET: Redis' own reading of each size, or its refusal.
    (Surrounding blanks are left out: redis.conf and config.env lines are split before Redis or
    pytest-slo reads the value, and only CONFIG SET sees them.)"""
    import redis

    from teststack.servers import RedisServer

    sizes = ["0", "100", "2b", "4k", "4kb", "1536mb", "1536MB", "2g", "2gb", "2Gb", "2gB", "1m",
             "007", "18446744073709551615", "2Gi", "2Ti", "2t", "2tb", "1.5gb", "2 gb", "-1", "+5", "1e3", "0x10"]
    with RedisServer() as server:
        client = redis.Redis(host="127.0.0.1", port=server.port)
        for size in sizes:
            try:
                client.config_set("maxmemory", size)
            except redis.ResponseError:
                with pytest.raises(QuantityError):
                    redis_bytes(size)
                continue
            assert redis_bytes(size) == int(client.config_get("maxmemory")["maxmemory"]), size


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0"), (512, "512"), (999.6, "1000"), (1023, "1023"), (12.5, "12"),
        (1024, "1Ki"), (1536, "1.5Ki"), (1000 * 1024, "1000Ki"), (1023 * 1024, "1023Ki"),
        (512 * 1024**2, "512Mi"), (1.5 * 1024**3, "1.5Gi"), (2 * 1024**3, "2Gi"),
        (1.25 * 1024**4, "1.25Ti"), (3 * 1024**5, "3Pi"), (1024**6, "1024Pi"), (1024**7, "1048576Pi"),
        (-1536, "-1.5Ki"), (-3 * 1024**5, "-3Pi"),
    ],
)
def test_byte_counts_are_shown_in_binary_units(n: float, shown: str) -> None:
    assert format_bytes(n) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (604800, "1w"),
        (2 * 604800, "2w"),
        (86400, "1d"),
        (3 * 86400, "3d"),
        (8 * 86400, "8d"),
        (3600, "1h"),
        (5400, "90m"),
        (86400 + 3600, "25h"),
        (60, "1m"),
        (90, "90s"),
        (1, "1s"),
        (59.9, "59s"),
        (1800.0, "30m"),
    ],
)
def test_durations_are_written_in_their_largest_whole_unit(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown
