# pyright: strict
"""Never executed: type-checked by ``mypy --strict`` and pyright (see tests/test_typing.py).

``cache_result`` keeps each decorated function's signature and return type, sync or async,
bare or called, on functions, methods, classmethods and staticmethods; the typed accessors
`cache_info`, `cache_clear` and `cache_invalidate` take any of them.
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from typing_extensions import assert_type

from mlops_decorators import cache_clear, cache_info, cache_invalidate
from mlops_decorators.caching import (
    CacheInfo,
    MemoryBackend,
    RedisBackend,
    SQLiteBackend,
    cache_result,
)


@cache_result
def bare(a: int, b: str = "x") -> list[str]:
    return [b] * a


@cache_result(ttl=timedelta(minutes=5), maxsize=None, ignore=("b",), typed=True)
def called(a: int, b: object = None) -> float:
    return float(a)


@cache_result(None, backend=MemoryBackend(), version="2", copy=True)
async def fetch(url: str) -> bytes:
    return url.encode()


@cache_result(backend=SQLiteBackend("cache.db", secret="s"), cache_none=False)
def persistent(x: int) -> int | None:
    return x or None


@cache_result(backend=RedisBackend(client=object(), prefix="svc:"), key=str)
def shared(x: int) -> dict[str, int]:
    return {"x": x}


class Model:
    @cache_result(ttl=60)
    def predict(self, x: float) -> float:
        return x

    @classmethod
    @cache_result
    def load(cls, path: str) -> Model:
        return cls()

    @staticmethod
    @cache_result(ttl=1.5)
    def version() -> str:
        return "1"


assert_type(bare(1), list[str])
assert_type(bare(1, b="y"), list[str])
assert_type(called(1), float)
assert_type(persistent(1), int | None)
assert_type(shared(1), dict[str, int])
assert_type(Model().predict(1.0), float)
assert_type(Model.load("p"), Model)
assert_type(Model.version(), str)
info: CacheInfo = CacheInfo("f", 0, 0, None, None, 0, 0, 0, 0, 0)
assert_type(cache_info(bare), CacheInfo)
assert_type(cache_info(fetch).hits, int)
assert_type(cache_info(Model().predict), CacheInfo)
assert_type(cache_info(Model.load), CacheInfo)
assert_type(cache_clear(shared), None)
assert_type(cache_invalidate(bare, 1, b="y"), bool)
assert_type(cache_invalidate(Model.predict, Model(), 1.0), bool)


async def use_async() -> None:
    coroutine: Coroutine[Any, Any, bytes] = fetch("u")
    assert_type(await coroutine, bytes)
