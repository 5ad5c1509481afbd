"""The in-process backend: an LRU ordered dict with a TTL per entry, guarded for threads.

Reads take no lock. ``OrderedDict.get`` and ``move_to_end`` are single C calls, atomic under
the GIL, and entries are immutable tuples ``(value, deadline, weight)``: a reader sees the
old entry or its replacement, never a torn one. An entry may be evicted by another thread
between a reader's ``get`` and its ``move_to_end``; the reader still returns the value it
read (it was live when read) and ignores the ``KeyError``. Writers (insertion, eviction,
expiry, deletion) serialise on one lock per store, and never iterate ``data`` (a reader's
``move_to_end`` would invalidate the iterator): eviction takes the oldest entry with
``popitem``.

Every entry of a store has the same TTL, so insertion order is deadline order: a second
ordered dict keeps keys by deadline and expired entries are purged from its front in O(1)
per entry, before any live entry is evicted.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from .. import _checks
from .._stats import Counter

Entry = tuple[Any, float, int]


class MemoryBackend:
    """Keep results in this process (the default backend).

    Each decorated function, and each instance for methods, gets its own least-recently-used
    store sized by ``cache_result(maxsize=..., max_bytes=...)``; one `MemoryBackend` may be
    shared by several functions without their entries mixing.

    Args:
        clock: Monotonic clock in seconds used for expiry; inject a fake one in tests.

    Raises:
        TypeError: ``clock`` is not callable.

    Example:
        >>> from mlops_decorators.caching import cache_result
        >>> now = [0.0]
        >>> @cache_result(ttl=10, backend=MemoryBackend(clock=lambda: now[0]))
        ... def square(x: int) -> int:
        ...     return x * x
        >>> square(3), square(3)
        (9, 9)
        >>> now[0] = 11.0
        >>> square(3), square.cache_info().expirations
        (9, 1)
    """

    __slots__ = ("clock",)

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = _checks.is_callable("clock", clock)

    def __repr__(self) -> str:
        return f"MemoryBackend(clock={self.clock!r})"


def weight_of(value: Any) -> int:
    """Bytes an entry counts for under ``max_bytes``: ``nbytes`` when it has one."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    return sys.getsizeof(value)


class MemoryStore:
    """One function's (or one instance's) entries."""

    __slots__ = (
        "_by_deadline",
        "_evictions",
        "_expirations",
        "_lock",
        "_ttl",
        "bytes",
        "clock",
        "data",
        "max_bytes",
        "maxsize",
    )

    def __init__(
        self,
        clock: Callable[[], float],
        ttl: float | None,
        maxsize: int | None,
        max_bytes: int | None,
        evictions: Counter,
        expirations: Counter,
    ) -> None:
        self.clock = clock
        self._ttl = ttl
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.data: OrderedDict[Hashable, Entry] = OrderedDict()
        self._by_deadline: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()
        self._evictions = evictions
        self._expirations = expirations
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.data)

    def lookup(self, key: Hashable) -> Entry | None:
        """The live entry under `key` (marked recently used), else None; expired ones go."""
        entry = self.data.get(key)
        if entry is None:
            return None
        if entry[1] > self.clock():
            try:  # noqa: SIM105 -- contextlib.suppress costs a call per hit
                self.data.move_to_end(key)
            except KeyError:  # evicted by another thread since the get: still a valid read
                pass
            return entry
        with self._lock:
            if self.data.get(key) is entry:
                self._remove(key, entry)
                self._expirations.increment()
        return None

    def put(self, key: Hashable, value: Any) -> None:
        """Store `value` under `key`, then purge expired entries and evict down to the limits."""
        weight = weight_of(value) if self.max_bytes is not None else 0
        if self.max_bytes is not None and weight > self.max_bytes:
            return  # would evict everything and still not fit
        now = self.clock()
        deadline = math.inf if self._ttl is None else now + self._ttl
        with self._lock:
            old = self.data.pop(key, None)
            if old is not None:
                self.bytes -= old[2]
                self._by_deadline.pop(key, None)
            self.data[key] = (value, deadline, weight)
            self.bytes += weight
            if self._ttl is not None:
                self._by_deadline[key] = deadline
            self._purge_expired(now)
            self._evict()

    def _purge_expired(self, now: float) -> None:
        by_deadline = self._by_deadline
        while by_deadline:
            key, deadline = next(iter(by_deadline.items()))
            if deadline > now:
                return
            entry = self.data[key]
            self._remove(key, entry)
            self._expirations.increment()

    def _evict(self) -> None:
        data = self.data
        while (self.maxsize is not None and len(data) > self.maxsize) or (
            self.max_bytes is not None and self.bytes > self.max_bytes
        ):
            # popitem is one C call: an iterator here would fail when a lock-free reader's
            # move_to_end lands between creating it and reading from it.
            key, entry = data.popitem(last=False)
            self._by_deadline.pop(key, None)
            self.bytes -= entry[2]
            self._evictions.increment()

    def _remove(self, key: Hashable, entry: Entry) -> None:
        del self.data[key]
        self._by_deadline.pop(key, None)
        self.bytes -= entry[2]

    def delete(self, key: Hashable) -> bool:
        """Drop `key`; whether a live entry was there."""
        with self._lock:
            entry = self.data.get(key)
            if entry is None:
                return False
            self._remove(key, entry)
            return entry[1] > self.clock()

    def clear(self) -> None:
        with self._lock:
            self.data.clear()
            self._by_deadline.clear()
            self.bytes = 0
