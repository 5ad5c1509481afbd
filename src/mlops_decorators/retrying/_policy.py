"""The decision engine behind `retry` and `retry_context`: options, waits, one run.

`Policy` holds the validated options of one decorated function (or one block) and its
statistics. `Run` is the state of one call that needs a second attempt; the decorator's
slow path and the block form both drive a `Run` with the same ``for attempt in run: with
attempt: ...`` loop, so every decision (retry or give up, how long to wait, what to log and
count) is made in one place. The budget (`_budget`) and the reading of Retry-After
advice (`_after`) live in their own modules.

Test seam: the engine reads `clock`, `sleep`, `async_sleep` and `rng` from this module at
call time, so tests replace them (``monkeypatch.setattr(_policy, "clock",
fake.monotonic)``) and never wait for real. `settings` holds the switches set by
`set_retry_waits` and `set_retries`.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _checks
from .._events import EXCEPTION, call_fields
from .._stats import Counter
from .._values import DEFAULT_REDACT, Summarizer, format_duration
from ..exceptions import RetryExhaustedError
from ._after import retry_after
from ._budget import RetryBudget

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
        self.waits = not _env_flag(NO_WAIT_ENV)
        self.retrying = not _env_flag(DISABLED_ENV)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


settings = Settings()


@dataclass(frozen=True, slots=True)
class RetryState:
    """What `retry` knows when it is about to retry; passed to the ``on_retry`` hook.

    Attributes:
        function: Qualified name of the decorated function (or the block's name).
        attempt: Number of the attempt that just failed (1 for the first).
        max_attempts: The ``max_attempts`` option.
        exception: What the failed attempt raised, or None if it returned a retried result.
        result: What the failed attempt returned (None when it raised).
        next_wait_s: Seconds that will be slept before the next attempt.
        elapsed_s: Seconds since the first attempt started (with no ``deadline`` and no
            ``budget``, since the first attempt failed: the happy path then reads no clock).

    Example:
        >>> from mlops_decorators import retry
        >>> seen = []
        >>> @retry(max_attempts=2, delay=0, on_retry=seen.append)
        ... def fetch() -> str:
        ...     if not seen:
        ...         raise ConnectionError("reset")
        ...     return "ok"
        >>> fetch()
        'ok'
        >>> state = seen[0]
        >>> (state.function, state.attempt, state.max_attempts, type(state.exception).__name__)
        ('fetch', 1, 2, 'ConnectionError')
    """

    function: str
    attempt: int
    max_attempts: int
    exception: BaseException | None
    result: Any
    next_wait_s: float
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class RetryStats:
    """Counts for one decorated function since it was decorated (an immutable snapshot).

    Attributes:
        name: Qualified name of the decorated function (or the block's name).
        calls: Calls whose first attempt has finished (a call still in its first attempt is
            not counted yet, so every figure below is consistent with ``calls``).
        attempts: Attempts made, first ones included.
        retries: Attempts after the first that were scheduled (each followed a wait).
        successes: Calls that returned a value.
        successes_after_retry: Of those, the calls that needed more than one attempt.
        giveups: Calls that ended by raising (an exception or `RetryExhaustedError`).
        budget_refusals: Retries refused by the `RetryBudget`.
        total_sleep_s: Seconds spent waiting between attempts (as scheduled).

    Example:
        >>> from mlops_decorators import retry
        >>> @retry(max_attempts=3, delay=0, retry_on_result=lambda r: r is None)
        ... def ready() -> bool | None:
        ...     return True
        >>> ready()
        True
        >>> stats = ready.retry_stats()
        >>> (stats.calls, stats.attempts, stats.successes, stats.giveups)
        (1, 1, 1, 0)
    """

    name: str
    calls: int
    attempts: int
    retries: int
    successes: int
    successes_after_retry: int
    giveups: int
    budget_refusals: int
    total_sleep_s: float


class Stats:
    """Counters of one function. The happy path bumps one lock-free `Counter`; the others
    change only on the slow path, under a short lock."""

    __slots__ = (
        "budget_refusals",
        "first_try_ok",
        "giveups",
        "lock",
        "retries",
        "sleep_s",
        "slow_attempts",
        "slow_calls",
        "slow_ok",
    )

    def __init__(self) -> None:
        self.first_try_ok = Counter()
        self.lock = threading.Lock()
        self.slow_calls = self.slow_attempts = self.retries = 0
        self.slow_ok = self.giveups = self.budget_refusals = 0
        self.sleep_s = 0.0

    def snapshot(self, name: str) -> RetryStats:
        first_ok = self.first_try_ok.value
        with self.lock:
            return RetryStats(
                name=name,
                calls=first_ok + self.slow_calls,
                attempts=first_ok + self.slow_attempts,
                retries=self.retries,
                successes=first_ok + self.slow_ok,
                successes_after_retry=self.slow_ok,
                giveups=self.giveups,
                budget_refusals=self.budget_refusals,
                total_sleep_s=self.sleep_s,
            )


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
    if callable(value):
        return (), value
    raise _checks.wrong_type(
        "exceptions",
        "an exception class, a tuple of exception classes or a predicate exc -> bool",
        value,
    )


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
        "budget",
        "check_result",
        "deadline",
        "delay",
        "exception_classes",
        "exception_predicate",
        "giveup",
        "jitter",
        "logger",
        "max_attempts",
        "max_delay",
        "name",
        "on_retry",
        "stats",
    )

    def __init__(
        self,
        *,
        max_attempts: int,
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
    ) -> None:
        self.max_attempts = _checks.positive_int("max_attempts", max_attempts)
        self.exception_classes, self.exception_predicate = _exception_filter(exceptions)
        self.delay = _checks.seconds("delay", delay)
        self.backoff = _checks.number("backoff", backoff, ge=1)
        self.max_delay = _checks.seconds("max_delay", max_delay)
        self.jitter = _jitter(jitter)
        self.deadline = _checks.time_limit("deadline", deadline)
        self.check_result = _checks.optional_callable("retry_on_result", retry_on_result)
        self.giveup = _checks.optional_callable("giveup", giveup)
        self.on_retry = _checks.optional_callable("on_retry", on_retry)
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
        return isinstance(exc, self.exception_classes)

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
            only.

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
        return f"<Attempt {self.number} of {self._run.policy.max_attempts}>"

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        return self._run.exited(exc, self.result)


class Run:
    """One call (or one block) from its first attempt to its outcome.

    Iterate it (``for``/``async for``) to get `Attempt` objects; between attempts it sleeps
    the wait chosen when the previous attempt failed. ``attempt`` is the number of the
    attempt started last (the decorator's slow path starts at 1: its first attempt ran on
    the happy path).
    """

    __slots__ = (
        "attempt",
        "deadline_at",
        "finished",
        "history",
        "last",
        "omitted",
        "policy",
        "reason",
        "since_failure",
        "start",
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
        self.wait = 0.0
        self.finished = False
        self.history: list[str] = []  # the first and the latest failures, for the note
        self.omitted = 0
        self.last: tuple[BaseException | None, Any] = (None, None)
        self.reason = ""

    def __iter__(self) -> Run:
        return self

    def __next__(self) -> Attempt:
        if self.finished:
            raise StopIteration
        if self.wait:
            self.check_deadline(self.wait)
            try:
                sleep(self.wait)
            except BaseException:  # Ctrl-C during the wait ends the call
                self.count_giveup()
                raise
        return self.begin()

    def __aiter__(self) -> Run:
        return self

    async def __anext__(self) -> Attempt:
        if self.finished:
            raise StopAsyncIteration
        if self.wait:
            self.check_deadline(self.wait)
            try:
                await async_sleep(self.wait)
            except BaseException:  # cancellation during the wait ends the call
                self.count_giveup()
                raise
        return self.begin()

    def begin(self) -> Attempt:
        """Start the next attempt, unless the deadline has come meanwhile."""
        if self.attempt:
            self.check_deadline(0.0)  # a real sleep may overshoot, a hook may be slow
            with self.policy.stats.lock:
                self.policy.stats.slow_attempts += 1
        self.attempt += 1
        self.finished = True  # until the attempt reports a failure worth retrying
        return Attempt(self, self.attempt)

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

    def check_deadline(self, wait: float) -> None:
        """Give up (raise the last outcome) if the next attempt could not start in time.

        Checked again just before a wait and before an attempt, because time passes in
        hooks, log handlers and oversleeping."""
        if self.deadline_at == math.inf:
            return
        reason = self.too_late(wait, clock())
        if reason:
            self.finished = True
            self.stop(reason, always=True)
            self.raise_outcome()

    def exited(self, error: BaseException | None, result: Any) -> bool:
        """Judge the attempt that just ended; True swallows its exception to retry."""
        if error is None:
            check = self.policy.check_result
            if result is UNSET or check is None or not check(result):
                self.succeeded()
                return False
            if not self.failed(None, result):
                self.raise_outcome()
            self.finished = False
            return False
        if self.failed(error, None):
            self.finished = False
            return True
        return False

    def succeeded(self) -> None:
        stats = self.policy.stats
        if self.attempt == 1:
            stats.first_try_ok.increment()
        else:
            with stats.lock:
                stats.slow_ok += 1

    def failed(self, error: BaseException | None, result: Any) -> bool:
        """Decide after a failed attempt: True if a retry is scheduled (``self.wait``), False
        to give up (the caller lets the exception propagate or calls `raise_outcome`)."""
        policy, attempt = self.policy, self.attempt
        self.last = (error, result)
        if attempt == 1:
            with policy.stats.lock:
                policy.stats.slow_calls += 1
                policy.stats.slow_attempts += 1
        if error is not None:
            if not policy.retryable(error):
                return self.stop(f"{type(error).__qualname__} is not retried")
            if policy.giveup is not None and policy.giveup(error):
                return self.stop("giveup() returned True")
        if attempt >= policy.max_attempts:
            return self.stop(
                f"all {attempt} attempts failed" if attempt > 1 else "max_attempts is 1"
            )
        if not settings.retrying:
            return self.stop("retrying is disabled (set_retries)")
        advised = None if error is None else retry_after(error)
        if advised is not None:
            wait = min(advised, policy.max_delay)
        else:
            wait = policy.backoff_wait(attempt, self.wait)
        if not settings.waits:
            wait = 0.0
        now = clock()
        late = self.too_late(wait, now)
        if late:
            return self.stop(late, always=True)
        if policy.budget is not None and not policy.budget.try_spend(now):
            with policy.stats.lock:
                policy.stats.budget_refusals += 1
            self.log(
                "retry budget exhausted: not retrying %s after attempt %d/%d (%s)",
                budget_refused=True,
            )
            return self.stop("the retry budget refused a retry", always=True)
        self.retrying(wait, now)
        return True

    def count_giveup(self) -> None:
        with self.policy.stats.lock:
            self.policy.stats.giveups += 1

    def stop(self, reason: str, *, always: bool = False) -> bool:
        """Record giving up; note why on the exception when retrying played a part."""
        self.count_giveup()
        self.reason = reason
        error = self.last[0]
        if error is not None and (always or self.attempt > 1) and hasattr(error, "add_note"):
            error.add_note(self.note())
        return False

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

    def raise_outcome(self) -> None:
        """Raise what the last attempt ended with: its exception, or `RetryExhaustedError`."""
        error, result = self.last
        if error is not None:
            raise error
        raise RetryExhaustedError(self.note(), last_result=result, attempts=self.attempt)

    def retrying(self, wait: float, now: float) -> None:
        """Schedule the retry: remember the failure, call the hook, count it, log it."""
        policy = self.policy
        error, result = self.last
        if len(self.history) == NOTE_LINES:  # keep notes short with max_attempts=1000
            del self.history[NOTE_LINES // 2]
            self.omitted += 1
        self.history.append(f"attempt {self.attempt}: {_outcome(error, result)}")
        self.wait = wait
        if policy.on_retry is not None:
            policy.on_retry(
                RetryState(
                    function=policy.name,
                    attempt=self.attempt,
                    max_attempts=policy.max_attempts,
                    exception=error,
                    result=result,
                    next_wait_s=wait,
                    elapsed_s=now - self.start,
                )
            )
        with policy.stats.lock:
            policy.stats.retries += 1
            policy.stats.sleep_s += wait
        self.log(
            "retrying %s: attempt %d/%d failed (%s); next attempt in %s",
            wait,
            next_wait_s=wait,
            elapsed_s=now - self.start,
        )

    def log(self, message: str, wait: float | None = None, **fields: object) -> None:
        """One WARNING about the attempt that just failed, with structured ``extra`` fields.

        `message` formats the function, the attempt, ``max_attempts``, the outcome and, when
        given, the `wait`."""
        policy = self.policy
        log: logging.Logger = policy.logger  # type: ignore[assignment]
        if not log.isEnabledFor(logging.WARNING):
            return
        error, result = self.last
        args = (policy.name, self.attempt, policy.max_attempts, _outcome(error, result))
        log.warning(
            message,
            *args if wait is None else (*args, format_duration(wait)),
            # ``exception`` is on every retry record: None when a result was retried.
            extra=call_fields(policy.name, attempt=self.attempt, max_attempts=policy.max_attempts)
            | {EXCEPTION: None if error is None else type(error).__name__, **fields},
        )
