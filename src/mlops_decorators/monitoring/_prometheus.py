"""`PrometheusExporter`: monitored functions as Prometheus metrics (``prometheus`` extra).

In one process the exporter costs nothing per call: a collector registered once per
`CollectorRegistry` reads the statistics registry when Prometheus scrapes. Re-creating the
exporter (a re-run notebook cell) or exporting many functions never registers anything twice,
so prometheus_client's "Duplicated timeseries" error cannot happen.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn or uvicorn workers), a scrape reaches one
worker only, so each call is written through prometheus_client's own metrics into the
per-process files that `prometheus_client.multiprocess.MultiProcessCollector` adds up.
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .._checks import instance_of, optional
from .._fork import fork_safe_lock
from .._stats import DURATION_BUCKETS_S, Registry
from ._data import MonitoredSeries

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

CALLS = "mlops_calls"
ERRORS = "mlops_errors"
DURATION = "mlops_call_duration_seconds"
IN_PROGRESS = "mlops_calls_in_progress"
_HELP = {
    CALLS: "Calls of monitored functions that finished, by outcome (ok or error).",
    ERRORS: "Calls of monitored functions that raised, by exception type.",
    DURATION: "Duration of calls of monitored functions, in seconds.",
    IN_PROGRESS: "Calls of monitored functions started and not finished yet.",
}


def _import() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise ImportError(
            "PrometheusExporter needs prometheus_client: pip install 'mlops-decorators[prometheus]'"
        ) from exc
    return prometheus_client


class PrometheusExporter:
    """Export monitored functions to Prometheus.

    Metrics (``function`` is the monitored name; a function's own labels are added):

    - ``mlops_calls_total{function, outcome}``: calls that finished, ``outcome`` ``ok`` or
      ``error``;
    - ``mlops_errors_total{function, error_type}``: calls that raised, by exception class;
    - ``mlops_call_duration_seconds{function}``: a histogram (buckets from 1 ms to 5 min);
    - ``mlops_calls_in_progress{function}``: a gauge.

    Args:
        registry: The `prometheus_client.CollectorRegistry` to register with; defaults to
            prometheus_client's global ``REGISTRY``. Exporters on one registry share one
            collector. Not used in multiprocess mode, where
            `prometheus_client.multiprocess.MultiProcessCollector` reads the metrics.

    Raises:
        ImportError: prometheus_client is not installed.
        TypeError: ``registry`` is not a `CollectorRegistry`.

    Attributes:
        multiprocess: Whether ``PROMETHEUS_MULTIPROC_DIR`` was set when it was created.

    Example:
        >>> from prometheus_client import CollectorRegistry, generate_latest
        >>> from mlops_decorators import PrometheusExporter, monitor
        >>> registry = CollectorRegistry()
        >>> @monitor(exporters=[PrometheusExporter(registry)])
        ... def double(x: float) -> float:
        ...     return 2 * x
        >>> double(1.5)
        3.0
        >>> text = generate_latest(registry).decode()
        >>> 'mlops_calls_total{function="double",outcome="ok"} 1.0' in text
        True
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        prometheus_client = _import()
        what = "a prometheus_client.CollectorRegistry"
        registry = optional(
            instance_of, "registry", registry, prometheus_client.CollectorRegistry, what=what
        )
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        if self.multiprocess and _keeps_values_in_memory(prometheus_client):
            # prometheus_client picked its value store when first imported: the per-process
            # files MultiProcessCollector adds up would stay empty, losing every figure.
            logger.warning(
                "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported, so "
                "prometheus_client keeps its values in memory and /metrics will not add up the "
                "workers' figures: set it before the process starts"
            )
        self._collector = (
            None if self.multiprocess else _collector(registry or prometheus_client.REGISTRY)
        )

    def __repr__(self) -> str:
        return f"PrometheusExporter(multiprocess={self.multiprocess})"

    def bind(self, series: MonitoredSeries) -> _Written | None:
        """Export `series`: read when scraped, or written on each call in multiprocess mode.

        Returns:
            None in one process (nothing to do per call), else the observer writing each call.
        """
        if self._collector is not None:
            self._collector.add(series.registry, series.name)
            return None
        return _Written(series)


# -- one process: read the statistics registry when scraped ---------------------------------

_collectors: weakref.WeakKeyDictionary[Any, _Collector] = weakref.WeakKeyDictionary()
_collectors_lock = fork_safe_lock(sys.modules[__name__], "_collectors_lock")


def _collector(registry: CollectorRegistry) -> _Collector:
    """The collector of `registry`, registered on first use (get-or-create)."""
    with _collectors_lock:
        collector = _collectors.get(registry)
        if collector is None:
            collector = _Collector()
            registry.register(collector)
            _collectors[registry] = collector
        return collector


class _Collector:
    """Reads the exported names from their statistics registries at each scrape."""

    def __init__(self) -> None:
        self._lock = fork_safe_lock(self, "_lock")
        self._names: dict[int, tuple[Registry, set[str]]] = {}

    def add(self, registry: Registry, name: str) -> None:
        with self._lock:
            self._names.setdefault(id(registry), (registry, set()))[1].add(name)

    def describe(self) -> list[Any]:
        """The metric names, so that a registry refuses another collector using them."""
        return list(_families(()).values())

    def collect(self) -> Iterator[Any]:
        with self._lock:
            sources = [(registry, frozenset(names)) for registry, names in self._names.values()]
        snapshots = [s for registry, names in sources for s in registry.snapshots(names)]
        keys = sorted({key for s in snapshots for key in s.labels})
        families = _families(keys)
        calls, errors, duration, in_progress = families.values()
        bounds = [*(_go_float(b) for b in DURATION_BUCKETS_S), "+Inf"]
        for s in snapshots:
            own = [s.labels.get(key, "") for key in keys]  # an empty value is no label
            failed = sum(s.errors.values())
            calls.add_metric([s.name, "ok", *own], s.count - failed)
            calls.add_metric([s.name, "error", *own], failed)
            for kind, count in s.errors.items():
                errors.add_metric([s.name, kind, *own], count)
            duration.add_metric(
                [s.name, *own],
                buckets=list(zip(bounds, s.buckets, strict=True)),
                sum_value=s.total_s,
            )
            in_progress.add_metric([s.name, *own], s.in_progress)
        yield from families.values()


def _families(keys: Sequence[str]) -> dict[str, Any]:
    """Empty metric families, the label names of the monitored functions added."""
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )

    return {
        CALLS: CounterMetricFamily(CALLS, _HELP[CALLS], labels=["function", "outcome", *keys]),
        ERRORS: CounterMetricFamily(
            ERRORS, _HELP[ERRORS], labels=["function", "error_type", *keys]
        ),
        DURATION: HistogramMetricFamily(DURATION, _HELP[DURATION], labels=["function", *keys]),
        IN_PROGRESS: GaugeMetricFamily(IN_PROGRESS, _HELP[IN_PROGRESS], labels=["function", *keys]),
    }


def _go_float(value: float) -> str:
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


# -- multiprocess mode: write every call into prometheus_client's per-process files ---------

_metrics: dict[tuple[str, ...], _Metrics] = {}
_metrics_lock = fork_safe_lock(sys.modules[__name__], "_metrics_lock")


class _Metrics:
    """prometheus_client metrics for one set of label names, never registered: in
    multiprocess mode the MultiProcessCollector reads their files, whatever registers them."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        prometheus_client = _import()
        self.calls = prometheus_client.Counter(
            CALLS, _HELP[CALLS], ["function", "outcome", *keys], registry=None
        )
        self.errors = prometheus_client.Counter(
            ERRORS, _HELP[ERRORS], ["function", "error_type", *keys], registry=None
        )
        self.duration = prometheus_client.Histogram(
            DURATION,
            _HELP[DURATION],
            ["function", *keys],
            buckets=DURATION_BUCKETS_S,
            registry=None,
        )
        self.in_progress = prometheus_client.Gauge(
            IN_PROGRESS,
            _HELP[IN_PROGRESS],
            ["function", *keys],
            registry=None,
            multiprocess_mode="livesum",  # the sum over the workers alive
        )

    @staticmethod
    def of(keys: tuple[str, ...]) -> _Metrics:
        with _metrics_lock:
            metrics = _metrics.get(keys)
            if metrics is None:
                metrics = _metrics[keys] = _Metrics(keys)
            return metrics


class _Written:
    """Writes each call of one series (multiprocess mode)."""

    __slots__ = ("_error", "_errors", "_ok", "_values", "duration", "in_progress", "series")

    def __init__(self, series: MonitoredSeries) -> None:
        keys = tuple(sorted(series.labels))
        metrics = _Metrics.of(keys)
        self.series = series
        self._values = [series.labels[key] for key in keys]
        self._ok = metrics.calls.labels(series.name, "ok", *self._values)
        self._error = metrics.calls.labels(series.name, "error", *self._values)
        self._errors = metrics.errors
        self.duration = metrics.duration.labels(series.name, *self._values)
        self.in_progress = metrics.in_progress.labels(series.name, *self._values)

    def start(self) -> None:
        self.in_progress.inc()

    def finish(self, token: object, duration_s: float, error: BaseException | None) -> None:
        self.in_progress.dec()
        self.duration.observe(duration_s)
        if error is None:
            self._ok.inc()
            return
        self._error.inc()
        kind = self.series.error_type(error)
        self._errors.labels(self.series.name, kind, *self._values).inc()


def _keeps_values_in_memory(prometheus_client: Any) -> bool:
    """Whether prometheus_client chose its in-memory value store (at its first import)."""
    values = prometheus_client.values
    return bool(values.ValueClass is values.MutexValue)
