"""Keeping a slow or dead shared backend from stalling calls.

A `BackendGuard` is kept per backend object (all functions using one store share it). It
holds the backend's cool-down: after a failed operation the store is skipped for
`COOLDOWN_S` seconds, so a dead store costs one timeout per cool-down, not one per call.
It also owns the few threads that ``async def`` functions run their backend I/O in: never
the event loop's default executor, which the application needs for its own
``asyncio.to_thread`` work, and a bounded number of them, so a hung store ties up at most
`IO_THREADS` threads. A `Budget` limits how long one async call waits for the backend in
total, queueing for a thread included.

A child made by ``os.fork()`` replaces a guard's lock and starts without its threads (see
`mlops_decorators._fork`).
"""

from __future__ import annotations

import contextvars
import sys
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _checks
from .._fork import fork_safe_lock, reset_in_child

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "COOLDOWN_S",
    "IO_THREADS",
    "BackendGuard",
    "Budget",
    "abandoned",
    "guard_of",
    "per_backend",
]

#: Seconds a shared backend is skipped after one of its operations failed (or outlasted the
#: call's budget). One call then probes it; the others keep skipping until that one succeeds.
COOLDOWN_S = 5.0
#: Threads per backend for the backend I/O of ``async def`` functions.
IO_THREADS = 4

T = TypeVar("T")


class Budget:
    """Seconds one call may still wait for its backend (None: as long as the backend takes),
    and whether the call stopped waiting for an operation (`gave_up`)."""

    __slots__ = ("gave_up", "left")

    def __init__(self, left: float | None) -> None:
        self.left = left
        self.gave_up = False


# The budget of the async call a backend thread works for; unset elsewhere.
_working_for: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "mlops_decorators_cache_budget", default=None
)


def abandoned() -> bool:
    """Whether this thread works for an async call that stopped waiting for it: what the
    operation meets now (a failure, a skip) was already counted for that call, as a timeout.
    """
    budget = _working_for.get()
    return budget is not None and budget.gave_up


class BackendGuard:
    """A backend's cool-down and I/O threads.

    Args:
        timeout: Seconds one call may wait for the backend in total (None: no limit).
        clock: Monotonic clock in seconds (cool-downs and budgets).

    Example:
        >>> now = [0.0]
        >>> guard = BackendGuard(1.0, clock=lambda: now[0])
        >>> guard.admit()  # healthy
        True
        >>> guard.failed()
        >>> guard.cooling(), guard.admit()
        (True, False)
        >>> now[0] = COOLDOWN_S  # the cool-down is over: one caller probes, others wait
        >>> guard.admit(), guard.admit()
        (True, False)
        >>> guard.succeeded()
        >>> guard.admit()
        True
    """

    __slots__ = ("__weakref__", "_clock", "_lock", "_pool", "_until", "timeout")

    def __init__(self, timeout: float | None, clock: Callable[[], float]) -> None:
        self.timeout = timeout
        self._clock = clock
        self._lock = fork_safe_lock(self, "_lock")
        # 0.0 while healthy, else the end of the cool-down (or of the probe's turn).
        self._until = 0.0
        self._pool: ThreadPoolExecutor | None = None
        reset_in_child(self)

    def cooling(self) -> bool:
        """Whether the backend is in its cool-down (a read: never claims the probe)."""
        until = self._until
        return bool(until) and self._clock() < until

    def admit(self) -> bool:
        """Whether to use the backend now: healthy, or this caller probes it after a
        cool-down (it must then report `succeeded` or `failed`)."""
        until = self._until
        if not until:
            return True
        now = self._clock()
        if now < until:
            return False
        with self._lock:
            if self._until != until:  # another caller probes, or has reported meanwhile
                return not self._until
            self._until = now + COOLDOWN_S  # others skip while this caller probes
            return True

    def succeeded(self) -> None:
        """Record a backend operation that worked: the cool-down, if any, is over."""
        if self._until:
            self._until = 0.0

    def failed(self) -> None:
        """Record a failed backend operation: skip the backend for `COOLDOWN_S` seconds."""
        self._until = self._clock() + COOLDOWN_S

    def budget(self) -> Budget:
        """A fresh `Budget` for one call."""
        return Budget(self.timeout)

    async def run(self, budget: Budget, job: Callable[..., T], *args: Any) -> T:
        """``job(*args)`` in one of this backend's threads, waiting at most what is left of
        `budget` (and charging the wait to it).

        Raises:
            asyncio.TimeoutError: The budget ran out first (the job, if it started, runs on).
        """
        import asyncio
        import functools

        loop = asyncio.get_running_loop()
        left = budget.left
        if left is not None and left <= 0:
            raise asyncio.TimeoutError  # nothing left for another operation
        # Like asyncio.to_thread: the job sees the caller's context (tracing spans, say).
        context = contextvars.copy_context()
        context.run(_working_for.set, budget)
        call = functools.partial(context.run, job, *args)
        start = self._clock()
        try:
            future = loop.run_in_executor(self._threads(), call)
            if sys.version_info >= (3, 11):  # a third of wait_for's cost per call
                async with asyncio.timeout(left):
                    return await future
            else:  # pragma: no cover -- Python 3.10
                return await asyncio.wait_for(future, left)
        except asyncio.TimeoutError:
            budget.gave_up = True
            raise
        finally:
            if left is not None:
                budget.left = left - (self._clock() - start)

    def _threads(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            with self._lock:
                pool = self._pool
                if pool is None:
                    pool = self._pool = ThreadPoolExecutor(
                        IO_THREADS, thread_name_prefix="mlops-decorators-cache-io"
                    )
        return pool

    def _after_fork(self) -> None:
        # The parent's threads do not exist here: a pool that believes they idle would
        # queue jobs that never run.
        self._pool = None


_guards: weakref.WeakKeyDictionary[Any, BackendGuard] = weakref.WeakKeyDictionary()


def per_backend(
    registry: weakref.WeakKeyDictionary[Any, T], backend: Any, make: Callable[[], T]
) -> T:
    """`registry`'s value for `backend`, made on first use; a fresh one for a backend that
    cannot be weakly referenced or hashed.

    Args:
        registry: Values by backend.
        backend: The backend object.
        make: Makes the value.

    Returns:
        The value of `backend` in `registry`.
    """
    try:
        value = registry.get(backend)
        if value is None:
            value = registry.setdefault(backend, make())
    except TypeError:
        return make()
    return value


def guard_of(backend: Any, clock: Callable[[], float]) -> BackendGuard:
    """The guard every function using `backend` shares.

    Args:
        backend: A shared backend; its optional ``timeout`` attribute (seconds) is the
            most one async call waits for it in total.
        clock: Monotonic clock in seconds, used when the guard is new.

    Returns:
        The backend's guard.

    Raises:
        TypeError: The backend's ``timeout`` is not a number of seconds.
        ValueError: The backend's ``timeout`` is not positive and finite.
    """
    timeout = getattr(backend, "timeout", None)
    if timeout is not None:
        timeout = _checks.seconds(f"{type(backend).__name__}.timeout", timeout, allow_zero=False)
    return per_backend(_guards, backend, lambda: BackendGuard(timeout, clock))
