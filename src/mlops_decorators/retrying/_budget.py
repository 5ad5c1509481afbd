"""`RetryBudget`: retries capped relative to calls in a sliding window, shared by functions.

Kept apart from the retry engine because it is its own small concurrent data structure: ten
time buckets, a lock-free call counter in each, and a short lock to decide on a retry. The
engine passes the monotonic time it has already read; `clock` (replaced by tests) is read
only when a caller of the public methods gives no time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import _checks
from .._fork import fork_safe_lock
from .._stats import Counter

if TYPE_CHECKING:
    from datetime import timedelta

clock: Callable[[], float] = time.monotonic

BUCKETS = 10


class _Bucket:
    __slots__ = ("calls", "index", "retries")

    def __init__(self, index: int) -> None:
        self.index = index
        self.calls = Counter()
        self.retries = 0


class RetryBudget:
    """A limit on retries relative to calls, shared by any number of functions.

    Within a sliding ``window``, a retry is allowed while the retries already made stay below
    ``ratio * calls + min_retries_per_s * window``. When a dependency is down every call
    fails; without a budget each caller multiplies the load by ``max_attempts``; with one,
    the extra load stays near ``ratio``. Refused retries raise the failure at once.

    The window is kept in ten buckets (so it slides in tenths of ``window``). Recording a
    call takes no lock (one lock-free counter step); checking a retry takes a short lock.
    Under heavy thread contention a call landing exactly as its bucket is recycled may go
    uncounted, which only makes the budget slightly stricter.

    A copy (``pickle``, `copy.copy`, `copy.deepcopy`) has the same options and an empty
    window: what a budget counts belongs to the process counting it (and to its monotonic
    clock), so a budget sent to a worker process starts afresh there. Budgets shared within
    one pickled object stay shared after loading.

    Args:
        ratio: Retries allowed per call in the window (0.2: one retry per five calls).
        min_retries_per_s: A floor, so that rarely-called functions can still retry.
        window: Length of the sliding window, in seconds or as a `timedelta`.

    Raises:
        TypeError: An argument is not a number.
        ValueError: ``ratio`` or ``min_retries_per_s`` is negative, or ``window`` is not
            positive.

    Example:
        >>> budget = RetryBudget(ratio=0.1, min_retries_per_s=0.0, window=60)
        >>> budget.can_retry()  # no calls yet, no floor: nothing to spend
        False
        >>> budget.record_call()
        >>> budget.try_spend(), budget.try_spend()  # 0.1 x 1 call allows one retry
        (True, False)
        >>> budget.refusals
        1
    """

    __slots__ = (
        "__weakref__",
        "_buckets",
        "_lock",
        "_per_bucket",
        "_refusals",
        "min_retries_per_s",
        "ratio",
        "window",
    )

    def __init__(
        self, ratio: float = 0.2, min_retries_per_s: float = 1.0, window: float | timedelta = 10.0
    ) -> None:
        self.ratio = _checks.number("ratio", ratio, ge=0)
        self.min_retries_per_s = _checks.number("min_retries_per_s", min_retries_per_s, ge=0)
        self.window = _checks.seconds("window", window, allow_zero=False)
        self._per_bucket = BUCKETS / self.window  # bucket index = time * _per_bucket
        self._buckets = [_Bucket(-BUCKETS - 1) for _ in range(BUCKETS)]
        self._lock = fork_safe_lock(self, "_lock")
        self._refusals = Counter()

    def __reduce__(self) -> tuple[type[RetryBudget], tuple[float, float, float]]:
        return RetryBudget, (self.ratio, self.min_retries_per_s, self.window)

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self.ratio!r}, min_retries_per_s={self.min_retries_per_s!r}, "
            f"window={self.window!r})"
        )

    @property
    def refusals(self) -> int:
        """How many retries this budget has refused so far.

        Example:
            >>> budget = RetryBudget(ratio=0.0, min_retries_per_s=0.0)
            >>> budget.try_spend(), budget.refusals
            (False, 1)
        """
        return self._refusals.value

    def record_call(self, now: float | None = None) -> None:
        """Count one call (`retry` does this for you). Lock-free unless a bucket turns.

        Args:
            now: When the call started on the monotonic clock, if already read.

        Example:
            >>> budget = RetryBudget(ratio=0.5, min_retries_per_s=0.0)
            >>> for _ in range(4):
            ...     budget.record_call()
            >>> [budget.try_spend() for _ in range(3)]  # 0.5 x 4 calls: two retries
            [True, True, False]
        """
        index = int((clock() if now is None else now) * self._per_bucket)
        bucket = self._buckets[index % BUCKETS]
        if bucket.index != index:
            bucket = self._bucket(index)
        bucket.calls.increment()

    def can_retry(self, now: float | None = None) -> bool:
        """Whether a retry made now would be allowed (nothing is recorded).

        Args:
            now: The monotonic time, if already read.

        Returns:
            True while the retries in the window are below the allowance.

        Example:
            >>> budget = RetryBudget(ratio=0.2, min_retries_per_s=0.0)
            >>> budget.can_retry()
            False
            >>> budget.record_call()
            >>> budget.can_retry(), budget.refusals  # asking spends and refuses nothing
            (True, 0)
        """
        index = int((clock() if now is None else now) * self._per_bucket)
        with self._lock:
            return self._allows(index)

    def try_spend(self, now: float | None = None) -> bool:
        """Record a retry if the budget allows it; count a refusal if not (`retry` does this
        before each retry).

        Args:
            now: The monotonic time, if already read.

        Returns:
            True if the retry may go ahead.

        Example:
            >>> budget = RetryBudget(ratio=0.0, min_retries_per_s=0.1, window=10)
            >>> budget.try_spend(), budget.try_spend()  # the floor: 0.1/s x 10 s = 1 retry
            (True, False)
        """
        index = int((clock() if now is None else now) * self._per_bucket)
        with self._lock:
            if self._allows(index):
                self._bucket_locked(index).retries += 1
                return True
        self._refusals.increment()
        return False

    def _bucket(self, index: int) -> _Bucket:
        with self._lock:
            return self._bucket_locked(index)

    def _bucket_locked(self, index: int) -> _Bucket:
        slot = index % BUCKETS
        bucket = self._buckets[slot]
        if bucket.index < index:
            bucket = self._buckets[slot] = _Bucket(index)
        return bucket  # an older index (a slow thread) lands in the newer bucket

    def _allows(self, index: int) -> bool:
        oldest = index - BUCKETS
        calls = retries = 0
        for bucket in self._buckets:
            if oldest < bucket.index <= index:
                calls += bucket.calls.value
                retries += bucket.retries
        return retries < self.ratio * calls + self.min_retries_per_s * self.window
