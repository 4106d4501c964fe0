"""Channels to other services: context propagation, retries on UNAVAILABLE, typed errors back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from azotte_platform import context
from azotte_platform.grpc.status import from_rpc_error

SERVICE_CONFIG = {
    # NOTE: calls spread over every address the target resolves to (e.g. the pods behind a
    # headless Kubernetes service), not one connection to one replica.
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{}],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}
_TRACE_CONTEXT = TraceContextTextMapPropagator()


def _with_context(details: Any) -> grpc.aio.ClientCallDetails:
    """The call's details with the caller's tenant, principal, request id and trace context added to its metadata."""
    metadata: Any = list(details.metadata or ())
    present = {key for key, _ in metadata}
    metadata.extend(pair for pair in context.as_metadata(context.current()) if pair[0] not in present)
    if trace.get_current_span().get_span_context().is_valid and "traceparent" not in present:
        carrier: dict[str, str] = {}
        _TRACE_CONTEXT.inject(carrier)
        metadata.extend(carrier.items())
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class _ContextInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Sends the caller's tenant, principal and request id; raises the callee's typed errors."""

    async def intercept_unary_unary(self, continuation: Callable[[Any, Any], Any], details: Any, request: Any) -> Any:
        call = await continuation(_with_context(details), request)
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None


class _StreamContextInterceptor(grpc.aio.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    """Sends the caller's context on a bidirectional stream (its errors arrive as the stream is read:
    the caller turns them into typed errors with `status.from_rpc_error`)."""

    async def intercept_stream_stream(
        self, continuation: Callable[[Any, Any], Any], details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(_with_context(details), request_iterator)


def connect(target: str) -> grpc.aio.Channel:
    """A channel to another Azotte service at `host:port`."""
    return grpc.aio.insecure_channel(
        target,
        options=[("grpc.enable_retries", 1), ("grpc.service_config", json.dumps(SERVICE_CONFIG))],
        interceptors=[_ContextInterceptor(), _StreamContextInterceptor()],  # type: ignore[list-item]
    )
