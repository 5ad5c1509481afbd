"""No hang, no stall: forks with work in flight, failing and hung backends, async budgets.

Failing backends are skipped for a cool-down (`COOLDOWN_S`, read on the patched
``_cache._monotonic``, so no test waits for it); hung ones are waited for through a real
timeout set to 50 ms. Every test that could hang on a regression is bounded: forked children
are killed after a deadline, async gathers are awaited with a timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeClock, held_elsewhere, needs_fork, run_in_child, start_threads, wait_until
from mlops_decorators.caching import RedisBackend, SQLiteBackend, cache_result
from mlops_decorators.caching import _cache as cache_module
from mlops_decorators.caching._guard import COOLDOWN_S, IO_THREADS

SECRET = "test-secret"
HUNG_TIMEOUT = 0.05
IO_THREAD_PREFIX = "mlops-decorators-cache-io"


class DictBackend:
    """A healthy store that records each operation and the thread it ran in."""

    def __init__(self, timeout: float | None = None) -> None:
        self.data: dict[str, bytes] = {}
        self.ops: list[str] = []
        self.callers: list[threading.Thread] = []
        if timeout is not None:
            self.timeout = timeout

    def _record(self, op: str) -> None:
        self.ops.append(op)
        self.callers.append(threading.current_thread())

    def get(self, key: str) -> bytes | None:
        self._record("get")
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._record("set")
        self.data[key] = value

    def delete(self, key: str) -> bool:
        self._record("delete")
        return self.data.pop(key, None) is not None

    def clear(self, namespace: str) -> None:
        self._record("clear")
        self.data.clear()


class FlakyBackend(DictBackend):
    """Fails every operation while `down`; `gate`, once cleared, holds gets back."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.gate = threading.Event()
        self.gate.set()

    def get(self, key: str) -> bytes | None:
        assert self.gate.wait(10)
        if self.down:
            self._record("get")
            raise ConnectionError("down")
        return super().get(key)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        if self.down:
            self._record("set")
            raise ConnectionError("down")
        super().set(key, value, ttl)


class HungBackend(DictBackend):
    """Accepts every operation and answers none until `answer` is set (a paused server)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout)
        self.answer = threading.Event()

    def get(self, key: str) -> bytes | None:
        self._record("get")
        self.answer.wait(10)
        return None

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._record("set")
        self.answer.wait(10)


def counted(backend: Any, namespace: str = "compute") -> Any:
    calls: list[Any] = []

    @cache_result(backend=backend, namespace=namespace)  # a closure: it needs a name
    def compute(x: int) -> int:
        calls.append(x)
        return 2 * x

    compute.calls = calls  # type: ignore[attr-defined]
    return compute


@pytest.fixture(autouse=True)
def _signed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Custom backends sign with the environment's secret: no "unsigned" warning here."""
    monkeypatch.setenv("MLOPS_DECORATORS_CACHE_SECRET", SECRET)


@pytest.fixture
def cool_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock of cool-downs, budgets and warnings; patch before making backends."""
    clock = FakeClock()
    monkeypatch.setattr(cache_module, "_monotonic", clock)
    return clock


def warnings_of(logs: pytest.LogCaptureFixture, text: str) -> list[Any]:
    return [r for r in logs.records if text in r.getMessage()]


# -- fork ----------------------------------------------------------------------------------


@needs_fork
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_fork_while_a_key_is_in_flight_does_not_hang_the_child(kind: str) -> None:
    parent = os.getpid()
    started, release = threading.Event(), threading.Event()

    if kind == "sync":

        @cache_result
        def load(x: int) -> int:
            if os.getpid() == parent:
                started.set()
                release.wait(10)
            return 2 * x

        call: Callable[[], int] = lambda: load(1)  # noqa: E731
    else:

        @cache_result
        async def load_async(x: int) -> int:
            if os.getpid() == parent:
                started.set()
                await asyncio.to_thread(release.wait, 10)
            return 2 * x

        load = load_async  # type: ignore[assignment]
        call = lambda: asyncio.run(load_async(1))  # noqa: E731

    threads, results = start_threads(call, 1)  # the parent's flight of key 1
    assert started.wait(10)

    def child() -> None:
        # The flight's thread does not exist here: the child runs the function itself.
        assert call() == 2
        assert call() == 2
        assert load.cache_info().hits == 1

    try:
        run_in_child(child)
    finally:
        release.set()
        threads[0].join()
    assert results == [2]


@needs_fork
def test_fork_while_another_thread_holds_the_cache_locks(tmp_path: Path) -> None:
    """Locks held by a parent's thread at the fork never open in the child: none may be
    needed there (the function's, a store's, the SQLite backend's, the I/O threads')."""
    backend = SQLiteBackend(tmp_path / "c.db", secret=SECRET)

    @cache_result
    def double(x: int) -> int:
        return 2 * x

    @cache_result(backend=backend)
    def triple(x: int) -> int:
        return 3 * x

    @cache_result(backend=backend)
    async def quadruple(x: int) -> int:
        return 4 * x

    double(0), triple(0), asyncio.run(quadruple(0))  # stores, connections and I/O threads
    memory, shared = double.cache_info.__self__, quadruple.cache_info.__self__
    locks = [
        memory._lock,
        memory.store._lock,
        shared._lock,
        shared.guard._lock,
        backend._connections_lock,
    ]

    def child() -> None:
        assert double(1) == 2
        assert triple(1) == 3  # a new connection for the child
        assert asyncio.run(quadruple(1)) == 4  # the child's own I/O threads
        assert asyncio.run(quadruple(1)) == 4
        info = quadruple.cache_info()
        assert (info.hits, info.backend_errors) == (1, 0)

    with held_elsewhere(*locks):
        run_in_child(child)
    assert double(1) == 2  # the parent's locks are its own again


# -- cool-down -----------------------------------------------------------------------------


def test_a_failed_backend_is_skipped_for_the_cool_down(
    cool_clock: FakeClock, cache_logs: pytest.LogCaptureFixture
) -> None:
    backend = FlakyBackend()
    backend.down = True
    f = counted(backend)
    assert f(1) == 2
    assert backend.ops == ["get"]  # failed: the set is skipped too
    assert [f(1) for _ in range(5)] == [2] * 5
    assert backend.ops == ["get"]  # not asked during the cool-down
    info = f.cache_info()
    assert (info.misses, info.backend_errors, info.backend_skips) == (6, 1, 5)
    assert len(warnings_of(cache_logs, "failed to get")) == 1
    assert len(cache_logs.records) == 1  # one WARNING for the whole episode

    cool_clock.advance(COOLDOWN_S)
    assert f(1) == 2  # the cool-down is over: this call probes, and the store still fails
    assert backend.ops == ["get", "get"]
    assert f(1) == 2
    assert backend.ops == ["get", "get"]  # a new cool-down

    cool_clock.advance(COOLDOWN_S)
    backend.down = False
    assert f(1) == 2  # probes: a miss, then stored
    assert f(1) == 2
    info = f.cache_info()
    assert (info.hits, info.backend_errors, info.backend_skips) == (1, 2, 6)
    assert backend.ops == ["get", "get", "get", "set", "get"]


def test_the_cool_down_is_shared_by_every_function_of_a_backend(
    cool_clock: FakeClock, cache_logs: pytest.LogCaptureFixture
) -> None:
    backend = FlakyBackend()
    f, g = counted(backend, "f"), counted(backend, "g")
    backend.down = True
    assert f(1) == 2
    assert g(1) == 2  # f's failure: g does not wait for the store either
    assert backend.ops == ["get"]
    assert g.cache_info().backend_skips == 1
    assert len(warnings_of(cache_logs, "failed to get")) == 1
    assert len(warnings_of(cache_logs, "failed less than")) == 1  # g says so once


def test_explicit_invalidation_and_clear_are_tried_in_a_cool_down(cool_clock: FakeClock) -> None:
    backend = FlakyBackend()
    f = counted(backend)
    f(1)
    backend.down = True
    f(2)
    assert backend.ops == ["get", "set", "get"]  # f(2)'s get failed: a cool-down
    backend.down = False
    assert f.cache_invalidate(1) is True
    f.cache_clear()
    assert backend.ops[-2:] == ["delete", "clear"]


def test_after_a_cool_down_one_call_probes_while_the_others_skip(cool_clock: FakeClock) -> None:
    backend = FlakyBackend()
    f = counted(backend)
    backend.down = True
    f(0)
    backend.down = False
    backend.gate.clear()  # the probe's get waits here
    cool_clock.advance(COOLDOWN_S)
    keys = iter(range(32))  # one key per thread: no single-flight between them
    threads, results = start_threads(lambda: f(next(keys)), 32)
    wait_until(lambda: f.cache_info().backend_skips == 31)
    backend.gate.set()
    for thread in threads:
        thread.join()
    assert sorted(results) == [2 * key for key in range(32)]
    probes = backend.callers[1:]  # after the failure: one thread's get (a miss), then set
    assert len(set(probes)) == 1
    assert backend.ops.count("set") == 1
    info = f.cache_info()
    assert (info.backend_errors, info.backend_skips) == (1, 31)


def test_an_unpicklable_result_does_not_start_a_cool_down(cool_clock: FakeClock) -> None:
    backend = DictBackend()

    @cache_result(backend=backend)
    def make(x: int) -> Any:
        return (lambda: x) if x == 1 else x

    assert make(1)() == 1
    assert make(2) == 2
    assert make(2) == 2
    assert make.cache_info().backend_skips == 0
    assert backend.ops == ["get", "get", "set", "get"]


# -- async calls: their own threads, a budget ------------------------------------------------


async def test_async_backend_io_runs_in_a_few_threads_of_its_own() -> None:
    backend = DictBackend()

    @cache_result(backend=backend)
    async def fetch(x: int) -> int:
        return x

    assert await asyncio.gather(*(fetch(i % 10) for i in range(100))) == [
        i % 10 for i in range(100)
    ]
    # Never the loop's default executor ("asyncio_N" threads), and a bounded number.
    threads = {thread.name for thread in backend.callers}
    assert all(name.startswith(IO_THREAD_PREFIX) for name in threads)
    assert 1 <= len(threads) <= IO_THREADS


async def test_async_backend_io_sees_the_callers_context() -> None:
    request = contextvars.ContextVar("request", default="none")
    seen: list[str] = []

    class Spy(DictBackend):
        def get(self, key: str) -> bytes | None:
            seen.append(request.get())
            return super().get(key)

    @cache_result(backend=Spy())
    async def fetch(x: int) -> int:
        return x

    request.set("r-1")
    assert await fetch(1) == 1
    assert seen == ["r-1"]


async def test_a_hung_store_costs_async_calls_one_budget_and_then_nothing(
    cool_clock: FakeClock, cache_logs: pytest.LogCaptureFixture
) -> None:
    backend = HungBackend(timeout=HUNG_TIMEOUT)

    @cache_result(backend=backend)
    async def fetch(x: int) -> int:
        return x

    try:
        # More calls than I/O threads: those queued for a thread wait within their budget.
        first = await asyncio.wait_for(asyncio.gather(*(fetch(i) for i in range(60))), 10)
        assert first == list(range(60))
        assert backend.ops == ["get"] * len(backend.ops)  # no set: the cool-down began
        assert len(backend.ops) <= IO_THREADS  # the queued gets were dropped, never run
        assert fetch.cache_info().backend_skips == 0
        # In the cool-down, not even a thread hop: done without waiting.
        again = await asyncio.wait_for(asyncio.gather(*(fetch(i) for i in range(60))), 10)
        assert again == list(range(60))
        assert fetch.cache_info().backend_skips == 60
        assert len(warnings_of(cache_logs, "failed to get")) == 1
    finally:
        backend.answer.set()


async def test_an_async_call_waits_for_its_backend_at_most_its_budget_in_total(
    cool_clock: FakeClock, cache_logs: pytest.LogCaptureFixture
) -> None:
    budget = 0.5  # a binary fraction: the clock's sums are exact

    class Slow(DictBackend):
        def get(self, key: str) -> bytes | None:
            cool_clock.advance(budget)  # answers, having used the call's whole budget
            return super().get(key)

    backend = Slow(timeout=budget)

    @cache_result(backend=backend)
    async def fetch(x: int) -> int:
        return x

    assert await fetch(1) == 1
    assert backend.ops == ["get"]  # no budget left for the set
    info = fetch.cache_info()
    assert (info.backend_errors, info.backend_skips) == (1, 0)
    assert "budget" in warnings_of(cache_logs, "failed to set")[0].getMessage()


def test_a_backend_timeout_must_be_seconds() -> None:
    with pytest.raises(ValueError, match=r"^DictBackend\.timeout must be > 0 seconds, got 0"):
        counted(DictBackend(timeout=0))


# -- a hung Redis: a real server paused with SIGSTOP --------------------------------------


@pytest.mark.redis
def test_hung_redis_costs_a_sync_call_one_timeout_per_cool_down(
    hung_redis_url: str, cool_clock: FakeClock, cache_logs: pytest.LogCaptureFixture
) -> None:
    f = counted(RedisBackend(hung_redis_url, secret=SECRET, timeout=HUNG_TIMEOUT))
    assert f(1) == 2  # the get times out; the set is not tried
    info = f.cache_info()
    assert (info.backend_errors, info.backend_skips) == (1, 0)
    assert [f(1) for _ in range(10)] == [2] * 10  # no wait at all
    info = f.cache_info()
    assert (info.backend_errors, info.backend_skips) == (1, 10)
    cool_clock.advance(COOLDOWN_S)
    assert f(1) == 2  # one probe, one more timeout
    assert f.cache_info().backend_errors == 2
    assert f.calls == [1] * 12
    assert len(warnings_of(cache_logs, "failed to get")) == 1


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(1)
        self.jobs = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.jobs += 1
        return super().submit(*args, **kwargs)


@pytest.mark.redis
async def test_hung_redis_stalls_neither_async_calls_nor_the_default_executor(
    hung_redis_url: str, cool_clock: FakeClock
) -> None:
    default = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(default)
    backend = RedisBackend(hung_redis_url, secret=SECRET, timeout=HUNG_TIMEOUT)

    @cache_result(backend=backend)
    async def fetch(x: int) -> int:
        return x

    calls = asyncio.gather(*(fetch(i) for i in range(60)))
    elsewhere = asyncio.to_thread(lambda: "the application's own work")
    both = await asyncio.wait_for(asyncio.gather(calls, elsewhere), 10)
    assert both == [list(range(60)), "the application's own work"]
    assert default.jobs == 1  # only the application's: the cache used threads of its own
    before = fetch.cache_info()
    # Each call either waited out its budget or, queued behind the first failures, skipped.
    assert before.backend_errors >= 1
    assert before.backend_errors + before.backend_skips >= 60
    again = await asyncio.wait_for(asyncio.gather(*(fetch(i) for i in range(60))), 10)
    assert again == list(range(60))
    after = fetch.cache_info()
    assert after.backend_errors == before.backend_errors  # in the cool-down: not asked
    assert after.backend_skips == before.backend_skips + 60
