"""A flaky model-serving dependency, retried with jitter, a deadline and a shared budget.

Run it with ``python examples/retry_flaky_service.py``; it takes about a second. Waits are
scaled down to milliseconds so the demo is quick; in production they would be seconds.

1. A feature store that fails 10% of the time: retries with full jitter hide the failures.
2. A slow, failing endpoint: the deadline caps the whole call, waits included.
3. The store goes down: a shared `RetryBudget` stops the retry storm.
"""

from __future__ import annotations

import logging
import random
import time

from mlops_decorators.retrying import RetryBudget, RetryState, retry

logging.basicConfig(level=logging.ERROR)  # retry logs one WARNING per retry; keep the demo quiet

rng = random.Random(7)


class FeatureStore:
    """A stand-in for a network service that fails at a configurable rate."""

    def __init__(self, failure_rate: float) -> None:
        self.failure_rate = failure_rate
        self.requests = 0

    def get(self, entity: int) -> list[float]:
        self.requests += 1
        if rng.random() < self.failure_rate:
            raise ConnectionError(f"feature store reset the connection (request {self.requests})")
        return [entity * 0.1, entity * 0.2]


store = FeatureStore(failure_rate=0.1)
budget = RetryBudget(ratio=0.2, min_retries_per_s=1.0, window=10.0)
waits: list[float] = []


def remember_wait(state: RetryState) -> None:
    waits.append(state.next_wait_s)


@retry(
    max_attempts=4,
    exceptions=ConnectionError,
    delay=0.004,
    max_delay=0.05,
    jitter="full",
    budget=budget,
    on_retry=remember_wait,
)
def fetch_features(entity: int) -> list[float]:
    return store.get(entity)


def part_1_jitter() -> None:
    print("1. flaky feature store (10% failures), full jitter")
    succeeded = 0
    for entity in range(100):
        try:
            fetch_features(entity)
            succeeded += 1
        except ConnectionError:
            pass
    stats = fetch_features.retry_stats()
    print(f"   {succeeded} of 100 calls succeeded; {store.requests} requests made")
    print(
        f"   retries={stats.retries} successes_after_retry={stats.successes_after_retry} "
        f"giveups={stats.giveups} slept={stats.total_sleep_s * 1000:.1f} ms"
    )
    low, high = min(waits) * 1000, max(waits) * 1000
    print(f"   waits were spread out: min {low:.2f} ms, max {high:.2f} ms")


@retry(max_attempts=50, delay=0.02, backoff=1.5, jitter=None, deadline=0.25)
def slow_inference() -> str:
    time.sleep(0.03)  # every attempt takes 30 ms, then fails
    raise TimeoutError("inference endpoint timed out")


def part_2_deadline() -> None:
    print("2. failing endpoint with a 250 ms deadline (50 attempts allowed)")
    start = time.monotonic()
    try:
        slow_inference()
    except TimeoutError as exc:
        elapsed = time.monotonic() - start
        attempts = slow_inference.retry_stats().attempts
        print(f"   gave up after {attempts} attempts in {elapsed * 1000:.0f} ms: {exc}")
        for note in getattr(exc, "__notes__", []):
            print("   " + note.splitlines()[0])


def part_3_budget() -> None:
    print("3. the feature store goes down; the budget stops a retry storm")
    store.failure_rate = 1.0
    before = fetch_features.retry_stats()
    requests_before = store.requests
    failed = 0
    for entity in range(200):
        try:
            fetch_features(entity)
        except ConnectionError:
            failed += 1
    after = fetch_features.retry_stats()
    retries = after.retries - before.retries
    print(f"   {failed} calls failed; requests sent: {store.requests - requests_before}")
    print(
        f"   retries allowed: {retries}, refused by the budget: "
        f"{after.budget_refusals - before.budget_refusals} "
        f"(without a budget: up to {200 * 3} retries)"
    )


if __name__ == "__main__":
    part_1_jitter()
    part_2_deadline()
    part_3_budget()
