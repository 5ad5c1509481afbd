"""The state of one cached function: stores, lookups, single-flight, introspection.

`_Cache` is built once at decoration (see `_decorator`); it answers every call the wrapper's
inlined memory hit path does not: keyword or unhashable arguments, methods, shared
backends, and misses, where concurrent identical calls share one computation.
"""

from __future__ import annotations

import copy as copy_module
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from .._core import CallSignature, qualified_name, unwrap_method
from .._events import RateLimit, call_fields
from .._stats import Counter
from ._keys import KeyMaker, stable_digest
from ._memory import MemoryBackend, MemoryStore

if TYPE_CHECKING:
    import asyncio

    from ._serialize import Codec

__all__ = ["CacheBackend", "CacheInfo"]

logger = logging.getLogger("mlops_decorators.caching")

#: Seconds between two warnings about one function's failing backend.
WARN_EVERY_S = 60.0
# Clock of the warning rate limit; a seam for tests.
_monotonic = time.monotonic

_MISS: tuple[bool, Any] = (False, None)


@runtime_checkable
class CacheBackend(Protocol):
    """What a shared store must do; `SQLiteBackend` and `RedisBackend` are two.

    Keys are ``"<namespace>:<hex digest>"`` strings, the same in every process, where the
    namespace names the function (module, qualname, version). Values are opaque bytes that
    the decorator serialises and signs. Any method may raise: the decorator then counts a
    backend error and calls the function. Methods are called from several threads at once
    (for ``async def`` functions, from worker threads), so they must be thread-safe.

    A backend may carry a ``codec`` attribute (its serialiser and signer); without one, the
    decorator signs with ``MLOPS_DECORATORS_CACHE_SECRET`` when it is set.

    Example:
        >>> class DictBackend:  # a toy store: one process, no expiry
        ...     def __init__(self) -> None:
        ...         self.data: dict[str, bytes] = {}
        ...     def get(self, key: str) -> bytes | None:
        ...         return self.data.get(key)
        ...     def set(self, key: str, value: bytes, ttl: float | None) -> None:
        ...         self.data[key] = value
        ...     def delete(self, key: str) -> bool:
        ...         return self.data.pop(key, None) is not None
        ...     def clear(self, namespace: str) -> None:
        ...         for key in list(self.data):  # a snapshot: other threads may set meanwhile
        ...             if key.startswith(namespace + ":"):
        ...                 self.data.pop(key, None)
        >>> isinstance(DictBackend(), CacheBackend)
        True
    """

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when missing or expired.

        Args:
            key: ``"<namespace>:<hex digest>"``.

        Returns:
            The bytes last stored under `key`, or None.
        """

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store `value` for `ttl` seconds (None: until deleted).

        Args:
            key: ``"<namespace>:<hex digest>"``.
            value: An opaque record (serialised and possibly signed by the decorator).
            ttl: Seconds until the entry expires, or None for never.
        """

    def delete(self, key: str) -> bool:
        """Remove `key`; whether it was there.

        Args:
            key: ``"<namespace>:<hex digest>"``.

        Returns:
            True if an entry was removed.
        """

    def clear(self, namespace: str) -> None:
        """Remove every key of `namespace` (and only those).

        Args:
            namespace: The part of the keys before their last ``":"``.
        """


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """Statistics of one cached function since decoration or the last ``cache_clear()``.

    Attributes:
        name: Qualified name of the cached function.
        hits: Calls answered from the cache.
        misses: Calls that ran the function.
        maxsize: The entry limit (None: unbounded or an external backend).
        currsize: Entries held now, over all instances for methods (None for an external
            backend, which may be shared with other processes).
        evictions: Live entries dropped to respect ``maxsize`` or ``max_bytes``.
        expirations: Entries dropped because their TTL had passed (memory backend).
        single_flight_waits: Calls that waited for a concurrent identical call instead of
            running the function.
        backend_errors: Failed backend operations (the function ran anyway).

    Example:
        >>> from mlops_decorators.caching import cache_result
        >>> @cache_result
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> double(2), double(2)
        (4, 4)
        >>> info = double.cache_info()
        >>> (info.name, info.hits, info.misses, info.currsize)
        ('double', 1, 1, 1)
    """

    name: str
    hits: int
    misses: int
    maxsize: int | None
    currsize: int | None
    evictions: int
    expirations: int
    single_flight_waits: int
    backend_errors: int


def _freeze(value: Any, np: Any, owned: bool) -> Any:
    """`value` with its numpy arrays (top level or in tuples, namedtuples, lists, dicts)
    read-only.

    An array that owns its memory is made read-only in place; a view is copied first, or
    writing through its base would still change the cached data. `owned` says nobody else
    holds the arrays (freshly deserialised), so views need no copy.
    """
    cls = type(value)
    if isinstance(value, np.ndarray):  # subclasses too: a memmap, a masked array
        if not (owned or value.base is None):
            value = value.copy()
        value.flags.writeable = False
        return value
    named = isinstance(value, tuple) and hasattr(cls, "_make")  # a namedtuple of results
    if cls is tuple or cls is list or named:
        items = [_freeze(item, np, owned) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return cls._make(items) if named else cls(items)
    if cls is dict:
        frozen = {k: _freeze(v, np, owned) for k, v in value.items()}
        return value if all(frozen[k] is v for k, v in value.items()) else frozen
    return value


def _fresh_copy(value: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None and type(value) is np.ndarray:
        return value.copy()
    return copy_module.deepcopy(value)


class _Flight:
    """One running computation that concurrent identical calls in other threads wait for."""

    __slots__ = ("done", "error", "owner", "retry", "value")

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.retry = False


class _AsyncFlight:
    """The same for asyncio tasks of one event loop."""

    __slots__ = ("future", "loop", "owner")

    def __init__(self, loop: asyncio.AbstractEventLoop, owner: asyncio.Task[Any] | None) -> None:
        self.loop = loop
        self.owner = owner
        self.future: asyncio.Future[Any] = loop.create_future()


_F = TypeVar("_F", _Flight, _AsyncFlight)

_RETRY = object()  # the leader was cancelled or interrupted: waiters try again themselves


class _Cache:
    """Everything the wrappers of one decorated function read, built once."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        ttl: float | None,
        maxsize: int | None,
        max_bytes: int | None,
        key: Callable[..., Any] | None,
        ignore: tuple[str, ...],
        typed: bool,
        version: str | int | None,
        backend: Any,
        cache_none: bool,
        copy: bool,
    ) -> None:
        target = unwrap_method(fn)
        self.name = qualified_name(target)
        module = getattr(target, "__module__", None) or "__main__"
        self.namespace = f"{module}.{self.name}" + ("" if version is None else f"@{version}")
        signature = CallSignature(fn)
        if not signature.readable:
            raise TypeError(
                f"cache_result needs the signature of {self.name} to build keys, but it has "
                "none; wrap it in a def with the parameters spelled out"
            )
        params = list(signature.signature.parameters)
        unknown = [name for name in ignore if name not in params]
        if unknown:
            raise ValueError(
                f"ignore names {unknown!r}, which are not parameters of {self.name}; "
                f"its parameters are {params!r}"
            )
        if key is not None and ignore:
            raise ValueError("pass either key= or ignore=, not both: key= builds the whole key")
        self.memory = backend is None or isinstance(backend, MemoryBackend)
        if not self.memory and max_bytes is not None:
            raise ValueError(
                f"max_bytes={max_bytes!r} applies to the memory backend only; the size of "
                f"{type(backend).__name__} is managed by the store itself"
            )
        # An instance gets its own store, left out of the key; a class receiver stays in
        # the key like any argument (classes are hashable and have stable names).
        receiver = signature.receiver
        self.per_instance = (
            self.memory
            and receiver == "self"
            and not isinstance(fn, classmethod)
            and receiver not in ignore
        )
        self.keys = KeyMaker(
            signature,
            name=self.name,
            ignore=ignore,
            typed=typed,
            key=key,
            skip_first=self.per_instance,
        )
        self.ttl = ttl
        self.maxsize = maxsize
        self.typed = typed
        self.cache_none = cache_none
        self.copy = copy
        self.out: Callable[[Any], Any] | None = _fresh_copy if copy else None
        self.hits = Counter()
        self.misses = Counter()
        self.waits = Counter()
        self.evictions = Counter()
        self.expirations = Counter()
        self.backend_errors = Counter()
        self._lock = threading.Lock()
        self._flights: dict[Hashable, Any] = {}
        # Flights finished so far: a new leader re-reads the cache only when one finished
        # since its own miss (saves a backend round trip on every other miss).
        self._landed = 0
        self._backend_warning = RateLimit(WARN_EVERY_S, clock=_monotonic)
        self.backend: Any = backend if backend is not None else MemoryBackend()
        self._instances: dict[int, tuple[weakref.ref[Any], MemoryStore]] = {}
        self.store: MemoryStore | None = None
        self.codec: Codec | None = None
        if self.memory:
            self._max_bytes = max_bytes
            if not self.per_instance:
                self.store = self._new_store()
        else:
            self.codec = getattr(self.backend, "codec", None) or _default_codec(self.backend)

    # -- stores -------------------------------------------------------------------------

    def _new_store(self) -> MemoryStore:
        return MemoryStore(
            self.backend.clock,
            self.ttl,
            self.maxsize,
            self._max_bytes,
            self.evictions,
            self.expirations,
        )

    def _stores(self) -> list[MemoryStore]:
        if self.store is not None:
            return [self.store]
        # A weakref callback (`forget`) may delete an instance's store in any thread, lock
        # or no lock; dict.copy is one C call, so it never sees the dict change size.
        return [store for _, store in self._instances.copy().values()]

    def _instance_store(self, instance: Any) -> MemoryStore:
        ident = id(instance)
        pair = self._instances.get(ident)
        if pair is not None and pair[0]() is instance:
            return pair[1]
        instances = self._instances

        def forget(ref: weakref.ref[Any]) -> None:
            if instances.get(ident, (None,))[0] is ref:
                del instances[ident]

        try:
            ref = weakref.ref(instance, forget)
        except TypeError:
            raise TypeError(
                f"cache_result keeps one cache per instance of {type(instance).__qualname__} "
                "without keeping instances alive, which needs weak references: add "
                "'__weakref__' to its __slots__, or pass ignore=('self',) to share one cache "
                "between all instances"
            ) from None
        with self._lock:
            pair = instances.get(ident)
            if pair is None or pair[0]() is not instance:
                pair = instances[ident] = (ref, self._new_store())
            return pair[1]

    def resolve(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Hashable]:
        """The store (None for an external backend) and key of a call."""
        key = self.keys(args, kwargs)  # first: it raises the call's TypeError if self is missing
        if self.per_instance:
            return self._instance_store(args[0] if args else kwargs["self"]), key
        if self.memory:
            return self.store, key
        return None, stable_digest(self.namespace, key, typed=self.typed)

    # -- lookups and stores -------------------------------------------------------------

    def lookup(self, store: MemoryStore | None, key: Any) -> tuple[bool, Any]:
        """``(True, value for the caller)`` on a hit, counting it; else ``(False, None)``."""
        if store is not None:
            entry = store.lookup(key)
            if entry is None:
                return _MISS
            self.hits.increment()
            return True, entry[0] if self.out is None else self.out(entry[0])
        try:
            record = self.backend.get(key)
        except Exception as exc:
            self._failed("get", exc)
            return _MISS
        if record is None:
            return _MISS
        assert self.codec is not None
        try:
            value = self.codec.loads(key, record, copy=self.copy)
        except self.codec.Error as exc:
            logger.warning(
                "%s: rejected cache entry %s from %r (%s); deleted, and treated as a miss",
                self.name,
                key,
                self.backend,
                exc,
                extra=call_fields(self.name, cache_key=key),
            )
            self.delete(None, key)
            return _MISS
        self.hits.increment()
        return True, value if self.copy else self._prepare(value, owned=True)[0]

    def _prepare(self, value: Any, *, owned: bool = False) -> tuple[Any, Any]:
        """``(what to store, what to return)`` for a value the function returned."""
        np = sys.modules.get("numpy")
        if self.copy:  # a private copy: the caller may mutate its result while waiters copy
            return _fresh_copy(value), value
        if np is None:
            return value, value
        frozen = _freeze(value, np, owned)
        return frozen, frozen

    def save(self, store: MemoryStore | None, key: Any, value: Any) -> None:
        if value is None and not self.cache_none:
            return
        if store is not None:
            store.put(key, value)
            return
        assert self.codec is not None
        try:
            record = self.codec.dumps(key, value)
            self.backend.set(key, record, self.ttl)
        except Exception as exc:
            self._failed("set", exc)

    def delete(self, store: MemoryStore | None, key: Any) -> bool:
        if store is not None:
            return store.delete(key)
        try:
            return bool(self.backend.delete(key))
        except Exception as exc:
            self._failed("delete", exc)
            return False

    def _failed(self, operation: str, exc: Exception) -> None:
        self.backend_errors.increment()
        if not self._backend_warning.ready():
            return
        logger.warning(
            "%s: cache backend %r failed to %s (%s: %s); the function runs uncached. Further "
            "failures are counted in cache_info().backend_errors and logged at most every %g s",
            self.name,
            self.backend,
            operation,
            type(exc).__name__,
            exc,
            WARN_EVERY_S,
            extra=call_fields(self.name, error=exc, operation=operation),
        )

    # -- calls ----------------------------------------------------------------------------

    def _flight_key(self, store: MemoryStore | None, key: Hashable) -> Hashable:
        return key if self.store is store else (id(store), key)

    def call(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call that the inlined hit path did not answer (threads single-flight)."""
        landed = self._landed
        store, key = self.resolve(args, kwargs)
        found, value = self.lookup(store, key)
        if found:
            return value
        fkey = self._flight_key(store, key)
        while True:
            flight, lead, recheck = self._board(fkey, landed, _Flight)
            if lead:
                return self._lead(flight, fkey, recheck, func, args, kwargs, store, key)
            if flight.owner == threading.get_ident():  # re-entrant call: waiting would deadlock
                return self._run(func, args, kwargs, store, key)
            self.waits.increment()
            flight.done.wait()
            if flight.retry:
                landed = self._landed
                found, value = self.lookup(store, key)
                if found:
                    return value
                continue
            if flight.error is not None:
                raise flight.error
            return flight.value if self.out is None else self.out(flight.value)

    def _run(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        store: MemoryStore | None,
        key: Hashable,
    ) -> Any:
        self.misses.increment()
        return self._save_result(store, key, func(*args, **kwargs))[1]

    def _board(self, fkey: Hashable, landed: int, new: Callable[[], _F]) -> tuple[_F, bool, bool]:
        """``(flight, whether we lead it, whether to re-check the cache first)``: the
        running flight of `fkey`, else a `new` one that we lead. A re-check is needed when a
        flight landed since `landed` was read (before our miss): it may have stored ours."""
        with self._lock:
            flight = self._flights.get(fkey)
            lead = flight is None
            if flight is None:
                flight = self._flights[fkey] = new()
            return flight, lead, self._landed != landed

    def _save_result(self, store: MemoryStore | None, key: Hashable, value: Any) -> tuple[Any, Any]:
        """Save what the function returned; ``(what was stored, what to return)``."""
        stored, returned = self._prepare(value)
        self.save(store, key, stored)
        return stored, returned

    def _land(self, fkey: Hashable) -> None:
        """End a flight: later callers lead their own (and re-check the cache first)."""
        with self._lock:
            del self._flights[fkey]
            self._landed += 1

    def _lead(
        self,
        flight: _Flight,
        fkey: Hashable,
        recheck: bool,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        store: MemoryStore | None,
        key: Hashable,
    ) -> Any:
        try:
            # Between our miss and taking the lead, another leader may have finished.
            found, value = self.lookup(store, key) if recheck else _MISS
            if not found:
                self.misses.increment()
                flight.value, value = self._save_result(store, key, func(*args, **kwargs))
            else:  # waiters copy flight.value: the leader's caller must not get that object
                flight.value = value
                value = value if self.out is None else self.out(value)
        except Exception as exc:
            flight.error = exc
            raise
        except BaseException:
            flight.retry = True
            raise
        finally:
            self._land(fkey)
            flight.done.set()
        return value

    # Shared backends do blocking I/O (a down Redis can take its whole timeout): in a worker
    # thread, so that the event loop keeps serving other tasks meanwhile.

    async def _lookup_async(self, store: MemoryStore | None, key: Hashable) -> tuple[bool, Any]:
        if store is not None:
            return self.lookup(store, key)
        import asyncio

        return await asyncio.to_thread(self.lookup, store, key)

    async def _save_result_async(
        self, store: MemoryStore | None, key: Hashable, value: Any
    ) -> tuple[Any, Any]:
        if store is not None:
            return self._save_result(store, key, value)
        import asyncio

        return await asyncio.to_thread(self._save_result, store, key, value)

    async def call_async(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """The same for coroutine functions (asyncio tasks single-flight per event loop)."""
        landed = self._landed
        store, key = self.resolve(args, kwargs)
        found, value = await self._lookup_async(store, key)
        if found:
            return value
        fkey = self._flight_key(store, key)
        import asyncio  # already loaded: an async function is running

        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        while True:
            # Several loops in several threads may share this function: one flight map.
            flight, lead, recheck = self._board(fkey, landed, lambda: _AsyncFlight(loop, task))
            if lead:
                return await self._lead_async(flight, fkey, recheck, func, args, kwargs, store, key)
            if flight.loop is not loop or flight.owner is task:
                # Another loop's future cannot be awaited here; the owner task awaiting its
                # own flight would deadlock: both compute on their own.
                self.misses.increment()
                result = await func(*args, **kwargs)
                return (await self._save_result_async(store, key, result))[1]
            self.waits.increment()
            # shield: a cancelled waiter must not cancel the shared computation.
            value = await asyncio.shield(flight.future)
            if value is _RETRY:
                landed = self._landed
                found, value = await self._lookup_async(store, key)
                if found:
                    return value
                continue
            return value if self.out is None else self.out(value)

    async def _lead_async(
        self,
        flight: _AsyncFlight,
        fkey: Hashable,
        recheck: bool,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        store: MemoryStore | None,
        key: Hashable,
    ) -> Any:
        future = flight.future
        try:
            found, value = (await self._lookup_async(store, key)) if recheck else _MISS
            if not found:
                self.misses.increment()
                stored, value = await self._save_result_async(
                    store, key, await func(*args, **kwargs)
                )
                future.set_result(stored)
            else:  # waiters copy the result: the leader's caller must not get that object
                future.set_result(value)
                value = value if self.out is None else self.out(value)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" log when nobody waited
            raise
        except BaseException:
            future.set_result(_RETRY)
            raise
        finally:
            self._land(fkey)
        return value

    # -- introspection --------------------------------------------------------------------

    def info(self) -> CacheInfo:
        stores = self._stores() if self.memory else []
        return CacheInfo(
            name=self.name,
            hits=self.hits.value,
            misses=self.misses.value,
            maxsize=self.maxsize if self.memory else None,
            currsize=sum(map(len, stores)) if self.memory else None,
            evictions=self.evictions.value,
            expirations=self.expirations.value,
            single_flight_waits=self.waits.value,
            backend_errors=self.backend_errors.value,
        )

    def clear(self) -> None:
        if self.memory:
            for store in self._stores():
                store.clear()
        else:
            try:
                self.backend.clear(self.namespace)
            except Exception as exc:
                self._failed("clear", exc)
        for counter in (
            self.hits,
            self.misses,
            self.waits,
            self.evictions,
            self.expirations,
            self.backend_errors,
        ):
            counter.reset()

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        store, key = self.resolve(args, kwargs)
        return self.delete(store, key)

    def cache_key(self, *args: Any, **kwargs: Any) -> Any:
        _, key = self.resolve(args, kwargs)
        return (self.namespace, key) if self.memory else key


_codecs: weakref.WeakKeyDictionary[Any, Codec] = weakref.WeakKeyDictionary()


def _default_codec(backend: Any) -> Codec:
    """The codec of a backend without its own: one per backend, so one unsigned warning."""
    from ._serialize import Codec, resolve_secret

    try:
        codec = _codecs.get(backend)
        if codec is None:
            codec = _codecs[backend] = Codec(resolve_secret("secret", None), repr(backend))
    except TypeError:  # not weakly referenceable or unhashable: one codec per function
        return Codec(resolve_secret("secret", None), repr(backend))
    return codec
