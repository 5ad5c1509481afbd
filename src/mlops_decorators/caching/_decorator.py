"""`cache_result`: the decorator, its argument checks and its accessors.

Its wrappers, with the memory hit path inlined, are in `_wrappers`. A method taking ``self``
is held by its class as a `_Method`: ``obj.method`` is then a `_BoundMethod`, which calls
like a bound method and also binds the accessors that name a call
(``obj.method.cache_invalidate(x)``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .. import _checks
from .._core import accessor, bare_or_called, check_target, decorate, function_or_option
from ._cache import CacheBackend, CacheInfo, _Cache
from ._memory import MemoryBackend
from ._switch import reset_cache_settings, set_caching
from ._wrappers import wrapper_factories

if TYPE_CHECKING:
    from datetime import timedelta

    from typing_extensions import ParamSpec

    P = ParamSpec("P")

R = TypeVar("R")

__all__ = [
    "cache_clear",
    "cache_info",
    "cache_invalidate",
    "cache_result",
    "reset_cache_settings",
    "set_caching",
]


def _check_backend(backend: Any) -> Any:
    # A class has its methods as attributes too: `backend=SQLiteBackend` must not pass.
    if backend is None or (
        isinstance(backend, (MemoryBackend, CacheBackend)) and not isinstance(backend, type)
    ):
        return backend
    raise _checks.wrong_type(
        "backend",
        "None, a MemoryBackend, SQLiteBackend or RedisBackend instance, or an object with "
        "get(key), set(key, value, ttl), delete(key) and clear(namespace) methods",
        backend,
    )


def _check_ignore(ignore: Iterable[str] | str) -> tuple[str, ...]:
    names = (ignore,) if isinstance(ignore, str) else ignore
    try:
        result = tuple(names)
    except TypeError:
        raise _checks.wrong_type(
            "ignore", "a parameter name or an iterable of them", ignore
        ) from None
    for name in result:
        if not isinstance(name, str):
            raise TypeError(
                f"ignore must contain parameter names (str), got {type(name).__name__} {name!r} "
                f"in {ignore!r}"
            )
    return result


def _check_version(version: Any) -> str | int | None:
    if version is None or isinstance(version, str):
        return version
    try:
        return _checks.integer("version", version)  # numpy integers too
    except TypeError:
        raise _checks.wrong_type("version", "a str, an int or None", version) from None


def _check_namespace(namespace: Any) -> str | None:
    namespace = _checks.optional(_checks.instance_of, "namespace", namespace, str)
    if namespace is not None and (not namespace or ":" in namespace):
        # ":" ends the namespace in a stored key: "a" would clear "a:b"'s entries.
        raise _checks.wrong_value("namespace", "a non-empty str without ':'", namespace)
    return namespace


@overload
def cache_result(ttl: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def cache_result(
    ttl: float | timedelta | None = 60.0,
    *,
    maxsize: int | None = 1024,
    max_bytes: int | None = None,
    key: Callable[..., Any] | None = None,
    ignore: Iterable[str] | str = (),
    typed: bool = False,
    version: str | int | None = None,
    namespace: str | None = None,
    backend: Any = None,
    cache_none: bool = True,
    copy: bool = False,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def cache_result(
    ttl: Any = 60.0,
    *,
    maxsize: int | None = 1024,
    max_bytes: int | None = None,
    key: Callable[..., Any] | None = None,
    ignore: Iterable[str] | str = (),
    typed: bool = False,
    version: str | int | None = None,
    namespace: str | None = None,
    backend: Any = None,
    cache_none: bool = True,
    copy: bool = False,
) -> Any:
    """Cache a function's results for `ttl` seconds, safely for arrays, threads and tasks.

    Works on ``def`` and ``async def`` functions and methods. Concurrent identical calls run
    the function once (single-flight); exceptions are never cached. Cached numpy arrays are
    returned read-only (or as fresh copies with ``copy=True``) so no caller can corrupt the
    cache. The wrapper gains ``cache_info()``, ``cache_clear()``,
    ``cache_invalidate(*args, **kwargs)`` and ``cache_key(*args, **kwargs)``
    (``cache_result_stats`` is an alias of ``cache_info``, after the package's
    ``<decorator>_stats`` convention); on a method, ``obj.method.cache_invalidate(x)``
    names ``obj``'s entry. `set_caching` turns caching off for a test suite.

    Args:
        ttl: Seconds (or a `timedelta`) an entry is served after it was stored; None never
            expires.
        maxsize: Most entries kept (memory backend; per instance for methods); None for no
            limit. The least recently used live entry goes first, after expired ones.
        max_bytes: Most bytes kept (memory backend), weighing each value by its ``nbytes``
            when it has one, tuples, lists and dicts by their items (so a tuple of arrays by
            its arrays), else `sys.getsizeof`. A single larger value is not cached.
        key: A function of the call's arguments returning the key (replaces the
            argument-based key).
        ignore: Names of arguments left out of the key (a logger, a client).
        typed: Key arguments of different types apart (``1`` and ``1.0``): the types of the
            arguments themselves, not of what they contain, as `functools.lru_cache`, on
            every backend.
        version: Part of every key: change it to drop entries made by older code.
        namespace: The name of this function's entries in a shared backend, instead of its
            module and qualified name; needed there for functions those do not name in
            every process (closures, lambdas, partials, callable objects, functions
            of a notebook).
        backend: None or `MemoryBackend` (in-process), `SQLiteBackend` (one machine,
            survives restarts) or `RedisBackend` (shared by a service), or any
            `CacheBackend`.
        cache_none: Whether a None result is cached.
        copy: Return a fresh copy of the cached value on every hit instead of read-only
            arrays. A result that cannot be copied is returned uncached (counted in
            ``backend_errors``).

    Returns:
        The decorated function when used bare (``@cache_result``), else a decorator.

    Raises:
        TypeError: An option has the wrong type (e.g. ``key=1``, ``backend=dict()``), or the
            decorated object is a generator function. At call time: an argument cannot be
            keyed (the message names it).
        ValueError: ``ttl``, ``maxsize`` or ``max_bytes`` is not positive, ``ignore``
            names a parameter the function does not have, ``key`` and ``ignore`` are both
            given, ``max_bytes`` is given with a backend other than the memory one, or a
            shared backend needs ``namespace`` to tell this function's entries from another's.

    Example:
        >>> calls = []
        >>> @cache_result(ttl=300, ignore=("verbose",))
        ... def embed(text: str, verbose: bool = False) -> tuple[int, ...]:
        ...     calls.append(text)
        ...     return tuple(map(ord, text))
        >>> embed("ab"), embed(text="ab", verbose=True)
        ((97, 98), (97, 98))
        >>> len(calls), embed.cache_info().hits
        (1, 1)
        >>> embed.cache_invalidate("ab")
        True
    """
    options: dict[str, Any] = {
        "maxsize": _checks.optional(_checks.positive_int, "maxsize", maxsize),
        "max_bytes": _checks.optional(_checks.positive_int, "max_bytes", max_bytes),
        "key": _checks.optional(_checks.is_callable, "key", key),
        "ignore": _check_ignore(ignore),
        "typed": _checks.flag("typed", typed),
        "version": _check_version(version),
        "namespace": _check_namespace(namespace),
        "backend": _check_backend(backend),
        "cache_none": _checks.flag("cache_none", cache_none),
        "copy": _checks.flag("copy", copy),
    }
    bare, ttl = function_or_option(ttl, default=60.0)
    options["ttl"] = _checks.time_limit("ttl", ttl)
    return bare_or_called(bare, "cache_result", lambda fn: _apply(fn, **options))


def _apply(fn: Any, **options: Any) -> Any:
    check_target(fn, "cache_result", allow_generators=False)  # before its state
    state = _Cache(fn, **options)
    sync, async_ = wrapper_factories(state)
    wrapper = decorate(
        fn,
        "cache_result",
        sync=sync,
        async_=async_,
        attrs={
            "cache_info": state.info,
            "cache_result_stats": state.info,
            "cache_clear": state.clear,
            "cache_invalidate": state.invalidate,
            "cache_key": state.cache_key,
        },
        allow_generators=False,
    )
    if not state.binds_instance:
        return wrapper
    return functools.update_wrapper(_Method(wrapper), wrapper)


class _Method(functools.partial):  # type: ignore[type-arg]
    """A cached method taking ``self``, as its class holds it: taken from an instance it is
    a `_BoundMethod`, from the class the wrapper itself (``Model.predict``)."""

    __slots__ = ()

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self.func
        return _BoundMethod(self.func, instance)

    def __repr__(self) -> str:
        return repr(self.func)


class _BoundMethod(functools.partial):  # type: ignore[type-arg]
    """``obj.method`` of a cached method: a bound method (called at C speed, through
    `functools.partial`), whose ``cache_invalidate`` and ``cache_key`` name ``obj``'s entries.
    Every other attribute is the wrapper's, as on a bound method."""

    __slots__ = ()

    @property
    def __self__(self) -> Any:
        return self.args[0]

    @property
    def __func__(self) -> Any:
        return self.func

    def cache_invalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Drop the entry of ``obj.method(*args, **kwargs)``; whether it was there."""
        wrapper: Any = self.func
        return bool(wrapper.cache_invalidate(self.args[0], *args, **kwargs))

    def cache_key(self, *args: Any, **kwargs: Any) -> Any:
        """The key of ``obj.method(*args, **kwargs)``."""
        wrapper: Any = self.func
        return wrapper.cache_key(self.args[0], *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Not the wrapper's code nor what it wraps: inspect.signature would read them as
        # this object's, with `self`; without them it reads a partial, which drops `self`.
        if name in ("__code__", "__wrapped__"):
            raise AttributeError(name)
        return getattr(self.func, name)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _BoundMethod)
            and self.args[0] is other.args[0]
            and self.func == other.func
        )

    def __hash__(self) -> int:
        return hash((self.func, id(self.args[0])))

    def __reduce__(self) -> tuple[Any, ...]:
        return getattr, (self.args[0], self.func.__name__)

    def __repr__(self) -> str:
        return f"<bound method {self.func.__qualname__} of {self.args[0]!r}>"


# Read on an instance, the method's docstring, as a bound method shows it.
_BoundMethod.__doc__ = property(lambda bound: bound.func.__doc__)  # type: ignore[assignment]


def cache_info(fn: Callable[..., object]) -> CacheInfo:
    """Statistics of a function decorated with `cache_result`: the typed form of
    ``fn.cache_info()``.

    Found along ``__wrapped__``, so it works under any stack of decorators (``functools.wraps``
    ones included), on methods, ``staticmethod`` and ``classmethod`` objects.

    Args:
        fn: A function decorated with `cache_result`, possibly under other decorators.

    Returns:
        An immutable `CacheInfo` snapshot.

    Raises:
        TypeError: `fn` is not decorated with `cache_result` (a `functools.lru_cache`
            function has a ``cache_info`` of its own, but not this one).

    Example:
        >>> @cache_result(ttl=60)
        ... def square(x: int) -> int:
        ...     return x * x
        >>> square(3), square(3)
        (9, 9)
        >>> info = cache_info(square)
        >>> info.hits, info.misses
        (1, 1)
    """
    snapshot: Callable[[], CacheInfo] = accessor(fn, "cache_info", "cache_result")
    return snapshot()


def cache_clear(fn: Callable[..., object]) -> None:
    """Empty the cache of a function decorated with `cache_result` and reset its counters:
    the typed form of ``fn.cache_clear()``.

    With an external backend only this function's entries (its namespace) are removed.

    Args:
        fn: A function decorated with `cache_result`, possibly under other decorators.

    Raises:
        TypeError: `fn` is not decorated with `cache_result`.

    Example:
        >>> @cache_result
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> double(2)
        4
        >>> cache_clear(double)
        >>> cache_info(double).currsize
        0
    """
    clear: Callable[[], None] = accessor(fn, "cache_clear", "cache_result")
    clear()


def cache_invalidate(fn: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
    """Drop the entry of one call of a function decorated with `cache_result`: the typed
    form of ``fn.cache_invalidate(*args, **kwargs)``.

    Args:
        fn: A function decorated with `cache_result`, possibly under other decorators.
        *args: The call's positional arguments. For a method taken from the class, the
            instance comes first; a bound method (``model.predict``) supplies its own.
        **kwargs: The call's keyword arguments.

    Returns:
        Whether an entry was there to drop.

    Raises:
        TypeError: `fn` is not decorated with `cache_result`, or an argument cannot be keyed.

    Example:
        >>> @cache_result
        ... def greet(name: str, punctuation: str = "!") -> str:
        ...     return f"hello {name}{punctuation}"
        >>> greet("ada")
        'hello ada!'
        >>> cache_invalidate(greet, "ada"), cache_invalidate(greet, "ada")
        (True, False)
    """
    invalidate: Callable[..., bool] = accessor(fn, "cache_invalidate", "cache_result")
    if inspect.ismethod(fn):  # under other decorators: the call it names passed fn.__self__
        args = (fn.__self__, *args)
    return invalidate(*args, **kwargs)
