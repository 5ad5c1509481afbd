"""The state of one cached function: stores, lookups, single-flight, introspection.

`_Cache` is built once at decoration (see `_decorator`); it answers every call the
wrappers' inlined memory hit path (`_wrappers`) does not: unhashable arguments, calls of
functions keyed otherwise (``ignore``, ``typed``, ``key=``, ``*args``), shared backends,
and misses, where concurrent identical calls share one computation (threads, and tasks of
every event loop of the process). Shared backends are reached through their
`BackendGuard` (cool-down after a failure, dedicated threads and a time budget for async
calls). After ``os.fork()`` the child starts with no flights and fresh locks.
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
from .._fork import fork_safe_lock, reset_in_child
from .._stats import Counter
from ._guard import (
    COOLDOWN_S,
    BackendGuard,
    Budget,
    abandoned,
    guard_of,
    per_backend,
)
from ._keys import HashedKey, KeyMaker, namespace_of, stable_digest
from ._memory import MemoryBackend, MemoryStore
from ._switch import settings

if TYPE_CHECKING:
    import concurrent.futures

    from ._serialize import Codec

__all__ = ["CacheBackend", "CacheInfo"]

logger = logging.getLogger("mlops_decorators.caching")

#: Seconds between two warnings about one function's failing backend.
WARN_EVERY_S = 60.0
# Clock of the warning rate limit and of backend cool-downs and budgets; a seam for tests.
_monotonic = time.monotonic

_MISS: tuple[bool, Any] = (False, None)
_FAILED = object()  # what _Cache._io returns for a backend operation that raised


@runtime_checkable
class CacheBackend(Protocol):
    """What a shared store must do; `SQLiteBackend` and `RedisBackend` are two.

    Keys are ``"<namespace>:<hex digest>"`` strings, the same in every process, where the
    namespace names the function (module, qualname, version). Values are opaque bytes that
    the decorator serialises and signs. Any method may raise: the decorator then counts a
    backend error, calls the function, and skips the backend for a short cool-down. Methods
    are called from several threads at once (for ``async def`` functions, from a few worker
    threads of the backend's own), so they must be thread-safe.

    A backend may carry a ``codec`` attribute (its serialiser and signer); without one, the
    decorator signs with ``MLOPS_DECORATORS_CACHE_SECRET`` when it is set. It may carry a
    ``timeout`` attribute (seconds): an ``async def`` caller then waits at most that long
    for it in total per call, and a backend operation that takes longer counts as failed.

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
        backend_errors: Failed backend operations (the function ran anyway), waits for the
            backend cut short by an async call's time budget included.
        backend_skips: Lookups that skipped the backend because it failed moments before
            (its cool-down): those calls ran uncached without waiting for it.

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
    backend_skips: int


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


def _deep_copy(value: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None and type(value) is np.ndarray:
        return value.copy()
    return copy_module.deepcopy(value)


def _fresh_copy(value: Any) -> Any:
    """A caller's copy (``copy=True``): `value` itself when it cannot be copied, which only a
    result that was not cached can be (see `_Cache._save_result`), handed to the waiters of
    its single flight."""
    try:
        return _deep_copy(value)
    except Exception:
        return value


def _waiter_error(error: BaseException) -> BaseException:
    """What a waiter of a failed single flight raises: a copy of the leader's exception, so
    that each waiter's traceback holds its own frames, with the leader's exception (and its
    traceback) as the cause. The leader's object itself when it cannot be copied."""
    try:
        copied = copy_module.copy(error)
    except Exception:
        return error
    if type(copied) is not type(error) or copied is error:
        return error
    copied.__cause__ = error
    return copied


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
    """The same for asyncio tasks, of any event loop of the process.

    The result travels in a `concurrent.futures.Future`, which tasks of every loop can await
    (``asyncio.wrap_future``). The first waiter makes it, under the cache's lock (a flight
    nobody waits for, the common case, needs none), and the leader fulfils it once the flight
    has landed, when no later waiter can join.
    """

    __slots__ = ("future", "owner")

    def __init__(self, owner: object) -> None:
        self.owner = owner
        self.future: concurrent.futures.Future[Any] | None = None

    def join(self) -> None:
        """Make the future waiters await, if none yet (called under the cache's lock)."""
        if self.future is None:
            from concurrent.futures import Future  # loaded already: asyncio imports it

            future: concurrent.futures.Future[Any] = Future()
            # Running: a cancelled waiter's wrapper future cannot cancel it (it is shared).
            future.set_running_or_notify_cancel()
            self.future = future


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
        namespace: str | None,
    ) -> None:
        target = unwrap_method(fn)
        self.name = qualified_name(target)
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
        self.namespace = namespace_of(
            target,
            self.name,
            namespace=namespace,
            version=version,
            shared=None if self.memory else repr(backend),
        )
        # An instance gets its own store, left out of the key; a class receiver stays in
        # the key like any argument (classes are hashable and have stable names).
        receiver = signature.receiver
        # Called through an instance (obj.method): its accessors are bound to it too.
        self.binds_instance = receiver == "self" and not isinstance(fn, classmethod)
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
        self.cache_none = cache_none
        self.copy = copy
        self.out: Callable[[Any], Any] | None = _fresh_copy if copy else None
        self.hits = Counter()
        self.misses = Counter()
        self.waits = Counter()
        self.evictions = Counter()
        self.expirations = Counter()
        self.backend_errors = Counter()
        self.backend_skips = Counter()
        self._lock = fork_safe_lock(self, "_lock")
        self._flights: dict[Hashable, Any] = {}
        # Flights finished so far: a new leader re-reads the cache only when one finished
        # since its own miss (saves a backend round trip on every other miss).
        self._landed = 0
        self._backend_warning = RateLimit(WARN_EVERY_S, clock=_monotonic)
        self._copy_warning = RateLimit(WARN_EVERY_S, clock=_monotonic)
        self.backend: Any = backend if backend is not None else MemoryBackend()
        # id -> (weak reference, store) of each instance a method taking self was called on;
        # one dict for the object's life (the wrappers hold its `get`).
        self.instances: dict[int, tuple[weakref.ref[Any], MemoryStore]] = {}
        # Instances without weak references but hashable (namedtuples, int subclasses):
        # one store for all, keyed by value (created on first use).
        self._by_value: MemoryStore | None = None
        self.store: MemoryStore | None = None
        self.codec: Codec | None = None
        self.guard: BackendGuard | None = None
        if self.memory:
            self._max_bytes = max_bytes
            if not self.per_instance:
                self.store = self._new_store()
        else:
            self.codec = getattr(self.backend, "codec", None) or _default_codec(self.backend)
            self.guard = guard_of(self.backend, _monotonic)
        settings.register(self)
        reset_in_child(self)

    def _after_fork(self) -> None:
        """In a child made by ``os.fork()``: the threads that ran flights do not exist here,
        so their flights would never land (the lock is fork-safe, see `_fork`)."""
        self._flights = {}
        for store in self._stores():
            store.after_fork()

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
        stores = [store for _, store in self.instances.copy().values()]
        return stores if self._by_value is None else [*stores, self._by_value]

    def _instance_store(self, instance: Any) -> MemoryStore | None:
        """The store of `instance`, or None when its class has no weak references."""
        ident = id(instance)
        pair = self.instances.get(ident)
        if pair is not None and pair[0]() is instance:
            return pair[1]
        if not type(instance).__weakrefoffset__:
            return None
        instances = self.instances

        def forget(ref: weakref.ref[Any]) -> None:
            if instances.get(ident, (None,))[0] is ref:
                del instances[ident]

        ref = weakref.ref(instance, forget)
        with self._lock:
            pair = instances.get(ident)
            if pair is None or pair[0]() is not instance:
                pair = instances[ident] = (ref, self._new_store())
            return pair[1]

    def _by_value_key(self, instance: Any, key: HashedKey) -> tuple[MemoryStore, HashedKey]:
        """Store and key of a call on an instance without weak references: keyed by value,
        as `functools.lru_cache` does, and by class, so equal instances of two classes (a
        namedtuple and a plain tuple) stay apart."""
        try:
            by_value = HashedKey((type(instance), instance, key))
        except TypeError:
            cls = type(instance).__qualname__
            raise TypeError(
                f"cache_result keeps the entries of each {cls} apart through a weak reference "
                f"or, for a hashable class, by value, and {cls} has neither: add "
                "'__weakref__' to its __slots__ (weakref_slot=True for a dataclass), make it "
                "hashable (frozen=True), or pass key= to build the key from its fields"
            ) from None
        if self._by_value is None:
            with self._lock:
                if self._by_value is None:
                    self._by_value = self._new_store()
        return self._by_value, by_value

    def resolve(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        known: HashedKey | None = None,
        by_content: bool = False,
    ) -> tuple[Any, Hashable]:
        """The store (None for an external backend) and key of a call; `known`: its memory
        key, built already; `by_content`: an argument is known to be unhashable."""
        if not self.memory:
            return None, stable_digest(self.namespace, self.keys(args, kwargs))
        # First: the call's TypeError if no self.
        key = known if known is not None else self.keys.hashed(args, kwargs, by_content=by_content)
        if not self.per_instance:
            return self.store, key
        instance = args[0] if args else kwargs["self"]
        store = self._instance_store(instance)
        if store is None:
            return self._by_value_key(instance, key)
        return store, key

    def _receiver(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Refuse to name an entry of a method with something that is no instance of its
        class (``Model.predict.cache_invalidate(3)``): a hashable one would be taken for an
        instance keyed by value."""
        instance = args[0] if args else kwargs.get("self")
        if instance is None or type(instance).__weakrefoffset__:
            return
        owner, _, method = self.name.rpartition(".")
        if not any(cls.__qualname__ == owner for cls in type(instance).__mro__):
            raise TypeError(
                f"{self.name} keeps entries per instance, and {instance!r} is no {owner}: "
                f"name the instance, as in obj.{method}.cache_invalidate(...) or "
                f"{self.name}.cache_invalidate(obj, ...)"
            )

    # -- lookups and stores -------------------------------------------------------------

    def lookup(self, store: MemoryStore | None, key: Any) -> tuple[bool, Any]:
        """``(True, value for the caller)`` on a hit, counting it; else ``(False, None)``."""
        if store is not None:
            entry = store.lookup(key)
            if entry is None:
                return _MISS
            self.hits.increment()
            return True, entry[0] if self.out is None else self.out(entry[0])
        assert self.guard is not None
        if not self.guard.admit():
            self._skipped()
            return _MISS
        record = self._io("get", self.backend.get, key)
        if record is None or record is _FAILED:
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
        """``(what to store, what to return)`` for a value the function returned.

        Raises:
            Exception: ``copy=True`` and `value` cannot be copied.
        """
        np = sys.modules.get("numpy")
        if self.copy:  # a private copy: the caller may mutate its result while waiters copy
            return _deep_copy(value), value
        if np is None:
            return value, value
        frozen = _freeze(value, np, owned)
        return frozen, frozen

    def save(self, store: MemoryStore | None, key: Any, value: Any) -> None:
        if (value is None and not self.cache_none) or not settings.enabled:
            return
        if store is not None:
            store.put(key, value)
            return
        assert self.codec is not None
        assert self.guard is not None
        if self.guard.cooling():  # not even serialised
            return
        try:
            record = self.codec.dumps(key, value)
        except Exception as exc:  # the value cannot be stored, the backend is fine
            self._failed("set", exc)
            return
        if self.guard.admit():
            self._io("set", self.backend.set, key, record, self.ttl)

    def delete(self, store: MemoryStore | None, key: Any) -> bool:
        if store is not None:
            return store.delete(key)
        # Asked for explicitly: tried even in a cool-down, like clear().
        deleted = self._io("delete", self.backend.delete, key)
        return deleted is not _FAILED and bool(deleted)

    def _io(self, operation: str, method: Callable[..., Any], *args: Any) -> Any:
        """``method(*args)``, one backend operation; `_FAILED` when it raised (counted,
        logged, and the backend's cool-down begins)."""
        assert self.guard is not None
        try:
            result = method(*args)
        except Exception as exc:
            self.guard.failed()
            self._failed(operation, exc)
            return _FAILED
        self.guard.succeeded()
        return result

    def _uncopyable(self, exc: Exception) -> None:
        self.backend_errors.increment()
        if self._copy_warning.ready():
            logger.warning(
                "%s: copy=True cannot copy its result (%s: %s); the result is returned "
                "uncached. Further failures are counted in cache_info().backend_errors and "
                "logged at most every %g s",
                self.name,
                type(exc).__name__,
                exc,
                WARN_EVERY_S,
                extra=call_fields(self.name, error=exc, operation="copy"),
            )

    def _failed(self, operation: str, exc: BaseException) -> None:
        if abandoned():
            return
        self.backend_errors.increment()
        if not self._backend_warning.ready():
            return
        logger.warning(
            "%s: cache backend %r failed to %s (%s: %s); the function runs uncached, and "
            "calls skip the backend for the next %g s. Further failures are counted in "
            "cache_info().backend_errors, skipped lookups in backend_skips, and logged at "
            "most every %g s",
            self.name,
            self.backend,
            operation,
            type(exc).__name__,
            exc,
            COOLDOWN_S,
            WARN_EVERY_S,
            extra=call_fields(self.name, error=exc, operation=operation),
        )

    def _skipped(self) -> None:
        """Count a lookup that skipped the backend in its cool-down; warn (rate-limited) when
        this function has not said so lately, as the failure may have been another's."""
        if abandoned():
            return
        self.backend_skips.increment()
        if not self._backend_warning.ready():
            return
        logger.warning(
            "%s: cache backend %r failed less than %g s ago; the function runs uncached "
            "meanwhile. Skipped lookups are counted in cache_info().backend_skips and logged "
            "at most every %g s",
            self.name,
            self.backend,
            COOLDOWN_S,
            WARN_EVERY_S,
            extra=call_fields(self.name, operation="get"),
        )

    # -- calls ----------------------------------------------------------------------------

    def _flight_key(self, store: MemoryStore | None, key: Hashable) -> Hashable:
        return key if self.store is store else (id(store), key)

    def call(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        known: HashedKey | None = None,
        *,
        by_content: bool = False,
    ) -> Any:
        """A call that the inlined hit path did not answer (threads single-flight); `known`:
        the key that path hashed, if any; `by_content`: that path found an argument
        unhashable."""
        if not settings.enabled:
            self.misses.increment()
            return func(*args, **kwargs)
        landed = self._landed
        store, key = self.resolve(args, kwargs, known=known, by_content=by_content)
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
                raise _waiter_error(flight.error)
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
        flight landed since `landed` was read (before our miss): it may have stored ours,
        unless the backend is in a cool-down, which nobody stored to."""
        cooling = self.guard is not None and self.guard.cooling()
        with self._lock:
            flight = self._flights.get(fkey)
            lead = flight is None
            if flight is None:
                flight = self._flights[fkey] = new()
            elif type(flight) is _AsyncFlight:
                flight.join()
            return flight, lead, self._landed != landed and not cooling

    def _save_result(self, store: MemoryStore | None, key: Hashable, value: Any) -> tuple[Any, Any]:
        """Save what the function returned; ``(what was stored, what to return)``."""
        try:
            stored, returned = self._prepare(value)
        except Exception as exc:  # copy=True, and a lock inside: served uncached
            self._uncopyable(exc)
            return value, value
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

    # Shared backends do blocking I/O (a hung Redis can take its whole timeout): in one of
    # the backend's own threads, so that the event loop keeps serving other tasks, within
    # the call's budget, and not at all in a cool-down (no thread hop either).

    async def _off_loop(
        self, operation: str, budget: Budget, job: Callable[..., Any], *args: Any
    ) -> Any:
        """``job(*args)`` in the backend's threads; `_FAILED` when the budget ran out."""
        import asyncio

        assert self.guard is not None
        try:
            return await self.guard.run(budget, job, *args)
        except asyncio.TimeoutError:
            self.guard.failed()
            self._failed(
                operation,
                TimeoutError(f"no answer within the call's {self.guard.timeout:g} s budget"),
            )
            return _FAILED

    async def _lookup_async(
        self, store: MemoryStore | None, key: Hashable, budget: Budget | None
    ) -> tuple[bool, Any]:
        if store is not None:
            return self.lookup(store, key)
        assert self.guard is not None
        assert budget is not None
        if self.guard.cooling():
            self._skipped()
            return _MISS
        found: tuple[bool, Any] = await self._off_loop("get", budget, self.lookup, store, key)
        return _MISS if found is _FAILED else found

    async def _save_result_async(
        self, store: MemoryStore | None, key: Hashable, value: Any, budget: Budget | None
    ) -> tuple[Any, Any]:
        guard = self.guard  # None: the memory backend
        if guard is not None and budget is not None and not guard.cooling():
            saved = await self._off_loop("set", budget, self._save_result, store, key, value)
            if saved is not _FAILED:
                return saved  # type: ignore[no-any-return]
        # In memory, or the backend in a cool-down (save skips it): nothing to wait for.
        return self._save_result(store, key, value)

    async def call_async(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        known: HashedKey | None = None,
        *,
        by_content: bool = False,
    ) -> Any:
        """The same for coroutine functions: the tasks of every event loop in the process
        share one flight per key."""
        if not settings.enabled:
            self.misses.increment()
            return await func(*args, **kwargs)
        landed = self._landed
        store, key = self.resolve(args, kwargs, known=known, by_content=by_content)
        budget = None if self.guard is None else self.guard.budget()
        found, value = await self._lookup_async(store, key, budget)
        if found:
            return value
        fkey = self._flight_key(store, key)
        import asyncio  # already loaded: an async function is running

        task = asyncio.current_task()
        while True:
            flight, lead, recheck = self._board(fkey, landed, lambda: _AsyncFlight(task))
            if lead:
                return await self._lead_async(
                    flight, fkey, recheck, func, args, kwargs, store, key, budget
                )
            if flight.owner is task:  # awaiting its own flight would deadlock: compute again
                self.misses.increment()
                result = await func(*args, **kwargs)
                return (await self._save_result_async(store, key, result, budget))[1]
            self.waits.increment()
            assert flight.future is not None  # joined on boarding
            try:  # the leader may be a task of another loop, in another thread
                value = await asyncio.wrap_future(flight.future)
            except Exception as exc:  # the leader's, shared by every waiter: raise a copy
                raise _waiter_error(exc)  # noqa: B904 -- its cause is the leader's exception
            if value is _RETRY:
                landed = self._landed
                found, value = await self._lookup_async(store, key, budget)
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
        budget: Budget | None,
    ) -> Any:
        shared: Any = _RETRY  # what waiters get, if cancelled or interrupted: try again
        error: Exception | None = None
        try:
            found, value = (await self._lookup_async(store, key, budget)) if recheck else _MISS
            if not found:
                self.misses.increment()
                shared, value = await self._save_result_async(
                    store, key, await func(*args, **kwargs), budget
                )
            else:  # waiters copy the result: the leader's caller must not get that object
                shared = value
                value = value if self.out is None else self.out(value)
        except Exception as exc:
            error = exc
            raise
        finally:
            self._land(fkey)
            future = flight.future  # no waiter can join any more: fulfil it
            if future is not None:
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(shared)
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
            backend_skips=self.backend_skips.value,
        )

    def clear(self) -> None:
        if self.memory:
            self.empty_memory()
        else:
            self._io("clear", self.backend.clear, self.namespace)
        for counter in (
            self.hits,
            self.misses,
            self.waits,
            self.evictions,
            self.expirations,
            self.backend_errors,
            self.backend_skips,
        ):
            counter.reset()

    def empty_memory(self) -> None:
        """Drop the in-memory entries, counters untouched (`set_caching` turning caching off)."""
        if self.memory:
            for store in self._stores():
                store.clear()

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        if self.per_instance:
            self._receiver(args, kwargs)
        store, key = self.resolve(args, kwargs)
        return self.delete(store, key)

    def cache_key(self, *args: Any, **kwargs: Any) -> Any:
        if self.per_instance:
            self._receiver(args, kwargs)
        _, key = self.resolve(args, kwargs)
        return (self.namespace, tuple(key)) if isinstance(key, HashedKey) else key


_codecs: weakref.WeakKeyDictionary[Any, Codec] = weakref.WeakKeyDictionary()


def _default_codec(backend: Any) -> Codec:
    """The codec of a backend without its own: one per backend, so one unsigned warning."""
    from ._serialize import Codec, resolve_secret

    return per_backend(
        _codecs, backend, lambda: Codec(resolve_secret("secret", None), repr(backend))
    )
