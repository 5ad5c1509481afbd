"""`timer`: decorator and context manager, log records, statistics, concurrency, bad arguments.

Durations come from a fake clock patched over ``mlops_decorators.timing.perf_counter_ns``
(the module imports it by name), so no test sleeps and every duration is exact.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
import threading
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from fakes import FakeClock, run_in_threads
from mlops_decorators import (
    Timer,
    TimerStats,
    _core,
    get_timer_stats,
    reset_timer_stats,
    timer,
    timer_report,
)
from mlops_decorators import timing as timing_module
from mlops_decorators._stats import DEFAULT_MAX_NAMES, OTHER_NAMES, default_registry

_current_clock: list[FakeClock] = []


def clock_advance(seconds: float) -> None:
    """For module-level functions and methods: advance the current test's clock."""
    _current_clock[-1].advance(seconds)


@pytest.fixture
def clock(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    monkeypatch.setattr(timing_module, "perf_counter_ns", clock.ns)
    monkeypatch.setattr(_core, "perf_counter_ns", clock.ns)  # generators are timed there
    _current_clock.append(clock)
    yield clock
    _current_clock.clear()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captured records at INFO and above (read ``logs.records`` after the calls)."""
    caplog.set_level(logging.INFO)
    return caplog


# --- decorator forms -------------------------------------------------------------------


def test_bare_called_and_named_forms(clock: FakeClock) -> None:
    @timer
    def bare() -> str:
        return "bare"

    @timer()
    def called() -> str:
        return "called"

    @timer("positional name")
    def positional() -> None:
        pass

    @timer(name="keyword name")
    def keyword() -> None:
        pass

    assert bare() == "bare"
    assert called() == "called"
    positional()
    keyword()
    assert set(get_timer_stats()) == {
        "test_bare_called_and_named_forms.<locals>.bare",
        "test_bare_called_and_named_forms.<locals>.called",
        "positional name",
        "keyword name",
    }
    assert bare.__name__ == "bare"
    assert bare.timer_stats().count == 1


def test_one_timer_object_decorating_two_functions_shares_the_name(clock: FakeClock) -> None:
    shared = timer("io")

    @shared
    def read() -> None:
        clock.advance(1)

    @shared
    def write() -> None:
        clock.advance(2)

    read()
    write()
    assert read.timer_stats() == write.timer_stats()
    assert get_timer_stats()["io"].total_s == 3.0


def test_statistics_are_exact(clock: FakeClock) -> None:
    @timer
    def step(seconds: float) -> None:
        clock.advance(seconds)

    for seconds in (1.0, 3.0, 2.0):
        step(seconds)
    stats = step.timer_stats()
    assert stats == TimerStats(
        count=3,
        total_s=6.0,
        mean_s=2.0,
        min_s=1.0,
        max_s=3.0,
        last_s=2.0,
        p50_s=2.0,
        p95_s=pytest.approx(2.9),
        p99_s=pytest.approx(2.98),
        name="test_statistics_are_exact.<locals>.step",
    )


def test_stats_fields_names_and_immutability(clock: FakeClock) -> None:
    fields = [f.name for f in dataclasses.fields(TimerStats)]
    assert fields == [
        "count",
        "total_s",
        "mean_s",
        "min_s",
        "max_s",
        "last_s",
        "p50_s",
        "p95_s",
        "p99_s",
        "name",
    ]

    @timer
    def fn() -> None:
        pass

    fn()
    snapshot = fn.timer_stats()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.count = 10  # type: ignore[misc]
    fn()
    assert snapshot.count == 1  # a snapshot, not a live view
    assert fn.timer_stats().count == 2


async def test_async_timing_covers_the_awaited_work(clock: FakeClock) -> None:
    @timer
    async def fetch() -> str:
        clock.advance(0.25)
        await asyncio.sleep(0)
        clock.advance(0.75)
        return "done"

    coroutine = fetch()
    clock.advance(100)  # time between creating and awaiting the coroutine is not counted
    assert await coroutine == "done"
    stats = fetch.timer_stats()
    assert (stats.count, stats.last_s) == (1, 1.0)


async def test_concurrent_async_calls_are_all_counted(clock: FakeClock) -> None:
    @timer
    async def work(i: int) -> int:
        await asyncio.sleep(0)
        return i

    assert await asyncio.gather(*(work(i) for i in range(50))) == list(range(50))
    assert work.timer_stats().count == 50


def test_exceptions_propagate_unchanged_and_are_timed(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    error = ValueError("bad input")

    @timer
    def fail() -> None:
        clock.advance(0.5)
        raise error

    with pytest.raises(ValueError, match="bad input") as info:
        fail()
    assert info.value is error
    assert info.traceback[-1].name == "fail"  # the traceback still ends where it was raised
    assert fail.timer_stats().count == 1
    assert fail.timer_stats().last_s == 0.5
    (record,) = logs.records
    assert record.getMessage().endswith("<locals>.fail took 500 ms (raised ValueError)")
    assert record.exception == "ValueError"  # type: ignore[attr-defined]


async def test_async_exceptions_propagate_unchanged(clock: FakeClock) -> None:
    @timer
    async def fail() -> None:
        await asyncio.sleep(0)
        raise KeyError("k")

    with pytest.raises(KeyError):
        await fail()
    assert fail.timer_stats().count == 1


# --- generators ------------------------------------------------------------------------


def test_a_generator_is_timed_while_it_is_iterated(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    @timer("loader")
    def load_batches(n: int) -> Iterator[list[int]]:
        for i in range(n):
            clock.advance(0.05)  # reading a batch takes 50 ms
            yield [i]

    batches = load_batches(3)
    clock.advance(7)  # created, not yet iterated
    assert load_batches.timer_stats().count == 0
    for _ in batches:
        clock.advance(0.1)  # the training step between batches is not the loader's time
    stats = load_batches.timer_stats()
    assert (stats.count, stats.last_s) == (1, pytest.approx(0.15))
    (record,) = logs.records
    assert record.getMessage() == (
        "loader took 150 ms over 3 items (450 ms from first next to exhaustion)"
    )
    assert record.duration_s == pytest.approx(0.15)  # type: ignore[attr-defined]
    assert record.elapsed_s == pytest.approx(0.45)  # type: ignore[attr-defined]
    assert record.items == 3  # type: ignore[attr-defined]


def test_a_generator_closed_early_or_failing_is_timed(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    @timer
    def rows() -> Iterator[int]:
        clock.advance(1)
        yield 1
        clock.advance(2)
        yield 2
        raise ValueError("corrupt row")

    for _ in rows():
        break
    with pytest.raises(ValueError, match="corrupt row"):
        list(rows())
    stats = rows.timer_stats()
    assert (stats.count, stats.min_s, stats.max_s) == (2, 1.0, 3.0)
    assert dict(default_registry.series(rows.__qualname__).snapshot().errors) == {"ValueError": 1}
    closed, failed = (r.getMessage() for r in logs.records)
    assert closed.endswith("took 1 s over 1 item (1 s from first next to close)")
    assert failed.endswith("took 3 s over 2 items (3 s from first next to ValueError)")
    assert logs.records[1].exception == "ValueError"  # type: ignore[attr-defined]


def test_a_decorated_generator_advanced_from_two_threads_is_timed(clock: FakeClock) -> None:
    @timer
    def steps() -> Iterator[int]:
        clock.advance(1)
        yield 1
        clock.advance(2)
        yield 2

    gen = steps()
    assert next(gen) == 1
    worker = threading.Thread(target=lambda: list(gen))
    worker.start()
    worker.join()
    assert (steps.timer_stats().count, steps.timer_stats().last_s) == (1, 3.0)


async def test_an_async_generator_is_timed_while_it_is_iterated(clock: FakeClock) -> None:
    @timer
    async def stream() -> AsyncIterator[int]:
        for i in range(4):
            await asyncio.sleep(0)
            clock.advance(0.5)
            yield i

    assert inspect.isasyncgenfunction(stream)
    assert [i async for i in stream()] == [0, 1, 2, 3]
    assert (stream.timer_stats().count, stream.timer_stats().last_s) == (1, 2.0)


def test_recursive_calls_count_every_level(clock: FakeClock) -> None:
    @timer
    def countdown(n: int) -> int:
        clock.advance(1)
        return 0 if n == 0 else 1 + countdown(n - 1)

    assert countdown(4) == 4
    stats = countdown.timer_stats()
    assert stats.count == 5
    assert (stats.min_s, stats.max_s) == (1.0, 5.0)  # the innermost call, the outermost


def test_threads_count_exactly() -> None:
    @timer
    def work() -> None:
        pass

    def run() -> None:
        for _ in range(500):
            work()

    run_in_threads(run, 8)
    assert work.timer_stats().count == 8 * 500


class Model:
    @timer
    def predict(self, x: int) -> int:
        clock_advance(1)
        return x

    @timer
    @classmethod
    def load(cls) -> type[Model]:
        clock_advance(2)
        return cls

    @timer
    @staticmethod
    def version() -> str:
        clock_advance(3)
        return "1"

    @timer
    async def apredict(self, x: int) -> int:
        await asyncio.sleep(0)
        clock_advance(4)
        return x


async def test_methods(clock: FakeClock) -> None:
    model = Model()
    assert model.predict(1) == 1
    assert Model.load() is Model
    assert Model.version() == "1"
    assert model.version() == "1"
    assert await model.apredict(2) == 2
    stats = get_timer_stats()
    assert stats["Model.predict"].total_s == 1.0
    assert stats["Model.load"].total_s == 2.0
    assert stats["Model.version"].total_s == 6.0
    assert stats["Model.apredict"].total_s == 4.0
    assert Model.load.timer_stats().count == 1
    assert Model.version.timer_stats().count == 2


@timer
def load_data() -> None:
    clock_advance(1.24)


# --- log records ---------------------------------------------------------------------


def test_log_record_message_and_extra_fields(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    load_data()
    (record,) = logs.records
    assert record.getMessage() == "load_data took 1.24 s"
    assert record.levelno == logging.INFO
    assert record.name == __name__  # the decorated function's module logger
    assert record.function == "load_data"  # type: ignore[attr-defined]
    assert record.duration_s == 1.24  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("seconds", "text"), [(12.3e-6, "12.3 µs"), (0.00456, "4.56 ms"), (150.0, "2 min 30.0 s")]
)
def test_log_durations_use_a_fitting_unit(
    clock: FakeClock, logs: pytest.LogCaptureFixture, seconds: float, text: str
) -> None:
    with timer("step"):
        clock.advance(seconds)
    assert logs.records[0].getMessage() == f"step took {text}"


def test_logger_and_level_options(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    custom = logging.getLogger("timing.custom")

    @timer(logger="timing.by_name", level="DEBUG")
    def by_name() -> None:
        pass

    @timer(logger=custom, level=logging.WARNING)
    def by_object() -> None:
        pass

    by_name()
    by_object()
    assert [(r.name, r.levelno) for r in caplog.records] == [
        ("timing.by_name", logging.DEBUG),
        ("timing.custom", logging.WARNING),
    ]


def test_threshold_logs_only_slower_calls_but_counts_all(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    @timer("batch", threshold=1.0)
    def batch(seconds: float) -> None:
        clock.advance(seconds)

    for seconds in (0.5, 2.0, 0.999, 1.5):
        batch(seconds)
    assert [r.duration_s for r in logs.records] == [2.0, 1.5]  # type: ignore[attr-defined]
    assert batch.timer_stats().count == 4


def test_threshold_as_timedelta(clock: FakeClock, logs: pytest.LogCaptureFixture) -> None:
    with timer("slow", threshold=timedelta(milliseconds=10)):
        clock.advance(0.005)
    with timer("slow", threshold=timedelta(milliseconds=10)):
        clock.advance(0.02)
    assert [r.getMessage() for r in logs.records] == ["slow took 20 ms"]


def test_no_formatting_when_the_logger_is_disabled(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING)
    spy = mock.Mock(side_effect=timing_module.format_duration)
    monkeypatch.setattr(timing_module, "format_duration", spy)

    @timer
    def quiet() -> None:
        pass

    quiet()
    with timer("quiet block"):
        pass
    spy.assert_not_called()
    assert caplog.records == []
    assert quiet.timer_stats().count == 1  # still counted

    caplog.set_level(logging.INFO)
    quiet()
    spy.assert_called_once()


# --- context manager -----------------------------------------------------------------


def test_context_manager(clock: FakeClock, logs: pytest.LogCaptureFixture) -> None:
    with timer("load data") as t:
        clock.advance(0.5)
    assert isinstance(t, Timer)
    assert t.stats().count == 1
    assert t.stats().last_s == 0.5
    assert logs.records[0].getMessage() == "load data took 500 ms"
    assert logs.records[0].name == "mlops_decorators.timing"
    assert repr(t) == "Timer(name='load data', level='INFO')"


def test_unnamed_block_is_called_timer(clock: FakeClock) -> None:
    with timer():
        pass
    assert list(get_timer_stats()) == ["timer"]


def test_context_manager_times_and_reraises_exceptions(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    def fail_inside_block() -> None:
        with timer("failing"):
            clock.advance(1)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside_block()
    assert get_timer_stats()["failing"].count == 1
    assert logs.records[0].getMessage() == "failing took 1 s (raised RuntimeError)"


def test_nested_and_reentrant_blocks(clock: FakeClock) -> None:
    outer, reused = timer("outer"), timer("reused")
    with outer:
        clock.advance(1)
        with reused:
            clock.advance(2)
            with reused:  # the same object entered again
                clock.advance(3)
        clock.advance(4)
    stats = get_timer_stats()
    assert stats["outer"].total_s == 10.0
    assert stats["reused"].count == 2
    assert (stats["reused"].min_s, stats["reused"].max_s) == (3.0, 5.0)


def test_block_left_open_in_a_suspended_generator(clock: FakeClock) -> None:
    """Blocks need not close in LIFO order across generators: each exit finds its own start."""
    a, b = timer("a"), timer("b")

    def steps() -> Iterator[None]:
        with a:
            yield

    gen = steps()
    next(gen)  # enters a at 0
    clock.advance(1)
    with b:  # enters b at 1
        clock.advance(1)
        next(gen, None)  # exits a at 2
        clock.advance(1)
    assert get_timer_stats()["a"].last_s == 2.0
    assert get_timer_stats()["b"].last_s == 2.0


def test_a_block_exited_in_another_thread_never_raises(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    moved = timer("moved")

    def steps() -> Iterator[int]:
        with moved:
            yield 1
        yield 2

    def advance_elsewhere(gen: Iterator[int]) -> list[int]:
        got: list[int] = []
        worker = threading.Thread(target=lambda: got.append(next(gen)))
        worker.start()
        worker.join()
        return got

    for _ in range(3):
        gen = steps()
        assert next(gen) == 1  # enters the block in this thread
        assert advance_elsewhere(gen) == [2]  # leaves it in another: no IndexError
    warnings = [r for r in logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once, not once per block
    assert (
        warnings[0]
        .getMessage()
        .startswith(
            "timer 'moved': a block was exited in another thread or task than the one that "
            "entered it"
        )
    )
    assert moved.stats().count == 0  # its duration is unknown: nothing made up
    with moved:  # the timer still works where it is entered and exited
        clock.advance(1)
    assert moved.stats().count == 1
    reset_timer_stats()  # and the warning comes again after a reset
    gen = steps()
    next(gen)
    advance_elsewhere(gen)
    assert len([r for r in logs.records if r.levelno == logging.WARNING]) == 2


async def test_a_block_exited_in_another_task_never_raises(
    logs: pytest.LogCaptureFixture,
) -> None:
    moved = timer("moved between tasks")

    async def steps() -> AsyncIterator[int]:
        with moved:
            yield 1
        yield 2

    gen = steps()
    assert await asyncio.create_task(gen.__anext__()) == 1  # each task has its own context
    assert await asyncio.create_task(gen.__anext__()) == 2
    assert [r.levelno for r in logs.records] == [logging.WARNING]


def test_blocks_left_open_elsewhere_do_not_pile_up() -> None:
    """A block entered here and exited in another thread leaves its start behind in this
    context; the oldest of those are dropped instead of accumulating."""
    moved = timer("moved")

    def steps() -> Iterator[None]:
        with moved:
            yield
        yield

    for _ in range(timing_module.MAX_OPEN_BLOCKS + 50):
        gen = steps()
        next(gen)
        worker = threading.Thread(target=next, args=(gen,))
        worker.start()
        worker.join()
    assert len(timing_module._open_blocks.get()) == timing_module.MAX_OPEN_BLOCKS
    with timer("still fine"):
        pass
    assert get_timer_stats()["still fine"].count == 1


def test_blocks_do_not_grow_the_context() -> None:
    for _ in range(5):
        with timer("warm-up"):
            pass
    size = len(contextvars.copy_context())
    for i in range(200):
        with timer(f"block {i}"):
            pass
    assert len(contextvars.copy_context()) == size


def test_shared_block_timer_across_threads() -> None:
    shared = timer("shared")

    def run() -> None:
        for _ in range(200):
            with shared, shared:
                pass

    run_in_threads(run, 8)
    assert shared.stats().count == 8 * 200 * 2


async def test_shared_block_timer_across_tasks_has_no_cross_talk(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    shared = timer("task")
    starts = [asyncio.Event() for _ in range(5)]
    ends = [asyncio.Event() for _ in range(5)]

    async def task(i: int) -> None:
        await starts[i].wait()
        with shared:
            await ends[i].wait()

    tasks = [asyncio.create_task(task(i)) for i in range(5)]
    for i in range(5):  # task i enters at 10*i seconds
        clock.now = i * 10
        starts[i].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    for i in (2, 0, 4, 1, 3):  # and leaves, in another order, at 100 + i seconds
        clock.now = 100 + i
        ends[i].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    durations = sorted(r.duration_s for r in logs.records)  # type: ignore[attr-defined]
    assert durations == sorted(100.0 + i - 10 * i for i in range(5))


# --- statistics registry and report --------------------------------------------------


def test_get_timer_stats_report_and_reset(clock: FakeClock) -> None:
    assert get_timer_stats() == {}
    assert timer_report() == "no calls recorded"

    @timer("train")
    def train() -> None:
        clock.advance(2)

    train()
    train()
    with timer("evaluate"):
        clock.advance(0.5)
    stats = get_timer_stats()
    assert list(stats) == ["evaluate", "train"]  # sorted by name
    assert stats["train"] == train.timer_stats()

    lines = timer_report().splitlines()
    assert lines[0].split() == [
        "name",
        "calls",
        "errors",
        "error",
        "rate",
        "total",
        "mean",
        "p50",
        "p95",
        "p99",
        "max",
    ]
    assert lines[1].split()[:4] == ["train", "2", "0", "0.0%"]  # slowest total first
    assert "4 s" in lines[1]
    assert lines[2].split()[:2] == ["evaluate", "1"]
    assert "500 ms" in lines[2]

    reset_timer_stats()
    assert get_timer_stats() == {}
    assert train.timer_stats().count == 0
    train()  # decorated functions keep recording after a reset
    assert train.timer_stats().count == 1
    assert get_timer_stats()["train"].count == 1


def test_block_names_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    for i in range(DEFAULT_MAX_NAMES + 5):
        with timer(f"batch {i}", logger="tests.quiet"):
            pass
    assert len(default_registry.snapshots()) == DEFAULT_MAX_NAMES + 1  # decorated ones too
    stats = get_timer_stats()
    assert sum(s.count for s in stats.values()) == DEFAULT_MAX_NAMES + 5
    assert stats[OTHER_NAMES].count >= 5
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_reset_releases_the_memory_of_block_names() -> None:
    @timer(logger="tests.quiet")
    def decorated() -> None:
        pass

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for i in range(300):
            with timer(f"block {i}", logger="tests.quiet"):
                pass
        grown = tracemalloc.get_traced_memory()[0] - before
        reset_timer_stats()
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown > 300 * 500
    assert left < grown / 20
    decorated()  # a decorated function's name is kept and keeps recording
    assert list(get_timer_stats()) == [decorated.__qualname__]


# --- bad arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"threshold": -1}, ValueError, "threshold must be >= 0 seconds, got -1"),
        ({"threshold": "1s"}, TypeError, "threshold must be a number of seconds"),
        ({"level": "NOPE"}, ValueError, "level must be a logging level .* got 'NOPE'"),
        ({"level": 12345}, ValueError, "level must be a logging level .* got 12345"),
        ({"level": True}, TypeError, "level must be a logging level .* got bool True"),
        ({"logger": print}, TypeError, "logger must be a logging.Logger, a logger name or None"),
        ({"name": 3}, TypeError, "name must be a str or None, got int 3"),
    ],
)
def test_bad_arguments_fail_at_decoration(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        timer(**kwargs)

    def fn() -> None:
        pass

    if "name" not in kwargs:
        with pytest.raises(error, match=message):
            timer(fn, **kwargs)  # bare use validates the options too


def test_decorating_a_non_callable_fails() -> None:
    with pytest.raises(TypeError, match="@timer can only decorate a callable"):
        timer("x")(3)  # type: ignore[arg-type]
