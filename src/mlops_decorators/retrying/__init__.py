"""`retry`: retry failing calls with backoff, jitter, a real deadline and a shared budget.

Decorate plain or ``async def`` functions and methods (``@retry``, ``@retry(max_attempts=5)``),
or retry a block with ``for attempt in retry_context(...): with attempt: ...`` (``async for``
in coroutines). A call whose first attempt succeeds costs one lock-free counter step (plus a
clock reading when a deadline or a budget needs one); everything else (waits, logs, hooks,
notes) happens only after a failure.

For test suites: `set_retry_waits` (or ``MLOPS_DECORATORS_RETRY_NO_WAIT=1``) makes every wait
zero seconds, `set_retries` (or ``MLOPS_DECORATORS_RETRY_DISABLED=1``) turns retrying off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from .. import _checks
from .._core import accessor, bare_or_called, decorate, module_name, qualified_name
from .._switches import Restore
from . import _policy as _engine
from ._budget import RetryBudget
from ._data import RetryState, RetryStats
from ._policy import Attempt, Policy, Run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine, Iterator
    from datetime import timedelta
    from typing import Protocol, TypeAlias

    from typing_extensions import ParamSpec

    P = ParamSpec("P")
    Jitter: TypeAlias = Literal["full", "equal", "decorrelated"] | float | timedelta | None
    Seconds: TypeAlias = float | timedelta
    T = TypeVar("T")
    F_co = TypeVar("F_co", covariant=True)

    class _WithFallback(Protocol[F_co]):
        """`retry(fallback=...)`: a decorated function may also return the fallback."""

        @overload
        def __call__(
            self, fn: Callable[P, Coroutine[Any, Any, T]], /
        ) -> Callable[P, Coroutine[Any, Any, T | F_co]]: ...

        @overload
        def __call__(self, fn: Callable[P, T], /) -> Callable[P, T | F_co]: ...


R = TypeVar("R")
F = TypeVar("F")

__all__ = [
    "Attempt",
    "RetryBudget",
    "RetryContext",
    "RetryState",
    "RetryStats",
    "reset_retry_settings",
    "retry",
    "retry_context",
    "retry_stats",
    "set_retries",
    "set_retry_waits",
]


def set_retry_waits(enabled: bool) -> Restore:
    """Turn waiting between attempts on or off, for the whole process.

    With waits off every retry happens at once; attempt counts, hooks, logs and statistics
    are unchanged. The setting applies immediately; used as a context manager, the previous
    setting comes back at the end of the block. ``MLOPS_DECORATORS_RETRY_NO_WAIT=1`` in the
    environment starts the process with waits off.

    Args:
        enabled: False to make every wait zero seconds.

    Returns:
        A context manager that restores the previous setting on exit.

    Raises:
        TypeError: `enabled` is not True or False (a string such as ``"false"`` would
            otherwise be truthy).

    Example:
        >>> calls = []
        >>> @retry(max_attempts=3, delay=60)
        ... def flaky() -> str:
        ...     calls.append(1)
        ...     if len(calls) < 3:
        ...         raise ConnectionError("try again")
        ...     return "ok"
        >>> with set_retry_waits(False):  # no 60 s waits in a test
        ...     flaky()
        'ok'
    """
    previous = _engine.settings.waits
    _engine.settings.waits = _checks.flag("enabled", enabled)
    return Restore(lambda: setattr(_engine.settings, "waits", previous))


def set_retries(enabled: bool) -> Restore:
    """Turn retrying on or off, for the whole process.

    With retrying off every decorated function makes exactly one attempt and its failure
    propagates at once (a retried result raises `RetryExhaustedError`). Used as a context
    manager, the previous setting comes back at the end of the block.
    ``MLOPS_DECORATORS_RETRY_DISABLED=1`` in the environment starts the process with
    retrying off.

    Args:
        enabled: False to disable retrying.

    Returns:
        A context manager that restores the previous setting on exit.

    Raises:
        TypeError: `enabled` is not True or False (a string such as ``"false"`` would
            otherwise be truthy).

    Example:
        >>> @retry(max_attempts=5)
        ... def broken() -> None:
        ...     raise ConnectionError("down")
        >>> with set_retries(False):
        ...     broken()
        Traceback (most recent call last):
        ConnectionError: down
    """
    previous = _engine.settings.retrying
    _engine.settings.retrying = _checks.flag("enabled", enabled)
    return Restore(lambda: setattr(_engine.settings, "retrying", previous))


def reset_retry_settings() -> None:
    """Set both switches from the environment variables again (on, unless a variable says
    otherwise). Handy in a test suite's fixture.

    Example:
        >>> reset_retry_settings()
    """
    _engine.settings.reset()


class RetryContext:
    """The iterable returned by `retry_context`: each ``for`` over it is a fresh run.

    Use ``for attempt in ctx: with attempt: ...`` in plain code and ``async for`` in
    coroutines; ``ctx.retry_stats()`` counts every run made through it. It can be pickled
    (to hand it to a worker process) when its hooks can: the copy has the same options, its
    own statistics starting from zero, and a fresh copy of its `RetryBudget`.

    Example:
        >>> upload = retry_context(max_attempts=2, delay=0, name="upload")
        >>> for run in range(2):  # the same context, two independent runs
        ...     for attempt in upload:
        ...         with attempt:
        ...             pass
        >>> upload.retry_stats().calls
        2
    """

    __slots__ = ("_policy",)

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    def __repr__(self) -> str:
        return f"<RetryContext {self._policy.name!r} max_attempts={self._policy.max_attempts}>"

    def _run(self) -> Run:
        policy = self._policy
        start = _engine.clock()
        if policy.budget is not None:
            policy.budget.record_call(start)
        return Run(policy, start)

    def __iter__(self) -> Iterator[Attempt]:
        return self._run()

    def __aiter__(self) -> AsyncIterator[Attempt]:
        return self._run()

    def retry_stats(self) -> RetryStats:
        """Counts of every run of this block so far.

        Returns:
            An immutable `RetryStats` snapshot named after the block.

        Example:
            >>> ctx = retry_context(max_attempts=3, delay=0, name="load")
            >>> for attempt in ctx:
            ...     with attempt:
            ...         if attempt.number == 1:
            ...             raise TimeoutError("slow")
            >>> stats = ctx.retry_stats()
            >>> (stats.name, stats.attempts, stats.retries)
            ('load', 2, 1)
        """
        return self._policy.stats.snapshot(self._policy.name)


def retry_context(
    *,
    max_attempts: int | None = 3,
    exceptions: type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], bool] = Exception,
    delay: Seconds = 1.0,
    backoff: float = 2.0,
    max_delay: Seconds = 30.0,
    jitter: Jitter = "full",
    wait: Callable[[RetryState], Seconds] | None = None,
    deadline: Seconds | None = None,
    retry_on_result: Callable[[Any], bool] | None = None,
    giveup: Callable[[BaseException], bool] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    before_attempt: Callable[[RetryState], object] | None = None,
    fallback: object = None,
    logger: logging.Logger | str | None = None,
    budget: RetryBudget | None = None,
    name: str = "retry_context",
) -> RetryContext:
    """Retry a block of code without defining a function; the options are `retry`'s.

    The block's outcome is what the ``with attempt:`` statement sees: an exception matching
    ``exceptions`` is swallowed and the loop runs the block again after the wait; anything
    else leaves the loop. To retry on a value, set ``attempt.result = value`` in the block.

    Args:
        max_attempts: See `retry`.
        exceptions: See `retry`.
        delay: See `retry`.
        backoff: See `retry`.
        max_delay: See `retry`.
        jitter: See `retry`.
        wait: See `retry`.
        deadline: See `retry`.
        retry_on_result: See `retry`; applied to ``attempt.result`` when the block sets it.
        giveup: See `retry`.
        on_retry: See `retry`.
        before_attempt: See `retry`.
        fallback: See `retry`; instead of raising, the loop ends and the last attempt's
            ``result`` is the fallback.
        logger: A `logging.Logger` or logger name; defaults to ``mlops_decorators.retrying``.
        budget: See `retry`.
        name: The block's name in logs, notes and statistics.

    Returns:
        An iterable of `Attempt` objects (``for`` and ``async for``).

    Raises:
        TypeError: An argument has the wrong type, or a hook cannot take one argument.
        ValueError: An argument is out of range.

    Example:
        >>> tries = []
        >>> for attempt in retry_context(max_attempts=3, delay=0, name="load"):
        ...     with attempt:
        ...         tries.append(attempt.number)
        ...         if attempt.number < 2:
        ...             raise TimeoutError("slow disk")
        >>> tries
        [1, 2]
    """
    name = _checks.instance_of("name", name, str)
    policy = Policy(
        max_attempts=max_attempts,
        exceptions=exceptions,
        delay=delay,
        backoff=backoff,
        max_delay=max_delay,
        jitter=jitter,
        deadline=deadline,
        retry_on_result=retry_on_result,
        giveup=giveup,
        on_retry=on_retry,
        logger=logger,
        budget=budget,
        wait=wait,
        before_attempt=before_attempt,
        fallback=fallback,
    )
    return RetryContext(policy.bind(name, __name__))


def _decorator(policy: Policy) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def apply(fn: Callable[P, R]) -> Callable[P, R]:
        bound = policy.bind(qualified_name(fn), module_name(fn))
        check = bound.check_result
        record_call = None if bound.budget is None else bound.budget.record_call
        first_try_ok = bound.stats.first_try_ok.increment
        engine = _engine
        # Only a deadline or a budget needs the start time; otherwise the happy path reads
        # no clock and a retried call's elapsed time counts from its first failure.
        timed = bound.deadline is not None or bound.budget is not None

        def slow_run(start: float) -> Run:
            """The run of a call whose first attempt failed; untimed, it counts from now."""
            if timed:
                return Run(bound, start, attempt=1)
            return Run(bound, engine.clock(), attempt=1, since_failure=True)

        def first_error(start: float, error: BaseException) -> Run | None:
            """The run after a first attempt raised: retrying, or ended by the fallback; None
            to re-raise."""
            run = slow_run(start)
            return run if run.failed(error, None) or run.fell_back else None

        def first_bad_result(start: float, result: Any) -> Run:
            """The run after a first attempt returned a retried value: retrying, or ended by
            the fallback."""
            run = slow_run(start)
            if not run.failed(None, result):
                run.raise_outcome()
            return run

        # Both wrappers: happy path inline; after a failure, decide inside the except clause
        # (so a bare `raise` keeps the traceback untouched when not retrying) and retry
        # outside it (so later exceptions are not chained to the first one).
        def make_sync(func: Callable[..., Any]) -> Callable[..., Any]:
            def retrying_call(*args: Any, **kwargs: Any) -> Any:
                start = -1.0
                if timed:
                    start = engine.clock()
                    if record_call is not None:
                        record_call(start)
                try:
                    result = func(*args, **kwargs)
                except BaseException as exc:
                    retrying = first_error(start, exc)
                    if retrying is None:
                        raise
                    run = retrying
                else:
                    if check is None or not check(result):
                        first_try_ok()
                        return result
                    run = first_bad_result(start, result)
                for attempt in run:
                    with attempt:
                        attempt.result = func(*args, **kwargs)
                return run.result

            return retrying_call

        def make_async(func: Callable[..., Any]) -> Callable[..., Any]:
            async def retrying_call(*args: Any, **kwargs: Any) -> Any:
                start = -1.0
                if timed:
                    start = engine.clock()
                    if record_call is not None:
                        record_call(start)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    retrying = first_error(start, exc)
                    if retrying is None:
                        raise
                    run = retrying
                else:
                    if check is None or not check(result):
                        first_try_ok()
                        return result
                    run = first_bad_result(start, result)
                async for attempt in run:
                    with attempt:
                        attempt.result = await func(*args, **kwargs)
                return run.result

            return retrying_call

        def retry_stats() -> RetryStats:
            return bound.stats.snapshot(bound.name)

        return decorate(
            fn,
            "retry",
            sync=make_sync,
            async_=make_async,
            attrs={"retry_stats": retry_stats},
            allow_generators=False,
        )

    return apply


@overload
def retry(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def retry(
    fn: None = None,
    /,
    *,
    max_attempts: int | None = 3,
    exceptions: type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], bool] = Exception,
    delay: Seconds = 1.0,
    backoff: float = 2.0,
    max_delay: Seconds = 30.0,
    jitter: Jitter = "full",
    wait: Callable[[RetryState], Seconds] | None = None,
    deadline: Seconds | None = None,
    retry_on_result: Callable[[Any], bool] | None = None,
    giveup: Callable[[BaseException], bool] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    before_attempt: Callable[[RetryState], object] | None = None,
    fallback: None = None,
    logger: logging.Logger | str | None = None,
    budget: RetryBudget | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


@overload
def retry(
    fn: None = None,
    /,
    *,
    max_attempts: int | None = 3,
    exceptions: type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], bool] = Exception,
    delay: Seconds = 1.0,
    backoff: float = 2.0,
    max_delay: Seconds = 30.0,
    jitter: Jitter = "full",
    wait: Callable[[RetryState], Seconds] | None = None,
    deadline: Seconds | None = None,
    retry_on_result: Callable[[Any], bool] | None = None,
    giveup: Callable[[BaseException], bool] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    before_attempt: Callable[[RetryState], object] | None = None,
    fallback: Callable[[BaseException], F],
    logger: logging.Logger | str | None = None,
    budget: RetryBudget | None = None,
) -> _WithFallback[F]: ...


@overload
def retry(
    fn: None = None,
    /,
    *,
    max_attempts: int | None = 3,
    exceptions: type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], bool] = Exception,
    delay: Seconds = 1.0,
    backoff: float = 2.0,
    max_delay: Seconds = 30.0,
    jitter: Jitter = "full",
    wait: Callable[[RetryState], Seconds] | None = None,
    deadline: Seconds | None = None,
    retry_on_result: Callable[[Any], bool] | None = None,
    giveup: Callable[[BaseException], bool] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    before_attempt: Callable[[RetryState], object] | None = None,
    fallback: F,
    logger: logging.Logger | str | None = None,
    budget: RetryBudget | None = None,
) -> _WithFallback[F]: ...


def retry(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    max_attempts: int | None = 3,
    exceptions: type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], bool] = Exception,
    delay: Seconds = 1.0,
    backoff: float = 2.0,
    max_delay: Seconds = 30.0,
    jitter: Jitter = "full",
    wait: Callable[[RetryState], Seconds] | None = None,
    deadline: Seconds | None = None,
    retry_on_result: Callable[[Any], bool] | None = None,
    giveup: Callable[[BaseException], bool] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    before_attempt: Callable[[RetryState], object] | None = None,
    fallback: object = None,
    logger: logging.Logger | str | None = None,
    budget: RetryBudget | None = None,
) -> Callable[..., Any]:
    """Call the function again when it fails, waiting longer each time.

    The wait before attempt k+1 is ``min(max_delay, delay * backoff ** (k - 1))`` shaped by
    ``jitter``, or what the exception asks for (a ``retry_after`` attribute or a
    ``Retry-After`` header on ``exc.response`` or ``exc``), capped by ``max_delay`` and the
    deadline; a ``wait`` hook may choose instead. When retrying stops the last exception
    itself propagates (never a wrapper) with a note listing the attempts, unless a
    ``fallback`` is returned instead. ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``
    and ``asyncio.CancelledError`` are never retried nor delayed. Each retry logs one WARNING
    and calls ``on_retry``; ``fn.retry_stats()`` returns the counts.

    Args:
        max_attempts: Most calls made, the first included (>= 1), or None for no limit
            other than the `deadline` (which is then required).
        exceptions: What to retry: an exception class, a tuple of them, or a predicate
            ``exc -> bool``. Anything else propagates at once, and so do the refusals of
            `validate_input` and `memory_guard` (`InputValidationError`, `MemoryGuardError`)
            unless named here: retrying a call that never ran cannot help.
        delay: Wait before the second attempt, in seconds or a `timedelta`.
        backoff: Factor applied to the wait after each attempt (>= 1).
        max_delay: Longest single wait.
        jitter: ``"full"`` (uniform in [0, wait]), ``"equal"`` (wait/2 + uniform in
            [0, wait/2]), ``"decorrelated"`` (uniform in [delay, 3 x previous wait]), None
            (exact waits) or seconds added at random (uniform in [0, jitter]).
        wait: ``RetryState -> seconds`` (a number or a `timedelta`), called after each
            failure to choose the next wait instead of the backoff; ``state.next_wait_s`` is
            what `retry` would wait without it. Still capped by ``max_delay`` and the
            deadline.
        deadline: Total time allowed from the first attempt's start (monotonic clock). No
            wait runs past it and no attempt starts at or after it: the last failure is
            raised instead.
        retry_on_result: ``result -> bool``; True retries a returned value. Running out of
            attempts that way raises `RetryExhaustedError` with ``.last_result``.
        giveup: ``exc -> bool``; True stops retrying at once.
        on_retry: Called with a `RetryState` before each wait.
        before_attempt: Called with the same `RetryState` after each wait, just before the
            retry starts (not before the first attempt: nothing has failed yet).
        fallback: Returned instead of raising when retrying runs out of attempts, time or
            budget: a value, or a function ``exc -> value`` of the last exception (a
            `RetryExhaustedError` when results were retried). None (the default) raises.
            An exception that is not retried, or that ``giveup`` stops, still propagates.
        logger: A `logging.Logger` or logger name; defaults to the decorated function's
            module logger.
        budget: A `RetryBudget` shared with other functions to cap retries relative to calls.

    Returns:
        The decorated function (``@retry``), or a decorator when called with options.

    Raises:
        TypeError: An argument has the wrong type, a hook cannot take one argument, or an
            option was passed positionally (``@retry(3)``: use ``max_attempts=3``).
        ValueError: An argument is out of range (``max_attempts=0``, ``backoff=0.5``,
            ``max_attempts=None`` without a deadline, ...).

    Example:
        >>> attempts = []
        >>> @retry(max_attempts=4, exceptions=ConnectionError, delay=0.01, jitter=None)
        ... def fetch() -> str:
        ...     attempts.append(1)
        ...     if len(attempts) < 3:
        ...         raise ConnectionError("connection reset")
        ...     return "payload"
        >>> fetch()
        'payload'
        >>> stats = fetch.retry_stats()
        >>> (stats.attempts, stats.retries, stats.successes_after_retry)
        (3, 2, 1)
    """
    policy = Policy(
        max_attempts=max_attempts,
        exceptions=exceptions,
        delay=delay,
        backoff=backoff,
        max_delay=max_delay,
        jitter=jitter,
        deadline=deadline,
        retry_on_result=retry_on_result,
        giveup=giveup,
        on_retry=on_retry,
        logger=logger,
        budget=budget,
        wait=wait,
        before_attempt=before_attempt,
        fallback=fallback,
    )
    if fn is not None:
        _refuse_an_option_given_positionally(fn)
    return bare_or_called(fn, "retry", _decorator(policy))


def _refuse_an_option_given_positionally(value: object) -> None:
    """``@retry(3)`` and ``@retry(ConnectionError)`` (backoff's and tenacity's habits): say
    which option the value belongs to. An exception class is callable, so without this it
    would be decorated, and the decorated function replaced by an exception instance."""
    classes = value if isinstance(value, tuple) else (value,)
    if classes and all(isinstance(c, type) and issubclass(c, BaseException) for c in classes):
        names = ", ".join(c.__name__ for c in classes)
        hint = f"exceptions={names}" if len(classes) == 1 else f"exceptions=({names})"
    else:
        try:
            hint = f"max_attempts={_checks.integer('max_attempts', value)}"
        except TypeError:
            return  # a function, or a value bare_or_called words in general
    raise TypeError(
        f"retry() takes keyword arguments only; got the positional argument {value!r}. "
        f"Use @retry({hint})."
    )


def retry_stats(fn: Callable[..., object]) -> RetryStats:
    """Counts of a function decorated with `retry`: the typed form of ``fn.retry_stats()``.

    Found along ``__wrapped__``, so it works under any stack of decorators (``functools.wraps``
    ones included), on methods, ``staticmethod`` and ``classmethod`` objects.

    Args:
        fn: A function decorated with `retry`, possibly under other decorators.

    Returns:
        An immutable `RetryStats` snapshot.

    Raises:
        TypeError: `fn` is not decorated with `retry`.

    Example:
        >>> @retry(max_attempts=3, delay=0)
        ... def ping() -> str:
        ...     return "pong"
        >>> ping()
        'pong'
        >>> retry_stats(ping).calls
        1
        >>> retry_stats(len)
        Traceback (most recent call last):
        TypeError: retry_stats() needs a function decorated with @retry; got <built-in function len>
    """
    snapshot: Callable[[], RetryStats] = accessor(fn, "retry_stats", "retry")
    return snapshot()
