"""`memory_guard`: check memory before a memory-hungry call, and refuse, wait, warn or fall back
instead of letting the call get the process OOM-killed.

The line is drawn against the host and every cgroup limit on the process's path (the
container limit that gets a pod killed), with the estimates of guarded calls still running in
this process counted as used. Readings come from `SystemProbe` (see `_resources`) unless a
``probe=`` is given.

Test seams: the waits read `clock`, `sleep` and `async_sleep` from this module at call time.
"""

from __future__ import annotations

import gc
import inspect
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from . import _checks, _events
from ._core import (
    CallSignature,
    accessor,
    bare_or_called,
    decorate,
    is_async_callable,
    module_name,
    qualified_name,
)
from ._events import RateLimit, call_fields
from ._fork import fork_safe_lock, reset_in_child
from ._resources import GpuReading, MemoryProbe, MemoryReading, system_probe, tightest
from ._stats import Counter
from ._values import format_bytes
from .exceptions import MemoryGuardError

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from datetime import timedelta
    from typing import TypeAlias

    from typing_extensions import ParamSpec

    P = ParamSpec("P")
    Size: TypeAlias = int | str
    Seconds: TypeAlias = float | timedelta

R = TypeVar("R")

__all__ = [
    "GpuReading",
    "MemoryGuardStats",
    "MemoryProbe",
    "MemoryReading",
    "memory_guard",
    "memory_guard_stats",
]

clock: Callable[[], float] = time.monotonic
sleep: Callable[[float], Any] = time.sleep


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # only coroutines wait this way, and they have asyncio loaded already

    await asyncio.sleep(seconds)


async_sleep: Callable[[float], Awaitable[Any]] = _asyncio_sleep

#: Seconds between two RSS samples while calls with ``track_peak=True`` run.
PEAK_INTERVAL_S = 0.01
#: Seconds between two WARNINGs of one guarded function.
WARN_EVERY_S = 60.0

_ACTIONS: tuple[Literal["raise", "wait", "warn"], ...] = ("raise", "wait", "warn")
_LABELS = {"host": "host memory"}
# NVML missing while gpu_min_free is set: said once per process, not once per call.
_gpu_unchecked = RateLimit(math.inf)
# A full collection of a large heap takes long itself: refused calls under memory pressure
# (a busy service) must not run one each.
_collections = RateLimit(1.0)


@dataclass(frozen=True, slots=True)
class MemoryGuardStats:
    """What `memory_guard` did for one function so far (an immutable snapshot).

    Attributes:
        name: The function's qualified name.
        calls: Calls made to the guarded function, run or not.
        refused: Calls not run because memory was over the line (raised or answered by the
            fallback).
        fallbacks: Refused calls answered by the fallback.
        warned: Calls run over the line (``action="warn"``).
        waits: Calls that waited for memory (``action="wait"``).
        waited_s: Seconds those calls spent waiting, in total.
        last_reading: The tightest memory reading of the latest check (its ``source`` says
            host or cgroup), or None before the first call.
        peak_rss: Highest RSS seen during a call (``track_peak=True``), or None.
        last_peak_delta: How far RSS rose above its starting point during the latest
            tracked call, or None.

    Example:
        >>> @memory_guard(max_percent=100)
        ... def step() -> int:
        ...     return 1
        >>> step()
        1
        >>> stats = memory_guard_stats(step)
        >>> stats.calls, stats.refused, stats.last_reading is not None
        (1, 0, True)
    """

    name: str
    calls: int
    refused: int
    fallbacks: int
    warned: int
    waits: int
    waited_s: float
    last_reading: MemoryReading | None
    peak_rss: int | None
    last_peak_delta: int | None


class _Reservations:
    """Estimates of guarded calls running in this process, counted as used by every check."""

    __slots__ = ("__weakref__", "calls", "lock", "total")

    def __init__(self) -> None:
        self.lock = fork_safe_lock(self, "lock")
        self.total = 0
        self.calls = 0
        reset_in_child(self)

    def _after_fork(self) -> None:
        # The parent's running calls do not run in the child: nothing is reserved there.
        self.total = self.calls = 0

    def add(self, estimate: int) -> None:
        """Reserve `estimate` (call with the lock held)."""
        self.total += estimate
        self.calls += 1

    def release(self, estimate: int) -> None:
        with self.lock:
            self.total -= estimate
            self.calls -= 1


_reservations = _Reservations()


@dataclass(slots=True)
class _Refusal:
    """Why a call is over the line, with the numbers for the message."""

    option: str
    reading: MemoryReading | None
    estimate: int
    reserved: int
    reserved_calls: int
    rss: int | None = None
    gpu: GpuReading | None = None
    waited_s: float = 0.0


class _Guard:
    """One guarded function's options (checked once), counters and checks."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        max_percent: float,
        min_available: Size | None,
        max_rss: Size | None,
        estimate: Size | Callable[..., Any] | None,
        action: str,
        collect_garbage: bool,
        wait_timeout: Seconds,
        poll_interval: Seconds,
        fallback: Callable[..., Any] | None,
        track_peak: bool,
        gpu_min_free: Size | None,
        probe: MemoryProbe | None,
    ) -> None:
        self.name = qualified_name(fn)
        self.max_percent = _checks.number("max_percent", max_percent, gt=0, le=100)
        self.max_fraction = self.max_percent / 100.0
        self.min_available = _checks.optional(_checks.byte_size, "min_available", min_available)
        self.max_rss = _checks.optional(_checks.byte_size, "max_rss", max_rss)
        self.gpu_min_free = _checks.optional(_checks.byte_size, "gpu_min_free", gpu_min_free)
        self.action = _checks.one_of("action", action, _ACTIONS)
        self.collect_garbage = _checks.flag("collect_garbage", collect_garbage)
        self.wait_timeout_s = _checks.seconds("wait_timeout", wait_timeout)
        self.poll_interval_s = _checks.seconds("poll_interval", poll_interval, allow_zero=False)
        self.track_peak = _checks.flag("track_peak", track_peak)
        self.probe = _probe(probe, self.gpu_min_free is not None)
        self.estimate_of, self.fixed_estimate = _estimator(estimate, fn)
        self.fallback = _fallback(fallback, fn, self.action)
        self.logger = logging.getLogger(module_name(fn))
        self.warnings = RateLimit(WARN_EVERY_S)
        self.calls = Counter()
        self.refused = Counter()
        self.fallbacks = Counter()
        self.warned = Counter()
        self.waits = Counter()
        self.waited_s = 0.0
        self.last: tuple[MemoryReading, ...] = ()
        self.peak_rss: int | None = None
        self.last_peak_delta: int | None = None
        self._lock = fork_safe_lock(self, "_lock")

    # -- the check ------------------------------------------------------------------------

    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
        """Count the call; return the bytes it is estimated to need (reserved while it runs)."""
        self.calls.increment()
        if self.estimate_of is None:
            return self.fixed_estimate
        return _bytes("estimate", self.estimate_of(args, kwargs))

    def admit(self, estimate: int, *, exact: bool = False) -> _Refusal | None:
        """Reserve `estimate` and return None if the call fits under every line."""
        probe = self.probe
        readings = self.last = probe.memory(exact=exact)
        rss = probe.rss() if self.max_rss is not None else None
        if self.gpu_min_free is not None:
            refusal = self._gpu_refusal(estimate)
            if refusal is not None:
                return refusal
        if not estimate:  # nothing to reserve: no lock
            return self._verdict(readings, rss, estimate, _reservations.total, _reservations.calls)
        with _reservations.lock:
            refusal = self._verdict(
                readings, rss, estimate, _reservations.total, _reservations.calls
            )
            if refusal is None:
                _reservations.add(estimate)
        return refusal

    def _verdict(
        self,
        readings: tuple[MemoryReading, ...],
        rss: int | None,
        estimate: int,
        reserved: int,
        reserved_calls: int,
    ) -> _Refusal | None:
        need = estimate + reserved
        over: tuple[str, MemoryReading] | None = None
        for reading in readings:
            if reading.used + need > reading.limit * self.max_fraction:
                option = "max_percent"
            elif self.min_available is not None and (reading.available - need < self.min_available):
                option = "min_available"
            else:
                continue
            if over is None or reading.available < over[1].available:
                over = (option, reading)
        if over is not None:
            return _Refusal(over[0], over[1], estimate, reserved, reserved_calls, rss)
        if rss is not None and self.max_rss is not None and rss + need > self.max_rss:
            return _Refusal("max_rss", None, estimate, reserved, reserved_calls, rss)
        return None

    def _gpu_refusal(self, estimate: int) -> _Refusal | None:
        gpus = self.probe.gpu()
        if gpus is None:
            if self.logger.isEnabledFor(logging.WARNING) and _gpu_unchecked.ready():
                problem = getattr(self.probe, "gpu_problem", None) or "NVML is not usable"
                self.logger.warning(
                    "memory_guard cannot check GPU memory (gpu_min_free) for %s: %s",
                    self.name,
                    problem,
                    extra=call_fields(self.name),
                )
            return None
        for gpu in gpus:
            if self.gpu_min_free is not None and gpu.free < self.gpu_min_free:
                return _Refusal("gpu_min_free", None, estimate, 0, 0, gpu=gpu)
        return None

    def recheck(self, estimate: int) -> _Refusal | None:
        """Over the line at first sight: measure exactly, collect garbage, measure again.

        With ``action="warn"`` a call still over the line is logged, reserved and let through.
        """
        refusal = self.admit(estimate, exact=True)
        if refusal is not None and self.collect_garbage and _collections.ready():
            gc.collect()
            refusal = self.admit(estimate, exact=True)
        if refusal is not None and self.action == "warn":
            self.warned.increment()
            if self.logger.isEnabledFor(logging.WARNING) and self.warnings.ready():
                self.logger.warning(
                    "memory_guard let %s() run over the line: %s",
                    self.name,
                    self.describe(refusal),
                    extra=self.fields(refusal),
                )
            if estimate:
                with _reservations.lock:
                    _reservations.add(estimate)
            return None
        return refusal

    def refuse(self, refusal: _Refusal, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Answer a refused call: the fallback's result, else `MemoryGuardError`."""
        self.refused.increment()
        if self.fallback is not None:
            self.fallbacks.increment()
            if self.logger.isEnabledFor(logging.INFO):
                self.logger.info(
                    "memory_guard answered %s() with its fallback: %s",
                    self.name,
                    self.describe(refusal),
                    extra=self.fields(refusal),
                )
            return self.fallback(args, kwargs)
        waited = f" after waiting {refusal.waited_s:.1f} s" if refusal.waited_s else ""
        raise MemoryGuardError(
            f"refused {self.name}(){waited}: {self.describe(refusal)}",
            function=self.name,
            option=refusal.option,
            reading=refusal.reading,
            estimate=refusal.estimate,
            waited_s=refusal.waited_s,
        )

    # -- messages and state ---------------------------------------------------------------

    def describe(self, refusal: _Refusal) -> str:
        """The numbers a person needs: what was over, of what limit, from where."""
        reading, need = refusal.reading, refusal.estimate + refusal.reserved
        parts = []
        if refusal.gpu is not None:
            gpu = refusal.gpu
            parts.append(
                f"GPU {gpu.device} has {format_bytes(gpu.free)} free of "
                f"{format_bytes(gpu.total)} (gpu_min_free {format_bytes(self.gpu_min_free or 0)})"
            )
        elif reading is None:
            parts.append(
                f"RSS {format_bytes(refusal.rss or 0)} would exceed max_rss "
                f"{format_bytes(self.max_rss or 0)}"
            )
        else:
            label = _LABELS.get(reading.source, f"{reading.source} limit")
            if refusal.option == "max_percent":
                percent = 100.0 * (reading.used + need) / max(reading.limit, 1)
                parts.append(
                    f"would use {percent:.1f}% of {format_bytes(reading.limit)} ({label}; "
                    f"max {self.max_percent:g}%), {format_bytes(reading.available)} available"
                )
            else:
                left = max(reading.available - need, 0)
                parts.append(
                    f"would leave {format_bytes(left)} of {format_bytes(reading.limit)} "
                    f"available ({label}; min_available {format_bytes(self.min_available or 0)})"
                )
        if refusal.estimate:
            parts.append(f"estimate {format_bytes(refusal.estimate)}")
        if refusal.reserved:
            calls = refusal.reserved_calls
            parts.append(
                f"{format_bytes(refusal.reserved)} reserved by {calls} running "
                f"call{'s' if calls != 1 else ''}"
            )
        if refusal.rss is not None and reading is not None:
            parts.append(f"RSS {format_bytes(refusal.rss)}")
        return ", ".join(parts)

    def fields(self, refusal: _Refusal) -> dict[str, Any]:
        reading = refusal.reading
        fields = call_fields(self.name)
        fields[_events.MEMORY_OPTION] = refusal.option
        fields[_events.MEMORY_SOURCE] = reading.source if reading is not None else None
        fields[_events.MEMORY_LIMIT_FILE] = reading.where if reading is not None else None
        fields[_events.MEMORY_ESTIMATE] = refusal.estimate
        return fields

    def record_wait(self, seconds: float) -> None:
        self.waits.increment()
        with self._lock:
            self.waited_s += seconds

    def record_peak(self, window: _Window) -> None:
        delta = window.peak - window.start
        with self._lock:
            self.last_peak_delta = delta
            if self.peak_rss is None or window.peak > self.peak_rss:
                self.peak_rss = window.peak
        if (
            self.max_rss is not None
            and window.peak > self.max_rss
            and self.logger.isEnabledFor(logging.WARNING)
            and self.warnings.ready()
        ):
            self.logger.warning(
                "%s() took RSS to %s during the call, above max_rss %s (it rose by %s)",
                self.name,
                format_bytes(window.peak),
                format_bytes(self.max_rss),
                format_bytes(delta),
                extra={**call_fields(self.name), _events.MEMORY_PEAK_RSS: window.peak},
            )

    def stats(self) -> MemoryGuardStats:
        """This function's counts so far (see `MemoryGuardStats`)."""
        last = self.last
        with self._lock:
            waited_s, peak, delta = self.waited_s, self.peak_rss, self.last_peak_delta
        return MemoryGuardStats(
            name=self.name,
            calls=self.calls.value,
            refused=self.refused.value,
            fallbacks=self.fallbacks.value,
            warned=self.warned.value,
            waits=self.waits.value,
            waited_s=waited_s,
            last_reading=tightest(last) if last else None,
            peak_rss=peak,
            last_peak_delta=delta,
        )


class _Wait:
    """``action="wait"``: poll every ``poll_interval`` until the call fits or time is up."""

    __slots__ = ("deadline", "estimate", "guard", "refusal", "start")

    def __init__(self, guard: _Guard, estimate: int, refusal: _Refusal) -> None:
        self.guard = guard
        self.estimate = estimate
        self.refusal: _Refusal | None = refusal
        self.start = clock()
        self.deadline = self.start + guard.wait_timeout_s

    def pause(self) -> float:
        """Seconds to sleep before the next check; 0 when done (admitted or out of time)."""
        if self.refusal is None:
            return 0.0
        remaining = self.deadline - clock()
        return min(self.guard.poll_interval_s, remaining) if remaining > 0 else 0.0

    def check(self) -> None:
        self.refusal = self.guard.admit(self.estimate, exact=True)

    def finish(self) -> _Refusal | None:
        waited = clock() - self.start
        self.guard.record_wait(waited)
        if self.refusal is not None:
            self.refusal.waited_s = waited
        return self.refusal


# -- peak tracking ---------------------------------------------------------------------------


class _Window:
    """RSS at the start of one tracked call and the highest sample since."""

    __slots__ = ("peak", "probe", "start")

    def __init__(self, probe: MemoryProbe) -> None:
        self.probe = probe
        self.start = self.peak = probe.rss()

    def sample(self, rss: int) -> None:
        if rss > self.peak:
            self.peak = rss


class _PeakSampler:
    """One daemon thread for the whole process, sampling RSS while tracked calls run.

    It sleeps on a condition when no tracked call runs, and samples each probe once per
    round however many calls share it.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._windows: set[_Window] = set()
        self._thread: threading.Thread | None = None
        reset_in_child(self)

    def _after_fork(self) -> None:
        # Neither the sampler's thread nor the parent's tracked calls exist in the child.
        self._lock = threading.Condition()
        self._windows = set()
        self._thread = None

    def start(self, probe: MemoryProbe) -> _Window:
        window = _Window(probe)
        with self._lock:
            self._windows.add(window)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mlops-decorators-rss-peaks", daemon=True
                )
                self._thread.start()
            self._lock.notify()
        return window

    def stop(self, window: _Window) -> _Window:
        with self._lock:
            self._windows.discard(window)
        window.sample(window.probe.rss())  # the end of the call is a sample too
        return window

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._windows:
                    self._lock.wait()
                windows = list(self._windows)
            samples: dict[int, int] = {}
            for window in windows:
                key = id(window.probe)
                if key not in samples:
                    samples[key] = window.probe.rss()
                window.sample(samples[key])
            time.sleep(PEAK_INTERVAL_S)


_sampler = _PeakSampler()


# -- decoration ------------------------------------------------------------------------------


def _run_sync(guard: _Guard, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    if not guard.track_peak:
        return fn(*args, **kwargs)
    window = _sampler.start(guard.probe)
    try:
        return fn(*args, **kwargs)
    finally:
        guard.record_peak(_sampler.stop(window))


def _sync_factory(guard: _Guard) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def factory(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            estimate = guard.begin(args, kwargs)
            refusal = guard.admit(estimate)
            if refusal is not None:
                refusal = guard.recheck(estimate)
                if refusal is not None and guard.action == "wait":
                    wait = _Wait(guard, estimate, refusal)
                    while (pause := wait.pause()) > 0.0:
                        sleep(pause)
                        wait.check()
                    refusal = wait.finish()
                if refusal is not None:
                    return guard.refuse(refusal, args, kwargs)
            try:
                return _run_sync(guard, fn, args, kwargs)
            finally:
                if estimate:
                    _reservations.release(estimate)

        return wrapper

    return factory


def _async_factory(
    guard: _Guard,
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    def factory(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            estimate = guard.begin(args, kwargs)
            refusal = guard.admit(estimate)
            if refusal is not None:
                refusal = guard.recheck(estimate)
                if refusal is not None and guard.action == "wait":
                    wait = _Wait(guard, estimate, refusal)
                    while (pause := wait.pause()) > 0.0:
                        await async_sleep(pause)  # never blocks the event loop
                        wait.check()
                    refusal = wait.finish()
                if refusal is not None:
                    result = guard.refuse(refusal, args, kwargs)
                    return await result if inspect.isawaitable(result) else result
            try:
                if not guard.track_peak:
                    return await fn(*args, **kwargs)
                window = _sampler.start(guard.probe)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    guard.record_peak(_sampler.stop(window))
            finally:
                if estimate:
                    _reservations.release(estimate)

        return wrapper

    return factory


@overload
def memory_guard(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def memory_guard(
    fn: None = None,
    /,
    *,
    max_percent: float = 90.0,
    min_available: Size | None = None,
    max_rss: Size | None = None,
    estimate: Size | Callable[..., int | float | str] | None = None,
    action: Literal["raise", "wait", "warn"] = "raise",
    collect_garbage: bool = True,
    wait_timeout: Seconds = 30.0,
    poll_interval: Seconds = 0.5,
    fallback: Callable[..., Any] | None = None,
    track_peak: bool = False,
    gpu_min_free: Size | None = None,
    probe: MemoryProbe | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def memory_guard(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    max_percent: float = 90.0,
    min_available: Size | None = None,
    max_rss: Size | None = None,
    estimate: Size | Callable[..., int | float | str] | None = None,
    action: Literal["raise", "wait", "warn"] = "raise",
    collect_garbage: bool = True,
    wait_timeout: Seconds = 30.0,
    poll_interval: Seconds = 0.5,
    fallback: Callable[..., Any] | None = None,
    track_peak: bool = False,
    gpu_min_free: Size | None = None,
    probe: MemoryProbe | None = None,
) -> Callable[..., Any]:
    """Check memory before each call, and refuse, wait, warn or fall back when it is short.

    The line is drawn against every source that can stop the process: the host and each
    cgroup with a limit on the process's path (in a container, the limit that gets it
    OOM-killed). A call is over the line when, counting its `estimate` and the estimates of
    guarded calls still running in this process as used, any source would be more than
    `max_percent` used or have less than `min_available` left, or RSS would pass
    `max_rss`, or a visible GPU has less than `gpu_min_free` free. Over the line, garbage
    is collected once (``collect_garbage``) and memory measured again before `action`.

    Sizes are bytes or strings: ``"512MiB"``, ``"2GB"``, ``"1.5 GiB"``, ``"4Gi"``.

    Args:
        max_percent: Most of a source's limit the call may leave in use, in (0, 100].
        min_available: Least memory a source must have left after the call's estimate.
        max_rss: Most resident memory this process may use, its estimate included.
        estimate: Bytes the call will need, or a callable of the call's arguments (by
            parameter name, the ones it declares) returning them, such as
            ``lambda X: 3 * X.nbytes``. Reserved while the call runs, so concurrent calls
            count each other.
        action: ``"raise"`` raises `MemoryGuardError` without running the function;
            ``"wait"`` polls every `poll_interval` until memory frees, up to `wait_timeout`,
            then raises (``async def`` functions wait with ``asyncio.sleep``); ``"warn"``
            logs a WARNING (at most one a minute per function) and runs the call anyway.
        collect_garbage: Run ``gc.collect()`` and measure again before deciding a call is over
            the line (at most once a second in the process: a full collection of a large
            heap is itself slow).
        wait_timeout: Longest wait for ``action="wait"``, in seconds or a `timedelta`.
        poll_interval: Time between two checks while waiting (> 0).
        fallback: Called instead of raising, with the call's arguments by parameter name
            (the ones it declares), and its result returned: skip a non-essential task, serve
            a smaller or cached result. May be ``async def`` for an ``async def`` function.
        track_peak: Sample RSS during calls (one shared background thread) and record the
            peak and its rise in the stats; WARNING when the peak passes `max_rss`.
        gpu_min_free: Least free memory on each GPU visible to CUDA, read through NVML
            (``pip install 'mlops-decorators[gpu]'``); skipped with one WARNING where NVML
            cannot be used (no driver).
        probe: Where readings come from (a `MemoryProbe`); defaults to this machine.

    Returns:
        The decorated function (``@memory_guard``), or a decorator when called with options.
        ``memory_guard_stats(fn)`` (or ``fn.memory_guard_stats()``) returns its counts.

    Raises:
        TypeError: An option has the wrong type, was passed positionally, or `estimate` /
            `fallback` declares a parameter the function does not have.
        ValueError: A size is negative or unreadable, `max_percent` is outside (0, 100],
            `action` is unknown, or `fallback` is given with ``action="warn"``.
        ImportError: `gpu_min_free` is set and nvidia-ml-py is not installed.

    Example:
        >>> @memory_guard(max_percent=100, estimate=lambda rows: rows * 8)
        ... def load(rows: int) -> int:
        ...     return rows
        >>> load(1_000)
        1000
        >>> @memory_guard(min_available="1 TiB", fallback=lambda rows: -1)
        ... def load_huge(rows: int) -> int:
        ...     return rows
        >>> load_huge(10)  # no machine here has 1 TiB available: the fallback answers
        -1
    """

    def apply(target: Callable[..., Any]) -> Callable[..., Any]:
        guard = _Guard(
            target,
            max_percent=max_percent,
            min_available=min_available,
            max_rss=max_rss,
            estimate=estimate,
            action=action,
            collect_garbage=collect_garbage,
            wait_timeout=wait_timeout,
            poll_interval=poll_interval,
            fallback=fallback,
            track_peak=track_peak,
            gpu_min_free=gpu_min_free,
            probe=probe,
        )
        return decorate(
            target,
            "memory_guard",
            sync=_sync_factory(guard),
            async_=_async_factory(guard),
            attrs={"memory_guard_stats": guard.stats},
            allow_generators=False,
        )

    return bare_or_called(fn, "memory_guard", apply)


def memory_guard_stats(fn: Callable[..., Any]) -> MemoryGuardStats:
    """The `MemoryGuardStats` of a function decorated with `memory_guard`, found along
    ``__wrapped__`` through any stack of decorators (the typed form of
    ``fn.memory_guard_stats()``).

    Raises:
        TypeError: `fn` carries no `memory_guard`.

    Example:
        >>> @memory_guard(max_percent=100)
        ... def predict() -> str:
        ...     return "ok"
        >>> memory_guard_stats(predict).name
        'predict'
    """
    snapshot: Callable[[], MemoryGuardStats] = accessor(fn, "memory_guard_stats", "memory_guard")
    return snapshot()


# -- option checks ---------------------------------------------------------------------------


def _bytes(name: str, value: Any) -> int:
    """An estimate's result as bytes: an int, a finite float >= 0 (rounded up) or a size."""
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return math.ceil(value)
    return _checks.byte_size(name, value)


def _probe(value: MemoryProbe | None, gpu: bool) -> MemoryProbe:
    if value is None:
        if gpu:
            import importlib.util

            if importlib.util.find_spec("pynvml") is None:
                raise ImportError(
                    "gpu_min_free reads GPU memory through NVML: "
                    "pip install 'mlops-decorators[gpu]' (nvidia-ml-py)"
                )
        return system_probe()
    if not all(callable(getattr(value, method, None)) for method in ("memory", "rss", "gpu")):
        what = "an object with memory(), rss() and gpu() methods (a MemoryProbe) or None"
        raise _checks.wrong_type("probe", what, value)
    return value


def _estimator(
    value: Size | Callable[..., Any] | None, fn: Callable[..., Any]
) -> tuple[Callable[[tuple[Any, ...], dict[str, Any]], Any] | None, int]:
    """(callable of the call's arguments, None) or (None, fixed bytes)."""
    if value is None:
        return None, 0
    if callable(value):
        return CallSignature(fn).by_name(value, "estimate", qualified_name(fn)), 0
    if not isinstance(value, (int, str)) or isinstance(value, bool):
        raise _checks.wrong_type(
            "estimate",
            "a size in bytes (an int or a string such as '2GB'), a callable of the call's "
            "arguments returning one, or None",
            value,
        )
    return None, _checks.byte_size("estimate", value)


def _fallback(
    value: Callable[..., Any] | None, fn: Callable[..., Any], action: str
) -> Callable[[tuple[Any, ...], dict[str, Any]], Any] | None:
    if _checks.optional(_checks.is_callable, "fallback", value) is None or value is None:
        return None
    if action == "warn":
        raise ValueError(
            "fallback is never called with action='warn' (the call runs anyway); use "
            "action='raise' or 'wait' with a fallback"
        )
    if is_async_callable(value) and not is_async_callable(fn):
        raise TypeError(
            f"fallback {qualified_name(value)} is async but {qualified_name(fn)} is not: "
            "a plain function cannot await it"
        )
    return CallSignature(fn).by_name(value, "fallback", qualified_name(fn))
