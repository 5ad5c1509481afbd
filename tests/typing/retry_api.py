# pyright: strict
"""Never executed: type-checked by ``mypy --strict`` and pyright (see tests/test_typing.py).

`retry` keeps the decorated signature and return type, bare or called, sync or async, on
functions and methods, and `retry_stats` reads them; `retry_context` yields typed attempts in
``for`` and ``async for``.
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from typing_extensions import assert_type

from mlops_decorators import (
    RetryBudget,
    RetryState,
    RetryStats,
    reset_retry_settings,
    retry,
    retry_context,
    retry_stats,
    set_retries,
    set_retry_waits,
)
from mlops_decorators.retrying import Attempt

budget = RetryBudget(ratio=0.1, min_retries_per_s=0.5, window=timedelta(seconds=30))


def log_state(state: RetryState) -> None:
    assert_type(state.next_wait_s, float)
    assert_type(state.exception, BaseException | None)


@retry
def bare(a: int, b: str = "x") -> list[str]:
    return [b] * a


@retry(
    max_attempts=5,
    exceptions=(ConnectionError, TimeoutError),
    delay=timedelta(milliseconds=100),
    backoff=1.5,
    max_delay=10,
    jitter="equal",
    deadline=30.0,
    retry_on_result=lambda result: result is None,
    giveup=lambda exc: isinstance(exc, PermissionError),
    on_retry=log_state,
    logger="my.logger",
    budget=budget,
)
def called(a: int, *, flag: bool = False) -> int | None:
    return a if flag else None


@retry(exceptions=lambda exc: "transient" in str(exc), jitter=0.25)
async def fetch(url: str) -> bytes:
    return url.encode()


class Client:
    @retry(jitter=None)
    def get(self, path: str) -> str:
        return path

    @retry
    @classmethod
    def build(cls) -> Client:
        return cls()

    @retry(jitter="decorrelated")
    async def aget(self, path: str) -> str:
        return path


assert_type(bare(1), list[str])
assert_type(bare(1, b="y"), list[str])
assert_type(called(1, flag=True), int | None)
assert_type(Client().get("/"), str)
assert_type(Client.build(), Client)


async def use_async() -> None:
    coroutine: Coroutine[Any, Any, bytes] = fetch("u")  # an async def stays one
    assert_type(await coroutine, bytes)
    assert_type(await Client().aget("/"), str)
    async for attempt in retry_context(max_attempts=2):
        with attempt:
            assert_type(attempt, Attempt)


for attempt in retry_context(max_attempts=3, deadline=timedelta(seconds=5), name="load"):
    with attempt:
        assert_type(attempt.number, int)
        attempt.result = 3
assert_type(retry_context().retry_stats(), RetryStats)
assert_type(retry_stats(bare), RetryStats)
assert_type(retry_stats(called).calls, int)
assert_type(retry_stats(fetch), RetryStats)
assert_type(retry_stats(Client().get), RetryStats)
assert_type(retry_stats(Client.build), RetryStats)
assert_type(budget.try_spend(), bool)


def wait_for(state: RetryState) -> float | timedelta:
    return timedelta(seconds=state.attempt) if state.exception else 0.5


def refresh_token(state: RetryState) -> None:
    assert_type(state.max_attempts, int | None)


@retry(max_attempts=None, deadline=30, wait=wait_for, before_attempt=refresh_token)
def until_deadline(path: str) -> bytes:
    return path.encode()


def no_model(exc: BaseException) -> None:
    return None


@retry(fallback=no_model)  # fallback=None itself means "no fallback": raise
def maybe_model(name: str) -> dict[str, int]:
    return {name: 1}


def offline(exc: BaseException) -> str:
    return f"offline: {exc}"


@retry(max_attempts=2, fallback=offline)
async def status(host: str) -> int:
    return len(host)


@retry(fallback=-1)
def count_rows() -> int:
    return 1


@retry(fallback=lambda exc: 0)  # a lambda's return type may be inferred as Any
def rows() -> list[int]:
    return [1]


async def use_fallbacks() -> None:
    assert_type(await status("h"), int | str)


assert_type(until_deadline("p"), bytes)
assert_type(maybe_model("m"), dict[str, int] | None)
assert_type(count_rows(), int)
rows()
for attempt in retry_context(max_attempts=None, deadline=5.0, wait=wait_for, fallback=0):
    with attempt:
        attempt.result = 1
assert_type(budget.refusals, int)
with set_retry_waits(False), set_retries(True):
    reset_retry_settings()
