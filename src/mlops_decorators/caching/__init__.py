"""Result caching: `cache_result` with memory, SQLite and Redis backends.

Importing this package imports neither numpy, xxhash nor redis: arrays are recognised
only when numpy is already loaded, and `RedisBackend` imports redis when constructed.
"""

from __future__ import annotations

from ._cache import CacheBackend, CacheInfo, cache_result
from ._memory import MemoryBackend
from ._redis import RedisBackend
from ._sqlite import SQLiteBackend

__all__ = [
    "CacheBackend",
    "CacheInfo",
    "MemoryBackend",
    "RedisBackend",
    "SQLiteBackend",
    "cache_result",
]
