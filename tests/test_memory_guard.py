"""`memory_guard` with fake readings: every action, the message, estimates and fallbacks by
parameter name, waiting with a fake clock (threads) and through the asyncio sleep seam,
reservations between real threads and real asyncio tasks, peak tracking, GPU checks, stats
and option checks."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes import FakeClock
from mlops_decorators import (
    GpuReading,
    MemoryGuardError,
    MemoryReading,
    MlopsDecoratorsError,
    log_calls,
    memory_guard,
    memory_guard_stats,
    timer,
)
from mlops_decorators import memory as memory_module

GiB = 2**30
MiB = 2**20


def short(text: str) -> str:
    """`text` with the test functions' ``<locals>`` qualified-name prefixes dropped."""
    return re.sub(r"[\w.]+<locals>\.", "", text)


def host(limit_gib: float, available_gib: float) -> MemoryReading:
    return MemoryReading("host", round(limit_gib * GiB), round(available_gib * GiB))


def cgroup(limit_gib: float, available_gib: float, version: int = 2) -> MemoryReading:
    where = "/sys/fs/cgroup/pod/memory.max" if version == 2 else "/x/memory.limit_in_bytes"
    limit, available = round(limit_gib * GiB), round(available_gib * GiB)
    return MemoryReading(f"cgroup v{version}", limit, available, where)


class FakeProbe:
    """Readings set by the test; ``exact`` readings may differ from the quick ones."""

    def __init__(
        self,
        *readings: MemoryReading,
        exact: tuple[MemoryReading, ...] | None = None,
        rss: int = 100 * MiB,
        gpus: tuple[GpuReading, ...] | None = (),
    ) -> None:
        self.readings = readings or (host(64, 32),)
        self.exact = exact
        self.rss_value = rss
        self.gpus = gpus
        self.asked: list[bool] = []  # the exact flag of each memory() call
        self.on_rss: Any = None
        self.freed: tuple[tuple[MemoryReading, ...], int] | None = None

    def memory(self, *, exact: bool = False) -> tuple[MemoryReading, ...]:
        self.asked.append(exact)
        if self.freed is not None and len(self.asked) > self.freed[1]:
            self.free(*self.freed[0])
        return self.exact if exact and self.exact is not None else self.readings

    def rss(self) -> int:
        if self.on_rss is not None:
            self.on_rss(self.rss_value)
        return self.rss_value

    def gpu(self) -> tuple[GpuReading, ...] | None:
        return self.gpus

    def free(self, *readings: MemoryReading) -> None:
        self.readings = readings
        self.exact = None
        self.freed = None

    def free_after(self, checks: int, *readings: MemoryReading) -> None:
        """Show `readings` from the check after the first `checks` ones on."""
        self.freed = (readings, checks)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock the guard reads and sleeps on while waiting for memory."""
    fake = FakeClock()
    monkeypatch.setattr(memory_module, "clock", fake)
    monkeypatch.setattr(memory_module, "sleep", fake.sleep)
    monkeypatch.setattr(memory_module, "async_sleep", fake.async_sleep)
    return fake


@pytest.fixture(autouse=True)
def _nothing_reserved() -> Iterator[None]:
    memory_module._gpu_unchecked.reset()
    memory_module._collections.reset()
    yield
    assert memory_module._reservations.total == 0, "a reservation outlived its call"
    assert memory_module._reservations.calls == 0


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda: calls.append(1) or 0)
    return calls


# -- the line ------------------------------------------------------------------------------


def test_a_call_under_the_line_runs_and_is_counted() -> None:
    probe = FakeProbe(host(64, 32), cgroup(8, 4))

    @memory_guard(probe=probe)
    def load(n: int) -> int:
        return n

    assert load(3) == 3
    stats = memory_guard_stats(load)
    assert (short(stats.name), stats.calls, stats.refused, stats.fallbacks) == ("load", 1, 0, 0)
    assert stats.last_reading == cgroup(8, 4)  # the tightest of the readings
    assert probe.asked == [False]  # one quick reading, nothing more


def test_raise_refuses_without_running_and_names_the_numbers(collections: list[int]) -> None:
    ran: list[int] = []

    @memory_guard(estimate="1GiB", probe=FakeProbe(host(64, 32), cgroup(8, 1.5)))
    def load_model(path: str) -> None:
        ran.append(1)

    with pytest.raises(MemoryGuardError) as info:
        load_model("m.bin")
    assert ran == []
    assert short(str(info.value)) == (
        "refused load_model(): would use 93.8% of 8.0 GiB (cgroup v2 limit; max 90%), "
        "1.5 GiB available, estimate 1.0 GiB"
    )
    error = info.value
    assert isinstance(error, MemoryError)
    assert isinstance(error, MlopsDecoratorsError)
    assert (short(error.function), error.option, error.estimate) == (
        "load_model",
        "max_percent",
        GiB,
    )
    assert error.reading == cgroup(8, 1.5)
    assert collections == [1]  # garbage collected once before refusing
    assert memory_guard_stats(load_model).refused == 1


def test_every_source_is_checked_and_the_tightest_failing_one_is_named() -> None:
    # The host is nearly full while the container has room: the host still stops the call.
    probe = FakeProbe(host(16, 0.5), cgroup(8, 6))

    @memory_guard(probe=probe, collect_garbage=False)
    def step() -> None: ...

    with pytest.raises(MemoryGuardError, match=r"of 16\.0 GiB \(host memory; max 90%\)"):
        step()


def test_min_available_and_the_estimate_counted_as_used() -> None:
    probe = FakeProbe(host(64, 3))

    @memory_guard(max_percent=100, min_available="2GiB", estimate=lambda n: n * GiB, probe=probe)
    def load(n: int) -> int:
        return n

    assert load(1) == 1
    with pytest.raises(MemoryGuardError) as info:
        load(2)
    assert info.value.option == "min_available"
    assert short(str(info.value)) == (
        "refused load(): would leave 1.0 GiB of 64.0 GiB available (host memory; "
        "min_available 2.0 GiB), estimate 2.0 GiB"
    )


def test_max_rss_counts_the_estimate() -> None:
    probe = FakeProbe(rss=3 * GiB)

    @memory_guard(max_rss="4GiB", estimate="512MiB", probe=probe)
    def fit() -> str:
        return "ok"

    assert fit() == "ok"
    probe.rss_value = 3 * GiB + 600 * MiB
    with pytest.raises(MemoryGuardError) as info:
        fit()
    assert info.value.option == "max_rss"
    assert info.value.reading is None
    assert short(str(info.value)) == (
        "refused fit(): RSS 3.6 GiB would exceed max_rss 4.0 GiB, estimate 512 MiB"
    )


def test_a_quick_reading_over_the_line_is_measured_exactly_before_refusing(
    collections: list[int],
) -> None:
    # Page cache made the quick reading look full; the exact one shows room.
    probe = FakeProbe(cgroup(8, 0.5), exact=(cgroup(8, 3),))

    @memory_guard(probe=probe)
    def step() -> str:
        return "ran"

    assert step() == "ran"
    assert probe.asked == [False, True]
    assert collections == []  # no garbage collection needed


def test_garbage_collection_can_bring_the_call_under_the_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = FakeProbe(host(8, 0.5))

    def collect() -> int:
        probe.free(host(8, 4))
        return 10

    monkeypatch.setattr(gc, "collect", collect)

    @memory_guard(probe=probe)
    def step() -> str:
        return "ran"

    assert step() == "ran"
    assert probe.asked == [False, True, True]


def test_refused_calls_collect_garbage_at_most_once_a_second(collections: list[int]) -> None:
    @memory_guard(probe=FakeProbe(host(8, 0.1)))
    def step() -> None: ...

    for _ in range(3):
        with pytest.raises(MemoryGuardError):
            step()
    assert collections == [1]  # a busy service under pressure must not collect per call


def test_collect_garbage_false_never_collects(collections: list[int]) -> None:
    @memory_guard(collect_garbage=False, probe=FakeProbe(host(8, 0.5)))
    def step() -> None: ...

    with pytest.raises(MemoryGuardError):
        step()
    assert collections == []


def test_max_percent_100_refuses_only_past_the_limit() -> None:
    @memory_guard(max_percent=100, estimate="1GiB", probe=FakeProbe(host(8, 1)))
    def exactly_fits() -> str:
        return "ran"

    assert exactly_fits() == "ran"


# -- warn and fallback -------------------------------------------------------------------------


def test_warn_runs_anyway_with_one_warning_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    @memory_guard(action="warn", estimate="1GiB", probe=FakeProbe(cgroup(8, 1.5)))
    def step() -> str:
        return "ran"

    with caplog.at_level(logging.WARNING):
        assert [step(), step()] == ["ran", "ran"]
    records = [r for r in caplog.records if "memory_guard" in r.getMessage()]
    assert len(records) == 1
    record = records[0]
    assert short(record.getMessage()) == (
        "memory_guard let step() run over the line: would use 93.8% of 8.0 GiB "
        "(cgroup v2 limit; max 90%), 1.5 GiB available, estimate 1.0 GiB"
    )
    assert short(record.function) == "step"  # type: ignore[attr-defined]
    assert record.memory_source == "cgroup v2"  # type: ignore[attr-defined]
    assert record.memory_limit_file == "/sys/fs/cgroup/pod/memory.max"  # type: ignore[attr-defined]
    stats = memory_guard_stats(step)
    assert (stats.warned, stats.refused, stats.calls) == (2, 0, 2)


def test_fallback_gets_the_arguments_it_names(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[Any] = []

    def smaller(rows: list[int], chunk: int) -> str:
        seen.append((rows, chunk))
        return "chunked"

    @memory_guard(probe=FakeProbe(host(8, 0.1)), fallback=smaller)
    def process(rows: list[int], chunk: int = 100, verbose: bool = False) -> str:
        return "whole"

    with caplog.at_level(logging.INFO):
        assert process([1, 2], verbose=True) == "chunked"
    assert seen == [([1, 2], 100)]
    stats = memory_guard_stats(process)
    assert (stats.refused, stats.fallbacks) == (1, 1)
    assert "answered process() with its fallback" in short(caplog.text)


def test_fallback_and_estimate_on_methods_may_name_the_receiver() -> None:
    class Model:
        scale = 3

        def small(self, x: int) -> int:
            return -x * self.scale

        @memory_guard(
            probe=FakeProbe(host(8, 0.1)),
            estimate=lambda x: x,
            fallback=lambda self, x: self.small(x),
        )
        def predict(self, x: int) -> int:
            return x

        @classmethod
        @memory_guard(probe=FakeProbe(host(8, 0.1)), fallback=lambda cls, x: cls.scale * 10)
        def build(cls, x: int) -> int:
            return x

    assert Model().predict(2) == -6
    assert Model.build(1) == 30


def test_a_fallback_taking_kwargs_gets_every_argument() -> None:
    @memory_guard(probe=FakeProbe(host(8, 0.1)), fallback=lambda **kw: sorted(kw.items()))
    def f(a: int, b: int = 2) -> Any:
        return None

    assert f(1) == [("a", 1), ("b", 2)]


def test_fallback_without_a_readable_signature_gets_the_call_as_is() -> None:
    @memory_guard(probe=FakeProbe(host(8, 0.1)), fallback=max)
    def biggest(a: int, b: int) -> int:
        return 0

    assert biggest(3, 7) == 7


async def test_an_async_fallback_is_awaited_for_an_async_function() -> None:
    async def cached(key: str) -> str:
        await asyncio.sleep(0)
        return f"cached {key}"

    @memory_guard(probe=FakeProbe(host(8, 0.1)), fallback=cached)
    async def compute(key: str) -> str:
        return f"computed {key}"

    assert await compute("k") == "cached k"

    @memory_guard(probe=FakeProbe(host(8, 0.1)), fallback=lambda key: "sync fallback")
    async def compute2(key: str) -> str:
        return key

    assert await compute2("k") == "sync fallback"


# -- wait --------------------------------------------------------------------------------------


def test_wait_polls_until_memory_frees(waits: FakeClock) -> None:
    probe = FakeProbe(host(8, 0.1))
    probe.free_after(5, host(8, 4))  # quick, exact, exact after gc, then two polls

    @memory_guard(action="wait", poll_interval=0.5, probe=probe)
    def step() -> str:
        return "ran"

    assert step() == "ran"
    assert waits.sleeps == [0.5, 0.5, 0.5]
    stats = memory_guard_stats(step)
    assert (stats.waits, stats.waited_s, stats.refused) == (1, 1.5, 0)


def test_wait_gives_up_at_the_timeout_with_the_numbers(waits: FakeClock) -> None:
    @memory_guard(
        action="wait", wait_timeout=2.0, poll_interval=0.75, probe=FakeProbe(host(8, 0.1))
    )
    def step() -> None: ...

    with pytest.raises(MemoryGuardError) as info:
        step()
    assert waits.sleeps == [0.75, 0.75, 0.5]  # the last pause ends at the deadline
    assert info.value.waited_s == 2.0
    assert short(str(info.value)).startswith("refused step() after waiting 2.0 s: would use ")
    stats = memory_guard_stats(step)
    assert (stats.waits, stats.waited_s, stats.refused) == (1, 2.0, 1)


def test_wait_then_fallback(waits: FakeClock) -> None:
    @memory_guard(
        action="wait", wait_timeout=1, fallback=lambda: "fallback", probe=FakeProbe(host(8, 0))
    )
    def step() -> str:
        return "ran"

    assert step() == "fallback"
    assert sum(waits.sleeps) == 1.0


def test_a_zero_wait_timeout_refuses_without_sleeping(waits: FakeClock) -> None:
    @memory_guard(action="wait", wait_timeout=0, probe=FakeProbe(host(8, 0)))
    def step() -> None: ...

    with pytest.raises(MemoryGuardError):
        step()
    assert waits.sleeps == []


async def test_async_wait_sleeps_through_the_async_seam(waits: FakeClock) -> None:
    probe = FakeProbe(host(8, 0.1))
    probe.free_after(4, host(8, 4))  # quick, exact, exact after gc, then one poll

    @memory_guard(action="wait", poll_interval=0.25, probe=probe)
    async def step() -> str:
        return "ran"

    assert await step() == "ran"
    assert waits.sleeps == [0.25, 0.25]
    assert memory_guard_stats(step).waited_s == 0.5


async def test_async_wait_does_not_block_the_event_loop() -> None:
    """Real asyncio.sleep with a 1 ms poll: another task frees memory while the guard waits."""
    probe = FakeProbe(host(8, 0.1))

    @memory_guard(action="wait", poll_interval=0.001, wait_timeout=5, probe=probe)
    async def step() -> str:
        return "ran"

    async def free_later() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        probe.free(host(8, 4))

    result, _ = await asyncio.gather(step(), free_later())
    assert result == "ran"
    assert memory_guard_stats(step).waits == 1


# -- concurrent calls count each other -----------------------------------------------------------


@pytest.mark.parametrize(("available_gib", "admitted"), [(1.5, 1), (2.5, 2), (0.5, 0)])
def test_concurrent_threads_reserve_their_estimates(available_gib: float, admitted: int) -> None:
    threads_n = 4
    probe = FakeProbe(host(100, available_gib))
    start = threading.Barrier(threads_n)
    hold = threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()

    @memory_guard(max_percent=100, estimate="1GiB", collect_garbage=False, probe=probe)
    def train() -> None:
        hold.wait(timeout=10)  # keep the reservation until every thread has been decided

    def worker() -> None:
        start.wait(timeout=10)
        try:
            train()
            outcome = "ran"
        except MemoryGuardError:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)
            if outcomes.count("refused") == threads_n - admitted:
                hold.set()

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    if admitted == 0:
        hold.set()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["ran"] * admitted + ["refused"] * (threads_n - admitted)
    stats = memory_guard_stats(train)
    assert (stats.calls, stats.refused) == (threads_n, threads_n - admitted)


def test_the_refusal_names_the_reservations_of_running_calls() -> None:
    probe = FakeProbe(host(100, 1.5))
    inside = threading.Event()
    hold = threading.Event()

    @memory_guard(max_percent=100, estimate="1GiB", collect_garbage=False, probe=probe)
    def train() -> None:
        inside.set()
        hold.wait(timeout=10)

    thread = threading.Thread(target=train)
    thread.start()
    try:
        assert inside.wait(timeout=10)
        with pytest.raises(MemoryGuardError) as info:
            train()
        assert short(str(info.value)) == (
            "refused train(): would use 100.5% of 100 GiB (host memory; max 100%), 1.5 GiB "
            "available, estimate 1.0 GiB, 1.0 GiB reserved by 1 running call"
        )
    finally:
        hold.set()
        thread.join(timeout=10)


async def test_concurrent_tasks_reserve_their_estimates() -> None:
    probe = FakeProbe(host(100, 2.5))
    hold = asyncio.Event()

    @memory_guard(max_percent=100, estimate="1GiB", collect_garbage=False, probe=probe)
    async def train(i: int) -> int:
        await hold.wait()
        return i

    async def attempt(i: int) -> str:
        try:
            await train(i)
            return "ran"
        except MemoryGuardError:
            return "refused"

    tasks = [asyncio.create_task(attempt(i)) for i in range(5)]
    for _ in range(5):  # each task runs up to its decision in its first step
        await asyncio.sleep(0)
    assert memory_guard_stats(train).calls == 5
    hold.set()
    assert sorted(await asyncio.gather(*tasks)) == ["ran"] * 2 + ["refused"] * 3


def test_the_reservation_is_released_when_the_call_raises() -> None:
    @memory_guard(max_percent=100, estimate="1GiB", probe=FakeProbe(host(100, 1.5)))
    def broken() -> None:
        raise ValueError("bad input")

    for _ in range(3):  # a leaked reservation would refuse the second call
        with pytest.raises(ValueError, match="bad input"):
            broken()


async def test_the_reservation_is_released_when_the_task_is_cancelled() -> None:
    started = asyncio.Event()

    @memory_guard(max_percent=100, estimate="1GiB", probe=FakeProbe(host(100, 1.5)))
    async def slow() -> None:
        started.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(slow())
    await started.wait()
    assert memory_module._reservations.total == GiB
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert memory_module._reservations.total == 0


def test_a_warned_call_reserves_its_estimate_while_it_runs() -> None:
    probe = FakeProbe(host(100, 0.5))
    seen: list[int] = []

    @memory_guard(action="warn", max_percent=100, estimate="1GiB", probe=probe)
    def step() -> None:
        seen.append(memory_module._reservations.total)

    step()
    assert seen == [GiB]


# -- estimates -----------------------------------------------------------------------------------


def test_estimate_results_may_be_floats_and_sizes() -> None:
    probe = FakeProbe(host(100, 2))

    @memory_guard(max_percent=100, estimate=lambda size: size, probe=probe)
    def load(size: Any) -> str:
        return "ran"

    assert load(1.5 * GiB) == "ran"
    assert load("1.9 GiB") == "ran"
    with pytest.raises(MemoryGuardError):
        load("2.5 GiB")
    with pytest.raises(ValueError, match=r"^estimate must be a size"):
        load(-1)
    with pytest.raises(TypeError, match=r"^estimate must be a size"):
        load(None)


def test_estimate_may_name_a_keyword_only_parameter_and_its_default() -> None:
    sizes: list[int] = []

    def estimate(rows: int, *, width: int) -> int:
        sizes.append(rows * width)
        return rows * width

    @memory_guard(max_percent=100, estimate=estimate, probe=FakeProbe())
    def load(rows: int, *, width: int = 8) -> None: ...

    load(10)
    load(rows=2, width=4)
    assert sizes == [80, 8]


# -- peak tracking -------------------------------------------------------------------------------


def test_track_peak_records_the_highest_rss_sampled_during_the_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    probe = FakeProbe(rss=100 * MiB)
    sampled = threading.Event()

    def on_rss(value: int) -> None:
        if threading.current_thread().name == "mlops-decorators-rss-peaks" and value > GiB:
            sampled.set()

    probe.on_rss = on_rss

    @memory_guard(track_peak=True, max_rss="1GiB", probe=probe)
    def build() -> str:
        probe.rss_value = 1536 * MiB  # a temporary spike the background thread must see
        assert sampled.wait(timeout=10)
        probe.rss_value = 120 * MiB
        return "built"

    with caplog.at_level(logging.WARNING):
        assert build() == "built"
    stats = memory_guard_stats(build)
    assert (stats.peak_rss, stats.last_peak_delta) == (1536 * MiB, 1436 * MiB)
    assert "build() took RSS to 1.5 GiB during the call, above max_rss 1.0 GiB" in short(
        caplog.text
    )


async def test_track_peak_on_async_functions_samples_the_end_of_the_call() -> None:
    probe = FakeProbe(rss=100 * MiB)

    @memory_guard(track_peak=True, probe=probe)
    async def build() -> None:
        probe.rss_value = 300 * MiB
        await asyncio.sleep(0)

    await build()
    stats = memory_guard_stats(build)
    assert (stats.peak_rss, stats.last_peak_delta) == (300 * MiB, 200 * MiB)


def test_without_track_peak_the_stats_have_no_peak() -> None:
    @memory_guard(probe=FakeProbe())
    def step() -> None: ...

    step()
    assert (memory_guard_stats(step).peak_rss, memory_guard_stats(step).last_peak_delta) == (
        None,
        None,
    )


# -- GPU -----------------------------------------------------------------------------------------


def test_gpu_min_free_refuses_a_device_short_of_memory() -> None:
    probe = FakeProbe(gpus=(GpuReading("0", 12 * GiB, 16 * GiB), GpuReading("1", GiB, 16 * GiB)))

    @memory_guard(gpu_min_free="2GiB", probe=probe)
    def train() -> None: ...

    with pytest.raises(MemoryGuardError) as info:
        train()
    assert info.value.option == "gpu_min_free"
    assert short(str(info.value)) == (
        "refused train(): GPU 1 has 1.0 GiB free of 16.0 GiB (gpu_min_free 2.0 GiB)"
    )
    probe.gpus = (GpuReading("0", 12 * GiB, 16 * GiB),)
    train()


def test_gpu_min_free_without_nvml_warns_once_and_runs(caplog: pytest.LogCaptureFixture) -> None:
    probe = FakeProbe(gpus=None)
    probe.gpu_problem = "NVML is not usable here: Driver Not Loaded"  # type: ignore[attr-defined]

    @memory_guard(gpu_min_free="2GiB", probe=probe)
    def train() -> str:
        return "ran"

    with caplog.at_level(logging.WARNING):
        assert [train(), train()] == ["ran", "ran"]
    assert caplog.text.count("cannot check GPU memory") == 1
    assert "Driver Not Loaded" in caplog.text


def test_gpu_min_free_without_nvidia_ml_py_fails_at_decoration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pynvml" else real_find_spec(name, *a),
    )
    with pytest.raises(ImportError, match=r"mlops-decorators\[gpu\]"):
        memory_guard(gpu_min_free="1GiB")(lambda: None)


# -- forms, methods, stats -----------------------------------------------------------------------


def test_bare_called_and_default_probe_forms() -> None:
    @memory_guard
    def bare(x: int) -> int:
        return x

    @memory_guard()
    def called(x: int) -> int:
        return x

    assert (bare(1), called(2)) == (1, 2)
    reading = memory_guard_stats(bare).last_reading
    assert reading is not None
    assert reading.source in ("host", "cgroup v1", "cgroup v2")


def test_methods_classmethods_staticmethods_and_async_methods() -> None:
    probe = FakeProbe()

    class Model:
        @memory_guard(probe=probe)
        def predict(self, x: int) -> int:
            return x

        @classmethod
        @memory_guard(probe=probe)
        def load(cls, path: str) -> str:
            return path

        @staticmethod
        @memory_guard(probe=probe)
        def version() -> str:
            return "1"

        @memory_guard(probe=probe)
        async def apredict(self, x: int) -> int:
            return x

    assert (Model().predict(1), Model.load("p"), Model.version()) == (1, "p", "1")
    assert asyncio.run(Model().apredict(2)) == 2
    assert memory_guard_stats(Model.predict).calls == 1


def test_stats_survive_stacking_and_match_the_attribute_form() -> None:
    @timer
    @log_calls
    @memory_guard(probe=FakeProbe())
    def step() -> None: ...

    step()
    assert memory_guard_stats(step) == step.memory_guard_stats()  # type: ignore[attr-defined]
    assert memory_guard_stats(step).calls == 1


def test_generator_functions_are_refused() -> None:
    with pytest.raises(TypeError, match="generator"):

        @memory_guard
        def rows() -> Iterator[int]:
            yield 1


# -- option checks -------------------------------------------------------------------------------


# Each option's own bad values are in tests/test_options.py; these involve two things at once.


def test_a_fallback_with_action_warn_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^fallback is never called with action='warn'"):
        memory_guard(action="warn", fallback=print)(lambda: None)


def test_estimate_and_fallback_must_fit_the_functions_parameters() -> None:
    def load(rows: int) -> None: ...

    with pytest.raises(TypeError, match=r"^estimate .* needs parameter 'x', which .*load\(\) does"):
        memory_guard(estimate=lambda x: 1)(load)
    with pytest.raises(TypeError, match=r"^fallback .* needs parameter 'rows'"):
        memory_guard(fallback=lambda rows, /: None)(load)
    memory_guard(estimate=lambda rows, extra=1: rows)(load)  # optional extras are fine


def test_an_async_fallback_for_a_plain_function_is_refused() -> None:
    async def later() -> None: ...

    with pytest.raises(TypeError, match="is async but"):
        memory_guard(fallback=later)(lambda: None)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError, match="keyword arguments only"):
        memory_guard(90)  # type: ignore[call-overload]


# -- properties ----------------------------------------------------------------------------------

sizes = st.integers(min_value=0, max_value=64 * GiB)


@given(
    limit=st.integers(min_value=1, max_value=64 * GiB),
    used=sizes,
    extra_free=sizes,
    estimate=sizes,
    max_percent=st.floats(min_value=1, max_value=100),
    min_available=st.none() | sizes,
)
def test_more_available_memory_never_turns_an_admission_into_a_refusal(
    limit: int,
    used: int,
    extra_free: int,
    estimate: int,
    max_percent: float,
    min_available: int | None,
) -> None:
    """The quick reading (page cache counted as used) is only ever tighter than the exact
    one, so a call admitted on it would be admitted on the exact one too."""
    guard = memory_module._Guard(
        lambda: None,
        max_percent=max_percent,
        min_available=min_available,
        max_rss=None,
        estimate=None,
        action="raise",
        collect_garbage=False,
        wait_timeout=0,
        poll_interval=1,
        fallback=None,
        track_peak=False,
        gpu_min_free=None,
        probe=FakeProbe(),
    )
    quick = MemoryReading("cgroup v2", limit, max(limit - used, 0))
    exact = replace(quick, available=min(quick.available + extra_free, limit))
    if guard._verdict((quick,), None, estimate, 0, 0) is None:
        assert guard._verdict((exact,), None, estimate, 0, 0) is None
