"""A real gRPC server behind the service interceptor refuses bad requests as INVALID_ARGUMENT, plainly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.catalog.v1 import catalog_pb2_grpc
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.grpc.requests import MAX_REQUEST_BYTES, SERVER_OPTIONS
from azotte_platform.grpc.status import DETAILS_KEY

GET_PLAN = "/azotte.catalog.v1.CatalogService/GetPlan"


class RecordingCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self) -> None:
        self.calls: list[Any] = []

    async def GetPlan(self, request: Any, context: Any) -> Any:
        self.calls.append(request)
        return cat.GetPlanResponse(plan=cat.Plan(id=request.id))


@pytest.fixture
async def served() -> AsyncIterator[tuple[RecordingCatalog, grpc.aio.Channel]]:
    catalog = RecordingCatalog()  # type: ignore[abstract]
    server = grpc.aio.server(interceptors=[ServiceInterceptor("probe")], options=SERVER_OPTIONS)
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    options = [("grpc.max_send_message_length", -1)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        yield catalog, channel
    await server.stop(None)


async def call_raw(channel: grpc.aio.Channel, body: bytes) -> grpc.aio.AioRpcError:
    method = channel.unary_unary(GET_PLAN, None, None)  # bytes in, bytes out
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await method(body)
    return raised.value


def field_violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key == DETAILS_KEY:
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    return [(v.field, v.description) for v in bad.field_violations]
    return []


async def test_a_corrupt_body_is_invalid_argument_with_a_plain_message(
    served: tuple[RecordingCatalog, grpc.aio.Channel],
) -> None:
    catalog, channel = served
    error = await call_raw(channel, b"\x0a\x50abc")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf message" in (error.details() or "")
    assert "Error parsing" not in (error.details() or "") and "Exception" not in (error.details() or "")
    assert catalog.calls == []


async def test_invalid_utf8_in_a_string_field_is_invalid_argument(
    served: tuple[RecordingCatalog, grpc.aio.Channel],
) -> None:
    catalog, channel = served
    body = cat.GetPlanRequest(id="ab").SerializeToString().replace(b"ab", b"\xc3\x28")
    error = await call_raw(channel, body)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert catalog.calls == []


async def test_a_nul_character_is_invalid_argument_naming_the_field(
    served: tuple[RecordingCatalog, grpc.aio.Channel],
) -> None:
    catalog, channel = served
    stub = catalog_pb2_grpc.CatalogServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetPlan(cat.GetPlanRequest(id="plan_\x00abc"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(raised.value) == [("id", "must not contain a NUL character")]
    assert catalog.calls == []
    assert (await stub.GetPlan(cat.GetPlanRequest(id="basic"))).plan.id == "basic"


async def test_an_oversized_request_is_invalid_argument_not_resource_exhausted(
    served: tuple[RecordingCatalog, grpc.aio.Channel],
) -> None:
    catalog, channel = served
    body = cat.GetPlanRequest(id="x" * (MAX_REQUEST_BYTES + 10)).SerializeToString()
    error = await call_raw(channel, body)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"the limit is {MAX_REQUEST_BYTES} bytes" in (error.details() or "")
    assert catalog.calls == []
