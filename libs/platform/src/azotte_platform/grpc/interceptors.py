"""Server interceptor: request checks, request context from metadata, typed-error mapping, logs and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from azotte_platform import context
from azotte_platform.db.engine import transient_database_error
from azotte_platform.errors import AzotteError
from azotte_platform.grpc.requests import Undecodable, check_strings, decoding
from azotte_platform.grpc.status import status_code, to_rich_status
from azotte_platform.telemetry import RPC_LATENCY

log = logging.getLogger("azotte.rpc")

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Any]]
Behavior = Callable[[Any, Any], Awaitable[Any]]


async def _abort(servicer_context: Any, method: str, error: AzotteError) -> None:
    """End the call with the error's rich status (`abort` raises: nothing runs after it)."""
    status, message, trailers = to_rich_status(error)
    log.info("%s failed: %s %s", method, error.reason, message)
    await servicer_context.abort(status, message, trailers)


def _bind_context(servicer_context: Any) -> None:
    metadata = dict(servicer_context.invocation_metadata() or ())
    context.set_current(
        context.RequestContext(
            tenant_id=str(metadata.get(context.TENANT_HEADER, "")),
            principal=str(metadata.get(context.PRINCIPAL_HEADER, "")),
            request_id=str(metadata.get(context.REQUEST_ID_HEADER, "")),
        )
    )


class ServiceInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps every unary and streaming call of a service's own API (health and reflection pass through).

    A request that does not decode, or whose string fields are too long or hold a NUL or a lone
    surrogate, ends INVALID_ARGUMENT before the service sees it (`azotte_platform.grpc.requests`).
    """

    def __init__(self, service: str):
        self._service = service
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith("/azotte."):
            return handler
        if handler.stream_stream is not None:
            return self._streaming(handler, method)
        if handler.unary_stream is not None:
            return self._server_streaming(handler, method)
        if handler.unary_unary is None:
            return handler
        # NOTE: one wrapper per method, made on its first call: the hot path allocates no handler per call.
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = grpc.unary_unary_rpc_method_handler(
                self._wrap(handler.unary_unary, method.rsplit("/", 1)[-1]),
                request_deserializer=decoding(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return wrapped

    def _streaming(self, handler: Any, method: str) -> Any:
        """A bidirectional stream gets the same checks per message, context and error mapping as a unary call."""
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = grpc.stream_stream_rpc_method_handler(
                self._wrap_stream(handler.stream_stream, method.rsplit("/", 1)[-1]),
                request_deserializer=decoding(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return wrapped

    def _server_streaming(self, handler: Any, method: str) -> Any:
        """A server stream gets the request's checks, the context and the error mapping of a unary call."""
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = grpc.unary_stream_rpc_method_handler(
                self._wrap_server_stream(handler.unary_stream, method.rsplit("/", 1)[-1]),
                request_deserializer=decoding(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return wrapped

    def _wrap_server_stream(self, behavior: Callable[[Any, Any], AsyncIterator[Any]], method: str) -> Any:
        async def checked(request: Any, servicer_context: Any) -> AsyncIterator[Any]:
            if isinstance(request, Undecodable):
                raise request.error()
            if isinstance(request, Message):
                check_strings(request)
            async for response in behavior(request, servicer_context):
                yield response

        return self._guarded(checked, method)

    def _wrap_stream(self, behavior: Callable[[Any, Any], AsyncIterator[Any]], method: str) -> Any:
        async def checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
            async for request in requests:
                if isinstance(request, Undecodable):
                    raise request.error()
                if isinstance(request, Message):
                    check_strings(request)
                yield request

        def with_checked_requests(requests: AsyncIterator[Any], servicer_context: Any) -> AsyncIterator[Any]:
            return behavior(checked(requests), servicer_context)

        return self._guarded(with_checked_requests, method)

    def _guarded(self, behavior: Callable[[Any, Any], AsyncIterator[Any]], method: str) -> Any:
        """A streaming behavior run in the call's context, its errors ending the call with their status."""

        async def wrapped(request_or_requests: Any, servicer_context: Any) -> AsyncIterator[Any]:
            _bind_context(servicer_context)
            try:
                async for response in behavior(request_or_requests, servicer_context):
                    yield response
            except AzotteError as error:
                await _abort(servicer_context, method, error)
            except grpc.aio.AbortError:
                raise
            except Exception as error:
                unavailable = transient_database_error(error)
                if unavailable is not None:
                    await _abort(servicer_context, method, unavailable)
                else:
                    log.exception("%s crashed", method)
                    await servicer_context.abort(grpc.StatusCode.INTERNAL, "internal error")

        return wrapped

    def _wrap(self, behavior: Behavior, method: str) -> Behavior:
        succeeded = RPC_LATENCY.labels(self._service, method, "OK")

        async def wrapped(request: Any, servicer_context: Any) -> Any:
            _bind_context(servicer_context)
            started = time.perf_counter()
            code = ""
            try:
                if isinstance(request, Undecodable):
                    raise request.error()
                if isinstance(request, Message):  # NOTE: a handler without a deserializer gets bytes
                    check_strings(request)
                return await behavior(request, servicer_context)
            except AzotteError as error:
                code = status_code(error).name
                await _abort(servicer_context, method, error)
            except grpc.aio.AbortError:
                code = "ABORTED_BY_HANDLER"
                raise
            except Exception as error:
                unavailable = transient_database_error(error)
                if unavailable is not None:
                    code = status_code(unavailable).name
                    await _abort(servicer_context, method, unavailable)
                else:
                    code = "INTERNAL"
                    log.exception("%s crashed", method)
                    await servicer_context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                timer = RPC_LATENCY.labels(self._service, method, code) if code else succeeded
                timer.observe(time.perf_counter() - started)

        return wrapped
