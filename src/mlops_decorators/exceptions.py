"""Exceptions raised by mlops-decorators.

Every exception the library defines derives from `MlopsDecoratorsError`, so one
``except MlopsDecoratorsError`` catches them all. Exceptions raised by *your* code
pass through the decorators unchanged: they are never wrapped.

```
MlopsDecoratorsError
├── RetryExhaustedError      retry ran out of attempts on results it was told to retry
└── MemoryGuardError         memory_guard refused a call (also a built-in MemoryError)
```

Bad decorator arguments raise the built-in `ValueError` or `TypeError` at decoration time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._resources import MemoryReading

__all__ = ["MemoryGuardError", "MlopsDecoratorsError", "RetryExhaustedError"]


class MlopsDecoratorsError(Exception):
    """Base class of every exception defined by mlops-decorators.

    Example:
        >>> try:
        ...     raise RetryExhaustedError("gave up", last_result=None, attempts=3)
        ... except MlopsDecoratorsError as exc:
        ...     exc.attempts
        3
    """


class RetryExhaustedError(MlopsDecoratorsError):
    """`retry` used every attempt and each one *returned* a value it was told to retry.

    When attempts run out on an exception, that exception itself is re-raised instead.

    Args:
        message: What happened, for humans.
        last_result: The value the last attempt returned.
        attempts: How many attempts were made.

    Example:
        >>> err = RetryExhaustedError("fetch gave up", last_result=503, attempts=4)
        >>> (err.last_result, err.attempts)
        (503, 4)
    """

    def __init__(self, message: str, *, last_result: Any, attempts: int) -> None:
        super().__init__(message)
        self.last_result = last_result
        self.attempts = attempts

    def __reduce__(self) -> Any:
        # Keyword-only constructor arguments need help to survive pickling (multiprocessing).
        return (_rebuild_retry_exhausted, (str(self), self.last_result, self.attempts))


def _rebuild_retry_exhausted(message: str, last_result: Any, attempts: int) -> RetryExhaustedError:
    return RetryExhaustedError(message, last_result=last_result, attempts=attempts)


class MemoryGuardError(MlopsDecoratorsError, MemoryError):
    """`memory_guard` refused to run a call: memory was over the line it was given.

    A `MemoryError` too, so code that already handles running out of memory handles a refusal.
    The decorated function did not run.

    Args:
        message: What was refused and the numbers behind it, for humans.
        function: The refused function's qualified name.
        option: The line that was crossed: ``"max_percent"``, ``"min_available"``,
            ``"max_rss"`` or ``"gpu_min_free"``.
        reading: The memory reading that was over the line (None for RSS and GPU lines).
        estimate: Bytes the call was estimated to need.
        waited_s: Seconds spent waiting for memory before giving up (``action="wait"``).

    Example:
        >>> err = MemoryGuardError("refused load()", function="load", option="max_rss")
        >>> isinstance(err, MemoryError), err.option
        (True, 'max_rss')
    """

    def __init__(
        self,
        message: str,
        *,
        function: str,
        option: str,
        reading: MemoryReading | None = None,
        estimate: int = 0,
        waited_s: float = 0.0,
    ) -> None:
        super().__init__(message)
        self.function = function
        self.option = option
        self.reading = reading
        self.estimate = estimate
        self.waited_s = waited_s

    def __reduce__(self) -> Any:
        fields = (self.function, self.option, self.reading, self.estimate, self.waited_s)
        return (_rebuild_memory_guard_error, (str(self), *fields))


def _rebuild_memory_guard_error(
    message: str,
    function: str,
    option: str,
    reading: MemoryReading | None,
    estimate: int,
    waited_s: float,
) -> MemoryGuardError:
    return MemoryGuardError(
        message,
        function=function,
        option=option,
        reading=reading,
        estimate=estimate,
        waited_s=waited_s,
    )
