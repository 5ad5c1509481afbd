# pyright: strict
"""Never executed: wrong calls that ``mypy --strict`` and pyright must reject on the lines
marked ``# E: <error code>`` (tests/test_typing.py)."""

from __future__ import annotations

from mlops_decorators import monitor, monitor_stats


@monitor
def score(rows: list[float]) -> float:
    return sum(rows)


score("rows")  # E: arg-type
text: str = score([1.0])  # E: assignment
monitor("score")  # E: call-overload
monitor(capture_args="always")  # E: call-overload
monitor(exporters=[object()])  # E: list-item
monitor(labels=["model"])  # E: call-overload
calls: str = monitor_stats(score).calls  # E: assignment
monitor.set_default_exporters(3)  # E: arg-type
