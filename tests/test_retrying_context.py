"""`retry_context`: the block form shares the decorator's engine (``for`` and ``async for``)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any

import pytest

from fakes import FakeClock
from mlops_decorators.exceptions import RetryExhaustedError
from mlops_decorators.retrying import Attempt, RetryBudget, RetryState, retry_context


def run(context: Any, body: Callable[[Attempt], None]) -> None:
    """Run `body` as the block of a ``for attempt in context: with attempt:`` loop."""
    for attempt in context:
        with attempt:
            body(attempt)


async def arun(context: Any, body: Callable[[Attempt], None]) -> None:
    async for attempt in context:
        with attempt:
            body(attempt)


def fail(error: BaseException) -> Callable[[Attempt], None]:
    def body(attempt: Attempt) -> None:
        raise error

    return body


def test_block_is_retried_until_it_succeeds(clock: FakeClock) -> None:
    numbers = []
    for attempt in retry_context(max_attempts=5, delay=1, jitter=None):
        with attempt:
            numbers.append(attempt.number)
            if attempt.number < 3:
                raise ConnectionError("flaky")
    assert numbers == [1, 2, 3]
    assert clock.sleeps == [1.0, 2.0]


def test_block_gives_up_with_the_last_exception(clock: FakeClock) -> None:
    context = retry_context(max_attempts=3, delay=0.5, jitter=None, name="load-weights")

    def body(attempt: Attempt) -> None:
        raise OSError(f"disk {attempt.number}")

    with pytest.raises(OSError, match="disk 3") as info:
        run(context, body)
    if sys.version_info >= (3, 11):
        assert info.value.__notes__[0].startswith("retry: load-weights gave up after 3 attempts")
    stats = context.retry_stats()
    assert (stats.calls, stats.attempts, stats.retries, stats.giveups) == (1, 3, 2, 1)
    assert stats.name == "load-weights"


def test_block_not_retried_exception_leaves_at_once(clock: FakeClock) -> None:
    numbers: list[int] = []

    def body(attempt: Attempt) -> None:
        numbers.append(attempt.number)
        raise KeyError("x")

    with pytest.raises(KeyError):
        run(retry_context(exceptions=ConnectionError), body)
    assert numbers == [1]


def test_block_succeeding_first_counts_as_a_first_try(clock: FakeClock) -> None:
    context = retry_context()
    for _ in range(3):
        for attempt in context:
            with attempt:
                pass
    stats = context.retry_stats()
    assert (stats.calls, stats.attempts, stats.successes, stats.retries) == (3, 3, 3, 0)


def test_block_retries_on_results(clock: FakeClock) -> None:
    responses = iter([503, 503, 200])
    for attempt in retry_context(max_attempts=5, delay=0, retry_on_result=lambda r: r == 503):
        with attempt:
            attempt.result = status = next(responses)
    assert status == 200
    assert attempt.number == 3


def test_block_result_exhaustion_raises_retry_exhausted_error(clock: FakeClock) -> None:
    def body(attempt: Attempt) -> None:
        attempt.result = None

    context = retry_context(max_attempts=2, delay=0, retry_on_result=lambda r: r is None)
    with pytest.raises(RetryExhaustedError) as info:
        run(context, body)
    assert info.value.attempts == 2
    assert info.value.last_result is None


def test_block_without_result_is_judged_by_exceptions_only(clock: FakeClock) -> None:
    numbers = []
    for attempt in retry_context(retry_on_result=lambda r: True):
        with attempt:
            numbers.append(attempt.number)
    assert numbers == [1]


def test_skipping_the_with_statement_ends_the_loop(clock: FakeClock) -> None:
    numbers = [attempt.number for attempt in retry_context(max_attempts=5)]
    assert numbers == [1]


def test_block_honours_the_deadline_and_hooks(clock: FakeClock) -> None:
    states: list[RetryState] = []
    context = retry_context(
        max_attempts=10, delay=2, backoff=1, jitter=None, deadline=5, on_retry=states.append
    )
    with pytest.raises(TimeoutError):
        run(context, fail(TimeoutError()))
    assert [s.attempt for s in states] == [1, 2]  # waits end at t=2, 4; a third would end at 6
    assert clock.now - 1000.0 == 4.0


def test_block_logs_under_its_name(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        for attempt in retry_context(delay=0, name="fetch-features"):
            with attempt:
                if attempt.number == 1:
                    raise ConnectionError("reset")
    (record,) = caplog.records
    assert record.name == "mlops_decorators.retrying"
    assert record.getMessage().startswith("retrying fetch-features: attempt 1/3 failed")


def test_block_shares_a_budget(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.0, min_retries_per_s=0.1, window=10)  # one retry per window
    context = retry_context(max_attempts=3, delay=0, budget=budget)
    with pytest.raises(ConnectionError):
        run(context, fail(ConnectionError()))
    stats = context.retry_stats()
    assert (stats.attempts, stats.retries, stats.budget_refusals) == (2, 1, 1)
    assert budget.refusals == 1


async def test_async_for_block(clock: FakeClock) -> None:
    numbers = []
    async for attempt in retry_context(max_attempts=4, delay=1, jitter=None):
        with attempt:
            numbers.append(attempt.number)
            if attempt.number < 3:
                raise ConnectionError
    assert numbers == [1, 2, 3]
    assert clock.sleeps == [1.0, 2.0]


async def test_async_for_block_gives_up(clock: FakeClock) -> None:
    with pytest.raises(ConnectionError):
        await arun(retry_context(max_attempts=2, delay=0), fail(ConnectionError()))


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError]
)
@pytest.mark.parametrize("exceptions", [BaseException, lambda exc: True])
def test_block_never_retries_interrupts(
    clock: FakeClock, error: type[BaseException], exceptions: Any
) -> None:
    numbers: list[int] = []
    states: list[RetryState] = []

    def body(attempt: Attempt) -> None:
        numbers.append(attempt.number)
        raise error

    with pytest.raises(error):
        run(retry_context(max_attempts=5, exceptions=exceptions, on_retry=states.append), body)
    assert numbers == [1]
    assert clock.sleeps == []
    assert states == []


async def test_async_for_block_cancelled_during_an_attempt_or_a_wait() -> None:
    entered = asyncio.Event()
    numbers: list[int] = []

    async def block(hang_on: int) -> None:
        async for attempt in retry_context(
            max_attempts=5, exceptions=BaseException, delay=3600, jitter=None
        ):
            with attempt:
                numbers.append(attempt.number)
                entered.set()
                if attempt.number == hang_on:
                    await asyncio.Event().wait()
                raise ConnectionError

    for hang_on in (1, 2):  # 1: cancelled during the attempt; 2: during the hour-long wait
        numbers.clear()
        entered.clear()
        task = asyncio.create_task(block(hang_on))
        await entered.wait()
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        assert done == {task}
        assert task.cancelled()
        assert numbers == [1]


def test_context_repr_and_name_check() -> None:
    context = retry_context(max_attempts=4, name="x")
    assert repr(context) == "<RetryContext 'x' max_attempts=4>"
    attempt = next(iter(context))
    assert repr(attempt) == "<Attempt 1 of 4>"
    with pytest.raises(TypeError, match="name must be a str, got int 3"):
        retry_context(name=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_attempts must be an int >= 1"):
        retry_context(max_attempts=0)
