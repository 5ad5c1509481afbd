"""Returned numpy arrays cannot be used to corrupt the cache."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from mlops_decorators.caching import cache_result


def test_cached_arrays_are_read_only_on_miss_and_hit() -> None:
    @cache_result
    def ones(n: int) -> np.ndarray:
        return np.ones(n)

    first = ones(3)
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 5
    second = ones(3)
    assert second is first
    with pytest.raises(ValueError, match="read-only"):
        second += 1
    np.testing.assert_array_equal(ones(3), np.ones(3))


def test_views_are_copied_so_the_base_cannot_change_them() -> None:
    base = np.zeros(10)

    @cache_result
    def window(start: int) -> np.ndarray:
        return base[start : start + 3]

    cached = window(2)
    base[:] = 7  # the caller still owns the base: the cached value must not follow
    np.testing.assert_array_equal(window(2), np.zeros(3))
    assert not cached.flags.writeable
    assert base.flags.writeable


def test_array_subclasses_are_read_only_too(tmp_path: Path) -> None:
    @cache_result
    def masked(n: int) -> np.ndarray:
        return np.ma.masked_array(np.arange(n), mask=[False] * n)

    @cache_result
    def mapped(n: int) -> np.ndarray:
        array = np.memmap(tmp_path / "a.bin", dtype=np.int8, mode="w+", shape=(n,))
        array[:] = 1
        return array

    for result in (masked(3), masked(3), mapped(3), mapped(3)):
        with pytest.raises(ValueError, match="read-only"):
            result[0] = 5
    assert masked(3).tolist() == [0, 1, 2]
    assert mapped(3).tolist() == [1, 1, 1]


def test_arrays_inside_tuples_lists_and_dicts() -> None:
    @cache_result
    def pair(n: int) -> tuple[np.ndarray, dict[str, object]]:
        return np.arange(n), {"ids": np.arange(n), "view": np.arange(2 * n)[::2], "n": n}

    arr, extra = pair(3)
    assert not arr.flags.writeable
    assert not extra["ids"].flags.writeable  # type: ignore[union-attr]
    assert not extra["view"].flags.writeable  # type: ignore[union-attr]
    assert pair(3)[1] is extra

    class Scored(NamedTuple):
        vector: np.ndarray
        score: float

    @cache_result
    def scored(n: int) -> Scored:
        return Scored(np.arange(2 * n)[::2], 0.5)  # a view: copied, then frozen

    result = scored(2)
    assert type(result) is Scored
    assert not result.vector.flags.writeable
    assert scored(2) is result


def test_copy_true_returns_writable_fresh_copies() -> None:
    @cache_result(copy=True)
    def ones(n: int) -> np.ndarray:
        return np.ones(n)

    first = ones(3)
    first[0] = 5  # the miss returns the function's own array
    second = ones(3)
    assert second.flags.writeable
    second[:] = 9
    np.testing.assert_array_equal(ones(3), np.ones(3))
    assert ones(3) is not ones(3)


async def test_async_arrays_read_only() -> None:
    @cache_result
    async def ones(n: int) -> np.ndarray:
        return np.ones(n)

    assert not (await ones(2)).flags.writeable
    assert not (await ones(2)).flags.writeable


def test_max_bytes_weighs_containers_by_their_arrays() -> None:
    """A tuple of arrays weighed by sys.getsizeof of the tuple: max_bytes=10 MB held 160 MB."""
    mb = 1024 * 1024

    @cache_result(max_bytes=10 * mb, maxsize=None)
    def batch(i: int) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
        return np.zeros(mb, dtype=np.uint8), {"parts": [np.zeros(mb, dtype=np.uint8)] * 2}

    for i in range(16):
        batch(i)
    info = batch.cache_info()
    assert info.currsize == 4  # 2 MB each (the list holds one array twice): 4 x 2 <= 10 < 5 x 2
    assert info.evictions == 12

    @cache_result(max_bytes=10 * mb)
    def too_big(i: int) -> list[np.ndarray]:
        return [np.zeros(6 * mb, dtype=np.uint8), np.zeros(6 * mb, dtype=np.uint8)]

    too_big(1)
    assert too_big.cache_info().currsize == 0  # 12 MB: returned, not cached
