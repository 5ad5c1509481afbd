"""`monitor`: what each call records and logs, sync and async, under threads and tasks; labels
and their cap; system metrics; the re-run notebook cell; report, snapshot and reset; exporters
that fail; options.

Durations come from a fake ``perf_counter_ns`` where a test asserts them, so no test sleeps.
Exporters against the real libraries and sockets are in ``test_monitor_exporters.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakes import FakeClock, run_in_threads, start_threads, wait_until
from mlops_decorators import (
    MonitoredSeries,
    MonitorStats,
    StatsRegistry,
    monitor,
    monitor_stats,
    timer,
    timer_report,
)
from mlops_decorators.monitoring import _decorator, _labels

THREADS = 8


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock monitor times calls with."""
    fake = FakeClock()
    monkeypatch.setattr(_decorator, "perf_counter_ns", fake.ns)
    return fake


@pytest.fixture
def registry() -> StatsRegistry:
    return StatsRegistry()


Records = Callable[[], list[logging.LogRecord]]


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Records:
    """The records of this test's monitored calls so far (one per call)."""
    caplog.set_level(logging.DEBUG)
    return lambda: [r for r in caplog.records if hasattr(r, "outcome")]


# -- one call ---------------------------------------------------------------------------------


def test_a_call_is_counted_timed_and_logged_once(
    clock: FakeClock, registry: StatsRegistry, records: Records
) -> None:
    @monitor(registry=registry)
    def predict(x: int) -> int:
        clock.advance(0.25)
        return 2 * x

    assert predict(3) == 6
    stats = monitor_stats(predict)
    assert (stats.name, stats.calls, stats.error_count, stats.in_progress) == (
        predict.__qualname__,
        1,
        0,
        0,
    )
    assert stats.total_s == stats.max_s == stats.p50_s == stats.p99_s == 0.25
    assert stats.last_error is None
    [record] = records()
    assert record.levelno == logging.DEBUG
    fields = vars(record)
    assert (fields["function"], fields["duration_s"], fields["outcome"]) == (stats.name, 0.25, "ok")
    assert "call_args" not in fields  # captured on errors only, by default
    assert record.getMessage() == f"{stats.name} ok in 250 ms"


def test_a_failure_is_reraised_unchanged_and_logged_at_error_with_inputs_and_system(
    clock: FakeClock, registry: StatsRegistry, records: Records
) -> None:
    error = ValueError("bad batch")

    @monitor(registry=registry)
    def predict(batch: list[int], api_key: str, scale: float = 1.0) -> float:
        clock.advance(0.5)
        raise error

    with pytest.raises(ValueError, match="bad batch") as info:
        predict([1, 2, 3], "sk-secret")
    assert info.value is error
    assert info.traceback[-1].name == "predict"  # the function's own frame is kept

    [record] = records()
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[1] is error
    fields = vars(record)
    assert (fields["outcome"], fields["exception"], fields["duration_s"]) == (
        "error",
        "ValueError",
        0.5,
    )
    assert fields["call_args"] == {"batch": "[1, 2, 3]", "api_key": "'***'"}
    system = fields["system"]
    assert system["rss_bytes"] > 0
    assert system["cpu_time_s"] > 0
    assert 0 < system["memory_available_bytes"] <= system["memory_limit_bytes"]
    assert system["memory_source"].startswith(("host", "cgroup"))
    assert "sk-secret" not in json.dumps(fields, default=str)

    stats = monitor_stats(predict)
    assert (stats.calls, dict(stats.errors), stats.error_rate) == (1, {"ValueError": 1}, 1.0)
    assert stats.last_error is not None
    assert (stats.last_error.type, stats.last_error.message) == ("ValueError", "bad batch")


def test_errors_are_counted_by_type_and_rare_types_fold_into_other() -> None:
    registry = StatsRegistry(max_error_types=2)

    @monitor(registry=registry)
    def parse(kind: type[Exception]) -> None:
        raise kind("x")

    for kind in (KeyError, KeyError, ValueError, TypeError, OSError, KeyError):
        with pytest.raises(kind):
            parse(kind)
    stats = monitor_stats(parse)
    assert dict(stats.errors) == {"KeyError": 3, "other": 2, "ValueError": 1}
    assert stats.last_error is not None
    assert stats.last_error.type == "KeyError"


async def test_async_calls_are_measured_over_the_awaited_work(
    clock: FakeClock, registry: StatsRegistry
) -> None:
    @monitor(registry=registry)
    async def fetch(seconds: float) -> float:
        await clock.async_sleep(seconds)
        return seconds

    coroutine = fetch(2.0)
    clock.advance(100.0)  # time between creating the coroutine and awaiting it is not the call's
    assert monitor_stats(fetch).calls == 0
    assert await coroutine == 2.0
    stats = monitor_stats(fetch)
    assert (stats.calls, stats.total_s) == (1, 2.0)


async def test_async_failures_and_cancellations(
    clock: FakeClock, registry: StatsRegistry, records: Records
) -> None:
    started = asyncio.Event()

    @monitor(registry=registry)
    async def wait_forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(wait_forever())
    await started.wait()
    assert monitor_stats(wait_forever).in_progress == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stats = monitor_stats(wait_forever)
    assert (stats.calls, dict(stats.errors), stats.in_progress) == (1, {"CancelledError": 1}, 0)
    [record] = records()
    # A cancellation is counted, but it is no failure of the function: no ERROR, no traceback.
    assert (record.levelno, record.exc_info) == (logging.DEBUG, None)
    assert (record.outcome, record.exception) == ("error", "CancelledError")  # type: ignore[attr-defined]


def test_generator_functions_are_refused_at_decoration() -> None:
    def rows() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="generator function"):
        monitor(rows)


def test_monitor_stats_needs_a_monitored_function() -> None:
    with pytest.raises(TypeError, match=r"monitor_stats\(\) needs a function decorated"):
        monitor_stats(len)


# -- logging ----------------------------------------------------------------------------------


def test_capture_args_true_logs_the_inputs_of_every_call(
    registry: StatsRegistry, records: Records
) -> None:
    @monitor(registry=registry, capture_args=True, log_level="INFO")
    def lookup(user: str, password: str, limit: int = 10) -> str:
        return user

    lookup("ada", password="hunter2")
    [record] = records()
    assert record.levelno == logging.INFO
    assert record.call_args == {"user": "'ada'", "password": "'***'"}  # type: ignore[attr-defined]


def test_capture_args_false_never_logs_inputs(registry: StatsRegistry, records: Records) -> None:
    @monitor(registry=registry, capture_args=False)
    def lookup(user: str) -> str:
        raise KeyError(user)

    with pytest.raises(KeyError):
        lookup("ada")
    [record] = records()
    assert record.levelno == logging.ERROR
    assert not hasattr(record, "call_args")
    assert "system" in vars(record)


def test_a_call_that_does_not_fit_the_signature_still_logs_what_was_passed(
    registry: StatsRegistry, records: Records
) -> None:
    @monitor(registry=registry)
    def one(x: int) -> int:
        return x

    with pytest.raises(TypeError):
        one(1, 2, z=3)  # type: ignore[call-arg]
    [record] = records()
    assert record.call_args == {"arg0": "1", "arg1": "2", "z": "3"}  # type: ignore[attr-defined]


def test_slow_calls_are_logged_at_warning(
    clock: FakeClock, registry: StatsRegistry, records: Records
) -> None:
    @monitor(registry=registry, slow=1.0)
    def train(seconds: float) -> None:
        clock.advance(seconds)

    train(0.5)
    train(1.0)
    assert [r.levelno for r in records()] == [logging.DEBUG, logging.WARNING]
    assert records()[1].getMessage() == f"{train.__qualname__} was slow: 1 s (slow= 1 s)"


def test_nothing_is_formatted_when_the_logger_is_disabled(
    registry: StatsRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    reprs = []

    class Traced:
        def __repr__(self) -> str:
            reprs.append(1)
            return "Traced()"

    @monitor(registry=registry, capture_args=True)
    def work(value: Traced) -> None:
        if reprs is None:  # pragma: no cover -- never
            raise AssertionError

    @monitor(registry=registry)
    def fails(value: Traced) -> None:
        raise ValueError("x")

    work(Traced())
    with pytest.raises(ValueError, match="x"):
        fails(Traced())
    assert reprs == []
    assert not caplog.records
    assert monitor_stats(work).calls == monitor_stats(fails).calls == 1


# -- system metrics ---------------------------------------------------------------------------


class FakeProbe:
    def __init__(self, *rss: int) -> None:
        self._rss = iter(rss)

    def rss(self) -> int:
        return next(self._rss)


def test_system_metrics_record_cpu_time_and_rss_growth_per_call(
    monkeypatch: pytest.MonkeyPatch, registry: StatsRegistry, records: Records
) -> None:
    cpu = iter([1_000_000_000, 1_250_000_000, 2_000_000_000, 2_500_000_000])
    monkeypatch.setattr(_decorator.time, "thread_time_ns", lambda: next(cpu))
    probe = FakeProbe(100, 300, 300, 250)
    monkeypatch.setattr(_decorator, "system_probe", lambda: probe)

    @monitor(registry=registry, system_metrics=True)
    def step() -> None:
        pass

    step()
    step()
    first, second = records()
    assert (first.cpu_s, first.rss_delta_bytes) == (0.25, 200)  # type: ignore[attr-defined]
    assert (second.cpu_s, second.rss_delta_bytes) == (0.5, -50)  # type: ignore[attr-defined]
    stats = monitor_stats(step)
    assert (stats.cpu_s, stats.max_rss_delta_bytes) == (0.75, 200)


def test_system_metrics_on_this_machine(registry: StatsRegistry) -> None:
    @monitor(registry=registry, system_metrics=True)
    def allocate() -> int:
        block = bytes(32 * 2**20)  # written (zero-filled) pages: resident
        return sum(block[:: 2**16])

    allocate()
    stats = monitor_stats(allocate)
    assert stats.cpu_s > 0
    assert stats.max_rss_delta_bytes >= 0


def test_a_failing_system_reading_never_hides_the_error(
    monkeypatch: pytest.MonkeyPatch, registry: StatsRegistry, records: Records
) -> None:
    def broken() -> None:
        raise PermissionError("no /proc")

    monkeypatch.setattr(_decorator, "system_probe", broken)

    @monitor(registry=registry)
    def fails() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        fails()
    [record] = records()
    assert record.system == {"error": "PermissionError: no /proc"}  # type: ignore[attr-defined]


# -- threads and tasks ------------------------------------------------------------------------


def test_counts_are_exact_under_threads(registry: StatsRegistry) -> None:
    @monitor(registry=registry, labels=lambda i: {"parity": i % 2})
    def work(i: int) -> int:
        if i % 10 == 0:
            raise ValueError(i)
        return i

    def calls() -> None:
        for i in range(1000):
            with contextlib.suppress(ValueError):
                work(i)

    run_in_threads(calls, THREADS)
    stats = monitor_stats(work)
    assert (stats.calls, dict(stats.errors), stats.in_progress) == (
        THREADS * 1000,
        {"ValueError": THREADS * 100},
        0,
    )
    by_parity = {s.labels["parity"]: s.calls for s in stats.by_labels}
    assert by_parity == {"0": THREADS * 500, "1": THREADS * 500}


def test_calls_in_progress_under_threads(registry: StatsRegistry) -> None:
    release = threading.Event()

    @monitor(registry=registry)
    def hold() -> None:
        release.wait()

    threads, _ = start_threads(hold, THREADS)
    try:
        wait_until(lambda: monitor_stats(hold).in_progress == THREADS)
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert (monitor_stats(hold).in_progress, monitor_stats(hold).calls) == (0, THREADS)


async def test_calls_in_progress_and_counts_under_tasks(registry: StatsRegistry) -> None:
    release, waiting = asyncio.Event(), asyncio.Semaphore(0)

    @monitor(registry=registry)
    async def hold(i: int) -> int:
        waiting.release()
        await release.wait()
        if i % 2:
            raise ValueError(i)
        return i

    tasks = [asyncio.create_task(hold(i)) for i in range(10)]
    for _ in tasks:
        await waiting.acquire()
    assert monitor_stats(hold).in_progress == 10
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [r for r in results if isinstance(r, int)] == [0, 2, 4, 6, 8]
    stats = monitor_stats(hold)
    assert (stats.calls, dict(stats.errors), stats.in_progress) == (10, {"ValueError": 5}, 0)


# -- labels -----------------------------------------------------------------------------------


def test_static_labels(registry: StatsRegistry, records: Records) -> None:
    @monitor(registry=registry, labels={"model": "resnet50", "version": 2})
    def predict() -> None:
        pass

    predict()
    stats = monitor_stats(predict)
    assert dict(stats.labels) == {"model": "resnet50", "version": "2"}
    assert stats.by_labels == ()
    [snapshot] = monitor.snapshot(registry)
    assert snapshot["labels"] == {"model": "resnet50", "version": "2"}
    assert records()[0].labels == {"model": "resnet50", "version": "2"}  # type: ignore[attr-defined]


def test_labels_from_the_calls_arguments_by_name_methods_included(registry: StatsRegistry) -> None:
    class Model:
        name = "tiny"

        @monitor(
            registry=registry, labels=lambda self, batch: {"model": self.name, "n": len(batch)}
        )
        def predict(self, batch: list[int], scale: int = 1) -> int:
            return sum(batch) * scale

    model = Model()
    assert model.predict([1, 2]) == 3
    assert model.predict(batch=[1, 2], scale=2) == 6
    assert model.predict([1]) == 1
    stats = monitor_stats(model.predict)
    assert stats.calls == 3
    assert dict(stats.labels) == {}
    assert sorted((dict(s.labels)["n"], s.calls) for s in stats.by_labels) == [("1", 1), ("2", 2)]


def test_a_labels_function_needing_an_unknown_parameter_is_refused_at_decoration() -> None:
    with pytest.raises(TypeError, match=r"labels .* needs parameter 'model'"):

        @monitor(labels=lambda model: {"model": model})
        def predict(x: int) -> int:
            return x


def test_label_sets_are_capped_and_overflow_into_one_other_set(
    monkeypatch: pytest.MonkeyPatch, registry: StatsRegistry
) -> None:
    monkeypatch.setattr(_decorator, "MAX_LABEL_SETS", 3)

    @monitor(registry=registry, labels=lambda user: {"user": user, "region": "eu"})
    def serve(user: int) -> None:
        pass

    for user in range(10):
        serve(user)
    serve(0)
    stats = monitor_stats(serve)
    sets = {tuple(sorted(s.labels.items())): s.calls for s in stats.by_labels}
    assert sets == {
        (("region", "eu"), ("user", "0")): 2,
        (("region", "eu"), ("user", "1")): 1,
        (("region", "eu"), ("user", "2")): 1,
        (("region", "other"), ("user", "other")): 7,
    }
    assert stats.calls == 11
    assert len(registry.snapshots()) == 4


def test_a_failing_labels_function_never_fails_the_call(
    registry: StatsRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    @monitor(registry=registry, labels=lambda x: {"x": x} if x else {"bad key": x})
    def work(x: int) -> int:
        return x

    assert work(1) == 1
    assert work(0) == 0
    assert work(0) == 0
    warnings = [r for r in caplog.records if f"labels of {work.__qualname__}()" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited
    sets = {tuple(s.labels.items()): s.calls for s in monitor_stats(work).by_labels}
    assert sets == {(("x", "1"),): 1, (("x", "other"),): 2}


def test_label_values_are_cut() -> None:
    [(_key, value)] = _labels.label_set("labels", {"text": "x" * 1000})
    assert len(value) == _labels.MAX_LABEL_VALUE


# -- the registry: one per name, the re-run cell ------------------------------------------------

CELL = """
from mlops_decorators import monitor

@monitor(registry=registry)
def featurize(x):
    return x * {factor}
"""


def run_cell(registry: StatsRegistry, factor: int, namespace: dict[str, Any]) -> Any:
    """Run a notebook cell: the same source compiled anew, in the notebook's namespace."""
    namespace.update(registry=registry, __name__="__main__")
    exec(compile(CELL.format(factor=factor), "<cell>", "exec"), namespace)
    return namespace["featurize"]


def test_rerunning_a_cell_starts_a_fresh_series_and_never_raises(
    registry: StatsRegistry,
) -> None:
    notebook: dict[str, Any] = {}
    old = run_cell(registry, 2, notebook)
    old(1)
    old(2)
    new = run_cell(registry, 3, notebook)
    new(1)
    assert [(s["name"], s["calls"]) for s in monitor.snapshot(registry)] == [("featurize", 1)]
    assert monitor_stats(new).calls == 1
    assert monitor_stats(old).calls == 2  # the old function's figures stay its own
    assert "featurize" in monitor.report(registry)


def test_two_functions_never_share_a_name(
    registry: StatsRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    first = run_cell(registry, 2, {})
    caplog.set_level(logging.WARNING)

    def featurize(x: int) -> int:  # same name, another module
        return x

    featurize.__module__ = "jobs.features"
    featurize.__qualname__ = "featurize"
    second = monitor(registry=registry)(featurize)
    first(1)
    second(1)
    second(2)
    assert {s["name"]: s["calls"] for s in monitor.snapshot(registry)} == {
        "featurize": 1,
        "jobs.features.featurize": 2,
    }
    assert "pass a name to choose" in caplog.text


def test_an_explicit_name_taken_by_a_timer_is_not_merged(registry: StatsRegistry) -> None:
    with timer("load"):
        pass

    @monitor(name="load")
    def load() -> None:
        pass

    load()
    assert monitor_stats(load).name == f"{load.__module__}.{load.__qualname__}"
    assert monitor_stats(load).calls == 1


def test_decorating_one_function_twice_shares_its_series(registry: StatsRegistry) -> None:
    def score(x: int) -> int:
        return x

    fast = monitor(registry=registry)(score)
    slow = monitor(registry=registry, slow=1.0)(score)
    fast(1)
    slow(1)
    assert monitor_stats(fast).calls == monitor_stats(slow).calls == 2


def test_timer_and_monitor_read_one_registry() -> None:
    @monitor(name="monitored step")
    def monitored_step() -> None:
        pass

    monitored_step()
    with timer("timed block"):
        pass
    names = {s["name"] for s in monitor.snapshot()}
    assert {"monitored step", "timed block"} <= names
    assert "monitored step" in timer_report()
    assert "timed block" in monitor.report()


# -- report, snapshot, reset ------------------------------------------------------------------


def test_report_text_and_html(clock: FakeClock, registry: StatsRegistry) -> None:
    @monitor(registry=registry, labels=lambda kind: {"kind": kind}, name="handle")
    def handle(kind: str) -> None:
        clock.advance(0.1)
        if kind == "<bad>":
            raise ValueError(kind)

    handle("<ok>")
    handle("<ok>")
    with pytest.raises(ValueError, match="<bad>"):
        handle("<bad>")
    report = monitor.report(registry)
    lines = report.splitlines()
    assert lines[0].split() == [
        *("name", "calls", "errors", "error", "rate"),
        *("total", "mean", "p50", "p95", "p99", "max"),
    ]
    assert lines[1].split()[:4] == ["handle{kind=<ok>}", "2", "0", "0.0%"]  # slowest total first
    assert lines[2].split()[:4] == ["handle{kind=<bad>}", "1", "1", "100.0%"]
    assert repr(report) == str(report)  # a REPL shows the table, not an escaped string

    html = report._repr_html_()
    assert html.startswith("<table>")
    assert html.count("<tr>") == 3
    assert "handle{kind=&lt;bad&gt;}" in html
    assert "<bad>" not in html
    assert [row.name for row in report.rows] == ["handle", "handle"]


def test_an_empty_report() -> None:
    report = monitor.report(StatsRegistry())
    assert report == "no calls recorded"
    assert report._repr_html_() == "<p>no calls recorded</p>"


def test_snapshot_is_plain_json_and_reset_clears(clock: FakeClock, registry: StatsRegistry) -> None:
    @monitor(registry=registry, name="fit")
    def fit() -> None:
        clock.advance(0.003)
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError):
        fit()
    [snapshot] = json.loads(json.dumps(monitor.snapshot(registry)))
    assert snapshot["name"] == "fit"
    assert (snapshot["calls"], snapshot["errors"], snapshot["error_rate"]) == (
        1,
        {"RuntimeError": 1},
        1.0,
    )
    assert snapshot["last_error"]["message"] == "diverged"
    assert snapshot["buckets"]["0.0025"] == 0
    assert snapshot["buckets"]["0.005"] == 1
    assert snapshot["buckets"]["+Inf"] == 1
    monitor.reset(registry)
    assert monitor.snapshot(registry) == []
    assert monitor_stats(fit).calls == 0
    with pytest.raises(RuntimeError):
        fit()  # keeps recording after a reset
    assert monitor_stats(fit).calls == 1


# -- exporters that fail ----------------------------------------------------------------------


class Recording:
    """An exporter that records what it is told, or fails where asked to."""

    def __init__(self, fail_in: str = "") -> None:
        self.fail_in = fail_in
        self.bound: list[MonitoredSeries] = []
        self.calls: list[tuple[str, float, str | None]] = []

    def bind(self, series: MonitoredSeries) -> Recording.Observer:
        if self.fail_in == "bind":
            raise ConnectionError("bind failed")
        self.bound.append(series)
        return Recording.Observer(self, series)

    class Observer:
        def __init__(self, exporter: Recording, series: MonitoredSeries) -> None:
            self.exporter, self.series = exporter, series

        def start(self) -> str:
            if self.exporter.fail_in == "start":
                raise ConnectionError("start failed")
            return "token"

        def finish(self, token: object, duration_s: float, error: BaseException | None) -> None:
            if self.exporter.fail_in == "finish":
                raise ConnectionError("finish failed")
            kind = None if error is None else self.series.error_type(error)
            self.exporter.calls.append((str(token), duration_s, kind))


def test_exporters_see_every_call(clock: FakeClock, registry: StatsRegistry) -> None:
    exporter = Recording()

    @monitor(registry=registry, exporters=[exporter], labels={"model": "a"})
    def work(fail: bool) -> None:
        clock.advance(0.5)
        if fail:
            raise KeyError("k")

    work(False)
    with pytest.raises(KeyError):
        work(True)
    [series] = exporter.bound
    assert (series.name, dict(series.labels)) == (work.__qualname__, {"model": "a"})
    assert series.registry is registry
    assert exporter.calls == [("token", 0.5, None), ("token", 0.5, "KeyError")]


@pytest.mark.parametrize("where", ["bind", "start", "finish"])
def test_a_failing_exporter_never_fails_the_call(
    where: str, registry: StatsRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    healthy = Recording()

    @monitor(registry=registry, exporters=[Recording(fail_in=where), healthy])
    def work(x: int) -> int:
        return x

    assert [work(1), work(2)] == [1, 2]
    assert len(healthy.calls) == 2  # the other exporters still run
    warnings = [r for r in caplog.records if "exporter Recording failed" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited
    assert "ConnectionError" in warnings[0].getMessage()
    assert monitor_stats(work).export_errors == (1 if where == "bind" else 2)


def test_default_exporters_reach_functions_decorated_before(registry: StatsRegistry) -> None:
    @monitor(registry=registry)
    def early() -> None:
        pass

    @monitor(registry=registry, exporters=[])
    def opted_out() -> None:
        pass

    exporter = Recording()
    early()
    monitor.set_default_exporters([exporter])
    assert monitor.default_exporters == (exporter,)
    early()
    opted_out()

    @monitor(registry=registry)
    def late() -> None:
        pass

    late()
    mine = [series.name for series in exporter.bound if series.registry is registry]
    assert mine == [early.__qualname__, late.__qualname__]
    assert len(exporter.calls) == 2
    monitor.set_default_exporters([])
    early()
    assert len(exporter.calls) == 2


def test_stats_type_and_accessor_agree(registry: StatsRegistry) -> None:
    @monitor(registry=registry)
    def f() -> None:
        pass

    f()
    assert isinstance(f.monitor_stats(), MonitorStats)  # type: ignore[attr-defined]
    assert f.monitor_stats() == monitor_stats(f)  # type: ignore[attr-defined]
    assert repr(monitor) == "<monitor decorator>"


def test_durations_waiting_to_be_folded_stay_bounded(registry: StatsRegistry) -> None:
    @monitor(registry=registry, name="busy")
    def busy() -> None:
        pass

    for _ in range(1000):
        busy()
    [series] = [registry.series("busy")]
    assert len(series.durations._pending) < series.durations.FOLD_EVERY
    assert monitor_stats(busy).calls == 1000
