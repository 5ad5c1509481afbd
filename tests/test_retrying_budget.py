"""`RetryBudget`: retries capped relative to calls in a sliding window, shared and thread-safe."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from fakes import FakeClock, fake_retry_seams
from mlops_decorators.retrying import RetryBudget, retry


def test_floor_allows_retries_without_calls(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.5, min_retries_per_s=0.2, window=10)  # floor: 2 per window
    assert budget.can_retry()
    assert budget.try_spend()
    assert budget.try_spend()
    assert not budget.can_retry()
    assert not budget.try_spend()
    assert budget.refusals == 1


def test_ratio_of_calls_in_the_window(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.2, min_retries_per_s=0.0, window=10)
    for _ in range(50):
        budget.record_call()
    spent = sum(budget.try_spend() for _ in range(20))
    assert spent == 10  # 0.2 x 50


def test_window_slides(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=1.0, min_retries_per_s=0.0, window=10)
    budget.record_call(clock.monotonic())
    assert budget.try_spend()
    assert not budget.can_retry()
    clock.advance(5)
    assert not budget.can_retry()  # the retry is still in the window
    clock.advance(6)
    assert not budget.can_retry()  # ...and so is nothing: the call left with it
    budget.record_call(clock.monotonic())
    assert budget.can_retry()


def test_old_buckets_are_forgotten(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=1.0, min_retries_per_s=0.0, window=timedelta(seconds=1))
    for _ in range(100):
        budget.record_call(clock.monotonic())
        clock.advance(0.05)
    # only the last second's 20 calls count
    assert sum(budget.try_spend() for _ in range(40)) == pytest.approx(20, abs=2)


def test_a_late_thread_counts_in_the_newer_bucket(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=1.0, min_retries_per_s=0.0, window=10)
    budget.record_call(clock.monotonic())
    budget.record_call(clock.monotonic() - 10)  # a reading taken a window ago, recorded late
    assert sum(budget.try_spend() for _ in range(5)) == 2


def test_budget_stops_a_retry_storm_across_functions(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    budget = RetryBudget(ratio=0.1, min_retries_per_s=0.0, window=60)
    calls = {"a": 0, "b": 0}

    def make(name: str):  # type: ignore[no-untyped-def]
        @retry(max_attempts=5, delay=0, budget=budget)
        def down() -> None:
            calls[name] += 1
            raise ConnectionError("dependency down")

        return down

    a, b = make("a"), make("b")
    with caplog.at_level(logging.WARNING):
        for fn in (a, b) * 50:
            with pytest.raises(ConnectionError):
                fn()
    total_calls = 100
    retries = a.retry_stats().retries + b.retry_stats().retries
    assert retries <= 0.1 * total_calls + 1
    assert sum(calls.values()) <= total_calls + retries
    refusals = a.retry_stats().budget_refusals + b.retry_stats().budget_refusals
    assert refusals == budget.refusals > 80
    refused = [r for r in caplog.records if getattr(r, "budget_refused", False)]
    assert len(refused) == refusals
    assert refused[0].getMessage().startswith("retry budget exhausted: not retrying")


@pytest.mark.skipif(not hasattr(BaseException, "add_note"), reason="notes need Python 3.11")
def test_refusal_is_noted_on_the_exception(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.0, min_retries_per_s=0.0)
    fn = retry(budget=budget)(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError) as info:
        fn()
    assert "the retry budget refused a retry" in info.value.__notes__[0]


def test_refusal_on_a_result_is_logged(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    budget = RetryBudget(ratio=0.0, min_retries_per_s=0.0)
    with caplog.at_level(logging.WARNING), pytest.raises(Exception, match="budget"):
        retry(budget=budget, retry_on_result=lambda r: True)(lambda: 7)()
    assert "(returned 7)" in caplog.records[0].getMessage()


def test_recording_calls_is_thread_safe() -> None:
    budget = RetryBudget(ratio=1.0, min_retries_per_s=0.0, window=3600)
    with fake_retry_seams() as clock:

        def worker() -> None:
            for _ in range(2000):
                budget.record_call(clock.monotonic())

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(budget.try_spend() for _ in range(20_000)) == 16_000


def test_spending_is_exact_under_threads() -> None:
    budget = RetryBudget(ratio=0.5, min_retries_per_s=0.0, window=3600)
    granted: list[int] = []
    with fake_retry_seams():
        for _ in range(1000):
            budget.record_call()
        barrier = threading.Barrier(8)

        def worker() -> None:
            barrier.wait()
            granted.append(sum(budget.try_spend() for _ in range(200)))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(granted) == 500  # 0.5 x 1000 calls, never one more
    assert budget.refusals == 8 * 200 - 500


def test_explicit_times_need_no_clock() -> None:
    budget = RetryBudget(ratio=1.0, min_retries_per_s=0.0, window=10)
    budget.record_call(now=100.0)
    assert budget.can_retry(now=105.0)
    assert budget.try_spend(now=105.0)
    assert not budget.try_spend(now=105.0)
    assert not budget.can_retry(now=111.0)  # the call has left the window


def test_repr_and_arguments() -> None:
    assert repr(RetryBudget()) == "RetryBudget(ratio=0.2, min_retries_per_s=1.0, window=10.0)"
    with pytest.raises(ValueError, match=r"ratio must be a finite number >= 0, got -0.1"):
        RetryBudget(ratio=-0.1)
    with pytest.raises(TypeError, match=r"min_retries_per_s must be a number >= 0, got str"):
        RetryBudget(min_retries_per_s="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"window must be > 0 seconds, got 0"):
        RetryBudget(window=0)
    with pytest.raises(ValueError, match="finite"):
        RetryBudget(ratio=float("nan"))


def test_refusal_with_a_disabled_logger_is_still_counted(clock: FakeClock) -> None:
    quiet = logging.getLogger("tests.retry.budget.quiet")
    quiet.setLevel(logging.CRITICAL)
    budget = RetryBudget(ratio=0.0, min_retries_per_s=0.0)
    fn = retry(budget=budget, logger=quiet)(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        fn()
    assert fn.retry_stats().budget_refusals == budget.refusals == 1
