"""The wrappers `cache_result` puts around a function, with the memory hit path inlined.

A plain Python function cached in memory whose key is the tuple of all its parameters'
values (no ``ignore``, ``typed`` or ``key=``; see `KeyMaker.by_parameters`), and whose
signature is its code's (`_signed_by_its_code`), gets a wrapper generated with its own
signature, the way attrs writes ``__init__`` methods. Python binds each call, so
every spelling (``f(1)``, ``f(x=1)``, ``f(1, y=0)``) costs the same and the key is one tuple
display. A hit then hashes that tuple (the call's only hash of its arguments: a miss hands
it on in a `HashedKey`), looks the hash up in the store, compares the entry's key with the
call's in C, reads the clock, marks the entry recently used by its token and counts the hit
on a lock-free counter, without a lock. Everything else (misses, unhashable arguments,
methods keyed per instance, shared backends) goes through `_Cache.call` and
`_Cache.call_async`.

The generated source is registered with `linecache`, so tracebacks through a wrapper show
its lines. What it calls is bound when it is made, builtins included, so that caching a
builtin (``builtins.len = cache_result(len)``) cannot recurse: the cache's own code calling
it back runs it uncached (`_reentrant`).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import linecache
import threading
import types
from collections.abc import Callable
from types import CodeType
from typing import TYPE_CHECKING, Any

from ._keys import HashedKey

if TYPE_CHECKING:
    from ._cache import _Cache

WrapperFactory = Callable[[Callable[..., Any]], Callable[..., Any]]

# {p} prefixes every name of the wrapper's own, so that no parameter can shadow one.
_HIT_PATH = """\
def make({p}get, {p}touch, {p}stores, {p}clock, {p}hit, {p}out, {p}call, {p}func, {p}hash,
         {p}id, {p}hashed_key, {p}TypeError, {p}KeyError):
    {async_}def cached({parameters}):
        {p}key = ({values})
        try:
            {p}hashed = {p}hash({p}key)
        except {p}TypeError:  # an unhashable argument: keyed by its content
            return {await_}{p}call({p}func, ({positional}), {{{keywords}}}, by_content=True)
{find}
        if {p}entry is not None and {p}entry[4] == {p}key and {p}entry[1] > {p}clock():
            {p}hit()
            try:
                {touch}
            except {p}KeyError:  # evicted by another thread meanwhile: the value was live
                pass
            return {p}entry[0] if {p}out is None else {p}out({p}entry[0])
        return {await_}{p}call(
            {p}func, ({positional}), {{{keywords}}}, {p}hashed_key({p}key, {p}hashed)
        )

    return cached
"""

# Finding the entry and marking it recently used, in the function's one store...
_IN_STORE = (
    """\
        {p}entry = {p}get({p}hashed)""",
    "{p}touch({p}entry[3])",
)

# ...or in the store of the instance a method is called on (see _Cache.instances): an
# instance without one yet, or keyed by value, goes through _Cache.call.
_IN_INSTANCE_STORE = (
    """\
        {p}pair = {p}stores({p}id({receiver}))
        if {p}pair is None or {p}pair[0]() is not {receiver}:
            return {await_}{p}call(
                {p}func, ({positional}), {{{keywords}}}, {p}hashed_key({p}key, {p}hashed)
            )
        {p}store = {p}pair[1]
        {p}entry = {p}store.data.get({p}hashed)""",
    "{p}store.order.move_to_end({p}entry[3])",
)

_serial = itertools.count()  # tells apart the generated sources of two same-named functions


def wrapper_factories(state: _Cache, *, builtin: bool) -> tuple[WrapperFactory, WrapperFactory]:
    """The sync and async wrapper factories for `state`'s function (`decorate` picks one).

    Args:
        state: The cached function's `_Cache`.
        builtin: The function is a builtin, which the cache's own code may call.
    """
    call, call_async = state.call, state.call_async
    if builtin:
        call = _reentrant(call)
    generate = state.memory and state.keys.by_parameters is not None
    store = state.store
    # The (*args, **kwargs) wrapper inlines the hit path too, for calls whose key is their
    # argument values plus the remaining defaults (`KeyMaker.pads`, `keyword_pads`): a
    # function under another decorator, a builtin, a partial... in the function's one store.
    shape = state.keys.by_parameters
    inline = state.memory and store is not None and shape is not None and shape[1] == 0
    pads, keyword_pads = (state.keys.pads, state.keys.keyword_pads) if inline else ({}, {})
    pad_of, keyword_pad_of = pads.get, keyword_pads.get
    arity = next((n for n, pad in pads.items() if not pad), -1)  # every parameter passed
    # (Only read when `inline`, which needs the store.)
    get: Callable[..., Any] = store.data.get if store is not None else dict.get
    touch: Callable[..., Any] = store.order.move_to_end if store is not None else dict.get
    clock: Callable[..., Any] = store.clock if store is not None else float
    hit, out = state.hits.increment, state.out
    # Bound now: caching a builtin (builtins.len = cache_result(len)) cannot recurse.
    length, to_tuple, hash_ = len, tuple, hash

    def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        if generate and _signed_by_its_code(func):
            return _generated(state, func, call, is_async=False)
        if not inline:

            def cached(*args: Any, **kwargs: Any) -> Any:
                return call(func, args, kwargs)

            return cached

        def cached_inline(*args: Any, **kwargs: Any) -> Any:
            # The sync and async bodies repeat on purpose: a helper is a Python call a hit.
            if not kwargs:
                if length(args) == arity:
                    key: Any = args
                else:  # defaults appended: the key state.call would build
                    pad = pad_of(length(args))
                    key = None if pad is None else args + pad
            else:
                shape = keyword_pad_of(to_tuple(kwargs))
                if shape is not None and shape[0] == length(args):
                    key = args + to_tuple(kwargs.values()) + shape[1]
                else:
                    key = None
            if key is None:
                return call(func, args, kwargs)
            try:
                hashed = hash_(key)
            except TypeError:  # an unhashable argument: keyed by its content
                return call(func, args, kwargs, by_content=True)
            entry = get(hashed)
            if entry is not None and entry[4] == key and entry[1] > clock():
                hit()
                try:  # noqa: SIM105 -- contextlib.suppress costs a call per hit
                    touch(entry[3])
                except KeyError:  # evicted by another thread meanwhile: the value was live
                    pass
                return entry[0] if out is None else out(entry[0])
            return call(func, args, kwargs, HashedKey(key, hashed))

        return cached_inline

    def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
        if generate and _signed_by_its_code(func):
            return _generated(state, func, call_async, is_async=True)
        if not inline:

            async def cached(*args: Any, **kwargs: Any) -> Any:
                return await call_async(func, args, kwargs)

            return cached

        async def cached_inline(*args: Any, **kwargs: Any) -> Any:
            if not kwargs:
                if length(args) == arity:
                    key: Any = args
                else:
                    pad = pad_of(length(args))
                    key = None if pad is None else args + pad
            else:
                shape = keyword_pad_of(to_tuple(kwargs))
                if shape is not None and shape[0] == length(args):
                    key = args + to_tuple(kwargs.values()) + shape[1]
                else:
                    key = None
            if key is None:
                return await call_async(func, args, kwargs)
            try:
                hashed = hash_(key)
            except TypeError:
                return await call_async(func, args, kwargs, by_content=True)
            entry = get(hashed)
            if entry is not None and entry[4] == key and entry[1] > clock():
                hit()
                try:  # noqa: SIM105
                    touch(entry[3])
                except KeyError:
                    pass
                return entry[0] if out is None else out(entry[0])
            return await call_async(func, args, kwargs, HashedKey(key, hashed))

        return cached_inline

    return make_sync, make_async


def _signed_by_its_code(func: Callable[..., Any]) -> bool:
    """Whether `func` is a plain Python function whose signature is its own code's.

    The generated wrapper passes every argument by position (keyword-only ones by name),
    defaults included: the same call only when the signature it reads is the one `func`
    binds with. Not so under another decorator (``functools.wraps`` reports the wrapped
    function's signature: the wrapper may fill in arguments itself, or have defaults of its
    own), with ``__signature__`` set, for builtins (``complex("1+2j", 0)`` fails), classes,
    partials and callable objects: those get the ``(*args, **kwargs)`` wrapper.
    """
    return (
        type(func) is types.FunctionType
        and not hasattr(func, "__wrapped__")
        and getattr(func, "__signature__", None) is None
    )


def _generated(
    state: _Cache, func: Callable[..., Any], call: Callable[..., Any], *, is_async: bool
) -> Callable[..., Any]:
    """A wrapper of `func` taking its parameters, with the hit path inlined."""
    assert state.keys.by_parameters is not None
    signature, skip = state.keys.by_parameters
    names = list(signature.parameters)
    prefix = "_c_"
    while any(name.startswith(prefix) for name in names):
        prefix = "_" + prefix
    spelling = {
        "p": prefix,
        "async_": "async " if is_async else "",
        "await_": "await " if is_async else "",
        "receiver": names[0] if names else "",
        **_spelling(signature, skip, prefix),
    }
    store = state.store
    find, touch = _IN_STORE if store is not None else _IN_INSTANCE_STORE
    source = _HIT_PATH.format(
        find=find.format(**spelling), touch=touch.format(**spelling), **spelling
    )
    namespace: dict[str, Any] = {
        f"{prefix}defaults": [p.default for p in signature.parameters.values()]
    }
    exec(_compiled(source, state.name), namespace)
    wrapper: Callable[..., Any] = namespace["make"](
        None if store is None else store.data.get,
        None if store is None else store.order.move_to_end,
        state.instances.get,
        state.backend.clock,
        state.hits.increment,
        state.out,
        call,
        func,
        hash,
        id,
        HashedKey,
        TypeError,
        KeyError,
    )
    return wrapper


@functools.lru_cache(maxsize=256)
def _compiled(source: str, name: str) -> CodeType:
    """`source` compiled (a third of a millisecond: reused for functions of one shape, such
    as closures made by one factory) and put in `linecache` for tracebacks."""
    filename = f"<cache_result wrapper of {name} #{next(_serial)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    return compile(source, filename, "exec")


def _spelling(signature: inspect.Signature, skip: int, prefix: str) -> dict[str, str]:
    """The pieces of `_HIT_PATH` that spell `signature`: the wrapper's parameter list, the
    key's values (all but the first `skip` parameters), and how to pass them on
    (positionally, except keyword-only ones)."""
    kind = inspect.Parameter
    parameters: list[str] = []
    values, positional, keywords = [], [], []
    previous = None
    for i, param in enumerate(signature.parameters.values()):
        if previous is kind.POSITIONAL_ONLY and param.kind is not kind.POSITIONAL_ONLY:
            parameters.append("/")
        if param.kind is kind.KEYWORD_ONLY and previous is not kind.KEYWORD_ONLY:
            parameters.append("*")
        default = "" if param.default is kind.empty else f"={prefix}defaults[{i}]"
        parameters.append(param.name + default)
        if i >= skip:
            values.append(f"{param.name}, ")
        if param.kind is kind.KEYWORD_ONLY:
            keywords.append(f"{param.name!r}: {param.name}, ")
        else:
            positional.append(f"{param.name}, ")
        previous = param.kind
    if previous is kind.POSITIONAL_ONLY:
        parameters.append("/")
    return {
        "parameters": ", ".join(parameters),
        "values": "".join(values),
        "positional": "".join(positional),
        "keywords": "".join(keywords),
    }


def _reentrant(call: Callable[..., Any]) -> Callable[..., Any]:
    """`call` for a cached builtin, which someone may install in `builtins`: when the cache's
    own key and store code calls it back, it runs uncached instead of recursing."""
    inside = threading.local()

    def guarded(
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *key: Any,
        **options: Any,
    ) -> Any:
        if getattr(inside, "active", False):
            return func(*args, **kwargs)
        inside.active = True
        try:
            return call(func, args, kwargs, *key, **options)
        finally:
            inside.active = False

    return guarded
