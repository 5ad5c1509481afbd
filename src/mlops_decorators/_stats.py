"""Counters, a bounded latency window, and the per-name registry of call statistics.

Hot paths count with `Counter`, which needs no lock: ``next()`` on an `itertools.count`
is a single atomic step in CPython. Durations go to a `DurationWindow`, which takes a short
lock because it updates several fields together; its percentiles come from the most recent
``window`` samples, so memory stays bounded however many calls are made.

A `Registry` maps a name to its `Series` (durations, errors by type, calls in progress) and
hands out immutable `CallStats` snapshots. `timer` records into `default_registry`, and so
will `monitor`, so one report reads both; a decorator may take its own `Registry` instead.
A registry keeps at most ``max_names`` names apart (later new names share one series, with a
warning, once), and its `Registry.reset` drops the series nothing else holds, so neither a
name per item nor a long-running process grows memory without bound.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

from ._events import FUNCTION, RateLimit

DEFAULT_WINDOW = 1024
#: Exception types counted by name per series; later new types count under `OTHER_ERRORS`.
DEFAULT_MAX_ERROR_TYPES = 20
OTHER_ERRORS = "other"
#: Names a registry keeps apart; later new names share the series `OTHER_NAMES`.
DEFAULT_MAX_NAMES = 1000
OTHER_NAMES = "(other names)"

_logger = logging.getLogger(__name__)


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


#: The fields of `DurationSummary`, for snapshot types that extend it.
SUMMARY_FIELDS = tuple(f.name for f in fields(DurationSummary))


@dataclass(frozen=True, slots=True)
class CallStats(DurationSummary):
    """Statistics of the calls recorded under one name (an immutable snapshot).

    The duration fields are `DurationSummary`'s: ``count`` is the number of calls that
    finished, errors included.

    Attributes:
        name: The series' name (a function's qualified name, or a block's name).
        errors: Exception class name -> calls that raised it, most frequent first; types first
            seen after the series' limit count under ``"other"``.
        in_progress: Calls started and not finished yet.

    Example:
        >>> series = Registry().series("load")
        >>> series.record(2_000_000)
        >>> series.failed(KeyError("id"))
        >>> stats = series.snapshot()
        >>> (stats.name, stats.count, stats.max_s, dict(stats.errors), stats.in_progress)
        ('load', 1, 0.002, {'KeyError': 1}, 0)
    """

    name: str
    errors: Mapping[str, int]
    in_progress: int


class Series:
    """The live statistics of one name; get one with `Registry.series`.

    What a wrapper calls, and when:

    - ``start()`` when a call starts and ``finish()`` when it ends, if it reports calls in
      progress (two lock-free counters; in progress is their difference);
    - ``record(ns)`` with the duration of every finished call (see `DurationWindow.record`);
    - ``failed(exc)`` for every call that raised (rare path: takes a short lock).

    Wrappers bind these once; `reset` keeps them working.

    Args:
        name: The series' name.
        window: Durations kept for percentiles.
        max_error_types: Exception types counted by name; later new types count as
            ``"other"``, so a stream of distinct exception classes cannot grow memory.
    """

    __slots__ = (
        "__weakref__",
        "_errors",
        "_finished",
        "_lock",
        "_max_error_types",
        "_started",
        "durations",
        "finish",
        "name",
        "record",
        "start",
    )

    def __init__(
        self,
        name: str,
        *,
        window: int = DEFAULT_WINDOW,
        max_error_types: int = DEFAULT_MAX_ERROR_TYPES,
    ) -> None:
        self.name = name
        self.durations = DurationWindow(window)
        self.record = self.durations.record
        self._started = Counter()
        self._finished = Counter()
        self.start = self._started.increment
        self.finish = self._finished.increment
        self._lock = threading.Lock()
        self._errors: dict[str, int] = {}
        self._max_error_types = max_error_types

    def __repr__(self) -> str:
        return f"Series({self.name!r})"

    def failed(self, error: BaseException) -> None:
        """Count one call that raised `error`, by its class name (the log's ``exception``)."""
        kind = type(error).__name__
        with self._lock:
            errors = self._errors
            # First come, first named: a type never moves to "other" later, so every
            # exported per-type counter only grows.
            if kind not in errors and len(errors) >= self._max_error_types:
                kind = OTHER_ERRORS
            errors[kind] = errors.get(kind, 0) + 1

    def snapshot(self) -> CallStats:
        """An immutable snapshot of this series."""
        summary = self.durations.summary()
        # Two lock-free reads are two instants: calls that start and finish between them
        # would be counted as running. Read `started` again until it did not move across
        # the read of `finished`: the figure then held at that instant (0 <= n <= running).
        started = self._started.value
        while True:
            finished = self._finished.value
            started, before = self._started.value, started
            if started == before:
                break
        in_progress = started - finished
        with self._lock:
            errors = sorted(self._errors.items(), key=lambda item: (-item[1], item[0]))
        return CallStats(
            **{f: getattr(summary, f) for f in SUMMARY_FIELDS},
            name=self.name,
            errors=MappingProxyType(dict(errors)),
            in_progress=in_progress,
        )

    def reset(self) -> None:
        """Forget durations and errors; calls in progress stay counted (they still run)."""
        self.durations.reset()
        with self._lock:
            self._errors = {}


class Registry:
    """A thread-safe map from name to `Series`, created on first use, with bounded names.

    Args:
        window: Durations each series keeps for percentiles.
        max_error_types: Exception types each series counts by name.
        max_names: Names kept apart; the series of later new names is the one named
            `OTHER_NAMES`, and a WARNING says so, once (again after a `reset`).

    Example:
        >>> registry = Registry(max_names=2)
        >>> fit = registry.series("fit")
        >>> fit is registry.series("fit")
        True
        >>> fit.record(1_000)
        >>> registry.series("eval").record(2_000)
        >>> registry.series("batch 3").record(3_000)  # one name too many: WARNING, once
        >>> [(s.name, s.count) for s in registry.snapshots()]
        [('(other names)', 1), ('eval', 1), ('fit', 1)]
        >>> registry.reset()  # empties "fit" (held above) and drops the rest
        >>> [(s.name, s.count) for s in registry.snapshots()]
        [('fit', 0)]
    """

    __slots__ = ("_lock", "_max_error_types", "_max_names", "_overflow", "_series", "_window")

    def __init__(
        self,
        *,
        window: int = DEFAULT_WINDOW,
        max_error_types: int = DEFAULT_MAX_ERROR_TYPES,
        max_names: int = DEFAULT_MAX_NAMES,
    ) -> None:
        self._window = window
        self._max_error_types = max_error_types
        self._max_names = max_names
        self._lock = threading.Lock()
        self._series: dict[str, Series] = {}
        self._overflow = RateLimit(math.inf)

    def series(self, name: str) -> Series:
        """The series of `name`, created empty on first use (the same object ever after,
        until a `reset` that finds it held by nothing else).

        Args:
            name: The series' name.

        Returns:
            The live `Series`, or the `OTHER_NAMES` series once ``max_names`` names are
            kept. Keep a reference to the series itself while recording into it (`reset`
            drops the series nothing else references), and bind its methods once, outside
            the hot path.
        """
        series = self._series.get(name)  # no lock when it exists: a dict read is atomic
        if series is not None:
            return series
        with self._lock:
            series = self._series.get(name)
            if series is not None:
                return series
            kept = len(self._series) - (OTHER_NAMES in self._series)
            overflow = kept >= self._max_names and name != OTHER_NAMES
            key = OTHER_NAMES if overflow else name
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = Series(
                    key, window=self._window, max_error_types=self._max_error_types
                )
        if overflow and self._overflow.ready():
            _logger.warning(
                "%d names already have statistics: %r and every later new name are counted "
                "together as %r. A name per item (timer(f'batch {i}')) grows without bound: "
                "use one name per kind of work.",
                self._max_names,
                name,
                OTHER_NAMES,
                extra={FUNCTION: name},
            )
        return series

    def snapshots(self) -> list[CallStats]:
        """Snapshots of every series, sorted by name (series with no calls included).

        Returns:
            One immutable `CallStats` per name.
        """
        with self._lock:
            series = sorted(self._series.items())
        return [s.snapshot() for _, s in series]

    def reset(self) -> None:
        """Forget every series' statistics, and the series nothing else holds.

        A series still referenced elsewhere (by a decorated function, say) is emptied and
        kept, so that it keeps recording under its name; the others are dropped, and their
        memory released.
        """
        with self._lock:
            held = weakref.WeakValueDictionary(self._series)
            # Dropping the only strong references frees the series no one else holds.
            self._series = {}
            self._series = dict(held.items())
            series = list(self._series.values())
        for s in series:
            s.reset()
        self._overflow.reset()


#: The registry `timer` records into (and the one `monitor` will default to).
default_registry = Registry()
