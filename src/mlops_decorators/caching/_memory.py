"""The in-process backend: a dict of entries with a TTL each, an LRU order, a lock for writers.

Entries ``(value, deadline, weight, token, key)`` are filed under their key's hash (an int),
which the call computed once (`HashedKey`); the entry holds its key, so a lookup compares
it with the call's own. So the wrappers' hit path hashes a call's arguments once, with
``hash(key)``, looks the int up and compares the tuples in C; the miss path hands that hash
on, and nothing hashes an argument again (functools' promise: once per call). Two keys
whose hashes collide cannot share a slot: the second goes to an overflow dict keyed by its
`HashedKey`, which the slow path reads. The LRU order is a second, ordered dict from each
entry's token (an int, unique per store) to the entry, so eviction needs no key at all.

Reads take no lock. ``dict.get`` and ``OrderedDict.move_to_end`` are single C calls, atomic
under the GIL, and entries are immutable tuples: a reader sees the old entry or its
replacement, never a torn one. An entry may be evicted (or replaced) by another thread
between a reader's ``get`` and its ``move_to_end``; the reader still returns the value it
read (it was live when read) and ignores the ``KeyError``. Writers (insertion, eviction,
expiry, deletion) serialise on one lock per store, and never iterate the LRU order (a
reader's ``move_to_end`` would invalidate the iterator): eviction takes the oldest entry with
``popitem``.

Every entry of a store has the same TTL, so insertion order is deadline order: a third
ordered dict keeps tokens by deadline and expired entries are purged from its front in O(1)
per entry, before any live entry is evicted.
"""

from __future__ import annotations

import itertools
import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .. import _checks
from .._stats import Counter
from ._keys import HashedKey

# (value, deadline, weight, token, key)
Entry = tuple[Any, float, int, int, HashedKey]


class MemoryBackend:
    """Keep results in this process (the default backend).

    Each decorated function, and each instance for methods, gets its own least-recently-used
    store sized by ``cache_result(maxsize=..., max_bytes=...)``; one `MemoryBackend` may be
    shared by several functions without their entries mixing. The entries live with each
    decorated function, not in the backend: a pickled copy carries only the clock.

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
        if id(item) in seen:  # held twice, or a cycle
            return 0
        seen.add(id(item))
        nbytes = getattr(item, "nbytes", None)
        if isinstance(nbytes, int):
            return nbytes
        size = sys.getsizeof(item)
        if isinstance(item, dict):
            return size + sum(weigh(k) + weigh(v) for k, v in item.items())
        if isinstance(item, (tuple, list)):
            return size + sum(map(weigh, item))
        return size

    return weigh(value)


class MemoryStore:
    """One function's (or one instance's) entries."""

    __slots__ = (
        "_by_deadline",
        "_evictions",
        "_expirations",
        "_lock",
        "_overflow",
        "_tokens",
        "_ttl",
        "bytes",
        "clock",
        "data",
        "max_bytes",
        "maxsize",
        "order",
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
        self.data: dict[int, Entry] = {}  # key hash -> entry
        self._overflow: dict[HashedKey, Entry] = {}  # keys whose hash `data` files another's
        self.order: OrderedDict[int, Entry] = OrderedDict()  # token -> entry, LRU first
        self._by_deadline: OrderedDict[int, float] = OrderedDict()  # token -> deadline
        self._tokens = itertools.count()
        self._lock = threading.Lock()
        self._evictions = evictions
        self._expirations = expirations
        self.bytes = 0

    def __len__(self) -> int:
        """Live entries (expired ones wait for the next write to be purged)."""
        if self._ttl is None:
            return len(self.order)
        now = self.clock()
        with self._lock:
            expired = 0
            for deadline in self._by_deadline.values():  # deadline order
                if deadline > now:
                    break
                expired += 1
            return len(self.order) - expired

    def after_fork(self) -> None:
        """In a child made by ``os.fork()``: a lock held by a parent's thread never opens
        here, and what that thread was writing may be half done, so its store starts empty."""
        held = self._lock.locked()
        self._lock = threading.Lock()
        if held:
            self.clear()

    def _find(self, key: HashedKey) -> Entry | None:
        entry = self.data.get(key.hash)
        if entry is not None and entry[4] == key:
            return entry
        return self._overflow.get(key) if self._overflow else None

    def lookup(self, key: HashedKey) -> Entry | None:
        """The live entry under `key` (marked recently used), else None; expired ones go."""
        entry = self._find(key)
        if entry is None:
            return None
        if entry[1] > self.clock():
            try:  # noqa: SIM105 -- contextlib.suppress costs a call per hit
                self.order.move_to_end(entry[3])
            except KeyError:  # evicted by another thread since the get: still a valid read
                pass
            return entry
        with self._lock:
            if self._remove(entry):
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
                self._remove(old)
            entry = (value, deadline, weight, next(self._tokens), key)
            if key.hash in self.data:  # another key's hash too
                self._overflow[key] = entry
            else:
                self.data[key.hash] = entry
            self.order[entry[3]] = entry
            self.bytes += weight
            if self._ttl is not None:
                self._by_deadline[entry[3]] = deadline
            self._purge_expired(now)
            self._evict()

    def _purge_expired(self, now: float) -> None:
        by_deadline = self._by_deadline
        while by_deadline:
            token, deadline = next(iter(by_deadline.items()))
            if deadline > now:
                return
            self._remove(self.order[token])
            self._expirations.increment()

    def _evict(self) -> None:
        while (self.maxsize is not None and len(self.order) > self.maxsize) or (
            self.max_bytes is not None and self.bytes > self.max_bytes
        ):
            # popitem is one C call: an iterator here would fail when a lock-free reader's
            # move_to_end lands between creating it and reading from it.
            token, entry = self.order.popitem(last=False)
            self._unfile(entry)
            self._by_deadline.pop(token, None)
            self.bytes -= entry[2]
            self._evictions.increment()

    def _unfile(self, entry: Entry) -> bool:
        """Take `entry` out of `data` or the overflow; whether it was there."""
        key = entry[4]
        if self.data.get(key.hash) is entry:
            del self.data[key.hash]
        elif self._overflow and self._overflow.get(key) is entry:
            del self._overflow[key]
        else:
            return False
        return True

    def _remove(self, entry: Entry) -> bool:
        """Drop `entry`; whether it was still held (another thread may have dropped it)."""
        if not self._unfile(entry):
            return False
        self.order.pop(entry[3], None)
        self._by_deadline.pop(entry[3], None)
        self.bytes -= entry[2]
        return True

    def delete(self, key: HashedKey) -> bool:
        """Drop `key`; whether a live entry was there."""
        with self._lock:
            entry = self._find(key)
            if entry is None:
                return False
            self._remove(entry)
            return entry[1] > self.clock()

    def clear(self) -> None:
        with self._lock:
            self.data.clear()
            self._overflow.clear()
            self.order.clear()
            self._by_deadline.clear()
            self.bytes = 0
