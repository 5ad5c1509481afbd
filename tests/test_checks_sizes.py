"""Sizes in bytes: what `byte_size` accepts, the house error shape (``"<param> must be ...,
got <type> <value!r>"``) for what it refuses, and how `format_bytes` writes sizes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_decorators._checks import byte_size
from mlops_decorators._values import format_bytes

UNITS = {
    "": 1,
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "K": 1000,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "Ki": 2**10,
    "MiB": 2**20,
    "Mi": 2**20,
    "GiB": 2**30,
    "Gi": 2**30,
    "TiB": 2**40,
    "PiB": 2**50,
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (512, 512),
        ("512MiB", 512 * 2**20),
        ("2GB", 2 * 10**9),
        ("1.5 GiB", 3 * 2**29),
        ("  4Gi ", 4 * 2**30),
        ("1.5 b", 2),
        ("0.5kb", 500),
        ("7", 7),
        (".5 KiB", 512),
    ],
)
def test_byte_size_reads_ints_and_size_strings(value: int | str, expected: int) -> None:
    assert byte_size("max_rss", value) == expected


def test_byte_size_reads_numpy_integers() -> None:
    np = pytest.importorskip("numpy")
    assert byte_size("max_rss", np.int64(4096)) == 4096


@pytest.mark.parametrize("value", [-1, "-1GB", "lots", "", "GB", "1.2.3 GB", "1e3", "2 parsecs"])
def test_byte_size_refuses_bad_values_with_a_value_error(value: int | str) -> None:
    with pytest.raises(ValueError, match=r"^min_available must be a size") as info:
        byte_size("min_available", value)
    assert str(info.value) == (
        "min_available must be a size in bytes >= 0: an int or a string such as '512MiB', "
        f"'2GB' or '1.5 GiB', got {value!r}"
    )


@pytest.mark.parametrize("value", [1.5, True, None, [1], b"1GB"])
def test_byte_size_refuses_other_types_with_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError) as info:
        byte_size("max_rss", value)
    assert str(info.value).startswith("max_rss must be a size in bytes >= 0")
    assert str(info.value).endswith(f", got {type(value).__name__} {value!r}")


@given(n=st.integers(min_value=0, max_value=10**6), unit=st.sampled_from(sorted(UNITS)))
def test_byte_size_of_a_whole_number_of_units(n: int, unit: str) -> None:
    for text in (f"{n}{unit}", f"{n} {unit.lower()}", f" {n}  {unit.upper()} "):
        assert byte_size("size", text) == n * UNITS[unit]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536 * 2**20, "1.5 GiB"),
        (int(1023.99 * 2**20), "1.0 GiB"),  # rounded before the unit is chosen
        (int(99.96 * 2**30), "100 GiB"),
        (5 * 2**50, "5120 TiB"),
    ],
)
def test_format_bytes(size: int, text: str) -> None:
    assert format_bytes(size) == text
