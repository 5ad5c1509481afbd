"""The seven decorators stacked on one function.

In any order each still does its job and its typed accessor reads it from the outermost
function, on ``def`` and ``async def`` functions and methods. The recommended order means
what docs/getting-started.md says: a cache hit is a monitored call, a refused call is never
retried, validation runs before the cache key is computed, memory is checked only for calls
that will run, with the validated arguments.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import pytest
from pydantic import Field

from mlops_decorators import (
    InputValidationError,
    MemoryGuardError,
    StatsRegistry,
    cache_info,
    cache_result,
    log_calls,
    memory_guard,
    memory_guard_stats,
    monitor,
    monitor_stats,
    retry,
    retry_context,
    retry_stats,
    timer,
    timer_stats,
    validate_input,
    validate_input_stats,
)

UserId = Annotated[int, Field(ge=0)]

#: A user whose call memory_guard refuses on any machine: its estimate is an exbibyte.
HUGE = 10**6


def estimate(user_id: int) -> int:
    return 2**60 if user_id >= HUGE else 0  # a str here would raise: it sees validated values


def layers(registry: StatsRegistry) -> dict[str, Callable[[Any], Any]]:
    """A fresh decorator of each kind; monitor records into its own registry, so that the
    timer's name (in the shared one) never meets the monitor's."""
    return {
        "monitor": monitor(registry=registry),
        "validate_input": validate_input,
        "retry": retry(max_attempts=3, exceptions=ConnectionError, delay=0),
        "cache_result": cache_result(ttl=60),
        "memory_guard": memory_guard(max_percent=100, estimate=estimate, collect_garbage=False),
        "timer": timer,
        "log_calls": log_calls,
    }


RECOMMENDED = (
    "monitor",
    "validate_input",
    "retry",
    "cache_result",
    "memory_guard",
    "timer",
    "log_calls",
)


def moved(name: str, outermost: bool) -> tuple[str, ...]:
    rest = [n for n in RECOMMENDED if n != name]
    return (name, *rest) if outermost else (*rest, name)


ORDERS = {
    "recommended": RECOMMENDED,
    "reversed": RECOMMENDED[::-1],
    **{f"{name} outermost": moved(name, outermost=True) for name in RECOMMENDED[1:]},
    **{f"{name} innermost": moved(name, outermost=False) for name in RECOMMENDED[:-1]},
}
KINDS = ("function", "async function", "method", "async method")


def stacked(order: Sequence[str], registry: StatsRegistry) -> Callable[[Any], Any]:
    """A decorator applying `order`, outermost first."""
    chosen = layers(registry)

    def apply(fn: Any) -> Any:
        for name in reversed(order):
            fn = chosen[name](fn)
        return fn

    return apply


class Target:
    """A `score(user_id)` of one kind under one stack, and the user ids it really ran for.

    Its first run raises ConnectionError (a retry is needed); every later run returns
    ``user_id / 2``.
    """

    def __init__(self, kind: str, order: Sequence[str], registry: StatsRegistry) -> None:
        self.runs: list[int] = []
        self.fn = self._build(kind, stacked(order, registry))

    def body(self, user_id: int) -> float:
        self.runs.append(user_id)
        if len(self.runs) == 1:
            raise ConnectionError("the feature store reset the connection")
        return user_id / 2

    def _build(self, kind: str, decorate: Callable[[Any], Any]) -> Any:
        body = self.body
        if kind == "function":

            def score(user_id: UserId) -> float:
                return body(user_id)

            return decorate(score)
        if kind == "async function":

            async def ascore(user_id: UserId) -> float:
                await asyncio.sleep(0)
                return body(user_id)

            return decorate(ascore)

        class Model:
            @decorate
            def score(self, user_id: UserId) -> float:
                return body(user_id)

            @decorate
            async def ascore(self, user_id: UserId) -> float:
                await asyncio.sleep(0)
                return body(user_id)

        return Model().score if kind == "method" else Model().ascore

    async def __call__(self, user_id: object) -> float:
        result = self.fn(user_id)
        return await result if inspect.isawaitable(result) else result


async def play(target: Target) -> None:
    """The calls every stack sees: a retried call, a hit, an invalid and an oversized one."""
    assert await target(3) == 1.5  # the first run fails, the retry succeeds
    assert await target(3) == 1.5  # a cache hit
    with pytest.raises(InputValidationError, match="greater than or equal to 0"):
        await target(-1)
    with pytest.raises(MemoryGuardError):
        await target(HUGE)
    assert target.runs == [3, 3]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=__name__)
    return caplog


def calls_logged(logs: pytest.LogCaptureFixture) -> int:
    """Records of `log_calls` announcing a call."""
    return sum(r.getMessage().startswith("calling ") for r in logs.records)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
async def test_each_decorator_works_in_any_order(
    order: tuple[str, ...], kind: str, logs: pytest.LogCaptureFixture
) -> None:
    target = Target(kind, order, StatsRegistry())
    fn = target.fn
    assert inspect.iscoroutinefunction(fn) == kind.startswith("async")
    await play(target)
    # Every accessor reads its decorator from the outermost function, whatever its place.
    assert retry_stats(fn).retries == 1
    assert cache_info(fn).hits == 1
    assert validate_input_stats(fn).rejected == 1
    assert validate_input_stats(fn).by_parameter == {"user_id": 1}
    assert memory_guard_stats(fn).refused == 1
    assert timer_stats(fn).count >= 1
    assert monitor_stats(fn).calls >= 1
    assert calls_logged(logs) >= 1


@pytest.mark.parametrize("kind", KINDS)
async def test_the_recommended_order_counts(kind: str, logs: pytest.LogCaptureFixture) -> None:
    target = Target(kind, RECOMMENDED, StatsRegistry())
    fn = target.fn
    await play(target)
    # monitor sees each call once, as the caller does, refusals included.
    seen = monitor_stats(fn)
    assert (seen.calls, dict(seen.errors)) == (
        4,
        {"InputValidationError": 1, "MemoryGuardError": 1},
    )
    # validate_input checks every call; the invalid one stops there.
    assert (validate_input_stats(fn).calls, validate_input_stats(fn).rejected) == (4, 1)
    # retry: three calls got past validation; one retry; the refusal was not retried.
    retried = retry_stats(fn)
    assert (retried.calls, retried.attempts, retried.retries, retried.giveups) == (3, 4, 1, 1)
    # Each attempt goes through the cache: the failed one left no entry.
    assert (cache_info(fn).hits, cache_info(fn).misses) == (1, 3)
    # memory_guard checks only the calls that will run: each miss.
    guarded = memory_guard_stats(fn)
    assert (guarded.calls, guarded.refused) == (3, 1)
    # timer and log_calls, right above the function, see each run.
    assert timer_stats(fn).count == 2
    assert calls_logged(logs) == 2


def test_a_cache_hit_is_a_monitored_call_only_with_monitor_above_the_cache() -> None:
    registry = StatsRegistry()

    def square(x: int) -> int:
        return x * x

    above = monitor(registry=registry, name="above")(cache_result(ttl=60)(square))
    below = cache_result(ttl=60)(monitor(registry=registry, name="below")(square))
    for fn in (above, below):
        assert fn(3) == fn(3) == 9
        assert cache_info(fn).hits == 1
    assert monitor_stats(above).calls == 2  # the hit is a (fast, successful) call
    assert monitor_stats(below).calls == 1  # only the call that computed


REFUSED = {
    "validate_input": (validate_input, -1, InputValidationError),
    "memory_guard": (
        memory_guard(max_percent=100, estimate=estimate, collect_garbage=False),
        HUGE,
        MemoryGuardError,
    ),
}


@pytest.mark.parametrize(("refuse", "argument", "error"), REFUSED.values(), ids=REFUSED.keys())
@pytest.mark.usefixtures("clock")
def test_a_refused_call_is_not_retried_by_default(
    refuse: Callable[[Any], Any], argument: int, error: type[Exception]
) -> None:
    runs: list[int] = []

    def load(user_id: UserId) -> int:
        runs.append(user_id)
        return user_id

    fn = retry(max_attempts=3)(refuse(load))  # exceptions=Exception, the default
    with pytest.raises(error):
        fn(argument)
    assert runs == []
    stats = retry_stats(fn)
    assert (stats.attempts, stats.retries, stats.giveups) == (1, 0, 1)


@pytest.mark.usefixtures("clock")
def test_a_refusal_is_retried_when_named_or_accepted_by_a_predicate() -> None:
    def refused(user_id: int) -> int:
        raise MemoryGuardError("no memory", function="refused", option="max_percent")

    named = retry(max_attempts=3, exceptions=MemoryGuardError)(refused)
    chosen = retry(max_attempts=3, exceptions=lambda exc: isinstance(exc, MemoryError))(refused)
    # A base class is not the refusal's name: MemoryError covers real ones, not refusals.
    base = retry(max_attempts=3, exceptions=MemoryError)(refused)
    for fn, attempts in ((named, 3), (chosen, 3), (base, 1)):
        with pytest.raises(MemoryGuardError):
            fn(1)
        assert retry_stats(fn).attempts == attempts


@pytest.mark.usefixtures("clock")
def test_retry_context_does_not_retry_a_refusal_either() -> None:
    @validate_input
    def load(user_id: UserId) -> int:
        return user_id

    attempts = 0
    with pytest.raises(InputValidationError):  # noqa: PT012 -- the block is the subject
        for attempt in retry_context(max_attempts=3, exceptions=ValueError):
            with attempt:
                attempts += 1
                load(-1)
    assert attempts == 1  # ValueError covers it, but a refusal is retried only when named


def by_validation_then_cache(fn: Callable[..., Any]) -> Any:
    return validate_input(cache_result(ttl=60)(fn))


def by_cache_then_validation(fn: Callable[..., Any]) -> Any:
    return cache_result(ttl=60)(validate_input(fn))


def test_validation_runs_before_the_cache_key_so_coerced_values_share_an_entry() -> None:
    runs: list[object] = []

    def load(user_id: UserId) -> int:
        runs.append(user_id)
        return 2 * user_id

    recommended, other = by_validation_then_cache(load), by_cache_then_validation(load)
    assert recommended("7") == recommended(7) == 14
    assert runs == [7]  # the function received the coerced int, and ran once
    assert (cache_info(recommended).hits, cache_info(recommended).misses) == (1, 1)
    assert other("7") == other(7) == 14  # cache first: "7" and 7 are keyed apart
    assert runs == [7, 7, 7]
    assert (cache_info(other).hits, cache_info(other).misses) == (0, 2)


class Unkeyable:
    __hash__ = None  # type: ignore[assignment]


def test_an_invalid_argument_the_cache_cannot_key_is_an_input_validation_error() -> None:
    def load(user_id: UserId) -> int:
        return user_id

    with pytest.raises(InputValidationError, match="argument 'user_id'"):
        by_validation_then_cache(load)(Unkeyable())
    with pytest.raises(TypeError) as caught:  # the cache first: its own TypeError
        by_cache_then_validation(load)(Unkeyable())
    assert not isinstance(caught.value, InputValidationError)


def test_memory_guard_estimates_from_the_validated_arguments() -> None:
    @validate_input
    @memory_guard(max_percent=100, estimate=estimate, collect_garbage=False)
    def load(user_id: UserId) -> int:
        return user_id

    assert load("12") == 12
    with pytest.raises(MemoryGuardError):
        load(str(HUGE))  # the estimate compares an int: validation coerced it first


def test_timer_and_monitor_on_one_function_record_apart(caplog: pytest.LogCaptureFixture) -> None:
    """Both in the shared registry: the second one to claim the name records under another,
    with a WARNING saying so; give `timer` a name of its own to choose it."""

    @monitor
    @timer
    def step() -> int:
        return 1

    @monitor
    @timer("step_named.run")
    def step_named() -> int:
        return 1

    assert step() == step_named() == 1
    assert monitor_stats(step).calls == timer_stats(step).count == 1
    assert monitor_stats(step).name != timer_stats(step).name
    assert monitor_stats(step_named).name.endswith("<locals>.step_named")
    assert timer_stats(step_named).name == "step_named.run"
    assert [r.getMessage() for r in caplog.records if "already names" in r.getMessage()]
