"""What every backend honours through `cache_result`, run against Memory, SQLite and real Redis.

Each case builds a fresh, empty backend and says how to let time pass for its entries: the
memory and SQLite backends read an injected `FakeClock` (monotonic and wall time alike), and
for Redis, whose expiry runs in the server, every key's remaining PTTL is shortened instead.
Backend-specific behaviour (files, connections, scans, signing) lives in the other test files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from fakes import FakeClock, start_threads, wait_until
from mlops_decorators.caching import (
    MemoryBackend,
    RedisBackend,
    SQLiteBackend,
    cache_result,
    set_caching,
)

SECRET = "test-secret"
THREADS = 32


@dataclass
class Case:
    backend: Any
    elapse: Callable[[float], None]
    memory: bool


def redis_elapse(client: Any, prefix: str) -> Callable[[float], None]:
    """Let `seconds` pass for every key under `prefix`, as the server's clock would."""

    def elapse(seconds: float) -> None:
        for key in client.scan_iter(match=prefix + "*"):
            remaining = client.pttl(key)
            if remaining < 0:  # -1: no expiry; -2: gone meanwhile
                continue
            left = remaining - round(seconds * 1000)
            if left > 0:
                client.pexpire(key, left)
            else:
                client.delete(key)

    return elapse


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def case(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Iterator[Case]:
    if request.param == "memory":
        yield Case(MemoryBackend(clock=clock), clock.advance, memory=True)
    elif request.param == "sqlite":
        sqlite = SQLiteBackend(tmp_path / "cache.db", secret=SECRET, clock=clock)
        yield Case(sqlite, clock.advance, memory=False)
        sqlite.close()
    else:
        client = request.getfixturevalue("redis_client")  # started only for this case
        redis = RedisBackend(client=client, secret=SECRET)
        yield Case(redis, redis_elapse(client, redis.prefix), memory=False)


def counted(case: Case, **options: Any) -> Any:
    """A cached ``compute(a, b=2)`` on the case's backend; ``compute.calls`` lists real calls."""
    options.setdefault("namespace", "compute")  # a closure: it needs a name in a shared store
    calls: list[tuple[Any, Any]] = []

    @cache_result(backend=case.backend, **options)
    def compute(a: Any, b: Any = 2) -> Any:
        calls.append((a, b))
        return {"a": a, "b": b}

    compute.calls = calls  # type: ignore[attr-defined]
    return compute


# -- hits and misses ---------------------------------------------------------------------


def test_hit_and_miss(case: Case) -> None:
    f = counted(case)
    assert f(1) == f(1) == f(1, 2) == f(a=1) == f(b=2, a=1) == {"a": 1, "b": 2}
    assert f(2) == {"a": 2, "b": 2}
    assert f.calls == [(1, 2), (2, 2)]
    info = f.cache_info()
    assert (info.hits, info.misses, info.backend_errors) == (4, 2, 0)


def test_functions_sharing_a_backend_keep_their_own_entries(case: Case) -> None:
    f, g, g2 = counted(case), counted(case, version=1), counted(case, version=2)
    f(1), g(1), g2(1), f(1), g(1), g2(1)
    assert (f.calls, g.calls, g2.calls) == ([(1, 2)], [(1, 2)], [(1, 2)])


def test_typed_keeps_equal_values_of_other_types_apart(case: Case) -> None:
    untyped, typed = counted(case), counted(case, typed=True, version="typed")
    untyped(1), untyped(1.0)
    typed(1), typed(1.0), typed(1)
    assert (len(untyped.calls), len(typed.calls)) == (1, 2)


def test_info_reports_the_backends_size(case: Case) -> None:
    f = counted(case, maxsize=10)
    f(1), f(2), f(1)
    info = f.cache_info()
    assert (info.hits, info.misses, info.single_flight_waits, info.backend_errors) == (1, 2, 0, 0)
    if case.memory:
        assert (info.currsize, info.maxsize) == (2, 10)
    else:  # an external store may be shared with other processes: no size to report
        assert (info.currsize, info.maxsize) == (None, None)


# -- expiry ------------------------------------------------------------------------------


def test_entry_expires_after_ttl(case: Case) -> None:
    f = counted(case, ttl=10)
    f(1)
    case.elapse(9.5)
    f(1)
    assert len(f.calls) == 1
    case.elapse(0.5)
    f(1)
    assert len(f.calls) == 2
    f(1)  # and the recomputed value is cached again
    assert len(f.calls) == 2


def test_timedelta_ttl(case: Case) -> None:
    f = counted(case, ttl=timedelta(minutes=1))
    f(1)
    case.elapse(59)
    f(1)
    case.elapse(1)
    f(1)
    assert len(f.calls) == 2


def test_no_ttl_never_expires(case: Case) -> None:
    f = counted(case, ttl=None)
    f(1)
    case.elapse(1e9)
    f(1)
    assert len(f.calls) == 1


# -- clear and invalidate ----------------------------------------------------------------


def test_cache_clear_empties_this_function_only_and_resets_its_statistics(case: Case) -> None:
    f, g = counted(case), counted(case, version=2)
    f(1), f(2), f(1), g(1)
    f.cache_clear()
    info = f.cache_info()
    assert (info.hits, info.misses, info.backend_errors) == (0, 0, 0)
    if case.memory:
        assert info.currsize == 0
    f(1), f(2), g(1)
    assert f.calls == [(1, 2), (2, 2), (1, 2), (2, 2)]
    assert g.calls == [(1, 2)]


def test_cache_invalidate_drops_one_entry(case: Case) -> None:
    f = counted(case)
    f(1), f(2)
    assert f.cache_invalidate(1) is True
    assert f.cache_invalidate(a=1, b=2) is False  # the same entry, already gone
    assert f.cache_invalidate(3) is False  # never cached
    f(1), f(2)
    assert f.calls == [(1, 2), (2, 2), (1, 2)]


def test_invalidating_an_expired_entry_is_false(case: Case) -> None:
    f = counted(case, ttl=1)
    f(1)
    case.elapse(2)  # expired, and (SQLite, memory) not purged yet
    assert f.cache_invalidate(1) is False
    f(1)  # the expired entry is gone either way: recomputed, then live again
    assert f.cache_invalidate(1) is True


# -- what is cached ----------------------------------------------------------------------


def test_none_is_cached_unless_cache_none_false(case: Case) -> None:
    calls: list[int] = []

    def nothing(x: int) -> None:
        calls.append(x)

    cached = cache_result(backend=case.backend, namespace="nothing")(nothing)
    assert cached(1) is cached(1) is None
    assert len(calls) == 1
    uncached = cache_result(
        backend=case.backend, namespace="nothing", cache_none=False, version="u"
    )(nothing)
    uncached(1), uncached(1)
    assert len(calls) == 3


def test_exceptions_are_never_cached(case: Case) -> None:
    attempts: list[int] = []

    @cache_result(backend=case.backend, namespace="flaky")
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            raise RuntimeError("first")
        return x

    with pytest.raises(RuntimeError, match="first"):
        flaky(1)
    assert flaky(1) == flaky(1) == 1
    assert len(attempts) == 2


def test_copy_true_keeps_callers_mutations_out_of_the_cache(case: Case) -> None:
    @cache_result(backend=case.backend, namespace="rows", copy=True)
    def rows(n: int) -> list[int]:
        return list(range(n))

    rows(3).append(99)  # the miss
    hit = rows(3)
    assert hit == [0, 1, 2]
    hit.append(7)
    assert rows(3) == [0, 1, 2]


def test_unhashable_arguments_are_keyed_by_content(case: Case) -> None:
    f = counted(case)
    f([1, 2], {"a": [1], "b": {2, 3}})
    f([1, 2], b={"b": {3, 2}, "a": [1]})
    f(a=[1, 2], b={"a": [1], "b": {3, 2}})
    assert len(f.calls) == 1
    f([1, 2], {"a": [1], "b": {2}})
    assert len(f.calls) == 2


def test_arrays_as_arguments_and_results(case: Case) -> None:
    calls: list[Any] = []

    @cache_result(backend=case.backend, namespace="scale")
    def scale(x: np.ndarray, factor: float) -> np.ndarray:
        calls.append(factor)
        return x * factor

    first = scale(np.arange(4, dtype=np.float32), 2.0)
    hit = scale(np.arange(4, dtype=np.float32), 2.0)  # an equal array: the same key
    scale(np.arange(4, dtype=np.float64), 2.0)  # another dtype: another key
    scale(np.arange(4, dtype=np.float32).reshape(2, 2), 2.0)  # another shape: another key
    assert calls == [2.0, 2.0, 2.0]
    np.testing.assert_array_equal(hit, [0, 2, 4, 6])
    assert (hit.dtype, hit.shape) == (np.float32, (4,))
    assert not first.flags.writeable
    assert not hit.flags.writeable


async def test_async_function(case: Case) -> None:
    calls: list[Any] = []

    @cache_result(backend=case.backend, namespace="fetch", ttl=5)
    async def fetch(x: Any) -> Any:
        calls.append(x)
        await asyncio.sleep(0)
        return x

    assert await fetch(1) == await fetch(1) == await fetch(x=1) == 1
    assert await fetch([1]) == await fetch([1]) == [1]
    case.elapse(5)
    assert await fetch(1) == 1
    assert calls == [1, [1], 1]
    info = fetch.cache_info()
    assert (info.hits, info.misses, info.backend_errors) == (3, 3, 0)


# -- concurrency -------------------------------------------------------------------------


def test_threads_compute_once(case: Case) -> None:
    release = threading.Event()
    calls: list[int] = []

    @cache_result(backend=case.backend, namespace="slow")
    def slow(x: int) -> list[int]:
        calls.append(x)
        release.wait(10)
        return [x]

    threads, results = start_threads(lambda: slow(7), THREADS)
    wait_until(lambda: slow.cache_info().single_flight_waits + len(calls) == THREADS)
    release.set()
    for thread in threads:
        thread.join()
    assert calls == [7]
    assert results == [[7]] * THREADS
    info = slow.cache_info()
    assert (info.misses, info.single_flight_waits, info.backend_errors) == (1, THREADS - 1, 0)
    assert slow(7) == [7]
    assert slow.cache_info().hits == 1


async def test_tasks_compute_once(case: Case) -> None:
    release = asyncio.Event()
    calls: list[int] = []

    @cache_result(backend=case.backend, namespace="fetch")
    async def fetch(x: int) -> dict[str, int]:
        calls.append(x)
        await release.wait()
        return {"x": x}

    tasks = [asyncio.create_task(fetch(5)) for _ in range(THREADS)]
    # A remote backend's lookups run in worker threads: a count of loop turns is no bound on
    # a busy machine, so wait (boundedly) until every task has reached the cache.
    deadline = time.monotonic() + 10
    while fetch.cache_info().single_flight_waits + len(calls) < THREADS:
        assert time.monotonic() < deadline, "the tasks never all reached the cache"
        await asyncio.sleep(0.001)
    release.set()
    results = await asyncio.gather(*tasks)
    assert calls == [5]
    assert results == [{"x": 5}] * THREADS
    info = fetch.cache_info()
    assert (info.misses, info.single_flight_waits, info.backend_errors) == (1, THREADS - 1, 0)


# -- one meaning on every backend ----------------------------------------------------------


def test_typed_keys_hold_the_arguments_types_not_their_contents(case: Case) -> None:
    """As functools.lru_cache, in memory and in a shared store alike (which keyed nested
    types apart: f({'lr': 1}) then f({'lr': 1.0}) missed there and hit in memory)."""
    f = counted(case, typed=True)
    f(1), f(1.0)
    assert len(f.calls) == 2
    f({"lr": 1}), f({"lr": 1.0}), f((1, True)), f((1.0, 1))
    assert len(f.calls) == 4
    assert f.cache_info().hits == 2


def test_a_result_that_cannot_be_copied_is_returned_uncached(
    case: Case, cache_logs: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    @cache_result(backend=case.backend, namespace="connect", copy=True)
    def connect(x: int) -> dict[str, Any]:
        calls.append(x)
        return {"lock": threading.Lock(), "x": x}  # deepcopy (and pickle) refuse a lock

    assert connect(1)["x"] == connect(1)["x"] == 1  # it failed after the function ran
    info = connect.cache_info()
    assert (len(calls), info.hits, info.backend_errors) == (2, 0, 2)
    assert any("cannot copy" in record.getMessage() for record in cache_logs.records)
    f = counted(case, copy=True)
    assert f(1) == f(1) == {"a": 1, "b": 2}  # copyable results are still cached
    assert len(f.calls) == 1


def test_nested_structured_array_arguments(case: Case) -> None:
    f = counted(case)
    dtype = np.dtype([("pos", [("x", "<f4"), ("y", "<f4")]), ("tags", "<i2", (2,))])
    points = np.zeros(2, dtype=dtype)
    f(points), f(points.copy())
    assert len(f.calls) == 1
    moved = points.copy()
    moved["pos"]["y"][0] = 1.0
    f(moved)
    assert len(f.calls) == 2


def test_accessors_of_a_bound_method_name_its_instance(case: Case) -> None:
    @dataclasses.dataclass(frozen=True)
    class Scaler:  # hashable by its field: a shared store keys `self` by content
        factor: int
        calls: ClassVar[list[int]] = []

        @cache_result(backend=case.backend)
        def scale(self, x: int) -> int:
            type(self).calls.append(x)
            return self.factor * x

    two, three = Scaler(2), Scaler(3)
    assert (two.scale(5), three.scale(5), two.scale(5)) == (10, 15, 10)
    key = two.scale.cache_key(5)
    assert key == Scaler.scale.cache_key(two, 5)
    if not case.memory:  # in memory each instance has a store of its own instead
        assert key != three.scale.cache_key(5)
    assert two.scale.cache_invalidate(5) is True
    assert two.scale.cache_invalidate(x=5) is False
    assert three.scale(5) == 15
    assert Scaler.calls == [5, 5]


def test_with_caching_off_nothing_is_read_or_written(case: Case) -> None:
    f = counted(case)
    f(1)
    with set_caching(False):
        f(1), f(2), f(2)
    assert len(f.calls) == 4
    f(1), f(2)
    # Turning caching off empties memory caches; a shared store keeps what it held.
    assert len(f.calls) == (6 if case.memory else 5)
