"""What `monitor` hands out and what an exporter implements.

- `MonitorStats`: a function's statistics (an immutable snapshot), from `monitor_stats`.
- `Exporter` and `CallObserver`: the two small protocols an exporter implements; the
  Prometheus, OpenTelemetry and StatsD exporters are three of them.
- `MonitoredSeries`: what an exporter is told, once, about each function and label set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._stats import DURATION_BUCKETS_S, CallStats, LastError, Registry, Series


@dataclass(frozen=True, slots=True)
class MonitorStats:
    """Statistics of a monitored function (an immutable snapshot), durations in seconds.

    With ``labels=``, the figures cover every label set and `by_labels` has one snapshot per
    label set.

    Attributes:
        name: The name the function records under.
        labels: The label set (empty for a function's total).
        calls: Calls finished, failed ones included.
        errors: Exception class name -> calls that raised it, most frequent first (rare
            types beyond the first 20 count under ``"other"``).
        in_progress: Calls started and not finished yet.
        total_s: Time spent in finished calls.
        mean_s: Their mean duration.
        min_s: The shortest one.
        max_s: The longest one.
        p50_s: Median of the most recent durations (1024 per label set).
        p95_s: 95th percentile of the same.
        p99_s: 99th percentile of the same.
        last_error: The most recent exception: type, message and time, or None.
        cpu_s: CPU time used by the calls (``system_metrics=True``; else 0).
        max_rss_delta_bytes: The largest growth of the process's RSS over one call
            (``system_metrics=True``; else 0).
        export_errors: Times an exporter failed for this function (the calls went on).
        by_labels: One snapshot per label set, when the function has labels.

    Example:
        >>> from mlops_decorators import monitor, monitor_stats
        >>> @monitor
        ... def parse_count(text: str) -> int:
        ...     return int(text)
        >>> parse_count("7")
        7
        >>> stats = monitor_stats(parse_count)
        >>> stats.name, stats.calls, stats.error_count, stats.error_rate
        ('parse_count', 1, 0, 0.0)
    """

    name: str
    labels: Mapping[str, str]
    calls: int
    errors: Mapping[str, int]
    in_progress: int
    total_s: float
    mean_s: float
    min_s: float
    max_s: float
    p50_s: float
    p95_s: float
    p99_s: float
    last_error: LastError | None
    cpu_s: float
    max_rss_delta_bytes: int
    export_errors: int = 0
    by_labels: tuple[MonitorStats, ...] = ()

    @property
    def error_count(self) -> int:
        """Calls that raised, of any type."""
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        """Share of the finished calls that raised (0.0 with no calls)."""
        return self.error_count / self.calls if self.calls else 0.0


def monitor_stats_of(
    stats: CallStats, *, export_errors: int = 0, by_labels: tuple[MonitorStats, ...] = ()
) -> MonitorStats:
    """A registry snapshot as `MonitorStats`."""
    return MonitorStats(
        name=stats.name,
        labels=stats.labels,
        calls=stats.count,
        errors=stats.errors,
        in_progress=stats.in_progress,
        total_s=stats.total_s,
        mean_s=stats.mean_s,
        min_s=stats.min_s,
        max_s=stats.max_s,
        p50_s=stats.p50_s,
        p95_s=stats.p95_s,
        p99_s=stats.p99_s,
        last_error=stats.last_error,
        cpu_s=stats.cpu_s,
        max_rss_delta_bytes=stats.max_rss_delta_bytes,
        export_errors=export_errors,
        by_labels=by_labels,
    )


def plain(stats: CallStats) -> dict[str, Any]:
    """A registry snapshot as JSON-serialisable data (for ``monitor.snapshot()``)."""
    errors = sum(stats.errors.values())
    last = stats.last_error
    bounds = [*(f"{b:g}" for b in DURATION_BUCKETS_S), "+Inf"]
    return {
        "name": stats.name,
        "labels": dict(stats.labels),
        "calls": stats.count,
        "errors": dict(stats.errors),
        "error_rate": errors / stats.count if stats.count else 0.0,
        "in_progress": stats.in_progress,
        "total_s": stats.total_s,
        "mean_s": stats.mean_s,
        "min_s": stats.min_s,
        "max_s": stats.max_s,
        "p50_s": stats.p50_s,
        "p95_s": stats.p95_s,
        "p99_s": stats.p99_s,
        "buckets": dict(zip(bounds, stats.buckets, strict=True)),
        "last_error": None
        if last is None
        else {"type": last.type, "message": last.message, "time": last.time},
        "cpu_s": stats.cpu_s,
        "max_rss_delta_bytes": stats.max_rss_delta_bytes,
    }


@dataclass(frozen=True, slots=True)
class MonitoredSeries:
    """One monitored function and label set, as an exporter is told about it (once).

    Attributes:
        name: The name the function records under (the ``function`` label).
        labels: Its label set (key -> value), empty for none.
        registry: The statistics registry it records into, for exporters that read the
            figures when scraped instead of on every call.
    """

    name: str
    labels: Mapping[str, str]
    registry: Registry
    _series: Series = field(repr=False)

    def error_type(self, error: BaseException) -> str:
        """The ``error_type`` to export for `error`: its class name, or ``"other"`` beyond
        the first 20 types of the series (so exported error types stay bounded)."""
        return self._series.counted_as(error)


class CallObserver(Protocol):
    """What an exporter does around each call of one `MonitoredSeries`.

    Neither method may block for long: they run inside the call. An exception from either
    is caught, counted and logged (rate-limited); the call goes on.
    """

    def start(self) -> object:
        """A call starts; return what `finish` needs (a span, say)."""
        ...

    def finish(self, token: object, duration_s: float, error: BaseException | None) -> None:
        """The call ended after `duration_s` seconds, raising `error` (None: it returned)."""
        ...


class Exporter(Protocol):
    """Sends what `monitor` measures somewhere: pass one as ``monitor(exporters=[...])`` or
    ``monitor.set_default_exporters([...])``.

    Example:
        >>> from mlops_decorators import monitor
        >>> class Calls:
        ...     def __init__(self) -> None:
        ...         self.seen: list[tuple[str, str]] = []
        ...     def bind(self, series: MonitoredSeries) -> "Calls.Observer":
        ...         return Calls.Observer(self.seen, series.name)
        ...     class Observer:
        ...         def __init__(self, seen: list[tuple[str, str]], name: str) -> None:
        ...             self.seen, self.name = seen, name
        ...         def start(self) -> None:
        ...             return None
        ...         def finish(self, token: object, duration_s: float, error: object) -> None:
        ...             self.seen.append((self.name, "error" if error else "ok"))
        >>> calls = Calls()
        >>> @monitor(exporters=[calls])
        ... def ping() -> str:
        ...     return "pong"
        >>> ping(), calls.seen
        ('pong', [('ping', 'ok')])
    """

    def bind(self, series: MonitoredSeries) -> CallObserver | None:
        """Prepare for the calls of `series` (called once per function and label set).

        Returns:
            The observer to call around each call, or None when the exporter needs no
            per-call work (it reads ``series.registry`` when scraped).
        """
        ...
