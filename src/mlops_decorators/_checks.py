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
