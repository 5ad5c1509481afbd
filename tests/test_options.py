"""Every public option refuses bad values when the decorator or backend is made, naming itself.

`OPTIONS` has one row per option of every decorator and backend: the values it must refuse,
by the error they must raise. A refusal must come at decoration or construction time (the
decorated function is never called), and its message must start with the option's name and
show the value. `test_every_option_has_a_row` fails for an option without a row, and
`test_every_public_maker_of_options_is_a_target` for a public callable taking keyword-only
options that is not in `TARGETS`: a new decorator adds a target and a row per option.
"""

from __future__ import annotations

import inspect
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
import redis

import mlops_decorators
from mlops_decorators import (
    Array,
    JsonFormatter,
    MemoryBackend,
    OpenTelemetryExporter,
    PrometheusExporter,
    RedisBackend,
    RetryBudget,
    SQLiteBackend,
    StatsDExporter,
    StatsRegistry,
    cache_result,
    log_calls,
    memory_guard,
    monitor,
    retry,
    retry_context,
    timer,
    validate_input,
)


def _never_called(x: int = 0) -> int:
    raise AssertionError("options must be checked before the first call")


def _decorating(decorator: Callable[..., Any]) -> Callable[..., object]:
    """Apply options the way users do: ``@decorator(**options)`` on a function."""
    return lambda **options: decorator(**options)(_never_called)


@dataclass(frozen=True)
class Target:
    """A public decorator or backend: `api` is what users call (its signature lists the
    options); `make` applies options to it, with `required` arguments filled in."""

    api: Callable[..., Any]
    make: Callable[..., object]
    required: dict[str, object]

    def __call__(self, **options: object) -> object:
        return self.make(**{**self.required, **options})


_SQLITE_PATH = os.path.join(tempfile.gettempdir(), "mlops-options-never-opened.db")

TARGETS: dict[str, Target] = {
    "timer": Target(timer, _decorating(timer), {}),
    "log_calls": Target(log_calls, _decorating(log_calls), {}),
    "retry": Target(retry, _decorating(retry), {}),
    "retry_context": Target(retry_context, retry_context, {}),
    "cache_result": Target(cache_result, _decorating(cache_result), {}),
    "memory_guard": Target(memory_guard, _decorating(memory_guard), {}),
    "RetryBudget": Target(RetryBudget, RetryBudget, {}),
    "MemoryBackend": Target(MemoryBackend, MemoryBackend, {}),
    # Backends connect on first use, never at construction: no file or server is touched.
    "SQLiteBackend": Target(SQLiteBackend, SQLiteBackend, {"path": _SQLITE_PATH, "secret": "s"}),
    "RedisBackend": Target(RedisBackend, RedisBackend, {"secret": "s"}),
    "validate_input": Target(validate_input, _decorating(validate_input), {}),
    "Array": Target(Array, Array, {}),
    "monitor": Target(monitor, _decorating(monitor), {}),
    "StatsRegistry": Target(StatsRegistry, StatsRegistry, {}),
    "PrometheusExporter": Target(PrometheusExporter, PrometheusExporter, {}),
    "OpenTelemetryExporter": Target(OpenTelemetryExporter, OpenTelemetryExporter, {}),
    # Resolves the loopback address and opens a UDP socket, closed when collected.
    "StatsDExporter": Target(StatsDExporter, StatsDExporter, {}),
    "JsonFormatter": Target(JsonFormatter, JsonFormatter, {}),
}


@dataclass(frozen=True)
class Option:
    """One option and the values it refuses: `type_errors` with a TypeError, `value_errors`
    with a ValueError. `shows_value` is False where the message must not repeat the value."""

    target: str
    name: str
    type_errors: tuple[object, ...] = ()
    value_errors: tuple[object, ...] = ()
    shows_value: bool = True


NAN, INF = math.nan, math.inf
NOT_SECONDS = ("1s", True, [1], b"1")
BAD_SECONDS = (-1, -0.5, NAN, INF, -INF, timedelta(seconds=-1))
NOT_AN_INT = (2.5, "3", True)
NOT_A_FLAG = ("yes", 1, None)
NOT_A_HOOK = (3, "yes")
NOT_A_LOGGER = (print, 3)
NOT_A_LEVEL = (True, 20.0, None)
BAD_LEVELS = ("NOPE", 12345)
NOT_A_SIZE = (2.5, True, [1], b"1GB")
BAD_SIZES = (-1, "-1GB", "lots", "2 parsecs", "1e3")


def _takes_nothing() -> bool:
    return True


def _takes_two(first: object, second: object) -> bool:
    return True


async def _async_fallback(exc: BaseException) -> int:
    return 0


# Hooks are called with one argument: one that cannot take it is refused when decorating.
NOT_A_ONE_ARGUMENT_HOOK = (*NOT_A_HOOK, _takes_nothing, _takes_two)

RETRY = [
    # None is allowed only with a deadline, and these rows give none.
    Option("retry", "max_attempts", NOT_AN_INT, (0, -1, None)),
    Option("retry", "exceptions", (int, (OSError, str), (), "OSError", 3, _takes_nothing)),
    Option("retry", "delay", NOT_SECONDS, BAD_SECONDS),
    Option("retry", "backoff", ("2", True, None), (0.5, 0, NAN, INF, 10**400)),
    Option("retry", "max_delay", NOT_SECONDS, BAD_SECONDS),
    Option("retry", "jitter", (True, [1], b"full"), ("uniform", -0.5, NAN, INF)),
    Option("retry", "wait", NOT_A_ONE_ARGUMENT_HOOK),
    Option("retry", "deadline", NOT_SECONDS, (0, -3, NAN, -INF, timedelta(0))),
    Option("retry", "retry_on_result", NOT_A_ONE_ARGUMENT_HOOK),
    Option("retry", "giveup", NOT_A_ONE_ARGUMENT_HOOK),
    Option("retry", "on_retry", NOT_A_ONE_ARGUMENT_HOOK),
    Option("retry", "before_attempt", NOT_A_ONE_ARGUMENT_HOOK),
    # Any value is a fallback; a function must take the exception and return the value.
    Option("retry", "fallback", (_takes_nothing, _takes_two, _async_fallback)),
    Option("retry", "logger", NOT_A_LOGGER),
    Option("retry", "budget", (0.2, "budget", RetryBudget)),
]

SECRET = ((3, ["s"]), ("", b""))

OPTIONS: list[Option] = [
    Option("timer", "name", (3, b"load")),
    Option("timer", "logger", NOT_A_LOGGER),
    Option("timer", "level", NOT_A_LEVEL, BAD_LEVELS),
    Option("timer", "threshold", NOT_SECONDS, BAD_SECONDS),
    Option("log_calls", "logger", NOT_A_LOGGER),
    Option("log_calls", "level", NOT_A_LEVEL, BAD_LEVELS),
    Option("log_calls", "log_args", NOT_A_FLAG),
    Option("log_calls", "log_result", NOT_A_FLAG),
    Option("log_calls", "max_repr", (50.0, True, "50"), (5, 0, -1)),
    Option("log_calls", "redact", ("password", 3, [3], [""])),
    *RETRY,
    *(replace(option, target="retry_context") for option in RETRY),
    Option("retry_context", "name", (3, None)),
    Option("cache_result", "ttl", ("1", [1], True), (0, -1, NAN, -INF, timedelta(0))),
    Option("cache_result", "maxsize", NOT_AN_INT, (0, -1)),
    Option("cache_result", "max_bytes", NOT_AN_INT, (0, -1)),
    Option("cache_result", "key", NOT_A_HOOK),
    Option("cache_result", "ignore", (3, [3], None), (["nope"],)),
    Option("cache_result", "typed", NOT_A_FLAG),
    Option("cache_result", "version", (1.5, True, b"v")),
    Option("cache_result", "namespace", (3, b"ns", True), ("", "app:f")),
    Option("cache_result", "backend", ({}, "memory", SQLiteBackend, MemoryBackend)),
    Option("cache_result", "cache_none", NOT_A_FLAG),
    Option("cache_result", "copy", NOT_A_FLAG),
    Option("memory_guard", "max_percent", ("90", True, None), (0, -5, 100.5, NAN, INF)),
    Option("memory_guard", "min_available", NOT_A_SIZE, BAD_SIZES),
    Option("memory_guard", "max_rss", NOT_A_SIZE, BAD_SIZES),
    Option("memory_guard", "estimate", NOT_A_SIZE, BAD_SIZES),
    Option("memory_guard", "action", (None, 1, True), ("explode", "RAISE")),
    Option("memory_guard", "collect_garbage", NOT_A_FLAG),
    Option("memory_guard", "wait_timeout", NOT_SECONDS, BAD_SECONDS),
    Option("memory_guard", "poll_interval", NOT_SECONDS, (*BAD_SECONDS, 0)),
    Option("memory_guard", "fallback", NOT_A_HOOK),
    Option("memory_guard", "track_peak", NOT_A_FLAG),
    Option("memory_guard", "gpu_min_free", NOT_A_SIZE, BAD_SIZES),
    Option("memory_guard", "probe", (3, "system", object())),
    Option("RetryBudget", "ratio", ("0.2", True), (-0.1, NAN, INF)),
    Option("RetryBudget", "min_retries_per_s", ("1", None), (-1, NAN, INF)),
    Option("RetryBudget", "window", NOT_SECONDS, (*BAD_SECONDS, 0)),
    Option("MemoryBackend", "clock", (3, "time")),
    Option("SQLiteBackend", "path", (3, None, b"cache.db")),
    Option("SQLiteBackend", "secret", *SECRET, shows_value=False),
    Option("SQLiteBackend", "table", (3, None), ("my table", "1st", "x;drop")),
    Option("SQLiteBackend", "timeout", NOT_SECONDS, (*BAD_SECONDS, 0, timedelta(0))),
    Option("SQLiteBackend", "purge_every", NOT_AN_INT, (0, -1)),
    Option("SQLiteBackend", "clock", (3, "time")),
    Option("RedisBackend", "url", (123, b"redis://localhost")),
    Option("RedisBackend", "client", ("redis://localhost", object(), redis.Redis)),
    Option("RedisBackend", "prefix", (1, None, b"app:")),
    Option("RedisBackend", "secret", *SECRET, shows_value=False),
    Option("RedisBackend", "timeout", NOT_SECONDS, (*BAD_SECONDS, 0)),
    Option("validate_input", "strict", NOT_A_FLAG),
    Option("validate_input", "validate_return", NOT_A_FLAG),
    Option("validate_input", "specs", (3, [("x", int)], {1: int})),
    Option("Array", "shape", (3, "n", (1.5,), (True,)), ((-1,), ("",), (..., 2, ...))),
    Option("Array", "dtype", (object(), [1], 3), ("float33", ())),
    Option("Array", "ndim", (1.0, "2", True), (-1,)),
    *(Option("Array", bound, ("0", True, [0]), (NAN, INF)) for bound in ("ge", "gt", "le", "lt")),
    *(
        Option("Array", interval, (1, (0,), ("a", 1), (0, None)), ((2, 1), (0, NAN), (-INF, 0)))
        for interval in ("mean", "std")
    ),
    Option("Array", "allow_nan", NOT_A_FLAG),
    Option("Array", "allow_inf", NOT_A_FLAG),
    Option("Array", "coerce", NOT_A_FLAG),
    Option("monitor", "name", (3, b"load"), ("",)),
    Option(
        "monitor",
        "labels",
        (3, "model=a", {"model": [1]}, {1: "a"}, {"model": None}),
        ({"function": "f"}, {"1st": "a"}, {"__name__": "a"}, {"my-model": "a"}),
    ),
    Option("monitor", "log_level", NOT_A_LEVEL, BAD_LEVELS),
    Option("monitor", "capture_args", (1, None, 0.5), ("always", "ON_ERROR")),
    Option("monitor", "system_metrics", NOT_A_FLAG),
    Option("monitor", "slow", NOT_SECONDS, (*BAD_SECONDS, 0)),
    Option("monitor", "exporters", (3, "prometheus", [3], [object()])),
    Option("monitor", "registry", (3, {}, "default", StatsRegistry)),
    Option("StatsRegistry", "window", NOT_AN_INT, (0, -1)),
    Option("StatsRegistry", "max_error_types", NOT_AN_INT, (0, -1)),
    Option("StatsRegistry", "max_names", NOT_AN_INT, (0, -1)),
    Option("PrometheusExporter", "registry", (3, "default", {})),
    Option("OpenTelemetryExporter", "tracer_provider", (3, "global")),
    Option("OpenTelemetryExporter", "meter_provider", (3, "global")),
    Option("StatsDExporter", "host", (3, None, b"localhost")),
    Option("StatsDExporter", "port", (8125.0, "8125", True), (0, -1, 65536)),
    Option("StatsDExporter", "prefix", (3, None), ("", "1st", "my prefix", "a|b")),
    Option("StatsDExporter", "tags", (3, "env:prod", [3])),
    Option("JsonFormatter", "fields", ("process", ["process"], (3,))),
]


def _cases() -> Iterator[Any]:
    for option in OPTIONS:
        for error, values in ((TypeError, option.type_errors), (ValueError, option.value_errors)):
            for value in values:
                yield pytest.param(
                    option, value, error, id=f"{option.target}-{option.name}-{value!r:.30}"
                )


@pytest.mark.parametrize(("option", "value", "error"), list(_cases()))
def test_a_bad_option_fails_when_made_naming_itself(
    option: Option, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        TARGETS[option.target](**{option.name: value})
    message = str(info.value)
    assert message.startswith(f"{option.name} "), message
    if option.shows_value:
        assert repr(value) in message, message
    else:
        assert repr(value) not in message, message


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS.keys())
def test_every_target_is_made_without_options(target: Target) -> None:
    assert target() is not None


def _options_of(api: Callable[..., Any]) -> set[str]:
    """The parameters users may pass by keyword."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in inspect.signature(api).parameters.values() if p.kind in kinds}


@pytest.mark.parametrize("name", TARGETS)
def test_every_option_has_a_row(name: str) -> None:
    rows = [option for option in OPTIONS if option.target == name]
    assert {option.name for option in rows} == _options_of(TARGETS[name].api)
    assert len(rows) == len({option.name for option in rows}), "one row per option"
    assert all(option.type_errors or option.value_errors for option in rows)


def test_every_public_maker_of_options_is_a_target() -> None:
    """A public callable with keyword-only parameters takes options: it needs a target."""
    makers = set()
    for name in mlops_decorators.__all__:
        obj = getattr(mlops_decorators, name)
        if not callable(obj) or (isinstance(obj, type) and issubclass(obj, BaseException)):
            continue
        try:
            parameters = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):  # pragma: no cover -- a builtin without a signature
            continue
        if any(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters):
            makers.add(name)
    assert makers <= set(TARGETS), f"add to TARGETS and OPTIONS: {sorted(makers - set(TARGETS))}"
