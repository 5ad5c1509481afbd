# pyright: strict
"""Never executed: type-checked by ``mypy --strict`` and pyright (see tests/test_typing.py).

`monitor` keeps the decorated signature and return type, bare or called, sync or async, on
functions and methods; `monitor_stats` reads them; the report is a str with an HTML form; the
exporters and a custom exporter satisfy `Exporter`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from typing_extensions import assert_type

from mlops_decorators import (
    Exporter,
    JsonFormatter,
    MonitoredSeries,
    MonitorStats,
    OpenTelemetryExporter,
    PrometheusExporter,
    StatsDExporter,
    StatsRegistry,
    StatsReport,
    monitor,
    monitor_stats,
)


class Printing:
    def bind(self, series: MonitoredSeries) -> Printing.Observer:
        return Printing.Observer()

    class Observer:
        def start(self) -> None:
            return None

        def finish(self, token: object, duration_s: float, error: BaseException | None) -> None:
            pass


def batch_labels(rows: list[float]) -> Mapping[str, str | float]:
    return {"size": len(rows)}


@monitor
def bare(rows: list[float], scale: float = 1.0) -> list[float]:
    return [scale * r for r in rows]


@monitor(
    name="scored",
    labels={"model": "resnet50", "version": 2},
    log_level=logging.INFO,
    capture_args=True,
    system_metrics=True,
    slow=timedelta(seconds=1),
    exporters=[Printing(), PrometheusExporter(), OpenTelemetryExporter(), StatsDExporter()],
    registry=StatsRegistry(window=256),
)
async def scored(rows: list[float]) -> float:
    return sum(rows)


@monitor(labels=batch_labels, capture_args="on_error", log_level="DEBUG", slow=0.5)
def labelled(rows: list[float]) -> int:
    return len(rows)


class Model:
    @monitor
    def predict(self, x: float) -> float:
        return x


assert_type(bare([1.0]), list[float])
assert_type(bare([1.0], scale=2.0), list[float])
assert_type(labelled([1.0]), int)
assert_type(Model().predict(1.0), float)
stats = assert_type(monitor_stats(bare), MonitorStats)
assert_type(stats.calls, int)
assert_type(stats.errors, Mapping[str, int])
assert_type(stats.p95_s, float)
assert_type(stats.error_rate, float)
assert_type(stats.by_labels, tuple[MonitorStats, ...])
assert_type(monitor_stats(Model().predict), MonitorStats)
assert_type(monitor_stats(scored), MonitorStats)
report = assert_type(monitor.report(), StatsReport)
text: str = report
assert_type(monitor.snapshot(), list[dict[str, Any]])
assert_type(monitor.reset(), None)
monitor.set_default_exporters([PrometheusExporter(), Printing()])
exporter: Exporter = Printing()
formatter: logging.Formatter = JsonFormatter(fields=("process",))


async def awaits() -> None:
    assert_type(await scored([1.0]), float)
