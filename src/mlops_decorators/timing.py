"""`timer`: how long calls and blocks take, logged and kept as per-name statistics.

Use it as a decorator (``@timer``, ``@timer("load")``, ``@timer(threshold=0.5)``) on plain
or ``async def`` functions and methods, or as a context manager (``with timer("load"): ...``).
On a generator function it times the iteration (the time spent inside the generator), not
the call that creates the generator. Every timing under one name feeds that name's
statistics (for at most 1000 names, then one overflow series); read them with
``fn.timer_stats()``, `get_timer_stats` or `timer_report`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from . import _checks
from ._core import (
    Iterated,
    accessor,
    bare_or_called,
    decorate,
    function_or_option,
    module_name,
    qualified_name,
)
from ._events import ELAPSED_S, ITEMS, RateLimit, call_fields
from ._report import StatsReport
from ._stats import SUMMARY_FIELDS, CallStats, DurationSummary, default_registry
from ._values import format_duration, plural

if TYPE_CHECKING:
    from datetime import timedelta

    from typing_extensions import ParamSpec, Self

    P = ParamSpec("P")

R = TypeVar("R")

__all__ = [
    "Timer",
    "TimerStats",
    "get_timer_stats",
    "reset_timer_stats",
    "timer",
    "timer_report",
    "timer_stats",
]

_CONTEXT_NAME = "timer"
# Who records under a timer's name (`Registry.claim`): timers share names with each other.
_TIMERS = "timer"


@dataclass(frozen=True, slots=True)
class TimerStats(DurationSummary):
    """Statistics of one timer name, in seconds (an immutable snapshot).

    Attributes:
        name: The timer's name.
        count: Calls or blocks timed.
        total_s: Their total duration.
        mean_s: Their mean duration.
        min_s: The shortest one.
        max_s: The longest one.
        last_s: The most recent one.
        p50_s: Median of the most recent 1024 durations.
        p95_s: 95th percentile of the most recent 1024 durations.
        p99_s: 99th percentile of the most recent 1024 durations.

    Example:
        >>> @timer
        ... def step() -> int:
        ...     return 1
        >>> step()
        1
        >>> step.timer_stats().count >= 1
        True
    """

    name: str


# Open ``with timer(...)`` blocks of the current thread or task: (timer, start) pairs. One
# variable for all timers: a context keeps every variable ever set in it, so a variable per
# Timer would grow a long-lived thread's context by one entry per ``with timer(...)``.
_open_blocks: ContextVar[tuple[tuple[Timer, int], ...]] = ContextVar(
    "mlops_decorators_timer_blocks", default=()
)
#: Open blocks kept per thread or task. A block exited in another thread or task leaves its
#: start behind in the one that entered it; past this many, the oldest start is dropped.
MAX_OPEN_BLOCKS = 256
# Exiting a block in another thread or task is reported once (again after a reset).
_exited_elsewhere = RateLimit(math.inf)


def _timer_stats(stats: CallStats) -> TimerStats:
    return TimerStats(name=stats.name, **{f: getattr(stats, f) for f in SUMMARY_FIELDS})


def get_timer_stats() -> dict[str, TimerStats]:
    """Snapshots of every timer name that has timed something (since the last reset).

    Returns:
        Name to immutable `TimerStats`, sorted by name.

    Example:
        >>> with timer("doc example"):
        ...     pass
        >>> get_timer_stats()["doc example"].count >= 1
        True
    """
    return {s.name: _timer_stats(s) for s in default_registry.snapshots() if s.count}


def reset_timer_stats() -> None:
    """Forget every timer's statistics (useful between tests or benchmark phases).

    Names that no decorated function and no live `Timer` uses are dropped, with their memory;
    the others are emptied and keep recording. The once-only warnings may come again.

    Example:
        >>> reset_timer_stats()
        >>> get_timer_stats()
        {}
    """
    default_registry.reset()
    _exited_elsewhere.reset()


def timer_report() -> StatsReport:
    """A table of every name's statistics in the registry timers record into (the one
    ``monitor`` shares), for terminals and notebooks.

    Returns:
        A `StatsReport`: ``print()`` it for fixed-width text (one line per name, slowest total
        first); as a notebook cell's last expression it renders as an HTML table.

    Example:
        >>> reset_timer_stats()
        >>> with timer("load"):
        ...     pass
        >>> print(timer_report())  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        name calls errors error rate total mean p50 p95 p99 max
        load 1 0 0.0% ...
    """
    return StatsReport(default_registry.snapshots())


class _Recorder:
    """What one timer name does after each call: record, and log when asked to."""

    __slots__ = ("_is_enabled", "_record", "_threshold_ns", "level", "logger", "name", "series")

    def __init__(
        self, name: str, logger: logging.Logger, level: int, threshold_s: float | None
    ) -> None:
        self.logger = logger
        self.level = level
        # Timers share names with each other, never with a monitored function.
        self.name = default_registry.claim(name, _TIMERS)
        self.series = default_registry.series(self.name)
        self._threshold_ns = round((threshold_s or 0.0) * 1e9)
        self._record = self.series.record
        self._is_enabled = logger.isEnabledFor

    def done(self, elapsed_ns: int, error: BaseException | None = None) -> None:
        self._record(elapsed_ns)
        if elapsed_ns >= self._threshold_ns and self._is_enabled(self.level):
            self._log(elapsed_ns / 1e9, error)

    def failed(self, elapsed_ns: int, error: BaseException) -> None:
        # Apart from `done` so that a call that returned tests nothing for errors.
        self.series.failed(error)
        self.done(elapsed_ns, error)

    def iterated(self, run: Iterated) -> None:
        """Record one iteration of a generator: the time spent inside it."""
        if run.error is not None:
            self.series.failed(run.error)
        self._record(run.inside_ns)
        if run.inside_ns >= self._threshold_ns and self._is_enabled(self.level):
            seconds = run.inside_ns / 1e9
            extra = call_fields(self.name, duration_s=seconds, error=run.error)
            extra[ITEMS] = run.items
            extra[ELAPSED_S] = elapsed = run.elapsed_ns / 1e9
            self.logger.log(
                self.level,
                "%s took %s over %s (%s from first next to %s)",
                self.name,
                format_duration(seconds),
                plural(run.items, "item"),
                format_duration(elapsed),
                run.ending,
                extra=extra,
            )

    def lost(self) -> None:
        """A block ended whose start is unknown: say so once, record nothing."""
        if _exited_elsewhere.ready():
            self.logger.warning(
                "timer %r: a block was exited in another thread or task than the one that "
                "entered it (a generator moved between threads, say), so its duration is "
                "unknown and was not recorded; this warning is shown once",
                self.name,
                extra=call_fields(self.name),
            )

    def _log(self, seconds: float, error: BaseException | None) -> None:
        extra = call_fields(self.name, duration_s=seconds, error=error)
        if error is None:
            self.logger.log(
                self.level, "%s took %s", self.name, format_duration(seconds), extra=extra
            )
        else:
            self.logger.log(
                self.level,
                "%s took %s (raised %s)",
                self.name,
                format_duration(seconds),
                type(error).__name__,
                extra=extra,
            )

    def stats(self) -> TimerStats:
        return _timer_stats(self.series.snapshot())


class Timer:
    """A configured timer: a decorator and a context manager. Create it with `timer`.

    As a context manager it is re-entrant and safe to share between threads and asyncio
    tasks: start times live in a context variable, not on the object.

    Args:
        name: See `timer`.
        logger: See `timer`.
        level: See `timer`.
        threshold: See `timer`.

    Raises:
        TypeError: ``name`` is not a str or None, or ``logger`` is not a logger, a logger
            name or None.
        ValueError: ``threshold`` is negative or not finite, or ``level`` is not a logging
            level.

    Example:
        >>> load = timer("load rows", threshold=0.5)
        >>> with load:
        ...     rows = list(range(100))
        >>> @load
        ... def parse() -> int:
        ...     return len(rows)
        >>> parse(), load.stats().count
        (100, 2)
    """

    __slots__ = ("_context_recorder", "_level", "_logger", "_threshold_s", "name")

    def __init__(
        self,
        name: str | None,
        logger: logging.Logger | str | None,
        level: int | str,
        threshold: float | timedelta | None,
    ) -> None:
        self.name = _checks.optional(_checks.instance_of, "name", name, str)
        _checks.logger("logger", logger, __name__)  # fail now, not at first use
        self._logger = logger
        self._level = _checks.log_level("level", level)
        self._threshold_s = _checks.optional(_checks.seconds, "threshold", threshold)
        self._context_recorder: _Recorder | None = None

    def __repr__(self) -> str:
        return f"Timer(name={self.name!r}, level={logging.getLevelName(self._level)!r})"

    def _recorder(self, name: str, default_logger: str) -> _Recorder:
        logger = _checks.logger("logger", self._logger, default_logger)
        return _Recorder(name, logger, self._level, self._threshold_s)

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate `fn`; the timer's name defaults to ``fn.__qualname__``.

        Args:
            fn: A function, method, ``staticmethod`` or ``classmethod``, plain or
                ``async def``; for a generator or async generator function, each
                iteration is timed (time spent inside the generator).

        Returns:
            The timed function, with ``fn.timer_stats()``.

        Raises:
            TypeError: `fn` is not callable.

        Example:
            >>> @timer(level="DEBUG")
            ... def step() -> str:
            ...     return "done"
            >>> step(), step.timer_stats().count
            ('done', 1)
        """
        recorder = self._recorder(self.name or qualified_name(fn), module_name(fn))
        done, failed = recorder.done, recorder.failed

        def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = perf_counter_ns()
                try:
                    result = func(*args, **kwargs)
                except BaseException as exc:
                    failed(perf_counter_ns() - start, exc)
                    raise
                done(perf_counter_ns() - start)
                return result

            return timed

        def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
            async def timed(*args: Any, **kwargs: Any) -> Any:
                start = perf_counter_ns()
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    failed(perf_counter_ns() - start, exc)
                    raise
                done(perf_counter_ns() - start)
                return result

            return timed

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[Iterated], None]:
            return iterated

        iterated = recorder.iterated
        return decorate(
            fn,
            "timer",
            sync=make_sync,
            async_=make_async,
            attrs={"timer_stats": recorder.stats},
            generators=begin,
        )

    def __enter__(self) -> Self:
        blocks = _open_blocks.get()
        if len(blocks) >= MAX_OPEN_BLOCKS:
            blocks = blocks[1:]
        _open_blocks.set((*blocks, (self, perf_counter_ns())))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = perf_counter_ns()
        blocks = _open_blocks.get()
        index = len(blocks) - 1
        while index >= 0 and blocks[index][0] is not self:  # left open in a suspended generator
            index -= 1
        recorder = self._block_recorder()
        if index < 0:  # entered in another thread or task: its start is out of reach
            recorder.lost()
            return
        start = blocks[index][1]
        _open_blocks.set(blocks[:index] + blocks[index + 1 :])
        if exc is None:
            recorder.done(end - start)
        else:
            recorder.failed(end - start, exc)

    def _block_recorder(self) -> _Recorder:
        if self._context_recorder is None:
            self._context_recorder = self._recorder(self.name or _CONTEXT_NAME, __name__)
        return self._context_recorder

    def stats(self) -> TimerStats:
        """Statistics of this timer's name (for the context-manager form).

        Returns:
            An immutable `TimerStats` snapshot of every timing under this timer's name.

        Example:
            >>> with timer("doc stats") as t:
            ...     pass
            >>> t.stats().count >= 1
            True
        """
        return self._block_recorder().stats()


@overload
def timer(name: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def timer(
    name: str | None = None,
    *,
    logger: logging.Logger | str | None = None,
    level: int | str = logging.INFO,
    threshold: float | timedelta | None = None,
) -> Timer: ...


def timer(
    name: str | Callable[..., Any] | None = None,
    *,
    logger: logging.Logger | str | None = None,
    level: int | str = logging.INFO,
    threshold: float | timedelta | None = None,
) -> Timer | Callable[..., Any]:
    """Time calls or blocks, log each duration and keep per-name statistics.

    Args:
        name: Statistics and log name; defaults to the decorated function's
            ``__qualname__`` (``"timer"`` for an unnamed block).
        logger: A `logging.Logger` or logger name; defaults to the decorated function's
            module logger (``mlops_decorators.timing`` for blocks).
        level: Logging level of the duration record.
        threshold: Only log calls at least this slow (seconds or `timedelta`); every call
            is still counted in the statistics.

    Returns:
        The decorated function when used bare (``@timer``), else a `Timer` usable as a
        decorator or a context manager.

    Raises:
        TypeError: An argument has the wrong type (e.g. ``logger=print``).
        ValueError: ``threshold`` is negative or not finite, or ``level`` is not a logging
            level.

    Example:
        >>> import asyncio
        >>> @timer(threshold=1.0)
        ... async def fetch() -> str:
        ...     return "ok"
        >>> asyncio.run(fetch())
        'ok'
        >>> fetch.timer_stats().name
        'fetch'
        >>> with timer("block"):
        ...     total = sum(range(10))
    """
    fn, timer_name = function_or_option(name)
    return bare_or_called(fn, "timer", Timer(timer_name, logger, level, threshold))


def timer_stats(fn: Callable[..., object]) -> TimerStats:
    """Statistics of a function decorated with `timer`: the typed form of ``fn.timer_stats()``.

    Found along ``__wrapped__``, so it works under any stack of decorators (``functools.wraps``
    ones included), on methods, ``staticmethod`` and ``classmethod`` objects.

    Args:
        fn: A function decorated with `timer`, possibly under other decorators.

    Returns:
        An immutable `TimerStats` snapshot of the timer's name.

    Raises:
        TypeError: `fn` is not decorated with `timer`.

    Example:
        >>> @timer("score batch")
        ... def score(rows: list[float]) -> float:
        ...     return sum(rows)
        >>> score([0.5, 0.25])
        0.75
        >>> stats = timer_stats(score)
        >>> stats.name, stats.count
        ('score batch', 1)
    """
    snapshot: Callable[[], TimerStats] = accessor(fn, "timer_stats", "timer")
    return snapshot()
