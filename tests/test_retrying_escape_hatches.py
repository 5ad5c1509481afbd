"""`retry`'s escape hatches: attempts bounded by the deadline alone (``max_attempts=None``), a
custom ``wait``, the ``before_attempt`` hook and a ``fallback`` instead of raising."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from fakes import FakeClock
from mlops_decorators.exceptions import RetryExhaustedError
from mlops_decorators.retrying import (
    Attempt,
    RetryBudget,
    RetryState,
    retry,
    retry_context,
    set_retries,
    set_retry_waits,
)

HAS_NOTES = sys.version_info >= (3, 11)


def run_failing(context: Any, error: BaseException) -> list[int]:
    """Run a block that always raises `error` in a ``for`` loop over `context`; the numbers of
    the attempts it made, when the loop ends without raising."""
    numbers = []
    for attempt in context:
        with attempt:
            numbers.append(attempt.number)
            raise error
    return numbers


async def arun_failing(context: Any, error: BaseException) -> None:
    async for attempt in context:
        with attempt:
            raise error


def always(error: BaseException) -> Any:
    """A function that counts its calls and raises `error` every time."""
    calls: list[float] = []

    def fail(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise error

    fail.calls = calls  # type: ignore[attr-defined]
    return fail


# --- max_attempts=None: until the deadline ------------------------------------------------


def test_no_attempt_limit_retries_until_the_deadline(clock: FakeClock) -> None:
    fail = always(ConnectionError("down"))
    fn = retry(max_attempts=None, deadline=30, delay=1, backoff=1, jitter=None)(fail)
    with pytest.raises(ConnectionError) as info:
        fn()
    # attempts start at t = 0, 1, ..., 29; after the one at t=29 a 1 s wait reaches t=30
    assert len(fail.calls) == 30
    assert clock.sleeps == [1.0] * 29
    if HAS_NOTES:
        assert "gave up after 30 attempts" in info.value.__notes__[0]


def test_no_attempt_limit_returns_as_soon_as_an_attempt_succeeds(clock: FakeClock) -> None:
    outcomes = iter([ConnectionError(), ConnectionError(), ConnectionError(), ConnectionError()])

    @retry(max_attempts=None, deadline=timedelta(minutes=5), delay=0.5, jitter=None)
    def fetch() -> str:
        error = next(outcomes, None)
        if error is not None:
            raise error
        return "ok"

    assert fetch() == "ok"
    assert fetch.retry_stats().attempts == 5  # more than the default three


@pytest.mark.parametrize("deadline", [None, float("inf")])
def test_no_attempt_limit_needs_a_deadline(deadline: float | None) -> None:
    message = (
        r"^max_attempts must be an int >= 1 \(None, for no limit, needs a deadline\), got None$"
    )
    with pytest.raises(ValueError, match=message):
        retry(max_attempts=None, deadline=deadline)
    with pytest.raises(ValueError, match=message):
        retry_context(max_attempts=None, deadline=deadline)


def test_no_attempt_limit_in_the_block_form(clock: FakeClock) -> None:
    context = retry_context(
        max_attempts=None, deadline=10, delay=2, backoff=1, jitter=None, fallback="gave up"
    )
    assert run_failing(context, TimeoutError()) == [1, 2, 3, 4, 5]  # t = 0, 2, 4, 6, 8
    assert repr(next(iter(context))) == "<Attempt 1>"


async def test_no_attempt_limit_async(clock: FakeClock) -> None:
    @retry(max_attempts=None, deadline=4, delay=1, backoff=1, jitter=None)
    async def fetch() -> None:
        await asyncio.sleep(0)
        raise TimeoutError

    with pytest.raises(TimeoutError):
        await fetch()
    assert fetch.retry_stats().attempts == 4


def test_no_attempt_limit_is_logged_and_passed_to_hooks_as_none(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    states: list[RetryState] = []
    fn = retry(max_attempts=None, deadline=2, delay=1, jitter=None, on_retry=states.append)(
        always(ConnectionError("refused"))
    )
    with caplog.at_level(logging.WARNING), pytest.raises(ConnectionError):
        fn()
    assert [s.max_attempts for s in states] == [None]
    assert (
        caplog.records[0]
        .getMessage()
        .endswith(": attempt 1 failed (ConnectionError: refused); next attempt in 1 s")
    )
    assert caplog.records[0].max_attempts is None  # type: ignore[attr-defined]


def test_with_waits_off_a_deadline_still_ends_the_retrying(clock: FakeClock) -> None:
    """Skipped waits count against the deadline: a test suite with waits off makes as many
    attempts as production, instead of spinning until the deadline passes for real."""
    fail = always(ConnectionError())
    fn = retry(max_attempts=None, deadline=30, delay=1, backoff=1, jitter=None)(fail)
    with set_retry_waits(False), pytest.raises(ConnectionError):
        fn()
    assert len(fail.calls) == 30  # as with real waits
    assert clock.sleeps == []
    assert clock.now == 1000.0  # no time passed at all


# --- wait= --------------------------------------------------------------------------------


def test_custom_wait_chooses_each_wait_from_the_state(clock: FakeClock) -> None:
    seen: list[RetryState] = []

    def wait(state: RetryState) -> float:
        seen.append(state)
        return 0.1 * state.attempt

    fn = retry(max_attempts=4, delay=5, jitter=None, wait=wait)(always(ConnectionError()))
    with pytest.raises(ConnectionError):
        fn()
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.3])
    assert [s.attempt for s in seen] == [1, 2, 3]
    assert [s.next_wait_s for s in seen] == [5.0, 10.0, 20.0]  # the backoff it replaces
    assert all(isinstance(s.exception, ConnectionError) for s in seen)
    assert fn.retry_stats().total_sleep_s == pytest.approx(0.6)


def test_custom_wait_sees_retry_after_advice_as_the_proposal(clock: FakeClock) -> None:
    class ThrottledError(Exception):
        retry_after = 7.0

    proposals: list[float] = []

    def wait(state: RetryState) -> float:
        proposals.append(state.next_wait_s)
        return state.next_wait_s / 7

    fn = retry(max_attempts=2, wait=wait)(always(ThrottledError()))
    with pytest.raises(ThrottledError):
        fn()
    assert proposals == [7.0]
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize("chosen", [100, timedelta(minutes=5), np.float64(100.0), np.int64(100)])
def test_custom_wait_is_capped_by_max_delay(clock: FakeClock, chosen: object) -> None:
    fn = retry(max_attempts=2, max_delay=5, wait=lambda state: chosen)(always(EOFError()))
    with pytest.raises(EOFError):
        fn()
    assert clock.sleeps == [5.0]


def test_custom_wait_past_the_deadline_gives_up_without_sleeping(clock: FakeClock) -> None:
    fail = always(ConnectionError())
    fn = retry(max_attempts=5, deadline=10, max_delay=60, wait=lambda state: 12)(fail)
    with pytest.raises(ConnectionError) as info:
        fn()
    assert clock.sleeps == []
    assert len(fail.calls) == 1
    if HAS_NOTES:
        assert "less than the 12 s wait" in info.value.__notes__[0]


@pytest.mark.parametrize(
    ("chosen", "error", "message"),
    [
        ("1s", TypeError, r"^wait\(\) result must be a number of seconds or a timedelta, got str"),
        (-1, ValueError, r"^wait\(\) result must be >= 0 seconds, got -1$"),
        (float("nan"), ValueError, r"^wait\(\) result must be a finite number of seconds"),
    ],
)
def test_custom_wait_returning_no_duration_is_an_error(
    clock: FakeClock, chosen: object, error: type[Exception], message: str
) -> None:
    fn = retry(max_attempts=3, wait=lambda state: chosen)(always(ConnectionError()))
    with pytest.raises(error, match=message) as info:
        fn()
    assert isinstance(info.value.__context__, ConnectionError)  # the failure it followed


async def test_custom_wait_in_coroutines_and_blocks(clock: FakeClock) -> None:
    @retry(max_attempts=3, wait=lambda state: 0.25)
    async def fetch() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        await fetch()
    with pytest.raises(TimeoutError):
        await arun_failing(retry_context(max_attempts=2, wait=lambda state: 0.5), TimeoutError())
    assert clock.sleeps == [0.25, 0.25, 0.5]


# --- before_attempt= ------------------------------------------------------------------------


def test_before_attempt_runs_after_each_wait_before_each_retry(clock: FakeClock) -> None:
    events: list[str] = []

    def on_retry(state: RetryState) -> None:
        events.append(f"on_retry {state.attempt} at {clock.now - 1000:g}")

    def before_attempt(state: RetryState) -> None:
        events.append(f"before {state.attempt + 1} at {clock.now - 1000:g}")

    @retry(max_attempts=3, delay=1, jitter=None, on_retry=on_retry, before_attempt=before_attempt)
    def fetch() -> None:
        events.append(f"attempt at {clock.now - 1000:g}")
        raise ConnectionError

    with pytest.raises(ConnectionError):
        fetch()
    assert events == [
        "attempt at 0",  # nothing has failed yet: no hook before the first attempt
        "on_retry 1 at 0",
        "before 2 at 1",
        "attempt at 1",
        "on_retry 2 at 1",
        "before 3 at 3",
        "attempt at 3",
    ]


def test_before_attempt_gets_the_state_on_retry_got(clock: FakeClock) -> None:
    on_retry: list[RetryState] = []
    before: list[RetryState] = []
    context = retry_context(
        max_attempts=2, delay=0.5, on_retry=on_retry.append, before_attempt=before.append
    )
    for attempt in context:
        with attempt:
            if attempt.number == 1:
                raise TimeoutError("slow")
    assert before == on_retry
    assert len(before) == 1
    assert isinstance(before[0].exception, TimeoutError)


async def test_before_attempt_raising_ends_the_call_with_its_exception(clock: FakeClock) -> None:
    def refuse(state: RetryState) -> None:
        raise PermissionError("token cannot be refreshed")

    calls = []

    @retry(max_attempts=5, delay=0, before_attempt=refuse)
    async def fetch() -> None:
        calls.append(1)
        raise ConnectionError

    with pytest.raises(PermissionError, match="token"):
        await fetch()
    assert calls == [1]
    stats = fetch.retry_stats()
    assert (stats.calls, stats.attempts, stats.giveups) == (1, 1, 1)


# --- fallback= -----------------------------------------------------------------------------


def test_fallback_value_is_returned_when_attempts_run_out(clock: FakeClock) -> None:
    fail = always(ConnectionError("down"))
    fn = retry(max_attempts=3, delay=0, fallback=[])(fail)
    assert fn() == []
    assert len(fail.calls) == 3
    stats = fn.retry_stats()
    assert (stats.calls, stats.successes, stats.giveups, stats.fallbacks) == (1, 0, 1, 1)


def test_fallback_function_gets_the_last_exception_with_its_note(clock: FakeClock) -> None:
    seen: list[BaseException] = []

    def cached(exc: BaseException) -> str:
        seen.append(exc)
        return "cached"

    errors = iter([ConnectionError("first"), ConnectionError("last")])

    @retry(max_attempts=2, delay=0, fallback=cached)
    def fetch() -> str:
        raise next(errors)

    assert fetch() == "cached"
    (error,) = seen
    assert str(error) == "last"
    if HAS_NOTES:
        assert error.__notes__[0].startswith("retry: ")


def test_fallback_function_gets_retry_exhausted_error_for_results(clock: FakeClock) -> None:
    seen: list[BaseException] = []

    def default(exc: BaseException) -> int:
        seen.append(exc)
        return 200

    fn = retry(max_attempts=3, delay=0, retry_on_result=lambda r: r == 503, fallback=default)(
        lambda: 503
    )
    assert fn() == 200
    (error,) = seen
    assert isinstance(error, RetryExhaustedError)
    assert (error.last_result, error.attempts) == (503, 3)


def test_fallback_is_not_used_for_failures_retrying_cannot_help(clock: FakeClock) -> None:
    not_retried = retry(exceptions=ConnectionError, delay=0, fallback="x")(always(KeyError("k")))
    with pytest.raises(KeyError):
        not_retried()
    given_up = retry(giveup=lambda exc: True, delay=0, fallback="x")(always(ConnectionError()))
    with pytest.raises(ConnectionError):
        given_up()
    interrupted = retry(exceptions=BaseException, delay=0, fallback="x")(
        always(KeyboardInterrupt())
    )
    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert given_up.retry_stats().fallbacks == 0


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 1},  # the first attempt was the last one
        {"max_attempts": 5, "delay": 3, "jitter": None, "deadline": 5},  # a wait too long
        {"max_attempts": 5, "budget": RetryBudget(ratio=0, min_retries_per_s=0)},
    ],
    ids=["attempts", "deadline", "budget"],
)
def test_fallback_stands_in_whenever_retrying_runs_out(
    clock: FakeClock, options: dict[str, Any]
) -> None:
    fn = retry(**options, fallback="fallback")(always(ConnectionError()))
    assert fn() == "fallback"
    assert fn.retry_stats().fallbacks == 1


def test_fallback_when_the_deadline_passes_during_a_wait(clock: FakeClock) -> None:
    def oversleep(seconds: float) -> None:
        clock.sleep(seconds * 10)

    fail = always(ConnectionError())
    fn = retry(max_attempts=5, delay=1, jitter=None, deadline=5, fallback="late")(fail)
    from mlops_decorators.retrying import _policy

    _policy.sleep = oversleep  # the clock fixture restores it
    assert fn() == "late"
    assert len(fail.calls) == 1


def test_fallback_when_retrying_is_switched_off(clock: FakeClock) -> None:
    fn = retry(max_attempts=5, fallback=0)(always(ConnectionError()))
    with set_retries(False):
        assert fn() == 0


def test_fallback_is_logged(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    fn = retry(max_attempts=1, fallback="x")(always(ConnectionError("down")))
    with caplog.at_level(logging.WARNING):
        fn()
    (record,) = caplog.records
    assert record.getMessage().endswith(
        "after attempt 1/1 (ConnectionError: down): max_attempts is 1; returning the fallback"
    )
    assert record.fallback is True  # type: ignore[attr-defined]


async def test_fallback_in_coroutines(clock: FakeClock) -> None:
    @retry(max_attempts=2, delay=0, fallback=lambda exc: f"offline: {exc}")
    async def fetch() -> str:
        await asyncio.sleep(0)
        raise ConnectionError("reset")

    assert await fetch() == "offline: reset"


def test_fallback_in_the_block_form_ends_the_loop_with_it_as_the_result(
    clock: FakeClock,
) -> None:
    numbers = []
    attempt: Attempt | None = None
    for attempt in retry_context(max_attempts=3, delay=0, fallback="default"):
        with attempt:
            numbers.append(attempt.number)
            raise ConnectionError
    assert numbers == [1, 2, 3]
    assert attempt is not None
    assert attempt.result == "default"


async def test_fallback_in_an_async_block_when_the_deadline_passes(clock: FakeClock) -> None:
    attempt: Attempt | None = None
    async for attempt in retry_context(
        max_attempts=None, deadline=3, delay=1, backoff=1, jitter=None, fallback=-1
    ):
        with attempt:
            attempt.result = 1 / 0
    assert attempt is not None
    assert (attempt.number, attempt.result) == (3, -1)


def test_a_coroutine_function_fallback_is_refused_at_decoration() -> None:
    async def fetch_elsewhere(exc: BaseException) -> str:
        return "elsewhere"

    with pytest.raises(TypeError, match=r"^fallback must be a value or a plain function"):
        retry(fallback=fetch_elsewhere)
    with pytest.raises(TypeError, match=r"^fallback must be a value or a plain function"):
        retry_context(fallback=fetch_elsewhere)
