# pyright: strict
"""Never executed: type-checked by ``mypy --strict`` and pyright (see tests/test_typing.py).

Every decorated function keeps its exact signature and return type, sync or async,
as a plain function, a method, a classmethod or a staticmethod, in any stacking order;
the typed accessor `timer_stats` reads any of them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import timedelta
from typing import Any

from typing_extensions import assert_type

from mlops_decorators import (
    DEFAULT_REDACT,
    StatsReport,
    Timer,
    TimerStats,
    get_timer_stats,
    log_calls,
    reset_timer_stats,
    timer,
    timer_report,
    timer_stats,
)


@timer
def bare(a: int, b: str = "x") -> list[str]:
    return [b] * a


@timer()
def called(a: int) -> int:
    return a


@timer("named", logger="x", level=logging.DEBUG, threshold=0.5)
def named(a: int, *, flag: bool = False) -> bool:
    return flag


@timer(name="keyword", threshold=timedelta(seconds=1))
async def fetch(url: str) -> bytes:
    return url.encode()


@log_calls
def logged(a: int, b: int = 2) -> float:
    return a / b


@log_calls("my.logger")
def logged_named(x: str) -> str:
    return x


@log_calls(
    logger=logging.getLogger("x"), level="DEBUG", max_repr=50, redact=DEFAULT_REDACT | {"ssn"}
)
async def logged_async(ssn: str) -> int:
    return len(ssn)


@timer
@log_calls
def stacked(x: int) -> str:
    return str(x)


@log_calls
@timer
async def stacked_async(x: int) -> str:
    return str(x)


@timer
@log_calls
def batches(n: int) -> Iterator[list[int]]:  # a generator is timed while it is iterated
    yield [n]


@log_calls
@timer("stream")
async def stream(n: int) -> AsyncIterator[int]:
    yield n


class Model:
    @timer
    def predict(self, x: float) -> float:
        return x

    @log_calls
    @classmethod
    def load(cls, path: str) -> Model:
        return cls()

    @timer
    @staticmethod
    def version() -> str:
        return "1"

    @log_calls
    async def apredict(self, x: float) -> float:
        return x


assert_type(bare(1), list[str])
assert_type(bare(1, b="y"), list[str])
assert_type(called(1), int)
assert_type(named(1, flag=True), bool)
assert_type(logged(1), float)
assert_type(logged_named("x"), str)
assert_type(stacked(1), str)
assert_type(Model().predict(1.0), float)
assert_type(Model.load("p"), Model)
assert_type(Model.version(), str)
assert_type(batches(2), Iterator[list[int]])
assert_type(stream(2), AsyncIterator[int])


async def use_async() -> None:
    coroutine: Coroutine[Any, Any, bytes] = fetch("u")  # an async def stays one
    assert_type(await coroutine, bytes)
    assert_type(await logged_async("1"), int)
    assert_type(await stacked_async(2), str)
    assert_type(await Model().apredict(1.0), float)


with timer("block") as block:
    assert_type(block, Timer)
assert_type(block.stats(), TimerStats)
assert_type(timer("reusable"), Timer)
assert_type(get_timer_stats(), dict[str, TimerStats])
assert_type(get_timer_stats()["bare"].p99_s, float)
assert_type(timer_report(), StatsReport)
assert_type(reset_timer_stats(), None)
assert_type(timer_stats(bare), TimerStats)
assert_type(timer_stats(stacked).count, int)
assert_type(timer_stats(stacked_async), TimerStats)
assert_type(timer_stats(Model().predict), TimerStats)
assert_type(timer_stats(Model.version), TimerStats)
