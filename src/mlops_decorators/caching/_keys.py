"""Cache keys: arguments normalised against the signature, unhashables keyed by content.

A key is a plain tuple of the call's argument values in parameter order, defaults applied,
so ``f(1, b=2)``, ``f(1, 2)`` and ``f(b=2, a=1)`` give one key. Hashable values stay as they
are (the fast path: for a call with positional arguments only, the key *is* the ``args``
tuple). Unhashable values become tagged tuples built from their content; the tags are
private objects, so no user value can collide with them.

The memory backend gets the key as a `HashedKey`: the tuple with its hash computed once, so
an argument's ``__hash__`` runs once per call however many dicts the key visits (lookup,
single-flight, store).

External backends need a key that is the same in every process: `stable_digest` walks a
normalised key and hashes a canonical encoding of it (never ``str``, ``repr``, ``hash`` or
pickle) in which every value starts with a tag saying how to read it and every sequence
carries its length, so two different keys never encode alike. `namespace_of` names the
function in those keys, and refuses functions it cannot name the same way in every process.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import struct
import sys
from collections.abc import Callable, Hashable, Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._core import CallSignature


class _Tag:
    """Marks a tuple built from an unhashable value's content (``(_LIST, 1, 2)`` for [1, 2])."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


_LIST = _Tag("list")
_TUPLE = _Tag("tuple")
_DICT = _Tag("dict")
_SET = _Tag("set")
_BYTEARRAY = _Tag("bytearray")
_SUBCLASS = _Tag("subclass")
_DATACLASS = _Tag("dataclass")
_PYDANTIC = _Tag("pydantic")
_ARRAY = _Tag("array")
_VARARGS = _Tag("varargs")
_VARKW = _Tag("varkw")
_TYPES = _Tag("types")
_CUSTOM = _Tag("custom")


class UnkeyableError(TypeError):
    """A value that cannot be keyed; the key builder adds the argument's name."""


class HashedKey(tuple):  # type: ignore[type-arg]
    """A key tuple that computed its hash once: every dict it visits (single-flight, store)
    reuses it, so an argument's ``__hash__`` is not called again.

    It equals the plain tuple (comparing in C), which is how the wrappers' hit path, having
    hashed a call's own ``args`` tuple, tells the entry filed under that hash is its own.
    """

    hash: int

    def __new__(cls, key: tuple[Any, ...], hashed: int | None = None) -> HashedKey:
        """`key` with its hash: `hashed` when the caller computed ``hash(key)`` already.

        Raises:
            TypeError: `key` is unhashable.
        """
        self = super().__new__(cls, key)
        self.hash = hash(key) if hashed is None else hashed
        return self

    def __hash__(self) -> int:
        return self.hash


def _is_pydantic(value: Any) -> bool:
    # Detected without importing pydantic: a pydantic class has it in its MRO's modules.
    cls = type(value)
    return callable(getattr(cls, "model_dump", None)) and any(
        c.__module__.partition(".")[0] == "pydantic" for c in cls.__mro__
    )


def _numpy() -> Any:
    # A value can only be an ndarray if numpy was imported already: never import it here.
    return sys.modules.get("numpy")


_hash_array: Callable[[Any], bytes] | None = None


def _array_hasher() -> Callable[[Any], bytes]:
    global _hash_array
    if _hash_array is None:
        try:
            import xxhash

            _hash_array = lambda data: xxhash.xxh3_128_digest(data)  # noqa: E731
        except ImportError:  # pragma: no cover -- xxhash is installed with the numpy extra
            import hashlib

            _hash_array = lambda data: hashlib.blake2b(data, digest_size=16).digest()  # noqa: E731
    return _hash_array


def array_key(array: Any) -> tuple[Any, ...]:
    """``(_ARRAY, dtype, shape, digest)`` of an ndarray's logical content (layout-free)."""
    np = _numpy()
    if array.dtype.hasobject:
        raise UnkeyableError("numpy arrays of dtype object cannot be keyed by content")
    # C- and Fortran-ordered copies of equal data hash alike; copying only when needed.
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    dtype = array.dtype.str if array.dtype.fields is None else _frozen(array.dtype.descr)
    return (_ARRAY, dtype, array.shape, _array_hasher()(flat))


def _frozen(descr: Any) -> Any:
    """A structured dtype's ``descr`` with its lists (nested fields) made tuples: hashable."""
    return tuple(map(_frozen, descr)) if isinstance(descr, (list, tuple)) else descr


def normalise(value: Any) -> Hashable:
    """`value` itself when hashable, else a tagged tuple of its content.

    Raises:
        UnkeyableError: No content rule applies to the value's type.
    """
    try:
        hash(value)
    except TypeError:
        pass
    else:
        return value  # type: ignore[no-any-return]
    cls = type(value)
    if cls is list:
        return (_LIST, *map(normalise, value))
    if cls is tuple:
        return (_TUPLE, *map(normalise, value))
    if cls is dict:
        return (_DICT, frozenset((k, normalise(v)) for k, v in value.items()))
    if cls is set:
        return (_SET, frozenset(map(normalise, value)))
    if cls is bytearray:
        return (_BYTEARRAY, bytes(value))
    np = _numpy()
    if np is not None and (cls is np.ndarray or cls is np.memmap):
        return array_key(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return normalise_content(value)
    if _is_pydantic(value):
        return (_PYDANTIC, cls, normalise(value.model_dump()))
    for base in (list, tuple, dict, set):
        if isinstance(value, base):  # a namedtuple, an OrderedDict...: its type counts too
            return (_SUBCLASS, cls, normalise(base(value)))
    raise UnkeyableError(
        f"{cls.__module__}.{cls.__qualname__} is unhashable and is not a type keyed by "
        "content (list, tuple, dict, set, bytearray, dataclass, pydantic model, numpy array)"
    )


def _unless_hashable(value: Any) -> Any:
    """`normalise` for a value whose type cannot be hashed, else `value` (not hashed yet)."""
    return normalise(value) if type(value).__hash__ is None else value


_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class KeyMaker:
    """Builds the key of a call of one function; everything it can decide is decided here.

    The key is the tuple of the kept parameters' values in signature order, defaults
    applied, each `normalise`-d (plus their types when `typed`). Three shortcuts give
    exactly that tuple without binding: `pads` (positional calls), `keyword_pads` (calls
    passing the parameters after the positional ones by name, in signature order) and
    `_bind_simple` (signatures without ``*args``/``**kwargs``); ``inspect.Signature.bind``
    is the general case.

    Attributes:
        pads: For a call with ``n`` positional arguments and no keyword arguments,
            ``pads[n]`` is the tuple of defaults that completes ``args`` into the key (``()``
            when every parameter was passed). Empty when the key is not built from the
            argument values alone (ignored parameters other than a leading receiver,
            ``typed``, ``key=``).
        keyword_pads: For a call with ``n`` positional arguments followed by keyword
            arguments named ``names``, in this order and exactly the parameters after the
            first ``n``: ``keyword_pads[names] == (n, defaults completing the key)``, so
            the key is ``args + tuple(kwargs.values()) + defaults``. Empty when `pads` is.
    """

    __slots__ = (
        "_custom",
        "_defaults",
        "_fast_skip",
        "_index",
        "_keep",
        "_kinds",
        "_n_positional",
        "_names",
        "_qualname",
        "_required",
        "_signature",
        "_simple",
        "_typed",
        "keyword_pads",
        "pads",
    )

    def __init__(
        self,
        signature: CallSignature,
        *,
        name: str,
        ignore: Iterable[str],
        typed: bool,
        key: Callable[..., Any] | None,
        skip_first: bool,
    ) -> None:
        self._qualname = name
        self._signature = signature.signature
        params = list(self._signature.parameters.values())
        ignored = set(ignore)
        if skip_first and params:
            ignored.add(params[0].name)
        self._typed = typed
        self._custom = key
        self._names = tuple(p.name for p in params)
        self._kinds = tuple(p.kind for p in params)
        self._keep = tuple(i for i, p in enumerate(params) if p.name not in ignored)
        self._simple = all(p.kind in (*_POSITIONAL, p.KEYWORD_ONLY) for p in params)
        self._n_positional = sum(p.kind in _POSITIONAL for p in params)
        self._index = {p.name: i for i, p in enumerate(params) if p.kind != p.POSITIONAL_ONLY}
        self._defaults = tuple(p.default for p in params)
        self._required = tuple(i for i, default in enumerate(self._defaults) if default is _EMPTY)
        # A receiver left out of the key is still the first positional argument.
        self._fast_skip = 1 if (params and ignored == {params[0].name}) else 0
        self.pads: dict[int, tuple[Any, ...]] = {}
        self.keyword_pads: dict[tuple[str, ...], tuple[int, tuple[Any, ...]]] = {}
        if self._simple and not (typed or key) and (not ignored or self._fast_skip):
            # Parameters from `tail` on all have defaults: a call may stop anywhere there.
            tail = max(self._required, default=-1) + 1
            # A skipped receiver is always passed, positionally.
            for n in range(max(tail, self._fast_skip), self._n_positional + 1):
                self.pads[n] = self._defaults[n:]
            for n in range(self._fast_skip, self._n_positional + 1):
                if n < len(params) and self._kinds[n] is inspect.Parameter.POSITIONAL_ONLY:
                    continue  # cannot be passed by keyword
                for end in range(max(n + 1, tail), len(params) + 1):
                    self.keyword_pads[self._names[n:end]] = (n, self._defaults[end:])

    @property
    def by_parameters(self) -> tuple[inspect.Signature, int] | None:
        """``(signature, skip)`` when the values of the signature's parameters after the
        first `skip` (1 for a receiver left out, else 0), in order, are the key of every call
        (nothing else ignored, no ``*args``/``**kwargs``, no ``typed`` or ``key=``); else
        None."""
        plain = self._simple and not (self._typed or self._custom)
        if plain and len(self._keep) == len(self._names) - self._fast_skip:
            return self._signature, self._fast_skip
        return None

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """The key of a call, a plain tuple (for shared backends, which encode it).

        Raises:
            TypeError: The arguments do not match the signature, or an argument cannot be
                keyed (the message names it and points to ``key=`` / ``ignore=``).
        """
        return tuple(self.hashed(args, kwargs))

    def hashed(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], *, by_content: bool = False
    ) -> HashedKey:
        """The key of a call, each argument hashed once when all are hashable.

        Args:
            args: The call's positional arguments.
            kwargs: The call's keyword arguments.
            by_content: The caller found an argument unhashable already: skip trying.

        Raises:
            TypeError: As for ``__call__``.
        """
        key = self._padded(args, kwargs)
        if key is not None:
            if not by_content:
                try:
                    return HashedKey(key)
                except TypeError:  # an unhashable argument: bound below, to name it
                    pass
        elif self._custom is not None:
            return self._custom_key(args, kwargs)
        values = self._bind_simple(args, kwargs) if self._simple else None
        if values is None:
            bound = self._signature.bind(*args, **kwargs)  # raises the call's own TypeError
            bound.apply_defaults()
            values = [bound.arguments[name] for name in self._names]
        types: tuple[Any, ...] = ()
        if self._typed:
            types = ((_TYPES, *(_types(self._kinds[i], values[i]) for i in self._keep)),)
        if key is None:  # not tried above
            try:
                return HashedKey(tuple(values[i] for i in self._keep) + types)
            except TypeError:
                pass
        try:  # what cannot be hashed by content, the rest as is: each hashed once, here
            return HashedKey(
                tuple(self._value(i, values[i], _unless_hashable) for i in self._keep) + types
            )
        except TypeError:  # a hashable type holding an unhashable value ((1, [2])), or worse
            return HashedKey(tuple(self._value(i, values[i]) for i in self._keep) + types)

    def _padded(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
        """The key from `pads` or `keyword_pads` when they cover the call (maybe unhashable)."""
        if kwargs:
            shape = self.keyword_pads.get(tuple(kwargs))
            if shape is None or shape[0] != len(args):
                return None
            return args[self._fast_skip :] + tuple(kwargs.values()) + shape[1]
        pad = self.pads.get(len(args))
        if pad is None:
            return None
        return args[self._fast_skip :] + pad

    def _bind_simple(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
        """Argument values in parameter order, or None when the call is wrong (the general
        binder then raises Python's own message)."""
        if len(args) > self._n_positional:
            return None
        values = [*args, *self._defaults[len(args) :]]
        index = self._index
        for name, value in kwargs.items():
            i = index.get(name)
            if i is None or i < len(args):
                return None
            values[i] = value
        for i in self._required:
            if values[i] is _EMPTY:  # identity: arrays would compare elementwise
                return None
        return values

    def _value(self, i: int, value: Any, content: Callable[[Any], Any] = normalise) -> Any:
        name, kind = self._names[i], self._kinds[i]
        try:
            if kind is inspect.Parameter.VAR_POSITIONAL:
                return (_VARARGS, *map(content, value))
            if kind is inspect.Parameter.VAR_KEYWORD:
                return (_VARKW, frozenset((k, content(v)) for k, v in value.items()))
            return content(value)
        except UnkeyableError as exc:
            raise TypeError(
                f"cache_result cannot key argument {name!r} of {self._qualname}: {exc}. "
                f"Pass key= to build the key yourself, or ignore=({name!r},) to leave the "
                "argument out of the key."
            ) from None

    def _custom_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> HashedKey:
        assert self._custom is not None
        result = self._custom(*args, **kwargs)
        try:
            return HashedKey((_CUSTOM, result))
        except TypeError:  # unhashable: keyed by content
            pass
        try:
            return HashedKey((_CUSTOM, normalise(result)))
        except UnkeyableError as exc:
            raise TypeError(
                f"cache_result cannot use the value returned by key= for {self._qualname}: "
                f"{exc}. Return something hashable (a str, int or tuple of them)."
            ) from None


def _types(kind: object, value: Any) -> Any:
    """What `typed` adds to the key for one parameter's value."""
    if kind is inspect.Parameter.VAR_POSITIONAL:  # each positional value's type
        return tuple(map(type, value))
    if kind is inspect.Parameter.VAR_KEYWORD:  # sorted for order-insensitivity
        return tuple(sorted((k, type(v).__qualname__, type(v)) for k, v in value.items()))
    return type(value)  # a namedtuple is not a tuple, an OrderedDict not a dict


def stable_digest(namespace: str, key: Any) -> str:
    """A key that is the same in every process: ``"<namespace>:<hex blake2b>"``.

    Equal keys (as dict keys: ``1``, ``1.0`` and ``True`` alike) give one digest; any other
    two keys give two, whatever mix of types they hold (see `_encode`).

    Raises:
        TypeError: Part of the key only has an identity (an object hashable by ``id``),
            which means nothing in another process.
    """
    import hashlib  # only shared backends need it: kept out of the package import

    out = bytearray()
    _encode(key, out)
    return f"{namespace}:{hashlib.blake2b(out, digest_size=16).hexdigest()}"


_PACK_F = struct.Struct(">d").pack
_PACK_LEN = struct.Struct(">Q").pack


def _bytes(tag: bytes, data: bytes, out: bytearray) -> None:
    out += tag
    out += _PACK_LEN(len(data))
    out += data


def _encode(value: Any, out: bytearray) -> None:
    """Append `value`'s encoding to `out`.

    Every encoding starts with a one-byte tag that says how to read the rest: fixed-size
    data, length-prefixed bytes, a count of items, or a fixed number of nested encodings
    (``E`` is a class then a value). So an encoding ends where its reader says, and a
    sequence of them splits one way only: two different keys never encode alike (no
    ``(Color, 1, Shape.SQUARE)`` reading as ``(Color.RED, Shape, 2)``).
    """
    cls = type(value)
    if value is None:
        out += b"N"
    elif cls is str:
        _bytes(b"s", value.encode("utf-8", "surrogatepass"), out)
    elif cls is int or cls is bool or (cls is float and value.is_integer()):
        # 1, 1.0 and True are one key, as dict lookups in memory make them; `typed` keys
        # carry the arguments' types beside their values.
        number = int(value)
        _bytes(b"i", number.to_bytes(number.bit_length() // 8 + 1, "big", signed=True), out)
    elif cls is float:
        out += b"f"
        out += _PACK_F(value)
    elif cls is bytes:
        _bytes(b"b", value, out)
    elif cls is tuple:
        out += b"("
        out += _PACK_LEN(len(value))
        for item in value:
            _encode(item, out)
    elif cls is frozenset:
        parts = []
        for item in value:
            part = bytearray()
            _encode(item, part)
            parts.append(bytes(part))
        out += b"{"
        out += _PACK_LEN(len(parts))
        for encoded in sorted(parts):
            out += encoded
    elif cls is _Tag:
        _bytes(b"#", value.name.encode(), out)
    elif isinstance(value, type):
        _bytes(b"t", f"{value.__module__}.{value.__qualname__}".encode(), out)
    else:
        _encode_other(value, out)


def _encode_other(value: Any, out: bytearray) -> None:
    cls = type(value)
    np = _numpy()
    # Values of these types exist only if their modules were imported: never import them.
    datetime = sys.modules.get("datetime")
    uuid = sys.modules.get("uuid")
    if isinstance(value, enum.Enum):
        out += b"E"
        _encode(cls, out)
        _encode(value.value, out)
    elif cls is complex:
        out += b"c"
        out += _PACK_F(value.real) + _PACK_F(value.imag)
    elif datetime and isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        out += b"D"
        _encode(cls, out)
        _bytes(b"", value.isoformat().encode(), out)
    elif datetime and isinstance(value, datetime.timedelta):
        out += b"R"
        _encode(cls, out)
        _encode((value.days, value.seconds, value.microseconds), out)
    elif uuid and isinstance(value, uuid.UUID):
        _bytes(b"u", value.bytes, out)
    elif np is not None and isinstance(value, np.generic) and not value.dtype.hasobject:
        _bytes(b"n", value.dtype.str.encode(), out)
        _bytes(b"", value.tobytes(), out)
    elif dataclasses.is_dataclass(value):
        _encode(normalise_content(value), out)
    elif _is_pydantic(value):
        _encode((_PYDANTIC, cls, normalise(value.model_dump())), out)
    elif isinstance(value, (str, int, float, bytes, tuple, frozenset)):
        # Subclasses of the builtins (str enums are handled above): their builtin content.
        builtins: tuple[Callable[[Any], Any], ...] = (str, int, float, bytes, tuple, frozenset)
        base = next(b for b in builtins if isinstance(value, b))  # type: ignore[arg-type]
        out += b"S"
        _encode(cls, out)
        _encode(base(value), out)
    else:
        raise TypeError(
            f"cache_result cannot key a {cls.__module__}.{cls.__qualname__} for a shared "
            "backend: it is hashable only by identity, which means nothing in another process. "
            "Pass key= to build the key yourself, or ignore= to leave the argument out."
        )


def normalise_content(value: Any) -> tuple[Any, ...]:
    """A hashable dataclass by its fields (for stable keys, where identity means nothing)."""
    fields = tuple((f.name, normalise(getattr(value, f.name))) for f in dataclasses.fields(value))
    return (_DATACLASS, type(value), fields)


# multiprocessing runs the parent's main script as `__mp_main__` in spawned workers.
_MAIN_MODULES = ("__main__", "__mp_main__")


def namespace_of(
    target: Any, name: str, *, namespace: str | None, version: str | int | None, shared: str | None
) -> str:
    """The namespace of a cached function's keys: ``"<module>.<qualname>"`` (or `namespace`),
    plus ``"@<version>"``.

    A function of the main script is named after the script (``python train.py``: ``train``)
    or module (``python -m app.train``: ``app.train``), never ``__main__`` or
    ``__mp_main__``: a parent process and its spawned workers share entries.

    Args:
        target: The decorated callable (unwrapped from staticmethod/classmethod).
        name: Its qualified name.
        namespace: The name given with ``namespace=``, if any.
        version: ``version=``.
        shared: The repr of the shared backend the keys go to, or None (memory).

    Raises:
        ValueError: `shared`, no `namespace`, and the name does not identify the function
            in every process (a closure, a lambda, a partial, a bound method...).
    """
    if namespace is None:
        module = _module_name(target)
        if shared is not None:
            reason = _why_unnamed(target, name, module)
            if reason is not None:
                raise ValueError(
                    f"namespace is needed to cache {name} in {shared}: {reason}. Pass "
                    "namespace='<a name for this function alone>' (a factory's functions "
                    "each need their own, such as namespace=f'scale-{factor}')."
                )
        namespace = f"{module or '__main__'}.{name}"
    return namespace if version is None else f"{namespace}@{version}"


def _module_name(target: Any) -> str | None:
    """The module `target` was defined in; the main script's own name for ``__main__``, or
    None when the main module has no name that another process could share (a notebook)."""
    while isinstance(target, functools.partial):
        target = target.func
    module = getattr(target, "__module__", None)
    if not isinstance(module, str) or module not in _MAIN_MODULES:
        return module if isinstance(module, str) else None
    # While a spawned worker runs the script, __mp_main__ is a temporary module: read the
    # function's own globals rather than sys.modules.
    namespace = getattr(target, "__globals__", None)
    if namespace is None:
        namespace = getattr(sys.modules.get(module), "__dict__", {})
    spec = namespace.get("__spec__")
    if spec is not None and isinstance(getattr(spec, "name", None), str):
        return str(spec.name)  # python -m app.train
    path = namespace.get("__file__")
    return PurePath(path).stem if isinstance(path, str) else None


def _why_unnamed(target: Any, name: str, module: str | None) -> str | None:
    """Why ``<module>.<name>`` may name other functions too in a shared store, or None."""
    bound_to = getattr(target, "__self__", None)
    if inspect.ismethod(target) or (
        inspect.isbuiltin(target) and bound_to is not None and not inspect.ismodule(bound_to)
    ):
        return "it is a bound method, and its instance is not part of the key"
    if isinstance(target, functools.partial):
        return "it is a functools.partial, and its bound arguments are not part of the key"
    if not isinstance(getattr(target, "__qualname__", getattr(target, "__name__", None)), str):
        return "it is a callable object named after its class, as every other instance is"
    if "<lambda>" in name:
        return "it is a lambda, as every lambda of its module is named"
    # A closure's behaviour depends on what it captured, which its name does not say
    # (make(2) and make(3)); a nested function without captures is the same code each time.
    # __class__ is the cell of super(), which the class's name does say. A decorator's
    # wrapper (ours or any functools.wraps one) captures its own state: look at the function
    # it wraps.
    innermost = inspect.unwrap(target) if callable(target) else target
    captured = getattr(getattr(innermost, "__code__", None), "co_freevars", ())
    captured = [variable for variable in captured if variable != "__class__"]
    if captured:
        return (
            f"it is a closure (over {', '.join(captured)}), and every function made by "
            "another call of its enclosing function would share its entries"
        )
    if module is None:
        return (
            "it is defined in __main__ without a file (a notebook, a REPL, python -c), where "
            "any other session's function of that name would share its entries"
        )
    return None
