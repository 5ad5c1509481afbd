"""`monitor`: per-call metrics, one structured log record per call, exporters.

A decorated function gets a `_Function` state at decoration time (options checked, name
claimed in the registry, label sets ready) and a thin wrapper (sync or async) whose fast path
counts the call in progress, times it and records the duration into the registry's series,
without a lock. Everything else (log records, exporters, CPU and RSS) runs only when
asked for: a logger enabled for the level, an exporter bound, ``system_metrics=True``, a slow
or failed call.
"""

from __future__ import annotations

import inspect
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from .. import _checks
from .._core import (
    CallSignature,
    accessor,
    bare_or_called,
    decorate,
    module_name,
    qualified_name,
    unwrap_method,
)
from .._events import (
    CALL_ARGS,
    CPU_S,
    LABELS,
    MEMORY_LIMIT_FILE,
    MEMORY_SOURCE,
    OUTCOME,
    RSS_DELTA_BYTES,
    SYSTEM,
    RateLimit,
    call_fields,
)
from .._fork import fork_safe_lock
from .._report import StatsReport
from .._resources import system_probe, tightest
from .._stats import (
    Counter,
    DurationWindow,
    Labels,
    Registry,
    Series,
    combine,
    default_registry,
)
from .._values import DEFAULT_REDACT, Summarizer, format_bytes, format_duration
from ._data import CallObserver, Exporter, MonitoredSeries, MonitorStats, monitor_stats_of, plain
from ._labels import MAX_LABEL_SETS, label_set, overflow

if TYPE_CHECKING:
    from datetime import timedelta

    from typing_extensions import ParamSpec

    P = ParamSpec("P")

R = TypeVar("R")

CaptureArgs = Literal["on_error"] | bool

#: Characters of one argument's summary in a log record.
MAX_REPR = 200
#: Seconds between two warnings about failing exporters or label functions.
WARN_EVERY_S = 60.0

_log = logging.getLogger(__name__.rpartition(".")[0])
_export_warning = RateLimit(WARN_EVERY_S)
_labels_warning = RateLimit(WARN_EVERY_S)
_values = Summarizer(MAX_REPR, DEFAULT_REDACT)


# An exporter's observer of one label set, with its exporter (named when it fails); and what
# its start() returned for one call.
_Bound = tuple[CallObserver, Exporter]
_Started = tuple[CallObserver, Exporter, object]


class _Defaults:
    """The process-wide default exporters, and the functions that use them."""

    def __init__(self) -> None:
        self.lock = fork_safe_lock(self, "lock")
        self.exporters: tuple[Exporter, ...] = ()
        self.users: weakref.WeakSet[_Function] = weakref.WeakSet()


_defaults = _Defaults()


class _Target:
    """One label set of one function: its series and its exporters' observers."""

    __slots__ = ("append", "finish", "fold", "labels", "observers", "record", "series", "start")

    def __init__(self, series: Series, observers: tuple[_Bound, ...]) -> None:
        self.series = series
        self.labels = dict(series.labels)
        self.start = series.start
        self.finish = series.finish
        self.record = series.record
        self.append = series.append
        self.fold = series.fold
        self.observers = observers


class _Function:
    """Everything one decorated function needs, built once at decoration time."""

    __slots__ = (
        "__weakref__",
        "_first_keys",
        "_overflow",
        "capture",
        "export_errors",
        "exporters",
        "fixed",
        "level",
        "lock",
        "logger",
        "name",
        "registry",
        "signature",
        "slow_ns",
        "system",
        "target_of",
        "targets",
    )

    def __init__(self, fn: Callable[..., Any], options: _Options) -> None:
        target = unwrap_method(fn)
        self.registry = options.registry
        owner = f"{module_name(fn)}:{qualified_name(fn)}"
        # The code object tells a redefinition (a re-run cell) from a second decoration.
        innermost = inspect.unwrap(target)
        definition = getattr(innermost, "__code__", innermost)
        self.name = self.registry.claim(options.name or qualified_name(fn), owner, definition)
        self.logger = logging.getLogger(module_name(fn))
        self.level = options.log_level
        self.capture = options.capture_args
        self.system = options.system_metrics
        self.slow_ns = round(options.slow * 1e9) if options.slow is not None else 2**63
        self.exporters = options.exporters
        self.signature = CallSignature(fn)
        self.export_errors = Counter()
        self.lock = fork_safe_lock(self, "lock")
        self.targets: dict[Labels, _Target] = {}
        self._overflow: _Target | None = None
        self._first_keys: Labels | None = None
        labels = options.labels
        self.target_of: Callable[[tuple[Any, ...], dict[str, Any]], Any] | None = None
        if self.exporters is None:
            with _defaults.lock:
                _defaults.users.add(self)
        if callable(labels):
            self.target_of = self.signature.by_name(labels, "labels", qualified_name(fn))
            self.fixed = None
        else:
            self.fixed = self._target(labels or ())

    # -- label sets ------------------------------------------------------------------------

    def _target(self, labels: Labels) -> _Target:
        with self.lock:
            target = self.targets.get(labels)
            if target is not None:
                return target
            if len(self.targets) >= MAX_LABEL_SETS:
                return self._overflowed(labels)
            if self._first_keys is None:
                self._first_keys = labels
            target = self.targets[labels] = self._new(labels)
            return target

    def _overflowed(self, labels: Labels) -> _Target:
        """The overflow set (call with the lock held)."""
        if self._overflow is None:
            self._overflow = self._new(overflow(self._first_keys or labels))
        return self._overflow

    def _new(self, labels: Labels) -> _Target:
        series = self.registry.series(self.name, labels)
        return _Target(series, self._bind(series))

    def target(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Target:
        """The label set of a call, for ``labels=`` given as a function of the arguments."""
        assert self.target_of is not None
        try:
            labels = label_set(f"labels of {self.name}()", self.target_of(args, kwargs))
        except Exception as exc:
            if _labels_warning.ready():
                _log.warning(
                    "monitor: the labels of %s() failed (%s: %s); calls go to the 'other' "
                    "label set (this warning repeats at most once a minute)",
                    self.name,
                    type(exc).__name__,
                    exc,
                    extra=call_fields(self.name, error=exc),
                )
            with self.lock:
                return self._overflowed(())
        target = self.targets.get(labels)  # no lock when it exists: a dict read is atomic
        return target if target is not None else self._target(labels)

    def all_targets(self) -> list[_Target]:
        with self.lock:
            overflowed = [self._overflow] if self._overflow is not None else []
            return [*self.targets.values(), *overflowed]

    # -- exporters -------------------------------------------------------------------------

    def _bind(self, series: Series) -> tuple[_Bound, ...]:
        exporters = _defaults.exporters if self.exporters is None else self.exporters
        about = MonitoredSeries(self.name, dict(series.labels), self.registry, series)
        observers = []
        for exporter in exporters:
            try:
                observer = exporter.bind(about)
            except Exception as exc:
                self.export_failed(exporter, exc)
                continue
            if observer is not None:
                observers.append((observer, exporter))
        return tuple(observers)

    def rebind(self) -> None:
        """Bind every label set to the current default exporters."""
        with self.lock:
            for target in [*self.targets.values(), *filter(None, [self._overflow])]:
                target.observers = self._bind(target.series)

    def export_failed(self, exporter: object, exc: Exception) -> None:
        self.export_errors.increment()
        if _export_warning.ready():
            _log.warning(
                "monitor: exporter %s failed for %s() (%s: %s); the call went on (%d "
                "failures for it so far; this warning repeats at most once a minute)",
                type(exporter).__name__,
                self.name,
                type(exc).__name__,
                exc,
                self.export_errors.value,
                extra=call_fields(self.name, error=exc),
            )

    def start(self, observers: tuple[_Bound, ...]) -> list[_Started]:
        started = []
        for observer, exporter in observers:
            try:
                started.append((observer, exporter, observer.start()))
            except Exception as exc:
                self.export_failed(exporter, exc)
        return started

    def _finish(
        self,
        started: list[_Started],
        seconds: float,
        error: BaseException | None,
    ) -> None:
        for observer, exporter, token in reversed(started):  # innermost context closes first
            try:
                observer.finish(token, seconds, error)
            except Exception as exc:
                self.export_failed(exporter, exc)

    # -- resources -------------------------------------------------------------------------

    @staticmethod
    def usage() -> tuple[int, int]:
        """The thread's CPU time (ns) and the process's RSS (bytes), before a call."""
        return time.thread_time_ns(), system_probe().rss()

    @staticmethod
    def _used(target: _Target, before: tuple[int, int]) -> tuple[int, int]:
        used = (time.thread_time_ns() - before[0], system_probe().rss() - before[1])
        target.series.used(*used)
        return used

    # -- after the call --------------------------------------------------------------------

    def done(
        self,
        target: _Target,
        elapsed_ns: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        started: list[_Started] | None,
        usage: tuple[int, int] | None,
    ) -> None:
        """After a call that returned, when something more than recording was asked for."""
        seconds = elapsed_ns / 1e9
        used = self._used(target, usage) if usage is not None else None
        if started:
            self._finish(started, seconds, None)
        slow = elapsed_ns >= self.slow_ns
        level = logging.WARNING if slow else self.level
        if not self.logger.isEnabledFor(level):
            return
        extra = self._fields(target, seconds, None, used)
        if self.capture is True:
            extra[CALL_ARGS] = _values.arguments(self.signature.passed(args, kwargs))
        if slow:
            self.logger.warning(
                "%s was slow: %s (slow= %s)",
                self.name,
                format_duration(seconds),
                format_duration(self.slow_ns / 1e9),
                extra=extra,
            )
        else:
            self.logger.log(level, "%s ok in %s", self.name, format_duration(seconds), extra=extra)

    def failed(
        self,
        target: _Target,
        elapsed_ns: int,
        error: BaseException,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        started: list[_Started] | None,
        usage: tuple[int, int] | None,
    ) -> None:
        """After a call that raised: count it, tell the exporters, log it. Never raises."""
        target.series.failed(error)
        target.record(elapsed_ns)
        target.finish()
        seconds = elapsed_ns / 1e9
        used = self._used(target, usage) if usage is not None else None
        if started:
            self._finish(started, seconds, error)
        # Interruptions and cancellations are counted, but they are no failure of the
        # function: no ERROR, no traceback.
        failure = isinstance(error, Exception)
        level = logging.ERROR if failure else self.level
        if not self.logger.isEnabledFor(level):
            return
        extra = self._fields(target, seconds, error, used)
        if failure:
            if self.capture:
                extra[CALL_ARGS] = _values.arguments(self.signature.passed(args, kwargs))
            extra[SYSTEM] = system_state()
        self.logger.log(
            level,
            "%s raised %s: %s after %s",
            self.name,
            type(error).__name__,
            error,
            format_duration(seconds),
            exc_info=error if failure else None,
            extra=extra,
        )

    def _fields(
        self,
        target: _Target,
        seconds: float,
        error: BaseException | None,
        used: tuple[int, int] | None,
    ) -> dict[str, Any]:
        extra = call_fields(self.name, duration_s=seconds, error=error)
        extra[OUTCOME] = "ok" if error is None else "error"
        if target.labels:
            extra[LABELS] = target.labels
        if used is not None:
            extra[CPU_S] = used[0] / 1e9
            extra[RSS_DELTA_BYTES] = used[1]
        return extra

    def stats(self) -> MonitorStats:
        targets = self.all_targets()
        total = combine(
            self.name,
            (t.series for t in targets),
            labels=targets[0].series.labels if self.fixed is not None else (),
        )
        by_labels: tuple[MonitorStats, ...] = ()
        if self.target_of is not None:
            by_labels = tuple(monitor_stats_of(t.series.snapshot()) for t in targets)
        return monitor_stats_of(total, export_errors=self.export_errors.value, by_labels=by_labels)


def system_state() -> dict[str, Any]:
    """What a failure record says about the system: the process's RSS and CPU time, and the
    memory still available under the tightest limit (host or cgroup), with its source."""
    try:
        probe = system_probe()
        reading = tightest(probe.memory())
        rss = probe.rss()
    except Exception as exc:  # no reading must hide the function's own error
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "rss_bytes": rss,
        "rss": format_bytes(rss),
        "cpu_time_s": time.process_time(),
        "memory_available_bytes": reading.available,
        "memory_limit_bytes": reading.limit,
        MEMORY_SOURCE: reading.source,
        MEMORY_LIMIT_FILE: reading.where,
    }


class _Options:
    """`monitor`'s options, checked."""

    __slots__ = (
        "capture_args",
        "exporters",
        "labels",
        "log_level",
        "name",
        "registry",
        "slow",
        "system_metrics",
    )

    def __init__(
        self,
        name: object,
        labels: object,
        log_level: object,
        capture_args: object,
        system_metrics: object,
        slow: object,
        exporters: object,
        registry: object,
    ) -> None:
        self.name = _checks.optional(_checks.instance_of, "name", name, str)
        if self.name == "":
            raise _checks.wrong_value("name", "a non-empty str or None", name)
        self.labels: Labels | Callable[..., Any] | None = (
            labels if labels is None or callable(labels) else label_set("labels", labels)
        )
        self.log_level = _checks.log_level("log_level", log_level)
        self.capture_args: CaptureArgs = _checks.one_of(
            "capture_args", capture_args, ("on_error", True, False)
        )
        self.system_metrics = _checks.flag("system_metrics", system_metrics)
        self.slow = _checks.optional(_checks.seconds, "slow", slow, allow_zero=False)
        self.exporters = None if exporters is None else checked_exporters("exporters", exporters)
        self.registry: Registry = (
            _checks.optional(
                _checks.instance_of, "registry", registry, Registry, what="a StatsRegistry"
            )
            or default_registry
        )


def checked_exporters(option: str, exporters: object) -> tuple[Exporter, ...]:
    """`exporters` as a tuple, each one checked to have a ``bind`` method."""
    what = "a list of exporters (objects with a bind() method, such as PrometheusExporter())"
    if isinstance(exporters, (str, bytes)) or not isinstance(exporters, Iterable):
        raise _checks.wrong_type(option, what, exporters)
    checked = tuple(exporters)
    if not all(callable(getattr(exporter, "bind", None)) for exporter in checked):
        raise _checks.wrong_type(option, what, exporters)
    return checked


def _decorate(fn: Callable[P, R], options: _Options) -> Callable[P, R]:
    state = _Function(fn, options)
    fixed = state.fixed
    target_of = state.target
    start, done, failed = state.start, state.done, state.failed
    is_enabled, level = state.logger.isEnabledFor, state.level
    system, slow_ns = state.system, state.slow_ns
    fold_every = DurationWindow.FOLD_EVERY
    usage = state.usage

    def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        def monitored(*args: Any, **kwargs: Any) -> Any:
            target = fixed or target_of(args, kwargs)
            observers = target.observers
            started = start(observers) if observers else None
            before = usage() if system else None
            target.start()
            begin = perf_counter_ns()
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                failed(target, perf_counter_ns() - begin, exc, args, kwargs, started, before)
                raise
            elapsed = perf_counter_ns() - begin
            target.append(elapsed)
            if not target.finish() % fold_every:
                target.fold()
            if started is not None or before is not None or elapsed >= slow_ns or is_enabled(level):
                done(target, elapsed, args, kwargs, started, before)
            return result

        return monitored

    def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
        async def monitored(*args: Any, **kwargs: Any) -> Any:
            target = fixed or target_of(args, kwargs)
            observers = target.observers
            started = start(observers) if observers else None
            before = usage() if system else None
            target.start()
            begin = perf_counter_ns()
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                failed(target, perf_counter_ns() - begin, exc, args, kwargs, started, before)
                raise
            elapsed = perf_counter_ns() - begin
            target.append(elapsed)
            if not target.finish() % fold_every:
                target.fold()
            if started is not None or before is not None or elapsed >= slow_ns or is_enabled(level):
                done(target, elapsed, args, kwargs, started, before)
            return result

        return monitored

    return decorate(
        fn,
        "monitor",
        sync=make_sync,
        async_=make_async,
        attrs={"monitor_stats": state.stats},
        allow_generators=False,
    )


class Monitor:
    """The type of `monitor`: a decorator with a report, a snapshot and a reset.

    Use the `monitor` instance; see its ``__call__`` for the options.
    """

    def __init__(self) -> None:
        # Named like the function it stands for (error messages, tables of decorators).
        self.__name__ = self.__qualname__ = "monitor"

    @overload
    def __call__(self, fn: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def __call__(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        labels: Mapping[str, str | float] | Callable[..., Mapping[str, str | float]] | None = None,
        log_level: int | str = logging.DEBUG,
        capture_args: CaptureArgs = "on_error",
        system_metrics: bool = False,
        slow: float | timedelta | None = None,
        exporters: Iterable[Exporter] | None = None,
        registry: Registry | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def __call__(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        labels: Mapping[str, str | float] | Callable[..., Mapping[str, str | float]] | None = None,
        log_level: int | str = logging.DEBUG,
        capture_args: CaptureArgs = "on_error",
        system_metrics: bool = False,
        slow: float | timedelta | None = None,
        exporters: Iterable[Exporter] | None = None,
        registry: Registry | None = None,
    ) -> Callable[..., Any]:
        """Measure every call: duration, outcome, errors by type, calls in progress; log one
        structured record per call; send the figures to exporters.

        Failures are logged at ERROR with the traceback, the call's summarised and redacted
        arguments and the state of the system (RSS, CPU time, available memory and whether
        that figure is the host's or the container's), then re-raised unchanged.
        ``async def`` functions are measured over the awaited work.

        A function records under its name in the statistics registry (shared with `timer`).
        Decorating a function again after redefining it (a re-run notebook cell, a reloaded
        module) starts its figures afresh; two different functions never share a name: the
        second records under ``module.qualname`` instead, with a WARNING.

        Args:
            name: The name to record and log under; defaults to the function's
                ``__qualname__``.
            labels: A label set for every call (``{"model": "resnet50"}``), or a function of
                the call's arguments (by parameter name, the ones it declares) returning
                one. Each function keeps at most 100 label sets; further calls go to one set
                whose values are all ``"other"``.
            log_level: Level of the record of each call that returned.
            capture_args: Log the call's summarised, redacted arguments: ``"on_error"`` (with
                failures), True (every call) or False (never).
            system_metrics: Measure each call's CPU time (the thread's) and the growth of the
                process's RSS, in the record and the statistics.
            slow: Log calls at least this slow (seconds or a `timedelta`) at WARNING.
            exporters: Where to send the figures (`PrometheusExporter`,
                `OpenTelemetryExporter`, `StatsDExporter`, or your own `Exporter`); None
                uses the defaults set by `set_default_exporters`.
            registry: The `StatsRegistry` to record into; defaults to the shared one.

        Returns:
            The monitored function (``@monitor``), with ``fn.monitor_stats()``, or a decorator
            when called with options.

        Raises:
            TypeError: An option has the wrong type, an option was passed positionally, or
                the function is a generator function.
            ValueError: An option is out of range (``slow=-1``, a bad label name, ...).

        Example:
            >>> import asyncio
            >>> from mlops_decorators import monitor
            >>> @monitor(labels={"model": "tiny"}, slow=1.0)
            ... async def predict_proba(rows: list[float]) -> float:
            ...     await asyncio.sleep(0)
            ...     return sum(rows)
            >>> asyncio.run(predict_proba([0.5, 0.25]))
            0.75
            >>> stats = predict_proba.monitor_stats()
            >>> stats.name, stats.calls, dict(stats.labels)
            ('predict_proba', 1, {'model': 'tiny'})
        """
        options = _Options(
            name, labels, log_level, capture_args, system_metrics, slow, exporters, registry
        )
        return bare_or_called(fn, "monitor", lambda f: _decorate(f, options))

    def report(self, registry: Registry | None = None) -> StatsReport:
        """A table of every function and timer that recorded a call: calls, errors, error
        rate, total, mean, p50, p95, p99 and max; an HTML table in Jupyter.

        Args:
            registry: The registry to read; defaults to the shared one.

        Returns:
            A `StatsReport`: ``print()`` it, or leave it as a notebook cell's last expression.

        Example:
            >>> from mlops_decorators import monitor
            >>> @monitor
            ... def read_table(path: str) -> str:
            ...     return path
            >>> read_table("data.csv")
            'data.csv'
            >>> print(monitor.report())  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
            name calls errors error rate total mean p50 p95 p99 max
            ...
            read_table 1 0 0.0% ...
        """
        return StatsReport((registry or default_registry).snapshots())

    def snapshot(self, registry: Registry | None = None) -> list[dict[str, Any]]:
        """Every series that recorded a call, as plain JSON-serialisable data.

        Args:
            registry: The registry to read; defaults to the shared one.

        Returns:
            One dict per name and label set (sorted so): ``name``, ``labels``, ``calls``,
            ``errors`` (by type), ``error_rate``, ``in_progress``, durations in seconds
            (``total_s``, ``mean_s``, ``min_s``, ``max_s``, ``p50_s``, ``p95_s``,
            ``p99_s``), the histogram ``buckets`` (upper bound -> cumulative count),
            ``last_error``, ``cpu_s`` and ``max_rss_delta_bytes``.

        Examples:
            >>> import json
            >>> from mlops_decorators import StatsRegistry, monitor
            >>> registry = StatsRegistry()
            >>> @monitor(registry=registry)
            ... def step() -> None:
            ...     pass
            >>> step()
            >>> [(s["name"], s["calls"]) for s in monitor.snapshot(registry)]
            [('step', 1)]
            >>> text = json.dumps(monitor.snapshot(registry))
        """
        snapshots = (registry or default_registry).snapshots()
        return [plain(s) for s in snapshots if s.count or s.in_progress]

    def reset(self, registry: Registry | None = None) -> None:
        """Forget every figure recorded so far (functions keep recording afterwards).

        Args:
            registry: The registry to reset; defaults to the shared one (timers included).

        Example:
            >>> from mlops_decorators import StatsRegistry, monitor
            >>> registry = StatsRegistry()
            >>> @monitor(registry=registry)
            ... def step() -> None:
            ...     pass
            >>> step()
            >>> monitor.reset(registry)
            >>> monitor.snapshot(registry)
            []
        """
        (registry or default_registry).reset()

    def set_default_exporters(self, exporters: Iterable[Exporter]) -> None:
        """Set the exporters of every function decorated without ``exporters=``, those
        decorated already included. Set them once, at startup; ``[]`` removes them.

        Args:
            exporters: The exporters to use by default.

        Raises:
            TypeError: Something other than a list of exporters.

        Example:
            >>> from mlops_decorators import monitor
            >>> monitor.set_default_exporters([])
            >>> monitor.default_exporters
            ()
        """
        checked = checked_exporters("exporters", exporters)
        with _defaults.lock:
            _defaults.exporters = checked
            users = list(_defaults.users)
        for user in users:
            user.rebind()

    @property
    def default_exporters(self) -> tuple[Exporter, ...]:
        """The exporters set by `set_default_exporters`."""
        return _defaults.exporters

    def __repr__(self) -> str:
        return "<monitor decorator>"


#: The decorator: ``@monitor``, ``@monitor(...)``; ``monitor.report()``, ``monitor.snapshot()``,
#: ``monitor.reset()``, ``monitor.set_default_exporters([...])``.
monitor = Monitor()


def monitor_stats(fn: Callable[..., object]) -> MonitorStats:
    """Statistics of a function decorated with `monitor`: the typed form of
    ``fn.monitor_stats()``.

    Found along ``__wrapped__``, so it works under any stack of decorators, on methods,
    ``staticmethod`` and ``classmethod`` objects.

    Args:
        fn: A function decorated with `monitor`, possibly under other decorators.

    Returns:
        An immutable `MonitorStats` snapshot.

    Raises:
        TypeError: `fn` is not decorated with `monitor`.

    Example:
        >>> from mlops_decorators import monitor, monitor_stats
        >>> @monitor
        ... def divide(a: float, b: float) -> float:
        ...     return a / b
        >>> divide(1, 0)
        Traceback (most recent call last):
        ZeroDivisionError: division by zero
        >>> stats = monitor_stats(divide)
        >>> stats.calls, dict(stats.errors), stats.last_error.type
        (1, {'ZeroDivisionError': 1}, 'ZeroDivisionError')
    """
    snapshot: Callable[[], MonitorStats] = accessor(fn, "monitor_stats", "monitor")
    return snapshot()
