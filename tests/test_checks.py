"""The option kit: each check accepts what it documents, returns it converted, and words every
refusal the same way, naming the parameter, what is allowed and the value."""

from __future__ import annotations

import enum
import logging
import math
import re
from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_decorators._checks import (
    flag,
    hook,
    instance_of,
    integer,
    is_callable,
    log_level,
    logger,
    number,
    one_of,
    optional,
    positive_int,
    seconds,
    time_limit,
    wrong_type,
    wrong_value,
)

# --- the message shape ------------------------------------------------------------------


def test_wrong_type_and_wrong_value_word_the_one_shape() -> None:
    assert str(wrong_type("table", "a str", 3)) == "table must be a str, got int 3"
    assert str(wrong_value("maxsize", "an int >= 1", 0)) == "maxsize must be an int >= 1, got 0"
    assert isinstance(wrong_type("x", "y", 1), TypeError)
    assert isinstance(wrong_value("x", "y", 1), ValueError)


# Every check of the kit, with arguments that make it refuse some values.
CHECKS: dict[str, Callable[[str, Any], object]] = {
    "instance_of": lambda name, value: instance_of(name, value, str),
    "instance_of pair": lambda name, value: instance_of(name, value, (str, int)),
    "one_of": lambda name, value: one_of(name, value, ("raise", "wait", "warn")),
    "is_callable": is_callable,
    "hook": lambda name, value: hook(name, value, "exc -> bool"),
    "flag": flag,
    "number": lambda name, value: number(name, value, gt=0, le=100),
    "integer": lambda name, value: integer(name, value, ge=10),
    "positive_int": positive_int,
    "seconds": seconds,
    "seconds > 0": lambda name, value: seconds(name, value, allow_zero=False),
    "time_limit": time_limit,
    "log_level": log_level,
    "logger": lambda name, value: logger(name, value, "default"),
}

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.timedeltas(),
    st.lists(st.integers(), max_size=2),
    st.sampled_from([print, object(), logging.INFO, "DEBUG", "warn", Fraction(1, 3)]),
)


def outcome(check: Callable[..., object], *args: object) -> tuple[type[Exception] | None, object]:
    """(None, what `check` returned) or (the error's type, its message)."""
    try:
        return None, check(*args)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
@given(value=ANY_VALUE)
def test_every_refusal_names_parameter_allowed_values_and_the_value(
    check: Callable[[str, Any], object], value: object
) -> None:
    error, message = outcome(check, "my_option", value)
    if error is not None:
        assert isinstance(message, str)
        assert message.startswith("my_option must be ")
        shown = f"{type(value).__name__} {value!r}" if error is TypeError else repr(value)
        assert message.endswith(f", got {shown}")


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
@given(value=ANY_VALUE)
def test_optional_lets_none_through_and_otherwise_is_the_check(
    check: Callable[[str, Any], object], value: object
) -> None:
    error, result = outcome(optional, check, "opt", value)
    if value is None:
        assert (error, result) == (None, None)
        return
    plain_error, plain_result = outcome(check, "opt", value)
    assert error is plain_error
    if error is TypeError:  # the same refusal, with None among what is allowed
        assert isinstance(result, str)
        assert result.startswith("opt must be ")
        assert " or None, got " in result
    else:
        assert result == plain_result


# --- optional -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "args", "message"),
    [
        (positive_int, (), "maxsize must be an int >= 1 or None, got list [2.5]"),
        (seconds, (), "maxsize must be a number of seconds, a timedelta or None, got list [2.5]"),
        (instance_of, (str,), "maxsize must be a str or None, got list [2.5]"),
        (instance_of, ((str, bytes),), "maxsize must be a str, a bytes or None, got list [2.5]"),
        (one_of, (("a", "b", "c"),), "maxsize must be 'a', 'b', 'c' or None, got list [2.5]"),
    ],
)
def test_optional_adds_none_to_what_a_wrong_type_is_told(
    check: Callable[..., object], args: tuple[object, ...], message: str
) -> None:
    with pytest.raises(TypeError) as info:
        optional(check, "maxsize", [2.5], *args)
    assert str(info.value) == message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_optional_passes_the_checks_arguments_and_keeps_value_errors() -> None:
    assert optional(integer, "n", 12, ge=10) == 12
    assert optional(seconds, "t", timedelta(seconds=3), allow_zero=False) == 3.0
    with pytest.raises(ValueError, match=r"^t must be > 0 seconds, got 0$"):
        optional(seconds, "t", 0, allow_zero=False)


def test_optional_leaves_a_type_error_of_another_shape_alone() -> None:
    def odd(name: str, value: object) -> object:
        raise TypeError("something else went wrong")

    with pytest.raises(TypeError, match=r"^something else went wrong$"):
        optional(odd, "x", 1)


# --- instance_of, one_of, is_callable, flag ---------------------------------------------


def test_instance_of_returns_the_value_and_accepts_subclasses() -> None:
    class Name(str):
        pass

    name = Name("load")
    assert instance_of("name", name, str) is name
    assert instance_of("version", 3, (str, int)) == 3
    with pytest.raises(TypeError, match=r"^budget must be a dict, got list \[\]$"):
        instance_of("budget", [], dict)


def test_instance_of_refuses_bools_for_ints_unless_bools_are_asked_for() -> None:
    with pytest.raises(TypeError, match=r"^count must be an int, got bool True$"):
        instance_of("count", True, int)
    assert instance_of("switch", True, bool) is True
    assert instance_of("either", False, (bool, str)) is False


def test_instance_of_says_what_it_is_told_to() -> None:
    with pytest.raises(TypeError, match=r"^path must be a file name, got int 3$"):
        instance_of("path", 3, str, what="a file name")


def test_one_of_returns_the_choice_and_tells_type_from_value_errors() -> None:
    modes = ("raise", "wait", "warn")
    assert one_of("action", "wait", modes) is modes[1]
    assert one_of("action", np.str_("warn"), modes) == "warn"
    with pytest.raises(ValueError, match=r"^action must be 'raise', 'wait' or 'warn', got 'w'$"):
        one_of("action", "w", modes)
    with pytest.raises(TypeError, match=r"^action must be 'raise', 'wait' or 'warn', got int 1$"):
        one_of("action", 1, modes)
    with pytest.raises(TypeError, match=r"^mode must be 'only', got NoneType None$"):
        one_of("mode", None, ("only",))


def test_one_of_compares_only_like_with_like() -> None:
    with pytest.raises(TypeError, match=r"got bool True"):
        one_of("n", True, (1, 2))
    assert one_of("n", 1, (True, 1)) == 1
    assert one_of("n", True, (1, True)) is True
    with pytest.raises(TypeError, match=r"^mode must be 'a' or 'b', got ndarray"):
        one_of("mode", np.array(["a", "b"]), ("a", "b"))  # no elementwise ==


@given(st.lists(st.text(), min_size=1, unique=True), st.data())
def test_one_of_finds_every_choice(choices: list[str], data: st.DataObject) -> None:
    choice = data.draw(st.sampled_from(choices))
    assert one_of("x", choice, choices) == choice


def test_is_callable_and_optional_is_callable() -> None:
    assert is_callable("clock", print) is print
    assert is_callable("clock", int) is int
    with pytest.raises(TypeError, match=r"^clock must be callable, got int 3$"):
        is_callable("clock", 3)
    assert optional(is_callable, "on_retry", None) is None
    assert optional(is_callable, "on_retry", print) is print
    with pytest.raises(TypeError, match=r"^on_retry must be callable or None, got int 3$"):
        optional(is_callable, "on_retry", 3)


@pytest.mark.parametrize("value", [1, 0, "false", None, np.bool_(True)])
def test_flag_takes_only_true_or_false(value: object) -> None:
    assert flag("copy", True) is True
    assert flag("copy", False) is False
    with pytest.raises(TypeError, match=r"^copy must be True or False, got "):
        flag("copy", value)


# --- numbers --------------------------------------------------------------------------------


def test_number_returns_floats_for_every_kind_of_real_number() -> None:
    for value in (2, 2.0, np.float64(2), np.float32(2), np.int64(2), Fraction(2)):
        result = number("backoff", value, ge=1)
        assert result == 2.0
        assert type(result) is float


@pytest.mark.parametrize(
    ("bounds", "value", "error", "message"),
    [
        ({"ge": 1}, 0.5, ValueError, "backoff must be a finite number >= 1, got 0.5"),
        ({"ge": 1}, math.inf, ValueError, "backoff must be a finite number >= 1, got inf"),
        ({"ge": 1}, math.nan, ValueError, "backoff must be a finite number >= 1, got nan"),
        ({"ge": 1}, 10**400, ValueError, "backoff must be a finite number >= 1, got 1000"),
        ({"ge": 1}, "2", TypeError, "backoff must be a number >= 1, got str '2'"),
        ({"ge": 1}, True, TypeError, "backoff must be a number >= 1, got bool True"),
        ({"ge": 1}, np.bool_(True), TypeError, "backoff must be a number >= 1, got bool"),
        ({"ge": 1}, 1 + 2j, TypeError, r"backoff must be a number >= 1, got complex \(1\+2j\)"),
        ({"gt": 0, "le": 100}, 0, ValueError, "p must be a finite number > 0 and <= 100, got 0"),
        ({"gt": 0, "le": 100}, 100.5, ValueError, "p must be a finite number > 0 and <= 100"),
        ({"lt": 1}, 1, ValueError, "p must be a finite number < 1, got 1"),
        ({}, "x", TypeError, "p must be a number, got str 'x'"),
    ],
)
def test_number_refusals(
    bounds: dict[str, float], value: object, error: type[Exception], message: str
) -> None:
    name = "backoff" if "ge" in bounds else "p"
    with pytest.raises(error, match=f"^{message}"):
        number(name, value, **bounds)


bound = st.floats(min_value=-1e6, max_value=1e6)


@given(st.floats(allow_nan=True, allow_infinity=True), bound, bound)
def test_number_accepts_exactly_the_finite_values_within_the_bounds(
    value: float, low: float, high: float
) -> None:
    inside = math.isfinite(value) and low <= value < high
    if inside:
        assert number("x", value, ge=low, lt=high) == value
    else:
        with pytest.raises(ValueError, match=r"^x must be a finite number >= "):
            number("x", value, ge=low, lt=high)


class Level(enum.IntEnum):
    HIGH = 12


def test_integer_returns_plain_ints_for_every_kind_of_integer() -> None:
    for value, expected in ((12, 12), (np.int64(12), 12), (np.uint8(12), 12), (Level.HIGH, 12)):
        result = integer("max_repr", value, ge=10)
        assert result == expected
        assert type(result) is int


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (5, ValueError, "max_repr must be an int >= 10, got 5"),
        (np.int64(5), ValueError, "max_repr must be an int >= 10, got "),
        (True, TypeError, "max_repr must be an int >= 10, got bool True"),
        (50.0, TypeError, r"max_repr must be an int >= 10, got float 50\.0"),
        ("50", TypeError, "max_repr must be an int >= 10, got str '50'"),
        (None, TypeError, "max_repr must be an int >= 10, got NoneType None"),
    ],
)
def test_integer_refusals(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=f"^{message}"):
        integer("max_repr", value, ge=10)


@given(st.integers(), st.integers(-100, 100), st.integers(-100, 100))
def test_integer_accepts_exactly_the_values_within_the_bounds(
    value: int, low: int, high: int
) -> None:
    if low < value <= high:
        assert integer("n", value, gt=low, le=high) == value
    else:
        with pytest.raises(ValueError, match=rf"^n must be an int > {low} and <= {high}, got"):
            integer("n", value, gt=low, le=high)


def test_positive_int() -> None:
    assert positive_int("attempts", 1) == 1
    assert positive_int("attempts", np.int32(3)) == 3
    with pytest.raises(ValueError, match=r"^attempts must be an int >= 1, got 0$"):
        positive_int("attempts", 0)
    with pytest.raises(TypeError, match=r"^attempts must be an int >= 1, got bool True$"):
        positive_int("attempts", True)
    with pytest.raises(TypeError, match=r"^attempts must be an int >= 1, got float 2\.0$"):
        positive_int("attempts", 2.0)


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0.0),
        (3, 3.0),
        (0.25, 0.25),
        (np.float64(1.5), 1.5),
        (np.int64(2), 2.0),
        (timedelta(minutes=2), 120.0),
        (timedelta(0), 0.0),
    ],
)
def test_seconds_accepts_numbers_and_timedeltas(value: object, expected: float) -> None:
    result = seconds("timeout", value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("1", TypeError, "delay must be a number of seconds or a timedelta, got str '1'"),
        (True, TypeError, "delay must be a number of seconds or a timedelta, got bool True"),
        (None, TypeError, "delay must be a number of seconds or a timedelta, got NoneType None"),
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
        seconds("delay", value)


def test_seconds_zero_can_be_refused() -> None:
    assert seconds("interval", 0.5, allow_zero=False) == 0.5
    with pytest.raises(ValueError, match="interval must be > 0 seconds, got 0"):
        seconds("interval", 0, allow_zero=False)
    with pytest.raises(ValueError, match=r"interval must be > 0 seconds, got datetime"):
        seconds("interval", timedelta(0), allow_zero=False)


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


def test_time_limit_reads_none_and_infinity_as_no_limit() -> None:
    assert time_limit("ttl", None) is None
    assert time_limit("ttl", math.inf) is None
    assert time_limit("ttl", np.float64("inf")) is None
    assert time_limit("ttl", timedelta(hours=1)) == 3600.0
    assert time_limit("ttl", 0.5) == 0.5


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "ttl must be > 0 seconds, got 0"),
        (-1, ValueError, "ttl must be > 0 seconds, got -1"),
        (-math.inf, ValueError, "ttl must be a finite number of seconds, got -inf"),
        (math.nan, ValueError, "ttl must be a finite number of seconds, got nan"),
        ("1h", TypeError, "ttl must be a number of seconds, a timedelta or None, got str '1h'"),
        (False, TypeError, "ttl must be a number of seconds, a timedelta or None, got bool"),
    ],
)
def test_time_limit_refusals(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        time_limit("ttl", value)


# --- logging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(logging.INFO, logging.INFO), ("DEBUG", logging.DEBUG), ("warning", logging.WARNING)],
)
def test_log_level_accepts_levels_and_names(value: int | str, expected: int) -> None:
    assert log_level("level", value) == expected


@pytest.mark.parametrize("value", ["NOPE", 12345, 5, "20"])
def test_log_level_rejects_unknown_levels(value: object) -> None:
    with pytest.raises(ValueError, match=r"^level must be a logging level such as") as info:
        log_level("level", value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [True, 20.0, None, [20]])
def test_log_level_rejects_other_types_with_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=r"^level must be a logging level such as") as info:
        log_level("level", value)
    assert f"{type(value).__name__} {value!r}" in str(info.value)


def test_logger_resolution() -> None:
    named = logging.getLogger("checks.named")
    assert logger("logger", None, "checks.default") is logging.getLogger("checks.default")
    assert logger("logger", "checks.named", "checks.default") is named
    assert logger("logger", named, "checks.default") is named
    with pytest.raises(TypeError, match=r"logger must be a logging\.Logger, a logger name or None"):
        logger("logger", print, "x")


# --- hook ---------------------------------------------------------------------------------


def test_hook_accepts_what_one_argument_can_call() -> None:
    class Check:
        def __call__(self, exc: BaseException) -> bool:
            return True

    for ok in (lambda exc: True, lambda *args: True, Check(), len, bool, print):
        assert hook("giveup", ok, "exc -> bool") is ok


def test_hook_refuses_what_cannot_take_one_argument() -> None:
    def two(a: object, b: object) -> bool:
        return True

    for bad in (lambda: True, two, 3):
        with pytest.raises(TypeError) as info:
            hook("giveup", bad, "exc -> bool")
        assert str(info.value).startswith(
            "giveup must be a callable taking one argument (exc -> bool), got "
        )
