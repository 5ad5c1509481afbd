"""Result caching: `cache_result` with memory, SQLite and Redis backends, the typed
accessors `cache_info`, `cache_clear` and `cache_invalidate`, and the test switch
`set_caching` (``MLOPS_DECORATORS_CACHE_DISABLED=1``).

Importing this package imports neither numpy, xxhash nor redis: arrays are recognised
only when numpy is already loaded, and `RedisBackend` imports redis when constructed.
`SQLiteBackend` and `RedisBackend` are loaded on first access (PEP 562), so a process that
only caches in memory never imports sqlite3, pickle or the signing code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._cache import CacheBackend, CacheInfo
from ._decorator import (
    cache_clear,
    cache_info,
    cache_invalidate,
    cache_result,
    reset_cache_settings,
    set_caching,
)
from ._memory import MemoryBackend

if TYPE_CHECKING:
    from ._redis import RedisBackend
    from ._sqlite import SQLiteBackend

__all__ = [
    "CacheBackend",
    "CacheInfo",
    "MemoryBackend",
    "RedisBackend",
    "SQLiteBackend",
    "cache_clear",
    "cache_info",
    "cache_invalidate",
    "cache_result",
    "reset_cache_settings",
    "set_caching",
]

_LAZY = {"RedisBackend": "._redis", "SQLiteBackend": "._sqlite"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
