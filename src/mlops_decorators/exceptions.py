"""Exceptions raised by mlops-decorators.

Every exception the library defines derives from `MlopsDecoratorsError`, so one
``except MlopsDecoratorsError`` catches them all. Exceptions raised by *your* code
pass through the decorators unchanged: they are never wrapped.

```
MlopsDecoratorsError
├── RetryExhaustedError      retry ran out of attempts on results it was told to retry
├── MemoryGuardError         memory_guard refused a call (also a built-in MemoryError)
└── InputValidationError     validate_input rejected a call's arguments (also a ValueError)
```

Bad decorator arguments raise the built-in `ValueError` or `TypeError` at decoration time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from ._resources import MemoryReading

__all__ = [
    "InputErrorDetails",
    "InputValidationError",
    "MemoryGuardError",
    "MlopsDecoratorsError",
    "RetryExhaustedError",
]


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


class InputErrorDetails(TypedDict):
    """One problem found by `validate_input`, as listed by `InputValidationError.errors`.

    Attributes:
        parameter: The parameter's name in the signature (``"return"`` for the return value).
        path: Where inside the argument: field names and indices, ``()`` for the whole value.
        message: What is wrong, for humans.
        expected: What was expected: an array spec (``"shape ('n', 4)"``) or pydantic's error
            type with its context (``"greater_than(gt=0)"``).
        got: A short summary of the value (arrays by shape and dtype), ``'***'`` when the
            parameter or a key on the path looks like a secret.
    """

    parameter: str
    path: tuple[str | int, ...]
    message: str
    expected: str
    got: str


class InputValidationError(MlopsDecoratorsError, ValueError):
    """`validate_input` rejected a call: every failing argument, by parameter name.

    The function was not called. Values are summarised, never shown in full, and values of
    secret-looking parameters are not shown at all.

    Args:
        function: The decorated function's qualified name.
        errors: One entry per problem, in the order of the parameters.

    Example:
        >>> err = InputValidationError("predict", [InputErrorDetails(
        ...     parameter="config", path=("lr",), message="Input should be greater than 0",
        ...     expected="greater_than(gt=0)", got="-1.0")])
        >>> print(err)
        predict(): argument 'config.lr': Input should be greater than 0
        >>> isinstance(err, ValueError), [detail["parameter"] for detail in err.errors()]
        (True, ['config'])
    """

    def __init__(self, function: str, errors: Iterable[InputErrorDetails]) -> None:
        self.function = function
        self._errors = [InputErrorDetails(**error) for error in errors]  # a private copy
        super().__init__(_describe(function, self._errors))

    def errors(self) -> list[InputErrorDetails]:
        """The problems as structured records (a new list of new dicts on each call)."""
        return [InputErrorDetails(**error) for error in self._errors]

    def __reduce__(self) -> Any:
        return (type(self), (self.function, self._errors))


def _describe(function: str, errors: list[InputErrorDetails]) -> str:
    lines = [f"{_where(error)}: {error['message']}" for error in errors]
    if len(lines) == 1:
        return f"{function}(): {lines[0]}"
    return f"{function}(): {len(lines)} problems\n  " + "\n  ".join(lines)


def _where(error: InputErrorDetails) -> str:
    path = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error["path"])
    if error["parameter"] == "return":  # never a parameter's name: it is a keyword
        return f"return value at {path.lstrip('.')!r}" if path else "return value"
    return f"argument {error['parameter'] + path!r}"


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
