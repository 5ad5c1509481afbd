"""The decision engine behind `retry` and `retry_context`: options, waits, budgets, one run.

`Policy` holds the validated options of one decorated function (or one block) and its
statistics. `Run` is the state of one call that needs a second attempt; the decorator's
slow path and the block form both drive a `Run` with the same ``for attempt in run: with
attempt: ...`` loop, so every decision (retry or give up, how long to wait, what to log and
count) is made in one place.

Test seam: the engine reads `clock`, `sleep`, `async_sleep`, `wall_clock` and `rng` from
this module at call time, so tests replace them (``monkeypatch.setattr(_retry_policy,
"clock", fake.monotonic)``) and never wait for real. `settings` holds the switches set by
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

from . import _checks
from ._stats import Counter
from ._values import DEFAULT_REDACT, Summarizer, format_duration
from .exceptions import RetryExhaustedError

if TYPE_CHECKING:
    from datetime import timedelta

clock: Callable[[], float] = time.monotonic
sleep: Callable[[float], Any] = time.sleep


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # only coroutines sleep this way, and they have asyncio loaded already

    await asyncio.sleep(seconds)


async_sleep: Callable[[float], Any] = _asyncio_sleep
wall_clock: Callable[[], float] = time.time  # only for HTTP-date Retry-After values
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
        next_wait: Seconds that will be slept before the next attempt.
        elapsed: Seconds since the first attempt started (with no ``deadline`` and no
            ``budget``, since the first attempt failed: the happy path then reads no clock).
    """

    function: str
    attempt: int
    max_attempts: int
    exception: BaseException | None
    result: Any
    next_wait: float
    elapsed: float


@dataclass(frozen=True, slots=True)
class RetryStats:
    """Counts for one decorated function since it was decorated (an immutable snapshot).

    Attributes:
        function: Qualified name of the decorated function.
        calls: Calls whose first attempt has finished (a call still in its first attempt is
            not counted yet, so every figure below is consistent with ``calls``).
        attempts: Attempts made, first ones included.
        retries: Attempts after the first that were scheduled (each followed a wait).
        successes: Calls that returned a value.
        successes_after_retry: Of those, the calls that needed more than one attempt.
        giveups: Calls that ended by raising (an exception or `RetryExhaustedError`).
        budget_refusals: Retries refused by the `RetryBudget`.
        total_sleep_s: Seconds spent waiting between attempts (as scheduled).
    """

    function: str
    calls: int
    attempts: int
    retries: int
    successes: int
    successes_after_retry: int
    giveups: int
    budget_refusals: int
    total_sleep_s: float


class Stats:
    """Counters of one function. The happy path bumps one lock-free `Counter`; everything
    else happens on the slow path, under a lock it takes once per retry or outcome."""

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

    def snapshot(self, function: str) -> RetryStats:
        first_ok = self.first_try_ok.value
        with self.lock:
            return RetryStats(
                function=function,
                calls=first_ok + self.slow_calls,
                attempts=first_ok + self.slow_attempts,
                retries=self.retries,
                successes=first_ok + self.slow_ok,
                successes_after_retry=self.slow_ok,
                giveups=self.giveups,
                budget_refusals=self.budget_refusals,
                total_sleep_s=self.sleep_s,
            )


class _Bucket:
    __slots__ = ("calls", "index", "retries")

    def __init__(self, index: int) -> None:
        self.index = index
        self.calls = Counter()
        self.retries = 0


class RetryBudget:
    """A limit on retries relative to calls, shared by any number of functions.

    Within a sliding ``window``, a retry is allowed while the retries already made stay below
    ``ratio * calls + min_retries_per_s * window``. When a dependency is down every call
    fails; without a budget each caller multiplies the load by ``max_attempts``; with one,
    the extra load stays near ``ratio``. Refused retries raise the failure at once.

    The window is kept in ten buckets (so it slides in tenths of ``window``). Recording a
    call takes no lock (one lock-free counter step); checking a retry takes a short lock.
    Under heavy thread contention a call landing exactly as its bucket is recycled may go
    uncounted, which only makes the budget slightly stricter.

    Args:
        ratio: Retries allowed per call in the window (0.2: one retry per five calls).
        min_retries_per_s: A floor, so that rarely-called functions can still retry.
        window: Length of the sliding window, in seconds or as a `timedelta`.

    Raises:
        TypeError: An argument is not a number.
        ValueError: ``ratio`` or ``min_retries_per_s`` is negative, or ``window`` is not
            positive.

    Example:
        >>> budget = RetryBudget(ratio=0.1, min_retries_per_s=0.0, window=60)
        >>> budget.can_retry()  # no calls yet, no floor: nothing to spend
        False
    """

    BUCKETS = 10

    __slots__ = (
        "_buckets",
        "_lock",
        "_per_bucket",
        "_refusals",
        "min_retries_per_s",
        "ratio",
        "window",
    )

    def __init__(
        self, ratio: float = 0.2, min_retries_per_s: float = 1.0, window: float | timedelta = 10.0
    ) -> None:
        self.ratio = _non_negative("ratio", ratio)
        self.min_retries_per_s = _non_negative("min_retries_per_s", min_retries_per_s)
        self.window: float = _checks.seconds("window", window, allow_zero=False)  # type: ignore[assignment]
        self._per_bucket = self.BUCKETS / self.window  # bucket index = time * _per_bucket
        self._buckets = [_Bucket(-self.BUCKETS - 1) for _ in range(self.BUCKETS)]
        self._lock = threading.Lock()
        self._refusals = Counter()

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self.ratio!r}, min_retries_per_s={self.min_retries_per_s!r}, "
            f"window={self.window!r})"
        )

    @property
    def refusals(self) -> int:
        """How many retries this budget has refused so far."""
        return self._refusals.value

    def record_call(self, now: float | None = None) -> None:
        """Count one call (`retry` does this for you). Lock-free unless a bucket turns.

        Args:
            now: When the call started, if already read from the monotonic clock.
        """
        if now is None:
            now = clock()
        index = int(now * self._per_bucket)
        bucket = self._buckets[index % self.BUCKETS]
        if bucket.index != index:
            bucket = self._bucket(index)
        bucket.calls.increment()

    def _bucket(self, index: int) -> _Bucket:
        with self._lock:
            slot = index % self.BUCKETS
            bucket = self._buckets[slot]
            if bucket.index < index:
                bucket = self._buckets[slot] = _Bucket(index)
            return bucket  # an older index (a slow thread) lands in the newer bucket

    def _in_window(self, index: int) -> tuple[int, int]:
        oldest = index - self.BUCKETS
        calls = retries = 0
        for bucket in self._buckets:
            if oldest < bucket.index <= index:
                calls += bucket.calls.value
                retries += bucket.retries
        return calls, retries

    def _allows(self, calls: int, retries: int) -> bool:
        return retries < self.ratio * calls + self.min_retries_per_s * self.window

    def can_retry(self) -> bool:
        """Whether a retry made now would be allowed (nothing is recorded).

        Returns:
            True while the retries in the window are below the allowance.
        """
        with self._lock:
            return self._allows(*self._in_window(int(clock() * self._per_bucket)))

    def try_spend(self) -> bool:
        """Record a retry now if the budget allows it; count a refusal if not (`retry` does
        this before each retry).

        Returns:
            True if the retry may go ahead.
        """
        index = int(clock() * self._per_bucket)
        bucket = self._bucket(index)
        with self._lock:
            if self._allows(*self._in_window(index)):
                bucket.retries += 1
                return True
        self._refusals.increment()
        return False


def _non_negative(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number >= 0, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


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
    raise TypeError(
        "exceptions must be an exception class, a tuple of exception classes or a predicate "
        f"exc -> bool, got {type(value).__name__} {value!r}"
    )


def _is_timedelta(value: object) -> bool:
    # A timedelta exists only once datetime is imported: never import it just to check.
    datetime = sys.modules.get("datetime")
    return datetime is not None and isinstance(value, datetime.timedelta)


def _jitter(value: object) -> str | float | None:
    if value is None or value in JITTER_MODES:
        return value
    if (isinstance(value, (int, float)) and not isinstance(value, bool)) or _is_timedelta(value):
        return _checks.seconds("jitter", value)  # type: ignore[arg-type]
    raise ValueError(
        f"jitter must be 'full', 'equal', 'decorrelated', None or a number of seconds >= 0, "
        f"got {value!r}"
    )


def retry_after(exc: BaseException) -> float | None:
    """Seconds `exc` asks to wait: its ``retry_after`` attribute or a ``Retry-After`` header.

    The header is read from ``exc.response.headers`` (requests, httpx and aiohttp errors carry
    one) as delta-seconds or an HTTP-date. Anything unreadable counts as no advice.
    """
    value = getattr(exc, "retry_after", None)
    if value is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        if headers is None:
            return None
        try:
            value = headers.get("Retry-After")
            if value is None:  # plain dicts are case-sensitive
                value = headers.get("retry-after")
        except Exception:  # an unexpected headers type is not worth failing the call
            return None
    if _is_timedelta(value):
        seconds: float = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, (str, bytes)):
        seconds = _parse_header(value.decode("latin-1") if isinstance(value, bytes) else value)
    else:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _parse_header(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        pass
    from datetime import datetime, timezone  # rare path: keep the module import light
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return math.nan
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime.fromtimestamp(wall_clock(), timezone.utc)).total_seconds()


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
        self.max_attempts: int = _checks.positive_int("max_attempts", max_attempts)  # type: ignore[assignment]
        self.exception_classes, self.exception_predicate = _exception_filter(exceptions)
        self.delay: float = _checks.seconds("delay", delay)  # type: ignore[assignment]
        if not isinstance(backoff, (int, float)) or isinstance(backoff, bool):
            raise TypeError(f"backoff must be a number >= 1, got {type(backoff).__name__}")
        if not (math.isfinite(backoff) and backoff >= 1):
            raise ValueError(f"backoff must be a finite number >= 1, got {backoff!r}")
        self.backoff = float(backoff)
        self.max_delay: float = _checks.seconds("max_delay", max_delay)  # type: ignore[assignment]
        self.jitter = _jitter(jitter)
        self.deadline = _checks.seconds("deadline", deadline, allow_none=True, allow_zero=False)
        self.check_result = _checks.optional_callable("retry_on_result", retry_on_result)
        self.giveup = _checks.optional_callable("giveup", giveup)
        self.on_retry = _checks.optional_callable("on_retry", on_retry)
        if budget is not None and not isinstance(budget, RetryBudget):
            raise TypeError(
                f"budget must be a RetryBudget or None, got {type(budget).__name__} {budget!r}"
            )
        self.budget = budget
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


def _summary(attempt: int, error: BaseException | None, result: Any) -> str:
    if error is None:
        return f"attempt {attempt}: returned {_summaries.value(result)}"
    return f"attempt {attempt}: {_describe(error)}"


def _describe(error: BaseException) -> str:
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
        "start",
        "wait",
    )

    def __init__(self, policy: Policy, start: float, attempt: int = 0) -> None:
        self.policy = policy
        self.start = start
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
            sleep(self.wait)
        return self.begin()

    def __aiter__(self) -> Run:
        return self

    async def __anext__(self) -> Attempt:
        if self.finished:
            raise StopAsyncIteration
        if self.wait:
            await async_sleep(self.wait)
        return self.begin()

    def begin(self) -> Attempt:
        """Start the next attempt, or give up if the deadline has come meanwhile."""
        if self.attempt:
            if clock() >= self.deadline_at:  # a real sleep may overshoot by a little
                self.finished = True
                self.stop("the deadline passed during the wait", always=True)
                self.raise_outcome()
            with self.policy.stats.lock:
                self.policy.stats.slow_attempts += 1
        self.attempt += 1
        self.finished = True  # until the attempt reports a failure worth retrying
        return Attempt(self, self.attempt)

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
            return self.stop(f"all {policy.max_attempts} attempts failed")
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
        if now + wait >= self.deadline_at:
            deadline, left = format_duration(policy.deadline or 0.0), self.deadline_at - now
            if left <= 0:
                return self.stop(f"the deadline of {deadline} has passed", always=True)
            return self.stop(
                f"the deadline of {deadline} leaves {format_duration(left)}, less than the "
                f"{format_duration(wait)} wait",
                always=True,
            )
        if policy.budget is not None and not policy.budget.try_spend():
            self.refused(error, result)
            return self.stop("the retry budget refused a retry", always=True)
        self.retrying(error, result, wait, now)
        return True

    def stop(self, reason: str, *, always: bool = False) -> bool:
        """Record giving up; note why on the exception when retrying played a part."""
        with self.policy.stats.lock:
            self.policy.stats.giveups += 1
        self.reason = reason
        error = self.last[0]
        if error is not None and (always or self.attempt > 1) and hasattr(error, "add_note"):
            error.add_note(self.note())
        return False

    def note(self) -> str:
        """Attempts, elapsed time and why retrying stopped, then one line per failure."""
        error, result = self.last
        s = "s" if self.attempt > 1 else ""
        lines = [
            f"retry: {self.policy.name} gave up after {self.attempt} attempt{s} in "
            f"{format_duration(clock() - self.start)}: {self.reason}",
            *self.history,
        ]
        if self.omitted:
            lines.insert(1 + NOTE_LINES // 2, f"... {self.omitted} more failures ...")
        if error is None:
            lines.append(_summary(self.attempt, None, result))
        return "\n  ".join(lines)

    def raise_outcome(self) -> None:
        """Raise what the last attempt ended with: its exception, or `RetryExhaustedError`."""
        error, result = self.last
        if error is not None:
            raise error
        raise RetryExhaustedError(self.note(), last_result=result, attempts=self.attempt)

    def refused(self, error: BaseException | None, result: Any) -> None:
        policy = self.policy
        with policy.stats.lock:
            policy.stats.budget_refusals += 1
        log: logging.Logger = policy.logger  # type: ignore[assignment]
        if log.isEnabledFor(logging.WARNING):
            what = _describe(error) if error is not None else f"returned {_summaries.value(result)}"
            log.warning(
                "retry budget exhausted: not retrying %s after attempt %d/%d (%s)",
                policy.name,
                self.attempt,
                policy.max_attempts,
                what,
                extra={
                    "function": policy.name,
                    "attempt": self.attempt,
                    "max_attempts": policy.max_attempts,
                    "exception": None if error is None else type(error).__name__,
                    "budget_refused": True,
                },
            )

    def retrying(self, error: BaseException | None, result: Any, wait: float, now: float) -> None:
        policy = self.policy
        if len(self.history) == NOTE_LINES:  # keep notes short with max_attempts=1000
            del self.history[NOTE_LINES // 2]
            self.omitted += 1
        self.history.append(_summary(self.attempt, error, result))
        self.wait = wait
        if policy.on_retry is not None:
            policy.on_retry(
                RetryState(
                    function=policy.name,
                    attempt=self.attempt,
                    max_attempts=policy.max_attempts,
                    exception=error,
                    result=result,
                    next_wait=wait,
                    elapsed=now - self.start,
                )
            )
        with policy.stats.lock:
            policy.stats.retries += 1
            policy.stats.sleep_s += wait
        log: logging.Logger = policy.logger  # type: ignore[assignment]
        if log.isEnabledFor(logging.WARNING):
            what = _describe(error) if error is not None else f"returned {_summaries.value(result)}"
            log.warning(
                "retrying %s: attempt %d/%d failed (%s); next attempt in %s",
                policy.name,
                self.attempt,
                policy.max_attempts,
                what,
                format_duration(wait),
                extra={
                    "function": policy.name,
                    "attempt": self.attempt,
                    "max_attempts": policy.max_attempts,
                    "exception": None if error is None else type(error).__name__,
                    "next_wait_s": wait,
                    "elapsed_s": now - self.start,
                },
            )
