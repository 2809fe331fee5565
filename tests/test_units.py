from decimal import Decimal

import pytest

from pytest_slo.units import QuantityError, k8s_bytes, k8s_cpu, plural, redis_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2Gi", 2147483648),
        ("2048Mi", 2147483648),
        ("2G", 2_000_000_000),
        ("512Mi", 536870912),
        ("1e3", 1000),
        ("128974848", 128974848),
        ("0.5Gi", 536870912),
    ],
)
def test_k8s_memory(text: str, expected: int) -> None:
    assert k8s_bytes(text) == expected


@pytest.mark.parametrize("text", ["2GB", "2gb", "2 Gi", "Gi", "", "2Gb", "abc"])
def test_k8s_rejects(text: str) -> None:
    with pytest.raises(QuantityError):
        k8s_bytes(text)


def test_k8s_2gb_hint_names_the_right_spelling() -> None:
    with pytest.raises(QuantityError, match="2Gi for binary or 2G for decimal"):
        k8s_bytes("2GB")


def test_k8s_cpu() -> None:
    assert k8s_cpu("250m") == Decimal("0.25")
    assert k8s_cpu("2") == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2gb", 2147483648),
        ("2GB", 2147483648),
        ("2g", 2_000_000_000),
        ("1536mb", 1610612736),
        ("100", 100),
        ("4kb", 4096),
        ("4k", 4000),
    ],
)
def test_redis_sizes(text: str, expected: int) -> None:
    assert redis_bytes(text) == expected


def test_redis_rejects_kubernetes_units() -> None:
    with pytest.raises(QuantityError, match="Redis has no Gi: write 2gb"):
        redis_bytes("2Gi")


@pytest.mark.parametrize(
    ("n", "noun", "said"),
    [(1, "restart", "1 restart"), (0, "restart", "0 restarts"), (3, "node", "3 nodes"), (1, "OOM kill", "1 OOM kill"),
     (2, "OOM kill", "2 OOM kills"), (-1, "pod", "-1 pods")],
)
def test_a_count_is_said_with_its_noun_in_the_number_a_person_uses(n: int, noun: str, said: str) -> None:
    assert plural(n, noun) == said
