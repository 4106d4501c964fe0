"""Every mutating call names itself with the caller's request id; the gateway never invents one."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from azotte.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from azotte_platform.grpc.status import DETAILS_KEY
from tests.integration.gateway.conftest import GatewayUnderTest


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/customers", {"external_id": "ext-1"}),
        ("post", "/v1/customers/c1/payment-methods", {"payment_method_token": "tok_success"}),
        ("post", "/v1/subscriptions/sub_1:cancel", {}),
        ("post", "/v1/subscriptions/sub_1:reactivate", {}),
        ("post", "/v1/subscriptions/sub_1:pause", {}),
        ("post", "/v1/subscriptions/sub_1:resume", {}),
        ("post", "/v1/subscriptions/sub_1:change-plan", {"new_plan_id": "basic"}),
        ("post", "/v1/charges/ch_1:refund", {}),
        ("post", "/v1/sandbox/clock:advance", {"advance_by_seconds": 1}),
        ("post", "/v1/tenants", {"tenant_id": "no-request-id", "display_name": "N"}),
        ("post", "/v1/api-keys", {"display_name": "k", "role": "viewer"}),
        ("post", "/v1/api-keys/key_1:revoke", {}),
        ("put", "/v1/catalog", None),
    ],
)
async def test_a_mutating_rest_call_without_a_request_id_answers_400_naming_it(
    gateway: GatewayUnderTest, method: str, path: str, body: dict[str, Any] | None
) -> None:
    kwargs: dict[str, Any] = {"headers": gateway.auth()}
    if body is None:
        kwargs["content"] = "version: 1\n"
    else:
        kwargs["json"] = body
    answer = await getattr(gateway.http, method)(path, **kwargs)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    fields = [v["field"] for d in error["details"] if "field_violations" in d for v in d["field_violations"]]
    assert fields == ["request_id"]


async def test_a_mutating_grpc_call_without_a_request_id_is_invalid_argument_naming_it(
    gateway: GatewayUnderTest,
) -> None:
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateCustomer(
                gateway_pb2.CreateCustomerRequest(external_id="ext-2"),
                metadata=(("authorization", f"Bearer {gateway.admin_key}"),),
            )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    trailers: dict[str, Any] = dict(refused.value.trailing_metadata() or ())  # type: ignore[arg-type]
    status = status_pb2.Status.FromString(trailers[DETAILS_KEY])
    bad = error_details_pb2.BadRequest()
    assert next(d for d in status.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR)).Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["request_id"]
