"""`Array`: what an array or tensor argument must look like, checked without copying it.

An `Array` is pydantic metadata: inside ``Annotated[np.ndarray, Array(...)]`` (or given to
`validate_input` as an override) it becomes one plain validator that checks, in order, the
array's type, its dtype and shape (both reported at once), then its values. Values are checked
by the array's own library (`_xp`), one vectorised pass per check asked for.
"""

from __future__ import annotations

import math
import operator
import sys
import typing
from collections.abc import Callable
from types import EllipsisType
from typing import Any, NoReturn

from .. import _checks
from ._xp import KINDS, dtype_name, kind_of, namespace, unravel

__all__ = ["Array"]

#: Key of the per-call dimension bindings in pydantic's validation context.
DIMS = "mlops_decorators.array_dims"
_SEEN_LIMIT = 64  # dtypes remembered per spec: structured numpy dtypes are unbounded
#: Error types raised by `Array` checks (their message needs no "got" appended).
ERROR_TYPES = frozenset({"array_type", "array_spec", "array_values"})

_NAMED = frozenset(
    {
        "bool",
        *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)),
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)
_BUILTINS: dict[Any, str] = {bool: "bool", int: "int64", float: "float64", complex: "complex128"}
_CAST_KIND = {
    "bool": "bool",
    "integer": "int64",
    "signed integer": "int64",
    "unsigned integer": "uint64",
    "floating": "float64",
    "complex": "complex128",
    "numeric": "float64",
}
# option -> (what a failing value is, the reduction that finds the extreme value, the test).
_BOUNDS: dict[str, tuple[str, str, Callable[[Any, Any], Any]]] = {
    "ge": ("<", "min", operator.lt),
    "gt": ("<=", "min", operator.le),
    "le": (">", "max", operator.gt),
    "lt": (">=", "max", operator.ge),
}
_OPPOSITE = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


class Array:
    """What an array or tensor must look like: shape, dtype and value rules.

    Use it inside an annotation, ``X: Annotated[np.ndarray, Array(shape=(None, 4))]``, or as a
    `validate_input` override, ``@validate_input(X=Array(shape=(None, 4)))``. It checks numpy
    arrays, torch tensors and any array-API array (jax, cupy) in their own library: nothing is
    copied to the host. NaN and infinite values are rejected by default (one pass over a
    floating array); every other value check runs only when asked for.

    Args:
        shape: One entry per dimension: an int (that exact size), None (any size), a name
            (a size that must be the same wherever the name appears in one call, across all
            arguments and the return value) or ``...`` once (any number of dimensions there).
        dtype: A dtype name (``"float32"``), a numpy dtype or type, a torch dtype, a Python
            type (``float`` is ``float64``), a kind (``"bool"``, ``"integer"``,
            ``"signed integer"``, ``"unsigned integer"``, ``"floating"``, ``"complex"``,
            ``"numeric"``), or a tuple of these. A mismatch is an error, never a cast, unless
            ``coerce=True``.
        ndim: The number of dimensions.
        ge: Every value must be >= this.
        gt: Every value must be > this.
        le: Every value must be <= this.
        lt: Every value must be < this.
        allow_nan: Accept NaN values (floating and complex arrays).
        allow_inf: Accept infinite values.
        mean: ``(low, high)``: the mean must lie in this closed interval.
        std: ``(low, high)``: the population standard deviation must lie in it.
        coerce: Convert instead of rejecting: values that are not arrays (lists) become
            arrays of the annotated array type's library (numpy by default), and arrays of
            another dtype are converted to the first dtype named (for a kind: its widest
            common dtype, e.g. ``float64`` for ``"floating"``). The converted array is what the
            function receives.

    Raises:
        TypeError: An option has the wrong type.
        ValueError: An option is out of range or contradicts another one (``ge`` with
            ``gt``, a shape with more dimensions than ``ndim``, an unknown dtype).

    Example:
        >>> from typing import Annotated
        >>> import numpy as np
        >>> from mlops_decorators import validate_input
        >>> @validate_input
        ... def fit(
        ...     X: Annotated[np.ndarray, Array(shape=("n", 4), dtype="floating")],
        ...     y: Annotated[np.ndarray, Array(shape=("n",), ge=0)],
        ... ) -> int:
        ...     return len(X)
        >>> fit(np.zeros((3, 4)), np.ones(3))
        3
        >>> try:
        ...     fit(np.zeros((3, 4)), np.ones(2))
        ... except ValueError as exc:
        ...     print(exc)
        fit(): argument 'y': shape (2,) does not match ('n'=3,)
    """

    __slots__ = (
        "_bounds",
        "_cast_to",
        "_dtype_kinds",
        "_dtype_names",
        "_dtype_text",
        "_dtypes_seen",
        "_fixed_sizes",
        "_layout",
        "_min_ndim",
        "_named",
        "_ndim",
        "_pick_fixed",
        "_shaped",
        "_values",
        "allow_inf",
        "allow_nan",
        "coerce",
        "dtype",
        "ge",
        "gt",
        "le",
        "lt",
        "mean",
        "ndim",
        "shape",
        "std",
    )

    def __init__(
        self,
        shape: tuple[int | str | EllipsisType | None, ...] | None = None,
        dtype: Any = None,
        *,
        ndim: int | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        allow_nan: bool = False,
        allow_inf: bool = False,
        mean: tuple[float, float] | None = None,
        std: tuple[float, float] | None = None,
        coerce: bool = False,
    ) -> None:
        self.shape = shape
        self.dtype = dtype
        self.ndim = _checks.optional(_checks.integer, "ndim", ndim, ge=0)
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt
        self.allow_nan = _checks.flag("allow_nan", allow_nan)
        self.allow_inf = _checks.flag("allow_inf", allow_inf)
        self.coerce = _checks.flag("coerce", coerce)
        self.mean = _interval("mean", mean)
        self.std = _interval("std", std)
        self._layout = _parse_shape(shape, ndim)
        # Each constrained dimension by its index; dimensions after `...` by negative index.
        cut = self._layout.index(...) if ... in self._layout else len(self._layout)
        tail = len(self._layout) - cut - 1
        placed = [(i if i < cut else i - cut - 1 - tail, d) for i, d in enumerate(self._layout)]
        fixed = [(i, d) for i, d in placed if isinstance(d, int)]
        # One C call picks the fixed dimensions: `itemgetter` returns a scalar for one index.
        self._pick_fixed = operator.itemgetter(*(i for i, _ in fixed)) if fixed else None
        self._fixed_sizes = fixed[0][1] if len(fixed) == 1 else tuple(d for _, d in fixed)
        self._named = tuple((i, d) for i, d in placed if isinstance(d, str))
        self._min_ndim = len(self._layout) - (cut < len(self._layout))
        self._ndim = ndim if ndim is not None or ... in self._layout else self._min_ndim
        self._shaped = shape is not None or ndim is not None
        self._dtype_names, self._dtype_kinds, self._dtype_text, self._cast_to = _parse_dtype(dtype)
        self._dtypes_seen: dict[Any, tuple[str, bool]] = {}
        bounds = {
            option: _checks.optional(_checks.number, option, bound)
            for option, bound in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt))
        }
        if (ge is not None and gt is not None) or (le is not None and lt is not None):
            raise ValueError(f"give ge or gt, and le or lt, not both; got {self!r}")
        self._bounds = [
            (option, bound, *_BOUNDS[option])
            for option, bound in bounds.items()
            if bound is not None
        ]
        self._values = bool(
            self._bounds or mean is not None or std is not None or not (allow_nan and allow_inf)
        )

    def __repr__(self) -> str:
        options = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name, default in _DEFAULTS.items()
            if getattr(self, name) != default
        )
        return f"Array({options})"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        """The pydantic schema of ``Annotated[source, self]``: one plain validator."""
        from pydantic_core import core_schema

        check = _Check(self, source)
        if self._named:  # the dimension bindings of the call come through pydantic's context
            return core_schema.with_info_plain_validator_function(check.with_context)
        return core_schema.no_info_plain_validator_function(check)

    def _validate(self, value: Any, shape: Any, dtype: Any, dims: dict[str, int] | None) -> Any:
        """`value` (converted, with ``coerce=True``) if it fits, binding named dimensions
        in `dims`; else a pydantic error describing every structural problem at once."""
        known = self._dtypes_seen.get(dtype)
        name, dtype_ok = known if known is not None else self._learn(dtype)
        if not dtype_ok and self.coerce:
            value = namespace(value).astype(value, self._cast_to)
            name, dtype_ok = self._cast_to, True
        new: dict[str, int] = {}
        if not (dtype_ok and (not self._shaped or self._fits(shape, dims, new))):
            self._reject(name, dtype_ok, tuple(shape), dims or {}, new)
        if new and dims is not None:
            dims.update(new)
        if self._values:
            failed = self._check_values(value, name, tuple(shape))
            if failed is not None:
                fail("array_values", *failed)
        return value

    def _learn(self, dtype: Any) -> tuple[str, bool]:
        """`dtype`'s name and whether it is accepted, remembered for the next call."""
        name = dtype_name(dtype)
        verdict = (
            name,
            not self._dtype_text or name in self._dtype_names or kind_of(name) in self._dtype_kinds,
        )
        if len(self._dtypes_seen) < _SEEN_LIMIT:
            self._dtypes_seen[dtype] = verdict
        return verdict

    def _fits(self, shape: Any, dims: dict[str, int] | None, new: dict[str, int]) -> bool:
        """Whether `shape` fits; sizes of names seen for the first time go into `new`."""
        ndim = len(shape)
        if ndim < self._min_ndim or (self._ndim is not None and ndim != self._ndim):
            return False
        fits = self._pick_fixed is None or self._pick_fixed(shape) == self._fixed_sizes
        for index, name in self._named:  # all of them: their sizes show in the message
            size = shape[index]
            known = new.get(name) if dims is None else dims.get(name, new.get(name))
            if known is None:
                new[name] = size
            elif known != size:
                fits = False
        return fits

    def _reject(
        self,
        name: str,
        dtype_ok: bool,
        shape: tuple[int, ...],
        dims: dict[str, int],
        new: dict[str, int],
    ) -> NoReturn:
        problems = [] if dtype_ok else [f"dtype {name} is not {self._dtype_text}"]
        if self._shaped and not self._fits(shape, dims, {}):
            if self.shape is None:
                problems.append(f"ndim {len(shape)} is not {self.ndim}")
            else:
                problems.append(f"shape {shape} does not match {self._render(dims, new)}")
        fail("array_spec", "; ".join(problems), self._expected(dims, new))

    def _render(self, dims: dict[str, int], new: dict[str, int]) -> str:
        """The shape as written, with the sizes its names are bound to: ``('n'=32, 4)``."""
        parts = []
        for want in self._layout:
            if isinstance(want, str):
                size = dims.get(want, new.get(want))
                parts.append(repr(want) if size is None else f"{want!r}={size}")
            else:
                parts.append("..." if want is ... else repr(want))
        return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"

    def _expected(self, dims: dict[str, int], new: dict[str, int]) -> str:
        parts = []
        if self._dtype_text:
            parts.append(f"dtype {self._dtype_text}")
        if self.shape is not None:
            parts.append(f"shape {self._render(dims, new)}")
        elif self.ndim is not None:
            parts.append(f"ndim {self.ndim}")
        return ", ".join(parts) or "an array"

    def _check_values(
        self, value: Any, name: str, shape: tuple[int, ...]
    ) -> tuple[str, str] | None:
        """(message, expected) of the first value check that fails, or None."""
        ns = namespace(value)
        xp = ns.xp
        floating = kind_of(name) in ("floating", "complex")
        # A sum is NaN or infinite when a value is (or when it overflows): one pass with no
        # temporary array; only then are the values looked at one by one.
        if (
            floating
            and not (self.allow_nan and self.allow_inf)
            and not bool(xp.isfinite(ns.total(value)))
        ):
            tests = [
                (test, what)
                for test, what, allowed in (
                    (xp.isnan, "NaN value", self.allow_nan),
                    (xp.isinf, "infinite value", self.allow_inf),
                )
                if not allowed
            ]
            found = ", ".join(filter(None, (_where(ns, t(value), shape, w) for t, w in tests)))
            if found:
                return found, "finite values" if len(tests) == 2 else f"no {tests[0][1]}s"
        size = math.prod(shape)
        nan_free = not floating or not self.allow_nan  # the min/max of NaN values is NaN
        for option, bound, symbol, reduce, bad in self._bounds:
            if size and (not nan_free or bool(bad(getattr(xp, reduce)(value), bound))):
                mask = bad(value, bound)
                count, first = ns.count(mask)
                if count:
                    index = unravel(first, shape)
                    number = float(value[tuple(index)])
                    values = _plural(count, "value")
                    message = f"{values} {symbol} {bound:g} (first at {index}: {number:.6g})"
                    return message, f"values {_OPPOSITE[option]} {bound:g}"
        for label, interval in (("mean", self.mean), ("std", self.std)):
            if interval is None:
                continue
            low, high = interval
            expected = f"{label} in [{low:g}, {high:g}]"
            if not size:
                return f"the {label} of an empty array is undefined", expected
            real = value if floating else ns.astype(value, "float64")
            statistic = float(xp.mean(real) if label == "mean" else ns.std(real))
            if not low <= statistic <= high:
                return f"{label} {statistic:.6g} is outside [{low:g}, {high:g}]", expected
        return None


class _Check:
    """The validator pydantic calls for one ``Annotated[source, Array(...)]``."""

    __slots__ = ("array_type", "convert", "spec")

    def __init__(self, spec: Array, source: Any) -> None:
        self.spec = spec
        origin = typing.get_origin(source) or source  # npt.NDArray[np.float32] -> ndarray
        # typing.Any is a class from Python 3.11 on, but no array is an instance of it
        known = isinstance(origin, type) and origin not in (object, Any)
        self.array_type = origin if known else None
        self.convert = _converter(spec, self.array_type) if spec.coerce else None

    def __repr__(self) -> str:  # pydantic shows it in union error locations
        return repr(self.spec)

    def with_context(self, value: Any, info: Any) -> Any:
        """The check of a spec with named dimensions: bound in the call's context."""
        context = info.context
        dims = context.get(DIMS) if isinstance(context, dict) else None
        # Validated outside validate_input (a model on its own): names agree within one array.
        return self(value, {} if dims is None else dims)

    def __call__(self, value: Any, dims: dict[str, int] | None = None) -> Any:
        spec = self.spec
        try:
            shape, dtype = value.shape, value.dtype
        except AttributeError:
            shape = dtype = None
        if shape is None or dtype is None:
            if self.convert is None:
                fail(
                    "array_type",
                    f"expected an array with a shape and a dtype, got {type(value).__name__}",
                    "an array",
                )
            try:
                value = self.convert(value)
            except Exception as exc:  # never show the library's message: it quotes the data
                fail(
                    "array_type",
                    f"{type(value).__name__} could not be converted to an array "
                    f"({type(exc).__name__})",
                    "an array",
                )
            shape, dtype = value.shape, value.dtype
        if self.array_type is not None and not isinstance(value, self.array_type):
            fail(
                "array_type",
                f"expected {self.array_type.__name__}, got {type(value).__name__}",
                self.array_type.__name__,
            )
        return spec._validate(value, shape, dtype, dims)


def uses_names(validator: object) -> bool:
    """Whether `validator` checks an `Array` whose shape names a dimension (so a call needs
    a context in which names are bound across its arguments)."""
    check = getattr(validator, "__self__", validator)  # a bound _Check.with_context
    return isinstance(check, _Check) and bool(check.spec._named)


def fail(kind: str, message: str, expected: str) -> NoReturn:
    """Raise the pydantic error of a failed array check."""
    from pydantic_core import PydanticCustomError

    raise PydanticCustomError(kind, "{message}", {"message": message, "expected": expected})


def _converter(spec: Array, array_type: type | None) -> Callable[[Any], Any]:
    """``asarray`` of the annotated array type's library (numpy when there is none)."""
    library: Any = sys.modules.get(array_type.__module__.partition(".")[0]) if array_type else None
    if getattr(library, "asarray", None) is None:
        try:
            import numpy as library
        except ImportError:  # pragma: no cover -- the test environment has numpy
            raise TypeError(
                f"{spec!r} with coerce=True needs numpy to convert lists; install numpy or "
                "annotate the parameter with your array library's type"
            ) from None
    asarray = library.asarray
    dtype = getattr(library, spec._cast_to) if spec._cast_to else None

    def convert(value: Any) -> Any:
        return asarray(value, dtype=dtype)

    return convert


def _where(ns: Any, mask: Any, shape: tuple[int, ...], what: str) -> str:
    count, first = ns.count(mask)
    return f"{_plural(count, what)} (first at {unravel(first, shape)})" if count else ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _interval(name: str, value: object) -> tuple[float, float] | None:
    """A ``(low, high)`` pair of finite numbers with low <= high, as floats, or None."""
    if value is None:
        return None
    what = "a (low, high) pair of finite numbers with low <= high"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise _checks.wrong_type(name, f"{what} or None", value)
    try:
        low, high = (_checks.number(name, bound) for bound in value)
    except TypeError:
        raise _checks.wrong_type(name, f"{what} or None", value) from None
    except ValueError:
        raise _checks.wrong_value(name, what, value) from None
    if low > high:
        raise _checks.wrong_value(name, what, value)
    return low, high


def _parse_shape(shape: object, ndim: int | None) -> tuple[int | str | EllipsisType | None, ...]:
    """`shape` as a checked tuple (``()`` for None)."""
    if shape is None:
        return ()
    allowed = "a tuple of ints >= 0, None, names (str) and at most one ..."
    if not isinstance(shape, (tuple, list)):
        raise _checks.wrong_type("shape", f"{allowed}, or None", shape)
    for dim in shape:
        if isinstance(dim, bool) or not (dim is None or dim is ... or isinstance(dim, (int, str))):
            raise _checks.wrong_type("shape", allowed, shape)
        if (isinstance(dim, int) and dim < 0) or dim == "":
            raise _checks.wrong_value("shape", allowed, shape)
    layout = tuple(shape)
    if layout.count(...) > 1:
        raise _checks.wrong_value("shape", allowed, shape)
    fixed = len(layout) - (... in layout)
    if ndim is not None and (ndim != fixed if ... not in layout else ndim < fixed):
        raise ValueError(f"shape {layout!r} and ndim={ndim} contradict each other")
    return layout


def _parse_dtype(dtype: Any) -> tuple[frozenset[str], frozenset[str], str, str]:
    """(accepted names, accepted kinds, text for messages, dtype to convert to)."""
    if dtype is None:
        return frozenset(), frozenset(), "", ""
    items = dtype if isinstance(dtype, tuple) else (dtype,)
    if not items:
        raise _checks.wrong_value("dtype", "at least one dtype or kind", dtype)
    names: list[str] = []
    kinds: list[str] = []
    for item in items:
        if isinstance(item, str) and item in KINDS:
            kinds.append(item)
        else:
            names.append(_dtype_name(item))
    cast = names[0] if names else _CAST_KIND[kinds[0]]
    text = " or ".join([*names, *kinds])
    accepted_kinds = frozenset().union(*(KINDS[kind] for kind in kinds))
    return frozenset(names), accepted_kinds, text, cast


def _dtype_name(item: Any) -> str:
    if isinstance(item, str) and item in _NAMED:
        return item
    if isinstance(item, type) and item in _BUILTINS:
        return _BUILTINS[item]
    if (getattr(type(item), "__module__", "") or "").partition(".")[0] == "torch":
        return str(item).rpartition(".")[2]  # torch.float32 -> "float32"
    allowed = "a dtype name, a numpy or torch dtype, a Python type or a kind such as 'floating'"
    try:
        import numpy

        return str(numpy.dtype(item).name)
    except ImportError:  # pragma: no cover -- the test environment has numpy
        raise _checks.wrong_value("dtype", f"{allowed} (numpy reads this one)", item) from None
    except TypeError:  # numpy's word for both: an unknown name, or no dtype at all
        wrong = _checks.wrong_value if isinstance(item, str) else _checks.wrong_type
        raise wrong("dtype", allowed, item) from None


_DEFAULTS: dict[str, Any] = {
    "shape": None,
    "dtype": None,
    "ndim": None,
    "ge": None,
    "gt": None,
    "le": None,
    "lt": None,
    "allow_nan": False,
    "allow_inf": False,
    "mean": None,
    "std": None,
    "coerce": False,
}
