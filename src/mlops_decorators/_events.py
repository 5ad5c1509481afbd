"""What the decorators log: the structured ``extra`` field names, once, and a rate limit.

Every record a decorator emits carries the same field names, so a log pipeline can search
``function``, ``duration_s`` or ``exception`` across all of them. Build the fields with
`call_fields` rather than spelling the names out.

The package logger gets a `logging.NullHandler` here (every decorator module imports this
one), so an application that configured no logging sees no "No handlers" noise, while one that
did sees every record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ._fork import fork_safe_lock

#: Qualified name of the decorated function (or the block's name).
FUNCTION = "function"
#: Duration of the call, in seconds.
DURATION_S = "duration_s"
#: Class name of the exception the call raised (absent or None when it returned).
EXCEPTION = "exception"
#: ``"ok"`` or ``"error"``.
OUTCOME = "outcome"
#: Summarised, redacted arguments: parameter name -> summary.
CALL_ARGS = "call_args"
#: Summarised result.
RESULT = "result"
#: Values a generator yielded (records about a generator's iteration).
ITEMS = "items"
#: Seconds from a generator's first ``next`` to its end (``duration_s`` is the time spent
#: inside it).
ELAPSED_S = "elapsed_s"
#: Which memory line a call crossed (``"max_percent"``, ``"min_available"``, ...).
MEMORY_OPTION = "memory_option"
#: Where a memory reading comes from: ``"host"``, ``"cgroup v1"`` or ``"cgroup v2"``.
MEMORY_SOURCE = "memory_source"
#: The file a memory limit was read from (a cgroup's ``memory.max``), if any.
MEMORY_LIMIT_FILE = "memory_limit_file"
#: Bytes a call was estimated to need.
MEMORY_ESTIMATE = "memory_estimate"
#: Highest resident memory (bytes) seen during a call.
MEMORY_PEAK_RSS = "memory_peak_rss"
#: The call's label set (``monitor(labels=...)``): key -> value.
LABELS = "labels"
#: CPU time the call used, in seconds (``monitor(system_metrics=True)``).
CPU_S = "cpu_s"
#: Growth of the process's resident set size over the call, in bytes (may be negative).
RSS_DELTA_BYTES = "rss_delta_bytes"
#: The state of the system when a call failed: process RSS and CPU time, available memory
#: and where that figure comes from (host or cgroup).
SYSTEM = "system"

logging.getLogger(__package__).addHandler(logging.NullHandler())


def call_fields(
    name: str,
    *,
    duration_s: float | None = None,
    error: BaseException | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The ``extra`` of a record about one call of `name`.

    Args:
        name: The function's (or block's) name.
        duration_s: The call's duration, when it was measured.
        error: The exception the call raised, if any (its class name is logged).
        **more: Further fields of this record.

    Returns:
        A new dict for ``logger.log(..., extra=...)``.

    Example:
        >>> call_fields("predict", duration_s=0.5, error=ValueError("bad"))
        {'function': 'predict', 'duration_s': 0.5, 'exception': 'ValueError'}
    """
    fields: dict[str, Any] = {FUNCTION: name}
    if duration_s is not None:
        fields[DURATION_S] = duration_s
    if error is not None:
        fields[EXCEPTION] = type(error).__name__
    if more:
        fields.update(more)
    return fields


class RateLimit:
    """Lets one event through per `every_s` seconds (``math.inf``: only the first one).

    For warnings that a failing dependency would otherwise repeat on every call. Thread-safe:
    of two threads asking at once, exactly one is let through.

    Args:
        every_s: Seconds between two events let through.
        clock: Monotonic clock in seconds; a seam for tests.

    Example:
        >>> ticks = iter([0.0, 1.0, 61.0])
        >>> limit = RateLimit(60.0, clock=lambda: next(ticks))
        >>> [limit.ready() for _ in range(3)]
        [True, False, True]
    """

    __slots__ = ("__weakref__", "_clock", "_lock", "_next", "every_s")

    def __init__(self, every_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self._clock = clock
        self._lock = fork_safe_lock(self, "_lock")
        self._next = float("-inf")

    def ready(self) -> bool:
        """Whether to emit the event now (and, if so, start a new quiet period)."""
        now = self._clock()
        if now < self._next:  # the common case when failing: no lock
            return False
        with self._lock:
            if now < self._next:
                return False
            self._next = now + self.every_s
            return True

    def reset(self) -> None:
        """Let the next event through (between tests, or after a recovery)."""
        self._next = float("-inf")
