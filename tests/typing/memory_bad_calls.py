# pyright: strict
"""Never executed: wrong calls that ``mypy --strict`` and pyright must reject on the lines
marked ``# E: <error code>`` (tests/test_typing.py)."""

from __future__ import annotations

from mlops_decorators import memory_guard, memory_guard_stats


@memory_guard
def load(rows: int) -> list[float]:
    return [0.0] * rows


load("3")  # E: arg-type
text: str = load(1)  # E: assignment
memory_guard(90)  # E: call-overload
memory_guard(action="explode")  # E: call-overload
memory_guard(max_rss=1.5)  # E: call-overload
memory_guard(probe=object())  # E: call-overload
refused: str = memory_guard_stats(load).refused  # E: assignment
