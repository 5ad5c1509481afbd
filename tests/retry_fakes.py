"""A fake clock for the retry tests: sleeping advances it, nothing waits for real."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterator
from unittest import mock

from mlops_decorators.retrying import _budget, _policy


class FakeClock:
    """``monotonic`` reads ``now``; ``sleep`` records the wait and moves ``now`` forward."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # still a real suspension point, as asyncio.sleep is


@contextlib.contextmanager
def fake_seams(seed: int = 1234, start: float = 1000.0) -> Iterator[FakeClock]:
    """Swap the engine's clock, sleeps and random source; restore the switches after."""
    clock = FakeClock(start)
    with (
        mock.patch.object(_policy, "clock", clock.monotonic),
        mock.patch.object(_budget, "clock", clock.monotonic),
        mock.patch.object(_policy, "sleep", clock.sleep),
        mock.patch.object(_policy, "async_sleep", clock.async_sleep),
        mock.patch.object(_policy, "rng", random.Random(seed)),
    ):
        try:
            yield clock
        finally:
            _policy.settings.reset()
