"""Argument validation: each check accepts what it documents and names the parameter and the
value in its error."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_decorators._checks import (
    log_level,
    logger,
    number,
    optional_callable,
    positive_int,
    seconds,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0.0), (3, 3.0), (0.25, 0.25), (timedelta(minutes=2), 120.0), (timedelta(0), 0.0)],
)
def test_seconds_accepts_numbers_and_timedeltas(value: float | timedelta, expected: float) -> None:
    result = seconds("timeout", value)
    assert result == expected
    assert type(result) is float


def test_seconds_none_and_infinity() -> None:
    assert seconds("timeout", None, allow_none=True) is None
    assert seconds("timeout", math.inf, allow_none=True) is None  # infinite means no limit
    with pytest.raises(TypeError, match=r"^timeout must be a number of seconds or a timedelta"):
        seconds("timeout", None)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("1", TypeError, "delay must be a number of seconds or a timedelta, got str '1'"),
        (True, TypeError, "delay must be a number of seconds or a timedelta, got bool True"),
        ([1], TypeError, r"got list \[1\]"),
        (-1, ValueError, "delay must be >= 0 seconds, got -1"),
        (timedelta(seconds=-1), ValueError, r"delay must be >= 0 seconds, got datetime.timedelta"),
        (math.nan, ValueError, "delay must be a finite number of seconds, got nan"),
        (math.inf, ValueError, "delay must be a finite number of seconds, got inf"),
        (-math.inf, ValueError, "delay must be a finite number of seconds, got -inf"),
        (10**400, ValueError, "delay must be a finite number of seconds, got 1000"),
    ],
)
def test_seconds_rejects_with_a_message_naming_parameter_and_value(
    value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        seconds("delay", value)  # type: ignore[arg-type]


def test_seconds_zero_can_be_refused() -> None:
    assert seconds("interval", 0.5, allow_zero=False) == 0.5
    with pytest.raises(ValueError, match="interval must be > 0 seconds, got 0"):
        seconds("interval", 0, allow_zero=False)


@given(st.floats(min_value=0, allow_infinity=False) | st.integers(min_value=0, max_value=10**300))
def test_seconds_returns_any_non_negative_finite_number_as_float(value: float) -> None:
    assert seconds("t", value) == float(value)


@given(st.timedeltas(min_value=timedelta(0)))
def test_seconds_returns_any_non_negative_timedelta_in_seconds(value: timedelta) -> None:
    assert seconds("t", value) == value.total_seconds()


@given(
    st.floats(max_value=0, exclude_max=True, allow_infinity=False, allow_nan=False)
    | st.integers(max_value=-1)
    | st.timedeltas(max_value=-timedelta(microseconds=1))
)
def test_seconds_rejects_any_negative_value_naming_it(value: float | timedelta) -> None:
    with pytest.raises(ValueError, match=r"^my_param must be") as info:
        seconds("my_param", value)
    assert repr(value) in str(info.value)


def test_positive_int() -> None:
    assert positive_int("attempts", 1) == 1
    assert positive_int("attempts", None, allow_none=True) is None
    with pytest.raises(ValueError, match="attempts must be an int >= 1, got 0"):
        positive_int("attempts", 0)
    with pytest.raises(TypeError, match="attempts must be an int >= 1, got bool True"):
        positive_int("attempts", True)
    with pytest.raises(TypeError, match=r"attempts must be an int >= 1, got float 2\.0"):
        positive_int("attempts", 2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got NoneType None"):
        positive_int("attempts", None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(logging.INFO, logging.INFO), ("DEBUG", logging.DEBUG), ("warning", logging.WARNING)],
)
def test_log_level_accepts_levels_and_names(value: int | str, expected: int) -> None:
    assert log_level("level", value) == expected


@pytest.mark.parametrize("value", ["NOPE", 12345, 5, "20"])
def test_log_level_rejects_unknown_levels(value: object) -> None:
    with pytest.raises(ValueError, match=r"^level must be a logging level such as") as info:
        log_level("level", value)  # type: ignore[arg-type]
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [True, 20.0, None, [20]])
def test_log_level_rejects_other_types_with_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=r"^level must be a logging level such as") as info:
        log_level("level", value)  # type: ignore[arg-type]
    assert f"{type(value).__name__} {value!r}" in str(info.value)


def test_logger_resolution() -> None:
    named = logging.getLogger("checks.named")
    assert logger("logger", None, "checks.default") is logging.getLogger("checks.default")
    assert logger("logger", "checks.named", "checks.default") is named
    assert logger("logger", named, "checks.default") is named
    with pytest.raises(TypeError, match=r"logger must be a logging\.Logger, a logger name or None"):
        logger("logger", print, "x")  # type: ignore[arg-type]


def test_optional_callable() -> None:
    assert optional_callable("on_retry", None) is None
    assert optional_callable("on_retry", print) is print
    with pytest.raises(TypeError, match="on_retry must be callable or None, got int 3"):
        optional_callable("on_retry", 3)  # type: ignore[arg-type]


def test_number_accepts_finite_numbers_from_the_minimum() -> None:
    assert number("backoff", 1, minimum=1) == 1.0
    assert isinstance(number("ratio", 0, minimum=0), float)
    assert number("ratio", 0.5, minimum=0) == 0.5


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0.5, ValueError, "backoff must be a finite number >= 1, got 0.5"),
        (math.inf, ValueError, "backoff must be a finite number >= 1, got inf"),
        (math.nan, ValueError, "backoff must be a finite number >= 1, got nan"),
        (10**400, ValueError, "backoff must be a finite number >= 1, got 1000"),
        ("2", TypeError, "backoff must be a number >= 1, got str '2'"),
        (True, TypeError, "backoff must be a number >= 1, got bool True"),
    ],
)
def test_number_rejects_with_a_message_naming_parameter_and_value(
    value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        number("backoff", value, minimum=1)  # type: ignore[arg-type]
