"""The in-process backend: an LRU ordered dict with a TTL per entry, guarded for threads.

Entries are filed under their key's hash (an int), not under the key: the wrappers hash a
call's key once and every later step (lookup, LRU update, store, eviction) reuses that int,
so an argument's ``__hash__`` runs once per call. An entry ``(value, deadline, weight,
key)`` carries its key, compared on every lookup. Should two live keys share a hash
(``hash(-1) == hash(-2)``), the second is filed under its `HashedKey` instead, which a
lookup tries when the first slot holds another key; so both stay cached.

Reads take no lock. ``OrderedDict.get`` and ``move_to_end`` are single C calls, atomic under
the GIL, and entries are immutable tuples: a reader sees the old entry or its replacement,
never a torn one. An entry may be evicted by another thread between a reader's ``get`` and
its ``move_to_end``; the reader still returns the value it read (it was live when read) and
ignores the ``KeyError``. Writers (insertion, eviction, expiry, deletion) serialise on one
lock per store, and never iterate ``data`` (a reader's ``move_to_end`` would invalidate the
iterator): eviction takes the oldest entry with ``popitem``.

Every entry of a store has the same TTL, so insertion order is deadline order: a second
ordered dict keeps slots by deadline and expired entries are purged from its front in O(1)
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
from ._keys import HashedKey

# (value, deadline, weight, key)
Entry = tuple[Any, float, int, tuple[Any, ...]]


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
    """Bytes an entry counts for under ``max_bytes``: ``nbytes`` when it has one (arrays),
    the container plus its items for tuples, lists and dicts (a tuple of arrays weighs its
    arrays; an object held twice counts once), else `sys.getsizeof`."""
    seen: set[int] = set()

    def weigh(item: Any) -> int:
        nbytes = getattr(item, "nbytes", None)
        if isinstance(nbytes, int):
            return nbytes
        size = sys.getsizeof(item)
        if isinstance(item, (tuple, list, dict)):
            if id(item) in seen:  # shared, or a cycle
                return 0
            seen.add(id(item))
            items = item.items() if isinstance(item, dict) else (item,)
            return size + sum(weigh(part) for pair in items for part in pair)
        return size

    return weigh(value)


class MemoryStore:
    """One function's (or one instance's) entries."""

    __slots__ = (
        "_by_deadline",
        "_collided",
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
        # slot -> entry, where a slot is the key's hash, or its HashedKey when another live
        # key holds that hash.
        self.data: OrderedDict[Hashable, Entry] = OrderedDict()
        self._by_deadline: OrderedDict[Hashable, float] = OrderedDict()
        self._collided = 0  # entries under a HashedKey slot
        self._lock = threading.Lock()
        self._evictions = evictions
        self._expirations = expirations
        self.bytes = 0

    def __len__(self) -> int:
        """Live entries (expired ones wait for the next write to be purged)."""
        if self._ttl is None:
            return len(self.data)
        now = self.clock()
        with self._lock:
            expired = 0
            for deadline in self._by_deadline.values():  # deadline order
                if deadline > now:
                    break
                expired += 1
            return len(self.data) - expired

    def _find(self, key: HashedKey) -> tuple[Hashable, Entry] | None:
        """The slot and entry of `key`, if it is stored."""
        entry = self.data.get(key.hash)
        if entry is not None and entry[3] == key.key:
            return key.hash, entry
        if self._collided:
            entry = self.data.get(key)
            if entry is not None:
                return key, entry
        return None

    def lookup(self, key: HashedKey) -> Entry | None:
        """The live entry under `key` (marked recently used), else None; expired ones go."""
        found = self._find(key)
        if found is None:
            return None
        slot, entry = found
        if entry[1] > self.clock():
            try:  # noqa: SIM105 -- contextlib.suppress costs a call per hit
                self.data.move_to_end(slot)
            except KeyError:  # evicted by another thread since the get: still a valid read
                pass
            return entry
        with self._lock:
            if self.data.get(slot) is entry:
                self._remove(slot, entry)
                self._expirations.increment()
        return None

    def put(self, key: HashedKey, value: Any) -> None:
        """Store `value` under `key`, then purge expired entries and evict down to the limits."""
        weight = weight_of(value) if self.max_bytes is not None else 0
        if self.max_bytes is not None and weight > self.max_bytes:
            return  # would evict everything and still not fit
        now = self.clock()
        deadline = math.inf if self._ttl is None else now + self._ttl
        with self._lock:
            old = self._find(key)
            if old is not None:
                self._remove(*old)
            slot: Hashable = key.hash
            if slot in self.data:  # another key with this hash
                slot = key
                self._collided += 1
            self.data[slot] = (value, deadline, weight, key.key)
            self.bytes += weight
            if self._ttl is not None:
                self._by_deadline[slot] = deadline
            self._purge_expired(now)
            self._evict()

    def _purge_expired(self, now: float) -> None:
        by_deadline = self._by_deadline
        while by_deadline:
            slot, deadline = next(iter(by_deadline.items()))
            if deadline > now:
                return
            self._remove(slot, self.data[slot])
            self._expirations.increment()

    def _evict(self) -> None:
        data = self.data
        while (self.maxsize is not None and len(data) > self.maxsize) or (
            self.max_bytes is not None and self.bytes > self.max_bytes
        ):
            # popitem is one C call: an iterator here would fail when a lock-free reader's
            # move_to_end lands between creating it and reading from it.
            slot, entry = data.popitem(last=False)
            self._forget(slot, entry)
            self._evictions.increment()

    def _remove(self, slot: Hashable, entry: Entry) -> None:
        del self.data[slot]
        self._forget(slot, entry)

    def _forget(self, slot: Hashable, entry: Entry) -> None:
        """The bookkeeping of an entry gone from `data`."""
        self._by_deadline.pop(slot, None)
        self.bytes -= entry[2]
        if type(slot) is HashedKey:
            self._collided -= 1

    def delete(self, key: HashedKey) -> bool:
        """Drop `key`; whether a live entry was there."""
        with self._lock:
            found = self._find(key)
            if found is None:
                return False
            self._remove(*found)
            return found[1][1] > self.clock()

    def clear(self) -> None:
        with self._lock:
            self.data.clear()
            self._by_deadline.clear()
            self._collided = 0
            self.bytes = 0
