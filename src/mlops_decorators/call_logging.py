"""`log_calls`: log each call's arguments, its result or exception, and how long it took.

Values are summarised (arrays by shape and dtype, long strings and containers cut to
``max_repr`` characters, mappings and records field by field) and secret-looking names are
redacted, using the same summaries as the rest of the package. Generators are logged when
iterated. When the logger is disabled for ``level`` nothing is
formatted: the wrapper checks the level and calls straight through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, TypeVar, overload

from . import _checks
from ._core import (
    CallSignature,
    Iterated,
    bare_or_called,
    decorate,
    function_or_option,
    module_name,
    qualified_name,
)
from ._events import CALL_ARGS, ELAPSED_S, ITEMS, RESULT, call_fields
from ._values import DEFAULT_REDACT, Summarizer, format_duration, normalise_redact, plural

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    P = ParamSpec("P")

R = TypeVar("R")

__all__ = ["DEFAULT_REDACT", "log_calls"]


class _CallLog:
    """Formats and emits the records of one decorated function."""

    __slots__ = ("level", "log_args", "log_result", "logger", "name", "signature", "values")

    def __init__(
        self,
        fn: Callable[..., Any],
        logger: logging.Logger,
        level: int,
        log_args: bool,
        log_result: bool,
        values: Summarizer,
    ) -> None:
        self.signature = CallSignature(fn)
        self.name = qualified_name(fn)
        self.logger = logger
        self.level = level
        self.log_args = log_args
        self.log_result = log_result
        self.values = values

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, str]:
        """Summaries of the arguments as the function sees them (receiver left out)."""
        return self.values.arguments(self.signature.passed(args, kwargs))

    def started(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
        extra = call_fields(self.name)
        if self.log_args:
            call_args = extra[CALL_ARGS] = self.arguments(args, kwargs)
            text = ", ".join(f"{name}={value}" for name, value in call_args.items())
            self.logger.log(self.level, "calling %s(%s)", self.name, text, extra=extra)
        else:
            self.logger.log(self.level, "calling %s", self.name, extra=extra)
        return perf_counter_ns()

    def returned(self, start: int, result: Any) -> None:
        seconds = (perf_counter_ns() - start) / 1e9
        extra = call_fields(self.name, duration_s=seconds)
        if self.log_result:
            summary = extra[RESULT] = self.values.value(result)
            self.logger.log(
                self.level,
                "%s returned %s in %s",
                self.name,
                summary,
                format_duration(seconds),
                extra=extra,
            )
        else:
            self.logger.log(
                self.level, "%s finished in %s", self.name, format_duration(seconds), extra=extra
            )

    def iterated(self, run: Iterated, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Log the end of a generator's iteration: how many items, how long."""
        seconds = run.inside_ns / 1e9
        if run.error is not None:
            self.raised(seconds, run.error, args, kwargs)
            return
        if not self.logger.isEnabledFor(self.level):
            return
        extra = call_fields(self.name, duration_s=seconds)
        extra[ITEMS] = run.items
        extra[ELAPSED_S] = elapsed = run.elapsed_ns / 1e9
        self.logger.log(
            self.level,
            "%s yielded %s in %s (%s from first next to %s)",
            self.name,
            plural(run.items, "item"),
            format_duration(seconds),
            format_duration(elapsed),
            run.ending,
            extra=extra,
        )

    def raised(
        self,
        seconds: float | None,
        error: BaseException,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """Log `error`: with traceback at ERROR for an `Exception`; interruptions and
        cancellations (`KeyboardInterrupt`, `asyncio.CancelledError`) at ``level`` without."""
        failed = isinstance(error, Exception)
        level = logging.ERROR if failed else self.level
        if not self.logger.isEnabledFor(level):
            return
        extra = call_fields(self.name, duration_s=seconds, error=error)
        if self.log_args:
            extra[CALL_ARGS] = self.arguments(args, kwargs)
        after = "" if seconds is None else f" after {format_duration(seconds)}"
        self.logger.log(
            level,
            "%s raised %s: %s%s",
            self.name,
            type(error).__name__,
            self.values.error_text(error),
            after,
            exc_info=error if failed else None,
            extra=extra,
        )


@overload
def log_calls(logger: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def log_calls(
    logger: logging.Logger | str | None = None,
    *,
    level: int | str = logging.INFO,
    log_args: bool = True,
    log_result: bool = True,
    max_repr: int = 200,
    redact: Iterable[str] = DEFAULT_REDACT,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def log_calls(
    fn_or_logger: logging.Logger | str | Callable[..., Any] | None = None,
    /,
    *,
    logger: logging.Logger | str | None = None,
    level: int | str = logging.INFO,
    log_args: bool = True,
    log_result: bool = True,
    max_repr: int = 200,
    redact: Iterable[str] = DEFAULT_REDACT,
) -> Callable[..., Any]:
    """Log every call: its arguments, then its result and duration, or its exception.

    An exception is logged at ERROR with its traceback and re-raised unchanged; it is logged
    even when ``level`` itself is disabled. Cancellation and ``KeyboardInterrupt`` are logged
    at ``level`` without a traceback; its message is cut to ``max_repr`` characters. The
    receiver of a method or classmethod (``self``, ``cls``) is left out of the arguments.
    Summarising never fails the call: what cannot be summarised shows as a placeholder.

    A generator or async generator function is logged when it is iterated: the call when
    iteration starts (first ``next``), then the items yielded, the time spent inside the
    generator and the time from the first ``next`` to exhaustion, close or error.

    Args:
        logger: A `logging.Logger` or logger name; defaults to the decorated function's
            module logger.
        level: Level of the call and result records.
        log_args: Log the arguments (bound to the signature, defaults not shown).
        log_result: Log the returned value.
        max_repr: Most characters one summarised value may take (>= 10).
        redact: Secret words whose values are shown as ``'***'``, matched as whole words
            (case-insensitive, split at ``_``, ``-``, digits and camelCase) of argument names,
            of string keys in any mapping and of record fields (dataclasses, pydantic
            models). It *replaces* the default list: extend it with
            ``DEFAULT_REDACT | {"ssn"}``, disable it with ``()``.

    Returns:
        The decorated function, or a decorator when called with options.

    Raises:
        TypeError: An argument has the wrong type (e.g. ``redact="password"``,
            ``max_repr=50.0``).
        ValueError: ``level`` is not a logging level or ``max_repr`` is below 10.

    Example:
        >>> import logging
        >>> @log_calls(level=logging.DEBUG, redact=DEFAULT_REDACT | {"ssn"})
        ... def lookup(user: str, ssn: str) -> int:
        ...     return 42
        >>> lookup("ada", ssn="123-45-6789")  # logs: calling lookup(user='ada', ssn='***')
        42
    """
    # The first parameter is positional-only underneath so that ``log_calls(logger=print)``
    # is refused instead of decorating `print` (the overloads show ``logger`` as documented).
    bare, positional_logger = function_or_option(fn_or_logger)
    if positional_logger is not None:
        if logger is not None:
            raise TypeError("log_calls() got logger both positionally and as a keyword")
        logger = positional_logger
    resolved_level = _checks.log_level("level", level)
    log_args = _checks.flag("log_args", log_args)
    log_result = _checks.flag("log_result", log_result)
    max_repr = _checks.integer("max_repr", max_repr, ge=10)
    values = Summarizer(max_repr, normalise_redact("redact", redact))
    _checks.logger("logger", logger, __name__)  # fail at decoration, not at first call

    def apply(fn: Callable[P, R]) -> Callable[P, R]:
        log = _CallLog(
            fn,
            _checks.logger("logger", logger, module_name(fn)),
            resolved_level,
            log_args,
            log_result,
            values,
        )
        is_enabled = log.logger.isEnabledFor
        started, returned, raised = log.started, log.returned, log.raised

        def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
            def logged(*args: Any, **kwargs: Any) -> Any:
                if not is_enabled(resolved_level):
                    try:
                        return func(*args, **kwargs)
                    except Exception as exc:
                        raised(None, exc, args, kwargs)
                        raise
                start = started(args, kwargs)
                try:
                    result = func(*args, **kwargs)
                except BaseException as exc:
                    raised((perf_counter_ns() - start) / 1e9, exc, args, kwargs)
                    raise
                returned(start, result)
                return result

            return logged

        def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
            async def logged(*args: Any, **kwargs: Any) -> Any:
                if not is_enabled(resolved_level):
                    try:
                        return await func(*args, **kwargs)
                    except Exception as exc:
                        raised(None, exc, args, kwargs)
                        raise
                start = started(args, kwargs)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    raised((perf_counter_ns() - start) / 1e9, exc, args, kwargs)
                    raise
                returned(start, result)
                return result

            return logged

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[Iterated], None]:
            if is_enabled(resolved_level):
                started(args, kwargs)
            return lambda run: iterated(run, args, kwargs)

        iterated = log.iterated
        return decorate(fn, "log_calls", sync=make_sync, async_=make_async, generators=begin)

    return bare_or_called(bare, "log_calls", apply)
