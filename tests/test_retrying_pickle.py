"""`retry_context(...)` and `RetryBudget` survive pickling (to a worker process, a config
object): the copy has the same options, fresh locks, and counts of its own from zero."""

from __future__ import annotations

import copy
import pickle
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from fakes import FakeClock, run_in_threads
from mlops_decorators.retrying import RetryBudget, RetryContext, RetryState, retry_context

T = TypeVar("T")


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError)


def record_state(state: RetryState) -> None:
    """A module-level hook: pickled by reference, as functions are."""


def roundtrip(obj: T) -> T:
    loaded: T = pickle.loads(pickle.dumps(obj))
    return loaded


def test_a_context_pickles_with_its_options_and_fresh_statistics(clock: FakeClock) -> None:
    context = retry_context(
        max_attempts=4,
        exceptions=is_connection_error,
        delay=2,
        jitter=None,
        deadline=60,
        on_retry=record_state,
        logger="tests.retry.pickled",
        name="load-shard",
    )
    for attempt in context:
        with attempt:
            pass
    assert context.retry_stats().calls == 1

    loaded = roundtrip(context)
    assert isinstance(loaded, RetryContext)
    assert repr(loaded) == "<RetryContext 'load-shard' max_attempts=4>"
    assert loaded.retry_stats().calls == 0  # counts belong to the process that made them
    numbers = []

    def block() -> None:
        for attempt in loaded:
            with attempt:
                numbers.append(attempt.number)
                raise ConnectionError

    with pytest.raises(ConnectionError):
        block()
    assert numbers == [1, 2, 3, 4]
    assert clock.sleeps == [2.0, 4.0, 8.0]
    assert loaded.retry_stats().attempts == 4
    assert context.retry_stats().attempts == 1  # the original is untouched


def test_a_budget_pickles_with_its_options_empty_and_with_a_new_lock(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.5, min_retries_per_s=0.0, window=30)
    for _ in range(4):
        budget.record_call()
    assert budget.try_spend()

    loaded = roundtrip(budget)
    assert isinstance(loaded, RetryBudget)
    assert repr(loaded) == repr(budget)
    assert not loaded.can_retry()  # an empty window: no calls to spend from yet
    assert loaded.refusals == 0
    calls = 1000

    def record() -> None:
        for _ in range(calls // 10):
            loaded.record_call()

    run_in_threads(record, 10)  # its lock works
    spent = sum(loaded.try_spend() for _ in range(calls))
    assert spent == calls // 2


@pytest.mark.parametrize("clone", [roundtrip, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_a_budget_shared_by_contexts_stays_shared_in_the_copy(
    clone: Callable[[tuple[RetryContext, RetryContext]], tuple[RetryContext, RetryContext]],
) -> None:
    budget = RetryBudget()
    contexts = [retry_context(budget=budget, name=name) for name in ("read", "write")]
    read, write = clone((contexts[0], contexts[1]))
    assert read._policy.budget is write._policy.budget
    assert read._policy.budget is not budget


def test_a_context_copy_has_its_own_lock() -> None:
    context = retry_context()
    loaded = roundtrip(context)
    assert isinstance(loaded, RetryContext)
    assert loaded._policy.stats.lock is not context._policy.stats.lock
    assert isinstance(loaded._policy.stats.lock, type(threading.Lock()))
