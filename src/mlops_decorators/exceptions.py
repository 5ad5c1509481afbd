"""Exceptions raised by mlops-decorators.

Every exception the library defines derives from `MlopsDecoratorsError`, so one
``except MlopsDecoratorsError`` catches them all. Exceptions raised by *your* code
pass through the decorators unchanged: they are never wrapped.

```
MlopsDecoratorsError
└── RetryExhaustedError      retry ran out of attempts on results it was told to retry
```

Bad decorator arguments raise the built-in `ValueError` or `TypeError` at decoration time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MlopsDecoratorsError", "RetryExhaustedError"]


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
