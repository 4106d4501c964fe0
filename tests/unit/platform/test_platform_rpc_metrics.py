"""Every call of a service's API is counted and timed by method and status code (RED per RPC)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from prometheus_client import REGISTRY

from azotte_platform.errors import NotFound
from azotte_platform.grpc.interceptors import ServiceInterceptor


async def echo(request: bytes, _context: object) -> bytes:
    if request == b"missing":
        raise NotFound("no such thing")
    if request == b"crash":
        raise RuntimeError("a bug")
    return request


@pytest.fixture
async def channel() -> AsyncIterator[tuple[grpc.aio.Channel, str]]:
    service = f"metered{uuid.uuid4().hex[:6]}"
    server = grpc.aio.server(interceptors=[ServiceInterceptor(service)])
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "azotte.test.v1.Test", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as opened:
        yield opened, service
    await server.stop(None)


def calls(service: str, code: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "azotte_rpc_duration_seconds_count", {"service": service, "method": "Echo", "code": code}
        )
        or 0.0
    )


async def test_calls_are_counted_by_the_code_they_ended_with(channel) -> None:
    opened, service = channel
    echo_call = opened.unary_unary("/azotte.test.v1.Test/Echo")
    for _ in range(3):
        assert await echo_call(b"hello") == b"hello"
    for request, code in ((b"missing", grpc.StatusCode.NOT_FOUND), (b"crash", grpc.StatusCode.INTERNAL)):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await echo_call(request)
        assert raised.value.code() == code

    assert calls(service, "OK") == 3
    assert calls(service, "NOT_FOUND") == 1
    assert calls(service, "INTERNAL") == 1
    timed = REGISTRY.get_sample_value(
        "azotte_rpc_duration_seconds_sum", {"service": service, "method": "Echo", "code": "OK"}
    )
    assert timed is not None and timed > 0
