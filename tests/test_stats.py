"""`Counter` and `DurationWindow`: exact under real threads, bounded in memory, and their
summaries equal a reference computed with `statistics` and `sorted`. `Registry`: one series
per name under real threads, immutable snapshots, bounded error types, reset that keeps
wrappers recording."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import statistics
import threading
import tracemalloc
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes import run_in_threads
from mlops_decorators import _stats
from mlops_decorators._stats import (
    DEFAULT_WINDOW,
    DURATION_BUCKETS_S,
    MAX_ERROR_MESSAGE,
    OTHER_ERRORS,
    OTHER_NAMES,
    SUMMARY_FIELDS,
    Counter,
    DurationSummary,
    DurationWindow,
    Registry,
    Series,
    combine,
    default_registry,
    percentile,
)

THREADS = 8


def test_counter_counts_and_resets() -> None:
    counter = Counter()
    assert counter.value == 0
    increment = counter.increment
    for _ in range(5):
        increment()
    assert counter.value == 5
    counter.reset()
    assert counter.value == 0
    increment()  # a wrapper's bound increment keeps working after reset
    assert counter.value == 1


def test_counter_is_exact_under_threads() -> None:
    counter = Counter()

    def work() -> None:
        increment = counter.increment
        for _ in range(10_000):
            increment()

    run_in_threads(work, THREADS)
    assert counter.value == THREADS * 10_000


def reference(durations_ns: list[int]) -> dict[str, float]:
    """What a summary must say, computed independently of the implementation."""
    seconds = [ns / 1e9 for ns in durations_ns]
    recent = sorted(seconds[-DEFAULT_WINDOW:])
    cuts = statistics.quantiles(recent, n=100, method="inclusive") if len(recent) > 1 else []

    def pct(q: int) -> float:
        return recent[0] if len(recent) == 1 else cuts[q - 1]

    return {
        "count": len(seconds),
        "total_s": sum(durations_ns) / 1e9,
        "mean_s": sum(durations_ns) / 1e9 / len(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "last_s": seconds[-1],
        "p50_s": pct(50),
        "p95_s": pct(95),
        "p99_s": pct(99),
    }


def test_empty_window_summary_is_all_zero() -> None:
    summary = DurationWindow().summary()
    assert summary == DurationSummary(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_summary_matches_reference_exactly() -> None:
    durations = [5_000, 1_000, 3_000, 2_000, 4_000]
    window = DurationWindow()
    for ns in durations:
        window.record(ns)
    summary = window.summary()
    assert dataclasses.asdict(summary) == pytest.approx(reference(durations), rel=1e-12)
    assert summary.p50_s == 3e-6
    assert summary.last_s == 4e-6


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=1500))
def test_summary_properties(durations: list[int]) -> None:
    window = DurationWindow()
    for ns in durations:
        window.record(ns)
    summary = window.summary()
    assert summary.count == len(durations)
    assert summary.min_s <= summary.p50_s <= summary.p95_s <= summary.p99_s <= summary.max_s
    assert summary.min_s <= summary.mean_s <= summary.max_s
    expected = reference(durations)
    assert dataclasses.asdict(summary) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_percentiles_cover_the_most_recent_window_only() -> None:
    window = DurationWindow(window=10)
    for ns in [1_000_000] * 100 + [1] * 10:
        window.record(ns)
    summary = window.summary()
    assert summary.p99_s == 1e-9  # the slow calls left the window
    assert summary.max_s == 1e-3  # but totals cover every call
    assert summary.count == 110


def test_memory_stays_bounded() -> None:
    window = DurationWindow()
    for ns in range(100_000):
        window.record(ns)
        assert len(window._pending) < DurationWindow.FOLD_EVERY
    assert len(window._recent) <= DEFAULT_WINDOW
    summary = window.summary()
    assert len(window._pending) == 0
    assert summary.count == 100_000
    assert summary.max_s == 99_999 / 1e9
    assert summary.p50_s == pytest.approx((100_000 - DEFAULT_WINDOW / 2 - 0.5) / 1e9)


def test_concurrent_recording_loses_nothing() -> None:
    window = DurationWindow()
    per_thread = 5_000
    readings: list[int] = []

    def work() -> None:
        for ns in range(1, per_thread + 1):
            window.record(ns)
            if ns % 1000 == 0:
                readings.append(window.summary().count)

    run_in_threads(work, THREADS)
    summary = window.summary()
    assert summary.count == THREADS * per_thread
    assert summary.total_s == pytest.approx(THREADS * per_thread * (per_thread + 1) / 2 / 1e9)
    assert summary.min_s == 1e-9
    assert summary.max_s == per_thread / 1e9
    assert all(0 < count <= THREADS * per_thread for count in readings)


def test_reset_forgets_everything() -> None:
    window = DurationWindow()
    record = window.record
    for ns in (10, 20, 30):
        record(ns)
    window.reset()
    assert window.summary().count == 0
    record(7)
    summary = window.summary()
    assert (summary.count, summary.min_s, summary.max_s) == (1, 7e-9, 7e-9)


def test_summary_is_frozen() -> None:
    summary = DurationWindow().summary()
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.count = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, 0.0), ([2.0], 99, 2.0), ([1.0, 2.0], 50, 1.5), ([1.0, 2.0, 3.0], 100, 3.0)],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


# -- Registry, Series, CallStats ---------------------------------------------------------


def test_registry_get_or_create_under_threads_gives_one_series_per_name() -> None:
    registry = Registry()
    names = [f"fn{i}" for i in range(50)]
    seen: list[dict[str, Series]] = []

    def work() -> None:
        mine = {name: registry.series(name) for name in names}
        for series in mine.values():
            for _ in range(100):
                series.record(1)
        seen.append(mine)

    run_in_threads(work, THREADS)
    for mine in seen:
        assert all(mine[name] is registry.series(name) for name in names)
    snapshots = registry.snapshots()
    assert [s.name for s in snapshots] == sorted(names)
    assert all(s.count == THREADS * 100 for s in snapshots)


def test_snapshots_while_other_threads_create_series() -> None:
    registry = Registry()
    failures: list[BaseException] = []
    counter = itertools.count()

    def work() -> None:
        try:
            for i in range(100):
                registry.series(f"n{next(counter):04}").record(5)
                if i % 20 == 0:
                    names = [s.name for s in registry.snapshots()]
                    assert names == sorted(set(names))
        except BaseException as exc:  # pragma: no cover - only on a bug
            failures.append(exc)

    run_in_threads(work, THREADS)
    assert failures == []
    assert len(registry.snapshots()) == THREADS * 100


def test_snapshot_is_an_immutable_copy() -> None:
    series = Registry().series("predict")
    series.record(3_000)
    series.failed(ValueError("bad"))
    stats = series.snapshot()
    series.record(9_000)
    series.failed(ValueError("bad"))
    assert (stats.name, stats.count, stats.max_s, dict(stats.errors)) == (
        "predict",
        1,
        3e-6,
        {"ValueError": 1},
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.count = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        stats.errors["ValueError"] = 5  # type: ignore[index]
    assert not hasattr(stats, "__dict__")  # slotted
    later = series.snapshot()
    assert (later.count, dict(later.errors)) == (2, {"ValueError": 2})


def test_snapshot_durations_equal_the_windows_summary() -> None:
    series = Registry().series("fit")
    for ns in (4_000, 1_000, 2_500):
        series.record(ns)
    stats = series.snapshot()
    summary = series.durations.summary()
    assert {f: getattr(stats, f) for f in SUMMARY_FIELDS} == dataclasses.asdict(summary)


def test_errors_are_counted_by_type_most_frequent_first() -> None:
    series = Registry().series("load")
    for exc in (KeyError("a"), OSError("b"), OSError("c"), TimeoutError("d"), OSError("e")):
        series.failed(exc)
    errors = series.snapshot().errors
    assert list(errors.items()) == [("OSError", 3), ("KeyError", 1), ("TimeoutError", 1)]


ERROR_TYPES = [type(f"Error{i}", (Exception,), {}) for i in range(12)]


@given(
    st.lists(st.integers(min_value=0, max_value=len(ERROR_TYPES) - 1), max_size=200),
    st.integers(min_value=1, max_value=8),
)
def test_error_types_are_bounded_first_come_first_named(kinds: list[int], limit: int) -> None:
    series = Registry(max_error_types=limit).series("fn")
    for kind in kinds:
        series.failed(ERROR_TYPES[kind]("boom"))
    errors = dict(series.snapshot().errors)
    named = list(dict.fromkeys(kinds))[:limit]  # distinct kinds in order of first sight
    expected = {ERROR_TYPES[k].__name__: kinds.count(k) for k in named}
    rest = sum(1 for k in kinds if k not in named)
    if rest:
        expected[OTHER_ERRORS] = rest
    assert errors == expected
    assert len(errors) <= limit + 1
    assert sum(errors.values()) == len(kinds)


def test_errors_are_exact_under_threads() -> None:
    series = Registry(max_error_types=2).series("fn")
    errors = [KeyError("k"), OSError("o"), ValueError("v")]

    def work() -> None:
        for i in range(3_000):
            series.failed(errors[i % 3])

    run_in_threads(work, THREADS)
    counts = dict(series.snapshot().errors)
    assert sum(counts.values()) == THREADS * 3_000
    assert set(counts) == {"KeyError", "OSError", OTHER_ERRORS}


def test_in_progress_counts_started_calls_not_finished_yet() -> None:
    series = Registry().series("step")
    start, finish = series.start, series.finish
    start()
    start()
    assert series.snapshot().in_progress == 2
    finish()
    assert series.snapshot().in_progress == 1


def test_in_progress_is_never_negative_while_threads_run() -> None:
    series = Registry().series("step")
    readings: list[int] = []
    done = threading.Event()

    def calls() -> None:
        start, finish = series.start, series.finish
        for _ in range(5_000):
            start()
            finish()

    def reader() -> None:
        while not done.is_set():
            readings.append(series.snapshot().in_progress)

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        run_in_threads(calls, THREADS)
    finally:
        done.set()
        watcher.join()
    assert readings
    # Never negative. No upper bound: the two lock-free counters are read one after the
    # other, and calls that finish between the two reads still count as in progress.
    assert all(n >= 0 for n in readings)
    assert series.snapshot().in_progress == 0


def test_in_progress_counts_suspended_asyncio_tasks() -> None:
    series = Registry().series("fetch")

    async def call(gate: asyncio.Event) -> None:
        series.start()
        try:
            await gate.wait()
        finally:
            series.finish()

    async def main() -> tuple[int, int]:
        gate = asyncio.Event()
        tasks = [asyncio.create_task(call(gate)) for _ in range(10)]
        await asyncio.sleep(0)  # let every task start and suspend
        during = series.snapshot().in_progress
        gate.set()
        await asyncio.gather(*tasks)
        return during, series.snapshot().in_progress

    assert asyncio.run(main()) == (10, 0)


def test_reset_empties_series_and_bound_methods_keep_recording() -> None:
    registry = Registry()
    series = registry.series("train")
    record, failed, start = series.record, series.failed, series.start
    record(1_000)
    failed(OSError("disk"))
    start()  # a call still running across the reset
    registry.reset()
    stats = registry.snapshots()
    assert [(s.name, s.count, dict(s.errors), s.in_progress) for s in stats] == [
        ("train", 0, {}, 1)
    ]
    record(2_000)
    failed(KeyError("k"))
    series.finish()  # the running call ends after the reset: no negative gauge
    after = registry.series("train").snapshot()
    assert (after.count, after.last_s, dict(after.errors), after.in_progress) == (
        1,
        2e-6,
        {"KeyError": 1},
        0,
    )


def test_names_are_bounded_with_one_overflow_series_and_a_warning_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = Registry(max_names=10)
    kept = [registry.series(f"fn {i}") for i in range(10)]
    overflow = {id(registry.series(f"batch {i}")) for i in range(15)}
    assert overflow == {id(registry.series(OTHER_NAMES))}  # one series for all of them
    for i in range(15):
        registry.series(f"batch {i}").record(1_000)
    assert len(registry.snapshots()) == 11
    assert registry.series(OTHER_NAMES).snapshot().count == 15
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'batch 0' and every later new name are counted together" in warnings[0].getMessage()
    registry.reset()  # drops the overflow series (nothing holds it) and re-arms the warning
    assert [s.name for s in registry.snapshots()] == sorted(s.name for s in kept)
    registry.series("late")  # one name too many again
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_names_under_threads_stay_bounded() -> None:
    registry = Registry(max_names=20)
    names = itertools.count()

    def create() -> None:
        for _ in range(50):
            registry.series(f"name {next(names)}").record(1)

    run_in_threads(create, THREADS)
    stats = registry.snapshots()
    assert len(stats) == 21
    assert sum(s.count for s in stats) == THREADS * 50


def _traced() -> int:
    """Bytes allocated now, leaving out `_fork`'s weak tables (they list each series, so that a
    forked child replaces its locks): like any dict they keep the size the most entries alive
    at once needed, the whole suite's, and may move to a bigger table while this test runs."""
    leave_out = [tracemalloc.Filter(False, weakref.__file__)]
    return sum(
        stat.size
        for stat in tracemalloc.take_snapshot().filter_traces(leave_out).statistics("filename")
    )


def test_reset_releases_the_memory_of_series_nothing_holds() -> None:
    registry = Registry()
    held = registry.series("held")
    tracemalloc.start()
    try:
        before = _traced()
        for i in range(300):
            registry.series(f"block {i}").record(i)
        grown = _traced() - before
        registry.reset()
        left = _traced() - before
    finally:
        tracemalloc.stop()
    assert grown > 300 * 500  # each series costs at least this much: the test measures it
    assert left < grown / 20
    assert [s.name for s in registry.snapshots()] == ["held"]
    assert registry.series("held") is held


def test_registries_are_independent() -> None:
    one, two = Registry(), Registry(window=4)
    one.series("fn").record(10)
    assert [s.count for s in one.snapshots()] == [1]
    assert two.snapshots() == []
    for ns in range(10):
        two.series("fn").record(ns)
    assert two.series("fn").durations.summary().p50_s == pytest.approx(7.5e-9)
    assert one.series("fn") is not two.series("fn")
    assert one.series("fn").snapshot().count == 1


def test_timer_records_into_the_default_registry() -> None:
    from mlops_decorators import timer

    @timer(logger="tests.quiet")
    def fails() -> None:
        raise LookupError("missing")

    for _ in range(2):
        with pytest.raises(LookupError):
            fails()
    stats = default_registry.series(fails.__qualname__).snapshot()
    assert (stats.count, dict(stats.errors), stats.in_progress) == (2, {"LookupError": 2}, 0)


# -- label sets, histogram, last error, resources, combine, claim ----------------------------


@given(st.lists(st.integers(min_value=0, max_value=10**12), max_size=600))
def test_histogram_counts_durations_at_most_each_bound(durations: list[int]) -> None:
    window = DurationWindow()
    for ns in durations:
        window.record(ns)
    expected = [sum(ns <= round(b * 1e9) for ns in durations) for b in DURATION_BUCKETS_S]
    assert window.histogram() == (*expected, len(durations))
    window.reset()
    assert set(window.histogram()) == {0}


def test_label_sets_are_separate_series_sorted_in_snapshots() -> None:
    registry = Registry()
    b, a = (("model", "b"),), (("model", "a"),)
    registry.series("fit", b).record(1)
    registry.series("fit", a).record(1)
    registry.series("fit", a).record(2)
    registry.series("eval").record(1)
    assert [(s.name, dict(s.labels), s.count) for s in registry.snapshots()] == [
        ("eval", {}, 1),
        ("fit", {"model": "a"}, 2),
        ("fit", {"model": "b"}, 1),
    ]
    assert [s.name for s in registry.snapshots(names={"eval"})] == ["eval"]
    assert repr(registry.series("fit", a)) == "Series('fit', (('model', 'a'),))"
    assert registry.series("fit", a) is not registry.series("fit")


def test_last_error_keeps_the_latest_message_cut_and_its_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_stats.time, "time", lambda: 1234.5)
    series = Registry().series("load")
    assert series.snapshot().last_error is None
    series.failed(KeyError("first"))
    series.failed(ValueError("x" * 1000))
    last = series.snapshot().last_error
    assert last is not None
    assert (last.type, last.time) == ("ValueError", 1234.5)
    assert last.message == "x" * MAX_ERROR_MESSAGE + "...(1000 chars)"

    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    series.failed(UnprintableError())
    last = series.snapshot().last_error
    assert last is not None
    assert last.message == "<str() failed: RuntimeError>"
    series.reset()
    assert series.snapshot().last_error is None


def test_resources_add_cpu_and_keep_the_largest_rss_growth() -> None:
    series = Registry().series("step")
    series.used(250_000_000, 100)
    series.used(500_000_000, -40)
    series.used(0, 60)
    stats = series.snapshot()
    assert (stats.cpu_s, stats.max_rss_delta_bytes) == (0.75, 100)
    series.reset()
    assert (series.snapshot().cpu_s, series.snapshot().max_rss_delta_bytes) == (0.0, 0)


def test_counted_as_names_the_error_type_or_other() -> None:
    series = Registry(max_error_types=1).series("fn")
    series.failed(KeyError())
    series.failed(ValueError())
    assert series.counted_as(KeyError()) == "KeyError"
    assert series.counted_as(ValueError()) == OTHER_ERRORS


@given(st.lists(st.lists(st.integers(min_value=1, max_value=10**10), max_size=40), max_size=5))
def test_combine_adds_series_up(windows: list[list[int]]) -> None:
    registry = Registry()
    series = [registry.series("fn", (("set", str(i)),)) for i in range(len(windows))]
    for one, durations in zip(series, windows, strict=True):
        for ns in durations:
            one.record(ns)
        one.failed(KeyError())
        one.start()
        one.used(1_000, len(durations))
    combined = combine("fn", series)
    every = sorted(ns / 1e9 for durations in windows for ns in durations)
    assert combined.count == len(every)
    assert combined.total_s == pytest.approx(sum(every))
    assert combined.max_s == (every[-1] if every else 0.0)
    assert combined.min_s == (every[0] if every else 0.0)
    assert combined.p50_s == pytest.approx(percentile(every, 50))
    assert dict(combined.errors) == ({"KeyError": len(windows)} if windows else {})
    assert combined.in_progress == len(windows)
    histograms = [s.durations.histogram() for s in series]
    expected = tuple(sum(h[i] for h in histograms) for i in range(len(DURATION_BUCKETS_S) + 1))
    assert combined.buckets == expected
    assert combined.cpu_s == pytest.approx(len(windows) * 1e-6)
    assert combined.max_rss_delta_bytes == max(map(len, windows), default=0)
    assert dict(combined.labels) == {}


def test_combine_keeps_the_latest_error(monkeypatch: pytest.MonkeyPatch) -> None:
    now = iter([2.0, 1.0])
    monkeypatch.setattr(_stats.time, "time", lambda: next(now))
    registry = Registry()
    late, early = registry.series("fn", (("a", "1"),)), registry.series("fn", (("a", "2"),))
    late.failed(KeyError("late"))
    early.failed(ValueError("early"))
    last = combine("fn", [late, early]).last_error
    assert last is not None
    assert last.message == "'late'"


def test_claim_gives_a_name_to_one_function() -> None:
    registry = Registry()
    code_a, code_b = object(), object()
    assert registry.claim("predict", "app:predict", code_a) == "predict"
    registry.series("predict").record(1)
    # The same definition decorated again shares its series.
    assert registry.claim("predict", "app:predict", code_a) == "predict"
    assert registry.series("predict").snapshot().count == 1
    # A redefinition of the same function (a re-run cell) starts afresh.
    old = registry.series("predict")
    assert registry.claim("predict", "app:predict", code_b) == "predict"
    assert registry.snapshots() == []
    assert registry.series("predict") is not old
    # Another function with the same name gets its dotted qualified name.
    assert registry.claim("predict", "jobs:predict", object()) == "jobs.predict"
    # And a name something records under without a claim (a timer) is not taken over.
    registry.series("load").record(1)
    assert registry.claim("load", "app:load", object()) == "app.load"


def test_claim_numbers_names_when_the_dotted_one_is_taken_too() -> None:
    registry = Registry()
    assert registry.claim("app.run", "x:y", object()) == "app.run"
    assert registry.claim("run", "app:run", object()) == "run"
    assert registry.claim("app.run", "app:run#", object()) == "app.run#"
    registry.series("busy").record(1)
    registry.series("m.busy").record(1)
    assert registry.claim("busy", "m:busy", object()) == "m.busy#2"


def test_claim_for_recorders_that_share_names() -> None:
    registry = Registry()
    assert registry.claim("load", "timer") == "load"
    registry.series("load").record(1)
    assert registry.claim("load", "timer") == "load"  # timers share a name
    assert registry.claim("load", "app:load", object()) == "app.load"  # a function does not
    registry.claim("predict", "app:predict", object())
    assert registry.claim("predict", "timer") == "timer.predict"  # nor with a function
    registry.reset()  # drops the timers' series nobody holds, and so frees their names
    assert registry.claim("load", "jobs:load", object()) == "load"


@given(
    st.lists(
        st.one_of(
            st.integers(min_value=0, max_value=10**12),
            st.sampled_from(_stats._BUCKET_BOUNDS_NS),  # a duration equal to a bound is "le" it
        ),
        max_size=600,  # more than two folds
    )
)
def test_histogram_and_totals_match_a_plain_count(durations: list[int]) -> None:
    window = DurationWindow()
    for ns in durations:
        window.record(ns)
    bounds = _stats._BUCKET_BOUNDS_NS
    expected = (*(sum(ns <= bound for ns in durations) for bound in bounds), len(durations))
    assert window.histogram() == expected
    summary = window.summary()
    assert summary.count == len(durations)
    assert summary.total_s == sum(durations) / 1e9
    assert summary.min_s == (min(durations) / 1e9 if durations else 0.0)
    assert summary.max_s == (max(durations) / 1e9 if durations else 0.0)
    assert summary.last_s == (durations[-1] / 1e9 if durations else 0.0)
