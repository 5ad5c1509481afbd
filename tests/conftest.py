"""Shared fixtures: every test starts with clean global state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlops_decorators import reset_timer_stats


@pytest.fixture(autouse=True)
def _fresh_timer_stats() -> Iterator[None]:
    reset_timer_stats()
    yield
    reset_timer_stats()
