"""Importing and using the cache imports no heavy dependency."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import mlops_decorators

HEAVY = ("numpy", "redis", "xxhash", "pydantic", "psutil")
# Only shared backends and async functions need these.
UNNEEDED = ("asyncio", "sqlite3", "pickle", "hmac", "datetime", "uuid")


def heavy_modules_after(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import sys
        print(",".join(m for m in {modules!r} if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return [m for m in done.stdout.strip().split(",") if m]


def test_caching_package_and_use_import_nothing_heavy() -> None:
    code = """
        from mlops_decorators.caching import (
            CacheInfo, MemoryBackend, RedisBackend, SQLiteBackend, cache_result,
        )

        @cache_result(ttl=5)
        def f(x, y=[1]):
            return {"x": x}

        f(1), f(1), f(2, y=[{"a": {1}}]), f.cache_info(), f.cache_key(3)
    """
    assert heavy_modules_after(code) == []


def test_memory_caching_loads_no_backend_machinery() -> None:
    code = """
        from mlops_decorators.caching import cache_result

        @cache_result
        def f(x):
            return x

        f(1), f([1]), f.cache_info()
    """
    assert heavy_modules_after(code, UNNEEDED) == []


def test_backends_load_on_first_access() -> None:
    import mlops_decorators.caching as caching

    assert {"RedisBackend", "SQLiteBackend", "cache_result"} <= set(dir(caching))
    assert caching.SQLiteBackend.__name__ == "SQLiteBackend"
    with pytest.raises(AttributeError, match="nope"):
        caching.nope  # noqa: B018


def test_top_level_import_is_lazy() -> None:
    if "cache_result" not in getattr(mlops_decorators, "_EXPORTS", {}):
        pytest.skip("cache_result is not exported from the package top level yet")
    assert heavy_modules_after("from mlops_decorators import cache_result") == []
