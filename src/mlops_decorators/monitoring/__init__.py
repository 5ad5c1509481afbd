"""`monitor`: metrics, structured logs and traces of every call, with no setup needed.

``@monitor`` measures each call (duration, outcome, errors by type, calls in progress) into
the statistics registry `timer` shares, logs one structured record per call and every failure
with its arguments and the state of the system, and sends the figures to exporters:
`PrometheusExporter`, `OpenTelemetryExporter`, `StatsDExporter` (DogStatsD), or your own
`Exporter`. ``monitor.report()`` shows a table (HTML in Jupyter), ``monitor.snapshot()`` gives
plain data, `JsonFormatter` turns the records into JSON lines.

prometheus_client and opentelemetry are imported when an exporter is created, psutil only
where ``/proc`` cannot answer; none of them at import.
"""

from __future__ import annotations

from .._report import StatsReport
from .._stats import LastError
from .._stats import Registry as StatsRegistry
from ._data import CallObserver, Exporter, MonitoredSeries, MonitorStats
from ._decorator import Monitor, monitor, monitor_stats
from ._jsonlog import JsonFormatter
from ._otel import OpenTelemetryExporter
from ._prometheus import PrometheusExporter
from ._statsd import StatsDExporter

__all__ = [
    "CallObserver",
    "Exporter",
    "JsonFormatter",
    "LastError",
    "Monitor",
    "MonitorStats",
    "MonitoredSeries",
    "OpenTelemetryExporter",
    "PrometheusExporter",
    "StatsDExporter",
    "StatsRegistry",
    "StatsReport",
    "monitor",
    "monitor_stats",
]
