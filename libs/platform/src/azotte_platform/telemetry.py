"""OpenTelemetry tracing and Prometheus metrics set-up; every metric a service exports is declared here.

Names follow Prometheus conventions (`azotte_` prefix, base units, `_total` counters). The gauges are
sampled by the loops that already run (the relay, each consumer, the scheduler), never per call.
"""

from __future__ import annotations

import contextlib
import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server

# NOTE: RED per RPC from one histogram: `_count` by `code` is the request rate and its errors (code != "OK").
RPC_LATENCY = Histogram(
    "azotte_rpc_duration_seconds", "Server-side latency of gRPC calls.", ["service", "method", "code"]
)
EVENTS_PUBLISHED = Counter("azotte_events_published_total", "Events relayed from the outbox.", ["service"])
EVENTS_CONSUMED = Counter("azotte_events_consumed_total", "Events handled by consumers.", ["consumer", "outcome"])
OUTBOX_PENDING = Gauge("azotte_outbox_pending_events", "Events in the outbox not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "azotte_outbox_oldest_event_age_seconds", "Age of the oldest event in the outbox not yet published.", ["service"]
)
CONSUMER_PENDING = Gauge(
    "azotte_consumer_pending_events",
    "Events in the stream the durable consumer has not been delivered yet.",
    ["consumer"],
)
CONSUMER_EVENT_AGE = Histogram(
    "azotte_consumer_event_age_seconds",
    "Time from an event's arrival in its stream to its consumer handling it.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
SCHEDULER_DUE_LAG = Gauge(
    "azotte_scheduler_due_work_lag_seconds", "How long the oldest due work not yet run has been due (0: none)."
)
ACCESS_CACHE_LOOKUPS = Counter(
    "azotte_access_cache_lookups_total",
    "Gateway access checks by cache result: hit, miss, or bypass (a consistency token skips the cache).",
    ["result"],
)


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
    """Expose Prometheus metrics on `port` (0 disables).

    Processes sharing `PROMETHEUS_MULTIPROC_DIR` (a gateway's workers) share the port too: the first to bind
    it serves the sum of every process's metrics, and the others find it taken and leave it to that one.
    """
    if not port:
        return
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        start_http_server(port, addr=host)
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    with contextlib.suppress(OSError):
        start_http_server(port, addr=host, registry=registry)
