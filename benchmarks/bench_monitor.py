"""`monitor` next to prometheus_client's ``Histogram.time()`` decorator.

``Histogram.time()`` times a call and observes its duration in one histogram: no error
counts, no calls in progress, no labels, and for an ``async def`` only the creation of the
coroutine. ``@monitor`` counts calls, errors by type and calls in progress, and keeps a
histogram and percentiles, into the in-process registry; with `PrometheusExporter` attached
the exporter reads that registry when scraped, so a call costs the same.

The exporters that work per call (a span, a datagram) are timed for reference: they cost what
their libraries cost.
"""

from __future__ import annotations

import logging
import socket

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from overhead import Group
from prometheus_client import CollectorRegistry, Histogram

from mlops_decorators import (
    OpenTelemetryExporter,
    PrometheusExporter,
    StatsDExporter,
    StatsRegistry,
    monitor,
)

HISTOGRAM = "prometheus_client Histogram.time()"


def _work() -> int:
    return 1


async def _async_work() -> int:
    return 1


def groups() -> list[Group]:
    # The monitored functions' module logger, disabled: "logging disabled" in the target.
    logging.getLogger(__name__).setLevel(logging.CRITICAL)
    collectors = CollectorRegistry()
    histogram = Histogram("bench_seconds", "Histogram.time() as a decorator", registry=collectors)
    async_histogram = Histogram("bench_async_seconds", "the same, async", registry=collectors)
    prometheus = PrometheusExporter(collectors)
    # A real UDP socket with nobody reading: the datagrams are sent and dropped by the kernel.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    statsd = StatsDExporter(port=sink.getsockname()[1])
    # The SDK with no span processor or metric reader: spans and points made, then dropped.
    otel = OpenTelemetryExporter(tracer_provider=TracerProvider(), meter_provider=MeterProvider())

    def monitored(*exporters: object, async_: bool = False) -> object:
        target = _async_work if async_ else _work
        return monitor(registry=StatsRegistry(), exporters=list(exporters))(target)  # type: ignore[arg-type]

    timed = histogram.time()(_work)
    return [
        Group(
            name="monitor (sync, logging disabled)",
            bare=_work,
            ours=monitored(),
            peers={HISTOGRAM: timed},
            targets={HISTOGRAM: 0.5},
        ),
        Group(
            name="monitor + PrometheusExporter (sync)",
            bare=_work,
            ours=monitored(prometheus),
            peers={HISTOGRAM: timed},
            targets={HISTOGRAM: 1.5},
        ),
        Group(
            name="monitor (async, logging disabled)",
            bare=_async_work,
            ours=monitored(async_=True),
            # Reference only: it times the creation of the coroutine, not the awaited work.
            peers={f"{HISTOGRAM} (reference)": async_histogram.time()(_async_work)},
            is_async=True,
        ),
        Group(name="monitor + StatsDExporter (sync)", bare=_work, ours=monitored(statsd)),
        Group(name="monitor + OpenTelemetryExporter (SDK)", bare=_work, ours=monitored(otel)),
    ]
