"""A small inference pipeline under `monitor`: metrics, JSON logs of failures, a report.

Run it with ``python examples/monitor_pipeline.py``; it takes well under a second.

1. Logs go out as JSON lines (`JsonFormatter`): a failure carries its inputs (the API key
   redacted) and the state of the machine when it failed.
2. ``load`` and ``featurize`` are plain functions; ``predict`` is an ``async def`` with labels
   computed from its arguments (the model, and the batch size as a bucket), timed over the
   awaited work; calls slower than 50 ms are logged at WARNING.
3. Every function exports to Prometheus: the exposition is printed as a scrape would see it.
4. ``monitor.report()`` sums it up; ``monitor_stats`` reads one function.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from prometheus_client import CollectorRegistry, generate_latest

from mlops_decorators import JsonFormatter, PrometheusExporter, monitor, monitor_stats

handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(JsonFormatter())
logging.basicConfig(level=logging.WARNING, handlers=[handler])

metrics = CollectorRegistry()
monitor.set_default_exporters([PrometheusExporter(metrics)])  # every function below


class CorruptRecordError(ValueError):
    """A record the feature code cannot read."""


@monitor(system_metrics=True)
def load(day: int, api_key: str) -> list[dict[str, float]]:
    return [{"x": float(i), "y": float(i % 3)} for i in range(day * 10, day * 10 + 10)]


@monitor
def featurize(rows: list[dict[str, float]]) -> list[list[float]]:
    if any(row["x"] == 13.0 for row in rows):
        raise CorruptRecordError("row with x=13 has no label")
    return [[row["x"], row["y"]] for row in rows]


def batch_labels(model: str, features: list[list[float]]) -> dict[str, str]:
    return {"model": model, "batch": "large" if len(features) > 8 else "small"}


@monitor(labels=batch_labels, slow=0.05)
async def predict(model: str, features: list[list[float]]) -> list[float]:
    await asyncio.sleep(0.06 if model == "ensemble" else 0)  # the ensemble is slow
    return [sum(f) for f in features]


async def run_day(day: int) -> None:
    rows = load(day, api_key="sk-live-123")
    try:
        features = featurize(rows)
    except CorruptRecordError:
        return  # logged by monitor as JSON, with the rows that caused it
    await asyncio.gather(predict("linear", features), predict("tree", features[:5]))
    if day == 2:
        await predict("ensemble", features)


async def main() -> None:
    print("-- JSON log lines (the failure and the slow call) --")
    for day in (0, 1, 2):  # day 1 has a corrupt record
        await run_day(day)

    print("\n-- Prometheus exposition (excerpt) --")
    for line in generate_latest(metrics).decode().splitlines():
        if line.startswith(("mlops_calls_total", "mlops_errors_total")):
            print(line)

    print("\n-- monitor.report() --")
    print(monitor.report())
    stats = monitor_stats(predict)
    print(f"\npredict: {stats.calls} calls, p95 {stats.p95_s * 1000:.1f} ms, by labels:")
    for series in stats.by_labels:
        print(f"  {dict(series.labels)}: {series.calls}")


if __name__ == "__main__":
    asyncio.run(main())
