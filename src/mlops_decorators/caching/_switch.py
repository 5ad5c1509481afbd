"""The process-wide caching switch for test suites: `set_caching`, and
``MLOPS_DECORATORS_CACHE_DISABLED=1`` in the environment.

The wrappers' inlined hit path never reads the switch (it would cost every hit): turning
caching off empties every in-memory cache instead, and the miss path, which every call then
takes, reads it.
"""

from __future__ import annotations

import weakref
from typing import Any

from .. import _checks
from .._switches import Restore, env_flag

__all__ = ["reset_cache_settings", "set_caching"]

DISABLED_ENV = "MLOPS_DECORATORS_CACHE_DISABLED"


class Settings:
    """Whether caching is on, and every cached function's state, to empty when it goes off."""

    __slots__ = ("_caches", "enabled")

    enabled: bool

    def __init__(self) -> None:
        self._caches: weakref.WeakSet[Any] = weakref.WeakSet()
        self.reset()

    def register(self, cache: Any) -> None:
        """Remember the state of a newly decorated function (weakly)."""
        self._caches.add(cache)

    def set(self, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            for cache in list(self._caches):  # a snapshot: other threads may decorate
                cache.empty_memory()

    def reset(self) -> None:
        self.set(not env_flag(DISABLED_ENV))


settings = Settings()


def set_caching(enabled: bool) -> Restore:
    """Turn `cache_result` on or off, for the whole process (a switch for test suites).

    With caching off every call runs its function: nothing is read from or written to any
    cache, and each call counts as a miss. Turning it off empties every in-memory cache
    (shared SQLite and Redis stores keep their entries). Used as a context manager, the
    previous setting comes back at the end of the block. ``MLOPS_DECORATORS_CACHE_DISABLED=1``
    in the environment starts the process with caching off.

    Args:
        enabled: False to turn caching off.

    Returns:
        A context manager that restores the previous setting on exit.

    Raises:
        TypeError: `enabled` is not True or False.

    Example:
        >>> from mlops_decorators.caching import cache_result
        >>> calls = []
        >>> @cache_result
        ... def load(name: str) -> str:
        ...     calls.append(name)
        ...     return name.upper()
        >>> with set_caching(False):
        ...     load("a"), load("a")
        ('A', 'A')
        >>> load("a"), len(calls)
        ('A', 3)
    """
    previous = settings.enabled
    settings.set(_checks.flag("enabled", enabled))
    return Restore(lambda: settings.set(previous))


def reset_cache_settings() -> None:
    """Set the caching switch from the environment variable again (on, unless
    ``MLOPS_DECORATORS_CACHE_DISABLED`` says otherwise). Handy in a test suite's fixture.

    Example:
        >>> reset_cache_settings()
    """
    settings.reset()
