"""Counters, a bounded latency window and snapshot types shared by the stateful decorators.

Hot paths count with `Counter`, which needs no lock: ``next()`` on an `itertools.count`
is a single atomic step in CPython. Durations go to a `DurationWindow`, which takes a short
lock because it updates several fields together; its percentiles come from the most recent
``window`` samples, so memory stays bounded however many calls are made.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass

DEFAULT_WINDOW = 1024


class Counter:
    """A thread-safe counter that takes no lock: call ``increment()``, read ``value``."""

    __slots__ = ("_count", "_offset", "increment")

    def __init__(self) -> None:
        self._count = itertools.count()
        self._offset = 0
        self.increment = self._count.__next__

    @property
    def value(self) -> int:
        # repr is "count(N)": the only way to read an itertools.count without advancing it.
        return int(repr(self._count)[6:-1]) - self._offset

    def reset(self) -> None:
        """Start counting from zero again (wrappers keep their bound ``increment``)."""
        self._offset += self.value


@dataclass(frozen=True, slots=True)
class DurationSummary:
    """Durations of the calls seen so far, in seconds.

    ``count``, ``total_s``, ``mean_s``, ``min_s``, ``max_s`` and ``last_s`` cover every call;
    the percentiles cover the most recent calls only (a bounded window). With no calls yet,
    every duration is ``0.0``.
    """

    count: int
    total_s: float
    mean_s: float
    min_s: float
    max_s: float
    last_s: float
    p50_s: float
    p95_s: float
    p99_s: float


def percentile(sorted_values: list[float], q: float) -> float:
    """The `q`-th percentile (0-100) of ascending `sorted_values`, linearly interpolated."""
    if not sorted_values:
        return 0.0
    rank = (len(sorted_values) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


class DurationWindow:
    """Running totals of every duration plus the most recent `window` ones for percentiles.

    Recording takes no lock: a sample is appended to a pending queue (``deque.append`` is
    atomic), and pending samples are folded into the totals under a lock every
    ``FOLD_EVERY`` samples and whenever a summary is read. Durations are integer nanoseconds
    in, float seconds out.
    """

    FOLD_EVERY = 256

    __slots__ = ("_count", "_last", "_lock", "_max", "_min", "_pending", "_recent", "_total")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self._lock = threading.Lock()
        self._pending: deque[int] = deque()
        self._recent: deque[int] = deque(maxlen=window)
        self._count = 0
        self._total = 0
        self._min = 0
        self._max = 0
        self._last = 0

    def record(self, nanoseconds: int) -> None:
        """Add one duration (thread-safe, lock-free unless it is time to fold)."""
        self._pending.append(nanoseconds)
        if len(self._pending) >= self.FOLD_EVERY:
            self._fold()

    def _fold(self) -> None:
        with self._lock:
            pending, recent = self._pending, self._recent
            while pending:  # other threads may append meanwhile: drain what is there
                ns = pending.popleft()
                if not self._count or ns < self._min:
                    self._min = ns
                if ns > self._max:
                    self._max = ns
                self._count += 1
                self._total += ns
                self._last = ns
                recent.append(ns)

    def reset(self) -> None:
        """Forget everything recorded so far (wrappers keep their bound ``record``)."""
        with self._lock:
            self._pending.clear()
            self._recent.clear()
            self._count = self._total = self._min = self._max = self._last = 0

    def summary(self) -> DurationSummary:
        """An immutable summary, in seconds, of what was recorded so far."""
        self._fold()
        with self._lock:
            count, total_ns, low, high, last = (
                self._count,
                self._total,
                self._min / 1e9,
                self._max / 1e9,
                self._last / 1e9,
            )
            recent = sorted(ns / 1e9 for ns in self._recent)
        return DurationSummary(
            count=count,
            total_s=total_ns / 1e9,
            # Divide in nanoseconds: the mean of equal durations must equal them exactly.
            mean_s=total_ns / count / 1e9 if count else 0.0,
            min_s=low,
            max_s=high,
            last_s=last,
            p50_s=percentile(recent, 50),
            p95_s=percentile(recent, 95),
            p99_s=percentile(recent, 99),
        )
