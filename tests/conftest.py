"""Shared fixtures: every test starts with clean global state and a fake clock at hand."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from fakes import FakeClock, fake_retry_seams
from mlops_decorators import monitor, reset_timer_stats
from mlops_decorators.caching import reset_cache_settings
from mlops_decorators.monitoring import _decorator as monitoring
from mlops_decorators.retrying import reset_retry_settings

# Properties here assert behaviour, never speed: a busy CI core must not fail an example
# for taking longer than hypothesis' default 200 ms deadline.
settings.register_profile("mlops", deadline=None)
settings.load_profile("mlops")

ENV_PREFIX = "MLOPS_DECORATORS_"


@pytest.fixture(autouse=True)
def _fresh_global_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Process-wide state back to a fresh import's, before and after each test.

    The package's own environment variables go first (a developer's shell must not change
    what the suite sees), then everything the package keeps per process: the statistics
    registry that timer and monitor record into (`reset_timer_stats` empties it), the retry
    switches, the caching switch, monitor's default exporters and its rate-limited warnings.
    """
    for name in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    _reset()
    yield
    monkeypatch.undo()  # the environment first: the switches are read from it
    _reset()


def _reset() -> None:
    reset_timer_stats()
    reset_retry_settings()
    reset_cache_settings()
    monitor.set_default_exporters([])
    monitoring._export_warning.reset()
    monitoring._labels_warning.reset()


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """A fake clock the retry engine reads and sleeps on; pass it as ``clock=`` elsewhere."""
    with fake_retry_seams() as fake:
        yield fake
