"""A child forked while another thread holds one of the library's locks can still use them.

``fork()`` copies only the calling thread: a lock another thread holds is copied held, and no
thread of the child would ever release it. Each test holds the locks a decorator's calls take,
in a thread of its own (white-box: it takes them directly), forks inside that, and runs the
decorator's public path in the child. `run_in_child` kills a child that hangs.
"""

from __future__ import annotations

import ast
import gc
import inspect
import math
import os
import threading
import types
import weakref
from pathlib import Path
from typing import Any

import pytest

from fakes import held_elsewhere, needs_fork, run_in_child
from mlops_decorators import (
    RetryBudget,
    StatsRegistry,
    _fork,
    _resources,
    memory_guard,
    memory_guard_stats,
    monitor,
    monitor_stats,
    retry,
    timer,
    timer_stats,
)
from mlops_decorators import memory as memory_module
from mlops_decorators._stats import DurationWindow, default_registry
from mlops_decorators.caching import _wrappers, cache_result
from mlops_decorators.monitoring import _decorator

pytestmark = needs_fork

SOURCE = Path(_fork.__file__).parent
FOLD_EVERY = DurationWindow.FOLD_EVERY


def test_locks_and_objects_registered_are_fresh_in_the_child() -> None:
    """An object's lock attribute and a module's global are replaced in the child before
    ``_after_fork()`` runs; the parent keeps its own locks."""

    class Holder:
        def __init__(self) -> None:
            self.lock = _fork.fork_safe_lock(self, "lock")
            self.other = _fork.fork_safe_lock(self, "other")
            self.fresh_before_reset = False
            _fork.reset_in_child(self)

        def _after_fork(self) -> None:
            self.fresh_before_reset = not (self.lock.locked() or self.other.locked())

    holder = Holder()
    module = types.ModuleType("plugin")
    module.lock = _fork.fork_safe_lock(module, "lock")  # type: ignore[attr-defined]
    lock = holder.lock

    def child() -> None:
        assert holder.fresh_before_reset
        with holder.lock, holder.other, module.lock:
            pass

    with held_elsewhere(holder.lock, holder.other, module.lock):
        run_in_child(child)
        assert holder.lock is lock
        assert lock.locked()
    assert not holder.fresh_before_reset


def test_registration_does_not_keep_an_object_alive() -> None:
    class Holder:
        def __init__(self) -> None:
            self.lock = _fork.fork_safe_lock(self, "lock")
            _fork.reset_in_child(self)

        def _after_fork(self) -> None:
            pass

    holder = Holder()
    ref = weakref.ref(holder)
    del holder
    gc.collect()
    assert ref() is None


def test_timer() -> None:
    """The duration window folds under its lock, a failure is counted under the series',
    and a new name is made under the registry's."""

    @timer("fork.step")
    def step(fail: bool = False) -> None:
        if fail:
            raise ValueError("refused")

    step()
    series = default_registry.series("fork.step")

    def child() -> None:
        for _ in range(FOLD_EVERY):
            step()
        with pytest.raises(ValueError, match="refused"):
            step(fail=True)
        with timer("fork.block"):
            pass
        assert timer_stats(step).count == FOLD_EVERY + 2

    with held_elsewhere(default_registry._lock, series._lock, series.durations._lock):
        run_in_child(child)


def test_monitor() -> None:
    """A new label set, a fold, a failure, a label function that fails (its rate-limited
    warning) and a new monitored function, all with their locks held at the fork."""
    registry = StatsRegistry()

    @monitor(registry=registry, labels=lambda model: {"model": model.lower()})
    def predict(model: Any, fail: bool = False) -> Any:
        if fail:
            raise ValueError("refused")
        return model

    predict("a")
    state = predict.monitor_stats.__self__  # type: ignore[attr-defined]
    series = registry.series(state.name, (("model", "a"),))
    locks = [
        state.lock,
        registry._lock,
        series._lock,
        series.durations._lock,
        _decorator._defaults.lock,
        _decorator._labels_warning._lock,
    ]

    def child() -> None:
        assert predict("B") == "B"  # a new label set
        for _ in range(FOLD_EVERY):
            predict("a")
        with pytest.raises(ValueError, match="refused"):
            predict("a", fail=True)
        assert predict(1) == 1  # the labels fail: a warning

        @monitor(registry=registry)
        def later() -> None:
            pass

        later()
        assert monitor_stats(predict).calls == FOLD_EVERY + 4
        assert monitor_stats(later).calls == 1

    with held_elsewhere(*locks):
        run_in_child(child)


def test_monitor_exporting_to_prometheus() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from mlops_decorators import PrometheusExporter
    from mlops_decorators.monitoring import _prometheus

    collectors = prometheus_client.CollectorRegistry()
    exporter = PrometheusExporter(collectors)

    @monitor(name="fork_scraped", registry=StatsRegistry(), exporters=[exporter])
    def scraped() -> None:
        pass

    scraped()
    locks = [
        _prometheus._collectors_lock,
        _prometheus._collectors[collectors]._lock,
        _prometheus._metrics_lock,
    ]

    def child() -> None:
        again = PrometheusExporter(collectors)  # the registry's collector, found again

        @monitor(name="fork_later", registry=StatsRegistry(), exporters=[again])
        def later() -> None:
            pass

        later()
        scraped()
        page = prometheus_client.generate_latest(collectors).decode()
        assert 'function="fork_scraped",outcome="ok"} 2.0' in page
        assert 'function="fork_later",outcome="ok"} 1.0' in page
        # Multiprocess mode's metrics per label names (white-box: one process here).
        assert _prometheus._Metrics.of(("fork_key",)) is _prometheus._Metrics.of(("fork_key",))

    with held_elsewhere(*locks):
        run_in_child(child)


def test_retry_with_a_budget() -> None:
    """A retry spends from the budget under its lock and is counted under the statistics'."""
    budget = RetryBudget(ratio=1.0, min_retries_per_s=100.0)
    attempts: list[int] = []

    @retry(max_attempts=3, delay=0, jitter=None, budget=budget)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) % 2:
            raise ConnectionError("down")
        return len(attempts)

    assert flaky() == 2
    stats = inspect.getclosurevars(flaky.retry_stats).nonlocals["bound"].stats  # type: ignore[attr-defined]

    def child() -> None:
        assert flaky() == 4
        assert budget.can_retry()
        assert flaky.retry_stats().retries == 2  # type: ignore[attr-defined]

    with held_elsewhere(budget._lock, stats.lock):
        run_in_child(child)


def test_cache_result_in_memory_and_a_new_wrapper() -> None:
    """A miss in the memory store, and decorating another function (its wrapper is compiled
    under a module lock), with those locks held at the fork."""

    @cache_result
    def double(x: int) -> int:
        return 2 * x

    double(1)
    state = double.cache_info.__self__  # type: ignore[attr-defined]
    locks = [_wrappers._compiling, state._lock, state.store._lock]

    def child() -> None:
        assert double(1) == 2
        assert double(2) == 4

        @cache_result
        def triple(x: int) -> int:
            return 3 * x

        assert triple(1) == triple(1) == 3
        assert triple.cache_info().hits == 1  # type: ignore[attr-defined]

    with held_elsewhere(*locks):
        run_in_child(child)


def test_memory_guard() -> None:
    """A reservation, peak tracking and the probe's refresh, with their locks held at the fork
    and a guarded call of another thread still running: the child reserves nothing for it."""
    running, release = threading.Event(), threading.Event()

    @memory_guard(max_percent=100, estimate=1024, track_peak=True)
    def step(hold: bool = False) -> int:
        if hold:
            running.set()
            release.wait(10)
        return os.getpid()

    step()
    guard = step.memory_guard_stats.__self__  # type: ignore[attr-defined]
    probe = _resources.system_probe()
    locks = [
        memory_module._reservations.lock,
        memory_module._sampler._lock,
        guard._lock,
        probe._lock,
        _resources._default_lock,
    ]

    def child() -> None:
        assert step() == os.getpid()
        assert memory_module._reservations.total == 0  # the parent's call runs there only
        stats = memory_guard_stats(step)
        assert stats.calls == 3
        assert stats.peak_rss is not None
        probe._refresh_at = -math.inf  # the next reading refreshes the limits, under the lock
        assert probe.memory()
        _resources._default = None  # made again, under the module lock
        assert _resources.system_probe() is not probe

    held = threading.Thread(target=step, kwargs={"hold": True})
    held.start()
    try:
        assert running.wait(10)
        with held_elsewhere(*locks):
            run_in_child(child)
    finally:
        release.set()
        held.join()
    assert memory_module._reservations.total == 0


# -- every lock of the library -----------------------------------------------------------------

LOCK_TYPES = {"Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore"}
RESETS = {"_after_fork", "after_fork"}


def _unsafe_locks(tree: ast.Module) -> list[str]:
    """``threading.<lock>()`` calls outside `_fork`'s registrations: each must be assigned
    to ``self.<name>`` in a class whose ``_after_fork()`` assigns ``self.<name>`` again."""
    unsafe: list[str] = []

    def visit(node: ast.AST, cls: ast.ClassDef | None, method: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child, None)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, cls, child.name)
            elif isinstance(child, ast.Assign) and _makes_lock(child.value):
                target = child.targets[0]
                name = target.attr if isinstance(target, ast.Attribute) else None
                if method in RESETS or (cls is not None and name in _reset_by(cls)):
                    continue
                unsafe.append(f"line {child.lineno}: {ast.unparse(child)}")
            elif isinstance(child, ast.Call) and _makes_lock(child):
                unsafe.append(f"line {child.lineno}: {ast.unparse(child)}")
            else:
                visit(child, cls, method)

    visit(tree, None, None)
    return unsafe


def _makes_lock(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "threading"
        and node.func.attr in LOCK_TYPES
    )


def _reset_by(cls: ast.ClassDef) -> set[str]:
    """The attributes the class's ``_after_fork()`` assigns a new lock to."""
    return {
        node.targets[0].attr
        for method in cls.body
        if isinstance(method, ast.FunctionDef) and method.name in RESETS
        for node in ast.walk(method)
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Attribute)
        and _makes_lock(node.value)
    }


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(SOURCE.rglob("*.py")) if p.name != "_fork.py"],
    ids=lambda p: str(p.relative_to(SOURCE)),
)
def test_every_lock_of_the_library_is_replaced_in_a_forked_child(path: Path) -> None:
    """A new lock made with ``threading.Lock()`` would hang a forked child again: make it
    with `fork_safe_lock`, or replace it in its class's ``_after_fork()``."""
    assert _unsafe_locks(ast.parse(path.read_text(encoding="utf-8"))) == []
