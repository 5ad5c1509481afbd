"""The decision engine behind `retry` and `retry_context`: options, waits, one run.

`Policy` holds the validated options of one decorated function (or one block) and its
statistics. `Run` is the state of one call that needs a second attempt; the decorator's slow
path and the block form both drive a `Run` with the same ``for attempt in run: with
attempt: ...`` loop, so every decision (retry or give up, how long to wait, what to log and
count) is made in one place. The budget (`_budget`), the reading of Retry-After advice
(`_after`) and the data types handed out (`_data`: state, statistics) live in their own
modules.

Test seam: the engine reads `clock`, `sleep`, `async_sleep` and `rng` from this module at
call time, so tests replace them (``monkeypatch.setattr(_policy, "clock",
fake.monotonic)``) and never wait for real. `settings` holds the switches set by
`set_retry_waits` and `set_retries`.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _checks
from .._core import is_async_callable
from .._events import EXCEPTION, call_fields
from .._switches import env_flag
from .._values import DEFAULT_REDACT, Summarizer, format_duration
from ..exceptions import InputValidationError, MemoryGuardError, RetryExhaustedError
from ._after import retry_after
from ._budget import RetryBudget
from ._data import RetryState, Stats

if TYPE_CHECKING:
    from datetime import timedelta

clock: Callable[[], float] = time.monotonic
sleep: Callable[[float], Any] = time.sleep


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # only coroutines sleep this way, and they have asyncio loaded already

    await asyncio.sleep(seconds)


async_sleep: Callable[[float], Any] = _asyncio_sleep
rng = random.Random()

NO_WAIT_ENV = "MLOPS_DECORATORS_RETRY_NO_WAIT"
DISABLED_ENV = "MLOPS_DECORATORS_RETRY_DISABLED"

# Never retried nor delayed, whatever the options say: retrying them would swallow Ctrl-C,
# interpreter shutdown, generator closing or task cancellation.
NEVER_RETRY: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)


def never_retried(exc: BaseException) -> bool:
    """Whether `exc` must propagate at once, whatever the options say."""
    if isinstance(exc, NEVER_RETRY):
        return True
    # asyncio.CancelledError can only exist once asyncio is imported: don't import it (~30 ms).
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)


# A call refused by validate_input or memory_guard never ran, and the same arguments would be
# refused again: retried only when ``exceptions`` names the class (or a subclass) itself.
REFUSALS: tuple[type[BaseException], ...] = (InputValidationError, MemoryGuardError)


JITTER_MODES = ("full", "equal", "decorrelated")

NOTE_LINES = 20  # failures listed in a give-up note: the first and the latest ten

UNSET: Any = object()  # "the block set no result", distinct from a returned None

_summaries = Summarizer(80, DEFAULT_REDACT)


class Settings:
    """The process-wide test switches; `reset` re-reads the environment variables."""

    __slots__ = ("retrying", "waits")

    waits: bool
    retrying: bool

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.waits = not env_flag(NO_WAIT_ENV)
        self.retrying = not env_flag(DISABLED_ENV)


settings = Settings()


def _exception_filter(
    value: object,
) -> tuple[tuple[type[BaseException], ...], Callable[[BaseException], bool] | None]:
    """Split ``exceptions`` into classes to match with isinstance, or a predicate."""
    classes = value if isinstance(value, tuple) else (value,)
    if isinstance(value, (tuple, type)):
        bad = [c for c in classes if not (isinstance(c, type) and issubclass(c, BaseException))]
        if bad or not classes:
            raise TypeError(
                "exceptions must be an exception class, a non-empty tuple of exception classes "
                f"or a predicate exc -> bool, got {value!r}"
                + (f" ({bad[0]!r} is not an exception class)" if bad else "")
            )
        return classes, None
    allowed = "an exception class, a tuple of exception classes or a predicate exc -> bool"
    if not callable(value):
        raise _checks.wrong_type("exceptions", allowed, value)
    try:
        return (), _checks.hook("exceptions", value, "exc -> bool")
    except TypeError:  # name every form allowed, not only the predicate
        raise _checks.wrong_type("exceptions", allowed, value) from None


def _attempt_limit(value: object, deadline: float | None) -> int | None:
    """``max_attempts``: an int >= 1, or None (no limit) when a deadline ends the retrying."""
    limit = _checks.optional(_checks.positive_int, "max_attempts", value)
    if limit is None and deadline is None:
        raise _checks.wrong_value(
            "max_attempts", "an int >= 1 (None, for no limit, needs a deadline)", value
        )
    return limit


def _fallback(value: object) -> object:
    """``fallback``: a value, or a plain function of the last exception."""
    if callable(value):
        if is_async_callable(value):
            raise _checks.wrong_type(
                "fallback",
                "a value or a plain function exc -> value (a coroutine function's coroutine "
                "would be returned un-awaited)",
                value,
            )
        _checks.hook("fallback", value, "exc -> value")
    return value


def _jitter(value: object) -> str | float | None:
    if isinstance(value, str):
        return _checks.one_of("jitter", value, JITTER_MODES)
    try:
        return _checks.optional(_checks.seconds, "jitter", value)
    except TypeError:  # name the modes too, not only the forms of seconds
        modes = ", ".join(map(repr, JITTER_MODES))
        allowed = f"{modes}, None, a number of seconds >= 0 or a timedelta"
        raise _checks.wrong_type("jitter", allowed, value) from None


class Policy:
    """The validated options of one decorated function or block, plus its statistics."""

    __slots__ = (
        "backoff",
        "before_attempt",
        "budget",
        "check_result",
        "deadline",
        "delay",
        "exception_classes",
        "exception_predicate",
        "fallback",
        "giveup",
        "jitter",
        "logger",
        "max_attempts",
        "max_delay",
        "name",
        "on_retry",
        "refusals",
        "stats",
        "wait",
    )

    def __init__(
        self,
        *,
        max_attempts: int | None,
        exceptions: object,
        delay: float | timedelta,
        backoff: float,
        max_delay: float | timedelta,
        jitter: object,
        deadline: float | timedelta | None,
        retry_on_result: Callable[[Any], bool] | None,
        giveup: Callable[[BaseException], bool] | None,
        on_retry: Callable[[RetryState], object] | None,
        logger: logging.Logger | str | None,
        budget: RetryBudget | None,
        wait: Callable[[RetryState], float | timedelta] | None,
        before_attempt: Callable[[RetryState], object] | None,
        fallback: object,
    ) -> None:
        hook = _checks.hook
        self.deadline = _checks.time_limit("deadline", deadline)
        self.max_attempts = _attempt_limit(max_attempts, self.deadline)
        self.exception_classes, self.exception_predicate = _exception_filter(exceptions)
        self.refusals = tuple(
            r for r in REFUSALS if not any(issubclass(c, r) for c in self.exception_classes)
        )
        self.delay = _checks.seconds("delay", delay)
        self.backoff = _checks.number("backoff", backoff, ge=1)
        self.max_delay = _checks.seconds("max_delay", max_delay)
        self.jitter = _jitter(jitter)
        self.check_result = _checks.optional(hook, "retry_on_result", retry_on_result, "r -> bool")
        self.giveup = _checks.optional(hook, "giveup", giveup, "exc -> bool")
        self.on_retry = _checks.optional(hook, "on_retry", on_retry, "RetryState -> None")
        self.wait = _checks.optional(hook, "wait", wait, "RetryState -> seconds")
        self.before_attempt = _checks.optional(
            hook, "before_attempt", before_attempt, "RetryState -> None"
        )
        self.fallback = _fallback(fallback)
        self.budget = _checks.optional(_checks.instance_of, "budget", budget, RetryBudget)
        _checks.logger("logger", logger, __name__)  # fail at decoration, resolve in `bind`
        self.logger: logging.Logger | str | None = logger
        self.name = ""
        self.stats = Stats()

    def bind(self, name: str, default_logger: str) -> Policy:
        """This policy's copy for one function: its own name, logger and statistics."""
        bound = copy.copy(self)
        bound.name = name
        bound.logger = _checks.logger("logger", self.logger, default_logger)
        bound.stats = Stats()
        return bound

    def retryable(self, exc: BaseException) -> bool:
        if never_retried(exc):
            return False
        if self.exception_predicate is not None:
            return bool(self.exception_predicate(exc))
        return isinstance(exc, self.exception_classes) and not isinstance(exc, self.refusals)

    def backoff_wait(self, attempt: int, previous: float) -> float:
        """The wait after failed attempt number `attempt`, jitter applied, in [0, max_delay]."""
        cap = self.max_delay
        jitter = self.jitter
        if jitter == "decorrelated":
            # AWS "decorrelated jitter": each wait is drawn from [delay, 3 x the previous one].
            return min(cap, rng.uniform(self.delay, max(previous, self.delay) * 3))
        try:
            base = min(cap, self.delay * self.backoff ** (attempt - 1))
        except OverflowError:
            base = cap
        if jitter is None:
            return base
        if jitter == "full":
            return rng.uniform(0.0, base)
        if jitter == "equal":
            return base / 2 + rng.uniform(0.0, base / 2)
        return min(cap, base + rng.uniform(0.0, jitter))  # type: ignore[arg-type]


def _outcome(error: BaseException | None, result: Any) -> str:
    """One line for what an attempt ended with: ``Type: message`` or ``returned <value>``."""
    if error is None:
        return f"returned {_summaries.value(result)}"
    message = str(error)
    if len(message) > 120:
        message = message[:117] + "..."
    return f"{type(error).__qualname__}: {message}" if message else type(error).__qualname__


class Attempt:
    """One attempt of a `retry_context` block: use it as ``with attempt: ...``.

    Attributes:
        number: 1 for the first attempt, 2 for the first retry, and so on.
        result: Set it to the block's value when the block is retried on results
            (``retry_on_result``); left unset, the block's outcome is judged by exceptions
            only. When retrying gives up and a ``fallback`` is set, the last attempt's
            ``result`` is the fallback and the loop ends without raising.

    Example:
        >>> from mlops_decorators import retry_context
        >>> statuses = iter(["loading", "ready"])
        >>> for attempt in retry_context(delay=0, retry_on_result=lambda s: s != "ready"):
        ...     with attempt:
        ...         attempt.result = next(statuses)
        >>> attempt.number, attempt.result
        (2, 'ready')
    """

    __slots__ = ("_run", "number", "result")

    def __init__(self, run: Run, number: int) -> None:
        self._run = run
        self.number = number
        self.result: Any = UNSET

    def __repr__(self) -> str:
        return f"<Attempt {self._run.progress(self.number, ' of ')}>"

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        return self._run.exited(exc, self.result)


class Run:
    """One call (or one block) from its first attempt to its outcome.

    Iterate it (``for``/``async for``) to get `Attempt` objects; between attempts it sleeps
    the wait chosen when the previous attempt failed. ``attempt`` is the number of the
    attempt started last (the decorator's slow path starts at 1: its first attempt ran on
    the happy path). ``result`` is what the call returns: the last attempt's value, or the
    fallback when it stands in for a give-up (``fell_back``).
    """

    __slots__ = (
        "attempt",
        "current",
        "deadline_at",
        "fell_back",
        "finished",
        "history",
        "last",
        "omitted",
        "policy",
        "reason",
        "result",
        "since_failure",
        "skipped",
        "start",
        "state",
        "wait",
    )

    def __init__(
        self, policy: Policy, start: float, attempt: int = 0, *, since_failure: bool = False
    ) -> None:
        self.policy = policy
        self.start = start
        self.since_failure = since_failure  # `start` is the first failure, not the first start
        self.deadline_at = math.inf if policy.deadline is None else start + policy.deadline
        self.attempt = attempt
        self.current: Attempt | None = None
        self.wait = 0.0
        # Waits not slept (`set_retry_waits(False)`) still count against the deadline, so a
        # test makes as many attempts as production would and never spins until the deadline.
        self.skipped = 0.0
        self.finished = False
        self.history: list[str] = []  # the first and the latest failures, for the note
        self.omitted = 0
        self.last: tuple[BaseException | None, Any] = (None, None)
        self.reason = ""
        self.result: Any = UNSET
        self.fell_back = False
        self.state: RetryState | None = None  # for before_attempt, made by `retrying`

    def __iter__(self) -> Run:
        return self

    def __next__(self) -> Attempt:
        if self.finished:
            raise StopIteration
        if self.wait:
            if not self.check_deadline(self.wait):
                raise StopIteration
            try:
                sleep(self.wait)
            except BaseException:  # Ctrl-C during the wait ends the call
                self.count_giveup()
                raise
        attempt = self.begin()
        if attempt is None:
            raise StopIteration
        return attempt

    def __aiter__(self) -> Run:
        return self

    async def __anext__(self) -> Attempt:
        if self.finished:
            raise StopAsyncIteration
        if self.wait:
            if not self.check_deadline(self.wait):
                raise StopAsyncIteration
            try:
                await async_sleep(self.wait)
            except BaseException:  # cancellation during the wait ends the call
                self.count_giveup()
                raise
        attempt = self.begin()
        if attempt is None:
            raise StopAsyncIteration
        return attempt

    def begin(self) -> Attempt | None:
        """Start the next attempt (after the ``before_attempt`` hook, for a retry), unless the
        deadline has come meanwhile: then give up (None: the fallback stands in)."""
        if self.attempt:
            hook = self.policy.before_attempt
            if hook is not None:
                try:
                    hook(self.state)
                except BaseException:  # the hook ends the call with its own exception
                    self.count_giveup()
                    raise
            if not self.check_deadline(0.0):  # a real sleep may overshoot, a hook be slow
                return None
        self.attempt += 1
        self.finished = True  # until the attempt reports a failure worth retrying
        self.current = Attempt(self, self.attempt)
        return self.current

    def progress(self, number: int, of: str = "/") -> str:
        """``"2/5"`` for attempt 2 of at most 5; ``"2"`` when only a deadline limits them."""
        limit = self.policy.max_attempts
        return str(number) if limit is None else f"{number}{of}{limit}"

    def too_late(self, wait: float, now: float) -> str:
        """Why no attempt could start before the deadline after `wait` seconds from `now`,
        or ``""``."""
        if now + wait < self.deadline_at:  # not `wait < deadline_at - now`: rounds otherwise
            return ""
        left = self.deadline_at - now
        deadline = format_duration(self.policy.deadline)  # type: ignore[arg-type]
        if left <= 0:
            return f"the deadline of {deadline} has passed"
        return (
            f"the deadline of {deadline} leaves {format_duration(left)}, less than the "
            f"{format_duration(wait)} wait"
        )

    def check_deadline(self, wait: float) -> bool:
        """Whether the next attempt can still start in time after `wait` seconds. If not,
        give up: raise the last outcome, or return False when the fallback stands in.

        Checked again just before a wait and before an attempt, because time passes in
        hooks, log handlers and oversleeping."""
        if self.deadline_at == math.inf:
            return True
        reason = self.too_late(wait, clock() + self.skipped)
        if not reason:
            return True
        self.stop(reason, always=True, exhausted=True)
        self.raise_outcome()
        return False

    def exited(self, error: BaseException | None, result: Any) -> bool:
        """Judge the attempt that just ended; True swallows its exception (to retry, or
        because the fallback stands in for it)."""
        if error is None:
            check = self.policy.check_result
            if result is UNSET or check is None or not check(result):
                self.succeeded(result)
            elif self.failed(None, result):
                self.finished = False
            else:
                self.raise_outcome()
            return False
        if self.failed(error, None):
            self.finished = False
            return True
        return self.fell_back

    def succeeded(self, result: Any) -> None:
        self.result = result
        stats = self.policy.stats
        if self.attempt == 1:
            stats.first_try_ok.increment()
        else:
            with stats.lock:
                stats.slow_attempts += 1
                stats.slow_ok += 1

    def failed(self, error: BaseException | None, result: Any) -> bool:
        """Decide after a failed attempt: True if a retry is scheduled (``self.wait``), False
        to give up (the caller lets the exception propagate or calls `raise_outcome`, unless
        the fallback stands in: ``self.fell_back``)."""
        policy, attempt = self.policy, self.attempt
        self.last = (error, result)
        with policy.stats.lock:
            if attempt == 1:
                policy.stats.slow_calls += 1
            policy.stats.slow_attempts += 1  # counted as it ends, like a first attempt
        if error is not None:
            if not policy.retryable(error):
                return self.stop(f"{type(error).__qualname__} is not retried")
            if policy.giveup is not None and policy.giveup(error):
                return self.stop("giveup() returned True")
        if policy.max_attempts is not None and attempt >= policy.max_attempts:
            return self.stop(
                f"all {attempt} attempts failed" if attempt > 1 else "max_attempts is 1",
                exhausted=True,
            )
        if not settings.retrying:
            return self.stop("retrying is disabled (set_retries)", exhausted=True)
        now = clock()
        wait = self.next_wait(error, now)
        late = self.too_late(wait, now + self.skipped)
        if late:
            return self.stop(late, always=True, exhausted=True)
        if policy.budget is not None and not policy.budget.try_spend(now):
            with policy.stats.lock:
                policy.stats.budget_refusals += 1
            self.log(
                "retry budget exhausted: not retrying %s after attempt %s (%s)",
                budget_refused=True,
            )
            return self.stop("the retry budget refused a retry", always=True, exhausted=True)
        if not settings.waits:
            self.skipped += wait
            wait = 0.0
        self.retrying(wait, now)
        return True

    def next_wait(self, error: BaseException | None, now: float) -> float:
        """The wait before the next attempt, in [0, max_delay]: the Retry-After advice, else
        the backoff; the ``wait`` hook, when set, decides from that proposal."""
        policy = self.policy
        advised = None if error is None else retry_after(error)
        if advised is not None:
            wait = min(advised, policy.max_delay)
        else:
            wait = policy.backoff_wait(self.attempt, self.wait)
        if policy.wait is None:
            return wait
        chosen = _checks.seconds("wait() result", policy.wait(self.make_state(wait, now)))
        return min(chosen, policy.max_delay)

    def make_state(self, wait: float, now: float) -> RetryState:
        policy = self.policy
        error, result = self.last
        return RetryState(
            function=policy.name,
            attempt=self.attempt,
            max_attempts=policy.max_attempts,
            exception=error,
            result=result,
            next_wait_s=wait,
            elapsed_s=now - self.start,
        )

    def count_giveup(self) -> None:
        with self.policy.stats.lock:
            self.policy.stats.giveups += 1

    def stop(self, reason: str, *, always: bool = False, exhausted: bool = False) -> bool:
        """Record giving up; note why on the exception when retrying played a part. When
        retrying stopped for want of attempts, time or budget (`exhausted`), a ``fallback``
        stands in for the outcome."""
        self.count_giveup()
        self.finished = True
        self.reason = reason
        error = self.last[0]
        if error is not None and (always or self.attempt > 1):
            self.add_note(error)
        if exhausted and self.policy.fallback is not None:
            self.use_fallback()
        return False

    def add_note(self, error: BaseException) -> None:
        """Note the give-up on `error`, replacing this function's earlier note: an exception
        object raised again and again (a mock's ``side_effect``) keeps one note, not one per
        call."""
        if not hasattr(error, "add_note"):  # Python < 3.11
            return
        prefix = f"retry: {self.policy.name} gave up "
        notes = getattr(error, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [n for n in notes if not (isinstance(n, str) and n.startswith(prefix))]
        error.add_note(self.note())

    def use_fallback(self) -> None:
        """Make the ``fallback`` (a value, or its function of the last exception) the result."""
        policy = self.policy
        error = self.last[0]
        fallback = policy.fallback
        if callable(fallback):
            value = fallback(error if error is not None else self.exhausted_error())
        else:
            value = fallback
        self.result = value
        self.fell_back = True
        if self.current is not None:  # what a `retry_context` loop reads after it ends
            self.current.result = value
        with policy.stats.lock:
            policy.stats.fallbacks += 1
        self.log(
            "giving up on %s after attempt %s (%s): %s; returning the fallback",
            self.reason,
            fallback=True,
        )

    def note(self) -> str:
        """Attempts, elapsed time and why retrying stopped, then one line per failure."""
        error, result = self.last
        s = "s" if self.attempt > 1 else ""
        elapsed = format_duration(clock() - self.start)
        if not self.since_failure:
            when = f" in {elapsed}"
        else:  # an untimed call: its first attempt's own time is unknown
            when = f" ({elapsed} since the first failure)" if self.attempt > 1 else ""
        lines = [
            f"retry: {self.policy.name} gave up after {self.attempt} attempt{s}{when}: "
            f"{self.reason}",
            *self.history,
        ]
        if self.omitted:
            lines.insert(1 + NOTE_LINES // 2, f"... {self.omitted} more failures ...")
        if error is None:
            lines.append(f"attempt {self.attempt}: {_outcome(None, result)}")
        return "\n  ".join(lines)

    def exhausted_error(self) -> RetryExhaustedError:
        """What a call whose results were all retried raises."""
        return RetryExhaustedError(self.note(), last_result=self.last[1], attempts=self.attempt)

    def raise_outcome(self) -> None:
        """Raise what the last attempt ended with (its exception, or `RetryExhaustedError`),
        unless the fallback stands in for it."""
        if self.fell_back:
            return
        error = self.last[0]
        if error is not None:
            raise error
        raise self.exhausted_error()

    def retrying(self, wait: float, now: float) -> None:
        """Schedule the retry: remember the failure, call the hook, count it, log it."""
        policy = self.policy
        error, result = self.last
        if len(self.history) == NOTE_LINES:  # keep notes short with max_attempts=1000
            del self.history[NOTE_LINES // 2]
            self.omitted += 1
        self.history.append(f"attempt {self.attempt}: {_outcome(error, result)}")
        self.wait = wait
        if policy.on_retry is not None or policy.before_attempt is not None:
            self.state = self.make_state(wait, now)
            if policy.on_retry is not None:
                policy.on_retry(self.state)
        with policy.stats.lock:
            policy.stats.retries += 1
            policy.stats.sleep_s += wait
        self.log(
            "retrying %s: attempt %s failed (%s); next attempt in %s",
            wait=wait,
            next_wait_s=wait,
            elapsed_s=now - self.start,
        )

    def log(self, message: str, *more: object, wait: float | None = None, **fields: object) -> None:
        """One WARNING about the attempt that just failed, with structured ``extra`` fields.

        `message` formats the function, the attempt (``"2/5"``), the outcome, then `more`
        and, when given, the `wait`."""
        policy = self.policy
        log: logging.Logger = policy.logger  # type: ignore[assignment]
        if not log.isEnabledFor(logging.WARNING):
            return
        error, result = self.last
        args = (policy.name, self.progress(self.attempt), _outcome(error, result), *more)
        log.warning(
            message,
            *args if wait is None else (*args, format_duration(wait)),
            # ``exception`` is on every retry record: None when a result was retried.
            extra=call_fields(policy.name, attempt=self.attempt, max_attempts=policy.max_attempts)
            | {EXCEPTION: None if error is None else type(error).__name__, **fields},
        )
