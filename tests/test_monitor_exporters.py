"""monitor's exporters against the real things: prometheus_client's exposition scraped over
HTTP (and its multiprocess mode across real processes), the OpenTelemetry SDK's in-memory
span and metric exporters, DogStatsD datagrams on a real loopback UDP socket, and the JSON
log formatter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry, Counter, generate_latest, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from fakes import FakeClock, start_threads, wait_until
from mlops_decorators import (
    JsonFormatter,
    OpenTelemetryExporter,
    PrometheusExporter,
    StatsDExporter,
    StatsRegistry,
    monitor,
    monitor_stats,
)
from mlops_decorators.monitoring import _decorator, _statsd

ROOT = Path(__file__).parent.parent


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_decorator, "perf_counter_ns", fake.ns)
    return fake


# -- Prometheus -------------------------------------------------------------------------------

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(exposition: str) -> Samples:
    """Sample name and labels -> value, as Prometheus would read the exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


@pytest.fixture
def scrape() -> Iterator[tuple[CollectorRegistry, Any]]:
    """A CollectorRegistry served over HTTP on loopback, and a function scraping it."""
    registry = CollectorRegistry()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    url = f"http://127.0.0.1:{server.server_port}/metrics"

    def get() -> Samples:
        with urllib.request.urlopen(url, timeout=10) as response:
            return parse(response.read().decode())

    yield registry, get
    server.shutdown()
    server.server_close()
    thread.join()


def test_prometheus_exposition_scraped_over_http(
    clock: FakeClock, scrape: tuple[CollectorRegistry, Any]
) -> None:
    collectors, get = scrape
    stats = StatsRegistry()
    exporter = PrometheusExporter(collectors)
    assert not exporter.multiprocess

    @monitor(name="predict", registry=stats, exporters=[exporter], labels={"model": "tiny"})
    def predict(x: float) -> float:
        clock.advance(x)
        if x > 1:
            raise OverflowError(x)
        return x

    @monitor(name="load", registry=stats, exporters=[exporter])
    def load() -> None:
        clock.advance(0.002)

    for x in (0.003, 0.2, 0.2, 5.0):
        with contextlib.suppress(OverflowError):
            predict(x)
    load()

    samples = get()
    tiny = {"function": "predict", "model": "tiny"}
    assert samples["mlops_calls_total", labels(**tiny, outcome="ok")] == 3
    assert samples["mlops_calls_total", labels(**tiny, outcome="error")] == 1
    assert samples["mlops_errors_total", labels(**tiny, error_type="OverflowError")] == 1
    assert samples["mlops_call_duration_seconds_count", labels(**tiny)] == 4
    assert samples["mlops_call_duration_seconds_sum", labels(**tiny)] == pytest.approx(5.403)
    assert samples["mlops_call_duration_seconds_bucket", labels(**tiny, le="0.0025")] == 0
    assert samples["mlops_call_duration_seconds_bucket", labels(**tiny, le="0.005")] == 1
    assert samples["mlops_call_duration_seconds_bucket", labels(**tiny, le="0.25")] == 3
    assert samples["mlops_call_duration_seconds_bucket", labels(**tiny, le="+Inf")] == 4
    assert samples["mlops_calls_in_progress", labels(**tiny)] == 0
    # A function without the label shows it empty, which Prometheus reads as no label.
    load_labels = {"function": "load", "model": ""}
    assert samples["mlops_calls_total", labels(**load_labels, outcome="ok")] == 1
    assert samples["mlops_call_duration_seconds_bucket", labels(**load_labels, le="0.0025")] == 1


def test_prometheus_calls_in_progress(scrape: tuple[CollectorRegistry, Any]) -> None:
    collectors, get = scrape
    release = threading.Event()

    @monitor(name="hold", registry=StatsRegistry(), exporters=[PrometheusExporter(collectors)])
    def hold() -> None:
        release.wait()

    threads, _ = start_threads(hold, 3)
    try:
        wait_until(lambda: monitor_stats(hold).in_progress == 3)
        assert get()["mlops_calls_in_progress", labels(function="hold")] == 3
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert get()["mlops_calls_in_progress", labels(function="hold")] == 0


def test_prometheus_get_or_create_never_duplicates_and_a_rerun_cell_starts_afresh() -> None:
    collectors = CollectorRegistry()
    stats = StatsRegistry()
    namespace: dict[str, Any] = {"stats": stats, "collectors": collectors, "__name__": "__main__"}
    cell = textwrap.dedent(
        """
        from mlops_decorators import PrometheusExporter, monitor

        @monitor(registry=stats, exporters=[PrometheusExporter(collectors)])
        def embed(text):
            return len(text)

        @monitor(registry=stats, exporters=[PrometheusExporter(collectors)])
        def rank(items):
            return sorted(items)
        """
    )
    for _ in range(2):  # the cell run twice: new exporters, new functions, same names
        exec(compile(cell, "<cell>", "exec"), namespace)
    namespace["embed"]("abc")
    samples = parse(generate_latest(collectors).decode())
    assert samples["mlops_calls_total", labels(function="embed", outcome="ok")] == 1
    assert samples["mlops_calls_total", labels(function="rank", outcome="ok")] == 0


def test_prometheus_refuses_a_registry_whose_names_are_taken() -> None:
    collectors = CollectorRegistry()
    Counter("mlops_calls", "someone else's", registry=collectors)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        PrometheusExporter(collectors)


def test_prometheus_global_registry_by_default() -> None:
    from prometheus_client import REGISTRY

    @monitor(name="global example", registry=StatsRegistry(), exporters=[PrometheusExporter()])
    def work() -> None:
        pass

    work()
    samples = parse(generate_latest(REGISTRY).decode())
    assert samples["mlops_calls_total", labels(function="global example", outcome="ok")] == 1


WORKER = """
import sys
from mlops_decorators import PrometheusExporter, monitor

exporter = PrometheusExporter()
assert exporter.multiprocess

@monitor(exporters=[exporter], labels=lambda kind: {"kind": kind})
def handle(kind):
    if kind == "bad":
        raise ValueError(kind)

calls = int(sys.argv[1])
for i in range(calls):
    handle("good")
try:
    handle("bad")
except ValueError:
    pass
"""

SCRAPER = """
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

registry = CollectorRegistry()
MultiProcessCollector(registry)
print(generate_latest(registry).decode())
"""


def test_prometheus_multiprocess_mode_adds_up_the_workers(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def python(code: str, *args: str) -> str:
        completed = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        return completed.stdout

    python(WORKER, "3")  # two worker processes, one after the other: two pids, two files
    python(WORKER, "4")
    assert len(list(tmp_path.glob("*.db"))) >= 2
    samples = parse(python(SCRAPER))
    good = {"function": "handle", "kind": "good"}
    bad = {"function": "handle", "kind": "bad"}
    assert samples["mlops_calls_total", labels(**good, outcome="ok")] == 7
    assert samples["mlops_calls_total", labels(**bad, outcome="error")] == 2
    assert samples["mlops_errors_total", labels(**bad, error_type="ValueError")] == 2
    assert samples["mlops_call_duration_seconds_count", labels(**good)] == 7
    assert samples["mlops_call_duration_seconds_bucket", labels(**good, le="+Inf")] == 7
    assert samples["mlops_calls_in_progress", labels(**good)] == 0


# -- OpenTelemetry ----------------------------------------------------------------------------


@pytest.fixture
def otel() -> Iterator[tuple[OpenTelemetryExporter, InMemorySpanExporter, InMemoryMetricReader]]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield (
        OpenTelemetryExporter(tracer_provider=tracer_provider, meter_provider=meter_provider),
        spans,
        reader,
    )
    meter_provider.shutdown()
    tracer_provider.shutdown()


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: list(metric.data.data_points)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def test_otel_spans_nest_and_failures_are_recorded(otel: Any) -> None:
    exporter, spans, _ = otel

    @monitor(name="inner", registry=StatsRegistry(), exporters=[exporter])
    def inner(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x

    @monitor(name="outer", registry=StatsRegistry(), exporters=[exporter], labels={"job": "a"})
    def outer(x: int) -> int:
        return inner(x) + inner(abs(x))

    assert outer(2) == 4
    with pytest.raises(ValueError, match="negative"):
        outer(-1)
    finished: list[ReadableSpan] = list(spans.get_finished_spans())
    assert [s.name for s in finished] == ["inner", "inner", "outer", "inner", "outer"]
    first_outer = finished[2]
    assert all(s.parent is not None for s in finished[:2])
    assert {s.parent.span_id for s in finished[:2] if s.parent} == {first_outer.context.span_id}
    assert first_outer.parent is None
    assert first_outer.attributes == {"code.function.name": "outer", "job": "a"}
    assert first_outer.status.status_code is StatusCode.UNSET

    failed_inner, failed_outer = finished[3], finished[4]
    for span in (failed_inner, failed_outer):
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "ValueError: negative"
        assert span.attributes is not None
        assert span.attributes["error.type"] == "ValueError"
        [event] = span.events
        assert event.name == "exception"
        assert event.attributes is not None
        assert event.attributes["exception.type"] == "ValueError"
    assert failed_inner.parent is not None
    assert failed_inner.parent.span_id == failed_outer.context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # every context detached


async def test_otel_async_children_of_concurrent_tasks(otel: Any) -> None:
    exporter, spans, _ = otel
    stats = StatsRegistry()

    @monitor(name="fetch", registry=stats, exporters=[exporter])
    async def fetch(i: int) -> int:
        await asyncio.sleep(0)
        return i

    @monitor(name="batch", registry=stats, exporters=[exporter])
    async def batch() -> list[int]:
        return list(await asyncio.gather(*(fetch(i) for i in range(3))))

    assert await asyncio.gather(batch(), batch()) == [[0, 1, 2], [0, 1, 2]]
    finished = spans.get_finished_spans()
    batches = {s.context.span_id for s in finished if s.name == "batch"}
    fetches = [s for s in finished if s.name == "fetch"]
    assert len(batches) == 2
    assert len(fetches) == 6
    parents = [s.parent.span_id for s in fetches if s.parent]
    assert sorted(parents.count(b) for b in batches) == [3, 3]


def test_otel_metrics(clock: FakeClock, otel: Any) -> None:
    exporter, _, reader = otel

    @monitor(name="score", registry=StatsRegistry(), exporters=[exporter], labels={"m": "x"})
    def score(x: float) -> float:
        clock.advance(x)
        if x > 1:
            raise KeyError(x)
        return x

    score(0.5)
    score(0.25)
    with pytest.raises(KeyError):
        score(2.0)
    points = metric_points(reader)
    calls = {p.attributes["outcome"]: p.value for p in points["mlops.calls"]}
    assert calls == {"ok": 2, "error": 1}
    [errors] = points["mlops.errors"]
    assert (dict(errors.attributes), errors.value) == (
        {"function": "score", "m": "x", "error_type": "KeyError"},
        1,
    )
    [duration] = points["mlops.call.duration"]
    assert (duration.count, duration.sum, duration.max) == (3, 2.75, 2.0)
    assert duration.explicit_bounds[:2] == (0.001, 0.0025)  # our buckets, advised
    [in_progress] = points["mlops.calls.in_progress"]
    assert in_progress.value == 0


def test_otel_is_a_no_op_without_an_sdk() -> None:
    exporter = OpenTelemetryExporter()  # the global providers: proxies, no SDK configured
    seen = []

    @monitor(name="plain", registry=StatsRegistry(), exporters=[exporter])
    def plain() -> str:
        seen.append(trace.get_current_span().get_span_context().is_valid)
        return "ok"

    assert plain() == "ok"
    assert seen == [False]
    assert monitor_stats(plain).export_errors == 0


# -- DogStatsD --------------------------------------------------------------------------------


@pytest.fixture
def agent() -> Iterator[socket.socket]:
    """A UDP socket on loopback standing in for the Datadog agent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    yield sock
    sock.close()


@pytest.fixture
def statsd(agent: socket.socket) -> Iterator[StatsDExporter]:
    exporter = StatsDExporter(port=agent.getsockname()[1], prefix="ml", tags={"env": "test"})
    yield exporter
    exporter.close()


def test_statsd_datagrams(clock: FakeClock, agent: socket.socket, statsd: StatsDExporter) -> None:
    @monitor(name="embed", registry=StatsRegistry(), exporters=[statsd], labels={"model": "a,b|c"})
    def embed(x: float) -> float:
        clock.advance(x)
        if x > 1:
            raise TimeoutError
        return x

    embed(0.0125)
    with pytest.raises(TimeoutError):
        embed(2.0)
    ok = agent.recv(4096).decode().split("\n")
    failed = agent.recv(4096).decode().split("\n")
    tags = "function:embed,model:a_b_c,env:test"
    assert ok == [
        "ml.calls:1|c|#function:embed,outcome:ok,model:a_b_c,env:test",
        f"ml.call.duration:12.500|ms|#{tags}",
    ]
    assert failed == [
        "ml.calls:1|c|#function:embed,outcome:error,model:a_b_c,env:test",
        f"ml.call.duration:2000.000|ms|#{tags}",
        f"ml.errors:1|c|#{tags},error_type:TimeoutError",
    ]


def test_statsd_without_a_listener_never_fails_the_call() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed below: nobody listens there
    exporter = StatsDExporter(port=port, tags=["team:ml"])

    @monitor(name="lonely", registry=StatsRegistry(), exporters=[exporter])
    def lonely() -> int:
        return 1

    assert [lonely() for _ in range(5)] == [1] * 5
    assert monitor_stats(lonely).export_errors == 0
    exporter.close()
    exporter.close()  # closing twice is fine


def test_statsd_send_failures_are_counted(
    statsd: StatsDExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(datagram: bytes) -> None:
        raise BlockingIOError("send buffer full")

    monkeypatch.setattr(statsd, "send", full)

    @monitor(name="busy", registry=StatsRegistry(), exporters=[statsd])
    def busy() -> str:
        return "done"

    assert busy() == "done"
    assert monitor_stats(busy).export_errors == 1


def test_statsd_host_is_resolved_once_when_made(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(_statsd.socket, "getaddrinfo", unknown)
    with pytest.raises(ValueError, match=r"host 'agent\.invalid' cannot be resolved"):
        StatsDExporter("agent.invalid")


# -- JSON logs --------------------------------------------------------------------------------


def test_json_formatter_writes_a_failure_as_one_searchable_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    class Opaque:
        def __repr__(self) -> str:
            return "Opaque()"

    @monitor(name="transform", registry=StatsRegistry(), labels={"stage": "clean"})
    def transform(rows: list[int], token: str, extra: Any = None) -> None:
        raise ValueError("empty rows")

    with pytest.raises(ValueError, match="empty rows"):
        transform([], "t0k3n", extra=Opaque())
    [record] = [r for r in caplog.records if getattr(r, "function", None) == "transform"]
    record.opaque = Opaque()  # a value JSON cannot encode is written as its str()
    line = JsonFormatter(fields=("process",)).format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "ERROR"
    assert data["message"].startswith("transform raised ValueError: empty rows after ")
    assert (data["function"], data["outcome"], data["exception"]) == (
        "transform",
        "error",
        "ValueError",
    )
    assert data["labels"] == {"stage": "clean"}
    assert data["call_args"] == {"rows": "[]", "token": "'***'", "extra": "Opaque()"}
    assert data["system"]["rss_bytes"] > 0
    assert data["process"] == os.getpid()
    assert data["opaque"] == "Opaque()"
    assert data["exc_info"].startswith("Traceback (most recent call last)")
    assert data["time"].endswith("Z")
    assert "t0k3n" not in line


def test_prometheus_multiprocess_writes_each_call_through_prometheus_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-call writer of multiprocess mode, in this process (prometheus_client keeps the
    values in memory here: it chose its value class when first imported)."""
    from mlops_decorators.monitoring import _prometheus

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/nonexistent")
    monkeypatch.setattr(_prometheus, "_metrics", {})
    exporter = PrometheusExporter()
    assert exporter.multiprocess
    assert repr(exporter) == "PrometheusExporter(multiprocess=True)"
    release = threading.Event()

    @monitor(
        name="written",
        registry=StatsRegistry(max_error_types=1),
        exporters=[exporter],
        labels={"kind": "k"},
    )
    def written(error: type[Exception] | None = None, hold: bool = False) -> None:
        if hold:
            release.wait()
        if error is not None:
            raise error("x")

    written()
    for error in (KeyError, KeyError, ValueError):
        with pytest.raises(error):
            written(error)
    threads, _ = start_threads(lambda: written(hold=True), 2)
    try:
        wait_until(lambda: monitor_stats(written).in_progress == 2)
        metrics = _prometheus._metrics["kind",]
        samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for metric in (metrics.calls, metrics.errors, metrics.duration, metrics.in_progress)
            for family in metric.collect()
            for s in family.samples
        }
    finally:
        release.set()
        for thread in threads:
            thread.join()
    own = {"function": "written", "kind": "k"}
    assert samples["mlops_calls_total", labels(**own, outcome="ok")] == 1
    assert samples["mlops_calls_total", labels(**own, outcome="error")] == 3
    assert samples["mlops_errors_total", labels(**own, error_type="KeyError")] == 2
    assert samples["mlops_errors_total", labels(**own, error_type="other")] == 1  # bounded
    assert samples["mlops_call_duration_seconds_count", labels(**own)] == 4
    assert samples["mlops_calls_in_progress", labels(**own)] == 2


@pytest.mark.parametrize(
    ("module", "make", "extra"),
    [
        ("prometheus_client", PrometheusExporter, "prometheus"),
        ("opentelemetry", OpenTelemetryExporter, "otel"),
    ],
)
def test_a_missing_library_names_the_extra_to_install(
    module: str, make: Any, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like
    with pytest.raises(ImportError, match=rf"pip install 'mlops-decorators\[{extra}\]'"):
        make()


def test_exporters_say_what_they_are(statsd: StatsDExporter) -> None:
    assert repr(statsd) == f"StatsDExporter(address={statsd.address!r}, prefix='ml')"
    assert repr(OpenTelemetryExporter()).startswith("OpenTelemetryExporter(tracer=")
    assert repr(StatsRegistry()) == "<Registry of 0 series>"


def test_json_formatter_keeps_stack_info() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "here", (), None, sinfo="Stack")
    data = json.loads(JsonFormatter().format(record))
    assert (data["message"], data["stack_info"]) == ("here", "Stack")


def test_prometheus_multiprocess_dir_set_too_late_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """prometheus_client was imported without PROMETHEUS_MULTIPROC_DIR: it keeps its values in
    memory, so setting the variable now would silently lose every multiprocess figure."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/nonexistent")
    with caplog.at_level(logging.WARNING, logger="mlops_decorators.monitoring"):
        PrometheusExporter()
    assert any("set it before the process starts" in r.getMessage() for r in caplog.records)
