"""What the waiters of a single flight receive: each its own copy of the leader's exception
(real threads, real tasks), and a result that copy=True cannot copy, uncached."""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any

from fakes import start_threads, until_waiting, wait_until
from mlops_decorators.caching import cache_result

N = 16


def frames(error: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(error.__traceback__)]


def test_each_waiting_thread_raises_its_own_copy_of_the_leaders_exception() -> None:
    """One shared exception object, raised in every thread, had a traceback mixing all their
    frames; each waiter now raises a copy whose cause is the leader's exception."""
    release = threading.Event()

    @cache_result
    def broken(x: int) -> int:
        release.wait(10)
        raise ValueError(f"boom {x}")

    threads, results = start_threads(lambda: broken(1), N)
    wait_until(lambda: broken.cache_info().single_flight_waits == N - 1)
    release.set()
    for thread in threads:
        thread.join()
    assert all(type(r) is ValueError and str(r) == "boom 1" for r in results)
    assert len({id(r) for r in results}) == N  # no object raised twice
    [leader] = [r for r in results if r.__cause__ is None]
    waiters = [r for r in results if r is not leader]
    assert all(r.__cause__ is leader for r in waiters)
    assert "broken" in frames(leader)
    for waiter in waiters:  # its own frames only: the function ran in the leader's thread
        assert frames(waiter) == frames(waiters[0])
        assert "broken" not in frames(waiter)
        assert frames(waiter).count("call") == 1
    formatted = "".join(traceback.format_exception(waiters[0]))
    assert "The above exception was the direct cause" in formatted
    assert "in broken" in formatted  # where it failed is shown through the cause


async def test_each_waiting_task_raises_its_own_copy_of_the_leaders_exception() -> None:
    release = asyncio.Event()

    @cache_result
    async def broken(x: int) -> int:
        await release.wait()
        raise KeyError(x)

    tasks = [asyncio.create_task(broken(1)) for _ in range(N)]
    await until_waiting(broken, N - 1)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(type(r) is KeyError and r.args == (1,) for r in results)
    assert len({id(r) for r in results}) == N
    [leader] = [r for r in results if r.__cause__ is None]
    assert all(r.__cause__ is leader for r in results if r is not leader)
    assert all("broken" not in frames(r) for r in results if r is not leader)


def test_an_exception_that_cannot_be_copied_is_shared_as_before() -> None:
    class StrictError(Exception):
        def __init__(self, code: int, reason: str) -> None:  # copy() calls StrictError("...")
            super().__init__(f"{code} {reason}")

    release = threading.Event()

    @cache_result
    def broken(x: int) -> int:
        release.wait(10)
        raise StrictError(x, "refused")

    threads, results = start_threads(lambda: broken(1), 4)
    wait_until(lambda: broken.cache_info().single_flight_waits == 3)
    release.set()
    for thread in threads:
        thread.join()
    assert all(r is results[0] for r in results)
    assert isinstance(results[0], StrictError)


def test_a_result_copy_cannot_copy_reaches_every_waiter_uncached(cache_logs: Any) -> None:
    """copy=True with a lock inside the result: the call failed after the function ran."""
    release = threading.Event()
    calls: list[int] = []

    @cache_result(copy=True)
    def connect(x: int) -> dict[str, Any]:
        calls.append(x)
        release.wait(10)
        return {"lock": threading.Lock(), "x": x}

    threads, results = start_threads(lambda: connect(1), N)
    wait_until(lambda: connect.cache_info().single_flight_waits == N - 1)
    release.set()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, dict) and r["x"] == 1 for r in results)
    assert len(calls) == 1
    info = connect.cache_info()
    assert (info.currsize, info.backend_errors) == (0, 1)
    assert connect(1)["x"] == 1  # not cached: runs again
    assert len(calls) == 2
    warnings = [r for r in cache_logs.records if "copy=True cannot copy" in r.getMessage()]
    assert len(warnings) == 1  # rate limited
    assert warnings[0].operation == "copy"
