"""Production decorators for ML and infrastructure code.

Every public name is importable from the package top level, lazily: ``import
mlops_decorators`` imports none of the submodules, and ``from mlops_decorators import
timer`` imports only the module that defines `timer`. Heavy dependencies (numpy, pydantic,
psutil, redis, prometheus_client, opentelemetry) are imported by the decorators that need
them, when first needed.

Example:
    >>> from mlops_decorators import log_calls, timer
    >>> @timer
    ... @log_calls
    ... def add(a: int, b: int) -> int:
    ...     return a + b
    >>> add(1, 2)
    3
"""

from __future__ import annotations

# `typing` costs ~10 ms to import; type checkers treat this name like typing.TYPE_CHECKING.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ._report import StatsReport
    from .caching import (
        CacheBackend,
        CacheInfo,
        MemoryBackend,
        RedisBackend,
        SQLiteBackend,
        cache_clear,
        cache_info,
        cache_invalidate,
        cache_result,
        reset_cache_settings,
        set_caching,
    )
    from .call_logging import DEFAULT_REDACT, log_calls
    from .exceptions import (
        InputValidationError,
        MemoryGuardError,
        MlopsDecoratorsError,
        RetryExhaustedError,
    )
    from .memory import (
        GpuReading,
        MemoryGuardStats,
        MemoryProbe,
        MemoryReading,
        memory_guard,
        memory_guard_stats,
    )
    from .monitoring import (
        CallObserver,
        Exporter,
        JsonFormatter,
        LastError,
        Monitor,
        MonitoredSeries,
        MonitorStats,
        OpenTelemetryExporter,
        PrometheusExporter,
        StatsDExporter,
        StatsRegistry,
        monitor,
        monitor_stats,
    )
    from .retrying import (
        Attempt,
        RetryBudget,
        RetryContext,
        RetryState,
        RetryStats,
        reset_retry_settings,
        retry,
        retry_context,
        retry_stats,
        set_retries,
        set_retry_waits,
    )
    from .timing import (
        Timer,
        TimerStats,
        get_timer_stats,
        reset_timer_stats,
        timer,
        timer_report,
        timer_stats,
    )
    from .validation import Array, ValidationStats, validate_input, validate_input_stats

# Public name -> the submodule that defines it. Module names never equal a public name, so
# importing a submodule can never shadow a decorator on the package (see tests/test_package.py).
_EXPORTS: dict[str, str] = {
    "CacheBackend": "caching",
    "CacheInfo": "caching",
    "MemoryBackend": "caching",
    "RedisBackend": "caching",
    "SQLiteBackend": "caching",
    "cache_clear": "caching",
    "cache_info": "caching",
    "cache_invalidate": "caching",
    "cache_result": "caching",
    "reset_cache_settings": "caching",
    "set_caching": "caching",
    "DEFAULT_REDACT": "call_logging",
    "log_calls": "call_logging",
    "InputValidationError": "exceptions",
    "MemoryGuardError": "exceptions",
    "MlopsDecoratorsError": "exceptions",
    "RetryExhaustedError": "exceptions",
    "GpuReading": "memory",
    "MemoryGuardStats": "memory",
    "MemoryProbe": "memory",
    "MemoryReading": "memory",
    "memory_guard": "memory",
    "memory_guard_stats": "memory",
    "CallObserver": "monitoring",
    "Exporter": "monitoring",
    "JsonFormatter": "monitoring",
    "LastError": "monitoring",
    "Monitor": "monitoring",
    "MonitoredSeries": "monitoring",
    "MonitorStats": "monitoring",
    "OpenTelemetryExporter": "monitoring",
    "PrometheusExporter": "monitoring",
    "StatsDExporter": "monitoring",
    "StatsRegistry": "monitoring",
    "monitor": "monitoring",
    "monitor_stats": "monitoring",
    "StatsReport": "_report",
    "Attempt": "retrying",
    "RetryBudget": "retrying",
    "RetryContext": "retrying",
    "RetryState": "retrying",
    "RetryStats": "retrying",
    "reset_retry_settings": "retrying",
    "retry": "retrying",
    "retry_context": "retrying",
    "retry_stats": "retrying",
    "set_retries": "retrying",
    "set_retry_waits": "retrying",
    "Timer": "timing",
    "TimerStats": "timing",
    "get_timer_stats": "timing",
    "reset_timer_stats": "timing",
    "timer": "timing",
    "timer_report": "timing",
    "timer_stats": "timing",
    "Array": "validation",
    "ValidationStats": "validation",
    "validate_input": "validation",
    "validate_input_stats": "validation",
}

__all__ = [
    "DEFAULT_REDACT",
    "Array",
    "Attempt",
    "CacheBackend",
    "CacheInfo",
    "CallObserver",
    "Exporter",
    "GpuReading",
    "InputValidationError",
    "JsonFormatter",
    "LastError",
    "MemoryBackend",
    "MemoryGuardError",
    "MemoryGuardStats",
    "MemoryProbe",
    "MemoryReading",
    "MlopsDecoratorsError",
    "Monitor",
    "MonitorStats",
    "MonitoredSeries",
    "OpenTelemetryExporter",
    "PrometheusExporter",
    "RedisBackend",
    "RetryBudget",
    "RetryContext",
    "RetryExhaustedError",
    "RetryState",
    "RetryStats",
    "SQLiteBackend",
    "StatsDExporter",
    "StatsRegistry",
    "StatsReport",
    "Timer",
    "TimerStats",
    "ValidationStats",
    "__version__",
    "cache_clear",
    "cache_info",
    "cache_invalidate",
    "cache_result",
    "get_timer_stats",
    "log_calls",
    "memory_guard",
    "memory_guard_stats",
    "monitor",
    "monitor_stats",
    "reset_cache_settings",
    "reset_retry_settings",
    "reset_timer_stats",
    "retry",
    "retry_context",
    "retry_stats",
    "set_caching",
    "set_retries",
    "set_retry_waits",
    "timer",
    "timer_report",
    "timer_stats",
    "validate_input",
    "validate_input_stats",
]


# Hidden from type checkers: they would read every unknown name, misspellings included, as
# an `Any` that this function returns. They see the TYPE_CHECKING imports above instead.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module_name = _EXPORTS.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(f".{module_name}", __name__), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
