"""Shared fixtures: every test starts with clean global state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from mlops_decorators import reset_timer_stats

# Properties here assert behaviour, never speed: a busy CI core must not fail an example
# for taking longer than hypothesis' default 200 ms deadline.
settings.register_profile("mlops", deadline=None)
settings.load_profile("mlops")


@pytest.fixture(autouse=True)
def _fresh_timer_stats() -> Iterator[None]:
    reset_timer_stats()
    yield
    reset_timer_stats()
