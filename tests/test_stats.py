"""`Counter` and `DurationWindow`: exact under real threads, bounded in memory, and their
summaries equal a reference computed with `statistics` and `sorted`."""

from __future__ import annotations

import dataclasses
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes import run_in_threads
from mlops_decorators._stats import (
    DEFAULT_WINDOW,
    Counter,
    DurationSummary,
    DurationWindow,
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
