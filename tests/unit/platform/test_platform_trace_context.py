"""Trace context leaves a process with its calls (gRPC `traceparent`) and its events (CloudEvents `ce-traceparent`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from azotte_platform.events.envelope import trace_context, trace_headers, trace_recorded
from azotte_platform.grpc.client import connect

tracer = TracerProvider().get_tracer(__name__)


def traceparent_of(span: trace.Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


@pytest.fixture
async def seen_metadata() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def record(request: bytes, servicer_context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        seen.append({key: str(value) for key, value in servicer_context.invocation_metadata() or ()})
        return request

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "azotte.test.v1.Test", {"Echo": grpc.unary_unary_rpc_method_handler(record)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}", seen
    await server.stop(None)


async def test_a_call_made_inside_a_span_carries_its_traceparent_and_one_outside_none(seen_metadata) -> None:
    target, seen = seen_metadata
    async with connect(target) as channel:
        echo = channel.unary_unary("/azotte.test.v1.Test/Echo", request_serializer=None, response_deserializer=None)
        with tracer.start_as_current_span("caller") as caller:
            await echo(b"inside")
        await echo(b"outside")
    assert seen[0]["traceparent"] == traceparent_of(caller)
    assert "traceparent" not in seen[1]


def test_an_events_headers_carry_the_writing_span_as_the_cloudevents_traceparent() -> None:
    assert trace_headers() == {}
    with tracer.start_as_current_span("write") as writer:
        headers = trace_headers()
    assert headers == {"ce-traceparent": traceparent_of(writer)}
    carried = trace.get_current_span(trace_context({**headers, "ce-type": "x"})).get_span_context()
    assert (carried.trace_id, carried.span_id, carried.is_remote) == (
        writer.get_span_context().trace_id,
        writer.get_span_context().span_id,
        True,
    )
    unprefixed = trace_context({"traceparent": headers["ce-traceparent"]})
    assert not trace.get_current_span(unprefixed).get_span_context().is_valid


def test_only_an_event_written_in_a_recorded_trace_counts_as_recorded() -> None:
    with tracer.start_as_current_span("recorded"):
        assert trace_recorded(trace_headers())
    with TracerProvider(sampler=ALWAYS_OFF).get_tracer(__name__).start_as_current_span("dropped"):
        dropped = trace_headers()
    assert not trace_recorded(dropped)
    assert not trace_recorded({})
    assert not trace_recorded({"ce-traceparent": "not a traceparent"})
