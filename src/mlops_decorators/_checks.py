"""The option kit: small composable checks of decorator and backend arguments.

Each check takes the parameter's name and the value given, and returns the value checked
and converted (``seconds`` returns a float for a `timedelta`, ``integer`` an int for a
numpy integer), typed precisely, so a call site keeps what it gets back. A wrong argument
fails at decoration or construction time with one message shape, naming the parameter,
what is allowed and the value::

    <parameter> must be <what is allowed>, got <type> <value>    (TypeError: wrong type)
    <parameter> must be <what is allowed>, got <value>           (ValueError: out of range)

Checks compose: ``optional(positive_int, "maxsize", maxsize)`` also lets None through and
says so in its message. Option-specific checks build their errors with `wrong_type` and
`wrong_value` so they read the same.

Example:
    >>> optional(positive_int, "maxsize", None) is None
    True
    >>> number("backoff", 2, ge=1)
    2.0
    >>> optional(positive_int, "maxsize", 2.5)
    Traceback (most recent call last):
    TypeError: maxsize must be an int >= 1 or None, got float 2.5
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._core import CallSignature

if TYPE_CHECKING:
    from typing import Concatenate

    from typing_extensions import ParamSpec

    P = ParamSpec("P")

T = TypeVar("T")
U = TypeVar("U")


def wrong_type(name: str, what: str, value: object) -> TypeError:
    """The error for a `value` of the wrong type: ``"<name> must be <what>, got <type> <value>"``.

    Example:
        >>> wrong_type("table", "a str", 3)
        TypeError('table must be a str, got int 3')
    """
    return TypeError(f"{name} must be {what}, got {_got(value)}")


def wrong_value(name: str, what: str, value: object) -> ValueError:
    """The error for a `value` of the right type but out of range: ``"<name> must be <what>,
    got <value>"``.

    Example:
        >>> wrong_value("maxsize", "an int >= 1", 0)
        ValueError('maxsize must be an int >= 1, got 0')
    """
    return ValueError(f"{name} must be {what}, got {value!r}")


def _got(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def optional(
    check: Callable[Concatenate[str, Any, P], T],
    name: str,
    value: object,
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | None:
    """None, or what ``check(name, value, *args, **kwargs)`` returns.

    A wrong type's message adds None to what `check` allows.

    Args:
        check: Any check of this module (or one with the same message shape).
        name: The parameter's name.
        value: The value given.
        *args: `check`'s further arguments.
        **kwargs: `check`'s further keyword arguments.

    Returns:
        None when `value` is None, else the checked value.

    Raises:
        TypeError: `check` refused the type of `value`.
        ValueError: `check` refused the value.

    Example:
        >>> optional(instance_of, "name", "load", str)
        'load'
        >>> optional(instance_of, "name", 3, str)
        Traceback (most recent call last):
        TypeError: name must be a str or None, got int 3
    """
    if value is None:
        return None
    try:
        return check(name, value, *args, **kwargs)
    except TypeError as exc:
        # Every check words its type error with `wrong_type`: read back what it allows.
        prefix, suffix, text = f"{name} must be ", f", got {_got(value)}", str(exc)
        if not (text.startswith(prefix) and text.endswith(suffix)):
            raise
        allowed = text[len(prefix) : len(text) - len(suffix)]
        raise wrong_type(name, _or_none(allowed), value) from None


def _or_none(what: str) -> str:
    """``"a or b"`` -> ``"a, b or None"``; ``"a"`` -> ``"a or None"``."""
    head, _, last = what.rpartition(" or ")
    return f"{head}, {last} or None" if head else f"{what} or None"


@overload
def instance_of(name: str, value: object, kind: type[T], /, *, what: str = ...) -> T: ...


@overload
def instance_of(
    name: str, value: object, kind: tuple[type[T], type[U]], /, *, what: str = ...
) -> T | U: ...


def instance_of(name: str, value: object, kind: Any, /, *, what: str = "") -> Any:
    """Return `value` if it is an instance of `kind` (a class or a pair of classes).

    A bool is refused where an int is asked for (``True`` is no count of anything), unless
    `kind` names bool itself.

    Args:
        name: The parameter's name.
        value: The value given.
        kind: The class, or a pair of classes, `value` must be an instance of.
        what: What the message says is allowed; defaults to the classes' names.

    Returns:
        `value`, unchanged.

    Raises:
        TypeError: `value` is not an instance of `kind`.

    Example:
        >>> instance_of("version", "v2", (str, int))
        'v2'
        >>> instance_of("version", True, (str, int))
        Traceback (most recent call last):
        TypeError: version must be a str or an int, got bool True
    """
    kinds: tuple[type, ...] = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return value
    raise wrong_type(name, what or _listing([_a(k.__name__) for k in kinds]), value)


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'AEIOUaeiou' else 'a'} {noun}"


def _listing(items: Sequence[str]) -> str:
    """``"a"``, ``"a or b"``, ``"a, b or c"``."""
    return " or ".join(filter(None, (", ".join(items[:-1]), items[-1])))


def one_of(name: str, value: object, choices: Sequence[T]) -> T:
    """Return the choice equal to `value` (compared only with choices of its own type).

    Args:
        name: The parameter's name.
        value: The value given.
        choices: The values allowed, in the order the message lists them.

    Returns:
        The matching element of `choices`.

    Raises:
        TypeError: `value` has the type of no choice.
        ValueError: `value` has a choice's type but equals none of them.

    Example:
        >>> one_of("action", "warn", ("raise", "wait", "warn"))
        'warn'
        >>> one_of("action", "ignore", ("raise", "wait", "warn"))
        Traceback (most recent call last):
        ValueError: action must be 'raise', 'wait' or 'warn', got 'ignore'
    """
    # Only same-typed choices are compared: True must not match 1, nor an array a string.
    same_type = [c for c in choices if _same_kind(value, c)]
    for choice in same_type:
        if value == choice:
            return choice
    allowed = _listing([repr(c) for c in choices])
    raise (wrong_value if same_type else wrong_type)(name, allowed, value)


def _same_kind(value: object, choice: object) -> bool:
    return isinstance(value, type(choice)) and isinstance(value, bool) == isinstance(choice, bool)


def is_callable(name: str, value: object) -> Callable[..., Any]:
    """Return `value` if it is callable.

    Example:
        >>> is_callable("clock", 3)
        Traceback (most recent call last):
        TypeError: clock must be callable, got int 3
    """
    if not callable(value):
        raise wrong_type(name, "callable", value)
    return value


def flag(name: str, value: object) -> bool:
    """Return `value` if it is True or False (not merely truthy: ``"false"`` is truthy).

    Example:
        >>> flag("typed", "no")
        Traceback (most recent call last):
        TypeError: typed must be True or False, got str 'no'
    """
    if not isinstance(value, bool):
        raise wrong_type(name, "True or False", value)
    return value


def number(
    name: str,
    value: object,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> float:
    """Return `value` as a float if it is a finite real number within the bounds given.

    Ints, floats and other real numbers (numpy's included) are accepted; bools are not.

    Args:
        name: The parameter's name.
        value: The value given.
        ge: Smallest value allowed.
        gt: Every value allowed is greater.
        le: Largest value allowed.
        lt: Every value allowed is smaller.

    Returns:
        `value` as a float.

    Raises:
        TypeError: `value` is not a real number.
        ValueError: `value` is NaN, infinite or out of bounds.

    Example:
        >>> number("max_percent", 90, gt=0, le=100)
        90.0
        >>> number("max_percent", 120, gt=0, le=100)
        Traceback (most recent call last):
        ValueError: max_percent must be a finite number > 0 and <= 100, got 120
    """
    bounds = _bounds(ge, gt, le, lt)
    result = _as_float(value)
    if result is None:
        raise wrong_type(name, f"a number{bounds}", value)
    if not (math.isfinite(result) and _within(result, ge, gt, le, lt)):
        raise wrong_value(name, f"a finite number{bounds}", value)
    return result


def integer(
    name: str,
    value: object,
    *,
    ge: int | None = None,
    gt: int | None = None,
    le: int | None = None,
    lt: int | None = None,
) -> int:
    """Return `value` as an int if it is an integer within the bounds given.

    Ints and other integers (numpy's included) are accepted; bools and floats are not.

    Args:
        name: The parameter's name.
        value: The value given.
        ge: Smallest value allowed.
        gt: Every value allowed is greater.
        le: Largest value allowed.
        lt: Every value allowed is smaller.

    Returns:
        `value` as an int.

    Raises:
        TypeError: `value` is not an integer.
        ValueError: `value` is out of bounds.

    Example:
        >>> integer("max_repr", 5, ge=10)
        Traceback (most recent call last):
        ValueError: max_repr must be an int >= 10, got 5
    """
    what = f"an int{_bounds(ge, gt, le, lt)}"
    result = _as_int(value)
    if result is None:
        raise wrong_type(name, what, value)
    if not _within(result, ge, gt, le, lt):
        raise wrong_value(name, what, value)
    return result


def positive_int(name: str, value: object) -> int:
    """Return `value` as an int if it is an integer >= 1 (`integer` with ``ge=1``).

    Example:
        >>> positive_int("max_attempts", 0)
        Traceback (most recent call last):
        ValueError: max_attempts must be an int >= 1, got 0
    """
    return integer(name, value, ge=1)


def seconds(name: str, value: object, *, allow_zero: bool = True) -> float:
    """Return a duration (seconds as a real number, or a `timedelta`) as float seconds.

    Args:
        name: The parameter's name.
        value: The value given.
        allow_zero: False to refuse zero (a timeout, a window).

    Returns:
        Seconds as a float.

    Raises:
        TypeError: `value` is neither a real number nor a `timedelta` (bools are refused).
        ValueError: `value` is negative (or zero when not allowed), NaN or infinite.

    Example:
        >>> from datetime import timedelta
        >>> seconds("delay", timedelta(minutes=2))
        120.0
        >>> seconds("timeout", 0, allow_zero=False)
        Traceback (most recent call last):
        ValueError: timeout must be > 0 seconds, got 0
    """
    result = timedelta_seconds(value)
    if result is None:
        result = _as_float(value)
    if result is None:
        raise wrong_type(name, "a number of seconds or a timedelta", value)
    if not math.isfinite(result):
        raise wrong_value(name, "a finite number of seconds", value)
    if result < 0 or (result == 0 and not allow_zero):
        raise wrong_value(name, f"{'>=' if allow_zero else '>'} 0 seconds", value)
    return result


def time_limit(name: str, value: object) -> float | None:
    """Return a time limit (seconds > 0 or a `timedelta`) as float seconds, or None for no
    limit: None or infinity.

    Example:
        >>> time_limit("ttl", 30), time_limit("ttl", float("inf")), time_limit("ttl", None)
        (30.0, None, None)
        >>> time_limit("ttl", "1h")
        Traceback (most recent call last):
        TypeError: ttl must be a number of seconds, a timedelta or None, got str '1h'
    """
    if isinstance(value, float) and value == math.inf:
        return None
    return optional(seconds, name, value, allow_zero=False)


def timedelta_seconds(value: object) -> float | None:
    """`value`'s total seconds if it is a `datetime.timedelta`, else None.

    A timedelta can only exist once datetime is imported, so datetime is never imported
    here (~3 ms).
    """
    datetime = sys.modules.get("datetime")
    if datetime is not None and isinstance(value, datetime.timedelta):
        return float(value.total_seconds())
    return None


def _as_float(value: object) -> float | None:
    """`value` as a float if it is a real number other than a bool, else None."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float)):
        # Only an unusual type (a numpy scalar, a Fraction) pays for importing numbers.
        import numbers

        if not isinstance(value, numbers.Real):
            return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float range, e.g. 10**400
        return math.inf


def _as_int(value: object) -> int | None:
    """`value` as an int if it is an integer other than a bool, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)  # an IntEnum member becomes a plain int
    import numbers

    return int(value) if isinstance(value, numbers.Integral) else None


def _bounds(ge: float | None, gt: float | None, le: float | None, lt: float | None) -> str:
    """``" >= 1"``, ``" > 0 and <= 100"``, or ``""`` without bounds."""
    pairs = ((">=", ge), (">", gt), ("<=", le), ("<", lt))
    text = " and ".join(f"{op} {bound:g}" for op, bound in pairs if bound is not None)
    return f" {text}" if text else ""


def _within(
    value: float, ge: float | None, gt: float | None, le: float | None, lt: float | None
) -> bool:
    return (
        (ge is None or value >= ge)
        and (gt is None or value > gt)
        and (le is None or value <= le)
        and (lt is None or value < lt)
    )


def log_level(name: str, value: object) -> int:
    """Return a registered logging level given as an int (`logging.INFO`) or a name ("INFO").

    Example:
        >>> log_level("level", "debug")
        10
    """
    what = "a logging level such as logging.INFO or 'DEBUG'"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise wrong_type(name, what, value)
    if isinstance(value, str):
        level = logging.getLevelName(value.upper())
        if isinstance(level, int):
            return level
    elif not logging.getLevelName(value).startswith("Level "):
        return value
    raise wrong_value(name, what, value)


def logger(name: str, value: object, default: str) -> logging.Logger:
    """Return the logger to use: a `Logger`, a logger name, or None for `default`'s logger.

    Example:
        >>> logger("logger", None, "app.jobs").name
        'app.jobs'
    """
    if value is None:
        return logging.getLogger(default)
    if isinstance(value, str):
        return logging.getLogger(value)
    if isinstance(value, logging.Logger):
        return value
    raise wrong_type(name, "a logging.Logger, a logger name or None", value)


def hook(name: str, value: object, what: str) -> Callable[..., Any]:
    """Return `value` if it is callable with one positional argument (a predicate or a hook).

    A hook that cannot take the argument it will be given fails here, when the decorator is
    applied, not at the first failure it was meant to handle. A callable whose signature
    cannot be read (some builtins and classes) is accepted.

    Args:
        name: The parameter's name.
        value: The value given.
        what: What the hook is called with and returns, for the message (``"exc -> bool"``).

    Returns:
        `value`, unchanged.

    Raises:
        TypeError: `value` is not callable, or not with one positional argument.

    Example:
        >>> def stop() -> bool:
        ...     return True
        >>> hook("giveup", stop, "exc -> bool")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        TypeError: giveup must be a callable taking one argument (exc -> bool), got function ...
    """
    allowed = f"a callable taking one argument ({what})"
    if not callable(value):
        raise wrong_type(name, allowed, value)
    signature = CallSignature(value)
    if signature.readable:
        try:
            signature.signature.bind(None)
        except TypeError:
            raise wrong_type(name, allowed, value) from None
    return value


_BYTE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    **{f"{p}{s}": 1000**i for i, p in enumerate("kmgtp", 1) for s in ("", "b")},
    # Binary units, including Kubernetes' spelling ("512Mi").
    **{f"{p}i{s}": 1024**i for i, p in enumerate("kmgtp", 1) for s in ("", "b")},
}
_SIZE = "a size in bytes >= 0: an int or a string such as '512MiB', '2GB' or '1.5 GiB'"


def byte_size(name: str, value: object) -> int:
    """Return a size (an int of bytes, or a string with a unit) as a number of bytes.

    Strings are a number and a unit: decimal ``kB``/``MB``/``GB``/``TB`` (powers of 1000),
    binary ``KiB``/``MiB``/``GiB``/``TiB`` (powers of 1024, also Kubernetes' ``Ki``/``Mi``/
    ``Gi``), ``B`` or nothing for bytes; case and spaces do not matter. A fractional number of
    bytes is rounded.

    Raises:
        TypeError: `value` is neither an integer (numpy's included) nor a str.
        ValueError: `value` is negative, or a string that is not a size.

    Example:
        >>> byte_size("max_rss", "1.5 GiB"), byte_size("max_rss", "2GB"), byte_size("x", 512)
        (1610612736, 2000000000, 512)
        >>> byte_size("max_rss", "2 parsecs")
        Traceback (most recent call last):
        ValueError: max_rss must be a size in bytes >= 0: an int or a string such as '512MiB', \
'2GB' or '1.5 GiB', got '2 parsecs'
    """
    if not isinstance(value, str):
        result = _as_int(value)
        if result is None:
            raise wrong_type(name, _SIZE, value)
        if result < 0:
            raise wrong_value(name, _SIZE, value)
        return result
    text = value.strip()
    digits = len(text) - len(text.lstrip("0123456789."))
    factor = _BYTE_UNITS.get(text[digits:].strip().lower())
    try:
        number = float(text[:digits]) if "." in text[:digits] else int(text[:digits])
    except ValueError:
        factor = None
    if factor is None:
        raise wrong_value(name, _SIZE, value)
    return round(number * factor)
