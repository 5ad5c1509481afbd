"""Counters, a bounded latency window, and the per-name registry of call statistics.

Hot paths count with `Counter`, which needs no lock: ``next()`` on an `itertools.count`
is a single atomic step in CPython. Durations go to a `DurationWindow`, which takes a short
lock because it updates several fields together; its percentiles come from the most recent
``window`` samples, so memory stays bounded however many calls are made.

A `Registry` maps a name (and a label set) to its `Series` (durations and their histogram,
errors by type and the last one, calls in progress) and hands out immutable `CallStats`
snapshots. `timer` and `monitor` record into `default_registry`, so one report reads both; a
decorator may take its own `Registry` instead. A registry keeps at most ``max_names`` names
apart (later new names share one series, with a warning, once), and its `Registry.reset`
drops the series nothing else holds, so neither a name per item nor a long-running process
grows memory without bound.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import weakref
from bisect import bisect_right
from collections import deque
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

from ._checks import positive_int
from ._events import FUNCTION, RateLimit
from ._fork import fork_safe_lock

DEFAULT_WINDOW = 1024
#: Exception types counted by name per series; later new types count under `OTHER_ERRORS`.
DEFAULT_MAX_ERROR_TYPES = 20
OTHER_ERRORS = "other"
#: Names a registry keeps apart; later new names share the series `OTHER_NAMES`.
DEFAULT_MAX_NAMES = 1000
OTHER_NAMES = "(other names)"
#: Upper bounds, in seconds, of the latency histogram of every series (a last bucket, +Inf,
#: counts the rest): Prometheus' default buckets, widened to 1 ms - 5 min for ML calls.
DURATION_BUCKETS_S: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
_BUCKET_BOUNDS_NS = tuple(round(bound * 1e9) for bound in DURATION_BUCKETS_S)
#: A label set: (key, value) pairs sorted by key; ``()`` for none.
Labels = tuple[tuple[str, str], ...]
#: Characters of an exception's message kept as a series' last error.
MAX_ERROR_MESSAGE = 300

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
    atomic), and pending samples are folded into the totals and the histogram buckets
    (`DURATION_BUCKETS_S`) under a lock every ``FOLD_EVERY`` samples and whenever a summary
    is read. Durations are integer nanoseconds in, float seconds out.
    """

    FOLD_EVERY = 256

    __slots__ = (
        "__weakref__",
        "_buckets",
        "_count",
        "_last",
        "_lock",
        "_max",
        "_min",
        "_pending",
        "_recent",
        "_total",
    )

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self._lock = fork_safe_lock(self, "_lock")
        self._pending: deque[int] = deque()
        self._recent: deque[int] = deque(maxlen=window)
        self._count = 0
        self._total = 0
        self._min = 0
        self._max = 0
        self._last = 0
        self._buckets = [0] * (len(_BUCKET_BOUNDS_NS) + 1)

    def record(self, nanoseconds: int) -> None:
        """Add one duration (thread-safe, lock-free unless it is time to fold)."""
        self._pending.append(nanoseconds)
        if len(self._pending) >= self.FOLD_EVERY:
            self._fold()

    def _fold(self) -> None:
        with self._lock:
            # Take what is there now (other threads may append meanwhile: the next fold takes
            # theirs) and fold it with builtins that loop in C: this runs once per FOLD_EVERY
            # calls, but its cost per sample is part of every call's overhead.
            popleft = self._pending.popleft
            batch = [popleft() for _ in range(len(self._pending))]
            if not batch:
                return
            self._last = batch[-1]
            self._recent.extend(batch)
            batch.sort()  # min, max and the buckets' counts come from the sorted batch
            if not self._count or batch[0] < self._min:
                self._min = batch[0]
            self._max = max(self._max, batch[-1])
            self._count += len(batch)
            self._total += sum(batch)
            buckets, counted = self._buckets, 0
            for index, bound in enumerate(_BUCKET_BOUNDS_NS):
                upto = bisect_right(batch, bound)  # a duration equal to a bound counts as "le"
                buckets[index] += upto - counted
                counted = upto
            buckets[-1] += len(batch) - counted

    def reset(self) -> None:
        """Forget everything recorded so far (wrappers keep their bound ``record``)."""
        with self._lock:
            self._pending.clear()
            self._recent.clear()
            self._count = self._total = self._min = self._max = self._last = 0
            self._buckets = [0] * len(self._buckets)

    def histogram(self) -> tuple[int, ...]:
        """Cumulative counts of the durations at most each of `DURATION_BUCKETS_S`, then of
        all of them (the +Inf bucket), as Prometheus exposes a histogram."""
        self._fold()
        with self._lock:
            return tuple(itertools.accumulate(self._buckets))

    def summary(self) -> DurationSummary:
        """An immutable summary, in seconds, of what was recorded so far."""
        return summarise((self,))


def summarise(windows: Iterable[DurationWindow]) -> DurationSummary:
    """One summary of the durations of several windows together (a function's label sets).

    Counts, totals, minimum and maximum are exact; the percentiles pool the windows' recent
    durations. Which window recorded last is not kept: ``last_s`` is exact for one window and
    the largest of the windows' last durations for several.
    """
    count = total_ns = last = high = 0
    low: int | None = None
    recent: list[int] = []
    for window in windows:
        window._fold()
        with window._lock:
            if not window._count:
                continue
            count += window._count
            total_ns += window._total
            low = window._min if low is None else min(low, window._min)
            high = max(high, window._max)
            last = max(last, window._last)
            recent.extend(window._recent)
    seconds = sorted(ns / 1e9 for ns in recent)
    return DurationSummary(
        count=count,
        total_s=total_ns / 1e9,
        # Divide in nanoseconds: the mean of equal durations must equal them exactly.
        mean_s=total_ns / count / 1e9 if count else 0.0,
        min_s=(low or 0) / 1e9,
        max_s=high / 1e9,
        last_s=last / 1e9,
        p50_s=percentile(seconds, 50),
        p95_s=percentile(seconds, 95),
        p99_s=percentile(seconds, 99),
    )


#: The fields of `DurationSummary`, for snapshot types that extend it.
SUMMARY_FIELDS = tuple(f.name for f in fields(DurationSummary))


@dataclass(frozen=True, slots=True)
class LastError:
    """The most recent exception a series' calls raised.

    Attributes:
        type: The exception's class name.
        message: ``str()`` of the exception, cut to a few hundred characters.
        time: When it was recorded, in seconds since the epoch (`time.time`).
    """

    type: str
    message: str
    time: float


@dataclass(frozen=True, slots=True)
class CallStats(DurationSummary):
    """Statistics of the calls recorded under one name and label set (an immutable snapshot).

    The duration fields are `DurationSummary`'s: ``count`` is the number of calls that
    finished, errors included.

    Attributes:
        name: The series' name (a function's qualified name, or a block's name).
        errors: Exception class name -> calls that raised it, most frequent first; types first
            seen after the series' limit count under ``"other"``.
        in_progress: Calls started and not finished yet.
        labels: The series' label set (empty for none).
        buckets: Cumulative counts of the durations at most each of `DURATION_BUCKETS_S`,
            then of all of them (the +Inf bucket).
        last_error: The most recent exception, or None.
        cpu_s: CPU time of the calls that measured it (``monitor(system_metrics=True)``).
        max_rss_delta_bytes: The largest growth of the process's RSS over one such call.

    Example:
        >>> series = Registry().series("load")
        >>> series.record(2_000_000)
        >>> series.failed(KeyError("id"))
        >>> stats = series.snapshot()
        >>> (stats.name, stats.count, stats.max_s, dict(stats.errors), stats.in_progress)
        ('load', 1, 0.002, {'KeyError': 1}, 0)
        >>> stats.last_error.message, stats.buckets[:2], stats.buckets[-1]
        ("'id'", (0, 1), 1)
    """

    name: str
    errors: Mapping[str, int]
    in_progress: int
    labels: Mapping[str, str]
    buckets: tuple[int, ...]
    last_error: LastError | None
    cpu_s: float
    max_rss_delta_bytes: int


class Series:
    """The live statistics of one name and label set; get one with `Registry.series`.

    What a wrapper calls, and when:

    - ``start()`` when a call starts and ``finish()`` when it ends, if it reports calls in
      progress (two lock-free counters; in progress is their difference);
    - ``record(ns)`` with the duration of every finished call (see `DurationWindow.record`);
      or, in a wrapper that calls ``finish()`` anyway, ``append(ns)`` and then ``fold()``
      whenever ``finish()`` returned a multiple of ``DurationWindow.FOLD_EVERY``: the same
      bounded queue, one Python call fewer per call;
    - ``failed(exc)`` for every call that raised (rare path: takes a short lock);
    - ``used(cpu_ns, rss_delta)`` for every call that measured its resources.

    Wrappers bind these once; `reset` keeps them working.

    Args:
        name: The series' name.
        labels: The series' label set.
        window: Durations kept for percentiles.
        max_error_types: Exception types counted by name; later new types count as
            ``"other"``, so a stream of distinct exception classes cannot grow memory.
    """

    __slots__ = (
        "__weakref__",
        "_cpu_ns",
        "_errors",
        "_finished",
        "_last_error",
        "_lock",
        "_max_error_types",
        "_max_rss_delta",
        "_started",
        "append",
        "durations",
        "finish",
        "fold",
        "labels",
        "name",
        "record",
        "start",
    )

    def __init__(
        self,
        name: str,
        labels: Labels = (),
        *,
        window: int = DEFAULT_WINDOW,
        max_error_types: int = DEFAULT_MAX_ERROR_TYPES,
    ) -> None:
        self.name = name
        self.labels = labels
        self.durations = DurationWindow(window)
        self.record = self.durations.record
        self.append = self.durations._pending.append
        self.fold = self.durations._fold
        self._started = Counter()
        self._finished = Counter()
        self.start = self._started.increment
        self.finish = self._finished.increment
        self._lock = fork_safe_lock(self, "_lock")
        self._errors: dict[str, int] = {}
        self._max_error_types = max_error_types
        self._last_error: LastError | None = None
        self._cpu_ns = 0
        self._max_rss_delta = 0

    def __repr__(self) -> str:
        return f"Series({self.name!r}, {self.labels!r})"

    def failed(self, error: BaseException) -> None:
        """Count one call that raised `error`, by its class name (the log's ``exception``),
        and keep it as the last error."""
        kind = type(error).__name__
        last = LastError(kind, _message(error), time.time())
        with self._lock:
            errors = self._errors
            self._last_error = last
            # First come, first named: a type never moves to "other" later, so every
            # exported per-type counter only grows.
            if kind not in errors and len(errors) >= self._max_error_types:
                kind = OTHER_ERRORS
            errors[kind] = errors.get(kind, 0) + 1

    def counted_as(self, error: BaseException) -> str:
        """The name `failed` counted `error` under: its class name, or ``"other"`` when the
        series already named as many types as it may (for exporters' ``error_type``)."""
        kind = type(error).__name__
        return kind if kind in self._errors else OTHER_ERRORS

    def used(self, cpu_ns: int, rss_delta: int) -> None:
        """Add one call's CPU time (ns) and growth of the process's RSS (bytes)."""
        with self._lock:
            self._cpu_ns += cpu_ns
            if rss_delta > self._max_rss_delta:
                self._max_rss_delta = rss_delta

    def snapshot(self) -> CallStats:
        """An immutable snapshot of this series."""
        return combine(self.name, (self,), labels=self.labels)

    def reset(self) -> None:
        """Forget durations, errors and resources; calls in progress stay counted (they
        still run)."""
        self.durations.reset()
        with self._lock:
            self._errors = {}
            self._last_error = None
            self._cpu_ns = self._max_rss_delta = 0


def _message(error: BaseException) -> str:
    try:
        message = str(error)
    except Exception as exc:  # a broken __str__ must not break the caller's error path
        return f"<str() failed: {type(exc).__name__}>"
    if len(message) > MAX_ERROR_MESSAGE:
        return f"{message[:MAX_ERROR_MESSAGE]}...({len(message)} chars)"
    return message


def combine(name: str, series: Iterable[Series], *, labels: Labels = ()) -> CallStats:
    """One snapshot of several series together: a function's label sets, say.

    Counts, errors, calls in progress, resources and histogram buckets add up; durations are
    combined as `summarise` does; the last error is the most recent one.

    Args:
        name: The snapshot's name.
        series: The series to combine.
        labels: The snapshot's label set.

    Returns:
        An immutable `CallStats`.
    """
    series = tuple(series)
    summary = summarise(s.durations for s in series)
    buckets = [0] * (len(_BUCKET_BOUNDS_NS) + 1)
    errors: dict[str, int] = {}
    in_progress = cpu_ns = max_rss_delta = 0
    last_error: LastError | None = None
    for one in series:
        buckets = [a + b for a, b in zip(buckets, one.durations.histogram(), strict=True)]
        # Two lock-free reads are two instants: calls that start and finish between them
        # would count as running. Read `started` again until it did not move across the
        # read of `finished`: the figure then held at that instant (0 <= n <= running).
        started = one._started.value
        while True:
            finished = one._finished.value
            started, before = one._started.value, started
            if started == before:
                break
        in_progress += started - finished
        with one._lock:
            for kind, count in one._errors.items():
                errors[kind] = errors.get(kind, 0) + count
            if one._last_error is not None and (
                last_error is None or one._last_error.time >= last_error.time
            ):
                last_error = one._last_error
            cpu_ns += one._cpu_ns
            max_rss_delta = max(max_rss_delta, one._max_rss_delta)
    ordered = sorted(errors.items(), key=lambda item: (-item[1], item[0]))
    return CallStats(
        **{f: getattr(summary, f) for f in SUMMARY_FIELDS},
        name=name,
        errors=MappingProxyType(dict(ordered)),
        in_progress=in_progress,
        labels=MappingProxyType(dict(labels)),
        buckets=tuple(buckets),
        last_error=last_error,
        cpu_s=cpu_ns / 1e9,
        max_rss_delta_bytes=max_rss_delta,
    )


class Registry:
    """A thread-safe map from a name and a label set to a `Series`, created on first use, with
    bounded names.

    A name may also be *claimed* by one function (`claim`): `monitor` does, so that two
    different functions never share figures and a redefined one starts afresh.

    Args:
        window: Durations each series keeps for percentiles.
        max_error_types: Exception types each series counts by name.
        max_names: Names kept apart; the series of later new names is the one named
            `OTHER_NAMES`, and a WARNING says so, once (again after a `reset`). The label sets
            of a name are bounded by whoever makes them (`monitor` keeps 100 per function).

    Examples:
        >>> registry = Registry(max_names=2)
        >>> fit = registry.series("fit")
        >>> fit is registry.series("fit")
        True
        >>> fit.record(1_000)
        >>> registry.series("fit", (("model", "a"),)).record(2_000)
        >>> registry.series("eval").record(2_000)
        >>> registry.series("batch 3").record(3_000)  # one name too many: WARNING, once
        >>> [(s.name, dict(s.labels), s.count) for s in registry.snapshots()]
        [('(other names)', {}, 1), ('eval', {}, 1), ('fit', {}, 1), ('fit', {'model': 'a'}, 1)]
        >>> registry.reset()  # empties "fit" (held above) and drops the rest
        >>> [(s.name, s.count) for s in registry.snapshots()]
        [('fit', 0)]
    """

    __slots__ = (
        "__weakref__",
        "_lock",
        "_max_error_types",
        "_max_names",
        "_overflow",
        "_owners",
        "_series",
        "_window",
    )

    def __init__(
        self,
        *,
        window: int = DEFAULT_WINDOW,
        max_error_types: int = DEFAULT_MAX_ERROR_TYPES,
        max_names: int = DEFAULT_MAX_NAMES,
    ) -> None:
        self._window = positive_int("window", window)
        self._max_error_types = positive_int("max_error_types", max_error_types)
        self._max_names = positive_int("max_names", max_names)
        self._lock = fork_safe_lock(self, "_lock")
        self._series: dict[tuple[str, Labels], Series] = {}
        self._owners: dict[str, tuple[str, object]] = {}
        self._overflow = RateLimit(math.inf)

    def __repr__(self) -> str:
        return f"<Registry of {len(self._series)} series>"

    def series(self, name: str, labels: Labels = ()) -> Series:
        """The series of `name` and `labels`, created empty on first use (the same object
        ever after, until `claim` starts the name afresh or a `reset` finds it held by
        nothing else).

        Args:
            name: The series' name.
            labels: Its label set: (key, value) pairs sorted by key.

        Returns:
            The live `Series`, or the `OTHER_NAMES` series once ``max_names`` names are
            kept. Keep a reference to the series itself while recording into it (`reset`
            drops the series nothing else references), and bind its methods once, outside
            the hot path.
        """
        key = (name, labels)
        series = self._series.get(key)  # no lock when it exists: a dict read is atomic
        if series is not None:
            return series
        with self._lock:
            series = self._series.get(key)
            if series is not None:
                return series
            names = {kept for kept, _ in self._series} - {OTHER_NAMES}
            overflow = name not in names and len(names) >= self._max_names
            if overflow and name != OTHER_NAMES:
                key = (OTHER_NAMES, ())
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = Series(
                    *key, window=self._window, max_error_types=self._max_error_types
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

    def claim(self, name: str, owner: str, definition: object = None) -> str:
        """Reserve a name for one owner and return the name it records under.

        Args:
            name: The name wanted.
            owner: Who records under it: a monitored function's identity across
                redefinitions (``module:qualname``), or a kind of recorder whose instances
                share names (`timer` asks for every timer, as ``"timer"``).
            definition: What tells this definition from a later one with the same owner (a
                function's code object); None for a recorder that shares names: it keeps no
                claim, shares any name nobody claimed, and avoids the claimed ones.

        Returns:
            `name` when it is free, or already held by the same `definition` (decorated
            twice: both record into the same series), or by an earlier definition of the
            same `owner` (a re-run notebook cell, a reloaded module: its series are dropped,
            so the new definition starts from zero). When another owner holds `name`, or
            something records under it without claiming it, an alternative with a WARNING:
            the owner in dotted form (``module.qualname``; ``timer.<name>`` for an owner
            without a dot), else that with ``#2``, ``#3``... appended.

        Example:
            >>> registry = Registry()
            >>> registry.claim("predict", "app:predict", 1)
            'predict'
            >>> registry.claim("predict", "jobs:predict", 2)  # WARNING: a second predict
            'jobs.predict'
        """
        other = owner.replace(":", ".") if ":" in owner else f"{owner}.{name}"
        candidates = itertools.chain(
            (name,) if name == other else (name, other),
            (f"{other}#{n}" for n in itertools.count(2)),
        )
        shared = definition is None
        with self._lock:
            for candidate in candidates:  # pragma: no branch -- the candidates never end
                holder = self._owners.get(candidate)
                if holder is None:
                    if not shared and any(key[0] == candidate for key in self._series):
                        continue  # recorded under without a claim: a timer's name
                elif holder[0] != owner:
                    continue
                elif holder[1] is not definition:
                    for key in [key for key in self._series if key[0] == candidate]:
                        del self._series[key]
                if not shared:
                    self._owners[candidate] = (owner, definition)
                break
        if candidate != name:
            _logger.warning(
                "%r already names something else: %s records as %r (pass a name to choose)",
                name,
                owner,
                candidate,
                extra={FUNCTION: candidate},
            )
        return candidate

    def snapshots(self, names: Container[str] | None = None) -> list[CallStats]:
        """Snapshots of every series, sorted by name and labels (series with no calls
        included).

        Args:
            names: Only the series of these names (None: all of them).

        Returns:
            One immutable `CallStats` per name and label set.
        """
        with self._lock:
            series = sorted(self._series.items())
        return [s.snapshot() for key, s in series if names is None or key[0] in names]

    def reset(self) -> None:
        """Forget every series' statistics, and the series nothing else holds.

        A series still referenced elsewhere (by a decorated function, say) is emptied and
        kept, so that it keeps recording under its name; the others are dropped, and their
        memory released. Claimed names stay claimed.
        """
        with self._lock:
            held = weakref.WeakValueDictionary(self._series.items())
            # Dropping the only strong references frees the series no one else holds.
            self._series = {}
            self._series = dict(held.items())
            series = list(self._series.values())
        for s in series:
            s.reset()
        self._overflow.reset()


#: The registry `timer` and `monitor` record into.
default_registry = Registry()
