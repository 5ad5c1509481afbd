"""`cache_result` hits vs cachetools and functools.lru_cache; array keying throughput.

``notes()`` gives one more line for ``overhead.py``: the throughput of keying a 1 MiB
float32 array (target: >= 10 GB/s with xxhash installed).
"""

from __future__ import annotations

import functools
import importlib.util
import operator
import threading
import time
from typing import Any

import cachetools
from _page import verdict
from overhead import Group

from mlops_decorators.caching import cache_result

ARRAY_TARGET_GBPS = 10.0


def _work(x: int) -> int:
    return x + 1


def _work_kw(x: int, y: int = 0) -> int:
    return x + y


async def _awork(x: int) -> int:
    return x + 1


class _Model:
    """A model whose ``predict`` is cached per instance, ours and cachetools' way."""

    def __init__(self) -> None:
        self.cache: cachetools.TTLCache[Any, int] = cachetools.TTLCache(maxsize=1024, ttl=60)
        self.lock = threading.Lock()

    def bare(self, x: int) -> int:
        return x + 1

    @cache_result(ttl=60)
    def ours(self, x: int) -> int:
        return x + 1

    @cachetools.cachedmethod(operator.attrgetter("cache"), lock=operator.attrgetter("lock"))
    def theirs(self, x: int) -> int:
        return x + 1


def array_keying_gbps(repeat: int = 200) -> float | None:
    """GB/s of keying one 1 MiB float32 array (best of `repeat` batches); None without numpy."""
    try:
        import numpy as np
    except ImportError:
        return None
    from mlops_decorators.caching._keys import array_key

    array = np.random.default_rng(0).random(256 * 1024, dtype=np.float32)  # 1 MiB
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(10):
            array_key(array)
        best = min(best, (time.perf_counter_ns() - start) / 10)
    return array.nbytes / best  # bytes per ns == GB/s


def notes() -> list[str]:
    """Measurements that are not per-call overheads: array keying throughput."""
    gbps = array_keying_gbps()
    if gbps is None:
        return ["- `cache_result` array keying: skipped (numpy is not installed)."]
    hashing = "xxhash" if importlib.util.find_spec("xxhash") else "blake2b: xxhash is missing"
    return [
        f"- `cache_result` keying a 1 MiB float32 array: **{gbps:.1f} GB/s** ({hashing}; "
        f"target >= {ARRAY_TARGET_GBPS:g} GB/s, {verdict(gbps >= ARRAY_TARGET_GBPS)})."
    ]


def groups() -> list[Group]:
    ours = cache_result(ttl=60)(_work)
    ttl_cached = cachetools.cached(
        cachetools.TTLCache(maxsize=1024, ttl=60), lock=threading.Lock()
    )(_work)
    ours_kw = cache_result(ttl=60)(_work_kw)
    ttl_cached_kw = cachetools.cached(
        cachetools.TTLCache(maxsize=1024, ttl=60), lock=threading.Lock()
    )(_work_kw)
    lru = functools.lru_cache(maxsize=1024)(_work)
    ours_async = cache_result(ttl=60)(_awork)

    async def bare_async() -> int:
        return await _awork(1)

    async def ours_async_call() -> int:
        return await ours_async(1)

    model = _Model()

    return [
        Group(
            name="cache_result hit (sync, 1 int)",
            bare=lambda: _work(1),
            ours=lambda: ours(1),
            peers={
                "cachetools.cached(TTLCache, lock)": lambda: ttl_cached(1),
                "functools.lru_cache (reference)": lambda: lru(1),
            },
            targets={"cachetools.cached(TTLCache, lock)": 0.3},
        ),
        Group(
            name="cache_result hit (sync, keyword argument)",
            bare=lambda: _work_kw(1, y=2),
            ours=lambda: ours_kw(1, y=2),
            peers={"cachetools.cached(TTLCache, lock)": lambda: ttl_cached_kw(1, y=2)},
            targets={"cachetools.cached(TTLCache, lock)": 0.3},
        ),
        Group(
            name="cache_result hit (method, per instance)",
            bare=lambda: model.bare(1),
            ours=lambda: model.ours(1),
            peers={"cachetools.cachedmethod(TTLCache, lock)": lambda: model.theirs(1)},
            targets={"cachetools.cachedmethod(TTLCache, lock)": 0.8},
        ),
        Group(
            name="cache_result hit (async, 1 int)",
            bare=bare_async,
            ours=ours_async_call,
            is_async=True,
        ),
    ]
