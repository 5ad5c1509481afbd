"""`retry`: attempts, waits, what is retried, results, give-up notes, deadlines, Retry-After,
hooks and logs, async, methods, statistics, test switches and argument checks."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from unittest import mock

import numpy as np
import pytest

from fakes import FakeClock, fake_retry_seams
from mlops_decorators.exceptions import RetryExhaustedError
from mlops_decorators.retrying import (
    RetryBudget,
    RetryState,
    RetryStats,
    _after,
    _policy,
    reset_retry_settings,
    retry,
    retry_context,
    set_retries,
    set_retry_waits,
)

HAS_NOTES = sys.version_info >= (3, 11)


class Flaky:
    """A callable failing with `error` for its first `failures` calls, then returning `value`."""

    def __init__(
        self, failures: int, error: type[BaseException] = ConnectionError, value: Any = "ok"
    ):
        self.failures = failures
        self.error = error
        self.value = value
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return self.value


def notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", []))


# --- attempts and waits ------------------------------------------------------------------


def test_bare_decorator_uses_the_defaults(clock: FakeClock) -> None:
    flaky = Flaky(failures=2)

    @retry
    def call() -> str:
        return flaky()

    assert call() == "ok"
    assert flaky.calls == 3
    # default delay 1 s, backoff 2, full jitter: waits in [0, 1] then [0, 2]
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 1.0
    assert 0 <= clock.sleeps[1] <= 2.0


def test_empty_call_form_is_the_bare_form(clock: FakeClock) -> None:
    flaky = Flaky(failures=5)
    with pytest.raises(ConnectionError):
        retry()(flaky)()
    assert flaky.calls == 3


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (3, "max_attempts=3"),
        (np.int64(5), "max_attempts=5"),
        (ConnectionError, "exceptions=ConnectionError"),
        ((ConnectionError, TimeoutError), "exceptions=(ConnectionError, TimeoutError)"),
        (2.5, "option=value"),
    ],
)
def test_positional_option_is_a_type_error_naming_the_option(value: object, hint: str) -> None:
    """An exception class is callable: it must not be decorated in place of a function."""
    with pytest.raises(TypeError) as info:
        retry(value)  # type: ignore[call-overload]
    message = str(info.value)
    assert message.startswith("retry() takes keyword arguments only; got the positional argument")
    assert message.endswith(f"Use @retry({hint}).") or hint == "option=value"
    assert hint in message


def test_success_on_first_attempt_returns_the_value_without_sleeping(clock: FakeClock) -> None:
    @retry(max_attempts=5)
    def add(a: int, b: int = 1) -> int:
        return a + b

    assert add(2, b=3) == 5
    assert clock.sleeps == []
    assert add.__name__ == "add"
    assert add.__wrapped__(1) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("max_attempts", [1, 2, 5])
def test_never_more_than_max_attempts_calls(clock: FakeClock, max_attempts: int) -> None:
    flaky = Flaky(failures=100)
    with pytest.raises(ConnectionError):
        retry(max_attempts=max_attempts, delay=0.1)(flaky)()
    assert flaky.calls == max_attempts
    assert len(clock.sleeps) == max_attempts - 1


def test_exponential_waits_without_jitter_are_capped(clock: FakeClock) -> None:
    flaky = Flaky(failures=100)
    fn = retry(max_attempts=6, delay=0.5, backoff=3.0, max_delay=10.0, jitter=None)(flaky)
    with pytest.raises(ConnectionError):
        fn()
    assert clock.sleeps == [0.5, 1.5, 4.5, 10.0, 10.0]


def test_times_accept_timedelta(clock: FakeClock) -> None:
    flaky = Flaky(failures=100)
    fn = retry(
        max_attempts=3,
        delay=timedelta(milliseconds=250),
        max_delay=timedelta(seconds=0.3),
        jitter=None,
    )(flaky)
    with pytest.raises(ConnectionError):
        fn()
    assert clock.sleeps == [0.25, 0.3]


def test_backoff_one_gives_constant_waits(clock: FakeClock) -> None:
    fn = retry(max_attempts=4, delay=2, backoff=1, jitter=None)(Flaky(failures=100))
    with pytest.raises(ConnectionError):
        fn()
    assert clock.sleeps == [2.0, 2.0, 2.0]


def test_huge_attempt_numbers_do_not_overflow(clock: FakeClock) -> None:
    fn = retry(max_attempts=1100, delay=1, backoff=10, max_delay=5, jitter=None)(Flaky(1099))
    assert fn() == "ok"
    assert clock.sleeps[-1] == 5.0


@pytest.mark.parametrize(
    ("jitter", "low", "high"),
    [("full", 0.0, 4.0), ("equal", 2.0, 4.0), (0.5, 4.0, 4.5), (timedelta(seconds=0.5), 4.0, 4.5)],
)
def test_jitter_modes_stay_in_their_range(
    clock: FakeClock, jitter: Any, low: float, high: float
) -> None:
    fn = retry(max_attempts=200, delay=4, backoff=1, max_delay=60, jitter=jitter)(Flaky(199))
    fn()
    assert all(low <= s <= high for s in clock.sleeps)
    assert max(clock.sleeps) - min(clock.sleeps) > (high - low) / 2  # really random


def test_float_jitter_never_exceeds_max_delay(clock: FakeClock) -> None:
    fn = retry(max_attempts=50, delay=4, backoff=1, max_delay=4.2, jitter=1.0)(Flaky(49))
    fn()
    assert all(4.0 <= s <= 4.2 for s in clock.sleeps)


def test_decorrelated_jitter_grows_from_the_previous_wait(clock: FakeClock) -> None:
    fn = retry(max_attempts=100, delay=1, max_delay=20, jitter="decorrelated")(Flaky(99))
    fn()
    previous = 1.0
    for wait in clock.sleeps:
        assert 1.0 <= wait <= min(20.0, previous * 3)
        previous = wait
    assert max(clock.sleeps) > 10  # it does climb towards max_delay


# --- what is retried -------------------------------------------------------------------


def test_exception_tuple_retries_only_those(clock: FakeClock) -> None:
    flaky = Flaky(failures=2, error=TimeoutError)
    assert retry(exceptions=(ConnectionError, TimeoutError), delay=0)(flaky)() == "ok"
    other = Flaky(failures=2, error=ValueError)
    with pytest.raises(ValueError, match="failure 1"):
        retry(exceptions=(ConnectionError, TimeoutError))(other)()
    assert other.calls == 1
    assert clock.sleeps == []  # zero waits are not slept at all


def test_exception_subclasses_match(clock: FakeClock) -> None:
    flaky = Flaky(failures=2, error=ConnectionResetError)
    assert retry(exceptions=OSError, delay=0)(flaky)() == "ok"


def test_predicate_decides_what_is_retried(clock: FakeClock) -> None:
    seen: list[BaseException] = []

    def transient(exc: BaseException) -> bool:
        seen.append(exc)
        return "failure 1" in str(exc)

    flaky = Flaky(failures=5)
    with pytest.raises(ConnectionError, match="failure 2"):
        retry(exceptions=transient, max_attempts=5)(flaky)()
    assert flaky.calls == 2
    assert [str(e) for e in seen] == ["failure 1", "failure 2"]


def test_not_retried_exception_after_retries_gets_a_note(clock: FakeClock) -> None:
    errors = iter([ConnectionError("reset"), KeyError("gone")])

    @retry(exceptions=ConnectionError, delay=0)
    def fn() -> None:
        raise next(errors)

    with pytest.raises(KeyError) as info:
        fn()
    if HAS_NOTES:
        assert "KeyError is not retried" in notes(info.value)
        assert "attempt 1: ConnectionError: reset" in notes(info.value)


def test_first_attempt_not_retried_propagates_untouched(clock: FakeClock) -> None:
    error = ValueError("bad input")

    @retry(exceptions=ConnectionError)
    def fn() -> None:
        raise error

    with pytest.raises(ValueError, match="bad input") as info:
        fn()
    assert info.value is error
    assert getattr(error, "__notes__", []) == []
    assert fn.retry_stats().giveups == 1


def test_giveup_stops_at_once(clock: FakeClock) -> None:
    flaky = Flaky(failures=5)
    fn = retry(max_attempts=5, delay=0, giveup=lambda exc: "failure 2" in str(exc))(flaky)
    with pytest.raises(ConnectionError, match="failure 2") as info:
        fn()
    assert flaky.calls == 2
    if HAS_NOTES:
        assert "giveup() returned True" in notes(info.value)


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError]
)
@pytest.mark.parametrize(
    "exceptions", [BaseException, (Exception, BaseException), lambda exc: True]
)
def test_interrupts_are_never_retried(
    clock: FakeClock, error: type[BaseException], exceptions: Any
) -> None:
    flaky = Flaky(failures=5, error=error)
    on_retry: list[RetryState] = []
    fn = retry(max_attempts=5, exceptions=exceptions, on_retry=on_retry.append)(flaky)
    with pytest.raises(error):
        fn()
    assert flaky.calls == 1
    assert clock.sleeps == []
    assert on_retry == []


async def test_interrupts_are_never_retried_async(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=5, exceptions=lambda exc: True)
    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await fn()
    assert calls == 1
    assert clock.sleeps == []


def test_interrupt_on_a_later_attempt_is_not_retried(clock: FakeClock) -> None:
    errors = iter([ConnectionError("reset"), KeyboardInterrupt()])

    @retry(max_attempts=5, exceptions=BaseException, delay=0)
    def fn() -> None:
        raise next(errors)

    with pytest.raises(KeyboardInterrupt):
        fn()
    assert fn.retry_stats().attempts == 2
    assert fn.retry_stats().retries == 1


# --- results ---------------------------------------------------------------------------


def test_retry_on_result_retries_until_a_good_value(clock: FakeClock) -> None:
    values = iter([None, None, {"status": 200}])
    fn = retry(max_attempts=5, delay=0, retry_on_result=lambda r: r is None)(lambda: next(values))
    assert fn() == {"status": 200}
    assert fn.retry_stats().successes_after_retry == 1


def test_retry_on_result_exhausted_raises_retry_exhausted_error(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=3, delay=0.1, jitter=None, retry_on_result=lambda r: r == 503)
    def status() -> int:
        nonlocal calls
        calls += 1
        return 503

    with pytest.raises(RetryExhaustedError) as info:
        status()
    assert calls == 3
    assert info.value.last_result == 503
    assert info.value.attempts == 3
    assert info.value.__context__ is None
    message = str(info.value)
    assert "status gave up after 3 attempts" in message
    assert "attempt 1: returned 503" in message
    assert "attempt 3: returned 503" in message


def test_retry_on_result_with_one_attempt_raises_at_once(clock: FakeClock) -> None:
    fn = retry(max_attempts=1, retry_on_result=lambda r: True)(lambda: "x")
    with pytest.raises(RetryExhaustedError) as info:
        fn()
    assert info.value.attempts == 1
    assert info.value.last_result == "x"
    assert str(info.value).splitlines() == [
        "retry: test_retry_on_result_with_one_attempt_raises_at_once.<locals>.<lambda> gave up "
        "after 1 attempt: max_attempts is 1",
        "  attempt 1: returned 'x'",
    ]


def test_exception_after_bad_results_is_raised_itself(clock: FakeClock) -> None:
    outcomes = iter([None, ConnectionError("down")])

    @retry(max_attempts=2, delay=0, retry_on_result=lambda r: r is None)
    def fn() -> None:
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    with pytest.raises(ConnectionError) as info:
        fn()
    if HAS_NOTES:
        assert "attempt 1: returned None" in notes(info.value)


# --- giving up ---------------------------------------------------------------------------


def test_gives_up_with_the_last_exception_itself_and_its_traceback(clock: FakeClock) -> None:
    raised: list[ConnectionError] = []

    @retry(max_attempts=3, delay=0.2, jitter=None)
    def fetch() -> None:
        error = ConnectionError(f"reset {len(raised) + 1}")
        raised.append(error)
        raise error

    with pytest.raises(ConnectionError) as info:
        fetch()
    assert type(info.value) is ConnectionError
    assert info.value is raised[-1]
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-1] == "fetch"  # the frame that raised is still there
    # earlier attempts are summarised in the note, not chained as "during handling of..."
    assert info.value.__context__ is None
    assert info.value.__cause__ is None


@pytest.mark.skipif(not HAS_NOTES, reason="PEP 678 notes need Python 3.11")
@pytest.mark.parametrize(
    ("deadline", "elapsed"),
    [
        # with a deadline the start is read anyway: the note counts every attempt's time
        (100, "in 3.6 s"),
        # without one the happy path reads no clock: the note says where it counts from
        (None, "(2.6 s since the first failure)"),
    ],
)
def test_give_up_note_lists_attempts_elapsed_and_earlier_failures(
    clock: FakeClock, deadline: float | None, elapsed: str
) -> None:
    flaky = Flaky(failures=100)

    @retry(max_attempts=3, delay=0.2, jitter=None, deadline=deadline)
    def fetch() -> None:
        clock.advance(1.0)  # each attempt takes a second
        flaky()

    with pytest.raises(ConnectionError) as info:
        fetch()
    (note,) = info.value.__notes__
    lines = note.splitlines()
    assert lines[0] == (
        "retry: test_give_up_note_lists_attempts_elapsed_and_earlier_failures.<locals>."
        f"fetch gave up after 3 attempts {elapsed}: all 3 attempts failed"
    )
    assert lines[1:] == [
        "  attempt 1: ConnectionError: failure 1",
        "  attempt 2: ConnectionError: failure 2",
    ]


@pytest.mark.skipif(not HAS_NOTES, reason="PEP 678 notes need Python 3.11")
def test_long_messages_are_cut_in_the_note(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=2, delay=0)
    def fn() -> None:
        nonlocal calls
        calls += 1
        raise LookupError("x" * 500 if calls == 1 else "")

    with pytest.raises(LookupError) as info:
        fn()
    line = notes(info.value).splitlines()[1]
    assert line.endswith("...")
    assert len(line) < 160


@pytest.mark.skipif(not HAS_NOTES, reason="PEP 678 notes need Python 3.11")
def test_note_of_many_attempts_lists_the_first_and_latest_failures(clock: FakeClock) -> None:
    flaky = Flaky(failures=1000)

    @retry(max_attempts=100, delay=0)
    def fn() -> None:
        flaky()

    with pytest.raises(ConnectionError, match="failure 100") as info:
        fn()
    lines = notes(info.value).splitlines()
    assert len(lines) == 22
    assert lines[1] == "  attempt 1: ConnectionError: failure 1"
    assert lines[10] == "  attempt 10: ConnectionError: failure 10"
    assert lines[11] == "  ... 79 more failures ..."
    assert lines[12] == "  attempt 90: ConnectionError: failure 90"
    assert lines[21] == "  attempt 99: ConnectionError: failure 99"


@pytest.mark.skipif(not HAS_NOTES, reason="PEP 678 notes need Python 3.11")
def test_an_exception_object_raised_again_keeps_one_give_up_note(clock: FakeClock) -> None:
    """``Mock(side_effect=error)`` raises the same object on every call: one note, the
    latest, however many calls gave up on it; notes of others stay."""
    error = ConnectionError("down")
    error.add_note("added by the caller")
    backend = mock.Mock(side_effect=error)
    fetch = retry(max_attempts=2, delay=0)(backend)
    for _ in range(50):
        with pytest.raises(ConnectionError):
            fetch()
    assert backend.call_count == 100
    assert len(error.__notes__) == 2
    assert error.__notes__[0] == "added by the caller"
    assert error.__notes__[1].startswith("retry: Mock gave up after 2 attempts")


@pytest.mark.skipif(not HAS_NOTES, reason="PEP 678 notes need Python 3.11")
def test_nested_retries_each_keep_their_own_note_on_a_shared_exception(clock: FakeClock) -> None:
    error = TimeoutError("slow")

    @retry(max_attempts=2, delay=0)
    def inner() -> None:
        raise error

    @retry(max_attempts=3, delay=0)
    def outer() -> None:
        inner()

    with pytest.raises(TimeoutError):
        outer()
    (inner_note, outer_note) = error.__notes__
    assert ".inner gave up after 2 attempts" in inner_note
    assert ".outer gave up after 3 attempts" in outer_note


def test_notes_are_skipped_where_python_has_none(clock: FakeClock) -> None:
    class NoNotesError(Exception):
        add_note = property()  # hasattr() is False, as on Python 3.10

        def __getattribute__(self, name: str) -> Any:
            if name == "add_note":
                raise AttributeError(name)
            return super().__getattribute__(name)

    fn = retry(max_attempts=2, delay=0)(Flaky(failures=5, error=NoNotesError))
    with pytest.raises(NoNotesError) as info:
        fn()
    assert getattr(info.value, "__notes__", []) == []


# --- deadline ----------------------------------------------------------------------------


def test_deadline_stops_before_a_wait_that_would_reach_it(clock: FakeClock) -> None:
    flaky = Flaky(failures=100)
    fn = retry(max_attempts=10, delay=1, backoff=2, jitter=None, deadline=5)(flaky)
    with pytest.raises(ConnectionError) as info:
        fn()
    # waits 1 and 2 fit (t=3); the 4 s wait would end at t=7 > 5: no third wait
    assert clock.sleeps == [1.0, 2.0]
    assert flaky.calls == 3
    if HAS_NOTES:
        assert "deadline of 5 s leaves 2 s" in notes(info.value)


def test_deadline_counts_the_attempts_own_time(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=10, delay=0.5, jitter=None, backoff=1, deadline=timedelta(seconds=4))
    def slow() -> None:
        nonlocal calls
        calls += 1
        clock.advance(1.0)  # each attempt takes a second
        raise TimeoutError

    with pytest.raises(TimeoutError) as info:
        slow()
    # starts at t=0, 1.5, 3.0; the third ends at t=4: no time left
    assert calls == 3
    if HAS_NOTES:
        assert "the deadline of 4 s has passed" in notes(info.value)
    assert clock.now - 1000.0 <= 4.0


def test_deadline_passed_during_an_overshooting_sleep(clock: FakeClock) -> None:
    def oversleep(seconds: float) -> None:
        clock.sleep(seconds * 10)  # a busy machine wakes up late

    _policy.sleep = oversleep  # fake_retry_seams restores it
    flaky = Flaky(failures=100)
    fn = retry(max_attempts=10, delay=1, jitter=None, deadline=5)(flaky)
    with pytest.raises(ConnectionError) as info:
        fn()
    assert flaky.calls == 1  # woke at t=10: the next attempt is not started
    if HAS_NOTES:
        assert "the deadline of 5 s has passed" in notes(info.value)


def test_no_sleep_after_a_slow_hook_used_the_time_left(clock: FakeClock) -> None:
    def slow_hook(state: RetryState) -> None:
        clock.advance(4.0)  # e.g. a metrics call that hung for four seconds

    flaky = Flaky(failures=100)
    fn = retry(max_attempts=10, delay=2, jitter=None, deadline=5, on_retry=slow_hook)(flaky)
    with pytest.raises(ConnectionError) as info:
        fn()
    # at t=0 the 2 s wait fitted; after the hook only 1 s is left: no sleep, no attempt
    assert clock.sleeps == []
    assert flaky.calls == 1
    assert fn.retry_stats().giveups == 1
    if HAS_NOTES:
        assert "the deadline of 5 s leaves 1 s, less than the 2 s wait" in notes(info.value)


def test_zero_wait_after_a_slow_hook_does_not_start_a_late_attempt(clock: FakeClock) -> None:
    fn = retry(max_attempts=10, delay=0, deadline=5, on_retry=lambda state: clock.advance(6.0))(
        Flaky(failures=100)
    )
    with pytest.raises(ConnectionError):
        fn()
    assert fn.retry_stats().attempts == 1


def test_deadline_with_results_raises_retry_exhausted_error(clock: FakeClock) -> None:
    fn = retry(max_attempts=10, delay=3, jitter=None, deadline=5, retry_on_result=bool)(lambda: 1)
    with pytest.raises(RetryExhaustedError, match="deadline") as info:
        fn()
    assert info.value.attempts == 2


# --- Retry-After --------------------------------------------------------------------------


class ThrottledError(Exception):
    def __init__(self, retry_after: Any = None, response: Any = None) -> None:
        super().__init__("429 Too Many Requests")
        if retry_after is not None:
            self.retry_after = retry_after
        self.response = response


class Response:
    def __init__(self, headers: Any) -> None:
        self.headers = headers


class ResponseError(Exception):
    """Shaped like aiohttp's ClientResponseError: the headers are on the exception."""

    def __init__(self, headers: Any) -> None:
        super().__init__("503 Service Unavailable")
        self.headers = headers


def _raise_then_ok(error: BaseException) -> Any:
    calls = 0

    def fn() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise error
        return "ok"

    return fn


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ThrottledError(retry_after=7), 7.0),
        (ThrottledError(retry_after=2.5), 2.5),
        (ThrottledError(retry_after=timedelta(seconds=3)), 3.0),
        (ThrottledError(response=Response({"Retry-After": "12"})), 12.0),
        (ThrottledError(response=Response({"retry-after": "4"})), 4.0),
        (ThrottledError(response=Response({"Retry-After": 0})), 0.0),
        (ThrottledError(response=Response({"Retry-After": b"6"})), 6.0),
        (ResponseError({"Retry-After": "9"}), 9.0),
        (ResponseError(None), 1.0),  # no advice: the backoff
        (ThrottledError(retry_after=100), 30.0),  # capped by max_delay
        (ThrottledError(retry_after=-5), 0.0),
    ],
)
def test_retry_after_is_honoured(clock: FakeClock, error: BaseException, expected: float) -> None:
    fn = retry(delay=1, max_delay=30, jitter=None)(_raise_then_ok(error))
    assert fn() == "ok"
    assert fn.retry_stats().total_sleep_s == expected
    assert clock.sleeps == ([expected] if expected else [])


def test_retry_after_http_date(clock: FakeClock) -> None:
    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    _after.wall_clock = now.timestamp  # type: ignore[assignment]
    try:
        header = format_datetime(now + timedelta(seconds=20), usegmt=True)
        fn = retry(jitter=None)(
            _raise_then_ok(ThrottledError(response=Response({"Retry-After": header})))
        )
        assert fn() == "ok"
        naive = format_datetime((now + timedelta(seconds=5)).replace(tzinfo=None))
        fn = retry(jitter=None)(
            _raise_then_ok(ThrottledError(response=Response({"Retry-After": naive})))
        )
        assert fn() == "ok"
    finally:
        _after.wall_clock = __import__("time").time
    assert clock.sleeps == [20.0, 5.0]


@pytest.mark.parametrize(
    "error",
    [
        ThrottledError(response=Response({"Retry-After": "soon"})),
        ThrottledError(response=Response({"Retry-After": "nan"})),
        ThrottledError(response=Response({})),
        ThrottledError(response=Response(None)),
        ThrottledError(response=Response(["not", "a", "mapping"])),
        ThrottledError(retry_after="inf"),
        ThrottledError(retry_after=object()),
        ThrottledError(retry_after=True),
        ThrottledError(),
    ],
)
def test_unreadable_retry_after_falls_back_to_backoff(
    clock: FakeClock, error: BaseException
) -> None:
    fn = retry(delay=1.5, jitter=None)(_raise_then_ok(error))
    assert fn() == "ok"
    assert clock.sleeps == [1.5]


def test_retry_after_beyond_the_deadline_gives_up_at_once(clock: FakeClock) -> None:
    flaky = Flaky(failures=5, error=lambda msg: ThrottledError(retry_after=20))  # type: ignore[arg-type]
    with pytest.raises(ThrottledError):
        retry(deadline=10, max_delay=60)(flaky)()
    assert flaky.calls == 1
    assert clock.sleeps == []


# --- hooks and logs -------------------------------------------------------------------


def test_on_retry_gets_an_immutable_state_before_each_sleep(clock: FakeClock) -> None:
    states: list[RetryState] = []

    def hook(state: RetryState) -> None:
        assert len(clock.sleeps) == state.attempt - 1  # called before the sleep
        states.append(state)

    flaky = Flaky(failures=2)

    @retry(max_attempts=4, delay=2, jitter=None, deadline=100, on_retry=hook)
    def fn() -> str:
        return flaky()

    clock_start = clock.now
    assert fn() == "ok"
    assert [(s.attempt, s.next_wait_s, s.max_attempts) for s in states] == [
        (1, 2.0, 4),
        (2, 4.0, 4),
    ]
    assert states[1].elapsed_s == pytest.approx(2.0)
    assert states[0].function.endswith("<locals>.fn")
    assert isinstance(states[0].exception, ConnectionError)
    assert states[0].result is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        states[0].attempt = 9  # type: ignore[misc]
    assert not hasattr(states[0], "__dict__")
    assert clock.now - clock_start == 6.0


def test_on_retry_sees_retried_results(clock: FakeClock) -> None:
    states: list[RetryState] = []
    values = iter([None, 1])
    fn = retry(delay=0, retry_on_result=lambda r: r is None, on_retry=states.append)(
        lambda: next(values)
    )
    fn()
    assert states[0].exception is None
    assert states[0].result is None


def test_each_retry_logs_one_warning_with_fields(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    @retry(max_attempts=3, delay=0.25, jitter=None)
    def fetch() -> None:
        raise ConnectionError("refused")

    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectionError):
        fetch()
    records = caplog.records
    assert len(records) == 2  # giving up logs nothing extra
    first = records[0]
    assert first.levelno == logging.WARNING
    assert first.name == __name__  # the function's module logger
    assert first.getMessage() == (
        "retrying test_each_retry_logs_one_warning_with_fields.<locals>.fetch: attempt 1/3 "
        "failed (ConnectionError: refused); next attempt in 250 ms"
    )
    assert first.attempt == 1
    assert first.max_attempts == 3
    assert first.exception == "ConnectionError"
    assert first.next_wait_s == 0.25
    assert first.function.endswith("fetch")
    assert first.elapsed_s >= 0
    assert "attempt 2/3" in records[1].getMessage()


def test_logger_option_and_disabled_logger(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = logging.getLogger("tests.retry.quiet")
    quiet.setLevel(logging.ERROR)
    with caplog.at_level(logging.DEBUG, logger="tests.retry.named"):
        retry(delay=0, logger="tests.retry.named")(Flaky(1))()
        retry(delay=0, logger=quiet)(Flaky(1))()
    assert [r.name for r in caplog.records] == ["tests.retry.named"]


def test_result_retries_are_logged(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    values = iter([503, 200])
    with caplog.at_level(logging.WARNING):
        retry(delay=0, retry_on_result=lambda r: r == 503)(lambda: next(values))()
    assert "failed (returned 503)" in caplog.records[0].getMessage()
    assert caplog.records[0].exception is None  # type: ignore[attr-defined]


# --- async -----------------------------------------------------------------------------


async def test_async_function_retries_with_async_sleep(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=4, delay=1, jitter=None)
    async def fetch(x: int) -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError
        return x * 2

    assert asyncio.iscoroutinefunction(fetch)
    assert await fetch(21) == 42
    assert clock.sleeps == [1.0, 2.0]


async def test_async_deadline_and_budget_count_from_the_first_attempts_start(
    clock: FakeClock,
) -> None:
    budget = RetryBudget(ratio=1.0, min_retries_per_s=0.0)  # one retry per recorded call
    calls = 0

    @retry(max_attempts=10, delay=1, backoff=1, jitter=None, deadline=4, budget=budget)
    async def fetch() -> str:
        nonlocal calls
        calls += 1
        clock.advance(1.5)  # each attempt takes 1.5 s, then fails
        raise ConnectionError(f"failure {calls}")

    with pytest.raises(ConnectionError) as info:
        await fetch()
    # Attempt 2 ends at 4.0 s from the first start: no time is left for a wait. Counted from
    # the first failure instead, there would be; and without the call recorded in the
    # budget, attempt 2 would have been refused.
    assert calls == 2
    assert budget.refusals == 0  # so only the deadline can have stopped attempt 3
    if HAS_NOTES:
        assert "the deadline of 4 s has passed" in notes(info.value)
    assert fetch.retry_stats().retries == 1


async def test_async_result_retries_and_exhaustion(clock: FakeClock) -> None:
    @retry(max_attempts=2, delay=0, retry_on_result=lambda r: r is None)
    async def fetch() -> None:
        return None

    with pytest.raises(RetryExhaustedError):
        await fetch()
    values = iter([None, 5])

    @retry(max_attempts=2, delay=0, retry_on_result=lambda r: r is None)
    async def fetch_twice() -> int | None:
        return next(values)

    assert await fetch_twice() == 5


async def test_cancellation_during_an_attempt_propagates_at_once(clock: FakeClock) -> None:
    started = asyncio.Event()
    calls = 0

    @retry(max_attempts=5, exceptions=BaseException)
    async def hang() -> None:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(hang())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("exceptions", [Exception, BaseException, lambda exc: True])
async def test_cancellation_during_a_sleep_propagates_at_once(exceptions: Any) -> None:
    # Real asyncio.sleep of an hour: only cancellation can end this test quickly, and a
    # cancellation that was swallowed or retried would leave the task running.
    calls = 0

    @retry(max_attempts=5, delay=3600, jitter=None, exceptions=exceptions)
    async def down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError

    task = asyncio.create_task(down())
    for _ in range(5):
        await asyncio.sleep(0)
    assert calls == 1
    assert not task.done()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    assert done == {task}
    assert task.cancelled()
    assert calls == 1
    stats = down.retry_stats()
    assert (stats.calls, stats.retries, stats.successes, stats.giveups) == (1, 1, 0, 1)


async def test_async_waits_use_asyncio_sleep_and_let_other_tasks_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_sleep = asyncio.sleep
    waits: list[float] = []
    ticks = 0

    async def recording_sleep(seconds: float, result: Any = None) -> Any:
        waits.append(seconds)
        return await real_sleep(0, result)

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    ticks_during_wait: list[int] = []

    @retry(max_attempts=3, delay=5, jitter=None)
    async def fetch() -> str:
        ticks_during_wait.append(ticks)
        if len(ticks_during_wait) < 3:
            raise ConnectionError
        return "ok"

    background = asyncio.create_task(other_task())
    try:
        assert await fetch() == "ok"
    finally:
        background.cancel()
    assert waits == [5.0, 10.0]
    # the other task ran during each wait: the loop was never blocked
    assert ticks_during_wait[0] < ticks_during_wait[1] < ticks_during_wait[2]


async def test_async_gives_up_with_the_last_exception_itself(clock: FakeClock) -> None:
    raised: list[ConnectionError] = []

    @retry(max_attempts=3, delay=1, jitter=None)
    async def fetch() -> None:
        raised.append(ConnectionError(f"reset {len(raised) + 1}"))
        raise raised[-1]

    with pytest.raises(ConnectionError) as info:
        await fetch()
    assert info.value is raised[-1]
    assert info.value.__context__ is None
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-1] == "fetch"
    if HAS_NOTES:
        assert "gave up after 3 attempts (3 s since the first failure)" in notes(info.value)


def test_keyboard_interrupt_during_a_wait_propagates_and_is_counted(clock: FakeClock) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    _policy.sleep = interrupted  # fake_retry_seams restores it
    flaky = Flaky(failures=5)
    fn = retry(max_attempts=5, exceptions=BaseException)(flaky)
    with pytest.raises(KeyboardInterrupt):
        fn()
    assert flaky.calls == 1
    stats = fn.retry_stats()
    assert (stats.calls, stats.successes, stats.giveups) == (1, 0, 1)


def test_real_sleep_is_the_default_seam() -> None:
    # A real (tiny) sleep through the default seams, to prove they are wired.
    fn = retry(max_attempts=2, delay=0.001, jitter=None)(Flaky(1))
    assert fn() == "ok"
    assert fn.retry_stats().total_sleep_s >= 0.001


async def test_real_async_sleep_is_the_default_seam() -> None:
    calls = 0

    @retry(max_attempts=2, delay=0.001, jitter=None)
    async def fn() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError
        return calls

    assert await fn() == 2


# --- methods ---------------------------------------------------------------------------


class Client:
    def __init__(self) -> None:
        self.flaky = Flaky(failures=1, value="method")

    @retry(delay=0)
    def get(self, suffix: str = "") -> str:
        return self.flaky() + suffix

    @retry(delay=0)
    async def aget(self) -> str:
        return self.flaky()

    @classmethod
    @retry(delay=0)
    def build(cls) -> Client:
        return cls()

    @retry(delay=0)
    @classmethod
    def outer_build(cls) -> str:
        return cls.__name__

    @retry(delay=0)
    @staticmethod
    def static(flaky: Flaky) -> str:
        return flaky()


async def test_methods_classmethods_staticmethods_and_async_methods(clock: FakeClock) -> None:
    client = Client()
    assert client.get("!") == "method!"
    assert client.flaky.calls == 2
    client = Client()
    assert await client.aget() == "method"
    assert isinstance(Client.build(), Client)
    assert Client.outer_build() == "Client"
    assert Client.static(Flaky(2, value="static")) == "static"
    assert Client.get.retry_stats().name == "Client.get"  # type: ignore[attr-defined]


def test_generator_functions_are_refused() -> None:
    def gen() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        retry(gen)


# --- statistics ------------------------------------------------------------------------


def test_stats_count_every_outcome(clock: FakeClock) -> None:
    outcomes = iter(
        [
            "ok",
            ConnectionError(),
            "ok",
            ConnectionError(),
            ConnectionError(),
            ValueError("not retried"),
        ]
    )

    @retry(max_attempts=2, delay=0.5, jitter=None, exceptions=ConnectionError)
    def fn() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    assert fn() == "ok"  # 1 attempt
    assert fn() == "ok"  # 2 attempts
    with pytest.raises(ConnectionError):
        fn()  # 2 attempts, give up
    with pytest.raises(ValueError, match="not retried"):
        fn()  # 1 attempt, not retried
    assert fn.retry_stats() == RetryStats(
        name="test_stats_count_every_outcome.<locals>.fn",
        calls=4,
        attempts=6,
        retries=2,
        successes=2,
        successes_after_retry=1,
        giveups=2,
        fallbacks=0,
        budget_refusals=0,
        total_sleep_s=1.0,
    )


def test_attempts_read_inside_a_running_call_count_the_finished_ones(clock: FakeClock) -> None:
    """Each attempt is counted as it ends, like a call: 0, 1, 2 inside attempts 1, 2, 3."""
    seen: list[int] = []

    @retry(max_attempts=3, delay=0)
    def fetch() -> str:
        seen.append(fetch.retry_stats().attempts)
        if len(seen) < 3:
            raise ConnectionError
        return "ok"

    assert fetch() == "ok"
    assert seen == [0, 1, 2]
    assert fetch.retry_stats().attempts == 3
    assert fetch() == "ok"
    assert seen[3] == 3


async def test_attempts_read_inside_running_coroutines_and_blocks(clock: FakeClock) -> None:
    seen: list[int] = []

    @retry(max_attempts=3, delay=0, retry_on_result=lambda r: r is None)
    async def fetch() -> str | None:
        seen.append(fetch.retry_stats().attempts)
        return None if len(seen) < 3 else "ok"

    assert await fetch() == "ok"
    context = retry_context(max_attempts=3, delay=0)
    for attempt in context:
        with attempt:
            seen.append(context.retry_stats().attempts)
            if attempt.number < 3:
                raise TimeoutError
    assert seen == [0, 1, 2, 0, 1, 2]


def test_stats_are_exact_under_threads() -> None:
    with set_retry_waits(False):
        lock = threading.Lock()
        seen: dict[int, int] = {}

        @retry(max_attempts=3, exceptions=ConnectionError)
        def work(i: int) -> int:
            with lock:  # fail the first attempt of every third call
                seen[i] = seen.get(i, 0) + 1
                first = seen[i] == 1
            if first and i % 3 == 0:
                raise ConnectionError
            return i

        def worker(offset: int) -> None:
            for n in range(200):
                assert work(offset * 1000 + n) == offset * 1000 + n

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    failed_first = sum(1 for i in seen if i % 3 == 0)
    stats = work.retry_stats()
    assert stats.calls == 1600
    assert stats.successes == 1600
    assert stats.retries == failed_first == stats.successes_after_retry
    assert stats.attempts == 1600 + failed_first
    assert stats.giveups == 0


async def test_stats_are_exact_under_tasks(clock: FakeClock) -> None:
    attempts: dict[int, int] = {}

    @retry(max_attempts=3, delay=0.01)
    async def work(i: int) -> int:
        attempts[i] = attempts.get(i, 0) + 1
        await asyncio.sleep(0)
        if i % 2 and attempts[i] < 3:
            raise ConnectionError
        return i

    assert sorted(await asyncio.gather(*(work(i) for i in range(200)))) == list(range(200))
    stats = work.retry_stats()
    assert (stats.calls, stats.attempts, stats.retries) == (200, 400, 200)
    assert stats.successes_after_retry == 100
    assert stats.total_sleep_s == pytest.approx(sum(clock.sleeps))


# --- testing switches ----------------------------------------------------------------


def test_set_retry_waits_false_keeps_attempts_but_waits_zero(clock: FakeClock) -> None:
    flaky = Flaky(failures=100)
    fn = retry(max_attempts=4, delay=10, jitter=None, max_delay=100)(flaky)
    with set_retry_waits(False), pytest.raises(ConnectionError):
        fn()
    assert flaky.calls == 4
    assert clock.sleeps == []  # zero waits are not even slept
    assert fn.retry_stats().retries == 3
    with pytest.raises(ConnectionError):
        fn()  # restored on exit
    assert clock.sleeps == [10.0, 20.0, 40.0]


def test_switch_applies_without_with_until_reset(clock: FakeClock) -> None:
    set_retries(False)
    flaky = Flaky(failures=1)
    with pytest.raises(ConnectionError):
        retry()(flaky)()
    assert flaky.calls == 1
    reset_retry_settings()
    assert retry(delay=0)(flaky)() == "ok"


def test_set_retries_false_makes_one_attempt(clock: FakeClock) -> None:
    fn = retry(max_attempts=5, retry_on_result=lambda r: r is None)(lambda: None)
    with set_retries(False):
        with pytest.raises(RetryExhaustedError) as info:
            fn()
        flaky = Flaky(failures=3)
        with pytest.raises(ConnectionError) as error_info:
            retry(max_attempts=5)(flaky)()
    assert info.value.attempts == 1
    assert flaky.calls == 1
    assert getattr(error_info.value, "__notes__", []) == []


@pytest.mark.parametrize("switch", [set_retry_waits, set_retries])
def test_switches_refuse_truthy_non_bools(
    clock: FakeClock, switch: Callable[[bool], object]
) -> None:
    """(`clock` restores the switches afterwards, even if this test fails.)"""
    before = (_policy.settings.waits, _policy.settings.retrying)
    with pytest.raises(TypeError, match="enabled must be True or False, got str 'false'"):
        switch("false")  # type: ignore[arg-type]
    assert (_policy.settings.waits, _policy.settings.retrying) == before  # left unchanged


def test_switches_nest_and_restore(clock: FakeClock) -> None:
    with set_retry_waits(False):
        with set_retry_waits(True):
            assert _policy.settings.waits is True
        assert _policy.settings.waits is False
    assert _policy.settings.waits is True


@pytest.mark.parametrize(
    ("variable", "attribute"),
    [("MLOPS_DECORATORS_RETRY_NO_WAIT", "waits"), ("MLOPS_DECORATORS_RETRY_DISABLED", "retrying")],
)
def test_environment_variables_are_read_by_reset(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, variable: str, attribute: str
) -> None:
    for value in ("1", "true", " YES "):
        monkeypatch.setenv(variable, value)
        reset_retry_settings()
        assert getattr(_policy.settings, attribute) is False
    monkeypatch.setenv(variable, "0")
    reset_retry_settings()
    assert getattr(_policy.settings, attribute) is True


@pytest.mark.parametrize(
    ("variable", "expected_calls"),
    [("MLOPS_DECORATORS_RETRY_NO_WAIT", 3), ("MLOPS_DECORATORS_RETRY_DISABLED", 1)],
)
def test_environment_variables_are_read_at_import(variable: str, expected_calls: int) -> None:
    script = (
        "import time\n"
        "from mlops_decorators import retry\n"
        "calls = []\n"
        "@retry(max_attempts=3, delay=3600)\n"
        "def f():\n"
        "    calls.append(1)\n"
        "    raise OSError\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    f()\n"
        "except OSError:\n"
        "    pass\n"
        "print(len(calls), time.monotonic() - start < 5)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_DECORATORS_RETRY_")}
    env[variable] = "1"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(expected_calls), "True"]


@pytest.mark.parametrize(
    "statement",
    [
        "import mlops_decorators.retrying",
        "from mlops_decorators import RetryBudget, retry, retry_context, set_retry_waits",
    ],
)
def test_import_is_light(statement: str) -> None:
    script = (
        f"import sys\n{statement}\n"
        "heavy = {'numpy', 'pydantic', 'psutil', 'redis', 'xxhash', 'asyncio', 'datetime', "
        "'email'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- argument checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_attempts": 0}, ValueError, r"max_attempts must be an int >= 1, got 0"),
        (
            {"max_attempts": 2.5},
            TypeError,
            r"max_attempts must be an int >= 1 or None, got float 2.5",
        ),
        ({"delay": -1}, ValueError, r"delay must be >= 0 seconds, got -1"),
        ({"delay": "1s"}, TypeError, r"delay must be a number of seconds or a timedelta"),
        ({"backoff": 0.5}, ValueError, r"backoff must be a finite number >= 1, got 0.5"),
        ({"backoff": float("inf")}, ValueError, r"backoff must be a finite number >= 1"),
        ({"backoff": "2"}, TypeError, r"backoff must be a number >= 1, got str '2'"),
        ({"backoff": 10**400}, ValueError, r"backoff must be a finite number >= 1, got 1000"),
        ({"backoff": True}, TypeError, r"backoff must be a number >= 1, got bool True"),
        ({"max_delay": -0.1}, ValueError, r"max_delay must be >= 0 seconds, got -0.1"),
        (
            {"jitter": "uniform"},
            ValueError,
            r"jitter must be 'full', 'equal' or 'decorrelated', got 'uniform'",
        ),
        ({"jitter": -0.5}, ValueError, r"jitter must be >= 0 seconds, got -0.5"),
        ({"jitter": True}, TypeError, r"jitter must be .* got bool True"),
        ({"jitter": [1]}, TypeError, r"jitter must be .* got list \[1\]"),
        ({"deadline": 0}, ValueError, r"deadline must be > 0 seconds, got 0"),
        ({"deadline": -3}, ValueError, r"deadline must be > 0 seconds, got -3"),
        ({"exceptions": int}, TypeError, r"exceptions must be an exception class.*<class 'int'>"),
        ({"exceptions": (OSError, str)}, TypeError, r"\(<class 'str'> is not an exception class\)"),
        ({"exceptions": ()}, TypeError, r"non-empty tuple"),
        ({"exceptions": "OSError"}, TypeError, r"exceptions must be .* got str 'OSError'"),
        (
            {"retry_on_result": 3},
            TypeError,
            r"retry_on_result must be a callable taking one argument \(r -> bool\) or None, "
            r"got int 3",
        ),
        ({"giveup": "yes"}, TypeError, r"giveup must be a callable taking one argument"),
        ({"on_retry": 1}, TypeError, r"on_retry must be a callable taking one argument"),
        ({"logger": print}, TypeError, r"logger must be a logging.Logger, a logger name or None"),
        ({"budget": 0.2}, TypeError, r"budget must be a RetryBudget or None, got float 0.2"),
    ],
)
def test_bad_arguments_fail_at_decoration(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        retry(**kwargs)


def _no_argument() -> bool:
    return True


def _two_arguments(first: object, second: object) -> bool:
    return True


def _keyword_only(*, exc: object) -> bool:
    return True


@pytest.mark.parametrize(
    "option", ["exceptions", "giveup", "retry_on_result", "on_retry", "before_attempt", "wait"]
)
@pytest.mark.parametrize(
    "hook", [_no_argument, _two_arguments, _keyword_only, lambda: True, str.join]
)
def test_a_hook_that_cannot_take_one_argument_fails_at_decoration(
    option: str, hook: Callable[..., Any]
) -> None:
    calls = []

    with pytest.raises(TypeError) as info:

        @retry(**{option: hook})
        def fetch() -> None:
            calls.append(1)
            raise ConnectionError

    assert str(info.value).startswith(f"{option} must be ")
    assert "one argument" in str(info.value) or "predicate exc -> bool" in str(info.value)
    assert repr(hook) in str(info.value)
    assert calls == []
    with pytest.raises(TypeError, match=f"^{option} must be "):
        retry_context(**{option: hook})


def test_a_fallback_function_that_cannot_take_the_exception_fails_at_decoration() -> None:
    with pytest.raises(TypeError, match=r"^fallback must be a callable taking one argument"):
        retry(fallback=_no_argument)


class _Predicate:
    def __call__(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError)

    def check(self, exc: BaseException) -> bool:
        return True


@pytest.mark.parametrize(
    "hook",
    [
        lambda exc: True,
        lambda *args: True,
        lambda exc, retries=3: True,
        _Predicate(),
        _Predicate().check,  # bound: its receiver is not an argument
        functools.partial(_two_arguments, "first"),
        callable,  # a builtin of one argument
        bool,  # a class whose signature cannot be read
    ],
)
def test_hooks_of_one_argument_are_accepted(clock: FakeClock, hook: Callable[..., Any]) -> None:
    predicate = Exception if isinstance(hook, type) else hook  # a class is an exception filter
    fn = retry(exceptions=predicate, giveup=hook, on_retry=hook, before_attempt=hook, delay=0)(
        Flaky(failures=0)
    )
    assert fn() == "ok"


@pytest.mark.parametrize(
    "numeric",
    [
        {"max_attempts": np.int64(4)},
        {"max_attempts": np.int32(4), "delay": np.float64(1.0)},
        {"delay": np.int64(1), "backoff": np.float32(1.0), "max_delay": np.float64(10)},
        {"jitter": np.float64(0.0), "deadline": np.int64(100)},
        {"deadline": np.float64(100.0), "max_attempts": None},
    ],
)
def test_numpy_numbers_are_accepted_like_ints_and_floats(
    clock: FakeClock, numeric: dict[str, Any]
) -> None:
    plain = {k: v if v is None else v.item() for k, v in numeric.items()}
    results = []
    for options in (numeric, plain):
        with fake_retry_seams() as fake:
            fn = retry(**{"max_attempts": 4, "delay": 1, "backoff": 1, "jitter": None, **options})(
                Flaky(failures=3)
            )
            results.append((fn(), fake.sleeps))
    assert results[0] == results[1]
    assert results[0][0] == "ok"
    assert len(results[0][1]) == 3


def test_numpy_numbers_are_accepted_by_the_budget_and_as_retry_after(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=np.float64(0.5), min_retries_per_s=np.int64(1), window=np.int32(10))
    assert (budget.ratio, budget.min_retries_per_s, budget.window) == (0.5, 1.0, 10.0)
    error = ThrottledError(retry_after=np.int64(3))
    fn = retry(max_attempts=2, delay=60, max_delay=60, budget=budget)(Flaky(1, lambda m: error))
    assert fn() == "ok"
    assert clock.sleeps == [3.0]


def test_budget_argument_accepts_a_budget(clock: FakeClock) -> None:
    budget = RetryBudget()
    assert retry(budget=budget, delay=0)(Flaky(1))() == "ok"
