"""What `retry` hands out and keeps: the hook argument, the statistics and their counters.

`RetryState` is what the ``wait``, ``on_retry`` and ``before_attempt`` hooks receive;
`RetryStats` is the immutable snapshot ``retry_stats()`` returns; `Stats` holds the counters
of one decorated function (or block) behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._fork import fork_safe_lock
from .._stats import Counter


@dataclass(frozen=True, slots=True)
class RetryState:
    """What `retry` knows after a failed attempt; passed to the ``wait``, ``on_retry`` and
    ``before_attempt`` hooks.

    Attributes:
        function: Qualified name of the decorated function (or the block's name).
        attempt: Number of the attempt that just failed (1 for the first).
        max_attempts: The ``max_attempts`` option (None: attempts until the deadline).
        exception: What the failed attempt raised, or None if it returned a retried result.
        result: What the failed attempt returned (None when it raised).
        next_wait_s: Seconds that will be slept before the next attempt. The ``wait`` hook
            sees what `retry` would wait without it: the Retry-After advice, else the backoff.
        elapsed_s: Seconds since the first attempt started (with no ``deadline`` and no
            ``budget``, since the first attempt failed: the happy path then reads no clock).

    Example:
        >>> from mlops_decorators import retry
        >>> seen = []
        >>> @retry(max_attempts=2, delay=0, on_retry=seen.append)
        ... def fetch() -> str:
        ...     if not seen:
        ...         raise ConnectionError("reset")
        ...     return "ok"
        >>> fetch()
        'ok'
        >>> state = seen[0]
        >>> (state.function, state.attempt, state.max_attempts, type(state.exception).__name__)
        ('fetch', 1, 2, 'ConnectionError')
    """

    function: str
    attempt: int
    max_attempts: int | None
    exception: BaseException | None
    result: Any
    next_wait_s: float
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class RetryStats:
    """Counts for one decorated function since it was decorated (an immutable snapshot).

    Attributes:
        name: Qualified name of the decorated function (or the block's name).
        calls: Calls whose first attempt has finished (a call still in its first attempt is
            not counted yet, so every figure below is consistent with ``calls``).
        attempts: Attempts that have finished, first ones included. An attempt is counted
            when it ends, like a call: read from inside attempt *k* of a single call,
            ``attempts`` is *k - 1* (0, 1, 2, ...).
        retries: Attempts after the first that were scheduled (each followed a wait).
        successes: Calls that returned a value (the fallback is not counted as one).
        successes_after_retry: Of those, the calls that needed more than one attempt.
        giveups: Calls that stopped retrying on a failure: they raised (an exception or
            `RetryExhaustedError`) or returned the ``fallback``.
        fallbacks: Of those, the calls that returned the ``fallback`` instead of raising.
        budget_refusals: Retries refused by the `RetryBudget`.
        total_sleep_s: Seconds spent waiting between attempts (as scheduled).

    Example:
        >>> from mlops_decorators import retry
        >>> @retry(max_attempts=3, delay=0, retry_on_result=lambda r: r is None)
        ... def ready() -> bool | None:
        ...     return True
        >>> ready()
        True
        >>> stats = ready.retry_stats()
        >>> (stats.calls, stats.attempts, stats.successes, stats.giveups)
        (1, 1, 1, 0)
    """

    name: str
    calls: int
    attempts: int
    retries: int
    successes: int
    successes_after_retry: int
    giveups: int
    fallbacks: int
    budget_refusals: int
    total_sleep_s: float


class Stats:
    """Counters of one function. The happy path bumps one lock-free `Counter`; the others
    change only on the slow path, under a short lock."""

    __slots__ = (
        "__weakref__",
        "budget_refusals",
        "fallbacks",
        "first_try_ok",
        "giveups",
        "lock",
        "retries",
        "sleep_s",
        "slow_attempts",
        "slow_calls",
        "slow_ok",
    )

    def __init__(self) -> None:
        self.first_try_ok = Counter()
        self.lock = fork_safe_lock(self, "lock")
        self.slow_calls = self.slow_attempts = self.retries = 0
        self.slow_ok = self.giveups = self.fallbacks = self.budget_refusals = 0
        self.sleep_s = 0.0

    def __reduce__(self) -> tuple[type[Stats], tuple[()]]:
        # Counts are per process (and a lock cannot be pickled): a copy starts from zero.
        return Stats, ()

    def snapshot(self, name: str) -> RetryStats:
        first_ok = self.first_try_ok.value
        with self.lock:
            return RetryStats(
                name=name,
                calls=first_ok + self.slow_calls,
                attempts=first_ok + self.slow_attempts,
                retries=self.retries,
                successes=first_ok + self.slow_ok,
                successes_after_retry=self.slow_ok,
                giveups=self.giveups,
                fallbacks=self.fallbacks,
                budget_refusals=self.budget_refusals,
                total_sleep_s=self.sleep_s,
            )
