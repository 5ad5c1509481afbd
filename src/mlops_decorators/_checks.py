"""Validation of decorator arguments, shared by every decorator.

Each check raises `TypeError` or `ValueError` naming the parameter, the value given and
what is allowed, so a wrong argument fails at decoration time with a message that says
how to fix it.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import timedelta


def timedelta_seconds(value: object) -> float | None:
    """`value`'s total seconds if it is a `datetime.timedelta`, else None.

    A timedelta can only exist once datetime is imported, so datetime is never imported
    here (~3 ms).
    """
    datetime = sys.modules.get("datetime")
    if datetime is not None and isinstance(value, datetime.timedelta):
        return float(value.total_seconds())
    return None


def seconds(
    name: str,
    value: float | timedelta | None,
    *,
    allow_none: bool = False,
    allow_zero: bool = True,
) -> float | None:
    """Return `value` (seconds as a number, or a `timedelta`) as float seconds."""
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be a number of seconds or a timedelta, got None")
    delta = timedelta_seconds(value)
    if delta is not None:
        result = delta
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = float(value)
        except OverflowError:  # an int beyond float range, e.g. 10**400
            raise ValueError(f"{name} must be a finite number of seconds, got {value!r}") from None
    else:
        raise TypeError(
            f"{name} must be a number of seconds or a timedelta, got {type(value).__name__} "
            f"{value!r}"
        )
    if result != result or result in (float("inf"), float("-inf")):
        if result == float("inf") and allow_none:
            return None
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if result < 0 or (result == 0 and not allow_zero):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {allowed} seconds, got {value!r}")
    return result


def positive_int(name: str, value: int | None, *, allow_none: bool = False) -> int | None:
    """Return `value` if it is an int >= 1 (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int >= 1, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def flag(name: str, value: bool) -> bool:
    """Return `value` if it is True or False (not merely truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def number(name: str, value: float, *, minimum: float) -> float:
    """Return `value` as a float if it is a finite real number >= `minimum`."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(
            f"{name} must be a number >= {minimum:g}, got {type(value).__name__} {value!r}"
        )
    try:
        result = float(value)
    except OverflowError:  # an int beyond float range, e.g. 10**400
        result = float("inf")
    if not (math.isfinite(result) and result >= minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, got {value!r}")
    return result


def log_level(name: str, value: int | str) -> int:
    """Return a registered logging level given as an int (`logging.INFO`) or a name ("INFO")."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(
            f"{name} must be a logging level such as logging.INFO or 'DEBUG', got "
            f"{type(value).__name__} {value!r}"
        )
    if isinstance(value, str):
        level = logging.getLevelName(value.upper())
        if isinstance(level, int):
            return level
    elif not logging.getLevelName(value).startswith("Level "):
        return value
    raise ValueError(
        f"{name} must be a logging level such as logging.INFO or 'DEBUG', got {value!r}"
    )


def logger(name: str, value: logging.Logger | str | None, default: str) -> logging.Logger:
    """Return the logger to use: a `Logger`, a logger name, or None for `default`'s logger."""
    if value is None:
        return logging.getLogger(default)
    if isinstance(value, str):
        return logging.getLogger(value)
    if isinstance(value, logging.Logger):
        return value
    raise TypeError(
        f"{name} must be a logging.Logger, a logger name or None, got {type(value).__name__} "
        f"{value!r}"
    )


def optional_callable(name: str, value: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """Return `value` if it is callable or None."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, got {type(value).__name__} {value!r}")
    return value


# Sizes in bytes and percentages (memory_guard). Self-contained on purpose: no new imports.

_BYTE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    **{f"{p}{s}": 1000**i for i, p in enumerate("kmgtp", 1) for s in ("", "b")},
    # Binary units, including Kubernetes' spelling ("512Mi").
    **{f"{p}i{s}": 1024**i for i, p in enumerate("kmgtp", 1) for s in ("", "b")},
}
_SIZE_ALLOWED = "a size in bytes >= 0: an int or a string such as '512MiB', '2GB' or '1.5 GiB'"


def byte_size(name: str, value: int | str) -> int:
    """Return `value` (an int of bytes, or a size string) as a number of bytes.

    Strings are a number and a unit: decimal ``kB``/``MB``/``GB``/``TB`` (powers of 1000), binary
    ``KiB``/``MiB``/``GiB``/``TiB`` (powers of 1024, also Kubernetes' ``Ki``/``Mi``/``Gi``),
    ``B`` or nothing for bytes; case and spaces do not matter. A fractional result is rounded.

    Raises:
        TypeError: `value` is neither an int nor a str (a bool is not a size).
        ValueError: `value` is negative or a string that is not a size.

    Example:
        >>> byte_size("max_rss", "1.5 GiB"), byte_size("max_rss", "2GB"), byte_size("x", 512)
        (1610612736, 2000000000, 512)
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        index = getattr(type(value), "__index__", None)  # numpy integers
        if isinstance(value, bool) or index is None:
            raise TypeError(f"{name} must be {_SIZE_ALLOWED}, got {type(value).__name__} {value!r}")
        value = int(index(value))
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{name} must be {_SIZE_ALLOWED}, got {value!r}")
        return value
    text = value.strip()
    digits = len(text) - len(text.lstrip("0123456789."))
    factor = _BYTE_UNITS.get(text[digits:].strip().lower())
    try:
        number = float(text[:digits]) if "." in text[:digits] else int(text[:digits])
    except ValueError:
        factor = None
    if factor is None:
        raise ValueError(f"{name} must be {_SIZE_ALLOWED}, got {value!r}")
    return round(number * factor)


def percent(name: str, value: float) -> float:
    """Return `value` as a float if it is a percentage in (0, 100].

    Raises:
        TypeError: `value` is not a number.
        ValueError: `value` is not above 0 and at most 100.

    Example:
        >>> percent("max_percent", 90)
        90.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a percentage in (0, 100], got {type(value).__name__} {value!r}"
        )
    if not 0 < value <= 100:  # also refuses NaN
        raise ValueError(f"{name} must be a percentage in (0, 100], got {value!r}")
    return float(value)
