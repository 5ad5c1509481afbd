"""`OpenTelemetryExporter`: a span per call and the call metrics through OpenTelemetry
(``otel`` extra).

Without an SDK configured the OpenTelemetry API is a no-op, and so is this exporter; once an
application sets its tracer and meter providers (or passes them here), spans and metrics flow
to wherever they export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._checks import instance_of, optional
from .._stats import DURATION_BUCKETS_S
from ._data import MonitoredSeries

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

_SCOPE = "mlops_decorators"


class OpenTelemetryExporter:
    """Export monitored functions to OpenTelemetry: traces and metrics.

    Each call becomes a span named after the function, the child of the span current when
    it starts, so nested monitored calls nest in the trace, ``async def`` ones included. A
    failure is recorded on its span as an exception event with status ``ERROR`` and an
    ``error.type`` attribute.

    Metrics (attribute ``function`` plus the function's labels): counters ``mlops.calls``
    (attribute ``outcome``: ``ok`` or ``error``) and ``mlops.errors`` (``error_type``), the
    histogram ``mlops.call.duration`` in seconds, and the up-down counter
    ``mlops.calls.in_progress``.

    Args:
        tracer_provider: Where spans go; defaults to the global provider
            (``opentelemetry.trace.set_tracer_provider``).
        meter_provider: Where metrics go; defaults to the global provider.

    Raises:
        ImportError: opentelemetry-api is not installed.
        TypeError: A provider is not an OpenTelemetry provider.

    Examples:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        ...     InMemorySpanExporter,
        ... )
        >>> from mlops_decorators import OpenTelemetryExporter, monitor
        >>> spans = InMemorySpanExporter()
        >>> provider = TracerProvider()
        >>> provider.add_span_processor(SimpleSpanProcessor(spans))
        >>> @monitor(exporters=[OpenTelemetryExporter(tracer_provider=provider)])
        ... def embed(text: str) -> int:
        ...     return len(text)
        >>> embed("hello")
        5
        >>> [span.name for span in spans.get_finished_spans()]
        ['embed']
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        try:
            from opentelemetry import context, metrics, trace
        except ImportError as exc:
            raise ImportError(
                "OpenTelemetryExporter needs opentelemetry-api: "
                "pip install 'mlops-decorators[otel]'"
            ) from exc
        from .. import __version__

        optional(instance_of, "tracer_provider", tracer_provider, trace.TracerProvider)
        optional(instance_of, "meter_provider", meter_provider, metrics.MeterProvider)
        self.tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        # Looked up once: a call only calls them.
        self.attach, self.detach = context.attach, context.detach
        self.current = trace.set_span_in_context
        self.error_status = trace.Status
        self.error_code = trace.StatusCode.ERROR
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        self.calls = meter.create_counter(
            "mlops.calls", unit="{call}", description="Calls that finished, by outcome."
        )
        self.errors = meter.create_counter(
            "mlops.errors", unit="{call}", description="Calls that raised, by exception type."
        )
        self.duration = meter.create_histogram(
            "mlops.call.duration",
            unit="s",
            description="Duration of calls.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )
        self.in_progress = meter.create_up_down_counter(
            "mlops.calls.in_progress", unit="{call}", description="Calls not finished yet."
        )

    def __repr__(self) -> str:
        return f"OpenTelemetryExporter(tracer={self.tracer!r})"

    def bind(self, series: MonitoredSeries) -> _Spans:
        """Export `series`: a span and metric updates per call."""
        return _Spans(self, series)


class _Spans:
    """A span per call of one series, made the current span while the call runs."""

    __slots__ = ("_attributes", "_error", "_ok", "_series", "_span", "exporter")

    def __init__(self, exporter: OpenTelemetryExporter, series: MonitoredSeries) -> None:
        self.exporter = exporter
        self._series = series
        self._attributes = {"function": series.name, **series.labels}
        self._ok = {**self._attributes, "outcome": "ok"}
        self._error = {**self._attributes, "outcome": "error"}
        self._span = {"code.function.name": series.name, **series.labels}

    def start(self) -> tuple[Span, Token[Context]]:
        exporter = self.exporter
        span = exporter.tracer.start_span(self._series.name, attributes=self._span)
        token = exporter.attach(exporter.current(span))
        exporter.in_progress.add(1, self._attributes)
        return span, token

    def finish(self, token: object, duration_s: float, error: BaseException | None) -> None:
        span: Span
        attached: Token[Context]
        span, attached = token  # type: ignore[misc]  # what start() returned
        exporter = self.exporter
        try:
            exporter.in_progress.add(-1, self._attributes)
            exporter.duration.record(duration_s, self._attributes)
            if error is None:
                exporter.calls.add(1, self._ok)
            else:
                kind = self._series.error_type(error)
                exporter.calls.add(1, self._error)
                exporter.errors.add(1, {**self._attributes, "error_type": kind})
                span.set_attribute("error.type", type(error).__qualname__)
                span.record_exception(error)
                span.set_status(
                    exporter.error_status(exporter.error_code, f"{type(error).__name__}: {error}")
                )
        finally:  # the context must be restored and the span ended, whatever failed above
            exporter.detach(attached)
            span.end()
