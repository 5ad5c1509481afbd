# pyright: strict
"""Never executed: type-checked by ``mypy --strict`` and pyright (see tests/test_typing.py).

`memory_guard` keeps the decorated signature and return type, bare or called, sync or async,
on functions and methods; `memory_guard_stats` reads them; a custom probe satisfies
`MemoryProbe` structurally.
"""

from __future__ import annotations

from datetime import timedelta

from typing_extensions import assert_type

from mlops_decorators import (
    GpuReading,
    MemoryGuardError,
    MemoryGuardStats,
    MemoryReading,
    memory_guard,
    memory_guard_stats,
)


class FixedProbe:
    def memory(self, *, exact: bool = False) -> tuple[MemoryReading, ...]:
        return (MemoryReading("host", limit=8 * 2**30, available=4 * 2**30),)

    def rss(self) -> int:
        return 2**28

    def gpu(self) -> tuple[GpuReading, ...] | None:
        return None


def rows_bytes(rows: int) -> int:
    return rows * 8


def no_rows(rows: int) -> list[float]:
    return []


@memory_guard
def bare(rows: int, scale: float = 1.0) -> list[float]:
    return [scale] * rows


@memory_guard(
    max_percent=85,
    min_available="1GiB",
    max_rss=8 * 2**30,
    estimate=rows_bytes,
    action="wait",
    collect_garbage=False,
    wait_timeout=timedelta(seconds=10),
    poll_interval=0.25,
    fallback=no_rows,
    track_peak=True,
    gpu_min_free="2 GiB",
    probe=FixedProbe(),
)
async def load(rows: int) -> list[float]:
    return [0.0] * rows


class Model:
    @memory_guard(estimate="512MiB", action="warn")
    def predict(self, x: int) -> int:
        return x


async def main() -> None:
    assert_type(bare(3), list[float])
    assert_type(await load(2), list[float])
    assert_type(Model().predict(1), int)
    stats = memory_guard_stats(bare)
    assert_type(stats, MemoryGuardStats)
    assert_type(stats.refused, int)
    assert_type(stats.last_reading, MemoryReading | None)
    try:
        bare(1)
    except MemoryGuardError as exc:
        assert_type(exc.reading, MemoryReading | None)
        assert_type(exc.option, str)
