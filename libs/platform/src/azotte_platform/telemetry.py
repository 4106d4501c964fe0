"""OpenTelemetry tracing and Prometheus metrics set-up."""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import Counter, Histogram, start_http_server

RPC_LATENCY = Histogram(
    "azotte_rpc_duration_seconds", "Server-side latency of gRPC calls.", ["service", "method", "code"]
)
EVENTS_PUBLISHED = Counter("azotte_events_published_total", "Events relayed from the outbox.", ["service"])
EVENTS_CONSUMED = Counter("azotte_events_consumed_total", "Events handled by consumers.", ["consumer", "outcome"])


def trace_sample_ratio() -> float:
    """`AZOTTE_TRACE_SAMPLE_RATIO`: the share of traces started here that are recorded (0 turns tracing off)."""
    return float(os.environ.get("AZOTTE_TRACE_SAMPLE_RATIO", "0"))


def configure_tracing(service: str) -> None:
    """Install an SDK tracer provider that keeps `trace_sample_ratio()` of the traces started here."""
    ratio = trace_sample_ratio()
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"azotte-{service}"}),
        sampler=ParentBased(TraceIdRatioBased(ratio)),
    )
    if os.environ.get("AZOTTE_TRACE_CONSOLE") == "1":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


def serve_metrics(host: str, port: int) -> None:
    """Expose Prometheus metrics on `port` (0 disables)."""
    if port:
        start_http_server(port, addr=host)
