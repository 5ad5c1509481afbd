"""Single-flight across threads and asyncio tasks, exception fan-out, re-entrancy."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from fakes import start_threads, until_waiting, wait_until
from mlops_decorators.caching import cache_result

N = 32


def test_exception_fans_out_and_is_not_cached() -> None:
    release = threading.Event()
    calls = []

    @cache_result
    def broken(x: int) -> int:
        calls.append(x)
        release.wait(10)
        raise ValueError("boom")

    threads, results = start_threads(lambda: broken(1), N)
    wait_until(lambda: broken.cache_info().single_flight_waits == N - 1)
    release.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(isinstance(r, ValueError) and str(r) == "boom" for r in results)
    assert broken.cache_info().currsize == 0
    release.set()
    with pytest.raises(ValueError, match="boom"):
        broken(1)
    assert len(calls) == 2


def test_reentrant_call_does_not_deadlock() -> None:
    calls = []

    @cache_result
    def recursive(n: int) -> int:
        calls.append(n)
        if len(calls) == 1:
            return recursive(n) + 1  # the same key while this thread computes it
        return n

    assert recursive(3) == 4
    assert recursive(3) == 4  # the outer result is the one left in the cache
    assert calls == [3, 3]


def test_leader_interrupted_lets_waiter_compute() -> None:
    started, release = threading.Event(), threading.Event()
    calls = []

    class Stop(BaseException):
        pass

    @cache_result
    def job(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            started.set()
            release.wait(10)
            raise Stop
        return x

    leader_error: list[BaseException] = []

    def lead() -> None:
        try:
            job(1)
        except Stop as exc:
            leader_error.append(exc)

    leader = threading.Thread(target=lead)
    leader.start()
    started.wait(10)
    threads, results = start_threads(lambda: job(1), 1)
    wait_until(lambda: job.cache_info().single_flight_waits == 1)
    release.set()
    leader.join()
    threads[0].join()
    assert leader_error
    assert results == [1]
    assert len(calls) == 2


async def test_async_exception_fans_out() -> None:
    release = asyncio.Event()
    calls = []

    @cache_result
    async def broken(x: int) -> int:
        calls.append(x)
        await release.wait()
        raise KeyError(x)

    tasks = [asyncio.create_task(broken(1)) for _ in range(N)]
    await until_waiting(broken, N - 1)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert len(calls) == 1
    assert all(isinstance(r, KeyError) for r in results)
    assert broken.cache_info().currsize == 0


async def test_async_reentrant_and_cancelled_leader() -> None:
    @cache_result
    async def again(n: int) -> int:
        if again.cache_info().misses == 1:
            return await again(n) + 1
        return n

    assert await again(2) == 3

    gate = asyncio.Event()
    calls = []

    @cache_result
    async def slow(x: int) -> int:
        calls.append(x)
        await gate.wait()
        return x

    leader = asyncio.create_task(slow(1))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(slow(1))
    for _ in range(100):
        await asyncio.sleep(0)
        if slow.cache_info().single_flight_waits == 1:
            break
    leader.cancel()
    gate.set()
    assert await waiter == 1  # the waiter took over instead of inheriting the cancellation
    assert len(calls) == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_cancelled_waiter_does_not_cancel_leader() -> None:
    gate = asyncio.Event()

    @cache_result
    async def slow(x: int) -> int:
        await gate.wait()
        return x

    leader = asyncio.create_task(slow(1))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(slow(1))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.sleep(0)
    gate.set()
    assert await leader == 1


def test_async_function_used_from_two_loops() -> None:
    @cache_result
    async def value(x: int) -> int:
        await asyncio.sleep(0)
        return x

    assert asyncio.run(value(1)) == 1
    assert asyncio.run(value(1)) == 1
    assert value.cache_info().hits == 1


@pytest.mark.parametrize("loops", [2, 4])
def test_one_run_per_key_across_event_loops(loops: int) -> None:
    """Tasks of several loops, each in its own thread, share one flight per key."""
    tasks = 50
    release = threading.Event()
    calls: list[int] = []

    @cache_result
    async def load(x: int) -> int:
        calls.append(x)
        await asyncio.to_thread(release.wait, 10)
        return x

    async def gather() -> list[int]:
        return await asyncio.gather(*(load(1) for _ in range(tasks)))

    threads, results = start_threads(lambda: asyncio.run(gather()), loops)
    try:
        # Every task but the leader waits: none may finish before the release.
        wait_until(lambda: load.cache_info().single_flight_waits == loops * tasks - 1)
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert results == [[1] * tasks] * loops
    assert calls == [1]
    assert load.cache_info().misses == 1


def test_cancelled_waiter_of_another_loop_does_not_cancel_the_leader() -> None:
    started, release = threading.Event(), threading.Event()

    @cache_result
    async def load(x: int) -> int:
        started.set()
        await asyncio.to_thread(release.wait, 10)
        return x

    threads, results = start_threads(lambda: asyncio.run(load(1)), 1)
    assert started.wait(10)

    async def cancel_a_waiter() -> None:
        waiter = asyncio.create_task(load(1))
        for _ in range(10_000):  # bounded: at most about 10 s
            if load.cache_info().single_flight_waits == 1:
                break
            await asyncio.sleep(0.001)
        assert load.cache_info().single_flight_waits == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    try:
        asyncio.run(cancel_a_waiter())
    finally:
        release.set()
        threads[0].join()
    assert results == [1]
    assert asyncio.run(load(1)) == 1  # stored by the leader: a hit
    assert load.cache_info().misses == 1


def test_cache_info_while_instances_die_in_other_threads() -> None:
    """An instance's weakref callback drops its store in whichever thread frees it, while
    cache_info() in another thread sums the stores."""

    class Model:
        @cache_result
        def predict(self, x: int) -> int:
            return x

    alive = [Model() for _ in range(3000)]
    for model in alive:
        model.predict(1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        while not stop.is_set():
            Model().predict(1)  # freed at once: its callback deletes its store

    def read() -> None:
        try:
            for _ in range(100):
                assert Model.predict.cache_info().currsize >= len(alive)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=churn), threading.Thread(target=read)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
