"""The wrappers `cache_result` puts around a function, with the memory hit path inlined.

A function cached in memory whose key is the tuple of its parameters' values (no ``typed``
or ``key=``, nothing ignored but a receiver; see `KeyMaker.by_parameters`) gets a wrapper
generated for its signature, the way attrs writes ``__init__`` methods. A plain ``def``
whose signature is its code's (`_signed_by_its_code`) gets a wrapper taking its very
parameters: Python binds each call, so every spelling (``f(1)``, ``f(x=1)``, ``f(1, y=0)``)
costs the same, a wrong call fails as on the function, and the key is one tuple display.
Anything else (a function under another decorator, a builtin, a class, a partial) must be
called as its caller wrote the call, since the signature it reports may not be the one it
binds with: its wrapper takes ``(*args, **kwargs)`` and builds the key with a generated
function taking the signature's parameters.

A hit then hashes the key (the call's only hash of its arguments: a miss hands it on in a
`HashedKey`), looks the hash up in the store (the instance's, for a method taking ``self``),
compares the entry's key with the call's in C, reads the clock, marks the entry recently
used by its token and counts the hit on a lock-free counter, without a lock. Everything
else (misses, unhashable arguments, functions keyed otherwise, shared backends) goes
through `_Cache.call` and `_Cache.call_async`.

The generated source is registered with `linecache`, so tracebacks through a wrapper show
its lines. What it calls is bound when it is made, builtins included, so that caching a
builtin (``builtins.len = cache_result(len)``) cannot recurse: the cache's own code calling
it back runs it uncached (`_reentrant`).
"""

from __future__ import annotations

import builtins
import inspect
import itertools
import linecache
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

from .._fork import fork_safe_lock
from ._keys import HashedKey

if TYPE_CHECKING:
    from ._cache import _Cache

WrapperFactory = Callable[[Callable[..., Any]], Callable[..., Any]]

# {p} prefixes every name of the wrapper's own, so that no parameter can shadow one.
_HIT_PATH = """\
def make({p}get, {p}touch, {p}stores, {p}clock, {p}hit, {p}out, {p}call, {p}func, {p}pads,
         {p}hash, {p}id, {p}len, {p}hashed_key, {p}TypeError, {p}KeyError):
{head}
        try:
            {p}hashed = {p}hash({p}key)
        except {p}TypeError:  # an unhashable argument: keyed by its content
            return {await_}{p}call({p}func, {pass_on}, by_content=True)
{find}
        if {p}entry is not None and {p}entry[4] == {p}key and {p}entry[1] > {p}clock():
            {p}hit()
            try:
                {touch}
            except {p}KeyError:  # evicted by another thread meanwhile: the value was live
                pass
            return {p}entry[0] if {p}out is None else {p}out({p}entry[0])
        return {await_}{p}call({p}func, {pass_on}, {p}hashed_key({p}key, {p}hashed))

    return cached
"""

# The wrapper of a plain def takes its parameters and passes their values on...
_OWN_PARAMETERS = """\
    {async_}def cached({parameters}):
        {p}key = ({values})"""

# ...any other callable gets the call as its caller wrote it. A positional call's key is
# its arguments plus the defaults it left out (`KeyMaker.pads`); others bind to build it.
_AS_WRITTEN = """\
    def {p}key_of({parameters}):
        return ({values})

    {async_}def cached(*{p}args, **{p}kwargs):
        {p}pad = None if {p}kwargs else {p}pads({p}len({p}args))
        if {p}pad is not None:
            {p}key = {p}args{skipped} + {p}pad
        else:
            try:
                {p}key = {p}key_of(*{p}args, **{p}kwargs)
            except {p}TypeError:  # a wrong call: _Cache.call raises the signature's message
                return {await_}{p}call({p}func, {p}args, {p}kwargs)"""

# The entry is found, and marked recently used, in the function's one store...
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
            return {await_}{p}call({p}func, {pass_on}, {p}hashed_key({p}key, {p}hashed))
        {p}store = {p}pair[1]
        {p}entry = {p}store.data.get({p}hashed)""",
    "{p}store.order.move_to_end({p}entry[3])",
)


def wrapper_factories(state: _Cache) -> tuple[WrapperFactory, WrapperFactory]:
    """The sync and async wrapper factories for `state`'s function (`decorate` picks one).

    Args:
        state: The cached function's `_Cache`.
    """
    call_async = state.call_async
    if state.memory and state.keys.by_parameters is not None:
        return (
            lambda func: _generated(state, func, _sync_call(state, func), is_async=False),
            lambda func: _generated(state, func, call_async, is_async=True),
        )

    def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        call = _sync_call(state, func)

        def cached(*args: Any, **kwargs: Any) -> Any:
            return call(func, args, kwargs)

        return cached

    def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
        async def cached(*args: Any, **kwargs: Any) -> Any:
            return await call_async(func, args, kwargs)

        return cached

    return make_sync, make_async


def _sync_call(state: _Cache, func: Callable[..., Any]) -> Callable[..., Any]:
    """`state.call`, made re-entrant for a builtin (``len``, ``tuple``), which the cache's own
    code calls."""
    name = getattr(func, "__name__", None)
    if isinstance(name, str) and getattr(builtins, name, None) is func:
        return _reentrant(state.call)
    return state.call


def _signed_by_its_code(func: Callable[..., Any]) -> bool:
    """Whether `func` is a plain Python function whose signature is its own code's.

    Only then may its wrapper pass every argument by position (keyword-only ones by name),
    defaults included. Not so under another decorator (``functools.wraps`` reports the
    wrapped function's signature: the wrapper may fill in arguments itself, or have
    defaults of its own), with ``__signature__`` set, for builtins (``complex("1+2j", 0)``
    fails), classes, partials and callable objects.
    """
    return (
        type(func) is FunctionType
        and not hasattr(func, "__wrapped__")
        and getattr(func, "__signature__", None) is None
    )


def _generated(
    state: _Cache, func: Callable[..., Any], call: Callable[..., Any], *, is_async: bool
) -> Callable[..., Any]:
    """A wrapper of `func`, for its signature, with the hit path inlined."""
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
        **_spelling(signature, skip, prefix),
    }
    if _signed_by_its_code(func):
        head = _OWN_PARAMETERS
        spelling["pass_on"] = f"({spelling['positional']}), {{{spelling['keywords']}}}"
        spelling["receiver"] = names[0] if names else ""
    else:
        head = _AS_WRITTEN
        spelling["pass_on"] = f"{prefix}args, {prefix}kwargs"
        spelling["skipped"] = "[1:]" if skip else ""
        spelling["receiver"] = (
            f"({prefix}args[0] if {prefix}args else {prefix}kwargs[{names[0]!r}])" if names else ""
        )
    store = state.store
    find, touch = _IN_STORE if store is not None else _IN_INSTANCE_STORE
    source = _HIT_PATH.format(
        head=head.format(**spelling),
        find=find.format(**spelling),
        touch=touch.format(**spelling),
        **spelling,
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
        state.keys.pads.get,
        hash,
        id,
        len,
        HashedKey,
        TypeError,
        KeyError,
    )
    return wrapper


_serial = itertools.count()  # tells apart the generated sources of two same-named functions
_COMPILED_KEPT = 256
_compiled_sources: OrderedDict[tuple[str, str], tuple[CodeType, str]] = OrderedDict()
_compiling = fork_safe_lock(sys.modules[__name__], "_compiling")


def _compiled(source: str, name: str) -> CodeType:
    """`source` compiled and put in `linecache` for tracebacks. Compiling takes about a third
    of a millisecond: the last `_COMPILED_KEPT` sources are kept, so that functions of one
    shape (closures made by one factory) share their code; older ones leave `linecache`."""
    with _compiling:
        kept = _compiled_sources.get((source, name))
        if kept is not None:
            _compiled_sources.move_to_end((source, name))
            return kept[0]
        filename = f"<cache_result wrapper of {name} #{next(_serial)}>"
        code = compile(source, filename, "exec")
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        _compiled_sources[source, name] = (code, filename)
        if len(_compiled_sources) > _COMPILED_KEPT:
            _, (_, dropped) = _compiled_sources.popitem(last=False)
            linecache.cache.pop(dropped, None)
        return code


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
