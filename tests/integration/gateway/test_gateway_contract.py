"""The gateway's contract holds: its OpenAPI document types every answer, and what the fuzzers found stays fixed
(an unknown enum number or a Duration/Timestamp out of range is INVALID_ARGUMENT, a wrong method names every
method of the path)."""

from __future__ import annotations

import uuid
from typing import Any

import anyio.to_thread
import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.status import from_rpc_error
from tests.integration.gateway.conftest import GatewayUnderTest


def rid() -> str:
    return uuid.uuid4().hex


async def refused_field(gateway: GatewayUnderTest, method: str, request: Any) -> str:
    """The one field an INVALID_ARGUMENT answer to `request` names."""
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub: Any = gateway_pb2_grpc.GatewayServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await getattr(stub, method)(request, metadata=(("authorization", f"Bearer {gateway.admin_key}"),))
    error = from_rpc_error(refused.value)
    assert isinstance(error, InvalidArgument), (refused.value.code(), refused.value.details())
    [violation] = error.violations
    return violation.field


async def test_every_answer_in_the_openapi_document_is_typed(gateway: GatewayUnderTest) -> None:
    document = (await gateway.http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for parameter in (p for p in operation.get("parameters", []) if p["in"] == "path"):
                assert parameter["schema"]["minLength"] == 1, ("an empty id names another route", method, path)
            if (method, path) == ("post", "/v1/psp-webhooks/carrier/{tenant_id}/{account_id}"):
                assert "200" not in operation["responses"] and "204" in operation["responses"]  # CAMARA: no body
                continue
            content = operation["responses"]["200"]["content"]
            if (method, path) == ("get", "/v1/catalog"):
                assert set(content) == {"application/yaml", "application/json"}
                continue
            if (method, path) == ("get", "/v1/usage-events.csv"):
                assert set(content) == {"text/csv"}  # an export, streamed
                continue
            if (method, path) in {
                ("get", "/v1/invoices/{invoice_id}/pdf"),
                ("get", "/v1/credit-notes/{credit_note_id}/pdf"),
            }:
                assert set(content) == {"application/pdf"}  # the stored document
                continue
            if (method, path) == ("post", "/v1/psp-webhooks/adyen/{tenant_id}/{account_id}"):
                assert set(content) == {"text/plain"}  # Adyen expects the body "[accepted]"
                continue
            ref = content["application/json"]["schema"]["$ref"]
            answer = schemas[ref.rsplit("/", 1)[1]]
            assert answer["additionalProperties"] is False and answer["properties"], (method, path)
    money = schemas["Money"]
    assert money["properties"]["amount_minor"]["type"] == "string", "int64 is a JSON string"
    assert money["required"] == ["currency_code", "amount_minor"]
    assert "remaining_quota" not in schemas["AccessDecision"]["required"], "with presence: may be absent"
    assert schemas["AccessDecision"]["properties"]["remaining_quota"]["type"] == "string"
    assert {"request_id", "external_id", "country_code"} <= set(schemas["CustomerBody"]["required"])
    assert schemas["CancelBody"]["required"] == ["request_id"]


async def test_answers_are_what_the_document_says(gateway: GatewayUnderTest) -> None:
    answer = await gateway.http.get("/v1/api-keys", headers=gateway.auth())
    assert answer.status_code == 200, answer.text
    keys = answer.json()["api_keys"]
    assert keys and all(isinstance(key["create_time"], str) for key in keys)
    created = await gateway.http.post(
        "/v1/api-keys", json={"request_id": rid(), "display_name": "c", "role": "viewer"}, headers=gateway.auth()
    )
    assert created.status_code == 200, created.text
    assert "expire_time" not in created.json()["api_key"], "an unset field is absent, never null"


async def test_a_wrong_method_answers_405_naming_every_method_of_the_path(gateway: GatewayUnderTest) -> None:
    keys = await gateway.http.request("OPTIONS", "/v1/api-keys", headers=gateway.auth())
    assert keys.status_code == 405 and keys.headers["allow"] == "GET, POST"
    cancel = await gateway.http.get("/v1/subscriptions/sub_1:cancel", headers=gateway.auth())
    assert cancel.status_code == 405 and cancel.headers["allow"] == "POST", "a custom method is no subscription id"
    assert cancel.json()["error"]["status"] == "UNIMPLEMENTED"


async def test_an_unknown_enum_number_is_invalid_argument_naming_the_field(gateway: GatewayUnderTest) -> None:
    change = gw.ChangeSubscriptionPlanRequest(request_id=rid(), subscription_id="sub_1", new_plan_id="p", timing=77)  # type: ignore[arg-type]
    assert await refused_field(gateway, "ChangeSubscriptionPlan", change) == "timing"
    cancel = gw.CancelSubscriptionRequest(request_id=rid(), subscription_id="sub_1", timing=77)  # type: ignore[arg-type]
    assert await refused_field(gateway, "CancelSubscription", cancel) == "timing"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("advance_by", Duration(seconds=2**63 - 1)),
        ("advance_by", Duration(seconds=-(2**63))),
        ("advance_by", Duration(seconds=1, nanos=-5)),
        ("advance_by", Duration(seconds=200 * 366 * 86_400)),
        ("advance_to", Timestamp(seconds=2**63 - 1)),
        ("advance_to", Timestamp(seconds=253_402_300_799)),
    ],
)
async def test_a_clock_move_out_of_range_is_invalid_argument(gateway: GatewayUnderTest, field: str, value: Any) -> None:
    request = gw.AdvanceSandboxClockRequest(request_id=rid(), **{field: value})
    assert await refused_field(gateway, "AdvanceSandboxClock", request) == field


async def test_requests_are_served_on_the_event_loop_without_a_hop_to_a_worker_thread(
    gateway: GatewayUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dependency FastAPI runs in a worker thread (a plain function or a class) would cost every request a thread
    hop and a wait for the interpreter lock."""
    hops: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(function)
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    window = "start_time=2026-01-01T00:00:00Z&end_time=2026-03-01T00:00:00Z"
    for path in ("/v1/api-keys?page_size=2", f"/v1/analytics/mrr?{window}&granularity=month"):
        answer = await gateway.http.get(path, headers=gateway.auth())
        assert answer.status_code == 200, answer.text
    assert hops == []
