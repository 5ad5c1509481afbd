"""Properties of `retry` that must hold for any options, checked with hypothesis on a fake clock."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import fake_retry_seams
from mlops_decorators.exceptions import RetryExhaustedError
from mlops_decorators.retrying import RetryState, _policy, retry

seconds = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
jitters = st.one_of(
    st.sampled_from(["full", "equal", "decorrelated", None]),
    st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(
    max_attempts=st.integers(min_value=1, max_value=12),
    outcomes=st.lists(st.sampled_from(["raise", "bad", "ok"]), min_size=1, max_size=20),
    jitter=jitters,
)
def test_never_more_than_max_attempts_calls(
    max_attempts: int, outcomes: list[str], jitter: Any
) -> None:
    calls = 0

    @retry(
        max_attempts=max_attempts, delay=0.1, jitter=jitter, retry_on_result=lambda r: r == "bad"
    )
    def fn() -> str:
        nonlocal calls
        outcome = outcomes[min(calls, len(outcomes) - 1)]
        calls += 1
        if outcome == "raise":
            raise ConnectionError
        return outcome

    with fake_retry_seams(), contextlib.suppress(ConnectionError, RetryExhaustedError):
        assert fn() == "ok"
    assert 1 <= calls <= max_attempts
    stats = fn.retry_stats()
    assert stats.attempts == calls
    assert stats.retries == calls - 1


@settings(max_examples=200, deadline=None)
@given(
    delay=seconds,
    backoff=st.floats(min_value=1.0, max_value=10.0),
    max_delay=seconds,
    jitter=jitters,
    max_attempts=st.integers(min_value=2, max_value=30),
    seed=st.integers(0, 2**32),
)
def test_waits_are_never_negative_nor_above_max_delay(
    delay: float, backoff: float, max_delay: float, jitter: Any, max_attempts: int, seed: int
) -> None:
    waits: list[float] = []
    fn = retry(
        max_attempts=max_attempts,
        delay=delay,
        backoff=backoff,
        max_delay=max_delay,
        jitter=jitter,
        on_retry=lambda state: waits.append(state.next_wait_s),
    )(lambda: 1 / 0)
    with fake_retry_seams(seed=seed) as clock, contextlib.suppress(ZeroDivisionError):
        fn()
    assert len(waits) == max_attempts - 1
    assert all(0.0 <= w <= max_delay for w in waits)
    assert all(0.0 < s <= max_delay for s in clock.sleeps)


@settings(max_examples=300, deadline=None)
@given(
    deadline=st.floats(min_value=0.001, max_value=60.0),
    durations=st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=1, max_size=30),
    delay=st.floats(min_value=0.0, max_value=10.0),
    jitter=jitters,
    retry_after=st.none() | st.floats(min_value=0.0, max_value=30.0),
    hook_time=st.floats(min_value=0.0, max_value=5.0),
    seed=st.integers(0, 2**32),
)
def test_no_attempt_starts_and_no_sleep_ends_at_or_after_the_deadline(
    deadline: float,
    durations: list[float],
    delay: float,
    jitter: Any,
    retry_after: float | None,
    hook_time: float,
    seed: int,
) -> None:
    starts: list[float] = []
    with fake_retry_seams(seed=seed) as clock:
        sleep_ends: list[float] = []
        real_sleep = clock.sleep

        def tracking_sleep(seconds: float) -> None:
            real_sleep(seconds)
            sleep_ends.append(clock.now)

        _policy.sleep = tracking_sleep

        @retry(
            max_attempts=len(durations) + 1,
            delay=delay,
            jitter=jitter,
            deadline=deadline,
            on_retry=lambda state: clock.advance(hook_time),  # a slow hook uses time too
        )
        def attempt() -> None:
            starts.append(clock.now)
            clock.advance(
                durations[min(len(starts) - 1, len(durations) - 1)]
            )  # the attempt's own time
            error = TimeoutError()
            error.retry_after = retry_after  # type: ignore[attr-defined]
            raise error

        first = clock.now
        with contextlib.suppress(TimeoutError):
            attempt()
    assert starts[0] == first
    assert all(start < first + deadline for start in starts)
    assert all(end < first + deadline for end in sleep_ends)


@settings(max_examples=200, deadline=None)
@given(
    delay=st.floats(min_value=0.0, max_value=10.0),
    backoff=st.floats(min_value=1.0, max_value=4.0),
    max_delay=st.floats(min_value=0.0, max_value=50.0),
    jitter=jitters,
    seed=st.integers(0, 2**32),
)
def test_jitter_bounds_per_mode(
    delay: float, backoff: float, max_delay: float, jitter: Any, seed: int
) -> None:
    states: list[RetryState] = []
    fn = retry(
        max_attempts=12,
        delay=delay,
        backoff=backoff,
        max_delay=max_delay,
        jitter=jitter,
        on_retry=states.append,
    )(lambda: 1 / 0)
    with fake_retry_seams(seed=seed), contextlib.suppress(ZeroDivisionError):
        fn()
    previous = delay
    eps = 1e-9
    for state in states:
        base = min(max_delay, delay * backoff ** (state.attempt - 1))
        wait = state.next_wait_s
        if jitter is None:
            assert wait == base
        elif jitter == "full":
            assert 0.0 <= wait <= base + eps
        elif jitter == "equal":
            assert base / 2 - eps <= wait <= base + eps
        elif jitter == "decorrelated":
            assert (
                min(delay, max_delay) - eps
                <= wait
                <= min(max_delay, max(previous, delay) * 3) + eps
            )
        else:
            assert base - eps <= wait <= min(max_delay, base + jitter) + eps
        previous = wait


# Eighths of a second: sums are exact in floating point, so the time with waits skipped and the
# time with waits slept (added up in another order) compare equal at every boundary.
eighths = st.integers(min_value=0, max_value=160).map(lambda n: n / 8)


@settings(max_examples=200, deadline=None)
@given(
    waits=st.lists(eighths, min_size=1, max_size=30),
    # Each attempt takes some time: with a fake clock, zero-time attempts never reach it.
    durations=st.lists(eighths.filter(bool), min_size=1, max_size=30),
    max_delay=eighths,
    deadline=eighths.filter(bool),
)
def test_custom_waits_until_a_deadline_keep_every_bound_with_waits_on_or_off(
    waits: list[float], durations: list[float], max_delay: float, deadline: float
) -> None:
    """With ``max_attempts=None`` only the deadline ends the retrying: no wait exceeds
    ``max_delay``, no attempt starts at or after the deadline, and with waits off the same
    attempts are made (the waits skipped still count), none of them slept."""

    def run(waits_on: bool) -> tuple[list[float], list[float]]:
        """The attempts' start times (from 0) and the sleeps of one call."""
        starts: list[float] = []
        with fake_retry_seams(start=0.0) as clock:

            @retry(
                max_attempts=None,
                deadline=deadline,
                max_delay=max_delay,
                wait=lambda state: waits[(state.attempt - 1) % len(waits)],
            )
            def attempt() -> None:
                starts.append(clock.now)
                clock.advance(durations[(len(starts) - 1) % len(durations)])
                raise TimeoutError

            _policy.settings.waits = waits_on
            with contextlib.suppress(TimeoutError):
                attempt()
        return starts, clock.sleeps

    starts, sleeps = run(waits_on=True)
    assert all(wait <= max_delay for wait in sleeps)
    assert all(start < deadline for start in starts)
    starts_without_waits, no_sleeps = run(waits_on=False)
    assert no_sleeps == []
    assert len(starts_without_waits) == len(starts)
